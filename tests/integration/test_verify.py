"""campwatch verify: a report re-made byte for byte from its inputs, or told what differs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, sample_images

from campwatch.cli.main import cli
from campwatch.config import DetectConfig
from campwatch.errors import InputError
from campwatch.monitor.series import run_series
from campwatch.monitor.verify import verify_report
from campwatch.run import run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture()
def detect_run(tmp_path: Path) -> tuple[Path, Path]:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for f in CAMP22[1:3]:
        shutil.copy(f, inputs / f.name)
    shutil.copy(AOIS / "camp22.geojson", inputs / "camp22.geojson")
    out = tmp_path / "out"
    run_detect(inputs / CAMP22[1].name, inputs / CAMP22[2].name, out, aoi_path=inputs / "camp22.geojson")
    return inputs, out


def test_verify_reproduces_a_detect_report_and_touches_nothing(detect_run):
    inputs, out = detect_run
    before_inputs, before_out = _state(inputs), _state(out)
    res = CliRunner().invoke(cli, ["verify", str(out / "report.geojson")])
    assert res.exit_code == 0, res.output
    assert f"verified: {out / 'report.geojson'} is reproduced byte for byte from its inputs" in res.output
    assert "same      report report.geojson: byte for byte" in res.output
    assert res.output.count("same ") == 10  # 3 inputs, 5 outputs (mask, its class names and style, map, style), the report, its STAC Item
    assert _state(inputs) == before_inputs  # not one byte, not one timestamp
    assert _state(out) == before_out


def test_a_report_recording_a_retired_parameter_still_verifies(tmp_path: Path):
    # What campwatch wrote while min_lit_fraction was a parameter: the same run, the parameter recorded.
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for f in CAMP22[1:3]:
        shutil.copy(f, inputs / f.name)
    old = {}
    for k, v in DetectConfig().to_dict().items():
        old[k] = v
        if k == "shadow_brightness":
            old["min_lit_fraction"] = 0.25
    out = tmp_path / "out"
    run_detect(inputs / CAMP22[1].name, inputs / CAMP22[2].name, out, config=DetectConfig.from_recorded(old))
    report = json.loads((out / "report.geojson").read_text())
    assert list(report["parameters"]) == list(old)
    res = verify_report(out / "report.geojson")
    assert res.ok, res.problems
    assert ("report report.geojson", "same", "byte for byte") in res.items


@pytest.mark.slow
def test_verify_fails_when_an_input_byte_changes(detect_run):
    inputs, out = detect_run
    target = inputs / CAMP22[2].name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = verify_report(out / "report.geojson")
    assert not result.ok
    changed = [w for w, s, _ in result.problems() if s == "changed"]
    assert changed == [f"input after {target}"]
    res = CliRunner().invoke(cli, ["verify", str(out / "report.geojson")])
    assert res.exit_code == 1
    assert f"NOT verified: {out / 'report.geojson'}: input after {target} changed" in res.output


def test_verify_names_an_output_edited_after_the_run(detect_run):
    _, out = detect_run
    with open(out / "change_map.png", "ab") as fh:
        fh.write(b"\0")
    result = verify_report(out / "report.geojson")
    assert [(w, s) for w, s, _ in result.problems()] == [("output change_map.png beside the report", "changed")]


def test_verify_compares_the_stac_item_written_after_the_report(detect_run):
    _, out = detect_run
    item = out / "item.json"
    assert ("output item.json", "same", "byte for byte") in verify_report(out / "report.geojson").items
    item.write_text(item.read_text().replace("{", '{"note": "12 demolished structures", ', 1))
    result = verify_report(out / "report.geojson")
    assert [(w, s) for w, s, _ in result.problems()] == [("output item.json", "different")]
    item.unlink()
    result = verify_report(out / "report.geojson")
    assert [(w, s) for w, s, _ in result.problems()] == [("output item.json beside the report", "missing")]


def test_verify_a_missing_input_is_named_and_not_rerun(detect_run):
    inputs, out = detect_run
    os.remove(inputs / "camp22.geojson")
    result = verify_report(out / "report.geojson")
    assert [(w, s) for w, s, _ in result.problems()] == [(f"input aoi {inputs / 'camp22.geojson'}", "missing")]
    assert result.notes == ["an input is missing: the analysis was not run again"]


@pytest.mark.slow
def test_verify_a_series_report(tmp_path: Path):
    images = sample_images(tmp_path / "images", "camp22", 3)
    run_series(AOIS / "camp22.geojson", images, tmp_path / "series", dpi=60)
    result = verify_report(tmp_path / "series" / "series.geojson")
    assert result.ok, result.problems()
    assert result.kind == "series"
    assert ("report series.geojson", "same", "byte for byte") in result.items
    # Per pair: the mask, its class names and QGIS style, the map, the report, its QGIS style and the STAC Item,
    # each re-made byte for byte; and the series' own style.
    assert sum(1 for w, _, _ in result.items if w.startswith("output pairs/")) == 14
    assert [s for w, s, _ in result.items if w == "output series.qml"] == ["same"]
    assert ("output figures/timeline.pdf", "same") in [(w, st) for w, st, _ in result.items]
    # What is written after the report (its STAC Item, report.html) is compared with the re-run's too.
    assert ("output item.json", "same") in [(w, st) for w, st, _ in result.items]
    assert ("output report.html", "same") in [(w, st) for w, st, _ in result.items]

    # Next month's image arrives: the report still verifies, from the images it recorded (issue 26, 5).
    sample_images(images, "camp22", 4)
    assert len(list(images.glob("*.tif"))) == 4
    result = verify_report(tmp_path / "series" / "series.geojson")
    assert result.ok, result.problems()

    # An edit of the STAC Item ("12 demolished structures") is not verified.
    item = tmp_path / "series" / "item.json"
    item.write_text(item.read_text().replace('"campwatch', '"12 demolished structures campwatch', 1))
    result = verify_report(tmp_path / "series" / "series.geojson")
    assert [(w, s) for w, s, _ in result.problems()] == [("output item.json", "different")]


@pytest.mark.parametrize("text, message", [
    ("not json", "not a campwatch report (not JSON"),
    ('{"type": "FeatureCollection", "features": []}', "not a campwatch report (no schema"),
    ('{"schema": "campwatch-report/1"}', "the report has no 'inputs'"),
    ('{"schema": "campwatch-series/3", "inputs": []}', "a campwatch-series document of version 3, made by a newer "
                                                        "campwatch"),
])
def test_verify_bad_report_exit_2(tmp_path: Path, text: str, message: str):
    path = tmp_path / "report.geojson"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["verify", str(path)])
    assert res.exit_code == 2
    assert message in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.geojson"]
    with pytest.raises(InputError, match="report not found"):
        verify_report(tmp_path / "none.geojson")
