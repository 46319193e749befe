"""Run detection on one pair of scenes and write its outputs atomically."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from rasterio.features import geometry_mask
from rasterio.features import shapes as rio_shapes
from rasterio.transform import array_bounds
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds
from rasterio.windows import transform as window_transform
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.align import (
    aoi_window,
    apply_shift,
    band_order,
    measure_shift,
    residual_shifts,
    same_grid,
)
from campwatch.aoi import AOI, read_aoi, to_crs
from campwatch.change import ChangeMeasures, change_measures
from campwatch.changemask import class_mask, finish_change_mask, write_change_mask
from campwatch.classify import ChangeRegion, classify_changes
from campwatch.config import DetectConfig
from campwatch.errors import GridMismatchError, InputError, SceneError
from campwatch.figures import change_map
from campwatch.masks import UserMask, read_mask
from campwatch.obscured import Obscured, extend_fringe, find_obscured
from campwatch.output import OutputSet, check_writable
from campwatch.radiometry import LinearFit, fit_departure, invariant_candidates, invariant_fit, normalize
from campwatch.report import Grid, PixelTotals, build_report, write_json
from campwatch.scene import (
    Scene,
    SceneInfo,
    read_scene,
    read_scene_onto,
    scene_files,
    scene_info,
    scene_info_undated,
    sha256_file,
)
from campwatch.segment import change_mask, clean_mask, label_regions
from campwatch.structures import find_structures
from campwatch.threshold import Thresholds, choose_thresholds

if TYPE_CHECKING:
    from campwatch.blocks import BlockwiseResult
    from campwatch.views import ChangeView

__all__ = ["DetectResult", "PairResult", "pair_analysis", "seen_fraction", "detect", "detect_scenes", "pair_info", "pair_parameters", "PairParameters", "read_pair", "run_detect", "write_outputs", "stage_outputs", "OUTPUT_NAMES"]

logger = logging.getLogger(__name__)

#: The files a detect run writes, in the order they are committed (report last).
OUTPUT_NAMES = ("change_mask.tif", "change_map.png", "report.geojson")

#: Below this fraction of the AOI valid on both dates, the run warns.
LOW_VALID_FRACTION = 0.5
LOW_VALID_TEXT = "of the AOI is valid on both dates"

#: A phase-correlation peak weaker than this (in sigmas of the surface) measures nothing.
MIN_SHIFT_STRENGTH = 8.0

#: A block's own radiometric fit stands unless it maps the block's pixels further than this
#: from the scene's fit (median, in noise sigmas): local differences of a mosaic's radiometry
#: stay within it (Joplin's blocks of 1,024 px: 0.1 to 0.2), a change covering two thirds of a
#: block does not (tests/test_blocks.py: 16).
MAX_FIT_DEPARTURE = 1.0


@dataclass(frozen=True)
class DetectResult:
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

    def obscured_fraction(self, date: str) -> float:
        """The share of the AOI that ``date`` ("before" or "after") does not show.

        Nodata on that date and the clouds and cloud shadows attributed to it, over every
        pixel of the AOI window inside the AOI.
        """
        return self.totals().obscured_fraction(date)

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

    def view(self, *, credit: str | None = None) -> ChangeView:
        """The :class:`campwatch.views.ChangeView` of the run."""
        from campwatch.views import view_from_result

        return view_from_result(self, credit=credit)

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


#: A pair's result: analysed whole (:class:`DetectResult`) or block by block (:class:`campwatch.blocks.BlockwiseResult`).
PairResult: TypeAlias = "DetectResult | BlockwiseResult"


def seen_fraction(geometry: BaseGeometry, transform: Any, shape_: tuple[int, int], usable: Any) -> float:
    """The share of ``geometry`` whose pixels ``usable(window)`` says were analysed and not obscured."""
    px = math.sqrt(abs(transform.a * transform.e - transform.b * transform.d))
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


@contextlib.contextmanager
def pair_analysis(
    before_path: str | Path,
    after_path: str | Path,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    mask: UserMask | None = None,
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
    workers: int = 1,
) -> Iterator[PairResult]:
    """Analyse a pair, whole or block by block as its size asks; the result lives inside the ``with``.

    An AOI window larger than one block (``config.block_size_px`` and its halo) is analysed
    block by block (:func:`campwatch.blocks.detect_blockwise`), its class mask in a scratch
    folder removed on leaving the ``with``, ``workers`` blocks at once; a smaller one whole
    (:func:`detect`). Raises like :func:`detect`.
    """
    from campwatch.blocks import detect_blockwise, needs_blocks

    config = config or DetectConfig()
    infos = pair_info(before_path, after_path, dates=dates, bands=bands)
    info_b = infos[0]
    window = aoi_window(info_b, aoi)
    if not needs_blocks((int(window.height), int(window.width)), config, math.sqrt(_pixel_area(info_b))):
        yield _detect(before_path, after_path, infos, aoi=aoi, config=config, dates=dates, mask=mask)
        return
    with tempfile.TemporaryDirectory(prefix="campwatch-blocks-") as scratch:
        yield detect_blockwise(before_path, after_path, scratch=scratch, aoi=aoi, config=config, dates=dates,
                               mask=mask, bands=bands, workers=workers)


def _warn(messages: list[str], text: str) -> None:
    messages.append(text)
    logger.warning(text)


def detect(
    before_path: str | Path,
    after_path: str | Path,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    mask: UserMask | None = None,
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
) -> DetectResult:
    """Detect and classify change between two co-registered scenes.

    Parameters
    ----------
    before_path, after_path : str or Path
        Dated GeoTIFFs (the date in each name or TIFF tags; ``before`` the earlier). When
        their grids differ (CRS, pixel size, extent), the later image is resampled onto
        the earlier one's grid over the AOI; bands named in both are matched by name.
    aoi : AOI, optional
        Only the AOI's window is read and only pixels inside it are analysed.
    config : DetectConfig, optional
    dates : pair of datetime.date or None
        Acquisition dates that replace what the file names and tags say (for files or
        folders that carry none); recorded in the report's warnings.
    mask : UserMask, optional
        Areas the user says not to analyse (:mod:`campwatch.masks`), on one date or all.
    bands : pair of tuples of band names, optional
        The bands of each file in order (:func:`campwatch.scene.parse_band_names`), for
        files that do not name them or name them wrongly.

    Returns
    -------
    DetectResult

    Raises
    ------
    SceneError, GridMismatchError, AOIError, InputError
        For every unusable input, naming the file and the problem.

    Notes
    -----
    Memory: about 12 float32 values per band per pixel of the AOI window.
    """
    return _detect(before_path, after_path, pair_info(before_path, after_path, dates=dates, bands=bands), aoi=aoi,
                   config=config, dates=dates, mask=mask)


def _detect(
    before_path: str | Path,
    after_path: str | Path,
    infos: tuple[SceneInfo, SceneInfo, tuple[int, ...], tuple[int, ...], list[str]],
    *,
    aoi: AOI | None,
    config: DetectConfig | None,
    dates: tuple[dt.date | None, dt.date | None],
    mask: UserMask | None,
) -> DetectResult:
    """:func:`detect` once the pair's metadata (:func:`pair_info`) is known."""
    config = config or DetectConfig()
    info_b, info_a, idx_b, idx_a, notes = infos
    notes = list(notes)
    before, after, read_notes = _read_pair(before_path, after_path, info_b, info_a, idx_b, idx_a, aoi=aoi,
                                           dates=dates)
    notes += read_notes
    return detect_scenes(before, after, aoi=aoi, config=config, notes=notes, mask=mask)


def pair_info(
    before_path: str | Path,
    after_path: str | Path,
    *,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
) -> tuple[SceneInfo, SceneInfo, tuple[int, ...], tuple[int, ...], list[str]]:
    """The metadata of a pair, the bands of each file to compare (1-based) and notes on them.

    Raises like :func:`detect` when the dates are missing, equal or in the wrong order.
    """
    info_b, info_a = _dated_info(before_path, dates[0], bands[0]), _dated_info(after_path, dates[1], bands[1])
    idx_b, idx_a, notes = band_order(info_b, info_a)
    for names, info in zip(bands, (info_b, info_a), strict=True):
        if names is not None:
            notes.append(f"{info.path.name}: bands named by the user: {', '.join(n or '-' for n in names)}")
    for day, info in zip(dates, (info_b, info_a), strict=True):
        if day is not None:
            notes.append(f"{info.path.name}: date {day.isoformat()} given by the user")
    if info_b.date == info_a.date:
        raise InputError(
            f"{info_b.path} and {info_a.path} have the same date ({info_b.date}); "
            "a comparison needs two different dates"
        )
    if info_b.date > info_a.date:
        raise InputError(
            f"the before image {info_b.path} ({info_b.date}) is later than the after image "
            f"{info_a.path} ({info_a.date}); give the earlier image first"
        )
    return info_b, info_a, idx_b, idx_a, notes


def read_pair(
    before_path: str | Path,
    after_path: str | Path,
    *,
    aoi: AOI | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
) -> tuple[Scene, Scene, list[str]]:
    """Read two scenes onto the earlier one's grid over the AOI's window.

    The later image is read directly when both share a grid, else resampled onto the
    earlier one's (only the window); bands are matched by name. Returns both scenes and
    notes on what was done. Raises like :func:`detect`.
    """
    info_b, info_a, idx_b, idx_a, _ = pair_info(before_path, after_path, dates=dates, bands=bands)
    return _read_pair(before_path, after_path, info_b, info_a, idx_b, idx_a, aoi=aoi, dates=dates)


def _read_pair(
    before_path: str | Path,
    after_path: str | Path,
    info_b: SceneInfo,
    info_a: SceneInfo,
    idx_b: tuple[int, ...],
    idx_a: tuple[int, ...],
    *,
    aoi: AOI | None,
    dates: tuple[dt.date | None, dt.date | None],
    window: Window | None = None,
    check_overlap: bool = True,
) -> tuple[Scene, Scene, list[str]]:
    """:func:`read_pair` once the files' metadata and band order are known.

    ``window``: read this window of the before image's grid instead of the AOI's;
    ``check_overlap=False``: an after image that does not reach the window gives an
    all-invalid scene instead of an error (a block of a larger window).
    """
    notes: list[str] = []
    window = window if window is not None else aoi_window(info_b, aoi)
    logger.info("reading %s and %s (window %s)", info_b.path.name, info_a.path.name, window)
    before = _bands(read_scene(before_path, window=window, date=dates[0]), idx_b, info_b)
    if same_grid(info_b, info_a):
        after = _bands(read_scene(after_path, window=window, date=dates[1]), idx_a, info_a)
    else:
        # Put the later image onto the earlier one's grid, over the AOI's window only.
        if check_overlap:
            check_overlap_of(info_b, info_a, before.transform, before.shape, aoi)
        after = read_scene_onto(after_path, crs=before.crs, transform=before.transform, shape=before.shape,
                                bands=idx_a, date=dates[1])
        after = dataclasses.replace(after, band_names=tuple(info_a.band_names[i - 1] for i in idx_a))
        notes += [f"{info_a.path.name}: {n}" for n in after.notes]
    return before, after, notes


def check_overlap_of(
    info_b: SceneInfo, info_a: SceneInfo, transform: Any, shape: tuple[int, int], aoi: AOI | None
) -> None:
    """Raise the error that says the later image does not reach the grid ``transform``, ``shape`` of the earlier."""
    left, bottom, right, top = array_bounds(shape[0], shape[1], transform)
    a_left, a_bottom, a_right, a_top = transform_bounds(info_a.crs, info_b.crs, *_info_bounds(info_a))
    if a_left >= right or a_right <= left or a_bottom >= top or a_top <= bottom:
        raise InputError(
            f"{info_a.path} does not overlap {info_b.path}"
            + (f" inside AOI '{aoi.name}'" if aoi is not None else "")
            + f": {tuple(round(v, 1) for v in (a_left, a_bottom, a_right, a_top))} vs "
            f"{tuple(round(v, 1) for v in (left, bottom, right, top))} in {info_b.crs.to_string()}"
        )


def _dated_info(path: str | Path, date: dt.date | None, bands: tuple[str | None, ...] | None = None) -> SceneInfo:
    """A scene's metadata; a given date replaces the file's (and spares a file without one),
    given band names the file's."""
    if date is None:
        info = scene_info(path)
    else:
        try:
            info = scene_info(path)
        except SceneError as exc:
            if "acquisition date" not in str(exc) and "date tag" not in str(exc):
                raise
            # The file carries no date of its own: read its grid under a dated stand-in name.
            info = scene_info_undated(path)
        info = dataclasses.replace(info, date=date)
    if bands is not None:
        if len(bands) != info.count:
            raise InputError(f"{path}: {len(bands)} band names given ({', '.join(n or '-' for n in bands)}) "
                             f"for {info.count} bands; give one name (or -) per band, in order")
        info = dataclasses.replace(info, band_names=tuple(bands))
    return info


def _bands(scene: Scene, indexes: tuple[int, ...], info: SceneInfo) -> Scene:
    """The bands ``indexes`` (1-based) of ``scene``, named as ``info`` names them."""
    keep = [i - 1 for i in indexes]
    names = tuple(info.band_names[i] for i in keep)
    if indexes == tuple(range(1, scene.data.shape[0] + 1)):
        return scene if names == scene.band_names else dataclasses.replace(scene, band_names=names)
    return dataclasses.replace(scene, data=scene.data[keep], band_names=names)


def _info_bounds(info: SceneInfo) -> tuple[float, float, float, float]:
    return array_bounds(info.height, info.width, info.transform)


def detect_scenes(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    notes: list[str] | tuple[str, ...] = (),
    mask: UserMask | None = None,
    shift: tuple[float, float] | None = None,
    core: tuple[slice, slice] | None = None,
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
    radiometry: LinearFit | None = None,
    noise_sigma: tuple[float, ...] | None = None,
) -> DetectResult:
    """Detect and classify change between two scenes already read onto one grid.

    The core of :func:`detect`, for scenes made in memory (for example dataset pairs
    without georeferencing). Raises like :func:`detect`.

    Parameters
    ----------
    shift : (row, col) of float, optional
        Move the after scene by this shift instead of measuring it (a block of a larger
        scene takes the shift measured for the whole scene).
    core : pair of slices, optional
        The part of the grid this run answers for (a block's core, without its halo):
        the structures seen and the area masked by the user are counted there only.
    shadow_directions : pair of (row, col) unit vectors or None
        The direction of shadows on each date, when measured beforehand on the whole image.
    radiometry : LinearFit, optional
        The gain and offset that match the after scene to the before one, fitted
        beforehand on the whole image (with ``normalize="invariant"``): used instead of the
        pair's own when that departs from it by more than :data:`MAX_FIT_DEPARTURE` noise
        sigmas (needs ``noise_sigma``).
    noise_sigma : tuple of float, optional
        The noise sigma of each band's difference, when measured beforehand.
    """
    config = config or DetectConfig()
    prep = _prepare(before, after, aoi=aoi, config=config, notes=notes, mask=mask, shift=shift, core=core,
                    fit=radiometry, sigma=noise_sigma)
    before, after, messages = prep.before, prep.after, prep.messages
    measures, thresholds, change_labels, raw, obscured = _thresholded(prep, config, sigma=noise_sigma)
    for rec in obscured.regions:
        _warn(messages, f"{rec['kind']} on {rec['date']}: {rec['obscured_m2']:.0f} m2 obscured "
                        f"(not analysed), {rec['seen_through_m2']:.0f} m2 seen through (structures only)")
    labels, regions, seen = classify_changes(
        change_labels, before, after, measures, config,
        threshold=min(thresholds.gain, thresholds.loss), obscured=obscured.mask,
        veiled=(obscured.seen_through_before, obscured.seen_through_after), raw_changed=raw,
        fence_lines=[to_crs(f, before.crs) for f in aoi.fences] if aoi is not None and aoi.fences else None,
        known=_known_features(aoi, before), count_within=core, shadow_directions=shadow_directions,
    )
    logger.info("%d changes", len(regions))
    classes = class_mask(labels, regions, prep.analysed, obscured=obscured.mask)
    return DetectResult(
        before=before,
        after=after,
        aoi=aoi,
        config=config,
        measures=measures,
        thresholds=thresholds,
        labels=labels,
        classes=classes,
        regions=regions,
        analysed=prep.analysed,
        obscured=obscured,
        inside=prep.inside,
        shift=prep.shift,
        warnings=tuple(messages),
        structures_seen=seen,
        masked_m2=prep.masked,
        residual_shift=prep.residual,
    )


@dataclass(frozen=True)
class _Prepared:
    """A pair made ready for the change measures: masked, co-registered, radiometrically matched."""

    before: Scene
    after: Scene
    inside: np.ndarray
    analysed: np.ndarray
    shift: tuple[float, float]
    #: Whether ``shift`` was measured here (False: given, or the correlation was too weak).
    shift_measured: bool
    residual: dict[str, float] | None
    masked: dict[str, float]
    messages: list[str]
    #: The radiometric fit applied to the after scene (None: none, or histogram matching).
    fit: LinearFit | None = None


def _prepare(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None,
    config: DetectConfig,
    notes: list[str] | tuple[str, ...],
    mask: UserMask | None,
    shift: tuple[float, float] | None,
    core: tuple[slice, slice] | None = None,
    measure_residual: bool = True,
    fit: LinearFit | None = None,
    sigma: tuple[float, ...] | None = None,
) -> _Prepared:
    """Apply the user's mask and the AOI, co-register and match the radiometry of a pair.

    ``fit`` and ``sigma``: the radiometric fit and noise of the whole scene, when this pair
    is a block of it. The block's own fit is used unless it departs from the scene's by
    more than :data:`MAX_FIT_DEPARTURE` noise sigmas: then one change covers most of the
    block and its own fit would match that change away, so the scene's is used.
    """
    messages: list[str] = []
    for note in notes:
        _warn(messages, note)
    if before.data.shape != after.data.shape:
        raise GridMismatchError(
            f"the scenes differ in shape ({before.data.shape} vs {after.data.shape}); they must share one grid"
        )
    masked = {"before": 0.0, "after": 0.0}
    if mask is not None:
        # What the user masks is nodata on that date: not analysed, counted as hidden.
        scenes = []
        for key, scene in (("before", before), ("after", after)):
            m = mask.pixels(scene.date, crs=scene.crs, transform=scene.transform, shape=scene.shape) & scene.valid
            masked[key] = float(m[core].sum() if core is not None else m.sum()) * scene.pixel_area
            if m.any():
                data = scene.data.copy()
                data[:, m] = 0
                scene = dataclasses.replace(scene, data=data, valid=scene.valid & ~m)
                if masked[key] > 0:
                    _warn(messages, f"{scene.path.name if scene.path else key}: {masked[key]:.0f} m2 masked by "
                                    f"{Path(mask.path).name if mask.path else 'the user'} (not analysed)")
            scenes.append(scene)
        before, after = scenes
    inside = np.ones(before.shape, dtype=bool)
    if aoi is not None:
        inside = geometry_mask(
            [aoi.geometry_in(before.crs)], out_shape=before.shape, transform=before.transform, invert=True
        )
    for scene in (before, after):
        if not (scene.valid & inside).any():
            raise InputError(f"{scene.path}: no valid pixel inside the AOI (all nodata)")

    measured = False
    residual: dict[str, float] | None = None
    if shift is not None:
        after = apply_shift(after, shift)
    elif config.coregister:
        shift = (0.0, 0.0)
        est = measure_shift(before, after, max_shift=config.max_shift_px)
        if est.outside is not None and est.outside[1] >= max(MIN_SHIFT_STRENGTH, 2.0 * est.strength):
            (dr, dc), _ = est.outside
            raise GridMismatchError(
                f"{after.path} is shifted by {math.hypot(dr, dc):.1f} pixels (row {dr:+.0f}, col {dc:+.0f}) "
                f"against {before.path}, more than max_shift_px={config.max_shift_px}; "
                "co-register the images first or raise max_shift_px"
            )
        if est.strength >= MIN_SHIFT_STRENGTH:
            shift, measured = est.shift, True
            logger.info("measured shift (row, col) = (%.2f, %.2f) px, peak %.0f sigma", *shift, est.strength)
            after = apply_shift(after, shift)
        else:
            _warn(messages, f"the shift between the images could not be measured (correlation peak "
                            f"{est.strength:.1f} sigma); taken as co-registered")
    else:
        shift = (0.0, 0.0)
    if config.coregister and measure_residual:
        residuals = [math.hypot(dr, dc) for dr, dc in residual_shifts(before, after, max_shift=config.max_shift_px,
                                                                       min_strength=MIN_SHIFT_STRENGTH)]
        if residuals:
            residual = {"tiles": len(residuals), "median_px": round(float(np.median(residuals)), 2),
                        "max_px": round(float(max(residuals)), 2)}
            if residual["max_px"] > 1.0:
                _warn(messages, f"after the shift was corrected, parts of the images are still "
                                f"{residual['max_px']:.1f} px apart (phase correlation on {len(residuals)} tiles): "
                                "edges there may show as change")

    analysed = before.valid & after.valid & inside
    frac = float(analysed.sum()) / max(1, int(inside.sum()))
    if frac == 0:
        raise InputError(
            f"{before.path} and {after.path}: no pixel inside the AOI is valid on both dates"
        )
    if frac < LOW_VALID_FRACTION:
        _warn(messages, f"only {frac:.0%} {LOW_VALID_TEXT}; the rest is not analysed")

    scene_fit, fit = fit, None
    if config.normalize == "invariant":
        fit = invariant_fit(before, after)
        if scene_fit is not None and sigma is not None:
            departure = fit_departure(fit, scene_fit, after.data, analysed, sigma)
            logger.info("the radiometric fit departs from the scene's by %.2f noise sigmas", departure)
            if departure > MAX_FIT_DEPARTURE:
                _warn(messages, f"radiometry departs from the scene's by {departure:.1f} noise sigmas (a change "
                                "covers most of the block): the scene's radiometric fit is used")
                fit = scene_fit
    after = normalize(before, after, method=config.normalize, fit=fit)
    return _Prepared(before=before, after=after, inside=inside, analysed=analysed, shift=shift,
                     shift_measured=measured, residual=residual, masked=masked, messages=messages, fit=fit)


def _thresholded(
    prep: _Prepared, config: DetectConfig, *, sigma: tuple[float, ...] | None = None
) -> tuple[ChangeMeasures, Thresholds, np.ndarray, np.ndarray, Obscured]:
    """Change measures, thresholds, change regions and clouds of a prepared pair (``sigma``: the bands' noise, if known)."""
    before, after, analysed = prep.before, prep.after, prep.analysed
    measures, thresholds, change_labels, raw = _change_regions(before, after, analysed, config, sigma=sigma)
    obscured = find_obscured(change_labels, before, after, measures, config)
    if obscured.found:
        # A cloud's change set the thresholds: choose them again without it. Lower
        # thresholds reach further into the cloud's fringe: take that in too.
        clouds = obscured.mask | obscured.seen_through
        measures, thresholds, change_labels, raw = _change_regions(
            before, after, analysed & ~obscured.mask, config, exclude=clouds, sigma=sigma
        )
        obscured = extend_fringe(obscured, change_labels, measures)
    return measures, thresholds, change_labels, raw, obscured


@dataclass(frozen=True)
class PairParameters:
    """What :func:`detect_scenes` chooses from the data of a pair, measured on a part of it."""

    thresholds: Thresholds
    #: The shift measured, or None when it could not be.
    shift: tuple[float, float] | None
    #: The direction of shadows on each date, (row, col) unit vectors, or None.
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None]
    #: How many pixels were valid on both dates.
    analysed_px: int
    #: The radiometric fit of the after scene onto the before one (None: not an invariant fit).
    fit: LinearFit | None = None
    #: The noise sigma of each band's difference.
    sigma: tuple[float, ...] = ()


def pair_parameters(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    mask: UserMask | None = None,
) -> PairParameters:
    """The thresholds, shift and shadow directions :func:`detect_scenes` would find on a pair.

    Used on sample blocks to choose one set of them for a scene analysed block by block.
    Raises like :func:`detect_scenes`.
    """
    config = config or DetectConfig()
    prep = _prepare(before, after, aoi=aoi, config=config, notes=(), mask=mask, shift=None, measure_residual=False)
    measures, thresholds, _, _, obscured = _thresholded(prep, config)
    usable = prep.analysed & ~obscured.mask
    directions = tuple(find_structures(scene, config=config, valid=usable).direction for scene in (before, prep.after))
    return PairParameters(thresholds=thresholds, shift=prep.shift if prep.shift_measured else None,
                          shadow_directions=(directions[0], directions[1]), analysed_px=int(prep.analysed.sum()),
                          fit=prep.fit, sigma=measures.sigma)


def _known_features(aoi: AOI | None, scene: Scene) -> np.ndarray | None:
    """Pixels where the AOI file says towers (2 m around each point) and structures stand."""
    if aoi is None or not (aoi.towers or aoi.structures):
        return None
    shapes = [to_crs(t, scene.crs).buffer(2.0) for t in aoi.towers]
    shapes += [to_crs(g, scene.crs) for g in aoi.structures]
    return geometry_mask(shapes, out_shape=scene.shape, transform=scene.transform, invert=True)


def _change_regions(
    before: Scene,
    after: Scene,
    analysed: np.ndarray,
    config: DetectConfig,
    *,
    exclude: np.ndarray | None = None,
    sigma: tuple[float, ...] | None = None,
) -> tuple[ChangeMeasures, Thresholds, np.ndarray, np.ndarray]:
    """Change measures, thresholds, labelled cleaned change regions, and the raw change mask of a pair.

    Pixels in ``exclude`` are analysed but do not count towards the thresholds. ``sigma``:
    the noise sigma of each band, when measured beforehand (else measured here over
    pseudo-invariant pixels).
    """
    invariant = None if sigma is not None else invariant_candidates(after.data, before.data, analysed,
                                                                    after.band_names)
    measures = change_measures(before, after, valid=analysed, noise_mask=invariant, sigma=sigma)
    if exclude is not None:
        stats = dataclasses.replace(
            measures, valid=measures.valid & ~exclude, noise_reference=measures.noise_reference & ~exclude
        )
        thresholds = choose_thresholds(stats if stats.valid.any() else measures, config)
    else:
        thresholds = choose_thresholds(measures, config)
    logger.info("thresholds: gain %.2f, loss %.2f (%s)", thresholds.gain, thresholds.loss, thresholds.method)
    pixel = float(np.sqrt(before.pixel_area))
    raw = change_mask(measures, thresholds, hysteresis_ratio=config.hysteresis_ratio)
    cleaned = clean_mask(raw, pixel_size=pixel, config=config)
    return measures, thresholds, label_regions(cleaned), raw


def write_outputs(
    result: DetectResult | BlockwiseResult,
    out_dir: str | Path,
    *,
    inputs: list[dict[str, str]],
    credit: str | None = None,
) -> dict[str, Path]:
    """Write the change mask, the change map and the report into ``out_dir``, atomically.

    Returns
    -------
    dict
        Output name to its final path.
    """
    with OutputSet(out_dir) as outs:
        stage_outputs(result, outs, inputs=inputs, credit=credit)
        return {name: outs.final_path(name) for name in OUTPUT_NAMES}


def stage_outputs(
    result: DetectResult | BlockwiseResult,
    outs: OutputSet,
    *,
    inputs: list[dict[str, str]],
    credit: str | None = None,
    prefix: str = "",
) -> dict[str, str]:
    """Write a pair's outputs into an open :class:`OutputSet` under ``prefix``.

    Returns the SHA-256 of each file written (keyed by its name under ``prefix``).
    """
    from campwatch.blocks import BlockwiseResult

    mask_path = outs.path(prefix + "change_mask.tif")
    tags = {"BEFORE_DATE": result.before.date.isoformat(), "AFTER_DATE": result.after.date.isoformat()}
    if isinstance(result, BlockwiseResult):
        finish_change_mask(result.mask_path, mask_path, tags=tags)
        source: DetectResult | ChangeView = result.view(credit=credit)
    else:
        write_change_mask(result.classes, mask_path, transform=result.before.transform, crs=result.before.crs,
                          tags=tags)
        source = result
    map_path = outs.path(prefix + "change_map.png")
    fig = change_map(source, credit=credit)
    FigureCanvasAgg(fig)
    fig.savefig(map_path, dpi=150, metadata={"Software": None})
    hashes = {name: sha256_file(outs.path(prefix + name)) for name in ("change_mask.tif", "change_map.png")}
    report = build_report(result, inputs=inputs, outputs=hashes)
    report_path = outs.path(prefix + "report.geojson")
    write_json(report, report_path)
    return hashes | {"report.geojson": sha256_file(report_path)}


def imagery_credit(result: DetectResult | BlockwiseResult) -> str | None:
    """The credit line for figures: from the images' tags, else the AOI file's ``credit``."""
    credits = []
    for scene in (result.before, result.after):
        if scene.credit and scene.credit not in credits:
            credits.append(scene.credit)
    if credits:
        return "; ".join(credits)
    if result.aoi is not None and isinstance(result.aoi.properties.get("credit"), str):
        return str(result.aoi.properties["credit"])
    return None


def input_records(
    before_path: str | Path,
    after_path: str | Path,
    *,
    aoi_path: str | Path | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    mask_path: str | Path | None = None,
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
) -> list[dict[str, str]]:
    """The provenance record of a pair's inputs: role, absolute path and SHA-256 of each file.

    A folder of tiles gives one record per tile. A date the user gave is kept as
    ``date_given`` so that the run can be repeated (``campwatch verify``).
    """
    records = []
    for role, path, given, names in (("before", before_path, dates[0], bands[0]),
                                     ("after", after_path, dates[1], bands[1])):
        for f in scene_files(path):
            rec = {"role": role, "path": str(f.resolve()), "sha256": sha256_file(f)}
            if given is not None:
                rec["date_given"] = given.isoformat()
            if names is not None:
                rec["bands_given"] = ",".join(n or "-" for n in names)
            if Path(path).is_dir():
                rec["scene"] = str(Path(path).resolve())
            records.append(rec)
    if aoi_path is not None:
        records.append({"role": "aoi", "path": str(Path(aoi_path).resolve()), "sha256": sha256_file(aoi_path)})
    if mask_path is not None:
        records.append({"role": "mask", "path": str(Path(mask_path).resolve()), "sha256": sha256_file(mask_path)})
    return records


def run_detect(
    before_path: str | Path,
    after_path: str | Path,
    out_dir: str | Path,
    *,
    aoi_path: str | Path | None = None,
    config: DetectConfig | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    mask_path: str | Path | None = None,
    bands: tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None] = (None, None),
    workers: int = 1,
) -> tuple[DetectResult | BlockwiseResult, dict[str, Path]]:
    """Read inputs, detect change, write outputs: what ``campwatch detect`` does.

    An AOI window larger than one block (``config.block_size_px`` and its halo) is analysed
    block by block (:func:`campwatch.blocks.detect_blockwise`), ``workers`` blocks at once:
    memory stays bounded.

    Nothing is written unless every input is valid and the analysis succeeds; then all
    outputs appear together (see :class:`campwatch.output.OutputSet`).
    """
    check_writable(out_dir)
    aoi = read_aoi(aoi_path) if aoi_path is not None else None
    mask = read_mask(mask_path) if mask_path is not None else None
    with warnings.catch_warnings(), pair_analysis(before_path, after_path, aoi=aoi, config=config, dates=dates,
                                                  mask=mask, bands=bands, workers=workers) as result:
        warnings.simplefilter("ignore", category=RuntimeWarning)
        inputs = input_records(before_path, after_path, aoi_path=aoi_path, dates=dates, mask_path=mask_path,
                               bands=bands)
        paths = write_outputs(result, out_dir, inputs=inputs, credit=imagery_credit(result))
    return result, paths


def _pixel_area(info: SceneInfo) -> float:
    t = info.transform
    return abs(t.a * t.e - t.b * t.d)


