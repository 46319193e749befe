"""Per-pixel change measures: standardised change magnitude, brightness and vegetation change."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from campwatch.io.scene import Scene

__all__ = ["ChangeMeasures", "change_measures", "fill_invalid", "ndvi", "pixel_noise", "robust_sigma"]


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
