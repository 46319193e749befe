"""The pair pipeline on small scenes built in code: one event each, and no event."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, NEW, camp_scene, write_tif

from campwatch import DetectConfig, detect
from campwatch.classes import CLASSES, NOT_ANALYSED
from campwatch.errors import InputError


def structure_changes(result):
    return [r for r in result.regions if r.change_class.startswith("structure")]


def test_new_structure_found_with_its_area_and_place(pair):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    result = detect(before, after)
    found = structure_changes(result)
    assert [r.change_class for r in found] == ["structure_new"]
    r = found[0]
    # The roof is 24 x 40 px = 240 m2; the object may lose or gain an edge pixel.
    assert 200 <= r.area_m2 <= 260
    # Centroid within a metre of the roof's centre.
    cx = result.before.transform.c + (NEW[1] + NEW[3] / 2) * 0.5
    cy = result.before.transform.f - (NEW[0] + NEW[2] / 2) * 0.5
    c = r.geometry.centroid
    assert abs(c.x - cx) < 1.0 and abs(c.y - cy) < 1.0
    assert 0.5 <= r.confidence <= 1.0
    assert r.brightness == "brighter"
    assert r.evidence["after_mean"][0] > r.evidence["before_mean"][0]


def test_demolished_structure_found(pair):
    before, after = pair(BUILDINGS + [NEW], BUILDINGS)
    found = structure_changes(detect(before, after))
    assert [r.change_class for r in found] == ["structure_demolished"]
    assert 200 <= found[0].area_m2 <= 260


def test_no_event_with_gain_and_noise_reports_no_structure(pair):
    before, after = pair(BUILDINGS, BUILDINGS, gain=1.08)
    result = detect(before, after)
    assert structure_changes(result) == []
    # Sensor gain is not change: almost nothing is flagged at all.
    assert sum(r.area_m2 for r in result.regions) < 50


def test_misregistered_pair_is_corrected(tmp_path):
    from scipy import ndimage

    a = camp_scene(7, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = np.stack([ndimage.shift(x, (1.5, -1.2), order=1, mode="nearest") for x in a])
    pa = write_tif(tmp_path / "a_2020-01-01.tif", a.astype("uint16"))
    pb = write_tif(tmp_path / "b_2020-02-01.tif", np.round(b).astype("uint16"))
    result = detect(pa, pb)
    # The shift that registers b onto a is the opposite of the one applied.
    assert result.shift == pytest.approx((-1.5, 1.2), abs=0.2)
    assert structure_changes(result) == []
    # What is left after the correction, measured on tiles, is a fraction of a pixel.
    assert result.residual_shift is not None and result.residual_shift["tiles"] >= 4
    assert result.residual_shift["max_px"] < 0.5


def test_class_mask_codes(pair):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    result = detect(before, after)
    codes = set(np.unique(result.classes).tolist())
    assert CLASSES["structure_new"].code in codes
    r0, c0, h, w = NEW
    roof = result.classes[r0 + 2:r0 + h - 2, c0 + 2:c0 + w - 2]
    assert (roof == CLASSES["structure_new"].code).mean() > 0.9
    assert NOT_ANALYSED not in codes or (result.classes == NOT_ANALYSED).mean() < 0.02


def test_nodata_is_never_change(tmp_path):
    a = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    b = camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2)
    b[:, :, 160:200] = 0  # a nodata strip over the new building's east end
    pa = write_tif(tmp_path / "a_2020-01-01.tif", a)
    pb = write_tif(tmp_path / "b_2020-02-01.tif", b)
    result = detect(pa, pb)
    assert (result.classes[:, 162:198] == NOT_ANALYSED).all()
    for r in result.regions:
        assert not r.geometry.intersects(_strip(result, 160, 200).buffer(-0.6))


def _strip(result, c0, c1):
    from shapely.geometry import box

    t = result.before.transform
    rows = result.before.shape[0]
    return box(t.c + c0 * 0.5, t.f - rows * 0.5, t.c + c1 * 0.5, t.f)


def test_before_must_be_earlier(pair):
    before, after = pair()
    with pytest.raises(InputError, match="later than the after image"):
        detect(after, before)


def test_same_date_is_an_error(pair):
    before, after = pair(dates=("2020-05-01", "2020-05-01_b"))
    with pytest.raises(InputError, match="same date"):
        detect(before, after)


def test_fixed_thresholds_are_used(pair):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    result = detect(before, after, config=DetectConfig(gain_threshold=50.0, loss_threshold=50.0))
    assert result.thresholds.gain == 50.0 and result.thresholds.method.endswith("manual")
    assert structure_changes(result) == []  # nothing is that strong


def _new_building_in_wgs84():
    """The after scene (with NEW built) resampled to WGS84 at about 0.5 m: (4, M, N) uint16 and its transform."""
    import rasterio
    from conftest import CRS, TRANSFORM
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    b = camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2)
    bounds = rasterio.transform.array_bounds(b.shape[1], b.shape[2], TRANSFORM)
    dst_t, w, h = calculate_default_transform(CRS, "EPSG:4326", b.shape[2], b.shape[1], *bounds,
                                              resolution=4.5e-6)
    out = np.zeros((4, h, w), "uint16")
    for i in range(4):
        reproject(b[i], out[i], src_transform=TRANSFORM, src_crs=CRS, dst_transform=dst_t, dst_crs="EPSG:4326",
                  resampling=Resampling.bilinear, src_nodata=0, dst_nodata=0)
    return out, dst_t


def test_after_image_in_another_crs_and_pixel_size_is_resampled(tmp_path):
    """An after image in WGS84 at another pixel size goes onto the before image's grid."""
    pa = write_tif(tmp_path / "a_2020-01-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    out, dst_t = _new_building_in_wgs84()
    h, w = out.shape[1:]
    pb = write_tif(tmp_path / "b_2020-06-01.tif", out, crs="EPSG:4326", transform=dst_t)
    result = detect(pa, pb)
    assert [r.change_class for r in structure_changes(result)] == ["structure_new"]
    assert any("resampled from EPSG:4326" in w for w in result.warnings)
    assert result.after.transform == result.before.transform


def test_bands_matched_by_name(tmp_path):
    a = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    b = camp_scene(7, buildings=BUILDINGS + [NEW], noise_seed=2)
    pa = write_tif(tmp_path / "a_2020-01-01.tif", a)
    pb = write_tif(tmp_path / "b_2020-06-01.tif", b[[2, 1, 0]], descriptions=("red", "green", "blue"))
    result = detect(pa, pb)
    assert result.before.band_names == ("blue", "green", "red") == result.after.band_names
    assert np.allclose(result.after.data[0][result.after.valid].mean(), b[0].mean(), rtol=0.05)
    assert any("only the bands both images have" in w for w in result.warnings)
    assert [r.change_class for r in structure_changes(result)] == ["structure_new"]


def test_a_folder_of_tiles_is_one_scene(tmp_path):
    """An after image given as a folder of tiles (another CRS) reads as their mosaic on the before grid."""
    pa = write_tif(tmp_path / "a_2020-01-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    out, dst_t = _new_building_in_wgs84()
    h, w = out.shape[1:]
    tiles = tmp_path / "after_2020-06-01"
    tiles.mkdir()
    hh, ww = h // 2, w // 2
    for k, (r0, c0) in enumerate([(0, 0), (0, ww), (hh, 0), (hh, ww)]):
        t = dst_t * dst_t.translation(c0, r0)
        write_tif(tiles / f"tile_{k}.tif", out[:, r0:r0 + hh if r0 == 0 else h, c0:c0 + ww if c0 == 0 else w],
                  crs="EPSG:4326", transform=t)
    result = detect(pa, tiles)
    assert result.after.date.isoformat() == "2020-06-01"
    assert [r.change_class for r in structure_changes(result)] == ["structure_new"]
    assert result.after.valid.mean() > 0.97  # the tiles' seams leave no gap
    assert any("tiles mosaicked" in w for w in result.warnings)


def test_folder_errors(tmp_path, pair):
    from campwatch.errors import SceneError

    before, _ = pair()
    empty = tmp_path / "empty_2020-06-01"
    empty.mkdir()
    with pytest.raises(SceneError, match="holds no GeoTIFF tiles"):
        detect(before, empty)
    mixed = tmp_path / "mixed_2020-06-01"
    mixed.mkdir()
    write_tif(mixed / "t1.tif", camp_scene(7, buildings=[], noise_seed=2))
    write_tif(mixed / "t2.tif", camp_scene(7, buildings=[], noise_seed=2), crs="EPSG:32651")
    with pytest.raises(SceneError, match="a folder must hold tiles of one image"):
        detect(before, mixed)


def test_detect_takes_a_large_window_by_blocks_and_the_result_cleans_up(pair):
    from campwatch import BlockwiseResult, PairRequest, analyse_pair

    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    config = DetectConfig(block_size_px=128, block_halo_m=10)
    result = detect(before, after, config=config)
    assert isinstance(result, BlockwiseResult) and result.blocks["count"] == 4
    assert result.summary().counts["structure_new"] == 1
    scratch = result.scratch
    assert scratch is not None and result.mask_path.is_file()
    result.close()
    assert not scratch.exists()
    with analyse_pair(PairRequest(before, after), config=config) as inside:
        assert inside.mask_path.is_file()
    assert not inside.mask_path.parent.exists()
    whole = detect(before, after)
    assert not isinstance(whole, BlockwiseResult)
    assert [r.change_class for r in whole.regions if r.change_class != "other_change"] == ["structure_new"]
