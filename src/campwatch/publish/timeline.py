"""The timeline of a series: changes per interval by class, fence razed so far, structures and towers seen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from campwatch._version import __version__
from campwatch.classes import CLASSES, TIMELINE_CLASSES
from campwatch.document import ChangeFeature, PairSummary, SeriesImage, SeriesReport
from campwatch.publish.style import bar_edge, plain_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["timeline"]


# The panels' axes are typed Any: matplotlib's stubs take no dates as data, which matplotlib plots.


def _day(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


@plain_text
def timeline(series: SeriesReport, *, width_in: float = 10.0, credit: str | None = None) -> Figure:
    """Return the timeline of a series report (:func:`campwatch.monitor.series.run_series`).

    Three panels sharing a date axis: the changes of each class in each interval (bars
    spanning the interval, stacked; other change noted above them), the fence length
    razed so far, and the structures and towers seen on each compared date. Dates that
    were skipped (mostly hidden) are marked. Classes the pixels cannot show (the report's
    ``classes.possible``) are left out: no fence panel, tower line or legend entry at 8 m.
    """
    pairs = series.pairs
    possible = set(series.classes.possible if series.classes is not None else CLASSES)
    shown = [name for name in TIMELINE_CLASSES if name in possible]
    with_counts = any(p.structures and not p.structures_near_change for p in pairs)
    with_fences = "fence_razed" in possible
    ratios = [2.2] + [1] * with_fences + [1] * with_counts
    fig = Figure(figsize=(width_in, width_in * (0.44 + 0.18 * (len(ratios) - 1))), layout="constrained")
    axes: list[Any] = list(np.atleast_1d(fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios)))
    ax_bar, bottom_ax = axes[0], axes[-1]
    # Changes seen on one image only (snow, vehicles, material) are not counted: the caption says how many.
    every = list(series.features)
    features = [f for f in every if not f.transient]
    transient = len(every) - len(features)
    image_dates = sorted({_day(i.date) for i in series.images})
    intervals = sorted({f.interval for f in features} | {p.interval for p in pairs})
    # A change dated to a span of several images (seen across a cloud or against a baseline) is noted,
    # not drawn as a bar.
    spans = [iv for iv in intervals if any(_day(iv[0]) < d < _day(iv[1]) for d in image_dates)]
    _interval_bars(ax_bar, features, [iv for iv in intervals if iv not in spans], shown)

    images = series.images
    dates = [_day(i.date) for i in images]
    if with_fences:
        _fence_panel(axes[1], features, dates)
    if spans:
        n_span = sum(1 for f in features if f.interval in spans and f.change_class != "other_change")
        ax_bar.set_title(f"Not drawn: {n_span} structure, tower or fence changes dated only to a span of several "
                         "images (seen across a cloud, or against the baseline)", fontsize=8, loc="right", color="#555555")
    if with_counts:
        _count_panel(axes[-1], pairs, possible)
    _date_axis(axes, images, dates)
    fig.suptitle(f"{series.aoi_name or 'AOI'}: changes from {dates[0].isoformat()} to {dates[-1].isoformat()}"
                 if dates else "Timeline", fontsize=12)
    footer = f"Each image date is a grey line; dotted: skipped (mostly hidden). Analysis: campwatch {__version__}"
    if transient:
        footer = f"Not counted: {transient} changes seen on one image only (transient). " + footer
    if credit:
        footer = f"{credit}. " + footer
    bottom_ax.set_xlabel(footer, fontsize=7, color="#333333", loc="left")
    _thin_date_labels(fig, bottom_ax)
    return fig


def _interval_bars(ax: Any, features: list[ChangeFeature], intervals: list[tuple[str, str]],
                   shown: list[str]) -> None:
    """The changes of each class in each interval, stacked bars spanning it; other change noted above."""
    for start, end in intervals:
        x0, x1 = mdates.date2num(_day(start)), mdates.date2num(_day(end))
        width = (x1 - x0) * 0.9
        bottom = 0
        in_interval = [f for f in features if f.interval == (start, end)]
        for name in shown:
            n = sum(1 for f in in_interval if f.change_class == name)
            if n:
                ax.bar(x0 + (x1 - x0) * 0.05, n, width=width, bottom=bottom, align="edge",
                       color=CLASSES[name].colour, edgecolor=bar_edge(CLASSES[name].colour), linewidth=0.5)
                bottom += n
        other = sum(1 for f in in_interval if f.change_class == "other_change")
        if other:
            ax.annotate(f"+{other} other", xy=((x0 + x1) / 2, bottom), xytext=(0, 3),
                        textcoords="offset points", ha="center", fontsize=7, color="#555555")
    ax.set_ylabel("changes per interval")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(handles=[Patch(facecolor=CLASSES[n].colour, edgecolor=bar_edge(CLASSES[n].colour), linewidth=0.5,
                             label=CLASSES[n].label) for n in shown],
              loc="upper left", fontsize=7, ncols=4, framealpha=0.9)
    ax.margins(y=0.35)


def _fence_panel(ax: Any, features: list[ChangeFeature], dates: list[dt.date]) -> None:
    """The length of fence razed up to each image date."""
    razed = [sum(f.length_m or 0.0 for f in features if f.change_class == "fence_razed" and _day(f.interval[1]) <= d)
             for d in dates]
    ax.step(dates, razed, where="post", color=CLASSES["fence_razed"].colour, lw=2)
    ax.plot(dates, razed, "o", color=CLASSES["fence_razed"].colour, ms=4)
    ax.set_ylabel("fence razed\nso far (m)")


def _count_panel(ax: Any, pairs: Sequence[PairSummary], possible: set[str]) -> None:
    """The structures and towers seen on each compared date (of the kinds the pixels can show)."""
    seen: dict[str, dict[str, int]] = {}
    for p in pairs:
        counts = p.structures if p.structures is not None and not p.structures_near_change else {}
        if isinstance(counts.get("before"), dict):
            seen.setdefault(p.start, counts["before"])  # type: ignore[arg-type]
        if isinstance(counts.get("after"), dict):
            seen[p.end] = counts["after"]  # type: ignore[assignment]
    when = sorted(seen)
    styles: tuple[tuple[str, dict[str, Any]], ...] = (("structure", {"color": "#333333", "marker": "s"}),
                                                      ("tower", {"color": "#777777", "marker": "^"}))
    for kind, style in styles:
        if not any(c.kind == kind and name in possible for name, c in CLASSES.items()):
            continue
        ax.plot([_day(d) for d in when], [seen[d].get(kind, 0) for d in when], lw=1.5, ms=5,
                label=f"{kind}s seen", **style)
    ax.set_ylabel("seen in image")
    ax.legend(loc="upper left", fontsize=7)
    ax.margins(y=0.25)


def _date_axis(axes: list[Any], images: Sequence[SeriesImage], dates: list[dt.date]) -> None:
    """A grey line at each image date on every panel, skipped dates dotted and marked, dates under the last."""
    ax_bar, bottom_ax = axes[0], axes[-1]
    for ax in axes:
        for img in images:
            if img.status == "skipped":
                ax.axvline(_day(img.date), color="#999999", ls=":", lw=1)
        for d in dates:
            ax.axvline(d, color="#dddddd", lw=0.5, zorder=0)
        ax.grid(axis="y", color="#eeeeee")
    for img in images:
        if img.status == "skipped":
            ax_bar.annotate("skipped", xy=(mdates.date2num(_day(img.date)), 1.0), xycoords=("data", "axes fraction"),
                            xytext=(2, -10), textcoords="offset points", fontsize=7, color="#777777", rotation=90,
                            va="top")
    bottom_ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    bottom_ax.set_xticks(dates)
    for label in bottom_ax.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")


def _thin_date_labels(fig: Figure, ax: Axes) -> None:
    """Hide the date labels that would overlap one already shown, first and last date kept.

    Every image date keeps its tick and grey line; only its label gives way. The layout is settled
    first (one draw) and fixed after, so what was checked is what is drawn.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    labels = [t for t in ax.get_xticklabels() if t.get_text()]
    if len(labels) < 3:
        return
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    fig.set_layout_engine("none")
    boxes = [t.get_window_extent(renderer).expanded(1.05, 1.0) for t in labels]
    last = boxes[-1]
    kept = 0
    for i in range(1, len(labels) - 1):
        if boxes[i].overlaps(boxes[kept]) or boxes[i].overlaps(last):
            labels[i].set_visible(False)
        else:
            kept = i
