"""A large pair's changes kept in scratch files, and joined there: the same changes as joined in memory.

The reference join below is the join as campwatch did it in memory before changes went to scratch
(every piece held until the end); the streamed join must give the same changes, in the same
order, with the same bytes (WKB), whatever the layout of changes over the blocks.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box
from shapely.ops import unary_union

from campwatch.detection.blocks.joining import (
    GatheredPieces,
    _joined,
    _same,
    cut_to_core,
    linear,
    number_changes,
)
from campwatch.detection.blocks.plan import window_box
from campwatch.detection.blocks.store import ChangeStore, ScratchList
from tests.unit.test_joining import BLOCKS, SHAPE, TRANSFORM, region, xy_box


def test_a_scratch_list_reads_back_what_was_appended_in_order_and_by_index(tmp_path):
    items = ScratchList[dict](tmp_path / "items.pickle")
    for i in range(5):
        assert items.append({"n": i, "name": f"change {i}"}) == i
    assert len(items) == 5
    assert list(items) == [{"n": i, "name": f"change {i}"} for i in range(5)]  # read while still growing
    assert items[3] == {"n": 3, "name": "change 3"} and items[-1]["n"] == 4
    assert [x["n"] for x in items[1:4]] == [1, 2, 3]
    with pytest.raises(IndexError, match="index 5 out of a list of 5"):
        items[5]
    items.finish()
    with pytest.raises(ValueError, match="the list is finished"):
        items.append({"n": 5})
    # Sent to another process: the path and the offsets, not the open files.
    copy = pickle.loads(pickle.dumps(items))
    assert list(copy) == list(items) and copy[2]["n"] == 2
    items.close()
    assert list(ScratchList[int](tmp_path / "empty.pickle")) == []


def test_a_list_still_growing_is_not_sent_to_another_process(tmp_path):
    items = ScratchList[int](tmp_path / "items.pickle")
    items.append(1)
    with pytest.raises(ValueError, match="still growing"):
        pickle.dumps(items)


def test_a_change_store_keeps_a_geometrys_precision_grid_and_its_coordinates_bit_for_bit(tmp_path):
    snapped = shapely.set_precision(box(0.1234567, 0.7654321, 10.98765, 20.1111), 1e-3)
    plain = LineString([(0.1 + 1e-12, 0.2), (3.3333333333, 4.4)])
    store = ChangeStore(tmp_path / "changes.pickle")
    store.append(region(snapped, id=1))
    store.append(region(plain, "fence_razed", id=2))
    back = list(store.finish())
    assert shapely.get_precision(back[0].geometry) == 1e-3 and shapely.get_precision(back[1].geometry) == 0
    assert shapely.to_wkb(back[0].geometry) == shapely.to_wkb(snapped)
    assert shapely.to_wkb(back[1].geometry) == shapely.to_wkb(plain)
    assert back[0] == dataclasses.replace(region(snapped, id=1), geometry=back[0].geometry)
    # An overlay with the restored geometry is the overlay with the original.
    other = box(5.00049, 5.00049, 15, 15)
    assert shapely.to_wkb(other.difference(back[0].geometry)) == shapely.to_wkb(other.difference(snapped))


def test_pieces_inside_their_cores_go_to_scratch_and_only_those_that_cross_are_held(tmp_path):
    nw, ne = BLOCKS[0], BLOCKS[1]
    houses = [region(xy_box(5 + 8 * i, 5, 10 + 8 * i, 10)) for i in range(5)]
    across = region(xy_box(45, 20, 55, 30))
    gathered = GatheredPieces(tmp_path, 1.0)
    gathered.add(cut_to_core(houses + [across], nw, TRANSFORM, SHAPE))
    gathered.add(cut_to_core([across], ne, TRANSFORM, SHAPE))
    assert gathered.held == 2  # the two blocks' parts of the house across the core edge
    joined = gathered.join(4.0)
    assert len(joined.changes) == 6 and joined.joined == 1
    assert [c.id for c in joined.changes] == [1, 2, 3, 4, 5, 6]
    # The scratch folder holds the changes and the slivers, nothing else once joined.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changes.pickle", "slivers.pickle"]


def _reference_join(pieces, px, min_area_m2):
    """The join as it was in memory (campwatch 0.1.0 before changes went to scratch), then numbered."""
    parent = list(range(len(pieces)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shapes = [p.whole.buffer(2 * px) if linear(p.whole) else p.whole for p in pieces]
    tree = shapely.STRtree(shapes)
    for i, p in enumerate(pieces):
        if not p.crosses:
            continue
        for j in tree.query(shapes[i]):
            j = int(j)
            if find(i) != find(j) and _same(p, pieces[j], px):
                parent[find(i)] = find(j)
    groups = {}
    for i, p in enumerate(pieces):
        groups.setdefault(find(i), []).append(p)
    named, other = [], []
    for members in groups.values():
        r = members[0].region if len(members) == 1 and not members[0].crosses else _joined(members)
        (other if r.change_class == "other_change" else named).append(r)
    named_areas = [r.geometry for r in named if not linear(r.geometry)]
    named_tree = shapely.STRtree(named_areas) if named_areas else None
    out, dropped = list(named), []
    for r in other:
        if named_tree is not None:
            hits = [named_areas[int(i)] for i in named_tree.query(r.geometry, predicate="intersects")]
            if hits:
                rest = r.geometry.difference(unary_union(hits))
                r = dataclasses.replace(r, geometry=rest, area_m2=float(rest.area))
        (dropped if r.geometry.is_empty or r.area_m2 < min_area_m2 else out).append(r)
    return number_changes(out), dropped


_CLASSES = ["structure_new", "structure_demolished", "other_change", "other_change", "tower_added"]


@st.composite
def _layouts(draw):
    """Changes over the four blocks of the 100 px window: boxes and fence lines, some across core edges,
    each block's version of a change cut to what it read, some seen by one block as other change."""
    found = {b.index: [] for b in BLOCKS}
    for _ in range(draw(st.integers(1, 14))):
        c0, r0 = draw(st.integers(0, 92)), draw(st.integers(0, 92))
        if draw(st.integers(0, 5)) == 0:
            c1 = min(100, c0 + draw(st.integers(4, 60)))
            geom, classes = LineString([(c0, 100 - r0 - 0.5), (c1, 100 - r0 - 0.5)]), ["fence_razed"]
        else:
            geom = xy_box(c0, r0, min(100, c0 + draw(st.integers(3, 30))), min(100, r0 + draw(st.integers(3, 30))))
            classes = _CLASSES
        for b in BLOCKS:
            seen = geom.intersection(window_box(b.padded, TRANSFORM))
            if seen.is_empty or (seen.length if linear(seen) else seen.area) == 0:
                continue
            found[b.index].append(region(seen, draw(st.sampled_from(classes)),
                                         confidence=draw(st.sampled_from([0.6, 0.75, 0.9]))))
    return [cut_to_core(found[b.index], b, TRANSFORM, SHAPE) for b in BLOCKS]


@settings(max_examples=150, deadline=None)
@given(_layouts())
def test_the_streamed_join_gives_the_changes_the_join_in_memory_gave(tmp_path_factory, per_block):
    pieces = [p for block in per_block for p in block]
    expected, expected_dropped = _reference_join(pieces, 1.0, 20.0)
    gathered = GatheredPieces(tmp_path_factory.mktemp("join"), 1.0)
    for block in per_block:
        gathered.add(block)
    joined = gathered.join(20.0)
    got, dropped = list(joined.changes), list(joined.slivers)
    joined.close()

    def key(r):
        return r.id, r.change_class, shapely.to_wkb(r.geometry), r.area_m2, r.length_m, r.confidence, r.evidence

    assert [key(r) for r in got] == [key(r) for r in expected]
    assert [key(r) for r in dropped] == [key(r) for r in expected_dropped]
