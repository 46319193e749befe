"""`inventory`: the fences, towers and structures of one image, as an AOI file that `detect` then follows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.data.sample import SAMPLE_CAMPS, _layout
from campwatch.io.aoi import read_aoi
from campwatch.run import detect

FIRST = SAMPLE / "camp25" / "camp25_2015-04-18.tif"


@pytest.fixture(scope="module")
def proposed(tmp_path_factory):
    out = tmp_path_factory.mktemp("inv") / "features.geojson"
    res = CliRunner().invoke(cli, ["inventory", str(FIRST), "--aoi", str(AOIS / "camp25.geojson"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_inventory_finds_what_is_there(proposed):
    spec = SAMPLE_CAMPS["camp25"]
    world = _layout(spec, np.random.default_rng(spec.seed))
    aoi = read_aoi(proposed)
    n_towers = sum(1 for b in world.buildings.values() if b.kind == "tower")
    n_structures = sum(1 for b in world.buildings.values() if b.kind == "structure")
    assert len(aoi.towers) == n_towers
    assert len(aoi.structures) == n_structures
    # The compound's four sides.
    assert len(aoi.fences) == 4
    from campwatch.io.aoi import to_crs

    lengths = sorted(to_crs(f, "EPSG:32652").length for f in aoi.fences)
    x0, y0, x1, y1 = world.compound.bounds
    assert lengths == pytest.approx(sorted([y1 - y0, y1 - y0, x1 - x0, x1 - x0]), abs=4.0)
    doc = json.loads(proposed.read_text())
    assert all(f["properties"].get("proposed") for f in doc["features"][1:])
    assert doc["campwatch_inventory"]["counts"] == {"fences": 4, "towers": n_towers, "structures": n_structures}


def test_detect_follows_the_fences_an_aoi_gives(proposed):
    aoi = read_aoi(proposed)
    images = sorted((SAMPLE / "camp25").glob("*.tif"))
    result = detect(images[4], images[5], aoi=aoi)
    razed = [r for r in result.regions if r.change_class == "fence_razed"]
    assert razed and all("from the aoi" in r.cause for r in razed)
    assert 100 <= sum(r.length_m for r in razed) <= 130  # two stretches of 60 m


def test_inventory_bad_inputs(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["inventory", str(tmp_path / "none_2020-01-01.tif"), "--aoi",
                              str(AOIS / "camp25.geojson"), "--out", str(tmp_path / "f.geojson")])
    assert res.exit_code == 2 and "file not found" in res.stderr
    res = runner.invoke(cli, ["inventory", str(FIRST), "--aoi", str(AOIS / "camp25.geojson"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.stderr
    assert not (tmp_path / "f.geojson").exists()
