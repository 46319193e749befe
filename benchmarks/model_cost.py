"""The learned stage's cost: CPU seconds of a change model on a pair, against the floor and against the
model's own inference on the same tiles.

Usage:
    python benchmarks/model_cost.py --model CARD_OR_ONNX [--size 1024] [--repeat 3] [--pair BEFORE AFTER]

Runs :meth:`campwatch.detection.model.ChangeModel.probability` (band selection, the shared
stretch, tiles with blended seams, onnxruntime on one thread) on a synthetic RGB pair of
``size`` pixels a side (or on ``--pair``, two GeoTIFFs on one grid), and, in the same run:

- the floor: one arithmetic pass over both images (the change magnitude);
- the bare inference: a plain ``onnxruntime.InferenceSession`` of the same file and threads,
  ``session.run`` on exactly the tiles the stage ran (recorded as it ran them), nothing else.

Prints CPU and wall seconds (the best of ``repeat``) and the ratios. Targets: issue #15, at most
4 s of CPU at 1024 px with 1 worker; issue #27, the stage at most 1.15x its bare inference.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from affine import Affine  # noqa: E402
from rasterio.crs import CRS  # noqa: E402

from campwatch.detection.model import load_model, resolve_model  # noqa: E402
from campwatch.io.pair import PairRequest, pair_info, read_pair  # noqa: E402
from campwatch.io.scene import Scene  # noqa: E402


def scene(data: np.ndarray, day: int) -> Scene:
    return Scene(data=data, valid=np.ones(data.shape[1:], bool), transform=Affine(0.5, 0, 0, 0, -0.5, 0),
                 crs=CRS.from_epsg(32652), date=dt.date(2020, 1, day), band_names=("red", "green", "blue"),
                 dtype="uint8")


def best(fn: Any, repeat: int) -> tuple[float, float]:
    """The least CPU seconds (process time) and the least wall seconds of ``repeat`` runs of ``fn``."""
    cpu, wall = [], []
    for _ in range(repeat):
        t0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - t0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pair", nargs=2, metavar=("BEFORE", "AFTER"), default=None,
                    help="Two GeoTIFFs on one grid instead of the synthetic pair.")
    args = ap.parse_args()
    if args.pair:
        request = PairRequest(*args.pair)
        before, after, _ = read_pair(request, pair_info(request))
        a, b = before.data, after.data
        name = f"{Path(args.pair[0]).name} / {Path(args.pair[1]).name}"
    else:
        rng = np.random.default_rng(0)
        a = rng.integers(0, 255, (3, args.size, args.size)).astype("float32")
        b = a.copy()
        b[:, 300:400, 300:420] = 250
        before, after = scene(a, 1), scene(b, 2)
        name = "synthetic pair"
    model = load_model(resolve_model(args.model))
    valid = before.valid & after.valid
    floor = best(lambda: np.sqrt(((a - b) ** 2).sum(axis=0)) > 10, args.repeat)[0]
    tiles = _recorded_tiles(model, before, after, valid)
    session = ort.InferenceSession(str(model.path), sess_options=model.session.get_session_options(),
                                   providers=model.session.get_providers())
    card = model.card

    def bare() -> None:
        for ta, tb in tiles:
            session.run([card.output], {card.inputs[0]: ta[None], card.inputs[1]: tb[None]})

    bare()  # warm-up (the stage's session ran the tiles once already)
    cost, cost_wall = best(lambda: model.probability(before, after, valid), args.repeat)
    inference, inference_wall = best(bare, args.repeat)
    rows, cols = before.shape
    print(f"model {card.name}: tiles of {card.tile_px} px, overlap {card.overlap_px} px, {name}, {rows} x {cols} px, "
          f"{len(tiles)} tiles run (both orders of the dates)")
    print(f"floor (one arithmetic pass) {floor:.3f} s CPU; model {cost:.2f} s CPU ({cost / floor:.0f}x the floor); "
          f"target <= 4 s at 1024 px: {'MET' if cost <= 4.0 else 'NOT MET'}")
    ratio = cost / inference
    print(f"bare inference on the same tiles {inference:.2f} s CPU ({inference_wall:.2f} s wall); the model stage "
          f"{cost:.2f} s CPU ({cost_wall:.2f} s wall): {ratio:.3f}x CPU, {cost_wall / inference_wall:.3f}x wall; "
          f"target <= 1.15x: {'MET' if ratio <= 1.15 else 'NOT MET'}")
    return 0


def _recorded_tiles(model: Any, before: Scene, after: Scene, valid: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The tiles (both dates, scaled and padded) the model stage runs on a pair, recorded as it runs them."""
    tiles: list[tuple[np.ndarray, np.ndarray]] = []
    run = model._run

    def recording(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        tiles.append((a.copy(), b.copy()))
        return run(a, b)

    model._run = recording
    try:
        model.probability(before, after, valid)
    finally:
        model._run = run
    return tiles


if __name__ == "__main__":
    sys.exit(main())
