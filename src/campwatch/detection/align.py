"""Measure and correct a small shift between two scenes on one grid."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage
from skimage.filters import sobel
from skimage.registration import phase_cross_correlation

from campwatch.detection.change import fill_invalid
from campwatch.detection.threads import for_each
from campwatch.io.pair import ReducedPair
from campwatch.io.scene import Scene

__all__ = ["ShiftEstimate", "apply_shift", "estimate_shift", "match_shift_blur", "measure_shift", "residual_shifts",
           "shift_pair"]

logger = logging.getLogger(__name__)


def _brightness(scene: Scene) -> np.ndarray:
    return fill_invalid(scene.data.mean(axis=0), scene.valid)


def _edges(scene: Scene) -> np.ndarray:
    edges = sobel(_brightness(scene))
    near_invalid = ndimage.binary_dilation(~scene.valid, iterations=2)
    edges[near_invalid] = 0.0
    return edges


@dataclass(frozen=True)
class ShiftEstimate:
    """A measured shift between two scenes.

    ``shift`` is the (row, col) by which the moving scene must be moved to lie on the
    reference; ``strength`` the correlation peak's height in standard deviations of the
    correlation surface; ``outside`` the strongest peak beyond the search bound and its
    strength, when it is stronger than the one inside.
    """

    shift: tuple[float, float]
    strength: float
    outside: tuple[tuple[float, float], float] | None = None


def _parabolic(left: float, centre: float, right: float) -> float:
    denom = left - 2 * centre + right
    return 0.0 if denom == 0 else float(np.clip(0.5 * (left - right) / denom, -0.5, 0.5))


def measure_shift(reference: Scene, moving: Scene, *, max_shift: float = 5.0) -> ShiftEstimate:
    """Measure the (row, col) shift that registers ``moving`` onto ``reference``.

    Phase correlation of the gradient magnitude of the mean brightness (edges stay put when
    season and illumination change), tapered by a Hann window, pixels near invalid ones
    left out. The peak is looked for within ``max_shift`` pixels and refined to sub-pixel
    (``skimage.registration.phase_cross_correlation`` with upsampling when it agrees, else
    a parabola through the peak's neighbours); a stronger peak outside the bound is
    reported.
    """
    a, b = for_each(_edges, (reference, moving))

    def surface_of() -> np.ndarray:
        window = np.outer(np.hanning(a.shape[0]), np.hanning(a.shape[1]))
        # SciPy's FFT (pocketfft, as NumPy's) is several times faster than NumPy's here, and agrees with
        # it to 1e-12 relative: the peak and the shift are the same (benchmarks/same_bytes.py).
        fa, fb = for_each(lambda x: scipy.fft.fft2((x - x.mean()) * window), (a, b))
        cross = fa * np.conj(fb)
        cross /= np.maximum(np.abs(cross), 1e-12)
        return scipy.fft.fftshift(np.real(scipy.fft.ifft2(cross)))

    def upsampled() -> np.ndarray:
        # skimage's upsampled-DFT refinement is finer than the parabola below (it searches the
        # whole surface; kept when it agrees with the bounded peak).
        return phase_cross_correlation(a, b, upsample_factor=20, normalization=None)[0]

    surface, fine = for_each(lambda work: work(), (surface_of, upsampled))
    rows, cols = surface.shape
    cr, cc = rows // 2, cols // 2
    std = float(surface.std()) or 1.0
    mean = float(surface.mean())
    yy, xx = np.mgrid[:rows, :cols]
    inside = (yy - cr) ** 2 + (xx - cc) ** 2 <= max_shift**2
    r, c = np.unravel_index(np.argmax(np.where(inside, surface, -np.inf)), surface.shape)
    strength = (float(surface[r, c]) - mean) / std
    dr = _parabolic(surface[r - 1, c], surface[r, c], surface[(r + 1) % rows, c]) if 0 < r else 0.0
    dc = _parabolic(surface[r, c - 1], surface[r, c], surface[r, (c + 1) % cols]) if 0 < c else 0.0
    shift = (round(float(r - cr + dr), 2), round(float(c - cc + dc), 2))
    if abs(fine[0] - shift[0]) <= 1.0 and abs(fine[1] - shift[1]) <= 1.0:
        shift = (round(float(fine[0]), 2), round(float(fine[1]), 2))
    r2, c2 = np.unravel_index(np.argmax(np.where(inside, -np.inf, surface)), surface.shape)
    strength2 = (float(surface[r2, c2]) - mean) / std
    outside = ((float(r2 - cr), float(c2 - cc)), strength2) if strength2 > strength else None
    return ShiftEstimate(shift=(shift[0] + 0.0, shift[1] + 0.0), strength=strength, outside=outside)


def residual_shifts(
    reference: Scene, moving: Scene, *, tiles: int = 3, max_shift: float = 5.0, min_strength: float = 8.0,
    min_size: int = 64, max_size: int = 512,
) -> list[tuple[float, float]]:
    """The shift left between two scenes, measured on a ``tiles`` x ``tiles`` grid of tiles.

    After a global shift is corrected, what remains is local (terrain, a different
    orthorectification): phase correlation on each tile (:func:`measure_shift`) shows it.
    Tiles smaller than ``min_size`` pixels, half invalid, or whose correlation peak is
    weaker than ``min_strength`` sigmas are left out; of a tile larger than ``max_size``
    pixels only its central ``max_size`` square is correlated (plenty for a sub-pixel peak).

    Returns
    -------
    list of (row, col)
        The residual shift of each tile that could be measured.
    """
    rows, cols = reference.shape
    parts = []
    for i in range(tiles):
        for j in range(tiles):
            r0, r1 = i * rows // tiles, (i + 1) * rows // tiles
            c0, c1 = j * cols // tiles, (j + 1) * cols // tiles
            if r1 - r0 < min_size or c1 - c0 < min_size:
                continue
            if r1 - r0 > max_size:
                r0 = (r0 + r1 - max_size) // 2
                r1 = r0 + max_size
            if c1 - c0 > max_size:
                c0 = (c0 + c1 - max_size) // 2
                c1 = c0 + max_size
            a, b = reference.cut(slice(r0, r1), slice(c0, c1)), moving.cut(slice(r0, r1), slice(c0, c1))
            if (a.valid & b.valid).mean() < 0.5:
                continue
            parts.append((a, b))
    found = for_each(lambda ab: measure_shift(ab[0], ab[1], max_shift=max_shift), parts)
    return [est.shift for est in found if est.strength >= min_strength]


def estimate_shift(reference: Scene, moving: Scene, *, max_shift: float = 5.0) -> tuple[float, float]:
    """The (row, col) shift that registers ``moving`` onto ``reference`` (see :func:`measure_shift`)."""
    return measure_shift(reference, moving, max_shift=max_shift).shift


def _shift_axis(data: np.ndarray, d: float, axis: int) -> np.ndarray:
    """``data`` moved by ``d`` pixels along ``axis`` (bilinear, edge values repeated)."""
    if d == 0:
        return data
    n = data.shape[axis]
    k = int(math.floor(-d))  # output pixel i takes input i + k and i + k + 1
    w = np.float32(-d - k)
    pad = [(0, 0)] * data.ndim
    pad[axis] = (max(0, -k), max(0, k + 2))
    padded = np.pad(data, pad, mode="edge")
    start = k + pad[axis][0]
    lo = padded[(slice(None),) * axis + (slice(start, start + n),)]
    hi = padded[(slice(None),) * axis + (slice(start + 1, start + 1 + n),)]
    out = np.subtract(hi, lo, dtype="float32")
    out *= w
    out += lo
    return out


def _shift_bilinear(data: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """Bands (B, M, N) moved by a (row, col) shift: bilinear, edge values repeated.

    The same as ``scipy.ndimage.shift(band, shift, order=1, mode="nearest",
    prefilter=False)`` on each band (to float32 rounding), in two separable passes of
    whole-array arithmetic: several times faster.
    """
    return np.ascontiguousarray(_shift_axis(_shift_axis(data, shift[0], 1), shift[1], 2), dtype="float32")


def apply_shift(scene: Scene, shift: tuple[float, float]) -> Scene:
    """Return ``scene`` resampled by a (row, col) shift; pixels shifted in from outside are invalid.

    Bilinear resampling; the valid mask shrinks by the shift rounded up.
    """
    if shift == (0.0, 0.0):
        return scene
    data = _shift_bilinear(scene.data.astype("float32", copy=False), shift)
    valid = ndimage.shift(scene.valid.astype("float32"), shift, order=0, mode="constant", cval=0.0) > 0.5
    # Resampling blends a pixel with its neighbours: drop those next to invalid ones.
    grow = max(1, int(math.ceil(max(abs(shift[0]), abs(shift[1])) % 1 > 0)))
    valid = ndimage.binary_erosion(valid, iterations=grow, border_value=0)
    data[:, ~valid] = 0
    return dataclasses.replace(scene, data=data, valid=valid)


def match_shift_blur(scene: Scene, shift: tuple[float, float]) -> Scene:
    """Return ``scene`` blurred as much as bilinear resampling by ``shift`` blurs the other scene.

    Resampling by a fraction ``f`` of a pixel mixes neighbours ``1 - f : f``: a low-pass
    filter. Left sharp, the scene not resampled differs from the resampled one at every
    edge and texture, and that difference is thresholded as change (a Sentinel-2 scene
    against itself moved by 1.3 px: 2.1 % of its pixels over 4 noise sigmas; blurred to
    match, 0.7 %). The match, per axis, is the zero-phase filter ``[b, 1 - 2b, b]`` with
    ``b = f (1 - f) / 2``: the same response as the resampling's to first order, and no
    move. A whole-pixel shift blurs nothing and leaves the scene as it is. Only valid
    pixels are mixed (the weights renormalised over them): nodata does not darken an edge.
    """
    weights = [(f * (1.0 - f)) / 2.0 for f in (abs(shift[0]) % 1.0, abs(shift[1]) % 1.0)]
    if max(weights) < 1e-3:
        return scene
    whole = bool(scene.valid.all())  # nothing to renormalise: one pass less
    valid = None if whole else scene.valid.astype("float32")
    data = scene.data.astype("float32", copy=False) if whole else scene.data * valid
    for axis, b in zip((0, 1), weights):
        if b >= 1e-3:
            kernel = np.array([b, 1.0 - 2.0 * b, b], dtype="float32")
            data = ndimage.convolve1d(data, kernel, axis=axis + 1, mode="nearest")
            if valid is not None:
                valid = ndimage.convolve1d(valid, kernel, axis=axis, mode="nearest")
    if valid is not None:
        data /= np.maximum(valid, 1e-6)
        data[:, ~scene.valid] = 0
    return dataclasses.replace(scene, data=data)


def shift_pair(pair: ReducedPair, shift: tuple[float, float]) -> ReducedPair:
    """Move the after scene of a pair read for figures by ``shift`` (pixels of the analysed grid).

    The reduced images move by ``shift`` over the reduction factor; the close-ups read at
    full resolution move by ``shift``.
    """
    if shift == (0.0, 0.0):
        return pair
    after = apply_shift(pair.after, (shift[0] / pair.factor, shift[1] / pair.factor))
    chips = pair.chips
    if chips is None:
        return dataclasses.replace(pair, after=after)
    read = chips

    def moved(bounds: tuple[float, float, float, float]) -> tuple[Scene, Scene]:
        b, a = read(bounds)
        return b, apply_shift(a, shift)

    return dataclasses.replace(pair, after=after, chips=moved)
