"""Each class on a scene made for it, one event at a time, and the no-event case with every nuisance."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from campwatch import detect
from campwatch.sample import SAMPLE_CAMPS, write_series
from campwatch.evaluate import read_truth

BASE = SAMPLE_CAMPS["camp25"]
# Two dates with different season, sun, gain, haze and misregistration.
DATES = (BASE.dates[0], dataclasses.replace(BASE.dates[3], nodata_strip=False))


def run_event(tmp_path: Path, event: dict[str, int]):
    spec = dataclasses.replace(BASE, key="t", width_px=560, height_px=480, dates=DATES, events=(event,))
    a, b = write_series(spec, tmp_path)
    truth = read_truth(tmp_path / "truth.geojson", interval=(DATES[0].date.isoformat(), DATES[1].date.isoformat()))
    result = detect(a, b)
    found = [r for r in result.regions if r.change_class != "other_change"]
    return found, truth.to_crs(result.before.crs)


@pytest.mark.parametrize("event", ["structure_new", "structure_demolished", "tower_added", "tower_removed"])
def test_one_object_event(tmp_path, event):
    found, truth = run_event(tmp_path, {event: 1})
    assert [r.change_class for r in found] == [event]
    assert found[0].geometry.intersection(truth.geometry.iloc[0]).area >= 0.5 * truth.geometry.iloc[0].area
    assert 0.5 <= found[0].confidence <= 1.0


def test_fence_razed(tmp_path):
    found, truth = run_event(tmp_path, {"fence_razed": 1})
    assert {r.change_class for r in found} == {"fence_razed"}
    length = sum(r.length_m for r in found)
    true_length = truth.geometry.iloc[0].length
    assert length == pytest.approx(true_length, rel=0.1)
    for r in found:
        assert r.geometry.geom_type == "LineString"
        assert r.geometry.buffer(0.1).intersection(truth.geometry.iloc[0].buffer(2.0)).area > 0
        assert r.evidence["line_contrast_before"] > r.evidence["line_contrast_after"]


def test_no_event_reports_no_structure_fence_or_tower(tmp_path):
    found, truth = run_event(tmp_path, {})
    assert len(truth) == 0
    assert found == []
