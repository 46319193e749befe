"""Teach campwatch from the analyst's own labels: a pixel change classifier, exported to ONNX with its card.

:func:`teach` trains a gradient-boosted classifier (scikit-learn's
``HistGradientBoostingClassifier``) on campwatch's pixel features of both dates
(:mod:`campwatch.detection.features`) at the pixels an analyst labelled, measures it on a
spatial hold-out of those labels, and :func:`write_model` exports it to ONNX (skl2onnx)
with a card beside it, so that ``campwatch detect --model MODEL.onnx`` runs it as it runs
any model the user brings. Labels and images never leave the machine; nothing is
downloaded.

A pair to teach from is read and co-registered as ``detect`` reads it, and each date is
seen in its own radiometry, as a model is given it (:func:`teach_pair`). Labels come from a
file the analyst draws (:mod:`campwatch.io.labels`) or from the reviews in a history
(:func:`campwatch.monitor.review.review_labels`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import box

from campwatch._version import __version__
from campwatch.config import DetectConfig
from campwatch.detection.analysis import prepare_pair
from campwatch.detection.features import (
    DEFAULT_FEATURE_SET,
    FEATURE_HALO_PX,
    feature_count,
    pixel_features,
    tile_windows,
)
from campwatch.detection.model import MODEL_OUTPUTS, ModelCard, scaled_bands
from campwatch.errors import InputError, OutputError
from campwatch.io.aoi import AOI
from campwatch.io.geometry import to_wgs84
from campwatch.io.jsonio import as_umask
from campwatch.io.labels import Labels, read_labels
from campwatch.io.output import check_writable
from campwatch.io.pair import PairRequest, pair_info, read_pair
from campwatch.io.recorded import publish_paths
from campwatch.io.scene import Scene
from campwatch.monitor.history import scene_digest
from campwatch.monitor.review import review_labels
from campwatch.monitor.series import series_scenes
from campwatch.monitor.store import history_layers
from campwatch.progress import start

__all__ = ["TeachOptions", "TeachPair", "TaughtModel", "teach", "teach_pair", "teach_pair_from_files",
           "write_model", "TEACH_LICENCE", "TeachError", "teach_pairs_from_history", "validation_text", "onnx_bytes"]

logger = logging.getLogger(__name__)

#: The licence of every taught model: the analyst's labels and images are theirs.
TEACH_LICENCE = "taught from the user's own labels"
#: The kinds of change a taught model sees, by what it covers.
_KINDS = {"buildings": ("structure",), "all": None}


class TeachError(InputError):
    """Labels or pairs that cannot teach a model (exit 2)."""


@dataclass(frozen=True)
class TeachOptions:
    """How a model is taught.

    Attributes
    ----------
    covers : {"buildings", "all"}
        What the model sees: building change (structure labels; other kinds of change are
        left out) or change of any kind.
    feature_set : str
        The versioned feature set (:data:`campwatch.detection.features.FEATURE_SETS`).
    max_rows : int
        The most labelled pixels taught from, sampled evenly over every pair's labels
        (change pixels at least a quarter of them while there are that many).
    max_iter, learning_rate, max_leaf_nodes, l2_regularization :
        The classifier's boosting rounds, step, tree size and regularisation.
    holdout : float
        The share of the labels' 128 px blocks (``block_px``) held out to measure the model.
    seed : int
        Seeds the sampling, the hold-out and the classifier: the same labels teach the same model.
    tile_px : int
        Inference tiles (each computed with the features' halo, so that tiles join exactly).
    """

    covers: str = "buildings"
    feature_set: str = DEFAULT_FEATURE_SET
    max_rows: int = 250_000
    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    l2_regularization: float = 1.0
    holdout: float = 0.25
    block_px: int = 128
    seed: int = 0
    tile_px: int = 512

    def __post_init__(self) -> None:
        if self.covers not in MODEL_OUTPUTS:
            raise TeachError(f"--covers {self.covers!r} is not valid; expected one of {', '.join(MODEL_OUTPUTS)}")
        if not 0.0 < self.holdout < 1.0:
            raise TeachError(f"holdout={self.holdout!r} is not valid; expected a share between 0 and 1")
        if not 1_000 <= self.max_rows <= 5_000_000:
            raise TeachError(f"max_rows={self.max_rows!r} is not valid; expected 1,000 to 5,000,000")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TeachPair:
    """A pair to teach from: both dates on one grid as a model sees them, and the labels on that grid.

    ``labels`` (M, N) int8: 1 change, 0 no change, -1 not labelled; ``valid`` (M, N) bool:
    the pixels analysed on both dates.
    """

    before: Scene
    after: Scene
    valid: np.ndarray
    labels: np.ndarray
    name: str
    #: What the pair was taught from: each file with its SHA-256.
    inputs: tuple[dict[str, Any], ...] = ()

    @property
    def pixel_size_m(self) -> float:
        return float(np.sqrt(self.before.pixel_area))

    def counts(self) -> dict[str, int]:
        """Labelled pixels analysed on both dates: change and no change."""
        lab = self.labels[self.valid]
        return {"change": int((lab == 1).sum()), "no_change": int((lab == 0).sum())}


@dataclass
class TaughtModel:
    """A taught classifier, its card (a table, as :class:`campwatch.detection.model.ModelCard` reads it)
    and what teaching measured."""

    classifier: Any
    card: dict[str, Any]
    validation: dict[str, Any]
    bands: tuple[str, ...]
    #: Rows of features taught from, and how many were change.
    rows: int = 0
    change_rows: int = 0
    notes: list[str] = field(default_factory=list)


def teach_pair(before: Scene, after: Scene, labels: np.ndarray, *, name: str, config: DetectConfig | None = None,
               inputs: Sequence[dict[str, Any]] = (), aoi: AOI | None = None) -> TeachPair:
    """A pair to teach from, made as ``detect`` makes it for a model: masked, co-registered, each date
    in its own radiometry.

    Raises
    ------
    TeachError
        When ``labels`` is not of the scenes' shape.
    InputError, GridMismatchError
        As :func:`campwatch.detection.analysis.prepare_pair`.
    """
    if labels.shape != before.shape:
        raise TeachError(f"pair {name}: labels of {labels.shape} px for images of {before.shape}; they must match")
    prep = prepare_pair(before, after, aoi=aoi, coregistration=(config or DetectConfig()).coregistration,
                        radiometry=(config or DetectConfig()).radiometry, notes=(), mask=None, shift=None,
                        measure_residual=False)
    aligned = prep.after_aligned if prep.after_aligned is not None else prep.after
    return TeachPair(before=prep.before, after=aligned, valid=prep.analysed, labels=labels.astype("int8"),
                     name=name, inputs=tuple(inputs))


def teach_pair_from_files(before: str | Path, after: str | Path, labels: str | Path | Labels, *,
                          aoi: AOI | None = None, config: DetectConfig | None = None, covers: str = "buildings",
                          ) -> TeachPair:
    """A pair to teach from, read from its two images and the analyst's labels file.

    Only the labels of this pair (by their dates, or without dates) are used; a change
    outline of a kind the model does not cover is left out.

    Raises
    ------
    TeachError
        When a label lies outside the pair's images, or the pair holds no label.
    SceneError, GridMismatchError, InputError, LabelError
        For unusable images or labels, naming the file.
    """
    request = PairRequest(before, after, aoi=aoi)
    info = pair_info(request)
    b, a, _ = read_pair(request, info)
    labs = labels if isinstance(labels, Labels) else read_labels(labels)
    mine = labs.for_pair((b.date, a.date))
    _check_inside(mine, b, f"{Path(before).name} > {Path(after).name}")
    raster = mine.raster(crs=b.crs, transform=b.transform, shape=b.shape, kinds=_KINDS[covers])
    inputs = [{"role": "before", "path": str(Path(before).resolve()), "sha256": scene_digest(info.before)},
              {"role": "after", "path": str(Path(after).resolve()), "sha256": scene_digest(info.after)},
              {"role": "labels", "path": labs.path, "sha256": labs.sha256}]
    return teach_pair(b, a, raster, name=f"{b.date.isoformat()}_{a.date.isoformat()}", config=config,
                      inputs=inputs, aoi=aoi)


def _check_inside(labels: Labels, scene: Scene, pair: str) -> None:
    """Raise TeachError naming the first label that lies wholly outside the scene."""
    rows, cols = scene.shape
    west, north = scene.transform * (0, 0)
    east, south = scene.transform * (cols, rows)
    footprint = to_wgs84(box(min(west, east), min(south, north), max(west, east), max(south, north)), scene.crs)
    for i, area in enumerate(labels.areas):
        if not area.geometry.intersects(footprint):
            c = area.geometry.centroid
            raise TeachError(f"labels file {labels.path}: label {i} ({area.label}, near {c.x:.5f}, {c.y:.5f}) lies "
                             f"outside the pair {pair} (its images cover {', '.join(f'{v:.5f}' for v in footprint.bounds)}"
                             "); give the pair it was drawn on")


def _bands(pairs: Sequence[TeachPair]) -> tuple[str, ...]:
    """The bands every pair holds on both dates, by name, in the first pair's order."""
    def named(p: TeachPair) -> tuple[str, ...]:
        b = [n for n in p.before.band_names if n]
        a = set(n for n in p.after.band_names if n)
        return tuple(n for n in b if n in a)

    first = named(pairs[0])
    if not first:
        raise TeachError(f"pair {pairs[0].name}: its bands have no names both dates share; name them "
                         "(--bands, or the files' colour interpretation)")
    for p in pairs[1:]:
        if named(p) != first:
            raise TeachError(f"pairs of different bands: {pairs[0].name} has {', '.join(first)}, {p.name} has "
                             f"{', '.join(named(p)) or 'none named'}; a model is taught on pairs of the same bands")
    return first


def _sample(pair: TeachPair, rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the pixels taught from and their weights (so that the sample stands for the labels)."""
    lab = np.where(pair.valid, pair.labels, -1).ravel()
    pos, neg = np.flatnonzero(lab == 1), np.flatnonzero(lab == 0)
    total = pos.size + neg.size
    rows = min(rows, total)
    want_pos = min(pos.size, max(int(round(rows * pos.size / total)), rows // 4))
    want_neg = min(neg.size, rows - want_pos)
    take_pos = rng.choice(pos, want_pos, replace=False) if want_pos < pos.size else pos
    take_neg = rng.choice(neg, want_neg, replace=False) if want_neg < neg.size else neg
    idx = np.concatenate([take_pos, take_neg])
    weights = np.concatenate([np.full(take_pos.size, pos.size / max(1, take_pos.size)),
                              np.full(take_neg.size, neg.size / max(1, take_neg.size))])
    order = np.argsort(idx, kind="stable")
    return idx[order], weights[order]


def _rows(pair: TeachPair, card: ModelCard, idx: np.ndarray, options: TeachOptions) -> np.ndarray:
    """Feature rows of the pixels ``idx`` (flat, sorted), computed tile by tile."""
    a, b = scaled_bands(card, pair.before, pair.after, pair.valid)
    n_feat = feature_count(len(card.bands), card.features)
    out = np.empty((idx.size, n_feat), dtype="float32")
    rows_all, cols_all = np.unravel_index(idx, pair.valid.shape)
    for window, inner in tile_windows(pair.valid.shape, options.tile_px, FEATURE_HALO_PX):
        r0, r1 = window[0].start + inner[0].start, window[0].start + inner[0].stop
        c0, c1 = window[1].start + inner[1].start, window[1].start + inner[1].stop
        here = np.flatnonzero((rows_all >= r0) & (rows_all < r1) & (cols_all >= c0) & (cols_all < c1))
        if not here.size:
            continue
        feats = pixel_features(a[(slice(None),) + window], b[(slice(None),) + window], card.features)
        out[here] = feats[:, rows_all[here] - window[0].start, cols_all[here] - window[1].start].T
    return out


def _held_out_blocks(blocks: np.ndarray, change: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Which rows fall in held-out blocks: ``share`` of the blocks that hold change and of those that do not,
    drawn apart, so that a few changed blocks are held out too (one at least, of two or more)."""
    unique, inverse = np.unique(blocks, return_inverse=True)
    has_change = np.zeros(unique.size, dtype=bool)
    has_change[inverse[change]] = True
    held = np.zeros(unique.size, dtype=bool)
    for group in (np.flatnonzero(has_change), np.flatnonzero(~has_change)):
        if group.size < 2:
            continue
        n = min(group.size - 1, max(1, int(round(share * group.size))))
        held[rng.choice(group, n, replace=False)] = True
    return held[inverse]


def _f1_at(p: np.ndarray, y: np.ndarray, w: np.ndarray, threshold: float) -> tuple[float, float, float]:
    hit = p > threshold
    tp = float(w[hit & y].sum())
    fp = float(w[hit & ~y].sum())
    fn = float(w[~hit & y].sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def _classifier(options: TeachOptions) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=options.max_iter, learning_rate=options.learning_rate,
                                          max_leaf_nodes=options.max_leaf_nodes,
                                          l2_regularization=options.l2_regularization, early_stopping=False,
                                          random_state=options.seed)


def teach(pairs: Sequence[TeachPair], *, options: TeachOptions | None = None, name: str = "taught model",
          ) -> TaughtModel:
    """Teach a pixel change classifier from labelled pairs.

    The labelled pixels of every pair are sampled (:attr:`TeachOptions.max_rows` in all,
    shared by the pairs' labelled areas), their features computed, and a classifier fitted
    on all but a spatial hold-out: :attr:`TeachOptions.holdout` of each pair's 128 px blocks.
    The threshold that gives the best F1 on the hold-out is the model's; the scores there are
    its validation. Then the classifier is fitted again on every sampled pixel.

    Raises
    ------
    TeachError
        When there are no pairs, no change labels or no "no change" labels, or pairs of
        different bands.

    Notes
    -----
    Memory: both dates of one pair in float32, the features of one tile (about 80 MB), and
    ``max_rows`` rows of features (48 MB at three bands).
    """
    options = options or TeachOptions()
    if not pairs:
        raise TeachError("nothing to teach from: give at least one pair with its labels")
    counts = [p.counts() for p in pairs]
    change, no_change = sum(c["change"] for c in counts), sum(c["no_change"] for c in counts)
    if change == 0:
        raise TeachError("the labels hold no change on the pairs' valid pixels: outline at least one change "
                         "(label = \"change\"" + (", class = \"structure\"" if options.covers == "buildings" else "")
                         + ")")
    if no_change == 0:
        raise TeachError("the labels hold no \"no change\" area on the pairs' valid pixels: outline some "
                         "(label = \"no change\") or a taught area (role = \"taught area\")")
    bands = _bands(pairs)
    sizes = [p.pixel_size_m for p in pairs]
    card = ModelCard(name=name, licence=TEACH_LICENCE, source=f"campwatch {__version__} teach", bands=bands,
                     inputs=("features", ""), output="probabilities", covers=options.covers,
                     mean=(0.0,) * len(bands), std=(1.0,) * len(bands), tile_multiple=1,
                     pixel_size_m=(min(sizes), max(sizes)), tile_px=options.tile_px, overlap_px=0,
                     features=options.feature_set)
    rng = np.random.default_rng(options.seed)
    labelled = [c["change"] + c["no_change"] for c in counts]
    task = start("pair", len(pairs), "computing the features of the labelled pixels")
    xs, ys, ws, holds, records = [], [], [], [], []
    for pair, n_lab, c in zip(pairs, labelled, counts):
        budget = max(1, int(round(options.max_rows * n_lab / sum(labelled))))
        idx, weights = _sample(pair, budget, rng)
        x = _rows(pair, card, idx, options)
        y = pair.labels.ravel()[idx] == 1
        r, col = np.unravel_index(idx, pair.valid.shape)
        blocks = (r // options.block_px) * (pair.valid.shape[1] // options.block_px + 1) + col // options.block_px
        held = _held_out_blocks(blocks, y, options.holdout, rng)
        xs.append(x)
        ys.append(y)
        ws.append(weights)
        holds.append(held)
        records.append({"name": pair.name, "inputs": list(pair.inputs), "pixel_size_m": round(pair.pixel_size_m, 4),
                        "shape_px": list(pair.valid.shape), "labelled_px": c, "rows": int(idx.size),
                        "change_rows": int(y.sum())})
        task.advance(f"{pair.name}: {idx.size:,} labelled pixels ({int(y.sum()):,} change)")
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    w_all = np.concatenate(ws)
    w_all = w_all / w_all.mean()
    hold = np.concatenate(holds)
    notes: list[str] = []
    validation: dict[str, Any] = {"method": f"spatial hold-out: {options.holdout:.0%} of the labels' "
                                            f"{options.block_px} px blocks, drawn with seed {options.seed}"}
    threshold = 0.5
    fit_rows = ~hold
    if y_all[hold].any() and (~y_all[hold]).any() and y_all[fit_rows].any() and (~y_all[fit_rows]).any():
        held_out = _classifier(options)
        held_out.fit(x_all[fit_rows], y_all[fit_rows], sample_weight=w_all[fit_rows])
        p = held_out.predict_proba(x_all[hold])[:, 1]
        grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
        scored = [(_f1_at(p, y_all[hold], w_all[hold], float(t)), float(t)) for t in grid]
        (precision, recall, f1), threshold = max(scored, key=lambda s: (s[0][2], -abs(s[1] - 0.5)))
        validation |= {"rows": int(hold.sum()), "change_rows": int(y_all[hold].sum()), "threshold": threshold,
                       "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    else:
        notes.append("the hold-out holds no change or no 'no change' labels (too few labelled blocks): the model "
                     "is not validated and keeps the threshold 0.5")
        validation |= {"rows": int(hold.sum()), "f1": None}
    final = _classifier(options)
    final.fit(x_all, y_all, sample_weight=w_all)
    import sklearn

    card_dict = card.to_dict()
    card_dict["threshold"] = float(threshold)
    card_dict["training"] = {"campwatch": __version__, "scikit-learn": sklearn.__version__,
                             "classifier": "HistGradientBoostingClassifier", "options": options.to_dict(),
                             "pairs": records, "rows": int(y_all.size), "change_rows": int(y_all.sum()),
                             "validation": validation}
    card_dict["notes"] = (f"A pixel classifier taught by campwatch teach from {len(pairs)} pair(s) of the user's "
                          f"own labels ({int(y_all.sum()):,} change and {int((~y_all).sum()):,} no-change pixels "
                          f"sampled); sees change of {options.covers}.")
    for note in notes:
        logger.warning(note)
    return TaughtModel(classifier=final, card=card_dict, validation=validation, bands=bands, rows=int(y_all.size),
                       change_rows=int(y_all.sum()), notes=notes)


def onnx_bytes(taught: TaughtModel) -> bytes:
    """The taught classifier as an ONNX graph: one (N, F) float input ``features``, (N, 2) ``probabilities``;
    its card (without its own file's SHA-256) in the metadata under ``campwatch_card``."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    n = feature_count(len(taught.bands), taught.card["features"])
    onx = convert_sklearn(taught.classifier, initial_types=[("features", FloatTensorType([None, n]))],
                          options={id(taught.classifier): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    outputs = [o.name for o in onx.graph.output]
    if "probabilities" not in outputs:
        raise RuntimeError(f"skl2onnx gave outputs {outputs}; expected 'probabilities'")
    entry = onx.metadata_props.add()
    entry.key, entry.value = "campwatch_card", json.dumps(taught.card, sort_keys=True)
    onx.producer_name, onx.producer_version = "campwatch teach", __version__
    onx.graph.name = "campwatch_taught_pixel_classifier"  # skl2onnx names it by a random UUID: the same labels, the same bytes
    return bytes(onx.SerializeToString())


def write_model(taught: TaughtModel, path: str | Path) -> tuple[Path, Path]:
    """Write the taught model to ``path`` (``.onnx``) and its card beside it (``.json``).

    The card names the model file and its SHA-256, so that a card left beside another file is
    refused when loaded. Each file is written to a temporary name and renamed into place:
    nothing half-written is ever at either name.

    Raises
    ------
    OutputError
        When the folder cannot be written, or the name does not end in ``.onnx``.
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise OutputError(f"--out {path}: a model's file name ends in .onnx")
    check_writable(path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The card (beside the model and in it) records its pairs' files relative to the model's folder.
    taught = dataclasses.replace(taught, card=publish_paths(taught.card, path.resolve().parent))
    data = onnx_bytes(taught)
    card = dict(taught.card) | {"file": path.name}
    card["training"] = dict(card["training"]) | {"model_sha256": hashlib.sha256(data).hexdigest()}
    card_path = path.with_suffix(".json")
    staged: list[tuple[Path, Path]] = []
    try:
        for target, content in ((path, data), (card_path, (json.dumps(card, indent=1, sort_keys=True) + "\n").encode())):
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            as_umask(tmp)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            staged.append((Path(tmp), target))
        for tmp_path, target in staged:
            os.replace(tmp_path, target)
    except OSError as exc:
        for tmp_path, _ in staged:
            tmp_path.unlink(missing_ok=True)
        raise OutputError(f"model {path}: cannot be written ({exc})") from exc
    return path, card_path


def validation_text(validation: dict[str, Any]) -> str:
    """The hold-out score in words."""
    if validation.get("f1") is None:
        return "not validated (too few labelled blocks to hold some out)"
    return (f"F1 {validation['f1']:.2f} (precision {validation['precision']:.2f}, recall {validation['recall']:.2f}) "
            f"on a spatial hold-out of {validation['rows']:,} labelled pixels, at threshold {validation['threshold']:g}")


def teach_pairs_from_history(history: str | Path, images_dir: str | Path, *, aoi: str | None = None,
                             config: DetectConfig | None = None, covers: str = "buildings") -> list[TeachPair]:
    """The pairs a history's reviews teach (:func:`campwatch.monitor.review.review_labels`), read from the
    AOI's images in ``images_dir`` over the AOI's outline that the history's checks recorded.

    Raises
    ------
    InputError
        When nothing in the history is reviewed, or an image a review refers to is not in
        ``images_dir`` (naming it).
    """
    by_name = {info.path.name: info for info in series_scenes(images_dir)}
    _, checks = history_layers(history)
    outlines = {str(r["aoi"]): r.geometry for _, r in checks.iterrows() if r.geometry is not None}
    pairs = []
    for labels in review_labels(history, aoi=aoi):
        missing = [n for n in (labels.before_image, labels.after_image) if n not in by_name]
        if missing:
            raise InputError(f"{images_dir}: has no image {', '.join(missing)}, which the reviewed changes of "
                             f"{labels.aoi} ({labels.dates[0]} to {labels.dates[1]}) were found in; give the AOI's "
                             "images folder")
        outline = outlines.get(labels.aoi)
        area = AOI(name=labels.aoi, geometry=outline) if outline is not None else None
        pairs.append(teach_pair_from_files(by_name[labels.before_image].path, by_name[labels.after_image].path,
                                           labels.labels, aoi=area, config=config, covers=covers))
    return pairs
