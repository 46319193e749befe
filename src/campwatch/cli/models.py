"""``campwatch models``: the change models in the models folder, each with its card, checked."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campwatch.cli.options import EXIT_BAD_INPUT, echo, verbosity
from campwatch.detection.model import list_models, models_folder


@click.command("models")
@click.option("--folder", type=click.Path(path_type=Path), default=None,
              help="The models folder (default: $CAMPWATCH_MODELS, else the platform's data folder).")
@verbosity
def models_command(folder: Path | None) -> None:
    """List the change models in the models folder, each loaded and checked against its card.

    A model is NAME.onnx with its card NAME.toml (or NAME.json) beside it, or a card whose
    `file` names the model; use it as `--model NAME`. campwatch ships none: bring your own.
    Exit 2 when a model there cannot be used.
    """
    where = folder or models_folder()
    found = list_models(where)
    echo(f"models folder: {where}" + ("" if where.is_dir() else " (not there yet)"))
    if not found:
        echo("  no models: put NAME.onnx and its card NAME.toml there (docs/models.md)")
    for name, model, problem in found:
        if model is None:
            echo(f"  {name}: NOT USABLE: {problem}")
            continue
        card = model.card
        echo(f"  {name}: {card.name}; sees change of {card.covers}; bands {', '.join(card.bands)}; "
                   f"{card.pixel_size_m[0]:g}-{card.pixel_size_m[1]:g} m pixels; threshold {card.threshold:g}")
        echo(f"    licence: {card.licence}")
        echo(f"    source: {card.source}")
        echo(f"    file {model.path.name}, sha256 {model.sha256}")
    if any(model is None for _, model, _ in found):
        sys.exit(EXIT_BAD_INPUT)
