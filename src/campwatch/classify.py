"""Say what each change region is, in the analyst's terms, with the evidence and a confidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry.base import BaseGeometry
from skimage.measure import regionprops

from campwatch.change import ChangeMeasures
from campwatch.config import DetectConfig
from campwatch.scene import Scene

__all__ = ["ChangeRegion", "classify_regions"]


@dataclass(frozen=True)
class ChangeRegion:
    """One change region with its class, measurements and evidence.

    ``geometry`` is in the scenes' CRS.
    """

    id: int
    geometry: BaseGeometry
    change_class: str
    confidence: float
    area_m2: float
    lit_area_m2: float
    mean_change: float
    max_change: float
    brightness: str
    vegetation: str | None
    ndvi_change: float | None
    width_m: float
    rectangularity: float
    contrast_before: float
    contrast_after: float
    shadow_before: float
    shadow_after: float
    cause: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def properties(self) -> dict[str, Any]:
        """The attributes written to the report."""
        return {
            "id": self.id,
            "class": self.change_class,
            "confidence": round(self.confidence, 3),
            "area_m2": round(self.area_m2, 1),
            "lit_area_m2": round(self.lit_area_m2, 1),
            "mean_change": round(self.mean_change, 3),
            "max_change": round(self.max_change, 3),
            "brightness": self.brightness,
            "vegetation": self.vegetation,
            "ndvi_change": None if self.ndvi_change is None else round(self.ndvi_change, 3),
            "width_m": round(self.width_m, 2),
            "rectangularity": round(self.rectangularity, 3),
            "contrast_before": round(self.contrast_before, 3),
            "contrast_after": round(self.contrast_after, 3),
            "shadow_before_px": round(self.shadow_before, 2),
            "shadow_after_px": round(self.shadow_after, 2),
            "cause": self.cause,
            "evidence": self.evidence,
        }


def _contrast(pixels: np.ndarray, ring: np.ndarray, floor: np.ndarray) -> float:
    """Mean distance of region pixels from the ground around them, in ground-variability units."""
    if ring.shape[1] < 5 or pixels.shape[1] == 0:
        return float("nan")
    med = np.median(ring, axis=1)
    mad = 1.4826 * np.median(np.abs(ring - med[:, None]), axis=1)
    scale = np.maximum(mad, floor)
    z = (pixels - med[:, None]) / scale[:, None]
    return float(np.mean(np.sqrt(np.mean(z * z, axis=0))))


def classify_regions(
    labels: np.ndarray,
    polygons: dict[int, BaseGeometry],
    before: Scene,
    after: Scene,
    measures: ChangeMeasures,
    config: DetectConfig,
    *,
    threshold: float,
) -> list[ChangeRegion]:
    """Measure and classify every labelled change region.

    Parameters
    ----------
    labels : (M, N) ndarray of int32
    polygons : dict
        Outline of each label in map coordinates (from :func:`campwatch.vectorize.region_polygons`).
    before, after : Scene
        ``after`` radiometrically matched to ``before``.
    measures : ChangeMeasures
    config : DetectConfig
    threshold : float
        The smaller of the gain and loss thresholds, to scale the confidence.

    Returns
    -------
    list of ChangeRegion
        In label order.

    Notes
    -----
    A region is a structure change when it has a building's size, width and rectangular
    shape, and stands out from the ground around it on one date (new or demolished) or on
    both (modified). Vegetation change and moved shadows are ``other_change``.
    """
    px = float(np.sqrt(before.pixel_area))
    ring_gap = max(1, int(round(1.0 / px)))
    ring_width = max(2, int(round(5.0 / px)))
    reach = max(1, int(round(config.shadow_reach_m / px)))
    margin = max(ring_gap + ring_width, reach) + 1
    changed = labels > 0
    valid = measures.valid
    floor = np.asarray(measures.sigma, dtype="float64") / np.sqrt(2.0)
    bright_b = before.data.mean(axis=0)
    bright_a = after.data.mean(axis=0)
    scene_bright = float(np.median(bright_b[valid])) if valid.any() else 1.0
    shadow_level = config.shadow_brightness * scene_bright
    rows, cols = labels.shape
    regions = []
    for prop in regionprops(labels):
        lab = prop.label
        r0, c0, r1, c1 = prop.bbox
        r0, c0 = max(0, r0 - margin), max(0, c0 - margin)
        r1, c1 = min(rows, r1 + margin), min(cols, c1 + margin)
        sl = (slice(r0, r1), slice(c0, c1))
        region = labels[sl] == lab
        near = ndimage.binary_dilation(region, iterations=ring_gap)
        far = ndimage.binary_dilation(near, iterations=ring_width)
        ring = far & ~near & valid[sl] & ~changed[sl]

        # Shadows (and surfaces as dark as shadows) move with the sun: the evidence for a
        # structure is the region's core, the pixels lit on both dates.
        dark_b = bright_b[sl] < shadow_level
        dark_a = bright_a[sl] < shadow_level
        core = region & ~dark_b & ~dark_a
        core_px = int(core.sum())
        core_frac = core_px / max(1, int(prop.area))
        use = core if core_px >= 5 else region

        shadow_b, shadow_a = _shadow_depth(use, dark_b, reach), _shadow_depth(use, dark_a, reach)

        xb = before.data[(slice(None),) + sl][:, use].astype("float64")
        xa = after.data[(slice(None),) + sl][:, use].astype("float64")
        rb = before.data[(slice(None),) + sl][:, ring].astype("float64")
        ra = after.data[(slice(None),) + sl][:, ring].astype("float64")
        contrast_b = _contrast(xb, rb, floor)
        contrast_a = _contrast(xa, ra, floor)

        mag = measures.magnitude[sl][region]
        mean_change = float(mag.mean())
        signed = float(measures.brightness[sl][region].mean())
        area = float(prop.area) * before.pixel_area
        core_area = core_px * before.pixel_area
        width = 2.0 * float(ndimage.distance_transform_edt(np.pad(use, 1)).max()) * px
        geom = polygons[lab]
        rect = _rectangularity(use)

        ndvi_b = ndvi_a = None
        if measures.ndvi_before is not None and measures.ndvi_after is not None:
            ndvi_b = float(measures.ndvi_before[sl][use].mean())
            ndvi_a = float(measures.ndvi_after[sl][use].mean())
        ndvi_delta = None if ndvi_b is None or ndvi_a is None else ndvi_a - ndvi_b

        change_class, cause = _decide(
            config=config,
            area=core_area,
            width=width,
            rect=rect,
            contrast_b=contrast_b,
            contrast_a=contrast_a,
            ndvi_before=ndvi_b,
            ndvi_after=ndvi_a,
            shadow_before=shadow_b,
            shadow_after=shadow_a,
            core_fraction=core_frac,
        )
        confidence = _confidence(change_class, mean_change, threshold, rect, contrast_b, contrast_a, config)
        evidence = {
            "before_mean": [round(float(v), 2) for v in xb.mean(axis=1)],
            "after_mean": [round(float(v), 2) for v in xa.mean(axis=1)],
            "ground_before_median": [round(float(v), 2) for v in np.median(rb, axis=1)] if rb.size else None,
            "ground_after_median": [round(float(v), 2) for v in np.median(ra, axis=1)] if ra.size else None,
            "bands": [n or f"band{i + 1}" for i, n in enumerate(before.band_names)],
        }
        regions.append(
            ChangeRegion(
                id=lab,
                geometry=geom,
                change_class=change_class,
                confidence=confidence,
                area_m2=area,
                lit_area_m2=core_area,
                mean_change=mean_change,
                max_change=float(mag.max()),
                brightness="brighter" if signed > 0 else "darker",
                vegetation=None if ndvi_delta is None else ("more vegetation" if ndvi_delta > 0 else "less vegetation"),
                ndvi_change=ndvi_delta,
                width_m=width,
                rectangularity=rect,
                contrast_before=0.0 if np.isnan(contrast_b) else contrast_b,
                contrast_after=0.0 if np.isnan(contrast_a) else contrast_a,
                shadow_before=shadow_b,
                shadow_after=shadow_a,
                cause=cause,
                evidence=evidence,
            )
        )
    return regions


def _decide(
    *,
    config: DetectConfig,
    area: float,
    width: float,
    rect: float,
    contrast_b: float,
    contrast_a: float,
    ndvi_before: float | None,
    ndvi_after: float | None,
    shadow_before: float,
    shadow_after: float,
    core_fraction: float,
) -> tuple[str, str]:
    """Return (class, cause) for a region from its measurements.

    A structure is present on a date when the region's lit core stands out from the
    ground around it, is not green, and casts a shadow; a structure change needs the
    shape of a building. Everything else is ``other_change``, with the cause named.
    """
    ndvi_delta = None if ndvi_before is None or ndvi_after is None else ndvi_after - ndvi_before
    vegetation = (
        ndvi_delta is not None
        and abs(ndvi_delta) > config.vegetation_ndvi_change
        and max(ndvi_before or 0.0, ndvi_after or 0.0) > config.max_structure_ndvi
    )
    fallback = ("other_change", "vegetation") if vegetation else ("other_change", "ground or surface")
    if core_fraction < config.min_lit_fraction:
        return "other_change", "shadow"
    if np.isnan(contrast_b) or np.isnan(contrast_a):
        return "other_change", "no ground around the region to compare with"
    if not (config.min_structure_area_m2 <= area <= config.max_structure_area_m2):
        return fallback[0], fallback[1] if vegetation else "size outside the structure range"
    if width < config.min_structure_width_m:
        return fallback[0], fallback[1] if vegetation else "narrower than a structure"
    if rect < config.min_rectangularity:
        return fallback[0], fallback[1] if vegetation else "shape not building-like"

    def present(contrast: float, ndvi_value: float | None, shadow: float) -> bool:
        return (
            contrast >= config.min_structure_contrast
            and (ndvi_value is None or ndvi_value <= config.max_structure_ndvi)
            and shadow >= config.min_shadow_px
        )

    was = present(contrast_b, ndvi_before, shadow_before)
    now = present(contrast_a, ndvi_after, shadow_after)
    if was and now:
        return "structure_modified", "a structure on both dates, changed"
    if now and contrast_a > contrast_b:
        return "structure_new", "a structure only after"
    if was and contrast_b > contrast_a:
        return "structure_demolished", "a structure only before"
    return fallback


def _shadow_depth(core: np.ndarray, dark: np.ndarray, reach: int) -> float:
    """Dark pixels within ``reach`` of a region's core, per pixel of its outline.

    About the mean width, in pixels, of the shadow the object casts along its outline;
    0 for a flat patch with no shadow.
    """
    if not core.any():
        return 0.0
    outline = int((core & ~ndimage.binary_erosion(core)).sum())
    near = ndimage.binary_dilation(core, iterations=reach) & ~core
    return float((dark & near).sum()) / max(1, outline)


def _rectangularity(mask: np.ndarray) -> float:
    """Area of a pixel mask over the area of its minimum rotated rectangle (pixel edges)."""
    rows, cols = np.nonzero(mask)
    if rows.size < 3:
        return 0.0
    pts = shapely.MultiPoint(np.column_stack([cols, rows]).astype("float64"))
    rect = pts.minimum_rotated_rectangle
    if rect.geom_type != "Polygon":
        return 0.0
    x, y = rect.exterior.xy
    a = float(np.hypot(x[1] - x[0], y[1] - y[0])) + 1.0
    b = float(np.hypot(x[2] - x[1], y[2] - y[1])) + 1.0
    return float(min(1.0, rows.size / (a * b)))


def _confidence(
    change_class: str,
    mean_change: float,
    threshold: float,
    rect: float,
    contrast_b: float,
    contrast_a: float,
    config: DetectConfig,
) -> float:
    """A score in [0, 1]: how strong the change is and, for structures, how clear the evidence.

    Heuristic, not a calibrated probability: the mean of the change strength (mean change
    over the threshold), and for structures the shape and the contrast margin.
    """
    strength = float(np.clip((mean_change / max(threshold, 1e-9) - 1.0), 0.0, 1.0))
    if not change_class.startswith("structure"):
        return round(0.5 + 0.5 * strength, 3) if strength > 0 else 0.5
    hi, lo = max(contrast_b, contrast_a), min(contrast_b, contrast_a)
    margin = float(np.clip((hi - config.min_structure_contrast) / config.min_structure_contrast, 0.0, 1.0))
    if change_class != "structure_modified":
        margin *= float(np.clip(1.0 - lo / max(hi, 1e-9), 0.0, 1.0)) ** 0.5
    shape = float(np.clip((rect - config.min_rectangularity) / (1.0 - config.min_rectangularity), 0.0, 1.0))
    return round((strength + margin + shape) / 3.0, 3)
