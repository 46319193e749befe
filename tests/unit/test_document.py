"""The documents' records read back: provenance typed, checked, and written as it was read."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.document import (
    CHECK_SCHEMA,
    REPORT_SCHEMA,
    SERIES_SCHEMA,
    ChangeFeature,
    CheckReport,
    InputRecord,
    LazyList,
    PairReport,
    Provenance,
    SeriesReport,
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


def _pair_doc(**members):
    """A pair's report as campwatch writes it, member for member, in its order."""
    doc = {
        "type": "FeatureCollection", "schema": REPORT_SCHEMA, "aoi": {"name": "Camp 25", "bounds": [129.7, 41.8, 129.8, 41.9]},
        "images": {"before": {"file": "a.tif", "date": "2020-01-01", "sha256": SHA, "files": 1,
                              "bands": ["red", None], "dtype": "uint8"},
                   "after": {"file": "b.tif", "date": "2020-05-01", "sha256": None, "files": 2, "bands": ["red", None],
                             "dtype": "uint8", "acquisition": {"sensor": "WV02"}}},
        "interval": {"from": "2020-01-01", "to": "2020-05-01"}, "analysis_crs": "EPSG:32652",
        "grid": {"transform": [0.5, 0.0, 600000.0, 0.0, -0.5, 4640000.0], "width": 512, "height": 256,
                 "window": None},
        "parameters": {"min_area_m2": 25.0}, "model": {"used": False, "note": "none"},
        "confidence": {"name": "c", "fitted_on": ["sample"]}, "thresholds": {"gain": 0.2},
        "coregistration": {"shift_px": [0.5, -1.0], "applied": True, "residual": None, "note": "n"},
        "summary": {"counts": {"structure_new": 1}}, "class_codes": {"structure_new": 1, "no_change": 0},
        "classes": {"pixel_size_m": 0.5, "possible": ["structure_new"], "not_possible": {"fence_razed": "coarse"}},
        "warnings": ["w"], "software": {"campwatch": "0.1.0"},
        "inputs": [{"role": "before", "path": "a.tif", "sha256": SHA}], "outputs": {"change_mask.tif": SHA},
        "features": [_feature(id=1, area_m2=120.0)],
    }
    doc.update(members)
    return doc


def test_a_pair_report_is_read_typed_and_written_back_as_it_stood():
    doc = _pair_doc()
    report = PairReport.from_geojson(doc, source="r.geojson")
    assert report.interval == ("2020-01-01", "2020-05-01") and report.aoi_name == "Camp 25"
    assert report.before.bands == ("red", None) and report.after.sha256 is None and report.after.files == 2
    assert report.grid is not None and (report.grid.width, report.grid.height) == (512, 256)
    assert report.coregistration is not None and report.coregistration.shift_px == (0.5, -1.0)
    assert report.classes is not None and report.classes.not_possible == {"fence_razed": "coarse"}
    assert [f.area_m2 for f in report.features] == [120.0]
    assert report.provenance.outputs == {"change_mask.tif": SHA}
    assert json.dumps(report.to_geojson()) == json.dumps(doc)
    # A report of an older campwatch without the members added since is read; they are None.
    old = {k: v for k, v in doc.items() if k not in ("coregistration", "thresholds", "confidence", "classes")}
    older = PairReport.from_geojson(old, source="old.geojson")
    assert older.coregistration is None and older.classes is None and older.thresholds is None


def test_a_report_being_written_keeps_its_features_lazy():
    made = []

    def features():
        for i in range(3):
            made.append(i)
            yield _feature(id=i)

    report = PairReport.from_geojson(_pair_doc(features=LazyList(features, 3)), source="r.geojson")
    assert made == [] and len(report.features) == 3  # nothing made until it is iterated
    assert [f.id for f in report.features] == [0, 1, 2]
    out = report.to_geojson()["features"]
    assert isinstance(out, LazyList) and [f["id"] for f in out] == [0, 1, 2]


@pytest.mark.parametrize(("members", "message"), [
    ({"images": []}, "'images' is not a table"),
    ({"images": {"before": {"date": "2020-01-01"}}}, "images.after is not a table"),
    ({"interval": {"from": "2020-01-01"}}, "interval.'to' is not a string"),
    ({"grid": {"transform": [1, 2, 3], "width": 5, "height": 5}}, "grid.transform is not 6 numbers"),
    ({"grid": {"transform": [1, 0, 0, 0, -1, 0], "width": -5, "height": 5}}, "grid.width and grid.height are not sizes"),
    ({"coregistration": {"shift_px": ["a", 1]}}, "coregistration.shift_px is not 2 numbers"),
    ({"classes": {"possible": [1]}}, "'classes' does not name classes"),
    ({"summary": [1]}, "'summary' is not a table"),
    ({"warnings": "w"}, "'warnings' is not a list"),
    ({"features": {}}, "'features' is not a list"),
    ({"features": [_feature(area_m2="120")]}, "features[0].area_m2 is not a number"),
    ({"coregistration": {"shift_px": [0, 0], "residual": {"median_px": "x"}}}, "coregistration.residual is not 3"),
])
def test_a_malformed_pair_report_is_refused_naming_the_member(members, message):
    with pytest.raises(InputError, match="not a campwatch report") as err:
        PairReport.from_geojson(_pair_doc(**members), source="r.geojson")
    assert message in str(err.value)


def _pair_summary(**members):
    summary = {"from": "2020-01-01", "to": "2020-05-01", "before_image": "a.tif", "after_image": "b.tif",
               "folder": "pairs/2020-01-01_2020-05-01", "counts": {"structure_new": 1},
               "fence_length_m": {"fence_razed": 0.0}, "shift_px": [0.0, 0.0], "residual_shift": None,
               "hidden_fraction": {"before": 0.0, "after": 0.25},
               "structures_seen": {"before": {"structure": 2}, "after": {"structure": 3}}, "warnings": [],
               "outputs": {"report.geojson": SHA}, "counted_earlier": 0}
    summary.update(members)
    return summary


def test_a_series_and_a_check_are_read_typed_and_written_back_as_they_stood():
    series = {"type": "FeatureCollection", "schema": SERIES_SCHEMA, "pair_schema": REPORT_SCHEMA,
              "aoi": {"name": "Camp 25"}, "analysis_crs": "EPSG:32652",
              "images": [{"file": "a.tif", "date": "2020-01-01", "status": "compared", "hidden_fraction": 0.0,
                          "reason": None},
                         {"file": "c.tif", "date": "2020-03-01", "status": "skipped", "hidden_fraction": 0.9,
                          "reason": "cloud"}],
              "pairs": [_pair_summary()], "parameters": {}, "model": None, "confidence": None,
              "summary": {"images": 2}, "software": {}, "inputs": [], "outputs": {}, "features": [_feature()],
              "classes": None, "figures": {"dpi": 300}, "bridges": []}
    report = SeriesReport.from_geojson(series, source="s.geojson")
    assert [i.status for i in report.images] == ["compared", "skipped"] and report.figures_dpi == 300
    assert report.pairs[0].interval == ("2020-01-01", "2020-05-01") and report.pairs[0].hidden_fraction == (0.0, 0.25)
    assert report.pairs[0].structures == {"before": {"structure": 2}, "after": {"structure": 3}}
    assert json.dumps(report.to_geojson()) == json.dumps(series)
    near = {("structures_near_change" if k == "structures_seen" else k): ({"within_m": 50.0} if k == "structures_seen"
                                                                          else v) for k, v in _pair_summary().items()}
    near["kind"] = "baseline"
    check = {"schema": CHECK_SCHEMA, "check": {"check_id": "camp25-2020-05-01-abc"}, "aoi": {"name": "Camp 25"},
             "images": series["images"], "pairs": [near], "parameters": {}, "new": [_feature()],
             "known_false_alarms": [], "inputs": [], "model": None, "confidence": None, "classes": None,
             "software": {}}
    typed = CheckReport.from_geojson(check, source="check.json")
    assert typed.check_id == "camp25-2020-05-01-abc" and typed.pairs[0].structures_near_change
    assert typed.pairs[0].kind == "baseline" and len(typed.new) == 1
    assert json.dumps(typed.to_geojson()) == json.dumps(check)
    with pytest.raises(InputError, match=r"pairs\[0\] is not a table"):
        SeriesReport.from_geojson(series | {"pairs": [1]}, source="s.geojson")
    with pytest.raises(InputError, match=r"images\[1\].'status' is not a string"):
        SeriesReport.from_geojson(series | {"images": [series["images"][0], {"date": "2020-01-01"}]},
                                  source="s.geojson")
    with pytest.raises(InputError, match="'check' is not a table"):
        CheckReport.from_geojson({k: v for k, v in check.items() if k != "check"}, source="check.json")


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                     max_leaves=8)


def _paths(doc, prefix=()):
    """Every (path, value) of a JSON document, the document itself first."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _with(doc, path, value):
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = _with(doc[path[0]], path[1:], value)
    return copy


_SERIES = {"type": "FeatureCollection", "schema": SERIES_SCHEMA, "pair_schema": REPORT_SCHEMA, "aoi": {"name": "A"},
           "analysis_crs": "EPSG:32652", "images": [{"file": "a.tif", "date": "2020-01-01", "status": "compared",
                                                    "hidden_fraction": 0.0, "reason": None}],
           "pairs": [{"from": "2020-01-01", "to": "2020-05-01", "counts": {"structure_new": 1},
                      "shift_px": [0.0, 0.0], "hidden_fraction": {"before": 0.0, "after": 0.1},
                      "structures_seen": {"before": {"structure": 1}}, "warnings": [], "outputs": {}}],
           "parameters": {}, "model": None, "confidence": None, "summary": {}, "software": {}, "inputs": [],
           "outputs": {}, "features": [_feature()], "classes": None, "figures": {"dpi": 300}, "bridges": []}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), kind=st.sampled_from(["pair", "series"]))
def test_any_member_of_a_report_replaced_by_any_json_is_read_or_refused_never_a_crash(data, kind):
    """A report from someone who wants campwatch to be wrong: whatever member holds whatever JSON, reading it
    typed gives a report or an InputError (not a campwatch report), never another exception."""
    doc = _pair_doc() if kind == "pair" else _SERIES
    path, _ = data.draw(st.sampled_from(list(_paths(doc))[1:]))
    edited = _with(doc, path, data.draw(_JSON))
    reader = PairReport if kind == "pair" else SeriesReport
    try:
        report = reader.from_geojson(edited, source="r.geojson")
    except InputError as exc:
        assert "not a campwatch report" in str(exc) or "newer campwatch" in str(exc)
        return
    json.dumps(report.to_geojson(), allow_nan=True)  # what was read can be written back
