"""Numbers on maps: each change's number put beside it, over no other number and under no map furniture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib_scalebar.scalebar import ScaleBar

from campwatch.classes import CLASSES
from campwatch.publish.style import light
from campwatch.publish.views import MappedChange

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MapLabel", "number_label", "place_labels", "LABEL_RINGS"]


@dataclass(frozen=True)
class MapLabel:
    """A change's number, to be placed beside its anchor (a point of the change, data coordinates)."""

    ax: Axes
    x: float
    y: float
    text: str
    colour: str
    fontsize: float = 7.0
    #: Whether the change is drawn as a marker (a tower): other numbers keep off it.
    marker: bool = False


def number_label(ax: Axes, c: MappedChange, *, fontsize: float = 7.0) -> MapLabel:
    """The number of change ``c``, at its point (a tower's centre), with a tick when the analyst confirmed it."""
    style = CLASSES[c.change_class]
    pt = c.geometry.centroid if style.kind == "tower" else c.geometry.representative_point()
    # A change the analyst confirmed carries a tick by its number.
    text = f"{c.number} \u2713" if c.review in ("confirmed", "corrected") else str(c.number)
    return MapLabel(ax, float(pt.x), float(pt.y), text, style.colour, fontsize, marker=style.kind == "tower")


#: How far a number may be put from its change, in rings of candidate places (the first ring touches
#: the change's point; the others are joined to it by a leader line).
LABEL_RINGS = 6


def _furniture_boxes(ax: Axes, renderer: Any) -> list[Any]:
    """Display boxes of what a number must never cover in ``ax``: scale bar, north arrow, a legend in it."""
    boxes = []
    for artist in ax.artists:
        if isinstance(artist, ScaleBar):
            boxes.append(artist.info.window_extent)
    for text in ax.texts:
        if getattr(text, "_campwatch_furniture", False):
            boxes.append(text.get_window_extent(renderer))
    legend = ax.get_legend()
    if legend is not None:
        boxes.append(legend.get_window_extent(renderer))
    return boxes


def place_labels(fig: Figure, labels: list[MapLabel]) -> int:
    """Put each number beside its change where it overlaps no other number, stays inside its map frame
    and is not under the scale bar, north arrow or a legend; return how many found no such place.

    The figure's layout is settled first (one draw) and then fixed, so that the numbers, placed in
    display space, stay where they were put. Each number tries, in order, the eight places around its
    change's point at widening rings (``LABEL_RINGS``; beyond the first a thin leader line joins it to
    its change); one that finds none is left out, and the caller says so. Greedy and deterministic: the
    same changes give the same figure. (adjustText nudges labels iteratively and within a time limit,
    so it neither guarantees no overlap nor gives the same figure on a slower machine.)
    """
    if not labels:
        return 0
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    fig.set_layout_engine("none")  # the numbers must not move the axes they were placed in
    to_points = 72.0 / fig.dpi
    missing = 0
    for ax in dict.fromkeys(label.ax for label in labels):
        frame = ax.get_window_extent(renderer)
        mine = [label for label in labels if label.ax is ax]
        anchors = ax.transData.transform(np.array([[label.x, label.y] for label in mine]))
        blocked = [(b.x0, b.y0, b.x1, b.y1) for b in _furniture_boxes(ax, renderer)]
        marker_r = 6.0 / to_points  # a tower's triangle, in pixels
        markers = [(x - marker_r, y - marker_r, x + marker_r, y + marker_r)
                   for (x, y), label in zip(anchors, mine, strict=True) if label.marker]
        placed: list[tuple[float, float, float, float]] = []
        for (ax_x, ax_y), label in zip(anchors, mine, strict=True):
            pad_pt = 0.15 * label.fontsize
            probe = ax.text(0, 0, label.text, fontsize=label.fontsize)
            extent = probe.get_window_extent(renderer)
            probe.remove()
            pad = pad_pt / to_points + 1.0
            w, h = extent.width + 2 * pad, extent.height + 2 * pad
            gap = (4.0 if not label.marker else 6.0) / to_points
            own = (ax_x - marker_r, ax_y - marker_r, ax_x + marker_r, ax_y + marker_r) if label.marker else None
            others = [m for m in markers if m != own]
            spot = None
            for ring in range(LABEL_RINGS):
                d = gap + ring * (h + 2.0)
                for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1), (1, 0), (-1, 0)):
                    x0 = ax_x + (d if sx > 0 else -d - w if sx < 0 else -w / 2)
                    y0 = ax_y + (d if sy > 0 else -d - h if sy < 0 else -h / 2)
                    box = (x0, y0, x0 + w, y0 + h)
                    if (box[0] < frame.x0 + 1 or box[1] < frame.y0 + 1 or box[2] > frame.x1 - 1
                            or box[3] > frame.y1 - 1):
                        continue
                    if any(_overlap(box, b) for b in (*blocked, *placed, *others)):
                        continue
                    spot = (box, ring)
                    break
                if spot is not None:
                    break
            if spot is None:
                missing += 1
                continue
            (x0, y0, x1, y1), ring = spot
            placed.append((x0, y0, x1, y1))
            offset = ((x0 + pad - ax_x) * to_points, (y0 + pad - ax_y) * to_points)
            lead: dict[str, Any] = {"arrowprops": {"arrowstyle": "-", "color": label.colour, "lw": 0.8,
                                                   "shrinkA": 0, "shrinkB": 0}} if ring else {}
            ax.annotate(label.text, xy=(label.x, label.y), xytext=offset, textcoords="offset points",
                        ha="left", va="bottom", fontsize=label.fontsize, annotation_clip=False,
                        color="black" if light(label.colour) else "white",
                        bbox={"boxstyle": "round,pad=0.15", "fc": label.colour, "ec": "none"}, **lead)
    return missing


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
