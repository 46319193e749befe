"""The monthly check of an AOI and the history it keeps.

A check compares the images that arrived since the last check with the last image
compared (each consecutive pair, so that no date is lost), and the newest image with a
baseline; it records the changes in a history and says what is new.

The history is a GeoPackage with two layers, which QGIS, geopandas and ogr2ogr open:

``changes``
    One row per change, with a stable ``change_id``, its class, the interval it happened
    in (``interval_from``, ``interval_to``), ``first_seen`` and ``last_confirmed`` dates,
    the check that found it, confidence, size, and its geometry (WGS84; polygons, and
    lines for fences).
``checks``
    One row per check: the images compared, the baseline, the status, what was new, the
    key that makes a check idempotent, the software version, the AOI outline.

Writes are safe: a check holds a lock on the history file for its whole run (two checks
of one history run one after the other), and the new history is written to a temporary
file and renamed over the old one, so that a reader or a killed process never sees half a
history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from filelock import FileLock
from shapely.geometry import shape

from campwatch._version import __version__
from campwatch.aoi import read_aoi
from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.errors import InputError, OutputError
from campwatch.masks import read_mask
from campwatch.output import OutputSet, check_writable
from campwatch.pipeline import PairResult, imagery_credit, input_records, pair_analysis, stage_outputs
from campwatch.report import software_versions, write_json
from campwatch.scene import SceneInfo, sha256_file
from campwatch.series import (
    ChangeTracker,
    TrackedChange,
    aoi_utm,
    compare_series,
    pair_name,
    pair_summary,
    reproject,
    same_place,
    series_scenes,
)

__all__ = ["CheckResult", "run_check", "history_layers", "CHANGE_COLUMNS", "CHECK_COLUMNS"]

logger = logging.getLogger(__name__)

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


def aoi_key(aoi_path: str | Path) -> str:
    """The AOI's key in a history: its file name without the extension."""
    return Path(aoi_path).stem


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



def _write_history(path: Path, changes: gpd.GeoDataFrame, checks: gpd.GeoDataFrame) -> None:
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


def _tracked_from_rows(rows: gpd.GeoDataFrame, crs: Any) -> list[TrackedChange]:
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


def _rows_from_tracked(changes: list[TrackedChange], crs: Any, aoi: str) -> gpd.GeoDataFrame:
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


@dataclass
class CheckResult:
    """What a check found and did."""

    aoi: str
    status: str  # "ok", "obscured", "already checked", "no new image"
    summary: str
    new: list[dict[str, Any]] = field(default_factory=list)
    confirmed: int = 0
    check_id: str | None = None
    history: Path | None = None
    folder: Path | None = None

    @property
    def found_new(self) -> bool:
        """Whether this check added any change to the history."""
        return bool(self.new)

    def to_dict(self) -> dict[str, Any]:
        return {"aoi": self.aoi, "status": self.status, "summary": self.summary, "new": self.new,
                "confirmed": self.confirmed, "check_id": self.check_id,
                "history": None if self.history is None else str(self.history),
                "folder": None if self.folder is None else str(self.folder)}


_PLURAL = {
    "structure_new": ("new structure", "new structures"),
    "structure_demolished": ("structure demolished", "structures demolished"),
    "structure_modified": ("structure modified", "structures modified"),
    "tower_added": ("guard tower added", "guard towers added"),
    "tower_removed": ("guard tower removed", "guard towers removed"),
    "other_change": ("other change", "other changes"),
}


def describe_new(changes: list[TrackedChange] | list[dict[str, Any]]) -> str:
    """Say what ``changes`` are in words: '2 guard towers removed, 1 new structure, 340 m of fence razed'."""
    def cls(c: Any) -> str:
        return c.change_class if isinstance(c, TrackedChange) else c["class"]

    def length(c: Any) -> float:
        v = c.length_m if isinstance(c, TrackedChange) else c.get("length_m")
        return float(v or 0.0)

    parts = []
    for name in CLASSES:
        these = [c for c in changes if cls(c) == name]
        if not these:
            continue
        if name == "fence_razed":
            parts.append(f"{sum(length(c) for c in these):,.0f} m of fence razed")
        elif name == "fence_built":
            parts.append(f"{sum(length(c) for c in these):,.0f} m of fence built")
        else:
            one, many = _PLURAL[name]
            parts.append(f"{len(these)} {one if len(these) == 1 else many}")
    return ", ".join(parts) if parts else "nothing new"


def _check_key(
    aoi_path: Path, infos: list[SceneInfo], baseline: SceneInfo, config: DetectConfig, mask_path: str | Path | None
) -> str:
    """What makes two checks the same check: inputs (by content), baseline, parameters, version."""
    doc = {
        "aoi": sha256_file(aoi_path),
        "images": [[i.path.name, i.date.isoformat(), _scene_digest(i)] for i in infos],
        "baseline": baseline.path.name,
        "parameters": config.to_dict(),
        "campwatch": __version__,
        "mask": sha256_file(mask_path) if mask_path is not None else None,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _scene_digest(info: SceneInfo) -> str:
    path = Path(info.path)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(path.iterdir()):
            if f.is_file():
                h.update(f.name.encode() + sha256_file(f).encode())
        return h.hexdigest()
    return sha256_file(path)


def _pick_baseline(infos: list[SceneInfo], baseline: str | None) -> SceneInfo:
    if baseline is None:
        return infos[0]
    for info in infos:
        if baseline in (info.path.name, info.path.stem, info.date.isoformat()):
            return info
    raise InputError(
        f"baseline {baseline!r} is not one of the images ({', '.join(i.path.name for i in infos)}); "
        "give a file name or a date (YYYY-MM-DD) of one of them"
    )


def _clear_leftovers(folder: Path, history: Path) -> None:
    """Remove what a killed check left: staging folders and temporary history files."""
    if folder.exists():
        for stale in folder.rglob(".campwatch-partial-*"):
            shutil.rmtree(stale, ignore_errors=True)
    if history.parent.exists():
        for stale in history.parent.glob(f".{history.name}.*.tmp.gpkg"):
            stale.unlink(missing_ok=True)


def _stage_check_figures(
    result: PairResult, outs: OutputSet, check_doc: dict[str, Any], headline: str, tracker: ChangeTracker,
    crs: Any, key_name: str, *, dpi: int,
) -> None:
    """The figures of a check's newest pair, the AOI's timeline so far, and report.html."""
    from campwatch.publish import figure_set, report_html, stage_figure_set
    from campwatch.views import view_from_result

    view = view_from_result(result, credit=imagery_credit(result))
    # In a check's page, each change goes by its id in the history.
    named = []
    for mc in view.changes:
        local = reproject(mc.geometry, result.before.crs, crs)
        match = next((t for t in tracker.changes if t.change_class == mc.change_class
                      and same_place(t.geometry, local)), None)
        named.append(dataclasses.replace(mc, id=match.id) if match is not None else mc)
    view = dataclasses.replace(view, changes=named)
    dates = sorted({c.before[1] for c in tracker.changes} | {c.first[1] for c in tracker.changes}
                   | {result.before.date, result.after.date})
    history_doc = {
        "aoi": {"name": view.name},
        "images": [{"date": d.isoformat(), "status": "compared"} for d in dates],
        "pairs": [],
        "features": [c.feature(crs) for c in sorted(tracker.changes, key=lambda c: (c.first[1], c.id))],
    }
    _, pngs = stage_figure_set(figure_set(view, series=history_doc), outs, dpi=dpi)
    pair_doc = next((p for p in check_doc["pairs"] if p["kind"] == "pair" and p["to"] == result.after.date.isoformat()),
                    None)
    doc = dict(check_doc) | {"warnings": list(result.warnings)}
    if pair_doc is not None:
        doc["coregistration"] = {"shift_px": pair_doc["shift_px"]}
    also = [c.feature(crs)["properties"] for c in tracker.changes
            if c.found_by == "baseline" and c.properties.get("check_id") == check_doc["check"]["check_id"]]
    outs.path("report.html").write_text(
        report_html(view, pngs, kind="check", doc=doc, headline=f"{key_name}: {headline}", also=also),
        encoding="utf-8")


def run_check(
    aoi_path: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    *,
    history_path: str | Path | None = None,
    baseline: str | None = None,
    config: DetectConfig | None = None,
    now: dt.datetime | None = None,
    figures: bool = True,
    dpi: int = 300,
    mask_path: str | Path | None = None,
) -> CheckResult:
    """Run the monthly check of one AOI and record it in the AOI's history.

    Parameters
    ----------
    aoi_path : path
        The AOI file; its name (without extension) is the AOI's key in the history.
    images_dir : path
        The AOI's dated images (see :func:`campwatch.series.series_scenes`).
    out_dir : path
        Where each check writes its pair outputs (``<check_id>/pairs/<from>_<to>/``) and
        ``check.json``; also the default history file, ``history.gpkg``.
    history_path : path, optional
        The history GeoPackage (default ``out_dir/history.gpkg``); one file may hold many AOIs.
    baseline : str, optional
        The baseline image's file name or date; default the first image.
    config : DetectConfig, optional
    now : datetime, optional
        The time recorded as ``checked_at`` (default: now, UTC).
    mask_path : path, optional
        A mask file of areas not to analyse (:mod:`campwatch.masks`).
    figures : bool
        Write the figure set of the newest pair (``figures/``, PNG at ``dpi`` and PDF,
        with the AOI's timeline from the history) and ``report.html`` into the check's folder.

    Returns
    -------
    CheckResult

    Notes
    -----
    The first check of an AOI compares the newest image with the previous one. Later
    checks compare every image that arrived since with the last image compared, pair by
    pair. Every check also compares the newest image with the baseline: a change found
    there at the place of a known one confirms it (``last_confirmed``); any other is
    recorded as new over the whole span. A check with the same inputs, baseline,
    parameters and version as one in the history adds nothing.
    """
    config = config or DetectConfig()
    aoi_path, out_dir = Path(aoi_path), Path(out_dir)
    check_writable(out_dir)
    history = Path(history_path) if history_path is not None else out_dir / "history.gpkg"
    check_writable(history.parent)
    aoi = read_aoi(aoi_path)
    mask = read_mask(mask_path) if mask_path is not None else None
    key_name = aoi_key(aoi_path)
    infos = series_scenes(images_dir, aoi=aoi)
    if len(infos) < 2:
        raise InputError(f"{images_dir}: a check needs at least two dated images; found {len(infos)}")
    base = _pick_baseline(infos, baseline)
    history.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(history) + ".lock")
    with lock:
        _clear_leftovers(out_dir, history)
        changes_df, checks_df = history_layers(history)
        mine = checks_df[checks_df["aoi"] == key_name]
        key = _check_key(aoi_path, infos, base, config, mask_path)
        done = mine[mine["key"] == key]
        if len(done):
            row = done.iloc[-1]
            return CheckResult(key_name, "already checked",
                               f"already checked ({row['check_id']}, {row['checked_at']}); nothing added",
                               check_id=str(row["check_id"]), history=history)
        newest = infos[-1]
        start = len(infos) - 2
        if len(mine):
            last = mine.sort_values("newest_date").iloc[-1]
            through = dt.date.fromisoformat(str(last["compared_through"]))
            last_newest = dt.date.fromisoformat(str(last["newest_date"]))
            if newest.date <= last_newest:
                return CheckResult(key_name, "no new image",
                                   f"no image newer than {last_newest.isoformat()}; nothing added", history=history)
            idx = [i for i, info in enumerate(infos) if info.date == through]
            if not idx:
                raise InputError(
                    f"{images_dir}: the image of {through.isoformat()}, the last one this AOI's history "
                    f"({history}) compared, is no longer in the folder; put it back or start a new history"
                )
            start = idx[0]
        todo = infos[start:]
        crs = infos[0].crs if infos[0].crs.is_projected else aoi_utm(aoi)
        mine_changes = changes_df[changes_df["aoi"] == key_name]
        numbers = [int(m.group(1)) for m in (re.search(r"-(\d+)$", str(c)) for c in mine_changes["change_id"]) if m]
        tracker = ChangeTracker(crs, _tracked_from_rows(mine_changes, crs), id_prefix=f"{key_name}-",
                                next_number=max(numbers, default=0) + 1)
        check_id = f"{key_name}-{newest.date.isoformat()}-{key[:8]}"
        known_ids = {c.id for c in tracker.changes}
        pairs: list[dict[str, Any]] = []
        with OutputSet(out_dir / check_id) as outs:

            newest_pair: list[PairResult] = []

            def stage(result: PairResult, found_by: str, within: Any = None) -> None:
                tracker.add_pair(result, found_by=found_by, within=within)
                if found_by == "pair":
                    newest_pair[:] = [result]
                name = pair_name(result)
                folder = {"baseline": "baseline/", "bridge": "bridges/"}.get(found_by, "pairs/") + name
                assert result.before.path is not None and result.after.path is not None
                hashes = stage_outputs(result, outs, inputs=input_records(result.before.path, result.after.path,
                                                                          aoi_path=aoi_path, mask_path=mask_path),
                                       credit=imagery_credit(result), prefix=folder + "/")
                pairs.append(pair_summary(result, hashes, folder) | {"kind": found_by})

            records = compare_series(todo, aoi, config, on_pair=lambda r: stage(r, "pair"),
                                     on_bridge=lambda r, area: stage(r, "bridge", area), mask=mask)
            usable = [r for r in records if r.status == "compared"]
            last_usable = usable[-1] if usable else None
            newest_ok = last_usable is not None and last_usable.date == newest.date
            prev_rec = usable[-2] if len(usable) >= 2 else None
            if newest_ok and base.date < (prev_rec.date if prev_rec else newest.date):
                with warnings.catch_warnings(), pair_analysis(base.path, newest.path, aoi=aoi, config=config,
                                                              mask=mask) as against_baseline:
                    warnings.simplefilter("ignore", category=RuntimeWarning)
                    stage(against_baseline, "baseline")
            new = [c for c in tracker.changes if c.id not in known_ids]
            for c in new:
                c.properties["check_id"] = check_id
            confirmed = sum(1 for c in tracker.changes if c.id in known_ids and c.last[1] == newest.date)
            since = infos[start].date.isoformat()
            skipped = [r for r in records if r.status == "skipped"]
            paired = [c for c in new if c.found_by == "pair"]
            against_base = [c for c in new if c.found_by == "baseline"]
            also = (f"; against the baseline {base.date.isoformat()} also: {describe_new(against_base)}"
                    if against_base else "")
            if newest_ok:
                status = "ok"
                text = f"since {since}: {describe_new(paired)}{also}"
            else:
                status = "obscured"
                why = next((r.reason for r in records if r.date == newest.date and r.reason), "not usable")
                text = (f"newest image {newest.path.name}: {why}; nothing reported for it"
                        + (f" (since {since}: {describe_new(paired)})" if paired else ""))
            compared_through = last_usable.date.isoformat() if last_usable else infos[start].date.isoformat()
            prev_image = prev_rec.path.name if prev_rec else infos[start].path.name
            prev_date = prev_rec.date.isoformat() if prev_rec else infos[start].date.isoformat()
            checked_at = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
            record = {
                "check_id": check_id, "aoi": key_name, "checked_at": checked_at, "status": status,
                "newest_image": newest.path.name, "newest_date": newest.date.isoformat(),
                "previous_image": prev_image, "previous_date": prev_date,
                "baseline_image": base.path.name, "baseline_date": base.date.isoformat(),
                "compared_through": compared_through, "new_changes": len(new), "confirmed_changes": confirmed,
                "summary": text, "skipped": json.dumps([r.to_dict() for r in skipped]),
                "report_folder": str((out_dir / check_id).resolve()), "key": key,
                "campwatch_version": __version__,
            }
            check_doc = {
                "schema": "campwatch-check/1",
                "check": record,
                "aoi": aoi.summary(),
                "images": [r.to_dict() for r in records],
                "pairs": pairs,
                "parameters": config.to_dict(),
                "new": [c.feature(crs) for c in new],
                "inputs": [{"role": "image", "date": i.date.isoformat(), "path": str(Path(i.path).resolve()),
                            "sha256": _scene_digest(i)} for i in infos]
                + [{"role": "aoi", "path": str(aoi_path.resolve()), "sha256": sha256_file(aoi_path)}],
            }
            check_doc["software"] = software_versions()
            write_json(check_doc, outs.path("check.json"))
            if figures and newest_pair and newest_ok:
                _stage_check_figures(newest_pair[0], outs, check_doc, text, tracker, crs, key_name, dpi=dpi)
        # The check's folder is in place: now the history, in one rename.
        other_changes = changes_df[changes_df["aoi"] != key_name]
        all_changes = pd.concat([other_changes, _rows_from_tracked(tracker.changes, crs, key_name)],
                                ignore_index=True) if len(other_changes) else _rows_from_tracked(
                                    tracker.changes, crs, key_name)
        check_row = gpd.GeoDataFrame([record], geometry=[aoi.geometry], crs="EPSG:4326")
        all_checks = pd.concat([checks_df, check_row], ignore_index=True) if len(checks_df) else check_row
        try:
            _write_history(history, gpd.GeoDataFrame(all_changes, crs="EPSG:4326"),
                           gpd.GeoDataFrame(all_checks, crs="EPSG:4326"))
        except OSError as exc:
            raise OutputError(f"history {history}: cannot be written ({exc})") from exc
    logger.info("%s: %s", key_name, text)
    return CheckResult(key_name, status, text, new=[c.feature(crs)["properties"] for c in new],
                       confirmed=confirmed, check_id=check_id, history=history, folder=out_dir / check_id)
