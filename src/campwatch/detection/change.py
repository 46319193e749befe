"""Per-pixel change measures: standardised change magnitude, brightness and vegetation change; and the
smoothing several stages share (the slowly varying ground: :func:`median_background`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from campwatch.io.scene import Scene

__all__ = ["ChangeMeasures", "change_measures", "fill_invalid", "ndvi", "pixel_noise", "robust_sigma", "median_background",
           "upsample_bilinear"]


@dataclass(frozen=True)
class ChangeMeasures:
    """Change between two scenes on one grid.

    Attributes
    ----------
    magnitude : (M, N) ndarray of float32
        Root mean square over bands of the band differences, each in units of that band's
        robust noise sigma (change vector magnitude).
    brightness : (M, N) ndarray of float32
        Mean over bands of the standardised differences: > 0 brighter, < 0 darker.
    ndvi_before, ndvi_after : (M, N) ndarray of float32 or None
        NDVI of each date, when both red and near-infrared bands are present.
    valid : (M, N) ndarray of bool
        Pixels valid in both scenes (and inside the AOI).
    sigma : tuple of float
        Robust sigma of each band's difference, in input units.
    noise_reference : (M, N) ndarray of bool
        The pixels whose differences gave ``sigma``.
    pixel_noise : tuple of float
        Each band's noise of the pixels themselves (sensor and encoding: quantisation,
        compression), of both images together (:func:`pixel_noise` of each, in quadrature),
        in input units: what the difference of a pair where nothing changed is made of.
    """

    magnitude: np.ndarray
    brightness: np.ndarray
    ndvi_before: np.ndarray | None
    ndvi_after: np.ndarray | None
    valid: np.ndarray
    sigma: tuple[float, ...]
    noise_reference: np.ndarray
    pixel_noise: tuple[float, ...] = ()


def robust_sigma(values: np.ndarray) -> float:
    """Return 1.4826 times the median absolute deviation of ``values`` (a robust sigma)."""
    if values.size == 0:
        return 0.0
    med = np.median(values)
    return float(1.4826 * np.median(np.abs(values - med)))


#: Rows of a band :func:`pixel_noise` measures on: one in this many (its cost stays a fraction of a pass).
NOISE_ROW_STEP = 4


def pixel_noise(band: np.ndarray, valid: np.ndarray) -> float:
    """The noise sigma of an image band's own pixels, in its units (sensor and encoding noise, not scene).

    Immerkaer's estimator (J. Immerkaer, "Fast noise variance estimation", Computer Vision
    and Image Understanding 64(2), 1996): the band filtered by the 3 x 3 difference of two
    Laplacians, which cancels any locally planar scene, and whose response to white noise
    of sigma s has sigma 6 s. Taken robustly (1.4826 times the median absolute response,
    so that edges do not count) on every :data:`NOISE_ROW_STEP`-th row, where all nine
    pixels are valid. 0 when fewer than 100 such pixels.
    """
    rows = np.arange(1, band.shape[0] - 1, NOISE_ROW_STEP)
    if rows.size == 0 or band.shape[1] < 3:
        return 0.0
    up, mid, down = band[rows - 1], band[rows], band[rows + 1]
    ok = valid[rows - 1] & valid[rows] & valid[rows + 1]
    line = up - 2 * mid + down
    response = line[:, :-2] - 2 * line[:, 1:-1] + line[:, 2:]
    ok = ok[:, :-2] & ok[:, 1:-1] & ok[:, 2:]
    values = np.abs(response[ok])
    if values.size < 100:
        return 0.0
    return float(1.4826 * np.median(values) / 6.0)


def fill_invalid(image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``image`` (M, N) with its invalid pixels set to the median of its valid ones (0 if none).

    For filters that would otherwise smear nodata into valid pixels. Returns ``image``
    itself when every pixel is valid.
    """
    if valid.all():
        return image
    fill = float(np.median(image[valid])) if valid.any() else 0.0
    return np.where(valid, image, fill)


def ndvi(scene: Scene) -> np.ndarray | None:
    """Return the NDVI of a scene, or None when it lacks a red or near-infrared band."""
    red, nir = scene.band("red"), scene.band("nir")
    if red is None or nir is None:
        return None
    total = nir + red
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(total > 0, (nir - red) / total, 0.0)
    return out.astype("float32")


def change_measures(
    before: Scene,
    after: Scene,
    *,
    valid: np.ndarray | None = None,
    noise_mask: np.ndarray | None = None,
    min_noise_pixels: int = 1000,
    sigma: tuple[float, ...] | None = None,
) -> ChangeMeasures:
    """Compute per-pixel change measures between two scenes on one grid.

    Parameters
    ----------
    before, after : Scene
        On the same grid, with the same bands; ``after`` already radiometrically matched.
    valid : (M, N) ndarray of bool, optional
        Pixels to analyse; default, those valid in both scenes.
    noise_mask : (M, N) ndarray of bool, optional
        Pixels whose differences measure the noise (for example pseudo-invariant
        features: a season's change of fields must not count as noise). Default, all
        valid pixels; also used when fewer than ``min_noise_pixels`` are given.
    sigma : tuple of float, optional
        The noise sigma of each band's difference, measured beforehand (a block of a larger
        scene takes the scene's, so that one threshold means the same everywhere);
        default, measured here over ``noise_mask``.

    Notes
    -----
    Memory: about 3 float32 arrays of the image size besides the inputs.
    """
    if valid is None:
        valid = before.valid & after.valid
    ref = valid if noise_mask is None else (noise_mask & valid)
    if int(ref.sum()) < min_noise_pixels:
        ref = valid
    diff = after.data - before.data
    nb = diff.shape[0]
    if sigma is not None and len(sigma) != nb:
        raise ValueError(f"{len(sigma)} noise sigmas given for {nb} bands")
    sigmas: list[float] = []
    sq = np.zeros(before.shape, dtype="float32")
    signed = np.zeros(before.shape, dtype="float32")
    for b in range(nb):
        if sigma is not None:
            s = float(sigma[b])
        else:
            s = robust_sigma(diff[b][ref]) if ref.any() else 0.0
            floor = 1e-6 + 1e-3 * float(np.abs(before.data[b][valid]).mean()) if valid.any() else 1.0
            s = max(s, floor)
        sigmas.append(s)
        z = diff[b] / s
        sq += z * z
        signed += z
    magnitude = np.sqrt(sq / nb).astype("float32")
    brightness = (signed / nb).astype("float32")
    magnitude[~valid] = 0
    brightness[~valid] = 0
    noise = tuple(float(np.hypot(pixel_noise(before.data[b], valid), pixel_noise(after.data[b], valid)))
                  for b in range(nb))
    return ChangeMeasures(
        magnitude=magnitude,
        brightness=brightness,
        ndvi_before=ndvi(before),
        ndvi_after=ndvi(after),
        valid=valid,
        sigma=tuple(sigmas),
        noise_reference=ref,
        pixel_noise=noise,
    )


def median_background(
    data: np.ndarray, valid: np.ndarray, pixel_size: float, *, scale_m: float = 60.0, cell_m: float = 4.0
) -> np.ndarray:
    """Smooth ``data`` by a median over ``scale_m``, per band: what varies slowly in it.

    Computed on a grid of ``cell_m`` cells (block means), median-filtered, and brought back
    to the pixel grid by bilinear interpolation. Objects smaller than about half of
    ``scale_m`` do not pull it. Invalid pixels are filled with the band's median first.

    Parameters
    ----------
    data : (B, M, N) ndarray
    valid : (M, N) ndarray of bool
    pixel_size : float
        In metres.

    Returns
    -------
    (B, M, N) ndarray of float32
    """
    f = max(1, int(round(cell_m / pixel_size)))
    size = max(3, int(round(scale_m / (f * pixel_size))) | 1)
    rows, cols = valid.shape
    pr, pc = (-rows) % f, (-cols) % f
    out = np.empty(data.shape, dtype="float32")
    for b in range(data.shape[0]):
        padded = np.pad(fill_invalid(data[b], valid), ((0, pr), (0, pc)), mode="edge")
        coarse = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).mean(axis=(1, 3))
        coarse = ndimage.median_filter(coarse, size=size, mode="nearest")
        out[b] = upsample_bilinear(coarse, f, (rows, cols))
    return out


def _upsample_axis0(coarse: np.ndarray, f: int) -> np.ndarray:
    """Bilinear interpolation of a padded (by one edge cell) coarse grid to ``f`` rows per cell."""
    n = coarse.shape[0] - 2
    out = np.empty((n * f,) + coarse.shape[1:], dtype="float32")
    for p in range(f):
        # Fine row j * f + p lies at coarse coordinate j + d: between cells j - 1 and j
        # (d < 0) or j and j + 1 (d >= 0), with edge cells repeated (the padding).
        d = (p + 0.5) / f - 0.5
        lo = coarse[0:n] if d < 0 else coarse[1:n + 1]
        hi = coarse[1:n + 1] if d < 0 else coarse[2:n + 2]
        w = np.float32(d + 1.0 if d < 0 else d)
        out[p::f] = lo + w * (hi - lo)
    return out


def upsample_bilinear(coarse: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Bring a grid of ``f`` x ``f`` cells back to the pixel grid by bilinear interpolation.

    The same as ``scipy.ndimage.zoom(coarse, f, order=1, mode="nearest", grid_mode=True)``
    cut to ``shape`` (to float32 rounding), in two separable passes of ``f`` strided
    slices each: several times faster.

    Returns
    -------
    (M, N) ndarray of float32
    """
    padded = np.pad(coarse.astype("float32", copy=False), 1, mode="edge")
    rows = _upsample_axis0(padded, f)[: shape[0]]
    return np.ascontiguousarray(_upsample_axis0(rows.T, f)[: shape[1]].T)
