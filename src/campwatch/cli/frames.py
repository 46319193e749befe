"""``campwatch frames``: dated screenshots made into dated GeoTIFFs on one grid, and their series."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import config_option, echo, figure_options, mask_option, model_option, verbosity
from campwatch.config import Settings
from campwatch.frames import frames_aoi, write_frames
from campwatch.io.jsonio import write_json_atomic
from campwatch.monitor.series import run_series


@click.command("frames")
@click.argument("frames_dir", type=click.Path(path_type=Path))
@click.option("--bounds", nargs=4, type=float, required=True, metavar="W S E N",
              help="Where the view lay: its west, south, east and north edges in degrees (WGS84).")
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for images/ (the dated GeoTIFFs) and frames.json; with --series, series/ too.")
@click.option("--pixel-size", type=float, default=None, metavar="M",
              help="Pixel of the GeoTIFFs in metres (default: the screen's pixel on the ground).")
@click.option("--source-pixel-m", type=float, default=None, metavar="M",
              help="The imagery's own pixel in metres (default: from a sensor named in the file names): GeoTIFFs "
                   "finer than it are written at it, with a warning.")
@click.option("--hide", "hide_px", type=int, nargs=4, multiple=True, metavar="X0 Y0 X1 Y1",
              help="A box of every frame, in screen pixels from the top-left corner, that is not imagery (a logo): "
                   "nodata. Repeatable.")
@mask_option
@click.option("--series", "series", is_flag=True,
              help="Then compare every consecutive pair of the GeoTIFFs (campwatch series) into OUT/series.")
@click.option("--aoi", "aoi_path", type=click.Path(path_type=Path), default=None,
              help="With --series: the AOI (default: the bounds, written as OUT/aoi.geojson).")
@config_option
@model_option
@figure_options
@verbosity
def frames_command(frames_dir: Path, bounds: tuple[float, float, float, float], out_dir: Path,
                   pixel_size: float | None, source_pixel_m: float | None, hide_px: tuple[tuple[int, ...], ...],
                   mask_path: Path | None, series: bool, aoi_path: Path | None, settings: Settings,
                   model: str | None, no_figures: bool, dpi: int) -> None:
    """Place the dated screenshots of FRAMES_DIR (historical imagery views, EO browser frames) on one grid.

    Each frame is dated by its name (YYYY-MM-DD) and written as a GeoTIFF where --bounds
    says the view lay, in metres (its UTM zone). The grid is the user's assignment: every
    GeoTIFF, and every report made from them, says so. Every frame must be of one size.
    """
    result = write_frames(frames_dir, out_dir, bounds=bounds, pixel_size=pixel_size, source_pixel_m=source_pixel_m,
                          mask_path=mask_path, hide_px=[(b[0], b[1], b[2], b[3]) for b in hide_px])
    first, last = min(result.images), max(result.images)
    echo(f"{len(result.images)} frames, {first.isoformat()} to {last.isoformat()}: {result.shape[1]} x "
         f"{result.shape[0]} px of {result.pixel_m:.2f} m (screen pixel {result.screen_pixel_m:.2f} m) in "
         f"{out_dir / 'images'}")
    if series:
        if aoi_path is None:
            aoi_path = out_dir / "aoi.geojson"
            write_json_atomic(frames_aoi(result.record), aoi_path)
        done = run_series(aoi_path, out_dir / "images", out_dir / "series", config=settings.config,
                          figures=not no_figures, dpi=dpi, model=model or settings.model)
        for line in done.lines():
            echo(line)
