"""Tests of campwatch.detection.threshold."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, array_scene, camp_scene
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.config import DetectConfig
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
    masks = [change_mask(m, choose_thresholds(m, DetectConfig(threshold_method="noise", noise_k=k)))
             for k in (lo, hi)]
    assert masks[1].sum() <= masks[0].sum()
    assert np.all(masks[0] | ~masks[1])  # the high mask lies within the low one


def test_thresholds_find_the_change_and_not_the_noise():
    m = _pair_measures(5.0)
    t = choose_thresholds(m, DetectConfig())
    mask = clean_mask(change_mask(m, t), pixel_size=0.5, config=DetectConfig())
    assert mask[102:128, 102:138].all()
    assert mask.sum() < 30 * 40 * 1.2
    assert noise_threshold(np.array([])) == float("inf")


@settings(max_examples=20, deadline=None)
@given(noise=st.floats(2.0, 30.0))
def test_either_threshold_is_the_lower_of_otsu_and_noise(noise):
    m = _pair_measures(noise)
    got = {method: choose_thresholds(m, DetectConfig(threshold_method=method))
           for method in ("either", "otsu", "noise", "auto")}
    for side in ("gain", "loss"):
        lower = min(getattr(got["otsu"], side), getattr(got["noise"], side))
        upper = max(getattr(got["otsu"], side), getattr(got["noise"], side))
        assert getattr(got["either"], side) == pytest.approx(lower)
        assert getattr(got["auto"], side) == pytest.approx(upper)
    assert got["either"].method == "either"
