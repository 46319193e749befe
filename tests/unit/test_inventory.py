"""`inventory`: the fences, towers and structures of one image, as an AOI file that `detect` then follows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, aoi_doc

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
    assert doc["campwatch_inventory"]["counts"] == {"fences": 4, "towers": n_towers, "structures": n_structures,
                                                    "structures_classical": n_structures,
                                                    "structures_built_since": None}
    assert doc["campwatch_inventory"]["found_by"] == {"fences": "classical", "towers": "classical",
                                                      "structures": "classical"}


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


def test_inventory_of_a_folder_of_tiles_without_a_date_given_one(tmp_path):
    import rasterio
    from rasterio.windows import Window

    image = SAMPLE / "camp25" / "camp25_2016-05-14.tif"
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    with rasterio.open(image) as ds:
        half = ds.width // 2
        for i, col in enumerate((0, half)):
            win = Window(col, 0, ds.width - half if col else half, ds.height)
            profile = ds.profile | {"width": int(win.width), "height": int(win.height),
                                    "transform": ds.window_transform(win)}
            profile.pop("blockxsize", None), profile.pop("blockysize", None)
            profile["tiled"] = False
            with rasterio.open(tiles / f"tile_{i}.tif", "w", **profile) as out:
                out.write(ds.read(window=win))
                out.descriptions = ds.descriptions
    out = tmp_path / "features.geojson"
    args = ["inventory", str(tiles), "--aoi", str(AOIS / "camp25.geojson"), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and "acquisition date" in res.stderr  # the tiles carry no date
    res = CliRunner().invoke(cli, args + ["--date", "2016-05-14"])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())["campwatch_inventory"]
    assert doc["date"] == "2016-05-14" and doc["counts"]["structures"] >= 1
    assert len(doc["image_sha256"]) == 64


def test_with_an_earlier_image_and_a_model_the_structures_built_since_are_the_models(pair, aoi_file, tmp_path):
    """inventory uses a change model where one can see: on the pair (EARLIER, IMAGE); it says which found what."""
    from conftest import BUILDINGS, NEW, grid_aoi_coords, write_model

    from campwatch.io.aoi import parse_aoi

    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    aoi = aoi_file(aoi_doc(grid_aoi_coords()))
    model = write_model(tmp_path / "difference.onnx")
    out = tmp_path / "out" / "features.geojson"
    res = CliRunner().invoke(cli, ["inventory", str(after), "--aoi", str(aoi), "--since", str(before), "--model",
                                   str(model), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "built since 2020-05-01 found by the change model test difference" in res.output
    doc = json.loads(out.read_text())
    inv = doc["campwatch_inventory"]
    assert inv["model"]["name"] == "test difference"
    assert inv["since"]["date"] == "2020-05-01" and inv["since"]["image"] == f"../{before.name}"
    assert inv["found_by"]["structures"] == ("classical, and the change model test difference on the pair since "
                                             "2020-05-01")
    built = [f for f in doc["features"] if f["properties"].get("found_by", "").endswith("new since 2020-05-01")]
    assert len(built) == 1 == inv["counts"]["structures_built_since"]
    assert built[0]["properties"]["found_by"].startswith("the change model test difference")
    assert 0.0 <= built[0]["properties"]["confidence"] <= 1.0
    # The new building, 12 m x 20 m, with its shadow: where NEW is, and no classical proposal under it.
    from shapely.geometry import shape

    from campwatch.io.aoi import to_crs

    local = to_crs(shape(built[0]["geometry"]), "EPSG:32652")
    assert 240 <= local.area <= 420
    classical = [f for f in doc["features"] if f["properties"].get("found_by") == "classical"
                 and f["properties"]["role"] == "structure"]
    assert len(classical) == inv["counts"]["structures_classical"] == len(BUILDINGS)
    assert not any(to_crs(shape(f["geometry"]), "EPSG:32652").intersects(local) for f in classical)
    assert inv["counts"]["structures"] == len(BUILDINGS) + 1
    assert len(parse_aoi(doc, source="inventory").structures) == len(BUILDINGS) + 1  # reads back as an AOI file


def test_a_change_model_without_an_earlier_image_is_refused_and_nothing_written(pair, aoi_file, tmp_path):
    from conftest import grid_aoi_coords, write_model

    _, after = pair()
    aoi = aoi_file(aoi_doc(grid_aoi_coords()))
    model = write_model(tmp_path / "difference.onnx")
    out = tmp_path / "features.geojson"
    res = CliRunner().invoke(cli, ["inventory", str(after), "--aoi", str(aoi), "--model", str(model),
                                   "--out", str(out)])
    assert res.exit_code == 2
    assert "compares two dates" in res.stderr and "give --since EARLIER" in res.stderr
    assert not out.exists() and list(tmp_path.glob("*.tmp")) == []
    res = CliRunner().invoke(cli, ["inventory", str(after), "--aoi", str(aoi), "--out", str(out)])
    assert res.exit_code == 0 and "found by the classical finder" in res.output
    assert json.loads(out.read_text())["campwatch_inventory"]["found_by"]["structures"] == "classical"
