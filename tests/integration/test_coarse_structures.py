"""Structures in pixels too coarse to show shadows (issue 18, part 2): at 8-10 m a new compound's
roofs are found by their contrast and a strong change, dark or bright, and what is not a roof
(a road, a streak of snow, a speck, a faint patch) is not one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from conftest import ground, write_tif

from campwatch.config import DetectConfig
from campwatch.run import run_detect

PX = 8.0
GRID = Affine(PX, 0, 500_000, 0, -PX, 4_800_000)
SHAPE = (240, 240)
#: New roofs (row, col, height, width in pixels) and the factor each multiplies the ground by.
ROOFS = {"dark block": (40, 40, 4, 12, 0.45), "bright barrack": (40, 120, 3, 9, 1.9),
         "compound": (150, 60, 14, 22, 0.5)}


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    before = ground(SHAPE, seed=3)
    after = ground(SHAPE, seed=3) * 1.06  # the same ground a season later, a little brighter
    rng = np.random.default_rng(4)
    before = before * (1 + 0.01 * rng.standard_normal(before.shape))
    after = after * (1 + 0.01 * rng.standard_normal(after.shape))
    for r, c, h, w, k in ROOFS.values():
        after[:, r:r + h, c:c + w] *= k
    after[:, 100, 20:200] *= 1.9  # a new track, one pixel wide
    after[:, 200:204, 150:152] *= 1.9  # a streak of snow in a gully: 2 x 40 px, bent
    after[:, 204:240, 152:154] *= 1.9
    after[:, 120:122, 200:202] *= 1.9  # a speck of four pixels
    after[:, 60:70, 180:190] *= 1.08  # a faint patch: a field a little brighter
    b = write_tif(tmp_path / "scene_2017-08-29.tif", before.astype("uint16"), transform=GRID)
    a = write_tif(tmp_path / "scene_2018-06-10.tif", np.clip(after, 0, 65535).astype("uint16"), transform=GRID)
    return b, a


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("coarse")
    b, a = _pair(tmp)
    _, paths = run_detect(b, a, tmp / "out")
    return json.loads(paths["report.geojson"].read_text())


def _row_col(feature: dict) -> tuple[float, float]:
    x, y = feature["properties"]["centroid_xy"]
    col, row = ~GRID * (x, y)
    return row, col


def test_new_roofs_are_found_dark_and_bright_without_shadows(report: dict):
    assert report["classes"]["pixel_size_m"] == pytest.approx(PX)
    new = [f for f in report["features"] if f["properties"]["class"] == "structure_new"]
    assert len(new) == len(ROOFS)
    for name, (r, c, h, w, _) in ROOFS.items():
        hits = [f for f in new if abs(_row_col(f)[0] - (r + h / 2)) < 2 and abs(_row_col(f)[1] - (c + w / 2)) < 2]
        assert len(hits) == 1, name
        assert hits[0]["properties"]["area_m2"] == pytest.approx(h * w * PX * PX, rel=0.3), name
        assert hits[0]["properties"]["shadow_after_px"] == 0  # nothing to see at 8 m


def test_roads_streaks_specks_and_faint_patches_are_not_structures(report: dict):
    structures = [f for f in report["features"] if f["properties"]["class"].startswith("structure")]
    assert len(structures) == len(ROOFS)
    assert not [f for f in report["features"] if f["properties"]["class"].split("_")[0] in ("fence", "tower")]
    # What is left is other change, none of it smaller than four pixels.
    others = [f for f in report["features"] if f["properties"]["class"] == "other_change"]
    assert all(f["properties"]["area_m2"] >= 4 * PX * PX for f in others)


def test_at_half_a_metre_the_same_shadowless_roofs_are_not_structures(tmp_path: Path):
    # The coarse-pixel rules apply only above shadowless_pixel_m: at 0.5 m a roof with no shadow is flat ground.
    b, a = _pair(tmp_path)
    fine = Affine(0.5, 0, 500_000, 0, -0.5, 4_800_000)
    for p in (b, a):
        with rasterio.open(p, "r+") as ds:
            ds.transform = fine
    _, paths = run_detect(b, a, tmp_path / "out", config=DetectConfig())
    doc = json.loads(paths["report.geojson"].read_text())
    assert not [f for f in doc["features"] if f["properties"]["class"].startswith("structure")]
