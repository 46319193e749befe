"""What the analysis of a pair returns: analysed whole (:class:`DetectResult`) or block by block
(:class:`BlockwiseResult`), with the grid and pixel counts a report is made of.

Both kinds answer the same questions (the changes, the grid, how much of each date was
hidden, whether a place was seen, how the changes add up per class), so that what comes
after the analysis (reports, figures, series, checks) never asks which kind it holds.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.features import geometry_mask
from rasterio.features import shapes as rio_shapes
from rasterio.windows import Window, from_bounds
from rasterio.windows import transform as window_transform
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.classes import NOT_ANALYSED, OBSCURED, ClassSummary, summarize
from campwatch.config import DetectConfig
from campwatch.detection.change import ChangeMeasures
from campwatch.detection.obscured import Obscured
from campwatch.detection.threshold import Thresholds
from campwatch.grid import Grid
from campwatch.io.aoi import AOI
from campwatch.io.changemask import finish_change_mask, write_change_mask
from campwatch.io.scene import Scene, imagery_credit, pixel_area

__all__ = ["ChangeRegion", "DetectResult", "BlockwiseResult", "PairResult", "PixelTotals", "seen_fraction", "structure_counts"]


@dataclass(frozen=True)
class ChangeRegion:
    """One change with its class, measurements and evidence. ``geometry`` is in the scenes' CRS."""

    id: int
    geometry: BaseGeometry
    change_class: str
    confidence: float
    area_m2: float
    mean_change: float
    changed_fraction: float
    brightness: str
    vegetation: str | None
    ndvi_change: float | None
    width_m: float
    rectangularity: float
    contrast_before: float
    contrast_after: float
    shadow_before: float
    shadow_after: float
    cause: str
    evidence: dict[str, Any] = field(default_factory=dict)
    length_m: float | None = None
    #: The evidence score (0.5 to 1) that ``confidence`` calibrates, and how the change was found
    #: (:data:`campwatch.detection.confidence.SOURCES`).
    score: float = 0.0
    source: str = ""

    def properties(self) -> dict[str, Any]:
        """The attributes written to the report."""
        return {
            "id": self.id,
            "class": self.change_class,
            "confidence": round(self.confidence, 3),
            "score": round(self.score, 3),
            "score_source": self.source,
            "cause": self.cause,
            # A line (a fence) has a length and no area: null, not 0.0 m2 as if it had been measured.
            "area_m2": round(self.area_m2, 1) if self.length_m is None else None,
            "length_m": None if self.length_m is None else round(self.length_m, 1),
            "width_m": round(self.width_m, 2),
            "rectangularity": round(self.rectangularity, 3),
            "mean_change": round(self.mean_change, 3),
            "changed_fraction": round(self.changed_fraction, 3),
            "brightness": self.brightness,
            "vegetation": self.vegetation,
            "ndvi_change": None if self.ndvi_change is None else round(self.ndvi_change, 3),
            "contrast_before": round(self.contrast_before, 3),
            "contrast_after": round(self.contrast_after, 3),
            "shadow_before_px": round(self.shadow_before, 2),
            "shadow_after_px": round(self.shadow_after, 2),
            "evidence": self.evidence,
        }


def structure_counts(seen: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The report's member for the structures and towers each date holds.

    ``structures_seen`` when they were counted in the whole analysed area; ``structures_near_change``
    (with ``within_m``, the margin) when only near change (``DetectConfig().structures.objects_near_change``).

    Examples
    --------
    >>> structure_counts({"before": {"structure": 2, "tower": 0}, "after": {"structure": 3, "tower": 1}, "within_m": 216.4})
    {'structures_near_change': {'within_m': 216.4, 'before': {'structure': 2, 'tower': 0}, 'after': {'structure': 3, 'tower': 1}}}
    """
    if "within_m" not in seen:
        return {"structures_seen": seen}
    counts = {k: v for k, v in seen.items() if k != "within_m"}
    return {"structures_near_change": {"within_m": seen["within_m"], **counts}}


@dataclass(frozen=True)
class PixelTotals:
    """The pixel counts a report's summary is made of; sums of blocks add up (``+``).

    ``grid_px``: every pixel of the grid; ``inside_px``: inside the AOI; ``analysed_px``:
    valid on both dates inside the AOI; ``clear_px``: analysed and not under cloud;
    ``obscured_px``: under the clouds and shadows of each date; ``seen_through_px``: under
    a thin veil; ``hidden_px``: inside the AOI and not seen on each date (nodata, cloud).
    """

    pixel_area: float
    grid_px: int
    inside_px: int
    analysed_px: int
    clear_px: int
    obscured_px: dict[str, int] = field(default_factory=lambda: {"before": 0, "after": 0})
    seen_through_px: int = 0
    hidden_px: dict[str, int] = field(default_factory=lambda: {"before": 0, "after": 0})

    def __add__(self, other: PixelTotals) -> PixelTotals:
        return PixelTotals(
            pixel_area=self.pixel_area,
            grid_px=self.grid_px + other.grid_px,
            inside_px=self.inside_px + other.inside_px,
            analysed_px=self.analysed_px + other.analysed_px,
            clear_px=self.clear_px + other.clear_px,
            obscured_px={k: self.obscured_px[k] + other.obscured_px[k] for k in ("before", "after")},
            seen_through_px=self.seen_through_px + other.seen_through_px,
            hidden_px={k: self.hidden_px[k] + other.hidden_px[k] for k in ("before", "after")},
        )

    def obscured_fraction(self, date: str) -> float:
        """The share of the AOI that ``date`` ("before" or "after") does not show."""
        return self.hidden_px[date] / max(1, self.inside_px)


def seen_fraction(geometry: BaseGeometry, transform: Affine, shape_: tuple[int, int],
                  usable: Callable[[Window], np.ndarray]) -> float:
    """The share of ``geometry`` whose pixels ``usable(window)`` says were analysed and not obscured."""
    px = math.sqrt(pixel_area(transform))
    geom = geometry if geometry.area else geometry.buffer(px)
    left, bottom, right, top = geom.bounds
    full = Window(0, 0, shape_[1], shape_[0])
    try:
        win = from_bounds(left - px, bottom - px, right + px, top + px, transform=transform)
        win = win.round_offsets(op="floor").round_lengths(op="ceil").intersection(full)
    except Exception:  # rasterio's WindowError: no overlap
        return 0.0
    h, w = int(win.height), int(win.width)
    if h < 1 or w < 1:
        return 0.0
    inside = geometry_mask([geom], out_shape=(h, w), transform=window_transform(win, transform),
                           invert=True, all_touched=True)
    n = int(inside.sum())
    if n == 0:
        return 0.0
    return float((usable(win) & inside).sum()) / n


class _PairOutcome:
    """What both kinds of result answer alike (they hold ``before``, ``after``, ``aoi``, ``regions``)."""

    before: Scene
    after: Scene
    aoi: AOI | None
    regions: Sequence[ChangeRegion]

    @property
    def name(self) -> str:
        """The AOI's name, else the after image's file name (without extension)."""
        if self.aoi is not None:
            return self.aoi.name
        return self.after.path.stem if self.after.path else "scene"

    @property
    def interval(self) -> tuple[str, str]:
        """The dates of both images, ISO formatted."""
        return self.before.date.isoformat(), self.after.date.isoformat()

    @property
    def credit(self) -> str | None:
        """The imagery credit line for figures: from the images' tags, else the AOI file's ``credit``."""
        return imagery_credit([self.before, self.after], self.aoi)

    def summary(self) -> ClassSummary:
        """How many changes of each class were found, and their area or length."""
        return summarize(self.regions)

    def totals(self) -> PixelTotals:  # pragma: no cover - every result defines it
        raise NotImplementedError

    def write_change_mask(self, path: str | Path, *, tags: dict[str, str] | None = None) -> None:
        raise NotImplementedError  # pragma: no cover - every result defines it

    def obscured_fraction(self, date: str) -> float:
        """The share of the AOI that ``date`` ("before" or "after") does not show.

        Nodata on that date and the clouds and cloud shadows attributed to it, over every
        pixel of the AOI window inside the AOI.
        """
        return self.totals().obscured_fraction(date)

    def close(self) -> None:
        """Let go of what the result keeps on disk (nothing, unless it was analysed by blocks)."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


@dataclass(frozen=True)
class DetectResult(_PairOutcome):
    """Everything a detection run found, on the grid of the before scene (AOI window)."""

    before: Scene
    after: Scene
    aoi: AOI | None
    config: DetectConfig
    measures: ChangeMeasures
    thresholds: Thresholds
    labels: np.ndarray
    classes: np.ndarray
    regions: list[ChangeRegion]
    analysed: np.ndarray
    obscured: Obscured
    inside: np.ndarray
    shift: tuple[float, float]
    warnings: tuple[str, ...]
    #: Structures and towers found on each date: ``{"before": {"structure": n, "tower": m}, "after": ...}``.
    structures_seen: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    #: Area (m2) of each date ("before", "after") that the user's mask file took out.
    masked_m2: dict[str, float] = dataclasses.field(default_factory=dict)
    #: The shift left after correction, measured on tiles: ``{"tiles", "median_px", "max_px"}``, or None.
    residual_shift: dict[str, float] | None = None
    #: The change model used (:meth:`campwatch.detection.model.ChangeModel.record`), or None: classical only.
    model: dict[str, Any] | None = None
    #: The change model as the request named it (its ``model``), which reports record among the parameters.
    model_named: str | None = None

    #: Whole-scene runs read the images at full resolution: no chips to read for close-ups.
    chips = None

    @property
    def grid(self) -> Grid:
        """The grid the run analysed (the before scene's, over the AOI's window)."""
        return Grid(crs=self.before.crs, transform=self.before.transform, shape=self.before.shape,
                    window=self.before.window)

    @property
    def blocks(self) -> dict[str, object] | None:
        """How the scene was cut into blocks: None, it was analysed whole."""
        return None

    @property
    def obscured_regions(self) -> list[dict[str, object]]:
        """The clouds and cloud shadows found, one record each."""
        return self.obscured.regions

    @property
    def overview_obscured(self) -> np.ndarray:
        """Where clouds or their shadows hid the ground, on the grid of ``before``."""
        return self.obscured.mask

    @property
    def overview_no_data(self) -> np.ndarray:
        """Where one date or the other has no data, on the grid of ``before``."""
        return ~(self.before.valid & self.after.valid)

    def seen_fraction(self, geometry: BaseGeometry) -> float:
        """The share of ``geometry`` (in the grid's CRS) analysed and not obscured."""
        usable = self.analysed & ~self.obscured.mask
        return seen_fraction(geometry, self.before.transform, self.before.shape,
                             lambda win: usable[int(win.row_off):int(win.row_off + win.height),
                                                int(win.col_off):int(win.col_off + win.width)])

    def hidden_area(self, date: str) -> BaseGeometry:
        """Where a cloud or its shadow hid the ground inside the AOI on ``date`` ("before", "after")."""
        hidden = (self.obscured.before if date == "before" else self.obscured.after) & self.inside
        if not hidden.any():
            return shapely.Polygon()
        return shapely.union_all([shape(g) for g, _ in rio_shapes(hidden.astype("uint8"), mask=hidden,
                                                                  transform=self.before.transform)])

    def write_change_mask(self, path: str | Path, *, tags: dict[str, str] | None = None) -> None:
        """Write the class of every pixel as a Cloud Optimized GeoTIFF (:mod:`campwatch.io.changemask`)."""
        write_change_mask(self.classes, path, transform=self.before.transform, crs=self.before.crs, tags=tags)

    def totals(self, core: tuple[slice, slice] | None = None) -> PixelTotals:
        """Pixel counts of the run for its report, over the whole grid or its part ``core``."""
        sl = core if core is not None else (slice(None), slice(None))
        inside = self.inside[sl]
        analysed = self.analysed[sl]
        ob = self.obscured
        return PixelTotals(
            pixel_area=self.before.pixel_area,
            grid_px=int(inside.size),
            inside_px=int(inside.sum()),
            analysed_px=int(analysed.sum()),
            clear_px=int((analysed & ~ob.mask[sl]).sum()),
            obscured_px={"before": int(ob.before[sl].sum()), "after": int(ob.after[sl].sum())},
            seen_through_px=int(ob.seen_through[sl].sum()),
            hidden_px={key: int(((~scene.valid[sl] | cloud[sl]) & inside).sum())
                       for key, scene, cloud in (("before", self.before, ob.before), ("after", self.after, ob.after))},
        )


@dataclass(frozen=True)
class BlockwiseResult(_PairOutcome):
    """A pair analysed block by block: what a report, a change mask and a change map need.

    ``before`` and ``after`` are reduced views of the two images (for figures); ``grid``
    is the full analysed grid; pixel counts are summed over the blocks' cores. The class
    mask is in ``mask_path``, a scratch GeoTIFF in ``scratch``, which the result removes
    when it is closed (``with`` or :meth:`close`) or let go of.
    """

    before: Scene
    after: Scene
    aoi: AOI | None
    config: DetectConfig
    thresholds: Thresholds
    #: The changes, numbered: a sequence read from the scratch folder (gone once the result is closed).
    regions: Sequence[ChangeRegion]
    shift: tuple[float, float]
    residual_shift: dict[str, float] | None
    warnings: tuple[str, ...]
    structures_seen: dict[str, dict[str, int]]
    masked_m2: dict[str, float]
    grid: Grid
    pixel_totals: PixelTotals
    blocks: dict[str, Any]
    obscured_regions: list[dict[str, object]]
    mask_path: Path
    overview_obscured: np.ndarray
    overview_no_data: np.ndarray = field(repr=False)
    #: Where a cloud or its shadow hid the ground inside the AOI, on each date.
    hidden_areas: dict[str, BaseGeometry] = field(default_factory=dict)
    #: Reads both dates at full resolution over given bounds (close-ups).
    chips: Any = None
    #: The scratch folder that holds ``mask_path``, removed on :meth:`close` (None: the caller's).
    scratch: Path | None = None
    #: The change model used, or None: classical only (as :attr:`DetectResult.model`).
    model: dict[str, Any] | None = None
    #: The change model as the request named it (as :attr:`DetectResult.model_named`).
    model_named: str | None = None
    #: How the changes add up per class, counted as they were numbered (:meth:`summary` after the result is closed).
    class_summary: ClassSummary | None = None

    def __post_init__(self) -> None:
        if self.scratch is not None:
            # Removed when the result is let go of, if nobody closed it first.
            object.__setattr__(self, "_finalizer", weakref.finalize(self, shutil.rmtree, self.scratch, True))

    def owning(self, scratch: Path) -> BlockwiseResult:
        """The same result, owning ``scratch`` (the folder of its class mask): removed when it is closed."""
        return dataclasses.replace(self, scratch=Path(scratch))

    def write_change_mask(self, path: str | Path, *, tags: dict[str, str] | None = None) -> None:
        """Write the class of every pixel as a Cloud Optimized GeoTIFF, from the scratch mask."""
        finish_change_mask(self.mask_path, path, tags=tags)

    def close(self) -> None:
        """Remove the scratch folder of the class mask (when the result owns one)."""
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()

    def seen_fraction(self, geometry: BaseGeometry) -> float:
        """The share of ``geometry`` (in the grid's CRS) analysed and not obscured (from the class mask)."""
        with rasterio.open(self.mask_path) as src:
            def usable(win: Window) -> np.ndarray:
                codes = src.read(1, window=win)
                return (codes != OBSCURED) & (codes != NOT_ANALYSED)

            return seen_fraction(geometry, self.grid.transform, self.grid.shape, usable)

    def hidden_area(self, date: str) -> BaseGeometry:
        """Where a cloud or its shadow hid the ground inside the AOI on ``date`` ("before", "after")."""
        return self.hidden_areas.get(date, shapely.Polygon())

    def summary(self) -> ClassSummary:
        """How many changes of each class were found, and their area or length (also once the result is closed)."""
        return self.class_summary if self.class_summary is not None else summarize(self.regions)

    def totals(self) -> PixelTotals:
        """Pixel counts for the report, summed over the blocks."""
        return self.pixel_totals


#: A pair's result: analysed whole (:class:`DetectResult`) or block by block (:class:`BlockwiseResult`).
PairResult: TypeAlias = DetectResult | BlockwiseResult
