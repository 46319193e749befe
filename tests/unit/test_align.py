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
