"""Accuracy of campwatch against its targets: the synthetic sample, nuisance-only pairs, and real labelled pairs.

Usage:
    python benchmarks/accuracy.py [--sample data/sample] [--realdata ../shared/realdata] [--model CARD]
                                  [--config FILE] [--out DIR]

1. Every consecutive pair of each sample series: the reported changes matched to the
   truth by overlap (fences by length within 2 m); truth events hidden by a thick cloud or
   nodata on either date are left out, and so are reports of them.
2. Nuisance-only pairs: the same camp on two dates with no event (season, sun, haze, gain,
   noise, misregistration, clouds): any structure, fence or tower change is a false alarm.
3. With --realdata: `evaluate` on levir/ (structure classes and all classes, 0.5 m) and
   dsifn/ (all classes, 2 m): pooled pixel precision, recall, F1; and Joplin (joplin/pre,
   joplin/post): how many structures are reported demolished and new.
4. With --model (an ONNX change model or its card): every part again with the model.

Prints a table per part and the targets with MET or NOT MET; writes accuracy.json.
One set of defaults serves all parts: nothing here tunes anything. ``--config FILE`` (TOML
or JSON, as ``campwatch detect --config``) measures other parameters, for example the
default less one of its parts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

from campwatch.classes import CLASSES
from campwatch.config import DetectConfig
from campwatch.data.sample import SAMPLE_CAMPS, write_series
from campwatch.evaluate import STRUCTURE_CLASSES, evaluate_dataset, score_report
from campwatch.run import detect, run_detect

ROOT = Path(__file__).resolve().parents[1]
EVENT_CLASSES = ("structure_new", "structure_demolished", "structure_modified", "tower_added", "tower_removed",
                 "fence_razed", "fence_built")
TARGETS = {"fence_razed": 0.95, "tower_removed": 0.95, "structure_new": 0.95, "structure_demolished": 0.95}


def sample_scores(sample: Path, out: Path, config: DetectConfig) -> dict[str, dict[str, float]]:
    totals = {c: [0.0, 0.0, 0.0] for c in EVENT_CLASSES}
    units = {}
    print(f"{'pair':<40}" + "".join(f"{c[:18]:>19}" for c in EVENT_CLASSES))
    for camp_dir in sorted(p for p in sample.iterdir() if p.is_dir()):
        images = sorted(camp_dir.glob("*.tif"))
        aoi = ROOT / "aois" / f"{camp_dir.name}.geojson"
        for a, b in zip(images, images[1:]):
            _, paths = run_detect(a, b, out / f"{a.stem}_{b.stem}", aoi_path=aoi if aoi.exists() else None,
                                  config=config)
            scores = score_report(paths["report.geojson"], camp_dir / "truth.geojson", EVENT_CLASSES)
            cells = []
            for c, s in scores.items():
                totals[c][0] += s.true_positives
                totals[c][1] += s.false_positives
                totals[c][2] += s.false_negatives
                units[c] = s.unit
                cells.append(f"{s.true_positives:g}/{s.false_positives:g}/{s.false_negatives:g}")
            print(f"{a.stem + ' > ' + b.stem[-10:]:<40}" + "".join(f"{x:>19}" for x in cells))
    print("(TP/FP/FN: objects; metres for fences)\n")
    summary = {}
    print(f"{'class':<24}{'TP':>8}{'FP':>8}{'FN':>8}{'precision':>11}{'recall':>8}  target")
    for c, (tp, fp, fn) in totals.items():
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        target = TARGETS.get(c)
        verdict = "" if target is None else ("MET" if min(p, r) >= target else "NOT MET") + f" (>= {target})"
        summary[c] = {"tp": tp, "fp": fp, "fn": fn, "precision": p, "recall": r, "unit": units.get(c)}
        print(f"{c:<24}{tp:>8g}{fp:>8g}{fn:>8g}{p:>11.3f}{r:>8.3f}  {verdict}")
    return summary


def nuisance_scores(work: Path, config: DetectConfig) -> dict[str, object]:
    """Pairs of one camp with no event between the dates: every nuisance, no change."""
    false_alarms = []
    pairs = 0
    for spec in SAMPLE_CAMPS.values():
        d = spec.dates
        for i, j in [(k, k + 1) for k in range(len(d) - 1)] + [(0, len(d) - 1)]:
            nuis = dataclasses.replace(spec, key=f"{spec.key}_nuisance", dates=(d[i], d[j]), events=({},))
            a, b = write_series(nuis, work / f"{spec.key}_{i}{j}")
            result = detect(a, b, config=config)
            pairs += 1
            bad = [(r.change_class, round(r.area_m2 or r.length_m or 0.0, 1)) for r in result.regions
                   if r.change_class != "other_change"]
            if bad:
                false_alarms.append({"pair": f"{a.name} > {b.name}", "changes": bad})
    verdict = "MET" if not false_alarms else "NOT MET"
    print(f"\nnuisance-only pairs: {pairs}; pairs with a structure, fence or tower change: "
          f"{len(false_alarms)}  target 0: {verdict}")
    for fa in false_alarms:
        print("  ", fa)
    return {"pairs": pairs, "false_alarms": false_alarms}


#: (set, classes, pixel size, target F1 without a model, target F1 with one, best classical method in the README)
REAL_SETS = (
    ("levir", "structure", STRUCTURE_CLASSES, 0.5, 0.55, 0.85, 0.41),
    ("levir", "all", tuple(CLASSES), 0.5, 0.41, 0.41, 0.41),
    ("dsifn", "all", tuple(CLASSES), 2.0, 0.43, 0.43, 0.43),
)


def real_scores(realdata: Path, config: DetectConfig) -> dict[str, object]:
    out: dict[str, object] = {}
    print()
    with_model = config.model is not None
    for name, label, classes, pixel, target, model_target, baseline in REAL_SETS:
        folder = realdata / name
        if not folder.is_dir():
            print(f"{name}: not found under {realdata}")
            continue
        t0 = time.perf_counter()
        score = evaluate_dataset(folder, classes=classes, pixel_size=pixel, config=config)
        p = score.pooled
        goal = model_target if with_model else target
        verdict = "MET" if p.f1 > goal or (p.f1 >= goal and goal != baseline) else "NOT MET"
        print(f"{name:<6} {label:<9} pixel precision {p.precision:.3f} recall {p.recall:.3f} F1 {p.f1:.3f} "
              f"IoU {p.iou:.3f}, object recall {score.object_recall:.3f}  ({time.perf_counter() - t0:.0f} s)  "
              f"target F1 {'>' if goal == baseline else '>='} {goal}: {verdict}; best classical method in the "
              f"README: {baseline}")
        out[f"{name}_{label}"] = score.to_dict()
    joplin = realdata / "joplin"
    if (joplin / "pre").is_dir() and (joplin / "post").is_dir():
        t0 = time.perf_counter()
        result = detect(joplin / "pre", joplin / "post", config=config,
                        dates=(dt.date(2011, 5, 20), dt.date(2011, 5, 24)))
        counts = result.summary().counts
        razed, new = counts["structure_demolished"], counts["structure_new"]
        verdict = "MET" if razed >= 200 and new <= 0.05 * razed else "NOT MET"
        print(f"joplin structure_demolished {razed}, structure_new {new}, structure_modified "
              f"{counts['structure_modified']}  ({time.perf_counter() - t0:.0f} s)  target >= 200 demolished, new "
              f"<= 5 % of them{' (with a model)' if with_model else ''}: {verdict}")
        out["joplin"] = counts
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=Path, default=ROOT / "data" / "sample")
    ap.add_argument("--realdata", type=Path, help="folder with levir/, dsifn/ and joplin/ (never copied into the repo)")
    ap.add_argument("--model", help="a change model (ONNX file or card): every part is run without it and with it")
    ap.add_argument("--config", type=Path, help="detection parameters (TOML or JSON) instead of the defaults")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-accuracy")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    report: dict[str, object] = {}
    base = DetectConfig.load(args.config)
    for config in [base] + ([dataclasses.replace(base, model=args.model)] if args.model else []):
        name = "with model" if config.model else "classical"
        print(f"\n===== {name} =====\n")
        part: dict[str, object] = {"sample": sample_scores(args.sample, args.out / name.replace(" ", "_"), config)}
        with tempfile.TemporaryDirectory() as tmp:
            part["nuisance"] = nuisance_scores(Path(tmp), config)
        if args.realdata:
            part["real"] = real_scores(args.realdata, config)
        report[name] = part
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
