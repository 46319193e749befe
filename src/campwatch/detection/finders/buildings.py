"""Structures and guard towers built, demolished or modified: objects on one date, changed, and absent on the other.

The objects are each date's structure-like objects (:mod:`campwatch.detection.structures`),
found once per date before the finders run (:class:`campwatch.detection.finders.Evidence`).
"""

from __future__ import annotations

import numpy as np

from campwatch.classes import appeared, gone
from campwatch.detection.finders import Candidate, Evidence
from campwatch.detection.structures import StructureMap

__all__ = ["find"]


def _object_mask(smap: StructureMap, oid: int) -> tuple[tuple[slice, slice], np.ndarray]:
    r0, c0, r1, c1 = smap.objects[oid].bbox
    sl = (slice(r0, r1), slice(c0, c1))
    return sl, smap.labels[sl] == oid


def find(evidence: Evidence) -> list[Candidate]:
    """Structure and tower changes: objects on one date, changed, and absent (or different) on the other.

    Absent means no object on the other date covers more than ``max_overlap_absent`` of
    the footprint, and the footprint looks like the ground there (its median anomaly is
    below ``max_absent_anomaly``: a fence line or a post across it does not count) and no
    thin cloud or shadow veils it there: a structure missed on one date by the object
    tests, or dimmed by a veil, is not reported as built or demolished. Modified means
    structures on both dates and a roof whose mean spectrum changed by more than
    ``min_roof_change``, in the clear. Towers, too small to survive the change mask's
    clean-up, are tested against the raw change mask.
    """
    config, veiled, changed = evidence.config, evidence.veiled, evidence.changed
    raw_changed = changed if evidence.raw_changed is None else evidence.raw_changed
    smap_b, smap_a = evidence.objects
    out: list[Candidate] = []
    # (objects, the other date's objects, the other date's veil, which class, cause)
    directions = (
        (smap_a, smap_b, veiled[0], appeared, "only in the later image"),
        (smap_b, smap_a, veiled[1], gone, "only in the earlier image"),
    )
    for present, other, other_veiled, named, where in directions:
        for oid in sorted(present.objects):
            obj = present.objects[oid]
            sl, m = _object_mask(present, oid)
            mask = changed if obj.kind == "structure" else raw_changed
            if float(mask[sl][m].mean()) < config.structures.min_changed_fraction:
                continue
            cover = float((other.labels[sl][m] > 0).mean())
            veiled_there = float(other_veiled[sl][m].mean()) >= config.structures.max_overlap_absent
            # Under a thin veil a dimmed roof still stands out a little: ask for plainer ground.
            limit = config.structures.max_absent_anomaly * (config.structures.veiled_absent_factor if veiled_there else 1.0)
            like_ground = float(np.median(other.anomaly[sl][m])) < limit
            if cover < config.structures.max_overlap_absent and like_ground:
                score = 1.0 - cover / config.structures.max_overlap_absent
                out.append(Candidate(named(obj.kind), sl, m, f"a {obj.kind} {where}", score))
            elif (present is smap_a and obj.kind == "structure" and cover >= 0.5
                  and max(float(veiled[0][sl][m].mean()), float(veiled[1][sl][m].mean())) < 0.05):
                # A veil changes how a roof looks: a modification is claimed only in the clear.
                mb = evidence.before.data[(slice(None),) + sl][:, m].mean(axis=1)
                ma = evidence.after.data[(slice(None),) + sl][:, m].mean(axis=1)
                rel = float(np.linalg.norm(ma - mb)) / max(float(np.linalg.norm(mb)), 1e-9)
                if rel >= config.structures.min_roof_change:
                    out.append(Candidate("structure_modified", sl, m,
                                         "a structure on both dates whose roof changed", min(1.0, cover)))
    return out
