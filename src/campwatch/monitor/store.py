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
process never sees half a history. campwatch owns these two layers and their columns, and
nothing else: a layer an analyst added (notes), a column added to ``changes`` or ``checks``,
QGIS styles (``layer_styles``) and any other table survive every check as they were; only
the rows of campwatch's two layers are written again (:func:`write_history`). A file whose
``changes`` or ``checks`` layer lacks campwatch's columns, or holds rows campwatch cannot
read (a date that is no date, a change without its id), is refused before anything is
written, naming the layer, the row and the value (:func:`history_layers`).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import sqlite3
import tempfile
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import shape

from campwatch.classes import CLASSES
from campwatch.errors import InputError, OutputError, SceneError
from campwatch.io.sources import SQLITE_MAGIC, check_local_vector
from campwatch.io.text import printable
from campwatch.monitor.tracking import TrackedChange, reproject
from campwatch.publish.qgis import vector_qml, write_layer_styles

__all__ = ["CHANGE_COLUMNS", "CHECK_COLUMNS", "REVIEW_COLUMNS", "REVIEW_KEYS", "REVIEW_STATES", "review_of", "REQUIRED_CHANGE_COLUMNS", "REQUIRED_CHECK_COLUMNS", "history_layers",
           "write_history", "tracked_from_rows", "rows_from_tracked"]

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


#: The analyst's review of each change, in ``changes``: campwatch adds these columns and fills them
#: for the changes it adds (``unreviewed``, or ``rejected`` for a known false alarm that recurs);
#: after that they are the analyst's, and a check never overwrites them.
REVIEW_COLUMNS = ("review", "review_class", "review_note", "reviewed_by", "reviewed_at")
#: Each review column's key in a change's review (:func:`review_of`, ``properties['review']``).
REVIEW_KEYS = dict(zip(REVIEW_COLUMNS, ("review", "class", "note", "by", "at"), strict=True))
#: What a review says of a change.
REVIEW_STATES = ("unreviewed", "confirmed", "rejected", "corrected")


def _empty(columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns},
                            geometry=gpd.GeoSeries([], crs="EPSG:4326"))


#: The columns without which a layer named ``changes`` or ``checks`` is not campwatch's.
REQUIRED_CHANGE_COLUMNS = ("change_id", "aoi", "class", "interval_from", "interval_to", "first_image",
                           "last_confirmed")
REQUIRED_CHECK_COLUMNS = ("check_id", "aoi", "key", "newest_date", "compared_through")
_DATE_COLUMNS = {"changes": ("interval_from", "interval_to", "last_confirmed"),
                 "checks": ("newest_date", "compared_through")}


def _normal_sql(sql: str) -> str:
    """SQL as compared with GDAL's own: lower case, no quotes, no spaces but one between words."""
    text = re.sub(r"[\"'`\[\]]", "", sql.lower())
    text = re.sub(r"\s+", " ", text)
    return re.sub(r" ?([(),;=+\-<>!]) ?", r"\1", text).strip()


@functools.lru_cache(maxsize=1)
def _gdal_triggers() -> frozenset[str]:
    """The triggers a history holds when campwatch writes it (GDAL's spatial index and feature counts of
    its two layers, the GeoPackage standard's checks of its tile tables), as :func:`_normal_sql` makes them."""
    with tempfile.TemporaryDirectory(prefix="campwatch-gpkg-") as tmp:
        path = Path(tmp) / "reference.gpkg"
        for layer, columns in (("changes", CHANGE_COLUMNS), ("checks", CHECK_COLUMNS)):
            frame = gpd.GeoDataFrame({c: pd.Series([], dtype=object) for c in columns}, geometry=[], crs="EPSG:4326")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame.to_file(path, layer=layer, driver="GPKG", geometry_type="Unknown")
        write_layer_styles(path, {"changes": "<qgis/>"})
        with closing(sqlite3.connect(path)) as db:
            return frozenset(_normal_sql(sql) for (sql,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger'"))


def _written(table: str) -> bool:
    """Whether campwatch (or GDAL for it) writes ``table`` of a history: a trigger there fires then."""
    t = table.lower()
    return t in ("changes", "checks", "layer_styles", "sqlite_sequence") or t.startswith(
        ("gpkg_", "rtree_changes_", "rtree_checks_"))


def check_no_foreign_sql(path: str | Path) -> None:
    """Refuse a history that holds SQL campwatch did not write: campwatch never runs a history's own SQL.

    A trigger fires when campwatch writes the rows of its layers (it could rewrite classes,
    keep old rows or abort the write), so every trigger on a table campwatch writes (its two
    layers, their spatial indexes, the GeoPackage's own tables, ``layer_styles``) must be one
    GDAL itself writes (:func:`_gdal_triggers`); and ``changes`` and ``checks`` must be tables,
    not views. Triggers on an analyst's own tables fire only when those are written, which
    campwatch never does. The file is read with SQLite in read-only mode, which runs none of its SQL. An
    analyst's own views, and tables campwatch does not write, are theirs and are kept.

    Raises
    ------
    InputError
        Naming the trigger or view, its table, and how to remove it.
    """
    path = Path(path)
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                              "WHERE type IN ('trigger', 'view')").fetchall()
    except sqlite3.Error as exc:
        raise InputError(f"history {path}: not a GeoPackage ({exc}); give a new file name or a campwatch "
                         "history") from exc
    known = _gdal_triggers()
    for kind, name, table, sql in rows:
        if kind == "view" and str(name).lower() in ("changes", "checks"):
            raise InputError(f"history {path}: its layer '{printable(name)}' is a view, not campwatch's table; "
                             "campwatch runs no SQL of a history's own: give another --history")
        if kind == "trigger" and _written(str(table)) and _normal_sql(sql or "") not in known:
            raise InputError(
                f"history {path}: holds a trigger campwatch did not write ('{printable(name)}' on "
                f"'{printable(table)}'); a trigger runs when campwatch writes, and campwatch runs no SQL of a "
                f"history's own. Read what it does, remove it (sqlite3 {path} 'DROP TRIGGER \"{printable(name)}\"') "
                "if it is not wanted, or give another --history")


def history_layers(path: str | Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read a history's ``changes`` and ``checks`` layers, with every column (empty frames when it does
    not exist). Columns an analyst added come along; campwatch's own come first.

    Raises
    ------
    InputError
        If the file exists but is not a campwatch history: not a GeoPackage, without the
        two layers, with layers of that name but another schema, or with a row campwatch
        cannot read (the message names the layer, the row and the value).
    """
    path = Path(path)
    if not path.exists():
        return _empty(CHANGE_COLUMNS), _empty(CHECK_COLUMNS)
    try:
        check_local_vector(path, what="history")
        with open(path, "rb") as fh:
            sqlite = fh.read(16) == SQLITE_MAGIC
        if not sqlite:
            raise SceneError(f"history {path}: not a GeoPackage (not an SQLite file)")
    except SceneError as exc:
        raise InputError(f"{exc}; give a new file name or a campwatch history") from None
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
    except Exception as exc:
        raise InputError(f"history {path}: not a GeoPackage ({exc}); give a new file name or a campwatch history") from exc
    if not {"changes", "checks"} <= layers:
        raise InputError(f"history {path}: has no 'changes' and 'checks' layers; it is not a campwatch history")
    check_no_foreign_sql(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            changes = gpd.read_file(path, layer="changes")
            checks = gpd.read_file(path, layer="checks")
    except Exception as exc:
        raise InputError(f"history {path}: its layers cannot be read ({exc}); it is not a campwatch history") from exc
    for name, frame, required in (("changes", changes, REQUIRED_CHANGE_COLUMNS),
                                  ("checks", checks, REQUIRED_CHECK_COLUMNS)):
        missing = [c for c in required if c not in frame]
        if missing:
            raise InputError(
                f"history {path}: its layer '{name}' is not campwatch's (no column {', '.join(missing)}); "
                "campwatch leaves it as it is: give another --history"
            )
    for c in CHANGE_COLUMNS:
        if c not in changes:
            changes[c] = pd.Series([None] * len(changes), dtype=object)
    for c in CHECK_COLUMNS:
        if c not in checks:
            checks[c] = pd.Series([None] * len(checks), dtype=object)
    _check_rows(path, "changes", changes, "change_id")
    _check_rows(path, "checks", checks, "check_id")
    reviews = tuple(c for c in REVIEW_COLUMNS if c in changes)
    return _ordered(changes, CHANGE_COLUMNS + reviews), _ordered(checks, CHECK_COLUMNS)


def _ordered(frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    """``frame`` with campwatch's ``columns`` first, then the others (an analyst's), geometry last."""
    extra = [c for c in frame.columns if c not in columns and c != frame.geometry.name]
    return frame[list(columns) + extra + [frame.geometry.name]]


def _check_rows(path: Path, layer: str, frame: gpd.GeoDataFrame, id_column: str) -> None:
    """Raise InputError naming the first row of ``layer`` whose id is missing or whose dates are not dates."""
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        values = row._asdict()
        ident = values.get(id_column)
        if not isinstance(ident, str) or not ident.strip():
            raise InputError(f"history {path}: layer '{layer}', row {i}: {id_column} is {ident!r}, not an id; "
                             "mend or remove that row")
        for column in _DATE_COLUMNS[layer]:
            value = values.get(column)
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            try:
                dt.date.fromisoformat(str(value))
            except ValueError:
                raise InputError(f"history {path}: layer '{layer}', row {i} ({id_column} {ident!r}): {column} is "
                                 f"{str(value)[:40]!r}, not a date (YYYY-MM-DD); mend or remove that row") from None


def write_history(path: Path, changes: gpd.GeoDataFrame, checks: gpd.GeoDataFrame) -> None:
    """Write both layers' rows to a copy of ``path`` (a new file when there is none) and rename it over ``path``.

    In the copy only the rows of ``changes`` and ``checks`` are replaced: every other layer
    and table, the layers' own definitions and the columns an analyst added to them stay
    as they were. Columns of ``changes`` and ``checks`` that the file lacks are added to it.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        changes = changes.reset_index(drop=True)
        checks = checks.reset_index(drop=True)
        if path.exists():
            shutil.copyfile(path, tmp)
            shutil.copymode(path, tmp)  # the analyst's file keeps its mode
            check_no_foreign_sql(tmp)  # what is written is this copy: no trigger but GDAL's fires in it
            _replace_rows(tmp, {"changes": changes, "checks": checks})
        else:
            changes.to_file(tmp, layer="changes", driver="GPKG", geometry_type="Unknown")
            checks.to_file(tmp, layer="checks", driver="GPKG", geometry_type="Unknown")
        write_layer_styles(tmp, {"changes": vector_qml(id_field="change_id", review_field="review",
                                                        read_only=CHANGE_COLUMNS)})
        _check_written(tmp, {"changes": (changes, "change_id"), "checks": (checks, "check_id")})
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_written(gpkg: Path, frames: dict[str, tuple[gpd.GeoDataFrame, str]]) -> None:
    """Raise OutputError unless each layer of ``gpkg`` holds exactly the rows written: ids and classes,
    in order (what a check found is what the history says)."""
    for layer, (frame, id_column) in frames.items():
        columns = [id_column] + (["class"] if "class" in frame else [])
        with closing(sqlite3.connect(f"{gpkg.resolve().as_uri()}?mode=ro", uri=True)) as db:
            got = db.execute(f'SELECT {", ".join(columns)} FROM "{layer}" ORDER BY fid').fetchall()
        want = [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]
        if [tuple(r) for r in got] != want:
            raise OutputError(f"history: its layer '{layer}' does not hold what was written ({len(got)} rows "
                              f"read back, {len(want)} written); the history is left as it was")


def _replace_rows(gpkg: Path, frames: dict[str, gpd.GeoDataFrame]) -> None:
    """Delete every row of each named layer of ``gpkg`` and append ``frames``' rows, adding missing columns."""
    with closing(sqlite3.connect(gpkg)) as db, db:
        for layer, frame in frames.items():
            have = {row[1] for row in db.execute(f'PRAGMA table_info("{layer}")')}
            for column in frame.columns:
                if column != frame.geometry.name and column not in have:
                    db.execute(f'ALTER TABLE "{layer}" ADD COLUMN "{_sql_name(column)}" {_sql_type(frame[column])}')
            db.execute(f'DELETE FROM "{layer}"')
    for layer, frame in frames.items():
        if len(frame):
            pyogrio.write_dataframe(frame, gpkg, layer=layer, append=True)


def _sql_name(column: str) -> str:
    if '"' in column:
        raise ValueError(f"column name {column!r} has a double quote")
    return column


def _sql_type(series: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(series):
        return "INTEGER"
    if pd.api.types.is_float_dtype(series):
        return "REAL"
    return "TEXT"


def _text(value: Any) -> str | None:
    """A cell's text, or None when it is empty."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def review_of(row: Any, *, path: Any = None, number: int | None = None) -> dict[str, str] | None:
    """A change row's review (state, class, note, by, at), or None when it is unreviewed.

    Raises
    ------
    InputError
        When the row's review is not one of :data:`REVIEW_STATES`, or a correction names no
        class campwatch knows, naming the row.
    """
    state = _text(row.get("review")) or "unreviewed"
    where = f"history {path}: layer 'changes', row {number} (change_id {row.get('change_id')!r})"
    if state not in REVIEW_STATES:
        raise InputError(f"{where}: review is {state[:40]!r}; expected one of {', '.join(REVIEW_STATES)}")
    if state == "unreviewed":
        return None
    out = {"review": state}
    for column, key in list(REVIEW_KEYS.items())[1:]:
        value = _text(row.get(column))
        if value is not None:
            out[key] = value
    if state == "corrected":
        if out.get("class") not in CLASSES:
            raise InputError(f"{where}: review is 'corrected' but review_class is {out.get('class')!r}; give the "
                             f"right class, one of {', '.join(CLASSES)}")
    return out


def tracked_from_rows(rows: gpd.GeoDataFrame, crs: Any, *, path: Any = None) -> list[TrackedChange]:
    """The tracked changes of a history's rows; a change the analyst corrected takes the class they gave
    (the class campwatch found stays in ``properties['found_class']``)."""
    changes = []
    for number, (_, r) in enumerate(rows.iterrows(), start=1):
        reverted = None
        if isinstance(r["reverted_from"], str) and r["reverted_from"]:
            reverted = {"from": r["reverted_from"], "to": r["reverted_to"]}
        review = review_of(r, path=path, number=number) if "review" in r else None
        properties: dict[str, Any] = {"cause": r["cause"], "check_id": r["check_id"]}
        found_class = str(r["class"])
        change_class = found_class
        if review is not None:
            properties["review"] = review
            if review["review"] == "corrected":
                change_class = review["class"]
                properties["found_class"] = found_class
        changes.append(TrackedChange(
            id=str(r["change_id"]),
            change_class=change_class,
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
            properties=properties,
        ))
    return changes


def rows_from_tracked(changes: list[TrackedChange], crs: Any, aoi: str) -> gpd.GeoDataFrame:
    rows = []
    geoms = []
    for c in changes:
        feature = c.feature(crs)
        p = feature.properties
        rows.append({
            "change_id": c.id, "aoi": aoi, "class": c.properties.get("found_class", c.change_class),
            "interval_from": feature.interval[0], "interval_to": feature.interval[1],
            "before_image": c.before[0], "first_image": c.first[0], "first_seen": feature.interval[1],
            "last_image": c.last[0], "last_confirmed": p["last_confirmed"], "confidence": p["confidence"],
            "area_m2": p["area_m2"], "length_m": p["length_m"], "found_by": c.found_by,
            "reverted_from": c.reverted["from"] if c.reverted else None,
            "reverted_to": c.reverted["to"] if c.reverted else None,
            "pairs": json.dumps(c.pairs), "cause": p["cause"], "check_id": c.properties.get("check_id"),
        })
        geoms.append(shape(feature.geometry))
    if not rows:
        return _empty(CHANGE_COLUMNS)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
