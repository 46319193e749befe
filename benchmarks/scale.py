"""Speed and memory of ``campwatch detect`` against a floor, for growing scene sizes.

For each size N, makes a pair of N x N 4-band uint16 tiled GeoTIFFs (the Camp 25 sample's
first and last dates, repeated to fill the size) and measures, each in a fresh process:

- the floor: read both images block by block, compute the change magnitude, write a
  mask; the least any change detector must do;
- ``campwatch detect`` on the whole pair (no AOI: every pixel).

It prints, per size: wall time, megapixels per second, peak resident memory, and the
ratio of detect to the floor measured in the same run. Issue #5 asks for bounded memory
(under 2 GB at 20,000 px) and detect within 3x of the floor.

    python benchmarks/scale.py --sizes 1024 2048 4096 [--work DIR]

Sizes above what fits in memory are skipped with a note (detect holds the whole scene
today: about 12 float32 values per band per pixel).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "camp25"

FLOOR = r'''
import sys, numpy as np, rasterio
from rasterio.windows import Window
a_path, b_path, out, block = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with rasterio.open(a_path) as a, rasterio.open(b_path) as b:
    profile = dict(driver="GTiff", width=a.width, height=a.height, count=1, dtype="uint8", crs=a.crs,
                   transform=a.transform, tiled=True, blockxsize=256, blockysize=256, compress="zstd")
    with rasterio.open(out, "w", **profile) as dst:
        for r in range(0, a.height, block):
            for c in range(0, a.width, block):
                w = Window(c, r, min(block, a.width - c), min(block, a.height - r))
                x = a.read(window=w, out_dtype="float32")
                y = b.read(window=w, out_dtype="float32")
                mag = np.sqrt(((x - y) ** 2).sum(axis=0))
                dst.write((mag > 100).astype("uint8"), 1, window=w)
'''


def make_pair(size: int, work: Path) -> tuple[Path, Path]:
    """Two N x N scenes tiled from the sample's first and last dates (dates in the names)."""
    sources = sorted(SAMPLE.glob("camp25_*.tif"))
    out = []
    for src_path, date in ((sources[0], "2015-04-18"), (sources[-1], "2018-03-30")):
        path = work / f"scale{size}_{date}.tif"
        out.append(path)
        if path.exists():
            continue
        with rasterio.open(src_path) as src:
            tile = src.read()
            profile = src.profile | {"width": size, "height": size, "tiled": True, "blockxsize": 256,
                                     "blockysize": 256, "compress": "zstd", "BIGTIFF": "IF_SAFER"}
            tags = src.tags()
        _, th, tw = tile.shape
        with rasterio.open(path, "w", **profile) as dst:
            dst.update_tags(**tags)
            step = 1024
            for r in range(0, size, step):
                for c in range(0, size, step):
                    h, w = min(step, size - r), min(step, size - c)
                    rows = (np.arange(r, r + h) % th)[:, None]
                    cols = (np.arange(c, c + w) % tw)[None, :]
                    dst.write(tile[:, rows, cols], window=Window(c, r, w, h))
    return out[0], out[1]


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (GB) and exit code of a command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest of all
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(err[-2000:], file=sys.stderr)
    return wall, usage.ru_maxrss / 1024 / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--work", type=Path, default=None, help="Folder for the generated pairs (default: temp).")
    parser.add_argument("--block", type=int, default=1024, help="Block size of the floor.")
    parser.add_argument("--max-gb", type=float, default=20.0,
                        help="Skip detect where its estimated memory exceeds this (default 20 GB).")
    parser.add_argument("--json", type=Path, default=None, help="Write the table as JSON.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="campwatch-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    campwatch = str(Path(sys.executable).with_name("campwatch"))
    rows = []
    print(f"{'size':>6} {'Mpx':>6} | {'floor s':>8} {'Mpx/s':>7} {'GB':>5} | {'detect s':>9} {'Mpx/s':>7} "
          f"{'GB':>6} | {'ratio':>6}")
    for size in sorted(args.sizes):
        a, b = make_pair(size, work)
        mpx = size * size / 1e6
        f_wall, f_gb, _ = measure([sys.executable, "-c", FLOOR, str(a), str(b), str(work / f"floor{size}.tif"),
                                   str(args.block)])
        estimate_gb = size * size * 4 * 12 * 4 / 1e9
        if estimate_gb > args.max_gb:
            row = {"size": size, "mpx": mpx, "floor_s": f_wall, "floor_gb": f_gb, "detect_s": None,
                   "detect_gb": None, "ratio": None, "note": f"detect skipped: needs about {estimate_gb:.0f} GB"}
            print(f"{size:>6} {mpx:>6.1f} | {f_wall:>8.1f} {mpx / f_wall:>7.1f} {f_gb:>5.2f} | "
                  f"skipped: detect would need about {estimate_gb:.0f} GB")
        else:
            out = work / f"detect{size}"
            d_wall, d_gb, code = measure([campwatch, "detect", str(a), str(b), "--out", str(out), "-q"])
            row = {"size": size, "mpx": mpx, "floor_s": f_wall, "floor_gb": f_gb, "detect_s": d_wall,
                   "detect_gb": d_gb, "ratio": d_wall / f_wall, "exit": code}
            print(f"{size:>6} {mpx:>6.1f} | {f_wall:>8.1f} {mpx / f_wall:>7.1f} {f_gb:>5.2f} | {d_wall:>9.1f} "
                  f"{mpx / d_wall:>7.2f} {d_gb:>6.2f} | {d_wall / f_wall:>6.1f}x" + ("" if code == 0 else
                                                                                    f"  (exit {code})"))
        rows.append(row)
    print("\nGB: peak resident memory of each process.")
    print("Targets (issue #5): detect within 3x of the floor; peak memory under 2 GB at 20,000 px.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
