"""Labels files: read from GeoJSON and GeoPackage, checked, and burnt onto a pair's grid by their rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import box

from campwatch.io.labels import LabelError, read_labels

# A 1 m grid in UTM 52N, 40 x 40 px.
T = Affine(1.0, 0, 576000.0, 0, -1.0, 4632040.0)
CRS = "EPSG:32652"


def _lonlat(geom):
    return gpd.GeoSeries([geom], crs=CRS).to_crs("EPSG:4326").iloc[0]


def _px(c0, r0, c1, r1):
    """A box over pixel columns c0..c1 and rows r0..r1 of the grid."""
    x0, y0 = T * (c0, r0)
    x1, y1 = T * (c1, r1)
    return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _write(path: Path, items: list[tuple[object, dict]]) -> Path:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": json.loads(gpd.GeoSeries([_lonlat(g)]).to_json())[
            "features"][0]["geometry"]} for g, props in items]}
    path.write_text(json.dumps(doc))
    return path


def test_labels_burn_change_over_no_change_and_taught_areas(tmp_path):
    path = _write(tmp_path / "l.geojson", [
        (_px(0, 0, 20, 40), {"role": "taught area"}),
        (_px(25, 0, 30, 10), {"label": "no change"}),
        (_px(5, 5, 10, 10), {"label": "change", "class": "structure"}),
        (_px(26, 2, 28, 4), {"label": "change"}),                         # inside a no-change outline: change
        (_px(12, 20, 16, 24), {"label": "change", "class": "fence_razed"}),  # a fence: not a building
    ])
    labels = read_labels(path)
    assert labels.counts() == {"change": 3, "no change": 1, "taught area": 1} and len(labels.sha256) == 64
    grid = labels.raster(crs=CRS, transform=T, shape=(40, 40), kinds=("structure",))
    assert (grid[5:10, 5:10] == 1).all() and (grid[2:4, 26:28] == 1).all()
    assert (grid[12:18, 0:4] == 0).all()            # taught area: no change
    assert (grid[20:24, 12:16] == -1).all()          # a fence outline, for a buildings model: neither
    assert (grid[:, 32:] == -1).all()                # nothing said there
    assert int((grid == 1).sum()) == 25 + 4
    everything = labels.raster(crs=CRS, transform=T, shape=(40, 40))
    assert (everything[20:24, 12:16] == 1).all()     # for a model of all change, the fence is change


def test_labels_of_other_pairs_are_left_out(tmp_path):
    path = _write(tmp_path / "l.geojson", [
        (_px(0, 0, 5, 5), {"label": "change", "from": "2020-01-01", "to": "2020-06-01"}),
        (_px(10, 10, 15, 15), {"label": "change", "from": "2021-01-01", "to": "2021-06-01"}),
        (_px(20, 20, 25, 25), {"label": "no change"}),
    ])
    mine = read_labels(path).for_pair((dt.date(2020, 1, 1), dt.date(2020, 6, 1)))
    assert [a.label for a in mine.areas] == ["change", "no change"]


def test_a_geopackage_of_labels_in_its_own_crs(tmp_path):
    frame = gpd.GeoDataFrame({"label": ["change", "no change"], "class": ["structure", None]},
                             geometry=[_px(5, 5, 10, 10), _px(0, 20, 40, 40)], crs=CRS)
    path = tmp_path / "labels.gpkg"
    frame.to_file(path, layer="labels", driver="GPKG")
    labels = read_labels(path)
    assert [(a.label, a.kind) for a in labels.areas] == [("change", "structure"), ("no change", None)]
    grid = labels.raster(crs=CRS, transform=T, shape=(40, 40))
    assert int((grid == 1).sum()) == 25 and int((grid == 0).sum()) == 800


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not valid JSON"),
    (json.dumps({"type": "Feature"}), "expected a GeoJSON FeatureCollection of polygons"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "holds no labels"),
    (json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"label": "change"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}),
     "feature 0: a label is a Polygon or MultiPolygon, got Point"),
    (json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"label": "change"}}]}),
     "feature 0: not a valid geometry"),
])
def test_bad_labels_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(LabelError, match=message):
        read_labels(path)


def test_a_missing_labels_file_is_refused(tmp_path):
    with pytest.raises(LabelError, match="labels file .*nothing.geojson: not found"):
        read_labels(tmp_path / "nothing.geojson")


def test_a_geopackage_of_many_layers_must_name_its_labels(tmp_path):
    path = tmp_path / "many.gpkg"
    for layer in ("roads", "rivers"):
        gpd.GeoDataFrame({"label": ["change"]}, geometry=[_px(0, 0, 5, 5)], crs=CRS).to_file(path, layer=layer)
    with pytest.raises(LabelError, match="holds 2 layers .*name the one of labels 'labels'"):
        read_labels(path)


def test_the_rasterised_labels_are_int8(tmp_path):
    path = _write(tmp_path / "l.geojson", [(_px(0, 0, 5, 5), {"label": "change"})])
    grid = read_labels(path).raster(crs=CRS, transform=T, shape=(40, 40))
    assert grid.dtype == np.int8
