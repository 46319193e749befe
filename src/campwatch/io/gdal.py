"""GDAL's settings for campwatch's commands and the worker processes they start.

Commands run inside a :class:`rasterio.Env` with :func:`command_options`; worker processes
(blocks, batch checks) enter the options their parent runs with (:func:`current_options`)
through :func:`enter_options`, since a new process does not inherit them.
"""

from __future__ import annotations

import os
from typing import Any

import rasterio
import rasterio.env

__all__ = ["GDAL_CACHE_MB", "command_options", "current_options", "enter_options"]

#: GDAL's block cache for campwatch commands, in megabytes.
GDAL_CACHE_MB = 256

#: The environment a worker process entered (kept so that it stays entered for the process's life).
_WORKER_ENV: list[rasterio.Env] = []


def command_options() -> dict[str, Any]:
    """The GDAL options a campwatch command runs with.

    GDAL's block cache defaults to 5 % of RAM; blocks are read once each, so a small cache
    keeps memory bounded. A ``GDAL_CACHEMAX`` in the environment wins.
    """
    return {} if "GDAL_CACHEMAX" in os.environ else {"GDAL_CACHEMAX": GDAL_CACHE_MB}


def current_options() -> dict[str, Any]:
    """The options of the :class:`rasterio.Env` this process runs in (none outside one)."""
    return rasterio.env.getenv() if rasterio.env.hasenv() else {}


def enter_options(options: dict[str, Any]) -> None:
    """Enter ``options`` for the rest of this process's life (a worker process's initializer)."""
    if options and not _WORKER_ENV:
        env = rasterio.Env(**options)
        env.__enter__()
        _WORKER_ENV.append(env)
