"""Which way a building change went, for the regions a model of buildings calls change.

A model of buildings says where a building changed, not whether it was built or razed. Each
of its regions takes the class of the classical structure change it shares most with; without
one, what each date shows of the footprint decides (:func:`building_direction`): a standing
building casts a shadow along its outline and stands out from its ground; a footprint
vegetated on a date held no roof then.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from skimage.measure import label, regionprops

from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.detection.finders import Candidate
from campwatch.detection.model import LearnedChange
from campwatch.detection.structures import StructureMap, shadow_depth
from campwatch.io.scene import Scene

__all__ = ["building_direction", "model_structure_changes", "MODEL_BACKING", "TAUGHT_BACKING"]


#: A taught model's region is claimed only when at least this share of it changed measurably (the
#: classical change mask before it is cleaned): taught from an analyst's few labels, a pixel classifier
#: also fires where nothing changed (the edges of fields, seasons), and no change is reported that the
#: pixels do not back.
TAUGHT_BACKING = 0.25
#: The same for a model of images the user brings: a region of it of which less than this share
#: changed (the pixels are the earlier date's, re-encoded) is not claimed (issue 26, 3).
MODEL_BACKING = 0.01

#: A model's region takes the class of a classical structure change that covers this share of either.
_SAME_CHANGE = 0.25

#: How far the evidence of the two dates must lean one way for a model's region to be new or
#: demolished rather than modified (units: share of footprint covered by objects, plus the
#: difference of contrast in units of ``structure_anomaly``, squashed).
_DIRECTION_MARGIN = 0.15


#: A footprint at least this share vegetated on a date held no roof then: its shadows were the trees'.
_GREEN_FOOTPRINT = 0.5
#: A date shows a building on a footprint this share covered by structure-like objects (or with a shadow
#: of twice ``min_shadow_px`` along its outline, not under trees).
_SHOWS_COVER = 0.25
#: Where trees stood on the other date, a roof needs objects found or a shadow of this many times
#: ``min_shadow_px`` (a building's, not rubble's).
_ROOF_SHADOW = 4.0


def building_direction(cover_b: float, cover_a: float, shadow_b: float, shadow_a: float, green_b: float | None,
                       green_a: float | None, *, min_shadow_px: float) -> tuple[str, str, float]:
    """Which way a building change went, from what each date shows of its footprint: the class, why, and the lean.

    A date stands for a building when structure-like objects cover the footprint (``cover``) and
    a shadow runs along its outline (``shadow``, px); a footprint vegetated on a date (``green``,
    the share of its pixels; None without a vegetation index) held no roof then, and the shadows
    there are the trees': they do not count. The lean, later date over earlier, is the
    difference of shadows (squashed) plus half the difference of cover plus the difference of
    vegetation, each the other way round for the earlier date: swapping the dates swaps its sign.
    Over :data:`_DIRECTION_MARGIN` either way the change is new or demolished. Otherwise it is
    modified when both dates show a structure, and ``structure_changed`` (direction unknown)
    when they do not: no claim the pixels cannot back.
    """
    veg_b, veg_a = green_b or 0.0, green_a or 0.0
    trees_b, trees_a = veg_b >= _GREEN_FOOTPRINT, veg_a >= _GREEN_FOOTPRINT
    stand_b = 0.0 if trees_b else shadow_b
    stand_a = 0.0 if trees_a else shadow_a
    # Vegetation gone says a building is new only where the later date shows one (trees cut for
    # a house); where neither shows one, the ground was cleared, or the trees stripped with the
    # house (a tornado): the vegetation tells nothing of the building's direction.
    shows_b = cover_b >= _SHOWS_COVER or stand_b >= 2 * min_shadow_px
    shows_a = cover_a >= _SHOWS_COVER or stand_a >= 2 * min_shadow_px
    veg = veg_b - veg_a
    # A roof there where trees stood: objects found, or a building's full shadow along the outline
    # (rubble casts short ones: Joplin's razed lots 0.0 to 1.2 px, LEVIR test_7's new houses 3.2 to 6.3).
    roof_b = cover_b >= _SHOWS_COVER or stand_b >= _ROOF_SHADOW * min_shadow_px
    roof_a = cover_a >= _SHOWS_COVER or stand_a >= _ROOF_SHADOW * min_shadow_px
    veg_term = veg if (veg > 0 and roof_a) or (veg < 0 and roof_b) else 0.0
    # Shadows compare only where neither date is under trees.
    shadow_term = 0.0 if trees_b or trees_a else float(np.tanh(stand_a - stand_b))
    lean = shadow_term + 0.5 * (cover_a - cover_b) + veg_term
    if lean > _DIRECTION_MARGIN:
        why = "vegetation there earlier, a building later" if veg_term > 0.5 else "it stands out only later"
        return "structure_new", why, lean
    if lean < -_DIRECTION_MARGIN:
        why = "a building there earlier, vegetation later" if veg_term < -0.5 else "it stood out only earlier"
        return "structure_demolished", why, lean
    if shows_b and shows_a:
        return "structure_modified", "it stands out on both dates", lean
    green = "" if green_b is None or green_a is None else f"; vegetation {veg_b:.0%} before, {veg_a:.0%} after"
    return ("structure_changed", "built or razed is not known: neither date shows a standing building more "
            f"than the other (shadow {shadow_b:.1f} px before, {shadow_a:.1f} px after; objects cover "
            f"{cover_b:.0%} before, {cover_a:.0%} after{green})", lean)


def model_structure_changes(
    learned: LearnedChange,
    candidates: list[Candidate],
    smap_b: StructureMap,
    smap_a: StructureMap,
    usable: np.ndarray,
    before: Scene,
    config: DetectConfig,
    *,
    veiled: tuple[np.ndarray, np.ndarray],
    raw_changed: np.ndarray | None = None,
    greens: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> list[Candidate]:
    """Structure changes from a buildings model's regions, in the analyst's terms.

    Each region of the model's mask (of at least ``min_area_m2``) is one structure change. It
    takes the class of the classical structure change it shares most with, when one covers
    :data:`_SAME_CHANGE` of either (the two agree); otherwise the evidence of each date
    decides: the shadow cast along the region's outline on each date (a standing building
    casts one; bare ground and rubble do not) and the share of the region that
    structure-like objects cover on each date, and whether it was vegetated on each date
    (``greens``: vegetation masks; :func:`building_direction`): new, demolished, modified, or changed
    with the direction unknown. Classical structure changes the model
    sees nothing of are kept, marked "not seen by the model". Towers pass through.

    A region the classical stages do not back, under a thin cloud or cloud shadow on either
    date over ``max_overlap_absent`` of it, is not claimed: the veil alone makes a roof look
    new or gone to a model that never saw clouds.
    """
    min_px = config.min_region_px(before.pixel_area)
    reach = max(1, int(round(config.structures.shadow_reach_m / float(np.sqrt(before.pixel_area)))))
    regions = label(learned.mask & usable, connectivity=2)
    structures = [c for c in candidates if CLASSES[c.change_class].kind == "structure"]
    owned = np.zeros(usable.shape, dtype="int32")  # which classical structure change holds each pixel
    for i, c in enumerate(structures, start=1):
        owned[c.box][c.mask] = i
    seen_by_model: set[int] = set()
    out: list[Candidate] = []
    for prop in regionprops(regions):
        if prop.area < min_px:
            continue
        sl = prop.slice
        m = regions[sl] == prop.label
        if raw_changed is not None and float(raw_changed[sl][m].mean()) < (
                TAUGHT_BACKING if learned.backed else MODEL_BACKING):
            continue  # a model alone does not claim where the pixels did not change
        prob = learned.probability[sl][m]
        p = float(np.nanmean(prob)) if np.isfinite(prob).any() else 0.0
        over = (p - learned.threshold) / (1.0 - learned.threshold)
        record: dict[str, Any] = {"name": learned.name, "probability": round(p, 3),
                                  "strength": float(np.clip(over, 0.0, 1.0))}
        shared = np.bincount(owned[sl][m], minlength=len(structures) + 1)[1:]
        best = int(np.argmax(shared)) if shared.size and shared.max() > 0 else -1
        if best >= 0 and (shared[best] >= _SAME_CHANGE * m.sum()
                          or shared[best] >= _SAME_CHANGE * structures[best].mask.sum()):
            match = structures[best]
            seen_by_model.update(int(j) + 1 for j in np.nonzero(shared)[0])
            record["classical"] = "agrees"
            out.append(Candidate(match.change_class, sl, m, f"{match.cause}; the change model agrees", match.score,
                                  model=record))
            continue
        if max(float(veiled[0][sl][m].mean()), float(veiled[1][sl][m].mean())) >= config.structures.max_overlap_absent:
            continue
        cover_b = float((smap_b.labels[sl] > 0)[m].mean())
        cover_a = float((smap_a.labels[sl] > 0)[m].mean())
        # A standing building casts a shadow along its outline; bare ground and rubble do not.
        wide = tuple(slice(max(0, s.start - reach), min(n, s.stop + reach)) for s, n in zip(sl, usable.shape))
        footprint = np.zeros((wide[0].stop - wide[0].start, wide[1].stop - wide[1].start), dtype=bool)
        footprint[sl[0].start - wide[0].start:sl[0].stop - wide[0].start,
                  sl[1].start - wide[1].start:sl[1].stop - wide[1].start] = m
        shadow_b = shadow_depth(footprint, smap_b.dark[wide], reach)
        shadow_a = shadow_depth(footprint, smap_a.dark[wide], reach)
        green_b = None if greens[0] is None else float(greens[0][sl][m].mean())
        green_a = None if greens[1] is None else float(greens[1][sl][m].mean())
        cls, cause, lean = building_direction(cover_b, cover_a, shadow_b, shadow_a, green_b, green_a,
                                      min_shadow_px=config.structures.min_shadow_px)
        record.update(classical="sees no structure change here", lean=round(lean, 3),
                      shadow_px={"before": round(shadow_b, 2), "after": round(shadow_a, 2)},
                      cover={"before": round(cover_b, 3), "after": round(cover_a, 3)})
        if green_b is not None and green_a is not None:
            record["vegetated"] = {"before": round(green_b, 3), "after": round(green_a, 3)}
        out.append(Candidate(cls, sl, m, f"the change model sees a building change; {cause}",
                              float(np.clip(abs(lean), 0.0, 1.0)), model=record))
    for i, c in enumerate(structures, start=1):
        if i not in seen_by_model:
            out.append(dataclasses.replace(c, model={"name": learned.name, "classical": "not seen by the model",
                                                     "probability": None}))
    return out + [c for c in candidates if CLASSES[c.change_class].kind != "structure"]
