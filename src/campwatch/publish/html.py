"""The figure set and the self-contained ``report.html`` of a run, a series or a check.

:func:`figure_set` makes every figure of a :class:`~campwatch.publish.views.ChangeView` as
matplotlib Figures; :func:`stage_figure_set` saves them as PNG (300 dpi) and PDF;
:func:`report_html` renders one HTML file with every figure embedded (no external
request), the header of a published report, a summary, the gazetteer, the caveats and
the provenance. :func:`write_figures` does all of it from a report on disk, without
analysing anything again (``campwatch figures``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from campwatch._version import __version__
from campwatch.classes import CLASSES, summarize
from campwatch.detection.confidence import LOW_CONFIDENCE, calibration
from campwatch.document import (
    REPORT_HTML,
    SERIES_SCHEMA,
    AnyReport,
    ChangeFeature,
    CheckReport,
    PairReport,
    SeriesImage,
    SeriesReport,
)
from campwatch.io.output import OutputSet
from campwatch.io.recorded import recorded_path
from campwatch.io.text import printable
from campwatch.progress import start
from campwatch.publish.figures import before_after, change_map, closeups, location_figure, timeline
from campwatch.publish.views import ANALYST_CLASSES, ChangeView, view_from_report, view_from_series

__all__ = ["figure_set", "stage_figure_set", "report_html", "write_figures", "FIGURE_TITLES", "HTML_WIDTH_PX"]

#: The figures of a set, by file stem, with their titles in the HTML report.
FIGURE_TITLES = {
    "location": "Location",
    "before_after": "Before and after",
    "change_overlay": "Changes by class",
    "closeups": "Close-ups",
    "timeline": "Timeline",
}

#: Figures are embedded in the HTML report at this width at most (the files keep 300 dpi).
HTML_WIDTH_PX = 1600


def figure_set(view: ChangeView, *, series: SeriesReport | None = None) -> dict[str, Figure]:
    """Every figure of ``view``, by file stem; the timeline only when a series (or history) is given."""
    draw: dict[str, Callable[[], Figure]] = {
        "location": lambda: location_figure(view),
        "before_after": lambda: before_after(view),
        "change_overlay": lambda: change_map(view),
        "closeups": lambda: closeups(view),
    }
    if series is not None:
        draw["timeline"] = lambda: timeline(series, credit=view.credit)
    task = start("figure", len(draw), f"drawing {FIGURE_TITLES['location'].lower()}")
    figs: dict[str, Figure] = {}
    stems = list(draw)
    for i, stem in enumerate(stems):
        figs[stem] = draw[stem]()
        task.advance(f"drawing {FIGURE_TITLES[stems[i + 1]].lower()}" if i + 1 < len(stems) else "drawn")
    return figs


def _png(fig: Figure, dpi: int) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _pdf(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    return buf.getvalue()


def stage_figure_set(
    figs: dict[str, Figure], outs: OutputSet, *, prefix: str = "figures/", dpi: int = 300
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Save each figure as PNG (``dpi``) and PDF into ``outs`` under ``prefix``.

    Returns the SHA-256 of each file by name, and each PNG's bytes by stem (for the HTML).
    """
    import hashlib

    hashes: dict[str, str] = {}
    pngs: dict[str, bytes] = {}
    task = start("figure file", len(figs), f"saving {len(figs)} figures as PNG ({dpi} dpi) and PDF")
    for stem, fig in task.each(figs.items(), lambda item: f"{item[0]} saved"):
        png, pdf = _png(fig, dpi), _pdf(fig)
        for suffix, data in ((".png", png), (".pdf", pdf)):
            name = f"{prefix}{stem}{suffix}"
            outs.path(name).write_bytes(data)
            hashes[name] = hashlib.sha256(data).hexdigest()
        pngs[stem] = png
    return hashes, pngs


def _data_uri(png: bytes, width: int = HTML_WIDTH_PX) -> str:
    img: Image.Image = Image.open(io.BytesIO(png))
    if img.width > width:
        img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    # JPEG keeps the page light (imagery compresses poorly as PNG); the PNG and PDF files
    # beside the page are the ones to publish.
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _hemi(value: float, pos: str, neg: str) -> str:
    return f"{abs(value):.6f}\u00b0 {pos if value >= 0 else neg}"


_CAPTIONS = {
    "location": "The AOI outline on the later image, with a latitude/longitude grid.",
    "before_after": "Both dates at the same extent, scale and contrast; each change outlined and numbered "
                    "the same in both panels (numbers as in the gazetteer).",
    "change_overlay": "Every change on the later image, coloured by class; what could not be seen is hatched.",
    "closeups": "Each significant change: before (left) and after (right), with its number, class and size.",
    "timeline": "Changes per class in each interval between images; fence length razed so far; structures "
                "and towers seen on each date.",
}


def report_html(
    view: ChangeView,
    pngs: dict[str, bytes],
    *,
    kind: str,
    doc: AnyReport,
    headline: str | None = None,
    report_date: dt.date | None = None,
    also: Sequence[ChangeFeature] = (),
    folder: str | Path | None = None,
    doc_folder: str | Path | None = None,
    warnings: Sequence[str] = (),
) -> str:
    """Render the self-contained HTML report.

    Parameters
    ----------
    view : ChangeView
        What the figures show (for the gazetteer and the header).
    pngs : dict
        PNG bytes of each figure by stem (embedded, downscaled to ``HTML_WIDTH_PX``).
    kind : {"pair", "series", "check"}
    doc : PairReport, SeriesReport or CheckReport
        The run's report (``report.geojson``, ``series.geojson`` or ``check.json``): its
        images, warnings, parameters, software and hashes fill the caveats and provenance.
    headline : str, optional
        What is new (a check's summary line).
    also : sequence of ChangeFeature, optional
        Changes outside the figures' pair to list too (a check's finds against its
        baseline: :meth:`campwatch.monitor.tracking.TrackedChange.feature`).
    folder : str or Path, optional
        Where the page is written: the paths of inputs are shown relative to it, and none
        absolute (a published page must not carry the analyst's user and folder names).
    doc_folder : str or Path, optional
        The folder of ``doc`` on disk, which its relative paths are from, when it is not
        ``folder`` (``campwatch figures --out`` elsewhere).
    warnings : sequence of str, optional
        Warnings of the figures' pair besides the report's own (a check's newest pair).
    """
    env = Environment(loader=PackageLoader("campwatch.publish", "templates"), autoescape=select_autoescape(["html"]),
                      finalize=_shown)
    aoi = view.aoi
    if aoi is not None:
        c = aoi.geometry.centroid
        geom = aoi.geometry_in(view.after.crs)
        header = {
            "name": aoi.name, "aliases": ", ".join(aoi.aliases), "source": aoi.source,
            "approximate": aoi.approximate, "centre": f"{_hemi(c.y, 'N', 'S')}, {_hemi(c.x, 'E', 'W')}",
            "size": f"{geom.area / 1e6:,.2f} km\u00b2 ({geom.bounds[2] - geom.bounds[0]:,.0f} m x "
                    f"{geom.bounds[3] - geom.bounds[1]:,.0f} m)",
        }
    else:
        header = {"name": view.name, "aliases": "", "source": "", "approximate": False, "centre": "", "size": ""}
    images: Sequence[SeriesImage]
    if isinstance(doc, PairReport):  # before and after
        images = [SeriesImage(file=i.file or "", date=i.date, status="compared") for i in (doc.before, doc.after)]
    elif isinstance(doc, CheckReport):  # every image of the AOI, not only this check's
        images = [SeriesImage(file="", date=i.date or "", status="compared") for i in doc.provenance.of_role("image")]
    else:
        images = doc.images
    summary = summarize(view.changes)
    summary_rows = [{"label": CLASSES[name].label, "colour": CLASSES[name].colour, "count": summary.counts[name],
                     "total": f"{summary.size(name):,.0f} " + ("m" if CLASSES[name].linear else "m\u00b2")}
                    for name in summary.found]
    gazetteer = [
        {"number": ch.number, "id": ch.id, "label": CLASSES[ch.change_class].label,
         "colour": CLASSES[ch.change_class].colour, "size": ch.size, "lat": f"{ch.lonlat[1]:.6f}",
         "lon": f"{ch.lonlat[0]:.6f}", "interval": f"{ch.interval[0]} to {ch.interval[1]}",
         "confidence": f"{ch.confidence:.2f}", "found_by": ch.found_by, "review": ch.review}
        for ch in sorted(view.changes, key=lambda ch: ch.number) if ch.change_class in ANALYST_CLASSES
    ]
    other = [ch for ch in view.changes if ch.change_class not in ANALYST_CLASSES]
    caveats = _caveats(view, doc, list(warnings))
    figures = [{"stem": s, "title": FIGURE_TITLES[s], "caption": _CAPTIONS[s], "src": _data_uri(pngs[s])}
               for s in FIGURE_TITLES if s in pngs]
    record = doc.provenance
    inputs = [dataclasses.replace(i, path=_relative(i.path, folder, doc_folder)) for i in record.inputs]
    outputs = record.outputs
    parameters = dict(record.parameters)
    if parameters.get("model"):
        parameters["model"] = _relative(parameters["model"], folder, doc_folder)
    return env.get_template("report.html").render(
        kind=kind, header=header, view=view, images=images, headline=headline, summary_rows=summary_rows,
        gazetteer=gazetteer, other_count=len(other), other_area=f"{sum(ch.area_m2 for ch in other):,.0f}",
        caveats=caveats, figures=figures, inputs=inputs, outputs=outputs, also=[_also(f) for f in also
                                                                              if f.change_class in ANALYST_CLASSES],
        parameters=json.dumps(parameters, indent=1),
        software=record.software, version=__version__, credit=view.credit,
        report_date=(report_date or dt.datetime.now(dt.timezone.utc).date()).isoformat(),
        dates=f"{view.before.date.isoformat()} to {view.after.date.isoformat()}",
    )


def _shown(value: Any) -> Any:
    """Every value the page shows, its control and format characters (NUL, ESC, a right-to-left override)
    written as escapes (:func:`campwatch.io.text.printable`); newlines and tabs stay (the parameters' layout).
    Markup is escaped after this, by the template's autoescape."""
    if isinstance(value, str) and not value.isprintable():
        return "".join(c if c in "\n\t " or c.isprintable() else printable(c) for c in value)
    return value


def _relative(path: Any, folder: str | Path | None, doc_folder: str | Path | None = None) -> str:
    """A path as a published page shows it: relative to the page's folder when near it, else its name; never absolute.

    A relative ``path`` is from ``doc_folder`` (the document's folder), or from the page's own.
    """
    if not path:
        return ""
    p = Path(str(path))
    if not p.is_absolute():
        if doc_folder is None:  # recorded from the page's own folder
            return p.as_posix() if p.parts.count("..") <= 2 else p.name
        p = recorded_path(str(p), Path(doc_folder).absolute())
    if folder is not None:
        try:
            rel = os.path.relpath(p, Path(folder).absolute())
        except ValueError:  # another drive (Windows)
            return p.name
        # Near the page (beside it, or one or two folders up): relative; farther, a climb to the
        # root would spell out the absolute path again: the name alone.
        if Path(rel).parts.count("..") <= 2:
            return rel
    return p.name


def _also(f: ChangeFeature) -> dict[str, str]:
    """A row of the changes listed besides the figures' pair."""
    lonlat = f.centroid_lonlat or (float("nan"), float("nan"))
    label = CLASSES[f.change_class]
    return {"id": str(f.id), "label": label.label, "colour": label.colour,
            "size": f"{f.length_m:,.0f} m" if f.length_m is not None else f"{f.area_m2:,.0f} m\u00b2",
            "lat": f"{lonlat[1]:.6f}", "lon": f"{lonlat[0]:.6f}", "interval": f"{f.interval[0]} to {f.interval[1]}",
            "confidence": f"{f.confidence:.2f}"}


def _pair_caveats(view: ChangeView, doc: PairReport) -> list[str]:
    """What a pair could not see, and how far its images were moved onto each other."""
    out = []
    ob = doc.summary.get("obscured_area_m2")
    ob = ob if isinstance(ob, dict) else {}
    if ob.get("before") or ob.get("after"):
        out.append(f"Hidden by cloud or cloud shadow, not analysed: {ob.get('before', 0):,.0f} m\u00b2 on "
                   f"{view.before.date.isoformat()}, {ob.get('after', 0):,.0f} m\u00b2 on "
                   f"{view.after.date.isoformat()}.")
    frac = doc.summary.get("not_analysed_fraction")
    if isinstance(frac, (int, float)) and frac:
        out.append(f"{frac:.1%} of the image window was not analysed (outside the AOI, or no data on a date).")
    if doc.coregistration is None:
        return out
    shift, residual = doc.coregistration.shift_px, doc.coregistration.residual
    left = (f"; left after correction: median {residual['median_px']:.2f} px, at most "
            f"{residual['max_px']:.2f} px over {residual['tiles']} tiles") if residual else ""
    out.append(f"Misregistration measured and corrected: {shift[0]:+.2f} rows, {shift[1]:+.2f} columns "
               f"(pixels) of the later image{left}.")
    return out


def _caveats(view: ChangeView, doc: AnyReport, warnings: list[str]) -> list[str]:
    out = []
    if view.unverified:
        out.append(f"NOT VERIFIED: the report shown here: {view.unverified}. What it says may not be what "
                   "campwatch found; run campwatch verify on it.")
    if isinstance(doc, PairReport):
        out += _pair_caveats(view, doc)
        warnings = list(doc.warnings) + warnings
    else:
        for img in doc.images:
            if img.status == "skipped":
                out.append(f"{img.file} ({img.date}) was not compared: {img.reason}.")
        for pair in doc.pairs:
            (hid_before, hid_after), shift = pair.hidden_fraction, pair.shift_px
            out.append(f"{pair.start} to {pair.end}: hidden {hid_before:.1%} / {hid_after:.1%} of the AOI; "
                       f"misregistration corrected {shift[0]:+.2f}, {shift[1]:+.2f} px.")
    transient = doc.summary.get("transient") if isinstance(doc, SeriesReport) else None
    transient_n = sum(v for v in transient.values() if isinstance(v, int)) if isinstance(transient, dict) else 0
    if transient_n:
        out.append(f"{transient_n} changes were seen on one image only and gone on the next (snow, vehicles, "
                   "material: marked transient in the GeoJSON); they are not counted or drawn.")
    for bridge in doc.bridges if isinstance(doc, SeriesReport) else ():
        out.append(f"A cloud hid part of the image between {bridge.start} and {bridge.end}: those two were "
                   "compared too, and the changes found where the cloud was are dated to that wider span.")
    why = doc.classes.not_possible if doc.classes is not None else {}
    if why:
        reasons: dict[str, list[str]] = {}
        for name, reason in why.items():
            reasons.setdefault(reason, []).append(CLASSES[name].label.lower() if name in CLASSES else name)
        out.append("Not looked for at this pixel size, so not reported: " + "; ".join(
            f"{', '.join(names)} ({reason})" for reason, names in reasons.items()) + ".")
    fitted = (doc.confidence or calibration().record()).get("fitted_on")
    fitted_on = ", ".join(str(name) for name in fitted) if isinstance(fitted, list) and fitted else "none yet"
    out.append(f"Confidence (0 to 1) is the share of changes found the same way, with evidence as strong, that "
               f"were right on the labelled sets campwatch was calibrated on ({fitted_on}); on other "
               f"imagery it sorts changes, it is not a rate. Below {LOW_CONFIDENCE:g} a change is doubtful "
               "(drawn dashed on the maps): check the close-up before citing it.")
    if view.aoi is not None and view.aoi.approximate:
        out.append("The AOI outline is approximate (from a published description, not surveyed).")
    for w in warnings:
        out.append(f"Warning: {w}")
    if view.credit and "synthetic" in view.credit.lower():
        out.append("The imagery is synthetic (campwatch's sample), not a real image.")
    return out


def write_figures(report_path: str | Path, out_dir: str | Path, *, dpi: int = 300) -> dict[str, Path]:
    """Remake the figure set and ``report.html`` of a report on disk, without analysing again.

    ``report_path`` is a pair's ``report.geojson`` or a ``series.geojson``; the images it
    names are read again. Writes ``figures/*.png|pdf`` and ``report.html`` into ``out_dir``,
    atomically.
    """

    report_path = Path(report_path)
    try:
        schema = json.loads(report_path.read_text(encoding="utf-8")).get("schema")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError, RecursionError):
        schema = None
    view = view_from_series(report_path) if schema == SERIES_SCHEMA else view_from_report(report_path)
    doc = view.document
    assert doc is not None
    series = doc if isinstance(doc, SeriesReport) else None
    kind = "series" if series is not None else "pair"
    with OutputSet(out_dir) as outs:
        _, pngs = stage_figure_set(figure_set(view, series=series), outs, dpi=dpi)
        outs.path(REPORT_HTML).write_text(report_html(view, pngs, kind=kind, doc=doc, folder=Path(out_dir),
                                                        doc_folder=report_path.parent), encoding="utf-8")
        return {name: outs.final_path(name) for name in outs.names}
