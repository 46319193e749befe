"""The learned stage's cost: CPU seconds of a change model on a 1024 x 1024 pair, against the floor.

Usage:
    python benchmarks/model_cost.py --model CARD_OR_ONNX [--size 1024] [--repeat 3]

Runs :meth:`campwatch.detection.model.ChangeModel.probability` (band selection, the shared
stretch, tiles with blended seams, onnxruntime on one thread) on a synthetic RGB pair of
``size`` pixels a side, and, in the same run, the floor: one arithmetic pass over both
images (the change magnitude). Prints CPU seconds (process time, the best of ``repeat``)
and their ratio. The target of issue #15: at most 4 s of CPU at 1024 px with 1 worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from affine import Affine  # noqa: E402
from rasterio.crs import CRS  # noqa: E402

from campwatch.detection.model import load_model, resolve_model  # noqa: E402
from campwatch.io.scene import Scene  # noqa: E402


def scene(data: np.ndarray, day: int) -> Scene:
    return Scene(data=data, valid=np.ones(data.shape[1:], bool), transform=Affine(0.5, 0, 0, 0, -0.5, 0),
                 crs=CRS.from_epsg(32652), date=dt.date(2020, 1, day), band_names=("red", "green", "blue"),
                 dtype="uint8")


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (3, args.size, args.size)).astype("float32")
    b = a.copy()
    b[:, 300:400, 300:420] = 250
    before, after = scene(a, 1), scene(b, 2)
    model = load_model(resolve_model(args.model))
    valid = before.valid
    floor = best(lambda: np.sqrt(((a - b) ** 2).sum(axis=0)) > 10, args.repeat)
    cost = best(lambda: model.probability(before, after, valid), args.repeat)
    card = model.card
    print(f"model {card.name}: tiles of {card.tile_px} px, overlap {card.overlap_px} px, {args.size} x {args.size} pair")
    print(f"floor (one arithmetic pass) {floor:.3f} s CPU; model {cost:.2f} s CPU ({cost / floor:.0f}x the floor); "
          f"target <= 4 s: {'MET' if cost <= 4.0 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
