"""Classes the pixels cannot show are not reported, and the report says which were possible (issue 18,
part 2): a fence or a guard tower at 2 m or coarser is noise, not evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
from affine import Affine
from conftest import SAMPLE

from campwatch.classes import CLASSES, possible_classes
from campwatch.run import run_detect

CAMP25 = sorted((SAMPLE / "camp25").glob("camp25_*.tif"))


def _coarser(src: Path, dst: Path, factor: float) -> Path:
    """The same pixels declared ``factor`` times larger (as a coarser sensor would record the camp)."""
    with rasterio.open(src) as ds:
        profile, data, tags = ds.profile, ds.read(), ds.tags()
        descriptions = ds.descriptions
    t = profile["transform"]
    profile["transform"] = Affine(t.a * factor, 0, t.c, 0, t.e * factor, t.f)
    with rasterio.open(dst, "w", **profile) as out:
        out.write(data)
        out.update_tags(**tags)
        for i, d in enumerate(descriptions, start=1):
            if d:
                out.set_band_description(i, d)
    return dst


def test_possible_classes_follow_the_pixel_size():
    assert possible_classes(0.5) == (list(CLASSES), {})
    possible, why = possible_classes(2.0)
    assert "fence_razed" not in possible and "tower_removed" not in possible and "structure_new" in possible
    assert why["tower_added"] == "needs pixels of 1 m or finer; these are 2 m"
    possible, why = possible_classes(12.0)
    assert possible == ["other_change"]
    assert why["structure_new"] == "needs pixels of 10 m or finer; these are 12 m"


@pytest.mark.slow
@pytest.mark.parametrize("factor", [1.0, 4.0], ids=["0.5 m", "2 m"])
def test_fences_and_towers_are_not_reported_from_pixels_too_coarse_to_show_them(tmp_path: Path, factor: float):
    # 2015-09-26 -> 2016-05-14: a fence razed; 2016-10-02 -> 2017-06-11: towers removed.
    found = set()
    for a, b in ((CAMP25[1], CAMP25[2]), (CAMP25[3], CAMP25[4])):
        before = _coarser(a, tmp_path / a.name, factor)
        after = _coarser(b, tmp_path / b.name, factor)
        _, paths = run_detect(before, after, tmp_path / f"out_{a.stem}")
        doc = json.loads(paths["report.geojson"].read_text())
        found |= {f["properties"]["class"] for f in doc["features"]}
        assert doc["classes"]["pixel_size_m"] == pytest.approx(0.5 * factor)
        if factor == 1.0:
            assert doc["classes"]["possible"] == list(CLASSES) and doc["classes"]["not_possible"] == {}
        else:
            assert doc["classes"]["possible"] == ["structure_new", "structure_demolished", "structure_modified",
                                                  "structure_changed", "other_change"]
            assert sorted(doc["classes"]["not_possible"]) == ["fence_built", "fence_razed", "tower_added",
                                                              "tower_removed"]
    if factor == 1.0:
        assert {"fence_razed", "tower_removed"} <= found
    else:
        assert not found & {"fence_razed", "fence_built", "tower_added", "tower_removed"}
