"""Text and names from inputs are data (issue 17, classes 7 and 8): no path out of a folder, no
forged log line, no terminal control, no markup."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.errors import AOIError
from campwatch.io.text import printable
from campwatch.monitor.history import run_check

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _root(tmp_path, names):
    root = tmp_path / "root"
    (root / "aois").mkdir(parents=True)
    for name in names:
        shutil.copy(AOIS / "camp22.geojson", root / "aois" / f"{name}.geojson")
        images = root / "images" / name
        if name.replace(".", "") and "/" not in name:
            images.mkdir(parents=True, exist_ok=True)
            for f in CAMP22[2:4]:
                shutil.copy(f, images / f.name)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("name", ["..", ".", "evil\nFAKE 2026 hq-b: ok: nothing new", "[bold red]x", "a b"])
def test_a_batch_aoi_with_an_unsafe_name_is_bad_input_and_writes_nothing_outside_results(tmp_path, name):
    root = _root(tmp_path, ["hq-a", name])
    before = {p for p in root.rglob("*")} | {p for p in tmp_path.iterdir()}
    res = CliRunner().invoke(cli, ["batch", str(root), "--workers", "1", "--no-figures"])
    assert res.exit_code == 2, res.output
    results = root / "results"
    after = {p for p in root.rglob("*")} | {p for p in tmp_path.iterdir()}
    assert all(p in before or results in p.parents or p == results for p in after)  # nothing outside results/
    summary = json.loads((results / "summary.json").read_text())
    bad = [r for r in summary["jobs"] if r["status"] == "bad input"]
    assert len(bad) == 1 and "cannot name an AOI" in bad[0]["summary"]
    assert [r["status"] for r in summary["jobs"] if r["aoi"] == "hq-a"] == ["ok"]
    log = (results / "batch.log").read_text().splitlines()
    assert all(line[:4].isdigit() for line in log)  # every line is one the batch wrote: no forged line
    assert "\x1b" not in res.output


def test_a_check_of_an_aoi_file_named_dot_dot_is_refused(tmp_path):
    aoi = tmp_path / "...geojson"
    shutil.copy(AOIS / "camp22.geojson", aoi)
    images = tmp_path / "images"
    images.mkdir()
    for f in CAMP22[2:4]:
        shutil.copy(f, images / f.name)
    with pytest.raises(AOIError, match=r"its name '\.\.' cannot name an AOI"):
        run_check(aoi, images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["...geojson", "images"]


def test_names_and_warnings_reach_the_terminal_as_text(tmp_path):
    doc = json.loads((AOIS / "camp22.geojson").read_text())
    for f in doc["features"]:
        if f["properties"].get("role") == "aoi":
            f["properties"]["name"] = "Camp\u202e22\x1b[31m red\nsecond line"
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, ["detect", str(CAMP22[1]), str(CAMP22[2]), "--aoi", str(aoi),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\u202e" not in res.output
    assert "Camp\\u202e22\\x1b[31m red\\nsecond line: 2012-10-07 -> 2013-06-02" in res.output


def test_printable_keeps_text_and_escapes_controls():
    assert printable("Kwan-li-so No. 25 (청진) é") == "Kwan-li-so No. 25 (청진) é"
    assert printable("a\nb\r\tc\x00\u202e\u200bd") == "a\\nb\\r\\tc\\x00\\u202e\\u200bd"


def test_control_characters_of_a_name_reach_no_page_figure_or_terminal(tmp_path):
    """NUL, ESC and a right-to-left override in an AOI name (issue 26, 7): escapes in report.html and on every
    figure, and none raw on the terminal (matplotlib's glyph warnings included)."""
    from matplotlib.text import Text

    from campwatch.publish.figures import before_after, change_map
    from campwatch.publish.views import view_from_report

    doc = json.loads((AOIS / "camp22.geojson").read_text())
    name = "Camp\x0022\x1b[31m\u202eevil"
    for f in doc["features"]:
        if f["properties"].get("role") == "aoi":
            f["properties"]["name"] = name
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, ["detect", str(CAMP22[1]), str(CAMP22[2]), "--aoi", str(aoi),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["figures", str(tmp_path / "out" / "report.geojson"), "--out",
                                   str(tmp_path / "figs"), "--dpi", "50"])
    assert res.exit_code == 0, res.output
    for raw in ("\x00", "\x1b", "\u202e"):
        assert raw not in res.output and raw not in res.stderr
    html = (tmp_path / "figs" / "report.html").read_text(encoding="utf-8")
    assert "\x00" not in html and "\x1b" not in html and "\u202e" not in html
    assert "Camp\\x0022\\x1b[31m\\u202eevil" in html
    view = view_from_report(tmp_path / "out" / "report.geojson")
    for fig in (change_map(view), before_after(view)):
        texts = [t.get_text() for t in fig.findobj(Text)]
        assert not any(c in t for t in texts for c in ("\x00", "\x1b", "\u202e"))
        assert any("Camp\\x0022\\x1b[31m\\u202eevil" in t for t in texts)
