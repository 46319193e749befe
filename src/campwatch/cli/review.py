"""``campwatch review``: what is left to review in a history, and the labels its reviews give."""

from __future__ import annotations

from pathlib import Path

import click

from campwatch.cli.options import echo, verbosity
from campwatch.errors import InputError
from campwatch.monitor.review import review_from_truth, review_table, write_review_file
from campwatch.monitor.store import history_layers


@click.command("review")
@click.argument("history", type=click.Path(path_type=Path))
@click.option("--aoi", "aoi", help="Only this AOI's changes (a history may hold many).")
@click.option("--out", "out_path", type=click.Path(path_type=Path),
              help="Write the labels the reviews give (GeoJSON, for `campwatch teach --pair`).")
@click.option("--from-truth", "truth", type=click.Path(path_type=Path),
              help="First review every unreviewed change as this truth file says (the sample's truth.geojson): "
                   "an analyst simulated, for demonstrations.")
@verbosity
def review_command(history: Path, aoi: str | None, out_path: Path | None, truth: Path | None) -> None:
    """List the changes of HISTORY left to review, and count the reviewed ones.

    Review in QGIS: open the history's 'changes' layer, and set 'review' (confirmed,
    rejected or corrected, with 'review_class') in each change's form. The next check
    does not report again what you rejected, and `campwatch teach --history` learns from
    what you reviewed.
    """
    if not history.exists():
        raise InputError(f"history {history}: not found")
    if truth is not None:
        done = review_from_truth(history, truth, aoi=aoi)
        echo(f"reviewed from {truth.name}: {done.confirmed} confirmed, {done.rejected} rejected, "
             f"{done.corrected} corrected")
    changes, _ = history_layers(history)
    if aoi is not None:
        changes = changes[changes["aoi"] == aoi]
    table = review_table(changes, path=history)
    left = table[table["review"] == "unreviewed"].sort_values(["interval_to", "change_id"])
    counts = table["review"].value_counts()
    echo(f"{history}: {len(table)} changes; " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                                          ("unreviewed", "confirmed", "rejected", "corrected")))
    for _, row in left.iterrows():
        size = f"{row['length_m']:,.0f} m" if row["length_m"] == row["length_m"] and row["length_m"] is not None \
            else f"{float(row['area_m2'] or 0):,.0f} m2"
        echo(f"  {row['change_id']}  {row['class']:<22} {row['interval_from']} to {row['interval_to']}  {size:>10}  "
             f"confidence {float(row['confidence']):.2f}")
    if out_path is not None:
        doc = write_review_file(history, out_path, aoi=aoi)
        echo(f"  wrote {out_path} ({len(doc['features'])} labels)")
