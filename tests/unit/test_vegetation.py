"""Tests of campwatch.detection.vegetation, and of what stable vegetation does to a pair's change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import array_scene, ground

from campwatch.config import DetectConfig, VegetationOptions
from campwatch.detection.analysis import analyse_scenes
from campwatch.detection.vegetation import greenness, stable_vegetation, vegetation

#: Reflectances (blue, green, red, nir) of grass in spring and in late summer, and of a roof.
GRASS_SPRING = np.array([180, 330, 200, 900], "float32")
GRASS_SUMMER = np.array([260, 380, 300, 640], "float32")  # paler, drier: still vegetation
ROOF = np.array([575, 610, 610, 660], "float32")


def test_greenness_is_ndvi_with_nir_and_excess_green_without():
    px = np.array([100, 300, 200, 600], "float32")[:, None, None] * np.ones((4, 2, 3), "float32")
    ndvi, name = greenness(array_scene(px))
    assert name == "ndvi" and ndvi == pytest.approx(np.full((2, 3), (600 - 200) / (600 + 200)))
    exg, name = greenness(array_scene(px[:3]))  # blue, green, red: no NIR
    assert name == "exg" and exg == pytest.approx(np.full((2, 3), (2 * 300 - 200 - 100) / 600))
    assert greenness(array_scene(px[:1])) is None  # a single band says nothing of vegetation


def test_greenness_of_invalid_and_dark_pixels_is_zero():
    px = np.zeros((4, 2, 2), "float32")
    px[:, 0, 0] = [100, 300, 200, 600]
    valid = np.array([[True, True], [False, True]])
    px[:, 1, 0] = [100, 300, 200, 600]  # invalid: not judged
    index, _ = greenness(array_scene(px, valid=valid))
    assert index[0, 0] > 0.4 and index[0, 1] == 0 and index[1, 0] == 0 and index[1, 1] == 0


def test_vegetation_thresholds_come_from_the_config():
    px = np.array([100, 300, 200, 500], "float32")[:, None, None] * np.ones((4, 1, 1), "float32")  # NDVI 0.43
    assert vegetation(array_scene(px), config=VegetationOptions()).all()
    assert not vegetation(array_scene(px), config=VegetationOptions(vegetation_ndvi=0.5)).any()
    rgb = array_scene(px[:3])  # excess green (600 - 200 - 100) / 600 = 0.5
    assert vegetation(rgb, config=VegetationOptions(vegetation_exg=0.45)).all()
    assert not vegetation(rgb, config=VegetationOptions(vegetation_exg=0.55)).any()


def test_stable_vegetation_is_vegetation_on_both_dates_only():
    before = np.broadcast_to(GRASS_SPRING[:, None, None], (4, 4, 4)).copy()
    after = np.broadcast_to(GRASS_SUMMER[:, None, None], (4, 4, 4)).copy()
    after[:, :2] = ROOF[:, None, None]  # a roof built on half the grass
    stable = stable_vegetation(array_scene(before), array_scene(after), config=VegetationOptions())
    assert stable[2:].all() and not stable[:2].any()
    assert stable_vegetation(array_scene(before), array_scene(after),
                             config=VegetationOptions(ignore_stable_vegetation=False)) is None
    assert stable_vegetation(array_scene(before[:1]), array_scene(after[:1]), config=VegetationOptions()) is None


def _field_pair(after_field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bare ground with a 40 m x 40 m field in rows/cols 60-140: grass in spring, then ``after_field``."""
    rng = np.random.default_rng(3)
    a = ground((200, 200), 5)
    b = ground((200, 200), 5)
    tex = 1 + 0.03 * rng.standard_normal((80, 80)).astype("float32")
    a[:, 60:140, 60:140] = GRASS_SPRING[:, None, None] * tex
    b[:, 60:140, 60:140] = after_field[:, None, None] * tex
    a += rng.normal(0, 4, a.shape).astype("float32")
    b += rng.normal(0, 4, b.shape).astype("float32")
    return a, b


@pytest.mark.parametrize("bands", [4, 3], ids=["ndvi", "excess-green"])
def test_a_field_that_stays_green_is_not_change_but_one_ploughed_is(bands):
    a, b = _field_pair(GRASS_SUMMER)
    before, after = array_scene(a[:bands]), array_scene(b[:bands], date=array_scene(a).date.replace(month=9))
    seasonal = analyse_scenes(before, after)
    assert (seasonal.labels[60:140, 60:140] > 0).mean() < 0.01
    assert not seasonal.regions
    without_rule = analyse_scenes(before, after, config=DetectConfig(ignore_stable_vegetation=False))
    assert (without_rule.labels[60:140, 60:140] > 0).mean() > 0.9
    soil = np.array([225, 290, 360, 525], "float32") * 1.6  # the field ploughed: bright bare soil
    a, b = _field_pair(soil)
    ploughed = analyse_scenes(array_scene(a[:bands]), dataclasses.replace(after, data=b[:bands]))
    assert (ploughed.labels[60:140, 60:140] > 0).mean() > 0.9
    assert {r.change_class for r in ploughed.regions} == {"other_change"}
    assert sum(r.area_m2 for r in ploughed.regions) == pytest.approx(40 * 40, rel=0.05)
