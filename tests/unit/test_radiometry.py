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
    invariant_fit,
    match_histograms,
    normalize,
    offset_fit,
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


def test_offset_fit_takes_out_a_haze_and_no_gain():
    rng = np.random.default_rng(4)
    ref = rng.uniform(200, 700, (4, 80, 80)).astype("float32")
    hazy = ref + np.array([60, 40, 20, 5], "float32")[:, None, None]  # haze adds most to blue
    fit = offset_fit(array_scene(ref), array_scene(hazy))
    assert fit.gain == (1.0,) * 4
    assert fit.offset == pytest.approx((-60, -40, -20, -5), abs=1e-3)
    out = normalize(array_scene(ref), array_scene(hazy), method="offset")
    assert np.allclose(out.data, ref, atol=1e-3)


def test_offset_fit_is_not_moved_by_new_bright_roofs():
    # Years of building raise a scene's contrast: a third of the later scene is now bright
    # roof. A fit of the spread takes that for a gain; the offset fit does not.
    rng = np.random.default_rng(5)
    ref = rng.uniform(200, 400, (4, 90, 90)).astype("float32")
    later = ref + rng.normal(0, 3, ref.shape).astype("float32")
    later[:, :30] = 1500
    offset = offset_fit(array_scene(ref), array_scene(later))
    # The median over the lit pixels leans a little towards the roofs: less than one noise sigma (4.2).
    assert offset.offset == pytest.approx((0,) * 4, abs=3.0)
    spread = fit_invariant(later, ref, np.ones((90, 90), bool), iterations=0)
    assert min(spread.gain) < 0.5  # what matching the spread would have done to the roofs
    out = normalize(array_scene(ref), array_scene(later), method="offset")
    assert out.data[:, :30].min() > 1490  # the roofs keep their brightness


def test_a_gain_is_fitted_only_where_the_dates_agree_pixel_for_pixel():
    rng = np.random.default_rng(6)
    ref = rng.uniform(200, 700, (4, 80, 80)).astype("float32")
    # The same ground through another sensor gain and bit depth: the gain is fitted.
    other_sensor = ref / 3 + rng.normal(0, 1, ref.shape).astype("float32")
    fit = invariant_fit(array_scene(ref), array_scene(other_sensor))
    assert fit.gain == pytest.approx((3.0,) * 4, rel=0.02)
    # Scenes that share no detail (another decade, another mosaic) and differ in contrast:
    # no gain, only the offset (about the difference of their levels, 450 - 200).
    unrelated = rng.uniform(100, 300, ref.shape).astype("float32")
    fit = invariant_fit(array_scene(ref), array_scene(unrelated))
    assert fit.gain == (1.0,) * 4
    assert fit.offset == pytest.approx((250.0,) * 4, abs=40)  # medians over the lit pixels of both
    # The threshold is the caller's: -1 fits a gain whatever the agreement.
    assert invariant_fit(array_scene(ref), array_scene(unrelated), min_correlation=-1.0).gain != (1.0,) * 4


def test_the_halfway_radiometry_is_the_same_for_either_order_of_the_dates():
    """Vegetation is measured half-way between the dates' radiometries: both meet there, and the swapped
    pair (whose fit is the inverse) meets in the same radiometry (issue 29, 1)."""
    from campwatch.detection.radiometry import LinearFit

    rng = np.random.default_rng(3)
    later = rng.uniform(20, 200, size=(3, 8, 8)).astype("float32")
    fit = LinearFit(gain=(1.44, 0.81, 1.0), offset=(12.0, -30.0, 7.5))
    earlier = fit.apply(later)  # earlier ~ g * later + o
    to_mid_later, to_mid_earlier = fit.halfway()
    np.testing.assert_allclose(to_mid_later.apply(later), to_mid_earlier.apply(earlier), rtol=1e-5, atol=1e-3)
    inverse = LinearFit(gain=tuple(1 / g for g in fit.gain), offset=tuple(-o / g for o, g in zip(fit.offset, fit.gain)))
    swapped_later, swapped_earlier = inverse.halfway()  # the swapped pair: the earlier date is now the later
    np.testing.assert_allclose(swapped_later.apply(earlier), to_mid_earlier.apply(earlier), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(swapped_earlier.apply(later), to_mid_later.apply(later), rtol=1e-5, atol=1e-3)
