"""GDAL's settings for campwatch's commands."""

from __future__ import annotations

import pytest
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


def test_work_on_a_thread_of_its_own_runs_in_the_commands_gdal_options():
    # The figures' reduced images are read on a thread while the blocks run: off the network there too,
    # and the command's options still in force once it is done.
    from campwatch.detection.blocks.run import in_background

    with rasterio.Env(**command_options()):
        with in_background(lambda _: get_gdal_config("GDAL_HTTP_PROXY"), None) as done:  # type: ignore[arg-type]
            pass
        assert get_gdal_config("GDAL_HTTP_PROXY") == "127.0.0.1:9"
    assert done.result() == "127.0.0.1:9"


def test_an_error_on_the_thread_comes_out_of_its_result():
    from campwatch.detection.blocks.run import in_background

    def fail(_):
        raise ValueError("unreadable")

    with in_background(fail, None) as done:  # type: ignore[arg-type]
        pass
    with pytest.raises(ValueError, match="unreadable"):
        done.result()
