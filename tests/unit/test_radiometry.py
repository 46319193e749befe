"""Tests of campwatch.detection.radiometry."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import array_scene

from campwatch.detection.radiometry import (
    LinearFit,
    fit_departure,
    fit_invariant,
    invariant_candidates,
    match_histograms,
    normalize,
)


def test_invariant_fit_recovers_gain_despite_a_cloud():
    rng = np.random.default_rng(0)
    ref = rng.uniform(100, 600, (4, 120, 120)).astype("float32")
    img = ref * np.array([1.1, 0.9, 1.05, 1.2])[:, None, None] + np.array([5, -3, 0, 10])[:, None, None]
    img[:, :40, :40] += 900  # a cloud over a ninth of the scene
    out = fit_invariant(img, ref, np.ones((120, 120), bool)).apply(img)
    assert np.abs(out[:, 60:, 60:] - ref[:, 60:, 60:]).max() < 1.0


def test_a_given_radiometric_fit_is_applied_as_it_is():
    rng = np.random.default_rng(0)
    ref = rng.uniform(100, 600, (4, 60, 60)).astype("float32")
    img = ref * 1.25 + 7
    fit = fit_invariant(img, ref, np.ones((60, 60), bool))
    assert fit.gain == pytest.approx((0.8,) * 4, rel=1e-4)
    assert fit.offset == pytest.approx((-5.6,) * 4, abs=0.05)
    given = LinearFit(gain=(2.0, 1.0, 1.0, 0.5), offset=(1.0, 0.0, -1.0, 0.0))
    out = normalize(array_scene(ref), array_scene(img), fit=given)
    assert np.allclose(out.data[0], 2 * img[0] + 1) and np.allclose(out.data[3], 0.5 * img[3])
    with pytest.raises(ValueError, match="3 bands"):
        LinearFit((1.0,) * 3, (0.0,) * 3).apply(img)


def test_fit_departure_is_in_noise_sigmas():
    img = np.full((2, 10, 10), 100.0, "float32")
    a = LinearFit((1.0, 1.0), (0.0, 0.0))
    b = LinearFit((1.1, 1.0), (0.0, -20.0))  # band 1: 10 apart at 100; band 2: 20 apart
    d = fit_departure(a, b, img, np.ones((10, 10), bool), (5.0, 10.0))
    assert d == pytest.approx(2.0)  # 2 sigmas on both bands
    assert fit_departure(a, a, img, np.ones((10, 10), bool), (5.0, 10.0)) == 0


def test_invariant_candidates_leave_out_vegetation_and_shadow():
    a = np.full((4, 10, 10), 300.0, "float32")
    a[3, :5] = 900  # vegetation: high NIR
    a[:, 8:] = 50  # shadow
    keep = invariant_candidates(a, a, np.ones((10, 10), bool), ("blue", "green", "red", "nir"), min_share=0)
    assert not keep[:5].any() and not keep[8:].any() and keep[5:8].all()


def test_match_histograms_matches_quantiles():
    rng = np.random.default_rng(1)
    ref = rng.normal(300, 30, (1, 50, 50)).astype("float32")
    img = ref * 2 + 40
    out = match_histograms(img, ref, np.ones((50, 50), bool))
    assert np.quantile(out, [0.1, 0.5, 0.9]) == pytest.approx(np.quantile(ref, [0.1, 0.5, 0.9]), abs=0.5)
