"""Speed and memory of ``campwatch detect`` against the floor and the peer, per stage, for growing scenes.

For each size N, makes a pair of N x N 4-band uint16 tiled GeoTIFFs (the Camp 25 sample's
first and last dates, repeated to fill the size) and measures, each in a fresh process, in
one run:

- the floor: read both images block by block, compute the change magnitude, write a
  mask; the least any change detector must do (best of three runs, files in the page
  cache, as they are for the runs after it);
- the peer: Orfeo ToolBox's ``otbcli_MultivariateAlterationDetector`` on the same pair,
  as a user runs it (its own threads, both cores), when it is installed (Debian
  ``otb-bin``); else it says so and goes on;
- campwatch's pixel stages, block by block as ``detect`` runs them: choose the shift, the
  radiometric fit, the noise level and the thresholds on a sample block; then read each
  block with its halo, correct the shift and measure what is left, match the radiometry,
  compute the change measures, threshold, clean and label the change, write the core's mask;
- ``campwatch detect`` on the whole pair (no AOI: every pixel), all stages and outputs, one
  worker, with the time of each stage (the functions that make the stages are timed in
  that process; a stage's time excludes the stages it calls);
- the same with ``--workers 2``, and with ``--model CARD`` when a model card is given;
- a monthly check where little changed (:func:`make_monthly_pair`: the same ground seen again,
  1 % of it changed), with objects looked for near change (the default) and over the whole scene.

It prints, per size, wall time, megapixels per second, peak resident memory and the ratio
of each to the floor measured in the same run, then each stage's time and ratio. Issue #16's
targets: pixel stages <= 3x the floor, detect <= 7x (faster than OTB MAD), with a model
<= 9x, ``--workers 2`` >= 1.7x faster than one, peak memory < 2 GB at 20,000 and 30,000 px.

    python benchmarks/scale.py --sizes 2048 8192 20000 30000 [--model CARD] [--skip otb pixels workers]
                               [--work DIR] [--json FILE]

A 20,000 px pair takes about 2 GB of disk per date in DIR, a 30,000 px pair about 4 GB;
OTB MAD's output (4 float bands) is removed after each run.
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
blocks = plan_blocks(shape, config.blocks.block_size_px, halo_px(config, px))
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
        prep = prepare_pair(before, after, aoi=None, coregistration=config.coregistration, radiometry=config.radiometry,
                            notes=(), mask=None, shift=params.shift or (0.0, 0.0), fit=params.fit)
        _, _, labels, _ = change_regions(prep.before, prep.after, prep.analysed, block_config, sigma=params.sigma)
        dst.write((labels[blk.core_in_padded] > 0).astype("uint8"), 1, window=blk.core)
'''

STAGED = r'''
import json, sys, time, functools, resource
import campwatch.detection.analysis as analysis, campwatch.detection.blocks.run as blocks
import campwatch.detection.classify as classify, campwatch.detection.model as model, campwatch.run as run
import campwatch.detection.objects as objects, campwatch.detection.finders.fences as fence_finder
from campwatch.cli.main import cli
out_json, args = sys.argv[1], sys.argv[2:]
# (module, attribute, stage). Within the sample blocks every stage counts as choosing the scene's parameters.
STAGES = [(blocks, "scene_parameters", "sample blocks: the scene's shift, fit, noise, thresholds"),
          (blocks, "read_block", "read blocks with halo"),
          (analysis, "prepare_pair", "co-register, match radiometry"),
          (analysis, "_thresholded", "measure, threshold, clouds, segment"),
          (model.ChangeModel, "change", "learned model"),
          (objects, "find_structures", "structures and towers (both dates)"),
          (fence_finder, "fence_changes", "fences (both dates)"),
          (classify, "describe", "describe each change"),
          (analysis, "classify_changes", "classify: the rest"),
          (blocks, "_analyse_block", "blocks: the rest (pieces, class codes)"),
          (blocks, "_overview", "overview for figures"),
          (run, "write_outputs", "outputs: mask, map, report")]
times, stack, peaks = {}, [], {}
def timed(fn, name):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        if stack and stack[-1][0] == STAGES[0][2]:
            return fn(*a, **k)
        stack.append([name, 0.0])
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            total = time.perf_counter() - t
            _, inner = stack.pop()
            times[name] = times.get(name, 0.0) + total - inner
            # Where the peak memory rose: the process's peak so far, at the end of each stage.
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
            peaks[name] = max(peaks.get(name, 0.0), peak)
            if stack:
                stack[-1][1] += total
    return wrapper
for owner, attr, name in STAGES:
    setattr(owner, attr, timed(getattr(owner, attr), name))
start = time.perf_counter()
try:
    cli.main(args, prog_name='campwatch', standalone_mode=False)
finally:
    times["total in process"] = time.perf_counter() - start
    json.dump({"seconds": times, "peak_gb_after": peaks}, open(out_json, "w"))
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
            names = src.descriptions
        _, th, tw = tile.shape
        with rasterio.open(path, "w", **profile) as dst:
            dst.update_tags(**tags)
            for i, name in enumerate(names, start=1):  # red, green, blue, nir: what a model takes
                if name:
                    dst.set_band_description(i, name)
            step = 1024
            for r in range(0, size, step):
                for c in range(0, size, step):
                    h, w = min(step, size - r), min(step, size - c)
                    rows = (np.arange(r, r + h) % th)[:, None]
                    cols = (np.arange(c, c + w) % tw)[None, :]
                    dst.write(tile[:, rows, cols], window=Window(c, r, w, h))
    return out[0], out[1]


#: The share of a monthly check's scene that changed (issue #27: 1 %).
MONTHLY_CHANGED = 0.01


def make_monthly_pair(size: int, work: Path) -> tuple[Path, Path]:
    """A monthly check's pair: the earlier scene of :func:`make_pair`, and a later one that is the same
    ground seen again (the earlier date with sensor noise of its own) except for one square of
    :data:`MONTHLY_CHANGED` of the scene, in the middle, taken from the sample's last date."""
    earlier, last = make_pair(size, work)
    path = work / f"monthly{size}_2018-04-30.tif"
    if path.exists():
        return earlier, path
    side = int(round(size * MONTHLY_CHANGED ** 0.5))
    r0 = c0 = (size - side) // 2
    rng = np.random.default_rng(size)
    with rasterio.open(earlier) as a, rasterio.open(last) as b:
        profile = a.profile
        with rasterio.open(path, "w", **profile) as dst:
            dst.update_tags(**(a.tags() | {"TIFFTAG_DATETIME": "2018:04:30 10:30:00"}))
            for i, name in enumerate(a.descriptions, start=1):
                if name:
                    dst.set_band_description(i, name)
            step = 1024
            for r in range(0, size, step):
                for c in range(0, size, step):
                    w = Window(c, r, min(step, size - c), min(step, size - r))
                    x = a.read(window=w).astype("float32")
                    valid = (x > 0).all(axis=0)
                    x += rng.normal(0.0, 0.01, x.shape).astype("float32") * x  # a new acquisition's noise
                    rr = slice(max(r0, r) - r, min(r0 + side, r + w.height) - r)
                    cc = slice(max(c0, c) - c, min(c0 + side, c + w.width) - c)
                    if rr.stop > rr.start and cc.stop > cc.start:
                        x[:, rr, cc] = b.read(window=w).astype("float32")[:, rr, cc]
                    x = np.where(valid, np.clip(np.rint(x), 1, 65535), 0)
                    dst.write(x.astype(profile["dtype"]), window=w)
    return earlier, path


def _failed(code: int) -> str:
    """What a line says of a run that failed: its time is not a measurement."""
    return f"FAILED (exit {code}): not a measurement, see the error above" if code != 0 else ""


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak resident memory (GB) and exit code of a command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=None if env is None else os.environ | env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak, not the largest of all
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(err[-2000:], file=sys.stderr)
    return wall, usage.ru_maxrss / 1024 / 1024, code


def detect_staged(a: Path, b: Path, out: Path, extra: list[str]) -> tuple[float, float, int, dict[str, float]]:
    """``campwatch detect`` in a fresh process with its stages timed: wall, GB, exit code, stage times."""
    if out.exists():
        shutil.rmtree(out)
    stages = out.with_suffix(".stages.json")
    wall, gb, code = measure([sys.executable, "-c", STAGED, str(stages), "-q", "detect", str(a), str(b), "--out",
                              str(out), *extra])
    found = json.loads(stages.read_text()) if stages.exists() else {}
    report = out / "report.geojson"
    if report.exists():  # how many changes the run kept in memory and wrote
        found["changes"] = len(json.loads(report.read_text())["features"])
    shutil.rmtree(out, ignore_errors=True)
    return wall, gb, code, found


def otb_mad(a: Path, b: Path, work: Path) -> tuple[float, float, int] | None:
    """OTB's MultivariateAlterationDetector on the pair, as a user runs it; None when not installed."""
    exe = shutil.which("otbcli_MultivariateAlterationDetector")
    if exe is None:
        return None
    out = work / "otb_mad.tif"
    try:
        return measure([exe, "-in1", str(a), "-in2", str(b), "-out", str(out)])
    finally:
        out.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192, 20000, 30000])
    parser.add_argument("--work", type=Path, default=None, help="Folder for the generated pairs (default: temp).")
    parser.add_argument("--block", type=int, default=1024, help="Block size of the floor.")
    parser.add_argument("--model", type=Path, default=None, help="A model card: also time detect with the model.")
    parser.add_argument("--skip", nargs="+", default=[], choices=["otb", "pixels", "workers", "monthly"],
                        help="Runs to leave out (at 30,000 px a detect takes the best part of an hour).")
    parser.add_argument("--json", type=Path, default=None, help="Write the table as JSON.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="campwatch-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    campwatch = str(Path(sys.executable).with_name("campwatch"))
    if shutil.which("otbcli_MultivariateAlterationDetector") is None:
        print("OTB MAD: otbcli_MultivariateAlterationDetector is not installed (Debian otb-bin); not compared.")
    rows = []

    def line(label: str, wall: float, gb: float | None, floor: float, mpx: float, extra: str = "") -> None:
        mem = f"{gb:5.2f} GB" if gb is not None else " " * 8
        print(f"  {label:<44} {wall:8.1f} s {mpx / wall:7.2f} Mpx/s {mem} {wall / floor:6.1f}x floor {extra}",
              flush=True)

    for size in sorted(args.sizes):
        a, b = make_pair(size, work)
        mpx = size * size / 1e6
        for path in (a, b):  # every run reads from the page cache, the floor's first one too
            with open(path, "rb") as f:
                while f.read(1 << 24):
                    pass
        print(f"\n{size:,} x {size:,} px ({mpx:.1f} Mpx, 4 bands uint16)", flush=True)
        # The floor is short and so the noisiest: the best of three runs.
        floors = [measure([sys.executable, "-c", FLOOR, str(a), str(b), str(work / f"floor{size}.tif"),
                           str(args.block)]) for _ in range(3)]
        f_wall, f_gb, _ = min(floors)
        row: dict[str, object] = {"size": size, "mpx": mpx, "floor_s": f_wall, "floor_gb": f_gb}
        line("floor (read both, one pass, write a mask)", f_wall, f_gb, f_wall, mpx)
        peer = otb_mad(a, b, work) if "otb" not in args.skip else None
        if peer is not None:
            row |= {"otb_mad_s": peer[0], "otb_mad_gb": peer[1], "otb_mad_exit": peer[2]}
            line("OTB MultivariateAlterationDetector", peer[0], peer[1], f_wall, mpx)
        if "pixels" not in args.skip:
            p_wall, p_gb, p_code = measure([sys.executable, "-c", PIXELS, str(a), str(b),
                                            str(work / f"pixels{size}.tif")])
            row |= {"pixels_s": p_wall, "pixels_gb": p_gb, "pixels_exit": p_code}
            line("campwatch pixel stages", p_wall, p_gb, f_wall, mpx, _failed(p_code) or "(target <= 3x)")
        d_wall, d_gb, d_code, staged_run = detect_staged(a, b, work / f"detect{size}", [])
        stages, peaks = staged_run.get("seconds", {}), staged_run.get("peak_gb_after", {})
        row |= {"detect_s": d_wall, "detect_gb": d_gb, "detect_exit": d_code, "stages_s": stages,
                "stages_peak_gb": peaks}
        vs = f"{d_wall / peer[0]:.1f}x OTB MAD" if peer else ""
        line("campwatch detect, 1 worker", d_wall, d_gb, f_wall, mpx,
             _failed(d_code) or f"(target <= 7x) {vs} {staged_run.get('changes', '?')} changes")
        row["changes"] = staged_run.get("changes")
        if "workers" not in args.skip:
            w_wall, w_gb, w_code = measure([campwatch, "-q", "detect", str(a), str(b), "--out",
                                            str(work / f"detect{size}-j2"), "--workers", "2"])
            shutil.rmtree(work / f"detect{size}-j2", ignore_errors=True)
            row |= {"workers2_s": w_wall, "workers2_gb": w_gb, "workers2_exit": w_code}
            line("campwatch detect, --workers 2", w_wall, w_gb, f_wall, mpx,
                 _failed(w_code) or f"{d_wall / w_wall:.2f}x faster than 1 worker (target >= 1.7x)")
        if "monthly" not in args.skip:
            # A monthly check where little changed: what changed is looked for near change only.
            before, later = make_monthly_pair(size, work)
            whole_cfg = work / "whole_scene.toml"
            whole_cfg.write_text("objects_near_change = false\n")
            n_wall, n_gb, n_code, n_run = detect_staged(before, later, work / f"monthly{size}", [])
            o_wall, o_gb, o_code, o_run = detect_staged(before, later, work / f"monthly{size}-whole",
                                                        ["--config", str(whole_cfg)])
            row |= {"monthly_s": n_wall, "monthly_gb": n_gb, "monthly_exit": n_code,
                    "monthly_stages_s": n_run.get("seconds", {}), "monthly_changes": n_run.get("changes"),
                    "monthly_whole_s": o_wall, "monthly_whole_exit": o_code,
                    "monthly_whole_stages_s": o_run.get("seconds", {}), "monthly_whole_changes": o_run.get("changes")}
            line(f"monthly check, {MONTHLY_CHANGED:.0%} changed, near change", n_wall, n_gb, f_wall, mpx,
                 f"(target <= 4x) {n_run.get('changes', '?')} changes")
            line(f"monthly check, {MONTHLY_CHANGED:.0%} changed, whole scene", o_wall, o_gb, f_wall, mpx,
                 f"{o_wall / n_wall:.2f}x the time near change; {o_run.get('changes', '?')} changes")
            for label, run_stages in (("near change", n_run.get("seconds", {})),
                                      ("whole scene", o_run.get("seconds", {}))):
                objects = sum(v for k, v in run_stages.items() if k.startswith(("structures", "fences", "describe", "classify")))
                print(f"    object stages ({label}): {objects:.1f} s {objects / f_wall:.1f}x floor", flush=True)
        if args.model:
            m_wall, m_gb, m_code, m_run = detect_staged(a, b, work / f"detect{size}-model", ["--model", str(args.model)])
            row |= {"model_s": m_wall, "model_gb": m_gb, "model_exit": m_code,
                    "model_stages_s": m_run.get("seconds", {})}
            line("campwatch detect --model, 1 worker", m_wall, m_gb, f_wall, mpx, "(target <= 9x)")
        print(f"  stages of detect, 1 worker (the same process; ratios to the floor of {f_wall:.1f} s; the process's "
              "peak memory when the stage last ended):")
        staged = sum(v for k, v in stages.items() if k != "total in process")
        for name, secs in sorted(stages.items(), key=lambda kv: -kv[1]):
            if name != "total in process":
                print(f"    {name:<56} {secs:8.1f} s {secs / f_wall:6.1f}x {peaks.get(name, float('nan')):6.2f} GB",
                      flush=True)
        if stages:
            rest = d_wall - staged
            print(f"    {'the rest: start-up, imports, joining changes':<56} {rest:8.1f} s {rest / f_wall:6.1f}x")
        failed = {k: v for k, v in row.items() if k.endswith("_exit") and v}
        if failed:
            print(f"  FAILED: {failed}")
        rows.append(row)
    print("\nGB: peak resident memory of each process. Ratios: wall time over the floor's, in the same run.")
    print("Targets (issue #16): pixel stages <= 3x the floor; detect <= 7x (faster than OTB MAD); with a model "
          "<= 9x; --workers 2 >= 1.7x faster; peak memory < 2 GB at 20,000 and 30,000 px.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
