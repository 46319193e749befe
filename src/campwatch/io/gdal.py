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

__all__ = ["GDAL_CACHE_MB", "NO_NETWORK", "command_options", "current_options", "enter_options",
           "vector_gdal_off_network"]

#: GDAL's block cache for campwatch commands, in megabytes.
GDAL_CACHE_MB = 64

#: The environment a worker process entered (kept so that it stays entered for the process's life).
_WORKER_ENV: list[rasterio.Env] = []


#: GDAL options that keep a run off the network whatever an input asks for (a second line of
#: defence: :func:`campwatch.io.scene.check_local` refuses remote sources first). /vsicurl/
#: and its kin open only files ending in an extension no file has; any HTTP request goes to a
#: closed port on this machine, fails at once and is not tried again; VRT pixel functions in
#: Python are off.
NO_NETWORK = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".campwatch-no-network",
    "GDAL_HTTP_PROXY": "127.0.0.1:9",
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}


def command_options() -> dict[str, Any]:
    """The GDAL options a campwatch command runs with: :data:`NO_NETWORK`, and a small block cache.

    GDAL's block cache defaults to 5 % of RAM; blocks are read once each, so a small cache
    keeps memory bounded. A ``GDAL_CACHEMAX`` in the environment wins.

    The size goes in bytes: rasterio hands an integer to GDAL as bytes, so ``256`` would
    be a cache of 256 bytes, every tile decoded again at each read (a warped read of a
    4,096 px scene took 2.7 times as long).
    """
    cache = {} if "GDAL_CACHEMAX" in os.environ else {"GDAL_CACHEMAX": GDAL_CACHE_MB * 1024 * 1024}
    return NO_NETWORK | cache


def current_options() -> dict[str, Any]:
    """The options of the :class:`rasterio.Env` this process runs in (none outside one)."""
    return rasterio.env.getenv() if rasterio.env.hasenv() else {}


def vector_gdal_off_network() -> None:
    """Set :data:`NO_NETWORK` in the GDAL that pyogrio bundles (not rasterio's: each wheel has its own).

    Every GDAL campwatch loads runs with network access off; pyogrio's reads histories,
    labels and truth files (which :func:`campwatch.io.sources.check_local_vector` checks first).
    """
    import pyogrio

    pyogrio.set_gdal_config_options(NO_NETWORK)


def enter_options(options: dict[str, Any]) -> None:
    """Enter ``options`` for the rest of this process's life (a worker process's initializer)."""
    vector_gdal_off_network()
    if options and not _WORKER_ENV:
        env = rasterio.Env(**options)
        env.__enter__()
        _WORKER_ENV.append(env)
