"""Find what clouds and their shadows hide, and where they are thin enough to see through.

A cloud (or its shadow) brightens (darkens) every band, covers a large area, and fades
out gradually at its edge, where buildings, fields and demolitions have sharp edges. A
cloud adds a smooth veil of light, a shadow multiplies by a smooth factor; that field is
estimated (a median over tens of metres of the difference or ratio between the dates).
Where it is thick the pixels are obscured: not analysed, and reported as such. Where it is
thin, structures still show through (their contrast with the ground is only dimmed), but
the ground's own change cannot be told from the veil.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import sobel
from skimage.measure import regionprops

from campwatch.config import CloudOptions
from campwatch.detection.change import ChangeMeasures, median_background
from campwatch.io.scene import Scene

__all__ = ["Obscured", "extend_fringe", "find_obscured"]


@dataclass(frozen=True)
class Obscured:
    """Clouds and cloud shadows found in a pair of scenes.

    Attributes
    ----------
    mask : (M, N) ndarray of bool
        Pixels not analysed because a thick cloud or its shadow hides them on one date.
    before, after : (M, N) ndarray of bool
        The part of ``mask`` attributed to each date.
    seen_through : (M, N) ndarray of bool
        Pixels under a thin cloud or shadow: analysed for structures only.
    seen_through_before, seen_through_after : (M, N) ndarray of bool
        The part of ``seen_through`` attributed to each date.
    regions : list of dict
        One record per cloud or shadow: date, kind, obscured and seen-through areas.
    """

    mask: np.ndarray
    before: np.ndarray
    after: np.ndarray
    seen_through: np.ndarray
    seen_through_before: np.ndarray
    seen_through_after: np.ndarray
    regions: list[dict[str, object]]

    @property
    def found(self) -> bool:
        """True when any cloud or cloud shadow was found."""
        return bool(self.regions)


def find_obscured(
    labels: np.ndarray, before: Scene, after: Scene, measures: ChangeMeasures, config: CloudOptions
) -> Obscured:
    """Find change regions that are clouds or cloud shadows, and correct their thin parts.

    Edge sharpness is the median gradient of the brightness change along a region's
    outline over the median change inside it; below ``config.cloud_max_sharpness``, with
    every band changing the same way and larger than ``config.cloud_min_area_m2``, the
    region is a cloud on the brighter date if that date is brighter there than
    ``config.cloud_brightness`` times the scene's median, else a cloud's shadow on the
    darker date. Within it (plus ``config.cloud_margin_m``), pixels where the smooth veil
    exceeds ``config.cloud_max_veil`` of the ground's brightness are obscured; the rest
    are seen through.
    """
    shape = labels.shape
    none = np.zeros(shape, dtype=bool)
    if config.cloud_min_area_m2 <= 0 or labels.max() == 0:
        return Obscured(none, none, none, none, none, none, [])
    px = float(np.sqrt(before.pixel_area))
    change = ndimage.gaussian_filter(measures.brightness, 1.0)
    grad = sobel(change)
    diff = after.data - before.data
    bright_b = before.data.mean(axis=0)
    bright_a = after.data.mean(axis=0)
    valid = measures.valid
    level = float(np.median(bright_b[valid])) if valid.any() else 0.0
    margin = max(1, int(round(config.cloud_margin_m / px)))
    found: list[tuple[tuple[slice, slice], np.ndarray, str, bool, float]] = []
    for prop in regionprops(labels):
        area = prop.area * before.pixel_area
        if area < config.cloud_min_area_m2:
            continue
        sl = prop.slice
        region = labels[sl] == prop.label
        outline = region & ~ndimage.binary_erosion(region)
        inside = float(np.median(np.abs(change[sl][region])))
        if inside <= 0:
            continue
        sharpness = float(np.median(grad[sl][outline])) / inside
        if sharpness >= config.cloud_max_sharpness:
            continue
        band_means = diff[(slice(None),) + sl][:, region].mean(axis=1)
        if not (np.all(band_means > 0) or np.all(band_means < 0)):
            continue
        brighter_after = bool(np.all(band_means > 0))
        bright_date_level = float((bright_a if brighter_after else bright_b)[sl][region].mean())
        if bright_date_level > config.cloud_brightness * level:
            kind, on_after = "cloud", brighter_after
        else:
            kind, on_after = "cloud shadow", not brighter_after
        # The region grown by the margin, over its bounding box widened by the margin.
        r0, r1 = max(0, sl[0].start - margin), min(shape[0], sl[0].stop + margin)
        c0, c1 = max(0, sl[1].start - margin), min(shape[1], sl[1].stop + margin)
        box = (slice(r0, r1), slice(c0, c1))
        grown = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        grown[sl[0].start - r0:sl[0].stop - r0, sl[1].start - c0:sl[1].stop - c0] = region
        grown = ndimage.binary_dilation(grown, iterations=margin) & valid[box]
        found.append((box, grown, kind, on_after, sharpness))

    if not found:
        return Obscured(none, none, none, none, none, none, [])

    data_b, data_a = before.data, after.data
    hidden_b, hidden_a = none.copy(), none.copy()
    seen_b, seen_a = none.copy(), none.copy()
    records: list[dict[str, object]] = []
    # The veil's thickness depends only on the kind and the date: one per pair of them.
    thickness_of: dict[tuple[str, bool], np.ndarray] = {}
    for box, grown, kind, on_after, sharpness in found:
        if (kind, on_after) not in thickness_of:
            cloudy, clear = (data_a, data_b) if on_after else (data_b, data_a)
            if kind == "cloud":
                veil = median_background(cloudy - clear, valid, px, scale_m=config.cloud_smooth_m)
                thickness_of[kind, on_after] = veil.mean(axis=0) / max(level, 1e-9)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(clear > 0, cloudy / np.maximum(clear, 1e-6), 1.0)
                factor = np.clip(median_background(ratio, valid, px, scale_m=config.cloud_smooth_m), 1e-3, None)
                thickness_of[kind, on_after] = 1.0 - factor.mean(axis=0)
        thick = grown & (thickness_of[kind, on_after][box] > config.cloud_max_veil)
        thin = grown & ~thick
        (hidden_a if on_after else hidden_b)[box] |= thick
        (seen_a if on_after else seen_b)[box] |= thin
        records.append({
            "date": (after if on_after else before).date.isoformat(),
            "kind": kind,
            "obscured_m2": round(float(thick.sum()) * before.pixel_area, 1),
            "seen_through_m2": round(float(thin.sum()) * before.pixel_area, 1),
            "edge_sharpness": round(sharpness, 3),
        })
    mask = (hidden_b | hidden_a) & valid
    return Obscured(
        mask=mask,
        before=hidden_b & valid,
        after=hidden_a & valid,
        seen_through=(seen_b | seen_a) & ~mask,
        seen_through_before=seen_b & ~mask,
        seen_through_after=seen_a & ~mask,
        regions=records,
    )


def extend_fringe(obscured: Obscured, labels: np.ndarray, measures: ChangeMeasures) -> Obscured:
    """Add to the seen-through veil the change that fringes a cloud or cloud shadow.

    With thresholds chosen without the clouds, more of a cloud's faint fringe shows as
    change. Change pixels connected to a cloud (or cloud shadow) of the same date, whose
    brightness changed the way the cloud's did, are taken for its fringe: seen through,
    never reported as ground change.
    """
    if not obscured.found:
        return obscured
    seen = {"before": obscured.seen_through_before.copy(), "after": obscured.seen_through_after.copy()}
    changed = labels > 0
    for date_key, hidden, veil in (("before", obscured.before, obscured.seen_through_before),
                                   ("after", obscured.after, obscured.seen_through_after)):
        cloud = hidden | veil
        if not cloud.any():
            continue
        # On the after date a cloud brightens the change, a shadow darkens it; on the
        # before date the other way round. Fringes follow the same sign as their core.
        core_sign = np.sign(np.median(measures.brightness[cloud & measures.valid])) if (cloud & measures.valid).any() else 0
        if core_sign == 0:
            continue
        same_way = np.sign(measures.brightness) == core_sign
        candidates = changed & same_way & ~obscured.mask
        grown, _ = ndimage.label(candidates | cloud)
        keep = np.unique(grown[cloud])
        keep = keep[keep > 0]
        seen[date_key] |= np.isin(grown, keep) & candidates
    seen_b = seen["before"] & ~obscured.mask
    seen_a = seen["after"] & ~obscured.mask
    return Obscured(
        mask=obscured.mask,
        before=obscured.before,
        after=obscured.after,
        seen_through=seen_b | seen_a,
        seen_through_before=seen_b,
        seen_through_after=seen_a,
        regions=obscured.regions,
    )
