"""Speed and memory of ``campwatch detect`` against a floor, for growing scene sizes.

For each size N, makes a pair of N x N 4-band uint16 tiled GeoTIFFs (the Camp 25 sample's
first and last dates, repeated to fill the size) and measures, each in a fresh process:

- the floor: read both images block by block, compute the change magnitude, write a
  mask; the least any change detector must do (best of three runs, files in the page
  cache, as they are for the runs after it);
- campwatch's pixel stages, block by block as ``detect`` runs them: choose the shift, the
  radiometric fit, the noise level and the thresholds on a sample block; then read each
  block with its halo, correct the shift and measure what is left, match the radiometry,
  compute the change measures, threshold, clean and label the change, write the core's mask;
- ``campwatch detect`` on the whole pair (no AOI: every pixel), all stages and outputs.

It prints, per size: wall time, megapixels per second, peak resident memory, and the
ratio of each to the floor measured in the same run. Issue #5 asks for peak memory under
2 GB at 20,000 px, the pixel stages within 1.5x of the floor and detect within 3x.

    python benchmarks/scale.py --sizes 2048 8192 20000 [--work DIR] [--json FILE]

A 20,000 px pair takes about 3 GB of disk per date in DIR.
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
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "camp25"

PIXELS = r'''
import dataclasses, sys, math, numpy as np, rasterio.windows
from campwatch.detection.blocks import halo_px, plan_blocks
from campwatch.io.changemask import open_change_mask
from campwatch.config import DetectConfig
from campwatch.detection.analysis import change_regions, prepare_pair, pair_parameters
from campwatch.io.pair import PairRequest, pair_info, read_pair
from rasterio.windows import Window
a_path, b_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
config = DetectConfig()
request = PairRequest(a_path, b_path)
info = pair_info(request)
info_b = info.before
px = abs(info_b.transform.a)
shape = (info_b.height, info_b.width)
blocks = plan_blocks(shape, config.block_size_px, halo_px(config, px))
def read(win):
    return read_pair(request, info, window=win)[:2]
# The scene's shift, radiometric fit, noise and thresholds, from one block (detect takes up to 9).
c = blocks[len(blocks) // 2].core
before, after = read(Window(c.col_off, c.row_off, min(1024, c.width), min(1024, c.height)))
params = pair_parameters(before, after, config=config)
block_config = dataclasses.replace(config, gain_threshold=params.thresholds.gain, loss_threshold=params.thresholds.loss)
with open_change_mask(out, shape=shape, transform=info_b.transform, crs=info_b.crs) as dst:
    for blk in blocks:
        before, after = read(blk.padded)
        prep = prepare_pair(before, after, aoi=None, config=config, notes=(), mask=None, shift=params.shift or (0.0, 0.0),
                        fit=params.fit)
        _, _, labels, _ = change_regions(prep.before, prep.after, prep.analysed, block_config, sigma=params.sigma)
        dst.write((labels[blk.core_in_padded] > 0).astype("uint8"), 1, window=blk.core)
'''

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
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192, 20000])
    parser.add_argument("--work", type=Path, default=None, help="Folder for the generated pairs (default: temp).")
    parser.add_argument("--block", type=int, default=1024, help="Block size of the floor.")
    parser.add_argument("--json", type=Path, default=None, help="Write the table as JSON.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="campwatch-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    campwatch = str(Path(sys.executable).with_name("campwatch"))
    rows = []
    print(f"{'size':>6} {'Mpx':>6} | {'floor s':>8} {'Mpx/s':>6} {'GB':>5} | {'pixels s':>8} {'Mpx/s':>6} {'GB':>5} "
          f"{'ratio':>6} | {'detect s':>8} {'Mpx/s':>6} {'GB':>5} {'ratio':>6}", flush=True)
    for size in sorted(args.sizes):
        a, b = make_pair(size, work)
        mpx = size * size / 1e6
        for path in (a, b):  # every run reads from the page cache, the floor's first one too
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass
        # The floor is short and so the noisiest: the best of three runs.
        floors = [measure([sys.executable, "-c", FLOOR, str(a), str(b), str(work / f"floor{size}.tif"),
                           str(args.block)]) for _ in range(3)]
        f_wall, f_gb, _ = min(floors)
        p_wall, p_gb, p_code = measure([sys.executable, "-c", PIXELS, str(a), str(b), str(work / f"pixels{size}.tif")])
        out = work / f"detect{size}"
        if out.exists():
            shutil.rmtree(out)
        d_wall, d_gb, d_code = measure([campwatch, "detect", str(a), str(b), "--out", str(out), "-q"])
        row = {"size": size, "mpx": mpx, "floor_s": f_wall, "floor_gb": f_gb, "pixels_s": p_wall, "pixels_gb": p_gb,
               "pixels_ratio": p_wall / f_wall, "detect_s": d_wall, "detect_gb": d_gb, "detect_ratio": d_wall / f_wall,
               "exit": [p_code, d_code]}
        rows.append(row)
        print(f"{size:>6} {mpx:>6.1f} | {f_wall:>8.1f} {mpx / f_wall:>6.1f} {f_gb:>5.2f} | {p_wall:>8.1f} "
              f"{mpx / p_wall:>6.2f} {p_gb:>5.2f} {p_wall / f_wall:>5.1f}x | {d_wall:>8.1f} {mpx / d_wall:>6.2f} "
              f"{d_gb:>5.2f} {d_wall / f_wall:>5.1f}x" + ("" if p_code == d_code == 0 else f"  (exit {p_code}, {d_code})"),
              flush=True)
    print("\nGB: peak resident memory of each process. Ratios: wall time over the floor's.")
    print("Targets (issue #5): peak memory under 2 GB at 20,000 px; pixel stages within 1.5x of the floor, "
          "detect within 3x.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
