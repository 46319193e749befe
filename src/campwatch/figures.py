"""Draw the annotated change map: later image, change regions by class, AOI, legend, scale, north."""

from __future__ import annotations

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
from campwatch.classes import CLASSES
from campwatch.scene import Scene

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from campwatch.pipeline import DetectResult

__all__ = ["true_colour", "change_map", "stretch_limits"]


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
    ax.annotate(
        "N", xy=(x + dx, y + dy), xytext=(x, y), xycoords="axes fraction",
        ha="center", va="center", fontsize=11, fontweight="bold", color="white",
        arrowprops={"arrowstyle": "-|>", "color": "white", "lw": 2},
        bbox={"boxstyle": "circle,pad=0.2", "fc": "black", "ec": "none", "alpha": 0.6},
    )


def change_map(result: DetectResult, *, width_in: float = 10.0, credit: str | None = None) -> Figure:
    """Return the annotated change map of a detection result.

    The later image in true colour (stretch shared with the earlier one), each change
    region outlined in its class colour and numbered when it is a structure, the AOI
    outline, a legend with counts, a title with the AOI name and the two dates, a scale
    bar and a north arrow.
    """
    before, after = result.before, result.after
    rows, cols = after.shape
    aspect = rows / cols
    fig = Figure(figsize=(width_in + 2.2, max(4.0, width_in * aspect * 0.92 + 1.0)), layout="constrained")
    ax = fig.add_subplot()
    limits = stretch_limits([before, after])
    extent = _extent(after)
    ax.imshow(true_colour(after, limits), extent=extent, interpolation="nearest")
    ax.set_facecolor("#404040")

    no_data = ~(result.before.valid & result.after.valid)
    if no_data.any():
        ax.contourf(no_data.astype("float32"), levels=[0.5, 1.5], extent=extent, origin="upper",
                    colors="none", hatches=["\\\\\\"])
    not_seen = result.obscured.mask
    if not_seen.any():
        ax.contourf(not_seen.astype("float32"), levels=[0.5, 1.5], extent=extent,
                    origin="upper", colors="none", hatches=["////"])
        ax.contour(not_seen.astype("float32"), levels=[0.5], extent=extent,
                   origin="upper", colors=["#bbbbbb"], linewidths=1.0)
    if result.aoi is not None:
        _plot_outline(ax, result.aoi.geometry_in(after.crs), color="white", lw=1.5, ls="--")
    counts = {name: 0 for name in CLASSES}
    for r in result.regions:
        counts[r.change_class] += 1
        style = CLASSES[r.change_class]
        if r.change_class.startswith("tower"):
            c = r.geometry.centroid
            ax.plot([c.x], [c.y], marker="^", markersize=9, color=style.colour, markeredgecolor="white",
                    markeredgewidth=1.2, linestyle="none")
        elif r.change_class.startswith("fence"):
            _plot_outline(ax, r.geometry, color=style.colour, lw=3.0, solid_capstyle="butt")
        elif r.change_class == "other_change":
            # Moved shadows are real radiometric change but rarely news: drawn faint.
            faint = r.cause == "shadow"
            _plot_outline(ax, r.geometry, color=style.colour, lw=0.6 if faint else 1.0, alpha=0.45 if faint else 1.0)
        else:
            _plot_outline(ax, r.geometry, color=style.colour, lw=1.6)
        if r.change_class != "other_change":
            c = r.geometry.representative_point()
            ax.annotate(
                str(r.id), xy=(c.x, c.y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                color="white", bbox={"boxstyle": "round,pad=0.15", "fc": style.colour, "ec": "none"},
            )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])

    def handle(c: Any) -> Patch | Line2D:
        label = f"{c.label} ({counts[c.name]})"
        if c.name.startswith("tower"):
            return Line2D([], [], marker="^", markersize=8, color=c.colour, markeredgecolor="white",
                          linestyle="none", label=label)
        if c.name.startswith("fence"):
            return Line2D([], [], color=c.colour, lw=3, label=label)
        return Patch(facecolor="none", edgecolor=c.colour, lw=2, label=label)

    handles: list[Patch | Line2D] = [handle(c) for c in CLASSES.values()]
    if not_seen.any():
        handles.append(Patch(facecolor="none", edgecolor="#bbbbbb", hatch="////", label="Obscured (cloud)"))
    if no_data.any():
        handles.append(Patch(facecolor="none", edgecolor="#bbbbbb", hatch="\\\\\\", label="No data on a date"))
    if result.aoi is not None:
        handles.append(Line2D([], [], color="white", ls="--", lw=1.5, label="AOI"))
    # Beside the map, so that it hides no change.
    leg = fig.legend(handles=handles, loc="outside right upper", fontsize=8, framealpha=0.95)
    leg.get_frame().set_facecolor("#f4f4f4")

    ax.add_artist(ScaleBar(_metres_per_unit(after), units="m", location="lower right",
                           box_alpha=0.7, length_fraction=0.2))
    _north_arrow(ax, _north_angle(after))
    name = result.aoi.name if result.aoi is not None else (after.path.stem if after.path else "scene")
    ax.set_title(f"{name}: change between {before.date.isoformat()} and {after.date.isoformat()}", fontsize=12)
    footer = f"Shown: {after.date.isoformat()} image. {after.crs.to_string()}. Analysis: campwatch {__version__}"
    if credit:
        footer = f"{credit}. " + footer
    ax.set_xlabel(footer, fontsize=7, color="#333333", loc="left")  # in the layout: never under the legend
    return fig


#: The classes a timeline counts as bars (other change is noted, not drawn).
_TIMELINE_CLASSES = ("structure_new", "structure_demolished", "structure_modified", "tower_added",
                     "tower_removed", "fence_razed", "fence_built")


def timeline(series: dict[str, Any], *, width_in: float = 10.0, credit: str | None = None) -> Figure:
    """Return the timeline of a series report (:func:`campwatch.series.run_series`).

    Three panels sharing a date axis: the changes of each class in each interval (bars
    spanning the interval, stacked; other change noted above them), the fence length
    razed so far, and the structures and towers seen on each compared date. Dates that
    were skipped (mostly hidden) are marked.
    """
    import datetime as dt

    import matplotlib.dates as mdates

    def day(s: str) -> dt.date:
        return dt.date.fromisoformat(s)

    fig = Figure(figsize=(width_in, width_in * 0.8), layout="constrained")
    ax_bar, ax_fence, ax_count = fig.subplots(3, 1, sharex=True, height_ratios=[2.2, 1, 1])
    features = series.get("features", [])
    intervals = sorted({(f["properties"]["interval"]["from"], f["properties"]["interval"]["to"])
                        for f in features} | {(p["from"], p["to"]) for p in series.get("pairs", [])})
    for start, end in intervals:
        x0, x1 = mdates.date2num(day(start)), mdates.date2num(day(end))
        width = (x1 - x0) * 0.9
        bottom = 0
        in_interval = [f["properties"] for f in features
                       if (f["properties"]["interval"]["from"], f["properties"]["interval"]["to"]) == (start, end)]
        for name in _TIMELINE_CLASSES:
            n = sum(1 for p in in_interval if p["class"] == name)
            if n:
                ax_bar.bar(x0 + (x1 - x0) * 0.05, n, width=width, bottom=bottom, align="edge",
                           color=CLASSES[name].colour, edgecolor="white", linewidth=0.5)
                bottom += n
        other = sum(1 for p in in_interval if p["class"] == "other_change")
        if other:
            ax_bar.annotate(f"+{other} other", xy=((x0 + x1) / 2, bottom), xytext=(0, 3),
                            textcoords="offset points", ha="center", fontsize=7, color="#555555")
    ax_bar.set_ylabel("changes per interval")
    ax_bar.yaxis.get_major_locator().set_params(integer=True)
    ax_bar.legend(handles=[Patch(facecolor=CLASSES[n].colour, label=CLASSES[n].label) for n in _TIMELINE_CLASSES],
                  loc="upper left", fontsize=7, ncols=4, framealpha=0.9)
    ax_bar.margins(y=0.35)

    images = series.get("images", [])
    dates = [day(i["date"]) for i in images]
    razed = []
    for d in dates:
        razed.append(sum(f["properties"].get("length_m") or 0.0 for f in features
                         if f["properties"]["class"] == "fence_razed" and day(f["properties"]["interval"]["to"]) <= d))
    ax_fence.step(dates, razed, where="post", color=CLASSES["fence_razed"].colour, lw=2)
    ax_fence.plot(dates, razed, "o", color=CLASSES["fence_razed"].colour, ms=4)
    ax_fence.set_ylabel("fence razed\nso far (m)")

    seen: dict[str, dict[str, int]] = {}
    for p in series.get("pairs", []):
        counts = p.get("structures_seen") or {}
        if "before" in counts:
            seen.setdefault(p["from"], counts["before"])
        if "after" in counts:
            seen[p["to"]] = counts["after"]
    when = sorted(seen)
    for kind, style in (("structure", {"color": "#333333", "marker": "s"}), ("tower", {"color": "#777777",
                                                                                      "marker": "^"})):
        ax_count.plot([day(d) for d in when], [seen[d].get(kind, 0) for d in when], lw=1.5, ms=5,
                      label=f"{kind}s seen", **style)
    ax_count.set_ylabel("seen in image")
    ax_count.legend(loc="upper left", fontsize=7)
    ax_count.margins(y=0.25)

    for ax in (ax_bar, ax_fence, ax_count):
        for img in images:
            if img.get("status") == "skipped":
                ax.axvline(day(img["date"]), color="#999999", ls=":", lw=1)
        for d in dates:
            ax.axvline(d, color="#dddddd", lw=0.5, zorder=0)
        ax.grid(axis="y", color="#eeeeee")
    for img in images:
        if img.get("status") == "skipped":
            ax_bar.annotate("skipped", xy=(mdates.date2num(day(img["date"])), 1.0), xycoords=("data", "axes fraction"),
                            xytext=(2, -10), textcoords="offset points", fontsize=7, color="#777777", rotation=90,
                            va="top")
    ax_count.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    ax_count.set_xticks(dates)
    for label in ax_count.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")
    aoi = series.get("aoi") or {}
    fig.suptitle(f"{aoi.get('name', 'AOI')}: changes from {dates[0].isoformat()} to {dates[-1].isoformat()}"
                 if dates else "Timeline", fontsize=12)
    footer = f"Each image date is a grey line; dotted: skipped (mostly hidden). Analysis: campwatch {__version__}"
    if credit:
        footer = f"{credit}. " + footer
    ax_count.set_xlabel(footer, fontsize=7, color="#333333", loc="left")
    return fig
