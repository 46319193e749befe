"""Turn thresholded change into clean, labelled change regions."""

from __future__ import annotations

import cv2
import numpy as np
from skimage.filters import apply_hysteresis_threshold
from skimage.measure import label
from skimage.morphology import disk, remove_small_holes, remove_small_objects

from campwatch.config import DetectConfig
from campwatch.detection.change import ChangeMeasures
from campwatch.detection.threshold import Thresholds

__all__ = ["change_mask", "clean_mask", "label_regions", "open_mask"]


def change_mask(measures: ChangeMeasures, thresholds: Thresholds, *, hysteresis_ratio: float = 0.5) -> np.ndarray:
    """Return the raw change mask: gain and loss pixels above their thresholds.

    Hysteresis: pixels above ``hysteresis_ratio`` times a threshold are kept when connected
    to one above it.

    Returns
    -------
    (M, N) ndarray of bool
    """
    mag, valid = measures.magnitude, measures.valid
    brighter = measures.brightness > 0
    out = np.zeros(mag.shape, dtype=bool)
    for side, thr in ((brighter, thresholds.gain), (~brighter, thresholds.loss)):
        if not np.isfinite(thr):
            continue
        values = np.where(side & valid, mag, 0.0)
        out |= apply_hysteresis_threshold(values, hysteresis_ratio * thr, thr)
    return out & valid


def open_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """The opening of a boolean mask by a disk of ``radius`` pixels (skimage's ``disk``), by OpenCV.

    The same pixels as ``skimage.morphology.opening(mask, disk(radius))`` (outside the image
    neither erodes nor dilates), at a small fraction of its cost.
    """
    if radius <= 0:
        return mask.copy()
    out = cv2.morphologyEx(np.ascontiguousarray(mask, dtype=bool).view(np.uint8), cv2.MORPH_OPEN,
                           disk(radius).astype(np.uint8))
    return out.view(bool)


def clean_mask(mask: np.ndarray, *, pixel_size: float, config: DetectConfig) -> np.ndarray:
    """Remove slivers and specks from a change mask and fill small holes.

    An opening with a disk of ``config.opening_radius_m``, then removal of regions and
    holes smaller than ``config.min_area_m2``.
    """
    radius = int(round(config.opening_radius_m / pixel_size))
    out = open_mask(mask, radius)
    min_px = config.min_region_px(pixel_size**2)
    out = remove_small_objects(out, max_size=min_px - 1) if min_px > 1 else out
    out = remove_small_holes(out, max_size=min_px - 1) if min_px > 1 else out
    return out


def label_regions(mask: np.ndarray) -> np.ndarray:
    """Label 8-connected regions of a mask: (M, N) int32, 0 for background."""
    return label(mask, connectivity=2).astype("int32")
