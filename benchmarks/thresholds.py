"""How the automatic thresholds of the change magnitude behave on nuisance-only and real pairs.

For every synthetic nuisance-only pair (as ``accuracy.py`` makes them), every pair of the
bundled sample, and every labelled real pair under REALDATA (``levir/``, ``dsifn/``), prints
Otsu's threshold of the standardised change magnitude, its effectiveness (between-class
over total variance: how bimodal the histogram is), the noise threshold campwatch uses by
default, and the share of pixels above Otsu's. Evidence for choosing a threshold rule
that serves both kinds of pair (issue #4); it measures, it does not tune.

    python benchmarks/thresholds.py [--realdata ../shared/realdata]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import tempfile
import warnings
from pathlib import Path

import numpy as np
from skimage.filters import threshold_otsu

from campwatch.data.sample import SAMPLE_CAMPS, write_series
from campwatch.detection.analysis import analyse_scenes
from campwatch.evaluate import read_pair_scene
from campwatch.run import detect

ROOT = Path(__file__).resolve().parents[1]


def otsu_effectiveness(values: np.ndarray) -> tuple[float, float]:
    """Otsu's threshold of ``values`` and its effectiveness (between-class / total variance)."""
    t = float(threshold_otsu(values))
    low, high = values[values <= t], values[values > t]
    w0, w1 = low.size / values.size, high.size / values.size
    between = w0 * w1 * (float(low.mean()) - float(high.mean())) ** 2
    return t, between / float(values.var())


def row(name: str, result) -> None:  # type: ignore[no-untyped-def]
    mag = result.measures.magnitude[result.measures.valid]
    t, eta = otsu_effectiveness(mag)
    print(f"{name:<48} {eta:>6.3f} {t:>7.2f} {result.thresholds.gain:>7.2f} {(mag > t).mean():>7.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--realdata", type=Path, help="folder with levir/ and dsifn/ (never copied into the repo)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Dataset has no geotransform")
    print(f"{'pair':<48} {'effect':>6} {'otsu':>7} {'noise':>7} {'>otsu':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for spec in SAMPLE_CAMPS.values():
            d = spec.dates
            for i, j in [(k, k + 1) for k in range(len(d) - 1)] + [(0, len(d) - 1)]:
                nuis = dataclasses.replace(spec, key=f"{spec.key}_nuisance", dates=(d[i], d[j]), events=({},))
                a, b = write_series(nuis, Path(tmp) / f"{spec.key}_{i}{j}")
                row(f"nuisance {a.stem} > {b.stem}", detect(a, b))
    for camp in sorted(p for p in args.sample.iterdir() if p.is_dir()):
        files = sorted(camp.glob("*.tif"))
        for a, b in zip(files, files[1:], strict=False):
            row(f"sample {a.stem} > {b.stem}", detect(a, b))
    if args.realdata:
        for name in ("levir", "dsifn"):
            for label in sorted((args.realdata / name / "label").glob("*.png")):
                a = read_pair_scene(args.realdata / name / "A" / label.name, pixel_size=0.5, date=dt.date(2000, 1, 1))
                b = read_pair_scene(args.realdata / name / "B" / label.name, pixel_size=0.5, date=dt.date(2000, 1, 2))
                row(f"{name} {label.stem}", analyse_scenes(a, b))
    print("\neffect: Otsu's between-class over total variance of the magnitude (0.64 for one Gaussian);"
          "\notsu, noise: thresholds in noise sigmas; >otsu: share of valid pixels above Otsu's.")


if __name__ == "__main__":
    main()
