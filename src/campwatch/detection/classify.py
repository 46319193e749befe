"""Say what changed, in the analyst's terms, with the evidence and a confidence.

Structure changes come from comparing the structure-like objects of the two dates
(:mod:`campwatch.detection.structures`) where the pixels changed; the rest of the change is
``other_change`` with its likely cause (vegetation, shadow, ground or surface).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from rasterio.features import rasterize
from scipy import ndimage
from shapely.geometry.base import BaseGeometry
from skimage.measure import label, regionprops

from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED, appeared, gone, possible_classes
from campwatch.config import DetectConfig
from campwatch.detection.change import ChangeMeasures
from campwatch.detection.confidence import calibrated
from campwatch.detection.fences import FenceChange, fence_changes
from campwatch.detection.model import LearnedChange
from campwatch.detection.results import ChangeRegion
from campwatch.detection.segment import near_windows
from campwatch.detection.structures import (
    StructureMap,
    find_structures,
    move_pixels,
    moved_map,
    near_change_margin_m,
    rectangularity,
    shadow_depth,
    with_towers_of,
)
from campwatch.detection.threads import for_each
from campwatch.detection.vectorize import region_polygons
from campwatch.detection.vegetation import vegetation
from campwatch.io.scene import Scene
from campwatch.progress import step, tick

logger = logging.getLogger(__name__)

__all__ = ["classify_changes", "class_mask"]


@dataclass(frozen=True)
class _Candidate:
    change_class: str
    box: tuple[slice, slice]  # the object's bounding box
    mask: np.ndarray  # bool, over ``box``
    cause: str
    score: float
    #: What a change model says of the place: ``{"name", "probability", "classical", ...}`` (None: no model).
    model: dict[str, Any] | None = None


def _object_mask(smap: StructureMap, oid: int) -> tuple[tuple[slice, slice], np.ndarray]:
    r0, c0, r1, c1 = smap.objects[oid].bbox
    sl = (slice(r0, r1), slice(c0, c1))
    return sl, smap.labels[sl] == oid


_APPEARED = {kind: appeared(kind) for kind in ("structure", "tower")}
_GONE = {kind: gone(kind) for kind in ("structure", "tower")}


def _structure_changes(
    smap_b: StructureMap,
    smap_a: StructureMap,
    changed: np.ndarray,
    before: Scene,
    after: Scene,
    config: DetectConfig,
    *,
    veiled: tuple[np.ndarray, np.ndarray],
    raw_changed: np.ndarray | None = None,
) -> list[_Candidate]:
    """Structure and tower changes: objects on one date, changed, and absent (or different) on the other.

    Absent means no object on the other date covers more than ``max_overlap_absent`` of
    the footprint, and the footprint looks like the ground there (its median anomaly is
    below ``max_absent_anomaly``: a fence line or a post across it does not count) and no thin cloud or shadow veils it there: a structure
    missed on one date by the object tests, or dimmed by a veil, is not reported as built
    or demolished. Modified means structures on both dates and a roof whose mean spectrum
    changed by more than ``min_roof_change``, in the clear. Towers, too small to survive
    the change mask's clean-up, are tested against ``raw_changed``.
    """
    out: list[_Candidate] = []
    if raw_changed is None:
        raw_changed = changed

    # (objects, the other date's objects, the other date's veil, class names, cause)
    directions = (
        (smap_a, smap_b, veiled[0], _APPEARED, "only in the later image"),
        (smap_b, smap_a, veiled[1], _GONE, "only in the earlier image"),
    )
    for present, other, other_veiled, names, where in directions:
        for oid in sorted(present.objects):
            obj = present.objects[oid]
            sl, m = _object_mask(present, oid)
            mask = changed if obj.kind == "structure" else raw_changed
            if float(mask[sl][m].mean()) < config.min_changed_fraction:
                continue
            cover = float((other.labels[sl][m] > 0).mean())
            veiled_there = float(other_veiled[sl][m].mean()) >= config.max_overlap_absent
            # Under a thin veil a dimmed roof still stands out a little: ask for plainer ground.
            limit = config.max_absent_anomaly * (config.veiled_absent_factor if veiled_there else 1.0)
            like_ground = float(np.median(other.anomaly[sl][m])) < limit
            if cover < config.max_overlap_absent and like_ground:
                score = 1.0 - cover / config.max_overlap_absent
                out.append(_Candidate(names[obj.kind], sl, m, f"a {obj.kind} {where}", score))
            elif (present is smap_a and obj.kind == "structure" and cover >= 0.5
                  and max(float(veiled[0][sl][m].mean()), float(veiled[1][sl][m].mean())) < 0.05):
                # A veil changes how a roof looks: a modification is claimed only in the clear.
                mb = before.data[(slice(None),) + sl][:, m].mean(axis=1)
                ma = after.data[(slice(None),) + sl][:, m].mean(axis=1)
                rel = float(np.linalg.norm(ma - mb)) / max(float(np.linalg.norm(mb)), 1e-9)
                if rel >= config.min_roof_change:
                    out.append(_Candidate("structure_modified", sl, m,
                                          "a structure on both dates whose roof changed", min(1.0, cover)))
    return out


#: In pixels too coarse to show shadows (``DetectConfig.shadowless_pixel_m``), a structure change's
#: mean change is at least this many times the threshold.
SHADOWLESS_MIN_CHANGE = 3.0

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


def _direction(cover_b: float, cover_a: float, shadow_b: float, shadow_a: float, green_b: float | None,
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


def _learned(
    learned: LearnedChange,
    candidates: list[_Candidate],
    smap_b: StructureMap,
    smap_a: StructureMap,
    usable: np.ndarray,
    before: Scene,
    config: DetectConfig,
    *,
    veiled: tuple[np.ndarray, np.ndarray],
    raw_changed: np.ndarray | None = None,
    greens: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
) -> list[_Candidate]:
    """Structure changes from a buildings model's regions, in the analyst's terms.

    Each region of the model's mask (of at least ``min_area_m2``) is one structure change. It
    takes the class of the classical structure change it shares most with, when one covers
    :data:`_SAME_CHANGE` of either (the two agree); otherwise the evidence of each date
    decides: the shadow cast along the region's outline on each date (a standing building
    casts one; bare ground and rubble do not) and the share of the region that
    structure-like objects cover on each date, and whether it was vegetated on each date
    (``greens``: vegetation masks; :func:`_direction`): new, demolished, modified, or changed
    with the direction unknown. Classical structure changes the model
    sees nothing of are kept, marked "not seen by the model". Towers pass through.

    A region the classical stages do not back, under a thin cloud or cloud shadow on either
    date over ``max_overlap_absent`` of it, is not claimed: the veil alone makes a roof look
    new or gone to a model that never saw clouds.
    """
    min_px = config.min_region_px(before.pixel_area)
    reach = max(1, int(round(config.shadow_reach_m / float(np.sqrt(before.pixel_area)))))
    regions = label(learned.mask & usable, connectivity=2)
    structures = [c for c in candidates if CLASSES[c.change_class].kind == "structure"]
    owned = np.zeros(usable.shape, dtype="int32")  # which classical structure change holds each pixel
    for i, c in enumerate(structures, start=1):
        owned[c.box][c.mask] = i
    seen_by_model: set[int] = set()
    out: list[_Candidate] = []
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
            out.append(_Candidate(match.change_class, sl, m, f"{match.cause}; the change model agrees", match.score,
                                  model=record))
            continue
        if max(float(veiled[0][sl][m].mean()), float(veiled[1][sl][m].mean())) >= config.max_overlap_absent:
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
        cls, cause, lean = _direction(cover_b, cover_a, shadow_b, shadow_a, green_b, green_a,
                                      min_shadow_px=config.min_shadow_px)
        record.update(classical="sees no structure change here", lean=round(lean, 3),
                      shadow_px={"before": round(shadow_b, 2), "after": round(shadow_a, 2)},
                      cover={"before": round(cover_b, 3), "after": round(cover_a, 3)})
        if green_b is not None and green_a is not None:
            record["vegetated"] = {"before": round(green_b, 3), "after": round(green_a, 3)}
        out.append(_Candidate(cls, sl, m, f"the change model sees a building change; {cause}",
                              float(np.clip(abs(lean), 0.0, 1.0)), model=record))
    for i, c in enumerate(structures, start=1):
        if i not in seen_by_model:
            out.append(dataclasses.replace(c, model={"name": learned.name, "classical": "not seen by the model",
                                                     "probability": None}))
    return out + [c for c in candidates if CLASSES[c.change_class].kind != "structure"]


#: The units of a pair's work (:data:`campwatch.detection.analysis.PAIR_WORK`) that its objects cost.
OBJECTS_WORK = 8


def near_change(
    changed: np.ndarray, raw_changed: np.ndarray | None, learned: LearnedChange | None, usable: np.ndarray,
    scene: Scene, config: DetectConfig,
) -> list[tuple[slice, slice]] | None:
    """The windows of the grid where objects are looked for: within the margin of change.

    Change is the cleaned change mask, the groups of the mask before clean-up large enough to
    be half of the smallest tower (towers are too small to survive the clean-up), and what a
    model calls change. None (the whole grid) when ``config.objects_near_change`` is off or the
    windows would cover most of the grid (:func:`campwatch.detection.segment.near_windows`).
    """
    if not config.objects_near_change:
        return None
    px = float(np.sqrt(scene.pixel_area))
    seed = changed.copy()
    if raw_changed is not None:
        min_px = max(2, int(config.min_changed_fraction * config.min_tower_area_m2 / scene.pixel_area / 2))
        _, groups, stats, _ = cv2.connectedComponentsWithStats(raw_changed.astype(np.uint8), connectivity=8)
        large = stats[:, cv2.CC_STAT_AREA] >= min_px
        large[0] = False
        seed |= large[groups]
    if learned is not None:
        seed |= learned.mask & usable
    windows = near_windows(seed, int(math.ceil(near_change_margin_m(config, px) / px)))
    if windows is None:
        logger.info("objects looked for over the whole grid: change is spread over most of it")
    else:
        share = sum((r.stop - r.start) * (c.stop - c.start) for r, c in windows) / seed.size
        logger.info("objects looked for near change: %d windows, %.0f%% of the grid", len(windows), 100 * share)
    return windows


def _moved_windows(windows: list[tuple[slice, slice]] | None, offset: tuple[int, int],
                   shape: tuple[int, int]) -> list[tuple[slice, slice]] | None:
    """``windows`` moved by whole pixels (``offset``, rows and cols), cut to a grid of ``shape``."""
    if windows is None:
        return None
    out = []
    for rows, cols in windows:
        r0, r1 = max(0, rows.start + offset[0]), min(shape[0], rows.stop + offset[0])
        c0, c1 = max(0, cols.start + offset[1]), min(shape[1], cols.stop + offset[1])
        if r1 > r0 and c1 > c0:
            out.append((slice(r0, r1), slice(c0, c1)))
    return out


def classify_changes(
    change_labels: np.ndarray,
    before: Scene,
    after: Scene,
    measures: ChangeMeasures,
    config: DetectConfig,
    *,
    threshold: float,
    obscured: np.ndarray | None = None,
    veiled: tuple[np.ndarray, np.ndarray] | None = None,
    raw_changed: np.ndarray | None = None,
    fence_lines: list[BaseGeometry] | None = None,
    known: np.ndarray | None = None,
    count_within: tuple[slice, slice] | None = None,
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
    learned: LearnedChange | None = None,
    after_own: tuple[Scene, tuple[int, int], Scene, Scene, tuple[Scene, Scene] | None] | None = None,
) -> tuple[np.ndarray, list[ChangeRegion], dict[str, dict[str, int]]]:
    """Classify the change between two scenes.

    Parameters
    ----------
    change_labels : (M, N) ndarray of int32
        Cleaned, labelled change regions (:func:`campwatch.detection.segment.label_regions`).
    before, after : Scene
        On one grid; ``after`` co-registered and radiometrically matched to ``before``.
    measures : ChangeMeasures
    config : DetectConfig
    threshold : float
        The smaller of the gain and loss thresholds (scales confidences).
    obscured : (M, N) ndarray of bool, optional
        Pixels hidden by cloud or cloud shadow on either date: never reported as change.
    raw_changed : (M, N) ndarray of bool, optional
        The change mask before clean-up: towers are too small to survive it.
    fence_lines : list of LineString, optional
        Fence lines to follow, in the scenes' CRS (from the AOI file); default, found in
        the imagery (:mod:`campwatch.detection.fences`).
    known : (M, N) ndarray of bool, optional
        Where the AOI file says towers and structures stand (see
        :func:`campwatch.detection.structures.find_structures`).
    veiled : pair of (M, N) ndarray of bool, optional
        Pixels under a thin cloud or shadow on the before and the after date: structures
        may be seen there, but not their absence; other change is not reported there.
    count_within : pair of slices, optional
        Count in ``seen`` only the objects whose bounding box centre lies in this part of
        the grid (a block's core, when a scene is analysed block by block).
    shadow_directions : pair of (row, col) unit vectors or None
        The direction of shadows on each date when known beforehand (measured on the whole
        image); None, measured here (:func:`campwatch.detection.structures.find_structures`).
    learned : LearnedChange, optional
        Where a change model sees change (:mod:`campwatch.detection.model`). A model of all
        change says where the pixels changed instead of the thresholds. A model of
        buildings says where structures changed: each of its regions is a structure change,
        new, demolished or modified as the classical stages' evidence says (:func:`_learned`);
        a structure change the classical stages find where the model sees none is kept,
        marked so and with a lower confidence. Towers, fences and other change stay with
        the classical stages.
    after_own : (Scene, (int, int), Scene, Scene, (Scene, Scene) or None), optional
        The later scene on its own pixels (before co-registration moved it) blurred as the
        resampling by the shift's fraction blurs, that move in whole pixels, the earlier
        scene blurred alike, and the later scene on its own pixels unblurred: each date's
        structures are found on its own pixels, both blurred alike, and its towers on its
        sharp pixels, so that a pair analysed the other way round finds the same objects;
        last, both scenes (the later on its own pixels) blurred alike in the radiometry
        half-way between them, where each date's vegetation is measured (needed with a model
        of buildings only; None otherwise).

    Returns
    -------
    labels : (M, N) ndarray of int32
        The id of the change each pixel belongs to, 0 for none.
    regions : list of ChangeRegion
        In id order: structure changes first, then other change.
    seen : dict
        How many structures and towers were found on each date inside the usable area:
        ``{"before": {"structure": n, "tower": m}, "after": {...}}``; near change only when
        ``config.objects_near_change`` took windows of the grid (:func:`near_change`), and
        then ``"within_m"`` gives the margin.

    Notes
    -----
    A structure change needs a structure-like object (see
    :func:`campwatch.detection.structures.find_structures`) on one date, at least
    ``config.min_changed_fraction`` of whose pixels changed, and no object on the other
    date covering more than ``config.max_overlap_absent`` of it; or objects on both dates
    (modified).
    """
    valid = measures.valid
    if obscured is None:
        obscured = np.zeros(valid.shape, dtype=bool)
    if veiled is None:
        veiled = (np.zeros(valid.shape, dtype=bool), np.zeros(valid.shape, dtype=bool))
    usable = valid & ~obscured
    changed = (change_labels > 0) & usable
    if learned is not None and learned.covers == "all":
        changed = learned.mask & usable
    raw = None if raw_changed is None else raw_changed & usable
    windows = near_change(changed, raw, learned, usable, before, config)
    if after_own is None:
        smap_b, smap_a = for_each(
            lambda d: find_structures((before, after)[d], config=config, valid=usable, veiled=veiled[d], known=known,
                                      direction=shadow_directions[d], windows=windows), (0, 1))
        step("finding the later date's objects", OBJECTS_WORK // 2)
        step("fences and the description of each change", OBJECTS_WORK - OBJECTS_WORK // 2)
    else:
        # Each date's objects are found on its own pixels, both blurred alike, the later date's
        # then moved onto the grid by the co-registration's shift in whole pixels: each date's
        # objects are the same whichever date is the earlier (a swapped pair reports the same
        # changes the other way round). Towers, a few pixels, are taken from the sharp pixels.
        own_blurred, offset, before_blurred, own_sharp, _ = after_own
        back = (-offset[0], -offset[1])
        own_valid = own_sharp.valid & move_pixels(usable, back, False)
        own_veil = move_pixels(veiled[1], back, False)
        own_known = None if known is None else move_pixels(known, back, False)
        own_windows = _moved_windows(windows, back, usable.shape)

        def objects(scenes: tuple[Scene, Scene]) -> list[StructureMap]:
            """Each date's objects, the earlier's on the grid, the later's on its own pixels."""
            inputs = ((scenes[0], usable, veiled[0], known, windows),
                      (scenes[1], own_valid, own_veil, own_known, own_windows))
            return for_each(lambda d: find_structures(
                inputs[d][0], config=config, valid=inputs[d][1], veiled=inputs[d][2], known=inputs[d][3],
                direction=shadow_directions[d], windows=inputs[d][4]), (0, 1))

        sharp = before_blurred is not before
        share = OBJECTS_WORK // 4 if sharp else OBJECTS_WORK // 2
        smap_b, smap_a = objects((before_blurred, own_blurred))
        step("finding the later date's objects", share)
        step("the earlier date's towers" if sharp else "fences and the description of each change", share)
        if sharp:
            sharp_b, sharp_a = objects((before, own_sharp))
            smap_b, smap_a = with_towers_of(smap_b, sharp_b), with_towers_of(smap_a, sharp_a)
            step("the later date's towers", share)
            step("fences and the description of each change", OBJECTS_WORK - 3 * share)
        smap_a = moved_map(smap_a, offset)
    candidates = _structure_changes(smap_b, smap_a, changed, before, after, config, veiled=veiled, raw_changed=raw)
    if learned is not None and learned.covers == "buildings":
        # Each date's vegetation in the radiometry half-way between the dates, both blurred alike:
        # in the earlier's, the later date is more or less green than in its own (LEVIR test_55's
        # grey roofs of a greenish image), and a pair swapped would see other vegetation.
        halfway = None if after_own is None else after_own[4]
        if after_own is not None and halfway is None:
            raise ValueError("a model of buildings needs both dates in the half-way radiometry (after_own[4])")
        green_b = vegetation(before if halfway is None else halfway[0], config=config)
        green_a = vegetation(after if halfway is None else halfway[1], config=config)
        if after_own is not None and green_a is not None:
            green_a = move_pixels(green_a, after_own[1], False)
        candidates = _learned(learned, candidates, smap_b, smap_a, usable, before, config, veiled=veiled,
                              raw_changed=raw, greens=(green_b, green_a))

    px = float(np.sqrt(before.pixel_area))
    # A class the pixels are too coarse to show is not looked for: what such a change would be
    # is other change (a fence or a tower at 8 m is a line or a speck of noise).
    possible, _ = possible_classes(px)
    candidates = [c for c in candidates if c.change_class in possible]
    if px > config.shadowless_pixel_m:
        # No shadow backs a structure in coarse pixels: its change must be strong. A roof built
        # or razed changes its pixels far more than snow, a season or a field does.
        candidates = [c for c in candidates if c.model is not None
                      or float(measures.magnitude[c.box][c.mask].mean()) >= SHADOWLESS_MIN_CHANGE * threshold]
    reach = max(1, int(round(config.shadow_reach_m / px)))
    labels = np.zeros(valid.shape, dtype="int32")
    structure_px = np.zeros(valid.shape, dtype=bool)
    kinds: dict[int, _Candidate | str] = {}
    next_id = 1
    for cand in candidates:
        m = cand.mask & ~structure_px[cand.box]
        if not m.any():
            continue
        labels[cand.box][m] = next_id
        structure_px[cand.box] |= m
        kinds[next_id] = cand
        next_id += 1
    # The shadow a new or demolished structure casts is part of its change, not another.
    near = ndimage.binary_dilation(structure_px, iterations=reach) if structure_px.any() else structure_px
    explained = structure_px | (near & (smap_b.dark | smap_a.dark))
    if learned is not None and learned.covers == "buildings" and not learned.backed:
        explained |= learned.mask  # what the model calls a building change is not other change
    rest = changed & ~explained & ~veiled[0] & ~veiled[1]
    min_px = config.min_region_px(before.pixel_area)
    rest_labels = label(rest, connectivity=2)
    for prop in regionprops(rest_labels):
        if prop.area < min_px:
            continue
        sl = prop.slice
        m = rest_labels[sl] == prop.label
        labels[sl][m] = next_id
        kinds[next_id] = "other"
        next_id += 1

    polygons = region_polygons(labels, before.transform)
    boxes = ndimage.find_objects(labels)  # one pass for every region's bounding box
    regions = []
    for n, i in enumerate(sorted(kinds), start=1):
        tick("describing change {:,} of {:,}", n, len(kinds))
        regions.append(_describe(i, boxes[i - 1], labels, polygons[i], kinds[i], before, after, measures, smap_b,
                                 smap_a, config, threshold, reach))
    tick("finding fence lines on both dates")
    clear = usable & ~veiled[0] & ~veiled[1]
    walls = (smap_b.labels > 0) | (smap_a.labels > 0)
    walls = ndimage.binary_dilation(walls, iterations=max(1, int(round(2.0 / px)))) if walls.any() else walls
    fence_shapes = []
    found_fences = (fence_changes(before, after, usable=clear, config=config, lines=fence_lines, exclude=walls,
                                  windows=windows)
                    if {"fence_razed", "fence_built"} <= set(possible) else [])
    for fc in found_fences:
        regions.append(_fence_region(next_id, fc, config))
        fence_shapes.append((fc.geometry.buffer(px * 0.75), next_id))
        next_id += 1
    if fence_shapes:
        # One pass for all fence changes; a later one is drawn over an earlier one.
        line_px = rasterize(fence_shapes, out_shape=labels.shape, transform=before.transform, dtype="int32")
        labels = np.where(line_px > 0, line_px, labels)
    def counted(obj: Any) -> bool:
        if count_within is None:
            return True
        r0, c0, r1, c1 = obj.bbox
        rows, cols = count_within
        return bool(rows.start <= (r0 + r1) // 2 < rows.stop and cols.start <= (c0 + c1) // 2 < cols.stop)

    seen: dict[str, Any] = {
        date: {kind: sum(1 for o in smap.objects.values() if o.kind == kind and counted(o))
               for kind in ("structure", "tower")}
        for date, smap in (("before", smap_b), ("after", smap_a))
    }
    if windows is not None:  # counted near change only: say within how far
        seen["within_m"] = round(near_change_margin_m(config, px), 1)
    return labels, regions, seen


def _fence_region(rid: int, fc: FenceChange, config: DetectConfig) -> ChangeRegion:
    """A razed or built fence stretch as a change (a line: length, no area)."""
    was, now = (fc.ridge_before, fc.ridge_after) if fc.change_class == "fence_razed" else (fc.ridge_after,
                                                                                            fc.ridge_before)
    strong = float(np.clip(was / (2 * config.fence_ridge), 0, 1))
    gone = float(np.clip(1 - max(now, 0.0) / config.fence_gone, 0, 1))
    where = "earlier" if fc.change_class == "fence_razed" else "later"
    return ChangeRegion(
        id=rid,
        geometry=fc.geometry,
        change_class=fc.change_class,
        confidence=calibrated("fence", 0.5 + 0.25 * strong + 0.25 * gone),
        score=0.5 + 0.25 * strong + 0.25 * gone,
        source="fence",
        area_m2=0.0,
        length_m=fc.length_m,
        mean_change=float("nan"),
        changed_fraction=float("nan"),
        brightness="lighter" if fc.change_class == "fence_razed" else "darker",
        vegetation=None,
        ndvi_change=None,
        width_m=0.0,
        rectangularity=float("nan"),
        contrast_before=fc.ridge_before,
        contrast_after=fc.ridge_after,
        shadow_before=0.0,
        shadow_after=0.0,
        cause=f"a fence line seen only in the {where} image (fence lines from the {fc.source})",
        evidence={"line_contrast_before": round(fc.ridge_before, 2), "line_contrast_after": round(fc.ridge_after, 2),
                  "units": "noise sigmas darker than the ground on both sides", "fence_lines_from": fc.source},
    )


def _describe(
    rid: int,
    box: tuple[slice, slice],
    labels: np.ndarray,
    geom: BaseGeometry,
    kind: _Candidate | str,
    before: Scene,
    after: Scene,
    measures: ChangeMeasures,
    smap_b: StructureMap,
    smap_a: StructureMap,
    config: DetectConfig,
    threshold: float,
    reach: int,
) -> ChangeRegion:
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
    signed = float(measures.brightness[sl][m].mean())
    changed_fraction = float((mag > 0.5 * threshold).mean())
    area = float(m.sum()) * before.pixel_area
    width = 2.0 * float(ndimage.distance_transform_edt(np.pad(m, 1)).max()) * px
    rect = rectangularity(m)
    ndvi_b = ndvi_a = None
    if measures.ndvi_before is not None and measures.ndvi_after is not None:
        ndvi_b = float(measures.ndvi_before[sl][m].mean())
        ndvi_a = float(measures.ndvi_after[sl][m].mean())
    ndvi_delta = None if ndvi_b is None or ndvi_a is None else ndvi_a - ndvi_b
    contrast_b = float(smap_b.anomaly[sl][m].mean())
    contrast_a = float(smap_a.anomaly[sl][m].mean())
    shadow_b = shadow_depth(m, smap_b.dark[sl], reach)
    shadow_a = shadow_depth(m, smap_a.dark[sl], reach)
    strength = float(np.clip(mean_change / max(threshold, 1e-9) - 1.0, 0.0, 1.0))

    if isinstance(kind, _Candidate):
        change_class, cause = kind.change_class, kind.cause
        gone = change_class in ("structure_demolished", "tower_removed")
        present = contrast_b if gone else contrast_a
        shadow = shadow_b if gone else shadow_a
        evidence_terms = [
            float(np.clip((changed_fraction - config.min_changed_fraction) / (1 - config.min_changed_fraction), 0, 1)),
            float(np.clip(present / config.structure_anomaly - 1.0, 0, 1)),
            float(np.clip(shadow / (2 * max(config.min_shadow_px, 1e-9)), 0, 1)),
            float(np.clip(kind.score, 0, 1)),
        ]
        confidence = 0.5 + 0.5 * float(np.mean(evidence_terms))
        source = "tower" if CLASSES[change_class].kind == "tower" else "structure"
        if kind.model is not None:
            # Both say it: the mean of the model's and the classical confidence; the model
            # alone, or the classical stages alone, less.
            model_conf = 0.5 + 0.5 * float(kind.model.get("strength", 0.0))
            if kind.model["classical"] == "agrees":
                confidence = 0.5 * (confidence + model_conf) + 0.1
                source = f"{source}, model agrees"
            elif kind.model["classical"] == "not seen by the model":
                confidence = 0.5 + 0.25 * (confidence - 0.5)
                source = f"{source}, not seen by the model"
            else:
                confidence = 0.5 * (model_conf + 0.5 + 0.5 * float(np.mean(evidence_terms[1:])))
                source = f"{source}, model only"
            confidence = float(np.clip(confidence, 0.5, 1.0))
    else:
        change_class = "other_change"
        dark_b = float(smap_b.dark[sl][m].mean())
        dark_a = float(smap_a.dark[sl][m].mean())
        if (ndvi_delta is not None and abs(ndvi_delta) > config.vegetation_ndvi_change
                and max(ndvi_b or 0.0, ndvi_a or 0.0) > config.max_structure_ndvi):
            cause = "vegetation"
        elif max(dark_b, dark_a) > 0.5 and min(dark_b, dark_a) < 0.2:
            cause = "shadow"
        else:
            cause = "ground or surface"
        confidence = 0.5 + 0.5 * strength
        source = "other"

    def r2(v: np.ndarray) -> list[float]:
        return [round(float(x), 2) for x in v]

    evidence = {
        "bands": [n or f"band{i + 1}" for i, n in enumerate(before.band_names)],
        "before_mean": r2(xb.mean(axis=1)),
        "after_mean": r2(xa.mean(axis=1)),
        "ground_before_median": r2(np.median(gb, axis=1)) if gb.size else None,
        "ground_after_median": r2(np.median(ga, axis=1)) if ga.size else None,
        "ndvi_before": None if ndvi_b is None else round(ndvi_b, 3),
        "ndvi_after": None if ndvi_a is None else round(ndvi_a, 3),
    }
    if isinstance(kind, _Candidate) and kind.model is not None:
        evidence["model"] = {k: v for k, v in kind.model.items() if k != "strength"}
    return ChangeRegion(
        id=rid,
        geometry=geom,
        change_class=change_class,
        confidence=calibrated(source, confidence),
        score=confidence,
        source=source,
        area_m2=area,
        mean_change=mean_change,
        changed_fraction=changed_fraction,
        brightness="brighter" if signed > 0 else "darker",
        vegetation=None if ndvi_delta is None else ("more vegetation" if ndvi_delta > 0 else "less vegetation"),
        ndvi_change=ndvi_delta,
        width_m=width,
        rectangularity=rect,
        contrast_before=contrast_b,
        contrast_after=contrast_a,
        shadow_before=shadow_b,
        shadow_after=shadow_a,
        cause=cause,
        evidence=evidence,
    )


def class_mask(
    labels: np.ndarray,
    regions: Sequence[ChangeRegion],
    analysed: np.ndarray,
    *,
    obscured: np.ndarray | None = None,
) -> np.ndarray:
    """Return the class code of every pixel.

    Parameters
    ----------
    labels : (M, N) ndarray of int32
    regions : sequence of ChangeRegion
        One per label.
    analysed : (M, N) ndarray of bool
        Pixels that were compared (valid on both dates, inside the AOI).
    obscured : (M, N) ndarray of bool, optional
        Pixels hidden by cloud or cloud shadow.

    Returns
    -------
    (M, N) ndarray of uint8
        0 no change, a class code (see :mod:`campwatch.classes`), 254 obscured,
        255 not analysed (nodata or outside the AOI).
    """
    lut = np.zeros(int(labels.max()) + 1, dtype="uint8")
    for r in regions:
        lut[r.id] = CLASSES[r.change_class].code
    out = lut[labels]
    out[(labels == 0)] = NO_CHANGE
    if obscured is not None:
        out[obscured] = OBSCURED
    out[~analysed] = NOT_ANALYSED
    return out
