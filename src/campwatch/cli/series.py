"""``campwatch series``: compare every consecutive pair of a folder of dated images."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.classes import CLASSES
from campwatch.cli.options import figure_options, handle_errors, mask_option, verbosity
from campwatch.config import DetectConfig
from campwatch.monitor.series import run_series


@click.command("series")
@click.argument("aoi", type=click.Path(path_type=Path))
@click.argument("images_dir", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for series.geojson, report.html, figures/ and pairs/<from>_<to>/ (made if missing).")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="TOML or JSON file of detection parameters (see the README).")
@mask_option
@figure_options
@verbosity
@handle_errors
def series_command(aoi: Path, images_dir: Path, out_dir: Path, config_path: Path | None, no_figures: bool,
                   dpi: int, mask_path: Path | None) -> None:
    """Compare every consecutive pair of the dated images in IMAGES_DIR over AOI.

    Each change is dated to the interval between two images and kept once, however many
    later images show it. A date whose AOI is mostly hidden (nodata, cloud) is recorded
    and skipped. Images are dated by their names (YYYY-MM-DD) or TIFF tags.
    """
    config = DetectConfig.from_file(config_path) if config_path else DetectConfig()
    result = run_series(aoi, images_dir, out_dir, config=config, figures=not no_figures, dpi=dpi,
                        mask_path=mask_path)
    report = result.report
    click.echo(f"{report['aoi']['name']}: {report['summary']['images']} images, "
               f"{len(report['pairs'])} pairs compared")
    for img in report["images"]:
        if img["status"] == "skipped":
            click.echo(f"  skipped {img['file']}: {img['reason']}")
    for pair in report["pairs"]:
        new = [f for f in report["features"] if f["properties"]["interval"] == {"from": pair["from"], "to": pair["to"]}]
        parts = []
        for name, cls in CLASSES.items():
            n = sum(1 for f in new if f["properties"]["class"] == name)
            if n:
                if name.startswith("fence"):
                    length = sum(f["properties"]["length_m"] or 0 for f in new if f["properties"]["class"] == name)
                    parts.append(f"{cls.label.lower()} {length:,.0f} m")
                else:
                    parts.append(f"{n} {cls.label.lower()}")
        click.echo(f"  {pair['from']} -> {pair['to']}: {', '.join(parts) if parts else 'no change'}")
    for bridge in report.get("bridges", []):
        found = [f["properties"] for f in report["features"] if f["properties"]["found_by"] == "bridge"
                 and f["properties"]["interval"] == {"from": bridge["from"], "to": bridge["to"]}]
        what = ", ".join(f"{p['class']} {p['id']}" for p in found if p["class"] != "other_change") or "nothing new"
        click.echo(f"  {bridge['from']} -> {bridge['to']} where a cloud hid the image between: {what}")
    for path in result.paths.values():
        click.echo(f"  wrote {path}")
