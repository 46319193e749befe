"""A change model's card: what the model is (name, licence, source), what it takes and what it gives.

A card is a small TOML or JSON file beside the model (``<name>.toml`` or ``<name>.json``), or a
JSON string in the ONNX metadata under ``campwatch_card``; :class:`ModelCard` reads and checks
its values, :mod:`campwatch.detection.model` checks it against the graph and runs the model.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campwatch.detection.features import FEATURE_SETS
from campwatch.errors import InputError

__all__ = ["ModelCard", "ModelError", "find_card", "read_card", "MODEL_OUTPUTS", "MAX_TILE_PX", "TAUGHT_PIXEL_FACTOR"]

#: What a model's probability covers.
MODEL_OUTPUTS = ("buildings", "all")

#: The largest tile a card may ask for, so that a hostile card cannot make campwatch spend memory
#: it does not have.
MAX_TILE_PX = 4096
#: A taught model refuses pixels more than this many times finer or coarser than it was taught on.
TAUGHT_PIXEL_FACTOR = 2.0


class ModelError(InputError):
    """A model file or its card that campwatch cannot use (exit 2)."""


@dataclass(frozen=True)
class ModelCard:
    """What a change model is, what it takes and what it gives.

    Attributes
    ----------
    name, licence, source : str
        What the model is, the terms it may be used under, where it comes from.
    bands : tuple of str
        The bands of each date's input, in order (``("red", "green", "blue")``).
    inputs : pair of str
        The names of the earlier and later date's inputs in the ONNX graph.
    output : str
        The name of the output in the ONNX graph: a (1, 1, H, W) probability of change.
    covers : {"buildings", "all"}
        What change the probability is of.
    scale : str
        How a date is brought to the range 0..1 the model was trained on: ``"stretch"``
        (8-bit images divided by 255; others by a percentile stretch shared by both dates).
    mean, std : tuple of float
        Per-band normalisation after scaling: ``(x - mean) / std``.
    tile_multiple : int
        The model's height and width must be multiples of this.
    threshold : float
        The probability above which a pixel is change, as trained.
    pixel_size_m : pair of float
        The range of pixel sizes (metres) of the imagery it was trained on.
    tile_px, overlap_px : int
        Inference tiles and their overlap, in pixels (seams are blended over the overlap).
    features : str
        Empty for a model of images (two (1, bands, H, W) inputs). For a pixel classifier,
        the versioned name of the feature set campwatch computes before the graph
        (:data:`campwatch.detection.features.FEATURE_SETS`); the graph then takes one (N, F)
        input, ``inputs[0]``, and gives (N, 2) class probabilities, change the second.
    training : dict
        What a taught model was taught from: the pairs with their SHA-256 and label counts,
        the pixel sizes, the validation score (empty for a model the user brings).
    """

    name: str
    licence: str
    source: str
    bands: tuple[str, ...]
    inputs: tuple[str, str]
    output: str
    covers: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    tile_multiple: int = 16
    threshold: float = 0.5
    pixel_size_m: tuple[float, float] = (0.3, 1.0)
    scale: str = "stretch"
    stretch_percentiles: tuple[float, float] = (2.0, 98.0)
    tile_px: int = 512
    overlap_px: int = 64
    notes: str = ""
    features: str = ""
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def taught(self) -> bool:
        """Whether this is a pixel classifier campwatch feeds its own features (``campwatch teach``)."""
        return bool(self.features)

    @classmethod
    def from_dict(cls, values: Any, *, source: str) -> ModelCard:
        """A card from its table, every name and value checked.

        Raises
        ------
        ModelError
            Naming the card, the key, the value and what was expected.
        """
        if not isinstance(values, dict):
            raise ModelError(f"model card {source}: expected a table of keys, got {type(values).__name__}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelError(f"model card {source}: unknown key(s) {', '.join(unknown)}; "
                             f"valid ones are {', '.join(sorted(known))}")
        missing = sorted(k for k in ("name", "licence", "source", "bands", "inputs", "output", "covers", "mean", "std")
                         if k not in values)
        if missing:
            raise ModelError(f"model card {source}: missing key(s) {', '.join(missing)}")

        def text(key: str) -> str:
            v = values.get(key, cls.__dataclass_fields__[key].default)
            if not isinstance(v, str) or (key != "notes" and not v.strip()):
                raise ModelError(f"model card {source}: {key}={v!r} is not valid; expected a non-empty string")
            return v

        def numbers(key: str, n: int | None = None) -> tuple[float, ...]:
            v = values.get(key, cls.__dataclass_fields__[key].default)
            if (not isinstance(v, (list, tuple)) or not v or (n is not None and len(v) != n)
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)):
                raise ModelError(f"model card {source}: {key}={v!r} is not valid; expected a list of "
                                 f"{n or 'one or more'} numbers")
            return tuple(float(x) for x in v)

        def whole(key: str, low: int, high: int) -> int:
            v = values.get(key, cls.__dataclass_fields__[key].default)
            if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
                raise ModelError(f"model card {source}: {key}={v!r} is not valid; expected a whole number "
                                 f"from {low} to {high}")
            return v

        bands = values["bands"]
        if (not isinstance(bands, (list, tuple)) or not bands or not all(isinstance(b, str) and b for b in bands)
                or len(set(bands)) != len(bands)):
            raise ModelError(f"model card {source}: bands={bands!r} is not valid; expected a list of distinct band "
                             "names such as [\"red\", \"green\", \"blue\"]")
        features = values.get("features", "")
        if not isinstance(features, str) or (features and features not in FEATURE_SETS):
            raise ModelError(f"model card {source}: features={features!r} is not valid; expected one of "
                             f"{', '.join(FEATURE_SETS)} (the feature sets this campwatch computes), or none for "
                             "a model of images")
        inputs = values["inputs"]
        if features:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != 1 or not isinstance(inputs[0], str):
                raise ModelError(f"model card {source}: inputs={inputs!r} is not valid; a pixel classifier takes "
                                 "one input, its features: [\"features\"]")
            inputs = [inputs[0], ""]
        elif not isinstance(inputs, (list, tuple)) or len(inputs) != 2 or not all(isinstance(i, str) for i in inputs):
            raise ModelError(f"model card {source}: inputs={inputs!r} is not valid; expected the names of the "
                             "earlier and the later date's inputs, [\"a\", \"b\"]")
        training = values.get("training", {})
        if not isinstance(training, dict):
            raise ModelError(f"model card {source}: training={training!r} is not valid; expected a table")
        covers = text("covers")
        if covers not in MODEL_OUTPUTS:
            raise ModelError(f"model card {source}: covers={covers!r} is not valid; expected one of "
                             f"{', '.join(MODEL_OUTPUTS)}")
        scale = text("scale")
        if scale != "stretch":
            raise ModelError(f"model card {source}: scale={scale!r} is not valid; expected \"stretch\"")
        mean, std = numbers("mean", len(bands)), numbers("std", len(bands))
        if min(std) <= 0:
            raise ModelError(f"model card {source}: std={list(std)!r} is not valid; expected numbers > 0")
        threshold = values.get("threshold", 0.5)
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 < threshold < 1:
            raise ModelError(f"model card {source}: threshold={threshold!r} is not valid; expected 0 < threshold < 1")
        sizes = numbers("pixel_size_m", 2)
        if not 0 < sizes[0] <= sizes[1]:
            raise ModelError(f"model card {source}: pixel_size_m={list(sizes)!r} is not valid; expected "
                             "[smallest, largest] metres > 0")
        low, high = numbers("stretch_percentiles", 2)
        if not 0 <= low < high <= 100:
            raise ModelError(f"model card {source}: stretch_percentiles={[low, high]!r} is not valid; expected "
                             "0 <= low < high <= 100")
        multiple = whole("tile_multiple", 1, 512)
        tile = whole("tile_px", multiple, MAX_TILE_PX)
        overlap = whole("overlap_px", 0, tile // 2)
        if tile % multiple:
            raise ModelError(f"model card {source}: tile_px={tile} is not a multiple of tile_multiple={multiple}")
        return cls(name=text("name"), licence=text("licence"), source=text("source"), bands=tuple(bands),
                   inputs=(inputs[0], inputs[1]), output=text("output"), covers=covers, mean=mean, std=std,
                   tile_multiple=multiple, threshold=float(threshold), pixel_size_m=(sizes[0], sizes[1]),
                   scale=scale, stretch_percentiles=(low, high), tile_px=tile, overlap_px=overlap,
                   notes=text("notes"), features=features, training=training)

    def to_dict(self) -> dict[str, Any]:
        """The card as a table (for the report); a model of images' card as it always was."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if not self.taught:
            del out["features"], out["training"]
        else:
            out["inputs"] = [self.inputs[0]]
        return out


def find_card(model_path: Path) -> Path | None:
    """The card file beside a model: ``<stem>.toml`` or ``<stem>.json``, if there is one."""
    for suffix in (".toml", ".json"):
        candidate = model_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def read_card(path: Path) -> dict[str, Any]:
    """The table of a TOML or JSON card file.

    Raises
    ------
    ModelError
        If it cannot be read or parsed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"model card {path}: cannot be read ({exc})") from exc
    try:
        values = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelError(f"model card {path}: cannot be parsed ({exc})") from exc
    if isinstance(values, dict) and isinstance(values.get("model"), dict):
        values = values["model"]
    return values  # type: ignore[no-any-return]
