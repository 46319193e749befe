"""The parts of a change that different blocks found, joined into one change again whatever its size;
the changes numbered as a whole-scene run numbers them; the final classes burnt into the mask."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import shapely
from affine import Affine
from rasterio.features import rasterize
from rasterio.windows import Window
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge, unary_union

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED
from campwatch.detection.blocks.plan import (
    Block,
    px_bounds,
    window_box,
)
from campwatch.detection.results import ChangeRegion

__all__ = ["Piece", "cut_to_core", "EDGE_PX", "linear", "join_pieces", "weight", "number_changes", "burn"]


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
    """Join the parts of changes cut at core edges into whole changes.

    Parts from different blocks that are one change (:func:`_same`) are joined: the class is
    the one of the larger share (area; length for fences), the measurements those of its
    largest part. Returns the changes, and the slivers dropped (other change at a core
    edge smaller than ``min_area_m2`` once joined).
    """
    parent = list(range(len(pieces)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shapes = [p.whole.buffer(2 * px) if linear(p.whole) else p.whole for p in pieces]
    tree = shapely.STRtree(shapes)
    for i, p in enumerate(pieces):
        if not p.crosses:
            continue  # only a change that reaches out of its core can meet another block's version
        for j in tree.query(shapes[i]):
            j = int(j)
            if find(i) != find(j) and _same(p, pieces[j], px):
                parent[find(i)] = find(j)
    groups: dict[int, list[Piece]] = {}
    for i, p in enumerate(pieces):
        groups.setdefault(find(i), []).append(p)
    named: list[ChangeRegion] = []
    other: list[ChangeRegion] = []
    for members in groups.values():
        region = members[0].region if len(members) == 1 and not members[0].crosses else _joined(members)
        (other if region.change_class == "other_change" else named).append(region)
    # Where one block named a change and another saw only other change, the named one stands
    # (as in a whole-scene run, where structures claim their pixels first).
    named_areas = [r.geometry for r in named if not linear(r.geometry)]
    named_tree = shapely.STRtree(named_areas) if named_areas else None
    out, dropped = list(named), list[ChangeRegion]()
    for region in other:
        if named_tree is not None:
            hits = [named_areas[int(i)] for i in named_tree.query(region.geometry, predicate="intersects")]
            if hits:
                rest = region.geometry.difference(unary_union(hits))
                region = dataclasses.replace(region, geometry=rest, area_m2=float(rest.area))
        if region.geometry.is_empty or region.area_m2 < min_area_m2:
            dropped.append(region)
        else:
            out.append(region)
    return out, dropped


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
        geom = max((m.whole for m in whole), key=weight) if whole else linemerge(unary_union(parts))
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


_ORDER = {name: (0 if c.kind in ("structure", "tower") else 2 if c.linear else 1) for name, c in CLASSES.items()}


def number_changes(regions: list[ChangeRegion]) -> list[ChangeRegion]:
    """Number the changes as a whole-scene run does: structures and towers, other change, fences; north to south."""
    def key(r: ChangeRegion) -> tuple[int, float, float]:
        c = r.geometry.centroid
        return _ORDER[r.change_class], -round(c.y, 2), round(c.x, 2)

    return [dataclasses.replace(r, id=i) for i, r in enumerate(sorted(regions, key=key), start=1)]


def burn(dst: Any, regions: list[ChangeRegion], px: float, *, code: int | None = None) -> None:
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
