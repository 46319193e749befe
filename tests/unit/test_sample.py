"""The synthetic sample: deterministic, dated, georeferenced, with the truth beside it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest
import rasterio
from conftest import SAMPLE

from campwatch.data.sample import SAMPLE_CAMPS, write_sample, write_series
from campwatch.errors import InputError

SMALL = dataclasses.replace(SAMPLE_CAMPS["camp22"], key="small", width_px=480, height_px=400,
                            dates=SAMPLE_CAMPS["camp22"].dates[:3], events=SAMPLE_CAMPS["camp22"].events[:2])


def test_series_is_deterministic(tmp_path):
    a = write_series(SMALL, tmp_path / "a")
    b = write_series(SMALL, tmp_path / "b")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    assert (tmp_path / "a" / "truth.geojson").read_bytes() == (tmp_path / "b" / "truth.geojson").read_bytes()


@pytest.mark.parametrize("camp, n_dates", [("camp25", 6), ("camp22", 4)])
def test_bundled_sample(camp, n_dates):
    spec = SAMPLE_CAMPS[camp]
    files = sorted((SAMPLE / camp).glob("*.tif"))
    assert len(files) == n_dates
    for f, d in zip(files, spec.dates):
        with rasterio.open(f) as ds:
            assert ds.count == 4 and ds.dtypes[0] == "uint16"
            assert ds.crs.to_epsg() == 32652 and ds.res == (0.5, 0.5)
            assert ds.block_shapes[0] == (256, 256) and ds.compression is not None
            assert ds.descriptions == ("blue", "green", "red", "nir")
            assert ds.tags()["TIFFTAG_DATETIME"].startswith(d.date.strftime("%Y:%m:%d"))
            assert d.date.isoformat() in f.name
            lon, lat = rasterio.warp.transform(ds.crs, "EPSG:4326", [ds.bounds.left], [ds.bounds.top])
            assert abs(lon[0] - spec.lon) < 0.01 and abs(lat[0] - spec.lat) < 0.01
    truth = json.loads((SAMPLE / camp / "truth.geojson").read_text())
    events = [f for f in truth["features"] if f["properties"]["class"] != "obscured"]
    assert len(events) == sum(sum(e.values()) for e in spec.events)
    for f in events:
        i = f["properties"]["interval"]
        assert dt.date.fromisoformat(i["from"]) < dt.date.fromisoformat(i["to"])


def test_sample_size_budget():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 15_000_000


def test_sample_has_every_nuisance():
    specs = SAMPLE_CAMPS.values()
    dates = [d for s in specs for d in s.dates]
    assert any(d.cloud for d in dates) and any(d.nodata_strip for d in dates) and any(d.haze for d in dates)
    shifts = [np.hypot(*d.shift) for d in dates]
    assert 0 < min(s for s in shifts if s > 0) < 1 and max(shifts) <= 2.0 * np.sqrt(2)
    assert len({d.sun_elevation for d in dates}) > 3


def test_scene_too_small_for_its_events(tmp_path):
    tiny = dataclasses.replace(SMALL, width_px=200, height_px=180)
    with pytest.raises(InputError, match="too small for its events"):
        write_series(tiny, tmp_path)


def test_unknown_camp():
    with pytest.raises(InputError, match="valid ones are camp25, camp22"):
        write_sample("/nonexistent", camps=("camp99",))


def test_bundled_sample_is_what_the_generator_makes(tmp_path):
    """The committed camp22 series is reproducible from the code (pixels and truth)."""
    written = write_series(SAMPLE_CAMPS["camp22"], tmp_path)
    for path in written:
        with rasterio.open(path) as new, rasterio.open(SAMPLE / "camp22" / path.name) as old:
            assert np.array_equal(new.read(), old.read())
            assert new.transform == old.transform and new.tags() == old.tags()
    assert json.loads((tmp_path / "truth.geojson").read_text()) == json.loads(
        (SAMPLE / "camp22" / "truth.geojson").read_text())
