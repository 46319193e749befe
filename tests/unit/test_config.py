"""Tests of campwatch.config."""

from __future__ import annotations

import pytest

from campwatch.config import DetectConfig
from campwatch.errors import ConfigError


@pytest.mark.parametrize("values, message", [
    (dict(threshold_method="magic"), "threshold_method='magic' is not valid; expected one of auto, otsu, noise"),
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
    assert c.min_area_m2 == 40 and c.threshold_method == "otsu"
    assert c.replace(min_area_m2=None, noise_k=5).noise_k == 5
    j = tmp_path / "c.json"
    j.write_text('{"noise_k": 3}')
    assert DetectConfig.from_file(j).noise_k == 3
    with pytest.raises(ConfigError, match="cannot be parsed"):
        (tmp_path / "bad.toml").write_text("= =")
        DetectConfig.from_file(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="cannot be read"):
        DetectConfig.from_file(tmp_path / "none.toml")


def test_docs_config_md_is_the_reference_of_every_parameter():
    """docs/config.md is generated (`make docs`); it must say what the code does."""
    from dataclasses import fields

    from conftest import ROOT

    from campwatch.config import config_reference

    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == config_reference(), "docs/config.md is out of date: run `make docs`"
    for f in fields(DetectConfig):
        assert f"| `{f.name}` |" in text
