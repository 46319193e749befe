"""``campwatch teach``: teach a change model from the analyst's own labels, or from the reviews in a history."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, verbosity
from campwatch.config import Settings
from campwatch.detection.model import MODEL_OUTPUTS
from campwatch.errors import InputError
from campwatch.io.aoi import read_aoi
from campwatch.io.labels import read_labels
from campwatch.teach import (
    TeachOptions,
    teach,
    teach_pair_from_files,
    teach_pairs_from_history,
    validation_text,
    write_model,
)


@click.command("teach")
@click.option("--pair", "pairs", nargs=3, multiple=True, type=click.Path(path_type=Path),
              metavar="BEFORE AFTER LABELS",
              help="Two dated images and the labels drawn on them (GeoJSON or GeoPackage); repeat for more pairs.")
@click.option("--history", "history", type=click.Path(path_type=Path),
              help="Teach from the reviewed changes of this history instead (with --images).")
@click.option("--images", "images_dir", type=click.Path(path_type=Path),
              help="With --history: the folder of the AOI's dated images the checks compared.")
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path),
              help="With --pair: read only this AOI's window of each pair.")
@click.option("--aoi-name", help="With --history: only this AOI's reviews (a history may hold many AOIs).")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="The model file to write (.onnx); its card is written beside it (.json).")
@click.option("--covers", type=click.Choice(MODEL_OUTPUTS), default="buildings", show_default=True,
              help="What the model sees: building change (structure labels), or change of any kind.")
@click.option("--name", help="The model's name in reports (default: the file name).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the sampling, hold-out and classifier.")
@config_option
@verbosity
def teach_command(pairs: tuple[tuple[Path, Path, Path], ...], history: Path | None, images_dir: Path | None,
                  aoi_path: Path | None, aoi_name: str | None, out_path: Path, covers: str, name: str | None,
                  seed: int, settings: Settings) -> None:
    """Teach a pixel change model from your own labels, for `campwatch detect --model MODEL.onnx`.

    The labels are outlines of change (label = "change", optionally class = structure,
    tower, fence or other) and of no change (label = "no change", or role = "taught area":
    inside it, all that is not outlined as change is no change). Or teach from a history:
    confirmed and corrected changes are change, rejected ones are not.

    Writes MODEL.onnx and its card MODEL.json, which names the pairs with their SHA-256 and
    the score measured on a spatial hold-out of the labels. Nothing leaves the machine.
    """
    if bool(pairs) == (history is not None):
        raise InputError("give --pair BEFORE AFTER LABELS (one or more) or --history HISTORY --images DIR")
    if history is not None and images_dir is None:
        raise InputError("--history needs --images: the folder of the AOI's dated images")
    if out_path.suffix.lower() != ".onnx":
        raise InputError(f"--out {out_path}: a model's file name ends in .onnx")
    options = TeachOptions(covers=covers, seed=seed)
    if history is not None:
        assert images_dir is not None
        taught_from = teach_pairs_from_history(history, images_dir, aoi=aoi_name, config=settings.config,
                                                 covers=covers)
    else:
        aoi = read_aoi(aoi_path) if aoi_path is not None else None
        label_files = {path: read_labels(path) for path in {p[2] for p in pairs}}
        taught_from = [teach_pair_from_files(b, a, label_files[lab], aoi=aoi, config=settings.config, covers=covers)
                       for b, a, lab in pairs]
    for pair in taught_from:
        counts = pair.counts()
        echo(f"{pair.name}: {counts['change']:,} change and {counts['no_change']:,} no-change pixels labelled "
             f"({pair.pixel_size_m:.2f} m pixels)")
    taught = teach(taught_from, options=options, name=name or f"taught: {out_path.stem}")
    model_path, card_path = write_model(taught, out_path)
    echo(f"taught {taught.card['name']} from {taught.rows:,} pixels ({taught.change_rows:,} change); bands "
         f"{', '.join(taught.bands)}; sees change of {covers}")
    echo(f"  validation: {validation_text(taught.validation)}")
    for note in taught.notes:
        echo(f"  note: {note}")
    echo(f"  wrote {model_path}")
    echo(f"  wrote {card_path}")
    echo(f"  use it: campwatch detect BEFORE AFTER --model {model_path} --out DIR")
