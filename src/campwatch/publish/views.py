"""What a figure shows: two dated scenes on one grid and the changes between them.

A :class:`ChangeView` is made from a run in memory (:func:`view_from_result`) or from
the outputs of a run on disk, without analysing anything again: a pair's
``report.geojson`` (:func:`view_from_report`) or a ``series.geojson``
(:func:`view_from_series`). Every figure function of :mod:`campwatch.publish.figures` draws a view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.windows
import shapely
from rasterio.enums import Resampling
from rasterio.windows import Window
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from campwatch.classes import ANALYST_CLASSES, OBSCURED
from campwatch.detection.align import shift_pair
from campwatch.detection.results import PairResult
from campwatch.document import CHANGE_MASK, STAC_ITEM, ChangeFeature, PairReport, Provenance, SeriesReport
from campwatch.errors import InputError
from campwatch.io.aoi import AOI, read_aoi
from campwatch.io.geometry import transformer
from campwatch.io.jsonio import read_report, reading_report
from campwatch.io.pair import PairRequest, read_reduced_pair
from campwatch.io.recorded import recorded_path
from campwatch.io.scene import Scene, imagery_credit, sha256_file

logger = logging.getLogger(__name__)

__all__ = ["MappedChange", "ChangeView", "view_from_result", "view_from_report", "view_from_series",
           "series_view", "with_window", "ANALYST_CLASSES"]


@dataclass(frozen=True)
class MappedChange:
    """One change as figures and the gazetteer show it. ``geometry`` is in the view's CRS."""

    number: int
    id: str
    change_class: str
    geometry: BaseGeometry
    area_m2: float
    length_m: float | None
    confidence: float
    interval: tuple[str, str]
    lonlat: tuple[float, float]
    found_by: str = "pair"
    #: The analyst's review (``confirmed``, ``corrected``), for a change of a history; None: none.
    review: str | None = None

    @property
    def size(self) -> str:
        """'360 m2' or '60 m' (fences)."""
        if self.length_m is not None:
            return f"{self.length_m:,.0f} m"
        return f"{self.area_m2:,.0f} m\u00b2"


@dataclass(frozen=True)
class ChangeView:
    """Two scenes on one grid, the changes between them and what could not be seen."""

    name: str
    before: Scene
    after: Scene
    changes: list[MappedChange]
    aoi: AOI | None = None
    obscured: np.ndarray | None = None
    no_data: np.ndarray | None = None
    credit: str | None = None
    shift_px: tuple[float, float] = (0.0, 0.0)
    #: The report the view was made from (a pair's or a series'), or None: made from a run in memory.
    document: PairReport | SeriesReport | None = None
    #: For a view on reduced images (a large scene): reads both dates at full resolution
    #: over ``(left, bottom, right, top)`` in the view's CRS, for close-ups.
    chips: Callable[[tuple[float, float, float, float]], tuple[Scene, Scene]] | None = None
    #: A pair of a series or check: how many of its changes the series counted in an earlier
    #: interval (found again, or undoing a change of one image), said on its map. None: not in a series.
    counted_earlier: int | None = None
    #: Why the report drawn is not known to be the one campwatch wrote (its SHA-256 is not the one its
    #: STAC Item records): said on every figure and in report.html. None: it is, or drawn from a run.
    unverified: str | None = None

    @property
    def analyst_changes(self) -> list[MappedChange]:
        """The changes an analyst names (not ``other_change``), in number order."""
        return [c for c in self.changes if c.change_class in ANALYST_CLASSES]


def _lonlat(geom: BaseGeometry, crs: Any) -> tuple[float, float]:
    c = geom.centroid
    lon, lat = transformer(crs, "EPSG:4326").transform(c.x, c.y)
    return round(float(lon), 7), round(float(lat), 7)


def view_from_result(result: PairResult, *, credit: str | None = None,
                     series_links: dict[int, tuple[str, str]] | None = None) -> ChangeView:
    """The view of a pair's result in memory, whole or by blocks alike (its changes numbered by their ids).

    ``series_links``: for a pair of a series, what the series made of each region
    (:attr:`campwatch.monitor.tracking.ChangeTracker.links`).
    """
    crs = result.grid.crs
    changes = [
        MappedChange(r.id, str(r.id), r.change_class, r.geometry, r.area_m2, r.length_m, r.confidence,
                     result.interval, _lonlat(r.geometry, crs))
        for r in result.regions
    ]
    return ChangeView(name=result.name, before=result.before, after=result.after, changes=changes, aoi=result.aoi,
                      obscured=result.overview_obscured, no_data=result.overview_no_data, credit=credit,
                      shift_px=result.shift, chips=result.chips, counted_earlier=_counted_earlier(
                          status for _, status in (series_links or {}).values()) if series_links is not None else None)


def _counted_earlier(statuses: Any) -> int:
    return sum(1 for status in statuses if status in ("found_again", "undoes"))


def _mapped(features: list[ChangeFeature], crs: Any, *, numbered_by_id: bool, source: str) -> list[MappedChange]:
    """The changes of a document as a figure draws them, in ``crs``."""
    to_crs = transformer("EPSG:4326", crs)
    out = []
    # Numbers (when not the ids): the changes an analyst names first, in the report's order.
    # A change seen on one image only (a series' transient change) is kept in the report, not drawn.
    feats = [f for f in features if not f.transient]
    order = sorted(range(len(feats)), key=lambda i: (feats[i].change_class not in ANALYST_CLASSES, i))
    rank = {i: n for n, i in enumerate(order, start=1)}
    for i, f in enumerate(feats):
        if f.geometry is None or f.id is None:
            raise InputError(f"{source}: not a campwatch report (a change without {'geometry' if f.id is not None else 'id'})")
        geom = shapely.transform(shape(f.geometry), lambda xy: np.column_stack(to_crs.transform(xy[:, 0], xy[:, 1])))
        out.append(MappedChange(
            number=int(f.id) if numbered_by_id else rank[i],
            id=str(f.id),
            change_class=f.change_class,
            geometry=geom,
            area_m2=f.area_m2,
            length_m=f.length_m,
            confidence=f.confidence,
            interval=f.interval,
            lonlat=f.centroid_lonlat or _lonlat(geom, crs),
            found_by=f.found_by,
            review=f.review,
        ))
    return out


def _figure_pair(request: PairRequest, shift: tuple[float, float] = (0.0, 0.0)) -> Any:
    """Both dates for figures (reduced when large), the after image moved by ``shift``."""
    return shift_pair(read_reduced_pair(request), shift)


def _check_inputs(record: Provenance, roles: tuple[str, ...], folder: Path) -> None:
    """Refuse to draw a report over files that are not the ones it was made from (re-hashed).

    ``folder``: the report's folder, which its relative paths are from.

    Raises
    ------
    InputError
        Naming the file, its SHA-256 and the one the report records.
    """
    for rec in record.inputs:
        path = recorded_path(rec.path, folder)
        if rec.role not in roles or not path.is_file():
            continue
        got = sha256_file(path)
        if got != rec.sha256:
            raise InputError(f"{path}: not the file the report was made from (sha256 {got[:16]}..., recorded "
                             f"{rec.sha256[:16]}...); figures would show other imagery than was analysed: put "
                             "the original back, or analyse again")


def _scene_path(record: Provenance, role: str, folder: Path) -> tuple[Path, dt.date | None]:
    recs = record.of_role(role)
    if not recs:
        raise InputError(f"the report names no {role} image")
    path = recorded_path(recs[0].scene or recs[0].path, folder)
    if not path.exists():
        raise InputError(f"{path}: the report's {role} image is not there any more; figures need it")
    given = recs[0].date_given
    return path, dt.date.fromisoformat(given) if given else None


def view_from_report(report_path: str | Path) -> ChangeView:
    """The view of a pair from its ``report.geojson`` (and the ``change_mask.tif`` beside it).

    The images are read again from the paths the report records, over the grid it
    records, with the recorded shift applied; nothing is analysed again.

    Raises
    ------
    InputError
        If the report is not a campwatch pair report or an image it names is gone.
    """
    report_path = Path(report_path)
    doc = read_report(report_path, PairReport)
    with reading_report(report_path):
        return dataclasses.replace(_report_view(report_path, doc), unverified=unverified(report_path))


def _report_view(report_path: Path, doc: PairReport) -> ChangeView:
    folder, record = report_path.parent, doc.provenance
    _check_inputs(record, ("before", "after", "aoi"), folder)
    (before_path, d_b), (after_path, d_a) = _scene_path(record, "before", folder), _scene_path(record, "after", folder)
    aoi_rec = next(iter(record.of_role("aoi")), None)
    aoi_file = recorded_path(aoi_rec.path, folder) if aoi_rec else None
    aoi = read_aoi(aoi_file) if aoi_file is not None and aoi_file.is_file() else None
    shift = doc.coregistration.shift_px if doc.coregistration is not None else (0.0, 0.0)
    applied = doc.coregistration is not None and doc.coregistration.applied
    pair = _figure_pair(PairRequest(before_path, after_path, dates=(d_b, d_a), aoi=aoi),
                        shift if applied else (0.0, 0.0))
    before, after = pair.before, pair.after
    obscured = None
    mask_path = report_path.parent / CHANGE_MASK
    if mask_path.is_file():
        with rasterio.open(mask_path) as ds:
            if doc.grid is not None and (ds.height, ds.width) == (doc.grid.height, doc.grid.width):
                obscured = ds.read(1, out_shape=before.shape, resampling=Resampling.mode) == OBSCURED
    no_data = ~(before.valid & after.valid)
    credit = imagery_credit([before, after], aoi)
    name = doc.aoi_name or after_path.stem
    features = list(doc.features)
    return ChangeView(
        name=name, before=before, after=after,
        changes=_mapped(features, before.crs, numbered_by_id=True, source=str(report_path)), aoi=aoi,
        obscured=obscured, no_data=no_data, credit=credit, shift_px=(float(shift[0]), float(shift[1])),
        document=doc, chips=pair.chips,
        counted_earlier=_counted_earlier(f.series_status for f in features)
        if any("series_status" in f.properties for f in features) else None,
    )


def view_from_series(series_path: str | Path) -> ChangeView:
    """The view of a series from its ``series.geojson``: first and last compared images.

    Changes are numbered 1, 2, ... in the report's order (by date), those an analyst names
    first; nothing is analysed again.
    """
    series_path = Path(series_path)
    doc = read_report(series_path, SeriesReport)
    with reading_report(series_path):
        view = series_view(doc, source=str(series_path), folder=series_path.parent)
    return dataclasses.replace(view, unverified=unverified(series_path))


def unverified(report_path: Path) -> str | None:
    """Why a report on disk is not known to be the one campwatch wrote, or None when it is.

    The run records the report's SHA-256 in the STAC Item beside it (``item.json``, its
    ``file:checksum``): a report edited after the run no longer matches, and its figures say
    so (``campwatch verify`` says more: it re-runs the analysis).
    """
    item = report_path.parent / STAC_ITEM
    try:
        asset = json.loads(item.read_text(encoding="utf-8"))["assets"][report_path.name]
        recorded = str(asset["file:checksum"]).removeprefix("1220")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError):
        reason = "no STAC Item beside it records its SHA-256"
    else:
        if sha256_file(report_path) == recorded:
            return None
        reason = "its SHA-256 is not the one its STAC Item records: it was edited after the run"
    logger.warning("%s: not verified: %s; these figures show what it says now (campwatch verify checks it)",
                   report_path, reason)
    return reason


def series_view(doc: SeriesReport, *, source: str = "the series", trusted: bool = False,
                folder: Path | None = None) -> ChangeView:
    """The view of a series report already in memory (see :func:`view_from_series`).

    ``trusted``: the report was made in this run, from files hashed moments ago: they are
    not hashed again. ``folder``: the report's folder, which its relative paths are from (its
    paths are absolute before it is published).
    """
    series_path = source
    here = folder if folder is not None else Path.cwd()

    def where(value: str) -> Path:
        return recorded_path(value, here)

    record = doc.provenance
    if not trusted:
        _check_inputs(record, ("image", "aoi"), here)
    compared = doc.compared
    if len(compared) < 2:
        raise InputError(f"{series_path}: the series compared fewer than two images")
    by_name = {where(i.scene or i.path).name: where(i.scene or i.path) for i in record.of_role("image")}
    first, last = by_name.get(compared[0].file), by_name.get(compared[-1].file)
    for rec, path in ((compared[0], first), (compared[-1], last)):
        if path is None or not path.exists():
            raise InputError(f"{rec.file}: the series' image is not there any more; figures need it")
    aoi_rec = next(iter(record.of_role("aoi")), None)
    if aoi_rec is None or not where(aoi_rec.path).is_file():
        raise InputError(f"{series_path}: the AOI file it names is not there any more")
    aoi = read_aoi(where(aoi_rec.path))
    assert first is not None and last is not None
    pair = _figure_pair(PairRequest(first, last, aoi=aoi))
    before, after = pair.before, pair.after
    credit = imagery_credit([before, after], aoi)
    return ChangeView(
        name=aoi.name, before=before, after=after,
        changes=_mapped(list(doc.features), before.crs, numbered_by_id=False, source=series_path),
        aoi=aoi, obscured=None, no_data=~(before.valid & after.valid), credit=credit, document=doc,
        chips=pair.chips,
    )


def with_window(view: ChangeView, window: Window) -> ChangeView:
    """The part of ``view`` inside ``window`` (rows/cols of its grid)."""
    r0, c0 = int(window.row_off), int(window.col_off)
    r1, c1 = r0 + int(window.height), c0 + int(window.width)

    def cut(scene: Scene) -> Scene:
        return dataclasses.replace(scene, data=scene.data[:, r0:r1, c0:c1], valid=scene.valid[r0:r1, c0:c1],
                                   transform=rasterio.windows.transform(window, scene.transform))

    def part(mask: np.ndarray | None) -> np.ndarray | None:
        return None if mask is None else mask[r0:r1, c0:c1]

    return dataclasses.replace(view, before=cut(view.before), after=cut(view.after), obscured=part(view.obscured),
                               no_data=part(view.no_data))
