"""A STAC Item for each run: its outputs as assets, its inputs as links with their hashes, so that a
catalogue of checks can be browsed by STAC tools."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pystac
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

from campwatch._version import __version__
from campwatch.document import GridRecord, PairReport, SeriesReport
from campwatch.errors import InputError
from campwatch.io.geometry import rfc7946, transformer

__all__ = ["run_item", "FILE_EXTENSION", "MEDIA_TYPES"]

#: The STAC file extension: ``file:checksum`` of every asset and input (a SHA-256 multihash).
FILE_EXTENSION = "https://stac-extensions.github.io/file/v2.1.0/schema.json"

#: Media type and roles of each kind of output.
MEDIA_TYPES: dict[str, tuple[str, list[str]]] = {
    ".tif": ("image/tiff; application=geotiff; profile=cloud-optimized", ["data"]),
    ".png": ("image/png", ["overview", "visual"]),
    ".pdf": ("application/pdf", ["overview"]),
    ".geojson": ("application/geo+json", ["metadata"]),
    ".html": ("text/html", ["overview"]),
    ".json": ("application/json", ["metadata"]),
}


def _multihash(sha256_hex: str) -> str:
    """A SHA-256 digest as the multihash the file extension takes (``1220`` + the digest)."""
    return "1220" + sha256_hex


def _footprint(grid: GridRecord, crs: str) -> Polygon:
    """The analysed grid's outline in WGS84 (its edges sampled, so that a reprojection bends them as it should)."""
    a, b, c, d, e, f = grid.transform[:6]
    w, h = grid.width, grid.height
    t = np.linspace(0.0, 1.0, 9)
    cols = np.concatenate([t * w, np.full(9, w), (1 - t) * w, np.zeros(9)])
    rows = np.concatenate([np.zeros(9), t * h, np.full(9, h), (1 - t) * h])
    x, y = a * cols + b * rows + c, d * cols + e * rows + f
    lon, lat = transformer(crs, "EPSG:4326").transform(x, y)
    lon = np.asarray(lon, dtype="float64")
    if lon.max() - lon.min() > 180.0:  # across the antimeridian: unwrapped east of it, then split there
        lon = np.where(lon < 0, lon + 360.0, lon)
    return Polygon(np.column_stack([np.round(lon, 7), np.round(lat, 7)])).buffer(0)


def _rfc7946(footprint: BaseGeometry) -> tuple[BaseGeometry, list[float]]:
    """A footprint as RFC 7946 and STAC want it: wound counter-clockwise, split at the antimeridian
    (a MultiPolygon either side), and its bbox (west greater than east across the antimeridian)."""
    if footprint.bounds[2] <= 180.0:
        geom = rfc7946(footprint)
        return geom, [round(v, 7) for v in geom.bounds]
    west_part = footprint.intersection(box(-180.0, -90.0, 180.0, 90.0))
    east_part = shapely.affinity.translate(footprint.intersection(box(180.0, -90.0, 540.0, 90.0)), xoff=-360.0)
    parts = [g for part in (west_part, east_part) for g in getattr(part, "geoms", [part]) if g.area > 0]
    geom = rfc7946(MultiPolygon(parts))
    w, s, e, n = footprint.bounds
    return geom, [round(w, 7), round(s, 7), round(e - 360.0, 7), round(n, 7)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "aoi"


def run_item(
    report: PairReport | SeriesReport, *, report_name: str, report_sha256: str, outputs: dict[str, str],
    geometry: Polygon | None = None,
) -> pystac.Item:
    """The STAC Item of a run (a pair's report or a series) from its report.

    Parameters
    ----------
    report : PairReport or SeriesReport
        The run's report as written.
    report_name, report_sha256 : str
        The report's name in the output folder and its SHA-256.
    outputs : dict
        Every other output's name in the folder to its SHA-256 (the item's assets).
    geometry : Polygon, optional
        The footprint in WGS84; default the report's analysed grid (pair) or AOI bounds.

    Notes
    -----
    Assets and links hold relative names and the inputs' paths as the report records them;
    every one carries its SHA-256 (``file:checksum``), so the item traces the run as the
    report does. The item's time is the interval the changes happened in
    (``start_datetime``, ``end_datetime``).
    """
    if geometry is None:
        if isinstance(report, PairReport) and report.grid is not None and report.analysis_crs:
            geometry = _footprint(report.grid, report.analysis_crs)
        else:
            bounds = (report.aoi or {}).get("bounds")
            if not (isinstance(bounds, list) and len(bounds) == 4):
                raise InputError("the report holds neither its grid nor its AOI's bounds: no footprint for its STAC Item")
            w, s_, e, n = (float(v) for v in bounds)  # type: ignore[arg-type]
            geometry = Polygon([(w, s_), (e, s_), (e, n), (w, n), (w, s_)])
    if isinstance(report, PairReport):
        start, end = report.interval
    else:
        dates = sorted(i.date for i in report.images)
        start, end = dates[0], dates[-1]
    aoi_name = report.aoi_name or "pair"
    kind = "series" if isinstance(report, SeriesReport) else "pair"
    model = report.model or {}
    counts = report.summary.get("counts")
    shape_, bbox = _rfc7946(geometry)
    item = pystac.Item(
        id=f"campwatch-{_slug(aoi_name)}-{kind}-{start}-{end}-{report_sha256[:12]}",
        geometry=mapping(shape_),
        bbox=bbox,
        datetime=None,
        start_datetime=dt.datetime.fromisoformat(start).replace(tzinfo=dt.timezone.utc),
        end_datetime=dt.datetime.fromisoformat(end).replace(tzinfo=dt.timezone.utc),
        properties={
            "title": f"{aoi_name}: change between {start} and {end}",
            "campwatch:kind": kind,
            "campwatch:schema": report.schema,
            "campwatch:version": __version__,
            "campwatch:model": model.get("name") if model.get("used") else None,
            "campwatch:counts": counts,
            "campwatch:classes": None if report.classes is None else report.classes.to_geojson(),
        },
        stac_extensions=[FILE_EXTENSION],
    )
    for name, digest in [(report_name, report_sha256)] + sorted(outputs.items()):
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        media, roles = MEDIA_TYPES.get(suffix, ("application/octet-stream", ["data"]))
        item.add_asset(name, pystac.Asset(href=name, media_type=media, roles=list(roles),
                                          extra_fields={"file:checksum": _multihash(digest)}))
    for record in report.provenance.inputs:
        item.add_link(pystac.Link(rel="derived_from", target=record.path, title=record.role,
                                  extra_fields={"file:checksum": _multihash(record.sha256)}))
    return item
