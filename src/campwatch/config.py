"""Detection parameters: frozen sections, one per stage, with documented defaults, in one DetectConfig loadable from a file."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import tomllib
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from campwatch.errors import ConfigError

__all__ = ["DetectConfig", "Section", "SECTIONS", "SECTION_OF", "PARAMETER_ORDER", "ThresholdOptions", "SegmentOptions",
           "StructureOptions", "TowerOptions", "FenceOptions", "VegetationOptions", "CloudOptions",
           "CoregistrationOptions", "RadiometryOptions", "BlockOptions", "THRESHOLD_METHODS", "NORMALIZE_METHODS", "SCALE_LIMITS_PX", "MAX_BLOCK_SIZE_PX",
           "MIN_PIXEL_SIZE_M", "MIN_REGION_PX", "config_reference", "ADDED_PARAMETERS",
           "RETIRED_PARAMETERS", "parameter_fields"]

logger = logging.getLogger(__name__)

THRESHOLD_METHODS = ("either", "auto", "otsu", "noise")
NORMALIZE_METHODS = ("invariant", "offset", "histogram", "none")


#: Parameters in metres that set the size of a filter, a search or a margin, and the most pixels
#: each may span at an image's pixel size: the work and memory they cost grow with its square.
#: The defaults fit at the finest pixels campwatch takes (:data:`MIN_PIXEL_SIZE_M`).
SCALE_LIMITS_PX = {
    "opening_radius_m": 64, "shadow_reach_m": 256, "tower_shadow_reach_m": 512, "cloud_margin_m": 256,
    "fence_side_m": 64, "fence_smooth_m": 256, "fence_bridge_m": 512, "cloud_smooth_m": 2048,
    "block_halo_m": 4096,
}
#: The largest window analysed at once (a block, or a whole window no larger than the block size),
#: in pixels a side: peak memory grows with its square (about 1.5 GB at 2,048, 6 GB at 4,096).
MAX_BLOCK_SIZE_PX = 4096
#: The fewest pixels a change region has (:meth:`DetectConfig.min_region_px`).
MIN_REGION_PX = 4
#: The finest pixel size campwatch takes, in metres.
MIN_PIXEL_SIZE_M = 0.05


#: Parameters added after reports were first written, each with the value that does what was done
#: before it existed: a report whose parameters lack one is re-run with it (:meth:`DetectConfig.from_recorded`).
ADDED_PARAMETERS: dict[str, Any] = {"noise_floor_k": 0.0, "objects_near_change": False}

#: Parameters no stage reads any more, each with the parameter it followed in reports. A report
#: that records one is re-run without it (whatever its value, nothing read it) and written with it
#: where it stood, so that it verifies byte for byte (:meth:`DetectConfig.from_recorded`); a config
#: file that sets one is read with a warning that it is ignored.
RETIRED_PARAMETERS: dict[str, str] = {"min_lit_fraction": "shadow_brightness"}


@dataclass(frozen=True)
class Section:
    """A section of :class:`DetectConfig`: the parameters of one stage, each checked when it is made."""

    def __post_init__(self) -> None:
        _check_section(self)


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

def _check_section(section: Any) -> None:
    """Raise ConfigError naming the first parameter of ``section`` whose value is not valid."""
    values = {f.name: getattr(section, f.name) for f in fields(section)}
    for f in fields(section):
        _check_kind(f.name, str(f.type), values[f.name])
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


#: The sections of :class:`DetectConfig`, by attribute: each stage reads its own.
SECTIONS: dict[str, type[Any]] = {"thresholds": ThresholdOptions, "segment": SegmentOptions, "structures": StructureOptions, "towers": TowerOptions, "fences": FenceOptions, "vegetation": VegetationOptions, "clouds": CloudOptions, "coregistration": CoregistrationOptions, "radiometry": RadiometryOptions, "blocks": BlockOptions}
#: The section each parameter is in.
SECTION_OF: dict[str, str] = {f.name: attr for attr, cls in SECTIONS.items() for f in fields(cls)}
#: The order in which a report records the parameters, flat (as campwatch has always written them).
PARAMETER_ORDER: tuple[str, ...] = ('threshold_method', 'gain_threshold', 'loss_threshold', 'noise_k', 'noise_floor_k', 'hysteresis_ratio', 'opening_radius_m', 'min_area_m2', 'min_structure_area_m2', 'max_structure_area_m2', 'min_structure_width_m', 'min_rectangularity', 'min_tower_area_m2', 'min_tower_width_m', 'min_tower_shadow_ratio', 'tower_shadow_reach_m', 'fence_ridge', 'fence_gone', 'fence_side_m', 'fence_min_line_m', 'fence_min_length_m', 'fence_min_change_m', 'fence_bridge_m', 'fence_smooth_m', 'structure_anomaly', 'min_changed_fraction', 'max_overlap_absent', 'max_absent_anomaly', 'veiled_absent_factor', 'min_roof_change', 'ignore_stable_vegetation', 'vegetation_ndvi', 'vegetation_exg', 'vegetation_ndvi_change', 'max_structure_ndvi', 'min_shadow_px', 'shadow_reach_m', 'shadowless_pixel_m', 'shadow_brightness', 'cloud_min_area_m2', 'cloud_max_sharpness', 'cloud_brightness', 'cloud_max_veil', 'cloud_hysteresis_ratio', 'cloud_smooth_m', 'cloud_margin_m', 'coregister', 'max_shift_px', 'normalize', 'min_gain_correlation', 'max_obscured_fraction', 'block_size_px', 'block_halo_m', 'objects_near_change', 'model')


@dataclass(frozen=True, init=False)
class DetectConfig:
    """Parameters of change detection for one pair of scenes, in one section per stage.

    Every value has a default that serves the bundled sample and real imagery alike; a
    run records all of them in its report so that it can be repeated. Each stage reads
    its own section (``config.fences.fence_gone``); a parameter is named alone, flat, in
    the constructor (``DetectConfig(min_area_m2=40)``), in a report's ``parameters`` and
    in a config file, where a section's table (``[detect.fences]``) may hold it too.

    Attributes
    ----------
    thresholds, segment, structures, towers, fences, vegetation, clouds, coregistration, radiometry, blocks
        The sections (:data:`SECTIONS`).
    model : str or None
        A learned change model to run after co-registration and radiometric matching: its
        ONNX file, its card, or its name in the user's models folder (``campwatch models``).
        None (default): the classical stages only. See docs/models.md.
    """

    thresholds: ThresholdOptions = field(default_factory=ThresholdOptions)
    segment: SegmentOptions = field(default_factory=SegmentOptions)
    structures: StructureOptions = field(default_factory=StructureOptions)
    towers: TowerOptions = field(default_factory=TowerOptions)
    fences: FenceOptions = field(default_factory=FenceOptions)
    vegetation: VegetationOptions = field(default_factory=VegetationOptions)
    clouds: CloudOptions = field(default_factory=CloudOptions)
    coregistration: CoregistrationOptions = field(default_factory=CoregistrationOptions)
    radiometry: RadiometryOptions = field(default_factory=RadiometryOptions)
    blocks: BlockOptions = field(default_factory=BlockOptions)
    model: str | None = None
    #: The retired parameters a report recorded (:data:`RETIRED_PARAMETERS`), as (name, value), given
    #: back by :meth:`to_dict`; not a parameter: nothing reads it.
    retired: tuple[tuple[str, Any], ...] = field(default=(), compare=False, repr=False)

    def __init__(
        self,
        *,
        thresholds: ThresholdOptions | None = None,
        segment: SegmentOptions | None = None,
        structures: StructureOptions | None = None,
        towers: TowerOptions | None = None,
        fences: FenceOptions | None = None,
        vegetation: VegetationOptions | None = None,
        clouds: CloudOptions | None = None,
        coregistration: CoregistrationOptions | None = None,
        radiometry: RadiometryOptions | None = None,
        blocks: BlockOptions | None = None,
        model: str | None = None,
        retired: tuple[tuple[str, Any], ...] = (),
        **parameters: Any,
    ) -> None:
        """Sections as given (else their defaults), with ``parameters``, named flat, set in them.

        Raises
        ------
        TypeError
            When a name is neither a section nor a parameter.
        ConfigError
            When a value is not valid (naming it).
        """
        unknown = sorted(set(parameters) - set(SECTION_OF))
        if unknown:
            raise TypeError(f"DetectConfig got unknown parameter(s) {', '.join(unknown)}")
        given = {"thresholds": thresholds, "segment": segment, "structures": structures, "towers": towers, "fences": fences, "vegetation": vegetation, "clouds": clouds, "coregistration": coregistration, "radiometry": radiometry, "blocks": blocks}
        for attr, cls in SECTIONS.items():
            section = given[attr] if given[attr] is not None else cls()
            if not isinstance(section, cls):
                raise ConfigError(f"{attr}={section!r} is not valid; expected {cls.__name__}")
            mine = {k: v for k, v in parameters.items() if SECTION_OF[k] == attr}
            object.__setattr__(self, attr, dataclasses.replace(section, **mine) if mine else section)
        _check_kind("model", "str | None", model)
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "retired", tuple(retired))

    def value(self, name: str) -> Any:
        """The value of the parameter ``name`` (flat), from its section."""
        return getattr(getattr(self, SECTION_OF[name]), name) if name != "model" else self.model

    def min_region_px(self, pixel_area: float) -> int:
        """The fewest pixels a change region has (:meth:`SegmentOptions.min_region_px`)."""
        return self.segment.min_region_px(pixel_area)

    def check_scale(self, pixel_size_m: float, *, source: str = "the images") -> None:
        """Raise ConfigError when a parameter in metres spans more pixels of ``source`` than
        :data:`SCALE_LIMITS_PX` allows, or when its pixels are finer than :data:`MIN_PIXEL_SIZE_M`;
        the message names the parameter, its value in metres and in pixels, and the limit.
        """
        if not math.isfinite(pixel_size_m) or pixel_size_m < MIN_PIXEL_SIZE_M:
            raise ConfigError(f"{source}: pixels of {pixel_size_m:g} m; campwatch takes pixels of "
                              f"{MIN_PIXEL_SIZE_M:g} m or more")
        for name, limit in SCALE_LIMITS_PX.items():
            value = float(self.value(name))
            span = value / pixel_size_m
            if span > limit:
                raise ConfigError(
                    f"{name}={value:g} is {span:,.0f} pixels of {source} ({pixel_size_m:g} m); at most {limit} "
                    f"pixels ({limit * pixel_size_m:g} m) are allowed: lower it"
                )

    def check_window(self, height: int, width: int, *, source: str = "the AOI's window") -> None:
        """Raise ConfigError when ``block_size_px`` would have a window of ``height`` x ``width`` pixels
        analysed in pieces larger than :data:`MAX_BLOCK_SIZE_PX` a side (a whole window no larger
        than the block size is one piece)."""
        side = min(self.blocks.block_size_px, max(height, width))
        if side > MAX_BLOCK_SIZE_PX:
            raise ConfigError(
                f"block_size_px={self.blocks.block_size_px} would analyse {source} ({width:,} x {height:,} px) in pieces of "
                f"{side:,} px a side, about {1.5 * (side / 2048) ** 2:,.0f} GB each; at most {MAX_BLOCK_SIZE_PX:,} "
                "are allowed: lower it"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the parameters as a plain dict (for the report).

        A parameter added after reports were first written (:data:`ADDED_PARAMETERS`) is left
        out at the value that does what was done before it existed: a report made before it and
        one made with that value read alike, and re-run (``verify``) alike, byte for byte. A retired
        parameter the config was recorded with (:meth:`from_recorded`) is given back where it stood.
        """
        values = {name: self.value(name) for name in PARAMETER_ORDER}
        out: dict[str, Any] = {}
        for k, v in values.items():
            if k not in ADDED_PARAMETERS or v != ADDED_PARAMETERS[k]:
                out[k] = v
            out |= {name: value for name, value in self.retired if RETIRED_PARAMETERS[name] == k}
        return out

    def replace(self, **changes: Any) -> DetectConfig:
        """Return a copy with ``changes`` applied; ``None`` values are ignored.

        Raises
        ------
        ConfigError
            If a name is not a parameter.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        _check_names(changes, source="overrides")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> DetectConfig:
        """Build a config from a dict, checking every name.

        Raises
        ------
        ConfigError
            If a name is not a parameter or a value is invalid.
        """
        values = _flattened(values, source=source)
        retired = [k for k in values if k in RETIRED_PARAMETERS]
        if retired:
            logger.warning("%s: %s no longer read by any stage; ignored", source, ", ".join(retired))
            values = {k: v for k, v in values.items() if k not in RETIRED_PARAMETERS}
        _check_names(values, source=source)
        try:
            return cls(**values)
        except ConfigError as exc:  # name where the value came from
            raise ConfigError(f"{source}: {exc}") from None
        except TypeError as exc:  # pragma: no cover - guarded by _check_names
            raise ConfigError(f"{source}: {exc}") from exc

    @classmethod
    def from_recorded(cls, values: dict[str, Any], *, source: str = "the report's parameters") -> DetectConfig:
        """The config whose :meth:`to_dict` is ``values`` (a report's ``parameters``): a parameter
        added since (:data:`ADDED_PARAMETERS`) and not there takes the value that does what was done
        before it existed.

        Raises
        ------
        ConfigError
            As :meth:`from_dict`.
        """
        retired = tuple((k, v) for k, v in values.items() if k in RETIRED_PARAMETERS)
        values = {k: v for k, v in values.items() if k not in RETIRED_PARAMETERS}
        return dataclasses.replace(cls.from_dict({**ADDED_PARAMETERS, **values}, source=source), retired=retired)

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> DetectConfig:
        """The parameters of a file (:meth:`from_file`), or the defaults without one, with
        ``overrides`` applied (:meth:`replace`: ``None`` values are ignored).

        Raises
        ------
        ConfigError
            As :meth:`from_file` and :meth:`replace`.
        """
        config = cls.from_file(path) if path is not None else cls()
        return config.replace(**overrides) if overrides else config

    @classmethod
    def from_file(cls, path: str | Path) -> DetectConfig:
        """Read parameters from a TOML or JSON file.

        A TOML file may hold them at top level or under a ``[detect]`` table, each alone or in
        its section's table (``[detect.fences]``).

        Raises
        ------
        ConfigError
            If the file is missing, cannot be parsed, or holds an unknown name.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from exc
        try:
            if path.suffix.lower() == ".json":
                values = json.loads(text)
            else:
                values = tomllib.loads(text)
        except (ValueError, tomllib.TOMLDecodeError, RecursionError) as exc:
            raise ConfigError(f"config file {path}: cannot be parsed ({type(exc).__name__}: "
                              f"{str(exc)[:200] or 'nested too deep'})") from None
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path}: expected a table of parameters")
        if "detect" in values and isinstance(values["detect"], dict):
            values = values["detect"]
        return cls.from_dict(values, source=f"config file {path}")


#: What each annotation of :class:`DetectConfig` accepts, in words.
_KIND_WORDS = {"float": "a number", "int": "a whole number", "bool": "true or false", "str": "a string"}


def _check_kind(name: str, annotation: str, value: Any) -> None:
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


def parameter_fields() -> tuple[Field[Any], ...]:
    """The parameters of :class:`DetectConfig` (each section's fields, and ``model``), in :data:`PARAMETER_ORDER`."""
    every = {f.name: f for cls in SECTIONS.values() for f in fields(cls)}
    every["model"] = next(f for f in fields(DetectConfig) if f.name == "model")
    return tuple(every[name] for name in PARAMETER_ORDER)


def _flattened(values: dict[str, Any], *, source: str) -> dict[str, Any]:
    """``values`` with each section's table (``{"fences": {"fence_gone": 2}}``) read as its parameters.

    Raises
    ------
    ConfigError
        When a table holds a name that is not a parameter of its section, or a parameter is given twice.
    """
    for attr in SECTIONS:
        if attr in values and not isinstance(values[attr], dict):
            raise ConfigError(f"{source}: {attr} is not valid; expected the table [{attr}] of its parameters")
    out = {k: v for k, v in values.items() if k not in SECTIONS}
    for attr in SECTIONS:
        table = values.get(attr)
        if not isinstance(table, dict):
            continue
        foreign = sorted(k for k in table if SECTION_OF.get(k) != attr)
        if foreign:
            mine = ", ".join(f.name for f in fields(SECTIONS[attr]))
            raise ConfigError(f"{source}: [{attr}] has no parameter(s) {', '.join(map(str, foreign))}; "
                              f"its parameters are {mine}")
        twice = sorted(set(table) & set(out))
        if twice:
            raise ConfigError(f"{source}: {', '.join(twice)} given twice, alone and in [{attr}]")
        out.update(table)
    return out


def _check_names(values: dict[str, Any], *, source: str) -> None:
    valid = {f.name for f in parameter_fields()}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ConfigError(
            f"{source}: unknown parameter(s) {', '.join(unknown)}; "
            f"valid ones are {', '.join(sorted(valid))}"
        )


def _documented(cls: type[Any]) -> list[tuple[list[str], str, list[str]]]:
    """The entries of a class's ``Attributes`` docstring: (names, kind, lines of meaning)."""
    lines = (cls.__doc__ or "").split("----------", 1)[1].splitlines()
    entries: list[tuple[list[str], str, list[str]]] = []
    for line in lines:
        if line.startswith("    ") and not line.startswith("        ") and " : " in line:
            joined, kind = line.strip().split(" : ", 1)
            entries.append(([n.strip() for n in joined.split(",")], kind, []))
        elif line.strip() and entries:
            entries[-1][2].append(line.strip())
    return entries


def config_reference() -> str:
    """The reference of every parameter as Markdown (``docs/config.md``), section by section, from
    each section's docstring and its fields' defaults; ``make docs`` writes it, and a test keeps the
    file in step."""
    defaults = {f.name: f.default for f in parameter_fields()}
    out = [
        "# Detection parameters",
        "",
        "Generated from `campwatch.DetectConfig` by `make docs`: do not edit by hand.",
        "",
        "Give any of them in a TOML file (at top level or under `[detect]`, alone or in its section's",
        "table) or a JSON file with `--config FILE`; `detect` also takes a few as flags",
        "(`--threshold-method`, `--gain-threshold`, `--loss-threshold`, `--min-area`, `--no-coregister`,",
        "`--block-size`). An unknown name or a value of the wrong kind is an error (exit 2) that names",
        "it. Every report records all of them under `parameters`, by name alone, so that `campwatch",
        "verify` can run it again. In Python each stage reads its own section",
        "(`DetectConfig().fences.fence_gone`); `DetectConfig(min_area_m2=40)` sets one by name.",
        "",
        "```toml",
        "[detect]",
        "min_area_m2 = 40",
        "",
        "[detect.blocks]",
        "block_size_px = 1024",
        "```",
    ]
    documented = set()
    parts: list[tuple[str, str, type[Any]]] = [(attr, f"`[detect.{attr}]`", cls) for attr, cls in SECTIONS.items()]
    parts.append(("model", "at top level", DetectConfig))
    for attr, where, cls in parts:
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        out += ["", f"## {attr}" if cls is not DetectConfig else "## model", "",
                f"{summary} {where}." if cls is not DetectConfig else "The change model, at top level.", "",
                "| parameter | type | default | meaning |", "|---|---|---|---|"]
        for names, kind, text in _documented(cls):
            for name in names:
                if name not in defaults:
                    continue  # the sections themselves, in DetectConfig's docstring
                documented.add(name)
                default = json.dumps(defaults[name])
                meaning = " ".join(text).replace("``", "`").replace("|", r"\|")
                kind_text = kind.replace("|", r"\|")
                out.append(f"| `{name}` | {kind_text} | `{default}` | {meaning} |")
    missing = sorted(set(defaults) - documented)
    if missing:  # pragma: no cover - a parameter added without its documentation
        raise AssertionError(f"DetectConfig documents no {', '.join(missing)}")
    out += ["", "## Retired parameters", "",
            "No stage reads these any more. A config file that sets one is read with a warning that it is",
            "ignored; a report that records one re-runs without it and verifies as it was written.", ""]
    out += [f"- `{name}`" for name in RETIRED_PARAMETERS]
    return "\n".join(out) + "\n"
