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
