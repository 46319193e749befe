"""``campwatch inventory``: propose the fences, towers and structures of one image."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import handle_errors, verbosity
from campwatch.config import DetectConfig
from campwatch.errors import OutputError
from campwatch.inventory import inventory, write_inventory
from campwatch.io.aoi import read_aoi
from campwatch.io.output import check_writable


@click.command("inventory")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path), required=True, help="AOI GeoJSON file.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), required=True,
              help="Where to write the proposed features (an AOI file).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Detection parameters file.")
@verbosity
@handle_errors
def inventory_command(image: Path, aoi_path: Path, out_path: Path, config_path: Path | None) -> None:
    """Propose the fences, towers and structures seen in IMAGE inside the AOI.

    Writes them in the AOI file format (the AOI's extent plus role fence, tower and
    structure features, each marked proposed) for an analyst to review and keep; `detect`
    then follows the fences it gives.
    """
    if out_path.is_dir():
        raise OutputError(f"--out {out_path}: is a folder; give a file name such as features.geojson")
    check_writable(out_path.parent if str(out_path.parent) else Path("."))
    config = DetectConfig.from_file(config_path) if config_path else None
    doc = inventory(image, aoi=read_aoi(aoi_path), config=config)
    write_inventory(doc, out_path)
    c = doc["campwatch_inventory"]["counts"]
    click.echo(f"{image.name}: {c['structures']} structures, {c['towers']} towers, {c['fences']} fence lines "
               f"proposed in {out_path}")
