"""Progress of long work (blocks of a pair, pairs of a series, outputs verified), for whoever listens.

The library only says how far it is: a :class:`Task` reports a :class:`Step` each time a unit
of work is done to the reporter of the current context (:func:`reporting`), or to nobody.
The command line draws a bar or writes JSON lines from them (``campwatch --progress``).

Examples
--------
>>> steps = []
>>> with reporting(steps.append):
...     task = start("pair", 2, "comparing")
...     task.advance("2015-04-18 -> 2015-09-26")
...     task.advance("2015-09-26 -> 2016-05-14")
>>> [(s.what, s.done, s.total) for s in steps]
[('pair', 0, 2), ('pair', 1, 2), ('pair', 2, 2)]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Step", "Task", "Reporter", "reporting", "start", "staged", "step", "tick", "TICK_S"]

#: The longest a staged task stays silent inside a long stage (:func:`tick`), in seconds.
TICK_S = 1.0


@dataclass(frozen=True)
class Step:
    """How far one task is: ``done`` of ``total`` units of ``what``, in ``stage``."""

    what: str
    done: int
    total: int
    stage: str
    elapsed_s: float
    #: Seconds left at the pace so far (None before the first unit is done).
    eta_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """For a JSON line."""
        return {"what": self.what, "done": self.done, "total": self.total, "stage": self.stage,
                "elapsed_s": round(self.elapsed_s, 1), "eta_s": None if self.eta_s is None else round(self.eta_s, 1)}


Reporter = Callable[[Step], None]
T = TypeVar("T")

_reporter: ContextVar[Reporter | None] = ContextVar("campwatch_progress", default=None)
_staged: ContextVar[Task | None] = ContextVar("campwatch_stages", default=None)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Send the steps of every task started inside the block to ``reporter`` (None: to nobody)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


class Task:
    """A unit of long work with a known number of steps; reports each step as it is done."""

    def __init__(self, what: str, total: int, stage: str, reporter: Reporter | None) -> None:
        self.what, self.total, self.stage = what, max(0, int(total)), stage
        self.done = 0
        self._reporter = reporter
        self._t0 = time.monotonic()
        #: When the task last reported (:func:`tick` speaks only when it has been silent a while).
        self.last_report = self._t0
        self._report()

    def advance(self, stage: str | None = None, *, by: int = 1) -> None:
        """Count ``by`` more units done; ``stage`` says what was done or comes next."""
        self.done = min(self.total, self.done + by) if self.total else self.done + by
        if stage is not None:
            self.stage = stage
        self._report()

    def each(self, items: Iterable[T], stage: Callable[[T], str]) -> Iterator[T]:
        """Yield ``items``, counting each one done once the loop's body has run for it (whatever way it ends)."""
        for item in items:
            yield item
            self.advance(stage(item))

    def _report(self) -> None:
        self.last_report = time.monotonic()
        if self._reporter is None:
            return
        elapsed = self.last_report - self._t0
        eta = elapsed / self.done * (self.total - self.done) if self.done and self.total else None
        self._reporter(Step(self.what, self.done, self.total, self.stage, elapsed, eta))


def start(what: str, total: int, stage: str) -> Task:
    """A task of ``total`` units of ``what`` (``"block"``, ``"pair"``, ...), reporting to the current reporter."""
    return Task(what, total, stage, _reporter.get())


@contextmanager
def staged(task: Task | None) -> Iterator[None]:
    """Let the stages run inside the block count their work on ``task`` (:func:`step`).

    The stages of one analysis (co-registration, change, each date's objects...) say how far
    they are without being handed the task: a block of a larger scene, analysed outside any
    staged task, reports nothing of its own.
    """
    token = _staged.set(task)
    try:
        yield
    finally:
        _staged.reset(token)


def step(stage: str, by: int = 1) -> None:
    """Count ``by`` units of work done on the staged task, if any; ``stage`` says what comes next.

    Units are weighted by what the work costs (see :data:`campwatch.detection.analysis.PAIR_WORK`),
    so the time left is estimated from work done, not from the number of steps.
    """
    task = _staged.get()
    if task is not None:
        task.advance(stage, by=by)


def tick(stage: str, *args: Any, every_s: float | None = None) -> None:
    """Say what the staged task is doing now, counting no work, if it has been silent ``every_s``
    (default :data:`TICK_S`).

    For the loops of a long stage (the description of each change, each fence line): the
    user sees it move, at most once a second, at the cost of a clock read per call. The
    time left still comes from the work counted by :func:`step`. With ``args``, ``stage`` is
    a format string filled in only when the task speaks (``tick("change {:,} of {:,}", i, n)``).
    """
    task = _staged.get()
    if task is not None and time.monotonic() - task.last_report >= (TICK_S if every_s is None else every_s):
        task.advance(stage.format(*args) if args else stage, by=0)
