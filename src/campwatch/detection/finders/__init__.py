"""The finders of named change: each says where changes of its classes are, from the evidence of both dates.

A change class's row (:data:`campwatch.classes.CLASSES`) names the finder module that finds it
(``finder="buildings"``: :mod:`campwatch.detection.finders.buildings`). Each finder module has a
``find(evidence)`` function (:class:`Finder`) that returns changes of its classes:

- :class:`Candidate`: an area of the grid (a structure built, a tower removed), described and
  numbered by :mod:`campwatch.detection.classify` in the finders' order;
- :class:`LineChange`: a line (a stretch of fence razed), numbered after every area change and
  drawn over them.

What several finders read is computed once per date, before any finder runs, and handed to each
as one :class:`Evidence`: each date's structure-like objects with their rasters (how far each
pixel stands out from its ground, where shadows are, which way they fall:
:class:`~campwatch.detection.structures.StructureMap`), the change masks, the veils, the windows
near change. Adding a class is a row in the class table and a finder module here (docs/development.md,
"Adding a change class").
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
from shapely.geometry.base import BaseGeometry

from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.detection.change import ChangeMeasures
from campwatch.detection.results import ChangeRegion
from campwatch.detection.structures import StructureMap
from campwatch.io.scene import Scene

__all__ = ["Candidate", "Evidence", "Finder", "LineChange", "finders_for"]


@dataclass(frozen=True)
class Candidate:
    """A change of a named class over an area of the grid, before it is numbered and described."""

    change_class: str
    box: tuple[slice, slice]  # the change's bounding box
    mask: np.ndarray  # bool, over ``box``
    cause: str
    #: How clearly the finder sees it, 0 to 1: one of the terms of its evidence score.
    score: float
    #: What a change model says of the place: ``{"name", "probability", "classical", ...}`` (None: no model).
    model: dict[str, Any] | None = None


@runtime_checkable
class LineChange(Protocol):
    """A change along a line (a stretch of fence): its class, where it runs, and its description."""

    @property
    def change_class(self) -> str: ...

    @property
    def geometry(self) -> BaseGeometry: ...

    def region(self, rid: int, config: DetectConfig) -> ChangeRegion:
        """The change numbered ``rid``, with its length, confidence and evidence."""
        ...


@dataclass(frozen=True)
class Evidence:
    """What the finders look at: both dates, what changed, and each date's objects, computed once.

    Attributes
    ----------
    before, after : Scene
        On one grid; ``after`` co-registered and radiometrically matched to ``before``.
    measures : ChangeMeasures
    config : DetectConfig
    threshold : float
        The smaller of the gain and loss thresholds.
    usable : (M, N) ndarray of bool
        Valid on both dates and not obscured.
    changed : (M, N) ndarray of bool
        The cleaned change mask (or where a model of all change sees change), within ``usable``.
    raw_changed : (M, N) ndarray of bool or None
        The change mask before clean-up, within ``usable`` (towers are too small to survive it).
    veiled : pair of (M, N) ndarray of bool
        Under a thin cloud or shadow on the earlier and the later date.
    objects : pair of StructureMap
        Each date's structure-like objects on the grid, with the rasters they were found from.
    windows : list of pairs of slices, or None
        Where objects were looked for (near change); None, the whole grid.
    fence_lines : list of LineString or None
        Fence lines from the AOI file, in the scenes' CRS; None, found in the imagery.
    possible : tuple of str
        The classes the pixels are fine enough to show.
    """

    before: Scene
    after: Scene
    measures: ChangeMeasures
    config: DetectConfig
    threshold: float
    usable: np.ndarray
    changed: np.ndarray
    raw_changed: np.ndarray | None
    veiled: tuple[np.ndarray, np.ndarray]
    objects: tuple[StructureMap, StructureMap]
    windows: list[tuple[slice, slice]] | None
    fence_lines: list[BaseGeometry] | None
    possible: tuple[str, ...]

    @property
    def pixel_m(self) -> float:
        """The side of a pixel, in metres."""
        return float(np.sqrt(self.before.pixel_area))


class Finder(Protocol):
    """A finder module: ``find(evidence)`` returns the changes of its classes it sees."""

    def find(self, evidence: Evidence) -> Sequence[Candidate | LineChange]: ...


def finders_for(classes: Sequence[str]) -> list[tuple[str, Finder]]:
    """The finders of ``classes`` (names of :data:`campwatch.classes.CLASSES`), each once, in class order.

    A row's ``finder`` names a module of this package; the module must have ``find``.

    Raises
    ------
    ValueError
        When a row names a finder module that has no ``find`` (a mistake in the class table).
    """
    names: list[str] = []
    for name in CLASSES:
        finder = CLASSES[name].finder
        if name in classes and finder is not None and finder not in names:
            names.append(finder)
    out: list[tuple[str, Finder]] = []
    for finder in names:
        module = importlib.import_module(f"{__name__}.{finder}")
        if not callable(getattr(module, "find", None)):
            raise ValueError(f"the finder module {module.__name__} has no find(evidence)")
        out.append((finder, cast(Finder, module)))
    return out
