"""A learned change stage: a bitemporal change model the user brings, exported to ONNX and
described by a card, run through onnxruntime on overlapping tiles with blended seams.

campwatch ships no weights. A model is an ``.onnx`` file and its card, a small TOML or JSON
file beside it (``<name>.toml`` or ``<name>.json``) or a JSON string in the ONNX metadata
under ``campwatch_card``. The card says what the model is (name, licence, source), what it
takes (the input bands in order, their scaling and normalisation, the tile multiple, the
pixel sizes it was trained for) and what it gives (a change probability, of buildings or of
all change, and the threshold it was trained for). :func:`load_model` checks the card
against the ONNX graph; :meth:`ChangeModel.probability` runs it on a co-registered,
radiometrically matched pair.

Notes
-----
Memory: the two scenes in the model's bands (float32), one tile pair at a time through the
model, and two float32 accumulators of the scene's size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from campwatch.detection.card import (
    MODEL_OUTPUTS,
    TAUGHT_PIXEL_FACTOR,
    ModelCard,
    ModelError,
    find_card,
    read_card,
)
from campwatch.detection.features import (
    FEATURE_HALO_PX,
    feature_count,
    pixel_features,
    tile_windows,
)
from campwatch.detection.inference import (
    CPU_PROVIDER,
    GPU_PROVIDERS,
    choose_providers,
    run_session,
    session_for,
    set_inference_threads,
)
from campwatch.io.scene import Scene
from campwatch.progress import start

__all__ = ["ModelCard", "ChangeModel", "ModelError", "LearnedChange", "load_model", "scaled_bands", "TAUGHT_PIXEL_FACTOR", "find_card", "read_card",
           "models_folder", "resolve_model", "list_models", "model_member", "MODEL_OUTPUTS", "run_session",
           "set_inference_threads", "choose_providers", "GPU_PROVIDERS", "CPU_PROVIDER"]

#: The largest model file read, so that a hostile file cannot make campwatch spend memory it does not have.
MAX_MODEL_BYTES = 2 * 1024**3
#: Feature rows a pixel classifier takes at once (about 50 MB of features).
_ROWS_PER_RUN = 262_144


@dataclass(frozen=True)
class LearnedChange:
    """What a change model says of a pair: where it sees change, and how sure it is.

    ``mask`` (M, N) bool: probability above the threshold, on usable pixels; ``probability``
    (M, N) float32 (NaN where not analysed); ``covers``: ``"buildings"`` or ``"all"``.
    """

    mask: np.ndarray
    probability: np.ndarray
    covers: str
    name: str
    #: The probability above which a pixel is change.
    threshold: float = 0.5
    #: Whether a region of it is claimed only where campwatch measures change too (a taught model:
    #: taught from a few labels, it is not trusted alone; :data:`campwatch.detection.direction.TAUGHT_BACKING`).
    backed: bool = False


@dataclass
class ChangeModel:
    """A loaded change model: its card, file, SHA-256 and onnxruntime session."""

    path: Path
    card: ModelCard
    sha256: str
    card_path: Path | None
    session: Any = field(repr=False, default=None)
    #: The SHA-256 of the card file (None: the card is in the ONNX metadata).
    card_sha256: str | None = None

    def record(self, *, threshold: float | None = None) -> dict[str, Any]:
        """What a report records of the model: name, licence, source, file, SHA-256, card, threshold, and
        the onnxruntime execution provider it ran on when that is not the CPU's."""
        return {"name": self.card.name, "licence": self.card.licence, "source": self.card.source,
                "file": self.path.name, "path": str(self.path.resolve()), "sha256": self.sha256,
                "card": str(self.card_path.resolve()) if self.card_path else "ONNX metadata",
                "card_sha256": self.card_sha256,
                "threshold": self.card.threshold if threshold is None else threshold, "covers": self.card.covers,
                "card_values": self.card.to_dict(),
                # A report that names no provider ran on the CPU (as every report before providers were chosen).
                **({"provider": self.provider} if self.provider != CPU_PROVIDER else {})}

    @property
    def provider(self) -> str:
        """The onnxruntime execution provider the model runs on (``CPUExecutionProvider``, a GPU's)."""
        providers = self.session.get_providers() if self.session is not None else [CPU_PROVIDER]
        return str(providers[0])

    def provider_notes(self) -> list[str]:
        """A note when onnxruntime offers a GPU's provider but the model runs on the CPU (no usable GPU)."""
        import onnxruntime as ort

        asked = [p for p in choose_providers(ort.get_available_providers()) if p != CPU_PROVIDER]
        if not asked or self.provider != CPU_PROVIDER:
            return []
        return [f"model {self.card.name}: onnxruntime offers {', '.join(asked)} but cannot run the model there "
                "(no usable GPU); it ran on the CPU"]

    def notes_for(self, pixel_size: float) -> list[str]:
        """Warnings for a scene of ``pixel_size`` metres outside the sizes the model was trained for, and
        when it runs on the CPU although onnxruntime offers a GPU (:meth:`provider_notes`)."""
        low, high = self.card.pixel_size_m
        notes = self.provider_notes()
        if low <= pixel_size <= high:
            return notes
        return [f"model {self.card.name}: the images' pixels are {pixel_size:.2f} m, outside the {low:g} to "
                f"{high:g} m it was trained for; what it finds may be off", *notes]

    def change(self, before: Scene, after: Scene, usable: np.ndarray, *, threshold: float | None = None,
               only: np.ndarray | None = None) -> LearnedChange:
        """Where the model sees change between two scenes on one grid (:meth:`probability` over a threshold)."""
        self.check_pixel_size(float(np.sqrt(before.pixel_area)))
        prob = self.probability(before, after, usable, only=only)
        limit = self.card.threshold if threshold is None else threshold
        mask = np.zeros(usable.shape, dtype=bool)
        np.greater(prob, limit, out=mask, where=usable)
        return LearnedChange(mask=mask, probability=prob, covers=self.card.covers, name=self.card.name,
                             threshold=limit, backed=self.card.taught)

    def check_pixel_size(self, pixel_size: float) -> None:
        """Raise :class:`ModelError` when a taught model meets pixels far from those it was taught on.

        A model the user brings only warns (:meth:`notes_for`); a taught model's features are
        measured in pixels, so at more than :data:`TAUGHT_PIXEL_FACTOR` times finer or coarser
        than it was taught on they describe other things than it learnt.
        """
        if not self.card.taught:
            return
        low, high = self.card.pixel_size_m
        if pixel_size < low / TAUGHT_PIXEL_FACTOR or pixel_size > high * TAUGHT_PIXEL_FACTOR:
            raise ModelError(f"model {self.card.name} ({self.path.name}) was taught on pixels of {low:g} to "
                             f"{high:g} m; these images' are {pixel_size:.2f} m, more than {TAUGHT_PIXEL_FACTOR:g} "
                             "times off: teach it on imagery of this pixel size")

    def check_bands(self, before: Sequence[str | None], after: Sequence[str | None]) -> None:
        """Raise :class:`ModelError` unless both dates' bands (their names) hold every band the model takes."""
        missing = [b for b in self.card.bands if b not in before or b not in after]
        if missing:
            raise ModelError(f"model {self.card.name} ({self.path.name}) takes bands {', '.join(self.card.bands)}; "
                             f"the images have {', '.join(n or '-' for n in before)}: no {', '.join(missing)}")

    def prepare(self, before: Scene, after: Scene, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both dates in the model's bands and look (:func:`scaled_bands`).

        Raises
        ------
        ModelError
            When a scene lacks a band the model takes.
        """
        self.check_bands(before.band_names, after.band_names)
        return scaled_bands(self.card, before, after, valid)

    def probability(self, before: Scene, after: Scene, valid: np.ndarray, *, only: np.ndarray | None = None
                    ) -> np.ndarray:
        """The model's change probability at every pixel of two scenes on one grid; NaN where not valid.

        The scenes are cut into tiles of ``card.tile_px`` overlapping by ``card.overlap_px``,
        each padded (by reflection) to the card's tile multiple; tiles are blended with
        weights that fall towards their edges, so that the result does not show the seams.
        A pixel classifier (a taught model) classifies only the valid pixels in ``only`` when
        it is given (NaN elsewhere); the scaling is that of every valid pixel either way.
        A model of images is run on both orders of the dates and the higher answer kept, so
        that a pair swapped sees the same change: it costs two runs of the model. (A taught
        model classifies the pair in its order, as it was taught.)
        """
        a, b = self.prepare(before, after, valid)
        if self.card.taught:
            return self._classify_pixels(a, b, valid if only is None else valid & only)
        # Both orders of the dates, the higher: a model may answer "a building appeared" more
        # readily than "one disappeared" (LEVIR-CD is mostly building; their mean lost a tenth of
        # its F1 there), and a pair swapped must find the same change the other way round.
        card = self.card
        step = max(1, card.tile_px - card.overlap_px)
        n_tiles = len(_starts(a.shape[1], card.tile_px, step)) * len(_starts(a.shape[2], card.tile_px, step))
        tiles = start("model tile", 2 * n_tiles, f"{card.name}: the dates in order")

        def counted(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            p = self._run(x, y)
            tiles.advance()
            return p

        prob = run_tiled(counted, a, b, tile=card.tile_px, overlap=card.overlap_px, multiple=card.tile_multiple)
        tiles.advance(f"{card.name}: the dates swapped", by=0)
        np.maximum(prob, run_tiled(counted, b, a, tile=card.tile_px, overlap=card.overlap_px,
                                   multiple=card.tile_multiple), out=prob)
        prob[~valid] = np.nan
        return prob

    def _classify_pixels(self, a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """A pixel classifier's probability of change: campwatch's features of each tile (with the halo
        they reach, so that tiles join without seams), the valid pixels' rows through the graph."""
        prob = np.full(valid.shape, np.nan, dtype="float32")
        windows = [(w, i) for w, i in tile_windows(valid.shape, self.card.tile_px, FEATURE_HALO_PX)
                   if valid[w][i].any()]
        for window, inner in start("model tile", len(windows), f"{self.card.name}: classifying pixels").each(
                windows, lambda _: f"{self.card.name}: classifying pixels"):
            keep = valid[window][inner]
            feats = pixel_features(a[(slice(None),) + window], b[(slice(None),) + window], self.card.features)
            rows = np.ascontiguousarray(feats[(slice(None),) + inner][:, keep].T)
            del feats
            out = prob[window][inner]
            out[keep] = self.classify_rows(rows)
        return prob

    def classify_rows(self, rows: np.ndarray) -> np.ndarray:
        """A pixel classifier's probability of change for (N, F) float32 feature rows, in batches."""
        card = self.card
        out = np.empty(rows.shape[0], dtype="float32")
        for first in range(0, rows.shape[0], _ROWS_PER_RUN):
            chunk = rows[first:first + _ROWS_PER_RUN]
            (p,) = run_session(self.session, [card.output], {card.inputs[0]: chunk})
            out[first:first + chunk.shape[0]] = np.asarray(p, dtype="float32")[:, 1]
        return out

    def _run(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        card = self.card
        try:
            (p,) = run_session(self.session, [card.output], {card.inputs[0]: a[None], card.inputs[1]: b[None]})
        except MemoryError:
            raise
        except Exception as exc:  # onnxruntime's own kinds (InvalidArgument, Fail, ...) of a graph that cannot run
            shapes = [tuple(i.shape) for i in self.session.get_inputs()]
            raise ModelError(f"model {card.name} ({self.path.name}): onnxruntime cannot run it on a tile of "
                             f"{a.shape[1]} x {a.shape[2]} px (its inputs are {shapes}): {str(exc)[:300]}; a model "
                             "with a fixed input size needs tile_px of that size in its card") from None
        out = np.asarray(p, dtype="float32")
        if out.size != a.shape[1] * a.shape[2]:
            raise ModelError(f"model {card.name} ({self.path.name}): gave {out.size:,} values ({tuple(out.shape)}) "
                             f"for a tile of {a.shape[1]} x {a.shape[2]} px; its output must be (1, 1, H, W)")
        return check_probability(out.reshape(a.shape[1:]), f"model {card.name} ({self.path.name})")

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["session"] = None  # a worker process opens its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:  # in a worker: its own session, its threads
        self.__dict__.update(state)
        self.session = session_for(self.path)


def check_probability(p: np.ndarray, source: str) -> np.ndarray:
    """``p`` when it holds probabilities (finite, in [0, 1]); a model's output is not trusted whatever it says.

    Raises
    ------
    ModelError
        Naming the model and the values that are no probability.
    """
    bad = ~np.isfinite(p)
    if bad.any():
        raise ModelError(f"{source}: gave {int(bad.sum()):,} values that are not numbers (NaN or infinite); a "
                         "change probability is a number from 0 to 1")
    low, high = float(p.min()), float(p.max())
    if low < -PROBABILITY_TOLERANCE or high > 1 + PROBABILITY_TOLERANCE:
        raise ModelError(f"{source}: gave values from {low:g} to {high:g}, not a probability (0 to 1); check that "
                         "its output is one (a sigmoid or softmax), and its card's output name")
    return p


#: How far outside [0, 1] a model's float32 probability may stray by rounding.
PROBABILITY_TOLERANCE = 1e-4

#: A model that sees change on more than this share of the usable pixels, where the pixels changed on
#: less than half as many, is not an answer campwatch can back (:meth:`ChangeModel.change`).
CHANGE_EVERYWHERE = 0.9


def scaled_bands(card: ModelCard, before: Scene, after: Scene, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both dates in a card's bands and look: scaled to 0..1, then normalised.

    8-bit images are divided by 255; others are stretched between the card's
    percentiles of both dates' valid pixels together (one stretch for both, so that a
    change of brightness stays a change). Invalid pixels hold 0 (the mean). Both scenes
    must hold every band of the card (:meth:`ChangeModel.check_bands`).
    """
    stack = [np.stack([s.data[s.band_names.index(b)] for b in card.bands]) for s in (before, after)]
    if before.dtype == "uint8" and after.dtype == "uint8":
        low, high = np.zeros(len(card.bands), "float32"), np.full(len(card.bands), 255.0, "float32")
    else:
        # The stretch from an even sample of at most a million pixels a date: enough for
        # two percentiles, and memory that does not grow with the scene.
        where = np.flatnonzero(valid)
        where = where[:: max(1, where.size // 1_000_000)]
        both = np.concatenate([x.reshape(x.shape[0], -1)[:, where] for x in stack], axis=1)
        if both.size == 0:
            low, high = np.zeros(len(card.bands), "float32"), np.ones(len(card.bands), "float32")
        else:
            low, high = (np.percentile(both, card.stretch_percentiles, axis=1).astype("float32"))
    span = np.maximum(high - low, 1e-6)
    mean = np.asarray(card.mean, "float32")[:, None, None]
    std = np.asarray(card.std, "float32")[:, None, None]
    out = []
    for x in stack:
        unit = np.clip((x - low[:, None, None]) / span[:, None, None], 0.0, 1.0)
        norm = ((unit - mean) / std).astype("float32")
        norm[:, ~valid] = 0.0
        out.append(norm)
    return out[0], out[1]


def _ramp(n: int, overlap: int, lead: bool, trail: bool) -> np.ndarray:
    """Weights along one side of a tile: rising over the overlap where a neighbour shares it."""
    w = np.ones(n, "float32")
    if overlap > 0:
        r = (np.arange(overlap, dtype="float32") + 0.5) / overlap
        if lead:
            w[:overlap] = np.minimum(w[:overlap], r)
        if trail:
            w[-overlap:] = np.minimum(w[-overlap:], r[::-1])
    return w


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step)) + [size - tile]
    return sorted(set(starts))


def run_tiled(run: Any, a: np.ndarray, b: np.ndarray, *, tile: int, overlap: int, multiple: int) -> np.ndarray:
    """Apply ``run(a_tile, b_tile) -> (H, W)`` over two (C, M, N) arrays on overlapping tiles, blended.

    Each tile is padded by reflection to a multiple of ``multiple`` (at least ``multiple``)
    and the padding cut off again. A pixel's value is the weighted mean of the tiles that
    hold it; weights fall linearly over the overlap towards a tile edge shared with another
    tile, and stay 1 at the scene's own edges.
    """
    _, rows, cols = a.shape
    acc = np.zeros((rows, cols), "float32")
    weight = np.zeros((rows, cols), "float32")
    step = max(1, tile - overlap)
    r_starts, c_starts = _starts(rows, tile, step), _starts(cols, tile, step)
    for r0 in r_starts:
        for c0 in c_starts:
            r1, c1 = min(rows, r0 + tile), min(cols, c0 + tile)
            ta, tb = a[:, r0:r1, c0:c1], b[:, r0:r1, c0:c1]
            h, w = r1 - r0, c1 - c0
            ph, pw = (-h) % multiple, (-w) % multiple
            if ph or pw:
                pads = ((0, 0), (0, ph), (0, pw))
                if min(h, w) > max(ph, pw):
                    ta, tb = np.pad(ta, pads, mode="reflect"), np.pad(tb, pads, mode="reflect")
                else:  # a sliver narrower than its padding cannot be reflected
                    ta, tb = np.pad(ta, pads, mode="edge"), np.pad(tb, pads, mode="edge")
            p = run(np.ascontiguousarray(ta), np.ascontiguousarray(tb))[:h, :w]
            wr = _ramp(h, min(overlap, h // 2), r0 > 0, r1 < rows)
            wc = _ramp(w, min(overlap, w // 2), c0 > 0, c1 < cols)
            wt = wr[:, None] * wc[None, :]
            acc[r0:r1, c0:c1] += p * wt
            weight[r0:r1, c0:c1] += wt
    return acc / np.maximum(weight, 1e-12)


def load_model(path: str | Path) -> ChangeModel:
    """Open a model and its card, and check that they fit each other.

    ``path`` is the ``.onnx`` file (its card beside it, ``<stem>.toml`` or ``<stem>.json``,
    or in its metadata under ``campwatch_card``), or a card whose ``file`` names the ONNX
    file (relative to the card's folder, or absolute).

    Raises
    ------
    ModelError
        If a file is missing, too large, not ONNX, has no card or a bad one, or if its
        inputs and output are not what the card says (two (1, bands, H, W) float inputs,
        one (1, 1, H, W) output).
    """
    path = Path(path)
    card_path: Path | None
    values: Any
    if path.suffix.lower() in (".toml", ".json"):
        card_path, values = path, read_card(path)
        if not isinstance(values, dict) or not isinstance(values.get("file"), str) or not values["file"]:
            raise ModelError(f"model card {path}: names no model file; add file = \"<name>.onnx\" (beside the "
                             "card, or an absolute path)")
        model_path = Path(values["file"])
        path = model_path if model_path.is_absolute() else card_path.parent / model_path
    else:
        card_path = find_card(path)
        values = read_card(card_path) if card_path is not None else None
    if not path.is_file():
        raise ModelError(f"model {path}: file not found")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"model {path}: {size:,} bytes, more than the {MAX_MODEL_BYTES:,} campwatch reads")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    session = session_for(path)
    if values is None:
        meta = session.get_modelmeta().custom_metadata_map
        if "campwatch_card" not in meta:
            raise ModelError(f"model {path}: no card; put {path.with_suffix('.toml').name} beside it (name, licence, "
                             "source, bands, inputs, output, covers, mean, std, ...: see docs/models.md)")
        try:
            values = json.loads(meta["campwatch_card"])
        except (ValueError, RecursionError) as exc:
            raise ModelError(f"model {path}: the card in its metadata is not JSON ({exc})") from exc
        source = f"in {path.name}'s metadata"
    else:
        source = str(card_path)
    if isinstance(values, dict):
        values = {k: v for k, v in values.items() if k != "file"}
    card = ModelCard.from_dict(values, source=source)
    expected = card.training.get("model_sha256")
    if expected is not None and expected != digest:
        raise ModelError(f"model {path}: its card ({source}) was written for another file (SHA-256 {str(expected)[:16]}..., "
                         f"this one's {digest[:16]}...); put the card taught with it beside it")
    _check_graph(session, card, path)
    return ChangeModel(path=path, card=card, sha256=digest, card_path=card_path, session=session,
                       card_sha256=hashlib.sha256(card_path.read_bytes()).hexdigest() if card_path else None)


def _check_graph(session: Any, card: ModelCard, path: Path) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if card.taught:
        _check_pixel_graph(inputs, outputs, card, path)
        return
    for name in card.inputs:
        if name not in inputs:
            raise ModelError(f"model {path}: has no input {name!r} (its inputs: {', '.join(inputs)}); "
                             "fix 'inputs' in its card")
        shape = inputs[name].shape
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != len(card.bands)):
            raise ModelError(f"model {path}: input {name!r} has shape {shape}; the card's {len(card.bands)} bands "
                             f"need (1, {len(card.bands)}, H, W)")
        _check_float(inputs[name], path)
    if len(inputs) != 2:
        raise ModelError(f"model {path}: has {len(inputs)} inputs; a bitemporal change model takes two")
    _check_output(outputs, card, path, rank=4, channels=1, expected="(1, 1, H, W), a probability of change")


def _check_float(info: Any, path: Path) -> None:
    if info.type != "tensor(float)":
        raise ModelError(f"model {path}: input {info.name!r} is {info.type}; campwatch gives float32")


def _check_output(outputs: dict[str, Any], card: ModelCard, path: Path, *, rank: int, channels: int,
                  expected: str) -> None:
    """The card's output is in the graph, of ``rank`` dimensions and ``channels`` in the second."""
    if card.output not in outputs:
        raise ModelError(f"model {path}: has no output {card.output!r} (its outputs: {', '.join(outputs)}); "
                         "fix 'output' in its card")
    shape = outputs[card.output].shape
    if len(shape) != rank or (isinstance(shape[1], int) and shape[1] != channels):
        raise ModelError(f"model {path}: output {card.output!r} has shape {shape}; expected {expected}")


def _check_pixel_graph(inputs: dict[str, Any], outputs: dict[str, Any], card: ModelCard, path: Path) -> None:
    """A pixel classifier's graph: one (N, F) float input of the card's feature set, an (N, 2) output."""
    n = feature_count(len(card.bands), card.features)
    name = card.inputs[0]
    if len(inputs) != 1 or name not in inputs:
        raise ModelError(f"model {path}: a pixel classifier takes one input {name!r}; its inputs are "
                         f"{', '.join(inputs)}; fix 'inputs' in its card")
    shape = inputs[name].shape
    if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != n):
        raise ModelError(f"model {path}: input {name!r} has shape {shape}; the feature set {card.features} of "
                         f"{len(card.bands)} bands has {n} features: (N, {n})")
    _check_float(inputs[name], path)
    _check_output(outputs, card, path, rank=2, channels=2,
                  expected="(N, 2), the probabilities of no change and change")


def model_member(record: dict[str, Any] | None) -> dict[str, Any]:
    """The ``model`` member of a report: the model's record (:meth:`ChangeModel.record`), or that there was none."""
    if record:
        return {"used": True} | record
    return {"used": False, "note": "no change model was given: the classical stages only"}


def models_folder() -> Path:
    """The user's models folder: ``$CAMPWATCH_MODELS``, else the platform's data folder for
    campwatch (``~/.local/share/campwatch/models`` on Linux) and ``models`` in it."""
    import os

    import platformdirs

    given = os.environ.get("CAMPWATCH_MODELS")
    return Path(given) if given else platformdirs.user_data_path("campwatch") / "models"


def resolve_model(name: str | Path) -> Path:
    """The file a ``--model`` value names: a path to an ONNX file or a card, or the name of a
    model in :func:`models_folder` (``<name>.toml``, ``<name>.json`` or ``<name>.onnx`` there).

    Raises
    ------
    ModelError
        Naming the value, the folder and the models it holds.
    """
    path = Path(name)
    if path.is_file():
        return path
    folder = models_folder()
    if path.name == str(name) and folder.is_dir():
        for suffix in (".toml", ".json", ".onnx"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    known = sorted({p.stem for p in folder.glob("*") if p.suffix in (".onnx", ".toml", ".json")}) if folder.is_dir() else []
    raise ModelError(f"--model {name}: no such file, and no model of that name in {folder} "
                     f"({', '.join(known) if known else 'it holds none'})")


def list_models(folder: Path | None = None) -> list[tuple[str, ChangeModel | None, str]]:
    """Every model in the models folder, each loaded and checked: (name, model or None, what is wrong)."""
    folder = folder or models_folder()
    if not folder.is_dir():
        return []
    out: list[tuple[str, ChangeModel | None, str]] = []
    stems = sorted({p.stem for p in folder.iterdir() if p.suffix in (".onnx", ".toml", ".json")})
    for stem in stems:
        onnx_file = folder / f"{stem}.onnx"
        card = find_card(onnx_file)
        # NAME.onnx with its card beside it; or a card alone that names its model file.
        path = onnx_file if onnx_file.is_file() else (card if card is not None else onnx_file)
        try:
            out.append((stem, load_model(path), ""))
        except ModelError as exc:
            out.append((stem, None, str(exc)))
    return out
