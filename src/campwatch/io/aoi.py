"""Read and validate AOI files: a camp's extent and the features an analyst tracks in it.

An AOI file is a GeoJSON FeatureCollection in WGS84 longitude/latitude (RFC 7946).
Each feature has a ``role`` property:

- ``aoi`` (exactly one; Polygon or MultiPolygon): the extent, with ``name`` (required),
  ``aliases`` (list of strings), ``source`` (where the coordinates come from) and
  ``approximate`` (bool);
- ``fence`` (LineString or MultiLineString): a perimeter fence line;
- ``tower`` (Point): a guard tower;
- ``structure`` (Polygon): a known building.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.errors import AOIError
from campwatch.io.text import is_safe_name, printable

__all__ = ["AOI", "read_aoi", "parse_aoi", "ROLES", "MAX_AOI_BYTES", "MAX_AOI_FEATURES", "MAX_AOI_VERTICES"]

ROLES = {
    "aoi": ("Polygon", "MultiPolygon"),
    "fence": ("LineString", "MultiLineString"),
    "tower": ("Point",),
    "structure": ("Polygon", "MultiPolygon"),
}


@dataclass(frozen=True)
class AOI:
    """An area of interest with the features an analyst tracks in it.

    All geometries are in WGS84 longitude/latitude.
    """

    name: str
    geometry: BaseGeometry
    aliases: tuple[str, ...] = ()
    source: str = ""
    approximate: bool = False
    fences: tuple[BaseGeometry, ...] = ()
    towers: tuple[BaseGeometry, ...] = ()
    structures: tuple[BaseGeometry, ...] = ()
    path: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    def geometry_in(self, crs: Any) -> BaseGeometry:
        """Return the AOI extent transformed to ``crs``."""
        return to_crs(self.geometry, crs)

    def summary(self) -> dict[str, Any]:
        """Return what the report records about this AOI."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "source": self.source,
            "approximate": self.approximate,
            "file": self.path,
            "bounds": [round(v, 7) for v in self.geometry.bounds],
            "tracked": {
                "fences": len(self.fences),
                "towers": len(self.towers),
                "structures": len(self.structures),
            },
        }


def to_crs(geometry: BaseGeometry, crs: Any) -> BaseGeometry:
    """Transform a WGS84 longitude/latitude geometry to ``crs``."""
    transformer = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_user_input(crs), always_xy=True)
    return shapely.transform(geometry, lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


#: The largest AOI file, its most features and vertices (all features together): an AOI is an
#: outline and a few known fences, towers and structures, not a cadastre.
MAX_AOI_BYTES = 20_000_000
MAX_AOI_FEATURES = 10_000
MAX_AOI_VERTICES = 50_000


def read_aoi(path: str | Path) -> AOI:
    """Read and validate an AOI file.

    Parameters
    ----------
    path : str or Path
        A GeoJSON FeatureCollection in WGS84 (see the module docstring).

    Returns
    -------
    AOI

    Raises
    ------
    AOIError
        If the file is missing, is not JSON, or is not a valid AOI; the message names the
        file and the feature at fault.
    """
    path = Path(path)
    if path.is_dir():
        raise AOIError(f"AOI file {path}: is a folder, not an AOI file (GeoJSON); the AOI comes first: "
                       "campwatch series AOI IMAGES_DIR, campwatch check AOI IMAGES_DIR")
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise AOIError(f"AOI file {path}: not found") from exc
    except OSError as exc:
        raise AOIError(f"AOI file {path}: cannot be read ({exc})") from exc
    if size > MAX_AOI_BYTES:
        raise AOIError(f"AOI file {path}: {size:,} bytes; an AOI file may hold at most {MAX_AOI_BYTES:,} "
                       "(simplify its outlines, for example with QGIS 'Simplify')")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise AOIError(f"AOI file {path}: not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AOIError(f"AOI file {path}: cannot be read as text ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AOIError(f"AOI file {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError:
        raise AOIError(f"AOI file {path}: JSON nested too deep to be an AOI file") from None
    # The report records where the AOI came from, wherever the run was started.
    return dataclasses.replace(parse_aoi(data, source=str(path)), path=str(path.resolve()))


#: The names of WGS84 longitude/latitude an old-style GeoJSON ``crs`` member may give (GeoJSON 2008).
_WGS84_NAMES = re.compile(r"(urn:ogc:def:crs:(OGC:1\.3:CRS84|OGC::CRS84|EPSG:(\d*\.?\d*)?:4326)|EPSG:4326|OGC:CRS84|CRS84)",
                          re.IGNORECASE)


def _names_wgs84(crs: Any) -> bool:
    """Whether a GeoJSON ``crs`` member names WGS84 longitude/latitude: its ``name`` is one of those
    names, whole (not a text that holds "4326" somewhere, such as EPSG:43260)."""
    if not isinstance(crs, dict) or crs.get("type") != "name" or not isinstance(crs.get("properties"), dict):
        return False
    name = crs["properties"].get("name")
    return isinstance(name, str) and _WGS84_NAMES.fullmatch(name.strip()) is not None


def parse_aoi(data: Any, *, source: str = "<AOI>") -> AOI:
    """Validate a parsed GeoJSON object as an AOI (see :func:`read_aoi`)."""
    where = f"AOI file {source}"
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise AOIError(f"{where}: expected a GeoJSON FeatureCollection at top level")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise AOIError(f"{where}: 'features' must be a non-empty list")
    crs = data.get("crs")
    if crs is not None and not _names_wgs84(crs):
        raise AOIError(
            f"{where}: declares crs {json.dumps(crs)}; AOI files must be in WGS84 "
            "longitude/latitude (RFC 7946)"
        )

    if len(features) > MAX_AOI_FEATURES:
        raise AOIError(f"{where}: {len(features):,} features; an AOI file may hold at most {MAX_AOI_FEATURES:,} "
                       "(the extent, and the fences, towers and structures known in it)")
    extents = []
    tracked: dict[str, list[BaseGeometry]] = {"fence": [], "tower": [], "structure": []}
    vertices = 0
    for i, feature in enumerate(features):
        label = f"{where}: feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise AOIError(f"{label}: expected a GeoJSON Feature")
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise AOIError(f"{label}: 'properties' must be an object")
        role = props.get("role", "aoi")
        if not isinstance(role, str) or role not in ROLES:
            raise AOIError(
                f"{label}: role {role!r} is not valid; expected one of {', '.join(ROLES)}"
            )
        geom = _geometry(feature.get("geometry"), label)
        vertices += int(shapely.get_num_coordinates(geom))
        if vertices > MAX_AOI_VERTICES:
            raise AOIError(f"{label}: the AOI file holds more than {MAX_AOI_VERTICES:,} vertices up to here; it may "
                           "hold at most that many (simplify its outlines, for example with QGIS 'Simplify')")
        if geom.geom_type not in ROLES[role]:
            raise AOIError(
                f"{label}: a {role} must be a {' or '.join(ROLES[role])}, got {geom.geom_type}"
            )
        _check_lonlat(geom, label)
        if role == "aoi":
            extents.append((geom, props, label))
        else:
            tracked[role].append(geom)

    if len(extents) != 1:
        raise AOIError(
            f"{where}: expected exactly one feature with role 'aoi' (the extent), found {len(extents)}"
        )
    geom, props, label = extents[0]
    if shapely.make_valid(geom).area <= 0:
        raise AOIError(f"{label}: the AOI polygon has zero area; it needs at least three distinct corners")
    if not geom.is_valid:
        raise AOIError(
            f"{label}: the AOI polygon is not valid ({shapely.is_valid_reason(geom)}); "
            "fix it in a GIS (for example QGIS 'Fix geometries') and save it again"
        )
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AOIError(f"{label}: the AOI feature needs a non-empty 'name' property")
    aliases = props.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise AOIError(f"{label}: 'aliases' must be a list of strings")
    approximate = props.get("approximate", False)
    if not isinstance(approximate, bool):
        raise AOIError(f"{label}: 'approximate' must be true or false, got {approximate!r}")
    src = props.get("source", "")
    if not isinstance(src, str):
        raise AOIError(f"{label}: 'source' must be a string")
    return AOI(
        name=name.strip(),
        geometry=geom,
        aliases=tuple(aliases),
        source=src,
        approximate=approximate,
        fences=tuple(tracked["fence"]),
        towers=tuple(tracked["tower"]),
        structures=tuple(tracked["structure"]),
        path=None if source.startswith("<") else source,
        properties=dict(props),
    )


def _geometry(value: Any, label: str) -> BaseGeometry:
    if not isinstance(value, dict):
        raise AOIError(f"{label}: missing or invalid 'geometry'")
    try:
        geom = shape(value)
    except Exception as exc:  # shapely raises several types for malformed input
        raise AOIError(f"{label}: invalid geometry ({exc})") from exc
    if geom.is_empty:
        raise AOIError(f"{label}: the geometry is empty")
    return geom


def _check_lonlat(geom: BaseGeometry, label: str) -> None:
    import numpy as np

    coords = shapely.get_coordinates(geom)
    if not np.all(np.isfinite(coords)):
        raise AOIError(f"{label}: coordinates must be finite numbers")
    lon, lat = coords[:, 0], coords[:, 1]
    if lon.min() < -180 or lon.max() > 180 or lat.min() < -90 or lat.max() > 90:
        swapped = lat.min() >= -180 and lat.max() <= 180 and lon.min() >= -90 and lon.max() <= 90
        raise AOIError(
            f"{label}: coordinates {geom.bounds} are not longitude/latitude in degrees; "
            "AOI files must be in WGS84 (RFC 7946)"
            + ("; read the other way round (latitude, longitude) they would be: GeoJSON puts longitude first"
               if swapped else "")
        )


def aoi_key(aoi_path: str | Path) -> str:
    """The AOI's key: its file name without the extension, checked to be a safe name.

    The key names the AOI in a history, its results folder and its check ids, so it must
    not be able to lead out of a folder.

    Raises
    ------
    AOIError
        If the name is not letters, digits, ``.``, ``_`` and ``-`` (at most 100, not
        starting with a dot).
    """
    stem = Path(aoi_path).stem
    if not is_safe_name(stem):
        raise AOIError(f"AOI file {printable(aoi_path)}: its name {printable(stem)!r} cannot name an AOI; use letters, "
                       "digits, '.', '_' and '-' (at most 100, not starting with '.')")
    return stem
