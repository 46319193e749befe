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


def _order(before_names, after_names):
    from pathlib import Path

    return band_order(fake_info(path=Path("a.tif"), band_names=before_names, count=len(before_names)),
                      fake_info(path=Path("b.tif"), band_names=after_names, count=len(after_names)))


def test_bands_are_compared_only_with_the_band_of_the_same_name():
    # One file names its bands, the other leaves one unnamed: never matched by position.
    with pytest.raises(GridMismatchError, match=r"cannot all be matched by name: b.tif's band 4 has no name .*name each of its 4 bands.*with --after-bands"):
        _order(("blue", "green", "red", "nir"), ("red", "green", "blue", None))
    with pytest.raises(GridMismatchError, match=r"a.tif names none of its bands.*with --before-bands"):
        _order((None, None, None), ("red", "green", "blue"))
    # The same names in the same places, unnamed ones too: by position.
    assert _order(("red", "green", "blue", None), ("red", "green", "blue", None))[:2] == ((1, 2, 3, 4), (1, 2, 3, 4))
    # Nothing named in either file: by position.
    assert _order((None, None), (None, None))[:2] == ((1, 2), (1, 2))


def test_an_alpha_band_and_an_ignored_band_are_never_compared():
    idx_b, idx_a, notes = _order(("red", "green", "blue", "alpha"), ("blue", "green", "red", "alpha"))
    assert (idx_b, idx_a) == ((1, 2, 3), (3, 2, 1))
    assert notes[0] == "a.tif: band 4 (alpha) not compared (the image's mask)"
    # RGBA on both sides, named the same: the colour bands by position, not the alpha.
    assert _order(("red", "green", "blue", "alpha"), ("red", "green", "blue", "alpha"))[:2] == ((1, 2, 3), (1, 2, 3))
    # The user said to ignore the after file's band 4: blue, green and red are compared, nir is not.
    idx_b, idx_a, notes = _order(("blue", "green", "red", "nir"), ("blue", "green", "red", "-"))
    assert (idx_b, idx_a) == ((1, 2, 3), (1, 2, 3))
    assert "only the bands both images have are compared: blue, green, red" in notes
    assert "b.tif: band 4 (-) not compared (ignored as the user said)" in notes
    with pytest.raises(GridMismatchError, match="none of its bands is compared"):
        _order(("blue",), ("-",))
