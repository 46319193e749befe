"""Tests of campwatch.io.changemask: a class mask QGIS shows with its colours and class names."""

from __future__ import annotations

import numpy as np
import rasterio
from conftest import CRS, TRANSFORM

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED
from campwatch.io.changemask import finish_change_mask, open_change_mask, write_change_mask


def _codes() -> np.ndarray:
    codes = np.zeros((600, 520), "uint8")
    codes[10:20, 10:30] = CLASSES["structure_new"].code
    codes[100:110, :] = OBSCURED
    codes[:, 500:] = NOT_ANALYSED
    return codes


def test_the_mask_is_a_cog_with_colours_class_names_and_tags(tmp_path):
    path = tmp_path / "change_mask.tif"
    write_change_mask(_codes(), path, transform=TRANSFORM, crs=CRS, tags={"BEFORE_DATE": "2020-05-01"})
    with rasterio.open(path) as ds:
        assert ds.read(1).tolist() == _codes().tolist()
        assert ds.nodata == NOT_ANALYSED and ds.transform == TRANSFORM and ds.crs.to_epsg() == 32652
        assert ds.tags()["CLASS_2"] == "structure_new" and ds.tags()[f"CLASS_{OBSCURED}"] == "obscured"
        assert ds.tags()["BEFORE_DATE"] == "2020-05-01"
        assert ds.colormap(1)[CLASSES["fence_razed"].code][:3] == (0xE6, 0x9F, 0x00)
        assert ds.profile["tiled"] and ds.overviews(1)  # a COG: tiled with overviews


def test_a_mask_written_window_by_window_is_the_same(tmp_path):
    scratch, path, whole = tmp_path / "scratch.tif", tmp_path / "blocks.tif", tmp_path / "whole.tif"
    codes = _codes()
    with open_change_mask(scratch, shape=codes.shape, transform=TRANSFORM, crs=CRS) as dst:
        for r in range(0, codes.shape[0], 256):
            window = rasterio.windows.Window(0, r, codes.shape[1], min(256, codes.shape[0] - r))
            dst.write(codes[r:r + 256][None], window=window)
    finish_change_mask(scratch, path)
    write_change_mask(codes, whole, transform=TRANSFORM, crs=CRS)
    with rasterio.open(path) as a, rasterio.open(whole) as b:
        assert np.array_equal(a.read(), b.read()) and a.tags() == b.tags() and a.colormap(1) == b.colormap(1)
