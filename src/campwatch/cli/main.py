"""The ``campwatch`` command group: logging, GDAL settings and error handling for every subcommand."""

from __future__ import annotations

import click
import rasterio

from campwatch._version import __version__
from campwatch.cli.batch import batch_command
from campwatch.cli.check import check_command
from campwatch.cli.detect import detect_command
from campwatch.cli.evaluate import evaluate_command
from campwatch.cli.figures import figures_command
from campwatch.cli.frames import frames_command
from campwatch.cli.inventory import inventory_command
from campwatch.cli.models import models_command
from campwatch.cli.options import CampwatchGroup, configure_logging, quiet_opt, verbose_opt
from campwatch.cli.progress import PROGRESS_MODES, progress_output
from campwatch.cli.review import review_command
from campwatch.cli.sample import sample_command
from campwatch.cli.series import series_command
from campwatch.cli.teach import teach_command
from campwatch.cli.verify import verify_command
from campwatch.io.gdal import command_options


@click.group(cls=CampwatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campwatch")
@verbose_opt
@quiet_opt
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto", show_default=True,
              help="Progress of long work on stderr: a bar (on a terminal, unless -q), one JSON line per step, "
                   "or none.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, progress: str) -> None:
    """Find and describe change between dated images of a camp.

    Exit codes: 0 success, 2 bad input, 1 anything else.
    """
    ctx.obj = {"verbose": verbose, "quiet": quiet}
    configure_logging(verbose, quiet)
    ctx.with_resource(rasterio.Env(**command_options()))
    ctx.with_resource(progress_output(progress, quiet=quiet, own_bar=ctx.invoked_subcommand == "batch"))


for command in (detect_command, sample_command, evaluate_command, inventory_command, series_command, check_command,
                batch_command, verify_command, figures_command, models_command, review_command, teach_command,
                frames_command):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="campwatch")


if __name__ == "__main__":  # pragma: no cover
    main()
