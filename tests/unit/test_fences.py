"""Tests of campwatch.detection.fences: fence lines found in the imagery, razed and built stretches."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRANSFORM, array_scene, ground
from shapely.geometry import LineString

from campwatch.config import FenceOptions
from campwatch.detection.fences import fence_changes, find_fence_lines, ridge_strength

SHAPE = (240, 320)
ROW = 120  # the fence runs west to east along this row, 120 m long at 0.5 m
COLS = (40, 280)


def fenced(gap: tuple[int, int] | None = None, seed: int = 3) -> np.ndarray:
    """Bare ground with a dark fence line one pixel wide, razed over the columns of ``gap``."""
    img = ground(SHAPE, seed) + np.random.default_rng(seed).normal(0, 3, (4, *SHAPE)).astype("float32")
    img[:, ROW, COLS[0]:COLS[1]] *= 0.45
    if gap is not None:
        img[:, ROW, gap[0]:gap[1]] = ground(SHAPE, seed)[:, ROW, gap[0]:gap[1]]
    return img


def test_a_fence_line_is_found_where_it_runs():
    scene = array_scene(fenced())
    lines = find_fence_lines(scene, ridge_strength(scene, pixel_size=0.5), config=FenceOptions())
    assert len(lines) == 1
    (x0, y0), (x1, y1) = sorted(lines[0].coords)
    row_y = TRANSFORM.f - (ROW + 0.5) * 0.5
    assert y0 == pytest.approx(row_y, abs=0.6) and y1 == pytest.approx(row_y, abs=0.6)
    assert lines[0].length == pytest.approx((COLS[1] - COLS[0]) * 0.5, rel=0.1)


def test_plain_ground_has_no_fence_line():
    scene = array_scene(ground(SHAPE, 5))
    assert find_fence_lines(scene, ridge_strength(scene, pixel_size=0.5), config=FenceOptions()) == []


def test_a_razed_stretch_is_measured_where_it_was_razed():
    gap = (120, 200)  # 40 m
    before, after = array_scene(fenced()), array_scene(fenced(gap, seed=3))
    found = fence_changes(before, after, usable=np.ones(SHAPE, bool), config=FenceOptions())
    assert [f.change_class for f in found] == ["fence_razed"]
    razed = found[0]
    # The ridge is smoothed over fence_smooth_m (4 m): the ends of the stretch come in by a few metres.
    assert 40.0 - 2 * 4.0 <= razed.length_m <= 40.0
    x_min, _, x_max, _ = razed.geometry.bounds
    assert TRANSFORM.c + gap[0] * 0.5 <= x_min <= TRANSFORM.c + gap[0] * 0.5 + 6.0
    assert TRANSFORM.c + gap[1] * 0.5 - 6.0 <= x_max <= TRANSFORM.c + gap[1] * 0.5
    assert razed.source == "imagery" and razed.ridge_before > razed.ridge_after


def test_a_built_stretch_is_the_razed_one_reversed():
    gap = (120, 200)
    found = fence_changes(array_scene(fenced(gap)), array_scene(fenced()), usable=np.ones(SHAPE, bool),
                          config=FenceOptions())
    assert [f.change_class for f in found] == ["fence_built"]
    assert 40.0 - 2 * 4.0 <= found[0].length_m <= 40.0


def test_nothing_changes_where_nothing_was_usable():
    usable = np.ones(SHAPE, bool)
    usable[:, 100:220] = False
    found = fence_changes(array_scene(fenced()), array_scene(fenced((120, 200))), usable=usable,
                          config=FenceOptions())
    assert found == []


def test_a_razed_stretch_found_in_a_window_is_the_one_found_over_the_whole_grid():
    gap = (120, 200)
    before, after = array_scene(fenced()), array_scene(fenced(gap, seed=3))
    usable = np.ones(SHAPE, bool)
    whole = fence_changes(before, after, usable=usable, config=FenceOptions())
    window = [(slice(60, 180), slice(0, 320))]  # the fence's row with 30 m either side
    part = fence_changes(before, after, usable=usable, config=FenceOptions(), windows=window)
    # The probabilistic Hough transform draws its pixels at random, the window's others than the
    # grid's: the line may be found a pixel off.
    assert [f.change_class for f in part] == [f.change_class for f in whole] == ["fence_razed"]
    assert part[0].geometry.hausdorff_distance(whole[0].geometry) <= 0.75
    assert part[0].length_m == pytest.approx(whole[0].length_m, abs=1.0)
    # The AOI's line, followed only where it crosses the window; nothing where no window is.
    line = LineString([(TRANSFORM.c + COLS[0] * 0.5, TRANSFORM.f - (ROW + 0.5) * 0.5),
                       (TRANSFORM.c + COLS[1] * 0.5, TRANSFORM.f - (ROW + 0.5) * 0.5)])
    given = fence_changes(before, after, usable=usable, config=FenceOptions(), lines=[line],
                          windows=[(slice(60, 180), slice(100, 220))])
    assert [f.change_class for f in given] == ["fence_razed"] and given[0].source == "aoi"
    assert 40.0 - 2 * 4.0 <= given[0].length_m <= 40.0
    assert fence_changes(before, after, usable=usable, config=FenceOptions(), windows=[]) == []


@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.0, 3.5])
def test_the_hessians_larger_eigenvalue_is_skimages_bit_for_bit(sigma):
    from skimage.feature import hessian_matrix, hessian_matrix_eigvals

    from campwatch.detection.fences import _largest_hessian_eigenvalue

    image = (np.random.default_rng(int(sigma * 10)).random((97, 131)) * 1000).astype("float32")
    image[40:44, :] -= 300  # a dark ridge
    theirs = hessian_matrix_eigvals(hessian_matrix(image, sigma, mode="reflect", use_gaussian_derivatives=False))[0]
    mine = _largest_hessian_eigenvalue(image, sigma)
    assert mine.dtype == theirs.dtype == np.float32
    assert np.array_equal(mine, theirs)
