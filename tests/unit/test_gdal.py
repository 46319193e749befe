"""GDAL's settings for campwatch's commands."""

from __future__ import annotations

import rasterio
from rasterio._env import get_gdal_config

from campwatch.io.gdal import GDAL_CACHE_MB, command_options


def test_the_block_cache_is_megabytes_not_bytes(monkeypatch):
    # rasterio passes an integer GDAL_CACHEMAX to GDAL as bytes: 256 was a cache of 256 bytes,
    # and every tile was decoded again at each read.
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    with rasterio.Env(**command_options()):
        assert int(get_gdal_config("GDAL_CACHEMAX")) == GDAL_CACHE_MB * 1024 * 1024


def test_a_cache_size_in_the_environment_wins(monkeypatch):
    monkeypatch.setenv("GDAL_CACHEMAX", "512")
    assert "GDAL_CACHEMAX" not in command_options()
