"""Areas the user says not to analyse: haze the cloud mask missed, a glint, a bad strip.

A mask file is a GeoJSON FeatureCollection of Polygons or MultiPolygons in WGS84
longitude/latitude. A feature with a ``date`` property (``YYYY-MM-DD``) masks that date's
image only; one without masks every date. Masked pixels are treated like nodata: never
analysed, never reported as change, and counted in the share of the AOI that a date hides.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.features import geometry_mask
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.errors import InputError
from campwatch.io.aoi import to_crs

__all__ = ["UserMask", "read_mask"]


@dataclass(frozen=True)
class UserMask:
    """Polygons (WGS84) not to analyse, each on one date or (``None``) on all."""

    areas: tuple[tuple[BaseGeometry, dt.date | None], ...]
    path: str | None = None

    def pixels(self, date: dt.date, *, crs: Any, transform: Any, shape: tuple[int, int]) -> np.ndarray:
        """The (M, N) boolean mask of the areas that apply to ``date`` on a grid."""
        geoms = [to_crs(g, crs) for g, d in self.areas if d is None or d == date]
        if not geoms:
            return np.zeros(shape, dtype=bool)
        return geometry_mask(geoms, out_shape=shape, transform=transform, invert=True, all_touched=True)


def read_mask(path: str | Path) -> UserMask:
    """Read and validate a mask file.

    Raises
    ------
    InputError
        Naming the file (and the feature) when it is missing, not JSON, not a
        FeatureCollection of polygons in longitude/latitude, or has a bad ``date``.
    """
    path = Path(path)
    where = f"mask file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{where}: not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{where}: not a GeoJSON file ({exc})") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise InputError(f"{where}: expected a GeoJSON FeatureCollection of polygons")
    areas = []
    for i, feature in enumerate(data["features"]):
        label = f"{where}: feature {i}"
        try:
            geom = shape(feature["geometry"])
        except Exception as exc:  # shapely raises several kinds for bad geometry
            raise InputError(f"{label}: not a valid geometry ({exc})") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise InputError(f"{label}: a mask area must be a Polygon or MultiPolygon, got {geom.geom_type}")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InputError(f"{label}: coordinates {geom.bounds} are not longitude/latitude in degrees; "
                             "mask files are in WGS84 (RFC 7946)")
        props = feature.get("properties") or {}
        date = props.get("date")
        if date is not None:
            try:
                date = dt.date.fromisoformat(str(date))
            except ValueError as exc:
                raise InputError(f"{label}: date {date!r} is not a date (YYYY-MM-DD)") from exc
        areas.append((geom, date))
    return UserMask(tuple(areas), path=str(path.resolve()))
