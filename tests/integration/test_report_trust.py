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
    (lambda d: d.update(features=[{"properties": 5}]), "features[0] is not a feature with properties"),
    (lambda d: d["outputs"].update({"report.geojson": "zz"}), "has no SHA-256"),
])
@pytest.mark.parametrize("command", ["verify", "figures"])
def test_a_malformed_report_is_exit_2_not_a_crash(report, tmp_path, change, message, command):
    doc = json.loads(report.read_text())
    change(doc)
    report.write_text(json.dumps(doc))
    args = [command, str(report)] + (["--out", str(tmp_path / "figs")] if command == "figures" else [])
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert "not a campwatch report" in res.stderr and message in res.stderr


def test_figures_of_an_edited_report_say_it_is_not_verified(report, tmp_path):
    """A report edited after the run is drawn as what it says now, marked so (issue 26, 5)."""
    runner = CliRunner()
    res = runner.invoke(cli, ["figures", str(report), "--out", str(tmp_path / "as-made"), "--dpi", "50"])
    assert res.exit_code == 0, res.output
    assert "NOT VERIFIED" not in (tmp_path / "as-made" / "report.html").read_text()

    doc = json.loads(report.read_text())
    for f in doc["features"]:
        if f["properties"]["class"] == "other_change":
            f["properties"]["class"] = "structure_demolished"  # "12 demolished structures"
    report.write_text(json.dumps(doc))
    res = runner.invoke(cli, ["figures", str(report), "--out", str(tmp_path / "edited"), "--dpi", "50"])
    assert res.exit_code == 0, res.output
    assert "not verified: its SHA-256 is not the one its STAC Item records: it was edited after the run" in res.stderr
    html = (tmp_path / "edited" / "report.html").read_text()
    assert "NOT VERIFIED: the report shown here: its SHA-256 is not the one its STAC Item records" in html

    (report.parent / "item.json").unlink()
    res = runner.invoke(cli, ["figures", str(report), "--out", str(tmp_path / "no-item"), "--dpi", "50"])
    assert res.exit_code == 0 and "no STAC Item beside it records its SHA-256" in res.stderr


def test_an_edited_reports_figure_footers_say_so(report):
    from campwatch.publish.figures import change_map
    from campwatch.publish.views import view_from_report

    report.write_text(report.read_text().replace('"campwatch_version"', '"campwatch_version" ', 1) + "\n")
    view = view_from_report(report)
    assert view.unverified == "its SHA-256 is not the one its STAC Item records: it was edited after the run"
    fig = change_map(view)
    footer = fig.axes[0].get_xlabel()
    assert footer.startswith("NOT VERIFIED: the report drawn here: its SHA-256 is not the one")
