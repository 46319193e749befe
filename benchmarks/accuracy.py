"""Accuracy of structure-change detection on the synthetic sample, per class and per pair.

Usage: python benchmarks/accuracy.py [--sample data/sample] [--out out/bench-accuracy]

Runs `detect` on every consecutive pair of each sample series, matches the reported
structure changes to the truth by overlap (truth events hidden by a thick cloud on either
date excluded), and prints a table and writes accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from campwatch.evaluate import score_report
from campwatch.pipeline import run_detect

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("structure_new", "structure_demolished", "structure_modified")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-accuracy")
    args = ap.parse_args(argv)
    totals = {c: [0, 0, 0] for c in CLASSES}
    rows = []
    t0 = time.perf_counter()
    for camp_dir in sorted(p for p in args.sample.iterdir() if p.is_dir()):
        images = sorted(camp_dir.glob("*.tif"))
        aoi = ROOT / "aois" / f"{camp_dir.name}.geojson"
        for a, b in zip(images, images[1:]):
            out = args.out / f"{a.stem}_{b.stem}"
            _, paths = run_detect(a, b, out, aoi_path=aoi if aoi.exists() else None)
            scores = score_report(paths["report.geojson"], camp_dir / "truth.geojson", CLASSES)
            row = {"pair": f"{a.stem} -> {b.stem}"}
            for c, s in scores.items():
                totals[c][0] += s.true_positives
                totals[c][1] += s.false_positives
                totals[c][2] += s.false_negatives
                row[c] = f"{s.true_positives}/{s.false_positives}/{s.false_negatives}"
            rows.append(row)
    elapsed = time.perf_counter() - t0
    print(f"{'pair':<42}" + "".join(f"{c:>22}" for c in CLASSES) + "   (TP/FP/FN)")
    for row in rows:
        print(f"{row['pair']:<42}" + "".join(f"{row[c]:>22}" for c in CLASSES))
    print()
    summary = {}
    print(f"{'class':<24}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for c, (tp, fp, fn) in totals.items():
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        summary[c] = {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r}
        print(f"{c:<24}{tp:>5}{fp:>5}{fn:>5}{p:>11.2f}{r:>8.2f}")
    print(f"\n{len(rows)} pairs in {elapsed:.1f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps({"pairs": rows, "totals": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
