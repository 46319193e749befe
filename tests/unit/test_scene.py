"""Reading dated scenes: dates, bands, masks, and clear errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from affine import Affine
from conftest import BUILDINGS, camp_scene, write_tif
from hypothesis import event, given, settings
from hypothesis import strategies as st

from campwatch.errors import CampwatchError, SceneError
from campwatch.io.dates import parse_date
from campwatch.io.scene import read_scene, scene_info


def test_date_from_name_and_tag(tmp_path):
    a = camp_scene(1, buildings=BUILDINGS, noise_seed=1)
    p = write_tif(tmp_path / "camp25_2016-05-14.tif", a)
    assert scene_info(p).date == dt.date(2016, 5, 14)
    q = write_tif(tmp_path / "undated.tif", a, tags={"TIFFTAG_DATETIME": "2013:02:22 10:30:00"})
    assert scene_info(q).date == dt.date(2013, 2, 22)
    assert parse_date("x_20140222.tif") == dt.date(2014, 2, 22)


@pytest.mark.parametrize("name, tags, message", [
    ("scene.tif", {}, "cannot tell the acquisition date"),
    ("scene_2016-13-40.tif", {}, "cannot tell the acquisition date"),
    ("scene.tif", {"TIFFTAG_DATETIME": "yesterday"}, "is not a valid date"),
])
def test_bad_dates(tmp_path, name, tags, message):
    p = write_tif(tmp_path / name, camp_scene(1, buildings=[], noise_seed=1), tags=tags)
    with pytest.raises(SceneError, match=message) as info:
        scene_info(p)
    assert name in str(info.value)


def test_bands_and_nodata(tmp_path):
    a = camp_scene(1, buildings=BUILDINGS, noise_seed=1)
    a[:, :10] = 0
    s = read_scene(write_tif(tmp_path / "s_2020-01-01.tif", a))
    assert s.band_names == ("blue", "green", "red", "nir")
    assert s.data.shape == (4, 256, 240) and s.data.dtype == np.float32
    assert not s.valid[:10].any() and s.valid[10:].all()
    assert s.pixel_area == pytest.approx(0.25)
    assert s.band("nir") is not None and s.band("swir") is None


def test_unknown_bands_are_none(tmp_path):
    a = camp_scene(1, buildings=[], noise_seed=1)
    s = scene_info(write_tif(tmp_path / "s_2020-01-01.tif", a, descriptions=None))
    assert s.band_names == (None, None, None, None)


def test_not_georeferenced(tmp_path):
    a = camp_scene(1, buildings=[], noise_seed=1)
    with pytest.raises(SceneError, match="no coordinate reference system"):
        scene_info(write_tif(tmp_path / "s_2020-01-01.tif", a, crs=None))


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(SceneError, match="the folder holds no GeoTIFF tiles"):
        scene_info(tmp_path)


@settings(max_examples=40, deadline=None)
@given(
    crs=st.sampled_from(["EPSG:32652", "EPSG:4326", "EPSG:3857", None]),
    res=st.floats(0.01, 100),
    rows=st.integers(1, 20),
    cols=st.integers(1, 20),
    count=st.integers(1, 5),
    dtype=st.sampled_from(["uint8", "uint16", "int16", "float32"]),
    nodata=st.sampled_from([None, 0, 255]),
    rot=st.sampled_from([0.0, 0.3]),
)
def test_any_raster_metadata_reads_or_raises_campwatch_error(tmp_path_factory, crs, res, rows, cols, count,
                                                              dtype, nodata, rot):
    path = tmp_path_factory.mktemp("h") / "s_2020-01-01.tif"
    data = (np.arange(rows * cols * count).reshape(count, rows, cols) % 200).astype(dtype)
    if nodata == 255 and dtype == "int16":
        nodata = 0
    transform = Affine(res, rot, 500000.0, 0.0, -res, 4600000.0)
    write_tif(path, data, crs=crs, transform=transform, nodata=nodata, descriptions=None)
    try:
        s = read_scene(path)
    except CampwatchError as exc:
        assert isinstance(exc, SceneError)
    else:
        assert s.data.shape == (count, rows, cols)
        assert s.crs is not None


@settings(max_examples=30, deadline=None)
@given(
    crs=st.sampled_from(["EPSG:32652", "EPSG:32652", "EPSG:4326", "EPSG:3857", "EPSG:32651", None]),
    res=st.one_of(st.floats(0.2, 2.0), st.floats(0.01, 100)),
    offset=st.tuples(st.floats(-30, 30), st.floats(-30, 30)),
    rows=st.integers(1, 120),
    cols=st.integers(1, 120),
    count=st.sampled_from([4, 4, 4, 3, 1, 5]),
    named=st.booleans(),
    dtype=st.sampled_from(["uint8", "uint16", "int16", "float32", "float64"]),
    nodata=st.sampled_from([None, 0, 1, float("nan")]),
)
def test_any_pair_metadata_detects_or_raises_campwatch_error(tmp_path_factory, crs, res, offset, rows, cols, count,
                                                             named, dtype, nodata):
    """Whatever grid, bands and types the later image has, detect gives a result or a CampwatchError."""
    from conftest import TRANSFORM

    from campwatch import detect

    folder = tmp_path_factory.mktemp("pair")
    before = write_tif(folder / "a_2020-01-01.tif", camp_scene(3, buildings=[], noise_seed=1, shape=(64, 64)))
    if nodata is not None and np.isnan(nodata) and not dtype.startswith("float"):
        nodata = 0
    rng = np.random.default_rng(rows * 100 + cols)
    data = (rng.uniform(1, 200, (count, rows, cols))).astype(dtype)
    if crs == "EPSG:4326":
        transform = Affine(res * 1e-5, 0, 129.0 + offset[0] * 1e-5, 0, -res * 1e-5, 41.8 + offset[1] * 1e-5)
    else:
        transform = Affine(res, 0, TRANSFORM.c + offset[0], 0, -res, TRANSFORM.f + offset[1])
    names = ("blue", "green", "red", "nir", "coastal")[:count] if named else None
    after = write_tif(folder / "b_2020-06-01.tif", data, crs=crs, transform=transform, nodata=nodata,
                      descriptions=names)
    try:
        result = detect(before, after)
    except CampwatchError as exc:
        assert str(exc)  # a message for the user
        event(type(exc).__name__)
    else:
        assert result.classes.shape == result.before.shape
        event("detected")


def test_a_local_or_engineering_crs_is_refused_up_front(tmp_path):
    """A site grid has no longitude and latitude (issue 26, 6): exit 2 before any work, not exit 1 at the map."""
    import numpy as np
    import rasterio
    from click.testing import CliRunner
    from rasterio.crs import CRS as RioCRS
    from rasterio.transform import from_origin

    from campwatch.cli.main import cli
    from campwatch.errors import SceneError
    from campwatch.io.scene import scene_info

    wkt = 'LOCAL_CS["site grid",LOCAL_DATUM["site",0],UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    paths = []
    for date in ("2020-01-01", "2020-06-01"):
        path = tmp_path / f"site_{date}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8",
                           crs=RioCRS.from_wkt(wkt), transform=from_origin(1000, 2000, 0.5, 0.5)) as ds:
            ds.write(np.random.default_rng(1).integers(50, 200, (3, 64, 64)).astype("uint8"))
        paths.append(path)
    with pytest.raises(SceneError, match="is a local or engineering one, not placed on the globe"):
        scene_info(paths[0])
    res = CliRunner().invoke(cli, ["detect", str(paths[0]), str(paths[1]), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "local or engineering" in res.stderr
    assert not (tmp_path / "out").exists()
