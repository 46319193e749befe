"""A later image that holds the earlier one's own pixels, re-encoded, claims no change (issue 26, 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import BANDS, BUILDINGS, camp_scene, write_tif

from campwatch.cli.main import cli
from campwatch.monitor.verify import verify_report

SCENE = camp_scene(7, buildings=BUILDINGS, noise_seed=1, shape=(320, 300))


def _jpeg(path: Path, data: np.ndarray, quality: int) -> Path:
    """``data`` (8-bit) as a JPEG-compressed GeoTIFF of the test grid."""
    plain = write_tif(path.with_suffix(".plain.tif"), data)
    with rasterio.open(plain) as src:
        profile = src.profile | {"compress": "JPEG", "jpeg_quality": quality, "interleave": "pixel",
                                 "photometric": "MINISBLACK", "tiled": True, "blockxsize": 64, "blockysize": 64}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(src.read())
            dst.descriptions = BANDS
    plain.unlink()
    return path


def _copies(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    eight = np.clip(np.round(SCENE / 3), 1, 255).astype("uint8")
    if kind == "8-bit and 16-bit":
        return (write_tif(tmp_path / "a_2020-05-01.tif", eight), write_tif(tmp_path / "b_2020-09-01.tif", SCENE))
    if kind == "JPEG q75":
        return (write_tif(tmp_path / "a_2020-05-01.tif", eight), _jpeg(tmp_path / "b_2020-09-01.tif", eight, 75))
    noisy = SCENE * (1 + 0.01 * np.random.default_rng(5).standard_normal(SCENE.shape))
    return (write_tif(tmp_path / "a_2020-05-01.tif", SCENE),
            write_tif(tmp_path / "b_2020-09-01.tif", np.round(noisy).astype("uint16")))


@pytest.mark.parametrize("kind", ["8-bit and 16-bit", "JPEG q75", "1 % sensor noise"])
def test_a_re_encoded_copy_claims_no_change(tmp_path: Path, kind: str):
    a, b = _copies(tmp_path, kind)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(a), str(b), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.geojson").read_text())
    assert report["features"] == []
    thresholds = report["thresholds"]
    # The floor is what held the thresholds: Otsu's alone would have split the noise.
    assert min(thresholds["gain"], thresholds["loss"]) >= thresholds["floor"] > 1.0
    without = tmp_path / "without"
    (tmp_path / "floor0.toml").write_text("noise_floor_k = 0.0\n")
    res = CliRunner().invoke(cli, ["detect", str(a), str(b), "--out", str(without),
                                   "--config", str(tmp_path / "floor0.toml")])
    assert res.exit_code == 0, res.output
    unfloored = json.loads((without / "report.geojson").read_text())
    assert "floor" not in unfloored["thresholds"]
    # Without the floor a report reads as one made before it existed, and both verify: re-run without it.
    assert "noise_floor_k" not in unfloored["parameters"]
    assert report["parameters"]["noise_floor_k"] == 3.0
    assert verify_report(without / "report.geojson").ok
    assert unfloored["features"]  # without the floor, the noise is claimed as change
