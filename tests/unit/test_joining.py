"""How a window is cut into blocks, and how the parts of a change that blocks found are joined again.

A 100 m x 100 m window of 1 m pixels (the grid's top-left corner at x=0, y=100) in blocks of 50 px
with a halo of 10 px: four cores, (0, 0) north-west to (1, 1) south-east.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from rasterio.io import MemoryFile
from rasterio.windows import Window
from shapely.geometry import LineString, box

from campwatch.classes import CLASSES, OBSCURED
from campwatch.detection.blocks.joining import EDGE_PX, burn, cut_to_core, join_pieces, number_changes, weight
from campwatch.detection.blocks.plan import plan_blocks, px_bounds, window_box, within_one_core
from campwatch.detection.results import ChangeRegion

TRANSFORM = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 100.0)
SHAPE = (100, 100)
BLOCKS = plan_blocks(SHAPE, 50, 10)
BY_INDEX = {b.index: b for b in BLOCKS}


def region(geom, change_class="structure_new", *, confidence=0.9, id=0, width_m=5.0) -> ChangeRegion:
    linear = CLASSES[change_class].linear
    return ChangeRegion(
        id=id, geometry=geom, change_class=change_class, confidence=confidence,
        area_m2=0.0 if linear else float(geom.area), mean_change=0.5, changed_fraction=0.8, brightness="brighter",
        vegetation=None, ndvi_change=None, width_m=width_m, rectangularity=1.0, contrast_before=0.0,
        contrast_after=0.3, shadow_before=0.0, shadow_after=2.0, cause="test", evidence={"seen_by": "test"},
        length_m=float(geom.length) if linear else None)


def xy_box(col0, row0, col1, row1):
    """A box given in pixel columns and rows of the window (rows grow southwards)."""
    return box(col0, 100 - row1, col1, 100 - row0)


def test_the_cores_tile_the_window_and_each_read_adds_the_halo_within_it():
    assert [b.index for b in BLOCKS] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    cores = np.zeros(SHAPE, int)
    for b in BLOCKS:
        cores[b.core.toslices()] += 1
    assert (cores == 1).all()
    nw, se = BY_INDEX[(0, 0)], BY_INDEX[(1, 1)]
    assert nw.padded == Window(0, 0, 60, 60)  # no halo beyond the window's own edges
    assert se.padded == Window(40, 40, 60, 60)
    assert se.core_in_padded == (slice(10, 60), slice(10, 60))
    # A window that is not a multiple of the block: the last blocks are smaller.
    ragged = plan_blocks((70, 120), 50, 5)
    assert [(b.core.height, b.core.width) for b in ragged] == [(50, 50), (50, 50), (50, 20), (20, 50), (20, 50), (20, 20)]
    assert ragged[-1].padded == Window(95, 45, 25, 25)


def test_window_boxes_and_pixel_bounds_are_each_others_inverse():
    nw = BY_INDEX[(0, 0)]
    assert window_box(nw.core, TRANSFORM).bounds == (0.0, 50.0, 50.0, 100.0)
    assert window_box(nw.padded, TRANSFORM).bounds == (0.0, 40.0, 60.0, 100.0)
    assert px_bounds(xy_box(12, 30, 20, 41), TRANSFORM) == (30.0, 12.0, 41.0, 20.0)


def test_a_change_within_one_core_is_answered_for_by_that_block_alone():
    house = region(xy_box(10, 10, 20, 20))
    assert within_one_core(house.geometry, BLOCKS, TRANSFORM)
    assert not within_one_core(xy_box(45, 10, 55, 20), BLOCKS, TRANSFORM)
    pieces = cut_to_core([house], BY_INDEX[(0, 0)], TRANSFORM, SHAPE)
    assert len(pieces) == 1
    p = pieces[0]
    assert p.block == (0, 0) and not p.crosses and p.seen_whole
    assert p.part.equals(house.geometry) and p.read_area.bounds == (0.0, 40.0, 60.0, 100.0)
    # The block east of it read only its halo there: the change is not its to answer for.
    assert cut_to_core([region(xy_box(42, 10, 48, 20))], BY_INDEX[(0, 1)], TRANSFORM, SHAPE) == []


def test_a_change_across_a_core_edge_is_cut_to_the_core_and_marked_seen_whole_only_clear_of_the_read_edge():
    nw = BY_INDEX[(0, 0)]
    across = cut_to_core([region(xy_box(45, 10, 55, 20))], nw, TRANSFORM, SHAPE)[0]
    assert across.crosses and across.seen_whole
    assert across.part.bounds == (45.0, 80.0, 50.0, 90.0) and across.part.area == pytest.approx(50.0)
    assert across.whole.area == pytest.approx(100.0)
    # Within EDGE_PX of what the block read (col 60), the change may go on beyond it.
    cut = cut_to_core([region(xy_box(45, 10, 60 - EDGE_PX + 1, 20))], nw, TRANSFORM, SHAPE)[0]
    assert cut.crosses and not cut.seen_whole
    # The window's own edge is no cut: nothing lies beyond it.
    west = cut_to_core([region(xy_box(0, 10, 8, 20))], nw, TRANSFORM, SHAPE)[0]
    assert west.seen_whole and not west.crosses
    # A line touching the core only at a point has no length in it: no piece.
    touch = region(LineString([(50, 70), (58, 70)]), "fence_razed")
    assert cut_to_core([touch], nw, TRANSFORM, SHAPE) == []


def _pieces(*found):
    """Pieces as each block cuts what it found: ``found`` is (block index, [regions])."""
    return [p for index, regions in found for p in cut_to_core(regions, BY_INDEX[index], TRANSFORM, SHAPE)]


def test_a_structure_split_over_two_cores_is_one_change_again():
    house = xy_box(45, 10, 55, 20)
    pieces = _pieces(((0, 0), [region(house, confidence=0.8)]), ((0, 1), [region(house, confidence=0.6)]))
    changes, dropped = join_pieces(pieces, 1.0, 4.0)
    assert dropped == []
    assert len(changes) == 1
    joined = changes[0]
    assert joined.change_class == "structure_new"
    assert joined.geometry.equals(house) and joined.area_m2 == pytest.approx(100.0)
    assert joined.confidence == pytest.approx(0.7)  # weighted by each block's share (50 m2 each)
    assert joined.evidence["joined_from_blocks"] == 2
    assert joined.evidence["classes_of_parts"] == {"structure_new": pytest.approx(100.0)}


def test_a_structure_over_four_cores_that_no_block_saw_whole_is_the_union_of_the_parts():
    # 40 m a side around the centre of the window: every block's read edge (col/row 40 or 60) cuts it.
    big = xy_box(30, 30, 70, 70)
    pieces = _pieces(*((b.index, [region(big.intersection(window_box(b.padded, TRANSFORM)))]) for b in BLOCKS))
    assert not any(p.seen_whole for p in pieces)
    changes, _ = join_pieces(pieces, 1.0, 4.0)
    assert len(changes) == 1
    assert changes[0].geometry.equals(big) and changes[0].area_m2 == pytest.approx(1600.0)
    assert changes[0].evidence["joined_from_blocks"] == 4


def test_the_class_of_the_larger_share_wins_and_other_change_under_a_named_change_is_cut_away():
    # One block named a demolished building; the next saw the same ground as other change and a sliver beyond.
    house = xy_box(40, 10, 55, 20)
    pieces = _pieces(((0, 0), [region(house, "structure_demolished")]),
                     ((0, 1), [region(xy_box(40, 10, 57, 20), "other_change", width_m=2.0)]))
    changes, dropped = join_pieces(pieces, 1.0, 25.0)
    assert [c.change_class for c in changes] == ["structure_demolished"]
    assert changes[0].geometry.equals(house)
    # What is left of the other change once the named one has its pixels: 2 m x 10 m, under 25 m2.
    assert len(dropped) == 1 and dropped[0].area_m2 == pytest.approx(20.0)
    kept, dropped = join_pieces(pieces, 1.0, 10.0)
    assert sorted(c.change_class for c in kept) == ["other_change", "structure_demolished"]
    assert dropped == []


def test_two_classes_of_one_change_join_to_the_larger_share():
    whole = xy_box(40, 10, 58, 20)
    pieces = _pieces(((0, 0), [region(whole, "structure_modified")]), ((0, 1), [region(whole, "structure_new")]))
    # Different classes are not one change by _same: each stands.
    changes, _ = join_pieces(pieces, 1.0, 4.0)
    assert sorted(c.change_class for c in changes) == ["structure_modified", "structure_new"]


def test_a_fence_line_across_cores_is_joined_by_length():
    line = LineString([(30, 75), (70, 75)])
    pieces = _pieces(((0, 0), [region(line.intersection(window_box(BY_INDEX[(0, 0)].padded, TRANSFORM)), "fence_razed")]),
                     ((0, 1), [region(line.intersection(window_box(BY_INDEX[(0, 1)].padded, TRANSFORM)), "fence_razed")]))
    assert [weight(p.part) for p in pieces] == [pytest.approx(20.0), pytest.approx(20.0)]
    changes, _ = join_pieces(pieces, 1.0, 4.0)
    assert len(changes) == 1
    assert changes[0].change_class == "fence_razed"
    assert changes[0].length_m == pytest.approx(40.0)
    assert changes[0].geometry.equals(line)
    assert changes[0].evidence["joined_from_blocks"] == 2


def test_changes_are_numbered_as_a_whole_scene_run_numbers_them():
    fence = region(LineString([(5, 95), (40, 95)]), "fence_razed")
    other_north = region(xy_box(60, 5, 70, 15), "other_change")
    south_house = region(xy_box(10, 80, 20, 90), "structure_new")
    north_east_tower = region(xy_box(80, 10, 83, 13), "tower_added")
    north_west_house = region(xy_box(10, 10, 20, 16), "structure_demolished")
    numbered = number_changes([fence, other_north, south_house, north_east_tower, north_west_house])
    assert [(r.id, r.change_class) for r in numbered] == [
        (1, "tower_added"),  # structures and towers first, north to south (its centre is north of the house's)
        (2, "structure_demolished"),
        (3, "structure_new"),
        (4, "other_change"),
        (5, "fence_razed"),
    ]


def test_burn_writes_the_final_class_but_not_over_cloud():
    codes = np.full((100, 100), CLASSES["other_change"].code, np.uint8)
    codes[:, 50:] = 0
    codes[10:20, 45:47] = OBSCURED
    profile = dict(driver="GTiff", width=100, height=100, count=1, dtype="uint8", transform=TRANSFORM, crs="EPSG:32652")
    with MemoryFile() as mem, mem.open(**profile) as dst:
        dst.write(codes, 1)
        burn(dst, [region(xy_box(40, 10, 55, 20), "structure_new")], 1.0)
        out = dst.read(1)
    new = CLASSES["structure_new"].code
    assert (out[10:20, 40:45] == new).all() and (out[10:20, 47:55] == new).all()
    assert (out[10:20, 45:47] == OBSCURED).all()
    assert int((out == new).sum()) == 150 - 20
    assert (out[:10] != new).all() and (out[20:] != new).all()


def test_a_fence_line_one_block_alone_found_across_its_core_edge_is_its_part():
    # The north-west block sees the line run on to the edge of what it read (col 60): not seen whole;
    # the block east of it did not find it. One part, one line: kept as it is (linemerge refuses one line).
    line = LineString([(30, 75), (60, 75)])
    pieces = _pieces(((0, 0), [region(line, "fence_razed")]))
    assert len(pieces) == 1 and pieces[0].crosses and not pieces[0].seen_whole
    changes, dropped = join_pieces(pieces, 1.0, 4.0)
    assert dropped == [] and len(changes) == 1
    assert changes[0].change_class == "fence_razed"
    assert changes[0].geometry.equals(LineString([(30, 75), (50, 75)]))
    assert changes[0].length_m == pytest.approx(20.0)
