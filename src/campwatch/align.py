"""Check that two scenes share a grid; find the AOI's window; measure and correct a small shift."""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
from rasterio.windows import Window, from_bounds
from scipy import ndimage
from skimage.filters import sobel
from skimage.registration import phase_cross_correlation

from campwatch.aoi import AOI
from campwatch.errors import AOIError, GridMismatchError
from campwatch.scene import Scene, SceneInfo

__all__ = ["check_same_grid", "aoi_window", "estimate_shift", "apply_shift"]

logger = logging.getLogger(__name__)


def check_same_grid(before: SceneInfo, after: SceneInfo) -> None:
    """Raise unless two scenes share CRS, grid (transform and size) and band count.

    Raises
    ------
    GridMismatchError
        Naming both files and what differs.
    """
    pair = f"{before.path} and {after.path}"
    if before.crs != after.crs:
        raise GridMismatchError(
            f"{pair} are in different CRSs ({before.crs.to_string()} vs {after.crs.to_string()}); "
            "warp one onto the other's grid (gdalwarp -t_srs ... -tr ... -te ...)"
        )
    if (before.width, before.height) != (after.width, after.height):
        raise GridMismatchError(
            f"{pair} differ in size ({before.width}x{before.height} vs "
            f"{after.width}x{after.height} pixels); they must share one grid"
        )
    if not before.transform.almost_equals(after.transform, precision=1e-6 * max(before.res)):
        raise GridMismatchError(
            f"{pair} are on different grids (origin or pixel size differ: "
            f"{tuple(before.transform)[:6]} vs {tuple(after.transform)[:6]})"
        )
    if before.count != after.count:
        raise GridMismatchError(
            f"{pair} have different band counts ({before.count} vs {after.count}); "
            "they must hold the same bands"
        )
    if before.band_names != after.band_names and all(before.band_names) and all(after.band_names):
        raise GridMismatchError(
            f"{pair} have different bands ({before.band_names} vs {after.band_names})"
        )


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
            f"{tuple(round(v, 1) for v in _bounds(info))} in {info.crs.to_string()}"
        )
    return Window(int(win.col_off), int(win.row_off), int(win.width), int(win.height))


def _bounds(info: SceneInfo) -> tuple[float, float, float, float]:
    t = info.transform
    xs = (t.c, t.c + t.a * info.width)
    ys = (t.f, t.f + t.e * info.height)
    return (min(xs), min(ys), max(xs), max(ys))


def _brightness(scene: Scene) -> np.ndarray:
    img = scene.data.mean(axis=0)
    fill = float(np.median(img[scene.valid])) if scene.valid.any() else 0.0
    return np.where(scene.valid, img, fill)


def _edges(scene: Scene) -> np.ndarray:
    edges = sobel(_brightness(scene))
    near_invalid = ndimage.binary_dilation(~scene.valid, iterations=2)
    edges[near_invalid] = 0.0
    return edges


def estimate_shift(reference: Scene, moving: Scene, *, upsample: int = 10) -> tuple[float, float]:
    """Return the (row, col) shift that registers ``moving`` onto ``reference``.

    Phase correlation (``skimage.registration.phase_cross_correlation``) of the gradient
    magnitude of the mean brightness, to 1/``upsample`` pixel. Edges are what stays put
    when season and illumination change; pixels near invalid ones are left out.
    """
    shift, _, _ = phase_cross_correlation(
        _edges(reference), _edges(moving), upsample_factor=upsample, normalization=None
    )
    return (float(shift[0]), float(shift[1]))


def apply_shift(scene: Scene, shift: tuple[float, float]) -> Scene:
    """Return ``scene`` resampled by a (row, col) shift; pixels shifted in from outside are invalid.

    Bilinear resampling; the valid mask shrinks by the shift rounded up.
    """
    if shift == (0.0, 0.0):
        return scene
    data = np.stack(
        [ndimage.shift(b, shift, order=1, mode="nearest", prefilter=False) for b in scene.data]
    ).astype("float32")
    valid = ndimage.shift(scene.valid.astype("float32"), shift, order=0, mode="constant", cval=0.0) > 0.5
    # Resampling blends a pixel with its neighbours: drop those next to invalid ones.
    grow = max(1, int(math.ceil(max(abs(shift[0]), abs(shift[1])) % 1 > 0)))
    valid = ndimage.binary_erosion(valid, iterations=grow, border_value=0)
    data[:, ~valid] = 0
    return dataclasses.replace(scene, data=data, valid=valid)
