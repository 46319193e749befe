"""Labels an analyst draws to teach campwatch: outlines of change and of no change, and taught areas.

A labels file is a GeoJSON FeatureCollection in WGS84 longitude/latitude (RFC 7946) or a
GeoPackage layer (any CRS), of Polygons and MultiPolygons. Each feature has:

- ``label``: ``"change"`` or ``"no change"``; or ``role`` = ``"taught area"``: inside a taught
  area everything not labelled ``change`` is no change (as when the analyst outlined every
  new building in one part of the AOI);
- ``class`` (optional): what changed, ``structure``, ``tower``, ``fence`` or ``other`` (or a
  campwatch class such as ``structure_new``, taken by its kind);
- ``from`` and ``to`` (optional, ``YYYY-MM-DD``): the dates of the pair the label is of; a
  label without them holds for every pair it is given with.

:meth:`Labels.raster` burns the labels of one pair onto its grid: 1 change, 0 no change, -1
not labelled (or a change of a kind the model is not taught). A change outline wins over a
no-change one it overlaps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from rasterio.features import rasterize
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.classes import CLASSES
from campwatch.errors import InputError
from campwatch.io.aoi import to_crs
from campwatch.io.gdal import NO_NETWORK

__all__ = ["LabelArea", "Labels", "read_labels", "LABELS", "LABEL_KINDS", "TAUGHT_AREA", "MAX_LABEL_BYTES",
           "MAX_LABEL_FEATURES", "MAX_LABEL_VERTICES", "label_kind"]

#: What a label says of its outline.
LABELS = ("change", "no change")
#: The role of an outline inside which everything not labelled change is no change.
TAUGHT_AREA = "taught area"
#: The kinds of change a label may name (``other``: anything that is not a structure, tower or fence).
LABEL_KINDS = ("structure", "tower", "fence", "other")

#: Limits on what a labels file may hold, checked before its geometry is built.
MAX_LABEL_BYTES = 200_000_000
MAX_LABEL_FEATURES = 200_000
MAX_LABEL_VERTICES = 5_000_000

_SQLITE_MAGIC = b"SQLite format 3\x00"


class LabelError(InputError):
    """A labels file campwatch cannot use (exit 2)."""


def label_kind(value: str) -> str:
    """The kind of change a label's ``class`` names: one of :data:`LABEL_KINDS`.

    Raises
    ------
    ValueError
        Naming the value and the valid ones.
    """
    if value in LABEL_KINDS:
        return value
    if value in CLASSES:
        kind = CLASSES[value].kind
        return kind if kind in LABEL_KINDS else "other"
    raise ValueError(f"class {value!r} is not one of {', '.join(LABEL_KINDS)} (or a campwatch class such as "
                     "structure_new)")


@dataclass(frozen=True)
class LabelArea:
    """One outline an analyst drew: its geometry (WGS84), what it says, of what and of which pair."""

    geometry: BaseGeometry
    #: ``"change"``, ``"no change"`` or ``"taught area"``.
    label: str
    #: The kind of change (:data:`LABEL_KINDS`), or None: not said.
    kind: str | None = None
    #: The dates of the pair it is of, or None: every pair.
    dates: tuple[dt.date, dt.date] | None = None

    def holds_for(self, dates: tuple[dt.date, dt.date] | None) -> bool:
        """Whether the label is of the pair of ``dates`` (a label without dates is of every pair)."""
        return self.dates is None or dates is None or self.dates == dates


@dataclass(frozen=True)
class Labels:
    """An analyst's labels, with the file's SHA-256."""

    areas: tuple[LabelArea, ...]
    path: str
    sha256: str

    def for_pair(self, dates: tuple[dt.date, dt.date] | None) -> Labels:
        """Only the labels of the pair of ``dates``."""
        return Labels(tuple(a for a in self.areas if a.holds_for(dates)), self.path, self.sha256)

    def raster(self, *, crs: Any, transform: Any, shape: tuple[int, int], kinds: tuple[str, ...] | None = None
               ) -> np.ndarray:
        """The labels on a grid: (M, N) int8, 1 change, 0 no change, -1 not labelled.

        ``kinds``: the kinds of change the model is taught; a change outline of another kind
        is neither change nor no change (-1). None: every kind.
        """
        out = np.full(shape, -1, dtype="int8")
        layers: list[tuple[list[BaseGeometry], int]] = [
            ([a.geometry for a in self.areas if a.label == TAUGHT_AREA], 0),
            ([a.geometry for a in self.areas if a.label == "no change"], 0),
            ([a.geometry for a in self.areas if a.label == "change" and kinds is not None and a.kind is not None
              and a.kind not in kinds], -1),
            ([a.geometry for a in self.areas if a.label == "change"
              and (kinds is None or a.kind is None or a.kind in kinds)], 1),
        ]
        for geoms, value in layers:
            if geoms:
                burnt = rasterize([to_crs(g, crs) for g in geoms], out_shape=shape, transform=transform, fill=0,
                                  default_value=1, dtype="uint8")
                out[burnt > 0] = value
        return out

    def counts(self) -> dict[str, int]:
        """How many outlines say each thing."""
        return {what: sum(1 for a in self.areas if a.label == what) for what in LABELS + (TAUGHT_AREA,)}


def read_labels(path: str | Path) -> Labels:
    """Read and check a labels file (GeoJSON or GeoPackage; see the module docstring).

    Raises
    ------
    LabelError
        Naming the file (and the feature) when it is missing, too large, not GeoJSON or a
        GeoPackage, holds no polygons, or a feature whose label, role, class or dates are not
        valid.
    """
    path = Path(path)
    where = f"labels file {path}"
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
    except FileNotFoundError as exc:
        raise LabelError(f"{where}: not found") from exc
    except OSError as exc:
        raise LabelError(f"{where}: cannot be read ({exc})") from exc
    if size > MAX_LABEL_BYTES:
        raise LabelError(f"{where}: {size:,} bytes; a labels file may hold at most {MAX_LABEL_BYTES:,}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if head == _SQLITE_MAGIC:
        features = _geopackage_features(path, where)
    else:
        features = _geojson_features(path, where)
    if len(features) > MAX_LABEL_FEATURES:
        raise LabelError(f"{where}: {len(features):,} features; a labels file may hold at most "
                         f"{MAX_LABEL_FEATURES:,}")
    areas = []
    vertices = 0
    for i, (geometry, props) in enumerate(features):
        label = f"{where}: feature {i}"
        if not isinstance(props, dict):
            props = {}
        geom = _polygon(geometry, label)
        vertices += int(shapely.get_num_coordinates(geom))
        if vertices > MAX_LABEL_VERTICES:
            raise LabelError(f"{where}: more than {MAX_LABEL_VERTICES:,} vertices; simplify the outlines")
        areas.append(_area(geom, props, label))
    if not areas:
        raise LabelError(f"{where}: holds no labels; outline changes (label = \"change\") and areas of no change "
                         f"(label = \"no change\", or role = \"{TAUGHT_AREA}\")")
    return Labels(tuple(areas), str(path.resolve()), digest)


def _geojson_features(path: Path, where: str) -> list[tuple[Any, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{where}: cannot be read as text ({exc}); expected GeoJSON or a GeoPackage") from exc
    except json.JSONDecodeError as exc:
        raise LabelError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}); expected GeoJSON or a "
                         "GeoPackage") from exc
    except RecursionError:
        raise LabelError(f"{where}: JSON nested too deep to be a labels file") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise LabelError(f"{where}: expected a GeoJSON FeatureCollection of polygons")
    out = []
    for i, f in enumerate(data["features"]):
        if not isinstance(f, dict):
            raise LabelError(f"{where}: feature {i} is not a GeoJSON Feature")
        try:
            geom = shape(f.get("geometry"))
        except Exception as exc:  # shapely raises several kinds for bad geometry
            raise LabelError(f"{where}: feature {i}: not a valid geometry ({exc})") from exc
        coords = shapely.get_coordinates(geom)
        if coords.size and (not np.all(np.isfinite(coords)) or coords[:, 0].min() < -180
                            or coords[:, 0].max() > 180 or coords[:, 1].min() < -90 or coords[:, 1].max() > 90):
            raise LabelError(f"{where}: feature {i}: coordinates {geom.bounds} are not longitude/latitude in "
                             "degrees; GeoJSON labels are in WGS84 (RFC 7946)")
        out.append((geom, f.get("properties")))
    return out


def _geopackage_features(path: Path, where: str) -> list[tuple[Any, Any]]:
    """The features of a GeoPackage's one layer (or its layer ``labels``), in WGS84.

    Read only, by the GDAL that pyogrio bundles, with network access off: reading runs no
    trigger, and a GeoPackage names no other file.
    """
    import pyogrio

    pyogrio.set_gdal_config_options(NO_NETWORK)
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise LabelError(f"{where}: not a GeoPackage ({exc})") from exc
    layer = "labels" if "labels" in layers else (layers[0] if len(layers) == 1 else None)
    if layer is None:
        raise LabelError(f"{where}: holds {len(layers)} layers ({', '.join(layers[:10])}); name the one of labels "
                         "'labels'")
    try:
        info = pyogrio.read_info(path, layer=layer)
        if int(info.get("features") or 0) > MAX_LABEL_FEATURES:
            raise LabelError(f"{where}: {int(info['features']):,} features; a labels file may hold at most "
                             f"{MAX_LABEL_FEATURES:,}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pyogrio.read_dataframe(path, layer=layer)
    except LabelError:
        raise
    except Exception as exc:
        raise LabelError(f"{where}: its layer {layer!r} cannot be read ({exc})") from exc
    if frame.crs is None:
        raise LabelError(f"{where}: its layer {layer!r} has no CRS")
    frame = frame.to_crs("EPSG:4326")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    return [(geom, {c: _plain(row[c]) for c in columns}) for geom, (_, row) in zip(frame.geometry, frame.iterrows())]


def _plain(value: Any) -> Any:
    """A GeoPackage value as GeoJSON would give it (missing values as None)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


def _polygon(geom: Any, label: str) -> BaseGeometry:
    if geom is None or not isinstance(geom, BaseGeometry):
        raise LabelError(f"{label}: has no geometry")
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise LabelError(f"{label}: a label is a Polygon or MultiPolygon, got {geom.geom_type}"
                         f"{' (empty)' if geom.is_empty else ''}")
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def _area(geom: BaseGeometry, props: dict[str, Any], label: str) -> LabelArea:
    role, what = props.get("role"), props.get("label")
    if role is not None and role != TAUGHT_AREA:
        raise LabelError(f"{label}: role {str(role)[:40]!r} is not valid; expected \"{TAUGHT_AREA}\" or none")
    if role == TAUGHT_AREA:
        what = TAUGHT_AREA
    elif what not in LABELS:
        raise LabelError(f"{label}: label {str(what)[:40]!r} is not valid; expected \"change\" or \"no change\" "
                         f"(or role = \"{TAUGHT_AREA}\")")
    kind = props.get("class")
    if kind is not None:
        try:
            kind = label_kind(str(kind))
        except ValueError as exc:
            raise LabelError(f"{label}: {exc}") from None
    start, end = props.get("from"), props.get("to")
    dates = None
    if start is not None or end is not None:
        try:
            dates = (dt.date.fromisoformat(str(start)), dt.date.fromisoformat(str(end)))
        except ValueError:
            raise LabelError(f"{label}: from {str(start)[:20]!r} and to {str(end)[:20]!r} must both be dates "
                             "(YYYY-MM-DD), the earlier and the later image's") from None
        if dates[0] >= dates[1]:
            raise LabelError(f"{label}: from {dates[0]} is not before to {dates[1]}")
    return LabelArea(geom, str(what), kind, dates)
