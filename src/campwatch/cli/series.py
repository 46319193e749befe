"""``campwatch series``: compare every consecutive pair of a folder of dated images."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, figure_options, mask_option, model_option, verbosity
from campwatch.config import Settings
from campwatch.monitor.series import run_series


@click.command("series")
@click.argument("aoi", type=click.Path(path_type=Path))
@click.argument("images_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for series.geojson, report.html, figures/ and pairs/<from>_<to>/ (made if missing).")
@config_option
@model_option
@mask_option
@figure_options
@verbosity
def series_command(aoi: Path, images_dir: Path, out_dir: Path, settings: Settings, model: str | None,
                   no_figures: bool,
                   dpi: int, mask_path: Path | None) -> None:
    """Compare every consecutive pair of the dated images in IMAGES_DIR over AOI.

    Each change is dated to the interval between two images and kept once, however many
    later images show it. A date whose AOI is mostly hidden (nodata, cloud) is recorded
    and skipped. Images are dated by their names (YYYY-MM-DD) or TIFF tags.
    """
    result = run_series(aoi, images_dir, out_dir, config=settings.config, figures=not no_figures, dpi=dpi,
                        mask_path=mask_path, model=model or settings.model)
    for line in result.lines():
        echo(line)
