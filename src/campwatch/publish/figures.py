"""The figures of a report: location, before/after panels, change overlay, close-ups, timeline.

Every figure is a function that returns a matplotlib :class:`~matplotlib.figure.Figure`
(restyle it as you like; the command line only saves it). Map figures draw a
:class:`campwatch.publish.views.ChangeView` and carry a scale bar, a north
arrow, the dates and the imagery credit; class colours are the Okabe-Ito palette of
:mod:`campwatch.classes` in every figure, and true colour uses one robust stretch for both
dates.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from campwatch._version import __version__
from campwatch.classes import ANALYST_CLASSES, CLASSES, possible_classes, summarize
from campwatch.detection.confidence import LOW_CONFIDENCE
from campwatch.io.scene import Scene
from campwatch.publish.labels import MapLabel, number_label, place_labels
from campwatch.publish.style import light, plain_text
from campwatch.publish.timeline import timeline
from campwatch.publish.views import ChangeView, MappedChange

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["true_colour", "stretch_limits", "change_map", "before_after", "closeups", "location_figure", "timeline",
           "FIGURE_NAMES"]

#: The figure set of a check or series, by file stem.
FIGURE_NAMES = ("location", "before_after", "change_overlay", "closeups", "timeline")


def _rgb_bands(scene: Scene) -> list[int]:
    names = scene.band_names
    if all(n in names for n in ("red", "green", "blue")):
        return [names.index("red"), names.index("green"), names.index("blue")]
    if scene.data.shape[0] >= 3:
        return [0, 1, 2]
    return [0, 0, 0]


def stretch_limits(scenes: list[Scene], *, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Per-band (low, high) percentiles over the valid pixels of all ``scenes``, shape (3, 2).

    Shared by every date so that before and after are shown on one scale.
    """
    bands = _rgb_bands(scenes[0])
    limits = []
    for b in bands:
        values = np.concatenate([s.data[b][s.valid] for s in scenes])
        if values.size == 0:
            limits.append((0.0, 1.0))
            continue
        lo, hi = np.percentile(values, [low, high])
        limits.append((float(lo), float(hi) if hi > lo else float(lo) + 1.0))
    return np.asarray(limits)


def true_colour(scene: Scene, limits: np.ndarray | None = None) -> np.ndarray:
    """Return an (M, N, 4) float RGBA image of ``scene`` with a percentile stretch.

    Invalid pixels are transparent.
    """
    if limits is None:
        limits = stretch_limits([scene])
    bands = _rgb_bands(scene)
    rgb = np.empty(scene.shape + (4,), dtype="float32")
    for i, b in enumerate(bands):
        lo, hi = limits[i]
        rgb[..., i] = np.clip((scene.data[b] - lo) / (hi - lo), 0, 1)
    rgb[..., 3] = scene.valid.astype("float32")
    return rgb


def _extent(scene: Scene) -> tuple[float, float, float, float]:
    t = scene.transform
    rows, cols = scene.shape
    return (t.c, t.c + t.a * cols, t.f + t.e * rows, t.f)


def _plot_outline(ax: Axes, geom: BaseGeometry, **kw: Any) -> None:
    polys = getattr(geom, "geoms", [geom])
    for p in polys:
        rings = [p.exterior, *p.interiors] if hasattr(p, "exterior") else [p]
        for ring in rings:
            x, y = ring.xy
            ax.plot(x, y, **kw)


def _metres_per_unit(scene: Scene) -> float:
    if scene.crs.is_geographic:
        left, right, bottom, top = _extent(scene)
        lat = math.radians((bottom + top) / 2)
        return 111_320.0 * math.cos(lat)
    return float(scene.crs.linear_units_factor[1]) if scene.crs.linear_units_factor else 1.0


def _north_angle(scene: Scene) -> float:
    """Angle (degrees, counter-clockwise from the map's up) of true north at the centre."""
    left, right, bottom, top = _extent(scene)
    cx, cy = (left + right) / 2, (bottom + top) / 2
    to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    from_ll = Transformer.from_crs("EPSG:4326", scene.crs, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    x2, y2 = from_ll.transform(lon, lat + 0.001)
    return math.degrees(math.atan2(-(x2 - cx), y2 - cy))


def _north_arrow(ax: Axes, angle: float) -> None:
    x, y, length = 0.06, 0.86, 0.08
    dx = -math.sin(math.radians(angle)) * length
    dy = math.cos(math.radians(angle)) * length
    arrow = ax.annotate(
        "N", xy=(x + dx, y + dy), xytext=(x, y), xycoords="axes fraction",
        ha="center", va="center", fontsize=11, fontweight="bold", color="white",
        arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 2},
        bbox={"boxstyle": "circle,pad=0.2", "fc": "black", "ec": "none", "alpha": 0.6},
    )
    arrow._campwatch_furniture = True  # type: ignore[attr-defined]  # numbers keep off it (place_labels)


def _footer(ax: Axes, view: ChangeView, shown: str) -> None:
    text = f"{shown} {view.after.crs.to_string()}. Analysis: campwatch {__version__}"
    if view.credit:
        text = f"{view.credit}. " + text
    if view.unverified:
        text = f"NOT VERIFIED: the report drawn here: {view.unverified}. " + text
    ax.set_xlabel(text, fontsize=7, color="#333333", loc="left")  # in the layout: never under a legend


def _furniture(ax: Axes, scene: Scene, *, scale: bool = True) -> None:
    """Scale bar and north arrow."""
    if scale:
        ax.add_artist(ScaleBar(_metres_per_unit(scene), units="m", location="lower right",
                               box_alpha=0.7, length_fraction=0.2))
    _north_arrow(ax, _north_angle(scene))


def _hidden(ax: Axes, view: ChangeView, extent: tuple[float, float, float, float]) -> tuple[bool, bool]:
    """Hatch what could not be seen; return whether there was nodata and cloud."""
    no_data = view.no_data if view.no_data is not None else np.zeros(view.after.shape, bool)
    cloud = view.obscured if view.obscured is not None else np.zeros(view.after.shape, bool)
    if no_data.any():
        ax.contourf(no_data.astype("float32"), levels=[0.5, 1.5], extent=extent, origin="upper",
                    colors="none", hatches=["\\\\\\"])
    if cloud.any():
        ax.contourf(cloud.astype("float32"), levels=[0.5, 1.5], extent=extent, origin="upper", colors="none",
                    hatches=["////"])
        ax.contour(cloud.astype("float32"), levels=[0.5], extent=extent, origin="upper", colors=["#bbbbbb"],
                   linewidths=1.0)
    return bool(no_data.any()), bool(cloud.any())


def _draw_change(ax: Axes, c: MappedChange, *, label: bool = True, scale: float = 1.0,
                 chip: bool = False) -> MapLabel | None:
    """Draw one change; return its number, to be placed by :func:`place_labels` (or None)."""
    style = CLASSES[c.change_class]
    if chip and style.kind == "tower":  # a ring around it: the tower itself stays visible
        pt = c.geometry.centroid
        ax.plot([pt.x], [pt.y], marker="o", markersize=22, markerfacecolor="none", markeredgecolor=style.colour,
                markeredgewidth=2.0, linestyle="none")
    elif chip and style.linear:  # dashed beside-line: the fence itself stays visible
        _plot_outline(ax, c.geometry.buffer(2.5, cap_style="flat").exterior if c.geometry.length else c.geometry,
                      color=style.colour, lw=1.5, ls="--")
    elif style.kind == "tower":
        pt = c.geometry.centroid
        ax.plot([pt.x], [pt.y], marker="^", markersize=9 * scale, color=style.colour, markeredgecolor="white",
                markeredgewidth=1.2, linestyle="none")
    elif style.linear:
        _plot_outline(ax, c.geometry, color=style.colour, lw=3.0 * scale, solid_capstyle="butt")
    elif c.change_class == "other_change":
        _plot_outline(ax, c.geometry, color=style.colour, lw=0.6 * scale, alpha=0.45)
    else:
        _plot_outline(ax, c.geometry, color=style.colour, lw=1.6 * scale,
                      ls="--" if c.confidence < LOW_CONFIDENCE else "-")
    if label and c.change_class != "other_change":
        return number_label(ax, c, fontsize=7 * scale)
    return None


def _rings(geom: BaseGeometry) -> list[np.ndarray]:
    """The outline(s) of a geometry as (N, 2) arrays: rings of polygons, or lines."""
    out = []
    for p in getattr(geom, "geoms", [geom]):
        for ring in ([p.exterior, *p.interiors] if hasattr(p, "exterior") else [p]):
            out.append(np.asarray(ring.coords)[:, :2])
    return out


#: Above this many named changes a map is too crowded for numbers: they are left out (the report lists them).
MAX_NUMBERED = 300


def _draw_changes(ax: Axes, changes: list[MappedChange]) -> list[MapLabel] | None:
    """Draw many changes as :func:`_draw_change` does, one collection per class (a scene may hold thousands).

    Returns the numbers to place (:func:`place_labels`), or None when the changes are not numbered (more
    than ``MAX_NUMBERED`` are named).
    """
    from matplotlib.collections import LineCollection

    labels: list[MapLabel] = []

    by_class: dict[str, list[MappedChange]] = {}
    for c in changes:
        by_class.setdefault(c.change_class, []).append(c)
    numbered = sum(1 for c in changes if c.change_class != "other_change") <= MAX_NUMBERED
    marker = 9 if numbered else 4
    # Other change underneath, then the changes an analyst names.
    for name in sorted(by_class, key=lambda n: (n != "other_change", list(CLASSES).index(n))):
        style, group = CLASSES[name], by_class[name]
        if style.kind == "tower":
            pts = np.array([[c.geometry.centroid.x, c.geometry.centroid.y] for c in group])
            ax.plot(pts[:, 0], pts[:, 1], marker="^", markersize=marker, color=style.colour, markeredgecolor="white",
                    markeredgewidth=1.2 if numbered else 0.4, linestyle="none")
        else:
            # Other change faint beneath, so that the named changes stand out; a doubtful named change
            # (confidence below LOW_CONFIDENCE) dashed.
            lw = 0.6 if name == "other_change" else 3.0 if style.linear else 1.6
            for doubtful in (False, True):
                part = [c for c in group if (name != "other_change" and c.confidence < LOW_CONFIDENCE) == doubtful]
                if not part:
                    continue
                lines = LineCollection([r for c in part for r in _rings(c.geometry)], colors=style.colour,
                                       linewidths=lw, alpha=0.45 if name == "other_change" else None,
                                       linestyles="--" if doubtful else "-")
                if style.linear:
                    lines.set_capstyle("butt")
                ax.add_collection(lines)
        if name != "other_change" and numbered:
            labels.extend(number_label(ax, c) for c in group)
    return labels if numbered else None


def _legend_handle(c: Any, label: str) -> Patch | Line2D:
    if c.kind == "tower":
        return Line2D([], [], marker="^", markersize=8, color=c.colour, markeredgecolor="white",
                      linestyle="none", label=label)
    if c.linear:
        return Line2D([], [], color=c.colour, lw=3, label=label)
    if light(c.colour):  # a white outline shows on a dark swatch, as on the imagery
        return Patch(facecolor="#404040", edgecolor=c.colour, lw=2, label=label)
    return Patch(facecolor="none", edgecolor=c.colour, lw=2, label=label)


@plain_text
def change_map(view: ChangeView, *, width_in: float = 10.0) -> Figure:
    """Return the annotated change map (the change overlay) of a run.

    The later image in true colour (stretch shared with the earlier one), each change
    outlined in its class colour and numbered unless it is other change, towers as
    triangles and fences as lines, what could not be seen hatched, the AOI outline, a
    legend with counts per class beside the map, a title with the AOI name and the two
    dates, a scale bar, a north arrow and the imagery credit.

    Parameters
    ----------
    view : ChangeView
        A run in memory (:func:`campwatch.publish.views.view_from_result`), or a view of one
        made from its outputs (:mod:`campwatch.publish.views`).
    """
    before, after = view.before, view.after
    rows, cols = after.shape
    fig = Figure(figsize=(width_in + 2.2, max(4.0, width_in * rows / cols * 0.92 + 1.0)), layout="constrained")
    ax = fig.add_subplot()
    limits = stretch_limits([before, after])
    extent = _extent(after)
    ax.imshow(true_colour(after, limits), extent=extent, interpolation="nearest")
    ax.set_facecolor("#404040")
    no_data, cloud = _hidden(ax, view, extent)
    if view.aoi is not None:
        _plot_outline(ax, view.aoi.geometry_in(after.crs), color="white", lw=1.5, ls="--")
    counts = summarize(view.changes).counts
    labels = _draw_changes(ax, view.changes)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])
    possible, why = possible_classes(float(np.sqrt(after.pixel_area)))
    handles: list[Patch | Line2D] = [_legend_handle(c, f"{c.label} ({counts[c.name]})") for c in CLASSES.values()
                                     if c.name in possible]
    if any(c.change_class in ANALYST_CLASSES and c.confidence < LOW_CONFIDENCE for c in view.changes):
        handles.append(Line2D([], [], color="#555555", lw=1.6, ls="--", label=f"Dashed: confidence below "
                                                                              f"{LOW_CONFIDENCE:g}, doubtful"))
    if why:
        kinds = sorted({CLASSES[n].kind for n in why}, key=["structure", "tower", "fence"].index)
        handles.append(Patch(facecolor="none", edgecolor="none",
                             label=f"Not looked for at {np.sqrt(after.pixel_area):.3g} m: " + ", ".join(
                                 {"tower": "towers", "fence": "fences", "structure": "structures"}[k] for k in kinds)))
    if cloud:
        handles.append(Patch(facecolor="none", edgecolor="#888888", hatch="////", label="Obscured (cloud)"))
    if no_data:
        handles.append(Patch(facecolor="none", edgecolor="#888888", hatch="\\\\\\", label="No data on a date"))
    if view.aoi is not None:
        handles.append(Patch(facecolor="#404040", edgecolor="white", ls="--", lw=1.5, label="AOI"))  # as on the imagery
    # Beside the map, so that it hides no change.
    leg = fig.legend(handles=handles, loc="outside right upper", fontsize=8, framealpha=0.95)
    leg.get_frame().set_facecolor("#f4f4f4")
    _furniture(ax, after)
    ax.set_title(f"{view.name}: change between {before.date.isoformat()} and {after.date.isoformat()}", fontsize=12)
    shown = f"Shown: {after.date.isoformat()} image."
    if view.counted_earlier:
        shown += (f" In the series, {view.counted_earlier} of these changes are counted in an earlier interval "
                  "(found again), not again here.")
    if labels is None:
        shown += " Too many changes to number at this scale: the report lists them."
    _footer(ax, view, shown)
    missing = place_labels(fig, labels or [])
    if missing:  # the layout is fixed now; the footer is left-aligned and has room to grow
        _footer(ax, view, shown + f" {missing} numbers left out where there was no room: the report lists them.")
    return fig


@plain_text
def before_after(view: ChangeView, *, width_in: float = 14.0) -> Figure:
    """Return before and after panels of identical extent and scale, each dated.

    Every change an analyst names is outlined and numbered the same in both panels
    (other change is left out, so that the panels stay readable); one stretch serves both
    dates, so that brightness can be compared. Scale bar, north arrow and credit on each.
    """
    rows, cols = view.after.shape
    fig = Figure(figsize=(width_in, max(4.0, width_in / 2 * rows / cols + 1.6)), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    limits = stretch_limits([view.before, view.after])
    extent = _extent(view.after)
    labels: list[MapLabel] = []
    for ax, scene, when in ((axes[0], view.before, "Before"), (axes[1], view.after, "After")):
        ax.imshow(true_colour(scene, limits), extent=extent, interpolation="nearest")
        ax.set_facecolor("#404040")
        if view.aoi is not None:
            _plot_outline(ax, view.aoi.geometry_in(scene.crs), color="white", lw=1.2, ls="--")
        for c in view.analyst_changes:
            number = _draw_change(ax, c)
            if number is not None:
                labels.append(number)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{when}: {scene.date.isoformat()}", fontsize=11, fontweight="bold")
        _furniture(ax, scene)
    present = sorted({c.change_class for c in view.analyst_changes}, key=list(CLASSES).index)
    if present:
        fig.legend(handles=[_legend_handle(CLASSES[n], CLASSES[n].label) for n in present], loc="outside lower center",
                   ncols=min(4, len(present)), fontsize=8, framealpha=0.95)
    fig.suptitle(f"{view.name}: {view.before.date.isoformat()} and {view.after.date.isoformat()}, "
                 f"{len(view.analyst_changes)} changes numbered", fontsize=12)
    shown = "Same extent, scale and contrast stretch in both panels."
    _footer(axes[0], view, shown)
    missing = place_labels(fig, labels)
    if missing:  # the layout is fixed now; the footer is left-aligned and has room to grow
        _footer(axes[0], view, shown + f" {missing} numbers left out where there was no room: the report lists them.")
    return fig


@plain_text
def closeups(
    view: ChangeView, *, max_changes: int = 12, chip_m: float = 40.0
) -> Figure:
    """Return before/after chips of each significant change, side by side, with its number, class and size.

    Significant: every class an analyst names (structures, towers, fences), most
    confident first, at most ``max_changes``. Each chip is at least ``chip_m`` metres
    across, centred on the change, with one stretch for both dates.
    """
    chosen = sorted(view.analyst_changes, key=lambda c: (-c.confidence, c.number))[:max_changes]
    chosen.sort(key=lambda c: c.number)
    n = max(1, len(chosen))
    ncols = 2 if n > 1 else 1
    nrows = int(math.ceil(n / ncols))
    fig = Figure(figsize=(5.2 * ncols, 2.9 * nrows + 0.9), layout="constrained")
    grid = fig.add_gridspec(nrows, ncols * 2)
    limits = stretch_limits([view.before, view.after])
    if not chosen:
        ax = fig.add_subplot(grid[0, :])
        ax.text(0.5, 0.5, "No structure, tower or fence change to show", ha="center", va="center", fontsize=12)
        ax.set_axis_off()
    px = abs(view.after.transform.a)
    for i, c in enumerate(chosen):
        r, k = divmod(i, ncols)
        minx, miny, maxx, maxy = c.geometry.bounds
        half = max(chip_m / 2, (maxx - minx) / 2 + 8, (maxy - miny) / 2 + 8)
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        pair, chip_limits = (view.before, view.after), limits
        if view.chips is not None:
            # A reduced view of a large scene: read the chip at full resolution, one stretch for both dates.
            pair = view.chips((cx - half - 2 * px, cy - half - 2 * px, cx + half + 2 * px, cy + half + 2 * px))
            chip_limits = stretch_limits(list(pair))
        for j, (scene, when) in enumerate(zip(pair, ("before", "after"), strict=True)):
            ax = fig.add_subplot(grid[r, 2 * k + j])
            col0, row0 = ~scene.transform * (cx - half - px, cy + half + px)
            col1, row1 = ~scene.transform * (cx + half + px, cy - half - px)
            r0, r1 = max(0, int(row0)), min(scene.shape[0], int(math.ceil(row1)))
            c0, c1 = max(0, int(col0)), min(scene.shape[1], int(math.ceil(col1)))
            rgb = true_colour(scene, chip_limits)[r0:r1, c0:c1]
            t = scene.transform
            ax.imshow(rgb, extent=(t.c + c0 * t.a, t.c + c1 * t.a, t.f + r1 * t.e, t.f + r0 * t.e),
                      interpolation="nearest")
            ax.set_facecolor("#404040")
            _draw_change(ax, c, label=False, scale=1.2, chip=True)
            ax.set_xlim(cx - half, cx + half)
            ax.set_ylim(cy - half, cy + half)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{when} {scene.date.isoformat()}", fontsize=8)
            if j == 0:
                ax.set_ylabel(f"{c.number}. {CLASSES[c.change_class].label}\n{c.size}", fontsize=9,
                              color=CLASSES[c.change_class].colour if c.change_class != "tower_added" else "black",
                              fontweight="bold")
            else:
                ax.add_artist(ScaleBar(_metres_per_unit(scene), units="m", location="lower right", box_alpha=0.7,
                                       length_fraction=0.35, font_properties={"size": 6}))
            if j == 0 and i == 0:
                _north_arrow(ax, _north_angle(scene))
    fig.suptitle(f"{view.name}: close-ups, {view.before.date.isoformat()} and {view.after.date.isoformat()}",
                 fontsize=12)
    text = "Each change: before (left) and after (right), same stretch. North is up."
    if view.credit:
        text = f"{view.credit}. {text}"
    fig.text(0.01, 0.003, f"{text} Analysis: campwatch {__version__}", fontsize=7, color="#333333")
    return fig


def _nice_step(span_deg: float) -> float:
    for step in (0.0005, 0.001, 0.002, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if span_deg / step <= 6:
            return step
    return 1.0


def _dms(value: float, pos: str, neg: str) -> str:
    return f"{abs(value):.4f}\u00b0 {pos if value >= 0 else neg}"


@plain_text
def location_figure(view: ChangeView, *, width_in: float = 10.0) -> Figure:
    """Return the location figure: the AOI outline on the imagery with a latitude/longitude grid.

    The title gives the camp's name and the coordinates of the AOI's centre in decimal
    degrees; the subtitle its size and the date of the image shown (the later one). No
    basemap is fetched: the imagery is the map.
    """
    scene = view.after
    image_extent = _extent(scene)
    extent = image_extent
    if view.aoi is not None:  # the whole AOI, and the imagery in it
        left, bottom, right, top = view.aoi.geometry_in(scene.crs).bounds
        left, right = min(left, extent[0]), max(right, extent[1])
        bottom, top = min(bottom, extent[2]), max(top, extent[3])
        pad = 0.04 * max(right - left, top - bottom)
        extent = (left - pad, right + pad, bottom - pad, top + pad)
    aspect = (extent[3] - extent[2]) / (extent[1] - extent[0])
    inset_in = 0.3 * width_in
    fig = Figure(figsize=(width_in + inset_in, max(4.0, width_in * aspect * 0.9 + 1.2)), layout="constrained")
    ax, ax_region = fig.subplots(1, 2, width_ratios=[width_in, inset_in])
    ax.imshow(true_colour(scene, stretch_limits([view.before, scene])), extent=image_extent, interpolation="nearest")
    ax.set_facecolor("#404040")
    footprint = [image_extent[0], image_extent[1], image_extent[1], image_extent[0], image_extent[0]], \
        [image_extent[2], image_extent[2], image_extent[3], image_extent[3], image_extent[2]]
    ax.plot(*footprint, color="white", lw=1.2)
    to_ll = Transformer.from_crs(scene.crs, "EPSG:4326", always_xy=True)
    from_ll = Transformer.from_crs("EPSG:4326", scene.crs, always_xy=True)
    xs = np.linspace(extent[0], extent[1], 5)
    ys = np.linspace(extent[2], extent[3], 5)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = to_ll.transform(gx.ravel(), gy.ravel())
    step = _nice_step(max(np.ptp(lon), np.ptp(lat)))
    lon_lines = np.arange(math.ceil(min(lon) / step) * step, max(lon) + 1e-12, step)
    lat_lines = np.arange(math.ceil(min(lat) / step) * step, max(lat) + 1e-12, step)
    lat_span = np.linspace(min(lat) - step, max(lat) + step, 100)
    lon_span = np.linspace(min(lon) - step, max(lon) + step, 100)
    xticks, xlabels, yticks, ylabels = [], [], [], []
    for lo in lon_lines:
        x, y = from_ll.transform(np.full_like(lat_span, lo), lat_span)
        ax.plot(x, y, color="white", lw=0.6, alpha=0.7)
        bx, _ = from_ll.transform(lo, float(np.mean(lat)))
        xticks.append(bx)
        xlabels.append(_dms(lo, "E", "W"))
    for la in lat_lines:
        x, y = from_ll.transform(lon_span, np.full_like(lon_span, la))
        ax.plot(x, y, color="white", lw=0.6, alpha=0.7)
        _, by = from_ll.transform(float(np.mean(lon)), la)
        yticks.append(by)
        ylabels.append(_dms(la, "N", "S"))
    ax.set_xticks(xticks, xlabels, fontsize=7)
    ax.set_yticks(yticks, ylabels, fontsize=7)
    ax.tick_params(top=True, right=True, labeltop=True, labelright=False)
    name = view.name
    if view.aoi is not None:
        geom = view.aoi.geometry_in(scene.crs)
        _plot_outline(ax, geom, color="#E69F00", lw=2.5)
        c = view.aoi.geometry.centroid
        size = f"AOI {geom.area / 1e6:,.2f} km\u00b2 ({geom.bounds[2] - geom.bounds[0]:,.0f} m x " \
               f"{geom.bounds[3] - geom.bounds[1]:,.0f} m)"
        where = f"{_dms(c.y, 'N', 'S')}, {_dms(c.x, 'E', 'W')}"
        if view.aoi.approximate:
            where += " (approximate)"
    else:
        lon_m, lat_m = to_ll.transform((extent[0] + extent[1]) / 2, (extent[2] + extent[3]) / 2)
        size, where = "", f"{_dms(lat_m, 'N', 'S')}, {_dms(lon_m, 'E', 'W')}"
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    _furniture(ax, scene)
    ax.set_title(f"{name}\n{where}", fontsize=12, fontweight="bold")
    legend: list[Line2D | Patch] = [Line2D([], [], color="#E69F00", lw=2.5, label="AOI outline"),
              Line2D([], [], color="white", lw=1.2, label=f"Image footprint ({scene.date.isoformat()})"),
              Line2D([], [], color="white", lw=0.6, label=f"lat/lon grid, every {step:g}\u00b0")]
    if extent != image_extent:
        legend.append(Patch(facecolor="#404040", edgecolor="#888888", label="No imagery"))
    lon_c, lat_c = (c.x, c.y) if view.aoi is not None else to_ll.transform((image_extent[0] + image_extent[1]) / 2,
                                                                            (image_extent[2] + image_extent[3]) / 2)
    _region(ax_region, float(lon_c), float(lat_c))
    ax.legend(handles=legend, loc="lower left", fontsize=8, facecolor="#222222", labelcolor="white", framealpha=0.8)
    _footer(ax, view, f"{size}. Image of {scene.date.isoformat()}." if size else f"Image of {scene.date.isoformat()}.")
    return fig


@functools.cache
def _countries() -> tuple[BaseGeometry, ...]:
    """Country outlines for the location figure's inset (Natural Earth 1:110m, public domain, shipped)."""
    import json
    from importlib.resources import files

    from shapely.geometry import shape

    doc = json.loads((files("campwatch.data") / "countries_110m.json").read_text(encoding="utf-8"))
    return tuple(shape(f["geometry"]) for f in doc["features"])


#: Half the width and height of the location figure's inset, in degrees of longitude and latitude.
REGION_HALF_DEG = (8.0, 6.0)


def _region(ax: Axes, lon: float, lat: float) -> None:
    """The inset of the location figure: where the AOI is in its region, on country outlines."""
    from shapely.geometry import box

    hx, hy = REGION_HALF_DEG
    west, east = lon - hx, lon + hx
    south, north = max(-90.0, lat - hy), min(90.0, lat + hy)
    frame = box(west, south, east, north)
    ax.set_facecolor("#dbe7f0")  # water
    for country in _countries():
        if country.intersects(frame):
            for part in getattr(country.intersection(frame), "geoms", [country.intersection(frame)]):
                if hasattr(part, "exterior"):
                    x, y = part.exterior.xy
                    ax.fill(x, y, facecolor="#f2efe9", edgecolor="#888888", lw=0.5)
    ax.plot([lon], [lat], marker="s", markersize=9, markerfacecolor="#E69F00", markeredgecolor="black",
            markeredgewidth=1.0, linestyle="none")
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect(1.0 / max(0.05, math.cos(math.radians(lat))))
    ax.set_anchor("N")
    ax.tick_params(labelsize=6)
    ax.xaxis.set_major_formatter(lambda v, _: f"{abs(v):g}\u00b0{'E' if v >= 0 else 'W'}")
    ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):g}\u00b0{'N' if v >= 0 else 'S'}")
    ax.set_title("The AOI in its region", fontsize=9)
    ax.set_xlabel("Borders: Natural Earth 1:110m, approximate", fontsize=6, color="#555555")
