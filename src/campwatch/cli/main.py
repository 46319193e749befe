"""The ``campwatch`` command group."""

from __future__ import annotations

import os

import click

from campwatch._version import __version__
from campwatch.cli.batch import batch_command
from campwatch.cli.check import check_command
from campwatch.cli.detect import detect_command
from campwatch.cli.evaluate import evaluate_command
from campwatch.cli.figures import figures_command
from campwatch.cli.inventory import inventory_command
from campwatch.cli.sample import sample_command
from campwatch.cli.series import series_command
from campwatch.cli.verify import verify_command

#: GDAL's block cache for campwatch commands, in megabytes.
GDAL_CACHE_MB = 256


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campwatch")
def cli() -> None:
    """Find and describe change between dated images of a camp.

    Exit codes: 0 success, 2 bad input, 1 anything else.
    """
    # GDAL's block cache defaults to 5 % of RAM; blocks are read once each, so a small cache
    # keeps memory bounded. An explicit GDAL_CACHEMAX wins.
    os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))


cli.add_command(detect_command)
cli.add_command(sample_command)
cli.add_command(evaluate_command)
cli.add_command(inventory_command)
cli.add_command(series_command)
cli.add_command(check_command)
cli.add_command(batch_command)
cli.add_command(verify_command)
cli.add_command(figures_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="campwatch")


if __name__ == "__main__":  # pragma: no cover
    main()
