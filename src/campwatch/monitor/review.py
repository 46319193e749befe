"""The analyst's review of a history's changes: what is left to review, the next check's respect for it,
and the labels the reviews teach.

An analyst reviews a change in the history's ``changes`` layer (in QGIS: the review and
review_class drop-down lists of campwatch's style): ``confirmed``, ``rejected`` (a false
alarm) or ``corrected`` (a real change of another class, given in ``review_class``); with a
note, who and when (:data:`campwatch.monitor.store.REVIEW_COLUMNS`).

The next check respects it (:func:`apply_reviews`):

- a change it finds that **recurs** a rejected one is recorded, marked rejected as a known
  false alarm, and neither reported as new nor counted for ``--exit-code``. A change recurs
  another when it lies at its place (:func:`campwatch.monitor.tracking.same_place`: areas
  overlapping by half of the smaller, lines within 2 m over half of the shorter) and is of
  its class or of the class that undoes it (the false alarm going away again is no change
  either);
- a change it finds at the place of a corrected one, of the class campwatch first found
  there, is that change again, under the class the analyst gave: it confirms it, and is
  not new.

Reviews teach (:func:`review_labels`): a confirmed change is a change label of its class,
a corrected one of the class the analyst gave, a rejected one a "no change" label. In a
pair whose every change is reviewed, the rest of the AOI is no change too (the analyst has
looked at the whole map), so the AOI is that pair's taught area.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from campwatch.classes import CLASSES
from campwatch.errors import InputError
from campwatch.evaluate import read_truth
from campwatch.io.jsonio import write_json_atomic
from campwatch.io.labels import TAUGHT_AREA, LabelArea, Labels, label_kind
from campwatch.io.output import FileOnlyWhileLocked
from campwatch.io.scene import sha256_file
from campwatch.monitor.store import REVIEW_COLUMNS, history_layers, review_of, write_history
from campwatch.monitor.tracking import REVERSAL, ChangeTracker, TrackedChange, reproject, same_place, utm_of

__all__ = ["apply_reviews", "review_table", "review_labels", "PairLabels", "write_review_file",
           "review_from_truth", "ReviewedBy", "false_alarm_text"]

#: A line or a point is a label this wide (metres either side) in a labels file.
_LINE_LABEL_M = 2.0


def false_alarm_text(rejected: TrackedChange) -> str:
    """'known false alarm, rejected on 2026-03-02 (C0012)'."""
    review = rejected.properties.get("review", {})
    when = str(review.get("at", ""))[:10] or "an earlier review"
    return f"known false alarm, rejected on {when} ({rejected.id})"


def apply_reviews(tracker: ChangeTracker, new: list[TrackedChange], known_ids: set[str]
                  ) -> tuple[list[TrackedChange], list[TrackedChange]]:
    """Sort a check's new changes by the history's reviews: (new to report, known false alarms).

    A known false alarm stays in the tracker (the history records it), marked rejected with
    the reason; a change that is a corrected one found again is folded into it and leaves the
    tracker. See the module docstring for the rules.
    """
    reviewed = [c for c in tracker.changes if c.id in known_ids and "review" in c.properties]
    rejected = [c for c in reviewed if c.properties["review"]["review"] == "rejected"]
    corrected = [c for c in reviewed if c.properties["review"]["review"] == "corrected"]
    report: list[TrackedChange] = []
    alarms: list[TrackedChange] = []
    for change in new:
        recurs = next((r for r in rejected
                       if change.change_class in (r.change_class, REVERSAL.get(r.change_class))
                       and same_place(r.geometry, change.geometry)), None)
        if recurs is not None:
            change.properties["review"] = {"review": "rejected", "note": false_alarm_text(recurs), "by": "campwatch"}
            change.properties["false_alarm_of"] = recurs.id
            alarms.append(change)
            continue
        again = next((k for k in corrected
                      if change.change_class == k.properties.get("found_class")
                      and same_place(k.geometry, change.geometry)), None)
        if again is not None:
            for pair in change.pairs:
                if pair not in again.pairs:
                    again.pairs.append(pair)
            if again.last[1] < change.last[1]:
                again.last = change.last
            again.confidence = max(again.confidence, change.confidence)
            tracker.changes.remove(change)
            continue
        report.append(change)
    return report, alarms


def review_table(changes: gpd.GeoDataFrame, *, path: Any = None) -> gpd.GeoDataFrame:
    """The changes with their review state in ``review`` (``unreviewed`` where none), each checked."""
    frame = changes.copy()
    states = []
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        review = review_of(row, path=path, number=number)
        states.append("unreviewed" if review is None else review["review"])
    frame["review"] = pd.Series(states, index=frame.index, dtype=object)
    return frame


@dataclass(frozen=True)
class PairLabels:
    """The labels that the reviews of one pair's changes give."""

    aoi: str
    before_image: str
    after_image: str
    dates: tuple[dt.date, dt.date]
    labels: Labels
    #: Whether every change of the pair is reviewed (the AOI is then the pair's taught area).
    whole: bool


def _as_area(geom: BaseGeometry) -> BaseGeometry:
    """A change's geometry (WGS84) as a polygon: lines and points widened by :data:`_LINE_LABEL_M`."""
    if geom.area > 0:
        return geom
    utm = utm_of(geom)
    return reproject(reproject(geom, "EPSG:4326", utm).buffer(_LINE_LABEL_M), utm, "EPSG:4326")


def review_labels(history: str | Path, *, aoi: str | None = None) -> list[PairLabels]:
    """The labels a history's reviews give, pair by pair (see the module docstring).

    Raises
    ------
    InputError
        When the history holds no reviewed change (of ``aoi``, when given), or a review that
        is not valid (naming the row).
    """
    path = Path(history)
    if not path.exists():
        raise InputError(f"history {path}: not found")
    changes, checks = history_layers(path)
    if aoi is not None:
        changes, checks = changes[changes["aoi"] == aoi], checks[checks["aoi"] == aoi]
    table = review_table(changes, path=path)
    done = table[table["review"] != "unreviewed"]
    if not len(done):
        raise InputError(f"history {path}: no change{f' of {aoi}' if aoi else ''} is reviewed; review some (the "
                         "review column: confirmed, rejected or corrected) before teaching from it")
    outlines = {str(r["aoi"]): r.geometry for _, r in checks.iterrows() if r.geometry is not None}
    out = []
    for (key, before, first), rows in table.groupby(["aoi", "before_image", "first_image"], sort=True):
        reviewed = rows[rows["review"] != "unreviewed"]
        if not len(reviewed):
            continue
        dates = (dt.date.fromisoformat(str(rows["interval_from"].iloc[0])),
                 dt.date.fromisoformat(str(rows["interval_to"].iloc[0])))
        areas = []
        for number, (_, row) in enumerate(reviewed.iterrows(), start=1):
            review = review_of(row, path=path, number=number)
            assert review is not None
            geom = _as_area(row.geometry)
            if review["review"] == "rejected":
                areas.append(LabelArea(geom, "no change", None, dates))
            else:
                cls = review["class"] if review["review"] == "corrected" else str(row["class"])
                areas.append(LabelArea(geom, "change", label_kind(cls), dates))
        whole = len(reviewed) == len(rows)
        if whole and str(key) in outlines:
            areas.append(LabelArea(outlines[str(key)], TAUGHT_AREA, None, dates))
        out.append(PairLabels(str(key), str(before), str(first), dates,
                              Labels(tuple(areas), str(path.resolve()), sha256_file(path)), whole))
    return out


def _label_feature(area: LabelArea) -> dict[str, Any]:
    props: dict[str, Any] = {"role": TAUGHT_AREA} if area.label == TAUGHT_AREA else {"label": area.label}
    if area.kind is not None:
        props["class"] = area.kind
    if area.dates is not None:
        props["from"], props["to"] = area.dates[0].isoformat(), area.dates[1].isoformat()
    return {"type": "Feature", "geometry": mapping(shapely.set_precision(area.geometry, 1e-7)), "properties": props}


def write_review_file(history: str | Path, out: str | Path, *, aoi: str | None = None) -> dict[str, Any]:
    """Write the labels a history's reviews give as a labels file (GeoJSON, :mod:`campwatch.io.labels`),
    each with its pair's dates; returns the document. Written whole or not at all."""
    pairs = review_labels(history, aoi=aoi)
    doc = {"type": "FeatureCollection", "name": f"labels from the reviews in {Path(history).name}",
           "features": [_label_feature(a) for p in pairs for a in p.labels.areas]}
    write_json_atomic(doc, out)
    return doc


@dataclass(frozen=True)
class ReviewedBy:
    """What a review from truth did: how many changes it confirmed, rejected and corrected."""

    confirmed: int
    rejected: int
    corrected: int


def review_from_truth(history: str | Path, truth: str | Path, *, aoi: str | None = None,
                      by: str | None = None, now: dt.datetime | None = None) -> ReviewedBy:
    """Review every unreviewed change of a history as a truth file says (the synthetic sample's
    ``truth.geojson``): an analyst simulated, for demonstrations and benchmarks.

    A change is confirmed when a true event of its class lies at its place and happened within
    its interval; corrected when an event of another class does; rejected otherwise. The
    history is written in one rename, under its lock; reviews already there are kept.

    Raises
    ------
    InputError
        When the history or the truth file cannot be read.
    """
    path = Path(history)
    if not path.exists():
        raise InputError(f"history {path}: not found")
    events = read_truth(truth)
    by = by or f"truth file {Path(truth).name}"
    when = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    counts = {"confirmed": 0, "rejected": 0, "corrected": 0}
    with FileOnlyWhileLocked(str(path) + ".lock"):
        changes, checks = history_layers(path)
        for column in REVIEW_COLUMNS:
            if column not in changes:
                changes[column] = pd.Series([None] * len(changes), dtype=object, index=changes.index)
        table = review_table(changes, path=path)
        for i, row in table.iterrows():
            if row["review"] != "unreviewed" or (aoi is not None and row["aoi"] != aoi):
                continue
            state, cls = _truth_says(row, events)
            changes.at[i, "review"] = state
            changes.at[i, "review_class"] = cls if state == "corrected" else None
            changes.at[i, "reviewed_by"] = by
            changes.at[i, "reviewed_at"] = when
            counts[state] += 1
        write_history(path, gpd.GeoDataFrame(changes, crs="EPSG:4326"), gpd.GeoDataFrame(checks, crs="EPSG:4326"))
    return ReviewedBy(**counts)


def _truth_says(row: Any, events: gpd.GeoDataFrame) -> tuple[str, str | None]:
    geom = row.geometry
    utm = utm_of(geom)
    local = reproject(geom, "EPSG:4326", utm)
    start, end = str(row["interval_from"]), str(row["interval_to"])
    best: str | None = None
    for _, ev in events.iterrows():
        interval = ev.get("interval")
        if isinstance(interval, str):
            interval = json.loads(interval)
        if not isinstance(interval, dict) or not (start <= str(interval.get("from")) and str(interval.get("to")) <= end):
            continue
        if not same_place(local, reproject(ev.geometry, "EPSG:4326", utm)):
            continue
        if ev["class"] == row["class"]:
            return "confirmed", None
        if ev["class"] in CLASSES and best is None:
            best = str(ev["class"])
    return ("corrected", best) if best is not None else ("rejected", None)
