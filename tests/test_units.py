"""Unit tests of the pixel stages: alignment, radiometry, change, thresholds, clean-up, structures, clouds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import BUILDINGS, TRANSFORM, camp_scene
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS as RioCRS
from scipy import ndimage

from campwatch.config import DetectConfig
from campwatch.detection.align import apply_shift, estimate_shift
from campwatch.detection.change import change_measures, robust_sigma
from campwatch.detection.radiometry import (
    LinearFit,
    fit_departure,
    fit_invariant,
    invariant_candidates,
    match_histograms,
    normalize,
)
from campwatch.detection.segment import change_mask, clean_mask
from campwatch.detection.structures import find_structures, rectangularity
from campwatch.detection.threshold import choose_thresholds, noise_threshold
from campwatch.errors import ConfigError, GridMismatchError
from campwatch.io.pair import band_order, same_grid
from campwatch.io.scene import Scene, SceneInfo


def scene(data, valid=None, date=dt.date(2020, 1, 1)):
    data = np.asarray(data, dtype="float32")
    if valid is None:
        valid = np.ones(data.shape[1:], bool)
    return Scene(data=data, valid=valid, transform=TRANSFORM, crs=RioCRS.from_epsg(32652), date=date,
                 band_names=("blue", "green", "red", "nir")[: data.shape[0]])


def info(**kw):
    base = dict(path="a.tif", date=dt.date(2020, 1, 1), crs=RioCRS.from_epsg(32652), transform=TRANSFORM,
                width=10, height=10, count=4, dtype="uint16", nodata=0, band_names=("blue", "green", "red", "nir"))
    base.update(kw)
    return SceneInfo(**base)


def test_same_grid_and_band_order():
    from pathlib import Path

    assert same_grid(info(), info(path=Path("b.tif")))
    assert not same_grid(info(), info(path=Path("b.tif"), crs=RioCRS.from_epsg(32651)))
    assert not same_grid(info(), info(path=Path("b.tif"), width=11))
    assert not same_grid(info(), info(path=Path("b.tif"), transform=TRANSFORM * TRANSFORM.translation(3, 0)))
    idx_b, idx_a, notes = band_order(info(path=Path("a.tif")),
                                     info(path=Path("b.tif"), band_names=("red", "green", "blue", "nir")))
    assert idx_b == (1, 2, 3, 4) and idx_a == (3, 2, 1, 4) and "reordered" in notes[0]
    unnamed = (None, None, None, None)
    with pytest.raises(GridMismatchError, match="different band counts"):
        band_order(info(path=Path("a.tif"), band_names=unnamed),
                   info(path=Path("b.tif"), band_names=unnamed[:3], count=3))
    with pytest.raises(GridMismatchError, match="share no band"):
        band_order(info(path=Path("a.tif"), band_names=("pan",), count=1), info(path=Path("b.tif")))


@pytest.mark.parametrize("shift", [(0.0, 0.0), (1.3, -0.7), (-2.0, 2.0), (0.4, 1.9)])
def test_estimate_shift_recovers_known_shift(shift):
    a = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = np.stack([ndimage.shift(x, shift, order=1, mode="nearest") for x in a])
    est = estimate_shift(scene(a), scene(b))
    assert est == pytest.approx((-shift[0], -shift[1]), abs=0.15)


def test_aligning_an_aligned_pair_changes_nothing():
    a = scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    est = estimate_shift(a, a)
    assert est == (0.0, 0.0)
    assert apply_shift(a, est) is a


def test_invariant_fit_recovers_gain_despite_a_cloud():
    rng = np.random.default_rng(0)
    ref = rng.uniform(100, 600, (4, 120, 120)).astype("float32")
    img = ref * np.array([1.1, 0.9, 1.05, 1.2])[:, None, None] + np.array([5, -3, 0, 10])[:, None, None]
    img[:, :40, :40] += 900  # a cloud over a ninth of the scene
    out = fit_invariant(img, ref, np.ones((120, 120), bool)).apply(img)
    assert np.abs(out[:, 60:, 60:] - ref[:, 60:, 60:]).max() < 1.0


def test_a_given_radiometric_fit_is_applied_as_it_is():
    rng = np.random.default_rng(0)
    ref = rng.uniform(100, 600, (4, 60, 60)).astype("float32")
    img = ref * 1.25 + 7
    fit = fit_invariant(img, ref, np.ones((60, 60), bool))
    assert fit.gain == pytest.approx((0.8,) * 4, rel=1e-4)
    assert fit.offset == pytest.approx((-5.6,) * 4, abs=0.05)
    given = LinearFit(gain=(2.0, 1.0, 1.0, 0.5), offset=(1.0, 0.0, -1.0, 0.0))
    out = normalize(scene(ref), scene(img), fit=given)
    assert np.allclose(out.data[0], 2 * img[0] + 1) and np.allclose(out.data[3], 0.5 * img[3])
    with pytest.raises(ValueError, match="3 bands"):
        LinearFit((1.0,) * 3, (0.0,) * 3).apply(img)


def test_fit_departure_is_in_noise_sigmas():
    img = np.full((2, 10, 10), 100.0, "float32")
    a = LinearFit((1.0, 1.0), (0.0, 0.0))
    b = LinearFit((1.1, 1.0), (0.0, -20.0))  # band 1: 10 apart at 100; band 2: 20 apart
    d = fit_departure(a, b, img, np.ones((10, 10), bool), (5.0, 10.0))
    assert d == pytest.approx(2.0)  # 2 sigmas on both bands
    assert fit_departure(a, a, img, np.ones((10, 10), bool), (5.0, 10.0)) == 0


def test_change_measures_take_given_noise_sigmas():
    a = np.full((2, 40, 40), 100.0, "float32")
    b = a.copy()
    b[0, :10] += 30.0
    b[1, :10] += 40.0
    m = change_measures(scene(a), scene(b), sigma=(10.0, 20.0))
    assert m.sigma == (10.0, 20.0)
    assert m.magnitude[0, 0] == pytest.approx(np.sqrt((3.0**2 + 2.0**2) / 2))
    assert m.magnitude[20, 20] == 0
    with pytest.raises(ValueError, match="1 noise sigmas given for 2 bands"):
        change_measures(scene(a), scene(b), sigma=(10.0,))


def test_invariant_candidates_leave_out_vegetation_and_shadow():
    a = np.full((4, 10, 10), 300.0, "float32")
    a[3, :5] = 900  # vegetation: high NIR
    a[:, 8:] = 50  # shadow
    keep = invariant_candidates(a, a, np.ones((10, 10), bool), ("blue", "green", "red", "nir"), min_share=0)
    assert not keep[:5].any() and not keep[8:].any() and keep[5:8].all()


def test_match_histograms_matches_quantiles():
    rng = np.random.default_rng(1)
    ref = rng.normal(300, 30, (1, 50, 50)).astype("float32")
    img = ref * 2 + 40
    out = match_histograms(img, ref, np.ones((50, 50), bool))
    assert np.quantile(out, [0.1, 0.5, 0.9]) == pytest.approx(np.quantile(ref, [0.1, 0.5, 0.9]), abs=0.5)


def test_identical_scenes_have_no_change():
    a = scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    m = change_measures(a, a)
    assert np.all(m.magnitude == 0)
    assert robust_sigma(np.array([])) == 0.0


def _pair_measures(extra_noise: float):
    a = camp_scene(3, buildings=BUILDINGS, noise_seed=1).astype("float32")
    b = a + np.random.default_rng(2).normal(0, extra_noise, a.shape)
    b[:, 100:130, 100:140] += 200
    return change_measures(scene(a), scene(b))


@settings(max_examples=25, deadline=None)
@given(k1=st.floats(1.0, 8.0), k2=st.floats(1.0, 8.0))
def test_a_higher_threshold_never_yields_a_larger_mask(k1, k2):
    m = _pair_measures(5.0)
    lo, hi = sorted((k1, k2))
    masks = [change_mask(m, choose_thresholds(m, DetectConfig(threshold_method="noise", noise_k=k)))
             for k in (lo, hi)]
    assert masks[1].sum() <= masks[0].sum()
    assert np.all(masks[0] | ~masks[1])  # the high mask lies within the low one


def test_thresholds_find_the_change_and_not_the_noise():
    m = _pair_measures(5.0)
    t = choose_thresholds(m, DetectConfig())
    mask = clean_mask(change_mask(m, t), pixel_size=0.5, config=DetectConfig())
    assert mask[102:128, 102:138].all()
    assert mask.sum() < 30 * 40 * 1.2
    assert noise_threshold(np.array([])) == float("inf")


def test_clean_mask_removes_slivers_and_specks():
    mask = np.zeros((100, 100), bool)
    mask[10:40, 10:40] = True  # 225 m2: kept
    mask[60, 10:90] = True  # a one-pixel sliver
    mask[80:84, 80:84] = True  # 4 m2 speck
    out = clean_mask(mask, pixel_size=0.5, config=DetectConfig())
    assert out[12:38, 12:38].all()
    assert not out[60].any() and not out[80:84, 80:84].any()


def test_rectangularity():
    m = np.zeros((50, 50), bool)
    m[10:20, 5:45] = True
    assert rectangularity(m) > 0.95
    yy, xx = np.mgrid[:50, :50]
    assert rectangularity((yy - 25) ** 2 + (xx - 25) ** 2 < 400) == pytest.approx(np.pi / 4, abs=0.06)


def test_structures_need_a_shadow():
    with_shadow = scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    found = find_structures(with_shadow, config=DetectConfig())
    assert len(found.objects) == len(BUILDINGS)
    # The shadows fall to the north-west: up (-row) and left (-col).
    assert found.direction[0] < 0 and found.direction[1] < 0
    flat = camp_scene(3, buildings=[], noise_seed=1).astype("float32")
    for r0, c0, h, w in BUILDINGS:
        flat[:, r0:r0 + h, c0:c0 + w] = 600  # bright patches with no shadow: not structures
    assert find_structures(scene(flat), config=DetectConfig()).objects == {}


@pytest.mark.parametrize("values, message", [
    (dict(threshold_method="magic"), "threshold_method='magic' is not valid; expected one of auto, otsu, noise"),
    (dict(min_area_m2=-1), "min_area_m2=-1 is not valid"),
    (dict(gain_threshold=0), "gain_threshold=0 is not valid"),
    (dict(hysteresis_ratio=1.5), "hysteresis_ratio=1.5"),
    (dict(min_structure_area_m2=10, max_structure_area_m2=5), "larger than max_structure_area_m2"),
])
def test_config_validation(values, message):
    with pytest.raises(ConfigError) as info:
        DetectConfig(**values)
    assert message in str(info.value)


def test_config_from_file(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[detect]\nmin_area_m2 = 40\nthreshold_method = 'otsu'\n")
    c = DetectConfig.from_file(p)
    assert c.min_area_m2 == 40 and c.threshold_method == "otsu"
    assert c.replace(min_area_m2=None, noise_k=5).noise_k == 5
    j = tmp_path / "c.json"
    j.write_text('{"noise_k": 3}')
    assert DetectConfig.from_file(j).noise_k == 3
    with pytest.raises(ConfigError, match="cannot be parsed"):
        (tmp_path / "bad.toml").write_text("= =")
        DetectConfig.from_file(tmp_path / "bad.toml")
    with pytest.raises(ConfigError, match="cannot be read"):
        DetectConfig.from_file(tmp_path / "none.toml")


@settings(max_examples=25, deadline=None)
@given(
    st.floats(-4.9, 4.9, allow_nan=False).map(lambda v: round(v, 2)),
    st.floats(-4.9, 4.9, allow_nan=False).map(lambda v: round(v, 2)),
)
def test_apply_shift_resamples_as_scipy_does(dr, dc):
    # The separable shift must give ndimage.shift's bilinear values, edges repeated.
    from campwatch.detection.align import _shift_bilinear

    data = np.random.default_rng(3).normal(500, 50, size=(2, 37, 53)).astype("float32")
    ours = _shift_bilinear(data, (dr, dc))
    ref = np.stack([ndimage.shift(b, (dr, dc), order=1, mode="nearest", prefilter=False) for b in data])
    assert ours.dtype == np.float32 and ours.shape == data.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-3)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(2, 40), st.integers(2, 40), st.integers(0, 8), st.integers(0, 8))
def test_upsample_bilinear_is_scipy_zoom(f, rows, cols, cut_r, cut_c):
    # The background of structures is brought back to the pixel grid as ndimage.zoom would.
    from campwatch.detection.structures import upsample_bilinear

    coarse = np.random.default_rng(rows * cols).normal(size=(rows, cols)).astype("float32")
    shape = (rows * f - min(cut_r, f - 1), cols * f - min(cut_c, f - 1))
    ours = upsample_bilinear(coarse, f, shape)
    ref = ndimage.zoom(coarse, f, order=1, mode="nearest", grid_mode=True)[: shape[0], : shape[1]]
    assert ours.shape == shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_rectangularity_counts_every_pixel_of_a_filled_shape():
    # The hull comes from the outline alone, the area from every pixel.
    ring = np.zeros((20, 20), dtype=bool)
    ring[2:18, 2:18] = True
    hollow = ring.copy()
    hollow[5:15, 5:15] = False
    assert rectangularity(ring) == pytest.approx(1.0)
    assert rectangularity(hollow) == pytest.approx((256 - 100) / 256)
