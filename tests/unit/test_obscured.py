"""Tests of campwatch.detection.obscured: clouds and cloud shadows told from change."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
from conftest import BUILDINGS, array_scene, camp_scene
from scipy import ndimage

from campwatch.config import DetectConfig
from campwatch.detection.change import change_measures
from campwatch.detection.obscured import find_obscured
from campwatch.detection.segment import change_mask, label_regions
from campwatch.detection.threshold import choose_thresholds

CONFIG = DetectConfig()


def _smooth_blob(shape: tuple[int, int], centre: tuple[int, int], radius: float) -> np.ndarray:
    """A soft-edged disc, 1 in the middle, 0 far out: how a cloud's veil fades."""
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    d = np.hypot(rr - centre[0], cc - centre[1])
    return ndimage.gaussian_filter((d < radius).astype("float32"), 6)


def _obscured(before_img: np.ndarray, after_img: np.ndarray):
    before, after = array_scene(before_img), array_scene(after_img, date=dt.date(2020, 6, 1))
    measures = change_measures(before, after)
    # Clouds are searched above the noise threshold, with a hysteresis of their own (they fade out).
    noise = choose_thresholds(measures, dataclasses.replace(CONFIG.thresholds, threshold_method="noise"))
    labels = label_regions(change_mask(measures, noise, hysteresis_ratio=CONFIG.clouds.cloud_hysteresis_ratio))
    return find_obscured(labels, before, after, measures, CONFIG.clouds)


def test_a_bright_smooth_veil_is_a_cloud_on_the_later_date():
    before = camp_scene(7, buildings=BUILDINGS, noise_seed=1).astype("float32")
    veil = _smooth_blob(before.shape[1:], (128, 120), 45)
    after = camp_scene(7, buildings=BUILDINGS, noise_seed=2).astype("float32") * (1 + 2.5 * veil)
    ob = _obscured(before, after)
    assert [(r["kind"], r["date"]) for r in ob.regions] == [("cloud", "2020-06-01")]
    thick = veil > 0.8
    assert ob.mask[thick].mean() > 0.9  # the thick middle is not analysed
    assert not ob.before.any()  # attributed to the date it is on
    assert (ob.mask & (veil < 0.01)).sum() < 0.02 * ob.mask.sum()  # nothing far from it


def test_a_dark_smooth_veil_is_a_cloud_shadow():
    before = camp_scene(7, buildings=BUILDINGS, noise_seed=1).astype("float32")
    veil = _smooth_blob(before.shape[1:], (128, 120), 45)
    after = camp_scene(7, buildings=BUILDINGS, noise_seed=2).astype("float32") * (1 - 0.7 * veil)
    ob = _obscured(before, after)
    assert [(r["kind"], r["date"]) for r in ob.regions] == [("cloud shadow", "2020-06-01")]
    # Where the shadow darkens the ground by more than max_veil it hides it; elsewhere it is seen through.
    assert (ob.mask | ob.seen_through)[veil > 0.8].all()
    assert ob.mask[veil > 0.95].mean() > 0.5 and not ob.before.any()


def test_a_new_building_is_change_not_a_cloud():
    before = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    after = camp_scene(7, buildings=BUILDINGS + [(200, 170, 24, 40)], noise_seed=2)
    ob = _obscured(before, after)
    assert not ob.found and not ob.mask.any() and not ob.seen_through.any()
