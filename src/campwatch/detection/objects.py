"""Each date's structure-like objects, found once before the finders run, near change or over the whole grid.

The objects (and the rasters they are found from: how far each pixel stands out from its
ground, where shadows are, which way they fall) are what several finders read
(:class:`campwatch.detection.finders.Evidence`). Each date's objects are found on its own
pixels, both dates blurred alike (:class:`OwnPixels`), so that a pair analysed the other way
round finds the same objects.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from campwatch.config import DetectConfig
from campwatch.detection.model import LearnedChange
from campwatch.detection.segment import near_windows
from campwatch.detection.structures import (
    StructureMap,
    find_structures,
    move_pixels,
    moved_map,
    near_change_margin_m,
    with_towers_of,
)
from campwatch.detection.threads import for_each
from campwatch.io.scene import Scene
from campwatch.progress import step

logger = logging.getLogger(__name__)

__all__ = ["OBJECTS_WORK", "OwnPixels", "date_objects", "near_change"]

#: The units of a pair's work (:data:`campwatch.detection.analysis.PAIR_WORK`) that its objects cost.
OBJECTS_WORK = 8


@dataclass(frozen=True)
class OwnPixels:
    """What each date's objects are found on, each date on its own pixels.

    Attributes
    ----------
    after_blurred : Scene
        The later scene on its own pixels (before co-registration moved it), blurred as the
        resampling by the shift's fraction blurs.
    offset : (int, int)
        The co-registration's shift in whole pixels (rows, columns).
    before_blurred : Scene
        The earlier scene blurred alike (the earlier scene itself when nothing was blurred).
    after_sharp : Scene
        The later scene on its own pixels, unblurred: towers, a few pixels, are found on it.
    halfway : pair of Scene or None
        Both scenes (the later on its own pixels) blurred alike in the radiometry half-way
        between them, where each date's vegetation is measured (a model of buildings only).
    """

    after_blurred: Scene
    offset: tuple[int, int]
    before_blurred: Scene
    after_sharp: Scene
    halfway: tuple[Scene, Scene] | None = None


def near_change(
    changed: np.ndarray, raw_changed: np.ndarray | None, learned: LearnedChange | None, usable: np.ndarray,
    scene: Scene, config: DetectConfig,
) -> list[tuple[slice, slice]] | None:
    """The windows of the grid where objects are looked for: within the margin of change.

    Change is the cleaned change mask, the groups of the mask before clean-up large enough to
    be half of the smallest tower (towers are too small to survive the clean-up), and what a
    model calls change. None (the whole grid) when ``config.structures.objects_near_change`` is off or the
    windows would cover most of the grid (:func:`campwatch.detection.segment.near_windows`).
    """
    if not config.structures.objects_near_change:
        return None
    px = float(np.sqrt(scene.pixel_area))
    seed = changed.copy()
    if raw_changed is not None:
        min_px = max(2, int(config.structures.min_changed_fraction * config.towers.min_tower_area_m2 / scene.pixel_area / 2))
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


def date_objects(
    before: Scene,
    after: Scene,
    config: DetectConfig,
    *,
    usable: np.ndarray,
    veiled: tuple[np.ndarray, np.ndarray],
    known: np.ndarray | None,
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None],
    windows: list[tuple[slice, slice]] | None,
    own: OwnPixels | None,
) -> tuple[StructureMap, StructureMap]:
    """Each date's structure-like objects on the grid (:func:`campwatch.detection.structures.find_structures`).

    Without ``own``, found on ``before`` and ``after`` as they are. With it, each date's objects
    are found on its own pixels, both blurred alike, the later date's then moved onto the grid
    by the co-registration's shift in whole pixels: each date's objects are the same whichever
    date is the earlier (a swapped pair reports the same changes the other way round). Towers,
    a few pixels, are taken from the sharp pixels.
    """
    if own is None:
        smap_b, smap_a = for_each(
            lambda d: find_structures((before, after)[d], config=config, valid=usable, veiled=veiled[d], known=known,
                                      direction=shadow_directions[d], windows=windows), (0, 1))
        step("finding the later date's objects", OBJECTS_WORK // 2)
        step("fences and the description of each change", OBJECTS_WORK - OBJECTS_WORK // 2)
        return smap_b, smap_a
    back = (-own.offset[0], -own.offset[1])
    own_valid = own.after_sharp.valid & move_pixels(usable, back, False)
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

    sharp = own.before_blurred is not before
    share = OBJECTS_WORK // 4 if sharp else OBJECTS_WORK // 2
    smap_b, smap_a = objects((own.before_blurred, own.after_blurred))
    step("finding the later date's objects", share)
    step("the earlier date's towers" if sharp else "fences and the description of each change", share)
    if sharp:
        sharp_b, sharp_a = objects((before, own.after_sharp))
        smap_b, smap_a = with_towers_of(smap_b, sharp_b), with_towers_of(smap_a, sharp_a)
        step("the later date's towers", share)
        step("fences and the description of each change", OBJECTS_WORK - 3 * share)
    return smap_b, moved_map(smap_a, own.offset)
