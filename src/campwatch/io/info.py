"""What a scene file says about itself, read without its pixels: grid, bands, date, credit, layout."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affine import Affine
from pyproj import CRS as PyprojCRS
from pyproj.exceptions import CRSError as PyprojCRSError
from rasterio.crs import CRS
from rasterio.transform import array_bounds

from campwatch.errors import SceneError
from campwatch.io.bands import band_names_of
from campwatch.io.dates import name_date, parse_date
from campwatch.io.delivery import Acquisition, Delivery, open_delivery
from campwatch.io.sources import check_size, open_raster
from campwatch.io.text import printable

logger = logging.getLogger(__name__)

__all__ = ["SceneInfo", "scene_info", "scene_info_undated", "any_scene_info", "file_info", "grid_notes", "GRID_TAG", "pixel_area"]


def pixel_area(transform: Affine) -> float:
    """Area of one pixel of ``transform`` in square CRS units."""
    return abs(transform.a * transform.e - transform.b * transform.d)


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


_CREDIT_TAGS = ("IMAGERY_CREDIT", "TIFFTAG_COPYRIGHT", "CREDIT", "COPYRIGHT")


def _credit(tags: dict[str, str]) -> str | None:
    """The imagery credit line a file carries in its tags, if any."""
    for key in _CREDIT_TAGS:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return None


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
    infos = [file_info(t, date_from=path, dated=dated) for t in tiles]
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
    infos = [file_info(r, dated=False) for r in delivery.rasters]
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
        info = file_info(delivery.rasters[0], dated=False)
        if delivery.band_names is not None and len(delivery.band_names) == info.count:
            info = dataclasses.replace(info, band_names=delivery.band_names)
    date, notes = _date_of(path, delivery, dated=dated)
    return dataclasses.replace(info, path=path, date=date, acquisition=delivery.acquisition, layout=delivery.layout,
                               rasters=delivery.rasters, kind=delivery.kind, notes=info.notes + notes)


def any_scene_info(path: str | Path) -> SceneInfo:
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


def file_info(path: Path, *, date_from: Path | None = None, dated: bool = True) -> SceneInfo:
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
            notes=grid_notes(path, ds.tags()) + ((f"{path.name}: its rows run south to north (south-up); read "
                                                   "north-up, the same pixels",) if south_up else ()),
        )


#: The tag in which ``campwatch frames`` says a GeoTIFF's grid was assigned by the user.
GRID_TAG = "CAMPWATCH_GRID"


def grid_notes(path: Path, tags: dict[str, str]) -> tuple[str, ...]:
    """A note for every report when the file's grid was assigned by the user, not measured."""
    value = tags.get(GRID_TAG)
    if not value:
        return ()
    return (f"the grid is {printable(value[:300])}; positions and sizes are as good as that assignment",)
