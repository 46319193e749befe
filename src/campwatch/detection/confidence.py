"""Confidence that sorts: each change's evidence score made into the share of such changes found right.

The classifying stages give each change an evidence score (0.5 to 1: how strong and how
clear its evidence is, :mod:`campwatch.detection.classify`). A score is not a probability:
on real imagery the false alarms scored as high as the true changes. So each change's
confidence is its score mapped through a calibration: for changes of the same *source*
(how the change was found), the share that were right on labelled sets, as a monotone
(isotonic) function of the score. ``benchmarks/calibrate.py`` fits it and writes
``campwatch/data/confidence.json``; the report names the calibration it used.

A calibration is only as good as the sets it was fitted on (their names are in the file
and in every report); on imagery unlike them it is a ranking, not a rate.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np

__all__ = ["Source", "SOURCES", "Calibration", "calibration", "calibrated", "LOW_CONFIDENCE"]

#: How a change was found: the calibration is fitted for each apart.
Source = Literal["structure", "structure, model agrees", "structure, model only", "structure, not seen by the model",
                 "tower", "fence", "other"]
SOURCES: tuple[Source, ...] = ("structure", "structure, model agrees", "structure, model only",
                               "structure, not seen by the model", "tower", "fence", "other")

#: Below this confidence a change is marked as doubtful on the maps and in report.html.
LOW_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Calibration:
    """Per source, the breakpoints (score, share right) of a monotone map, and where they were measured."""

    name: str
    fitted_on: tuple[str, ...]
    points: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]
    counts: dict[str, int]
    sha256: str

    def confidence(self, source: str, score: float) -> float:
        """The calibrated confidence of a change of ``source`` with evidence score ``score``."""
        xs, ys = self.points.get(source) or self.points.get(source.split(",")[0], ((0.5, 1.0), (0.5, 1.0)))
        return float(np.interp(score, xs, ys))

    def record(self) -> dict[str, Any]:
        """What a report says of the calibration it used."""
        return {"name": self.name, "sha256": self.sha256, "fitted_on": list(self.fitted_on),
                "meaning": "the share of changes of the same source and evidence score that were right on the "
                           "sets named; on other imagery a ranking, not a rate"}


def parse_calibration(text: str) -> Calibration:
    """A calibration from the text of ``confidence.json``.

    Raises
    ------
    ValueError
        When a source's breakpoints are not increasing scores with shares in [0, 1].
    """
    doc = json.loads(text)
    points: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}
    for source, pts in doc["sources"].items():
        xs = tuple(float(x) for x in pts["score"])
        ys = tuple(float(y) for y in pts["confidence"])
        if len(xs) != len(ys) or not xs or any(b < a for a, b in zip(xs, xs[1:])) \
                or any(not 0.0 <= y <= 1.0 for y in ys) or any(b < a for a, b in zip(ys, ys[1:])):
            raise ValueError(f"confidence calibration: the points of {source!r} are not a monotone map into [0, 1]")
        points[source] = (xs, ys)
    return Calibration(name=str(doc["name"]), fitted_on=tuple(doc["fitted_on"]), points=points,
                       counts={k: int(v.get("changes", 0)) for k, v in doc["sources"].items()},
                       sha256=hashlib.sha256(text.encode()).hexdigest())


@cache
def calibration() -> Calibration:
    """The calibration campwatch ships (``campwatch/data/confidence.json``)."""
    return parse_calibration(resources.files("campwatch.data").joinpath("confidence.json").read_text())


def calibrated(source: str, score: float) -> float:
    """The shipped calibration's confidence for a change of ``source`` with evidence score ``score``."""
    return round(calibration().confidence(source, score), 3)
