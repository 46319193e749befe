"""``campwatch check``: the monthly check of one AOI, recorded in its history."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, figure_options, mask_option, model_option, verbosity
from campwatch.config import Settings
from campwatch.monitor.history import run_check

#: With --exit-code: the exit status when the check found something new.
EXIT_NEW = 3


@click.command("check")
@click.argument("aoi", type=click.Path(path_type=Path))
@click.argument("images_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Folder for each check's outputs and the history (default: checks/<AOI file name>).")
@click.option("--history", "history_path", type=click.Path(path_type=Path), default=None,
              help="History GeoPackage (default: OUT/history.gpkg); one file can hold many AOIs.")
@click.option("--baseline", default=None,
              help="Baseline image: a file name or date (YYYY-MM-DD) in IMAGES_DIR (default: the first).")
@config_option
@model_option
@click.option("--exit-code", "exit_code", is_flag=True,
              help=f"Exit {EXIT_NEW} when the check found anything new, 0 when not (for schedulers).")
@mask_option
@figure_options
@verbosity
def check_command(aoi: Path, images_dir: Path, out_dir: Path | None, history_path: Path | None,
                  baseline: str | None, settings: Settings, model: str | None, exit_code: bool, no_figures: bool,
                  dpi: int,
                  mask_path: Path | None) -> None:
    """Check AOI for what is new in IMAGES_DIR since the last check.

    Compares the newest image with the previous one (and every image that arrived since
    the last check, pair by pair) and with a baseline, records the changes in the AOI's
    history (a GeoPackage with layers 'changes' and 'checks') and prints what is new.
    Running the same check twice adds nothing.
    """
    result = run_check(aoi, images_dir, out_dir, history_path=history_path, baseline=baseline,
                       config=settings.config, model=model or settings.model,
                       figures=not no_figures, dpi=dpi, mask_path=mask_path)
    echo(f"{result.aoi}: {result.summary}")
    if result.folder is not None:
        echo(f"  outputs in {result.folder}")
    if result.history is not None:
        echo(f"  history {result.history}")
    if exit_code and result.found_new:
        sys.exit(EXIT_NEW)
