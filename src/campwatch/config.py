"""Detection parameters: one :class:`DetectConfig` of frozen sections, one per stage
(:mod:`campwatch.sections`), with documented defaults, loadable from a file."""

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
from campwatch.sections import (
    CLASS_SECTIONS,
    MIN_REGION_PX,
    NORMALIZE_METHODS,
    THRESHOLD_METHODS,
    BlockOptions,
    CloudOptions,
    CoregistrationOptions,
    FenceOptions,
    RadiometryOptions,
    Section,
    SegmentOptions,
    StructureOptions,
    ThresholdOptions,
    TowerOptions,
    VegetationOptions,
    check_kind,
)

__all__ = ["DetectConfig", "Section", "SECTIONS", "SECTION_OF", "PARAMETER_ORDER", "ThresholdOptions", "SegmentOptions",
           "StructureOptions", "TowerOptions", "FenceOptions", "VegetationOptions", "CloudOptions",
           "CoregistrationOptions", "RadiometryOptions", "BlockOptions", "THRESHOLD_METHODS", "NORMALIZE_METHODS", "SCALE_LIMITS_PX", "MAX_BLOCK_SIZE_PX",
           "MIN_PIXEL_SIZE_M", "MIN_REGION_PX", "config_reference", "ADDED_PARAMETERS",
           "RETIRED_PARAMETERS", "parameter_fields", "MODEL", "Settings", "load_settings", "recorded_model"]

logger = logging.getLogger(__name__)



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


#: The sections of :class:`DetectConfig`, by attribute: each stage reads its own; then those of the
#: change classes added (:data:`campwatch.sections.CLASS_SECTIONS`).
SECTIONS: dict[str, type[Any]] = {
    "thresholds": ThresholdOptions, "segment": SegmentOptions, "structures": StructureOptions, "towers": TowerOptions,
    "fences": FenceOptions, "vegetation": VegetationOptions, "clouds": CloudOptions,
    "coregistration": CoregistrationOptions, "radiometry": RadiometryOptions, "blocks": BlockOptions,
}
_STAGE_PARAMETERS: tuple[str, ...] = ('threshold_method', 'gain_threshold', 'loss_threshold', 'noise_k', 'noise_floor_k', 'hysteresis_ratio', 'opening_radius_m', 'min_area_m2', 'min_structure_area_m2', 'max_structure_area_m2', 'min_structure_width_m', 'min_rectangularity', 'min_tower_area_m2', 'min_tower_width_m', 'min_tower_shadow_ratio', 'tower_shadow_reach_m', 'fence_ridge', 'fence_gone', 'fence_side_m', 'fence_min_line_m', 'fence_min_length_m', 'fence_min_change_m', 'fence_bridge_m', 'fence_smooth_m', 'structure_anomaly', 'min_changed_fraction', 'max_overlap_absent', 'max_absent_anomaly', 'veiled_absent_factor', 'min_roof_change', 'ignore_stable_vegetation', 'vegetation_ndvi', 'vegetation_exg', 'vegetation_ndvi_change', 'max_structure_ndvi', 'min_shadow_px', 'shadow_reach_m', 'shadowless_pixel_m', 'shadow_brightness', 'cloud_min_area_m2', 'cloud_max_sharpness', 'cloud_brightness', 'cloud_max_veil', 'cloud_hysteresis_ratio', 'cloud_smooth_m', 'cloud_margin_m', 'coregister', 'max_shift_px', 'normalize', 'min_gain_correlation', 'max_obscured_fraction', 'block_size_px', 'block_halo_m', 'objects_near_change', 'model')
#: The sections of the change classes added to campwatch (:func:`campwatch.sections.class_options`).
SECTIONS |= CLASS_SECTIONS
#: The section each parameter is in.
SECTION_OF = {f.name: attr for attr, cls in SECTIONS.items() for f in fields(cls)}
_taken = [f.name for cls in CLASS_SECTIONS.values() for f in fields(cls) if f.name in _STAGE_PARAMETERS]
if _taken or len(SECTION_OF) != sum(len(fields(cls)) for cls in SECTIONS.values()):
    raise ValueError(f"a change class's options reuse a parameter's name ({', '.join(_taken) or 'between them'}): "
                     "parameters are recorded flat, each name once")
#: The change model of a run: an input (:class:`campwatch.io.pair.PairRequest`), recorded among the parameters.
MODEL = "model"
#: The order in which a report records the parameters, flat: as campwatch has always written them,
#: then those of the classes added (each section's in its order).
PARAMETER_ORDER: tuple[str, ...] = _STAGE_PARAMETERS + tuple(
    f.name for cls in CLASS_SECTIONS.values() for f in fields(cls))


@dataclass(frozen=True, init=False)
class DetectConfig:
    """Parameters of change detection for one pair of scenes, in one section per stage.

    Every value has a default that serves the bundled sample and real imagery alike; a
    run records all of them in its report so that it can be repeated. Each stage reads
    its own section (``config.fences.fence_gone``); a parameter is named alone, flat, in
    the constructor (``DetectConfig(min_area_m2=40)``), in a report's ``parameters`` and
    in a config file, where a section's table (``[detect.fences]``) may hold it too.

    The change model a run uses is not a parameter but an input, named with the pair
    (:class:`campwatch.io.pair.PairRequest`, ``--model``; a config file may name it too:
    :func:`load_settings`); a report records it in ``parameters`` as ``model``, where it has always been.

    Attributes
    ----------
    thresholds, segment, structures, towers, fences, vegetation, clouds, coregistration, radiometry, blocks
        The sections (:data:`SECTIONS`).
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
    #: The sections of the change classes added (:data:`campwatch.sections.CLASS_SECTIONS`), as (name,
    #: section): each is ``config.<name>`` too.
    class_sections: tuple[tuple[str, Section], ...] = ()
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
        class_sections: tuple[tuple[str, Section], ...] = (),
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
        given = {"thresholds": thresholds, "segment": segment, "structures": structures, "towers": towers, "fences": fences, "vegetation": vegetation, "clouds": clouds, "coregistration": coregistration, "radiometry": radiometry, "blocks": blocks}
        given |= dict(class_sections) | {name: parameters.pop(name) for name in CLASS_SECTIONS if name in parameters}
        unknown = sorted(set(parameters) - set(SECTION_OF))
        if unknown:
            raise TypeError(f"DetectConfig got unknown parameter(s) {', '.join(unknown)}")
        made = {}
        for attr, cls in SECTIONS.items():
            section = given.get(attr) if given.get(attr) is not None else cls()
            if not isinstance(section, cls):
                raise ConfigError(f"{attr}={section!r} is not valid; expected {cls.__name__}")
            mine = {k: v for k, v in parameters.items() if SECTION_OF[k] == attr}
            made[attr] = dataclasses.replace(section, **mine) if mine else section
            if attr not in CLASS_SECTIONS:
                object.__setattr__(self, attr, made[attr])
        object.__setattr__(self, "class_sections", tuple((name, made[name]) for name in CLASS_SECTIONS))
        object.__setattr__(self, "retired", tuple(retired))

    def __getattr__(self, name: str) -> Any:
        """A change class's section (:data:`campwatch.sections.CLASS_SECTIONS`), as ``config.<name>``."""
        for attr, section in self.__dict__.get("class_sections", ()):
            if attr == name:
                return section
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def value(self, name: str) -> Any:
        """The value of the parameter ``name`` (flat), from its section."""
        return getattr(getattr(self, SECTION_OF[name]), name)

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

    def to_dict(self, *, model: str | None = None) -> dict[str, Any]:
        """Return the parameters as a plain dict (for the report), with ``model``, the change model the run
        used as its user named it (or None), where reports have always recorded it.

        A parameter added after reports were first written (:data:`ADDED_PARAMETERS`) is left
        out at the value that does what was done before it existed: a report made before it and
        one made with that value read alike, and re-run (``verify``) alike, byte for byte. A retired
        parameter the config was recorded with (:meth:`from_recorded`) is given back where it stood.
        """
        values = {name: model if name == MODEL else self.value(name) for name in PARAMETER_ORDER}
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
        # The model is an input of the run, not a parameter: the caller takes it (recorded_model).
        values = {k: v for k, v in values.items() if k not in RETIRED_PARAMETERS and k != MODEL}
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
            If the file is missing, cannot be parsed, holds an unknown name, or names a change model
            (an input of a run: :func:`load_settings` reads it).
        """
        settings = load_settings(path)
        if settings.model is not None:
            raise ConfigError(f"config file {path}: it names a change model (model = ...), an input of a run, not "
                              "a parameter: read it with campwatch.config.load_settings, which gives the model too")
        return settings.config


def parameter_fields() -> tuple[Field[Any], ...]:
    """The parameters of :class:`DetectConfig` (each section's fields), in :data:`PARAMETER_ORDER`."""
    every = {f.name: f for cls in SECTIONS.values() for f in fields(cls)}
    return tuple(every[name] for name in PARAMETER_ORDER if name != MODEL)


@dataclass(frozen=True)
class Settings:
    """What a config file says: the detection parameters, and the change model to run, when it names one
    (``model = ...`` at top level or under ``[detect]``: an input of the run, which ``--model`` overrides)."""

    config: DetectConfig
    model: str | None = None


def load_settings(path: str | Path | None) -> Settings:
    """The :class:`Settings` of a TOML or JSON file (see :meth:`DetectConfig.from_file`), or the defaults.

    Raises
    ------
    ConfigError
        If the file is missing, cannot be parsed, holds an unknown name, or names a model that is not a string.
    """
    if path is None:
        return Settings(DetectConfig())
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc.strerror})") from exc
    try:
        values = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"config file {path}: cannot be parsed ({type(exc).__name__}: "
                          f"{str(exc)[:200] or 'nested too deep'})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path}: expected a table of parameters")
    if "detect" in values and isinstance(values["detect"], dict):
        values = values["detect"]
    model = values.get(MODEL)
    try:
        check_kind(MODEL, "str | None", model)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    values = {k: v for k, v in values.items() if k != MODEL}
    return Settings(DetectConfig.from_dict(values, source=f"config file {path}"), model)


def recorded_model(parameters: dict[str, Any]) -> str | None:
    """The change model a report's ``parameters`` record the run used (as its user named it), or None."""
    model = parameters.get(MODEL)
    return model if isinstance(model, str) else None


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
    out += ["", "## model", "",
            "Not a parameter but an input of the run: the change model to run after co-registration and",
            "radiometric matching, its ONNX file, its card, or its name in the user's models folder",
            "(`campwatch models`); none (default): the classical stages only. Give it with `--model`, or",
            "as `model = \"...\"` at top level of a config file (`--model` wins). Reports record it in",
            "`parameters` as `model`, after every stage's parameter. See docs/models.md."]
    out += ["", "## Retired parameters", "",
            "No stage reads these any more. A config file that sets one is read with a warning that it is",
            "ignored; a report that records one re-runs without it and verifies as it was written.", ""]
    out += [f"- `{name}`" for name in RETIRED_PARAMETERS]
    return "\n".join(out) + "\n"
