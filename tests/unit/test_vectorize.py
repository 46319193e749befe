"""Tests of campwatch.detection.vectorize: labelled regions as polygons in map coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TRANSFORM

from campwatch.detection.vectorize import region_polygons


def test_each_label_is_one_polygon_with_its_pixel_area_where_its_pixels_are():
    labels = np.zeros((50, 60), "int32")
    labels[10:20, 5:25] = 1  # 200 px
    labels[30:35, 40:42] = 2
    labels[40:42, 50:52] = 2  # two parts: one MultiPolygon
    polys = region_polygons(labels, TRANSFORM)
    assert sorted(polys) == [1, 2]
    assert polys[1].area == pytest.approx(200 * 0.25)
    assert polys[2].geom_type == "MultiPolygon" and polys[2].area == pytest.approx(14 * 0.25)
    assert polys[1].bounds == pytest.approx((TRANSFORM.c + 2.5, TRANSFORM.f - 10.0, TRANSFORM.c + 12.5,
                                             TRANSFORM.f - 5.0))
    assert all(p.is_valid for p in polys.values())


def test_no_label_no_polygon():
    assert region_polygons(np.zeros((5, 5), "int32"), TRANSFORM) == {}
