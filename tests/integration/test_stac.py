"""Each run writes a STAC Item (issue 18, part 5): its outputs as assets and its inputs as links, each
with its SHA-256, its footprint and the interval the changes happened in."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pystac
import pytest
import shapely
from conftest import AOIS, SAMPLE, sample_images
from shapely.geometry import shape

from campwatch.monitor.series import run_series
from campwatch.run import run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_item(folder: Path, report_name: str) -> pystac.Item:
    doc = json.loads((folder / "item.json").read_text())
    item = pystac.Item.from_dict(doc)
    assert item.to_dict(include_self_link=False, transform_hrefs=False) == doc  # a well-formed Item, as written
    assert "https://stac-extensions.github.io/file/v2.1.0/schema.json" in item.stac_extensions
    report = json.loads((folder / report_name).read_text())
    # Every asset is a file of the folder with its SHA-256; the report and every output are assets.
    assert set(item.assets) == {report_name} | set(report["outputs"])
    for name, asset in item.assets.items():
        assert asset.href == name
        assert asset.extra_fields["file:checksum"] == "1220" + _sha(folder / name)
    # Every input is a derived_from link with the hash the report records.
    links = [(link.title, link.target, link.extra_fields["file:checksum"]) for link in item.links
             if link.rel == "derived_from"]
    assert links == [(i["role"], i["path"], "1220" + i["sha256"]) for i in report["inputs"]]
    assert item.datetime is None
    return item


def test_a_pair_writes_its_item(tmp_path: Path):
    _, paths = run_detect(CAMP22[0], CAMP22[1], tmp_path / "out", aoi_path=AOIS / "camp22.geojson")
    assert paths["item.json"] == tmp_path / "out" / "item.json"
    item = _check_item(tmp_path / "out", "report.geojson")
    assert item.properties["start_datetime"].startswith("2012-05-20") and \
        item.properties["end_datetime"].startswith("2012-10-07")
    assert item.properties["campwatch:counts"]["structure_demolished"] == 1
    assert item.properties["campwatch:model"] is None
    # The footprint is the analysed grid, in WGS84: it holds every change.
    footprint = shape(item.geometry)
    assert footprint.is_valid and footprint.area > 0
    report = json.loads((tmp_path / "out" / "report.geojson").read_text())
    assert all(footprint.buffer(1e-6).contains(shape(f["geometry"])) for f in report["features"])
    assert item.bbox == pytest.approx(list(footprint.bounds), abs=1e-7)
    assert shapely.get_coordinates(footprint).min(axis=0)[0] > 129  # longitude, not metres
    assert footprint.exterior.is_ccw  # RFC 7946 and STAC: exterior rings counter-clockwise (issue 26, 7)


def test_a_footprint_across_the_antimeridian_is_split_there():
    """A grid across 180 degrees gives two polygons either side of it, not a band round the globe, and a
    bbox whose west is greater than its east (RFC 7946, 5.2)."""
    from campwatch.document import GridRecord
    from campwatch.publish.stac import _footprint, _rfc7946

    # UTM 60N (central meridian 177 E) from 2 to 4 degrees east of it, at 52 N: across 180.
    grid = GridRecord(transform=(10.0, 0.0, 700_000.0, 0.0, -10.0, 5_800_000.0), width=10_000, height=5_000,
                      window=None)
    geom, bbox = _rfc7946(_footprint(grid, "EPSG:32660"))
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    west, east = sorted(geom.geoms, key=lambda g: g.bounds[0])
    assert west.bounds[0] == pytest.approx(-180.0, abs=1e-6) or east.bounds[2] == pytest.approx(180.0, abs=1e-6)
    assert all(g.exterior.is_ccw for g in geom.geoms)
    assert max(g.bounds[2] - g.bounds[0] for g in geom.geoms) < 5  # no band round the globe
    assert bbox[0] > 178 and bbox[2] < -178 and bbox[0] > bbox[2]
    assert shape(json.loads(json.dumps(shapely.geometry.mapping(geom)))).is_valid


@pytest.mark.slow
def test_a_series_writes_its_item_and_one_per_pair(tmp_path: Path):
    images = sample_images(tmp_path / "img", "camp22", 3)
    run_series(AOIS / "camp22.geojson", images, tmp_path / "series", figures=False)
    item = _check_item(tmp_path / "series", "series.geojson")
    assert item.properties["campwatch:kind"] == "series"
    assert item.properties["start_datetime"].startswith("2012-05-20")
    assert item.properties["end_datetime"].startswith("2013-06-02")
    for pair in ("2012-05-20_2012-10-07", "2012-10-07_2013-06-02"):
        assert f"pairs/{pair}/item.json" in item.assets
        _check_item(tmp_path / "series" / "pairs" / pair, "report.geojson")
