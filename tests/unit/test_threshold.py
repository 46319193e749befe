"""Tests of campwatch.detection.threshold."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, array_scene, camp_scene
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.config import SegmentOptions, ThresholdOptions
from campwatch.detection.change import change_measures
from campwatch.detection.segment import change_mask, clean_mask
from campwatch.detection.threshold import choose_thresholds, noise_threshold


def _pair_measures(extra_noise: float):
    a = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = a + np.random.default_rng(2).normal(0, extra_noise, a.shape)
    b[:, 100:130, 100:140] += 200
    return change_measures(array_scene(a), array_scene(b))


@settings(max_examples=25, deadline=None)
@given(k1=st.floats(1.0, 8.0), k2=st.floats(1.0, 8.0))
def test_a_higher_threshold_never_yields_a_larger_mask(k1, k2):
    m = _pair_measures(5.0)
    lo, hi = sorted((k1, k2))
    masks = [change_mask(m, choose_thresholds(m, ThresholdOptions(threshold_method="noise", noise_k=k)))
             for k in (lo, hi)]
    assert masks[1].sum() <= masks[0].sum()
    assert np.all(masks[0] | ~masks[1])  # the high mask lies within the low one


def test_thresholds_find_the_change_and_not_the_noise():
    m = _pair_measures(5.0)
    t = choose_thresholds(m, ThresholdOptions())
    mask = clean_mask(change_mask(m, t), pixel_size=0.5, config=SegmentOptions())
    assert mask[102:128, 102:138].all()
    assert mask.sum() < 30 * 40 * 1.2
    assert noise_threshold(np.array([])) == float("inf")


@settings(max_examples=20, deadline=None)
@given(noise=st.floats(2.0, 30.0))
def test_either_threshold_is_the_lower_of_otsu_and_noise(noise):
    m = _pair_measures(noise)
    got = {method: choose_thresholds(m, ThresholdOptions(threshold_method=method))
           for method in ("either", "otsu", "noise", "auto")}
    for side in ("gain", "loss"):
        lower = min(getattr(got["otsu"], side), getattr(got["noise"], side))
        upper = max(getattr(got["otsu"], side), getattr(got["noise"], side))
        assert getattr(got["either"], side) == pytest.approx(lower)
        assert getattr(got["auto"], side) == pytest.approx(upper)
    assert got["either"].method == "either"


def test_pixel_noise_is_the_noise_of_the_pixels_not_of_the_scene():
    from campwatch.detection.change import pixel_noise

    scene = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")[0]  # roofs, shadows, ground
    clean = np.round(scene - (scene - np.round(scene)))
    rng = np.random.default_rng(4)
    valid = np.ones(scene.shape, bool)
    for sigma in (2.0, 5.0, 20.0):
        noisy = scene + rng.normal(0, sigma, scene.shape)
        assert pixel_noise(noisy, valid) == pytest.approx(np.hypot(sigma, 5.0), rel=0.15)
    # A plane has no noise; invalid pixels are not measured.
    ramp = np.add.outer(np.arange(50.0), 2 * np.arange(60.0))
    assert pixel_noise(ramp, np.ones(ramp.shape, bool)) == 0.0
    assert pixel_noise(clean, np.zeros(clean.shape, bool)) == 0.0


def test_an_automatic_threshold_never_goes_under_the_pixels_own_noise():
    """A later image that is the earlier one plus only its sensor noise: Otsu's threshold splits the
    noise (under 1 sigma); the floor keeps it at 3 times the pixels' own noise, and nothing is found."""
    a = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = a + np.random.default_rng(2).normal(0, 5.0, a.shape)
    m = change_measures(array_scene(a), array_scene(b))
    otsu = choose_thresholds(m, ThresholdOptions(noise_floor_k=0.0, threshold_method="otsu"))
    assert otsu.gain < 1.2 and otsu.floor == 0.0
    t = choose_thresholds(m, ThresholdOptions(threshold_method="otsu"))
    assert t.floor == pytest.approx(3 * np.sqrt(np.mean(np.square(np.divide(m.pixel_noise, m.sigma)))))
    assert t.floor > 3.0 and t.gain == t.loss == t.floor
    assert t.to_dict()["floor"] == round(t.floor, 4)
    assert not change_mask(m, t).any()
    # A real pair's differences (season, light: smooth over a few pixels) are many times its pixels' noise:
    # the floor lies far under its threshold, which is what it was without one.
    from scipy import ndimage

    field = ndimage.gaussian_filter(np.random.default_rng(3).standard_normal(a.shape), (0, 3, 3))
    b = a + 40 * field / field.std()
    b[:, 100:130, 100:140] += 300
    m = change_measures(array_scene(a), array_scene(b))
    t, without = choose_thresholds(m, ThresholdOptions()), choose_thresholds(m, ThresholdOptions(noise_floor_k=0.0))
    assert t.floor < 0.7 < without.loss < without.gain
    assert (t.gain, t.loss) == (without.gain, without.loss)
    # A threshold the user gives is theirs.
    assert choose_thresholds(m, ThresholdOptions(gain_threshold=0.5, loss_threshold=0.5)).gain == 0.5
