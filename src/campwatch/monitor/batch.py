"""Checks of many AOIs at once, in worker processes or on a Dask cluster, resumable.

Layout of a batch root::

    ROOT/
      aois/<name>.geojson      one AOI file per site
      images/<name>/           that site's dated images
      masks/<name>.geojson     optional: areas of that site not to analyse (campwatch.io.masks)
      results/                 written by campwatch (or --out):
        <name>/history.gpkg    the site's history (see campwatch.monitor.history)
        <name>/<check_id>/     each check's outputs
        batch.log              one line per finished job, appended
        summary.json           the last run's table

Each job is one :func:`campwatch.monitor.history.run_check`. A check commits its outputs and
then its history in one rename, and the same check run again adds nothing, so a batch
killed at any moment (even SIGKILL) and started again redoes only the checks that had
not committed, and no history loses or duplicates a change.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from campwatch.config import DetectConfig
from campwatch.detection.blocks import dask_client
from campwatch.errors import CampwatchError, InputError, OutputError
from campwatch.io.aoi import aoi_key
from campwatch.io.gdal import current_options, enter_options
from campwatch.io.output import check_writable
from campwatch.io.recorded import publish_paths
from campwatch.io.text import printable
from campwatch.monitor.history import run_check

__all__ = ["BatchJob", "find_jobs", "check_job", "run_batch", "JOB_STATUSES"]

logger = logging.getLogger(__name__)

#: What a job can end as: ``ok`` (checked; maybe nothing new), ``obscured`` (newest image
#: mostly hidden), ``already checked``, ``no new image``, ``bad input``, ``failed``.
JOB_STATUSES = ("ok", "obscured", "already checked", "no new image", "bad input", "failed")


@dataclass(frozen=True)
class BatchJob:
    """One AOI's check: its AOI file, its images and where its results go."""

    name: str
    aoi: str
    images: str
    out: str
    config: dict[str, Any]
    figures: bool = True
    mask: str | None = None
    #: The change model every check runs with, as its user named it, or None.
    model: str | None = None
    #: Why the job cannot run (an AOI file whose name is not a safe name), or None.
    problem: str | None = None


def find_jobs(
    root: str | Path, *, out: str | Path | None = None, config: DetectConfig | None = None, figures: bool = True,
    model: str | Path | None = None,
) -> list[BatchJob]:
    """The jobs of a batch root, one per ``aois/<name>.geojson``, in name order.

    Raises
    ------
    InputError
        If the root or its ``aois/`` folder is missing or holds no AOI file.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: batch root not found; expected a folder with aois/ and images/")
    aois = root / "aois"
    files = sorted(aois.glob("*.geojson")) + sorted(aois.glob("*.json")) if aois.is_dir() else []
    if not files:
        raise InputError(f"{root}: no AOI files in {aois} (expected aois/<name>.geojson and images/<name>/)")
    results = Path(out) if out is not None else root / "results"
    cfg = (config or DetectConfig()).to_dict()
    named = None if model is None else str(model)
    masks = root / "masks"
    jobs = []
    for f in files:
        try:
            name = aoi_key(f)
        except InputError as exc:  # that AOI only: the others run
            jobs.append(BatchJob(printable(f.stem), str(f), "", "", cfg, figures, problem=str(exc), model=named))
            continue
        out_dir = results / name
        if not out_dir.resolve().is_relative_to(results.resolve()):  # pragma: no cover - a safe name stays in
            raise InputError(f"{f}: its results would leave {results}")
        jobs.append(BatchJob(name, str(f), str(root / "images" / name), str(out_dir), cfg, figures,
                             str(masks / f"{name}.geojson") if (masks / f"{name}.geojson").is_file() else None,
                             model=named))
    return jobs


def check_job(job: BatchJob) -> dict[str, Any]:
    """Run one job's check; never raises: the outcome is in the returned record."""
    start = time.perf_counter()
    record: dict[str, Any] = {"aoi": job.name}
    try:
        if job.problem is not None:
            raise InputError(job.problem)
        if not Path(job.images).is_dir():
            raise InputError(f"{job.images}: no images folder for AOI '{job.name}' (expected images/{job.name}/)")
        result = run_check(job.aoi, job.images, job.out, config=DetectConfig.from_recorded(job.config),
                           figures=job.figures, mask_path=job.mask, model=job.model)
        record.update(status=result.status, summary=result.summary, new=len(result.new),
                      check_id=result.check_id)
    except (InputError, OutputError) as exc:
        record.update(status="bad input", summary=str(exc), new=0, check_id=None)
    except CampwatchError as exc:
        record.update(status="failed", summary=str(exc), new=0, check_id=None)
    except Exception as exc:  # a worker must report, not die: the batch goes on
        logger.debug("job %s failed", job.name, exc_info=True)
        record.update(status="failed", summary=f"{type(exc).__name__}: {exc}", new=0, check_id=None)
    record["seconds"] = round(time.perf_counter() - start, 1)
    return record


def _local(jobs: list[BatchJob], workers: int) -> Iterator[dict[str, Any]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no forked GDAL state in the workers
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=enter_options,
                             initargs=(current_options(),)) as pool:
        futures = {pool.submit(check_job, job): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                yield fut.result()
            except BrokenProcessPool:
                yield {"aoi": job.name, "status": "failed", "new": 0, "check_id": None, "seconds": None,
                       "summary": "its worker process died; run the batch again to resume"}


def _dask(jobs: list[BatchJob], scheduler: str) -> Iterator[dict[str, Any]]:
    from distributed import as_completed as dask_completed

    with dask_client(scheduler) as client:
        futures = client.map(check_job, jobs, pure=False, key=[f"campwatch-check-{j.name}" for j in jobs])
        by_key = {f.key: j for f, j in zip(futures, jobs, strict=True)}
        for fut in dask_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker died or was lost
                job = by_key[fut.key]
                yield {"aoi": job.name, "status": "failed", "new": 0, "check_id": None, "seconds": None,
                       "summary": f"the Dask task failed ({type(exc).__name__}: {exc}); run the batch again"}


def run_batch(
    root: str | Path,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    config: DetectConfig | None = None,
    figures: bool = True,
    progress: Any = None,
    model: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Check every AOI of a batch root; return one record per AOI (in AOI name order).

    Parameters
    ----------
    root : path
        The batch root (see the module's documentation for its layout).
    out : path, optional
        Where results go (default ``ROOT/results``).
    workers : int, optional
        Worker processes on this machine (default: as many as cores).
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``): the same jobs run
        there instead. Its workers must see the same paths.
    figures : bool
        Whether each check writes its figure set and report.html.
    model : str or path, optional
        A change model every check runs with (:class:`~campwatch.io.pair.PairRequest`).
    progress : callable, optional
        Called with each record as its job finishes (for a progress bar).

    Every finished job is appended to ``batch.log`` in the results folder as it ends,
    and the table of the run is written to ``summary.json`` at the end.
    """
    jobs = find_jobs(root, out=out, config=config, figures=figures, model=model)
    results = Path(out) if out is not None else Path(root) / "results"
    check_writable(results)
    results.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} worker processes"
    logger.info("batch of %d AOIs on %s", len(jobs), where)
    records: dict[str, dict[str, Any]] = {}
    stream = _dask(jobs, scheduler) if scheduler else _local(jobs, min(workers, len(jobs)))
    with open(results / "batch.log", "a", encoding="utf-8") as log:
        log.write(f"{_now()} start: {len(jobs)} AOIs on {where}\n")
        log.flush()
        for record in stream:
            records[record["aoi"]] = record
            log.write(f"{_now()} {printable(record['aoi'])}: {record['status']}: {printable(record['summary'])}\n")
            log.flush()
            if progress is not None:
                progress(record)
        done = sum(1 for r in records.values() if r["status"] not in ("bad input", "failed"))
        log.write(f"{_now()} end: {done} of {len(jobs)} AOIs done\n")
    table = [records[j.name] for j in jobs if j.name in records]
    tmp = results / ".summary.json.tmp"
    tmp.write_text(json.dumps(publish_paths({"root": str(Path(root).resolve()), "jobs": table}, results.resolve()), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, results / "summary.json")
    return table


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
