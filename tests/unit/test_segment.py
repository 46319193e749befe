"""Tests of campwatch.detection.segment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import disk, opening

from campwatch.config import DetectConfig
from campwatch.detection.segment import clean_mask, open_mask


def test_clean_mask_removes_slivers_and_specks():
    mask = np.zeros((100, 100), bool)
    mask[10:40, 10:40] = True  # 225 m2: kept
    mask[60, 10:90] = True  # a one-pixel sliver
    mask[80:84, 80:84] = True  # 4 m2 speck
    out = clean_mask(mask, pixel_size=0.5, config=DetectConfig())
    assert out[12:38, 12:38].all()
    assert not out[60].any() and not out[80:84, 80:84].any()


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 6, 10])
def test_open_mask_is_skimage_opening_by_a_disk(radius):
    """OpenCV's opening with skimage's disk as kernel: the same pixels, at the borders too."""
    rng = np.random.default_rng(radius)
    mask = ndimage.gaussian_filter(rng.standard_normal((157, 203)), 2) > 0.1
    mask[0, :] = mask[:, -1] = True
    expected = opening(mask, disk(radius)) if radius else mask
    got = open_mask(mask[:, 1:], radius)  # a view, not contiguous
    assert got.dtype == bool and np.array_equal(got, opening(mask[:, 1:], disk(radius)) if radius else mask[:, 1:])
    assert np.array_equal(open_mask(mask, radius), expected)
