"""Tests of campwatch.detection.results: pixel totals, what was seen, and results that clean up after themselves."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import TRANSFORM

from campwatch.detection.results import PixelTotals, seen_fraction


def test_pixel_totals_add_up_and_give_the_hidden_share():
    a = PixelTotals(pixel_area=0.25, grid_px=100, inside_px=80, analysed_px=70, clear_px=60,
                    obscured_px={"before": 5, "after": 0}, seen_through_px=2, hidden_px={"before": 10, "after": 4})
    b = PixelTotals(pixel_area=0.25, grid_px=50, inside_px=20, analysed_px=20, clear_px=20,
                    hidden_px={"before": 0, "after": 6})
    total = a + b
    assert (total.grid_px, total.inside_px, total.analysed_px, total.clear_px) == (150, 100, 90, 80)
    assert total.obscured_px == {"before": 5, "after": 0} and total.seen_through_px == 2
    assert total.obscured_fraction("before") == pytest.approx(0.10)
    assert total.obscured_fraction("after") == pytest.approx(0.10)


def test_seen_fraction_counts_the_usable_pixels_under_a_geometry():
    usable = np.ones((40, 40), bool)
    usable[:, 20:] = False  # the east half was not seen
    x0, y1 = TRANSFORM.c, TRANSFORM.f

    def window(win):
        return usable[int(win.row_off):int(win.row_off + win.height), int(win.col_off):int(win.col_off + win.width)]

    west = shapely.box(x0 + 2, y1 - 12, x0 + 8, y1 - 2)
    across = shapely.box(x0 + 5, y1 - 12, x0 + 15, y1 - 2)
    assert seen_fraction(west, TRANSFORM, usable.shape, window) == 1.0
    assert seen_fraction(across, TRANSFORM, usable.shape, window) == pytest.approx(0.5, abs=0.1)
    outside = shapely.box(x0 - 100, y1 + 50, x0 - 90, y1 + 60)
    assert seen_fraction(outside, TRANSFORM, usable.shape, window) == 0.0
    line = shapely.LineString([(x0 + 2, y1 - 5), (x0 + 8, y1 - 5)])  # lines are measured by a thin buffer
    assert seen_fraction(line, TRANSFORM, usable.shape, window) == 1.0
    east_line = shapely.LineString([(x0 + 12, y1 - 5), (x0 + 18, y1 - 5)])
    assert seen_fraction(east_line, TRANSFORM, usable.shape, window) == 0.0
