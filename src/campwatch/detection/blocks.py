"""Analyse a pair larger than memory block by block; changes across block edges come out whole.

A window of more than one block (``DetectConfig.block_size_px`` a side, plus a halo of
``block_halo_m``) is cut into blocks. Each block is read with its halo and analysed by
:func:`campwatch.detection.analysis.analyse_scenes`, with one shift, one noise level and one pair of
thresholds for the whole scene, chosen first on a sample of blocks, and the scene's
radiometric fit for a block whose own fit departs from it (a change covers most of it).
Each block answers for its core: every change it finds is cut to the core, and the parts
of one change that different blocks found (their versions of it overlap where both blocks
see it) are joined into one change again, whatever its size.

The class codes of each core go into a scratch mask window by window, and the changes that
cross a core edge are burnt in again with their final class. Figures are drawn from a
reduced read of both images. Peak memory depends on the block size, not on the scene's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import rasterio
import rasterio.windows
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.features import geometry_mask, rasterize
from rasterio.transform import array_bounds
from rasterio.windows import Window
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED
from campwatch.config import DetectConfig
from campwatch.detection.align import shift_pair
from campwatch.detection.analysis import (
    LOW_VALID_FRACTION,
    LOW_VALID_TEXT,
    PairParameters,
    analyse_scenes,
    pair_parameters,
)
from campwatch.detection.model import ChangeModel, ModelError, set_inference_threads
from campwatch.detection.radiometry import LinearFit, normalize
from campwatch.detection.results import BlockwiseResult, ChangeRegion, PixelTotals
from campwatch.detection.threshold import Thresholds
from campwatch.errors import InputError
from campwatch.grid import Grid
from campwatch.io.changemask import open_change_mask
from campwatch.io.gdal import current_options, enter_options
from campwatch.io.pair import (
    PairInfo,
    PairRequest,
    ReducedPair,
    aoi_window,
    check_overlap,
    pair_info,
    read_pair,
    read_reduced_pair,
)
from campwatch.io.scene import Scene, pixel_area
from campwatch.progress import start

__all__ = ["Block", "analyse_blockwise", "needs_blocks", "plan_blocks", "halo_px", "dask_client"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How many blocks, spread over the scene, choose the shift, the thresholds and the shadow directions.
SAMPLE_BLOCKS = 9

#: Of each sample block, the central square of at most this many pixels a side is read.
SAMPLE_PX = 1024



@dataclass(frozen=True)
class Block:
    """One block of a window: its core (what it answers for) and what is read (core and halo).

    Both in pixels of the analysed grid (the AOI's window of the before image).
    """

    index: tuple[int, int]
    core: Window
    padded: Window

    @property
    def core_in_padded(self) -> tuple[slice, slice]:
        """The core as slices of the padded block's arrays."""
        r = int(self.core.row_off - self.padded.row_off)
        c = int(self.core.col_off - self.padded.col_off)
        return slice(r, r + int(self.core.height)), slice(c, c + int(self.core.width))


def halo_px(config: DetectConfig, pixel_size: float) -> int:
    """The halo of a block in pixels of size ``pixel_size`` (metres)."""
    return max(1, int(math.ceil(config.block_halo_m / pixel_size)))


def needs_blocks(shape: tuple[int, int], config: DetectConfig, pixel_size: float) -> bool:
    """Whether a window of ``shape`` holds more pixels than one block with its halo."""
    side = config.block_size_px + 2 * halo_px(config, pixel_size)
    return shape[0] * shape[1] > side * side


def plan_blocks(shape: tuple[int, int], block: int, halo: int) -> list[Block]:
    """Cut a window of ``shape`` (rows, cols) into blocks of ``block`` pixels with a ``halo``, row by row."""
    rows, cols = shape
    out = []
    for i, r0 in enumerate(range(0, rows, block)):
        for j, c0 in enumerate(range(0, cols, block)):
            h, w = min(block, rows - r0), min(block, cols - c0)
            pr0, pc0 = max(0, r0 - halo), max(0, c0 - halo)
            pr1, pc1 = min(rows, r0 + h + halo), min(cols, c0 + w + halo)
            out.append(Block((i, j), Window(c0, r0, w, h), Window(pc0, pr0, pc1 - pc0, pr1 - pr0)))
    return out


@dataclass(frozen=True)
class _Piece:
    """The part of a change that one block answers for, and the change as that block saw it."""

    block: tuple[int, int]
    region: ChangeRegion
    part: BaseGeometry
    whole: BaseGeometry
    read_area: BaseGeometry
    #: Whether the change reaches out of the block's core.
    crosses: bool = False
    #: Whether the block saw all of the change (it stays clear of the edges of what was read).
    seen_whole: bool = True


def analyse_blockwise(
    request: PairRequest,
    *,
    scratch: str | Path,
    config: DetectConfig | None = None,
    workers: int = 1,
    info: PairInfo | None = None,
    model: ChangeModel | None = None,
    scheduler: str | None = None,
) -> BlockwiseResult:
    """Detect and classify change between two images block by block.

    Parameters
    ----------
    workers : int
        Blocks analysed at once, each in its own process (default 1). The result is the
        same for any number; peak memory is about that of one block times ``workers``.
    scheduler : str, optional
        The address of a Dask distributed scheduler (``tcp://host:8786``): its workers analyse
        the blocks instead (they must see the images at the same paths); the result is the same.
    scratch : str or Path
        An existing folder for the scratch class mask (one byte per pixel of the window);
        the result does not remove it.
    info : PairInfo, optional
        The pair's metadata, when read already.
    model : ChangeModel, optional
        A learned change model, run on each block with its halo (see
        :func:`campwatch.detection.analysis.analyse_scenes`).

    Raises
    ------
    SceneError, GridMismatchError, AOIError, InputError
        As :func:`campwatch.io.pair.read_pair`, and when no pixel is valid on both dates.

    Notes
    -----
    Memory: that of :func:`campwatch.detection.analysis.analyse_scenes` on one block with its halo (about
    1.5 GB for 4-band blocks of 2048 pixels and a 200-pixel halo), plus the changes found.
    """
    config = config or DetectConfig()
    info = info if info is not None else pair_info(request)
    info_b, info_a, aoi = info.before, info.after, request.aoi
    window = aoi_window(info_b, aoi)
    shape = (int(window.height), int(window.width))
    transform = rasterio.windows.transform(window, info_b.transform)
    px = info_b.pixel_size
    halo = halo_px(config, px)
    blocks = plan_blocks(shape, config.block_size_px, halo)
    grid = Grid(crs=info_b.crs, transform=transform, shape=shape, window=window)
    logger.info("%d x %d pixels in %d blocks of %d (halo %d px)", shape[0], shape[1], len(blocks),
                config.block_size_px, halo)

    # The sample blocks take the scene's own parameters; the blocks, those the samples chose.
    job = _BlockJob(request=request, info=info, window=window, transform=transform, shape=shape, config=config,
                    shift=(0.0, 0.0), shadow_directions=(None, None), model=model)

    # 1. One shift and one pair of thresholds for the scene, from blocks spread over it.
    if not info.same_grid:
        check_overlap(info, transform, shape, aoi)
    if model is not None:  # before any block is read: every block would fail alike
        model.check_bands(*info.band_names)
    # One pool of workers for the sample blocks and the blocks, let go of before the changes are joined.
    # The reduced images for the figures are read meanwhile, on a thread: GDAL reads and
    # resamples with Python's lock let go, on the core the blocks leave.
    with _block_runner(workers, scheduler) as run, _in_background(read_reduced_pair, request) as reduced:
        scene_params = _scene_parameters(blocks, job, run)
        fixed, shift, sampled = scene_params.thresholds, scene_params.shift, scene_params.sampled
        messages = list(dict.fromkeys(list(info.notes) + scene_params.notes))
        block_config = dataclasses.replace(config, gain_threshold=fixed.gain, loss_threshold=fixed.loss)

        # 2. Every block, its core's class codes into the scratch mask, its changes sorted out.
        scratch_path = Path(scratch) / "change_mask_blocks.tif"
        totals = PixelTotals(pixel_area=px * px, grid_px=0, inside_px=0, analysed_px=0, clear_px=0)
        seen: dict[str, Any] = {d: {"structure": 0, "tower": 0} for d in ("before", "after")}
        masked = {"before": 0.0, "after": 0.0}
        pieces: list[_Piece] = []
        obscured_regions: list[dict[str, object]] = []
        hidden: dict[str, list[BaseGeometry]] = {"before": [], "after": []}
        residuals: list[dict[str, float]] = []
        per_block: list[dict[str, Any]] = []
        job = dataclasses.replace(job, config=block_config, shift=shift, shadow_directions=scene_params.shadow_directions,
                                  fit=scene_params.fit, sigma=scene_params.sigma,
                                  cloud_thresholds=scene_params.cloud_thresholds)
        task = start("block", len(blocks), "analysing blocks")
        with open_change_mask(scratch_path, shape=shape, transform=transform, crs=info_b.crs) as dst:
            for blk, out in zip(blocks, run(_analyse_block, job, blocks), strict=True):
                task.advance(f"block {blk.index[0]},{blk.index[1]}: {out.record['status']}")
                per_block.append(out.record)
                totals = totals + out.totals
                dst.write(out.codes, 1, window=blk.core)
                if out.record["status"] != "analysed":
                    continue
                if out.residual is not None:
                    residuals.append(out.residual)
                for d in ("before", "after"):
                    for k in seen[d]:
                        seen[d][k] += out.seen.get(d, {}).get(k, 0)
                if "within_m" in out.seen:  # a block counted near change only: so does the scene
                    seen["within_m"] = out.seen["within_m"]
                for k in masked:
                    masked[k] += out.masked.get(k, 0.0)
                obscured_regions += out.obscured_regions
                for d in hidden:
                    hidden[d] += out.hidden.get(d, [])
                messages += out.warnings
                pieces += out.pieces
    analysed_blocks = sum(1 for r in per_block if r["status"] == "analysed")
    if analysed_blocks == 0 or totals.analysed_px == 0:
        raise InputError(f"{info_b.path} and {info_a.path}: no pixel inside the AOI is valid on both dates")
    frac = totals.analysed_px / max(1, totals.inside_px)
    if frac < LOW_VALID_FRACTION:
        messages.append(f"only {frac:.0%} {LOW_VALID_TEXT}; the rest is not analysed")

    # 3. Join the parts of changes larger than a halo; number every change.
    joined, slivers = _join(pieces, px, config.min_area_m2)
    regions = _number(joined)
    crossing = [r for r in regions if not _within_one_core(r.geometry, blocks, transform)]
    with rasterio.open(scratch_path, "r+") as dst:
        _burn(dst, slivers, px, code=NO_CHANGE)
        # Other change first: where a named change overlaps it, the named one's class stands.
        _burn(dst, sorted(crossing, key=lambda r: r.change_class != "other_change"), px)

    overview, overview_obscured, overview_no_data = _overview(reduced.result(), request, grid, shift, config,
                                                              scratch_path, scene_params.fit)
    residual = None
    if residuals:
        residual = {"tiles": int(sum(r["tiles"] for r in residuals)),
                    "median_px": round(float(np.median([r["median_px"] for r in residuals])), 2),
                    "max_px": round(float(max(r["max_px"] for r in residuals)), 2)}
    thresholds = Thresholds(gain=fixed.gain, loss=fixed.loss,
                            method=f"{fixed.method}, median of {len(sampled)} sample blocks")
    return BlockwiseResult(
        before=overview.before, after=overview.after, aoi=aoi, config=config, thresholds=thresholds, regions=regions,
        shift=shift, residual_shift=residual, warnings=tuple(dict.fromkeys(messages)), structures_seen=seen,
        masked_m2=masked, grid=grid, pixel_totals=totals,
        blocks={"size_px": config.block_size_px, "halo_px": halo, "count": len(blocks), "analysed": analysed_blocks,
                "shift_and_thresholds_from": [list(i) for i in sampled],
                "shadow_direction_rowcol": {"before": scene_params.shadow_directions[0],
                                            "after": scene_params.shadow_directions[1]},
                "radiometric_fit": None if scene_params.fit is None else scene_params.fit.to_dict(),
                "noise_sigma": [round(v, 4) for v in scene_params.sigma or ()],
                "joined_changes": sum(1 for r in regions if r.evidence.get("joined_from_blocks")),
                "per_block": per_block},
        model=model.record() if model is not None else None,
        obscured_regions=obscured_regions, mask_path=scratch_path, overview_obscured=overview_obscured,
        overview_no_data=overview_no_data, chips=overview.chips,
        hidden_areas={d: shapely.union_all([shapely.set_precision(g, 1e-3) for g in parts]) if parts
                      else shapely.Polygon() for d, parts in hidden.items()},
    )


def _core_shape(blk: Block) -> tuple[int, int]:
    """The (rows, cols) of a block's core."""
    return int(blk.core.height), int(blk.core.width)


def _sample(blocks: list[Block], n: int) -> list[Block]:
    """Up to ``n`` blocks spread evenly over the block grid (rows and columns)."""
    rows = max(b.index[0] for b in blocks) + 1
    cols = max(b.index[1] for b in blocks) + 1
    k = max(1, int(math.isqrt(n)))
    pick_r = sorted({int(round(v)) for v in np.linspace(0, rows - 1, min(k, rows))})
    pick_c = sorted({int(round(v)) for v in np.linspace(0, cols - 1, min(k, cols))})
    chosen = {(r, c) for r in pick_r for c in pick_c}
    return [b for b in blocks if b.index in chosen]


@dataclass(frozen=True)
class _SceneParameters:
    thresholds: Thresholds
    shift: tuple[float, float]
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None]
    sampled: list[tuple[int, int]]
    notes: list[str]
    #: The radiometric fit (median gain and offset of each band), None unless ``normalize`` is
    #: ``"invariant"`` or ``"offset"``.
    fit: LinearFit | None = None
    #: The noise sigma of each band's difference (medians).
    sigma: tuple[float, ...] | None = None
    #: The thresholds clouds are searched with (medians).
    cloud_thresholds: Thresholds | None = None


@dataclass(frozen=True)
class _BlockJob:
    """What every block of a pair is analysed with (sent to worker processes as it is)."""

    request: PairRequest
    info: PairInfo
    window: Window
    transform: Affine
    shape: tuple[int, int]
    config: DetectConfig
    shift: tuple[float, float]
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None]
    fit: LinearFit | None = None
    sigma: tuple[float, ...] | None = None
    cloud_thresholds: Thresholds | None = None
    model: ChangeModel | None = None


@dataclass
class _BlockOutcome:
    """What one block found, for the scene's result: its core's class codes, counts and changes."""

    record: dict[str, Any]
    totals: PixelTotals
    codes: np.ndarray
    residual: dict[str, float] | None = None
    seen: dict[str, dict[str, int]] = field(default_factory=dict)
    masked: dict[str, float] = field(default_factory=dict)
    obscured_regions: list[dict[str, object]] = field(default_factory=list)
    hidden: dict[str, list[BaseGeometry]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    pieces: list[_Piece] = field(default_factory=list)


def _read_block(job: _BlockJob, blk: Block) -> tuple[Scene, Scene, list[str]]:
    """Both dates over a block's read area (core and halo); an image that does not reach it is nodata there."""
    file_window = Window(job.window.col_off + blk.padded.col_off, job.window.row_off + blk.padded.row_off,
                         blk.padded.width, blk.padded.height)
    return read_pair(job.request, job.info, window=file_window, must_overlap=False)


def _inside(job: _BlockJob, blk: Block) -> np.ndarray:
    """Which pixels of a block's read area lie inside the AOI."""
    shape = (int(blk.padded.height), int(blk.padded.width))
    if job.request.aoi is None:
        return np.ones(shape, dtype=bool)
    return geometry_mask([job.request.aoi.geometry_in(job.info.before.crs)], out_shape=shape,
                         transform=rasterio.windows.transform(blk.padded, job.transform), invert=True)


def _analyse_block(job: _BlockJob, blk: Block) -> _BlockOutcome:
    """Read one block with its halo and analyse it; what it found, cut to its core."""
    core_sl = blk.core_in_padded
    record: dict[str, Any] = {"block": list(blk.index), "window": [int(blk.core.col_off), int(blk.core.row_off),
                                                                    int(blk.core.width), int(blk.core.height)]}
    px = math.sqrt(pixel_area(job.transform))
    core_px = int(blk.core.width * blk.core.height)
    not_analysed = np.full(_core_shape(blk), NOT_ANALYSED, dtype="uint8")
    inside = _inside(job, blk)
    if not inside[core_sl].any():
        record["status"] = "outside the AOI"
        return _BlockOutcome(record, PixelTotals(pixel_area=px * px, grid_px=core_px, inside_px=0, analysed_px=0,
                                                 clear_px=0), not_analysed)
    before, after, _ = _read_block(job, blk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        try:
            res = analyse_scenes(before, after, aoi=job.request.aoi, config=job.config, mask=job.request.mask,
                                 shift=job.shift, core=core_sl, shadow_directions=job.shadow_directions,
                                 radiometry=job.fit, noise_sigma=job.sigma, cloud_thresholds=job.cloud_thresholds,
                                 model=job.model)
        except ModelError:
            raise  # the model cannot run on these images: no block could
        except InputError as exc:
            # No pixel of this block is valid on both dates: not analysed, hidden on the date(s) without data.
            record["status"] = f"not analysed: {exc}"
            ins = inside[core_sl]
            return _BlockOutcome(record, PixelTotals(
                pixel_area=px * px, grid_px=core_px, inside_px=int(ins.sum()), analysed_px=0, clear_px=0,
                hidden_px={"before": int((~before.valid[core_sl] & ins).sum()),
                           "after": int((~after.valid[core_sl] & ins).sum())}), not_analysed)
    del before, after
    record["status"] = "analysed"
    record["residual_shift"] = res.residual_shift
    hidden: dict[str, list[BaseGeometry]] = {"before": [], "after": []}
    if res.obscured_regions:
        core_box = _window_box(blk.core, job.transform)
        for d in hidden:
            area = res.hidden_area(d)
            if not area.is_empty:
                hidden[d].append(area.intersection(core_box))
    found = _pieces(res.regions, blk, job.transform, job.shape)
    record["changes"] = len(found)
    return _BlockOutcome(
        record=record, totals=res.totals(core_sl), codes=res.classes[core_sl].copy(), residual=res.residual_shift,
        seen=res.structures_seen, masked=res.masked_m2,
        obscured_regions=[dict(rec) | {"block": list(blk.index)} for rec in res.obscured_regions], hidden=hidden,
        # The AOI-wide share of valid pixels is said once for the whole scene.
        warnings=[f"block {blk.index[0]},{blk.index[1]}: {t}" for t in res.warnings if LOW_VALID_TEXT not in t],
        pieces=found)


#: Runs a function of (job, block) on each block; results come in block order.
_Runner = Callable[[Callable[[_BlockJob, Block], T], _BlockJob, list[Block]], Iterator[T]]


@contextlib.contextmanager
def _block_runner(workers: int, scheduler: str | None = None) -> Iterator[_Runner]:
    """Run blocks one after another, in ``workers`` processes, or on the workers of the Dask
    scheduler at ``scheduler``; results come in block order either way.

    One pool (or one client) serves the sample blocks and then the blocks: its processes start once.

    Raises
    ------
    InputError
        When the Dask scheduler cannot be reached.
    """
    if scheduler is not None:
        with dask_client(scheduler) as client:
            options = current_options()

            def on_cluster(fn: Callable[[_BlockJob, Block], T], job: _BlockJob, blocks: list[Block]) -> Iterator[T]:
                futures = client.map(_on_dask_worker, [fn] * len(blocks), [options] * len(blocks),
                                     [job] * len(blocks), blocks, pure=False)
                try:
                    for future in futures:  # in block order, each as soon as it is there
                        yield future.result()
                finally:
                    client.cancel(futures)

            yield on_cluster
        return
    if workers <= 1:
        yield lambda fn, job, blocks: (fn(job, blk) for blk in blocks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_enter_worker, initargs=(current_options(), threads)) as pool:
        yield lambda fn, job, blocks: pool.map(fn, [job] * len(blocks), blocks)


@contextlib.contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A client of the Dask distributed scheduler at ``scheduler``, closed on leaving."""
    from distributed import Client

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    with client:
        yield client


def _on_dask_worker(fn: Callable[[_BlockJob, Block], T], options: dict[str, Any], job: _BlockJob, blk: Block) -> T:
    """One block on a Dask worker: in the run's GDAL options (network off), then ``fn``."""
    enter_options(options)
    return fn(job, blk)


def _enter_worker(options: dict[str, Any], threads: int) -> None:
    """A block worker's initializer: the run's GDAL options, and its share of the cores for OpenCV's
    kernels and a model's inference (``--workers`` processes at once)."""
    enter_options(options)
    cv2.setNumThreads(threads)
    set_inference_threads(threads)


def _centre(blk: Block, size: int) -> Block:
    """The central square of at most ``size`` pixels of a block's core, read without a halo."""
    h, w = min(size, int(blk.core.height)), min(size, int(blk.core.width))
    win = Window(int(blk.core.col_off + (blk.core.width - w) // 2), int(blk.core.row_off + (blk.core.height - h) // 2),
                 w, h)
    return Block(blk.index, win, win)


def _mean_direction(found: list[tuple[tuple[float, float], int]]) -> tuple[float, float] | None:
    """The mean of unit vectors weighted by pixels; None when there are none or they disagree."""
    if not found:
        return None
    v = np.array([d for d, _ in found], dtype="float64")
    w = np.array([n for _, n in found], dtype="float64")
    mean = (v * w[:, None]).sum(axis=0) / w.sum()
    length = float(np.hypot(*mean))
    return None if length < 0.5 else (round(float(mean[0] / length), 4), round(float(mean[1] / length), 4))


def _sample_parameters(job: _BlockJob, blk: Block) -> tuple[PairParameters | None, list[str]]:
    """What a sample block (the centre of ``blk``, :func:`_centre`) says of the scene, and the notes of reading it.

    None when the block has no pixel inside the AOI valid on both dates.
    """
    blk = _centre(blk, SAMPLE_PX)
    if not _inside(job, blk).any():
        return None, []
    before, after, read_notes = _read_block(job, blk)
    try:
        return pair_parameters(before, after, aoi=job.request.aoi, config=job.config, mask=job.request.mask), read_notes
    except InputError:
        return None, read_notes


def _scene_parameters(blocks: list[Block], job: _BlockJob, run: _Runner) -> _SceneParameters:
    """Thresholds, radiometric fit and noise sigmas (medians), shift (median of those measured) and
    shadow directions of sample blocks with data.

    A scene has one noise level: taking it from the whole scene rather than from each
    block makes a threshold mean the same in every block. The scene's radiometric fit is
    the fallback of a block whose own fit a change has taken over (see
    :data:`campwatch.detection.analysis.MAX_FIT_DEPARTURE`).

    When none of the spread-out blocks has data on both dates, every other block is tried in
    turn until one has.
    """
    gains: list[float] = []
    losses: list[float] = []
    clouds: list[tuple[float, float]] = []
    fits: list[LinearFit] = []
    sigmas: list[tuple[float, ...]] = []
    shifts: list[tuple[float, float]] = []
    used: list[tuple[int, int]] = []
    notes: list[str] = []
    directions: tuple[list[tuple[tuple[float, float], int]], ...] = ([], [])
    config = job.config
    method = config.threshold_method
    chosen = _sample(blocks, SAMPLE_BLOCKS)
    rest = [b for b in blocks if b not in chosen]
    task = start("sample block", len(chosen), "choosing the scene's shift, thresholds and radiometry")

    def measured() -> Iterator[tuple[Block, PairParameters | None, list[str]]]:
        # The spread-out blocks at once (in the workers); the others one at a time, until one has data.
        yield from ((b, *out) for b, out in zip(chosen, run(_sample_parameters, job, chosen), strict=True))
        for b in rest:
            if used:
                return
            yield (b, *_sample_parameters(job, b))

    for blk, found, read_notes in measured():
        task.advance(f"sample block {blk.index[0]},{blk.index[1]}")
        notes += read_notes
        if found is None:
            continue  # no data in this block
        gains.append(found.thresholds.gain)
        losses.append(found.thresholds.loss)
        if found.cloud_thresholds is not None:
            clouds.append((found.cloud_thresholds.gain, found.cloud_thresholds.loss))
        sigmas.append(found.sigma)
        if found.fit is not None:
            fits.append(found.fit)
        method = found.thresholds.method
        used.append(blk.index)
        if found.shift is not None:
            shifts.append(found.shift)
        for i, d in enumerate(found.shadow_directions):
            if d is not None:
                directions[i].append((d, found.analysed_px))
    if not used:
        raise InputError("no block of the AOI has pixels valid on both dates")
    shift = (0.0, 0.0)
    if shifts:
        shift = (round(float(np.median([s[0] for s in shifts])), 3), round(float(np.median([s[1] for s in shifts])), 3))
    else:
        notes.append("the shift between the images could not be measured on any sample block; taken as co-registered")
    fit = None
    if fits:
        fit = LinearFit(gain=tuple(float(v) for v in np.median([f.gain for f in fits], axis=0)),
                        offset=tuple(float(v) for v in np.median([f.offset for f in fits], axis=0)))
    return _SceneParameters(
        thresholds=Thresholds(float(np.median(gains)), float(np.median(losses)), method), shift=shift,
        shadow_directions=(_mean_direction(directions[0]), _mean_direction(directions[1])), sampled=used, notes=notes,
        fit=fit, sigma=tuple(float(v) for v in np.median(sigmas, axis=0)),
        cloud_thresholds=Thresholds(float(np.median([c[0] for c in clouds])), float(np.median([c[1] for c in clouds])),
                                    "noise") if clouds else None)


def _px_bounds(geom: BaseGeometry, transform: Affine) -> tuple[float, float, float, float]:
    """(row_min, col_min, row_max, col_max) of a geometry in pixels of ``transform``."""
    x0, y0, x1, y1 = geom.bounds
    inv = ~transform
    cols, rows = zip(*(inv * (x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))), strict=True)
    return min(rows), min(cols), max(rows), max(cols)


def _window_box(win: Window, transform: Affine) -> BaseGeometry:
    left, bottom, right, top = array_bounds(int(win.height), int(win.width), rasterio.windows.transform(win, transform))
    return box(left, bottom, right, top)


def _pieces(regions: list[ChangeRegion], blk: Block, transform: Affine, shape: tuple[int, int]) -> list[_Piece]:
    """Every change a block found, cut to the block's core (the part it answers for).

    A change that stays clear of the edges of what the block read (other than the edges
    of the whole window) is marked as seen whole.
    """
    core_box = _window_box(blk.core, transform)
    read_box = _window_box(blk.padded, transform)
    p = blk.padded
    edges = (p.row_off > 0, p.col_off > 0, p.row_off + p.height < shape[0], p.col_off + p.width < shape[1])
    out = []
    for region in regions:
        geom = region.geometry
        inside = geom.within(core_box)
        part = geom if inside else geom.intersection(core_box)
        if part.is_empty or _weight(part) == 0:
            continue
        r0, c0, r1, c1 = _px_bounds(geom, transform)
        cut = ((edges[0] and r0 < p.row_off + _EDGE_PX) or (edges[1] and c0 < p.col_off + _EDGE_PX)
               or (edges[2] and r1 > p.row_off + p.height - _EDGE_PX)
               or (edges[3] and c1 > p.col_off + p.width - _EDGE_PX))
        out.append(_Piece(blk.index, region, part, geom, read_box, crosses=not inside, seen_whole=not cut))
    return out


#: A change closer than this (pixels) to the edge of what a block read may go on beyond it.
_EDGE_PX = 3


def _linear(geom: BaseGeometry) -> bool:
    return geom.geom_type in ("LineString", "MultiLineString")


def _same(a: _Piece, b: _Piece, px: float) -> bool:
    """Whether two blocks' versions of a change are one: of one class, they share most of what both blocks see."""
    if a.block == b.block or a.region.change_class != b.region.change_class:
        return False
    if _linear(a.whole):
        shared = a.whole.intersection(b.whole.buffer(2 * px)).length
        seen = min(a.whole.intersection(b.read_area).length, b.whole.intersection(a.read_area).length)
    else:
        shared = a.whole.intersection(b.whole).area
        seen = min(a.whole.intersection(b.read_area).area, b.whole.intersection(a.read_area).area)
    return seen > 0 and shared > 0.25 * seen


def _join(pieces: list[_Piece], px: float, min_area_m2: float) -> tuple[list[ChangeRegion], list[ChangeRegion]]:
    """Join the parts of changes cut at core edges into whole changes.

    Parts from different blocks that are one change (:func:`_same`) are joined: the class is
    the one of the larger share (area; length for fences), the measurements those of its
    largest part. Returns the changes, and the slivers dropped (other change at a core
    edge smaller than ``min_area_m2`` once joined).
    """
    parent = list(range(len(pieces)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shapes = [p.whole.buffer(2 * px) if _linear(p.whole) else p.whole for p in pieces]
    tree = shapely.STRtree(shapes)
    for i, p in enumerate(pieces):
        if not p.crosses:
            continue  # only a change that reaches out of its core can meet another block's version
        for j in tree.query(shapes[i]):
            j = int(j)
            if find(i) != find(j) and _same(p, pieces[j], px):
                parent[find(i)] = find(j)
    groups: dict[int, list[_Piece]] = {}
    for i, p in enumerate(pieces):
        groups.setdefault(find(i), []).append(p)
    named: list[ChangeRegion] = []
    other: list[ChangeRegion] = []
    for members in groups.values():
        region = members[0].region if len(members) == 1 and not members[0].crosses else _joined(members)
        (other if region.change_class == "other_change" else named).append(region)
    # Where one block named a change and another saw only other change, the named one stands
    # (as in a whole-scene run, where structures claim their pixels first).
    named_areas = [r.geometry for r in named if not _linear(r.geometry)]
    named_tree = shapely.STRtree(named_areas) if named_areas else None
    out, dropped = list(named), list[ChangeRegion]()
    for region in other:
        if named_tree is not None:
            hits = [named_areas[int(i)] for i in named_tree.query(region.geometry, predicate="intersects")]
            if hits:
                rest = region.geometry.difference(unary_union(hits))
                region = dataclasses.replace(region, geometry=rest, area_m2=float(rest.area))
        if region.geometry.is_empty or region.area_m2 < min_area_m2:
            dropped.append(region)
        else:
            out.append(region)
    return out, dropped


def _weight(geom: BaseGeometry) -> float:
    return geom.length if _linear(geom) else geom.area


def _joined(members: list[_Piece]) -> ChangeRegion:
    """One change from its parts (see :func:`_join`)."""
    by_class: dict[str, float] = {}
    for m in members:
        by_class[m.region.change_class] = by_class.get(m.region.change_class, 0.0) + _weight(m.part)
    change_class = max(sorted(by_class), key=lambda c: by_class[c])
    lead = max((m for m in members if m.region.change_class == change_class), key=lambda m: _weight(m.part))
    parts = [shapely.set_precision(m.part, 1e-3) for m in members]
    total = sum(_weight(m.part) for m in members) or 1.0
    confidence = sum(m.region.confidence * _weight(m.part) for m in members) / total
    whole = [m for m in members if m.seen_whole and m.region.change_class == change_class]
    if _linear(lead.region.geometry):
        geom = max((m.whole for m in whole), key=_weight) if whole else linemerge(unary_union(parts))
        return dataclasses.replace(
            lead.region, geometry=geom, length_m=float(geom.length), confidence=round(confidence, 3),
            evidence=dict(lead.region.evidence) | {"joined_from_blocks": len({m.block for m in members})})
    # A change one block saw whole is that block's; else it is the union of the blocks' parts.
    geom = max((m.whole for m in whole), key=_weight) if whole else unary_union(parts)
    rect = geom.minimum_rotated_rectangle.area
    return dataclasses.replace(
        lead.region, geometry=geom, area_m2=float(geom.area), confidence=round(confidence, 3),
        rectangularity=float(geom.area / rect) if rect > 0 else lead.region.rectangularity,
        width_m=max(m.region.width_m for m in members),
        evidence=dict(lead.region.evidence) | {"joined_from_blocks": len({m.block for m in members}),
                                               "classes_of_parts": dict(sorted(by_class.items()))})


_ORDER = {name: (0 if c.kind in ("structure", "tower") else 2 if c.linear else 1) for name, c in CLASSES.items()}


def _number(regions: list[ChangeRegion]) -> list[ChangeRegion]:
    """Number the changes as a whole-scene run does: structures and towers, other change, fences; north to south."""
    def key(r: ChangeRegion) -> tuple[int, float, float]:
        c = r.geometry.centroid
        return _ORDER[r.change_class], -round(c.y, 2), round(c.x, 2)

    return [dataclasses.replace(r, id=i) for i, r in enumerate(sorted(regions, key=key), start=1)]


def _within_one_core(geom: BaseGeometry, blocks: list[Block], transform: Affine) -> bool:
    r0, c0, r1, c1 = _px_bounds(geom, transform)
    for b in blocks:
        if (b.core.row_off <= r0 and r1 <= b.core.row_off + b.core.height
                and b.core.col_off <= c0 and c1 <= b.core.col_off + b.core.width):
            return True
    return False


def _burn(dst: Any, regions: list[ChangeRegion], px: float, *, code: int | None = None) -> None:
    """Write the final class of changes that cross core edges (or ``code``) into the mask, not over cloud or nodata."""
    for r in regions:
        geom = r.geometry.buffer(px * 0.75) if _linear(r.geometry) else r.geometry
        r0, c0, r1, c1 = _px_bounds(geom, dst.transform)
        row0, col0 = max(0, int(math.floor(r0))), max(0, int(math.floor(c0)))
        row1, col1 = min(dst.height, int(math.ceil(r1))), min(dst.width, int(math.ceil(c1)))
        if row1 <= row0 or col1 <= col0:
            continue
        win = Window(col0, row0, col1 - col0, row1 - row0)
        codes = dst.read(1, window=win)
        burnt = rasterize([(geom, 1)], out_shape=codes.shape, transform=dst.window_transform(win), dtype="uint8") > 0
        burnt &= (codes != OBSCURED) & (codes != NOT_ANALYSED)
        if burnt.any():
            codes[burnt] = CLASSES[r.change_class].code if code is None else code
            dst.write(codes, 1, window=win)


@contextlib.contextmanager
def _in_background(fn: Callable[[PairRequest], T], request: PairRequest) -> Iterator[Future[T]]:
    """``fn(request)`` on a thread of its own, in this thread's GDAL options (they do not pass to a new thread).

    An error it raises comes out of ``result()``; leaving the block waits for it to end.
    """
    options = current_options()

    def call() -> T:
        with rasterio.Env(**options):
            return fn(request)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="campwatch-overview") as pool:
        yield pool.submit(call)


def _overview(
    reduced: ReducedPair,
    request: PairRequest,
    grid: Grid,
    shift: tuple[float, float],
    config: DetectConfig,
    mask_path: Path,
    fit: LinearFit | None,
) -> tuple[ReducedPair, np.ndarray, np.ndarray]:
    """Reduced images of both dates (pixel averages, ``reduced``), shifted and matched, and what was obscured or had
    no data, for figures.

    ``fit``: the scene's radiometric fit (a linear map holds for pixel averages too).
    """
    pair = shift_pair(reduced, shift)
    pair = dataclasses.replace(pair, after=normalize(pair.before, pair.after, method=config.normalize, fit=fit))
    with rasterio.open(mask_path) as src:
        codes = src.read(1, out_shape=pair.shape, resampling=Resampling.mode)
    inside = np.ones(pair.shape, dtype=bool)
    if request.aoi is not None:
        inside = geometry_mask([request.aoi.geometry_in(grid.crs)], out_shape=pair.shape, transform=pair.transform,
                               invert=True)
    return pair, codes == OBSCURED, (codes == NOT_ANALYSED) & inside
