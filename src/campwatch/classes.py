"""The change classes campwatch reports: names, mask codes, colours, units and words for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["ChangeClass", "CLASSES", "ANALYST_CLASSES", "MAX_PIXEL_M", "REVERSAL", "TIMELINE_CLASSES", "Kind",
           "appeared", "gone", "possible_classes", "NO_CHANGE", "OBSCURED", "NOT_ANALYSED", "ClassSummary",
           "class_code", "get_class", "summarize", "describe"]

#: What changed: a building, a guard tower, a fence line, or anything else.
Kind = Literal["structure", "tower", "fence", "other"]

#: Change-mask codes that are not change classes.
NO_CHANGE = 0
OBSCURED = 254  # hidden by cloud or cloud shadow on one date
NOT_ANALYSED = 255  # nodata on a date, or outside the AOI


@dataclass(frozen=True)
class ChangeClass:
    """A change class: its report name, its code in the change mask, its map colour, what it is.

    ``kind`` is what changed (``"structure"``, ``"tower"``, ``"fence"`` or ``"other"``);
    a fence change is a line measured in metres (``unit == "m"``), every other an area in
    square metres. ``singular`` and ``plural`` name a count of it in a sentence.
    ``max_pixel_m``: in coarser imagery the class is not looked for, and not reported.
    ``appears``: True for a thing seen only on the later date (built, added), False for one
    seen only on the earlier (razed, removed), None for neither (modified, other change).
    ``reverses``: the class that undoes this one (a structure demolished undoes one built).
    ``timeline_rank``: where the timeline figure stacks it (None: not drawn there).
    ``finder``: the module of :mod:`campwatch.detection.finders` that finds it (None: other
    change, what no finder claims).
    """

    name: str
    code: int
    colour: str
    label: str
    description: str
    kind: Kind
    singular: str
    plural: str
    #: The coarsest pixel, in metres, at which a change of this class can be seen (None: any).
    max_pixel_m: float | None = None
    appears: bool | None = None
    reverses: str | None = None
    timeline_rank: int | None = None
    finder: str | None = None

    @property
    def unit(self) -> str:
        """``"m"`` for a class measured by length (fences), ``"m2"`` for one measured by area."""
        return "m" if self.kind == "fence" else "m2"

    @property
    def linear(self) -> bool:
        """Whether a change of this class is a line (measured in metres)."""
        return self.unit == "m"

    @property
    def analyst(self) -> bool:
        """Whether analysts report this class by name (every class but other change)."""
        return self.kind != "other"


# Okabe-Ito colours, mostly: distinguishable for colour-blind readers. None is the blue of roofs and
# tarps, nor the black of no change in the mask; white is a change whose direction is not known.
#: The coarsest pixel (m) at which each kind of change can be seen: a guard tower is 3 to 4 m
#: across and a fence a line of posts, both gone into their pixels at 2 m (DSIFN-CD) and more;
#: a barrack of 10 m x 30 m is still a few pixels at 10 m (Sentinel-2).
_STRUCTURE_M, _TOWER_M, _FENCE_M = 10.0, 1.0, 1.0

CLASSES: dict[str, ChangeClass] = {
    c.name: c
    for c in (
        ChangeClass("structure_new", 2, "#D55E00", "New structure",
                    "A building-like object that stands out from the ground only in the later image.",
                    "structure", "new structure", "new structures",
                    max_pixel_m=_STRUCTURE_M, appears=True, reverses="structure_demolished", timeline_rank=0,
                    finder="buildings"),
        ChangeClass("structure_demolished", 3, "#7F3C8D", "Demolished structure",
                    "A building-like object that stands out from the ground only in the earlier image.",
                    "structure", "structure demolished", "structures demolished",
                    max_pixel_m=_STRUCTURE_M, appears=False, reverses="structure_new", timeline_rank=1,
                    finder="buildings"),
        ChangeClass("structure_modified", 4, "#CC79A7", "Modified structure",
                    "A building present on both dates whose roof or shape changed.",
                    "structure", "structure modified", "structures modified",
                    max_pixel_m=_STRUCTURE_M, timeline_rank=2, finder="buildings"),
        ChangeClass("structure_changed", 9, "#FFFFFF", "Structure changed, direction unknown",
                    "A building change whose direction, built or razed, the pixels do not tell: its reason is "
                    "in the change's cause.",
                    "structure", "structure changed (built or razed: not known)",
                    "structures changed (built or razed: not known)",
                    max_pixel_m=_STRUCTURE_M, timeline_rank=3, finder="buildings"),
        ChangeClass("fence_razed", 5, "#E69F00", "Fence razed",
                    "A stretch of fence line whose linear signature is gone (a line, with its length).",
                    "fence", "fence razed", "fence razed",
                    max_pixel_m=_FENCE_M, appears=False, reverses="fence_built", timeline_rank=6,
                    finder="fences"),
        ChangeClass("fence_built", 6, "#009E73", "Fence built",
                    "A new stretch of fence line.",
                    "fence", "fence built", "fence built",
                    max_pixel_m=_FENCE_M, appears=True, reverses="fence_razed", timeline_rank=7,
                    finder="fences"),
        ChangeClass("tower_added", 7, "#E7298A", "Tower added",
                    "A small raised object (a few metres across, casting a long shadow) only in the later image.",
                    "tower", "guard tower added", "guard towers added",
                    max_pixel_m=_TOWER_M, appears=True, reverses="tower_removed", timeline_rank=4,
                    finder="buildings"),
        ChangeClass("tower_removed", 8, "#56B4E9", "Tower removed",
                    "A small raised object only in the earlier image.",
                    "tower", "guard tower removed", "guard towers removed",
                    max_pixel_m=_TOWER_M, appears=False, reverses="tower_added", timeline_rank=5,
                    finder="buildings"),
        ChangeClass("other_change", 1, "#F0E442", "Other change",
                    "Ground, fields, vegetation, water, shadows: change that is not a structure.",
                    "other", "other change", "other changes"),
    )
}


def _check_rows(classes: dict[str, ChangeClass]) -> None:
    """Raise ValueError when the class rows disagree: codes, reversals, timeline places."""
    codes = [c.code for c in classes.values()]
    if len(set(codes)) != len(codes) or not all(0 < code < OBSCURED for code in codes):
        raise ValueError(f"change classes need distinct mask codes from 1 to {OBSCURED - 1}: {codes}")
    for c in classes.values():
        if c.reverses is not None and (c.reverses not in classes or classes[c.reverses].reverses != c.name):
            raise ValueError(f"change class {c.name!r} reverses {c.reverses!r}, which does not reverse it")
    for c in classes.values():
        if (c.finder is None) != (c.kind == "other") or (c.finder is not None and not c.finder.isidentifier()):
            raise ValueError(f"change class {c.name!r}: its finder {c.finder!r} must be a module name, and None "
                             "only for other change")
    ranks = [c.timeline_rank for c in classes.values() if c.timeline_rank is not None]
    if len(set(ranks)) != len(ranks):
        raise ValueError(f"change classes share a place on the timeline: {sorted(ranks)}")


_check_rows(CLASSES)

#: The coarsest pixel (m) at which each kind of change can be seen (from the class rows).
MAX_PIXEL_M: dict[str, float | None] = {c.kind: c.max_pixel_m for c in CLASSES.values()}
#: Each class that another undoes, and that other (a structure built, then demolished).
REVERSAL: dict[str, str] = {c.name: c.reverses for c in CLASSES.values() if c.reverses is not None}
#: The classes the timeline figure stacks, in its order.
TIMELINE_CLASSES: tuple[str, ...] = tuple(
    c.name for c in sorted((c for c in CLASSES.values() if c.timeline_rank is not None),
                           key=lambda c: c.timeline_rank or 0))


def appeared(kind: Kind) -> str:
    """The class of a thing of ``kind`` seen only on the later date (``"structure"``: ``structure_new``)."""
    return next(c.name for c in CLASSES.values() if c.kind == kind and c.appears is True)


def gone(kind: Kind) -> str:
    """The class of a thing of ``kind`` seen only on the earlier date (``"tower"``: ``tower_removed``)."""
    return next(c.name for c in CLASSES.values() if c.kind == kind and c.appears is False)


def possible_classes(pixel_m: float) -> tuple[list[str], dict[str, str]]:
    """The classes that can be seen at pixels of ``pixel_m`` metres, and why each other one cannot.

    Examples
    --------
    >>> possible, why = possible_classes(8.0)
    >>> possible
    ['structure_new', 'structure_demolished', 'structure_modified', 'structure_changed', 'other_change']
    >>> why["fence_razed"]
    'needs pixels of 1 m or finer; these are 8 m'
    """
    possible, why = [], {}
    for name, c in CLASSES.items():
        if c.max_pixel_m is None or pixel_m <= c.max_pixel_m:
            possible.append(name)
        else:
            why[name] = f"needs pixels of {c.max_pixel_m:g} m or finer; these are {pixel_m:.3g} m"
    return possible, why


#: The classes an analyst reports by name (``other_change`` is mapped but not numbered), in report order.
ANALYST_CLASSES = tuple(name for name, c in CLASSES.items() if c.analyst)


class _Measured(Protocol):
    @property
    def change_class(self) -> str: ...

    @property
    def area_m2(self) -> float: ...

    @property
    def length_m(self) -> float | None: ...


@dataclass(frozen=True)
class ClassSummary:
    """How many changes of each class, and their total area (m2) or length (m), in class order."""

    counts: dict[str, int] = field(default_factory=dict)
    area_m2: dict[str, float] = field(default_factory=dict)
    length_m: dict[str, float] = field(default_factory=dict)

    def size(self, name: str) -> float:
        """The total size of class ``name`` in its unit (length for fences, area otherwise)."""
        return self.length_m[name] if CLASSES[name].linear else self.area_m2[name]

    @property
    def found(self) -> list[str]:
        """The classes with at least one change, in class order."""
        return [name for name, n in self.counts.items() if n]

    def to_dict(self) -> dict[str, Any]:
        """Counts per class, area per area class and length per fence class, rounded to 0.1."""
        return {"counts": dict(self.counts),
                "changed_area_m2": {k: round(v, 1) for k, v in self.area_m2.items() if not CLASSES[k].linear},
                "fence_length_m": {k: round(v, 1) for k, v in self.length_m.items() if CLASSES[k].linear}}


def summarize(changes: Iterable[_Measured] | Iterable[dict[str, Any]]) -> ClassSummary:
    """Count and measure changes per class: objects with ``change_class``, ``area_m2`` and
    ``length_m``, or report feature properties (``class``, ``area_m2``, ``length_m``)."""
    areas: dict[str, list[float]] = {name: [] for name in CLASSES}
    lengths: dict[str, list[float]] = {name: [] for name in CLASSES}
    for c in changes:
        if isinstance(c, dict):
            name, a, n = c["class"], c.get("area_m2"), c.get("length_m")
        else:
            name, a, n = c.change_class, c.area_m2, c.length_m
        areas[name].append(a or 0.0)
        lengths[name].append(n or 0.0)
    # Sums as ``sum`` makes them (0 for a class without changes), so that reports keep their bytes.
    return ClassSummary({k: len(v) for k, v in areas.items()}, {k: sum(v) for k, v in areas.items()},
                        {k: sum(v) for k, v in lengths.items()})


def describe(summary: ClassSummary) -> str:
    """Say what a summary holds in words: '1 new structure, 2 guard towers removed, 340 m of fence razed'."""
    parts = []
    for name in summary.found:
        c, n = CLASSES[name], summary.counts[name]
        if c.linear:
            parts.append(f"{summary.length_m[name]:,.0f} m of {c.singular}")
        else:
            parts.append(f"{n} {c.singular if n == 1 else c.plural}")
    return ", ".join(parts) if parts else "nothing new"


def get_class(name: str) -> ChangeClass:
    """Return the class called ``name``.

    Raises
    ------
    KeyError
        Listing the valid names.
    """
    try:
        return CLASSES[name]
    except KeyError:
        raise KeyError(f"unknown change class {name!r}; valid ones are {', '.join(CLASSES)}") from None


def class_code(name: str) -> int:
    """Return the change-mask code of a class."""
    return get_class(name).code
