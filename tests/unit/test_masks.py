"""The user's mask file: areas not analysed on one date or all, reported as hidden, never as change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio
from click.testing import CliRunner
from conftest import BUILDINGS, CRS, TRANSFORM
from pyproj import Transformer

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.io.masks import read_mask
from campwatch.run import run_detect

NEW = (200, 170, 24, 40)  # rows, cols, height, width (px of 0.5 m)


def _ring(r0: int, c0: int, h: int, w: int, pad: int = 10) -> list[list[float]]:
    """A lon/lat ring around pixel box (r0, c0, h, w) of the test grid, ``pad`` px wider."""
    t = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    x0, y0 = TRANSFORM * (c0 - pad, r0 - pad)
    x1, y1 = TRANSFORM * (c0 + w + pad, r0 + h + pad)
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [list(t.transform(x, y)) for x, y in ring]


def _mask_file(path: Path, *features: tuple[list[list[float]], str | None]) -> Path:
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"date": d} if d else {},
         "geometry": {"type": "Polygon", "coordinates": [ring]}} for ring, d in features]}
    path.write_text(json.dumps(doc))
    return path


def test_masked_new_structure_is_not_reported(pair, tmp_path: Path):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    free, _ = run_detect(before, after, tmp_path / "free")
    assert [r.change_class for r in free.regions if r.change_class.startswith("structure")] == ["structure_new"]
    mask = _mask_file(tmp_path / "mask.geojson", (_ring(*NEW), "2020-09-01"))
    result, paths = run_detect(before, after, tmp_path / "masked", mask_path=mask)
    assert not [r for r in result.regions if r.change_class != "other_change"]
    report = json.loads(paths["report.geojson"].read_text())
    masked = report["summary"]["masked_by_user_m2"]
    assert masked["before"] == 0
    assert masked["after"] == pytest.approx((24 + 20) * (40 + 20) * 0.25, rel=0.1)
    assert report["summary"]["obscured_fraction"]["after"] > report["summary"]["obscured_fraction"]["before"]
    assert [i["role"] for i in report["inputs"]] == ["before", "after", "mask"]
    assert any("masked by mask.geojson" in w for w in report["warnings"])
    with rasterio.open(paths["change_mask.tif"]) as ds:
        codes = ds.read(1)
    r0, c0, h, w = NEW
    assert (codes[r0:r0 + h, c0:c0 + w] == 255).all()  # not analysed


def test_mask_for_another_date_masks_nothing(pair, tmp_path: Path):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    mask = _mask_file(tmp_path / "mask.geojson", (_ring(*NEW), "2019-01-01"))
    result, _ = run_detect(before, after, tmp_path / "out", mask_path=mask)
    assert [r.change_class for r in result.regions if r.change_class.startswith("structure")] == ["structure_new"]
    assert result.masked_m2 == {"before": 0.0, "after": 0.0}


@pytest.mark.parametrize("text, message", [
    (None, "not found"),
    ("{", "not a GeoJSON file"),
    ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection of polygons"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
     ' "geometry": {"type": "Point", "coordinates": [129.8, 41.8]}}]}', "feature 0: a mask area must be a Polygon"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
     ' "geometry": {"type": "Polygon", "coordinates": [[[500000, 4600000], [500100, 4600000], [500100, 4600100],'
     ' [500000, 4600000]]]}}]}', "are not longitude/latitude in degrees"),
    ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"date": "May 2020"},'
     ' "geometry": {"type": "Polygon", "coordinates": [[[129.8, 41.8], [129.81, 41.8], [129.81, 41.81],'
     ' [129.8, 41.8]]]}}]}', "date 'May 2020' is not a date"),
])
def test_bad_mask_file(tmp_path: Path, pair, text: str | None, message: str):
    path = tmp_path / "mask.geojson"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_mask(path)
    before, after = pair()
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--mask", str(path)])
    assert res.exit_code == 2
    assert f"mask file {path}" in res.output
    assert not out.exists()

