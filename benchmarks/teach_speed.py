"""Speed of campwatch teach and of a taught model, against reading both dates, in one run on one core.

Usage:
    python benchmarks/teach_speed.py [--realdata ../shared/realdata] [--threads 1]

The pair is LEVIR-CD's test_7 (1,024 x 1,024 px) when --realdata is given, else the Camp 25
sample's first two images. Measured, each the best of --repeat runs:

1. the floor: reading both dates;
2. teach: every labelled pixel of the pair (the pair's own labels, or the sample's truth
   outlines) teaching a model, with its hold-out and its export to ONNX;
3. the taught model's inference over the whole pair, and over the pixels near measured
   change only (what detect does), per megapixel, as a ratio to the floor.

Targets (issue 25): teach <= 60 s for a 1,024 px pair on one core; inference <= 3x the floor.
"""

from __future__ import annotations

import argparse
import os
import sys

# One core, as the target says: set before numpy, scikit-learn and onnxruntime start their threads.
_THREADS = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS

import datetime as dt  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import rasterio  # noqa: E402

from campwatch.config import DetectConfig  # noqa: E402
from campwatch.detection.analysis import TAUGHT_NEAR_M, _near, _thresholded, prepare_pair  # noqa: E402
from campwatch.detection.model import load_model  # noqa: E402
from campwatch.evaluate import read_pair_scene  # noqa: E402
from campwatch.teach import TeachOptions, teach, teach_pair, write_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realdata", type=Path)
    ap.add_argument("--threads", default="1", help="threads for numpy, scikit-learn, OpenCV and onnxruntime")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cv2.setNumThreads(int(args.threads))
    warnings.simplefilter("ignore")
    if args.realdata:
        root = args.realdata / "levir"
        files = (root / "A" / "test_7.png", root / "B" / "test_7.png")
        with rasterio.open(root / "label" / "test_7.png") as ds:
            truth = ds.read(1) > 127
        def read():
            return (read_pair_scene(files[0], pixel_size=0.5, date=dt.date(2000, 1, 1)),
                    read_pair_scene(files[1], pixel_size=0.5, date=dt.date(2000, 1, 2)))
        name = "LEVIR-CD test_7"
    else:
        from rasterio.features import rasterize

        from campwatch.evaluate import read_truth
        from campwatch.io.scene import read_scene
        images = sorted((ROOT / "data" / "sample" / "camp25").glob("*.tif"))[:2]
        def read():
            return read_scene(images[0]), read_scene(images[1])
        before, _ = read()
        events = read_truth(ROOT / "data" / "sample" / "camp25" / "truth.geojson").to_crs(before.crs)
        truth = rasterize(list(events.geometry.buffer(1.0)), out_shape=before.shape, transform=before.transform) > 0
        name = "Camp 25 sample, first pair"
    floor, (before, after) = best(read, args.repeat)
    mpx = before.shape[0] * before.shape[1] / 1e6
    config = DetectConfig()
    pair = teach_pair(before, after, truth.astype("int8"), name="pair", config=config)
    work = Path(tempfile.mkdtemp())

    def taught():
        t = teach([pair], options=TeachOptions(), name="speed")
        return write_model(t, work / "speed.onnx")[0]

    t_teach, path = best(taught, 1)
    model = load_model(path)
    t_all, _ = best(lambda: model.probability(pair.before, pair.after, pair.valid), args.repeat)
    prep = prepare_pair(before, after, aoi=None, coregistration=config.coregistration, radiometry=config.radiometry,
                        notes=(), mask=None, shift=None)
    raw = _thresholded(prep, config, sigma=None, cloud_thresholds=None)[3]
    near = _near(raw, before, TAUGHT_NEAR_M)
    t_near, _ = best(lambda: model.probability(pair.before, pair.after, pair.valid, only=near), args.repeat)
    print(f"{name}: {before.shape[1]} x {before.shape[0]} px ({mpx:.2f} Mpx), {args.threads} thread(s)")
    print(f"  floor, reading both dates          {floor:8.2f} s  ({floor / mpx:.3f} s/Mpx)")
    print(f"  teach (sample, hold-out, two fits, export)  {t_teach:8.1f} s   target <= 60 s for 1 Mpx: "
          f"{'MET' if t_teach / max(mpx, 1.0) <= 60 else 'NOT MET'}")
    print(f"  taught model, every pixel          {t_all:8.2f} s  {t_all / floor:6.1f}x the floor")
    print(f"  taught model, near change ({near.mean():.0%} of the pixels)  {t_near:8.2f} s  {t_near / floor:6.1f}x "
          f"the floor   target <= 3x: {'MET' if t_near / floor <= 3 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
