"""Dated screenshots (historical imagery views, EO Browser frames) made into dated GeoTIFFs on one grid.

Many analysts work from screenshots: they carry no coordinates and no date but the one in
their names. ``campwatch frames`` puts every frame of a folder where the user says the
view lay (``--bounds W S E N``, in degrees) and writes each as a GeoTIFF on one grid in
metres (the UTM zone of the view), dated by its name, so that ``campwatch series`` and
``check`` can compare them. The grid is the user's assignment, not a measurement: every
GeoTIFF says so in a tag (``CAMPWATCH_GRID``) and every report made from them repeats it.

A screenshot is usually finer than its imagery (a 10 m Sentinel-2 view shown at 3.4 m per
screen pixel): analysed at the screen's pixel, its 10 m pixels would be read as objects of
3.4 m and results swing with the zoom. With ``--source-pixel-m`` (or a sensor named in the
file names, :data:`SENSOR_PIXEL_M`), the frames are written at the imagery's own pixel size,
with a warning, whenever the pixel asked for is finer.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.warp import reproject, transform_bounds

from campwatch._version import __version__
from campwatch.errors import InputError
from campwatch.io.dates import parse_date
from campwatch.io.jsonio import write_json
from campwatch.io.masks import UserMask, read_mask
from campwatch.io.output import OutputSet, check_writable
from campwatch.io.scene import GRID_TAG, sha256_file
from campwatch.io.sources import check_size, open_raster
from campwatch.monitor.tracking import utm_of
from campwatch.progress import start

__all__ = ["FRAME_SUFFIXES", "SENSOR_PIXEL_M", "GRID_TAG", "FramesResult", "frame_files", "write_frames", "frames_aoi"]

logger = logging.getLogger(__name__)

#: The files taken as frames.
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
#: Sensors a frame's name may name, and the pixel size of their true-colour imagery (m).
SENSOR_PIXEL_M = {"sentinel-2": 10.0, "sentinel2": 10.0, "landsat": 30.0, "planetscope": 3.0, "modis": 250.0}
#: The most frames one run takes.
MAX_FRAMES = 1000


@dataclass(frozen=True)
class FramesResult:
    """What :func:`write_frames` wrote: the GeoTIFFs by date, the grid, and the warnings."""

    images: dict[dt.date, Path]
    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    pixel_m: float
    screen_pixel_m: float
    warnings: tuple[str, ...]
    record: dict[str, Any]


def frame_files(folder: str | Path) -> list[Path]:
    """The frames of a folder (:data:`FRAME_SUFFIXES`), in name order.

    Raises
    ------
    InputError
        When the folder is missing or holds no frame, or more than :data:`MAX_FRAMES`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of frames")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise InputError(f"{folder}: holds no frame ({', '.join(FRAME_SUFFIXES)})")
    if len(files) > MAX_FRAMES:
        raise InputError(f"{folder}: holds {len(files)} frames; campwatch takes at most {MAX_FRAMES} at once")
    return files


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    if len(bounds) != 4 or not all(math.isfinite(float(b)) for b in bounds):
        raise InputError(f"--bounds needs four numbers, WEST SOUTH EAST NORTH in degrees; got {list(bounds)}")
    west, south, east, north = (float(b) for b in bounds)
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        hint = ""
        if -90 <= west < east <= 90 and -180 <= south < north <= 180:
            hint = " (latitudes and longitudes the other way round? the order is WEST SOUTH EAST NORTH)"
        raise InputError(f"--bounds {west:g} {south:g} {east:g} {north:g}: not WEST < EAST and SOUTH < NORTH in "
                         f"degrees of longitude and latitude{hint}")
    return west, south, east, north


def _sensor_pixel(files: Sequence[Path]) -> tuple[float, str] | None:
    for f in files:
        name = re.sub(r"[\s_]+", "", f.name.lower())
        for sensor, px in SENSOR_PIXEL_M.items():
            if sensor in name:
                return px, sensor
    return None


def write_frames(
    frames_dir: str | Path,
    out_dir: str | Path,
    *,
    bounds: Sequence[float],
    pixel_size: float | None = None,
    source_pixel_m: float | None = None,
    mask_path: str | Path | None = None,
    hide_px: Sequence[tuple[int, int, int, int]] = (),
) -> FramesResult:
    """Write the frames of ``frames_dir`` as dated GeoTIFFs on one grid, atomically, into ``out_dir``.

    Parameters
    ----------
    bounds : (west, south, east, north)
        Where the view lay, in degrees (WGS84): the frames' edges.
    pixel_size : float, optional
        The pixel of the GeoTIFFs, in metres (default: the screen's pixel on the ground).
    source_pixel_m : float, optional
        The imagery's own pixel (default: from a sensor named in the file names, else
        unknown): GeoTIFFs finer than it are written at it instead, with a warning.
    mask_path : str or Path, optional
        A mask file (:mod:`campwatch.io.masks`) over what is not imagery (a logo, a
        watermark, a date stamp): nodata in every GeoTIFF.
    hide_px : sequence of (x0, y0, x1, y1)
        Boxes of every frame, in screen pixels from its top-left corner, that are not
        imagery (a logo in a corner): nodata in every GeoTIFF.

    Writes ``images/<stem>_<date>.tif`` (RGB, uint8 as the frames, a nodata mask, the date
    in the name and in ``TIFFTAG_DATETIME``, the grid in ``CAMPWATCH_GRID``) and
    ``frames.json`` (every frame's name and SHA-256, the bounds, the grid and the warnings).

    Raises
    ------
    InputError
        When a frame has no date in its name, two frames have one date, the frames differ in
        size or band count, a frame is georeferenced already, or the bounds are not degrees.
    """
    files = frame_files(frames_dir)
    west, south, east, north = _check_bounds(bounds)
    if pixel_size is not None and not (math.isfinite(pixel_size) and 0.01 <= pixel_size <= 10_000):
        raise InputError(f"--pixel-size {pixel_size}: expected metres between 0.01 and 10000")
    if source_pixel_m is not None and not (math.isfinite(source_pixel_m) and 0.01 <= source_pixel_m <= 10_000):
        raise InputError(f"--source-pixel-m {source_pixel_m}: expected metres between 0.01 and 10000")
    out = Path(out_dir)
    if out.resolve() == Path(frames_dir).resolve() or Path(frames_dir).resolve() in out.resolve().parents:
        raise InputError(f"--out {out}: inside the frames folder; its GeoTIFFs would be read as frames next time")
    check_writable(out)
    mask = read_mask(mask_path) if mask_path is not None else None

    dates, (height, width) = _dated_frames(files)
    for box in hide_px:
        x0, y0, x1, y1 = (int(v) for v in box)
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise InputError(f"--hide {x0} {y0} {x1} {y1}: not a box X0 Y0 X1 Y1 inside the frames' {width} x "
                             f"{height} px (from the top-left corner, X0 < X1, Y0 < Y1)")

    utm = utm_of(shapely.box(west, south, east, north))
    src_transform = from_bounds(west, south, east, north, width, height)
    left, bottom, right, top = transform_bounds("EPSG:4326", utm, west, south, east, north, densify_pts=21)
    screen = math.sqrt(((right - left) / width) * ((top - bottom) / height))
    warnings: list[str] = []
    wanted, source_pixel_m = _written_pixel(files, screen, pixel_size, source_pixel_m, warnings)
    for w in warnings:
        logger.warning("%s", w)
    cols, rows = max(1, int(round((right - left) / wanted))), max(1, int(round((top - bottom) / wanted)))
    transform = Affine(wanted, 0.0, left, 0.0, -wanted, top)
    assigned = (f"assigned by the user: frames of {width} x {height} px placed at W {west:g} S {south:g} "
                f"E {east:g} N {north:g} (degrees), {screen:.2f} m per screen pixel; written at {wanted:.2f} m "
                f"in {utm.to_string()} (campwatch frames {__version__})")
    resampling = Resampling.average if wanted > 1.1 * screen else Resampling.bilinear
    place = _Placement(src_transform, (height, width), utm, transform, (rows, cols), resampling, assigned)

    images: dict[dt.date, Path] = {}
    frame_records = []
    task = start("frame", len(dates), f"placing {len(dates)} frames")
    with OutputSet(out) as outs:
        for date in sorted(dates):
            f = dates[date]
            name = _write_frame(outs, f, date, place, mask=mask, hide_px=hide_px)
            images[date] = outs.final_path(f"images/{name}")
            frame_records.append({"frame": f.name, "sha256": sha256_file(f), "date": date.isoformat(),
                                  "image": f"images/{name}"})
            task.advance(f"{f.name}: {date.isoformat()}")
        record = {
            "campwatch": __version__, "grid": assigned, "bounds_degrees": [west, south, east, north],
            "crs": utm.to_string(), "transform": [round(v, 6) for v in tuple(transform)[:6]],
            "width": cols, "height": rows, "pixel_m": round(wanted, 3), "screen_pixel_m": round(screen, 3),
            "source_pixel_m": source_pixel_m, "mask": None if mask_path is None else Path(mask_path).name,
            "hidden_px": [list(map(int, b)) for b in hide_px],
            "warnings": warnings, "frames": frame_records,
        }
        write_json(record, outs.path("frames.json"))
    return FramesResult(images=images, crs=utm, transform=transform, shape=(rows, cols), pixel_m=wanted,
                        screen_pixel_m=screen, warnings=tuple(warnings), record=record)


def _safe_stem(stem: str, date: dt.date) -> str:
    """A frame's name without its date and with only letters, digits and dashes: the GeoTIFF's name is data-safe."""
    text = stem.replace(date.isoformat(), " ")
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return (text or "frame")[:60]


def frames_aoi(record: dict[str, Any]) -> dict[str, Any]:
    """An AOI document (GeoJSON) of the frames' bounds, for a series of frames without an AOI of its own."""
    west, south, east, north = record["bounds_degrees"]
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "frames", "source": "the bounds given to campwatch frames"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}



def _written_pixel(files: Sequence[Path], screen: float, pixel_size: float | None, source_pixel_m: float | None,
                   warnings: list[str]) -> tuple[float, float | None]:
    """The GeoTIFFs' pixel (m), and the imagery's own when known (given, or of a sensor the names name);
    what the user should know of the choice goes into ``warnings``."""
    wanted = pixel_size or screen
    if pixel_size is not None and pixel_size < 0.9 * screen:
        warnings.append(f"--pixel-size {pixel_size:g} m is finer than the screen's pixel ({screen:.2f} m): the frames "
                        "are upsampled, and nothing smaller than a screen pixel can be seen")
    sensor = None
    if source_pixel_m is None and (found := _sensor_pixel(files)) is not None:
        source_pixel_m, sensor = found
    if source_pixel_m is not None and wanted < 0.9 * source_pixel_m:
        named = f" ({sensor} in the frames' names)" if sensor else ""
        warnings.append(f"the pixel asked for ({wanted:.2f} m) is finer than the imagery's own ({source_pixel_m:g} m"
                        f"{named}): analysed at {source_pixel_m:g} m, its pixels are not read as objects")
        wanted = source_pixel_m
    return wanted, source_pixel_m

def _dated_frames(files: Sequence[Path]) -> tuple[dict[dt.date, Path], tuple[int, int]]:
    """Each frame by its date, and the frames' one size (rows, columns).

    Raises
    ------
    InputError
        When a frame has no date, two have one date, one is georeferenced already, not in colour, or of
        another size.
    """
    dates: dict[dt.date, Path] = {}
    size: tuple[int, int, int] | None = None
    for f in files:
        try:
            date = parse_date(f)
        except Exception as exc:  # noqa: BLE001 - SceneError: say it as an input error of this command
            raise InputError(f"{f.name}: {exc}") from None
        if date in dates:
            raise InputError(f"{f.name} and {dates[date].name} are both dated {date.isoformat()}: one frame a date")
        dates[date] = f
        with open_raster(f) as ds:
            check_size(f, ds.count, ds.width, ds.height)
            if ds.crs is not None:
                raise InputError(f"{f.name}: is georeferenced already ({ds.crs.to_string()}); campwatch frames "
                                 "places screenshots, give georeferenced images to campwatch series directly")
            here = (ds.count, ds.height, ds.width)
        if ds.count < 3:
            raise InputError(f"{f.name}: has {ds.count} band(s); a frame is a colour screenshot (red, green, blue)")
        if size is None:
            size = here
        elif here[1:] != size[1:]:
            raise InputError(f"{f.name} is {here[2]} x {here[1]} px but {files[0].name} is {size[2]} x {size[1]} px: "
                             "frames of one view must be of one size (take every screenshot at one zoom and "
                             "window size)")
    assert size is not None
    return dates, (size[1], size[2])


@dataclass(frozen=True)
class _Placement:
    """Where the frames go: their screen grid in degrees, the GeoTIFFs' grid, and the note of who placed them."""

    src_transform: Affine
    screen: tuple[int, int]  # the frames' (rows, columns)
    crs: CRS
    transform: Affine
    shape: tuple[int, int]  # the GeoTIFFs' (rows, columns)
    resampling: Resampling
    assigned: str


def _write_frame(outs: OutputSet, f: Path, date: dt.date, place: _Placement, *, mask: UserMask | None,
                 hide_px: Sequence[tuple[int, int, int, int]]) -> str:
    """Write frame ``f`` as the GeoTIFF ``images/<stem>_<date>.tif`` of ``outs``; return its name."""
    height, width = place.screen
    rows, cols = place.shape
    src_transform, transform, utm, resampling, assigned = (place.src_transform, place.transform, place.crs,
                                                           place.resampling, place.assigned)
    with open_raster(f) as ds:
        data = ds.read(indexes=[1, 2, 3])
        dtype = ds.dtypes[0]
    valid = np.full((height, width), 255, dtype="uint8")
    if mask is not None:
        hidden = mask.pixels(date, crs=CRS.from_epsg(4326), transform=src_transform, shape=(height, width))
        valid[hidden] = 0
    for x0, y0, x1, y1 in hide_px:
        valid[int(y0):int(y1), int(x0):int(x1)] = 0
    dest = np.zeros((3, rows, cols), dtype="float32")
    for band in range(3):
        reproject(data[band].astype("float32"), dest[band], src_transform=src_transform, src_crs="EPSG:4326",
                  src_nodata=None, dst_transform=transform, dst_crs=utm, resampling=resampling)
    cover = np.zeros((rows, cols), dtype="float32")
    reproject(valid.astype("float32"), cover, src_transform=src_transform, src_crs="EPSG:4326",
              dst_transform=transform, dst_crs=utm, resampling=Resampling.average)
    name = f"{_safe_stem(f.stem, date)}_{date.isoformat()}.tif"
    path = outs.path(f"images/{name}")
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=3, dtype=dtype, crs=utm,
                       transform=transform, compress="deflate", tiled=True) as dst:
        top_value = np.iinfo(dtype).max if np.issubdtype(np.dtype(dtype), np.integer) else None
        dst.write(np.clip(np.round(dest), 0, top_value).astype(dtype))
        dst.write_mask(np.where(cover >= 254.0, 255, 0).astype("uint8"))
        for i, colour in enumerate(("red", "green", "blue"), start=1):
            dst.set_band_description(i, colour)
        dst.update_tags(TIFFTAG_DATETIME=f"{date:%Y:%m:%d} 00:00:00", **{GRID_TAG: assigned},
                        CAMPWATCH_FRAME=f.name)
    return name
