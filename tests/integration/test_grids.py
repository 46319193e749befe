"""Grids stored the other way up: a south-up image is read, the same pixels north-up (issue 26, 6)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from affine import Affine
from click.testing import CliRunner
from conftest import BUILDINGS, TRANSFORM, camp_scene, write_tif

from campwatch import detect
from campwatch.cli.main import cli
from campwatch.io.scene import read_scene, scene_info

NEW = (200, 170, 24, 40)
BEFORE = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
AFTER = camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2)
SOUTH_UP = Affine(TRANSFORM.a, 0, TRANSFORM.c, 0, -TRANSFORM.e, TRANSFORM.f + TRANSFORM.e * BEFORE.shape[1])


def _found(result):
    return [(r.change_class, round(r.area_m2 or 0.0, 1), tuple(round(v, 1) for v in r.geometry.centroid.coords[0]))
            for r in result.regions if r.change_class != "other_change"]


def test_a_south_up_image_is_read_north_up(tmp_path: Path):
    north = (write_tif(tmp_path / "a_2020-05-01.tif", BEFORE), write_tif(tmp_path / "b_2020-09-01.tif", AFTER))
    south = (write_tif(tmp_path / "sa_2020-05-01.tif", BEFORE[:, ::-1].copy(), transform=SOUTH_UP),
             write_tif(tmp_path / "sb_2020-09-01.tif", AFTER[:, ::-1].copy(), transform=SOUTH_UP))
    info = scene_info(south[0])
    assert info.south_up and info.transform == TRANSFORM
    assert "its rows run south to north (south-up)" in info.notes[-1]
    # The same pixels, the same grid, a window too.
    from rasterio.windows import Window

    window = Window(30, 40, 100, 50)
    got, want = read_scene(south[0], window=window), read_scene(north[0], window=window)
    assert np.array_equal(got.data, want.data) and got.transform == want.transform
    expected = _found(detect(*north))
    assert [c for c, *_ in expected] == ["structure_new"]
    for pair in ((north[0], south[1]), (south[0], north[1]), south):
        assert _found(detect(*pair)) == expected
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(south[0]), str(south[1]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert any("south-up" in w for w in json.loads((out / "report.geojson").read_text())["warnings"])


def test_columns_east_to_west_are_refused(tmp_path: Path):
    flipped = Affine(-TRANSFORM.a, 0, TRANSFORM.c + TRANSFORM.a * BEFORE.shape[2], 0, TRANSFORM.e, TRANSFORM.f)
    a = write_tif(tmp_path / "a_2020-05-01.tif", BEFORE)
    b = write_tif(tmp_path / "b_2020-09-01.tif", AFTER[:, :, ::-1].copy(), transform=flipped)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "b_2020-09-01.tif: its columns run east to west" in res.output
    assert not out.exists()
