"""Fit campwatch's confidence calibration on the labelled sets, and write it (src/campwatch/data/confidence.json).

Usage:
    python benchmarks/calibrate.py --realdata ../shared/realdata [--model CARD] [--sample data/sample] [--write]

Every change campwatch reports on the sample (every class, judged against its truth), on
levir/ (structures) and on dsifn/ (every class; judged by pixels: right when half of it is
labelled change) is collected with its evidence score and how it was found (its source);
with --model the same again with the model, for the sources that involve one. Per source,
an isotonic fit (scikit-learn, increasing, clipped to [0, 1]) of "right" on the score,
pooled over the sets, read at scores 0.50, 0.55, ... 1.00, is the calibration. A source with
fewer than MIN_CHANGES changes takes the fit of all changes of its kind (structure, tower,
fence, other). Prints the reliability table before (score) and after (confidence); with
--write, writes the calibration the package ships. Nothing of the real imagery is written:
only the breakpoints, the names of the sets and the counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from accuracy import HIGH, ROOT, Judged, judged_changes, print_reliability
from sklearn.isotonic import IsotonicRegression

from campwatch.config import DetectConfig
from campwatch.detection.confidence import SOURCES, parse_calibration

MIN_CHANGES = 20
GRID = np.round(np.arange(0.5, 1.0001, 0.05), 2)
OUT = ROOT / "src" / "campwatch" / "data" / "confidence.json"


def _fit(judged: list[Judged]) -> list[float]:
    x = np.array([j.score for j in judged])
    y = np.array([float(j.right) for j in judged])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    return [round(float(v), 3) for v in iso.predict(GRID)]


def fit_calibration(judged: list[Judged], fitted_on: list[str]) -> dict[str, object]:
    sources: dict[str, object] = {}
    for source in SOURCES:
        mine = [j for j in judged if j.source == source]
        kind = source.split(",")[0]
        of_kind = [j for j in judged if j.source.split(",")[0] == kind]
        if len(mine) >= MIN_CHANGES:
            curve, how = _fit(mine), source
        elif len(of_kind) >= MIN_CHANGES:
            curve, how = _fit(of_kind), f"every {kind} change"
        else:
            # Too few to rank: the share right, drawn towards one half as by one right and one wrong more.
            pool = mine or of_kind
            rate = (sum(j.right for j in pool) + 1) / (len(pool) + 2)
            curve, how = [round(rate, 3)] * len(GRID), f"the share right of {len(pool)} changes, flat"
        sources[source] = {"score": [float(g) for g in GRID], "confidence": curve, "changes": len(mine),
                           "fitted_from": how}
    return {"name": "campwatch-confidence/1", "fitted_on": fitted_on,
            "method": "isotonic fit of right (0/1) on the evidence score per source, read at scores 0.50 to 1.00; "
                      f"a source of fewer than {MIN_CHANGES} changes takes the fit of its kind, or with fewer than "
                      f"{MIN_CHANGES} of those too their share right (plus one right and one wrong), flat",
            "sources": sources}


def left_out(judged: list[Judged]) -> None:
    """Each set scored by a calibration fitted without it: what the confidence is worth on imagery it has not seen."""
    print("\neach set scored by a fit without it:")
    for name in sorted({j.set for j in judged}):
        cal = parse_calibration(json.dumps(fit_calibration([j for j in judged if j.set != name], [])))
        mine = [dataclasses.replace(j, confidence=cal.confidence(j.source, j.score)) for j in judged if j.set == name]
        high = [j.right for j in mine if j.confidence >= HIGH]
        low = [j.right for j in mine if j.confidence < 0.6]
        print(f"  {name:<8} >= {HIGH}: {len(high):>5} changes, {np.mean(high) if high else float('nan'):.3f} right; "
              f"< 0.6: {len(low):>5} changes, {np.mean(low) if low else float('nan'):.3f} right")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--realdata", type=Path, help="folder with levir/ and dsifn/ (never copied into the repo)")
    ap.add_argument("--model", help="a change model (ONNX file or card) for the sources that involve one")
    ap.add_argument("--judged", type=Path, help="keep the judged changes in this JSON file (read it when it exists)")
    ap.add_argument("--write", action="store_true", help=f"write the calibration to {OUT.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    base = DetectConfig()
    if args.judged and args.judged.exists():
        judged = [Judged(**j) for j in json.loads(args.judged.read_text())]
    else:
        judged = judged_changes(args.sample, args.realdata, base)
        if args.model:
            judged += judged_changes(args.sample, args.realdata, base, args.model)
        if args.judged:
            args.judged.write_text(json.dumps([dataclasses.asdict(j) for j in judged]))
    sets = sorted({j.set for j in judged})
    fitted_on = [f"{s} ({sum(j.set == s for j in judged)} changes)" for s in sets]
    if args.model:
        fitted_on.append(f"with the model {Path(args.model).stem} and without")
    doc = fit_calibration(judged, fitted_on)
    text = json.dumps(doc, indent=1) + "\n"
    cal = parse_calibration(text)
    print_reliability(judged, "as run (the shipped calibration)")
    refit = [dataclasses.replace(j, confidence=cal.confidence(j.source, j.score)) for j in judged]
    print_reliability(refit, "with this fit")
    left_out(judged)
    for source, entry in doc["sources"].items():  # type: ignore[union-attr]
        print(f"{source:<36} {entry['changes']:>5} changes; {entry['fitted_from']}: "
              + " ".join(f"{c:.2f}" for c in entry["confidence"]))
    if args.write:
        OUT.write_text(text)
        print(f"written: {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
