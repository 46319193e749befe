"""Tests of campwatch.detection.structures."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import BUILDINGS, array_scene, camp_scene
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from campwatch.config import DetectConfig
from campwatch.detection.structures import find_structures, rectangularity


def test_rectangularity():
    m = np.zeros((50, 50), bool)
    m[10:20, 5:45] = True
    assert rectangularity(m) > 0.95
    yy, xx = np.mgrid[:50, :50]
    assert rectangularity((yy - 25) ** 2 + (xx - 25) ** 2 < 400) == pytest.approx(np.pi / 4, abs=0.06)


def test_structures_need_a_shadow():
    with_shadow = array_scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1))
    found = find_structures(with_shadow, config=DetectConfig())
    assert len(found.objects) == len(BUILDINGS)
    # The shadows fall to the north-west: up (-row) and left (-col).
    assert found.direction[0] < 0 and found.direction[1] < 0
    flat = camp_scene(3, buildings=[], noise_seed=1).astype("float32")
    for r0, c0, h, w in BUILDINGS:
        flat[:, r0:r0 + h, c0:c0 + w] = 600  # bright patches with no shadow: not structures
    assert find_structures(array_scene(flat), config=DetectConfig()).objects == {}


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


def test_each_building_is_found_where_it_stands_with_its_roof_area():
    found = find_structures(array_scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1)), config=DetectConfig())
    by_corner = {obj.bbox[:2]: obj for obj in found.objects.values()}
    for r0, c0, h, w in BUILDINGS:
        match = [o for (r, c), o in by_corner.items() if abs(r - r0) <= 2 and abs(c - c0) <= 2]
        assert len(match) == 1, f"the building at row {r0}, col {c0} was not found once"
        assert match[0].kind == "structure"
        assert match[0].area_m2 == pytest.approx(h * w * 0.25, rel=0.15)
        assert match[0].rectangularity > 0.85 and match[0].shadow_px > 0


def test_a_moved_map_keeps_each_object_with_its_box_and_drops_what_moves_off_the_grid():
    from campwatch.detection.structures import move_pixels, moved_map

    found = find_structures(array_scene(camp_scene(3, buildings=BUILDINGS, noise_seed=1)), config=DetectConfig())
    moved = moved_map(found, (2, -3))
    assert moved.labels.shape == found.labels.shape
    assert np.array_equal(moved.labels[2:, :-3], found.labels[:-2, 3:])
    assert (moved.labels[:2] == 0).all() and (moved.labels[:, -3:] == 0).all()
    for oid, obj in moved.objects.items():
        r0, c0, r1, c1 = obj.bbox
        rows, cols = np.nonzero(moved.labels == oid)
        assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (r0, c0, r1, c1)
    assert set(moved.objects) == set(found.objects)
    assert np.array_equal(moved.dark, move_pixels(found.dark, (2, -3), False))
    assert moved_map(found, (0, 0)) is found
    gone = moved_map(found, (0, found.labels.shape[1]))
    assert gone.objects == {} and not gone.labels.any()


def test_objects_found_in_windows_are_those_of_the_whole_scene_there_and_a_cut_one_is_left_out():
    scene = array_scene(camp_scene(7, buildings=BUILDINGS, noise_seed=1, shape=(256, 480)))
    whole = find_structures(scene, config=DetectConfig())
    # One window holds the first two buildings with room around them; another cuts the third
    # (rows 120-140, cols 40-84) in two.
    windows = [(slice(0, 100), slice(0, 240)), (slice(110, 256), slice(60, 240))]
    part = find_structures(scene, config=DetectConfig(), windows=windows)
    boxes = sorted(o.bbox for o in part.objects.values() if o.kind == "structure")

    def inside(box: tuple[int, int, int, int]) -> bool:
        return any(rows.start < box[0] and box[2] < rows.stop and cols.start < box[1] and box[3] < cols.stop
                   for rows, cols in windows)

    # The same objects, the same boxes, as over the whole scene; the third building, cut, is not one.
    assert boxes == sorted(o.bbox for o in whole.objects.values() if o.kind == "structure" and inside(o.bbox))
    assert [b[:2] for b in boxes] == [(40, 40), (40, 130), (120, 140), (200, 90)]
    # Nothing is looked for outside the windows.
    outside = np.ones(scene.shape, bool)
    for rows, cols in windows:
        outside[rows, cols] = False
    assert not (part.labels[outside] > 0).any() and not part.dark[outside].any()
    assert find_structures(scene, config=DetectConfig(), windows=[]).objects == {}
