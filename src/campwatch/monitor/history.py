"""The monthly check of an AOI and the history it keeps.

A check compares the images that arrived since the last check with the last image
compared (each consecutive pair, so that no date is lost), and the newest image with a
baseline; it records the changes in the AOI's history (:mod:`campwatch.monitor.store`)
and says what is new. It runs in four steps: :func:`_plan` (what to compare, or nothing
to do), :func:`_stage` (compare, write the check's folder), :func:`_record` (what the
check found, as a row of the history) and :func:`_commit` (the new history, in one rename).

Writes are safe: a check holds a lock on the history file for its whole run (two checks
of one history run one after the other), its folder appears whole or not at all, and the
history is replaced in one rename, so that a reader or a killed process never sees half
of either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from campwatch._version import __version__
from campwatch.classes import describe, summarize
from campwatch.config import DetectConfig
from campwatch.detection.confidence import calibration
from campwatch.detection.model import model_member
from campwatch.detection.results import PairResult
from campwatch.document import (
    CHECK_REPORT,
    CHECK_SCHEMA,
    REPORT_HTML,
    CheckReport,
    JSONTable,
    Provenance,
    SeriesImage,
    SeriesReport,
)
from campwatch.errors import InputError, OutputError
from campwatch.io.aoi import AOI, aoi_key, read_aoi
from campwatch.io.jsonio import clean, write_json
from campwatch.io.masks import UserMask, read_mask
from campwatch.io.output import FileOnlyWhileLocked, OutputSet, check_writable, clear_dead_runs, disk_full
from campwatch.io.pair import PairRequest, pixel_size_m
from campwatch.io.provenance import file_record
from campwatch.io.recorded import publish_paths
from campwatch.io.scene import SceneInfo, scene_files, sha256_file
from campwatch.monitor.review import apply_reviews
from campwatch.monitor.series import ImageRecord, PairStager, series_scenes
from campwatch.monitor.store import (
    REVIEW_COLUMNS,
    REVIEW_KEYS,
    history_layers,
    rows_from_tracked,
    tracked_from_rows,
    write_history,
)
from campwatch.monitor.tracking import ChangeTracker, TrackedChange, aoi_utm, reproject, same_place
from campwatch.publish.html import figure_set, report_html, stage_figure_set
from campwatch.publish.views import view_from_result
from campwatch.report import classes_member, software_versions
from campwatch.run import analyse_pair, model_records

__all__ = ["CheckResult", "run_check", "aoi_key", "describe_new", "scene_digest"]

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    """What a check found and did."""

    aoi: str
    status: str  # "ok", "obscured", "already checked", "no new image"
    summary: str
    #: The properties of each change new to the history.
    new: list[JSONTable] = field(default_factory=list)
    confirmed: int = 0
    check_id: str | None = None
    history: Path | None = None
    folder: Path | None = None

    @property
    def found_new(self) -> bool:
        """Whether this check added any change to the history."""
        return bool(self.new)

    def to_dict(self) -> JSONTable:
        return {"aoi": self.aoi, "status": self.status, "summary": self.summary, "new": list(self.new),
                "confirmed": self.confirmed, "check_id": self.check_id,
                "history": None if self.history is None else str(self.history),
                "folder": None if self.folder is None else str(self.folder)}


def describe_new(changes: list[TrackedChange] | list[JSONTable]) -> str:
    """Say what ``changes`` are in words: '2 guard towers removed, 1 new structure, 340 m of fence razed'."""
    return describe(summarize(changes))


def _check_key(
    aoi_path: Path, infos: list[SceneInfo], baseline: SceneInfo, config: DetectConfig, mask_path: str | Path | None,
    model: str | None,
) -> str:
    """What makes two checks the same check: inputs (by content), baseline, parameters, version."""
    doc = {
        "aoi": sha256_file(aoi_path),
        "images": [[i.path.name, i.date.isoformat(), scene_digest(i)] for i in infos],
        "baseline": baseline.path.name,
        "parameters": config.to_dict(model=model),
        "campwatch": __version__,
        "mask": sha256_file(mask_path) if mask_path is not None else None,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def scene_digest(info: SceneInfo) -> str:
    """The SHA-256 of a scene's one file, or of its files' names and hashes (tiles, bands, metadata)."""
    path = Path(info.path)
    if path.is_dir() and info.layout == "tiles":
        files = [f for f in path.iterdir() if f.is_file()]  # every file of a folder of tiles, as ever
    else:
        files = scene_files(path)
        if files == [path]:
            return sha256_file(path)
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f.name.encode() + sha256_file(f).encode())
    return h.hexdigest()


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
    """Remove what killed checks left: their staging folders (never a live check's, of another history
    writing to the same folder) and, under the history's lock, temporary history files."""
    clear_dead_runs(folder)
    if history.parent.exists():
        for stale in history.parent.glob(f".{history.name}.*.tmp.gpkg"):
            stale.unlink(missing_ok=True)


def _stage_check_figures(
    result: PairResult, outs: OutputSet, check: CheckReport, headline: str, tracker: ChangeTracker,
    crs: Any, key_name: str, *, dpi: int,
) -> None:
    """The figures of a check's newest pair, the AOI's timeline so far, and report.html."""
    view = view_from_result(result, credit=result.credit)
    # In a check's page, each change goes by its id in the history, with the analyst's review; what
    # the analyst rejected (a known false alarm, found again) is not shown as change.
    named = []
    for mc in view.changes:
        local = reproject(mc.geometry, result.before.crs, crs)
        match = next((t for t in tracker.changes if t.change_class == mc.change_class
                      and same_place(t.geometry, local)), None)
        if match is None:
            named.append(mc)
            continue
        review = match.properties.get("review", {}).get("review")
        if review == "rejected":
            continue
        named.append(dataclasses.replace(mc, id=match.id, review=review))
    view = dataclasses.replace(view, changes=named)
    dates = sorted({c.before[1] for c in tracker.changes} | {c.first[1] for c in tracker.changes}
                   | {result.before.date, result.after.date})
    # The AOI's timeline so far: every image date the history knows, and every change it holds.
    history = SeriesReport(
        aoi={"name": view.name}, images=tuple(SeriesImage(file="", date=d.isoformat(), status="compared") for d in dates),
        pairs=(), features=[c.feature(crs) for c in sorted(tracker.changes, key=lambda c: (c.first[1], c.id))])
    _, pngs = stage_figure_set(figure_set(view, series=history), outs, dpi=dpi)
    also = [c.feature(crs) for c in tracker.changes
            if c.found_by == "baseline" and c.properties.get("check_id") == check.check_id
            and "false_alarm_of" not in c.properties]
    outs.path(REPORT_HTML).write_text(
        report_html(view, pngs, kind="check", doc=check, headline=f"{key_name}: {headline}", also=also,
                    folder=outs.out_dir, warnings=result.warnings),
        encoding="utf-8")


def run_check(
    aoi_path: str | Path,
    images_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    history_path: str | Path | None = None,
    baseline: str | None = None,
    config: DetectConfig | None = None,
    now: dt.datetime | None = None,
    figures: bool = True,
    dpi: int = 300,
    mask_path: str | Path | None = None,
    model: str | Path | None = None,
) -> CheckResult:
    """Run the monthly check of one AOI and record it in the AOI's history.

    Parameters
    ----------
    aoi_path : path
        The AOI file; its name (without extension) is the AOI's key in the history.
    images_dir : path
        The AOI's dated images (see :func:`campwatch.monitor.series.series_scenes`).
    out_dir : path, optional
        Default ``checks/<AOI file name without extension>``. Where each check writes its pair outputs (``<check_id>/pairs/<from>_<to>/``) and
        ``check.json``; also the default history file, ``history.gpkg``.
    history_path : path, optional
        The history GeoPackage (default ``out_dir/history.gpkg``); one file may hold many AOIs.
    baseline : str, optional
        The baseline image's file name or date; default the first image.
    config : DetectConfig, optional
    now : datetime, optional
        The time recorded as ``checked_at`` (default: now, UTC).
    mask_path : path, optional
        A mask file of areas not to analyse (:mod:`campwatch.io.masks`).
    model : str or path, optional
        A change model to run with the classical stages on every pair (:class:`~campwatch.io.pair.PairRequest`).
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
    out = Path(out_dir) if out_dir is not None else Path("checks") / aoi_key(aoi_path)
    plan = _plan(Path(aoi_path), images_dir, out, history_path=history_path, baseline=baseline,
                 config=config, mask_path=mask_path, model=None if model is None else str(model))
    if isinstance(plan, CheckResult):
        return plan
    with plan.lock:
        done = _already_done(plan)
        if done is not None:
            return done
        with OutputSet(plan.out_dir / plan.check_id) as outs:
            stager = PairStager(outs, plan.tracker, aoi_path=plan.aoi_path, mask_path=plan.mask_path)
            records = _stage(plan, stager)
            found = _record(plan, records, stager, now=now)
            # Published: every path check.json records is relative to the check's folder.
            doc = publish_paths(clean(_check_doc(plan, found, records, stager).to_geojson()), outs.recorded_folder())
            write_json(doc, outs.path(CHECK_REPORT))
            if figures and stager.newest is not None and found.newest_ok:
                check = CheckReport.from_geojson(doc, source=str(outs.final_path(CHECK_REPORT)))
                _stage_check_figures(stager.newest, outs, check, found.text, plan.tracker, plan.crs,
                                     plan.key_name, dpi=dpi)
        # The check's folder is in place: now the history, in one rename.
        _commit(plan, found)
    logger.info("%s: %s", plan.key_name, found.text)
    return CheckResult(plan.key_name, found.status, found.text,
                       new=[c.feature(plan.crs).properties for c in found.new], confirmed=found.confirmed,
                       check_id=plan.check_id, history=plan.history, folder=plan.out_dir / plan.check_id)


@dataclass
class _Plan:
    """What a check is to do: its inputs, the history it adds to, and what that history knows."""

    aoi_path: Path
    images_dir: str | Path
    out_dir: Path
    history: Path
    lock: FileOnlyWhileLocked
    aoi: AOI
    mask: UserMask | None
    mask_path: str | Path | None
    key_name: str
    config: DetectConfig
    infos: list[SceneInfo]
    base: SceneInfo
    key: str
    #: The change model the pairs are analysed with, as its user named it, or None.
    model: str | None = None
    crs: Any = None
    start: int = 0
    tracker: ChangeTracker = field(default_factory=lambda: ChangeTracker("EPSG:4326"))
    known_ids: set[str] = field(default_factory=set)
    changes_df: gpd.GeoDataFrame | None = None
    checks_df: gpd.GeoDataFrame | None = None

    @property
    def newest(self) -> SceneInfo:
        return self.infos[-1]

    @property
    def check_id(self) -> str:
        return f"{self.key_name}-{self.newest.date.isoformat()}-{self.key[:8]}"


def _plan(aoi_path: Path, images_dir: str | Path, out_dir: Path, *, history_path: str | Path | None,
          baseline: str | None, config: DetectConfig, mask_path: str | Path | None, model: str | None) -> _Plan:
    """Check every input before any work: the output folder, the history's folder, the AOI, the images."""
    check_writable(out_dir)
    history = Path(history_path) if history_path is not None else out_dir / "history.gpkg"
    # A history given through a symbolic link is the file it leads to: that file is locked and
    # written in place (the link stays), so two checks through two names share one lock.
    history = Path(os.path.realpath(history))
    check_writable(history.parent)
    aoi = read_aoi(aoi_path)
    mask = read_mask(mask_path) if mask_path is not None else None
    infos = series_scenes(images_dir, aoi=aoi)
    if len(infos) < 2:
        raise InputError(f"{images_dir}: a check needs at least two dated images; found {len(infos)}")
    base = _pick_baseline(infos, baseline)
    history.parent.mkdir(parents=True, exist_ok=True)
    return _Plan(aoi_path=aoi_path, images_dir=images_dir, out_dir=out_dir, history=history,
                 lock=FileOnlyWhileLocked(str(history) + ".lock"), aoi=aoi, mask=mask, mask_path=mask_path,
                 key_name=aoi_key(aoi_path), config=config, infos=infos, base=base, model=model,
                 key=_check_key(aoi_path, infos, base, config, mask_path, model))


def _already_done(plan: _Plan) -> CheckResult | None:
    """Under the lock: read the history; say so when this check was done already or nothing is new,
    else fill in where the check starts and what the history knows."""
    _clear_leftovers(plan.out_dir, plan.history)
    changes_df, checks_df = history_layers(plan.history)
    mine = checks_df[checks_df["aoi"] == plan.key_name]
    done = mine[mine["key"] == plan.key]
    if len(done):
        row = done.iloc[-1]
        return CheckResult(plan.key_name, "already checked",
                           f"already checked ({row['check_id']}, {row['checked_at']}); nothing added",
                           check_id=str(row["check_id"]), history=plan.history)
    infos = plan.infos
    start = len(infos) - 2
    if len(mine):
        last = mine.sort_values("newest_date").iloc[-1]
        through = dt.date.fromisoformat(str(last["compared_through"]))
        last_newest = dt.date.fromisoformat(str(last["newest_date"]))
        if plan.newest.date <= last_newest:
            return CheckResult(plan.key_name, "no new image",
                               f"no image newer than {last_newest.isoformat()}; nothing added", history=plan.history)
        idx = [i for i, info in enumerate(infos) if info.date == through]
        if not idx:
            raise InputError(
                f"{plan.images_dir}: the image of {through.isoformat()}, the last one this AOI's history "
                f"({plan.history}) compared, is no longer in the folder; put it back or start a new history"
            )
        start = idx[0]
    crs = infos[0].crs if infos[0].crs.is_projected else aoi_utm(plan.aoi)
    mine_changes = changes_df[changes_df["aoi"] == plan.key_name]
    numbers = [int(m.group(1)) for m in (re.search(r"-(\d+)$", str(c)) for c in mine_changes["change_id"]) if m]
    plan.start, plan.crs, plan.changes_df, plan.checks_df = start, crs, changes_df, checks_df
    plan.tracker = ChangeTracker(crs, tracked_from_rows(mine_changes, crs, path=plan.history), id_prefix=f"{plan.key_name}-",
                                 next_number=max(numbers, default=0) + 1)
    plan.known_ids = {c.id for c in plan.tracker.changes}
    return None


def _stage(plan: _Plan, stager: PairStager) -> list[ImageRecord]:
    """Compare every image since the last check, pair by pair, and the newest with the baseline."""
    records = stager.compare(plan.infos[plan.start:], plan.aoi, plan.config, mask=plan.mask, model=plan.model)
    usable = [r for r in records if r.status == "compared"]
    newest_ok = bool(usable) and usable[-1].date == plan.newest.date
    prev_date = usable[-2].date if len(usable) >= 2 else plan.newest.date
    if newest_ok and plan.base.date < prev_date:
        request = PairRequest(plan.base.path, plan.newest.path, aoi=plan.aoi, mask=plan.mask, model=plan.model)
        with analyse_pair(request, config=plan.config) as against_baseline:
            stager(against_baseline, "baseline")
    return records


@dataclass
class _Found:
    """What a check found: its status and words, the changes new to the history, its row."""

    status: str
    text: str
    newest_ok: bool
    new: list[TrackedChange]
    confirmed: int
    record: JSONTable
    #: New changes that recur a change the analyst rejected: recorded, not reported.
    false_alarms: list[TrackedChange] = field(default_factory=list)


def _record(plan: _Plan, records: list[ImageRecord], stager: PairStager, *, now: dt.datetime | None) -> _Found:
    """Say what the check found, and make its row of the history's ``checks`` layer."""
    tracker, infos, newest, check_id = plan.tracker, plan.infos, plan.newest, plan.check_id
    usable = [r for r in records if r.status == "compared"]
    last_usable = usable[-1] if usable else None
    newest_ok = last_usable is not None and last_usable.date == newest.date
    prev_rec = usable[-2] if len(usable) >= 2 else None
    new, alarms = apply_reviews(tracker, [c for c in tracker.changes if c.id not in plan.known_ids], plan.known_ids)
    for c in new + alarms:
        c.properties["check_id"] = check_id
    confirmed = sum(1 for c in tracker.changes if c.id in plan.known_ids and c.last[1] == newest.date)
    since = infos[plan.start].date.isoformat()
    skipped = [r for r in records if r.status == "skipped"]
    paired = [c for c in new if c.found_by == "pair"]
    against_base = [c for c in new if c.found_by == "baseline"]
    also = (f"; against the baseline {plan.base.date.isoformat()} also: {describe_new(against_base)}"
            if against_base else "")
    if alarms:
        also += (f"; {len(alarms)} known false alarm{'s' if len(alarms) != 1 else ''} not reported (recur "
                 f"{', '.join(sorted({str(c.properties['false_alarm_of']) for c in alarms}))}, rejected before)")
    if newest_ok:
        status = "ok"
        text = f"since {since}: {describe_new(paired)}{also}"
    else:
        status = "obscured"
        why = next((r.reason for r in records if r.date == newest.date and r.reason), "not usable")
        text = (f"newest image {newest.path.name}: {why}; nothing reported for it"
                + (f" (since {since}: {describe_new(paired)})" if paired else ""))
    start_info = infos[plan.start]
    record: JSONTable = {
        "check_id": check_id, "aoi": plan.key_name,
        "checked_at": (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"), "status": status,
        "newest_image": newest.path.name, "newest_date": newest.date.isoformat(),
        "previous_image": prev_rec.path.name if prev_rec else start_info.path.name,
        "previous_date": prev_rec.date.isoformat() if prev_rec else start_info.date.isoformat(),
        "baseline_image": plan.base.path.name, "baseline_date": plan.base.date.isoformat(),
        "compared_through": last_usable.date.isoformat() if last_usable else start_info.date.isoformat(),
        "new_changes": len(new), "confirmed_changes": confirmed,
        "summary": text, "skipped": json.dumps([r.record().to_geojson() for r in skipped]),
        "report_folder": str((plan.out_dir / check_id).resolve()), "key": plan.key,
        "campwatch_version": __version__,
    }
    return _Found(status, text, newest_ok, new, confirmed, record, alarms)


def _check_doc(plan: _Plan, found: _Found, records: list[ImageRecord], stager: PairStager) -> CheckReport:
    """The check's ``check.json``: its row, the images, the pairs, the parameters, what is new, the inputs."""
    inputs = [file_record("image", i.path, sha256=scene_digest(i), date=i.date.isoformat()) for i in plan.infos]
    return CheckReport(
        check=clean(found.record), aoi=clean(plan.aoi.summary()), images=tuple(r.record() for r in records),
        pairs=tuple(stager.staged), new=tuple(c.feature(plan.crs) for c in found.new),
        known_false_alarms=tuple(c.feature(plan.crs) for c in found.false_alarms),
        model=clean(model_member(stager.model)), confidence=calibration().record(),
        classes=classes_member(pixel_size_m(plan.base)),
        provenance=Provenance(schema=CHECK_SCHEMA, inputs=tuple(inputs + [file_record("aoi", plan.aoi_path)]
                                                                + model_records(stager.model)),
                              outputs={}, parameters=plan.config.to_dict(model=plan.model), software=dict(software_versions())),
    )


def _with_reviews(rows: gpd.GeoDataFrame, changes: list[TrackedChange]) -> gpd.GeoDataFrame:
    """``rows`` with the review columns: the analyst's where the history has them (merged in already),
    else what campwatch says of a change it adds (``unreviewed``, or a known false alarm's rejection)."""
    rows = rows.copy()
    for column in REVIEW_COLUMNS:
        if column not in rows:
            rows[column] = pd.Series([None] * len(rows), dtype=object, index=rows.index)
        else:
            rows[column] = rows[column].astype(object)
    said = {c.id: c.properties["review"] for c in changes if "review" in c.properties}
    for i, row in rows.iterrows():
        state = row["review"]
        if isinstance(state, str) and state.strip():
            continue
        review = said.get(str(row["change_id"]))
        for column, key in REVIEW_KEYS.items():
            rows.at[i, column] = (review or {}).get(key, "unreviewed" if column == "review" else None)
    return rows


def _commit(plan: _Plan, found: _Found) -> None:
    """Write the history with this check's changes and row, in one rename."""
    assert plan.changes_df is not None and plan.checks_df is not None
    changes_df, checks_df = plan.changes_df, plan.checks_df
    mine = rows_from_tracked(plan.tracker.changes, plan.crs, plan.key_name)
    # What an analyst added to this AOI's rows (columns of their own) stays with each change.
    extra = [c for c in changes_df.columns if c not in mine.columns]
    if extra and len(mine):
        known = changes_df.loc[changes_df["aoi"] == plan.key_name, ["change_id"] + extra].drop_duplicates("change_id")
        mine = gpd.GeoDataFrame(mine.merge(known, on="change_id", how="left"), geometry="geometry", crs="EPSG:4326")
    mine = _with_reviews(mine, plan.tracker.changes)
    other_changes = changes_df[changes_df["aoi"] != plan.key_name]
    all_changes = pd.concat([other_changes, mine], ignore_index=True) if len(other_changes) else mine
    # The history records the check's folder relative to its own folder, never absolute.
    row = publish_paths(found.record, plan.history.resolve().parent)
    check_row = gpd.GeoDataFrame([row], geometry=[plan.aoi.geometry], crs="EPSG:4326")
    all_checks = pd.concat([checks_df, check_row], ignore_index=True) if len(checks_df) else check_row
    try:
        write_history(plan.history, gpd.GeoDataFrame(all_changes, crs="EPSG:4326"),
                      gpd.GeoDataFrame(all_checks, crs="EPSG:4326"))
    except Exception as exc:
        if disk_full(exc):
            raise OutputError(f"history {plan.history}: the disk is full; the history is as it was before this "
                              f"check (its folder {plan.out_dir / plan.check_id} is written: the next check "
                              "redoes it); free some space and run again") from exc
        if isinstance(exc, OSError):
            raise OutputError(f"history {plan.history}: cannot be written ({exc})") from exc
        raise
