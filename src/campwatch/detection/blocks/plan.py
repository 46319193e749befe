"""How a window is cut into blocks: each block's core (what it answers for) and what is read (core and halo)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
import rasterio.windows
from affine import Affine
from rasterio.transform import array_bounds
from rasterio.windows import Window
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from campwatch.config import DetectConfig

__all__ = ["SAMPLE_BLOCKS", "SAMPLE_PX", "Block", "halo_px", "needs_blocks", "plan_blocks", "core_shape", "sample_blocks",
           "centre", "px_bounds", "window_box", "within_one_core"]


#: How many blocks, spread over the scene, choose the shift, the thresholds and the shadow directions.
SAMPLE_BLOCKS = 9


#: Of each sample block, the central square of at most this many pixels a side is read.
SAMPLE_PX = 1024


@dataclass(frozen=True)
class Block:
    """One block of a window: its core (what it answers for) and what is read (core and halo).

    Both in pixels of the analysed grid (the AOI's window of the before image).
    """

    index: tuple[int, int]
    core: Window
    padded: Window

    @property
    def core_in_padded(self) -> tuple[slice, slice]:
        """The core as slices of the padded block's arrays."""
        r = int(self.core.row_off - self.padded.row_off)
        c = int(self.core.col_off - self.padded.col_off)
        return slice(r, r + int(self.core.height)), slice(c, c + int(self.core.width))


def halo_px(config: DetectConfig, pixel_size: float) -> int:
    """The halo of a block in pixels of size ``pixel_size`` (metres)."""
    return max(1, int(math.ceil(config.blocks.block_halo_m / pixel_size)))


def needs_blocks(shape: tuple[int, int], config: DetectConfig, pixel_size: float) -> bool:
    """Whether a window of ``shape`` holds more pixels than one block with its halo."""
    side = config.blocks.block_size_px + 2 * halo_px(config, pixel_size)
    return shape[0] * shape[1] > side * side


def plan_blocks(shape: tuple[int, int], block: int, halo: int) -> list[Block]:
    """Cut a window of ``shape`` (rows, cols) into blocks of ``block`` pixels with a ``halo``, row by row."""
    rows, cols = shape
    out = []
    for i, r0 in enumerate(range(0, rows, block)):
        for j, c0 in enumerate(range(0, cols, block)):
            h, w = min(block, rows - r0), min(block, cols - c0)
            pr0, pc0 = max(0, r0 - halo), max(0, c0 - halo)
            pr1, pc1 = min(rows, r0 + h + halo), min(cols, c0 + w + halo)
            out.append(Block((i, j), Window(c0, r0, w, h), Window(pc0, pr0, pc1 - pc0, pr1 - pr0)))
    return out


def core_shape(blk: Block) -> tuple[int, int]:
    """The (rows, cols) of a block's core."""
    return int(blk.core.height), int(blk.core.width)


def sample_blocks(blocks: list[Block], n: int) -> list[Block]:
    """Up to ``n`` blocks spread evenly over the block grid (rows and columns)."""
    rows = max(b.index[0] for b in blocks) + 1
    cols = max(b.index[1] for b in blocks) + 1
    k = max(1, int(math.isqrt(n)))
    pick_r = sorted({int(round(v)) for v in np.linspace(0, rows - 1, min(k, rows))})
    pick_c = sorted({int(round(v)) for v in np.linspace(0, cols - 1, min(k, cols))})
    chosen = {(r, c) for r in pick_r for c in pick_c}
    return [b for b in blocks if b.index in chosen]


def centre(blk: Block, size: int) -> Block:
    """The central square of at most ``size`` pixels of a block's core, read without a halo."""
    h, w = min(size, int(blk.core.height)), min(size, int(blk.core.width))
    win = Window(int(blk.core.col_off + (blk.core.width - w) // 2), int(blk.core.row_off + (blk.core.height - h) // 2),
                 w, h)
    return Block(blk.index, win, win)


def px_bounds(geom: BaseGeometry, transform: Affine) -> tuple[float, float, float, float]:
    """(row_min, col_min, row_max, col_max) of a geometry in pixels of ``transform``."""
    x0, y0, x1, y1 = geom.bounds
    inv = ~transform
    cols, rows = zip(*(inv * (x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))), strict=True)
    return min(rows), min(cols), max(rows), max(cols)


def window_box(win: Window, transform: Affine) -> BaseGeometry:
    left, bottom, right, top = array_bounds(int(win.height), int(win.width), rasterio.windows.transform(win, transform))
    return box(left, bottom, right, top)


def within_one_core(geom: BaseGeometry, blocks: list[Block], transform: Affine) -> bool:
    r0, c0, r1, c1 = px_bounds(geom, transform)
    for b in blocks:
        if (b.core.row_off <= r0 and r1 <= b.core.row_off + b.core.height
                and b.core.col_off <= c0 and c1 <= b.core.col_off + b.core.width):
            return True
    return False
