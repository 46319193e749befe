"""The outputs: GeoJSON report (RFC 7946, provenance), COG change mask, change map."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import rasterio
from conftest import BUILDINGS, NEW, aoi_doc, grid_aoi_coords
from PIL import Image
from shapely.geometry import shape

import campwatch
from campwatch.classes import CLASSES
from campwatch.run import run_detect


@pytest.fixture()
def run(pair, tmp_path, aoi_file):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    aoi = aoi_file(aoi_doc(grid_aoi_coords()))
    result, paths = run_detect(before, after, tmp_path / "out", aoi_path=aoi)
    return result, paths, (before, after, aoi)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_report_is_rfc7946_with_provenance(run):
    result, paths, (before, after, aoi) = run
    report = json.loads(paths["report.geojson"].read_text())
    assert report["type"] == "FeatureCollection"
    assert report["aoi"]["name"] == "Test AOI"
    assert report["images"]["before"] == {"file": before.name, "date": "2020-05-01", "sha256": sha(before),
                                          "files": 1, "bands": ["blue", "green", "red", "nir"], "dtype": "uint16"}
    assert report["images"]["after"]["date"] == "2020-09-01"
    assert {i["role"]: i["sha256"] for i in report["inputs"]} == {"before": sha(before), "after": sha(after),
                                                                  "aoi": sha(aoi)}
    assert report["outputs"] == {name: sha(paths[name]) for name in ("change_mask.tif", "change_mask.tif.aux.xml",
                                                                     "change_mask.qml", "change_map.png",
                                                                     "report.qml")}
    assert report["software"]["campwatch"] == campwatch.__version__
    assert report["parameters"] == result.config.to_dict()
    assert report["summary"]["counts"]["structure_new"] == 1
    f = next(f for f in report["features"] if f["properties"]["class"] == "structure_new")
    geom = shape(f["geometry"])
    lon, lat = geom.centroid.x, geom.centroid.y
    assert 129.0 < lon < 130.5 and 41.0 < lat < 42.5  # WGS84 longitude, latitude order
    assert f["properties"]["interval"] == {"from": "2020-05-01", "to": "2020-09-01"}
    assert f["properties"]["centroid_lonlat"] == pytest.approx([lon, lat], abs=1e-5)
    assert 0 <= f["properties"]["confidence"] <= 1


def test_change_mask_is_a_cog_on_the_input_grid(run):
    result, paths, (before, _, _) = run
    with rasterio.open(paths["change_mask.tif"]) as ds, rasterio.open(before) as src:
        assert ds.crs == src.crs and ds.transform == src.transform
        assert ds.dtypes == ("uint8",) and ds.nodata == 255
        assert ds.tags()["CLASS_2"] == "structure_new"
        assert ds.tags()["BEFORE_DATE"] == "2020-05-01"
        assert ds.colormap(1)[CLASSES["structure_new"].code][:3] == (0xD5, 0x5E, 0x00)
        mask = ds.read(1)
        assert np.array_equal(mask, result.classes)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_change_map_is_a_picture_with_the_change(run):
    _, paths, _ = run
    img = np.asarray(Image.open(paths["change_map.png"]).convert("RGB"))
    assert img.shape[0] > 800 and img.shape[1] > 1000
    # The class colour of new structures is drawn.
    vermillion = np.all(np.abs(img.astype(int) - [0xD5, 0x5E, 0x00]) < 30, axis=-1)
    assert vermillion.sum() > 100


def test_outputs_are_deterministic(pair, tmp_path):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    _, p1 = run_detect(before, after, tmp_path / "a")
    _, p2 = run_detect(before, after, tmp_path / "b")
    for name in p1:
        assert p1[name].read_bytes() == p2[name].read_bytes(), name


def test_write_json_streams_features_one_per_line(tmp_path):
    from campwatch.io.jsonio import LazyList, write_json

    made = []

    def features():
        for i in range(3):
            made.append(i)
            yield {"type": "Feature", "id": i, "geometry": {"type": "Point", "coordinates": [i + 0.5, -1.0]},
                   "properties": {"name": f"é{i}", "area_m2": None}}

    doc = {"type": "FeatureCollection", "summary": {"counts": {"a": 1}, "empty": []},
           "features": LazyList(features, 3)}
    path = tmp_path / "r.geojson"
    write_json(doc, path)
    text = path.read_text(encoding="utf-8")
    assert made == [0, 1, 2]  # made once, as written
    parsed = json.loads(text)
    assert parsed["summary"] == {"counts": {"a": 1}, "empty": []}
    assert [f["id"] for f in parsed["features"]] == [0, 1, 2]
    assert parsed["features"][0]["properties"] == {"name": "é0", "area_m2": None}
    lines = text.splitlines()
    # One line per feature, each a whole JSON object; the rest indented by one space per level.
    feature_lines = [ln for ln in lines if ln.lstrip().startswith('{"type": "Feature"')]
    assert len(feature_lines) == 3
    assert all(json.loads(ln.strip().rstrip(","))["type"] == "Feature" for ln in feature_lines)
    assert lines[1] == ' "type": "FeatureCollection",'
    nested = tmp_path / "n.json"
    write_json({"runs": [{"features": LazyList(lambda: iter([{"id": 1}]), 1)}, 2]}, nested)
    assert json.loads(nested.read_text()) == {"runs": [{"features": [{"id": 1}]}, 2]}
    empty = tmp_path / "e.geojson"
    write_json({"features": LazyList(lambda: iter(()), 0)}, empty)
    assert json.loads(empty.read_text()) == {"features": []}
