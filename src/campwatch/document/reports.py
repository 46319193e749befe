"""The reports campwatch writes, typed: a pair's (:class:`PairReport`), a series' (:class:`SeriesReport`)
and a monthly check's (:class:`CheckReport`).

The builders make these and write :meth:`to_geojson`, member by member in the order campwatch has
always written them; every reader (verify, the figures, ``report.html``, STAC, evaluate, the
history) takes them from :meth:`from_geojson`, which checks what it reads and says which member of
which document is wrong. Free-form tables (a summary's counts, the parameters, a model's record)
stay JSON tables, typed as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from campwatch.document.lazy import LazyList
from campwatch.document.records import (
    CHECK_SCHEMA,
    REPORT_SCHEMA,
    SERIES_SCHEMA,
    ChangeFeature,
    JSONValue,
    Provenance,
    not_a_report,
)

__all__ = ["JSONTable", "PairImage", "GridRecord", "Coregistration", "PossibleClasses", "PairReport", "SeriesImage",
           "PairSummary", "SeriesReport", "CheckReport", "AnyReport"]

#: A JSON object: a member whose keys are data (a summary's counts, the parameters, a model's record).
JSONTable: TypeAlias = "dict[str, JSONValue]"


def _table(doc: JSONTable, key: str, source: str, where: str = "", *, required: bool = False) -> JSONTable | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise not_a_report(source, f"{where}{key!r} is not a table")
    return value


def _list(doc: JSONTable, key: str, source: str, where: str = "") -> list[JSONValue]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise not_a_report(source, f"{where}{key!r} is not a list")
    return value


def _text(doc: JSONTable, key: str, source: str, where: str = "", *, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise not_a_report(source, f"{where}{key!r} is not a string")
    return value


def _number(doc: JSONTable, key: str, source: str, where: str = "") -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise not_a_report(source, f"{where}{key!r} is not a number")
    return float(value)


def _numbers(value: JSONValue, n: int, source: str, what: str) -> tuple[float, ...]:
    if not (isinstance(value, list) and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise not_a_report(source, f"{what} is not {n} numbers")
    return tuple(float(v) for v in value)  # type: ignore[arg-type]


def _features(raw: JSONValue, source: str, key: str = "features") -> Sequence[ChangeFeature]:
    """A document's changes, typed: checked one by one, or made one at a time as they are read
    when the document holds them lazily (a report being written)."""
    if isinstance(raw, LazyList):
        return raw.mapped(lambda f: ChangeFeature.from_geojson(f, source=source))
    if not isinstance(raw, list):
        raise not_a_report(source, f"{key!r} is not a list")
    return [ChangeFeature.from_geojson(f, source=source, index=i) for i, f in enumerate(raw)]


def _feature_list(features: Sequence[ChangeFeature]) -> JSONValue:
    if isinstance(features, LazyList):
        return features.mapped(ChangeFeature.to_geojson)
    return [f.to_geojson() for f in features]


@dataclass(frozen=True)
class PairImage:
    """One image of a pair as its report records it."""

    file: str | None
    date: str
    #: Its SHA-256; None for a folder of tiles (one hash per tile, under ``inputs``).
    sha256: str | None
    files: int
    #: Each band's name (None where the file names none).
    bands: tuple[str | None, ...]
    dtype: str | None
    #: What the delivery's metadata says (time, sensor, sun and view angles), when it says it.
    acquisition: JSONTable | None = None

    def to_geojson(self) -> JSONTable:
        out: JSONTable = {"file": self.file, "date": self.date, "sha256": self.sha256, "files": self.files,
                          "bands": list(self.bands), "dtype": self.dtype}
        if self.acquisition is not None:
            out["acquisition"] = self.acquisition
        return out

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str, role: str) -> PairImage:
        where = f"images.{role}."
        if not isinstance(rec, dict):
            raise not_a_report(source, f"images.{role} is not a table")
        bands = _list(rec, "bands", source, where)
        if not all(isinstance(b, (str, type(None))) for b in bands):
            raise not_a_report(source, f"{where}bands are not names")
        files = rec.get("files", 1)
        if not isinstance(files, int) or isinstance(files, bool):
            raise not_a_report(source, f"{where}files is not a count")
        date = _text(rec, "date", source, where)
        assert date is not None
        return cls(file=_text(rec, "file", source, where, required=False), date=date,
                   sha256=_text(rec, "sha256", source, where, required=False), files=files,
                   bands=tuple(None if b is None else str(b) for b in bands), dtype=_text(rec, "dtype", source, where, required=False),
                   acquisition=_table(rec, "acquisition", source, where))


@dataclass(frozen=True)
class GridRecord:
    """The analysed grid: its affine transform (six numbers), size and window of the earlier image."""

    transform: tuple[float, ...]
    width: int
    height: int
    #: ``col_off``, ``row_off``, ``width``, ``height`` of the window read from the earlier image, or None.
    window: dict[str, int] | None

    def to_geojson(self) -> JSONTable:
        return {"transform": list(self.transform), "width": self.width, "height": self.height,
                "window": None if self.window is None else dict(self.window)}

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str) -> GridRecord:
        if not isinstance(rec, dict):
            raise not_a_report(source, "'grid' is not a table")
        transform = _numbers(rec.get("transform"), 6, source, "grid.transform")
        size = [rec.get("width"), rec.get("height")]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size):
            raise not_a_report(source, "grid.width and grid.height are not sizes")
        window = _table(rec, "window", source, "grid.")
        if window is not None and not all(isinstance(window.get(k), int)
                                          for k in ("col_off", "row_off", "width", "height")):
            raise not_a_report(source, "grid.window is not a window")
        return cls(transform=transform, width=int(size[0]), height=int(size[1]),  # type: ignore[arg-type]
                   window=None if window is None else {k: int(v) for k, v in window.items()})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Coregistration:
    """The shift (rows, columns) by which the later image was moved onto the earlier one, and what was left."""

    shift_px: tuple[float, float]
    applied: bool
    #: The shift left after it, by phase correlation on tiles (``median_px``, ``max_px``, ``tiles``), or None.
    residual: JSONTable | None = None
    note: str | None = None

    def to_geojson(self) -> JSONTable:
        return {"shift_px": list(self.shift_px), "applied": self.applied, "residual": self.residual,
                "note": self.note}

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str) -> Coregistration | None:
        if rec is None:  # a report of an older campwatch
            return None
        if not isinstance(rec, dict):
            raise not_a_report(source, "'coregistration' is not a table")
        shift = _numbers(rec.get("shift_px", [0.0, 0.0]), 2, source, "coregistration.shift_px")
        residual = _table(rec, "residual", source, "coregistration.")
        if residual:  # what report.html says of it
            _numbers([residual.get(k) for k in ("median_px", "max_px", "tiles")], 3, source, "coregistration.residual")
        return cls(shift_px=(shift[0], shift[1]), applied=bool(rec.get("applied")), residual=residual,
                   note=_text(rec, "note", source, "coregistration.", required=False))


@dataclass(frozen=True)
class PossibleClasses:
    """The classes a report's imagery can show at its pixel size, and why not the others."""

    pixel_size_m: float | None
    possible: tuple[str, ...]
    #: Each class not looked for, to why.
    not_possible: dict[str, str]

    def to_geojson(self) -> JSONTable:
        return {"pixel_size_m": self.pixel_size_m, "possible": list(self.possible),
                "not_possible": dict(self.not_possible)}  # type: ignore[dict-item]

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str) -> PossibleClasses | None:
        if rec is None:
            return None
        if not isinstance(rec, dict):
            raise not_a_report(source, "'classes' is not a table")
        possible = _list(rec, "possible", source, "classes.")
        why = _table(rec, "not_possible", source, "classes.") or {}
        if not all(isinstance(c, str) for c in possible) or not all(isinstance(v, str) for v in why.values()):
            raise not_a_report(source, "'classes' does not name classes")
        return cls(pixel_size_m=_number(rec, "pixel_size_m", source, "classes."),
                   possible=tuple(str(c) for c in possible), not_possible={k: str(v) for k, v in why.items()})


def _provenance_members(prov: Provenance) -> tuple[JSONTable, JSONTable]:
    return ({"parameters": prov.parameters}, {"software": prov.software,
                                              "inputs": [rec.to_geojson() for rec in prov.inputs],
                                              "outputs": dict(prov.outputs)})  # type: ignore[dict-item]


@dataclass(frozen=True)
class PairReport:
    """A pair's report (``report.geojson``): what changed between two images, and how it was found."""

    aoi: JSONTable | None
    before: PairImage
    after: PairImage
    #: The dates between which the changes happened (from, to).
    interval: tuple[str, str]
    analysis_crs: str | None
    grid: GridRecord | None
    model: JSONTable | None
    confidence: JSONTable | None
    thresholds: JSONTable | None
    #: None in a report of an older campwatch, which recorded none.
    coregistration: Coregistration | None
    #: How the pair was analysed in blocks, or None when whole.
    blocks: JSONTable | None
    summary: JSONTable
    class_codes: dict[str, int]
    classes: PossibleClasses | None
    warnings: tuple[str, ...]
    provenance: Provenance
    features: Sequence[ChangeFeature]

    schema = REPORT_SCHEMA

    @property
    def aoi_name(self) -> str | None:
        name = (self.aoi or {}).get("name")
        return name if isinstance(name, str) else None

    def to_geojson(self) -> JSONTable:
        """The report as campwatch writes it (its features made as they are written when held lazily)."""
        parameters, rest = _provenance_members(self.provenance)
        return {
            "type": "FeatureCollection", "schema": self.schema, "aoi": self.aoi,
            "images": {"before": self.before.to_geojson(), "after": self.after.to_geojson()},
            "interval": {"from": self.interval[0], "to": self.interval[1]},
            "analysis_crs": self.analysis_crs, "grid": None if self.grid is None else self.grid.to_geojson(),
            **parameters, "model": self.model, "confidence": self.confidence, "thresholds": self.thresholds,
            "coregistration": None if self.coregistration is None else self.coregistration.to_geojson(),
            **({"blocks": self.blocks} if self.blocks is not None else {}),
            "summary": self.summary, "class_codes": dict(self.class_codes),  # type: ignore[dict-item]
            "classes": None if self.classes is None else self.classes.to_geojson(),
            "warnings": list(self.warnings), **rest, "features": _feature_list(self.features),
        }

    @classmethod
    def from_geojson(cls, doc: JSONValue, *, source: str) -> PairReport:
        """The report of ``doc``, read from ``source``.

        Raises
        ------
        InputError
            For another kind of document, one made by a newer campwatch, or a member of the wrong kind.
        """
        prov = Provenance.from_geojson(doc, (REPORT_SCHEMA,), source=source)
        assert isinstance(doc, dict)
        images = _table(doc, "images", source, required=True)
        interval = _table(doc, "interval", source, required=True)
        assert images is not None and interval is not None
        start, end = _text(interval, "from", source, "interval."), _text(interval, "to", source, "interval.")
        codes = _table(doc, "class_codes", source) or {}
        warnings = _list(doc, "warnings", source)
        return cls(
            aoi=_table(doc, "aoi", source), before=PairImage.from_geojson(images.get("before"), source=source, role="before"),
            after=PairImage.from_geojson(images.get("after"), source=source, role="after"),
            interval=(str(start), str(end)), analysis_crs=_text(doc, "analysis_crs", source, required=False),
            grid=None if doc.get("grid") is None else GridRecord.from_geojson(doc["grid"], source=source),
            model=_table(doc, "model", source), confidence=_table(doc, "confidence", source),
            thresholds=_table(doc, "thresholds", source),
            coregistration=Coregistration.from_geojson(doc.get("coregistration"), source=source),
            blocks=_table(doc, "blocks", source), summary=_table(doc, "summary", source) or {},
            class_codes={k: int(v) for k, v in codes.items() if isinstance(v, int)},
            classes=PossibleClasses.from_geojson(doc.get("classes"), source=source),
            warnings=tuple(str(w) for w in warnings), provenance=prov,
            features=_features(doc.get("features", []), source),
        )


@dataclass(frozen=True)
class SeriesImage:
    """What became of one image of a series or check: compared, skipped (and why) or pending."""

    file: str
    date: str
    status: str
    hidden_fraction: float | None = None
    reason: str | None = None

    def to_geojson(self) -> JSONTable:
        return {"file": self.file, "date": self.date, "status": self.status,
                "hidden_fraction": self.hidden_fraction, "reason": self.reason}

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str, index: int) -> SeriesImage:
        where = f"images[{index}]."
        if not isinstance(rec, dict):
            raise not_a_report(source, f"images[{index}] is not a table")
        file, date = _text(rec, "file", source, where, required=False), _text(rec, "date", source, where)
        status = _text(rec, "status", source, where)
        return cls(file=file or "", date=str(date), status=str(status),
                   hidden_fraction=_number(rec, "hidden_fraction", source, where),
                   reason=_text(rec, "reason", source, where, required=False))


@dataclass(frozen=True)
class PairSummary:
    """What a series or check records of one pair it compared (its report is in ``folder``)."""

    start: str
    end: str
    before_image: str | None
    after_image: str | None
    folder: str | None
    counts: dict[str, int]
    fence_length_m: JSONTable | None
    shift_px: tuple[float, float]
    residual_shift: JSONTable | None
    #: The share of the AOI hidden on each date (before, after).
    hidden_fraction: tuple[float, float]
    #: The structures and towers each date holds: ``{"before": {...}, "after": {...}}``, counted in
    #: the whole analysed area (``structures_seen``) or only near change (``structures_near_change``).
    structures: JSONTable | None
    structures_near_change: bool
    warnings: tuple[str, ...]
    outputs: dict[str, str]
    #: Changes on the pair's map that the series counts in an earlier interval.
    counted_earlier: int | None = None
    #: In a check: ``pair``, ``bridge`` or ``baseline``.
    kind: str | None = None

    @property
    def interval(self) -> tuple[str, str]:
        return self.start, self.end

    def to_geojson(self) -> JSONTable:
        out: JSONTable = {
            "from": self.start, "to": self.end, "before_image": self.before_image, "after_image": self.after_image,
            "folder": self.folder, "counts": dict(self.counts),  # type: ignore[dict-item]
            "fence_length_m": self.fence_length_m, "shift_px": list(self.shift_px),
            "residual_shift": self.residual_shift,
            "hidden_fraction": {"before": self.hidden_fraction[0], "after": self.hidden_fraction[1]},
        }
        if self.structures is not None:
            out["structures_near_change" if self.structures_near_change else "structures_seen"] = self.structures
        out |= {"warnings": list(self.warnings), "outputs": dict(self.outputs)}  # type: ignore[dict-item]
        if self.counted_earlier is not None:
            out["counted_earlier"] = self.counted_earlier
        if self.kind is not None:
            out["kind"] = self.kind
        return out

    @classmethod
    def from_geojson(cls, rec: JSONValue, *, source: str, index: int, key: str = "pairs") -> PairSummary:
        where = f"{key}[{index}]."
        if not isinstance(rec, dict):
            raise not_a_report(source, f"{key}[{index}] is not a table")
        hidden = _table(rec, "hidden_fraction", source, where) or {}
        hidden_before = _number(hidden, "before", source, f"{where}hidden_fraction.") or 0.0
        hidden_after = _number(hidden, "after", source, f"{where}hidden_fraction.") or 0.0
        near = rec.get("structures_near_change")
        structures = _table(rec, "structures_near_change" if near is not None else "structures_seen", source, where)
        counts = _table(rec, "counts", source, where) or {}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            raise not_a_report(source, f"{where}counts are not counts")
        outputs = _table(rec, "outputs", source, where) or {}
        earlier = rec.get("counted_earlier")
        shift = _numbers(rec.get("shift_px", [0.0, 0.0]), 2, source, f"{where}shift_px")
        return cls(
            start=str(_text(rec, "from", source, where)), end=str(_text(rec, "to", source, where)),
            before_image=_text(rec, "before_image", source, where, required=False),
            after_image=_text(rec, "after_image", source, where, required=False),
            folder=_text(rec, "folder", source, where, required=False),
            counts={k: int(v) for k, v in counts.items()},  # type: ignore[arg-type]
            fence_length_m=_table(rec, "fence_length_m", source, where), shift_px=(shift[0], shift[1]),
            residual_shift=_table(rec, "residual_shift", source, where),
            hidden_fraction=(hidden_before, hidden_after),
            structures=structures, structures_near_change=near is not None,
            warnings=tuple(str(w) for w in _list(rec, "warnings", source, where)),
            outputs={k: str(v) for k, v in outputs.items()},
            counted_earlier=int(earlier) if isinstance(earlier, int) else None,
            kind=_text(rec, "kind", source, where, required=False),
        )


def _summaries(doc: JSONTable, key: str, source: str) -> tuple[PairSummary, ...]:
    return tuple(PairSummary.from_geojson(p, source=source, index=i, key=key)
                 for i, p in enumerate(_list(doc, key, source)))


def _images(doc: JSONTable, source: str) -> tuple[SeriesImage, ...]:
    return tuple(SeriesImage.from_geojson(r, source=source, index=i) for i, r in enumerate(_list(doc, "images", source)))


@dataclass(frozen=True)
class SeriesReport:
    """A series' report (``series.geojson``): every change once, dated to its interval; the images
    compared or skipped, the pairs and the bridges across clouds.

    Made by hand (the timeline of a check's history), it needs only the AOI, the images, the pairs
    and the changes."""

    aoi: JSONTable | None
    images: tuple[SeriesImage, ...]
    pairs: tuple[PairSummary, ...]
    features: Sequence[ChangeFeature]
    analysis_crs: str | None = None
    model: JSONTable | None = None
    confidence: JSONTable | None = None
    summary: JSONTable = field(default_factory=dict)
    provenance: Provenance = field(default_factory=lambda: Provenance(SERIES_SCHEMA, (), {}, {}, {}))
    classes: PossibleClasses | None = None
    #: The resolution the figures were made at, or None when the run made none.
    figures_dpi: int | None = None
    bridges: tuple[PairSummary, ...] = ()

    schema = SERIES_SCHEMA

    @property
    def aoi_name(self) -> str | None:
        name = (self.aoi or {}).get("name")
        return name if isinstance(name, str) else None

    @property
    def compared(self) -> list[SeriesImage]:
        return [i for i in self.images if i.status == "compared"]

    def to_geojson(self) -> JSONTable:
        parameters, rest = _provenance_members(self.provenance)
        return {
            "type": "FeatureCollection", "schema": self.schema, "pair_schema": REPORT_SCHEMA, "aoi": self.aoi,
            "analysis_crs": self.analysis_crs, "images": [i.to_geojson() for i in self.images],
            "pairs": [p.to_geojson() for p in self.pairs], **parameters, "model": self.model,
            "confidence": self.confidence, "summary": self.summary, **rest,
            "features": _feature_list(self.features),
            "classes": None if self.classes is None else self.classes.to_geojson(),
            "figures": None if self.figures_dpi is None else {"dpi": self.figures_dpi},
            "bridges": [b.to_geojson() for b in self.bridges],
        }

    @classmethod
    def from_geojson(cls, doc: JSONValue, *, source: str) -> SeriesReport:
        """The series of ``doc``, read from ``source`` (errors as :meth:`PairReport.from_geojson`)."""
        prov = Provenance.from_geojson(doc, (SERIES_SCHEMA,), source=source)
        assert isinstance(doc, dict)
        figures = _table(doc, "figures", source)
        dpi = (figures or {}).get("dpi")
        return cls(
            aoi=_table(doc, "aoi", source), analysis_crs=_text(doc, "analysis_crs", source, required=False),
            images=_images(doc, source), pairs=_summaries(doc, "pairs", source), model=_table(doc, "model", source),
            confidence=_table(doc, "confidence", source), summary=_table(doc, "summary", source) or {},
            provenance=prov, features=_features(doc.get("features", []), source),
            classes=PossibleClasses.from_geojson(doc.get("classes"), source=source),
            figures_dpi=dpi if isinstance(dpi, int) and not isinstance(dpi, bool) else None,
            bridges=_summaries(doc, "bridges", source),
        )


@dataclass(frozen=True)
class CheckReport:
    """A monthly check's ``check.json``: its row of the history, the images and pairs, what is new."""

    #: The check's row of the history's ``checks`` layer (``check_id``, ``status``, ``summary``, dates...).
    check: JSONTable
    aoi: JSONTable | None
    images: tuple[SeriesImage, ...]
    pairs: tuple[PairSummary, ...]
    new: tuple[ChangeFeature, ...]
    known_false_alarms: tuple[ChangeFeature, ...]
    model: JSONTable | None
    confidence: JSONTable | None
    classes: PossibleClasses | None
    provenance: Provenance

    schema = CHECK_SCHEMA

    @property
    def check_id(self) -> str:
        return str(self.check.get("check_id"))

    def to_geojson(self) -> JSONTable:
        return {
            "schema": self.schema, "check": self.check, "aoi": self.aoi, "images": [i.to_geojson() for i in self.images],
            "pairs": [p.to_geojson() for p in self.pairs], "parameters": self.provenance.parameters,
            "new": [f.to_geojson() for f in self.new],
            "known_false_alarms": [f.to_geojson() for f in self.known_false_alarms],
            "inputs": [rec.to_geojson() for rec in self.provenance.inputs], "model": self.model,
            "confidence": self.confidence, "classes": None if self.classes is None else self.classes.to_geojson(),
            "software": self.provenance.software,
        }

    @classmethod
    def from_geojson(cls, doc: JSONValue, *, source: str) -> CheckReport:
        """The check of ``doc``, read from ``source`` (errors as :meth:`PairReport.from_geojson`)."""
        prov = Provenance.from_geojson(doc, (CHECK_SCHEMA,), source=source)
        assert isinstance(doc, dict)
        check = _table(doc, "check", source, required=True)
        assert check is not None
        return cls(
            check=check, aoi=_table(doc, "aoi", source), images=_images(doc, source), pairs=_summaries(doc, "pairs", source),
            new=tuple(_features(doc.get("new", []), source, "new")),
            known_false_alarms=tuple(_features(doc.get("known_false_alarms", []), source, "known_false_alarms")),
            model=_table(doc, "model", source), confidence=_table(doc, "confidence", source),
            classes=PossibleClasses.from_geojson(doc.get("classes"), source=source), provenance=prov,
        )


#: Any of campwatch's reports.
AnyReport: TypeAlias = "PairReport | SeriesReport | CheckReport"
