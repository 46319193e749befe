"""Find where a date carries no information: constant (a blank fill, a failed download) or
saturated over a window, in every band. No change may be claimed there.

A real image varies from pixel to pixel even over calm water or fresh tarmac (sensor noise,
compression): none of the real pairs campwatch is measured on has a window of 16 px (or
10 m) constant to 1 DN in every band. A blank date has nothing else.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from campwatch.io.scene import Scene

__all__ = ["blank_pixels", "BLANK_WINDOW_M", "BLANK_MIN_PX", "BLANK_TOLERANCE", "BLANK_FLOAT_FRACTION"]

#: The window over which a date must vary, in metres, and at least this many pixels.
BLANK_WINDOW_M = 10.0
BLANK_MIN_PX = 16

#: The largest range of values (DN) in every band of a window that still counts as constant.
BLANK_TOLERANCE = 1.0
#: For an image of floating-point values (reflectance from 0.005 to 0.1, say), where 1 DN means
#: nothing: this share of the band's own spread (its 1st to 99th percentile over valid pixels).
BLANK_FLOAT_FRACTION = 1e-3


def _tolerance(scene: Scene, band: np.ndarray) -> float:
    """The range under which a window of ``band`` is constant: 1 DN for integers, else a thousandth of its spread."""
    if not np.issubdtype(np.dtype(scene.dtype), np.floating):
        return BLANK_TOLERANCE
    values = band[scene.valid]
    if values.size == 0:
        return 0.0
    values = values[:: max(1, values.size // 1_000_000)]  # an even sample: two percentiles need no more
    low, high = np.percentile(values, [1.0, 99.0])
    return float(BLANK_FLOAT_FRACTION * (high - low))


def blank_pixels(scene: Scene) -> np.ndarray:
    """The valid pixels of ``scene`` that lie in a window constant in every band (to 1 DN; for
    floating-point data, to a thousandth of each band's spread).

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    (M, N) ndarray of bool

    Notes
    -----
    Two rank filters per band of the window's size (separable, linear in the pixels), and a
    third to grow each constant window back to its full extent. A saturated area is constant
    at the top of the range, and so is found too.
    """
    px = math.sqrt(scene.pixel_area)
    win = max(BLANK_MIN_PX, int(math.ceil(BLANK_WINDOW_M / px)))
    constant: np.ndarray | None = None
    for band in scene.data:
        flat = (ndimage.maximum_filter(band, win) - ndimage.minimum_filter(band, win)) <= _tolerance(scene, band)
        constant = flat if constant is None else constant & flat
        if not constant.any():
            return np.zeros(scene.shape, dtype=bool)
    assert constant is not None
    # Only windows of valid pixels count (nodata is constant too, and is nodata already).
    constant &= ndimage.minimum_filter(scene.valid.view(np.uint8), win).view(bool)
    # A window whose centre is constant is constant all over: every pixel of it is blank.
    grown = ndimage.maximum_filter(constant.view(np.uint8), win).view(bool)
    return grown & scene.valid
