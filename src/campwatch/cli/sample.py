"""``campwatch sample``: write the synthetic sample series."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import echo, verbosity
from campwatch.data.sample import SAMPLE_CAMPS, write_sample


@click.command("sample")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--camp", "camps", multiple=True, type=click.Choice(sorted(SAMPLE_CAMPS)),
              help="Only this camp (repeatable). Default: all.")
@verbosity
def sample_command(out: Path, camps: tuple[str, ...]) -> None:
    """Write the deterministic synthetic sample series of each camp into OUT/<camp>/.

    Each series has dated 4-band GeoTIFFs (UTM 52N, 0.5 m) and truth.geojson, the events
    between dates. The same command always writes the same files.
    """
    written = write_sample(out, camps=camps or None)
    for camp, paths in written.items():
        echo(f"{camp}: {len(paths)} images in {paths[0].parent}")
