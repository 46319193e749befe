"""``--progress``: a bar on a terminal, JSON lines for tools, or nothing; log lines pass through the bar."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from campwatch.io.text import printable
from campwatch.progress import Step, reporting

__all__ = ["PROGRESS_MODES", "progress_output"]

PROGRESS_MODES = ("auto", "bar", "json", "none")


class _ConsoleHandler(logging.Handler):
    """Log lines printed above the bar, as text (never rich markup)."""

    def __init__(self, console: Console, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.console = console
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(Text(self.format(record)), soft_wrap=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


@contextmanager
def progress_output(mode: str, *, quiet: int = 0, own_bar: bool = False) -> Iterator[None]:
    """Show the library's progress on stderr while the block runs.

    ``"auto"``: a bar when stderr is a terminal, else nothing; ``"bar"``; ``"json"``: one
    line ``{"progress": {...}}`` per step; ``"none"``. ``-q`` silences the bar (not JSON, which
    a tool asked for). ``own_bar``: the command draws its own (batch): no second bar.
    """
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "none"
    if mode == "bar" and (quiet or own_bar):
        mode = "none"
    if mode == "none":
        yield
        return
    if mode == "json":
        def to_json(step: Step) -> None:
            click.echo(json.dumps({"progress": step.to_dict()}), err=True)

        with reporting(to_json):
            yield
        return
    console = Console(stderr=True)
    logger = logging.getLogger("campwatch")
    ours = [h for h in logger.handlers if getattr(h, "_campwatch_cli", False)]
    with Progress(TextColumn("{task.fields[what]}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}", markup=False), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def draw(step: Step) -> None:
            key = step.what
            if key not in tasks or (step.done == 0 and bar.tasks[tasks[key]].finished):
                tasks[key] = bar.add_task(printable(step.stage), total=step.total or None, what=printable(step.what))
            bar.update(tasks[key], completed=step.done, total=step.total or None, description=printable(step.stage))

        through = _ConsoleHandler(console, ours[0].formatter if ours else None)
        through.setLevel(ours[0].level if ours else logging.NOTSET)
        through._campwatch_cli = True  # type: ignore[attr-defined]  # a subcommand's -v/-q replaces it
        for h in ours:
            logger.removeHandler(h)
        logger.addHandler(through)
        try:
            with reporting(draw):
                yield
        finally:
            logger.removeHandler(through)
            for h in ours:
                logger.addHandler(h)
