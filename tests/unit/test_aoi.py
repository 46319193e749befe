"""AOI files: the format, every way it can be wrong, and no crash but an AOIError on any input."""

from __future__ import annotations

import json

import pytest
from conftest import AOIS, aoi_doc
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.errors import AOIError, CampwatchError
from campwatch.io.aoi import parse_aoi, read_aoi


@pytest.mark.parametrize("name, expected_name", [("camp25", "Kwan-li-so No. 25"), ("camp22", "Kwan-li-so No. 22")])
def test_bundled_aois(name, expected_name):
    aoi = read_aoi(AOIS / f"{name}.geojson")
    assert aoi.name.startswith(expected_name)
    assert aoi.approximate is True
    assert aoi.source
    assert aoi.aliases


def test_camp25_extent_matches_published_figures():
    aoi = read_aoi(AOIS / "camp25.geojson")
    c = aoi.geometry.centroid
    assert c.x == pytest.approx(129.725280, abs=1e-4) and c.y == pytest.approx(41.834384, abs=1e-4)
    utm = aoi.geometry_in("EPSG:32652")
    x0, y0, x1, y1 = utm.bounds
    assert x1 - x0 == pytest.approx(1810, rel=0.01) and y1 - y0 == pytest.approx(1240, rel=0.01)


def test_camp22_area_matches_published_figure():
    aoi = read_aoi(AOIS / "camp22.geojson")
    assert aoi.geometry_in("EPSG:32652").area / 1e6 == pytest.approx(225, rel=0.01)


def test_tracked_features():
    doc = aoi_doc()
    doc["features"] += [
        {"type": "Feature", "properties": {"role": "fence"},
         "geometry": {"type": "LineString", "coordinates": [[129.81, 41.81], [129.82, 41.81]]}},
        {"type": "Feature", "properties": {"role": "tower"},
         "geometry": {"type": "Point", "coordinates": [129.81, 41.81]}},
        {"type": "Feature", "properties": {"role": "structure"},
         "geometry": {"type": "Polygon", "coordinates": [[[129.81, 41.81], [129.811, 41.81], [129.811, 41.811],
                                                          [129.81, 41.81]]]}},
    ]
    aoi = parse_aoi(doc)
    assert (len(aoi.fences), len(aoi.towers), len(aoi.structures)) == (1, 1, 1)
    assert aoi.summary()["tracked"] == {"fences": 1, "towers": 1, "structures": 1}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(type="Feature"), "expected a GeoJSON FeatureCollection"),
        (lambda d: d.update(features=[]), "'features' must be a non-empty list"),
        (lambda d: d["features"].append(d["features"][0]), "exactly one feature with role 'aoi'"),
        (lambda d: d["features"][0]["properties"].update(role="wall"), "role 'wall' is not valid; expected one of aoi, fence"),
        (lambda d: d["features"][0]["properties"].pop("name"), "needs a non-empty 'name'"),
        (lambda d: d["features"][0]["properties"].update(approximate="yes"), "'approximate' must be true or false"),
        (lambda d: d["features"][0]["properties"].update(aliases="Camp"), "'aliases' must be a list of strings"),
        (lambda d: d["features"][0].update(geometry={"type": "Point", "coordinates": [129.8, 41.8]}),
         "a aoi must be a Polygon or MultiPolygon, got Point"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[[[576000, 4632000], [577000, 4632000],
                                                                     [577000, 4633000], [576000, 4632000]]]),
         "not longitude/latitude"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[[[129.8, 41.8], [129.9, 41.8], [129.8, 41.8]]]),
         "zero area"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[[[129.8, 41.8], [129.9, 41.8], [129.9, 41.8],
                                                                     [129.8, 41.8]]]),
         "zero area"),
        (lambda d: d["features"][0]["geometry"].update(coordinates=[[[129.8, 41.8], [129.9, 41.85], [129.9, 41.8],
                                                                     [129.8, 41.85], [129.8, 41.8]]]),
         "Self-intersection"),
        (lambda d: d.update(crs={"type": "name", "properties": {"name": "EPSG:32652"}}), "must be in WGS84"),
        # "4326" somewhere in it is not WGS84 (issue 26, 6)
        (lambda d: d.update(crs={"type": "name", "properties": {"name": "EPSG:43260"}}), "must be in WGS84"),
        (lambda d: d.update(crs={"type": "name", "properties": {"name": "EPSG:32652", "note": "not 4326"}}),
         "must be in WGS84"),
        (lambda d: d.update(crs={"type": "link", "properties": {"href": "http://x/4326"}}), "must be in WGS84"),
    ],
)
def test_invalid_aoi_messages(mutate, message, aoi_file):
    doc = aoi_doc()
    mutate(doc)
    path = aoi_file(doc)
    with pytest.raises(AOIError) as info:
        read_aoi(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_and_unreadable(tmp_path, aoi_file):
    with pytest.raises(AOIError, match="not found"):
        read_aoi(tmp_path / "none.geojson")
    with pytest.raises(AOIError, match="not valid JSON"):
        read_aoi(aoi_file("{oops"))
    bad = tmp_path / "bin.geojson"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(AOIError, match="cannot be read as text"):
        read_aoi(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    geometry=st.one_of(
        json_values,
        st.fixed_dictionaries({"type": st.sampled_from(["Polygon", "Point", "LineString", "MultiPolygon", "Nope"]),
                               "coordinates": json_values}),
        st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(st.lists(st.lists(
            st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=3), max_size=6), max_size=2)}),
    ),
    props=st.one_of(json_values, st.dictionaries(st.sampled_from(["role", "name", "aliases", "approximate", "source"]),
                                                 json_values, max_size=5)),
)
def test_any_input_gives_an_aoi_or_an_aoi_error(geometry, props):
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": props, "geometry": geometry}]}
    try:
        aoi = parse_aoi(json.loads(json.dumps(doc, allow_nan=True)))
    except CampwatchError as exc:
        assert isinstance(exc, AOIError)
    else:
        assert aoi.geometry.is_valid and aoi.geometry.area > 0 and aoi.name


@pytest.mark.parametrize("name", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::4326",
                                  "OGC:CRS84"])
def test_an_old_style_crs_member_naming_wgs84_is_taken(name, aoi_file):
    doc = aoi_doc()
    doc["crs"] = {"type": "name", "properties": {"name": name}}
    assert read_aoi(aoi_file(doc)).name == "Test AOI"
