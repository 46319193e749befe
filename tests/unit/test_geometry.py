"""Tests of campwatch.io.geometry: every geometry written is valid WGS84 wound as RFC 7946 asks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyproj import Transformer
from scipy import ndimage
from shapely.geometry import LineString, Polygon
from shapely.geometry.polygon import orient

from campwatch.detection.vectorize import region_polygons
from campwatch.io.geometry import WGS84_GRID, rfc7946, to_wgs84

# A 0.5 m grid in UTM 52N, far north and far south, where rounding bites hardest.
GRIDS = [("EPSG:32652", Affine(0.5, 0, 576000.0, 0, -0.5, 4632000.0)),
         ("EPSG:32652", Affine(0.3, 0, 499990.0, 0, -0.3, 9100000.0)),
         ("EPSG:32752", Affine(0.5, 0, 300000.0, 0, -0.5, 1200000.0))]


def _wound(geom) -> bool:
    return all(orient(p, 1.0).equals_exact(p, 0) for p in getattr(geom, "geoms", [geom]))


@settings(max_examples=60, deadline=None)
@given(mask=arrays(bool, (24, 24)), grid=st.sampled_from(GRIDS), smooth=st.booleans())
def test_any_mask_becomes_valid_wound_wgs84_polygons_of_its_area(mask, grid, smooth):
    crs, transform = grid
    if smooth:
        mask = ndimage.binary_opening(mask)
    labels = ndimage.label(mask, structure=np.ones((3, 3)))[0].astype("int32")
    back = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    for poly in region_polygons(labels, transform).values():
        out = to_wgs84(poly, crs)
        assert out.is_valid, shapely.is_valid_reason(out)
        assert out.geom_type in ("Polygon", "MultiPolygon")
        assert _wound(out)
        coords = shapely.get_coordinates(out)
        assert np.allclose(coords / WGS84_GRID, np.round(coords / WGS84_GRID), atol=1e-6)
        # Back in metres, the area is the pixels' to within the 1 cm grid along the outline.
        metres = shapely.transform(out, lambda xy, tf=back: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))
        assert metres.area == pytest.approx(poly.area, abs=0.02 * poly.length + 1e-6)
        assert to_wgs84(out, "EPSG:4326").equals(out)


def test_a_ring_that_rounding_folds_onto_itself_is_repaired_not_dropped():
    # A notch whose tip lies 0.04 of a grid step above the opposite edge: plain rounding
    # puts the tip on that edge, and the ring touches itself.
    unit, lon, lat = WGS84_GRID, 129.9, 42.5
    ring = [(0, 0), (10, 0), (10, 10), (5, 0.04), (0, 10), (0, 0)]
    notch = Polygon([(lon + x * unit, lat + y * unit) for x, y in ring])
    assert notch.is_valid
    rounded = shapely.transform(notch, lambda xy: np.round(xy, 7))
    assert not rounded.is_valid  # what the report wrote before
    out = rfc7946(notch)
    assert out.is_valid and out.geom_type in ("Polygon", "MultiPolygon") and _wound(out)
    assert out.area == pytest.approx(notch.area, rel=0.05)


def test_lines_stay_lines_and_clockwise_polygons_are_turned():
    line = LineString([(129.9, 42.5), (129.90001, 42.50001)])
    assert rfc7946(line).geom_type == "LineString"
    cw = Polygon([(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)])  # clockwise exterior
    assert not _wound(cw) and _wound(rfc7946(cw))
