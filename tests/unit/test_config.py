"""Tests of campwatch.config."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.config import (
    PARAMETER_ORDER,
    RETIRED_PARAMETERS,
    SECTION_OF,
    SECTIONS,
    DetectConfig,
    parameter_fields,
)
from campwatch.errors import ConfigError


@pytest.mark.parametrize("values, message", [
    (dict(threshold_method="magic"), "threshold_method='magic' is not valid; expected one of either, auto, otsu, noise"),
        (dict(normalize="gain"), "normalize='gain' is not valid; expected one of invariant, offset, histogram, none"),
    (dict(min_area_m2=-1), "min_area_m2=-1 is not valid"),
    (dict(gain_threshold=0), "gain_threshold=0 is not valid"),
    (dict(hysteresis_ratio=1.5), "hysteresis_ratio=1.5"),
    (dict(min_structure_area_m2=10, max_structure_area_m2=5), "larger than max_structure_area_m2"),
])
def test_config_validation(values, message):
    with pytest.raises(ConfigError) as info:
        DetectConfig(**values)
    assert message in str(info.value)


def test_config_from_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[detect]\nmin_area_m2 = 40\nthreshold_method = 'otsu'\n")
    c = DetectConfig.from_file(p)
    assert c.segment.min_area_m2 == 40 and c.thresholds.threshold_method == "otsu"
    assert c.replace(min_area_m2=None, noise_k=5).thresholds.noise_k == 5
    j = tmp_path / "c.json"
    j.write_text('{"noise_k": 3}')
    assert DetectConfig.from_file(j).thresholds.noise_k == 3
    with pytest.raises(ConfigError, match="cannot be parsed"):
        (tmp_path / "bad.toml").write_text("= =")
        DetectConfig.from_file(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="cannot be read"):
        DetectConfig.from_file(tmp_path / "none.toml")


def test_a_section_table_sets_its_parameters_as_their_names_alone_do(tmp_path):
    """``[detect.fences]`` holds the fence stage's parameters; flat names still read (old files, reports)."""
    tables = tmp_path / "tables.toml"
    tables.write_text("[detect]\nmin_area_m2 = 40\n\n[detect.fences]\nfence_gone = 2.0\nfence_ridge = 5.0\n"
                      "\n[detect.blocks]\nblock_size_px = 1024\n")
    flat = tmp_path / "flat.toml"
    flat.write_text("min_area_m2 = 40\nfence_gone = 2.0\nfence_ridge = 5.0\nblock_size_px = 1024\n")
    from_tables, from_flat = DetectConfig.from_file(tables), DetectConfig.from_file(flat)
    assert from_tables == from_flat == DetectConfig(min_area_m2=40, fence_gone=2.0, fence_ridge=5.0, block_size_px=1024)
    assert from_tables.fences.fence_gone == 2.0 and from_tables.blocks.block_size_px == 1024
    assert from_tables.to_dict() == from_flat.to_dict()  # reports record them by name alone
    assert list(from_tables.to_dict()) == list(PARAMETER_ORDER)  # in the order reports have always had
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[detect.fences]\nmin_area_m2 = 40\n")
    with pytest.raises(ConfigError, match=r"\[fences\] has no parameter\(s\) min_area_m2; its parameters are fence_ridge"):
        DetectConfig.from_file(wrong)
    twice = tmp_path / "twice.toml"
    twice.write_text("fence_gone = 1.0\n[fences]\nfence_gone = 2.0\n")
    with pytest.raises(ConfigError, match="fence_gone given twice, alone and in \\[fences\\]"):
        DetectConfig.from_file(twice)
    with pytest.raises(ConfigError, match=r"config: fences is not valid; expected the table \[fences\]"):
        DetectConfig.from_dict({"fences": [1]})
    with pytest.raises(ConfigError, match="config: fence_gone='x' is not valid; expected a number, got str"):
        DetectConfig.from_dict({"fences": {"fence_gone": "x"}})
    with pytest.raises(ConfigError, match="fences=3 is not valid; expected FenceOptions"):
        DetectConfig(fences=3)  # type: ignore[arg-type]


def test_every_parameter_is_in_one_section_and_read_by_a_stage():
    """A parameter no stage reads is dead (as min_lit_fraction was): each is read as ``.section.name``, or by a
    stage that takes its section, somewhere in the stages."""
    import re
    from pathlib import Path

    import campwatch

    src = Path(campwatch.__file__).parent
    modules = [p.read_text() for p in src.rglob("*.py") if p.name != "config.py"]
    for name, section in SECTION_OF.items():
        options = SECTIONS[section].__name__
        # Read through DetectConfig (config.fences.fence_gone), or by a stage that takes its section (FenceOptions).
        assert any(re.search(rf"\.{section}\.{name}\b", code)
                   or (options in code and re.search(rf"\.{name}\b", code)) for code in modules), \
            f"no stage reads {section}.{name}"
    assert set(SECTION_OF) | {"model"} == set(PARAMETER_ORDER)
    defaults = DetectConfig()
    assert all(isinstance(getattr(defaults, attr), cls) for attr, cls in SECTIONS.items())


def test_docs_config_md_is_the_reference_of_every_parameter():
    """docs/config.md is generated (`make docs`); it must say what the code does."""
    from conftest import ROOT

    from campwatch.config import config_reference

    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == config_reference(), "docs/config.md is out of date: run `make docs`"
    for f in parameter_fields():
        assert f"| `{f.name}` |" in text


@pytest.mark.parametrize("text, message", [
    ('coregister = "false"', "coregister='false' is not valid; expected true or false, got str"),
    ("gain_threshold = true", "gain_threshold=True is not valid; expected a number or null (unset), got bool"),
    ('min_area_m2 = "40"', "min_area_m2='40' is not valid; expected a number, got str"),
    ("block_size_px = 2048.5", "block_size_px=2048.5 is not valid; expected a whole number, got float"),
    ('normalize = ["invariant"]', "normalize=['invariant'] is not valid; expected a string, got list"),
    ("model = 3", "model=3 is not valid; expected a string or null (unset), got int"),
])
def test_a_value_of_the_wrong_kind_is_refused_naming_the_file_key_value_and_kind(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        DetectConfig.from_file(path)
    assert str(err.value) == f"config file {path}: {message}"


def test_null_is_refused_where_a_parameter_cannot_be_unset(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"min_area_m2": null}')
    with pytest.raises(ConfigError, match=r"min_area_m2=None is not valid; expected a number, got NoneType"):
        DetectConfig.from_file(path)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from([f.name for f in parameter_fields()] + list(SECTIONS)),
       value=st.one_of(st.booleans(), st.text(max_size=5), st.integers(-5, 5000), st.floats(allow_nan=True),
                       st.none(), st.lists(st.integers(), max_size=2)))
def test_any_value_gives_a_config_or_a_config_error(name, value):
    """Whatever a file holds, the result is a valid config or a ConfigError: never another exception."""
    try:
        config = DetectConfig.from_dict({name: value})
    except ConfigError:
        return
    assert name not in SECTIONS  # a section is a table of parameters: no value above is one
    kept = config.value(name)
    annotation = {f.name: str(f.type) for f in parameter_fields()}[name]
    if "bool" in annotation:
        assert isinstance(kept, bool)
    elif "float" in annotation or "int" in annotation:
        assert kept is None or (not isinstance(kept, bool) and isinstance(kept, (int, float)))
    else:
        assert kept is None or isinstance(kept, str)


def test_deeply_nested_files_are_refused_not_crashed_on(tmp_path):
    """JSON nested far deeper than any real file (issue 17, class 4) is a clear error, exit 2."""
    from campwatch.document import PairReport
    from campwatch.errors import InputError
    from campwatch.io.aoi import read_aoi
    from campwatch.io.jsonio import read_report
    from campwatch.io.masks import read_mask

    deep = "[" * 200_000 + "]" * 200_000
    for name, load, message in (
        ("c.json", DetectConfig.from_file, "cannot be parsed"),
        ("a.geojson", read_aoi, "nested too deep"),
        ("m.geojson", read_mask, "mask file"),
        ("r.geojson", lambda p: read_report(p, PairReport), "nested too deep"),
    ):
        path = tmp_path / name
        path.write_text(deep)
        with pytest.raises(InputError, match=message):
            load(path)


def test_a_change_region_is_never_under_four_pixels():
    # 25 m2 is 100 px at 0.5 m, but less than one pixel at 8 m: there four pixels are the least.
    c = DetectConfig()
    assert c.min_region_px(0.25) == 100
    assert c.min_region_px(4.0) == 6
    assert c.min_region_px(64.0) == 4
    assert DetectConfig(min_area_m2=0).min_region_px(0.25) == 4


def test_recorded_parameters_give_back_the_config_parameters_added_since_included():
    for config in (DetectConfig(), DetectConfig(noise_floor_k=0.0), DetectConfig(noise_floor_k=2.0)):
        assert DetectConfig.from_recorded(config.to_dict()) == config
    assert "noise_floor_k" not in DetectConfig(noise_floor_k=0.0).to_dict()  # as in reports before it existed


def _as_recorded_before_retirement(values: dict, name: str, value: object) -> dict:
    """A report's parameters as written while ``name`` was still a parameter: after the one it followed."""
    out = {}
    for k, v in values.items():
        out[k] = v
        if k == RETIRED_PARAMETERS[name]:
            out[name] = value
    return out


@pytest.mark.parametrize("value", [0.25, 0.9])
def test_a_retired_parameter_a_report_recorded_is_given_back_where_it_stood(value):
    old = _as_recorded_before_retirement(DetectConfig().to_dict(), "min_lit_fraction", value)
    config = DetectConfig.from_recorded(old)
    assert config == DetectConfig()  # nothing reads it: whatever its value, the run is the same
    assert list(config.to_dict().items()) == list(old.items())  # the key order too: the report is the same bytes
    assert "min_lit_fraction" not in DetectConfig().to_dict()  # a new run does not record it
    assert "min_lit_fraction" not in {f.name for f in parameter_fields()}


def test_a_config_file_with_a_retired_parameter_is_read_with_a_warning(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text("min_lit_fraction = 0.3\nmin_area_m2 = 30\n")
    with caplog.at_level("WARNING", logger="campwatch.config"):
        config = DetectConfig.from_file(path)
    assert config == DetectConfig(min_area_m2=30)
    assert f"config file {path}: min_lit_fraction no longer read by any stage; ignored" in caplog.text
    assert "min_lit_fraction" not in config.to_dict()


def test_a_class_section_needs_a_name_of_its_own():
    from campwatch.sections import class_options

    for taken in ("fences", "model", "not a name"):
        with pytest.raises(ValueError, match="taken or is not an identifier"):
            class_options(taken)


def test_the_model_is_an_input_a_config_file_may_name_not_a_parameter(tmp_path):
    from campwatch.config import MODEL, load_settings, recorded_model

    path = tmp_path / "run.toml"
    path.write_text('[detect]\nmodel = "tinycd_levir"\nmin_area_m2 = 40\n')
    settings = load_settings(path)
    assert settings.model == "tinycd_levir" and settings.config.segment.min_area_m2 == 40
    assert load_settings(None).model is None and load_settings(None).config == DetectConfig()
    # Read as parameters alone, the file is refused: the model would be lost.
    with pytest.raises(ConfigError, match=r"names a change model \(model = ...\), an input of a run"):
        DetectConfig.from_file(path)
    # Reports record it where it always was, among the parameters; read back, it is the run's input.
    recorded = DetectConfig(min_area_m2=40).to_dict(model="tinycd_levir")
    assert list(recorded)[-1] == MODEL and recorded[MODEL] == "tinycd_levir"
    assert DetectConfig().to_dict()[MODEL] is None
    assert recorded_model(recorded) == "tinycd_levir"
    assert DetectConfig.from_recorded(recorded) == DetectConfig(min_area_m2=40)
    with pytest.raises(TypeError, match="unknown parameter"):
        DetectConfig(model="tinycd_levir")  # type: ignore[call-arg]
