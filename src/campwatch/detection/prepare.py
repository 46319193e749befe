"""A pair made ready for the change measures: masked (the user's areas, blank parts, outside the AOI),
co-registered (the shift measured and corrected) and radiometrically matched."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.features import geometry_mask

from campwatch.detection.align import apply_shift, measure_shift, residual_shifts
from campwatch.detection.blank import BLANK_WINDOW_M, blank_pixels
from campwatch.detection.radiometry import (
    LinearFit,
    fit_departure,
    invariant_fit,
    normalize,
    offset_fit,
)
from campwatch.errors import GridMismatchError, InputError
from campwatch.io.aoi import AOI
from campwatch.io.masks import UserMask
from campwatch.io.scene import Scene
from campwatch.progress import tick
from campwatch.sections import CoregistrationOptions, RadiometryOptions

logger = logging.getLogger(__name__)

__all__ = ["PreparedPair", "prepare_pair", "warn", "LOW_VALID_FRACTION", "LOW_VALID_TEXT", "MIN_SHIFT_STRENGTH",
           "MAX_FIT_DEPARTURE"]


#: Below this fraction of the AOI valid on both dates, the run warns.
LOW_VALID_FRACTION = 0.5
LOW_VALID_TEXT = "of the AOI is valid on both dates"

#: A phase-correlation peak weaker than this (in sigmas of the surface) measures nothing.
MIN_SHIFT_STRENGTH = 8.0

#: A block's own radiometric fit stands unless it maps the block's pixels further than this
#: from the scene's fit (median, in noise sigmas): local differences of a mosaic's radiometry
#: stay within it (Joplin's blocks of 1,024 px: 0.1 to 0.2), a change covering two thirds of a
#: block does not (tests/test_blocks.py: 16).
MAX_FIT_DEPARTURE = 1.0


def warn(messages: list[str], text: str) -> None:
    """Say ``text`` in the run's warnings and in the log."""
    messages.append(text)
    logger.warning(text)


@dataclass(frozen=True)
class PreparedPair:
    """A pair made ready for the change measures: masked, co-registered, radiometrically matched."""

    before: Scene
    after: Scene
    inside: np.ndarray
    analysed: np.ndarray
    shift: tuple[float, float]
    #: Whether ``shift`` was measured here (False: given, or the correlation was too weak).
    shift_measured: bool
    residual: dict[str, float] | None
    masked: dict[str, float]
    messages: list[str]
    #: The radiometric fit applied to the after scene (None: none, or histogram matching).
    fit: LinearFit | None = None
    #: The after scene co-registered but in its own radiometry (what a change model takes).
    after_aligned: Scene | None = None
    #: The after scene on its own pixels, before it was moved by ``shift`` (its objects are found there).
    after_own: Scene | None = None


def prepare_pair(
    before: Scene,
    after: Scene,
    *,
    aoi: AOI | None,
    coregistration: CoregistrationOptions,
    radiometry: RadiometryOptions,
    notes: list[str] | tuple[str, ...],
    mask: UserMask | None,
    shift: tuple[float, float] | None,
    core: tuple[slice, slice] | None = None,
    measure_residual: bool = True,
    fit: LinearFit | None = None,
    sigma: tuple[float, ...] | None = None,
) -> PreparedPair:
    """Apply the user's mask and the AOI, co-register and match the radiometry of a pair.

    ``coregistration`` and ``radiometry``: the two sections of :class:`~campwatch.config.DetectConfig`
    this stage reads. ``fit`` and ``sigma``: the radiometric fit and noise of the whole scene, when
    this pair is a block of it (see :func:`_match_radiometry`).
    """
    messages: list[str] = []
    for note in dict.fromkeys(notes):  # once each: both dates may say the same
        warn(messages, note)
    if before.data.shape != after.data.shape:
        raise GridMismatchError(
            f"the scenes differ in shape ({before.data.shape} vs {after.data.shape}); they must share one grid"
        )
    before, after, masked = _mask_user_areas(before, after, mask, core=core, messages=messages)
    before, after = _mask_blank_areas(before, after, core=core, messages=messages)
    inside = _inside_aoi(before, after, aoi)
    own = after
    tick("measuring the shift between the dates")
    after, shift, measured, residual = _coregister(before, after, coregistration, shift=shift,
                                                   measure_residual=measure_residual, messages=messages)
    analysed = before.valid & after.valid & inside
    frac = float(analysed.sum()) / max(1, int(inside.sum()))
    if frac == 0:
        raise InputError(
            f"{before.path} and {after.path}: no pixel inside the AOI is valid on both dates"
        )
    if frac < LOW_VALID_FRACTION:
        warn(messages, f"only {frac:.0%} {LOW_VALID_TEXT}; the rest is not analysed")
    aligned = after
    tick("matching the later date's radiometry to the earlier's")
    after, fit = _match_radiometry(before, after, analysed, radiometry, scene_fit=fit, sigma=sigma, messages=messages)
    return PreparedPair(before=before, after=after, inside=inside, analysed=analysed, shift=shift,
                        shift_measured=measured, residual=residual, masked=masked, messages=messages, fit=fit,
                        after_aligned=aligned, after_own=own)


def _mask_user_areas(
    before: Scene, after: Scene, mask: UserMask | None, *, core: tuple[slice, slice] | None, messages: list[str]
) -> tuple[Scene, Scene, dict[str, float]]:
    """Both scenes with what the user masks made nodata on its date, and the area masked (m2, in ``core``)."""
    masked = {"before": 0.0, "after": 0.0}
    if mask is None:
        return before, after, masked
    # What the user masks is nodata on that date: not analysed, counted as hidden.
    scenes = []
    for key, scene in (("before", before), ("after", after)):
        m = mask.pixels(scene.date, crs=scene.crs, transform=scene.transform, shape=scene.shape) & scene.valid
        masked[key] = float(m[core].sum() if core is not None else m.sum()) * scene.pixel_area
        if m.any():
            data = scene.data.copy()
            data[:, m] = 0
            scene = dataclasses.replace(scene, data=data, valid=scene.valid & ~m)
            if masked[key] > 0:
                warn(messages, f"{scene.path.name if scene.path else key}: {masked[key]:.0f} m2 masked by "
                                f"{Path(mask.path).name if mask.path else 'the user'} (not analysed)")
        scenes.append(scene)
    return scenes[0], scenes[1], masked


def _mask_blank_areas(
    before: Scene, after: Scene, *, core: tuple[slice, slice] | None, messages: list[str]
) -> tuple[Scene, Scene]:
    """Both scenes with what carries no information on a date (:func:`blank_pixels`) made nodata there.

    A blank date (a constant fill, a failed download, saturation) would otherwise look as if
    every structure on the other date had gone: what it hides is not analysed, and counts
    as hidden on that date.
    """
    out = []
    for key, scene in (("before", before), ("after", after)):
        blank = blank_pixels(scene)
        if blank.any():
            area = float((blank[core] if core is not None else blank).sum()) * scene.pixel_area
            name = scene.path.name if scene.path else key
            if area > 0:
                warn(messages, f"{name}: {area:.0f} m2 carry no information (constant or saturated in every "
                                f"band over {BLANK_WINDOW_M:g} m or more): not analysed")
            data = scene.data.copy()
            data[:, blank] = 0  # invalid pixels hold 0
            scene = dataclasses.replace(scene, data=data, valid=scene.valid & ~blank)
            if not scene.valid.any():
                raise InputError(f"{scene.path or key}: carries no information (constant or saturated in every "
                                 "band); nothing can be compared with it")
        out.append(scene)
    return out[0], out[1]


def _inside_aoi(before: Scene, after: Scene, aoi: AOI | None) -> np.ndarray:
    """The pixels inside the AOI; raises when a date has no valid pixel there."""
    inside = np.ones(before.shape, dtype=bool)
    if aoi is not None:
        inside = geometry_mask(
            [aoi.geometry_in(before.crs)], out_shape=before.shape, transform=before.transform, invert=True
        )
    for scene in (before, after):
        if not (scene.valid & inside).any():
            raise InputError(f"{scene.path}: no valid pixel inside the AOI (all nodata)")
    return inside


def _coregister(
    before: Scene,
    after: Scene,
    options: CoregistrationOptions,
    *,
    shift: tuple[float, float] | None,
    measure_residual: bool,
    messages: list[str],
) -> tuple[Scene, tuple[float, float], bool, dict[str, float] | None]:
    """Move ``after`` onto ``before``: by ``shift`` when given, else by the shift measured.

    Returns the moved scene, the shift, whether it was measured here, and the residual
    shift measured on tiles afterwards (``measure_residual``).

    Raises
    ------
    GridMismatchError
        When the images are shifted by more than ``options.max_shift_px``.
    """
    measured = False
    if shift is not None:
        after = apply_shift(after, shift)
    elif options.coregister:
        shift = (0.0, 0.0)
        est = measure_shift(before, after, max_shift=options.max_shift_px)
        if est.outside is not None and est.outside[1] >= max(MIN_SHIFT_STRENGTH, 2.0 * est.strength):
            (dr, dc), _ = est.outside
            raise GridMismatchError(
                f"{after.path} is shifted by {math.hypot(dr, dc):.1f} pixels (row {dr:+.0f}, col {dc:+.0f}) "
                f"against {before.path}, more than max_shift_px={options.max_shift_px}; "
                "co-register the images first or raise max_shift_px"
            )
        if est.strength >= MIN_SHIFT_STRENGTH:
            shift, measured = est.shift, True
            logger.info("measured shift (row, col) = (%.2f, %.2f) px, peak %.0f sigma", *shift, est.strength)
            after = apply_shift(after, shift)
        else:
            warn(messages, f"the shift between the images could not be measured (correlation peak "
                            f"{est.strength:.1f} sigma); taken as co-registered")
    else:
        shift = (0.0, 0.0)
    residual: dict[str, float] | None = None
    tick("measuring the shift left on tiles")
    if options.coregister and measure_residual:
        residuals = [math.hypot(dr, dc) for dr, dc in residual_shifts(before, after, max_shift=options.max_shift_px,
                                                                       min_strength=MIN_SHIFT_STRENGTH)]
        if residuals:
            residual = {"tiles": len(residuals), "median_px": round(float(np.median(residuals)), 2),
                        "max_px": round(float(max(residuals)), 2)}
            if residual["max_px"] > 1.0:
                warn(messages, f"after the shift was corrected, parts of the images are still "
                                f"{residual['max_px']:.1f} px apart (phase correlation on {len(residuals)} tiles): "
                                "edges there may show as change")
    return after, shift, measured, residual


def _match_radiometry(
    before: Scene,
    after: Scene,
    analysed: np.ndarray,
    options: RadiometryOptions,
    *,
    scene_fit: LinearFit | None,
    sigma: tuple[float, ...] | None,
    messages: list[str],
) -> tuple[Scene, LinearFit | None]:
    """``after`` matched to ``before``'s radiometry, and the fit used (None: not a linear fit).

    ``scene_fit`` and ``sigma``: the radiometric fit and noise of the whole scene, when this
    pair is a block of it. The block's own fit is used unless it departs from the scene's by
    more than :data:`MAX_FIT_DEPARTURE` noise sigmas: then one change covers most of the
    block and its own fit would match that change away, so the scene's is used.
    """
    fit = None
    if options.normalize in ("invariant", "offset"):
        fit = (invariant_fit(before, after, min_correlation=options.min_gain_correlation)
               if options.normalize == "invariant" else offset_fit(before, after))
        if scene_fit is not None and sigma is not None:
            departure = fit_departure(fit, scene_fit, after.data, analysed, sigma)
            logger.info("the radiometric fit departs from the scene's by %.2f noise sigmas", departure)
            if departure > MAX_FIT_DEPARTURE:
                warn(messages, f"radiometry departs from the scene's by {departure:.1f} noise sigmas (a change "
                                "covers most of the block): the scene's radiometric fit is used")
                fit = scene_fit
    return normalize(before, after, method=options.normalize, fit=fit), fit
