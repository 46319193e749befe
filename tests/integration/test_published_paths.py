"""No published output carries an absolute local path (user and folder names); a moved tree still verifies."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyogrio
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, sample_images

from campwatch.cli.main import cli
from campwatch.io.recorded import publish_paths, published_path, recorded_path
from campwatch.monitor.verify import verify_report
from campwatch.run import run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _strings(doc: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _strings(value, f"{where}/{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _strings(value, f"{where}[{i}]")
    elif isinstance(doc, str):
        yield where, doc


def _leaks(folder: Path, root: Path) -> list[tuple[str, str, str]]:
    """Every string of every JSON document under ``folder`` that is an absolute path or names ``root``."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".json", ".geojson"):
            continue
        for where, value in _strings(json.loads(path.read_text(encoding="utf-8"))):
            if os.path.isabs(value) or str(root) in value or root.name in value:
                found.append((path.name, where, value))
    return found


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """An analyst's folder: images, the AOI, outputs beside them."""
    work = tmp_path / "analyst-jdoe"
    sample_images(work / "images", n=3)
    shutil.copy(AOIS / "camp22.geojson", work / "camp22.geojson")
    return work


def test_a_pair_report_records_its_inputs_relative_to_itself_and_verifies_when_the_tree_moves(tree: Path, tmp_path: Path):
    images = sorted((tree / "images").glob("*.tif"))
    _, paths = run_detect(images[0], images[1], tree / "out" / "det", aoi_path=tree / "camp22.geojson")
    assert _leaks(tree / "out", tree) == []
    report = json.loads(paths["report.geojson"].read_text())
    roles = {i["role"]: i["path"] for i in report["inputs"]}
    assert roles == {"before": f"../../images/{images[0].name}", "after": f"../../images/{images[1].name}",
                     "aoi": "../../camp22.geojson"}
    assert report["aoi"]["file"] == "../../camp22.geojson"
    item = json.loads(paths["item.json"].read_text())
    assert all(not os.path.isabs(a["href"]) for a in item["assets"].values())

    moved = tmp_path / "handed-over"
    shutil.move(tree, moved)  # the whole tree, as a colleague receives it
    result = verify_report(moved / "out" / "det" / "report.geojson")
    assert result.ok, result.items
    assert any(label.endswith(f"images/{images[0].name}") and status == "same" for label, status, _ in result.items)

    # Figures written elsewhere show the inputs relative to the page, from the report's folder.
    figs = tmp_path / "figures-out"
    res = CliRunner().invoke(cli, ["figures", str(moved / "out" / "det" / "report.geojson"), "--out", str(figs),
                                   "--dpi", "60"])
    assert res.exit_code == 0, res.output
    html = (figs / "report.html").read_text()
    assert f"../handed-over/images/{images[0].name}" in html
    assert str(tmp_path) not in html


@pytest.mark.slow
def test_series_check_and_inventory_record_no_absolute_path(tree: Path, tmp_path: Path):
    runner = CliRunner()
    aoi, images, out = tree / "camp22.geojson", tree / "images", tree / "out"
    for args in (["series", str(aoi), str(images), "--out", str(out / "ser"), "--no-figures"],
                 ["check", str(aoi), str(images), "--out", str(out / "chk"), "--no-figures"],
                 ["inventory", str(sorted(images.glob("*.tif"))[0]), "--aoi", str(aoi), "--out",
                  str(out / "features.geojson")]):
        res = runner.invoke(cli, ["-q", *args])
        assert res.exit_code == 0, (args[0], res.output)
    assert _leaks(out, tree) == []
    series = json.loads((out / "ser" / "series.geojson").read_text())
    assert {i["path"] for i in series["inputs"] if i["role"] == "image"} == {
        f"../../images/{p.name}" for p in images.glob("*.tif")}
    (check,) = [p for p in (out / "chk").iterdir() if p.is_dir()]
    doc = json.loads((check / "check.json").read_text())
    assert doc["check"]["report_folder"] == "."
    rows = pyogrio.read_dataframe(out / "chk" / "history.gpkg", layer="checks")
    assert list(rows["report_folder"]) == [check.name]  # from the history's own folder
    inventory = json.loads((out / "features.geojson").read_text())["campwatch_inventory"]
    assert inventory["image"].startswith("../images/") and inventory["aoi"] == "../camp22.geojson"

    moved = tmp_path / "handed-over"
    shutil.move(tree, moved)
    result = verify_report(moved / "out" / "ser" / "series.geojson")
    assert result.ok, result.items


def test_recorded_paths_read_back_from_the_documents_folder(tmp_path: Path):
    folder = tmp_path / "a" / "report"
    assert published_path(tmp_path / "a" / "images" / "x.tif", folder) == "../images/x.tif"
    assert recorded_path("../images/x.tif", folder) == tmp_path / "a" / "images" / "x.tif"
    assert recorded_path("/old/absolute.tif", folder) == Path("/old/absolute.tif")  # older reports
    doc = {"inputs": [{"role": "before", "path": str(tmp_path / "x.tif")}], "aoi": {"file": "aoi.geojson"},
           "features": [{"properties": {"path": "/kept/as/is"}}], "name": "/not/a/path/key"}
    out = publish_paths(doc, tmp_path)
    assert out["inputs"][0]["path"] == "x.tif" and out["aoi"]["file"] == "aoi.geojson"
    assert out["features"] is doc["features"] and out["name"] == "/not/a/path/key"
    assert doc["inputs"][0]["path"] == str(tmp_path / "x.tif")  # the document given is left as it was
