"""Read a dated scene: pixels, grid, valid mask, band names and acquisition date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS as PyprojCRS
from pyproj.exceptions import CRSError as PyprojCRSError
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.merge import merge
from rasterio.transform import array_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window
from scipy import ndimage

from campwatch.errors import SceneError
from campwatch.io.bands import band_names_of
from campwatch.io.dates import name_date, parse_date
from campwatch.io.delivery import RASTER_SUFFIXES, Acquisition, Delivery, open_delivery
from campwatch.io.sources import check_inside, check_local, check_size, open_raster
from campwatch.io.text import printable

logger = logging.getLogger(__name__)

__all__ = ["Scene", "SceneInfo", "read_scene", "read_scene_onto", "scene_files", "scene_info", "scene_info_undated",
           "sha256_file", "pixel_area", "IMAGE_SUFFIXES", "imagery_credit", "check_local", "check_inside", "open_raster",
           "file_window"]

@dataclass(frozen=True)
class SceneInfo:
    """What a scene file says about itself, read without its pixels."""

    path: Path
    date: dt.date
    crs: CRS
    transform: Affine
    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    band_names: tuple[str | None, ...]
    credit: str | None = None
    #: What the delivery's metadata says about the acquisition (time, sensor, sun), if anything.
    acquisition: Acquisition | None = None
    #: How the pixels are read (:attr:`campwatch.io.delivery.Delivery.layout`).
    layout: str = "file"
    #: The rasters read: the file itself, the tiles, or one per band.
    rasters: tuple[Path, ...] = ()
    #: The delivery's format (:attr:`campwatch.io.delivery.Delivery.kind`).
    kind: str = "image"
    #: What reading the metadata found worth telling (a date that disagrees with the name).
    notes: tuple[str, ...] = ()
    #: Whether the file's rows run south to north: ``transform`` is then the north-up grid its
    #: pixels are read onto (:func:`file_window`), the same pixels in the other row order.
    south_up: bool = False

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units."""
        return (abs(self.transform.a), abs(self.transform.e))

    @property
    def pixel_size(self) -> float:
        """The side of a square pixel of the same area, in CRS units."""
        return math.sqrt(pixel_area(self.transform))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of the whole file in its CRS."""
        return array_bounds(self.height, self.width, self.transform)


@dataclass(frozen=True)
class Scene:
    """A dated image with its georeferencing.

    Attributes
    ----------
    data : (B, M, N) ndarray of float32
        Pixel values, band first. Invalid pixels hold 0.
    valid : (M, N) ndarray of bool
        True where every band holds data.
    transform : Affine
        Maps (col, row) of ``data`` to map coordinates.
    crs : CRS
    date : datetime.date
    band_names : tuple of str or None
        ``"blue"``, ``"green"``, ``"red"``, ``"nir"``, ``"pan"`` or None (unknown), per band.
    path : Path or None
    window : Window or None
        The part of the file that was read.
    """

    data: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: CRS
    date: dt.date
    band_names: tuple[str | None, ...]
    path: Path | None = None
    window: Window | None = None
    dtype: str = "float32"
    credit: str | None = None
    notes: tuple[str, ...] = field(default=())
    acquisition: Acquisition | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (int(self.data.shape[1]), int(self.data.shape[2]))

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in square CRS units."""
        return pixel_area(self.transform)

    def cut(self, rows: slice, cols: slice) -> Scene:
        """The part of the scene in ``rows`` and ``cols`` of its grid (views of its arrays), georeferenced.

        ``window`` stays the part of the file first read; the part's place in it is its transform.
        """
        return dataclasses.replace(self, data=self.data[:, rows, cols], valid=self.valid[rows, cols],
                                   transform=self.transform * Affine.translation(cols.start or 0, rows.start or 0))

    def band(self, name: str) -> np.ndarray | None:
        """Return the band called ``name``, or None when the scene has none."""
        if name in self.band_names:
            return self.data[self.band_names.index(name)]
        return None


def imagery_credit(scenes: Sequence[Scene], aoi: Any = None) -> str | None:
    """The credit line for figures: the scenes' credits (from their tags, each once), else the
    AOI file's ``credit`` property (``aoi``: a :class:`campwatch.io.aoi.AOI` or None)."""
    credits = list(dict.fromkeys(s.credit for s in scenes if s.credit))
    if credits:
        return "; ".join(c for c in credits if c)
    if aoi is not None and isinstance(aoi.properties.get("credit"), str):
        return str(aoi.properties["credit"])
    return None


def pixel_area(transform: Affine) -> float:
    """Area of one pixel of ``transform`` in square CRS units."""
    return abs(transform.a * transform.e - transform.b * transform.d)


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


_CREDIT_TAGS = ("IMAGERY_CREDIT", "TIFFTAG_COPYRIGHT", "CREDIT", "COPYRIGHT")


def _credit(tags: dict[str, str]) -> str | None:
    """The imagery credit line a file carries in its tags, if any."""
    for key in _CREDIT_TAGS:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return None


#: The file endings campwatch reads as images (and as tiles of a folder image).
IMAGE_SUFFIXES = RASTER_SUFFIXES


def scene_files(path: str | Path) -> list[Path]:
    """The files a scene is made of: its rasters (the file, the tiles of a folder, the bands of a
    Sentinel-2 scene or the assets of a STAC Item) and the metadata files that date it.

    Raises
    ------
    SceneError
        If the path does not exist or is remote, or a folder holds no raster.
    """
    return open_delivery(path).files


def _check_on_the_globe(path: Any, crs: Any) -> None:
    """Refuse a CRS that cannot be placed on the globe: a local or engineering CRS (a site grid) has no
    longitude and latitude, which every report gives.

    Raises
    ------
    SceneError
        Naming the file and the CRS.
    """
    try:
        c = PyprojCRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
        ok = (c.is_projected or c.is_geographic) and not c.is_engineering
    except (PyprojCRSError, ValueError):
        ok = False
    if not ok:
        name = getattr(crs, "to_string", lambda: str(crs))()
        raise SceneError(f"{path}: its CRS ({printable(name)[:80]}) is a local or engineering one, not placed on the "
                         "globe; campwatch gives every change in longitude and latitude: give the image a geographic "
                         "or projected CRS (gdal_edit.py -a_srs EPSG:...)")


def _date_of(path: Path, delivery: Delivery, *, dated: bool) -> tuple[dt.date, tuple[str, ...]]:
    """A scene's date and notes: the delivery's metadata wins over the name; a disagreement is noted.

    Without metadata: the name, else (a folder of bands exported with the date in each band's
    name) the first band's name, else the first raster's date tag; a date tag that says
    another day than the name is noted. A date after today is refused: no image is from the
    future.

    Raises
    ------
    SceneError
        When no date can be told, or the date is after today.
    """
    if not dated:
        return dt.date.min, ()
    date, notes = _date_and_notes(path, delivery)
    today = dt.date.today()
    if date > today:
        raise SceneError(f"{path}: its acquisition date {date.isoformat()} is after today ({today.isoformat()}); no "
                         "image is from the future: correct its name or date tag")
    return date, notes


def _tag_note(path: Path, raster: Path, named: dt.date) -> tuple[str, ...]:
    """A note when the raster's date tag gives a valid day other than its name's (the name's is used)."""
    with open_raster(raster) as ds:
        tags = ds.tags()
    try:
        tagged = parse_date(Path("undated"), tags)
    except SceneError:
        return ()
    if tagged == named:
        return ()
    note = (f"{path.name}: the name says {named.isoformat()} but its date tag says {tagged.isoformat()} (often the "
            "day the file was made); the name's date is used")
    logger.warning("%s", note)
    return (note,)


def _date_and_notes(path: Path, delivery: Delivery) -> tuple[dt.date, tuple[str, ...]]:
    meta = delivery.acquisition.date if delivery.acquisition is not None else None
    if meta is None or delivery.acquisition is None:
        for source in (path, delivery.rasters[0]) if delivery.layout == "bands" else (path,):
            named = name_date(source)
            if named is not None:
                return named, _tag_note(path, delivery.rasters[0], named)
        with open_raster(delivery.rasters[0]) as ds:
            return parse_date(path, ds.tags()), ()
    try:
        named = name_date(path)
    except SceneError:  # two dates in the name: the metadata says which
        named = None
    if named is None or named == meta:
        return meta, ()
    note = (f"{path.name}: the name says {named.isoformat()} but the metadata ({delivery.acquisition.source}) says "
            f"{meta.isoformat()}; the metadata's date is used")
    logger.warning("%s", note)
    return meta, (note,)


def _mosaic_info(path: Path, tiles: Sequence[Path], *, dated: bool = True) -> SceneInfo:
    infos = [_file_info(t, date_from=path, dated=dated) for t in tiles]
    if any(i.south_up for i in infos):
        raise SceneError(f"{path}: tile {next(i for i in infos if i.south_up).path.name} is south-up (its rows run "
                         "south to north); a folder's tiles must be north-up: warp them first (gdalwarp)")
    first = infos[0]
    for other in infos[1:]:
        if other.crs != first.crs or other.count != first.count or other.dtype != first.dtype:
            raise SceneError(
                f"{path}: tiles {first.path.name} and {other.path.name} differ in CRS, band count or data "
                f"type ({first.crs.to_string()}, {first.count}, {first.dtype} vs {other.crs.to_string()}, "
                f"{other.count}, {other.dtype}); a folder must hold tiles of one image"
            )
    bounds = [array_bounds(i.height, i.width, i.transform) for i in infos]
    left, bottom = min(b[0] for b in bounds), min(b[1] for b in bounds)
    right, top = max(b[2] for b in bounds), max(b[3] for b in bounds)
    rx, ry = first.res
    width, height = int(round((right - left) / rx)), int(round((top - bottom) / ry))
    return dataclasses.replace(first, path=path, transform=Affine(rx, 0, left, 0, -ry, top),
                               width=width, height=height)


def _stack_info(delivery: Delivery) -> SceneInfo:
    """A band stack's grid: the finest band's; every band must share its CRS and cover its extent."""
    infos = [_file_info(r, dated=False) for r in delivery.rasters]
    check_size(delivery.path, len(infos), infos[0].width, infos[0].height)
    finest = min(infos, key=lambda i: i.pixel_size)
    for other in infos:
        if other.crs != finest.crs:
            raise SceneError(f"{delivery.path}: bands {finest.path.name} and {other.path.name} differ in CRS "
                             f"({finest.crs.to_string()} vs {other.crs.to_string()}); the bands must be of one scene")
    assert delivery.band_names is not None
    return dataclasses.replace(finest, path=delivery.path, count=len(infos), band_names=delivery.band_names,
                               dtype=infos[0].dtype)


def scene_info(path: str | Path) -> SceneInfo:
    """Read a scene's metadata (grid, bands, date, acquisition) without its pixels.

    A scene is a raster file, a folder of tiles of one image (one CRS, band count and
    data type: their mosaic), a Sentinel-2 scene (its bands on the finest band's grid) or a
    STAC Item (:mod:`campwatch.io.delivery`). It is dated by its metadata (acquisition time),
    else its name, else its first file's tags.

    Raises
    ------
    SceneError
        If the file is missing, not a raster, not georeferenced, or undated.
    """
    return _info(Path(path), dated=True)


def _info(path: Path, *, dated: bool) -> SceneInfo:
    delivery = open_delivery(path)
    if delivery.layout == "tiles":
        info = _mosaic_info(path, delivery.rasters, dated=False)
    elif delivery.layout == "bands":
        info = _stack_info(delivery)
    else:
        info = _file_info(delivery.rasters[0], dated=False)
        if delivery.band_names is not None and len(delivery.band_names) == info.count:
            info = dataclasses.replace(info, band_names=delivery.band_names)
    date, notes = _date_of(path, delivery, dated=dated)
    return dataclasses.replace(info, path=path, date=date, acquisition=delivery.acquisition, layout=delivery.layout,
                               rasters=delivery.rasters, kind=delivery.kind, notes=info.notes + notes)


def _any_info(path: str | Path) -> SceneInfo:
    """Metadata for reading pixels: the date does not matter there (the caller dates the scene)."""
    try:
        return scene_info(path)
    except SceneError as exc:
        if "acquisition date" in str(exc) or "date tag" in str(exc):
            return scene_info_undated(path)
        raise


def scene_info_undated(path: str | Path) -> SceneInfo:
    """Like :func:`scene_info` for a scene that carries no date: its date is left as 1 January 1."""
    return _info(Path(path), dated=False)


def _file_info(path: Path, *, date_from: Path | None = None, dated: bool = True) -> SceneInfo:
    with open_raster(path) as ds:
        check_size(path, ds.count, ds.width, ds.height)
        if ds.crs is None and ds.transform.is_identity:
            raise SceneError(
                f"{path}: is not georeferenced (no coordinate reference system, no geotransform): a screenshot "
                "or a photo? campwatch frames FRAMES_DIR --bounds W S E N --out DIR makes dated GeoTIFFs of "
                "screenshots; or give it both with gdal_translate -a_srs EPSG:4326 -a_ullr WEST NORTH EAST SOUTH"
            )
        if ds.crs is None:
            raise SceneError(
                f"{path}: has no coordinate reference system; campwatch needs georeferenced "
                "GeoTIFFs (assign one with gdal_edit.py -a_srs or rio edit-info --crs)"
            )
        _check_on_the_globe(path, ds.crs)
        if ds.transform.is_identity:
            raise SceneError(
                f"{path}: has no geotransform (where its pixels lie); campwatch needs georeferenced GeoTIFFs: "
                "give it one with gdal_translate -a_ullr WEST NORTH EAST SOUTH (or gdal_edit.py -a_ullr), "
                "or make dated GeoTIFFs of screenshots with campwatch frames"
            )
        if ds.transform.b != 0 or ds.transform.d != 0:
            raise SceneError(f"{path}: rotated grids are not supported; warp it north-up first")
        if ds.transform.a < 0:
            raise SceneError(f"{path}: its columns run east to west (a negative pixel width); warp it north-up "
                             "first (gdalwarp)")
        south_up = ds.transform.e > 0
        transform = ds.transform
        if south_up:  # read north-up: the same pixels, the rows the other way round
            transform = Affine(transform.a, 0, transform.c, 0, -transform.e, transform.f + transform.e * ds.height)
        date = parse_date(date_from or path, ds.tags()) if dated else dt.date.min
        return SceneInfo(
            path=path,
            south_up=south_up,
            date=date,
            crs=ds.crs,
            transform=transform,
            width=ds.width,
            height=ds.height,
            count=ds.count,
            dtype=ds.dtypes[0],
            nodata=ds.nodata,
            band_names=band_names_of(ds),
            credit=_credit(ds.tags()),
            rasters=(path,),
            notes=_grid_notes(path, ds.tags()) + ((f"{path.name}: its rows run south to north (south-up); read "
                                                   "north-up, the same pixels",) if south_up else ()),
        )


#: The tag in which ``campwatch frames`` says a GeoTIFF's grid was assigned by the user.
GRID_TAG = "CAMPWATCH_GRID"


def _grid_notes(path: Path, tags: dict[str, str]) -> tuple[str, ...]:
    """A note for every report when the file's grid was assigned by the user, not measured."""
    value = tags.get(GRID_TAG)
    if not value:
        return ()
    return (f"the grid is {printable(value[:300])}; positions and sizes are as good as that assignment",)


def read_scene(path: str | Path, *, window: Window | None = None, date: dt.date | None = None) -> Scene:
    """Read a dated, georeferenced scene.

    Parameters
    ----------
    path : str or Path
        A scene (:func:`scene_info`) with a CRS and a date in its metadata, name or tags.
    window : Window, optional
        Read only this part of the scene's grid.
    date : datetime.date, optional
        The acquisition date, replacing what the metadata, name and tags say (needed when
        they say nothing).

    Returns
    -------
    Scene

    Raises
    ------
    SceneError
        If the file is missing, not a raster, truncated, not georeferenced, or undated.

    Notes
    -----
    Memory: 4 bytes per band per pixel of the window, plus one byte per pixel for the mask.
    """
    info = scene_info(path) if date is None else dataclasses.replace(_any_info(path), date=date)
    path = Path(path)
    if info.layout != "file":
        if window is None:
            window = Window(0, 0, info.width, info.height)
        transform = rasterio.windows.transform(window, info.transform)
        shape = (int(window.height), int(window.width))
        if info.layout == "tiles":
            data, valid = _mosaic_onto(path, info, crs=info.crs, transform=transform, shape=shape)
        else:
            data, valid = _stack_onto(info, crs=info.crs, transform=transform, shape=shape)
        return Scene(data=data, valid=valid, transform=transform, crs=info.crs, date=info.date,
                     band_names=info.band_names, path=path, window=window, dtype=info.dtype, credit=info.credit,
                     acquisition=info.acquisition)
    with open_raster(info.rasters[0]) as ds:
        try:
            data = ds.read(window=file_window(info, window), out_dtype="float32")
            mask = ds.read_masks(window=file_window(info, window))
        except RasterioIOError as exc:
            raise SceneError(f"{path}: pixels cannot be read, the file may be truncated ({exc})") from exc
    transform = rasterio.windows.transform(window, info.transform) if window is not None else info.transform
    if info.south_up:
        data, mask = np.ascontiguousarray(data[:, ::-1]), mask[:, ::-1]
    valid = np.all(mask > 0, axis=0) & np.all(np.isfinite(data), axis=0)
    data[:, ~valid] = 0
    return Scene(data=data, valid=valid, transform=transform, crs=info.crs, date=info.date,
                 band_names=info.band_names, path=path, window=window, dtype=info.dtype, credit=info.credit,
                 acquisition=info.acquisition)


def file_window(info: SceneInfo, window: Window | None) -> Window | None:
    """The window of the file's own rows that holds ``window`` of the scene's (north-up) grid.

    The same window, except in a south-up file, whose rows run the other way: read there, the
    pixels are flipped top to bottom.
    """
    if not info.south_up:
        return window
    window = window if window is not None else Window(0, 0, info.width, info.height)
    return Window(window.col_off, info.height - window.row_off - window.height, window.width, window.height)


def read_scene_onto(
    path: str | Path,
    *,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    bands: tuple[int, ...] | None = None,
    date: dt.date | None = None,
    resampling: Resampling = Resampling.bilinear,
) -> Scene:
    """Read a scene resampled onto another grid (``rasterio.vrt.WarpedVRT``, bilinear).

    Only the part of the file under the target grid is read. Pixels the file does not
    cover, or where it has no data, are invalid.

    Parameters
    ----------
    path : str or Path
    crs, transform, shape
        The target grid: CRS, affine transform and (rows, cols).
    bands : tuple of int, optional
        1-based band indexes to read, in this order; default all.
    date : datetime.date, optional
        As in :func:`read_scene`.
    resampling : rasterio.enums.Resampling
        Bilinear by default; ``average`` for a reduced view of a large scene.

    Raises
    ------
    SceneError
        As :func:`read_scene`.
    """
    info = scene_info(path) if date is None else dataclasses.replace(_any_info(path), date=date)
    path = Path(path)
    indexes = list(bands) if bands else list(range(1, info.count + 1))
    names = tuple(info.band_names[i - 1] for i in indexes)
    if info.layout != "file":
        if info.layout == "tiles":
            data, valid = _mosaic_onto(path, info, crs=crs, transform=transform, shape=shape, bands=indexes,
                                       resampling=resampling)
            what = "tiles mosaicked and resampled"
        else:
            data, valid = _stack_onto(info, crs=crs, transform=transform, shape=shape, bands=indexes,
                                      resampling=resampling)
            what = "bands resampled"
        return Scene(data=data, valid=valid, transform=transform, crs=crs, date=info.date, band_names=names,
                     path=path, window=None, dtype=info.dtype, credit=info.credit, acquisition=info.acquisition,
                     notes=(f"{what} from {info.crs.to_string()} at {info.res[0]:g} x {info.res[1]:g} onto the "
                            f"reference grid ({resampling.name})",))
    data, valid = _warped(info.rasters[0], crs=crs, transform=transform, shape=shape, indexes=indexes,
                          resampling=resampling)
    return Scene(data=data, valid=valid, transform=transform, crs=crs, date=info.date, band_names=names,
                 path=path, window=None, dtype=info.dtype, credit=info.credit, acquisition=info.acquisition,
                 notes=(f"resampled from {info.crs.to_string()} at {info.res[0]:g} x {info.res[1]:g} onto the "
                        f"reference grid ({resampling.name})",))


def _warped(
    raster: Path, *, crs: CRS, transform: Affine, shape: tuple[int, int], indexes: list[int], resampling: Resampling
) -> tuple[np.ndarray, np.ndarray]:
    """Bands of one raster resampled onto a grid, and where they are valid."""
    with open_raster(raster) as ds:
        # Where the image does not reach is marked by an alpha band: the file's own, or one added.
        own_alpha = [i + 1 for i, c in enumerate(ds.colorinterp) if c == ColorInterp.alpha]
        try:
            with WarpedVRT(ds, crs=crs, transform=transform, width=shape[1], height=shape[0],
                           resampling=resampling, add_alpha=not own_alpha) as vrt:
                data = vrt.read(indexes, out_dtype="float32")
                alpha = vrt.read(own_alpha[0] if own_alpha else vrt.count)
                masks = vrt.read_masks(indexes)
        except RasterioIOError as exc:
            raise SceneError(f"{raster}: pixels cannot be read, the file may be truncated ({exc})") from exc
    valid = (alpha > 0) & np.all(masks > 0, axis=0) & np.all(np.isfinite(data), axis=0)
    data[:, ~valid] = 0
    return data, valid


def _stack_onto(
    info: SceneInfo,
    *,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    bands: list[int] | None = None,
    resampling: Resampling = Resampling.bilinear,
) -> tuple[np.ndarray, np.ndarray]:
    """A band stack's bands (one raster each) resampled onto a grid; valid where every band is."""
    indexes = bands or list(range(1, len(info.rasters) + 1))
    data = np.zeros((len(indexes), shape[0], shape[1]), dtype="float32")
    valid = np.ones(shape, dtype=bool)
    for k, i in enumerate(indexes):
        band, ok = _warped(info.rasters[i - 1], crs=crs, transform=transform, shape=shape, indexes=[1],
                           resampling=resampling)
        data[k] = band[0]
        valid &= ok
    data[:, ~valid] = 0
    return data, valid


def _mosaic_onto(
    folder: Path,
    info: SceneInfo,
    *,
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    bands: list[int] | None = None,
    resampling: Resampling = Resampling.bilinear,
) -> tuple[np.ndarray, np.ndarray]:
    """Mosaic a folder's tiles over a target grid (``rasterio.merge``), resampled onto it.

    Only the tiles' part under the target grid (plus a margin) is read.

    Returns
    -------
    data : (B, M, N) ndarray of float32
    valid : (M, N) ndarray of bool
    """
    left, bottom, right, top = array_bounds(shape[0], shape[1], transform)
    if crs != info.crs:
        left, bottom, right, top = transform_bounds(crs, info.crs, left, bottom, right, top, densify_pts=21)
    rx, ry = info.res
    if crs == info.crs and abs(transform.a) > rx and abs(transform.e) > ry:
        # A reduced view: mosaic at the target's coarser pixel size, not the tiles' own.
        rx, ry = abs(transform.a), abs(transform.e)
    bounds = (left - 2 * rx, bottom - 2 * ry, right + 2 * rx, top + 2 * ry)
    tiles = info.rasters
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            merged, merged_t = merge([str(t) for t in tiles], bounds=bounds, res=(rx, ry), indexes=bands,
                                     masked=True, dtype="float32", resampling=resampling)
    except RasterioIOError as exc:
        raise SceneError(f"{folder}: a tile cannot be read ({exc})") from exc
    covered = ~np.ma.getmaskarray(merged).any(axis=0)
    src = np.ma.filled(merged, 0).astype("float32")
    out = np.zeros((src.shape[0], shape[0], shape[1]), dtype="float32")
    for b in range(src.shape[0]):
        reproject(src[b], out[b], src_transform=merged_t, src_crs=info.crs, dst_transform=transform, dst_crs=crs,
                  resampling=resampling)
    valid_f = np.zeros(shape, dtype="float32")
    reproject(covered.astype("float32"), valid_f, src_transform=merged_t, src_crs=info.crs,
              dst_transform=transform, dst_crs=crs, resampling=Resampling.nearest)
    valid = (valid_f > 0.5) & np.all(np.isfinite(out), axis=0)
    # Bilinear blends a pixel with its neighbours: drop those next to uncovered ones.
    valid = ndimage.binary_erosion(valid, iterations=1, border_value=1)
    out[:, ~valid] = 0
    return out, valid
