"""The ``campwatch`` command group: logging, GDAL settings and error handling for every subcommand."""

from __future__ import annotations

import click
import rasterio

from campwatch._version import __version__
from campwatch.cli.options import CampwatchGroup, configure_logging, quiet_opt, verbose_opt
from campwatch.cli.progress import PROGRESS_MODES, progress_output
from campwatch.io.gdal import command_options, vector_gdal_off_network

#: Each subcommand and where it lives, imported when it is run (``campwatch detect`` loads no history,
#: batch or HTML code), or when ``--help`` lists them.
COMMANDS = {
    "detect": "campwatch.cli.detect:detect_command",
    "sample": "campwatch.cli.sample:sample_command",
    "evaluate": "campwatch.cli.evaluate:evaluate_command",
    "inventory": "campwatch.cli.inventory:inventory_command",
    "series": "campwatch.cli.series:series_command",
    "check": "campwatch.cli.check:check_command",
    "batch": "campwatch.cli.batch:batch_command",
    "verify": "campwatch.cli.verify:verify_command",
    "figures": "campwatch.cli.figures:figures_command",
    "models": "campwatch.cli.models:models_command",
    "review": "campwatch.cli.review:review_command",
    "teach": "campwatch.cli.teach:teach_command",
    "frames": "campwatch.cli.frames:frames_command",
}


@click.group(cls=CampwatchGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
    vector_gdal_off_network()  # pyogrio's own GDAL too
    ctx.with_resource(progress_output(progress, quiet=quiet, own_bar=ctx.invoked_subcommand == "batch"))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="campwatch")


if __name__ == "__main__":  # pragma: no cover
    main()
