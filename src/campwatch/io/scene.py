"""Read a dated scene: pixels, grid, valid mask, band names and acquisition date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.merge import merge
from rasterio.transform import array_bounds
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window
from scipy import ndimage

from campwatch.errors import InputError, SceneError

__all__ = ["Scene", "SceneInfo", "parse_date", "read_scene", "read_scene_onto", "scene_files", "scene_info",
           "scene_info_undated", "sha256_file", "parse_band_names", "pixel_area", "band_names_of", "IMAGE_SUFFIXES",
           "imagery_credit", "check_local", "check_inside", "check_size", "MAX_BANDS", "MAX_SIDE_PX"]

#: A full ISO date in a name (``2016-05-14``), found wherever it starts (lookahead: overlapping).
_ISO_DATE = re.compile(r"(?=(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d))")
#: A looser date (``20160514``, ``2016_05_14``), taken only when the name holds no ISO date.
_LOOSE_DATE = re.compile(r"(?=(?<!\d)(\d{4})[-_]?(\d{2})[-_]?(\d{2})(?!\d))")
#: The years an image may be from: the first reconnaissance satellites, to next year.
FIRST_YEAR = 1960
_COLOR_NAMES = {
    ColorInterp.blue: "blue",
    ColorInterp.green: "green",
    ColorInterp.red: "red",
    ColorInterp.gray: "pan",
}
_BAND_ALIASES = {
    "b": "blue", "blue": "blue", "coastal": "coastal",
    "g": "green", "green": "green",
    "r": "red", "red": "red",
    "nir": "nir", "near-infrared": "nir", "near infrared": "nir", "infrared": "nir", "n": "nir",
    "pan": "pan", "panchromatic": "pan", "gray": "pan", "grey": "pan",
}


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

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (int(self.data.shape[1]), int(self.data.shape[2]))

    @property
    def pixel_area(self) -> float:
        """Area of one pixel in square CRS units."""
        return pixel_area(self.transform)

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


def _plausible(year: int, month: int, day: int) -> dt.date | None:
    if not FIRST_YEAR <= year <= dt.date.today().year + 1:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _dates_in(name: str, pattern: re.Pattern[str]) -> list[dt.date]:
    found = (_plausible(int(m[1]), int(m[2]), int(m[3])) for m in pattern.finditer(name))
    return sorted({d for d in found if d is not None})


def parse_date(path: str | Path, tags: dict[str, str] | None = None) -> dt.date:
    """Return the acquisition date from a file name (``YYYY-MM-DD``) or its TIFF date tag.

    The file name wins: it is what analysts see and sort by. In a name, a full ISO date
    (``2016-05-14``) wins over looser forms (``20160514``); a date must be a real day of a
    year from :data:`FIRST_YEAR` to next year (``camp_0256_0512_2012-01-01`` is of 2012, not
    of the year 256).

    Raises
    ------
    SceneError
        If neither the name nor the tags give a valid date, or the name gives two
        different dates (naming both).
    """
    name = Path(path).name
    for pattern in (_ISO_DATE, _LOOSE_DATE):
        dates = _dates_in(name, pattern)
        if len(dates) > 1:
            raise SceneError(f"{path}: the name holds {len(dates)} dates ({', '.join(d.isoformat() for d in dates)}); "
                             "keep only the acquisition date in it, as YYYY-MM-DD")
        if dates:
            return dates[0]
    for key in ("TIFFTAG_DATETIME", "ACQUISITION_DATE", "DATE_ACQUIRED"):
        value = (tags or {}).get(key)
        if value:
            tag_match = re.match(r"\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})", value)
            date = _plausible(int(tag_match[1]), int(tag_match[2]), int(tag_match[3])) if tag_match else None
            if date is not None:
                return date
            raise SceneError(
                f"{path}: the date tag {key}={value[:40]!r} is not a valid date from {FIRST_YEAR} on; "
                "expected 'YYYY:MM:DD HH:MM:SS' or a file name with YYYY-MM-DD"
            )
    raise SceneError(
        f"{path}: cannot tell the acquisition date; put it in the file name as YYYY-MM-DD "
        "(for example 2016-05-14_camp25.tif) or in the TIFFTAG_DATETIME tag"
    )


#: The most bands an image may have: campwatch compares colour and near-infrared bands.
MAX_BANDS = 64
#: The most pixels an image may have on a side (a header can claim anything).
MAX_SIDE_PX = 200_000


def check_size(path: Any, count: int, width: int, height: int) -> None:
    """Raise SceneError when an image's header claims more bands or pixels than campwatch takes."""
    if count > MAX_BANDS:
        raise SceneError(f"{path}: has {count} bands; campwatch takes at most {MAX_BANDS} (colour and near-infrared "
                         "bands): keep those, for example with gdal_translate -b 1 -b 2 -b 3")
    if max(width, height) > MAX_SIDE_PX:
        raise SceneError(f"{path}: claims {width} x {height} pixels; campwatch takes at most {MAX_SIDE_PX:,} on a "
                         "side: cut the AOI's window out of it first (gdal_translate -projwin)")


def band_names_of(ds: Any) -> tuple[str | None, ...]:
    """The colour name of each band of an open dataset (from descriptions or colour interpretation), or None.

    Raises
    ------
    SceneError
        When the dataset has more than :data:`MAX_BANDS` bands (read before any band is).
    """
    check_size(ds.name, ds.count, ds.width, ds.height)
    names: list[str | None] = []
    # Each access of these builds the whole tuple: once, not once a band.
    descriptions, interps = ds.descriptions, ds.colorinterp
    for i in range(ds.count):
        desc = (descriptions[i] or "").strip().lower()
        name = _BAND_ALIASES.get(desc)
        if name is None:
            name = _COLOR_NAMES.get(interps[i])
            if name == "pan" and ds.count > 1:
                name = None  # GDAL calls the first band of any plain multi-band file gray
        names.append(name)
    if len(set(n for n in names if n)) != len([n for n in names if n]):
        return tuple(None for _ in names)  # duplicated names: trust none
    return tuple(names)


def parse_band_names(text: str | Sequence[str], *, source: str = "--bands") -> tuple[str | None, ...]:
    """Band names the user gives, in file band order: ``"blue,green,red,nir"``.

    Each is a name or alias campwatch knows (blue, green, red, nir, pan, coastal, and the
    aliases b, g, r, n, near-infrared, panchromatic, gray), or ``-`` for a band to ignore.

    Raises
    ------
    InputError
        Naming the value that is not a band name, or a name given twice.
    """
    items = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text)]
    names: list[str | None] = []
    for item in items:
        if item in ("-", "", "skip"):
            names.append(None)
            continue
        name = _BAND_ALIASES.get(item)
        if name is None:
            raise InputError(f"{source}: {item!r} is not a band name; use blue, green, red, nir, pan, coastal "
                             "or - (ignore), in the file's band order")
        names.append(name)
    given = [n for n in names if n]
    if len(set(given)) != len(given):
        raise InputError(f"{source}: a band name is given twice ({', '.join(items)})")
    return tuple(names)


_CREDIT_TAGS = ("IMAGERY_CREDIT", "TIFFTAG_COPYRIGHT", "CREDIT", "COPYRIGHT")


def _credit(tags: dict[str, str]) -> str | None:
    """The imagery credit line a file carries in its tags, if any."""
    for key in _CREDIT_TAGS:
        value = (tags.get(key) or "").strip()
        if value:
            return value
    return None


#: How deep VRTs that name other VRTs are followed before campwatch gives up on a file.
MAX_VRT_DEPTH = 8

#: A path GDAL would take to a virtual file system or a URL: /vsicurl/..., http://..., s3://...
_REMOTE = re.compile(r"^(/vsi|[A-Za-z][A-Za-z0-9+.-]+:/)")


def check_local(path: str | Path, *, _depth: int = 0) -> None:
    """Refuse a raster that would make GDAL reach the network or run code.

    A path in a virtual file system (``/vsicurl/``, ``/vsis3/``, ... ) or with a URL scheme is
    refused; so is a VRT (XML) that names such a source, or a source that does (nested VRTs
    followed up to :data:`MAX_VRT_DEPTH`), or that holds a Python pixel function.

    Raises
    ------
    SceneError
        Naming the file and the source it refers to.
    """
    text = str(path)
    if _REMOTE.match(text):
        raise SceneError(f"{text}: a remote or virtual source; campwatch reads local files only")
    path = Path(path)
    if not path.is_file():
        return
    with open(path, "rb") as f:
        head = f.read(512).lstrip()
    if not head.startswith(b"<VRTDataset"):
        return
    if _depth >= MAX_VRT_DEPTH:
        raise SceneError(f"{path}: VRTs nested more than {MAX_VRT_DEPTH} deep; campwatch stops there")
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SceneError(f"{path}: not a readable VRT ({exc})") from exc
    for node in root.iter():
        if node.tag == "PixelFunctionLanguage" and (node.text or "").strip().lower() == "python":
            raise SceneError(f"{path}: holds a Python pixel function; campwatch runs no code from its inputs")
        if node.tag != "SourceFilename":
            continue
        source = (node.text or "").strip()
        if _REMOTE.match(source):
            raise SceneError(f"{path}: refers to the remote or virtual source {source[:200]!r}; campwatch reads "
                             "local files only")
        if node.get("relativeToVRT") == "1":
            source = str(path.parent / source)
        check_local(source, _depth=_depth + 1)


def check_inside(path: Path, folder: Path) -> None:
    """Refuse a symbolic link that loops, or that leads out of ``folder`` or to ``folder`` itself.

    An image or a tile of an images folder is a file of that folder: a link named like a
    date that points elsewhere (``2016-01-01 -> .``, ``-> /data/other``) would make a
    phantom image, a date with no imagery of its own.

    Raises
    ------
    SceneError
        Naming the link and where it leads.
    """
    if not path.is_symlink():
        return
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # a loop, or a link to nothing
        raise SceneError(f"{path}: a symbolic link that loops or leads nowhere ({exc})") from None
    home = folder.resolve()
    if target == home or target in home.parents:
        raise SceneError(f"{path}: a symbolic link to its own folder (or one above it); an image must be a file "
                         "or a folder of tiles")
    if target.parent == home:
        raise SceneError(f"{path}: a symbolic link to {target.name}, another image of the folder: one image "
                         "would count under two dates")
    if home not in target.parents:
        raise SceneError(f"{path}: a symbolic link that leads out of {folder} (to {target}); put the image itself "
                         "in the folder")


def _open(path: Path) -> Any:
    check_local(path)
    if not path.exists():
        raise SceneError(f"{path}: file not found")
    if path.is_dir():
        raise SceneError(f"{path}: is a folder, expected a GeoTIFF file or a folder of tiles")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as exc:
        raise SceneError(f"{path}: not a readable raster ({exc}); expected a GeoTIFF") from exc


#: The file endings campwatch reads as images (and as tiles of a folder image).
IMAGE_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2")


def scene_files(path: str | Path) -> list[Path]:
    """The files a scene is made of: the file itself, or the tiles of a folder.

    Raises
    ------
    SceneError
        If the path does not exist or is remote, or a folder holds no raster tiles.
    """
    check_local(path)
    path = Path(path)
    if not path.exists():
        raise SceneError(f"{path}: file not found")
    if not path.is_dir():
        return [path]
    tiles = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    for tile in tiles:
        check_inside(tile, path)
    if not tiles:
        raise SceneError(f"{path}: the folder holds no GeoTIFF tiles ({', '.join(IMAGE_SUFFIXES)})")
    return tiles


def _mosaic_info(path: Path, tiles: list[Path], *, dated: bool = True) -> SceneInfo:
    infos = [_file_info(t, date_from=path, dated=dated) for t in tiles]
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


def scene_info(path: str | Path) -> SceneInfo:
    """Read a scene's metadata (grid, bands, date) without its pixels.

    A scene is a raster file, or a folder of tiles of one image (one CRS, band count and
    data type): their mosaic, dated by the folder's name or the first tile's tags.

    Raises
    ------
    SceneError
        If the file is missing, not a raster, not georeferenced, or undated.
    """
    path = Path(path)
    tiles = scene_files(path)
    if path.is_dir():
        return _mosaic_info(path, tiles)
    return _file_info(path)


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
    path = Path(path)
    tiles = scene_files(path)
    if path.is_dir():
        return _mosaic_info(path, tiles, dated=False)
    return _file_info(path, dated=False)


def _file_info(path: Path, *, date_from: Path | None = None, dated: bool = True) -> SceneInfo:
    with _open(path) as ds:
        check_size(path, ds.count, ds.width, ds.height)
        if ds.crs is None:
            raise SceneError(
                f"{path}: has no coordinate reference system; campwatch needs georeferenced "
                "GeoTIFFs (assign one with gdal_edit.py -a_srs or rio edit-info --crs)"
            )
        if ds.transform.is_identity:
            raise SceneError(f"{path}: has no geotransform; campwatch needs georeferenced GeoTIFFs")
        if ds.transform.b != 0 or ds.transform.d != 0:
            raise SceneError(f"{path}: rotated grids are not supported; warp it north-up first")
        date = parse_date(date_from or path, ds.tags()) if dated else dt.date.min
        return SceneInfo(
            path=path,
            date=date,
            crs=ds.crs,
            transform=ds.transform,
            width=ds.width,
            height=ds.height,
            count=ds.count,
            dtype=ds.dtypes[0],
            nodata=ds.nodata,
            band_names=band_names_of(ds),
            credit=_credit(ds.tags()),
        )


def read_scene(path: str | Path, *, window: Window | None = None, date: dt.date | None = None) -> Scene:
    """Read a dated, georeferenced scene.

    Parameters
    ----------
    path : str or Path
        A GeoTIFF (or any raster GDAL reads) with a CRS and a date in its name or tags.
    window : Window, optional
        Read only this part of the file.
    date : datetime.date, optional
        The acquisition date, replacing what the name and tags say (needed when they say
        nothing).

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
    if path.is_dir():
        if window is None:
            window = Window(0, 0, info.width, info.height)
        transform = rasterio.windows.transform(window, info.transform)
        data, valid = _mosaic_onto(path, info, crs=info.crs, transform=transform,
                                   shape=(int(window.height), int(window.width)))
        return Scene(data=data, valid=valid, transform=transform, crs=info.crs, date=info.date,
                     band_names=info.band_names, path=path, window=window, dtype=info.dtype, credit=info.credit)
    with _open(path) as ds:
        try:
            data = ds.read(window=window, out_dtype="float32")
            mask = ds.read_masks(window=window)
        except RasterioIOError as exc:
            raise SceneError(f"{path}: pixels cannot be read, the file may be truncated ({exc})") from exc
        transform = ds.window_transform(window) if window is not None else ds.transform
    valid = np.all(mask > 0, axis=0) & np.all(np.isfinite(data), axis=0)
    data[:, ~valid] = 0
    return Scene(data=data, valid=valid, transform=transform, crs=info.crs, date=info.date,
                 band_names=info.band_names, path=path, window=window, dtype=info.dtype, credit=info.credit)


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
    if path.is_dir():
        data, valid = _mosaic_onto(path, info, crs=crs, transform=transform, shape=shape, bands=indexes,
                                   resampling=resampling)
        return Scene(data=data, valid=valid, transform=transform, crs=crs, date=info.date,
                     band_names=tuple(info.band_names[i - 1] for i in indexes), path=path, window=None,
                     dtype=info.dtype, credit=info.credit,
                     notes=(f"tiles mosaicked and resampled from {info.crs.to_string()} at {info.res[0]:g} x "
                            f"{info.res[1]:g} onto the reference grid (bilinear)",))
    with _open(path) as ds:
        # Where the image does not reach is marked by an alpha band: the file's own, or one added.
        own_alpha = [i + 1 for i, c in enumerate(ds.colorinterp) if c == ColorInterp.alpha]
        try:
            with WarpedVRT(ds, crs=crs, transform=transform, width=shape[1], height=shape[0],
                           resampling=resampling, add_alpha=not own_alpha) as vrt:
                data = vrt.read(indexes, out_dtype="float32")
                alpha = vrt.read(own_alpha[0] if own_alpha else vrt.count)
                masks = vrt.read_masks(indexes)
        except RasterioIOError as exc:
            raise SceneError(f"{path}: pixels cannot be read, the file may be truncated ({exc})") from exc
    valid = (alpha > 0) & np.all(masks > 0, axis=0) & np.all(np.isfinite(data), axis=0)
    data[:, ~valid] = 0
    names = tuple(info.band_names[i - 1] for i in indexes)
    return Scene(data=data, valid=valid, transform=transform, crs=crs, date=info.date, band_names=names,
                 path=path, window=None, dtype=info.dtype, credit=info.credit,
                 notes=(f"resampled from {info.crs.to_string()} at {info.res[0]:g} x {info.res[1]:g} onto the "
                        "reference grid (bilinear)",))


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
    tiles = scene_files(folder)
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
