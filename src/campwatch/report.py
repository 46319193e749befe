"""Build and write the GeoJSON report of a run: one feature per change, with full provenance."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.windows import Window
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED

if TYPE_CHECKING:
    from campwatch.pipeline import PairResult

__all__ = ["build_report", "write_json", "load_report", "software_versions", "PixelTotals", "Grid", "REPORT_SCHEMA"]

REPORT_SCHEMA = "campwatch-report/1"
_DECIMALS = 7  # about 1 cm in longitude/latitude


@dataclass(frozen=True)
class Grid:
    """The grid a run analysed: CRS, transform and shape of the AOI's window of the before image."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    window: Window | None = None


@dataclass(frozen=True)
class PixelTotals:
    """The pixel counts a report's summary is made of; sums of blocks add up (``+``).

    ``grid_px``: every pixel of the grid; ``inside_px``: inside the AOI; ``analysed_px``:
    valid on both dates inside the AOI; ``clear_px``: analysed and not under cloud;
    ``obscured_px``: under the clouds and shadows of each date; ``seen_through_px``: under
    a thin veil; ``hidden_px``: inside the AOI and not seen on each date (nodata, cloud).
    """

    pixel_area: float
    grid_px: int
    inside_px: int
    analysed_px: int
    clear_px: int
    obscured_px: dict[str, int] = field(default_factory=lambda: {"before": 0, "after": 0})
    seen_through_px: int = 0
    hidden_px: dict[str, int] = field(default_factory=lambda: {"before": 0, "after": 0})

    def __add__(self, other: PixelTotals) -> PixelTotals:
        return PixelTotals(
            pixel_area=self.pixel_area,
            grid_px=self.grid_px + other.grid_px,
            inside_px=self.inside_px + other.inside_px,
            analysed_px=self.analysed_px + other.analysed_px,
            clear_px=self.clear_px + other.clear_px,
            obscured_px={k: self.obscured_px[k] + other.obscured_px[k] for k in ("before", "after")},
            seen_through_px=self.seen_through_px + other.seen_through_px,
            hidden_px={k: self.hidden_px[k] + other.hidden_px[k] for k in ("before", "after")},
        )

    def obscured_fraction(self, date: str) -> float:
        """The share of the AOI that ``date`` ("before" or "after") does not show."""
        return self.hidden_px[date] / max(1, self.inside_px)


def software_versions() -> dict[str, str]:
    """Versions of campwatch and of the libraries that shape its results."""
    import geopandas
    import matplotlib
    import rasterio
    import scipy
    import skimage

    from campwatch._version import __version__

    return {
        "campwatch": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,  # type: ignore[attr-defined]
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "shapely": shapely.__version__,
        "geopandas": geopandas.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _to_wgs84(geom: BaseGeometry, transformer: Transformer) -> BaseGeometry:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([x, y]), _DECIMALS)

    return shapely.transform(geom, fn)


class LazyList(list):  # type: ignore[type-arg]
    """A list that yields its items from a function when iterated (once per iteration), holding none.

    ``json`` writes it as a list (:func:`write_json`): a report's features are made one at
    a time as they are written, so that a scene with a hundred thousand changes does not
    hold them all as dicts.
    """

    def __init__(self, items: Any, length: int) -> None:
        super().__init__()
        self._items = items
        self._length = length

    def __iter__(self) -> Any:
        return iter(self._items())

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0


def _clean(value: Any) -> Any:
    """Make ``value`` JSON-safe: NaN and infinity become None, numpy scalars Python ones."""
    if isinstance(value, LazyList):
        return value  # cleaned item by item as it is iterated
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def build_report(result: PairResult, *, inputs: list[dict[str, Any]], outputs: dict[str, str]) -> dict[str, Any]:
    """Return the report of a run as a GeoJSON FeatureCollection (RFC 7946, WGS84).

    Parameters
    ----------
    result : DetectResult or BlockwiseResult
    inputs : list of dict
        ``{"role", "path", "sha256"}`` of every input file.
    outputs : dict
        Output file name to its SHA-256.
    """
    grid = result.grid
    crs = grid.crs
    totals = result.totals()
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    interval = {"from": result.before.date.isoformat(), "to": result.after.date.isoformat()}
    counts = {name: 0 for name in CLASSES}
    for r in result.regions:
        counts[r.change_class] += 1

    def feature(r: Any) -> dict[str, Any]:
        centroid = r.geometry.centroid
        lon, lat = transformer.transform(centroid.x, centroid.y)
        props = r.properties()
        props.update(
            {
                "interval": interval,
                "before_image": result.before.path.name if result.before.path else None,
                "after_image": result.after.path.name if result.after.path else None,
                "centroid_lonlat": [round(lon, _DECIMALS), round(lat, _DECIMALS)],
                "centroid_xy": [round(centroid.x, 2), round(centroid.y, 2)],
            }
        )
        # Coordinates are finite Python floats already: only the properties need cleaning.
        return {"type": "Feature", "id": r.id, "geometry": mapping(_to_wgs84(r.geometry, transformer)),
                "properties": _clean(props)}

    features = LazyList(lambda: (feature(r) for r in result.regions), len(result.regions))
    area_px = totals.pixel_area
    analysed_m2 = totals.clear_px * area_px
    changed = {
        name: round(sum(r.area_m2 for r in result.regions if r.change_class == name), 1)
        for name in CLASSES if not name.startswith("fence")
    }
    lengths = {
        name: round(sum(r.length_m or 0.0 for r in result.regions if r.change_class == name), 1)
        for name in CLASSES if name.startswith("fence")
    }
    report = {
        "type": "FeatureCollection",
        "schema": REPORT_SCHEMA,
        "aoi": result.aoi.summary() if result.aoi is not None else None,
        "images": {
            "before": _image(result.before, inputs, "before"),
            "after": _image(result.after, inputs, "after"),
        },
        "interval": interval,
        "crs": crs.to_string(),
        "grid": {
            "transform": [round(v, 6) for v in tuple(grid.transform)[:6]],
            "width": grid.shape[1],
            "height": grid.shape[0],
            "window": None if grid.window is None else {
                "col_off": int(grid.window.col_off), "row_off": int(grid.window.row_off),
                "width": int(grid.window.width), "height": int(grid.window.height)},
        },
        "parameters": result.config.to_dict(),
        "thresholds": result.thresholds.to_dict(),
        "coregistration": {
            "shift_px": [round(result.shift[0], 2), round(result.shift[1], 2)],
            "applied": bool(result.config.coregister and result.shift != (0.0, 0.0)),
            "residual": result.residual_shift,
            "note": "shift (row, col) by which the after image was moved onto the before image; residual: "
                    "the shift left after that, by phase correlation on tiles (pixels)",
        },
        **({"blocks": result.blocks} if result.blocks is not None else {}),
        "summary": {
            "counts": counts,
            "changed_area_m2": changed,
            "fence_length_m": lengths,
            "analysed_area_m2": round(analysed_m2, 1),
            "obscured_area_m2": {
                "before": round(totals.obscured_px["before"] * area_px, 1),
                "after": round(totals.obscured_px["after"] * area_px, 1),
            },
            "seen_through_area_m2": round(totals.seen_through_px * area_px, 1),
            "obscured_regions": result.obscured_regions,
            "not_analysed_fraction": round(1.0 - totals.analysed_px / max(1, totals.grid_px), 4),
            "obscured_fraction": {
                "before": round(totals.obscured_fraction("before"), 4),
                "after": round(totals.obscured_fraction("after"), 4),
            },
            "structures_seen": result.structures_seen,
            "masked_by_user_m2": {k: round(v, 1) for k, v in result.masked_m2.items()},
        },
        "class_codes": {c.name: c.code for c in CLASSES.values()}
        | {"no_change": NO_CHANGE, "obscured": OBSCURED, "not_analysed": NOT_ANALYSED},
        "warnings": list(result.warnings),
        "software": software_versions(),
        "inputs": inputs,
        "outputs": outputs,
        "features": features,
    }
    return _clean(report)


def _image(scene: Any, inputs: list[dict[str, Any]], role: str) -> dict[str, Any]:
    hashes = [i["sha256"] for i in inputs if i["role"] == role]
    return {
        "file": scene.path.name if scene.path else None,
        "date": scene.date.isoformat(),
        # A folder of tiles has one hash per tile, listed under "inputs".
        "sha256": hashes[0] if len(hashes) == 1 else None,
        "files": len(hashes),
        "bands": list(scene.band_names),
        "dtype": scene.dtype,
    }


def load_report(path: str | Path, schemas: tuple[str, ...]) -> dict[str, Any]:
    """Read a campwatch JSON document (report, series report) whose ``schema`` is one of ``schemas``.

    Raises
    ------
    InputError
        If the file is missing, not JSON, or not such a document.
    """
    from campwatch.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: report not found")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a campwatch report (not JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("schema") not in schemas:
        raise InputError(f"{path}: not a campwatch report (no schema {' or '.join(map(repr, schemas))})")
    return doc


def write_json(data: dict[str, Any], path: str | Path) -> None:
    """Write ``data`` as UTF-8 JSON, keys in insertion order, deterministic bytes.

    Indented by one space per level, except the items of a :class:`LazyList` (a report's
    features), which are written one per line as they are made, so that none is held
    after it is written and the C encoder does the work.
    """
    with open(path, "w", encoding="utf-8") as f:
        _write_value(f, data, 0)
        f.write("\n")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _holds_lazy(value: Any) -> bool:
    if isinstance(value, LazyList):
        return True
    if isinstance(value, dict):
        return any(_holds_lazy(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_lazy(v) for v in value)
    return False


def _write_value(f: Any, value: Any, level: int) -> None:
    pad = " " * (level + 1)
    if isinstance(value, LazyList):
        if not value:
            f.write("[]")
            return
        f.write("[")
        first = True
        for item in value:
            f.write(("\n" if first else ",\n") + pad + _dumps(item))
            first = False
        f.write("\n" + " " * level + "]")
    elif isinstance(value, dict) and value and _holds_lazy(value):
        f.write("{")
        for i, (key, item) in enumerate(value.items()):
            f.write(("\n" if i == 0 else ",\n") + pad + _dumps(str(key)) + ": ")
            _write_value(f, item, level + 1)
        f.write("\n" + " " * level + "}")
    elif isinstance(value, (list, tuple)) and value and _holds_lazy(value):
        f.write("[")
        for i, item in enumerate(value):
            f.write(("\n" if i == 0 else ",\n") + pad)
            _write_value(f, item, level + 1)
        f.write("\n" + " " * level + "]")
    else:
        f.write(json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False).replace("\n", "\n" + " " * level))
