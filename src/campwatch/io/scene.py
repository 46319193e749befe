"""Read a dated scene: pixels, grid, valid mask, band names and acquisition date."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
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

from campwatch.errors import SceneError
from campwatch.io.delivery import RASTER_SUFFIXES, Acquisition, open_delivery
from campwatch.io.info import (
    GRID_TAG,
    SceneInfo,
    any_scene_info,
    pixel_area,
    scene_info,
    scene_info_undated,
)
from campwatch.io.sources import check_inside, check_local, open_raster

logger = logging.getLogger(__name__)

__all__ = ["Scene", "SceneInfo", "GRID_TAG", "read_scene", "read_scene_onto", "scene_files", "scene_info", "scene_info_undated",
           "sha256_file", "pixel_area", "IMAGE_SUFFIXES", "imagery_credit", "check_local", "check_inside", "open_raster",
           "file_window"]


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


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()



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
    info = scene_info(path) if date is None else dataclasses.replace(any_scene_info(path), date=date)
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
    info = scene_info(path) if date is None else dataclasses.replace(any_scene_info(path), date=date)
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
