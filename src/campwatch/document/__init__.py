"""The kinds of document campwatch writes and reads back, by their ``schema`` names, and the records
every one of them carries to be traced and repeated.

One place for the names and the shapes: the builders write them, and every reader (verify, figures,
the HTML report, STAC, evaluate, the history) takes a document by them.

- :mod:`campwatch.document.records`: the schema and file names, :class:`InputRecord`,
  :class:`Provenance` and :class:`ChangeFeature`, with clear errors for a document of another
  kind, of a newer campwatch, or malformed;
- :mod:`campwatch.document.reports`: the reports themselves, typed (:class:`PairReport`,
  :class:`SeriesReport`, :class:`CheckReport`);
- :mod:`campwatch.document.lazy`: the list a report's features are streamed through.
"""

from campwatch.document.lazy import LazyList
from campwatch.document.records import (
    AFTER_REPORT,
    CHANGE_MASK,
    CHECK_REPORT,
    CHECK_SCHEMA,
    DESCRIBING,
    PAIR_OUTPUTS,
    PAIR_REPORT,
    REPORT_HTML,
    REPORT_SCHEMA,
    SCHEMAS,
    SERIES_REPORT,
    SERIES_SCHEMA,
    STAC_ITEM,
    ChangeFeature,
    InputRecord,
    JSONValue,
    Provenance,
    change_features,
    check_schema,
)
from campwatch.document.reports import (
    AnyReport,
    CheckReport,
    Coregistration,
    GridRecord,
    JSONTable,
    PairImage,
    PairReport,
    PairSummary,
    PossibleClasses,
    SeriesImage,
    SeriesReport,
)

__all__ = ["REPORT_SCHEMA", "SERIES_SCHEMA", "CHECK_SCHEMA", "SCHEMAS", "JSONValue", "JSONTable", "InputRecord",
           "Provenance", "check_schema", "PAIR_REPORT", "SERIES_REPORT", "CHECK_REPORT", "CHANGE_MASK", "STAC_ITEM",
           "REPORT_HTML", "PAIR_OUTPUTS", "DESCRIBING", "AFTER_REPORT", "ChangeFeature", "change_features", "LazyList",
           "PairImage", "GridRecord", "Coregistration", "PossibleClasses", "PairReport", "SeriesImage", "PairSummary",
           "SeriesReport", "CheckReport", "AnyReport"]
