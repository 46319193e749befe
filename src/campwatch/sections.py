"""The sections of the detection parameters: one frozen dataclass per stage, each value checked when it is made.

:class:`campwatch.config.DetectConfig` holds one of each; a stage takes its own
(``fence_changes(..., config=config.fences)``). Each section's docstring documents its
parameters: ``docs/config.md`` is made from them (``make docs``).

A change class added later brings its finder's options as a section of its own, declared here
with :func:`class_options` (docs/development.md, "Adding a change class"): ``DetectConfig`` holds
it as ``config.<name>``, config files take it as ``[detect.<name>]``, and reports record its
parameters after every other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from campwatch.errors import ConfigError

__all__ = ["Section", "ThresholdOptions", "SegmentOptions", "StructureOptions", "TowerOptions", "FenceOptions",
           "VegetationOptions", "CloudOptions", "CoregistrationOptions", "RadiometryOptions", "BlockOptions",
           "THRESHOLD_METHODS", "NORMALIZE_METHODS", "MIN_REGION_PX", "check_kind", "check_section",
           "CLASS_SECTIONS", "class_options"]

THRESHOLD_METHODS = ("either", "auto", "otsu", "noise")
NORMALIZE_METHODS = ("invariant", "offset", "histogram", "none")
#: The fewest pixels a change region has (:meth:`SegmentOptions.min_region_px`).
MIN_REGION_PX = 4

S = TypeVar("S", bound="Section")


@dataclass(frozen=True)
class Section:
    """A section of :class:`DetectConfig`: the parameters of one stage, each checked when it is made."""

    def __post_init__(self) -> None:
        check_section(self)


#: The sections of change classes added to campwatch, by name (:func:`class_options`), in the order declared.
CLASS_SECTIONS: dict[str, type[Section]] = {}


def class_options(name: str) -> Callable[[type[S]], type[S]]:
    """Declare a section of a change class's finder options, ``config.<name>`` (``[detect.<name>]``).

    Its parameters share one namespace with every other (a report records them flat), so each
    must have a name no other section uses; its defaults must be valid.

    Raises
    ------
    ValueError
        When ``name`` is taken or is not an identifier.
    """
    if not name.isidentifier() or name in CLASS_SECTIONS or name in _CORE_SECTIONS:
        raise ValueError(f"class_options({name!r}): the name is taken or is not an identifier")

    def register(cls: type[S]) -> type[S]:
        CLASS_SECTIONS[name] = cls
        return cls

    return register


#: The names of the stages' own sections (:data:`campwatch.config.SECTIONS`), not for a class's.
_CORE_SECTIONS = frozenset({"thresholds", "segment", "structures", "towers", "fences", "vegetation", "clouds",
                            "coregistration", "radiometry", "blocks", "model", "retired"})


@dataclass(frozen=True)
class ThresholdOptions(Section):
    """How change is told from noise: the thresholds of the change magnitude.

    ``[detect.thresholds]`` in a config file; ``DetectConfig().thresholds``.

    Attributes
    ----------
    threshold_method : {"either", "auto", "otsu", "noise"}
        How gain and loss thresholds are chosen. ``"otsu"``: Otsu's threshold of the
        standardised change magnitude; ``"noise"``: ``noise_k`` times the robust noise
        level above its median; ``"auto"``: the larger of the two, so that a pair with
        little change does not have its noise thresholded as change; ``"either"``
        (default): the smaller of the two, so that widespread change does not hide
        behind the noise it inflates. On a pair with no change and almost no noise (one
        scene against itself re-toned) Otsu's threshold splits the noise: use ``"auto"``
        or ``"noise"`` there.
    gain_threshold, loss_threshold : float or None
        Fixed thresholds on the standardised change magnitude (units of noise sigma) for
        pixels that got brighter (gain) or darker (loss). ``None`` (default): automatic.
    noise_k : float
        Multiplier of the noise sigma for the ``"noise"`` threshold (default 4).
    noise_floor_k : float
        An automatic threshold is never under this many times the pixels' own noise (the
        sensor and encoding noise of both images, measured in each image alone), so that
        a pair that differs only by re-encoding (8 and 16 bits, JPEG) or sensor noise
        claims no change (default 3). In real pairs the scene's differences are many times
        that noise, and the floor lies far under the threshold chosen. 0 disables it.
    hysteresis_ratio : float
        Pixels above ``ratio * threshold`` join a region that has a pixel above the
        threshold (default 0.7). 1 disables hysteresis.
    """

    threshold_method: str = "either"
    gain_threshold: float | None = None
    loss_threshold: float | None = None
    noise_k: float = 4.0
    noise_floor_k: float = 3.0
    hysteresis_ratio: float = 0.7


@dataclass(frozen=True)
class SegmentOptions(Section):
    """How the change mask is cleaned into regions.

    ``[detect.segment]`` in a config file; ``DetectConfig().segment``.

    Attributes
    ----------
    opening_radius_m : float
        Radius of the morphological opening that removes thin slivers (edge effects of
        residual misregistration), in metres (default 1.0).
    min_area_m2 : float
        Smallest change region kept, in square metres (default 25); never under 4 pixels.
    """

    opening_radius_m: float = 1.0
    min_area_m2: float = 25.0

    def min_region_px(self, pixel_area: float) -> int:
        """The fewest pixels a change region has: ``min_area_m2``, and never under 4 pixels.

        A change of one to three pixels is noise or a misregistered edge at any pixel size;
        in coarse imagery (8-10 m) ``min_area_m2`` is less than a pixel.
        """
        return max(MIN_REGION_PX, int(round(self.min_area_m2 / pixel_area)))


@dataclass(frozen=True)
class StructureOptions(Section):
    """What a structure is, and when it was built, demolished or modified.

    ``[detect.structures]`` in a config file; ``DetectConfig().structures``.

    Attributes
    ----------
    min_structure_area_m2, max_structure_area_m2 : float
        Area range of a region that may be called a structure change (default 40 to
        20,000 m2).
    min_structure_width_m : float
        Narrowest a structure can be, in metres (default 3).
    min_rectangularity : float
        Smallest ratio of region area to its minimum rotated rectangle for a structure
        (default 0.55).
    structure_anomaly : float
        How far a pixel must stand out from the ground around it, in noise sigmas, to be
        part of a structure (default 2.5).
    min_changed_fraction : float
        Share of a structure's pixels that must have changed for it to be reported new,
        demolished or modified (default 0.5).
    max_overlap_absent : float
        A structure is new (demolished) only if less than this share of its footprint is
        covered by a structure on the earlier (later) date (default 0.3).
    max_absent_anomaly : float
        A footprint counts as bare ground on a date only if its mean anomaly there is
        below this (default 1.5; ground is about 0.7): between this and
        ``structure_anomaly`` campwatch cannot tell, and claims nothing.
    veiled_absent_factor : float
        Under a thin cloud or cloud shadow a footprint counts as bare ground only below
        this fraction of ``max_absent_anomaly`` (default 0.6): a veil dims roofs.
    min_roof_change : float
        A structure present on both dates is modified when its mean spectrum changed by
        more than this fraction (default 0.15): new roofing, not a calibration drift.
    min_shadow_px : float
        Mean width, in pixels, of the shadow a structure must cast along its outline on
        the date it stands (default 0.5; 0 disables the test).
    shadow_reach_m : float
        How far from an object its shadow is looked for, in metres (default 5).
    shadowless_pixel_m : float
        Pixels coarser than this, in metres, do not show a building's shadow (Sentinel-2's
        10 m, for one; default 4). In such a scene a structure is found by its contrast
        with the ground alone, a dark roof as well as a bright one, and needs no shadow;
        it must be at least 2 pixels wide and 6 pixels in area and change strongly, and the
        ground it stands out from is measured over 50 pixels (see the README).
    shadow_brightness : float
        Pixels darker than this fraction of the brightness of the ground around them are
        taken for shadow on that date (default 0.7). Shadows move with the sun, so only pixels lit on
        both dates are evidence of a structure.
    objects_near_change : bool
        Look for structures, towers and fences, and describe them, only near the pixels that
        changed (default True): within a margin of at least the largest structure's side
        (``max_structure_area_m2``), the longest fence line kept (``fence_min_length_m``),
        a tower's shadow and the ground a structure is measured against (docs/algorithm.md,
        "Near change"). What changed costs little to look for where little changed; the
        structures each date holds are counted near change only (``structures_near_change``
        in the report). False: the whole scene, as before this parameter existed.
    """

    min_structure_area_m2: float = 40.0
    max_structure_area_m2: float = 20000.0
    min_structure_width_m: float = 3.0
    min_rectangularity: float = 0.55
    structure_anomaly: float = 2.5
    min_changed_fraction: float = 0.5
    max_overlap_absent: float = 0.3
    max_absent_anomaly: float = 1.5
    veiled_absent_factor: float = 0.6
    min_roof_change: float = 0.15
    min_shadow_px: float = 0.5
    shadow_reach_m: float = 5.0
    shadowless_pixel_m: float = 4.0
    shadow_brightness: float = 0.7
    objects_near_change: bool = True


@dataclass(frozen=True)
class TowerOptions(Section):
    """What a guard tower is: a small object with a long shadow.

    ``[detect.towers]`` in a config file; ``DetectConfig().towers``.

    Attributes
    ----------
    min_tower_area_m2 : float
        Smallest footprint of a guard tower, in m2 (default 4); objects from this up to
        ``min_structure_area_m2`` are tower candidates.
    min_tower_width_m : float
        Narrowest a tower can be, in metres (default 1.5).
    min_tower_shadow_ratio : float
        A tower casts a shadow at least this many times longer than it is wide (default
        0.8): it is tall for its size.
    tower_shadow_reach_m : float
        How far from a tower its shadow is followed, in metres (default 15).
    """

    min_tower_area_m2: float = 4.0
    min_tower_width_m: float = 1.5
    min_tower_shadow_ratio: float = 0.8
    tower_shadow_reach_m: float = 15.0


@dataclass(frozen=True)
class FenceOptions(Section):
    """What a fence line is, and when a stretch of it was razed or built.

    ``[detect.fences]`` in a config file; ``DetectConfig().fences``.

    Attributes
    ----------
    fence_ridge : float
        How much darker than the ground on both sides of it a standing fence line is, in
        noise sigmas (default 4); also the ridge strength for finding fence lines.
    fence_gone : float
        Below this a fence is gone (default 1.5).
    fence_side_m : float
        How far to either side of a fence line the ground is read, in metres (default 1.5).
    fence_min_line_m : float
        Shortest straight line taken for a fence when fences are found in the imagery
        (default 30 m).
    fence_min_length_m : float
        Shortest fence line kept when fences are found in the imagery (default 60 m): a
        perimeter fence runs far; the thin shadow along a building does not.
    fence_min_change_m : float
        Shortest razed or built stretch reported (default 10 m).
    fence_bridge_m : float
        Razed (built) stretches of one line closer than this are one stretch, unless the
        fence clearly stands (is clearly absent) between them on the later date
        (default 10 m).
    fence_smooth_m : float
        Length over which the ridge strength along a fence is smoothed (default 4 m).
    """

    fence_ridge: float = 4.0
    fence_gone: float = 1.5
    fence_side_m: float = 1.5
    fence_min_line_m: float = 30.0
    fence_min_length_m: float = 60.0
    fence_min_change_m: float = 10.0
    fence_bridge_m: float = 10.0
    fence_smooth_m: float = 4.0


@dataclass(frozen=True)
class VegetationOptions(Section):
    """What vegetation is, and when its change is not a change of land cover.

    ``[detect.vegetation]`` in a config file; ``DetectConfig().vegetation``.

    Attributes
    ----------
    ignore_stable_vegetation : bool
        Pixels that are vegetation on both dates (see ``vegetation_ndvi`` and
        ``vegetation_exg``) are not change: what differs there is the season, growth or
        mowing, not the land cover (default True). A field ploughed, a wood cleared or a
        roof built on grass is vegetation on one date only and stays change.
    vegetation_ndvi : float
        A pixel is vegetation from this NDVI up, when the scene has red and near-infrared
        bands (default 0.3).
    vegetation_exg : float
        Without a near-infrared band, a pixel is vegetation from this excess-green index
        up (``2g - r - b`` of its chromatic coordinates; default 0.03).
    vegetation_ndvi_change : float
        A region that is not a structure change and whose mean NDVI changed by more than
        this is vegetation change (default 0.15). Needs a near-infrared band.
    max_structure_ndvi : float
        Roofs are not green: a region greener than this on a date holds no structure on
        that date (default 0.3). Needs a near-infrared band.
    """

    ignore_stable_vegetation: bool = True
    vegetation_ndvi: float = 0.3
    vegetation_exg: float = 0.03
    vegetation_ndvi_change: float = 0.15
    max_structure_ndvi: float = 0.3


@dataclass(frozen=True)
class CloudOptions(Section):
    """Clouds and their shadows: what hides a date, and how much of it may be hidden.

    ``[detect.clouds]`` in a config file; ``DetectConfig().clouds``.

    Attributes
    ----------
    cloud_min_area_m2 : float
        Smallest change region that may be taken for a cloud or cloud shadow, in m2
        (default 300; 0 disables cloud detection).
    cloud_max_sharpness : float
        A change region whose edge is softer than this (median gradient of the change along
        its outline over the median change inside) is a cloud or its shadow (default 0.12).
    cloud_brightness : float
        A soft-edged region brighter than this times the scene's median brightness is a
        cloud; a dimmer one is a cloud's shadow on the other date (default 1.3).
    cloud_max_veil : float
        Under a cloud, pixels whose smooth veil of light exceeds this fraction of the
        scene's median brightness are obscured; under a cloud shadow, pixels darkened by
        more than this fraction. Thinner parts are corrected and analysed (default 0.5).
    cloud_hysteresis_ratio : float
        Clouds and their shadows fade out at their edges: the change regions searched
        for them keep pixels above this fraction of the threshold that are connected to
        one above it (default 0.5), whatever ``hysteresis_ratio`` the change mask takes.
    cloud_smooth_m : float
        Scale over which a cloud's veil is taken to be smooth, in metres (default 40).
    cloud_margin_m : float
        Margin added around a cloud or cloud shadow, in metres (default 5).
    max_obscured_fraction : float
        In a series or a check, a date whose AOI is hidden (nodata, thick cloud or cloud
        shadow) over more than this share is kept in the record but not compared; a check
        whose newest image is so hidden says so instead of reporting (default 0.5).
    """

    cloud_min_area_m2: float = 300.0
    cloud_max_sharpness: float = 0.12
    cloud_brightness: float = 1.3
    cloud_max_veil: float = 0.5
    cloud_hysteresis_ratio: float = 0.5
    cloud_smooth_m: float = 40.0
    cloud_margin_m: float = 5.0
    max_obscured_fraction: float = 0.5


@dataclass(frozen=True)
class CoregistrationOptions(Section):
    """How the later image is moved onto the earlier.

    ``[detect.coregistration]`` in a config file; ``DetectConfig().coregistration``.

    Attributes
    ----------
    coregister : bool
        Measure the shift between the scenes by phase correlation and correct it
        (default True).
    max_shift_px : float
        Largest shift corrected, in pixels (default 5: two dates each misregistered by up
        to 2-2.5 px against the map). A larger measured shift is an
        error: the pair is not co-registered.
    """

    coregister: bool = True
    max_shift_px: float = 5.0


@dataclass(frozen=True)
class RadiometryOptions(Section):
    """How the later image's radiometry is matched to the earlier's.

    ``[detect.radiometry]`` in a config file; ``DetectConfig().radiometry``.

    Attributes
    ----------
    normalize : {"invariant", "offset", "histogram", "none"}
        Radiometric normalisation of the later scene to the earlier one. Default
        ``"invariant"``: a linear map per band fitted on the pixels that changed least
        (robust to clouds and to large changes), where the dates agree pixel for pixel
        (see ``min_gain_correlation``), else its offset alone; ``"offset"``: only the median
        difference of each band over those pixels (a haze or a sensor offset), no gain;
        ``"histogram"``: per-band histogram matching over valid pixels (distorted by clouds).
    min_gain_correlation : float
        With ``normalize="invariant"``, a gain is fitted only when the dates correlate at
        least this much, pixel for pixel, over the pixels that may serve for the fit
        (Pearson's, averaged over bands; default 0.65). Another sensor gain or bit depth
        keeps them high (0.69 with a third of the scene changed, 0.9 to 0.99 without),
        while years of building, other shadows or a mosaic's seams bring them low (LEVIR-CD
        and DSIFN-CD pairs: -0.1 to 0.59), and a gain fitted from such scenes matches their
        change away. Below it only the offset is matched.
    """

    normalize: str = "invariant"
    min_gain_correlation: float = 0.65


@dataclass(frozen=True)
class BlockOptions(Section):
    """How a pair larger than memory is analysed block by block.

    ``[detect.blocks]`` in a config file; ``DetectConfig().blocks``.

    Attributes
    ----------
    block_size_px : int
        A pair whose AOI window holds more pixels than one block with its halo is analysed
        block by block (``detect``), blocks of this many pixels a side (default 2048):
        peak memory depends on it, not on the size of the scene (about 1.5 GB at 2048).
    block_halo_m : float
        Each block is read with this margin around it, in metres (default 100), so that
        a change up to this far across a block edge is seen whole by one block; larger
        ones are joined from their parts.
    """

    block_size_px: int = 2048
    block_halo_m: float = 100.0

def check_section(section: Any) -> None:
    """Raise ConfigError naming the first parameter of ``section`` whose value is not valid."""
    values = {f.name: getattr(section, f.name) for f in fields(section)}
    for f in fields(section):
        check_kind(f.name, str(f.type), values[f.name])
    if values.get("threshold_method", "either") not in THRESHOLD_METHODS:
        raise ConfigError(
            f"threshold_method={values['threshold_method']!r} is not valid; "
            f"expected one of {', '.join(THRESHOLD_METHODS)}"
        )
    if values.get("normalize", "invariant") not in NORMALIZE_METHODS:
        raise ConfigError(
            f"normalize={values['normalize']!r} is not valid; "
            f"expected one of {', '.join(NORMALIZE_METHODS)}"
        )
    for name, value in values.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (not math.isfinite(value) or value < 0):
            raise ConfigError(f"{name}={value!r} is not valid; expected a finite number >= 0")
    for name in ("gain_threshold", "loss_threshold"):
        if values.get(name) is not None and values[name] <= 0:
            raise ConfigError(f"{name}={values[name]!r} is not valid; expected a number > 0")
    for name in ("hysteresis_ratio", "cloud_hysteresis_ratio"):
        if name in values and not 0 < values[name] <= 1:
            raise ConfigError(f"{name}={values[name]!r} is not valid; expected 0 < ratio <= 1")
    if "min_gain_correlation" in values and not 0 <= values["min_gain_correlation"] <= 1:
        raise ConfigError(f"min_gain_correlation={values['min_gain_correlation']!r} is not valid; "
                          "expected 0 <= correlation <= 1")
    if "max_obscured_fraction" in values and not 0 < values["max_obscured_fraction"] <= 1:
        raise ConfigError(f"max_obscured_fraction={values['max_obscured_fraction']!r} is not valid; "
                          "expected 0 < fraction <= 1")
    if "block_size_px" in values and values["block_size_px"] < 64:
        raise ConfigError(f"block_size_px={values['block_size_px']!r} is not valid; expected a whole number >= 64")
    if values.get("min_structure_area_m2", 0) > values.get("max_structure_area_m2", math.inf):
        raise ConfigError(
            "min_structure_area_m2 is larger than max_structure_area_m2 "
            f"({values['min_structure_area_m2']} > {values['max_structure_area_m2']})"
        )


#: What each annotation of a parameter accepts, in words.
_KIND_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false", "str": "a string"}


def check_kind(name: str, annotation: str, value: Any) -> None:
    """Raise ConfigError unless ``value`` is of the kind ``annotation`` (``"float | None"``) says.

    Strict: a string is not a boolean (``"false"`` is not false), a boolean is not a number,
    and None is only allowed where the parameter may be unset.
    """
    kinds = [k.strip() for k in annotation.split("|")]
    base = next(k for k in kinds if k != "None")
    expected = _KIND_WORDS[base] + (" or null (unset)" if "None" in kinds else "")
    if value is None:
        if "None" in kinds:
            return
        ok = False
    elif base == "bool":
        ok = isinstance(value, bool)
    elif base == "str":
        ok = isinstance(value, str)
    elif base == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise ConfigError(f"{name}={shown} is not valid; expected {expected}, got {type(value).__name__}")
