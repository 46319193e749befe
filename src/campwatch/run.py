"""Analyse one pair of dated images, whole or block by block, and write its outputs atomically.

:func:`analyse_pair` is the one way into the analysis of a pair: it reads the pair's
metadata and analyses the AOI's window whole (:func:`campwatch.detection.analysis.analyse_scenes`)
or, when it holds more pixels than one block, block by block
(:func:`campwatch.detection.blocks.analyse_blockwise`). :func:`detect` is the same for
file names; :func:`run_detect` adds the outputs (``campwatch detect``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg

from campwatch.config import DetectConfig
from campwatch.detection.analysis import PAIR_WORK, analyse_scenes
from campwatch.detection.blocks import analyse_blockwise, needs_blocks
from campwatch.detection.model import load_model, resolve_model
from campwatch.detection.results import PairResult
from campwatch.detection.threads import using_threads
from campwatch.document import DESCRIBING, PAIR_OUTPUTS, PAIR_REPORT, STAC_ITEM, InputRecord, JSONTable, PairReport
from campwatch.io.aoi import AOI, read_aoi
from campwatch.io.jsonio import clean, write_json
from campwatch.io.masks import UserMask, read_mask
from campwatch.io.output import OutputSet, check_writable
from campwatch.io.pair import BandNames, Dates, PairRequest, aoi_window, pair_info, read_pair
from campwatch.io.provenance import file_record, scene_records
from campwatch.io.recorded import publish_paths
from campwatch.io.scene import sha256_file
from campwatch.progress import staged, start
from campwatch.publish.figures import change_map
from campwatch.publish.qgis import mask_categories_xml, mask_qml, vector_qml
from campwatch.publish.stac import run_item
from campwatch.publish.views import view_from_result
from campwatch.report import build_report

__all__ = ["analyse_pair", "detect", "run_detect", "write_outputs", "stage_outputs", "input_records", "model_records",
           "OUTPUT_NAMES"]

logger = logging.getLogger(__name__)

#: The files a detect run writes, in the order they are committed (:data:`campwatch.document.PAIR_OUTPUTS`).
OUTPUT_NAMES = PAIR_OUTPUTS


def analyse_pair(request: PairRequest, *, config: DetectConfig | None = None, workers: int = 1,
                 scheduler: str | None = None) -> PairResult:
    """Analyse a pair, whole or block by block as its size asks.

    An AOI window larger than one block (``config.blocks.block_size_px`` and its halo) is analysed
    block by block, ``workers`` blocks at once, its class mask in a scratch folder that the
    result removes when it is closed (use it as ``with analyse_pair(...) as result:``) or let
    go of; a smaller one whole. The result is the same for any ``workers``, and on a Dask
    cluster (``scheduler``: its address, ``tcp://host:8786``) whose workers run the blocks.

    Raises
    ------
    SceneError, GridMismatchError, AOIError, InputError
        For every unusable input, naming the file and the problem.

    Notes
    -----
    Memory: about 12 float32 values per band per pixel of the AOI window, or of one block
    with its halo (per worker) for a window analysed by blocks.
    """
    config = config or DetectConfig()
    info = pair_info(request)
    named = None if request.model is None else str(request.model)
    model = load_model(resolve_model(named)) if named else None
    if model is not None:  # before any pixel is read
        model.check_bands(*info.band_names)
        model.check_pixel_size(info.before.pixel_size)
        info = dataclasses.replace(info, notes=info.notes + tuple(model.notes_for(info.before.pixel_size)))
    window = aoi_window(info.before, request.aoi)
    config.check_window(int(window.height), int(window.width))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # numpy on empty or all-nodata parts
        if not needs_blocks((int(window.height), int(window.width)), config, info.before.pixel_size):
            # One task whose units are weighted by what each stage costs (PAIR_WORK): no stage of
            # a pair is long and silent, and the time left comes from the work done.
            task = start("pair stage", sum(PAIR_WORK.values()),
                         f"reading {int(window.width)} x {int(window.height)} px of both dates")
            before, after, notes = read_pair(request, info)
            task.advance("co-registering and matching the dates", by=PAIR_WORK["read"])
            # No blocks to share out: the workers take the independent parts of its stages at once (detection.threads).
            with staged(task), using_threads(workers):
                whole = analyse_scenes(before, after, aoi=request.aoi, config=config,
                                       notes=list(info.notes) + notes, mask=request.mask, model=model)
            return dataclasses.replace(whole, model_named=named)
        scratch = Path(tempfile.mkdtemp(prefix="campwatch-blocks-"))
        try:
            result = analyse_blockwise(request, scratch=scratch, config=config, workers=workers, info=info,
                                       model=model, scheduler=scheduler)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    return dataclasses.replace(result, model_named=named).owning(scratch)


def detect(
    before_path: str | Path,
    after_path: str | Path,
    *,
    aoi: AOI | None = None,
    config: DetectConfig | None = None,
    dates: Dates = (None, None),
    mask: UserMask | None = None,
    bands: BandNames = (None, None),
    workers: int = 1,
    scheduler: str | None = None,
    model: str | Path | None = None,
) -> PairResult:
    """Detect and classify change between two dated images of one place.

    Parameters
    ----------
    before_path, after_path : str or Path
        Dated GeoTIFFs or folders of tiles (the date in each name or TIFF tags; ``before``
        the earlier). When their grids differ (CRS, pixel size, extent), the later image is
        resampled onto the earlier one's grid over the AOI; bands named in both are
        matched by name.
    aoi : AOI, optional
        Only the AOI's window is read and only pixels inside it are analysed.
    config : DetectConfig, optional
    dates : pair of datetime.date or None
        Acquisition dates that replace what the file names and tags say (for files or
        folders that carry none); recorded in the report's warnings.
    mask : UserMask, optional
        Areas the user says not to analyse (:mod:`campwatch.io.masks`), on one date or all.
    bands : pair of tuples of band names, optional
        The bands of each file in order (:func:`campwatch.io.bands.parse_band_names`), for
        files that do not name them or name them wrongly.
    workers : int
        Blocks analysed at once when the AOI's window is analysed by blocks.
    scheduler : str, optional
        A Dask distributed scheduler's address (``tcp://host:8786``) whose workers analyse the
        blocks instead; the result is the same.
    model : str or Path, optional
        A change model to run with the classical stages (:class:`~campwatch.io.pair.PairRequest`).

    Returns
    -------
    DetectResult or BlockwiseResult
        As :func:`analyse_pair`.

    Raises
    ------
    SceneError, GridMismatchError, AOIError, InputError
        For every unusable input, naming the file and the problem.

    Examples
    --------
    >>> from campwatch import detect, read_aoi
    >>> result = detect("data/sample/camp25/camp25_2015-04-18.tif", "data/sample/camp25/camp25_2015-09-26.tif",
    ...                 aoi=read_aoi("aois/camp25.geojson"))  # doctest: +SKIP
    >>> result.summary().counts["structure_new"]  # doctest: +SKIP
    2
    """
    request = PairRequest(before_path, after_path, dates=dates, bands=bands, aoi=aoi, mask=mask, model=model)
    return analyse_pair(request, config=config, workers=workers, scheduler=scheduler)


def write_outputs(
    result: PairResult,
    out_dir: str | Path,
    *,
    inputs: Sequence[InputRecord],
    credit: str | None = None,
    recorded_as: str | Path | None = None,
) -> dict[str, Path]:
    """Write the change mask, the change map and the report into ``out_dir``, atomically.

    ``recorded_as``: the folder the report records its paths from, when not ``out_dir``
    (``campwatch verify`` re-runs elsewhere what it checks).

    Returns
    -------
    dict
        Output name to its final path.
    """
    with OutputSet(out_dir, recorded_as=recorded_as) as outs:
        stage_outputs(result, outs, inputs=inputs, credit=credit)
        return {name: outs.final_path(name) for name in OUTPUT_NAMES}


#: What writing a pair's outputs costs, in units of work (see :data:`campwatch.detection.analysis.PAIR_WORK`;
#: measured on Joplin, 2,048 px and 1,496 changes: the mask 0.1 s, drawing the map 1.9 s, saving it 2.0 s,
#: the report and its STAC item 2.2 s).
OUTPUT_WORK = {"mask": 1, "map": 4, "save": 4, "report": 4}


def stage_outputs(
    result: PairResult,
    outs: OutputSet,
    *,
    inputs: Sequence[InputRecord],
    credit: str | None = None,
    prefix: str = "",
    series_links: dict[int, tuple[str, str]] | None = None,
) -> dict[str, str]:
    """Write a pair's outputs into an open :class:`OutputSet` under ``prefix``.

    ``series_links``: for a pair of a series or check, what the series made of each change
    (:attr:`campwatch.monitor.tracking.ChangeTracker.links`): in the report and on the map.
    Returns the SHA-256 of each file written (keyed by its name under ``prefix``).
    """
    task = start("output", sum(OUTPUT_WORK.values()), "writing the change mask")
    tags = {"BEFORE_DATE": result.before.date.isoformat(), "AFTER_DATE": result.after.date.isoformat()}
    result.write_change_mask(outs.path(prefix + "change_mask.tif"), tags=tags)
    task.advance("drawing the change map", by=OUTPUT_WORK["mask"])
    # QGIS reads the class names beside the mask's colour table, and the report's style beside it.
    outs.path(prefix + "change_mask.tif.aux.xml").write_text(mask_categories_xml(), encoding="utf-8")
    outs.path(prefix + "change_mask.qml").write_text(mask_qml(), encoding="utf-8")
    outs.path(prefix + "report.qml").write_text(vector_qml(id_field="id"), encoding="utf-8")
    map_path = outs.path(prefix + "change_map.png")
    with staged(task):
        fig = change_map(view_from_result(result, credit=credit, series_links=series_links))
    task.advance("saving the change map", by=OUTPUT_WORK["map"])
    FigureCanvasAgg(fig)
    fig.savefig(map_path, dpi=150, metadata={"Software": None})
    task.advance("the report and its STAC item", by=OUTPUT_WORK["save"])
    hashes = {name: sha256_file(outs.path(prefix + name)) for name in OUTPUT_NAMES if name not in DESCRIBING}
    report = build_report(result, inputs=inputs, outputs=hashes, series_links=series_links)
    # Published: every path the report records is relative to the folder it will be in.
    doc = publish_paths(clean(report.to_geojson()), outs.recorded_folder(prefix))
    report_path = outs.path(prefix + PAIR_REPORT)
    write_json(doc, report_path)
    report_sha = sha256_file(report_path)
    published = PairReport.from_geojson(doc, source=str(report_path))
    write_stac_item(run_item(published, report_name=PAIR_REPORT, report_sha256=report_sha, outputs=hashes),
                    outs.path(prefix + STAC_ITEM))
    task.advance("written", by=OUTPUT_WORK["report"])
    return hashes | {PAIR_REPORT: report_sha, STAC_ITEM: sha256_file(outs.path(prefix + STAC_ITEM))}


def write_stac_item(item: Any, path: Path) -> None:
    """Write a STAC Item as deterministic JSON (no self link: the folder may move)."""
    write_json(item.to_dict(include_self_link=False, transform_hrefs=False), path)


def input_records(
    request: PairRequest,
    *,
    aoi_path: str | Path | None = None,
    mask_path: str | Path | None = None,
    model: JSONTable | None = None,
) -> list[InputRecord]:
    """The provenance record of a pair's inputs: role, absolute path and SHA-256 of each file.

    A folder of tiles gives one record per tile. A date or band names the user gave are
    kept (``date_given``, ``bands_given``) so that the run can be repeated (``campwatch verify``).
    ``model``: the record of the change model used (:attr:`campwatch.detection.results.DetectResult.model`);
    its file and card are inputs too.
    """
    records = []
    for role, path, given, names in (("before", request.before, request.dates[0], request.bands[0]),
                                     ("after", request.after, request.dates[1], request.bands[1])):
        records += scene_records(role, path, date_given=None if given is None else given.isoformat(),
                                 bands_given=None if names is None else ",".join(n or "-" for n in names))
    for role, extra in (("aoi", aoi_path), ("mask", mask_path)):
        if extra is not None:
            records.append(file_record(role, extra))
    return records + model_records(model)


def model_records(model: JSONTable | None) -> list[InputRecord]:
    """The input records of a change model's file and card (none without a model)."""
    if not model:
        return []
    records = [InputRecord(role="model", path=str(model["path"]), sha256=str(model["sha256"]))]
    if model.get("card_sha256"):
        records.append(InputRecord(role="model card", path=str(model["card"]), sha256=str(model["card_sha256"])))
    return records


def run_detect(
    before_path: str | Path,
    after_path: str | Path,
    out_dir: str | Path,
    *,
    aoi_path: str | Path | None = None,
    config: DetectConfig | None = None,
    dates: tuple[dt.date | None, dt.date | None] = (None, None),
    mask_path: str | Path | None = None,
    bands: BandNames = (None, None),
    workers: int = 1,
    recorded_as: str | Path | None = None,
    scheduler: str | None = None,
    model: str | Path | None = None,
) -> tuple[PairResult, dict[str, Path]]:
    """Read inputs, detect change, write outputs: what ``campwatch detect`` does.

    ``recorded_as``: see :func:`write_outputs`. ``model``: a change model to run with the classical
    stages (:class:`~campwatch.io.pair.PairRequest`).

    An AOI window larger than one block is analysed block by block (:func:`analyse_pair`),
    ``workers`` blocks at once (or on the Dask cluster at ``scheduler``): memory stays bounded.

    Nothing is written unless every input is valid and the analysis succeeds; then all
    outputs appear together (see :class:`campwatch.io.output.OutputSet`).
    """
    check_writable(out_dir)
    request = PairRequest(before_path, after_path, dates=dates, bands=bands,
                          aoi=read_aoi(aoi_path) if aoi_path is not None else None,
                          mask=read_mask(mask_path) if mask_path is not None else None, model=model)
    with analyse_pair(request, config=config, workers=workers, scheduler=scheduler) as result, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        inputs = input_records(request, aoi_path=aoi_path, mask_path=mask_path, model=result.model)
        paths = write_outputs(result, out_dir, inputs=inputs, credit=result.credit, recorded_as=recorded_as)
    return result, paths
