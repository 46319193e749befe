"""Describe an area of change: its size, shape, the measurements it rests on, its cause and its confidence.

A change a finder names (:class:`campwatch.detection.finders.Candidate`) is scored on how much
of it changed, how far it stands out from the ground on the date it stands, the shadow along its
outline and the finder's own score; other change on how strongly it changed, with its likely
cause (vegetation, shadow, ground or surface). Each score is then calibrated into a confidence
(:mod:`campwatch.detection.confidence`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from campwatch.classes import CLASSES
from campwatch.detection.confidence import calibrated
from campwatch.detection.finders import Candidate, Evidence
from campwatch.detection.results import ChangeRegion
from campwatch.detection.structures import rectangularity, shadow_depth

__all__ = ["describe"]


@dataclass(frozen=True)
class _Measured:
    """What the pixels of one change say, before any class is read into them."""

    box: tuple[slice, slice]  # the change's box widened by its ring of ground and its shadow's reach
    mask: np.ndarray  # bool, the change's pixels within ``box``
    area_m2: float
    width_m: float
    rectangularity: float
    mean_change: float
    signed: float
    changed_fraction: float
    ndvi: tuple[float | None, float | None]
    contrast: tuple[float, float]
    shadow: tuple[float, float]
    strength: float
    evidence: dict[str, Any]

    @property
    def ndvi_change(self) -> float | None:
        b, a = self.ndvi
        return None if b is None or a is None else a - b


def _r2(v: np.ndarray) -> list[float]:
    return [round(float(x), 2) for x in v]


def _measure(rid: int, box: tuple[slice, slice], labels: np.ndarray, evidence: Evidence, reach: int) -> _Measured:
    before, after, measures = evidence.before, evidence.after, evidence.measures
    smap_b, smap_a = evidence.objects
    px = float(np.sqrt(before.pixel_area))
    rows, cols = labels.shape
    margin = reach + int(round(6.0 / px)) + 1
    r0, r1 = max(0, box[0].start - margin), min(rows, box[0].stop + margin)
    c0, c1 = max(0, box[1].start - margin), min(cols, box[1].stop + margin)
    sl = (slice(r0, r1), slice(c0, c1))
    m = labels[sl] == rid
    full_sl = (slice(None),) + sl
    xb = before.data[full_sl][:, m].astype("float64")
    xa = after.data[full_sl][:, m].astype("float64")
    ring = (ndimage.binary_dilation(m, iterations=int(round(6.0 / px)))
            & ~ndimage.binary_dilation(m, iterations=max(1, int(round(1.0 / px))))
            & measures.valid[sl] & (labels[sl] == 0))
    gb = before.data[full_sl][:, ring]
    ga = after.data[full_sl][:, ring]
    mag = measures.magnitude[sl][m]
    mean_change = float(mag.mean())
    ndvi_b = ndvi_a = None
    if measures.ndvi_before is not None and measures.ndvi_after is not None:
        ndvi_b = float(measures.ndvi_before[sl][m].mean())
        ndvi_a = float(measures.ndvi_after[sl][m].mean())
    return _Measured(
        box=sl, mask=m,
        area_m2=float(m.sum()) * before.pixel_area,
        width_m=2.0 * float(ndimage.distance_transform_edt(np.pad(m, 1)).max()) * px,
        rectangularity=rectangularity(m),
        mean_change=mean_change,
        signed=float(measures.brightness[sl][m].mean()),
        changed_fraction=float((mag > 0.5 * evidence.threshold).mean()),
        ndvi=(ndvi_b, ndvi_a),
        contrast=(float(smap_b.anomaly[sl][m].mean()), float(smap_a.anomaly[sl][m].mean())),
        shadow=(shadow_depth(m, smap_b.dark[sl], reach), shadow_depth(m, smap_a.dark[sl], reach)),
        strength=float(np.clip(mean_change / max(evidence.threshold, 1e-9) - 1.0, 0.0, 1.0)),
        evidence={
            "bands": [n or f"band{i + 1}" for i, n in enumerate(before.band_names)],
            "before_mean": _r2(xb.mean(axis=1)),
            "after_mean": _r2(xa.mean(axis=1)),
            "ground_before_median": _r2(np.median(gb, axis=1)) if gb.size else None,
            "ground_after_median": _r2(np.median(ga, axis=1)) if ga.size else None,
            "ndvi_before": None if ndvi_b is None else round(ndvi_b, 3),
            "ndvi_after": None if ndvi_a is None else round(ndvi_a, 3),
        },
    )


def _named(candidate: Candidate, measured: _Measured, evidence: Evidence) -> tuple[float, str]:
    """The evidence score of a change a finder names, and how it was found (its calibration's source)."""
    config = evidence.config
    row = CLASSES[candidate.change_class]
    # The thing stands on the later date, or (gone) on the earlier.
    stands = 0 if row.appears is False else 1
    evidence_terms = [
        float(np.clip((measured.changed_fraction - config.structures.min_changed_fraction) / (1 - config.structures.min_changed_fraction),
                      0, 1)),
        float(np.clip(measured.contrast[stands] / config.structures.structure_anomaly - 1.0, 0, 1)),
        float(np.clip(measured.shadow[stands] / (2 * max(config.structures.min_shadow_px, 1e-9)), 0, 1)),
        float(np.clip(candidate.score, 0, 1)),
    ]
    score = 0.5 + 0.5 * float(np.mean(evidence_terms))
    source: str = row.kind
    if candidate.model is None:
        return score, source
    # Both say it: the mean of the model's and the classical score; the model alone, or the
    # classical stages alone, less.
    model_score = 0.5 + 0.5 * float(candidate.model.get("strength", 0.0))
    if candidate.model["classical"] == "agrees":
        score = 0.5 * (score + model_score) + 0.1
        source = f"{source}, model agrees"
    elif candidate.model["classical"] == "not seen by the model":
        score = 0.5 + 0.25 * (score - 0.5)
        source = f"{source}, not seen by the model"
    else:
        score = 0.5 * (model_score + 0.5 + 0.5 * float(np.mean(evidence_terms[1:])))
        source = f"{source}, model only"
    return float(np.clip(score, 0.5, 1.0)), source


def _other_cause(measured: _Measured, evidence: Evidence) -> str:
    """Why other change likely changed: vegetation, a shadow, or the ground or a surface."""
    config = evidence.config
    smap_b, smap_a = evidence.objects
    sl, m = measured.box, measured.mask
    dark_b = float(smap_b.dark[sl][m].mean())
    dark_a = float(smap_a.dark[sl][m].mean())
    ndvi_b, ndvi_a = measured.ndvi
    ndvi_delta = measured.ndvi_change
    if (ndvi_delta is not None and abs(ndvi_delta) > config.vegetation.vegetation_ndvi_change
            and max(ndvi_b or 0.0, ndvi_a or 0.0) > config.vegetation.max_structure_ndvi):
        return "vegetation"
    if max(dark_b, dark_a) > 0.5 and min(dark_b, dark_a) < 0.2:
        return "shadow"
    return "ground or surface"


def describe(rid: int, box: tuple[slice, slice], labels: np.ndarray, geometry: BaseGeometry,
             candidate: Candidate | None, evidence: Evidence, reach: int) -> ChangeRegion:
    """Change ``rid`` of ``labels`` (in ``box``), named by ``candidate`` or, None, other change.

    ``reach``: how far a shadow is looked for along its outline, in pixels.
    """
    measured = _measure(rid, box, labels, evidence, reach)
    if candidate is not None:
        change_class, cause = candidate.change_class, candidate.cause
        score, source = _named(candidate, measured, evidence)
    else:
        change_class, cause = "other_change", _other_cause(measured, evidence)
        score, source = 0.5 + 0.5 * measured.strength, "other"
    record = dict(measured.evidence)
    if candidate is not None and candidate.model is not None:
        record["model"] = {k: v for k, v in candidate.model.items() if k != "strength"}
    ndvi_delta = measured.ndvi_change
    return ChangeRegion(
        id=rid,
        geometry=geometry,
        change_class=change_class,
        confidence=calibrated(source, score),
        score=score,
        source=source,
        area_m2=measured.area_m2,
        mean_change=measured.mean_change,
        changed_fraction=measured.changed_fraction,
        brightness="brighter" if measured.signed > 0 else "darker",
        vegetation=None if ndvi_delta is None else ("more vegetation" if ndvi_delta > 0 else "less vegetation"),
        ndvi_change=ndvi_delta,
        width_m=measured.width_m,
        rectangularity=measured.rectangularity,
        contrast_before=measured.contrast[0],
        contrast_after=measured.contrast[1],
        shadow_before=measured.shadow[0],
        shadow_after=measured.shadow[1],
        cause=cause,
        evidence=record,
    )
