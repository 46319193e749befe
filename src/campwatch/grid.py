"""The grid a run analyses: one value every floor can name (io reads onto it, detection analyses it, publish draws it)."""

from __future__ import annotations

from dataclasses import dataclass

from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """The grid a run analysed: CRS, transform and shape of the AOI's window of the before image."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]
    window: Window | None = None
