"""The change classes campwatch reports: names, mask codes, colours and descriptions."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChangeClass", "CLASSES", "NO_CHANGE", "OBSCURED", "NOT_ANALYSED", "class_code", "get_class"]

#: Change-mask codes that are not change classes.
NO_CHANGE = 0
OBSCURED = 254  # hidden by cloud or cloud shadow on one date
NOT_ANALYSED = 255  # nodata on a date, or outside the AOI


@dataclass(frozen=True)
class ChangeClass:
    """A change class: its report name, its code in the change mask, its map colour."""

    name: str
    code: int
    colour: str
    label: str
    description: str


# Okabe-Ito colours: distinguishable for colour-blind readers.
CLASSES: dict[str, ChangeClass] = {
    c.name: c
    for c in (
        ChangeClass("structure_new", 2, "#D55E00", "New structure",
                    "A building-like object that stands out from the ground only in the later image."),
        ChangeClass("structure_demolished", 3, "#0072B2", "Demolished structure",
                    "A building-like object that stands out from the ground only in the earlier image."),
        ChangeClass("structure_modified", 4, "#CC79A7", "Modified structure",
                    "A building present on both dates whose roof or shape changed."),
        ChangeClass("fence_razed", 5, "#E69F00", "Fence razed",
                    "A stretch of fence line whose linear signature is gone (a line, with its length)."),
        ChangeClass("fence_built", 6, "#009E73", "Fence built",
                    "A new stretch of fence line."),
        ChangeClass("tower_added", 7, "#000000", "Tower added",
                    "A small raised object (a few metres across, casting a long shadow) only in the later image."),
        ChangeClass("tower_removed", 8, "#56B4E9", "Tower removed",
                    "A small raised object only in the earlier image."),
        ChangeClass("other_change", 1, "#F0E442", "Other change",
                    "Ground, fields, vegetation, water, shadows: change that is not a structure."),
    )
}


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
