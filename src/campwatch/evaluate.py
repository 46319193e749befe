"""Score detected changes against a truth file: per-class precision, recall and F1 by object overlap."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import pandas as pd

__all__ = ["ClassScore", "match_objects", "score_report", "read_truth"]


@dataclass(frozen=True)
class ClassScore:
    """Object counts and scores of one class."""

    change_class: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        n = self.true_positives + self.false_positives
        return self.true_positives / n if n else 1.0

    @property
    def recall(self) -> float:
        n = self.true_positives + self.false_negatives
        return self.true_positives / n if n else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.change_class, "tp": self.true_positives, "fp": self.false_positives,
            "fn": self.false_negatives, "precision": round(self.precision, 4),
            "recall": round(self.recall, 4), "f1": round(self.f1, 4),
        }


def read_truth(
    path: str | Path, *, interval: tuple[str, str] | None = None, max_hidden: float = 0.5
) -> gpd.GeoDataFrame:
    """Read a truth GeoJSON (as the sample generator writes it).

    With ``interval`` (from, to): only that interval's events, less those of which more
    than ``max_hidden`` lies in what hides the ground (``obscured`` features) on either of
    the two dates: no method can see them in that pair.
    """
    truth = gpd.read_file(path)
    if "class" not in truth:
        raise ValueError(f"truth file {path}: features need a 'class' property")
    events = truth[truth["class"] != "obscured"]
    if interval is None or not len(events):
        return events
    keep = [(i.get("from"), i.get("to")) == interval if isinstance(i, dict) else False for i in events["interval"]]
    events = events[keep]
    dates = truth["date"] if "date" in truth else pd.Series(None, index=truth.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(dates):
        dates = dates.dt.strftime("%Y-%m-%d")
    hidden = truth[(truth["class"] == "obscured") & dates.isin(interval)]
    if len(hidden) and len(events):
        crs = events.estimate_utm_crs()
        ev, hid = events.to_crs(crs), hidden.to_crs(crs).union_all()
        frac = [
            (g.buffer(0.25).intersection(hid).area / g.buffer(0.25).area) for g in ev.geometry
        ]
        events = events[[f <= max_hidden for f in frac]]
    return events


def match_objects(
    detected: gpd.GeoDataFrame,
    truth: gpd.GeoDataFrame,
    classes: Iterable[str],
    *,
    min_overlap: float = 0.5,
) -> dict[str, ClassScore]:
    """Match detected to true objects of each class by overlap.

    A detection and a true object of the same class match when their intersection covers
    at least ``min_overlap`` of the smaller of the two; each is matched at most once,
    largest overlaps first. Both frames must be in one projected CRS.
    """
    scores = {}
    for cls in classes:
        det = detected[detected["class"] == cls].reset_index(drop=True)
        tru = truth[truth["class"] == cls].reset_index(drop=True)
        pairs = []
        for i, d in enumerate(det.geometry):
            for j, t in enumerate(tru.geometry):
                inter = d.intersection(t).area
                if inter > 0:
                    frac = inter / max(1e-9, min(d.area, t.area))
                    if frac >= min_overlap:
                        pairs.append((frac, i, j))
        used_d: set[int] = set()
        used_t: set[int] = set()
        for _, i, j in sorted(pairs, reverse=True):
            if i not in used_d and j not in used_t:
                used_d.add(i)
                used_t.add(j)
        tp = len(used_d)
        scores[cls] = ClassScore(cls, tp, len(det) - tp, len(tru) - tp)
    return scores


def score_report(report_path: str | Path, truth_path: str | Path, classes: Iterable[str]) -> dict[str, ClassScore]:
    """Score one report against the truth events of its interval."""
    import json

    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    interval = (report["interval"]["from"], report["interval"]["to"])
    det = gpd.GeoDataFrame.from_features(report["features"], crs="EPSG:4326")
    if len(det) == 0:
        det = gpd.GeoDataFrame({"class": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    truth = read_truth(truth_path, interval=interval)
    crs = truth.estimate_utm_crs() if len(truth) else det.estimate_utm_crs()
    return match_objects(det.to_crs(crs), truth.to_crs(crs), classes)
