"""Bands: names the user gives, a single panchromatic band, 8-bit and 16-bit images mixed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from conftest import BUILDINGS, camp_scene, write_tif

from campwatch import detect
from campwatch.cli.main import cli

NEW = (200, 170, 24, 40)


def _structures(result):
    return [r.change_class for r in result.regions if r.change_class.startswith("structure")]


def test_single_band_panchromatic_pair(tmp_path: Path):
    pan = [np.round(camp_scene(7, buildings=b, noise_seed=s).astype("float32").mean(axis=0))[None].astype("uint16")
           for b, s in ((BUILDINGS, 1), (BUILDINGS + [NEW], 2))]
    a = write_tif(tmp_path / "pan_2020-05-01.tif", pan[0], descriptions=("pan",))
    b = write_tif(tmp_path / "pan_2020-09-01.tif", pan[1], descriptions=("pan",))
    result = detect(a, b)
    assert result.before.band_names == ("pan",)
    assert _structures(result) == ["structure_new"]


def test_8_bit_and_16_bit_images_mix(tmp_path: Path):
    a = write_tif(tmp_path / "a_2020-05-01.tif",
                  np.clip(camp_scene(7, buildings=BUILDINGS, noise_seed=1) // 3, 1, 255).astype("uint8"))
    b = write_tif(tmp_path / "b_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2))
    result = detect(a, b)
    assert (result.before.dtype, result.after.dtype) == ("uint8", "uint16")
    assert _structures(result) == ["structure_new"]


def test_band_names_given_by_the_user(tmp_path: Path):
    from campwatch.io.bands import parse_band_names

    before = write_tif(tmp_path / "a_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    after_data = camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2)
    # The after file has its bands in another order and does not name them.
    after = write_tif(tmp_path / "b_2020-09-01.tif", after_data[[3, 2, 1, 0]], descriptions=None)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out),
                                   "--after-bands", "nir,red,green,blue"])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.geojson").read_text())
    assert [f["properties"]["class"] for f in report["features"] if f["properties"]["class"] != "other_change"] == [
        "structure_new"]
    assert report["images"]["after"]["bands"] == ["blue", "green", "red", "nir"]
    assert any("bands named by the user: nir, red, green, blue" in w for w in report["warnings"])
    assert [i.get("bands_given") for i in report["inputs"]] == [None, "nir,red,green,blue"]
    res = CliRunner().invoke(cli, ["verify", str(out / "report.geojson")])
    assert res.exit_code == 0, res.output
    # Wrong counts and unknown names are bad input.
    assert parse_band_names("B, g, R, n, -") == ("blue", "green", "red", "nir", None)
    for value, message in (("red,green", "2 band names given (red, green) for 4 bands"),
                           ("red,green,blue,swir", "'swir' is not a band name"),
                           ("red,red,blue,nir", "a band name is given twice")):
        res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(tmp_path / "bad"),
                                       "--after-bands", value])
        assert res.exit_code == 2, res.output
        assert message in res.output
        assert not (tmp_path / "bad").exists()


def test_bands_named_by_colour_interpretation_are_matched_by_name(tmp_path: Path):
    """The later file holds the earlier's own pixels stored red, green, blue, nir and says so by colour
    interpretation only: compared by name, nothing changed. Leave nir unnamed and the pair is refused."""
    data = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    before = write_tif(tmp_path / "a_2020-05-01.tif", data)
    stored = data[[2, 1, 0, 3]]
    named = write_tif(tmp_path / "b_2020-09-01.tif", stored, descriptions=None,
                      colorinterp=("red", "green", "blue", "nir"))
    result = detect(before, named)
    assert result.after.band_names == ("blue", "green", "red", "nir")
    assert [r.change_class for r in result.regions] == []
    unnamed = write_tif(tmp_path / "c_2020-09-01.tif", stored, descriptions=None,
                        colorinterp=("red", "green", "blue", "undefined"))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(unnamed), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "cannot all be matched by name: c_2020-09-01.tif's band 4 has no name" in res.output
    assert "name each of its 4 bands, in their order in the file, with --after-bands" in res.output
    assert not out.exists()
    # Named by the user, the same file is compared by name, and nothing changed.
    res = CliRunner().invoke(cli, ["detect", str(before), str(unnamed), "--out", str(out),
                                   "--after-bands", "red,green,blue,nir"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "report.geojson").read_text())["features"] == []
