"""Tests of campwatch.io.pair."""

from __future__ import annotations

import pytest
from conftest import TRANSFORM, fake_info
from rasterio.crs import CRS as RioCRS

from campwatch.errors import GridMismatchError
from campwatch.io.pair import band_order, same_grid


def test_same_grid_and_band_order():
    from pathlib import Path

    assert same_grid(fake_info(), fake_info(path=Path("b.tif")))
    assert not same_grid(fake_info(), fake_info(path=Path("b.tif"), crs=RioCRS.from_epsg(32651)))
    assert not same_grid(fake_info(), fake_info(path=Path("b.tif"), width=11))
    assert not same_grid(fake_info(), fake_info(path=Path("b.tif"), transform=TRANSFORM * TRANSFORM.translation(3, 0)))
    idx_b, idx_a, notes = band_order(fake_info(path=Path("a.tif")),
                                     fake_info(path=Path("b.tif"), band_names=("red", "green", "blue", "nir")))
    assert idx_b == (1, 2, 3, 4) and idx_a == (3, 2, 1, 4) and "reordered" in notes[0]
    unnamed = (None, None, None, None)
    with pytest.raises(GridMismatchError, match="different band counts"):
        band_order(fake_info(path=Path("a.tif"), band_names=unnamed),
                   fake_info(path=Path("b.tif"), band_names=unnamed[:3], count=3))
    with pytest.raises(GridMismatchError, match="share no band"):
        band_order(fake_info(path=Path("a.tif"), band_names=("pan",), count=1), fake_info(path=Path("b.tif")))


def test_the_pixel_of_a_scene_in_degrees_is_given_in_metres(tmp_path):
    from affine import Affine
    from conftest import camp_scene, write_tif

    from campwatch.io.pair import pixel_size_m
    from campwatch.io.scene import scene_info

    # 1e-4 degrees at 42 N: 8.3 m east-west, 11.1 m north-south; on its UTM grid about 9.6 m square
    path = write_tif(tmp_path / "s_2020-01-01.tif", camp_scene(1, buildings=[], noise_seed=1), crs="EPSG:4326",
                     transform=Affine(1e-4, 0, 129.9, 0, -1e-4, 42.0))
    assert 8.0 < pixel_size_m(scene_info(path)) < 11.2
