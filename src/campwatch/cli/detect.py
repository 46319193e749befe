"""``campwatch detect``: compare two dated images of an AOI."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from campwatch.classes import CLASSES
from campwatch.cli.options import config_option, echo, mask_option, model_option, verbosity
from campwatch.config import THRESHOLD_METHODS, Settings
from campwatch.io.bands import parse_band_names
from campwatch.run import run_detect


@click.command("detect")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path), help="AOI GeoJSON file (docs/cli.md).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@config_option
@model_option
@click.option("--threshold-method", type=click.Choice(THRESHOLD_METHODS), help="How thresholds are chosen.")
@click.option("--gain-threshold", type=float, help="Fixed threshold for brighter change (noise sigmas).")
@click.option("--loss-threshold", type=float, help="Fixed threshold for darker change (noise sigmas).")
@click.option("--min-area", "min_area_m2", type=float, help="Smallest change region kept, in m2.")
@click.option("--no-coregister", is_flag=True, help="Do not measure and correct a small shift.")
@click.option("--block-size", "block_size_px", type=click.IntRange(min=64),
              help="Analyse AOI windows larger than this many pixels a side block by block (default 2048).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Blocks analysed at once, one process each (memory: about one block each); a pair "
                   "analysed whole runs each date's share of its stages in this many threads.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Analyse a large pair's blocks on this Dask distributed scheduler (tcp://host:8786) instead "
                   "of local processes; its workers must see the images at the same paths.")
@click.option("--before-date", type=click.DateTime(["%Y-%m-%d"]),
              help="Date of BEFORE (YYYY-MM-DD), replacing its name's and tags'.")
@click.option("--after-date", type=click.DateTime(["%Y-%m-%d"]),
              help="Date of AFTER (YYYY-MM-DD), replacing its name's and tags'.")
@click.option("--before-bands", help="BEFORE's bands in order, e.g. blue,green,red,nir (- to ignore one).")
@click.option("--after-bands", help="AFTER's bands in order, e.g. red,green,blue (- to ignore one).")
@mask_option
@verbosity
def detect_command(
    before: Path,
    after: Path,
    aoi_path: Path | None,
    out_dir: Path,
    settings: Settings,
    model: str | None,
    threshold_method: str | None,
    gain_threshold: float | None,
    loss_threshold: float | None,
    min_area_m2: float | None,
    no_coregister: bool,
    block_size_px: int | None,
    workers: int,
    scheduler: str | None,
    before_date: dt.datetime | None,
    after_date: dt.datetime | None,
    before_bands: str | None,
    after_bands: str | None,
    mask_path: Path | None,
) -> None:
    """Detect change between BEFORE and AFTER, two dated images of one place.

    Each is a GeoTIFF or a folder of tiles of one image. AFTER is put onto BEFORE's grid
    when they differ. Writes report.geojson, change_mask.tif and change_map.png into
    --out, all together or not at all, and prints a summary on stdout.
    """
    config = settings.config.replace(threshold_method=threshold_method, gain_threshold=gain_threshold,
                                     loss_threshold=loss_threshold, min_area_m2=min_area_m2,
                                     coregister=False if no_coregister else None, block_size_px=block_size_px)
    dates = (before_date.date() if before_date else None, after_date.date() if after_date else None)
    bands = (parse_band_names(before_bands, source="--before-bands") if before_bands else None,
             parse_band_names(after_bands, source="--after-bands") if after_bands else None)
    result, paths = run_detect(before, after, out_dir, aoi_path=aoi_path, config=config, dates=dates,
                               mask_path=mask_path, bands=bands, workers=workers,
                               scheduler=scheduler, model=model or settings.model)
    echo(f"{result.aoi.name if result.aoi else before.name}: {result.before.date} -> {result.after.date}")
    if result.blocks is not None:
        echo(f"  analysed in {result.blocks['analysed']} of {result.blocks['count']} blocks of "
                   f"{result.blocks['size_px']} px (halo {result.blocks['halo_px']} px)")
    summary = result.summary()
    # In the analyst's words and the legend's order (the report's class names are in report.geojson).
    found = [name for name in CLASSES if name in summary.found]
    width = max((len(CLASSES[name].label) for name in found), default=0)
    for name in found:
        echo(f"  {CLASSES[name].label:<{width}}{summary.counts[name]:>6}  {summary.size(name):>12,.0f} "
             f"{CLASSES[name].unit}")
    if not summary.found:
        echo("  no change found")
    if result.model:
        echo(f"  model: {result.model['name']} ({result.model['file']}, threshold {result.model['threshold']})")
    for w in result.warnings:
        echo(f"  warning: {w}")
    for path in paths.values():
        echo(f"  wrote {path}")
