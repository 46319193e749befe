"""Peak memory of ``campwatch detect`` on a pair analysed by blocks, as the number of changes grows.

Issue #27: a large pair's changes stream to scratch as its blocks finish; peak memory must not
grow with the number of changes. This makes pairs of one size (N x N, 4 bands, 0.5 m) that differ
only in how many small new roofs the later date has (K squares of 12 x 12 px, on a jittered grid,
on a ground of sensor noise), runs ``campwatch detect --block-size B`` on each in a fresh
process, and prints, per K: the changes the report holds, wall time, peak resident memory, and
the memory over the run with the fewest changes (the baseline of the same run), in MB per
thousand changes.

    python benchmarks/changes_memory.py [--size 4096] [--block-size 512] [--counts 100 4000 16000]
                                        [--work DIR] [--workers 1]

What it cannot show: the change map (``change_map.png``) draws every change, so matplotlib's
artists grow with them; it is timed and measured with the rest, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

#: The side of each new roof, pixels (6 m at 0.5 m: 36 m2, a small house).
ROOF_PX = 12


def make_pair(size: int, count: int, work: Path) -> tuple[Path, Path]:
    """An earlier and a later N x N scene of the same ground; the later has ``count`` new roofs."""
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16",
               "crs": "EPSG:32652", "transform": from_origin(500000.0, 4600000.0, 0.5, 0.5), "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "zstd", "BIGTIFF": "IF_SAFER"}
    earlier = work / f"roofs{size}_2020-05-01.tif"
    later = work / f"roofs{size}_{count}_2020-06-01.tif"
    step = 1024
    if not earlier.exists():
        rng = np.random.default_rng(1)
        with rasterio.open(earlier, "w", **profile) as dst:
            for r in range(0, size, step):
                for c in range(0, size, step):
                    w = Window(c, r, min(step, size - c), min(step, size - r))
                    dst.write(_ground(rng, w), window=w)
    if not later.exists():
        # Roofs on a jittered grid: as many cells as roofs, one roof each, fully inside the scene.
        side = int(np.ceil(np.sqrt(count)))
        cell = size // side
        rng = np.random.default_rng(count)
        cells = rng.permutation(side * side)[:count]
        jitter = rng.integers(2, max(3, cell - ROOF_PX - 2), size=(count, 2))
        tops = np.stack([cells // side * cell, cells % side * cell], axis=1) + jitter
        noise = np.random.default_rng(2)
        with rasterio.open(earlier) as src, rasterio.open(later, "w", **profile) as dst:
            for r in range(0, size, step):
                for c in range(0, size, step):
                    w = Window(c, r, min(step, size - c), min(step, size - r))
                    x = src.read(window=w).astype("float32")
                    x += noise.normal(0.0, 8.0, x.shape).astype("float32")  # a new acquisition's noise
                    inside = ((tops[:, 0] + ROOF_PX > r) & (tops[:, 0] < r + w.height)
                              & (tops[:, 1] + ROOF_PX > c) & (tops[:, 1] < c + w.width))
                    for t0, t1 in tops[inside]:
                        rr = slice(max(t0 - r, 0), min(t0 + ROOF_PX - r, w.height))
                        cc = slice(max(t1 - c, 0), min(t1 + ROOF_PX - c, w.width))
                        x[:, rr, cc] = [[[1800.0]], [[1750.0]], [[1700.0]], [[1500.0]]]  # a bright roof
                    dst.write(np.clip(np.rint(x), 1, 65535).astype("uint16"), window=w)
    return earlier, later


def _ground(rng: np.random.Generator, w: Window) -> np.ndarray:
    """Bare ground: a smooth field with sensor noise (blue, green, red, near infrared)."""
    base = np.array([420.0, 560.0, 640.0, 1300.0], dtype="float32")[:, None, None]
    return np.clip(base + rng.normal(0.0, 8.0, (4, int(w.height), int(w.width))), 1, 65535).astype("uint16")


def detect(a: Path, b: Path, out: Path, block: int, workers: int) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (MB) and the changes in the report, of one fresh ``campwatch detect``."""
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-c", "from campwatch.cli.main import main; main()", "-q", "detect", str(a), str(b), "--out", str(out),
           "--block-size", str(block), "--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"campwatch detect failed:\n{err[-2000:]}")
    changes = len(json.loads((out / "report.geojson").read_text())["features"])
    shutil.rmtree(out, ignore_errors=True)
    return wall, usage.ru_maxrss / 1024, changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--block-size", type=int, default=512)
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 4000, 16000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None, help="Folder for the generated pairs (default: temp).")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="campwatch-changes-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{args.size} x {args.size} px, blocks of {args.block_size} px, {args.workers} worker(s)")
    print(f"{'roofs':>7} {'changes':>8} {'wall s':>8} {'peak MB':>8} {'over base MB':>13} {'MB / 1000 changes':>18}")
    base: tuple[int, float] | None = None
    for count in sorted(args.counts):
        a, b = make_pair(args.size, count, work)
        wall, mb, changes = detect(a, b, work / "out", args.block_size, args.workers)
        if base is None:
            base = (changes, mb)
            print(f"{count:>7} {changes:>8} {wall:>8.1f} {mb:>8.0f} {'(baseline)':>13}")
            continue
        extra = mb - base[1]
        per = extra / max(1, changes - base[0]) * 1000
        print(f"{count:>7} {changes:>8} {wall:>8.1f} {mb:>8.0f} {extra:>13.0f} {per:>18.1f}")


if __name__ == "__main__":
    main()
