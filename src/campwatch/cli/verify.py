"""``campwatch verify``: re-hash a report's inputs, re-run it, compare the outputs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campwatch.cli.options import EXIT_FAILURE, echo, verbosity
from campwatch.monitor.verify import verify_report


@click.command("verify")
@click.argument("report", type=click.Path(path_type=Path))
@verbosity
def verify_command(report: Path) -> None:
    """Verify REPORT (a report.geojson or series.geojson).

    Re-hashes every input it records, runs the same analysis again with the recorded
    parameters in a temporary folder, and compares every output and the report itself
    byte for byte. Exit 0 when all is identical, 1 when anything differs (listed), 2 when
    REPORT is not a campwatch report. Writes nothing and touches no input.
    """
    result = verify_report(report)
    for what, status, detail in result.items:
        echo(f"  {status:9s} {what}: {detail}")
    for note in result.notes:
        echo(f"  note: {note}")
    if result.ok:
        echo(f"verified: {report} is reproduced byte for byte from its inputs")
        return
    echo(f"NOT verified: {report}: " + "; ".join(f"{w} {s}" for w, s, _ in result.problems()))
    sys.exit(EXIT_FAILURE)
