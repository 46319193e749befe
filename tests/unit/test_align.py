"""Tests of campwatch.detection.align."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, array_scene, camp_scene
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from campwatch.detection.align import apply_shift, estimate_shift


@pytest.mark.parametrize("shift", [(0.0, 0.0), (1.3, -0.7), (-2.0, 2.0), (0.4, 1.9)])
def test_estimate_shift_recovers_known_shift(shift):
    a = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = np.stack([ndimage.shift(x, shift, order=1, mode="nearest") for x in a])
    est = estimate_shift(array_scene(a), array_scene(b))
    assert est == pytest.approx((-shift[0], -shift[1]), abs=0.15)


def test_aligning_an_aligned_pair_changes_nothing():
    a = array_scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    est = estimate_shift(a, a)
    assert est == (0.0, 0.0)
    assert apply_shift(a, est) is a


@settings(max_examples=25, deadline=None)
@given(
    st.floats(-4.9, 4.9, allow_nan=False).map(lambda v: round(v, 2)),
    st.floats(-4.9, 4.9, allow_nan=False).map(lambda v: round(v, 2)),
)
def test_apply_shift_resamples_as_scipy_does(dr, dc):
    # The separable shift must give ndimage.shift's bilinear values, edges repeated.
    from campwatch.detection.align import _shift_bilinear

    data = np.random.default_rng(3).normal(500, 50, size=(2, 37, 53)).astype("float32")
    ours = _shift_bilinear(data, (dr, dc))
    ref = np.stack([ndimage.shift(b, (dr, dc), order=1, mode="nearest", prefilter=False) for b in data])
    assert ours.dtype == np.float32 and ours.shape == data.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-3)


def test_match_shift_blur_blurs_the_unmoved_scene_as_the_resampling_blurs_the_moved_one():
    from campwatch.detection.align import match_shift_blur

    rng = np.random.default_rng(7)
    tex = ndimage.gaussian_filter(rng.standard_normal((120, 120)), 1.0).astype("float32")
    scene = array_scene(np.stack([100 + 20 * tex] * 3))
    moved = array_scene(ndimage.shift(scene.data, (0, 1.4, -0.6), order=3, mode="nearest"))
    back = apply_shift(moved, (-1.4, 0.6))
    core = (slice(None), slice(10, -10), slice(10, -10))
    sharp = np.std((back.data - scene.data)[core])
    matched = np.std((back.data - match_shift_blur(scene, (-1.4, 0.6)).data)[core])
    assert matched < 0.6 * sharp  # the edges no longer differ
    # Per axis, [b, 1 - 2b, b] with b = f (1 - f) / 2: an impulse shows the kernel.
    impulse = np.zeros((1, 9, 9), "float32")
    impulse[0, 4, 4] = 1
    out = match_shift_blur(array_scene(impulse), (0.5, 0.0)).data[0]
    np.testing.assert_allclose(out[3:6, 4], [0.125, 0.75, 0.125], atol=1e-6)
    assert out[4, 3] == 0 and out.sum() == pytest.approx(1.0)
    # A whole-pixel shift resamples nothing, so blurs nothing.
    assert match_shift_blur(scene, (2.0, -1.0)) is scene


def test_match_shift_blur_does_not_mix_nodata_into_an_edge():
    from campwatch.detection.align import match_shift_blur

    data = np.full((2, 20, 20), 100.0, "float32")
    valid = np.ones((20, 20), bool)
    valid[:, 10:] = False
    data[:, ~valid] = 0
    out = match_shift_blur(array_scene(data, valid=valid), (0.5, 0.5)).data
    np.testing.assert_allclose(out[:, valid], 100.0, rtol=1e-6)
    assert (out[:, ~valid] == 0).all()
