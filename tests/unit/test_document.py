"""The documents' records read back: provenance typed, checked, and written as it was read."""

from __future__ import annotations

import json

import pytest

from campwatch.document import (
    REPORT_SCHEMA,
    SERIES_SCHEMA,
    ChangeFeature,
    InputRecord,
    Provenance,
    change_features,
    check_schema,
)
from campwatch.errors import InputError

SHA = "a" * 64


def _doc(**members):
    doc = {"type": "FeatureCollection", "schema": REPORT_SCHEMA, "parameters": {"min_area_m2": 25.0},
           "software": {"campwatch": "0.1.0"}, "outputs": {"change_mask.tif": SHA},
           "inputs": [{"role": "before", "path": "a_2020-01-01.tif", "sha256": SHA},
                      {"role": "image", "date": "2020-02-01", "path": "tiles/b.tif", "sha256": SHA,
                       "date_given": "2020-02-01", "bands_given": "red,green,blue", "scene": "tiles"}]}
    doc.update(members)
    return doc


def test_a_reports_provenance_is_read_typed_and_written_back_as_it_stood():
    doc = _doc()
    record = Provenance.from_geojson(doc, (REPORT_SCHEMA,), source="r.geojson")
    assert record.schema == REPORT_SCHEMA and record.outputs == {"change_mask.tif": SHA}
    assert [r.role for r in record.inputs] == ["before", "image"]
    image = record.of_role("image")[0]
    assert (image.date, image.scene, image.bands_given) == ("2020-02-01", "tiles", "red,green,blue")
    # Written back member for member, in the order reports have always had (date before path).
    assert [r.to_geojson() for r in record.inputs] == doc["inputs"]
    assert json.dumps(image.to_geojson()) == json.dumps(doc["inputs"][1])


def test_one_record_per_file_in_the_order_a_series_writes_it():
    rec = InputRecord(role="image", path="x.tif", sha256=SHA, date="2020-01-01")
    assert list(rec.to_geojson()) == ["role", "date", "path", "sha256"]
    given = InputRecord(role="before", path="x.tif", sha256=SHA, date_given="2020-01-01", scene="t")
    assert list(given.to_geojson()) == ["role", "path", "sha256", "date_given", "scene"]


@pytest.mark.parametrize("doc, message", [
    ({"schema": "campwatch-report/2"}, "a campwatch-report document of version 2, made by a newer campwatch; this "
                                       "one (.*) reads campwatch-report/1: update campwatch to read it"),
    ({"schema": "campwatch-report/0"}, r"not a campwatch report \(no schema 'campwatch-report/1'\)"),
    ({"schema": "stac/1"}, r"not a campwatch report \(no schema 'campwatch-report/1'\)"),
    ([1, 2], r"not a campwatch report \(no schema"),
    (_doc(inputs={"role": "x"}), r"'inputs' is not a list"),
    (_doc(inputs=[{"role": "before", "path": "a.tif"}]), r"inputs\[0\] has no 'sha256' string"),
    (_doc(inputs=[{"role": "before", "path": "a.tif", "sha256": "beef"}]), r"inputs\[0\].sha256 is not a SHA-256"),
    (_doc(inputs=[{"role": "before", "path": "a.tif", "sha256": SHA, "scene": 3}]), r"inputs\[0\].scene is not a"),
    (_doc(outputs={"../../x": SHA}), "the output name '../../x' leads out of the report's folder"),
    (_doc(outputs={"/etc/passwd": SHA}), "leads out of the report's folder"),
    (_doc(outputs={"C:x.tif": SHA}), "leads out of the report's folder"),
    (_doc(outputs={"x.tif": "nope"}), "the output 'x.tif' has no SHA-256"),
    (_doc(parameters=[1]), "'parameters' is not a table"),
])
def test_a_foreign_newer_or_malformed_document_is_refused_naming_why(doc, message):
    with pytest.raises(InputError, match=f"^r.geojson: .*{message}"):
        Provenance.from_geojson(doc, (REPORT_SCHEMA,), source="r.geojson")


def test_a_series_is_read_where_a_series_is_asked_for_and_only_there():
    assert check_schema({"schema": SERIES_SCHEMA}, (REPORT_SCHEMA, SERIES_SCHEMA), source="s") == SERIES_SCHEMA
    with pytest.raises(InputError, match="not a campwatch report"):
        check_schema({"schema": SERIES_SCHEMA}, (REPORT_SCHEMA,), source="s")


def _feature(**props):
    p = {"id": 3, "class": "structure_new", "confidence": 0.81, "area_m2": 240.0, "length_m": None,
         "interval": {"from": "2015-04-18", "to": "2015-09-26"}, "centroid_lonlat": [129.8, 41.8],
         "review": {"review": "confirmed"}}
    p.update(props)
    return {"type": "Feature", "id": p["id"], "geometry": {"type": "Point", "coordinates": [129.8, 41.8]},
            "properties": p}


def test_a_change_is_read_typed_and_written_back_as_it_stood():
    f = ChangeFeature.from_geojson(_feature(), source="r")
    assert (f.id, f.change_class, f.interval) == (3, "structure_new", ("2015-04-18", "2015-09-26"))
    assert (f.area_m2, f.length_m, f.confidence, f.centroid_lonlat) == (240.0, None, 0.81, (129.8, 41.8))
    assert (f.review, f.found_by, f.transient, f.series_status) == ("confirmed", "pair", False, None)
    assert f.to_geojson() == _feature()
    fence = ChangeFeature.from_geojson(_feature(**{"class": "fence_razed", "length_m": 50, "transient": True,
                                                   "found_by": "bridge", "series_status": "new"}), source="r")
    assert (fence.length_m, fence.transient, fence.found_by, fence.series_status) == (50.0, True, "bridge", "new")


@pytest.mark.parametrize("feature, message", [
    ([1], r"features\[0\] is not a feature with properties"),
    ({"type": "Feature", "geometry": [1], "properties": {"id": 1}}, r"features\[0\] has a geometry that is not a"),
    (_feature(**{"class": None}), r"features\[0\] has no class"),
    (_feature(id=True), r"features\[0\] has an id that is neither a number nor a string"),
    (_feature(interval={"from": "2015-04-18"}), r"features\[0\] has no interval of two dates"),
])
def test_a_malformed_change_is_not_a_campwatch_report(feature, message):
    with pytest.raises(InputError, match=f"^r: not a campwatch report \\({message}"):
        change_features({"features": [feature]}, source="r")
    with pytest.raises(InputError, match="'features' is not a list"):
        change_features({"features": {"a": 1}}, source="r")
