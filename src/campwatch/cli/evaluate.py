"""``campwatch evaluate``: score reports against a truth file, or detection on a labelled dataset."""

from __future__ import annotations

import math
from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, model_option, verbosity
from campwatch.config import Settings
from campwatch.evaluate import evaluate_dataset, parse_classes, score_report
from campwatch.io.jsonio import write_json_atomic


def _fmt(v: float | None) -> str:
    return "   -" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


@click.command("evaluate")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--truth", type=click.Path(path_type=Path),
              help="Truth GeoJSON (as `campwatch sample` writes): TARGET is then a report.geojson or a "
                   "series.geojson (each change scored on its pair's interval).")
@click.option("--classes", "class_set", default="structure", show_default=True,
              help="Classes counted as change: 'structure', 'all', or a comma-separated list.")
@click.option("--pixel-size", type=float, default=0.5, show_default=True,
              help="Metres per pixel of dataset images without georeferencing.")
@config_option
@model_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="Write the scores as JSON here.")
@verbosity
def evaluate_command(target: Path, truth: Path | None, class_set: str, pixel_size: float,
                     settings: Settings, model: str | None, out_path: Path | None) -> None:
    """Score campwatch against truth.

    TARGET is either a report.geojson or series.geojson (with --truth: objects matched by overlap, per class)
    or a dataset folder with A/ (before), B/ (after) and label/ sub-folders, as LEVIR-CD,
    WHU-CD and DSIFN-CD ship: every pair is run through detection and scored by pixel
    (precision, recall, F1, IoU, pooled and per pair) and by object recall.
    """
    classes = parse_classes(class_set)
    if truth is not None:
        scores = score_report(target, truth, classes)
        echo(f"{'class':<24}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}{'F1':>7}")
        for s in scores.values():
            echo(f"{s.change_class:<24}{s.true_positives:>5}{s.false_positives:>5}{s.false_negatives:>5}"
                       f"{_fmt(s.precision):>11}{_fmt(s.recall):>8}{_fmt(s.f1):>7}")
        data = {"report": str(target), "truth": str(truth), "classes": [s.to_dict() for s in scores.values()]}
    else:
        result = evaluate_dataset(target, classes=classes, pixel_size=pixel_size, config=settings.config,
                                  model=model or settings.model)
        echo(f"{'pair':<28}{'precision':>10}{'recall':>8}{'F1':>7}{'IoU':>7}")
        for name, ps in result.pairs.items():
            echo(f"{name:<28}{_fmt(ps.precision):>10}{_fmt(ps.recall):>8}{_fmt(ps.f1):>7}{_fmt(ps.iou):>7}")
        p = result.pooled
        echo(f"{'pooled':<28}{_fmt(p.precision):>10}{_fmt(p.recall):>8}{_fmt(p.f1):>7}{_fmt(p.iou):>7}")
        echo(f"object recall: {result.objects_found}/{result.objects_total} = {_fmt(result.object_recall)}")
        data = result.to_dict() | {"pixel_size": pixel_size}
    if out_path is not None:
        write_json_atomic(data, out_path)
