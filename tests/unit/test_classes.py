"""Tests of campwatch.classes: what each class is, and one summary for every report."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from campwatch.classes import ANALYST_CLASSES, CLASSES, class_code, describe, get_class, summarize


@dataclass(frozen=True)
class Change:
    change_class: str
    area_m2: float
    length_m: float | None = None


def test_classes_know_their_unit_kind_and_words():
    assert [c.name for c in CLASSES.values() if c.linear] == ["fence_razed", "fence_built"]
    assert all(c.unit == ("m" if c.kind == "fence" else "m2") for c in CLASSES.values())
    assert ANALYST_CLASSES == tuple(n for n in CLASSES if n != "other_change")
    assert len({c.code for c in CLASSES.values()}) == len(CLASSES)
    assert class_code("tower_removed") == 8
    with pytest.raises(KeyError, match="unknown change class 'barracks'; valid ones are structure_new"):
        get_class("barracks")


def test_summarize_counts_and_measures_per_class_in_class_order():
    changes = [Change("structure_new", 120.0), Change("structure_new", 80.5), Change("fence_razed", 3.0, 59.4),
               Change("other_change", 400.0)]
    s = summarize(changes)
    assert list(s.counts) == list(CLASSES)
    assert s.counts["structure_new"] == 2 and s.counts["tower_added"] == 0
    assert s.area_m2["structure_new"] == pytest.approx(200.5)
    assert s.size("fence_razed") == pytest.approx(59.4) and s.size("structure_new") == pytest.approx(200.5)
    assert s.found == ["structure_new", "fence_razed", "other_change"]
    d = s.to_dict()
    assert set(d["changed_area_m2"]) == {n for n, c in CLASSES.items() if not c.linear}
    assert d["fence_length_m"] == {"fence_razed": 59.4, "fence_built": 0}


def test_summarize_reads_report_features_too():
    props = [{"class": "tower_removed", "area_m2": 9.0, "length_m": None},
             {"class": "fence_built", "area_m2": None, "length_m": 12.25}]
    s = summarize(props)
    assert s.counts["tower_removed"] == 1 and s.length_m["fence_built"] == pytest.approx(12.25)


def test_describe_says_it_in_the_analysts_words():
    changes = [Change("tower_removed", 9.0), Change("tower_removed", 8.0), Change("structure_new", 100.0),
               Change("fence_razed", 0.0, 340.4)]
    assert describe(summarize(changes)) == "1 new structure, 340 m of fence razed, 2 guard towers removed"
    assert describe(summarize([])) == "nothing new"


def test_tables_of_class_meaning_come_from_the_class_rows():
    from campwatch.classes import MAX_PIXEL_M, REVERSAL, TIMELINE_CLASSES, appeared, gone

    assert REVERSAL == {"structure_new": "structure_demolished", "structure_demolished": "structure_new",
                        "tower_added": "tower_removed", "tower_removed": "tower_added",
                        "fence_razed": "fence_built", "fence_built": "fence_razed"}
    assert TIMELINE_CLASSES == ("structure_new", "structure_demolished", "structure_modified", "structure_changed",
                                "tower_added", "tower_removed", "fence_razed", "fence_built")
    assert MAX_PIXEL_M == {"structure": 10.0, "tower": 1.0, "fence": 1.0, "other": None}
    assert (appeared("structure"), gone("structure")) == ("structure_new", "structure_demolished")
    assert (appeared("tower"), gone("tower"), appeared("fence"), gone("fence")) == (
        "tower_added", "tower_removed", "fence_built", "fence_razed")


def test_class_rows_that_disagree_are_refused_naming_the_class():
    import dataclasses

    from campwatch.classes import _check_rows

    rows = dict(CLASSES)
    rows["structure_new"] = dataclasses.replace(rows["structure_new"], reverses="tower_removed")
    with pytest.raises(ValueError, match="'structure_new' reverses 'tower_removed', which does not reverse it"):
        _check_rows(rows)
    rows = dict(CLASSES) | {"rubble": dataclasses.replace(CLASSES["other_change"], name="rubble", code=1)}
    with pytest.raises(ValueError, match="distinct mask codes"):
        _check_rows(rows)
    # A class of a new kind carries its own pixel limit: no table elsewhere to forget.
    rows = dict(CLASSES) | {"trench_dug": dataclasses.replace(CLASSES["other_change"], name="trench_dug", code=10,
                                                              kind="other", max_pixel_m=2.0, timeline_rank=8)}
    _check_rows(rows)
