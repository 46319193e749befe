"""Sizes from inputs are checked against limits before memory or time is spent on them (issue 17,
class 4): exit 2 naming the file or parameter, the value and the limit; nothing written."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner
from conftest import BUILDINGS, NEW, ORIGIN, aoi_doc, camp_scene, grid_aoi_coords, write_tif
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.cli.main import cli
from campwatch.config import MAX_BLOCK_SIZE_PX, MIN_PIXEL_SIZE_M, SCALE_LIMITS_PX, DetectConfig
from campwatch.errors import ConfigError
from campwatch.io.aoi import MAX_AOI_FEATURES, MAX_AOI_VERTICES
from campwatch.io.sources import MAX_BANDS, MAX_SIDE_PX


@pytest.fixture()
def images(tmp_path: Path) -> tuple[Path, Path]:
    a = write_tif(tmp_path / "a_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    b = write_tif(tmp_path / "b_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2))
    return a, b


def _detect(tmp_path: Path, before: Path, after: Path, *extra: str):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), *extra])
    return res, out


def _refused(res, out: Path, *messages: str) -> None:
    assert res.exit_code == 2, res.output
    for m in messages:
        assert m in res.output, res.output
    assert not out.exists()


def test_an_image_of_many_bands_is_refused_before_its_bands_are_read(tmp_path, images):
    many = write_tif(tmp_path / "c_2020-09-01.tif", np.ones((5000, 2, 2), "uint8"), descriptions=None)
    t0 = time.perf_counter()
    res, out = _detect(tmp_path, images[0], many)
    assert time.perf_counter() - t0 < 10
    _refused(res, out, "c_2020-09-01.tif: has 5000 bands; campwatch takes at most 64")
    edge = write_tif(tmp_path / "d_2020-09-01.tif", np.ones((MAX_BANDS + 1, 2, 2), "uint8"), descriptions=None)
    _refused(*_detect(tmp_path, images[0], edge), f"has {MAX_BANDS + 1} bands")


def test_a_header_that_claims_a_huge_image_is_refused(tmp_path, images):
    huge = write_tif(tmp_path / "c_2020-09-01.tif", np.ones((1, 1, MAX_SIDE_PX + 1), "uint8"), descriptions=None)
    _refused(*_detect(tmp_path, images[0], huge), f"claims {MAX_SIDE_PX + 1} x 1 pixels; campwatch takes at most "
                                                   f"{MAX_SIDE_PX:,} on a side")


def test_pixels_finer_than_five_centimetres_are_refused(tmp_path):
    fine = Affine(0.001, 0, ORIGIN[0], 0, -0.001, ORIGIN[1])
    a = write_tif(tmp_path / "a_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1), transform=fine)
    b = write_tif(tmp_path / "b_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2), transform=fine)
    _refused(*_detect(tmp_path, a, b), "pixels of 0.001 m; campwatch takes pixels of 0.05 m or more")


@pytest.mark.parametrize("name", sorted(SCALE_LIMITS_PX))
def test_a_parameter_that_would_span_too_many_pixels_is_refused(tmp_path, images, name):
    value = (SCALE_LIMITS_PX[name] + 1) * 0.5  # metres at the test images' 0.5 m pixels
    config = tmp_path / "config.toml"
    config.write_text(f"{name} = {value}\n")
    res, out = _detect(tmp_path, *images, "--config", str(config))
    _refused(res, out, f"{name}={value:g} is {SCALE_LIMITS_PX[name] + 1:,} pixels of", "at most "
             f"{SCALE_LIMITS_PX[name]} pixels")


def test_a_kilometre_opening_is_refused_at_once(tmp_path, images):
    config = tmp_path / "config.toml"
    config.write_text("opening_radius_m = 1000\n")
    t0 = time.perf_counter()
    res, out = _detect(tmp_path, *images, "--config", str(config))
    assert time.perf_counter() - t0 < 10
    _refused(res, out, "opening_radius_m=1000 is 2,000 pixels")


@settings(max_examples=40, deadline=None)
@given(pixel=st.floats(MIN_PIXEL_SIZE_M, 100.0), factor=st.floats(0.0, 3.0))
def test_the_scale_check_passes_exactly_what_fits(pixel, factor):
    config = DetectConfig(opening_radius_m=factor * SCALE_LIMITS_PX["opening_radius_m"] * pixel)
    if config.segment.opening_radius_m / pixel > SCALE_LIMITS_PX["opening_radius_m"]:
        with pytest.raises(ConfigError, match="opening_radius_m="):
            config.check_scale(pixel)
    else:
        config.check_scale(pixel)


def test_no_piece_analysed_at_once_is_larger_than_the_ceiling():
    big = DetectConfig(block_size_px=100_000)
    big.check_window(3000, 3000)  # a window under the ceiling is one piece whatever the block size
    with pytest.raises(ConfigError, match=r"block_size_px=100000 would analyse the AOI's window \(6,000 x 5,000 px\) "
                                          f"in pieces of 6,000 px a side, about 13 GB each; at most "
                                          f"{MAX_BLOCK_SIZE_PX:,} are allowed"):
        big.check_window(5000, 6000)
    DetectConfig().check_window(50_000, 50_000)  # the default block size: pieces of 2,048


def _aoi_with(tmp_path: Path, features: list[dict]) -> Path:
    doc = aoi_doc(grid_aoi_coords())
    doc["features"] += features
    path = tmp_path / "aoi.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_aoi_files_with_too_many_features_or_vertices_are_refused(tmp_path, images):
    (x0, y0), (x1, _), (_, y1) = grid_aoi_coords()[:3]
    towers = [{"type": "Feature", "properties": {"role": "tower"},
               "geometry": {"type": "Point", "coordinates": [x0 + (x1 - x0) * 0.5, y0 + (y1 - y0) * 0.5]}}
              ] * MAX_AOI_FEATURES
    res, out = _detect(tmp_path, *images, "--aoi", str(_aoi_with(tmp_path, towers)))
    _refused(res, out, f"{MAX_AOI_FEATURES + 1:,} features; an AOI file may hold at most {MAX_AOI_FEATURES:,}")
    n = MAX_AOI_VERTICES + 10
    fence = {"type": "Feature", "properties": {"role": "fence"}, "geometry": {"type": "LineString", "coordinates": [
        [x0 + (x1 - x0) * (0.5 + 0.3 * math.cos(i / n * 6.28)), y0 + (y1 - y0) * (0.5 + 0.3 * math.sin(i / n * 6.28))]
        for i in range(n)]}}
    res, out = _detect(tmp_path, *images, "--aoi", str(_aoi_with(tmp_path, [fence])))
    _refused(res, out, f"feature 1: the AOI file holds more than {MAX_AOI_VERTICES:,} vertices")


def test_an_aoi_file_too_large_is_refused_before_it_is_read(tmp_path, images):
    path = tmp_path / "aoi.geojson"
    with open(path, "wb") as fh:
        fh.truncate(25_000_000)  # sparse: costs no disk
    res, out = _detect(tmp_path, *images, "--aoi", str(path))
    _refused(res, out, "25,000,000 bytes; an AOI file may hold at most 20,000,000")


def test_the_defaults_fit_the_finest_pixels_taken():
    DetectConfig().check_scale(MIN_PIXEL_SIZE_M)
    with pytest.raises(ConfigError, match="pixels of 0.049 m; campwatch takes pixels of 0.05 m or more"):
        DetectConfig().check_scale(0.049)
