"""Turn labelled change regions into polygons in map coordinates."""

from __future__ import annotations

import numpy as np
import rasterio.features
from affine import Affine
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

__all__ = ["region_polygons"]


def region_polygons(labels: np.ndarray, transform: Affine) -> dict[int, BaseGeometry]:
    """Return the outline of every labelled region, in the map coordinates of ``transform``.

    Parameters
    ----------
    labels : (M, N) ndarray of int32
        0 for background, one positive integer per region.
    transform : Affine

    Returns
    -------
    dict
        Label to (Multi)Polygon; pixel edges, so areas equal pixel counts times pixel area.
    """
    parts: dict[int, list[BaseGeometry]] = {}
    for geom, value in rasterio.features.shapes(
        labels, mask=labels > 0, transform=transform, connectivity=8
    ):
        parts.setdefault(int(value), []).append(shape(geom))
    return {k: (v[0] if len(v) == 1 else unary_union(v)) for k, v in sorted(parts.items())}
