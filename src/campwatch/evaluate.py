"""Score campwatch against truth: a sample's truth GeoJSON (objects), or a change-detection dataset (pixels).

Two forms:

- object scores: a report's changes matched to the truth events of its interval by
  overlap, per class (:func:`score_report`);
- dataset scores: every pair of a folder in the ``A/``, ``B/``, ``label/`` layout of public
  change-detection datasets (LEVIR-CD, WHU-CD, DSIFN-CD) run through detection, pixel
  precision, recall, F1 and IoU pooled and per pair, and object recall
  (:func:`evaluate_dataset`).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from skimage.measure import label as label_objects

from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.detection.analysis import PAIR_WORK, analyse_scenes
from campwatch.detection.model import load_model, resolve_model
from campwatch.document import JSONTable, PairReport, SeriesReport
from campwatch.errors import InputError
from campwatch.io.bands import band_names_of
from campwatch.io.jsonio import read_report
from campwatch.io.scene import Scene, check_local
from campwatch.io.sources import check_local_vector
from campwatch.progress import staged, start

__all__ = [
    "ClassScore",
    "PixelScore",
    "DatasetScore",
    "STRUCTURE_CLASSES",
    "CLASS_SETS",
    "parse_classes",
    "evaluate_dataset",
    "match_objects",
    "read_pair_scene",
    "read_truth",
    "score_report",
    "score_series",
    "score_features",
]

#: The classes that say a building appeared, went or changed.
STRUCTURE_CLASSES = tuple(name for name, c in CLASSES.items() if c.kind == "structure")

#: Named sets of classes for ``--classes``.
CLASS_SETS = {"structure": STRUCTURE_CLASSES, "all": tuple(CLASSES)}


def parse_classes(text: str) -> tuple[str, ...]:
    """The classes ``--classes`` names: ``"structure"``, ``"all"``, or a comma-separated list of class names.

    Raises
    ------
    InputError
        Naming the unknown classes and the valid ones.
    """
    classes = CLASS_SETS.get(text) or tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes:
        raise InputError(f"--classes: unknown class(es) {', '.join(unknown) or repr(text)}; valid ones are "
                         f"'structure', 'all' or names among {', '.join(CLASSES)}")
    return classes
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
# A local metric CRS for images without georeferencing: distances and areas stay right.
_LOCAL_CRS = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=0 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")


@dataclass(frozen=True)
class ClassScore:
    """Counts and scores of one class: objects, or metres of line for fence classes."""

    change_class: str
    true_positives: float
    false_positives: float
    false_negatives: float
    unit: str = "objects"

    @property
    def precision(self) -> float:
        """NaN when nothing was reported."""
        n = self.true_positives + self.false_positives
        return self.true_positives / n if n else float("nan")

    @property
    def recall(self) -> float:
        """NaN when the truth has no object of the class."""
        n = self.true_positives + self.false_negatives
        return self.true_positives / n if n else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.true_positives + self.false_positives + self.false_negatives
        return 2 * self.true_positives / d if d else float("nan")

    def to_dict(self) -> dict[str, Any]:
        def r(v: float) -> float | None:
            return None if np.isnan(v) else round(v, 4)

        return {
            "class": self.change_class, "unit": self.unit, "tp": self.true_positives, "fp": self.false_positives,
            "fn": self.false_negatives, "precision": r(self.precision), "recall": r(self.recall), "f1": r(self.f1),
        }


def read_truth(
    path: str | Path, *, interval: tuple[str, str] | None = None, max_hidden: float = 0.5,
    only_hidden: bool = False,
) -> gpd.GeoDataFrame:
    """Read a truth GeoJSON (as the sample generator writes it).

    With ``interval`` (from, to): only that interval's events, less those of which more
    than ``max_hidden`` lies in what hides the ground (``obscured`` features) on either of
    the two dates: no method can see them in that pair. With ``only_hidden=True``, only those.
    """
    check_local_vector(path, what="truth file")  # a URL or an OGR VRT would reach the network
    if not Path(path).is_file():
        raise InputError(f"truth file {path}: not found")
    truth = gpd.read_file(path)
    if not len(truth):
        return gpd.GeoDataFrame({"class": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    if "class" not in truth:
        raise InputError(f"truth file {path}: features need a 'class' property")
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
        events = events[[(f > max_hidden) == only_hidden for f in frac]]
    elif only_hidden:
        events = events.iloc[0:0]
    return events


def match_objects(
    detected: gpd.GeoDataFrame,
    truth: gpd.GeoDataFrame,
    classes: Iterable[str],
    *,
    min_overlap: float = 0.5,
    line_tolerance: float = 2.0,
) -> dict[str, ClassScore]:
    """Match detected to true objects of each class by overlap.

    A detection and a true object of the same class match when their intersection covers
    at least ``min_overlap`` of the smaller of the two; each is matched at most once,
    largest overlaps first. Line classes (fences) are scored by length instead: the
    length of each side within ``line_tolerance`` metres of the other. Both frames must be
    in one projected CRS.
    """
    scores = {}
    for cls in classes:
        det = detected[detected["class"] == cls].reset_index(drop=True)
        tru = truth[truth["class"] == cls].reset_index(drop=True)
        if CLASSES[cls].linear:
            d = det.geometry.union_all() if len(det) else None
            t = tru.geometry.union_all() if len(tru) else None
            d_len = d.length if d is not None else 0.0
            t_len = t.length if t is not None else 0.0
            d_hit = d.intersection(t.buffer(line_tolerance)).length if d is not None and t is not None else 0.0
            t_hit = t.intersection(d.buffer(line_tolerance)).length if d is not None and t is not None else 0.0
            scores[cls] = ClassScore(cls, round(t_hit, 1), round(d_len - d_hit, 1), round(t_len - t_hit, 1), unit="m")
            continue
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
    """Score one report against the truth events of its interval; a series report
    (``series.geojson``) is scored as :func:`score_series` does, each pair on its interval.

    Raises
    ------
    InputError
        If ``report_path`` is not a campwatch pair or series report.
    """
    report = read_report(report_path, PairReport, SeriesReport)
    if isinstance(report, SeriesReport):
        return _score_series(report, truth_path, classes)
    assert isinstance(report, PairReport)
    return score_features([f.to_geojson() for f in report.features], report.interval, truth_path, classes)


def score_series(series_path: str | Path, truth_path: str | Path, classes: Iterable[str]) -> dict[str, ClassScore]:
    """Score a series report: each change must carry the interval of its true event.

    A change dated to the wrong interval counts as a false positive there and a miss
    where it belonged. Scores are summed over the compared pairs.
    """
    report = read_report(series_path, SeriesReport)
    assert isinstance(report, SeriesReport)
    return _score_series(report, truth_path, classes)


def _score_series(report: SeriesReport, truth_path: str | Path, classes: Iterable[str]) -> dict[str, ClassScore]:
    classes = tuple(classes)
    total = {c: ClassScore(c, 0, 0, 0, unit="m" if CLASSES[c].linear else "objects") for c in classes}
    for pair in report.pairs:
        interval = pair.interval
        feats = [f.to_geojson() for f in report.features if f.interval == interval]
        for c, sc in score_features(feats, interval, truth_path, classes).items():
            t = total[c]
            total[c] = ClassScore(c, round(t.true_positives + sc.true_positives, 1),
                                  round(t.false_positives + sc.false_positives, 1),
                                  round(t.false_negatives + sc.false_negatives, 1), unit=t.unit)
    return total


def score_features(
    features: list[JSONTable], interval: tuple[str, str], truth_path: str | Path, classes: Iterable[str]
) -> dict[str, ClassScore]:
    """Score GeoJSON change features (WGS84) against the truth events of ``interval``."""
    det = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326") if features else None
    if det is None or len(det) == 0:
        det = gpd.GeoDataFrame({"class": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    truth = read_truth(truth_path, interval=interval)
    unseen = read_truth(truth_path, interval=interval, only_hidden=True)
    crs = truth.estimate_utm_crs() if len(truth) else det.estimate_utm_crs() if len(det) else "EPSG:3857"
    det = det.to_crs(crs)
    if len(unseen) and len(det):
        # A report of an event the truth deems hidden (mostly under cloud or nodata)
        # is neither right nor wrong: leave it out.
        unseen = unseen.to_crs(crs)
        drop = [any(d.intersects(u.geometry) and c == u["class"] for _, u in unseen.iterrows())
                for d, c in zip(det.geometry, det["class"], strict=True)]
        det = det[[not x for x in drop]]
    return match_objects(det, truth.to_crs(crs), classes)


@dataclass(frozen=True)
class PixelScore:
    """Pixel counts of predicted against labelled change."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else float("nan")

    @property
    def iou(self) -> float:
        d = self.tp + self.fp + self.fn
        return self.tp / d if d else float("nan")

    def __add__(self, other: PixelScore) -> PixelScore:
        return PixelScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    def to_dict(self) -> dict[str, Any]:
        def r(v: float) -> float | None:
            return None if np.isnan(v) else round(v, 4)

        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "precision": r(self.precision),
                "recall": r(self.recall), "f1": r(self.f1), "iou": r(self.iou)}


@dataclass(frozen=True)
class DatasetScore:
    """Scores of a dataset folder: pooled, per pair, and object recall."""

    folder: str
    classes: tuple[str, ...]
    pooled: PixelScore
    pairs: dict[str, PixelScore]
    objects_found: int
    objects_total: int
    pair_notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def object_recall(self) -> float:
        return self.objects_found / self.objects_total if self.objects_total else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "classes": list(self.classes),
            "pooled": self.pooled.to_dict(),
            "object_recall": None if np.isnan(self.object_recall) else round(self.object_recall, 4),
            "objects": {"found": self.objects_found, "total": self.objects_total},
            "pairs": {k: v.to_dict() for k, v in self.pairs.items()},
            "warnings": self.pair_notes,
        }


def pixel_score(predicted: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> PixelScore:
    """Confusion counts of two boolean masks (over ``valid`` pixels only)."""
    if valid is None:
        valid = np.ones(truth.shape, dtype=bool)
    p, t = predicted & valid, truth & valid
    tp = int((p & t).sum())
    fp = int((p & ~t).sum())
    fn = int((~p & t).sum())
    return PixelScore(tp, fp, fn, int(valid.sum()) - tp - fp - fn)


def read_pair_scene(path: str | Path, *, pixel_size: float, date: dt.date) -> Scene:
    """Read an image of a dataset pair, georeferenced or not, as a Scene.

    Without georeferencing the image gets a local metric grid of ``pixel_size`` metres.
    Bands are named from the file (PNG and JPEG: red, green, blue).

    Raises
    ------
    InputError
        If the file cannot be read as an image.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            check_local(path)
            with rasterio.open(path) as ds:
                data = ds.read(out_dtype="float32")
                mask = ds.read_masks()
                names = band_names_of(ds)
                georef = ds.crs is not None and not ds.transform.is_identity
                transform = ds.transform if georef else Affine(pixel_size, 0, 0, 0, -pixel_size, 0)
                crs = ds.crs if georef else _LOCAL_CRS
                dtype = ds.dtypes[0]
                alpha = data.shape[0] == 4 and ds.colorinterp[3].name == "alpha"
    except RasterioIOError as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from exc
    if alpha:
        data = data[:3]
        names = names[:3]
    valid = np.all(mask > 0, axis=0)
    return Scene(data=data, valid=valid, transform=transform, crs=crs, date=date, band_names=names,
                 path=path, dtype=dtype)


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in _IMAGE_SUFFIXES:
        for cand in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if cand.exists():
                return cand
    return None


def dataset_pairs(folder: str | Path) -> list[tuple[str, Path, Path, Path]]:
    """The (name, A, B, label) files of a dataset folder in the A/, B/, label/ layout.

    Raises
    ------
    InputError
        If the layout is missing, or an image has no partner or label.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a dataset folder (A/, B/, label/) nor, with --truth, a report")
    dirs = {k: root / k for k in ("A", "B", "label")}
    missing = [k for k, d in dirs.items() if not d.is_dir()]
    if missing:
        raise InputError(
            f"dataset folder {root}: missing sub-folder(s) {', '.join(missing)}; expected A/ (before), "
            "B/ (after) and label/ (change labels) with the same file names"
        )
    pairs = []
    for a in sorted(p for p in dirs["A"].iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES):
        b, lab = _find(dirs["B"], a.stem), _find(dirs["label"], a.stem)
        if b is None or lab is None:
            raise InputError(f"dataset folder {root}: {a.name} has no {'B image' if b is None else 'label'}")
        pairs.append((a.stem, a, b, lab))
    if not pairs:
        raise InputError(f"dataset folder {root}: no images in A/")
    return pairs


def evaluate_dataset(
    folder: str | Path,
    *,
    classes: Iterable[str] = STRUCTURE_CLASSES,
    pixel_size: float = 0.5,
    config: DetectConfig | None = None,
    min_object_overlap: float = 0.3,
    model: str | Path | None = None,
) -> DatasetScore:
    """Run detection on every pair of a dataset folder and score it against the labels.

    Parameters
    ----------
    folder : str or Path
        ``A/`` (before), ``B/`` (after), ``label/`` (0 no change, > 127 change), one file
        name per pair; PNG, JPEG or GeoTIFF.
    classes : iterable of str
        The reported classes that count as predicted change (default: the structure classes).
    pixel_size : float
        Metres per pixel of images without georeferencing.
    config : DetectConfig, optional
    min_object_overlap : float
        A labelled object (8-connected) counts as found when this share of its pixels is
        predicted.
    model : str or Path, optional
        A change model to run with the classical stages (:class:`~campwatch.io.pair.PairRequest`).

    Returns
    -------
    DatasetScore
    """
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise InputError(f"unknown class(es) {', '.join(unknown)}; valid ones are {', '.join(CLASSES)}")
    if not (isinstance(pixel_size, (int, float)) and math.isfinite(pixel_size) and pixel_size > 0):
        raise InputError(f"--pixel-size={pixel_size} is not valid; expected metres per pixel > 0")
    codes = np.array([CLASSES[c].code for c in classes])
    learned = load_model(resolve_model(model)) if model else None
    pooled = PixelScore(0, 0, 0, 0)
    pairs: dict[str, PixelScore] = {}
    notes: dict[str, list[str]] = {}
    found = total = 0
    pairs_found = dataset_pairs(folder)
    task = start("dataset pair", len(pairs_found), f"scoring {Path(folder).name}")
    for name, a, b, lab in task.each(pairs_found, lambda item: f"scored {item[0]}"):
        # Each pair's stages, as a pair analysed whole reports them (a large dataset pair is not silent).
        pair_task = start("pair stage", sum(PAIR_WORK.values()), f"{name}: reading both dates")
        before = read_pair_scene(a, pixel_size=pixel_size, date=dt.date(2000, 1, 1))
        after = read_pair_scene(b, pixel_size=pixel_size, date=dt.date(2000, 1, 2))
        pair_task.advance("co-registering and matching the dates", by=PAIR_WORK["read"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                check_local(lab)
                with rasterio.open(lab) as ds:
                    truth = ds.read(1) > 127
        except RasterioIOError as exc:
            raise InputError(f"{lab}: not a readable label image ({exc})") from exc
        if truth.shape != before.shape:
            raise InputError(f"{lab}: label is {truth.shape}, image {before.shape}; they must match")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            with staged(pair_task):
                result = analyse_scenes(before, after, config=config, model=learned)
        predicted = np.isin(result.classes, codes)
        valid = result.analysed & ~result.obscured.mask
        score = pixel_score(predicted, truth, valid)
        pairs[name] = score
        pooled = pooled + score
        if result.warnings:
            notes[name] = list(result.warnings)
        objects = label_objects(truth, connectivity=2)
        for i in range(1, int(objects.max()) + 1):
            obj = objects == i
            total += 1
            if predicted[obj].mean() >= min_object_overlap:
                found += 1
    return DatasetScore(str(folder), classes, pooled, pairs, found, total, notes)
