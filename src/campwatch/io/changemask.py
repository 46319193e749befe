"""Write the per-pixel class mask as a Cloud Optimized GeoTIFF (whole, or window by window)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED

__all__ = ["write_change_mask", "open_change_mask", "finish_change_mask", "mask_colours"]


def mask_colours() -> dict[int, tuple[int, int, int, int]]:
    """The change mask's colour (RGBA) of each value: the classes' colours, "no change" transparent.

    A GeoTIFF's colour table keeps no alpha; the mask's QGIS style keeps it.
    """
    cmap = {i: (0, 0, 0, 0) for i in range(256)}
    for c in CLASSES.values():
        h = c.colour.lstrip("#")
        cmap[c.code] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
    cmap[NOT_ANALYSED] = (128, 128, 128, 255)
    cmap[OBSCURED] = (200, 200, 200, 255)
    return cmap


def write_change_mask(
    mask: np.ndarray, path: str | Path, *, transform: Affine, crs: CRS, tags: dict[str, str] | None = None
) -> None:
    """Write a class mask as a Cloud Optimized GeoTIFF with a colour table and class names in tags.

    255 is declared nodata (not analysed).
    """
    profile = {
        "driver": "COG",
        "width": mask.shape[1],
        "height": mask.shape[0],
        "count": 1,
        "dtype": "uint8",
        "crs": crs,
        "transform": transform,
        "nodata": NOT_ANALYSED,
        "compress": "deflate",
        "blocksize": 512,
        "overview_resampling": "nearest",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(mask, 1)
        _describe(dst, tags)


def _describe(dst: Any, tags: dict[str, str] | None) -> None:
    """Colour table, band description and class names of a change mask."""
    class_tags = {f"CLASS_{c.code}": c.name for c in CLASSES.values()}
    class_tags.update({"CLASS_0": "no_change", f"CLASS_{OBSCURED}": "obscured",
                       f"CLASS_{NOT_ANALYSED}": "not_analysed"})
    dst.write_colormap(1, mask_colours())
    dst.set_band_description(1, "campwatch change class")
    dst.update_tags(**class_tags, **(tags or {}))


def open_change_mask(path: str | Path, *, shape: tuple[int, int], transform: Affine, crs: CRS) -> Any:
    """Open a scratch class mask to be written window by window (tiled, uncompressed GeoTIFF).

    Every pixel starts as not analysed (255). Turn it into the published COG with
    :func:`finish_change_mask`.
    """
    profile = {
        "driver": "GTiff", "width": shape[1], "height": shape[0], "count": 1, "dtype": "uint8", "crs": crs,
        "transform": transform, "nodata": NOT_ANALYSED, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "BIGTIFF": "IF_SAFER", "SPARSE_OK": False,
    }
    dst = rasterio.open(path, "w", **profile)
    return dst


def finish_change_mask(scratch: str | Path, path: str | Path, *, tags: dict[str, str] | None = None) -> None:
    """Write the scratch mask of :func:`open_change_mask` as the change mask COG (as :func:`write_change_mask`)."""
    with rasterio.open(scratch, "r+") as src:
        _describe(src, tags)
    rasterio.shutil.copy(scratch, path, driver="COG", compress="deflate", blocksize=512,
                         overview_resampling="nearest", BIGTIFF="IF_SAFER")
