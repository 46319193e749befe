"""A time series of dated images of one AOI: every consecutive pair compared, each change
dated to the interval between two images and followed through the later images.

The pieces here are shared by ``campwatch series`` and ``campwatch check``
(:mod:`campwatch.history`): :func:`series_scenes` finds and orders the images,
:class:`ChangeTracker` keeps one record per change across pairs, and
:func:`compare_series` walks the pairs, skipping dates whose AOI is mostly hidden.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from rasterio.windows import transform as window_transform
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from campwatch.align import aoi_window
from campwatch.aoi import AOI, read_aoi
from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.errors import InputError
from campwatch.masks import UserMask, read_mask
from campwatch.output import OutputSet, check_writable
from campwatch.pipeline import PairResult, imagery_credit, input_records, pair_analysis, stage_outputs
from campwatch.report import REPORT_SCHEMA, software_versions, write_json
from campwatch.scene import _TILE_SUFFIXES, SceneInfo, scene_files, scene_info, sha256_file

__all__ = [
    "SERIES_SCHEMA",
    "ImageRecord",
    "TrackedChange",
    "ChangeTracker",
    "series_scenes",
    "compare_series",
    "run_series",
    "same_place",
]

logger = logging.getLogger(__name__)

SERIES_SCHEMA = "campwatch-series/1"

#: The class that undoes each class, at the same place.
REVERSAL = {
    "structure_new": "structure_demolished",
    "structure_demolished": "structure_new",
    "tower_added": "tower_removed",
    "tower_removed": "tower_added",
    "fence_razed": "fence_built",
    "fence_built": "fence_razed",
}

#: A change counts as seen in a later pair when this share of it was analysed there.
MIN_SEEN_FRACTION = 0.5


# --------------------------------------------------------------------------- images


def _is_image(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    if path.is_file():
        return path.suffix.lower() in _TILE_SUFFIXES
    if path.is_dir():
        return any(p.suffix.lower() in _TILE_SUFFIXES for p in path.iterdir() if p.is_file())
    return False


def series_scenes(folder: str | Path, *, aoi: AOI | None = None) -> list[SceneInfo]:
    """The dated images in ``folder``, sorted by date.

    Each raster file (``.tif``, ``.tiff``, ``.vrt``, ``.jp2``) is one image, and so is
    each sub-folder of tiles; other files are ignored.

    Raises
    ------
    InputError
        If the folder is missing or holds no image, if an image has no date in its name or
        tags (naming the file), if two images share a date (naming both), or if an image
        does not cover ``aoi`` (when given).
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputError(f"{folder}: folder not found; give the folder that holds the AOI's dated images")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give the folder that holds the AOI's dated images")
    paths = [p for p in sorted(folder.iterdir()) if _is_image(p)]
    if not paths:
        raise InputError(f"{folder}: no images found ({', '.join(_TILE_SUFFIXES)} files or folders of tiles)")
    infos = [scene_info(p) for p in paths]
    seen: dict[dt.date, SceneInfo] = {}
    for info in infos:
        if info.date in seen:
            raise InputError(
                f"{seen[info.date].path} and {info.path} have the same date ({info.date}); "
                "a series needs one image per date: remove or rename one"
            )
        seen[info.date] = info
    if aoi is not None:
        for info in infos:
            aoi_window(info, aoi)  # every image must cover the AOI: fail before any work
    return sorted(infos, key=lambda i: i.date)


def hidden_fraction(info: SceneInfo, aoi: AOI, *, max_pixels: int = 1_000_000) -> float:
    """The share of the AOI that ``info`` holds no valid pixel for (nodata or outside it).

    Reads the file's validity mask only, decimated to at most ``max_pixels``. A folder of
    tiles is not measured here (0 is returned); its nodata counts when it is compared.
    """
    if Path(info.path).is_dir():
        return 0.0
    try:
        window = aoi_window(info, aoi)
    except InputError:
        return 1.0
    step = max(1, int(np.ceil(np.sqrt(window.width * window.height / max_pixels))))
    shape = (max(1, int(window.height) // step), max(1, int(window.width) // step))
    with rasterio.open(info.path) as ds:
        valid = ds.dataset_mask(window=window, out_shape=shape) > 0
        tf = window_transform(window, ds.transform) * Affine.scale(window.width / shape[1], window.height / shape[0])
    inside = geometry_mask([aoi.geometry_in(info.crs)], out_shape=shape, transform=tf, invert=True)
    n = int(inside.sum())
    if n == 0:
        return 1.0
    return float((inside & ~valid).sum()) / n


# --------------------------------------------------------------------------- tracking


def reproject(geometry: BaseGeometry, src: Any, dst: Any) -> BaseGeometry:
    """``geometry`` from CRS ``src`` to CRS ``dst``."""
    src, dst = CRS.from_user_input(src), CRS.from_user_input(dst)
    if src == dst:
        return geometry
    tf = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(geometry, lambda xy: np.column_stack(tf.transform(xy[:, 0], xy[:, 1])))


def same_place(a: BaseGeometry, b: BaseGeometry, *, min_overlap: float = 0.5, line_tolerance: float = 2.0) -> bool:
    """Whether two change geometries (in one projected CRS) are the same change's.

    Areas: their intersection covers at least ``min_overlap`` of the smaller. Lines: at
    least ``min_overlap`` of the shorter lies within ``line_tolerance`` metres of the other.
    """
    if a.is_empty or b.is_empty:
        return False
    if a.length and not a.area and b.length and not b.area:
        short, other = (a, b) if a.length <= b.length else (b, a)
        return short.intersection(other.buffer(line_tolerance)).length >= min_overlap * short.length
    if not a.area or not b.area:
        return False
    if not a.intersects(b):
        return False
    return a.intersection(b).area >= min_overlap * min(a.area, b.area)


@dataclass
class TrackedChange:
    """One change followed through a series: where, what, when first seen, last confirmed.

    ``geometry`` is in the tracker's CRS. The change happened between ``before`` (the
    last image without it) and ``first`` (the first image with it); ``last`` is the latest
    image in which its place was seen and it was not undone.
    """

    id: str
    change_class: str
    geometry: BaseGeometry
    before: tuple[str, dt.date]
    first: tuple[str, dt.date]
    last: tuple[str, dt.date]
    confidence: float
    area_m2: float
    length_m: float | None
    pairs: list[str] = field(default_factory=list)
    found_by: str = "pair"
    reverted: dict[str, str] | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def interval(self) -> tuple[dt.date, dt.date]:
        """The two image dates the change happened between."""
        return self.before[1], self.first[1]

    def feature(self, crs: Any) -> dict[str, Any]:
        """This change as a GeoJSON feature in WGS84."""
        geom = reproject(self.geometry, crs, "EPSG:4326")
        geom = shapely.set_precision(geom, 1e-7)
        c = reproject(self.geometry.centroid, crs, "EPSG:4326")
        props = {
            "id": self.id,
            "class": self.change_class,
            "confidence": round(self.confidence, 3),
            "interval": {"from": self.before[1].isoformat(), "to": self.first[1].isoformat()},
            "before_image": self.before[0],
            "first_image": self.first[0],
            "last_image": self.last[0],
            "last_confirmed": self.last[1].isoformat(),
            "area_m2": round(self.area_m2, 1),
            "length_m": None if self.length_m is None else round(self.length_m, 1),
            "pairs": list(self.pairs),
            "found_by": self.found_by,
            "reverted": self.reverted,
            "centroid_lonlat": [round(c.x, 7), round(c.y, 7)],
            "cause": self.properties.get("cause"),
            "evidence": self.properties.get("evidence", {}),
        }
        return {"type": "Feature", "id": self.id, "geometry": mapping(geom), "properties": props}


class ChangeTracker:
    """Keeps one :class:`TrackedChange` per change across the pairs of a series.

    A change found again in a later pair at the same place with the same class is the
    same change (its ``last`` image moves on); a change whose place a later pair saw
    without undoing it is confirmed up to that pair's later image; a change of the
    opposite class at its place (a new structure demolished) marks it reverted.

    Parameters
    ----------
    crs : CRS-like
        The projected CRS changes are compared in.
    changes : sequence of TrackedChange, optional
        Changes known from before (a history).
    id_prefix : str
        New changes get ids ``f"{id_prefix}{n:04d}"``, ``n`` counting on from ``next_number``.
    """

    def __init__(
        self, crs: Any, changes: Sequence[TrackedChange] = (), *, id_prefix: str = "C", next_number: int = 1
    ) -> None:
        self.crs = CRS.from_user_input(crs)
        self.changes: list[TrackedChange] = list(changes)
        self.id_prefix = id_prefix
        self.next_number = next_number

    def _new_id(self) -> str:
        cid = f"{self.id_prefix}{self.next_number:04d}"
        self.next_number += 1
        return cid

    def add_pair(
        self, result: PairResult, *, found_by: str = "pair", within: BaseGeometry | None = None
    ) -> list[TrackedChange]:
        """Fold one pair's changes in; return the changes it found that were not known.

        ``found_by="baseline"``: the pair compares a baseline with a much later image. A
        change it finds at the place of a known one (of any date up to the later image)
        confirms that one; any other is new, dated to the whole span.

        ``found_by="bridge"`` with ``within`` (in the pair's CRS): the pair skips an image
        that a cloud hid in part; only its changes mostly inside ``within`` (what the cloud
        hid) count, as for a baseline pair.
        """
        b_name = result.before.path.name if result.before.path else "before"
        a_name = result.after.path.name if result.after.path else "after"
        before, after = (b_name, result.before.date), (a_name, result.after.date)
        pair = f"{before[1].isoformat()}/{after[1].isoformat()}"
        pair_crs = result.before.crs
        regions = result.regions
        if within is not None:
            regions = [r for r in regions if _mostly_within(r.geometry, within)]
        found = [(r, reproject(r.geometry, pair_crs, self.crs)) for r in regions]

        # What the pair says of each change already known (and older than the pair). A
        # baseline pair spans many images: it can find any known change again, but undo none.
        limit = before[1] if found_by == "pair" else after[1]
        earlier = [c for c in self.changes if c.first[1] <= limit and c.reverted is None]
        found_index = shapely.STRtree([g for _, g in found])
        for change in earlier if found_by == "pair" else ():
            undone = any(
                found[i][0].change_class == REVERSAL.get(change.change_class)
                and same_place(change.geometry, found[i][1])
                for i in found_index.query(change.geometry.buffer(2.0))
            )
            if undone:
                change.reverted = {"from": before[1].isoformat(), "to": after[1].isoformat()}
                continue
            local = reproject(change.geometry, self.crs, pair_crs)
            if result.seen_fraction(local) >= MIN_SEEN_FRACTION and change.last[1] < after[1]:
                change.last = after

        new: list[TrackedChange] = []
        index = shapely.STRtree([c.geometry for c in earlier])  # candidates by bounding box, not all pairs
        for region, geom in found:
            nearby = sorted(int(i) for i in index.query(geom.buffer(2.0)))
            match = next(
                (earlier[i] for i in nearby if earlier[i].reverted is None
                 and earlier[i].change_class == region.change_class and same_place(earlier[i].geometry, geom)),
                None,
            )
            if match is not None:
                if pair not in match.pairs:
                    match.pairs.append(pair)
                if match.last[1] < after[1]:
                    match.last = after
                match.confidence = max(match.confidence, region.confidence)
                continue
            change = TrackedChange(
                id=self._new_id(),
                change_class=region.change_class,
                geometry=geom,
                before=before,
                first=after,
                last=after,
                confidence=region.confidence,
                area_m2=region.area_m2,
                length_m=region.length_m,
                pairs=[pair],
                found_by=found_by,
                properties=region.properties(),
            )
            self.changes.append(change)
            new.append(change)
        return new


def _mostly_within(geom: BaseGeometry, area: BaseGeometry, share: float = 0.5) -> bool:
    """Whether at least ``share`` of ``geom`` (its area, or length for a line) lies in ``area``."""
    if geom.area:
        return geom.intersection(area).area >= share * geom.area
    if geom.length:
        return geom.intersection(area).length >= share * geom.length
    return area.contains(geom)


# --------------------------------------------------------------------------- series


@dataclass
class ImageRecord:
    """What became of one image of a series."""

    path: Path
    date: dt.date
    status: str = "pending"  # "compared", "skipped" or "pending"
    hidden_fraction: float | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "date": self.date.isoformat(),
            "status": self.status,
            "hidden_fraction": None if self.hidden_fraction is None else round(self.hidden_fraction, 4),
            "reason": self.reason,
        }


def compare_series(
    infos: Sequence[SceneInfo],
    aoi: AOI,
    config: DetectConfig,
    *,
    on_pair: Callable[[PairResult], None],
    on_bridge: Callable[[PairResult, BaseGeometry], None] | None = None,
    mask: UserMask | None = None,
) -> list[ImageRecord]:
    """Compare each image with the last usable one before it, in date order.

    A date whose AOI is hidden over more than ``config.max_obscured_fraction`` (nodata,
    or a thick cloud or its shadow that a comparison finds on it) is skipped: recorded,
    and the next image is compared with the last usable one. ``on_pair`` receives each
    pair's result as it comes (so that only one pair is in memory at a time).

    Where a cloud hides part of an image, a change there between the images before and
    after it would be lost. So when a pair finds ground hidden on its earlier date and an
    image before that one was compared, ``on_bridge`` receives the comparison of that
    image with the pair's later one, and the area (in the bridge's CRS) whose changes it
    should take: what the cloud hid.

    Returns
    -------
    list of ImageRecord
        One per image, in date order, saying whether it was compared or skipped and why.
    """
    records = [ImageRecord(Path(i.path), i.date) for i in infos]
    limit = config.max_obscured_fraction
    prev: ImageRecord | None = None
    earlier: ImageRecord | None = None  # the usable image before ``prev``
    for info, rec in zip(infos, records, strict=True):
        nodata = hidden_fraction(info, aoi)
        rec.hidden_fraction = nodata
        if nodata > limit:
            rec.status, rec.reason = "skipped", f"{nodata:.0%} of the AOI has no data"
            logger.warning("%s: %s; not compared", rec.path.name, rec.reason)
            continue
        if prev is None:
            prev = rec
            continue
        logger.info("comparing %s with %s", prev.path.name, rec.path.name)
        area = None
        with warnings.catch_warnings(), pair_analysis(prev.path, rec.path, aoi=aoi, config=config,
                                                      mask=mask) as result:
            warnings.simplefilter("ignore", category=RuntimeWarning)
            hidden_after, hidden_before = result.obscured_fraction("after"), result.obscured_fraction("before")
            rec.hidden_fraction = hidden_after
            if hidden_after > limit:
                rec.status = "skipped"
                rec.reason = f"{hidden_after:.0%} of the AOI hidden (nodata, cloud or cloud shadow)"
                logger.warning("%s: %s; not compared", rec.path.name, rec.reason)
                continue
            if prev.status == "pending" and hidden_before > limit:
                # The first usable-looking image is cloudy: start from this one instead.
                prev.status, prev.hidden_fraction = "skipped", hidden_before
                prev.reason = f"{hidden_before:.0%} of the AOI hidden (nodata, cloud or cloud shadow)"
                logger.warning("%s: %s; not compared", prev.path.name, prev.reason)
                prev = rec
                continue
            prev.status = rec.status = "compared"
            prev.hidden_fraction = max(prev.hidden_fraction or 0.0, hidden_before)
            on_pair(result)
            if on_bridge is not None and earlier is not None:
                area, area_crs = result.hidden_area("before"), result.grid.crs
        # One pair in memory at a time: the bridge comes once the pair is let go.
        if area is not None and not area.is_empty and earlier is not None and on_bridge is not None:
            logger.info("bridging %s: comparing %s with %s where a cloud hid the ground", prev.path.name,
                        earlier.path.name, rec.path.name)
            with warnings.catch_warnings(), pair_analysis(earlier.path, rec.path, aoi=aoi, config=config,
                                                          mask=mask) as bridge:
                warnings.simplefilter("ignore", category=RuntimeWarning)
                on_bridge(bridge, reproject(area, area_crs, bridge.grid.crs))
        earlier, prev = prev, rec
    if prev is not None and prev.status == "pending":
        prev.reason = "no other usable image to compare with"
    return records


def pair_name(result: PairResult) -> str:
    """The folder name of a pair's outputs: ``<before date>_<after date>``."""
    return f"{result.before.date.isoformat()}_{result.after.date.isoformat()}"


def pair_summary(result: PairResult, hashes: dict[str, str], folder: str) -> dict[str, Any]:
    """What a series report records of one pair."""
    counts = {name: 0 for name in CLASSES}
    for r in result.regions:
        counts[r.change_class] += 1
    return {
        "from": result.before.date.isoformat(),
        "to": result.after.date.isoformat(),
        "before_image": result.before.path.name if result.before.path else None,
        "after_image": result.after.path.name if result.after.path else None,
        "folder": folder,
        "counts": counts,
        "fence_length_m": {
            name: round(sum(r.length_m or 0.0 for r in result.regions if r.change_class == name), 1)
            for name in ("fence_razed", "fence_built")
        },
        "shift_px": [round(result.shift[0], 2), round(result.shift[1], 2)],
        "residual_shift": result.residual_shift,
        "hidden_fraction": {
            "before": round(result.obscured_fraction("before"), 4),
            "after": round(result.obscured_fraction("after"), 4),
        },
        "structures_seen": result.structures_seen,
        "warnings": list(result.warnings),
        "outputs": hashes,
    }


@dataclass(frozen=True)
class SeriesResult:
    """The outcome of :func:`run_series`: the report and where the outputs went."""

    report: dict[str, Any]
    changes: list[TrackedChange]
    paths: dict[str, Path] = dataclasses.field(default_factory=dict)


def run_series(
    aoi_path: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    *,
    config: DetectConfig | None = None,
    figures: bool = True,
    dpi: int = 300,
    mask_path: str | Path | None = None,
) -> SeriesResult:
    """Compare every consecutive pair of a folder of dated images; write the series outputs.

    Writes, atomically (all or nothing), into ``out_dir``:

    - ``pairs/<from>_<to>/``: each pair's change mask, change map and report;
    - ``bridges/<from>_<to>/``: the same for each comparison across an image that a cloud
      hid in part (see :func:`compare_series`); only its changes where the cloud was count;
    - ``figures/``: location, before/after (first and last compared image), change
      overlay, close-ups and the timeline (changes per class per interval, fence razed,
      structures over time), each as PNG (``dpi``) and PDF (unless ``figures=False``);
    - ``series.geojson``: every change once, dated to its interval, with its first and
      last image, plus the images (compared or skipped, and why), the pairs, the
      parameters, the software versions and the SHA-256 of every input and output;
    - ``report.html``: the figures, a gazetteer, caveats and provenance in one page.
    """
    from campwatch.publish import figure_set, report_html, stage_figure_set
    from campwatch.views import series_view

    config = config or DetectConfig()
    check_writable(out_dir)
    aoi = read_aoi(aoi_path)
    mask = read_mask(mask_path) if mask_path is not None else None
    infos = series_scenes(images_dir, aoi=aoi)
    if len(infos) < 2:
        raise InputError(f"{images_dir}: a series needs at least two dated images; found {len(infos)}")
    crs = infos[0].crs if infos[0].crs.is_projected else aoi_utm(aoi)
    tracker = ChangeTracker(crs)
    pairs: list[dict[str, Any]] = []
    credits: list[str] = []
    with OutputSet(out_dir) as outs:

        bridges: list[dict[str, Any]] = []

        def stage(result: PairResult, kind: str, within: BaseGeometry | None = None) -> None:
            tracker.add_pair(result, found_by=kind, within=within)
            name = pair_name(result)
            credit = imagery_credit(result)
            if credit and credit not in credits:
                credits.append(credit)
            assert result.before.path is not None and result.after.path is not None  # read from files
            folder = ("pairs/" if kind == "pair" else "bridges/") + name
            hashes = stage_outputs(result, outs, inputs=input_records(result.before.path, result.after.path,
                                                                      aoi_path=aoi_path, mask_path=mask_path),
                                   credit=credit, prefix=f"{folder}/")
            (pairs if kind == "pair" else bridges).append(pair_summary(result, hashes, folder))

        records = compare_series(infos, aoi, config, on_pair=lambda r: stage(r, "pair"),
                                 on_bridge=lambda r, area: stage(r, "bridge", area), mask=mask)
        if not pairs:
            raise InputError(
                f"{images_dir}: no two images could be compared: "
                + "; ".join(f"{r.path.name} {r.reason}" for r in records if r.reason)
            )
        report = series_report(aoi, aoi_path, records, pairs, tracker, config, mask_path=mask_path)
        report["figures"] = {"dpi": dpi} if figures else None  # so that verify makes the same files
        report["bridges"] = bridges
        report["outputs"] = {f"{p['folder']}/{name}": h for p in pairs + bridges for name, h in p["outputs"].items()}
        pngs: dict[str, bytes] = {}
        view = None
        if figures:
            view = series_view(report, source=str(images_dir))
            fig_hashes, pngs = stage_figure_set(figure_set(view, series=report), outs, dpi=dpi)
            report["outputs"] = fig_hashes | report["outputs"]
        write_json(report, outs.path("series.geojson"))
        if view is not None:
            outs.path("report.html").write_text(report_html(view, pngs, kind="series", doc=report), encoding="utf-8")
        paths: dict[str, Path] = {
            name: outs.final_path(name) for name in ("series.geojson", "report.html") if name in outs.names}
    return SeriesResult(report=report, changes=tracker.changes, paths=paths)


def aoi_utm(aoi: AOI) -> CRS:
    """The UTM zone CRS of the AOI's centre (WGS84 datum)."""
    c = aoi.geometry.centroid
    zone = int((c.x + 180) // 6) + 1
    return CRS.from_epsg((32600 if c.y >= 0 else 32700) + zone)


def series_report(
    aoi: AOI,
    aoi_path: str | Path,
    records: list[ImageRecord],
    pairs: list[dict[str, Any]],
    tracker: ChangeTracker,
    config: DetectConfig,
    *,
    mask_path: str | Path | None = None,
) -> dict[str, Any]:
    """The series report (GeoJSON FeatureCollection, WGS84) before its output hashes."""
    from campwatch.report import _clean

    changes = sorted(tracker.changes, key=lambda c: (c.first[1], c.id))
    counts: dict[str, int] = {name: 0 for name in CLASSES}
    for c in changes:
        counts[c.change_class] += 1
    inputs = [
        {"role": "image", "date": r.date.isoformat(), "path": str(f.resolve()), "sha256": sha256_file(f)}
        | ({"scene": str(Path(r.path).resolve())} if Path(r.path).is_dir() else {})
        for r in records for f in scene_files(r.path)
    ]
    inputs.append({"role": "aoi", "path": str(Path(aoi_path).resolve()), "sha256": sha256_file(aoi_path)})
    if mask_path is not None:
        inputs.append({"role": "mask", "path": str(Path(mask_path).resolve()), "sha256": sha256_file(mask_path)})
    skipped = [r for r in records if r.status == "skipped"]
    report = {
        "type": "FeatureCollection",
        "schema": SERIES_SCHEMA,
        "pair_schema": REPORT_SCHEMA,
        "aoi": aoi.summary(),
        "crs": tracker.crs.to_string(),
        "images": [r.to_dict() for r in records],
        "pairs": pairs,
        "parameters": config.to_dict(),
        "summary": {
            "images": len(records),
            "compared": sum(r.status == "compared" for r in records),
            "skipped": [{"file": r.path.name, "date": r.date.isoformat(), "reason": r.reason} for r in skipped],
            "counts": counts,
            "fence_razed_m": round(sum(c.length_m or 0 for c in changes if c.change_class == "fence_razed"), 1),
            "fence_built_m": round(sum(c.length_m or 0 for c in changes if c.change_class == "fence_built"), 1),
        },
        "software": software_versions(),
        "inputs": inputs,
        "outputs": {},
        "features": [c.feature(tracker.crs) for c in changes],
    }
    return dict(_clean(report))
