"""``campwatch batch``: the checks of many AOIs at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from campwatch.cli.options import EXIT_BAD_INPUT, EXIT_FAILURE, config_option, model_option, verbosity
from campwatch.config import Settings
from campwatch.io.text import printable
from campwatch.monitor.batch import find_jobs, run_batch


@click.command("batch")
@click.argument("root", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Results folder (default: ROOT/results).")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: as many as cores).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Send the jobs to this Dask distributed scheduler (tcp://host:8786) instead.")
@config_option
@model_option
@click.option("--no-figures", is_flag=True, help="Skip each check's figure set and report.html.")
@verbosity
def batch_command(root: Path, out_dir: Path | None, workers: int | None, scheduler: str | None,
                  settings: Settings, model: str | None, no_figures: bool) -> None:
    """Check every AOI under ROOT: ROOT/aois/<name>.geojson with its images in ROOT/images/<name>/.

    An optional ROOT/masks/<name>.geojson gives areas of that AOI not to analyse.

    Each AOI's history and check outputs go to ROOT/results/<name>/, a line per finished
    AOI to ROOT/results/batch.log, and the table below to ROOT/results/summary.json.
    Killed and started again, a batch redoes only the checks that had not finished.
    Exit 0 when every AOI was checked, 2 when one had bad input, 1 when one failed.
    """
    config, model = settings.config, model or settings.model
    jobs = find_jobs(root, out=out_dir, config=config, figures=not no_figures, model=model)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("checking AOIs", total=len(jobs))

        def advance(record: dict[str, Any]) -> None:
            bar.advance(task)
            bar.console.print(Text(f"{printable(record['aoi'])}: {record['status']}"))  # data, never markup

        records = run_batch(root, out=out_dir, workers=workers, scheduler=scheduler, config=config,
                            figures=not no_figures, progress=advance, model=model)
    table = Table(title=Text(f"campwatch batch: {printable(root)}"))
    for col in ("AOI", "status", "new", "what", "seconds"):
        table.add_column(col, overflow="fold")
    for r in records:
        table.add_row(*(Text(printable(v)) for v in (r["aoi"], r["status"], r.get("new", 0), r["summary"],
                                                     r.get("seconds") or "")))
    Console(width=max(100, Console().width)).print(table)
    statuses = {r["status"] for r in records}
    if "bad input" in statuses:
        sys.exit(EXIT_BAD_INPUT)
    if "failed" in statuses:
        sys.exit(EXIT_FAILURE)
