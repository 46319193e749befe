"""Read a pair of dated images onto one grid: the earlier image's, over the AOI's window.

A :class:`PairRequest` names the two images and what the user says of them (dates, band
names, the AOI, areas not to analyse); :func:`pair_info` reads and checks their metadata
(:class:`PairInfo`); :func:`read_pair` reads their pixels, the later image resampled onto
the earlier one's grid when the grids differ; :func:`read_reduced_pair` reads both reduced
(pixel averages) for figures of a large window.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rasterio.windows
import shapely
from affine import Affine
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import array_bounds
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window, from_bounds

from campwatch.errors import AOIError, GridMismatchError, InputError, SceneError
from campwatch.io.aoi import AOI
from campwatch.io.bands import ALPHA, IGNORED, NOT_COMPARED
from campwatch.io.masks import UserMask
from campwatch.io.scene import (
    Scene,
    SceneInfo,
    read_scene,
    read_scene_onto,
    scene_info,
    scene_info_undated,
)

__all__ = ["PairRequest", "pixel_size_m", "PairInfo", "pair_info", "read_pair", "check_overlap", "aoi_window", "same_grid",
           "band_order", "ReducedPair", "read_reduced_pair", "OVERVIEW_PX", "Dates", "BandNames"]

logger = logging.getLogger(__name__)

#: Acquisition dates the user gives for (before, after); None: from the file.
Dates = tuple[dt.date | None, dt.date | None]
#: Band names the user gives for (before, after), in file band order; None: from the file.
BandNames = tuple[tuple[str | None, ...] | None, tuple[str | None, ...] | None]


@dataclass(frozen=True)
class PairRequest:
    """Two dated images to compare, and what the user says of them.

    Parameters
    ----------
    before, after : str or Path
        Each a GeoTIFF or a folder of tiles of one image; ``before`` the earlier.
    dates : pair of datetime.date or None
        Acquisition dates that replace what the file names and tags say.
    bands : pair of tuples of band names or None
        The bands of each file in order (:func:`campwatch.io.bands.parse_band_names`).
    aoi : AOI, optional
        Only the AOI's window is read and only pixels inside it are analysed.
    mask : UserMask, optional
        Areas the user says not to analyse (:mod:`campwatch.io.masks`).
    model : str or Path, optional
        A learned change model to run after co-registration and radiometric matching: its
        ONNX file, its card, or its name in the user's models folder (``campwatch models``).
        None (default): the classical stages only. See docs/models.md.
    """

    before: str | Path
    after: str | Path
    dates: Dates = (None, None)
    bands: BandNames = (None, None)
    aoi: AOI | None = None
    mask: UserMask | None = None
    model: str | Path | None = None


@dataclass(frozen=True)
class PairInfo:
    """The metadata of a pair: each file's, the bands of each to compare (1-based) and notes on them."""

    before: SceneInfo
    after: SceneInfo
    before_bands: tuple[int, ...]
    after_bands: tuple[int, ...]
    notes: tuple[str, ...] = ()
    #: Whether ``before`` is not the file's own grid but a projected one it is resampled onto
    #: (a file in degrees is analysed in metres, on its UTM zone's grid).
    before_warped: bool = False

    @property
    def same_grid(self) -> bool:
        """Whether both files share CRS, transform and size."""
        return same_grid(self.before, self.after)

    @property
    def band_names(self) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
        """The names of the bands compared, of the before and of the after file, in order."""
        return (tuple(self.before.band_names[i - 1] for i in self.before_bands),
                tuple(self.after.band_names[i - 1] for i in self.after_bands))


def pair_info(request: PairRequest) -> PairInfo:
    """Read and check the metadata of a pair.

    Raises
    ------
    SceneError, GridMismatchError, InputError
        When a file is unreadable, the dates are missing, equal or in the wrong order, or
        the bands cannot be matched.
    """
    dates, bands = request.dates, request.bands
    info_b = _dated_info(request.before, dates[0], bands[0])
    info_a = _dated_info(request.after, dates[1], bands[1])
    idx_b, idx_a, notes = band_order(info_b, info_a)
    notes += [*info_b.notes, *info_a.notes]
    warped = info_b.crs.is_geographic
    if warped:
        degrees = info_b.crs.to_string()
        info_b = projected_grid(info_b)
        notes.append(f"{info_b.path.name}: in degrees ({degrees}); analysed in metres on "
                     f"{info_b.crs.to_string()} at {info_b.res[0]:.2f} m (bilinear)")
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
    return PairInfo(info_b, info_a, idx_b, idx_a, tuple(notes), before_warped=warped)


def read_pair(
    request: PairRequest,
    info: PairInfo | None = None,
    *,
    window: Window | None = None,
    must_overlap: bool = True,
) -> tuple[Scene, Scene, list[str]]:
    """Read two scenes onto the earlier one's grid over the AOI's window.

    The later image is read directly when both share a grid, else resampled onto the
    earlier one's (only the window); bands are matched by name. Returns both scenes and
    notes on what was done.

    Parameters
    ----------
    info : PairInfo, optional
        The pair's metadata, when read already (:func:`pair_info`).
    window : Window, optional
        Read this window of the before image's grid instead of the AOI's.
    must_overlap : bool
        False: an after image that does not reach the window gives an all-invalid scene
        instead of an error (a block of a larger window).

    Raises
    ------
    SceneError, GridMismatchError, AOIError, InputError
        As :func:`pair_info`, and when the later image does not reach the window.
    """
    info = info if info is not None else pair_info(request)
    info_b, info_a = info.before, info.after
    notes: list[str] = []
    window = window if window is not None else aoi_window(info_b, request.aoi)
    logger.info("reading %s and %s (window %s)", info_b.path.name, info_a.path.name, window)
    if info.before_warped:
        transform = rasterio.windows.transform(window, info_b.transform)
        before = read_scene_onto(request.before, crs=info_b.crs, transform=transform,
                                 shape=(int(window.height), int(window.width)), bands=info.before_bands,
                                 date=request.dates[0])
        before = dataclasses.replace(before, band_names=info.band_names[0], window=window)
    else:
        before = _bands(read_scene(request.before, window=window, date=request.dates[0]), info.before_bands, info_b)
    if info.same_grid:
        after = _bands(read_scene(request.after, window=window, date=request.dates[1]), info.after_bands, info_a)
    else:
        # Put the later image onto the earlier one's grid, over the AOI's window only.
        if must_overlap:
            check_overlap(info, before.transform, before.shape, request.aoi)
        after = read_scene_onto(request.after, crs=before.crs, transform=before.transform, shape=before.shape,
                                bands=info.after_bands, date=request.dates[1])
        after = dataclasses.replace(after, band_names=info.band_names[1])
        notes += [f"{info_a.path.name}: {n}" for n in after.notes]
    return before, after, notes


def check_overlap(info: PairInfo, transform: Affine, shape: tuple[int, int], aoi: AOI | None) -> None:
    """Raise the error that says the later image does not reach the grid ``transform``, ``shape`` of the earlier.

    Raises
    ------
    InputError
        When it does not.
    """
    info_b, info_a = info.before, info.after
    left, bottom, right, top = array_bounds(shape[0], shape[1], transform)
    a_left, a_bottom, a_right, a_top = transform_bounds(info_a.crs, info_b.crs, *info_a.bounds)
    if a_left >= right or a_right <= left or a_bottom >= top or a_top <= bottom:
        raise InputError(
            f"{info_a.path} does not overlap {info_b.path}"
            + (f" inside AOI '{aoi.name}'" if aoi is not None else "")
            + f": {tuple(round(v, 1) for v in (a_left, a_bottom, a_right, a_top))} vs "
            f"{tuple(round(v, 1) for v in (left, bottom, right, top))} in {info_b.crs.to_string()}"
        )


def same_grid(before: SceneInfo, after: SceneInfo) -> bool:
    """True when two scenes share CRS, transform and size."""
    return (
        before.crs == after.crs
        and (before.width, before.height) == (after.width, after.height)
        and before.transform.almost_equals(after.transform, precision=1e-6 * max(before.res))
    )


def band_order(before: SceneInfo, after: SceneInfo) -> tuple[tuple[int, ...], tuple[int, ...], list[str]]:
    """1-based band indexes to read from each scene so that their bands match, and notes.

    A band is named by its description, or else by its colour interpretation (or by the
    user). Bands are compared only with the band of the same name: named in both files,
    they are matched by name, in the earlier file's order. Bands are taken by position
    only when neither file names any, or when both name the same bands in the same
    places. An alpha band, and a band the user said to ignore, is never compared.

    Raises
    ------
    GridMismatchError
        When the files share no named band, when unnamed bands differ in number, or when
        one file names bands the other leaves unnamed (they cannot all be matched).
    """
    notes: list[str] = []
    keep_b = [i for i, n in enumerate(before.band_names) if n not in NOT_COMPARED]
    keep_a = [i for i, n in enumerate(after.band_names) if n not in NOT_COMPARED]
    for info, keep in ((before, keep_b), (after, keep_a)):
        if not keep:
            raise GridMismatchError(f"{info.path}: none of its bands is compared ({_names(info.band_names)})")
        for name, why in ((ALPHA, "the image's mask"), (IGNORED, "ignored as the user said")):
            left = [str(i + 1) for i, n in enumerate(info.band_names) if n == name]
            if left:
                notes.append(f"{info.path.name}: band {', '.join(left)} ({'alpha' if name == ALPHA else '-'}) "
                             f"not compared ({why})")
    names_b = [before.band_names[i] for i in keep_b]
    names_a = [after.band_names[i] for i in keep_a]
    if names_b == names_a or not any(names_b + names_a):
        if len(keep_b) != len(keep_a):
            raise GridMismatchError(
                f"{before.path} and {after.path} have different band counts ({len(keep_b)} vs {len(keep_a)}) "
                "and no band names to match them by; name the bands (--before-bands, --after-bands, "
                "descriptions or colour interpretation) or give the same bands"
            )
        return tuple(i + 1 for i in keep_b), tuple(i + 1 for i in keep_a), notes
    if not (all(names_b) and all(names_a)):
        raise GridMismatchError(_unmatched(before, keep_b, after, keep_a))
    common = [n for n in names_b if n in names_a]
    if not common:
        raise GridMismatchError(
            f"{before.path} and {after.path} share no band ({_names(before.band_names)} vs "
            f"{_names(after.band_names)})"
        )
    idx_b = tuple(before.band_names.index(n) + 1 for n in common)
    idx_a = tuple(after.band_names.index(n) + 1 for n in common)
    if len(common) < max(len(keep_b), len(keep_a)):
        notes.append(f"only the bands both images have are compared: {', '.join(map(str, common))}")
    elif idx_a != idx_b:
        notes.append(f"{after.path.name}: bands reordered by name to match {before.path.name}")
    return idx_b, idx_a, notes


def _unmatched(before: SceneInfo, keep_b: list[int], after: SceneInfo, keep_a: list[int]) -> str:
    """Why the bands of a pair where one file leaves bands unnamed that the other names cannot be compared."""
    side, info, keep = (("--after-bands", after, keep_a) if any(after.band_names[i] is None for i in keep_a)
                        else ("--before-bands", before, keep_b))
    unnamed = [i + 1 for i in keep if info.band_names[i] is None]
    if len(unnamed) == info.count:
        what = f"{info.path.name} names none of its bands"
    else:
        what = (f"{info.path.name}'s band {', '.join(map(str, unnamed))} {'has' if len(unnamed) == 1 else 'have'} "
                "no name (no description or colour interpretation)")
    return (f"the bands of {before.path.name} ({_names(before.band_names)}) and {after.path.name} "
            f"({_names(after.band_names)}) cannot all be matched by name: {what}, and campwatch never compares "
            f"bands by position when a file names them; name each of its {info.count} bands, in their order in "
            f"the file, with {side} (blue, green, red, nir, pan, coastal, rededge, or - to ignore one)")


def _names(names: tuple[str | None, ...]) -> str:
    """A file's band names as the user reads them: ``blue, green, red, (unnamed)``."""
    return ", ".join(n or "(unnamed)" for n in names)


def aoi_window(info: SceneInfo, aoi: AOI | None) -> Window:
    """Return the window of ``info``'s grid that covers the AOI (the whole grid without one).

    Raises
    ------
    AOIError
        If the AOI does not overlap the scene.
    """
    full = Window(0, 0, info.width, info.height)
    if aoi is None:
        return full
    geom = aoi.geometry_in(info.crs)
    left, bottom, right, top = geom.bounds
    try:
        win = from_bounds(left, bottom, right, top, transform=info.transform)
        win = win.round_offsets(op="floor").round_lengths(op="ceil")
        win = win.intersection(full)
    except Exception:  # rasterio raises WindowError when they do not intersect
        win = None
    if win is None or win.width < 1 or win.height < 1:
        raise AOIError(
            f"AOI '{aoi.name}' ({aoi.path}) lies outside {info.path}: the AOI spans "
            f"{tuple(round(v, 1) for v in geom.bounds)} and the image "
            f"{tuple(round(v, 1) for v in info.bounds)} in {info.crs.to_string()}" + _swap_hint(aoi, info)
        )
    return Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))


def _swap_hint(aoi: AOI, info: SceneInfo) -> str:
    """A hint when the AOI would lie on the image with its longitudes and latitudes swapped."""
    swapped = shapely.transform(aoi.geometry, lambda xy: xy[:, ::-1])
    lon, lat = swapped.centroid.x, swapped.centroid.y
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return ""
    try:
        west, south, east, north = transform_bounds(info.crs, "EPSG:4326", *info.bounds)
    except Exception:  # noqa: BLE001 - a grid that cannot be put in degrees gives no hint
        return ""
    if shapely.box(west, south, east, north).intersects(swapped):
        return ("; with its coordinates read the other way round (latitude, longitude) it would lie on the "
                "image: GeoJSON puts longitude first")
    return ""


def projected_grid(info: SceneInfo) -> SceneInfo:
    """``info`` with the grid of its UTM zone that covers it, with square pixels of about its own size.

    campwatch measures in metres: a scene in degrees is resampled onto this grid.
    """
    west, south, east, north = transform_bounds(info.crs, "EPSG:4326", *info.bounds)
    zones = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(west, south, east, north))
    if not zones:
        raise InputError(f"{info.path}: in degrees, and no UTM zone covers it; warp it to a projected CRS first")
    utm = CRS.from_epsg(int(zones[0].code))
    transform, width, height = calculate_default_transform(info.crs, utm, info.width, info.height, *info.bounds)
    if width is None or height is None:
        raise InputError(f"{info.path}: its grid cannot be put in {utm.to_string()}")
    return dataclasses.replace(info, crs=utm, transform=transform, width=int(width), height=int(height))


def pixel_size_m(info: SceneInfo) -> float:
    """The side of the pixels the scene is analysed with, in metres (a scene in degrees: on :func:`projected_grid`)."""
    return float((info if info.crs.is_projected else projected_grid(info)).pixel_size)


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
        info = dataclasses.replace(info, band_names=tuple(IGNORED if n is None else n for n in bands))
    return info


def _bands(scene: Scene, indexes: tuple[int, ...], info: SceneInfo) -> Scene:
    """The bands ``indexes`` (1-based) of ``scene``, named as ``info`` names them."""
    keep = [i - 1 for i in indexes]
    names = tuple(info.band_names[i] for i in keep)
    if indexes == tuple(range(1, scene.data.shape[0] + 1)):
        return scene if names == scene.band_names else dataclasses.replace(scene, band_names=names)
    return dataclasses.replace(scene, data=scene.data[keep], band_names=names)


#: Figures of a scene larger than this many pixels a side are drawn from reduced images.
OVERVIEW_PX = 2048

#: Reads both dates at full resolution over ``(left, bottom, right, top)`` in the grid's CRS.
ChipReader = Callable[[tuple[float, float, float, float]], tuple[Scene, Scene]]


@dataclass(frozen=True)
class ReducedPair:
    """Both dates of a pair for figures: reduced (pixel averages) when the window is large."""

    before: Scene
    after: Scene
    #: Pixels of the analysed grid per pixel of the reduced images (1: not reduced).
    factor: int
    #: The reduced grid: transform and shape.
    transform: Any
    shape: tuple[int, int]
    #: Reads both dates at full resolution for close-ups (None: the images are not reduced).
    chips: ChipReader | None


def read_reduced_pair(request: PairRequest, *, max_px: int | None = None) -> ReducedPair:
    """Read a pair for figures: the AOI's window of the before image's grid.

    A window of more than ``max_px`` (default :data:`OVERVIEW_PX`) pixels a side is read
    reduced (``Resampling.average`` onto a coarser grid, at most ``max_px`` a side);
    close-ups then read their chips at full resolution (``chips``). Memory stays that of
    the reduced images. No shift is applied (see :func:`campwatch.detection.align.shift_pair`).
    """
    max_px = max_px or OVERVIEW_PX
    info = pair_info(request)
    window = aoi_window(info.before, request.aoi)
    rows, cols = int(window.height), int(window.width)
    factor = max(1, -(-max(rows, cols) // max_px))
    grid_t = rasterio.windows.transform(window, info.before.transform)
    if factor == 1:
        before, after, _ = read_pair(request, info)
        return ReducedPair(before, after, 1, grid_t, (rows, cols), None)
    shape_r = (-(-rows // factor), -(-cols // factor))
    transform = grid_t * Affine.scale(factor)
    scenes = []
    for path, names, idx, date in ((request.before, info.band_names[0], info.before_bands, request.dates[0]),
                                   (request.after, info.band_names[1], info.after_bands, request.dates[1])):
        sc = read_scene_onto(path, crs=info.before.crs, transform=transform, shape=shape_r, bands=idx, date=date,
                             resampling=Resampling.average)
        scenes.append(dataclasses.replace(sc, band_names=names, notes=(), window=window))

    def chips(bounds: tuple[float, float, float, float]) -> tuple[Scene, Scene]:
        left, bottom, right, top = bounds
        win = rasterio.windows.from_bounds(left, bottom, right, top, transform=info.before.transform)
        win = win.round_offsets(op="floor").round_lengths(op="ceil").intersection(window)
        b, a, _ = read_pair(request, info, window=win, must_overlap=False)
        return b, a

    return ReducedPair(scenes[0], scenes[1], factor, transform, shape_r, chips)
