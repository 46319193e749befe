"""``campwatch inventory``: propose the fences, towers and structures of one image."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, model_option, verbosity
from campwatch.config import Settings
from campwatch.inventory import run_inventory


@click.command("inventory")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path), required=True, help="AOI GeoJSON file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="Where to write the proposed features (an AOI file).")
@click.option("--date", "date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The image's acquisition date (YYYY-MM-DD), replacing its name's and tags'.")
@click.option("--since", "since", type=click.Path(path_type=Path), default=None, metavar="EARLIER",
              help="An earlier image of the place: the structures built since are proposed too (with --model, "
                   "as the change model sees them).")
@click.option("--since-date", "since_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The earlier image's acquisition date (YYYY-MM-DD), replacing its name's and tags'.")
@config_option
@model_option
@verbosity
def inventory_command(image: Path, aoi_path: Path, out_path: Path, settings: Settings,
                      date: dt.datetime | None, since: Path | None, since_date: dt.datetime | None,
                      model: str | None) -> None:
    """Propose the fences, towers and structures seen in IMAGE inside the AOI.

    Writes them in the AOI file format (the AOI's extent plus role fence, tower and
    structure features, each marked proposed and with what found it) for an analyst to
    review and keep; `detect` then follows the fences it gives. With --since EARLIER, the
    structures built between EARLIER and IMAGE are proposed too, found by the pair's
    analysis (with --model, by the change model): a change model compares two dates.
    """
    doc = run_inventory(image, aoi_path, out_path, config=settings.config, model=model or settings.model,
                        date=date.date() if date else None, since=since,
                        since_date=since_date.date() if since_date else None)
    inv = doc["campwatch_inventory"]
    c = inv["counts"]
    echo(f"{image.name}: {c['structures']} structures, {c['towers']} towers, {c['fences']} fence lines "
         f"proposed in {out_path}")
    if inv["since"] is not None:
        by = f"the change model {inv['model']['name']}" if inv["model"] else "the classical change stages"
        echo(f"  structures: {c['structures_classical']} by the classical finder, {c['structures_built_since']} "
             f"built since {inv['since']['date']} found by {by}")
    else:
        echo("  found by the classical finder (no change model: give --since EARLIER --model MODEL for one)")
