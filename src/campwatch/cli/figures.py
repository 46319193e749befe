"""``campwatch figures``: remake a report's figures and report.html without analysing again."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import echo, verbosity
from campwatch.publish.html import write_figures


@click.command("figures")
@click.argument("report", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for figures/ (PNG and PDF) and report.html (made if missing).")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=300, show_default=True,
              help="Resolution of the PNG figures.")
@verbosity
def figures_command(report: Path, out_dir: Path, dpi: int) -> None:
    """Remake the figure set and report.html of REPORT (a report.geojson or series.geojson).

    Reads the images the report names again, but analyses nothing: location, before and
    after panels, change overlay, close-ups (and the timeline of a series), each as PNG
    and PDF, and a self-contained report.html.
    """
    paths = write_figures(report, out_dir, dpi=dpi)
    for path in paths.values():
        echo(f"wrote {path}")
