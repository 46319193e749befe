"""What every block of a pair is analysed with, how a block is read, and where blocks run: one after another,
in worker processes, or on a Dask cluster (results in block order either way)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import numpy as np
import rasterio
import rasterio.windows
from affine import Affine
from rasterio.features import geometry_mask
from rasterio.windows import Window

from campwatch.config import DetectConfig
from campwatch.detection.analysis import SceneParameters
from campwatch.detection.blocks.plan import Block
from campwatch.detection.model import ChangeModel, set_inference_threads
from campwatch.errors import InputError
from campwatch.io.gdal import current_options, enter_options
from campwatch.io.pair import (
    PairInfo,
    PairRequest,
    read_pair,
)
from campwatch.io.scene import Scene

__all__ = ["BlockJob", "read_block", "inside_aoi", "Runner", "block_runner", "dask_client"]


T = TypeVar("T")


@dataclass(frozen=True)
class BlockJob:
    """What every block of a pair is analysed with (sent to worker processes as it is)."""

    request: PairRequest
    info: PairInfo
    window: Window
    transform: Affine
    shape: tuple[int, int]
    config: DetectConfig
    #: What the sample blocks measured for the whole scene (nothing yet while they are measured).
    scene: SceneParameters = SceneParameters()
    model: ChangeModel | None = None


def read_block(job: BlockJob, blk: Block) -> tuple[Scene, Scene, list[str]]:
    """Both dates over a block's read area (core and halo); an image that does not reach it is nodata there."""
    file_window = Window(job.window.col_off + blk.padded.col_off, job.window.row_off + blk.padded.row_off,
                         blk.padded.width, blk.padded.height)
    return read_pair(job.request, job.info, window=file_window, must_overlap=False)


def inside_aoi(job: BlockJob, blk: Block) -> np.ndarray:
    """Which pixels of a block's read area lie inside the AOI."""
    shape = (int(blk.padded.height), int(blk.padded.width))
    if job.request.aoi is None:
        return np.ones(shape, dtype=bool)
    return geometry_mask([job.request.aoi.geometry_in(job.info.before.crs)], out_shape=shape,
                         transform=rasterio.windows.transform(blk.padded, job.transform), invert=True)


#: Runs a function of (job, block) on each block; results come in block order.
Runner = Callable[[Callable[[BlockJob, Block], T], BlockJob, list[Block]], Iterator[T]]


@contextlib.contextmanager
def block_runner(workers: int, scheduler: str | None = None) -> Iterator[Runner]:
    """Run blocks one after another, in ``workers`` processes, or on the workers of the Dask
    scheduler at ``scheduler``; results come in block order either way.

    One pool (or one client) serves the sample blocks and then the blocks: its processes start once.

    Raises
    ------
    InputError
        When the Dask scheduler cannot be reached.
    """
    if scheduler is not None:
        with dask_client(scheduler) as client:
            options = current_options()

            def on_cluster(fn: Callable[[BlockJob, Block], T], job: BlockJob, blocks: list[Block]) -> Iterator[T]:
                futures = client.map(_on_dask_worker, [fn] * len(blocks), [options] * len(blocks),
                                     [job] * len(blocks), blocks, pure=False)
                try:
                    for future in futures:  # in block order, each as soon as it is there
                        yield future.result()
                finally:
                    client.cancel(futures)

            yield on_cluster
        return
    if workers <= 1:
        yield lambda fn, job, blocks: (fn(job, blk) for blk in blocks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_enter_worker, initargs=(current_options(), threads)) as pool:
        yield lambda fn, job, blocks: pool.map(fn, [job] * len(blocks), blocks)


@contextlib.contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A client of the Dask distributed scheduler at ``scheduler``, closed on leaving."""
    from distributed import Client

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    with client:
        yield client


def _on_dask_worker(fn: Callable[[BlockJob, Block], T], options: dict[str, Any], job: BlockJob, blk: Block) -> T:
    """One block on a Dask worker: in the run's GDAL options (network off), then ``fn``."""
    enter_options(options)
    return fn(job, blk)


def _enter_worker(options: dict[str, Any], threads: int) -> None:
    """A block worker's initializer: the run's GDAL options, and its share of the cores for OpenCV's
    kernels and a model's inference (``--workers`` processes at once)."""
    enter_options(options)
    cv2.setNumThreads(threads)
    set_inference_threads(threads)
