"""The history of checks: a GeoPackage with a ``changes`` and a ``checks`` layer, which QGIS,
geopandas and ogr2ogr open.

``changes``
    One row per change, with a stable ``change_id``, its class, the interval it happened
    in (``interval_from``, ``interval_to``), ``first_seen`` and ``last_confirmed`` dates,
    the check that found it, confidence, size, and its geometry (WGS84; polygons, and
    lines for fences).
``checks``
    One row per check: the images compared, the baseline, the status, what was new, the
    key that makes a check idempotent, the software version, the AOI outline.

The file is replaced in one rename (:func:`write_history`), so that a reader or a killed
process never sees half a history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import shape

from campwatch.errors import InputError
from campwatch.monitor.tracking import TrackedChange, reproject

__all__ = ["CHANGE_COLUMNS", "CHECK_COLUMNS", "history_layers", "write_history", "tracked_from_rows",
           "rows_from_tracked"]

CHANGE_COLUMNS = (
    "change_id", "aoi", "class", "interval_from", "interval_to", "before_image", "first_image", "first_seen",
    "last_image", "last_confirmed", "confidence", "area_m2", "length_m", "found_by", "reverted_from",
    "reverted_to", "pairs", "cause", "check_id",
)
CHECK_COLUMNS = (
    "check_id", "aoi", "checked_at", "status", "newest_image", "newest_date", "previous_image", "previous_date",
    "baseline_image", "baseline_date", "compared_through", "new_changes", "confirmed_changes", "summary",
    "skipped", "report_folder", "key", "campwatch_version",
)


def _empty(columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                            geometry=gpd.GeoSeries([], crs="EPSG:4326"))


def history_layers(path: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read a history's ``changes`` and ``checks`` layers (empty frames when it does not exist).

    Raises
    ------
    InputError
        If the file exists but is not a campwatch history.
    """
    path = Path(path)
    if not path.exists():
        return _empty(CHANGE_COLUMNS), _empty(CHECK_COLUMNS)
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:
        raise InputError(f"history {path}: not a GeoPackage ({exc}); give a new file name or a campwatch history") from exc
    if not {"changes", "checks"} <= layers:
        raise InputError(f"history {path}: has no 'changes' and 'checks' layers; it is not a campwatch history")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        changes = gpd.read_file(path, layer="changes")
        checks = gpd.read_file(path, layer="checks")
    for frame, columns in ((changes, CHANGE_COLUMNS), (checks, CHECK_COLUMNS)):
        for c in columns:
            if c not in frame:
                frame[c] = pd.Series([None] * len(frame), dtype=object)
    return changes, checks



def write_history(path: Path, changes: gpd.GeoDataFrame, checks: gpd.GeoDataFrame) -> None:
    """Write both layers to a temporary file beside ``path`` and rename it over ``path``."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        changes = changes[list(CHANGE_COLUMNS) + ["geometry"]].reset_index(drop=True)
        checks = checks[list(CHECK_COLUMNS) + ["geometry"]].reset_index(drop=True)
        changes.to_file(tmp, layer="changes", driver="GPKG", geometry_type="Unknown")
        checks.to_file(tmp, layer="checks", driver="GPKG", geometry_type="Unknown")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def tracked_from_rows(rows: gpd.GeoDataFrame, crs: Any) -> list[TrackedChange]:
    changes = []
    for _, r in rows.iterrows():
        reverted = None
        if isinstance(r["reverted_from"], str) and r["reverted_from"]:
            reverted = {"from": r["reverted_from"], "to": r["reverted_to"]}
        changes.append(TrackedChange(
            id=str(r["change_id"]),
            change_class=str(r["class"]),
            geometry=reproject(r.geometry, "EPSG:4326", crs),
            before=(str(r["before_image"]), dt.date.fromisoformat(str(r["interval_from"]))),
            first=(str(r["first_image"]), dt.date.fromisoformat(str(r["interval_to"]))),
            last=(str(r["last_image"]), dt.date.fromisoformat(str(r["last_confirmed"]))),
            confidence=float(r["confidence"]),
            area_m2=float(r["area_m2"] or 0.0),
            length_m=None if pd.isna(r["length_m"]) else float(r["length_m"]),
            pairs=json.loads(r["pairs"]) if isinstance(r["pairs"], str) else [],
            found_by=str(r["found_by"]),
            reverted=reverted,
            properties={"cause": r["cause"], "check_id": r["check_id"]},
        ))
    return changes


def rows_from_tracked(changes: list[TrackedChange], crs: Any, aoi: str) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for c in changes:
        f = c.feature(crs)
        p = f["properties"]
        rows.append({
            "change_id": c.id, "aoi": aoi, "class": c.change_class,
            "interval_from": p["interval"]["from"], "interval_to": p["interval"]["to"],
            "before_image": c.before[0], "first_image": c.first[0], "first_seen": p["interval"]["to"],
            "last_image": c.last[0], "last_confirmed": p["last_confirmed"], "confidence": p["confidence"],
            "area_m2": p["area_m2"], "length_m": p["length_m"], "found_by": c.found_by,
            "reverted_from": c.reverted["from"] if c.reverted else None,
            "reverted_to": c.reverted["to"] if c.reverted else None,
            "pairs": json.dumps(c.pairs), "cause": p["cause"], "check_id": c.properties.get("check_id"),
        })
        geoms.append(shape(f["geometry"]))
    if not rows:
        return _empty(CHANGE_COLUMNS)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
