"""Analyse a pair block by block: the scene's parameters from sample blocks, then every block, then the joining."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import rasterio
import rasterio.windows
import shapely
from rasterio.enums import Resampling
from rasterio.features import geometry_mask
from shapely.geometry.base import BaseGeometry

from campwatch.classes import NO_CHANGE, NOT_ANALYSED, OBSCURED
from campwatch.config import DetectConfig
from campwatch.detection.align import shift_pair
from campwatch.detection.analysis import (
    LOW_VALID_FRACTION,
    LOW_VALID_TEXT,
    analyse_scenes,
)
from campwatch.detection.blocks.job import BlockJob, block_runner, inside_aoi, read_block
from campwatch.detection.blocks.joining import (
    GatheredPieces,
    JoinedChanges,
    Piece,
    burn,
    cut_to_core,
)
from campwatch.detection.blocks.parameters import SampledScene, scene_parameters
from campwatch.detection.blocks.plan import (
    Block,
    core_shape,
    halo_px,
    plan_blocks,
    window_box,
    within_one_core,
)
from campwatch.detection.model import ChangeModel, ModelError
from campwatch.detection.radiometry import LinearFit, normalize
from campwatch.detection.results import BlockwiseResult, PixelTotals
from campwatch.detection.threshold import Thresholds
from campwatch.errors import InputError
from campwatch.grid import Grid
from campwatch.io.changemask import open_change_mask
from campwatch.io.gdal import current_options
from campwatch.io.pair import (
    PairInfo,
    PairRequest,
    ReducedPair,
    aoi_window,
    check_overlap,
    pair_info,
    read_reduced_pair,
)
from campwatch.io.scene import pixel_area
from campwatch.progress import start

__all__ = ["analyse_blockwise", "in_background"]

T = TypeVar("T")


logger = logging.getLogger(__name__)


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
        An existing folder for the scratch class mask (one byte per pixel of the window) and the
        changes; the result does not remove it.
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
    1.5 GB for 4-band blocks of 2048 pixels and a 200-pixel halo), not the changes found: they go to
    ``scratch`` as blocks finish and are joined and numbered there (:class:`GatheredPieces`); memory holds
    the parts of changes that cross a block's edge and about 40 bytes a change. The result's ``regions``
    are read from ``scratch`` (:class:`~campwatch.detection.blocks.store.ChangeStore`).
    """
    config = config or DetectConfig()
    info = info if info is not None else pair_info(request)
    info_b, info_a, aoi = info.before, info.after, request.aoi
    window = aoi_window(info_b, aoi)
    grid = Grid(crs=info_b.crs, transform=rasterio.windows.transform(window, info_b.transform),
                shape=(int(window.height), int(window.width)), window=window)
    shape, transform, px = grid.shape, grid.transform, info_b.pixel_size
    halo = halo_px(config, px)
    blocks = plan_blocks(shape, config.blocks.block_size_px, halo)
    logger.info("%d x %d pixels in %d blocks of %d (halo %d px)", shape[0], shape[1], len(blocks),
                config.blocks.block_size_px, halo)

    # 1. One shift and one pair of thresholds for the scene, from blocks spread over it; the blocks take them.
    job = BlockJob(request=request, info=info, window=window, transform=transform, shape=shape, config=config,
                   model=model)
    if not info.same_grid:
        check_overlap(info, transform, shape, aoi)
    if model is not None:  # before any block is read: every block would fail alike
        model.check_bands(*info.band_names)
    # One pool of workers for the sample blocks and the blocks, let go of before the changes are joined. The reduced
    # images for the figures are read meanwhile on a thread (GDAL lets Python's lock go), on the core the blocks leave.
    with block_runner(workers, scheduler) as run, in_background(read_reduced_pair, request) as reduced:
        sampled = scene_parameters(blocks, job, run)
        scene = sampled.parameters
        assert scene.thresholds is not None and scene.shift is not None  # the samples measure both
        messages = list(dict.fromkeys(list(info.notes) + sampled.notes))

        # 2. Every block, its core's class codes into the scratch mask, its changes sorted out.
        scratch_path = Path(scratch) / "change_mask_blocks.tif"
        found = _Gathered(PixelTotals(pixel_area=px * px, grid_px=0, inside_px=0, analysed_px=0, clear_px=0),
                          GatheredPieces(Path(scratch), px))
        job = dataclasses.replace(job, scene=scene)
        task = start("block", len(blocks), "analysing blocks")
        with open_change_mask(scratch_path, shape=shape, transform=transform, crs=info_b.crs) as dst:
            for blk, out in zip(blocks, run(_analyse_block, job, blocks), strict=True):
                task.advance(f"block {blk.index[0]},{blk.index[1]}: {out.record['status']}")
                dst.write(out.codes, 1, window=blk.core)
                found.add(out)
    if found.analysed_blocks == 0 or (totals := found.totals).analysed_px == 0:
        raise InputError(f"{info_b.path} and {info_a.path}: no pixel inside the AOI is valid on both dates")
    messages += found.warnings
    frac = totals.analysed_px / max(1, totals.inside_px)
    if frac < LOW_VALID_FRACTION:
        messages.append(f"only {frac:.0%} {LOW_VALID_TEXT}; the rest is not analysed")

    # 3. Join the parts of changes larger than a halo; number every change (in the scratch folder, not in memory).
    joined = _joined_changes(found.pieces, blocks, grid, px, config.segment.min_area_m2, scratch_path)
    regions = joined.changes

    overview, overview_obscured, overview_no_data = _overview(reduced.result(), request, grid, scene.shift, config,
                                                              scratch_path, scene.fit)
    thresholds = Thresholds(gain=scene.thresholds.gain, loss=scene.thresholds.loss,
                            method=f"{scene.thresholds.method}, median of {len(sampled.sampled)} sample blocks")
    record = _blocks_record(config.blocks.block_size_px, halo, len(blocks), found, sampled, joined)
    return BlockwiseResult(
        before=overview.before, after=overview.after, aoi=aoi, config=config, thresholds=thresholds, regions=regions,
        shift=scene.shift, residual_shift=found.residual_shift(), warnings=tuple(dict.fromkeys(messages)),
        structures_seen=found.seen, masked_m2=found.masked, grid=grid, pixel_totals=totals, blocks=record,
        model=model.record() if model is not None else None,
        obscured_regions=found.obscured_regions, mask_path=scratch_path, overview_obscured=overview_obscured,
        overview_no_data=overview_no_data, chips=overview.chips, hidden_areas=found.hidden_areas(),
        class_summary=joined.summary,
    )


def _joined_changes(pieces: GatheredPieces, blocks: list[Block], grid: Grid, px: float, min_area_m2: float,
                    mask_path: Path) -> JoinedChanges:
    """The blocks' pieces of changes joined and numbered (``px``: the pixel size, metres); the class of a change
    that crosses core edges, and the slivers dropped (as no change), burnt into the scratch mask at ``mask_path``."""
    joined = pieces.join(min_area_m2)
    with rasterio.open(mask_path, "r+") as dst:
        burn(dst, joined.slivers, px, code=NO_CHANGE)
        # Other change first: where a named change overlaps it, the named one's class stands.
        for others in (True, False):
            burn(dst, (r for r in joined.changes if (r.change_class == "other_change") == others
                       and not within_one_core(r.geometry, blocks, grid.transform)), px)
    return joined


def _blocks_record(size_px: int, halo: int, count: int, found: _Gathered, sampled: SampledScene,
                   joined: JoinedChanges) -> dict[str, Any]:
    """The result's ``blocks``: how the scene was cut, where its parameters came from and what each block did."""
    scene = sampled.parameters
    return {"size_px": size_px, "halo_px": halo, "count": count, "analysed": found.analysed_blocks,
            "shift_and_thresholds_from": [list(i) for i in sampled.sampled],
            "shadow_direction_rowcol": {"before": scene.shadow_directions[0], "after": scene.shadow_directions[1]},
            "radiometric_fit": None if scene.fit is None else scene.fit.to_dict(),
            "noise_sigma": [round(v, 4) for v in scene.sigma or ()],
            "joined_changes": joined.joined,
            "per_block": found.per_block}


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
    pieces: list[Piece] = field(default_factory=list)


def _directions() -> dict[str, Any]:
    return {d: {"structure": 0, "tower": 0} for d in ("before", "after")}


@dataclass
class _Gathered:
    """What the blocks found, gathered in block order."""

    totals: PixelTotals
    #: The pieces of changes, to scratch as they come.
    pieces: GatheredPieces
    #: Structures and towers seen on each date (and ``within_m`` when they were counted near change only).
    seen: dict[str, Any] = field(default_factory=_directions)
    masked: dict[str, float] = field(default_factory=lambda: {"before": 0.0, "after": 0.0})
    obscured_regions: list[dict[str, object]] = field(default_factory=list)
    hidden: dict[str, list[BaseGeometry]] = field(default_factory=lambda: {"before": [], "after": []})
    residuals: list[dict[str, float]] = field(default_factory=list)
    per_block: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, out: _BlockOutcome) -> None:
        self.per_block.append(out.record)
        self.totals = self.totals + out.totals
        if out.record["status"] != "analysed":
            return
        if out.residual is not None:
            self.residuals.append(out.residual)
        for d in ("before", "after"):
            for k in self.seen[d]:
                self.seen[d][k] += out.seen.get(d, {}).get(k, 0)
        if "within_m" in out.seen:  # a block counted near change only: so does the scene
            self.seen["within_m"] = out.seen["within_m"]
        for k in self.masked:
            self.masked[k] += out.masked.get(k, 0.0)
        self.obscured_regions += out.obscured_regions
        for d in self.hidden:
            self.hidden[d] += out.hidden.get(d, [])
        self.warnings += out.warnings
        self.pieces.add(out.pieces)

    @property
    def analysed_blocks(self) -> int:
        return sum(1 for r in self.per_block if r["status"] == "analysed")

    def residual_shift(self) -> dict[str, float] | None:
        """The residual shift of all blocks' tiles: their count, the median of the blocks' medians, the largest."""
        if not self.residuals:
            return None
        return {"tiles": int(sum(r["tiles"] for r in self.residuals)),
                "median_px": round(float(np.median([r["median_px"] for r in self.residuals])), 2),
                "max_px": round(float(max(r["max_px"] for r in self.residuals)), 2)}

    def hidden_areas(self) -> dict[str, BaseGeometry]:
        return {d: shapely.union_all([shapely.set_precision(g, 1e-3) for g in parts]) if parts else shapely.Polygon()
                for d, parts in self.hidden.items()}


def _analyse_block(job: BlockJob, blk: Block) -> _BlockOutcome:
    """Read one block with its halo and analyse it; what it found, cut to its core."""
    core_sl = blk.core_in_padded
    record: dict[str, Any] = {"block": list(blk.index), "window": [int(blk.core.col_off), int(blk.core.row_off),
                                                                    int(blk.core.width), int(blk.core.height)]}
    px = math.sqrt(pixel_area(job.transform))
    core_px = int(blk.core.width * blk.core.height)
    not_analysed = np.full(core_shape(blk), NOT_ANALYSED, dtype="uint8")
    inside = inside_aoi(job, blk)
    if not inside[core_sl].any():
        record["status"] = "outside the AOI"
        return _BlockOutcome(record, PixelTotals(pixel_area=px * px, grid_px=core_px, inside_px=0, analysed_px=0,
                                                 clear_px=0), not_analysed)
    before, after, _ = read_block(job, blk)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        try:
            res = analyse_scenes(before, after, aoi=job.request.aoi, config=job.config, mask=job.request.mask,
                                 core=core_sl, whole_scene=job.scene, model=job.model)
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
        core_box = window_box(blk.core, job.transform)
        for d in hidden:
            area = res.hidden_area(d)
            if not area.is_empty:
                hidden[d].append(area.intersection(core_box))
    found = cut_to_core(res.regions, blk, job.transform, job.shape)
    record["changes"] = len(found)
    return _BlockOutcome(
        record=record, totals=res.totals(core_sl), codes=res.classes[core_sl].copy(), residual=res.residual_shift,
        seen=res.structures_seen, masked=res.masked_m2,
        obscured_regions=[dict(rec) | {"block": list(blk.index)} for rec in res.obscured_regions], hidden=hidden,
        # The AOI-wide share of valid pixels is said once for the whole scene.
        warnings=[f"block {blk.index[0]},{blk.index[1]}: {t}" for t in res.warnings if LOW_VALID_TEXT not in t],
        pieces=found)


@contextlib.contextmanager
def in_background(fn: Callable[[PairRequest], T], request: PairRequest) -> Iterator[Future[T]]:
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
    pair = dataclasses.replace(pair, after=normalize(pair.before, pair.after, method=config.radiometry.normalize, fit=fit))
    with rasterio.open(mask_path) as src:
        codes = src.read(1, out_shape=pair.shape, resampling=Resampling.mode)
    inside = np.ones(pair.shape, dtype=bool)
    if request.aoi is not None:
        inside = geometry_mask([request.aoi.geometry_in(grid.crs)], out_shape=pair.shape, transform=pair.transform,
                               invert=True)
    return pair, codes == OBSCURED, (codes == NOT_ANALYSED) & inside
