"""``campwatch inventory``: propose the fences, towers and structures of one image."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, verbosity
from campwatch.config import DetectConfig
from campwatch.inventory import run_inventory


@click.command("inventory")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path), required=True, help="AOI GeoJSON file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="Where to write the proposed features (an AOI file).")
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The image's acquisition date (YYYY-MM-DD), replacing its name's and tags'.")
@config_option
@verbosity
def inventory_command(image: Path, aoi_path: Path, out_path: Path, config: DetectConfig,
                      date: dt.datetime | None) -> None:
    """Propose the fences, towers and structures seen in IMAGE inside the AOI.

    Writes them in the AOI file format (the AOI's extent plus role fence, tower and
    structure features, each marked proposed) for an analyst to review and keep; `detect`
    then follows the fences it gives.
    """
    doc = run_inventory(image, aoi_path, out_path, config=config, date=date.date() if date else None)
    c = doc["campwatch_inventory"]["counts"]
    echo(f"{image.name}: {c['structures']} structures, {c['towers']} towers, {c['fences']} fence lines "
               f"proposed in {out_path}")
