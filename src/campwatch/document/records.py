"""The names of campwatch's documents (their ``schema``, their files), and the records every one of
them carries to be traced and repeated. :class:`Provenance` is what a report records of
its inputs (:class:`InputRecord`), outputs, parameters and software, read back with clear errors
for a document of another kind, of a newer campwatch, or malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import TypeAlias

from campwatch._version import __version__
from campwatch.errors import InputError

__all__ = ["REPORT_SCHEMA", "SERIES_SCHEMA", "CHECK_SCHEMA", "SCHEMAS", "JSONValue", "InputRecord", "Provenance",
           "check_schema", "not_a_report", "PAIR_REPORT", "SERIES_REPORT", "CHECK_REPORT", "CHANGE_MASK", "STAC_ITEM", "REPORT_HTML",
           "PAIR_OUTPUTS", "DESCRIBING", "AFTER_REPORT", "ChangeFeature", "change_features"]

#: A pair's report (``report.geojson`` of ``detect``, and each pair of a series or check).
REPORT_SCHEMA = "campwatch-report/1"
#: A series' report (``series.geojson``).
SERIES_SCHEMA = "campwatch-series/1"
#: A monthly check's report.
CHECK_SCHEMA = "campwatch-check/1"
#: Every document kind, by schema name.
SCHEMAS = {"report": REPORT_SCHEMA, "series": SERIES_SCHEMA, "check": CHECK_SCHEMA}


#: A value of a JSON document.
JSONValue: TypeAlias = "str | int | float | bool | None | list[JSONValue] | dict[str, JSONValue]"

_SHA256 = re.compile(r"[0-9a-f]{64}")


def not_a_report(source: str, problem: str) -> InputError:
    """The error for a document read from ``source`` that is not a campwatch report, saying why."""
    return InputError(f"{source}: not a campwatch report ({problem})")


def check_schema(doc: object, schemas: tuple[str, ...], *, source: str) -> str:
    """The schema of ``doc`` when it is one of ``schemas``.

    Raises
    ------
    InputError
        For a document of another kind ("not a campwatch report"), or of a later version of one of
        ``schemas`` (made by a newer campwatch: saying which version this one reads).
    """
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if schema in schemas:
        return str(schema)
    if isinstance(schema, str) and "/" in schema:
        name, version = schema.rsplit("/", 1)
        known = [s for s in schemas if s.rsplit("/", 1)[0] == name]
        if known and version.isdigit() and int(version) > int(known[0].rsplit("/", 1)[1]):
            raise InputError(f"{source}: a {name} document of version {version}, made by a newer campwatch; this "
                             f"one ({__version__}) reads {known[0]}: update campwatch to read it")
    raise not_a_report(source, f"no schema {' or '.join(map(repr, schemas))}")


@dataclass(frozen=True)
class InputRecord:
    """One input file of a run: what it was for, where it was, its SHA-256, and what the user said of it.

    ``role``: ``before``, ``after``, ``image`` (of a series or check), ``aoi``, ``mask``,
    ``model`` or ``model card``. ``date``: an image's date in a series or check; ``date_given``
    and ``bands_given``: what the user gave instead of what the file says; ``scene``: the
    scene (a folder of tiles, a Sentinel-2 SAFE) a file is one part of.
    """

    role: str
    path: str
    sha256: str
    date: str | None = None
    date_given: str | None = None
    bands_given: str | None = None
    scene: str | None = None

    def to_geojson(self) -> dict[str, JSONValue]:
        """The record as a report writes it (members left out when unset)."""
        out: dict[str, JSONValue] = {"role": self.role}
        if self.date is not None:
            out["date"] = self.date
        out |= {"path": self.path, "sha256": self.sha256}
        for name in ("date_given", "bands_given", "scene"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_geojson(cls, rec: object, *, source: str, index: int = 0) -> InputRecord:
        """The record ``inputs[index]`` of a report read from ``source``.

        Raises
        ------
        InputError
            When it is not a table with a string ``role``, ``path`` and SHA-256, or a member is not a string.
        """
        if not isinstance(rec, dict):
            raise not_a_report(source, f"inputs[{index}] is not a table")
        for key in ("role", "path", "sha256"):
            if not isinstance(rec.get(key), str):
                raise not_a_report(source, f"inputs[{index}] has no {key!r} string")
        if not _SHA256.fullmatch(rec["sha256"]):
            raise not_a_report(source, f"inputs[{index}].sha256 is not a SHA-256")
        extra = {}
        for key in ("date", "date_given", "bands_given", "scene"):
            value = rec.get(key)
            if value is not None and not isinstance(value, str):
                raise not_a_report(source, f"inputs[{index}].{key} is not a string")
            extra[key] = value
        return cls(role=rec["role"], path=rec["path"], sha256=rec["sha256"], **extra)


@dataclass(frozen=True)
class Provenance:
    """What a report records so that it can be traced and repeated: its inputs and outputs with their
    SHA-256, the parameters and the software (:meth:`from_geojson` checks each)."""

    schema: str
    inputs: tuple[InputRecord, ...]
    #: Output file name (inside the report's folder) to its SHA-256.
    outputs: dict[str, str]
    parameters: dict[str, JSONValue]
    software: dict[str, JSONValue]

    def of_role(self, role: str) -> list[InputRecord]:
        """The inputs of ``role``, in the order recorded."""
        return [rec for rec in self.inputs if rec.role == role]

    @classmethod
    def from_geojson(cls, doc: object, schemas: tuple[str, ...], *, source: str) -> Provenance:
        """The provenance of a report (a document whose ``schema`` is one of ``schemas``).

        Raises
        ------
        InputError
            When it is another kind of document, one made by a newer campwatch, or its records are
            malformed: an input without role, path or SHA-256, an output name that leads out of the
            report's folder, a member that is not a table.
        """
        schema = check_schema(doc, schemas, source=source)
        assert isinstance(doc, dict)
        for key in ("software", "parameters", "summary", "aoi"):
            if key in doc and doc[key] is not None and not isinstance(doc[key], dict):
                raise not_a_report(source, f"{key!r} is not a table")
        inputs = doc.get("inputs", [])
        if not isinstance(inputs, list):
            raise not_a_report(source, "'inputs' is not a list")
        records = tuple(InputRecord.from_geojson(rec, source=source, index=i) for i, rec in enumerate(inputs))
        outputs = doc.get("outputs", {})
        if not isinstance(outputs, dict):
            raise not_a_report(source, "'outputs' is not a table")
        for name, digest in outputs.items():
            parts = PurePosixPath(name).parts
            if not name or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name or "\x00" in name \
                    or PureWindowsPath(name).drive:
                raise not_a_report(source, f"the output name {name[:80]!r} leads out of the report's folder")
            if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
                raise not_a_report(source, f"the output {name[:80]!r} has no SHA-256")
        return cls(schema=schema, inputs=records, outputs=dict(outputs), parameters=dict(doc.get("parameters") or {}),
                   software=dict(doc.get("software") or {}))


#: The file names of the documents campwatch writes, by kind.
PAIR_REPORT = "report.geojson"
SERIES_REPORT = "series.geojson"
CHECK_REPORT = "check.json"
CHANGE_MASK = "change_mask.tif"
STAC_ITEM = "item.json"
REPORT_HTML = "report.html"

#: The files a pair's run delivers (``detect``, and each pair of a series or check), in the order they
#: are committed: the report after every output it hashes, then the STAC Item that describes it.
PAIR_OUTPUTS = (CHANGE_MASK, "change_mask.tif.aux.xml", "change_mask.qml", "change_map.png", PAIR_REPORT,
                "report.qml", STAC_ITEM)
#: The files a report describes rather than hashes: itself and its STAC Item.
DESCRIBING = (PAIR_REPORT, SERIES_REPORT, CHECK_REPORT, STAC_ITEM)
#: The files written after a report, which it cannot hash: ``verify`` compares them with its re-run's.
AFTER_REPORT = (STAC_ITEM, REPORT_HTML)


@dataclass(frozen=True)
class ChangeFeature:
    """One change of a report, a series or a check: a GeoJSON Feature (WGS84), read back typed.

    ``properties`` holds every property as written; the members below read the ones the
    figures, the HTML report and the scores take.
    """

    #: Its id in the document (None where a document made by hand for a timeline gives none).
    id: int | str | None
    change_class: str
    #: The GeoJSON geometry, WGS84 (None where a document made by hand for a timeline holds none).
    geometry: dict[str, JSONValue] | None
    #: The dates of the images between which it happened (from, to).
    interval: tuple[str, str]
    properties: dict[str, JSONValue]

    @property
    def area_m2(self) -> float:
        return float(self.properties.get("area_m2") or 0.0)  # type: ignore[arg-type]

    @property
    def length_m(self) -> float | None:
        value = self.properties.get("length_m")
        return None if value is None else float(value)  # type: ignore[arg-type]

    @property
    def confidence(self) -> float:
        return float(self.properties.get("confidence") or 0.0)  # type: ignore[arg-type]

    @property
    def transient(self) -> bool:
        """Seen on one image only (a series' transient change): kept in the report, not counted."""
        return bool(self.properties.get("transient"))

    @property
    def found_by(self) -> str:
        return str(self.properties.get("found_by", "pair"))

    @property
    def series_status(self) -> str | None:
        value = self.properties.get("series_status")
        return None if value is None else str(value)

    @property
    def centroid_lonlat(self) -> tuple[float, float] | None:
        value = self.properties.get("centroid_lonlat")
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            return float(value[0]), float(value[1])  # type: ignore[arg-type]
        return None

    @property
    def review(self) -> str | None:
        """What the analyst said of it (confirmed, rejected, corrected), when they reviewed it."""
        value = self.properties.get("review")
        return str(value.get("review")) if isinstance(value, dict) and value.get("review") is not None else None

    def to_geojson(self) -> dict[str, JSONValue]:
        """The feature as a report writes it."""
        return {"type": "Feature", "id": self.id, "geometry": self.geometry, "properties": self.properties}

    @classmethod
    def from_geojson(cls, feature: object, *, source: str, index: int = 0) -> ChangeFeature:
        """The change ``features[index]`` of a document read from ``source``.

        Raises
        ------
        InputError
            When it is not a Feature with a class and an interval of two dates, or its id or geometry
            is of the wrong kind.
        """
        where = f"features[{index}]"
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise not_a_report(source, f"{where} is not a feature with properties")
        props = feature["properties"]
        if not isinstance(feature.get("geometry"), (dict, type(None))):
            raise not_a_report(source, f"{where} has a geometry that is not a GeoJSON geometry")
        if not isinstance(props.get("class"), str):
            raise not_a_report(source, f"{where} has no class")
        if not isinstance(props.get("id"), (int, str, type(None))) or isinstance(props.get("id"), bool):
            raise not_a_report(source, f"{where} has an id that is neither a number nor a string")
        interval = props.get("interval")
        if not (isinstance(interval, dict) and isinstance(interval.get("from"), str)
                and isinstance(interval.get("to"), str)):
            raise not_a_report(source, f"{where} has no interval of two dates")
        for key in ("area_m2", "length_m", "confidence"):
            value = props.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise not_a_report(source, f"{where}.{key} is not a number")
        return cls(id=props.get("id"), change_class=props["class"], geometry=feature.get("geometry"),
                   interval=(interval["from"], interval["to"]), properties=props)


def change_features(doc: dict[str, JSONValue], *, source: str) -> list[ChangeFeature]:
    """Every change of a report, a series or a check (its ``features``), read typed.

    Raises
    ------
    InputError
        When ``features`` is not a list, or one of them is not a change (:meth:`ChangeFeature.from_geojson`).
    """
    features = doc.get("features", [])
    if not isinstance(features, list):
        raise not_a_report(source, "'features' is not a list")
    return [ChangeFeature.from_geojson(f, source=source, index=i) for i, f in enumerate(features)]
