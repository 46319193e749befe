"""The analysis of two scenes on one grid: mask, co-register, match radiometry, measure,
threshold, find clouds, segment and classify the change.

:func:`analyse_scenes` runs every stage on a pair in memory; :func:`pair_parameters`
measures what a scene analysed block by block takes from a sample of its blocks (the
shift, thresholds, noise, radiometric fit and shadow directions).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np
from rasterio.features import geometry_mask

from campwatch.config import DetectConfig
from campwatch.detection.align import match_shift_blur
from campwatch.detection.change import ChangeMeasures, change_measures
from campwatch.detection.classify import class_mask, classify_changes
from campwatch.detection.model import CHANGE_EVERYWHERE, ChangeModel, LearnedChange, ModelError
from campwatch.detection.objects import OBJECTS_WORK, OwnPixels
from campwatch.detection.obscured import Obscured, extend_fringe, find_obscured
from campwatch.detection.prepare import (
    LOW_VALID_FRACTION,
    LOW_VALID_TEXT,
    MAX_FIT_DEPARTURE,
    MIN_SHIFT_STRENGTH,
    PreparedPair,
    prepare_pair,
    warn,
)
from campwatch.detection.radiometry import (
    LinearFit,
    invariant_candidates,
)
from campwatch.detection.results import DetectResult
from campwatch.detection.segment import change_mask, clean_mask, label_regions
from campwatch.detection.structures import find_structures, sun_shadow_direction
from campwatch.detection.threads import for_each
from campwatch.detection.threshold import Thresholds, choose_thresholds
from campwatch.detection.vegetation import stable_vegetation
from campwatch.io.aoi import AOI, to_crs
from campwatch.io.masks import UserMask
from campwatch.io.scene import Scene
from campwatch.progress import step, tick

__all__ = ["analyse_scenes", "prepare_pair", "PreparedPair", "change_regions", "pair_parameters", "PairParameters",
           "SceneParameters",
           "LOW_VALID_FRACTION", "LOW_VALID_TEXT",
           "MIN_SHIFT_STRENGTH", "MAX_FIT_DEPARTURE", "TAUGHT_NEAR_M"]

logger = logging.getLogger(__name__)





#: A taught model classifies the pixels within this many metres of measured change (the change mask
#: before it is cleaned): its regions are claimed only where change is measured, and a region further
#: out could not be.
TAUGHT_NEAR_M = 6.0


def _near(changed: np.ndarray, scene: Scene, metres: float) -> np.ndarray:
    """The pixels within ``metres`` of a pixel of ``changed`` (a square neighbourhood), by OpenCV's dilation."""
    r = max(1, int(round(metres / _pixel_size_m(scene))))
    kernel = np.ones((2 * r + 1, 2 * r + 1), dtype="uint8")
    return cv2.dilate(changed.astype("uint8"), kernel) > 0


def _pixel_size_m(scene: Scene) -> float:
    """The side of a pixel of ``scene`` in metres (for a geographic grid, at its centre's latitude)."""
    side = float(np.sqrt(scene.pixel_area))
    if scene.crs is not None and scene.crs.is_geographic:
        lat = scene.transform.f + scene.transform.e * scene.shape[0] / 2
        side *= 111_320.0 * math.sqrt(max(math.cos(math.radians(lat)), 1e-6))
    return side






#: What each stage of a pair's analysis costs, in units of work (measured on the sample, 576 x 704 px:
#: co-registration and radiometry 0.84 s, change 0.51 s, each date's objects 4 x 0.43 s, the rest
#: about 0.5 s): the progress of a pair counts these, so that its time left comes from work done.
PAIR_WORK = {"read": 2, "prepare": 3, "change": 2, "objects": OBJECTS_WORK, "describe": 2, "mask": 1}


def analyse_scenes(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    notes: list[str] | tuple[str, ...] = (),
    mask: UserMask | None = None,
    core: tuple[slice, slice] | None = None,
    whole_scene: SceneParameters | None = None,
    model: ChangeModel | None = None,
) -> DetectResult:
    """Detect and classify change between two scenes already read onto one grid.

    The core of every analysis of a pair (:func:`campwatch.run.analyse_pair`), and the way
    to analyse scenes made in memory (for example dataset pairs without georeferencing).

    Parameters
    ----------
    core : pair of slices, optional
        The part of the grid this run answers for (a block's core, without its halo):
        the structures seen and the area masked by the user are counted there only.
    whole_scene : SceneParameters, optional
        What was measured beforehand on the whole scene that these scenes are a part of (a
        block and its halo), taken instead of measuring it here.
    model : ChangeModel, optional
        A learned change model (:mod:`campwatch.detection.model`), run on the co-registered,
        radiometrically matched pair where it is usable (not obscured); what it sees is
        classified in the analyst's terms with the classical stages' evidence
        (:func:`campwatch.detection.classify.classify_changes`).

    Raises
    ------
    GridMismatchError, InputError, ModelError
        When the scenes differ in shape, are shifted by more than ``max_shift_px``, have no
        valid pixel in common inside the AOI, or lack a band the model takes.
    """
    config = config or DetectConfig()
    config.check_scale(_pixel_size_m(before), source=str(before.path or "the images"))
    scene = whole_scene or SceneParameters()
    if scene.thresholds is not None:
        config = dataclasses.replace(config, thresholds=dataclasses.replace(
            config.thresholds, gain_threshold=scene.thresholds.gain, loss_threshold=scene.thresholds.loss))
    # Where the metadata gives the sun's azimuth, shadows fall away from it: no need to guess.
    shadow_directions = (scene.shadow_directions[0] or sun_shadow_direction(before),
                         scene.shadow_directions[1] or sun_shadow_direction(after))
    prep = prepare_pair(before, after, aoi=aoi, coregistration=config.coregistration, radiometry=config.radiometry, notes=notes, mask=mask, shift=scene.shift, core=core,
                        fit=scene.fit, sigma=scene.sigma)
    before, after, messages = prep.before, prep.after, prep.messages
    step("measuring change", PAIR_WORK["prepare"])
    measures, thresholds, change_labels, raw, obscured, _ = _thresholded(prep, config, sigma=scene.sigma,
                                                                         cloud_thresholds=scene.cloud_thresholds)
    step(f"the model {model.card.name}" if model is not None else "finding the earlier date's objects",
         PAIR_WORK["change"])
    for rec in obscured.regions:
        warn(messages, f"{rec['kind']} on {rec['date']} (pair {before.date} -> {after.date}): "
                        f"{rec['obscured_m2']:.0f} m2 obscured "
                        f"(not analysed), {rec['seen_through_m2']:.0f} m2 seen through (structures only)")
    learned = None
    if model is not None:
        # The model takes the pair co-registered, each date in its own radiometry: it learnt to
        # see through the differences of light between dates, and matching them hides change
        # from it (Joplin: 180 razed houses found after matching, 215 without).
        # A taught model's region is claimed only where change is measured (direction.TAUGHT_BACKING):
        # it classifies only the pixels near measured change, at a cost that grows with the change.
        near = _near(raw, before, TAUGHT_NEAR_M) if model.card.taught else None
        # A model of images takes the earlier date blurred as the resampling blurred the later one:
        # it sees both dates equally sharp, whichever is the earlier (a pair swapped sees the same
        # change). A taught model takes the pair as it was taught on.
        learned = model.change(before if model.card.taught else match_shift_blur(before, prep.shift),
                               prep.after_aligned if prep.after_aligned is not None else after,
                               prep.analysed & ~obscured.mask, only=near)
        logger.info("model %s: %.1f%% of the usable pixels changed", model.card.name,
                    100.0 * learned.mask.mean())
        _check_not_everywhere(learned, change_labels > 0, prep.analysed & ~obscured.mask, model.card.name)
        step("finding the earlier date's objects", 0)
    labels, regions, seen = classify_changes(
        change_labels, before, after, measures, config, learned=learned,
        threshold=min(thresholds.gain, thresholds.loss), obscured=obscured.mask,
        veiled=(obscured.seen_through_before, obscured.seen_through_after), raw_changed=raw,
        fence_lines=[to_crs(f, before.crs) for f in aoi.fences] if aoi is not None and aoi.fences else None,
        known=_known_features(aoi, before), count_within=core, shadow_directions=shadow_directions,
        own=_own_pixels(prep, halfway=model is not None and model.card.covers == "buildings"),
    )
    logger.info("%d changes", len(regions))
    step("the map of classes", PAIR_WORK["describe"])
    classes = class_mask(labels, regions, prep.analysed, obscured=obscured.mask)
    step(f"{len(regions)} changes found", PAIR_WORK["mask"])
    return DetectResult(before=before, after=after, aoi=aoi, config=config, measures=measures, thresholds=thresholds,
                        labels=labels, classes=classes, regions=regions, analysed=prep.analysed, obscured=obscured,
                        inside=prep.inside, shift=prep.shift, warnings=tuple(messages), structures_seen=seen,
                        masked_m2=prep.masked, residual_shift=prep.residual,
                        model=model.record() if model is not None else None)


def _check_not_everywhere(learned: LearnedChange, changed: np.ndarray, usable: np.ndarray, name: str) -> None:
    """Refuse a model's "change everywhere" where the pixels did not change (``changed``: the change
    regions the thresholds and their clean-up give): a model's output is not trusted whatever it says,
    0.99 on every pixel of a pair that holds one image twice."""
    total = int(usable.sum())
    seen = int((learned.mask & usable).sum())
    measured = int((changed & usable).sum())
    if total and seen > CHANGE_EVERYWHERE * total and measured < 0.5 * seen:
        raise ModelError(f"model {name}: sees change on {seen / total:.0%} of the usable pixels, where the pixels "
                         f"changed on {measured / total:.0%}: not an answer campwatch can back; check the model "
                         "and its card (bands, scaling, output)")


def _own_pixels(prep: PreparedPair, *, halfway: bool) -> OwnPixels | None:
    """What each date's objects are found on (:class:`campwatch.detection.objects.OwnPixels`): the later
    date on its own pixels in the earlier's radiometry (as matched), blurred as the resampling blurs and sharp, the shift in whole pixels, the earlier date blurred alike, and
    both dates (the later on its own pixels) blurred alike in the radiometry half-way between them
    (:meth:`LinearFit.halfway`), where each date's vegetation is measured (with ``halfway``: a model of
    buildings; else None)."""
    own = prep.after_own
    if own is None:
        return None
    matched = own
    if prep.fit is not None:
        data = prep.fit.apply(own.data)
        data[:, ~own.valid] = 0
        matched = dataclasses.replace(own, data=data)
    # The blurs at once (detection.threads): the earlier date, the later in the earlier's radiometry
    # and, for the half-way radiometry, in its own.
    scenes = (prep.before, matched) if matched is own or not halfway else (prep.before, matched, own)
    blurred = for_each(lambda scene: match_shift_blur(scene, prep.shift), scenes)
    before_blurred, matched_blurred = blurred[0], blurred[1]
    offset = (int(round(prep.shift[0])), int(round(prep.shift[1])))
    if not halfway:
        return OwnPixels(matched_blurred, offset, before_blurred, matched)
    # Vegetation is measured on both dates in the radiometry half-way between them, blurred alike.
    earlier_mid, later_mid = before_blurred, blurred[-1]
    if prep.fit is not None:
        to_mid_later, to_mid_earlier = prep.fit.halfway()
        earlier_mid = _refit(earlier_mid, to_mid_earlier)
        later_mid = _refit(later_mid, to_mid_later)
    return OwnPixels(matched_blurred, offset, before_blurred, matched, (earlier_mid, later_mid))


def _refit(scene: Scene, fit: LinearFit) -> Scene:
    data = fit.apply(scene.data)
    data[:, ~scene.valid] = 0
    return dataclasses.replace(scene, data=data)


def _thresholded(
    prep: PreparedPair, config: DetectConfig, *, sigma: tuple[float, ...] | None = None,
    cloud_thresholds: Thresholds | None = None,
) -> tuple[ChangeMeasures, Thresholds, np.ndarray, np.ndarray, Obscured, Thresholds]:
    """Change measures, thresholds, change regions and clouds of a prepared pair, and the thresholds clouds
    were searched with (``sigma``, ``cloud_thresholds``: the bands' noise and those thresholds, if known)."""
    before, after, analysed = prep.before, prep.after, prep.analysed
    # Each date's vegetation in its own radiometry: matching the later one's shifts its colours.
    stable = stable_vegetation(before, prep.after_aligned if prep.after_aligned is not None else after,
                                config=config.vegetation)
    # The resampling blurred the after scene: its change is measured against the before scene
    # blurred alike, or every edge is change (structures are found on the sharp one).
    matched = match_shift_blur(before, prep.shift)
    measures, thresholds, change_labels, raw = change_regions(matched, after, analysed, config, sigma=sigma,
                                                              stable=stable)
    tick("looking for clouds and their shadows")
    cloud_labels, cloud_thr = _cloud_search_regions(measures, before, config, thresholds=cloud_thresholds)
    obscured = find_obscured(cloud_labels, before, after, measures, config.clouds)
    if obscured.found:
        tick("measuring change again without the clouds")
        # A cloud's change set the thresholds: choose them again without it. Lower
        # thresholds reach further into the cloud's fringe: take that in too.
        clouds = obscured.mask | obscured.seen_through
        measures, thresholds, change_labels, raw = change_regions(
            matched, after, analysed & ~obscured.mask, config, exclude=clouds, sigma=sigma, stable=stable
        )
        cloud_labels, cloud_thr = _cloud_search_regions(measures, before, config, exclude=clouds,
                                                        thresholds=cloud_thresholds)
        obscured = extend_fringe(obscured, cloud_labels, measures)
    return measures, thresholds, change_labels, raw, obscured, cloud_thr


def _choose_without(measures: ChangeMeasures, exclude: np.ndarray | None, config: DetectConfig) -> Thresholds:
    """The thresholds ``config`` chooses for ``measures``, the pixels in ``exclude`` left out of the choice
    (all of them used when that would leave none)."""
    if exclude is None:
        return choose_thresholds(measures, config.thresholds)
    stats = dataclasses.replace(measures, valid=measures.valid & ~exclude,
                                noise_reference=measures.noise_reference & ~exclude)
    return choose_thresholds(stats if stats.valid.any() else measures, config.thresholds)


def _cloud_search_regions(measures: ChangeMeasures, scene: Scene, config: DetectConfig, *,
                          exclude: np.ndarray | None = None,
                          thresholds: Thresholds | None = None) -> tuple[np.ndarray, Thresholds]:
    """Labelled change regions to search for clouds and their fringes, and the thresholds that made them.

    A cloud or its shadow is a strong change that fades out over tens of metres: it is
    searched among the pixels above the noise threshold (``threshold_method="noise"``,
    whatever the change mask takes: a threshold that splits the noise of a side with no
    change would fray a cloud's outline with specks), down to ``config.clouds.cloud_hysteresis_ratio``
    of it; and a shadow over a field keeps the field (vegetation on both dates is not
    change, but it is shaded). Pixels in ``exclude`` do not count towards the threshold;
    ``thresholds``, when given (a block takes its scene's), are used instead.
    """
    if thresholds is None:
        thresholds = _choose_without(measures, exclude, dataclasses.replace(
            config, thresholds=dataclasses.replace(config.thresholds, threshold_method="noise")))
    raw = change_mask(measures, thresholds, hysteresis_ratio=config.clouds.cloud_hysteresis_ratio)
    return label_regions(clean_mask(raw, pixel_size=float(np.sqrt(scene.pixel_area)), config=config.segment)), thresholds


@dataclass(frozen=True)
class SceneParameters:
    """What was measured once on the whole scene, for a part of it (a block) to take instead of its own.

    A member left at None is measured on the part itself.
    """

    #: The thresholds of change (gain, loss).
    thresholds: Thresholds | None = None
    #: The (row, col) shift to move the after scene by.
    shift: tuple[float, float] | None = None
    #: The direction of shadows on each date, (row, col) unit vectors.
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None)
    #: The gain and offset that match the after scene to the before one (with ``normalize="invariant"``):
    #: taken instead of the part's own when that departs from it by more than :data:`MAX_FIT_DEPARTURE`
    #: noise sigmas (needs ``sigma``).
    fit: LinearFit | None = None
    #: The noise sigma of each band's difference.
    sigma: tuple[float, ...] | None = None
    #: The thresholds to search clouds with (by default the noise thresholds of the part itself).
    cloud_thresholds: Thresholds | None = None


@dataclass(frozen=True)
class PairParameters:
    """What :func:`analyse_scenes` chooses from the data of a pair, measured on a part of it."""

    thresholds: Thresholds
    #: The shift measured, or None when it could not be.
    shift: tuple[float, float] | None
    #: The direction of shadows on each date, (row, col) unit vectors, or None.
    shadow_directions: tuple[tuple[float, float] | None, tuple[float, float] | None]
    #: How many pixels were valid on both dates.
    analysed_px: int
    #: The radiometric fit of the after scene onto the before one (None: not an invariant fit).
    fit: LinearFit | None = None
    #: The noise sigma of each band's difference.
    sigma: tuple[float, ...] = ()
    #: The thresholds clouds were searched with.
    cloud_thresholds: Thresholds | None = None


def pair_parameters(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    mask: UserMask | None = None,
) -> PairParameters:
    """The thresholds, shift and shadow directions :func:`analyse_scenes` would find on a pair.

    Used on sample blocks to choose one set of them for a scene analysed block by block.
    Raises like :func:`analyse_scenes`.
    """
    config = config or DetectConfig()
    prep = prepare_pair(before, after, aoi=aoi, coregistration=config.coregistration, radiometry=config.radiometry, notes=(), mask=mask, shift=None, measure_residual=False)
    measures, thresholds, _, _, obscured, cloud_thresholds = _thresholded(prep, config)
    usable = prep.analysed & ~obscured.mask
    directions = tuple(sun_shadow_direction(scene) or find_structures(scene, config=config, valid=usable).direction
                       for scene in (before, prep.after))
    return PairParameters(thresholds=thresholds, shift=prep.shift if prep.shift_measured else None,
                          shadow_directions=(directions[0], directions[1]), analysed_px=int(prep.analysed.sum()),
                          fit=prep.fit, sigma=measures.sigma, cloud_thresholds=cloud_thresholds)


def _known_features(aoi: AOI | None, scene: Scene) -> np.ndarray | None:
    """Pixels where the AOI file says towers (2 m around each point) and structures stand."""
    if aoi is None or not (aoi.towers or aoi.structures):
        return None
    shapes = [to_crs(t, scene.crs).buffer(2.0) for t in aoi.towers]
    shapes += [to_crs(g, scene.crs) for g in aoi.structures]
    return geometry_mask(shapes, out_shape=scene.shape, transform=scene.transform, invert=True)


def change_regions(
    before: Scene,
    after: Scene,
    analysed: np.ndarray,
    config: DetectConfig,
    *,
    exclude: np.ndarray | None = None,
    sigma: tuple[float, ...] | None = None,
    stable: np.ndarray | None = None,
) -> tuple[ChangeMeasures, Thresholds, np.ndarray, np.ndarray]:
    """Change measures, thresholds, labelled cleaned change regions, and the raw change mask of a pair.

    Pixels in ``exclude`` are analysed but do not count towards the thresholds. ``sigma``:
    the noise sigma of each band, when measured beforehand (else measured here over
    pseudo-invariant pixels). Pixels in ``stable`` (vegetation on both dates,
    :func:`~campwatch.detection.vegetation.stable_vegetation`) are analysed but never change.
    """
    invariant = None if sigma is not None else invariant_candidates(after.data, before.data, analysed,
                                                                    after.band_names)
    measures = change_measures(before, after, valid=analysed, noise_mask=invariant, sigma=sigma)
    thresholds = _choose_without(measures, exclude, config)
    logger.info("thresholds: gain %.2f, loss %.2f (%s)", thresholds.gain, thresholds.loss, thresholds.method)
    pixel = float(np.sqrt(before.pixel_area))
    raw = change_mask(measures, thresholds, hysteresis_ratio=config.thresholds.hysteresis_ratio)
    if stable is not None:
        raw &= ~stable
    cleaned = clean_mask(raw, pixel_size=pixel, config=config.segment)
    return measures, thresholds, label_regions(cleaned), raw


