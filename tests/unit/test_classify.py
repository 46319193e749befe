"""Tests of campwatch.detection.classify: each class on a scene made for it, one event at a time, the
no-event case with every nuisance, and the class mask."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from campwatch import detect
from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED
from campwatch.data.sample import SAMPLE_CAMPS, write_series
from campwatch.detection.classify import class_mask
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


def test_towers_the_aoi_lists_need_no_shadow(tmp_path):
    """A tower listed in the AOI file is tracked even when the imagery shows no shadow for it."""
    import json

    import numpy as np
    from conftest import BUILDINGS, ORIGIN, camp_scene, write_tif
    from pyproj import Transformer

    from campwatch.io.aoi import read_aoi

    tower = (100, 200, 6, 6)  # 3 m x 3 m, bright, no shadow: not a tower by the imagery alone
    a = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    a[:, tower[0]:tower[0] + 6, tower[1]:tower[1] + 6] = 600
    b = camp_scene(7, buildings=BUILDINGS, noise_seed=2)
    pa = write_tif(tmp_path / "a_2020-01-01.tif", a)
    pb = write_tif(tmp_path / "b_2020-06-01.tif", b)
    assert not [r for r in detect(pa, pb).regions if r.change_class.startswith("tower")]

    to_ll = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    x = ORIGIN[0] + (tower[1] + 3) * 0.5
    y = ORIGIN[1] - (tower[0] + 3) * 0.5
    ring = [list(to_ll.transform(ORIGIN[0] + dx, ORIGIN[1] - dy)) for dx, dy in
            [(0, 0), (120, 0), (120, 128), (0, 128), (0, 0)]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"role": "aoi", "name": "t"}, "geometry": {"type": "Polygon",
                                                                                     "coordinates": [ring]}},
        {"type": "Feature", "properties": {"role": "tower"},
         "geometry": {"type": "Point", "coordinates": list(to_ll.transform(x, y))}},
    ]}
    (tmp_path / "aoi.geojson").write_text(json.dumps(doc))
    found = [r for r in detect(pa, pb, aoi=read_aoi(tmp_path / "aoi.geojson")).regions
             if r.change_class.startswith("tower")]
    assert [r.change_class for r in found] == ["tower_removed"]
    assert np.hypot(found[0].geometry.centroid.x - x, found[0].geometry.centroid.y - y) < 1.0


def test_class_mask_codes_change_cloud_and_what_was_not_analysed():
    labels = np.zeros((10, 10), "int32")
    labels[1:3, 1:3] = 1
    labels[5:8, 5:8] = 2
    # class_mask reads each region's id and class only.
    regions = [SimpleNamespace(id=1, change_class="tower_added"), SimpleNamespace(id=2, change_class="other_change")]
    analysed = np.ones((10, 10), bool)
    analysed[:, 9] = False
    obscured = np.zeros((10, 10), bool)
    obscured[7, :] = True
    codes = class_mask(labels, regions, analysed, obscured=obscured)
    assert codes.dtype == np.uint8
    assert codes[1, 1] == CLASSES["tower_added"].code and codes[5, 5] == CLASSES["other_change"].code
    assert codes[0, 0] == NO_CHANGE
    assert (codes[7, :9] == OBSCURED).all() and (codes[:, 9] == NOT_ANALYSED).all()


@pytest.mark.parametrize("veiled_date", [None, 0, 1], ids=["clear", "veiled-before", "veiled-after"])
def test_a_models_building_change_under_a_thin_veil_is_not_claimed_alone(veiled_date):
    from conftest import BUILDINGS, NEW, array_scene, camp_scene

    from campwatch.config import DetectConfig
    from campwatch.detection.change import change_measures
    from campwatch.detection.classify import classify_changes
    from campwatch.detection.model import LearnedChange

    before = array_scene(camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    after = array_scene(camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2))
    measures = change_measures(before, after)
    r0, c0, h, w = NEW
    seen = np.zeros(before.shape, bool)
    seen[r0:r0 + h, c0:c0 + w] = True  # where the model sees a building change
    veil = np.zeros(before.shape, bool)
    veil[r0 - 10:r0 + h + 10, c0 - 10:c0 + w + 10] = True  # a thin cloud over it on one date
    veiled = tuple(veil if d == veiled_date else np.zeros_like(veil) for d in (0, 1))
    learned = LearnedChange(mask=seen, probability=np.where(seen, 0.9, 0.1).astype("float32"), covers="buildings",
                            name="test")
    # The classical stages see no change at all here: the model stands alone.
    _, regions, _ = classify_changes(np.zeros(before.shape, "int32"), before, after, measures, DetectConfig(),
                                     threshold=3.0, learned=learned, veiled=veiled)
    claimed = [r.change_class for r in regions if r.change_class.startswith("structure")]
    assert claimed == ([] if veiled_date is not None else ["structure_new"])


@pytest.mark.parametrize(
    "evidence, expected",
    [
        # (cover before, after, shadow before, after, vegetated before, after)
        ((0.0, 0.6, 0.2, 2.5, 0.1, 0.0), "structure_new"),  # a house on bare ground
        ((0.0, 0.0, 4.6, 4.0, 0.8, 0.0), "structure_new"),  # woodland, then a house: the trees' shadows do not count
        ((0.0, 0.0, 4.6, 1.2, 0.8, 0.0), "structure_changed"),  # woodland, then rubble's short shadows: not known
        ((0.7, 0.0, 2.5, 0.1, 0.0, 0.0), "structure_demolished"),  # a house razed to bare ground
        ((0.0, 0.0, 1.6, 0.1, 0.6, 0.0), "structure_changed"),  # trees and what was under them stripped: not known
        ((0.6, 0.6, 2.0, 2.1, 0.0, 0.0), "structure_modified"),  # a building on both dates
        ((0.0, 0.0, 0.3, 0.35, None, None), "structure_changed"),  # nothing tells
    ],
)
def test_a_model_regions_direction_is_what_the_pixels_back_and_flips_with_the_dates(evidence, expected):
    from campwatch.detection.direction import building_direction as _direction

    cb, ca, sb, sa, gb, ga = evidence
    cls, cause, lean = _direction(cb, ca, sb, sa, gb, ga, min_shadow_px=0.5)
    assert cls == expected, cause
    swapped_cls, _, swapped_lean = _direction(ca, cb, sa, sb, ga, gb, min_shadow_px=0.5)
    assert swapped_lean == pytest.approx(-lean)
    assert swapped_cls == {"structure_new": "structure_demolished", "structure_demolished": "structure_new"}.get(cls,
                                                                                                                 cls)
    if cls == "structure_changed":
        assert cause.startswith("built or razed is not known")


def test_a_models_region_where_the_pixels_did_not_change_is_not_claimed():
    """A model alone may not claim where the pixels did not change (issue 26, 3): a region of it with no
    measured change under it is no structure change; the same region over changed pixels is one."""
    from conftest import array_scene

    from campwatch.config import DetectConfig
    from campwatch.detection.direction import MODEL_BACKING
    from campwatch.detection.direction import model_structure_changes as _learned
    from campwatch.detection.model import LearnedChange
    from campwatch.detection.structures import find_structures

    config = DetectConfig()
    scene = array_scene(np.full((3, 64, 64), 100.0))
    smap = find_structures(scene, config=config, valid=scene.valid)
    region = np.zeros((64, 64), bool)
    region[20:44, 20:44] = True
    learned = LearnedChange(mask=region, probability=np.where(region, 0.9, 0.1).astype("float32"),
                            covers="buildings", name="test", threshold=0.5)
    none = np.zeros_like(region)

    def claims(raw: np.ndarray) -> int:
        return len(_learned(learned, [], smap, smap, np.ones_like(region), scene, config, veiled=(none, none),
                            raw_changed=raw))

    assert claims(none) == 0
    some = none.copy()
    some[20:22, 20:44] = True  # 2 rows of 24 changed: 8 % of the region, over the floor
    assert 2 / 24 > MODEL_BACKING and claims(some) == 1
    assert claims(region) == 1
