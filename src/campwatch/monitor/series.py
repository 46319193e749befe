"""A time series of dated images of one AOI: every consecutive pair compared, each change
dated to the interval between two images and followed through the later images.

The pieces here are shared by ``campwatch series`` and ``campwatch check``
(:mod:`campwatch.monitor.history`): :func:`series_scenes` finds and orders the images,
:func:`compare_series` walks the pairs, skipping dates whose AOI is mostly hidden, and
:class:`PairStager` writes each pair's outputs and folds its changes into a
:class:`campwatch.monitor.tracking.ChangeTracker`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.features import geometry_mask
from rasterio.windows import transform as window_transform
from shapely.geometry.base import BaseGeometry

from campwatch.classes import describe, summarize
from campwatch.config import DetectConfig
from campwatch.detection.confidence import calibration
from campwatch.detection.model import model_member
from campwatch.detection.results import PairResult, structure_counts
from campwatch.document import (
    REPORT_HTML,
    SERIES_REPORT,
    SERIES_SCHEMA,
    STAC_ITEM,
    JSONTable,
    PairSummary,
    Provenance,
    SeriesImage,
    SeriesReport,
)
from campwatch.errors import InputError
from campwatch.io.aoi import AOI, read_aoi
from campwatch.io.delivery import is_scene
from campwatch.io.jsonio import clean, write_json
from campwatch.io.masks import UserMask, read_mask
from campwatch.io.output import MANIFEST, OutputSet, check_writable
from campwatch.io.pair import PairRequest, aoi_window, pixel_size_m
from campwatch.io.provenance import file_record, scene_records
from campwatch.io.recorded import publish_paths
from campwatch.io.scene import (
    IMAGE_SUFFIXES,
    SceneInfo,
    check_inside,
    file_window,
    scene_info,
    sha256_file,
)
from campwatch.monitor.tracking import ChangeTracker, TrackedChange, aoi_utm, reproject
from campwatch.progress import start
from campwatch.publish.html import figure_set, report_html, stage_figure_set
from campwatch.publish.qgis import vector_qml
from campwatch.publish.stac import run_item
from campwatch.publish.views import series_view
from campwatch.report import classes_member, software_versions
from campwatch.run import analyse_pair, input_records, model_records, stage_outputs, write_stac_item

__all__ = ["SERIES_SCHEMA", "ImageRecord", "PairStager", "SeriesResult", "series_scenes", "hidden_fraction",
           "compare_series", "pair_name", "pair_summary", "run_series", "series_report"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- images


def _is_image(path: Path) -> bool:
    return not path.name.startswith(".") and is_scene(path)


def _own_outputs(folder: Path) -> set[str]:
    """The entries of ``folder`` that are campwatch's own outputs, never images: those its manifest lists
    (``series --out`` given the images folder), and output folders of campwatch (holding a manifest)."""
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        listed = []
    ours = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()
    return ours | {p.name for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file()}


def series_scenes(folder: str | Path, *, aoi: AOI | None = None,
                  only: Collection[str] | None = None) -> list[SceneInfo]:
    """The dated images in ``folder``, sorted by date (``only``: those of these names).

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
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    for path in entries:
        check_inside(path, folder)  # a link that loops or leads elsewhere makes no image: refused
    ours = _own_outputs(folder)
    if ours & {p.name for p in entries}:
        logger.info("%s: campwatch's own outputs are not images: %s", folder, ", ".join(sorted(ours)[:10]))
    paths = [p for p in entries if p.name not in ours and _is_image(p) and (only is None or p.name in only)]
    if not paths:
        raise InputError(f"{folder}: no images found ({', '.join(IMAGE_SUFFIXES)} files or folders of tiles)")
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
    if info.layout != "file":
        return 0.0
    try:
        window = aoi_window(info, aoi)
    except InputError:
        return 1.0
    step = max(1, int(np.ceil(np.sqrt(window.width * window.height / max_pixels))))
    shape = (max(1, int(window.height) // step), max(1, int(window.width) // step))
    with rasterio.open(info.rasters[0] if info.rasters else info.path) as ds:
        valid = ds.dataset_mask(window=file_window(info, window), out_shape=shape) > 0
    if info.south_up:
        valid = valid[::-1]
    tf = window_transform(window, info.transform) * Affine.scale(window.width / shape[1], window.height / shape[0])
    inside = geometry_mask([aoi.geometry_in(info.crs)], out_shape=shape, transform=tf, invert=True)
    n = int(inside.sum())
    if n == 0:
        return 1.0
    return float((inside & ~valid).sum()) / n


# --------------------------------------------------------------------------- series


@dataclass
class ImageRecord:
    """What became of one image of a series."""

    path: Path
    date: dt.date
    status: str = "pending"  # "compared", "skipped" or "pending"
    hidden_fraction: float | None = None
    reason: str | None = None

    def record(self) -> SeriesImage:
        """What a series or check report records of it."""
        return SeriesImage(file=self.path.name, date=self.date.isoformat(), status=self.status,
                           hidden_fraction=None if self.hidden_fraction is None else round(self.hidden_fraction, 4),
                           reason=self.reason)


def compare_series(
    infos: Sequence[SceneInfo],
    aoi: AOI,
    config: DetectConfig,
    *,
    on_pair: Callable[[PairResult], None],
    on_bridge: Callable[[PairResult, BaseGeometry], None] | None = None,
    mask: UserMask | None = None,
    model: str | Path | None = None,
) -> list[ImageRecord]:
    """Compare each image with the last usable one before it, in date order (``model``: a change
    model to run with the classical stages on each pair, :class:`~campwatch.io.pair.PairRequest`).

    A date whose AOI is hidden over more than ``config.clouds.max_obscured_fraction`` (nodata,
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
    limit = config.clouds.max_obscured_fraction
    prev: ImageRecord | None = None
    earlier: ImageRecord | None = None  # the usable image before ``prev``
    task = start("image", len(infos), "comparing the images in date order")
    for info, rec in task.each(zip(infos, records, strict=True), lambda item: f"image of {item[0].date.isoformat()}: "
                               f"{'the first of a pair' if item[1].status == 'pending' else item[1].status}"):
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
        with analyse_pair(PairRequest(prev.path, rec.path, aoi=aoi, mask=mask, model=model), config=config) as result:
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
            with analyse_pair(PairRequest(earlier.path, rec.path, aoi=aoi, mask=mask, model=model),
                              config=config) as bridge:
                on_bridge(bridge, reproject(area, area_crs, bridge.grid.crs))
        earlier, prev = prev, rec
    if prev is not None and prev.status == "pending":
        prev.reason = "no other usable image to compare with"
    return records


def pair_name(result: PairResult) -> str:
    """The folder name of a pair's outputs: ``<before date>_<after date>``."""
    return f"{result.before.date.isoformat()}_{result.after.date.isoformat()}"


def pair_summary(result: PairResult, hashes: dict[str, str], folder: str, *, counted_earlier: int | None = None,
                 kind: str | None = None) -> PairSummary:
    """What a series or check report records of one pair."""
    summary = result.summary()
    ((member, structures),) = structure_counts(result.structures_seen).items()
    return PairSummary(
        start=result.before.date.isoformat(), end=result.after.date.isoformat(),
        before_image=result.before.path.name if result.before.path else None,
        after_image=result.after.path.name if result.after.path else None,
        folder=folder, counts=dict(summary.counts), fence_length_m=summary.to_dict()["fence_length_m"],
        shift_px=(round(result.shift[0], 2), round(result.shift[1], 2)),
        residual_shift=clean(result.residual_shift),
        hidden_fraction=(round(result.obscured_fraction("before"), 4), round(result.obscured_fraction("after"), 4)),
        structures=clean(structures), structures_near_change=member == "structures_near_change",
        warnings=tuple(result.warnings), outputs=dict(hashes), counted_earlier=counted_earlier, kind=kind)


class PairStager:
    """Writes each pair a series or a check compares into an open :class:`OutputSet` and folds
    its changes into the tracker.

    Call it with a pair's result and how the pair was found (``"pair"``: consecutive images;
    ``"bridge"``: across an image a cloud hid in part, taking only the changes ``within``
    what it hid; ``"baseline"``: against the baseline). Its outputs go to
    ``pairs/``, ``bridges/`` or ``baseline/`` and ``<from>_<to>/``; :attr:`staged` keeps each
    pair's summary (:func:`pair_summary`), its kind in it, in order; :attr:`newest` the
    result of the last consecutive pair.
    """

    FOLDERS = {"pair": "pairs/", "bridge": "bridges/", "baseline": "baseline/"}

    def __init__(self, outs: OutputSet, tracker: ChangeTracker, *, aoi_path: str | Path,
                 mask_path: str | Path | None = None) -> None:
        self.outs, self.tracker = outs, tracker
        self.aoi_path, self.mask_path = aoi_path, mask_path
        self.staged: list[PairSummary] = []
        self.newest: PairResult | None = None
        #: The change model the pairs were analysed with (its record), or None.
        self.model: JSONTable | None = None

    def __call__(self, result: PairResult, found_by: str = "pair", within: BaseGeometry | None = None) -> None:
        self.tracker.add_pair(result, found_by=found_by, within=within)
        if found_by == "pair":
            self.newest = result
        assert result.before.path is not None and result.after.path is not None  # read from files
        folder = self.FOLDERS[found_by] + pair_name(result)
        inputs = input_records(PairRequest(result.before.path, result.after.path), aoi_path=self.aoi_path,
                               mask_path=self.mask_path, model=result.model)
        self.model = result.model
        links = dict(self.tracker.links)
        hashes = stage_outputs(result, self.outs, inputs=inputs, credit=result.credit, prefix=f"{folder}/",
                               series_links=links)
        # The pair's map shows every change it found; the series counts once what an earlier
        # interval counted already: both say how many.
        earlier = sum(1 for _, status in links.values() if status in ("found_again", "undoes"))
        self.staged.append(pair_summary(result, hashes, folder, counted_earlier=earlier, kind=found_by))

    def of_kind(self, kind: str) -> list[PairSummary]:
        """The summaries of the pairs of one kind, in order (as a series records them: without their kind)."""
        return [dataclasses.replace(summary, kind=None) for summary in self.staged if summary.kind == kind]

    def compare(self, infos: Sequence[SceneInfo], aoi: AOI, config: DetectConfig, *,
                mask: UserMask | None = None, model: str | Path | None = None) -> list[ImageRecord]:
        """:func:`compare_series` with every pair and bridge staged here."""
        return compare_series(infos, aoi, config, on_pair=self, on_bridge=lambda r, area: self(r, "bridge", area),
                              mask=mask, model=model)


@dataclass(frozen=True)
class SeriesResult:
    """The outcome of :func:`run_series`: the report and where the outputs went."""

    report: SeriesReport
    changes: list[TrackedChange]
    paths: dict[str, Path] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        """What the series found, a line per image skipped, pair and bridge, for a terminal."""
        report = self.report
        out = [f"{report.aoi_name}: {len(report.images)} images, {len(report.pairs)} pairs compared"]
        out += [f"  skipped {img.file}: {img.reason}" for img in report.images if img.status == "skipped"]
        for pair in report.pairs:
            new = [f for f in report.features if f.interval == pair.interval]
            summary = summarize(f for f in new if not f.transient)
            parts = [describe(summary)] if summary.found else []
            transient = sum(1 for f in new if f.transient)
            if transient:
                parts.append(f"{transient} on this image only (transient, not counted)")
            if pair.counted_earlier:
                parts.append(f"{pair.counted_earlier} more on the pair's map, counted in an earlier interval")
            out.append(f"  {pair.start} -> {pair.end}: {', '.join(parts) if parts else 'no change'}")
        for bridge in report.bridges:
            found = [f for f in report.features if f.found_by == "bridge" and f.interval == bridge.interval]
            named = [f for f in found if f.change_class != "other_change"]
            # In words, as every other line ("2 new structures"), with the changes' ids to find them.
            what = (f"{describe(summarize(named))} ({', '.join(str(f.id) for f in named)})"
                    if named else "nothing new")
            out.append(f"  {bridge.start} -> {bridge.end} where a cloud hid the image between: {what}")
        return out + [f"  wrote {path}" for path in self.paths.values()]


def run_series(
    aoi_path: str | Path,
    images_dir: str | Path,
    out_dir: str | Path,
    *,
    config: DetectConfig | None = None,
    figures: bool = True,
    dpi: int = 300,
    mask_path: str | Path | None = None,
    recorded_as: str | Path | None = None,
    only: Collection[str] | None = None,
    model: str | Path | None = None,
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

    Every path the reports record is relative to the report's folder (``recorded_as``, when
    given, stands for ``out_dir``: ``campwatch verify`` re-runs elsewhere what it checks).
    ``only``: the names of the folder's images to take, the others left out (``verify``
    re-runs the images a report records, not those that came after). ``model``: a change model to
    run with the classical stages on every pair (:class:`~campwatch.io.pair.PairRequest`).
    """
    config = config or DetectConfig()
    check_writable(out_dir)
    aoi = read_aoi(aoi_path)
    mask = read_mask(mask_path) if mask_path is not None else None
    infos = series_scenes(images_dir, aoi=aoi, only=only)
    if len(infos) < 2:
        raise InputError(f"{images_dir}: a series needs at least two dated images; found {len(infos)}")
    crs = infos[0].crs if infos[0].crs.is_projected else aoi_utm(aoi)
    tracker = ChangeTracker(crs)
    with OutputSet(out_dir, recorded_as=recorded_as) as outs:
        stager = PairStager(outs, tracker, aoi_path=aoi_path, mask_path=mask_path)
        records = stager.compare(infos, aoi, config, mask=mask, model=model)
        pairs, bridges = stager.of_kind("pair"), stager.of_kind("bridge")
        if not pairs:
            raise InputError(
                f"{images_dir}: no two images could be compared: "
                + "; ".join(f"{r.path.name} {r.reason}" for r in records if r.reason)
            )
        report = series_report(aoi, aoi_path, records, pairs, tracker, config, mask_path=mask_path,
                               model=stager.model, model_named=None if model is None else str(model))
        # Which classes the pixels can show, for a series in degrees too: its pairs are analysed in metres;
        # the figures' resolution, so that verify makes the same files.
        report = dataclasses.replace(report, classes=classes_member(pixel_size_m(infos[0])),
                                     figures_dpi=dpi if figures else None, bridges=tuple(bridges))
        outputs = {f"{p.folder}/{name}": h for p in pairs + bridges for name, h in p.outputs.items()}
        pngs: dict[str, bytes] = {}
        view = None
        if figures:
            view = series_view(report, source=str(images_dir), trusted=True)
            fig_hashes, pngs = stage_figure_set(figure_set(view, series=report), outs, dpi=dpi)
            outputs = fig_hashes | outputs
        outs.path("series.qml").write_text(vector_qml(id_field="id"), encoding="utf-8")  # QGIS's default style
        outputs = {"series.qml": sha256_file(outs.path("series.qml"))} | outputs
        report = dataclasses.replace(report, provenance=dataclasses.replace(report.provenance, outputs=outputs))
        # Published: every path the report records is relative to its folder.
        doc = publish_paths(clean(report.to_geojson()), outs.recorded_folder())
        write_json(doc, outs.path(SERIES_REPORT))
        report = SeriesReport.from_geojson(doc, source=str(outs.final_path(SERIES_REPORT)))
        if view is not None:
            outs.path(REPORT_HTML).write_text(report_html(view, pngs, kind="series", doc=report, folder=outs.out_dir),
                                                encoding="utf-8")
        write_stac_item(run_item(report, report_name=SERIES_REPORT,
                                 report_sha256=sha256_file(outs.path(SERIES_REPORT)), outputs=outputs),
                        outs.path(STAC_ITEM))
        paths: dict[str, Path] = {
            name: outs.final_path(name) for name in (SERIES_REPORT, REPORT_HTML) if name in outs.names}
    return SeriesResult(report=report, changes=tracker.changes, paths=paths)


def series_report(
    aoi: AOI,
    aoi_path: str | Path,
    records: list[ImageRecord],
    pairs: list[PairSummary],
    tracker: ChangeTracker,
    config: DetectConfig,
    *,
    mask_path: str | Path | None = None,
    model: JSONTable | None = None,
    model_named: str | None = None,
) -> SeriesReport:
    """The series report (GeoJSON FeatureCollection, WGS84 when written) before its output hashes.

    ``model``: the record of the change model the pairs were analysed with; ``model_named``: as its
    user named it (recorded among the parameters)."""
    changes = sorted(tracker.changes, key=lambda c: (c.first[1], c.id))
    summary = summarize(c for c in changes if not c.transient)
    inputs = [rec for r in records for rec in scene_records("image", r.path, date=r.date.isoformat())]
    inputs.append(file_record("aoi", aoi_path))
    if mask_path is not None:
        inputs.append(file_record("mask", mask_path))
    inputs += model_records(model)
    skipped = [r for r in records if r.status == "skipped"]
    return SeriesReport(
        aoi=clean(aoi.summary()), analysis_crs=tracker.crs.to_string(), images=tuple(r.record() for r in records),
        pairs=tuple(pairs), model=clean(model_member(model)), confidence=calibration().record(),
        summary=clean({
            "images": len(records),
            "compared": sum(r.status == "compared" for r in records),
            "skipped": [{"file": r.path.name, "date": r.date.isoformat(), "reason": r.reason} for r in skipped],
            "counts": summary.counts,
            "fence_razed_m": round(summary.length_m["fence_razed"], 1),
            "fence_built_m": round(summary.length_m["fence_built"], 1),
            # Changes undone by the next image (snow, vehicles, material): in the features, not the counts.
            "transient": {k: n for k, n in summarize(c for c in changes if c.transient).counts.items() if n},
        }),
        provenance=Provenance(schema=SERIES_SCHEMA, inputs=tuple(inputs), outputs={}, parameters=config.to_dict(model=model_named),
                              software=dict(software_versions())),
        features=[c.feature(tracker.crs) for c in changes],
    )
