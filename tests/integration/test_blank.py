"""A date that carries no information claims no change (issue 17, class 1)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import AOIS, SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.io.aoi import read_aoi
from campwatch.run import detect

BEFORE = SAMPLE / "camp25" / "camp25_2015-04-18.tif"
NAMED = ("structure", "tower", "fence")


def _after(tmp_path, fill, *, part: slice | None = None, name: str = "camp25_2018-03-30.tif"):
    """The sample's last date with all of it, or the rows ``part``, replaced by ``fill``; no nodata tag."""
    with rasterio.open(SAMPLE / "camp25" / "camp25_2018-03-30.tif") as src:
        data, profile, names = src.read(), src.profile | {"nodata": None}, src.descriptions
    if part is None:
        data[:] = fill
    else:
        data[:, part] = fill
    path = tmp_path / name
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = names
    return path


def _named(result):
    return [r for r in result.regions if r.change_class.startswith(NAMED)]


def test_an_all_zero_image_is_an_error_not_a_razed_camp(tmp_path):
    after = _after(tmp_path, 0)
    res = CliRunner().invoke(cli, ["detect", str(BEFORE), str(after), "--aoi", str(AOIS / "camp25.geojson"),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "carries no information (constant or saturated in every band)" in res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fill", [0, 65535, 1200])
def test_a_date_blank_over_half_the_aoi_claims_nothing_there(tmp_path, fill):
    after = _after(tmp_path, fill, part=slice(288, None))  # the southern half: blank, zero, saturated, or grey
    result = detect(BEFORE, after)
    south = result.before.transform.f - 288 * 0.5
    assert not [r for r in _named(result) if r.geometry.centroid.y < south - 10]
    assert 0.45 < result.obscured_fraction("after") < 0.6
    assert any("carry no information" in w for w in result.warnings)
    # The northern half is still analysed: the sample's events there are still found.
    assert [r for r in _named(result) if r.geometry.centroid.y > south + 10]


def test_the_report_says_what_a_blank_date_hid(tmp_path):
    after = _after(tmp_path, 0, part=slice(288, None))
    res = CliRunner().invoke(cli, ["detect", str(BEFORE), str(after), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "out" / "report.geojson").read_text())
    assert 0.45 < report["summary"]["obscured_fraction"]["after"] < 0.6
    assert any("carry no information" in w for w in report["warnings"])
    with rasterio.open(tmp_path / "out" / "change_mask.tif") as ds:
        codes = ds.read(1)
    assert (codes[300:] == 255).mean() > 0.95  # not analysed


@settings(max_examples=6, deadline=None)
@given(value=st.integers(0, 65535))
def test_any_constant_image_is_refused(tmp_path_factory, value):
    after = _after(tmp_path_factory.mktemp("c"), value)
    with pytest.raises(InputError, match="carries no information"):
        detect(BEFORE, after)


def test_real_variation_is_never_blank():
    from campwatch.detection.blank import blank_pixels
    from campwatch.io.scene import read_scene

    for path in sorted((SAMPLE / "camp25").glob("*.tif")):
        scene = read_scene(path)
        assert not blank_pixels(scene).any(), path.name
    flat = np.full((4, 64, 64), 500, "float32")
    flat += np.random.default_rng(0).normal(0, 3, flat.shape).astype("float32")  # noise alone: still data
    from conftest import array_scene

    assert not blank_pixels(array_scene(flat)).any()


def _as_reflectance(tmp_path, source, name, *, constant: float | None = None):
    """``source`` as float32 surface reflectance from 0.005 to 0.1 (as some providers deliver it)."""
    with rasterio.open(source) as src:
        data, profile = src.read().astype("float32"), src.profile | {"dtype": "float32", "nodata": None}
    lo, hi = np.percentile(data, [1, 99])
    data = 0.005 + 0.095 * np.clip((data - lo) / (hi - lo), 0, 1)
    if constant is not None:
        data[:] = constant
    path = tmp_path / name
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype("float32"))
    return path


def test_float_reflectance_is_judged_on_its_own_scale(tmp_path):
    """Reflectance of 0.005 to 0.1 varies by far less than 1 DN (issue 26, 6): it is data, not blank; a
    constant float image still is blank."""
    from campwatch.detection.blank import blank_pixels
    from campwatch.io.scene import read_scene

    before = _as_reflectance(tmp_path, BEFORE, "camp25_2015-04-18.tif")
    after = _as_reflectance(tmp_path, SAMPLE / "camp25" / "camp25_2015-09-26.tif", "camp25_2015-09-26.tif")
    assert not blank_pixels(read_scene(before)).any()
    result = detect(before, after, aoi=read_aoi(AOIS / "camp25.geojson"))
    assert sum(1 for r in result.regions if r.change_class == "structure_new") >= 1  # the sample's new structures
    flat = _as_reflectance(tmp_path, SAMPLE / "camp25" / "camp25_2016-05-14.tif", "camp25_2016-05-14.tif",
                           constant=0.04)
    assert blank_pixels(read_scene(flat)).all()
    with pytest.raises(InputError, match="carries no information"):
        detect(before, flat)
