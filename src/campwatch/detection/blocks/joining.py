"""The parts of a change that different blocks found, joined into one change again whatever its size;
the changes numbered as a whole-scene run numbers them; the final classes burnt into the mask."""

from __future__ import annotations

import dataclasses
import math
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED, ClassSummary, summarize
from campwatch.detection.blocks.plan import (
    Block,
    px_bounds,
    window_box,
)
from campwatch.detection.blocks.store import ChangeStore, ScratchList, with_precision
from campwatch.detection.results import ChangeRegion

__all__ = ["Piece", "cut_to_core", "EDGE_PX", "linear", "join_pieces", "GatheredPieces", "JoinedChanges", "weight",
           "number_changes", "burn"]


@dataclass(frozen=True)
class Piece:
    """The part of a change that one block answers for, and the change as that block saw it."""

    block: tuple[int, int]
    region: ChangeRegion
    part: BaseGeometry
    whole: BaseGeometry
    read_area: BaseGeometry
    #: Whether the change reaches out of the block's core.
    crosses: bool = False
    #: Whether the block saw all of the change (it stays clear of the edges of what was read).
    seen_whole: bool = True


def cut_to_core(regions: list[ChangeRegion], blk: Block, transform: Affine, shape: tuple[int, int]) -> list[Piece]:
    """Every change a block found, cut to the block's core (the part it answers for).

    A change that stays clear of the edges of what the block read (other than the edges
    of the whole window) is marked as seen whole.
    """
    core_box = window_box(blk.core, transform)
    read_box = window_box(blk.padded, transform)
    p = blk.padded
    edges = (p.row_off > 0, p.col_off > 0, p.row_off + p.height < shape[0], p.col_off + p.width < shape[1])
    out = []
    for region in regions:
        geom = region.geometry
        inside = geom.within(core_box)
        part = geom if inside else geom.intersection(core_box)
        if part.is_empty or weight(part) == 0:
            continue
        r0, c0, r1, c1 = px_bounds(geom, transform)
        cut = ((edges[0] and r0 < p.row_off + EDGE_PX) or (edges[1] and c0 < p.col_off + EDGE_PX)
               or (edges[2] and r1 > p.row_off + p.height - EDGE_PX)
               or (edges[3] and c1 > p.col_off + p.width - EDGE_PX))
        out.append(Piece(blk.index, region, part, geom, read_box, crosses=not inside, seen_whole=not cut))
    return out


#: A change closer than this (pixels) to the edge of what a block read may go on beyond it.
EDGE_PX = 3


def linear(geom: BaseGeometry) -> bool:
    return geom.geom_type in ("LineString", "MultiLineString")


def _same(a: Piece, b: Piece, px: float) -> bool:
    """Whether two blocks' versions of a change are one: of one class, they share most of what both blocks see."""
    if a.block == b.block or a.region.change_class != b.region.change_class:
        return False
    if linear(a.whole):
        shared = a.whole.intersection(b.whole.buffer(2 * px)).length
        seen = min(a.whole.intersection(b.read_area).length, b.whole.intersection(a.read_area).length)
    else:
        shared = a.whole.intersection(b.whole).area
        seen = min(a.whole.intersection(b.read_area).area, b.whole.intersection(a.read_area).area)
    return seen > 0 and shared > 0.25 * seen


def join_pieces(pieces: list[Piece], px: float, min_area_m2: float) -> tuple[list[ChangeRegion], list[ChangeRegion]]:
    """Join the parts of changes cut at core edges into whole changes, numbered (:class:`GatheredPieces`, in memory).

    Returns the changes, and the slivers dropped (other change at a core edge smaller than
    ``min_area_m2`` once joined).
    """
    with tempfile.TemporaryDirectory(prefix="campwatch-join-") as folder:
        gathered = GatheredPieces(Path(folder), px)
        gathered.add(pieces)
        joined = gathered.join(min_area_m2)
        out = list(joined.changes), list(joined.slivers)
        joined.close()
    return out


def _shape(piece: Piece, px: float) -> BaseGeometry:
    """What a piece's version of its change covers, for finding other blocks' versions: a line widened by 2 px."""
    return piece.whole.buffer(2 * px) if linear(piece.whole) else piece.whole


@dataclass
class JoinedChanges:
    """The changes of a pair analysed by blocks, joined and numbered, in the scratch folder."""

    #: Every change, numbered as a whole-scene run numbers them.
    changes: ChangeStore
    #: Other change at a core edge smaller than the smallest change once joined: to burn as no change.
    slivers: ChangeStore
    #: How many changes were joined from the parts of more than one block.
    joined: int
    #: How the changes add up per class.
    summary: ClassSummary

    def close(self) -> None:
        self.changes.close()
        self.slivers.close()


class GatheredPieces:
    """The blocks' pieces of changes as blocks finish, joined into whole changes once all have.

    A piece inside its block's core (nearly all) goes to a scratch file in ``folder`` at once;
    a piece that crosses a core edge is held. Joining reads the scratch file twice in order and
    holds only the pieces that cross and those they join, and each change's place in the
    numbering (about 40 bytes): memory does not grow with the changes a pair holds.

    Parts from different blocks that are one change (:func:`_same`, asked of a piece that
    crosses) are joined: the class is the one of the larger share (area; length for fences),
    the measurements those of its largest part. Where one block named a change and another saw
    only other change, the named one stands (as in a whole-scene run, where structures claim
    their pixels first): other change loses what a named change covers, and what is left under
    the smallest change is a sliver, dropped.
    """

    def __init__(self, folder: Path, px: float) -> None:
        self.folder, self.px = Path(folder), px
        self._inside = _PieceStore(self.folder / "pieces_inside.pickle")
        self._inside_order = array("q")  # each stored piece's place among all pieces
        self._crossing: list[tuple[int, Piece]] = []
        self._count = 0

    def add(self, pieces: Iterable[Piece]) -> None:
        """One block's pieces, in the blocks' order."""
        for piece in pieces:
            if piece.crosses:
                self._crossing.append((self._count, piece))
            else:
                self._inside.append(piece)
                self._inside_order.append(self._count)
            self._count += 1

    @property
    def held(self) -> int:
        """How many pieces are held in memory (those that cross a core edge)."""
        return len(self._crossing)

    def join(self, min_area_m2: float) -> JoinedChanges:
        """Join, drop slivers and number every change; the scratch files of the pieces are removed."""
        groups, held = self._groups()
        named, other, keys = ChangeStore(self.folder / "named.pickle"), ChangeStore(self.folder / "other.pickle"), _Keys()
        named_areas = _Boxes()  # the named changes that are areas: where each is in ``named``, its bounds

        def emit(region: ChangeRegion) -> None:
            if region.change_class == "other_change":
                other.append(region)
                return
            if not linear(region.geometry):
                named_areas.add(len(named), region.geometry)
            named.append(region)
            keys.add(region)

        pending = iter(groups)
        nxt = next(pending, None)
        for s, piece in enumerate(self._inside.finish()):
            g = self._inside_order[s]
            while nxt is not None and nxt[0] <= g:  # a group is emitted where its first piece came
                emit(_group_region([held[i] for i in nxt]))
                nxt = next(pending, None)
            if g not in held:
                emit(piece.region)
        while nxt is not None:
            emit(_group_region([held[i] for i in nxt]))
            nxt = next(pending, None)
        del held
        self._inside.close()
        self._inside.path.unlink(missing_ok=True)
        kept, slivers = self._named_stand(named.finish(), other.finish(), named_areas, min_area_m2, keys)
        changes, joined, summary = _numbered(named, kept, keys, self.folder / "changes.pickle")
        for store in (named, other, kept):
            store.close()
            store.path.unlink(missing_ok=True)
        return JoinedChanges(changes=changes, slivers=slivers, joined=joined, summary=summary)

    def _groups(self) -> tuple[list[list[int]], dict[int, Piece]]:
        """The pieces that are one change with another block's (by their places among all pieces, each group in
        order and the groups in the order of their first pieces), and those pieces."""
        px, crossing = self.px, self._crossing
        shapes = [_shape(p, px) for _, p in crossing]
        tree = shapely.STRtree(shapes)
        held = dict(crossing)
        parent = {g: g for g, _ in crossing}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for k, (g, p) in enumerate(crossing):
            for j in tree.query(shapes[k]):
                h, q = crossing[int(j)]
                if find(g) != find(h) and _same(p, q, px):
                    parent[find(g)] = find(h)
        if crossing:  # a piece inside its core joins a piece that crosses into it
            for s, q in enumerate(self._inside.finish()):
                g = self._inside_order[s]
                for j in tree.query(_shape(q, px)):
                    h, p = crossing[int(j)]
                    if (g not in parent or find(g) != find(h)) and _same(p, q, px):
                        parent.setdefault(g, g)
                        held[g] = q
                        parent[find(g)] = find(h)
        members: dict[int, list[int]] = {}
        for g in sorted(parent):
            members.setdefault(find(g), []).append(g)
        return sorted(members.values()), held

    def _named_stand(self, named: ChangeStore, other: ChangeStore, areas: _Boxes, min_area_m2: float,
                     keys: _Keys) -> tuple[ChangeStore, ChangeStore]:
        """Other change without what named changes cover; what is left under ``min_area_m2`` is a sliver.

        The named areas are found by their bounds (a tree of boxes, built as a tree of the areas
        themselves would be: the same candidates in the same order) and read back to be cut away."""
        tree = areas.tree()
        kept, slivers = ChangeStore(self.folder / "kept.pickle"), ChangeStore(self.folder / "slivers.pickle")
        for region in other:
            if tree is not None:
                geom = region.geometry
                found = (named[areas.where[int(k)]].geometry for k in tree.query(geom))
                hits = [h for h in found if geom.intersects(h)]
                if hits:
                    rest = geom.difference(unary_union(hits))
                    region = dataclasses.replace(region, geometry=rest, area_m2=float(rest.area))
            if region.geometry.is_empty or region.area_m2 < min_area_m2:
                slivers.append(region)
            else:
                kept.append(region)
                keys.add(region)
        return kept.finish(), slivers.finish()


class _Boxes:
    """Areas by their bounds alone (32 bytes each) and where each is kept."""

    def __init__(self) -> None:
        self.where, self.bounds = array("q"), array("d")

    def add(self, where: int, geom: BaseGeometry) -> None:
        self.where.append(where)
        self.bounds.extend((math.nan,) * 4 if geom.is_empty else geom.bounds)

    def tree(self) -> shapely.STRtree | None:
        """A tree of the boxes (an empty area: an empty box, never found), None when there are none."""
        if not self.where:
            return None
        b = np.asarray(self.bounds).reshape(-1, 4)
        boxes = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        boxes[np.isnan(b[:, 0])] = shapely.Polygon()
        return shapely.STRtree(boxes)


class _PieceStore(ScratchList[Piece]):
    """Pieces inside their cores (their change, its part and what the block saw are one geometry), each read back
    exactly as appended: the geometry's precision grid is kept beside it (as :class:`ChangeStore` keeps it)."""

    def _dump(self, item: Piece) -> Any:
        return item, float(shapely.get_precision(item.whole))

    def _load(self, record: Any) -> Piece:
        piece, grid = record
        if grid <= 0:
            return piece  # type: ignore[no-any-return]
        region = with_precision(piece.region, grid)
        return dataclasses.replace(piece, region=region, part=region.geometry, whole=region.geometry)


def _group_region(members: list[Piece]) -> ChangeRegion:
    """The change a group of pieces makes: a piece inside its core is its change; else they are joined."""
    return members[0].region if len(members) == 1 and not members[0].crosses else _joined(members)


class _Keys:
    """Each change's place in the numbering (:func:`number_changes`), in the order the changes came."""

    def __init__(self) -> None:
        self.order, self.north, self.east = array("b"), array("d"), array("d")

    def add(self, region: ChangeRegion) -> None:
        kind, north, east = _number_key(region)
        self.order.append(kind)
        self.north.append(north)
        self.east.append(east)

    def numbering(self) -> np.ndarray:
        """The changes' places in the order they are numbered (ties: the order they came)."""
        came = np.arange(len(self.order))
        return np.lexsort((came, np.asarray(self.east), np.asarray(self.north), np.asarray(self.order)))


def _numbered(named: ChangeStore, kept: ChangeStore, keys: _Keys, path: Path) -> tuple[ChangeStore, int, ClassSummary]:
    """Named changes, then other change kept, numbered into a new store at ``path``; how many were joined, and how
    the changes add up per class (counted as they are written: in number order, as a whole-scene run sums them)."""
    out, joined, n = ChangeStore(path), 0, len(named)

    def written() -> Iterator[ChangeRegion]:
        nonlocal joined
        for number, place in enumerate(keys.numbering(), start=1):
            region = named[int(place)] if place < n else kept[int(place) - n]
            joined += 1 if region.evidence.get("joined_from_blocks") else 0
            region = dataclasses.replace(region, id=number)
            out.append(region)
            yield region

    summary = summarize(written())
    return out.finish(), joined, summary


def weight(geom: BaseGeometry) -> float:
    return geom.length if linear(geom) else geom.area


def _joined(members: list[Piece]) -> ChangeRegion:
    """One change from its parts (see :func:`join_pieces`)."""
    by_class: dict[str, float] = {}
    for m in members:
        by_class[m.region.change_class] = by_class.get(m.region.change_class, 0.0) + weight(m.part)
    change_class = max(sorted(by_class), key=lambda c: by_class[c])
    lead = max((m for m in members if m.region.change_class == change_class), key=lambda m: weight(m.part))
    parts = [shapely.set_precision(m.part, 1e-3) for m in members]
    total = sum(weight(m.part) for m in members) or 1.0
    confidence = sum(m.region.confidence * weight(m.part) for m in members) / total
    whole = [m for m in members if m.seen_whole and m.region.change_class == change_class]
    if linear(lead.region.geometry):
        geom = max((m.whole for m in whole), key=weight) if whole else _merged_lines(unary_union(parts))
        return dataclasses.replace(
            lead.region, geometry=geom, length_m=float(geom.length), confidence=round(confidence, 3),
            evidence=dict(lead.region.evidence) | {"joined_from_blocks": len({m.block for m in members})})
    # A change one block saw whole is that block's; else it is the union of the blocks' parts.
    geom = max((m.whole for m in whole), key=weight) if whole else unary_union(parts)
    rect = geom.minimum_rotated_rectangle.area
    return dataclasses.replace(
        lead.region, geometry=geom, area_m2=float(geom.area), confidence=round(confidence, 3),
        rectangularity=float(geom.area / rect) if rect > 0 else lead.region.rectangularity,
        width_m=max(m.region.width_m for m in members),
        evidence=dict(lead.region.evidence) | {"joined_from_blocks": len({m.block for m in members}),
                                               "classes_of_parts": dict(sorted(by_class.items()))})


def _merged_lines(lines: BaseGeometry) -> BaseGeometry:
    """Lines joined end to end where they meet (shapely's ``linemerge``, which refuses one line: it is merged)."""
    return lines if lines.geom_type == "LineString" else linemerge(lines)


_ORDER = {name: (0 if c.kind in ("structure", "tower") else 2 if c.linear else 1) for name, c in CLASSES.items()}


def _number_key(region: ChangeRegion) -> tuple[int, float, float]:
    """Structures and towers, other change, fences; north to south, west to east (centroids to the cm)."""
    c = region.geometry.centroid
    return _ORDER[region.change_class], -round(c.y, 2), round(c.x, 2)


def number_changes(regions: list[ChangeRegion]) -> list[ChangeRegion]:
    """Number the changes as a whole-scene run does: structures and towers, other change, fences; north to south."""
    return [dataclasses.replace(r, id=i) for i, r in enumerate(sorted(regions, key=_number_key), start=1)]


def burn(dst: Any, regions: Iterable[ChangeRegion], px: float, *, code: int | None = None) -> None:
    """Write the final class of changes that cross core edges (or ``code``) into the mask, not over cloud or nodata."""
    for r in regions:
        geom = r.geometry.buffer(px * 0.75) if linear(r.geometry) else r.geometry
        r0, c0, r1, c1 = px_bounds(geom, dst.transform)
        row0, col0 = max(0, int(math.floor(r0))), max(0, int(math.floor(c0)))
        row1, col1 = min(dst.height, int(math.ceil(r1))), min(dst.width, int(math.ceil(c1)))
        if row1 <= row0 or col1 <= col0:
            continue
        win = Window(col0, row0, col1 - col0, row1 - row0)
        codes = dst.read(1, window=win)
        burnt = rasterize([(geom, 1)], out_shape=codes.shape, transform=dst.window_transform(win), dtype="uint8") > 0
        burnt &= (codes != OBSCURED) & (codes != NOT_ANALYSED)
        if burnt.any():
            codes[burnt] = CLASSES[r.change_class].code if code is None else code
            dst.write(codes, 1, window=win)
