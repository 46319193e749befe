"""Every geometry campwatch writes is valid and wound as RFC 7946 asks (issue 18, part 4): pair reports,
whole and by blocks, series and the history."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from conftest import AOIS, SAMPLE, sample_images
from shapely.geometry import shape
from shapely.geometry.polygon import orient

from campwatch.config import DetectConfig
from campwatch.monitor.history import run_check
from campwatch.monitor.series import run_series
from campwatch.run import run_detect

CAMP25 = sorted((SAMPLE / "camp25").glob("camp25_*.tif"))
CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _assert_valid(geoms) -> None:
    geoms = list(geoms)
    assert geoms
    for g in geoms:
        assert g.is_valid, shapely.is_valid_reason(g)
        if g.geom_type in ("Polygon", "MultiPolygon"):
            assert all(orient(p, 1.0).equals_exact(p, 0) for p in getattr(g, "geoms", [g]))


@pytest.mark.parametrize("block_size", [2048, 256], ids=["whole", "blocks"])
def test_pair_reports_hold_valid_geometry(tmp_path: Path, block_size: int):
    _, paths = run_detect(CAMP25[0], CAMP25[-1], tmp_path / "out", aoi_path=AOIS / "camp25.geojson",
                          config=DetectConfig(block_size_px=block_size))
    doc = json.loads(paths["report.geojson"].read_text())
    assert "analysis_crs" in doc and "crs" not in doc  # RFC 7946 has no crs member: it says what it is
    _assert_valid(shape(f["geometry"]) for f in doc["features"])


@pytest.mark.slow
def test_series_and_history_hold_valid_geometry(tmp_path: Path):
    images = sample_images(tmp_path / "img", "camp22", 3)
    run_series(AOIS / "camp22.geojson", images, tmp_path / "series", figures=False)
    doc = json.loads((tmp_path / "series" / "series.geojson").read_text())
    assert "analysis_crs" in doc and "crs" not in doc
    _assert_valid(shape(f["geometry"]) for f in doc["features"])
    run_check(AOIS / "camp22.geojson", images, tmp_path / "checks", figures=False)
    _assert_valid(gpd.read_file(tmp_path / "checks" / "history.gpkg", layer="changes").geometry)
