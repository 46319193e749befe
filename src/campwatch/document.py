"""The kinds of document campwatch writes and reads back, by their ``schema`` names.

One place for the names: the builders write them, and every reader (verify, figures, the HTML
report, STAC, evaluate) takes a document by them.
"""

from __future__ import annotations

__all__ = ["REPORT_SCHEMA", "SERIES_SCHEMA", "CHECK_SCHEMA", "SCHEMAS"]

#: A pair's report (``report.geojson`` of ``detect``, and each pair of a series or check).
REPORT_SCHEMA = "campwatch-report/1"
#: A series' report (``series.geojson``).
SERIES_SCHEMA = "campwatch-series/1"
#: A monthly check's report.
CHECK_SCHEMA = "campwatch-check/1"
#: Every document kind, by schema name.
SCHEMAS = {"report": REPORT_SCHEMA, "series": SERIES_SCHEMA, "check": CHECK_SCHEMA}
