"""Tests of campwatch.detection.segment."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.morphology import disk, opening

from campwatch.config import SegmentOptions
from campwatch.detection.segment import clean_mask, near_windows, open_mask


def test_clean_mask_removes_slivers_and_specks():
    mask = np.zeros((100, 100), bool)
    mask[10:40, 10:40] = True  # 225 m2: kept
    mask[60, 10:90] = True  # a one-pixel sliver
    mask[80:84, 80:84] = True  # 4 m2 speck
    out = clean_mask(mask, pixel_size=0.5, config=SegmentOptions())
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


def test_near_windows_grow_each_change_by_the_margin_and_merge_those_that_overlap():
    seed = np.zeros((200, 300), bool)
    seed[20:25, 30:40] = True  # two changes whose margins overlap: one window
    seed[20:25, 50:52] = True
    seed[150, 250] = True  # one far off: a window of its own, cut by the grid's edge
    got = near_windows(seed, 10, max_fraction=1.0)
    assert got == [(slice(10, 35), slice(20, 62)), (slice(140, 161), slice(240, 261))]
    # Windows are disjoint and together hold every pixel within the margin of a change.
    near = np.zeros(seed.shape, bool)
    for rows, cols in got:
        assert not near[rows, cols].any()
        near[rows, cols] = True
    grown = ndimage.binary_dilation(seed, np.ones((21, 21), bool))
    assert not (grown & ~near).any()


def test_near_windows_are_the_whole_grid_when_change_is_everywhere_and_none_when_nothing_changed():
    seed = np.zeros((100, 100), bool)
    assert near_windows(seed, 5) == []
    seed[::20, ::20] = True  # spread over the grid: 25 windows of 17 x 17 cover 72 % of it
    assert near_windows(seed, 8) is None
    assert len(near_windows(seed, 8, max_fraction=1.0)) == 25
    assert len(near_windows(seed, 5)) == 25  # 11 x 11 each: 30 %


def test_windows_that_merge_into_one_can_overlap_a_third_which_then_joins_them():
    seed = np.zeros((100, 100), bool)
    seed[10, 10] = seed[20, 20] = True  # boxes 4..17 and 14..27: merged, 4..27
    seed[32, 5] = True  # box rows 26..39, cols 0..12: it overlaps the merged box only
    assert near_windows(seed, 6, max_fraction=1.0) == [(slice(4, 39), slice(0, 27))]
