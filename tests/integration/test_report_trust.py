"""Trust in reports (issue 17, class 10): figures refuse files that are not the ones analysed,
output names stay in the report's folder, and a malformed report is exit 2."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.run import run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


@pytest.fixture()
def report(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for f in CAMP22[1:3]:
        shutil.copy(f, images / f.name)
    _, paths = run_detect(images / CAMP22[1].name, images / CAMP22[2].name, tmp_path / "out",
                          aoi_path=AOIS / "camp22.geojson")
    return paths["report.geojson"]


def test_figures_refuse_an_image_that_is_not_the_one_analysed(report, tmp_path):
    after = report.parent / json.loads(report.read_text())["inputs"][1]["path"]  # relative to the report
    shutil.copy(CAMP22[3], after)  # another date's pixels under the analysed file's name
    res = CliRunner().invoke(cli, ["figures", str(report), "--out", str(tmp_path / "figs")])
    assert res.exit_code == 2, res.output
    assert "not the file the report was made from" in res.stderr and "figures would show other imagery" in res.stderr
    assert not (tmp_path / "figs").exists()


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "/etc/passwd", "figures/../../x"])
def test_verify_refuses_output_names_that_leave_the_reports_folder(report, name):
    doc = json.loads(report.read_text())
    doc["outputs"][name] = "0" * 64
    report.write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, ["verify", str(report)])
    assert res.exit_code == 2, res.output
    assert "not a campwatch report (the output name" in res.stderr and "leads out of the report's folder" in res.stderr


@pytest.mark.slow
@pytest.mark.parametrize("change, message", [
    (lambda d: d["inputs"][0].pop("path"), "inputs[0] has no 'path' string"),
    (lambda d: d["inputs"][0].update(sha256=5), "inputs[0] has no 'sha256' string"),
    (lambda d: d.update(inputs={"a": 1}), "'inputs' is not a list"),
    (lambda d: d.update(software="3.0"), "'software' is not a table"),
    (lambda d: d.update(features=[{"properties": 5}]), "malformed"),
    (lambda d: d["outputs"].update({"report.geojson": "zz"}), "has no SHA-256"),
])
@pytest.mark.parametrize("command", ["verify", "figures"])
def test_a_malformed_report_is_exit_2_not_a_crash(report, tmp_path, change, message, command):
    doc = json.loads(report.read_text())
    change(doc)
    report.write_text(json.dumps(doc))
    args = [command, str(report)] + (["--out", str(tmp_path / "figs")] if command == "figures" else [])
    res = CliRunner().invoke(cli, args)
    if command == "verify" and message == "malformed":  # an edited feature: verify re-runs and says it differs
        assert res.exit_code == 1 and "NOT verified" in res.output
        return
    assert res.exit_code == 2, res.output
    assert "not a campwatch report" in res.stderr and message in res.stderr
