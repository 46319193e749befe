"""What every figure shares: text from inputs drawn as data, and the colours a light swatch needs."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from campwatch.io.text import printable
from campwatch.publish.views import ChangeView

__all__ = ["plain_text", "light", "bar_edge"]


F = TypeVar("F", bound=Callable[..., Figure])


def plain_text(f: F) -> F:
    """Draw every text of a figure as it is: names, credits and tags come from inputs and are
    data, never mathtext (a ``$`` in an AOI name must not garble a title or stop a figure)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        if args and isinstance(args[0], ChangeView):  # the AOI's name and the credit: no control characters
            view = args[0]
            args = (dataclasses.replace(view, name=printable(view.name),
                                        credit=printable(view.credit) if view.credit else view.credit), *args[1:])
        if isinstance(kwargs.get("credit"), str):
            kwargs["credit"] = printable(kwargs["credit"])
        with matplotlib.rc_context({"text.parse_math": False}):
            fig = f(*args, **kwargs)
        for text in fig.findobj(Text):  # any other text from an input: NUL, ESC, overrides as escapes
            shown = text.get_text()
            if not shown.isprintable():
                text.set_text("".join(c if c in "\n " or c.isprintable() else printable(c) for c in shown))
        return fig

    return wrapper  # type: ignore[return-value]


def light(colour: str) -> bool:
    """Whether a colour is too light to see on the white of a page."""
    from matplotlib.colors import to_rgb

    return bool(np.mean(to_rgb(colour)) > 0.9)


def bar_edge(colour: str) -> str:
    """The edge of a bar of ``colour``: grey round a light one, white round the others."""
    return "#555555" if light(colour) else "white"
