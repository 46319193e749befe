"""Say what changed, in the analyst's terms, with the evidence and a confidence.

Each date's structure-like objects are found once (:mod:`campwatch.detection.objects`); then
each class's finder (:mod:`campwatch.detection.finders`) says where changes of its classes are:
structures and towers built, demolished or modified, stretches of fence razed or built. A model
of buildings, when given, says where structures changed (:mod:`campwatch.detection.direction`).
What changed and no finder names is ``other_change`` with its likely cause (vegetation, shadow,
ground or surface). Each change is described and scored (:mod:`campwatch.detection.describe`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from rasterio.features import rasterize
from scipy import ndimage
from shapely.geometry.base import BaseGeometry
from skimage.measure import label, regionprops

from campwatch.classes import CLASSES, NO_CHANGE, NOT_ANALYSED, OBSCURED, possible_classes
from campwatch.config import DetectConfig
from campwatch.detection.change import ChangeMeasures
from campwatch.detection.describe import describe
from campwatch.detection.direction import model_structure_changes
from campwatch.detection.finders import Candidate, Evidence, LineChange, finders_for
from campwatch.detection.model import LearnedChange
from campwatch.detection.objects import OBJECTS_WORK, OwnPixels, date_objects, near_change
from campwatch.detection.results import ChangeRegion
from campwatch.detection.structures import StructureMap, move_pixels, near_change_margin_m
from campwatch.detection.vectorize import region_polygons
from campwatch.detection.vegetation import vegetation
from campwatch.io.scene import Scene
from campwatch.progress import tick

logger = logging.getLogger(__name__)

__all__ = ["classify_changes", "class_mask", "OBJECTS_WORK", "SHADOWLESS_MIN_CHANGE"]

#: In pixels too coarse to show shadows (``DetectConfig().structures.shadowless_pixel_m``), a structure change's
#: mean change is at least this many times the threshold.
SHADOWLESS_MIN_CHANGE = 3.0

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
    own: OwnPixels | None = None,
) -> tuple[np.ndarray, list[ChangeRegion], dict[str, dict[str, int]]]:
    """Classify the change between two scenes: each class's finder in turn, then other change.

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
        Fence lines to follow, in the scenes' CRS (from the AOI file); None, found in the imagery.
    known : (M, N) ndarray of bool, optional
        Where the AOI file says towers and structures stand (:func:`~campwatch.detection.structures.find_structures`).
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
        change says where the pixels changed instead of the thresholds; a model of buildings,
        where structures changed (:func:`campwatch.detection.direction.model_structure_changes`).
    own : OwnPixels, optional
        Each date on its own pixels, both blurred alike, where each date's objects are found
        (:class:`campwatch.detection.objects.OwnPixels`).

    Returns
    -------
    labels : (M, N) ndarray of int32
        The id of the change each pixel belongs to, 0 for none.
    regions : list of ChangeRegion
        In id order: named areas in their finders' order, other change, then lines (fences).
    seen : dict
        How many structures and towers were found on each date inside the usable area:
        ``{"before": {"structure": n, "tower": m}, "after": {...}}``; near change only when
        ``config.structures.objects_near_change`` took windows of the grid (:func:`near_change`), and
        then ``"within_m"`` gives the margin.
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
    objects = date_objects(before, after, config, usable=usable, veiled=veiled, known=known,
                           shadow_directions=shadow_directions, windows=windows, own=own)
    px = float(np.sqrt(before.pixel_area))
    # A class the pixels are too coarse to show is not looked for: what such a change would be
    # is other change (a fence or a tower at 8 m is a line or a speck of noise).
    possible, _ = possible_classes(px)
    evidence = Evidence(before=before, after=after, measures=measures, config=config, threshold=threshold,
                        usable=usable, changed=changed, raw_changed=raw, veiled=veiled, objects=objects,
                        windows=windows, fence_lines=fence_lines, possible=tuple(possible))
    areas, lines = _named_changes(evidence, learned, own)
    reach = max(1, int(round(config.structures.shadow_reach_m / px)))
    labels, named = _number(areas, evidence, learned, reach)
    polygons = region_polygons(labels, before.transform)
    boxes = ndimage.find_objects(labels)  # one pass for every region's bounding box
    regions = []
    for n, i in enumerate(sorted(named), start=1):
        tick("describing change {:,} of {:,}", n, len(named))
        regions.append(describe(i, boxes[i - 1], labels, polygons[i], named[i], evidence, reach))
    labels = _with_lines(labels, regions, lines, evidence)
    return labels, regions, _seen(objects, count_within,
                                  None if windows is None else near_change_margin_m(config, px))


def _with_lines(labels: np.ndarray, regions: list[ChangeRegion], lines: list[LineChange],
                evidence: Evidence) -> np.ndarray:
    """``labels`` with each line change drawn over it, numbered after ``regions`` (appended to it)."""
    shapes = []
    for line in lines:
        rid = len(regions) + 1
        regions.append(line.region(rid, evidence.config))
        shapes.append((line.geometry.buffer(evidence.pixel_m * 0.75), rid))
    if not shapes:
        return labels
    # One pass for all line changes; a later one is drawn over an earlier one.
    line_px = rasterize(shapes, out_shape=labels.shape, transform=evidence.before.transform, dtype="int32")
    return np.where(line_px > 0, line_px, labels)


def _named_changes(evidence: Evidence, learned: LearnedChange | None,
                   own: OwnPixels | None) -> tuple[list[Candidate], list[LineChange]]:
    """What the finders of the possible classes name: areas, in the finders' order, and lines."""
    areas: list[Candidate] = []
    lines: list[LineChange] = []
    for _, finder in finders_for(evidence.possible):
        for found in finder.find(evidence):
            if isinstance(found, Candidate):
                areas.append(found)
            else:
                lines.append(found)
    if learned is not None and learned.covers == "buildings":
        areas = _with_model(areas, evidence, learned, own)
    areas = [c for c in areas if c.change_class in evidence.possible]
    lines = [c for c in lines if c.change_class in evidence.possible]
    config, measures = evidence.config, evidence.measures
    if evidence.pixel_m > config.structures.shadowless_pixel_m:
        # No shadow backs a structure in coarse pixels: its change must be strong. A roof built
        # or razed changes its pixels far more than snow, a season or a field does.
        areas = [c for c in areas if c.model is not None
                 or float(measures.magnitude[c.box][c.mask].mean()) >= SHADOWLESS_MIN_CHANGE * evidence.threshold]
    return areas, lines


def _with_model(areas: list[Candidate], evidence: Evidence, learned: LearnedChange,
                own: OwnPixels | None) -> list[Candidate]:
    """The structure changes a model of buildings sees, the finders' as evidence of their direction."""
    config = evidence.config
    # Each date's vegetation in the radiometry half-way between the dates, both blurred alike:
    # in the earlier's, the later date is more or less green than in its own (LEVIR test_55's
    # grey roofs of a greenish image), and a pair swapped would see other vegetation.
    halfway = None if own is None else own.halfway
    if own is not None and halfway is None:
        raise ValueError("a model of buildings needs both dates in the half-way radiometry (OwnPixels.halfway)")
    green_b = vegetation(evidence.before if halfway is None else halfway[0], config=config.vegetation)
    green_a = vegetation(evidence.after if halfway is None else halfway[1], config=config.vegetation)
    if own is not None and green_a is not None:
        green_a = move_pixels(green_a, own.offset, False)
    smap_b, smap_a = evidence.objects
    return model_structure_changes(learned, areas, smap_b, smap_a, evidence.usable, evidence.before, config,
                                   veiled=evidence.veiled, raw_changed=evidence.raw_changed,
                                   greens=(green_b, green_a))


def _number(areas: list[Candidate], evidence: Evidence, learned: LearnedChange | None,
            reach: int) -> tuple[np.ndarray, dict[int, Candidate | None]]:
    """Each area change numbered on the grid, the named ones first (None: other change)."""
    shape = evidence.usable.shape
    labels = np.zeros(shape, dtype="int32")
    named_px = np.zeros(shape, dtype=bool)
    named: dict[int, Candidate | None] = {}
    for cand in areas:
        m = cand.mask & ~named_px[cand.box]
        if not m.any():
            continue
        rid = len(named) + 1
        labels[cand.box][m] = rid
        named_px[cand.box] |= m
        named[rid] = cand
    smap_b, smap_a = evidence.objects
    # The shadow a new or demolished structure casts is part of its change, not another.
    near = ndimage.binary_dilation(named_px, iterations=reach) if named_px.any() else named_px
    explained = named_px | (near & (smap_b.dark | smap_a.dark))
    if learned is not None and learned.covers == "buildings" and not learned.backed:
        explained |= learned.mask  # what the model calls a building change is not other change
    rest = evidence.changed & ~explained & ~evidence.veiled[0] & ~evidence.veiled[1]
    min_px = evidence.config.min_region_px(evidence.before.pixel_area)
    rest_labels = label(rest, connectivity=2)
    for prop in regionprops(rest_labels):
        if prop.area < min_px:
            continue
        sl = prop.slice
        rid = len(named) + 1
        labels[sl][rest_labels[sl] == prop.label] = rid
        named[rid] = None
    return labels, named


def _seen(objects: tuple[StructureMap, StructureMap], count_within: tuple[slice, slice] | None,
          within_m: float | None) -> dict[str, Any]:
    """How many structures and towers each date shows (in ``count_within``, when given)."""
    def counted(obj: Any) -> bool:
        if count_within is None:
            return True
        r0, c0, r1, c1 = obj.bbox
        rows, cols = count_within
        return bool(rows.start <= (r0 + r1) // 2 < rows.stop and cols.start <= (c0 + c1) // 2 < cols.stop)

    seen: dict[str, Any] = {
        date: {kind: sum(1 for o in smap.objects.values() if o.kind == kind and counted(o))
               for kind in ("structure", "tower")}
        for date, smap in zip(("before", "after"), objects)
    }
    if within_m is not None:  # counted near change only: say within how far
        seen["within_m"] = round(within_m, 1)
    return seen


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
