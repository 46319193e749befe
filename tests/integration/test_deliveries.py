"""Imagery as analysts receive it: Maxar, Planet, Sentinel-2 and STAC deliveries are each one dated scene."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import BUILDINGS, NEW, TRANSFORM, camp_scene, write_tif
from deliveries import write_maxar, write_planet, write_s2_folder, write_safe, write_stac

from campwatch import detect
from campwatch.detection.structures import sun_shadow_direction
from campwatch.errors import SceneError
from campwatch.io.scene import read_scene, scene_files, scene_info
from campwatch.monitor.series import series_scenes
from campwatch.run import run_detect

UTC = dt.timezone.utc
WHEN = dt.datetime(2020, 5, 1, 5, 33, 2, tzinfo=UTC)
LATER = dt.datetime(2020, 9, 1, 5, 41, 7, tzinfo=UTC)

WRITERS = {
    "maxar": lambda f, d, w, **kw: write_maxar(f / "maxar", d, w, **kw),
    "maxar_tiled": lambda f, d, w, **kw: write_maxar(f / "maxar", d, w, tiled=True, **kw),
    "planet_json": lambda f, d, w, **kw: write_planet(f, d, w, **kw),
    "planet_xml": lambda f, d, w, **kw: write_planet(f, d, w, form="xml", **kw),
    "sentinel2_folder": lambda f, d, w, **kw: write_s2_folder(f / "s2", d, w),
    "sentinel2_safe": lambda f, d, w, **kw: write_safe(f, d, w, **kw),
    "stac": lambda f, d, w, **kw: write_stac(f, d, w, **kw),
    "stac_bands": lambda f, d, w, **kw: write_stac(f, d, w, per_band=True, **kw),
}
#: What each format's metadata says: kind, sensor, off-nadir angle, cloud cover, and the metadata files.
EXPECTED = {
    "maxar": ("maxar", "WV03", 12.5, 2.0, {".IMD"}),
    "maxar_tiled": ("maxar", "WV03", 12.5, 2.0, {".IMD", ".TIL"}),
    "planet_json": ("planet", "PS2 0f34", 3.1, 5.0, {".json"}),
    "planet_xml": ("planet", "PlanetScope 0f34", 3.1, 5.0, {".xml"}),
    "sentinel2_folder": ("sentinel2", None, None, None, set()),
    "sentinel2_safe": ("sentinel2", "Sentinel-2A", 5.0, 3.5, {".xml"}),
    "stac": ("stac", "worldview-3", 14.0, 1.0, {".json"}),
    "stac_bands": ("stac", "worldview-3", 14.0, 1.0, {".json"}),
}


def scene_data(buildings=BUILDINGS, noise_seed=1):
    return camp_scene(7, buildings=list(buildings), noise_seed=noise_seed)


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_each_delivery_is_one_scene_dated_and_described_by_its_metadata(tmp_path, fmt):
    data = scene_data()
    path = WRITERS[fmt](tmp_path, data, WHEN)
    kind, sensor, off_nadir, cloud, meta_suffixes = EXPECTED[fmt]
    info = scene_info(path)
    assert info.kind == kind
    assert info.date == WHEN.date()
    assert info.band_names[:3] == ("blue", "green", "red")
    assert (info.width, info.height) == (240, 256)
    assert info.transform == TRANSFORM  # the finest band's grid for Sentinel-2
    if fmt == "sentinel2_folder":  # dated by its bands' names; no metadata file
        assert info.acquisition is None
        assert info.band_names == ("blue", "green", "red", "rededge071", "nir", "swir16", "swir22")
    else:
        acq = info.acquisition
        assert acq is not None
        assert acq.datetime == WHEN
        assert (acq.sensor, acq.off_nadir, acq.cloud_cover) == (sensor, off_nadir, cloud)
        assert acq.sun_azimuth == 135.0 and acq.sun_elevation == 40.0
    files = scene_files(path)
    assert {f.suffix.upper() for f in files if f.suffix.lower() not in (".tif", ".tiff", ".jp2")} == \
        {s.upper() for s in meta_suffixes}
    scene = read_scene(path)
    assert scene.valid.all()
    # The 10 m bands are read as written (lossless JPEG 2000 too); B04's 20 m copy in the SAFE is not taken.
    np.testing.assert_array_equal(scene.data[:3], data[:3].astype("float32"))


def test_sentinel2_20m_bands_are_resampled_onto_the_10m_grid(tmp_path):
    data = scene_data()
    scene = read_scene(write_s2_folder(tmp_path / "s2", data, WHEN))
    swir = scene.band("swir16")  # written at 20 m from the nir band: 2 x 2 means
    assert swir is not None and swir.shape == (256, 240)
    coarse = data[3, :256, :240].reshape(128, 2, 120, 2).mean(axis=(1, 3))
    # Bilinear resampling keeps the 2 x 2 means at the 20 m pixels' centres' neighbourhood.
    assert abs(float(swir.mean()) - float(coarse.mean())) < 1.0
    assert np.corrcoef(swir[::2, ::2].ravel(), coarse.ravel())[0, 1] > 0.9


def test_the_metadata_date_wins_over_the_name_and_the_disagreement_is_a_warning(tmp_path, caplog):
    before = write_planet(tmp_path / "b", scene_data(), WHEN, name_date=dt.date(2020, 4, 30))
    after = write_tif(tmp_path / "after_2020-09-01.tif", scene_data(noise_seed=2))
    with caplog.at_level(logging.WARNING):
        info = scene_info(before)
    assert info.date == dt.date(2020, 5, 1)
    assert "the name says 2020-04-30 but the metadata (Planet 20200430_053302_0f34_metadata.json) says 2020-05-01" \
        in info.notes[0]
    assert "the name says 2020-04-30" in caplog.text
    result = detect(before, after)
    assert result.before.date == dt.date(2020, 5, 1)
    assert any("the name says 2020-04-30" in w for w in result.warnings)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["maxar_tiled", "planet_xml", "sentinel2_safe", "stac_bands"])
def test_a_pair_of_deliveries_gives_the_report_of_the_same_pixels_as_geotiffs(tmp_path, fmt):
    a, b = scene_data(), scene_data(BUILDINGS + [NEW], noise_seed=2)
    plain = detect(write_tif(tmp_path / "a_2020-05-01.tif", a), write_tif(tmp_path / "b_2020-09-01.tif", b))
    before = WRITERS[fmt](tmp_path / "before", a, WHEN)
    after = WRITERS[fmt](tmp_path / "after", b, LATER)
    result, outputs = run_detect(before, after, tmp_path / "out")
    with result:
        found = sorted((r.change_class, round(r.area_m2)) for r in result.regions if r.change_class.startswith("str"))
        if fmt != "sentinel2_safe":  # the same four bands: the same changes
            assert found == sorted((r.change_class, round(r.area_m2)) for r in plain.regions
                                   if r.change_class.startswith("str"))
        assert [c for c, _ in found] == ["structure_new"]
    report = json.loads((tmp_path / "out" / "report.geojson").read_text())
    images = report["images"]
    assert (images["before"]["date"], images["after"]["date"]) == ("2020-05-01", "2020-09-01")
    assert images["before"]["acquisition"]["datetime"] == "2020-05-01T05:33:02Z"
    assert images["after"]["acquisition"]["sun_azimuth_deg"] == 135.0
    # Every file of each scene, the metadata that dates it among them, is an input with its hash.
    recorded = {Path(i["path"]).name for i in report["inputs"] if i["role"] == "before"}
    assert recorded == {f.name for f in scene_files(before)}
    assert all(len(i["sha256"]) == 64 for i in report["inputs"])


def test_sun_azimuth_gives_the_shadow_direction_on_the_grid():
    def scene(azimuth, transform=TRANSFORM):
        from campwatch.io.delivery import Acquisition
        from campwatch.io.scene import Scene

        return Scene(data=np.zeros((1, 2, 2), "float32"), valid=np.ones((2, 2), bool), transform=transform,
                     crs=None, date=WHEN.date(), band_names=("pan",),  # type: ignore[arg-type]
                     acquisition=Acquisition(sun_azimuth=azimuth, sun_elevation=40.0))

    assert sun_shadow_direction(scene(135.0)) == pytest.approx((-2 ** -0.5, -2 ** -0.5))  # sun SE: shadows NW
    assert sun_shadow_direction(scene(0.0)) == pytest.approx((1.0, 0.0))  # sun north: shadows south (down)
    assert sun_shadow_direction(scene(90.0)) == pytest.approx((0.0, -1.0))  # sun east: shadows west (left)
    assert sun_shadow_direction(scene(None)) is None  # type: ignore[arg-type]


def add_tower(img: np.ndarray, r0: int, c0: int, *, size: int = 6, shadow: int = 18) -> None:
    """A small bright tower (3 m at 0.5 m) casting a long shadow to the north-west, in place."""
    shade = np.zeros(img.shape[1:], bool)
    for k in range(1, shadow + 1):
        shade[r0 - k:r0 - k + size, c0 - k:c0 - k + size] = True
    img[:, shade] *= 0.35
    img[:, r0:r0 + size, c0:c0 + size] = np.array([575, 610, 610, 660], "float32")[:, None, None]


def _tower_pair(tmp_path, *, sun_az):
    from conftest import ground

    a = ground((256, 240), 7)
    b = a.copy()
    add_tower(b, 150, 150)
    noisy = [np.clip(np.round(x + np.random.default_rng(s).normal(0, 5, x.shape)), 1, None).astype("uint16")
             for x, s in ((a, 1), (b, 2))]
    return (write_stac(tmp_path / "before", noisy[0], WHEN, sun_az=sun_az),
            write_stac(tmp_path / "after", noisy[1], LATER, sun_az=sun_az))


@pytest.mark.slow
def test_a_known_sun_azimuth_lets_a_lone_tower_be_found(tmp_path):
    # One new tower on bare ground: too few objects for the scene to tell the shadows' direction,
    # so without metadata a small object is not claimed as a tower; with the sun's azimuth it is.
    before, after = _tower_pair(tmp_path / "sun", sun_az=135.0)
    towers = [r for r in detect(before, after).regions if r.change_class == "tower_added"]
    assert len(towers) == 1 and 5 <= towers[0].area_m2 <= 14
    bare_b = write_tif(tmp_path / "b_2020-05-01.tif", read_scene(before).data.astype("uint16"))
    bare_a = write_tif(tmp_path / "a_2020-09-01.tif", read_scene(after).data.astype("uint16"))
    assert [r for r in detect(bare_b, bare_a).regions if r.change_class == "tower_added"] == []


@pytest.mark.slow
def test_a_sun_azimuth_the_shadows_contradict_is_not_trusted(tmp_path, pair, caplog):
    # A hostile or wrong azimuth (shadows said to fall south-east; they fall north-west) must not hide the
    # new building: the scene's own shadows win, with a warning.
    a, b = scene_data(), scene_data(BUILDINGS + [NEW], noise_seed=2)
    before = write_stac(tmp_path / "before", a, WHEN, sun_az=315.0)
    after = write_stac(tmp_path / "after", b, LATER, sun_az=315.0)
    with caplog.at_level(logging.WARNING):
        found = [r.change_class for r in detect(before, after).regions if r.change_class.startswith("structure")]
    assert found == ["structure_new"]
    assert re.search(r"item.json: shadows fall toward 3[0-3]\d degrees, not toward 135 degrees as given", caplog.text)


def test_a_series_takes_each_format_as_one_dated_image(tmp_path):
    folder = tmp_path / "images"
    write_maxar(folder / "wv3_delivery", scene_data(), WHEN, tiled=True)
    write_planet(folder / "planet", scene_data(), dt.datetime(2020, 6, 3, 2, 0, tzinfo=UTC))
    write_safe(folder, scene_data(), dt.datetime(2020, 7, 4, 2, 0, tzinfo=UTC))
    write_stac(folder / "stac", scene_data(), LATER)
    (folder / "notes.txt").write_text("not an image")
    infos = series_scenes(folder)
    assert [(i.date.isoformat(), i.kind) for i in infos] == [
        ("2020-05-01", "maxar"), ("2020-06-03", "planet"), ("2020-07-04", "sentinel2"), ("2020-09-01", "stac")]


# --------------------------------------------------------------------------- hostile and broken deliveries


@pytest.mark.parametrize(("href", "message"), [
    ("http://example.org/analytic.tif", "local files only"),
    ("/vsicurl/http://example.org/a.tif", "remote or virtual source"),
    ("../outside.tif", "lies outside the item's folder"),
    ("./missing.tif", "not found"),
])
def test_a_stac_asset_that_is_remote_outside_or_missing_is_refused(tmp_path, href, message):
    write_tif(tmp_path / "outside.tif", scene_data())
    item = write_stac(tmp_path / "item", scene_data(), WHEN, hrefs={"analytic": href})
    with pytest.raises(SceneError, match=message):
        scene_info(item)


def test_a_stac_item_with_two_unnamed_data_assets_is_refused(tmp_path):
    item = write_stac(tmp_path / "item", scene_data(), WHEN)
    doc = json.loads(item.read_text())
    doc["assets"]["second"] = dict(doc["assets"]["analytic"], href="./analytic.tif")
    for asset in doc["assets"].values():
        asset.pop("eo:bands", None)
    item.write_text(json.dumps(doc))
    with pytest.raises(SceneError, match="has 2 raster data assets"):
        scene_info(item)


def test_a_json_that_is_not_a_stac_item_is_refused(tmp_path):
    bad = tmp_path / "item.json"
    bad.write_text('{"type": "Feature", "stac_version": "1.0.0", "properties": 3}')
    with pytest.raises(SceneError, match="not a STAC Item"):
        scene_info(bad)


@pytest.mark.parametrize("tile", ["/etc/hostname", "../elsewhere.TIF", "/vsicurl/http://example.org/t.tif"])
def test_a_til_naming_a_tile_outside_its_folder_is_refused(tmp_path, tile):
    folder = write_maxar(tmp_path / "maxar", scene_data(), WHEN, tiled=True)
    til = next(folder.glob("*.TIL"))
    til.write_text(til.read_text().replace(next(folder.glob("*R1C1*.TIF")).name, tile))
    with pytest.raises(SceneError, match="a .TIL's tiles must be files beside it"):
        scene_info(folder)


def test_hostile_metadata_values_are_dropped_not_believed(tmp_path):
    path = write_planet(tmp_path, scene_data(), WHEN)
    meta = next(tmp_path.glob("*_metadata.json"))
    doc = json.loads(meta.read_text())
    doc["properties"].update(sun_azimuth="NaN", sun_elevation=1e300, view_angle=-5, cloud_cover="<b>",
                             satellite_id="\x1b[31mred\x07" + "x" * 500)
    meta.write_text(json.dumps(doc))
    acq = scene_info(path).acquisition
    assert acq is not None
    assert (acq.sun_azimuth, acq.sun_elevation, acq.off_nadir, acq.cloud_cover) == (None, None, None, None)
    assert acq.sensor is not None and "\x1b" not in acq.sensor and len(acq.sensor) <= 90


def test_an_oversized_or_broken_metadata_file_is_refused_with_its_name(tmp_path):
    path = write_planet(tmp_path, scene_data(), WHEN)
    meta = next(tmp_path.glob("*_metadata.json"))
    meta.write_text("{not json")
    with pytest.raises(SceneError, match="_metadata.json: not readable JSON metadata"):
        scene_info(path)
    with open(meta, "w") as f:
        f.write(" " * 5_000_001)
    with pytest.raises(SceneError, match="a metadata file of 5,000,001 bytes; campwatch reads at most 5,000,000"):
        scene_info(path)


def test_a_safe_with_two_granules_or_a_band_folder_without_red_is_refused(tmp_path):
    safe = write_safe(tmp_path, scene_data(), WHEN)
    (safe / "GRANULE" / "L2A_T52TDM_second").mkdir()
    with pytest.raises(SceneError, match="with 2 granules; campwatch takes one granule"):
        scene_info(safe)
    folder = write_s2_folder(tmp_path / "s2", scene_data(), WHEN)
    next(folder.glob("*_B04_*")).unlink()
    with pytest.raises(SceneError, match="without all of B02, B03 and B04"):
        scene_info(folder)


def test_a_sentinel2_scene_in_degrees_is_analysed_in_metres_on_its_utm_zone(tmp_path):
    # Sentinel-2 exports in EPSG:4326 (as in EO Browser): 10 m pixels in degrees at 41.8 N.
    import deliveries
    from affine import Affine

    lon_px, lat_px = 10 / (111_320 * np.cos(np.radians(41.8))), 10 / 110_574
    degrees = Affine(lon_px, 0, 129.8, 0, -lat_px, 41.85)
    a, b = scene_data(), scene_data(BUILDINGS + [NEW], noise_seed=2)
    folders = []
    for name, data, when in (("before", a, WHEN), ("after", b, LATER)):
        folder = tmp_path / name
        folder.mkdir()
        day = when.strftime("%Y-%m-%d")
        for code, (i, _) in deliveries.S2_FROM_TEST.items():
            with rasterio.open(folder / f"{day}_Sentinel-2_L2A_{code}_(Raw).tiff", "w", driver="GTiff",
                               width=240, height=256, count=1, dtype="uint16", crs="EPSG:4326",
                               transform=degrees) as dst:
                dst.write(data[i], 1)
        folders.append(folder)
    result = detect(*folders)
    assert result.before.crs.to_epsg() == 32652  # UTM 52N, where 129.8 E lies
    assert float(np.sqrt(result.before.pixel_area)) == pytest.approx(10.0, rel=0.1)
    assert any("in degrees (EPSG:4326); analysed in metres on EPSG:32652" in w for w in result.warnings)
    # At 10 m the new building (24 x 40 px) is a 240 m x 400 m roof with its shadow (6 px): one change,
    # measured in square metres: 96,000 m2 of roof, 138,000 m2 with the shadow.
    big = max(result.regions, key=lambda r: r.area_m2)
    assert 96_000 <= big.area_m2 <= 1.1 * 138_000
    assert sorted(r.area_m2 for r in result.regions)[-2] < 0.01 * big.area_m2
