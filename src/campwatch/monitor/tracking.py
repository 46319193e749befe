"""Follow changes through a series of pairs: one record per change, dated to the interval it
happened in, confirmed by later pairs that see its place, marked reverted when undone, and
transient when undone by the very next image (present, or absent, on one image only).

Shared by ``campwatch series`` (:mod:`campwatch.monitor.series`) and ``campwatch check``
(:mod:`campwatch.monitor.history`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from campwatch.classes import REVERSAL
from campwatch.detection.results import PairResult
from campwatch.document import ChangeFeature
from campwatch.io.aoi import AOI
from campwatch.io.geometry import to_wgs84, transformer
from campwatch.io.jsonio import clean

__all__ = ["TrackedChange", "ChangeTracker", "reproject", "same_place", "aoi_utm", "utm_of", "REVERSAL", "MIN_SEEN_FRACTION"]

#: A change counts as seen in a later pair when this share of it was analysed there.
MIN_SEEN_FRACTION = 0.5


def reproject(geometry: BaseGeometry, src: Any, dst: Any) -> BaseGeometry:
    """``geometry`` from CRS ``src`` to CRS ``dst``."""
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src == dst:
        return geometry
    tf = transformer(src, dst)
    return shapely.transform(geometry, lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))


def same_place(a: BaseGeometry, b: BaseGeometry, *, min_overlap: float = 0.5, line_tolerance: float = 2.0) -> bool:
    """Whether two change geometries (in one projected CRS) are the same change's.

    Areas: their intersection covers at least ``min_overlap`` of the smaller. Lines: at
    least ``min_overlap`` of the shorter lies within ``line_tolerance`` metres of the other.
    """
    if a.is_empty or b.is_empty:
        return False
    if a.length and not a.area and b.length and not b.area:
        short, other = (a, b) if a.length <= b.length else (b, a)
        return short.intersection(other.buffer(line_tolerance)).length >= min_overlap * short.length
    if not a.area or not b.area:
        return False
    if not a.intersects(b):
        return False
    return a.intersection(b).area >= min_overlap * min(a.area, b.area)


@dataclass
class TrackedChange:
    """One change followed through a series: where, what, when first seen, last confirmed.

    ``geometry`` is in the tracker's CRS. The change happened between ``before`` (the
    last image without it) and ``first`` (the first image with it); ``last`` is the latest
    image in which its place was seen and it was not undone.
    """

    id: str
    change_class: str
    geometry: BaseGeometry
    before: tuple[str, dt.date]
    first: tuple[str, dt.date]
    last: tuple[str, dt.date]
    confidence: float
    area_m2: float
    length_m: float | None
    pairs: list[str] = field(default_factory=list)
    found_by: str = "pair"
    reverted: dict[str, str] | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def transient(self) -> bool:
        """Whether the change was undone by the very next image: seen on one image only.

        A structure on one image between two of bare ground is snow, a vehicle or a pile of
        material far more often than a building put up and razed within weeks.
        """
        return self.reverted is not None and self.reverted["from"] == self.first[1].isoformat()

    @property
    def interval(self) -> tuple[dt.date, dt.date]:
        """The two image dates the change happened between."""
        return self.before[1], self.first[1]

    def feature(self, crs: Any) -> ChangeFeature:
        """This change as a GeoJSON feature in WGS84."""
        geom = to_wgs84(self.geometry, crs)
        c = reproject(self.geometry.centroid, crs, "EPSG:4326")
        props = {
            "id": self.id,
            "class": self.change_class,
            "confidence": round(self.confidence, 3),
            "interval": {"from": self.before[1].isoformat(), "to": self.first[1].isoformat()},
            "before_image": self.before[0],
            "first_image": self.first[0],
            "last_image": self.last[0],
            "last_confirmed": self.last[1].isoformat(),
            # A line (a fence) has a length and no area: null, not 0.0 m2 as if it had been measured.
            "area_m2": round(self.area_m2, 1) if self.length_m is None else None,
            "length_m": None if self.length_m is None else round(self.length_m, 1),
            "pairs": list(self.pairs),
            "found_by": self.found_by,
            "reverted": self.reverted,
            "transient": self.transient,
            "centroid_lonlat": [round(c.x, 7), round(c.y, 7)],
            "cause": self.properties.get("cause"),
            "evidence": self.properties.get("evidence", {}),
        }
        if "review" in self.properties:  # only a history's changes have one
            props["review"] = dict(self.properties["review"])
        return ChangeFeature(id=self.id, change_class=self.change_class, geometry=mapping(geom),
                             interval=(self.before[1].isoformat(), self.first[1].isoformat()), properties=clean(props))


class ChangeTracker:
    """Keeps one :class:`TrackedChange` per change across the pairs of a series.

    A change found again in a later pair at the same place with the same class is the
    same change (its ``last`` image moves on); a change whose place a later pair saw
    without undoing it is confirmed up to that pair's later image; a change of the
    opposite class at its place (a new structure demolished) marks it reverted. Undone by the
    very next image, the change is transient (:attr:`TrackedChange.transient`), and the undoing
    is part of its record, not a change of its own.

    Parameters
    ----------
    crs : CRS-like
        The projected CRS changes are compared in.
    changes : sequence of TrackedChange, optional
        Changes known from before (a history).
    id_prefix : str
        New changes get ids ``f"{id_prefix}{n:04d}"``, ``n`` counting on from ``next_number``.
    """

    def __init__(
        self, crs: Any, changes: Sequence[TrackedChange] = (), *, id_prefix: str = "C", next_number: int = 1
    ) -> None:
        self.crs = CRS.from_user_input(crs)
        self.changes: list[TrackedChange] = list(changes)
        self.id_prefix = id_prefix
        self.next_number = next_number
        #: What the last pair folded in (:meth:`add_pair`) made of each of its regions, by region id:
        #: ``(series id, status)``, status ``"new"``, ``"found_again"`` (counted in an earlier
        #: interval) or ``"undoes"`` (the second half of a transient change).
        self.links: dict[int, tuple[str, str]] = {}

    def _new_id(self) -> str:
        cid = f"{self.id_prefix}{self.next_number:04d}"
        self.next_number += 1
        return cid

    def add_pair(
        self, result: PairResult, *, found_by: str = "pair", within: BaseGeometry | None = None
    ) -> list[TrackedChange]:
        """Fold one pair's changes in; return the changes it found that were not known.

        ``found_by="baseline"``: the pair compares a baseline with a much later image. A
        change it finds at the place of a known one (of any date up to the later image)
        confirms that one; any other is new, dated to the whole span.

        ``found_by="bridge"`` with ``within`` (in the pair's CRS): the pair skips an image
        that a cloud hid in part; only its changes mostly inside ``within`` (what the cloud
        hid) count, as for a baseline pair.
        """
        b_name = result.before.path.name if result.before.path else "before"
        a_name = result.after.path.name if result.after.path else "after"
        before, after = (b_name, result.before.date), (a_name, result.after.date)
        pair = f"{before[1].isoformat()}/{after[1].isoformat()}"
        pair_crs = result.before.crs
        regions = result.regions
        if within is not None:
            regions = [r for r in regions if _mostly_within(r.geometry, within)]
        found = [(r, reproject(r.geometry, pair_crs, self.crs)) for r in regions]

        # What the pair says of each change already known (and older than the pair). A
        # baseline pair spans many images: it can find any known change again, but undo none.
        limit = before[1] if found_by == "pair" else after[1]
        earlier = [c for c in self.changes if c.first[1] <= limit and c.reverted is None]
        found_index = shapely.STRtree([g for _, g in found])
        halves: set[int] = set()  # found regions that undo a change of the previous image: its second half
        self.links = {}
        for change in earlier if found_by == "pair" else ():
            undoing = [int(i) for i in found_index.query(change.geometry.buffer(2.0))
                       if found[i][0].change_class == REVERSAL.get(change.change_class)
                       and same_place(change.geometry, found[i][1])]
            if undoing:
                change.reverted = {"from": before[1].isoformat(), "to": after[1].isoformat()}
                if change.transient:
                    halves.update(undoing)
                    self.links.update({found[i][0].id: (change.id, "undoes") for i in undoing})
                continue
            local = reproject(change.geometry, self.crs, pair_crs)
            if result.seen_fraction(local) >= MIN_SEEN_FRACTION and change.last[1] < after[1]:
                change.last = after

        new: list[TrackedChange] = []
        index = shapely.STRtree([c.geometry for c in earlier])  # candidates by bounding box, not all pairs
        for k, (region, geom) in enumerate(found):
            if k in halves:
                continue
            nearby = sorted(int(i) for i in index.query(geom.buffer(2.0)))
            match = next(
                (earlier[i] for i in nearby if earlier[i].reverted is None
                 and earlier[i].change_class == region.change_class and same_place(earlier[i].geometry, geom)),
                None,
            )
            if match is not None:
                self.links[region.id] = (match.id, "found_again")
                if pair not in match.pairs:
                    match.pairs.append(pair)
                if match.last[1] < after[1]:
                    match.last = after
                match.confidence = max(match.confidence, region.confidence)
                continue
            change = TrackedChange(id=self._new_id(), change_class=region.change_class, geometry=geom, before=before,
                                   first=after, last=after, confidence=region.confidence, area_m2=region.area_m2,
                                   length_m=region.length_m, pairs=[pair], found_by=found_by,
                                   properties=region.properties())
            self.changes.append(change)
            new.append(change)
            self.links[region.id] = (change.id, "new")
        return new


def _mostly_within(geom: BaseGeometry, area: BaseGeometry, share: float = 0.5) -> bool:
    """Whether at least ``share`` of ``geom`` (its area, or length for a line) lies in ``area``."""
    if geom.area:
        return geom.intersection(area).area >= share * geom.area
    if geom.length:
        return geom.intersection(area).length >= share * geom.length
    return area.contains(geom)


def utm_of(geometry: BaseGeometry) -> CRS:
    """The UTM zone CRS (WGS84 datum) of a geometry's centre, the geometry in WGS84 longitude/latitude."""
    c = geometry.centroid
    zone = int((c.x + 180) // 6) + 1
    return CRS.from_epsg((32600 if c.y >= 0 else 32700) + zone)


def aoi_utm(aoi: AOI) -> CRS:
    """The UTM zone CRS of the AOI's centre (WGS84 datum)."""
    return utm_of(aoi.geometry)
