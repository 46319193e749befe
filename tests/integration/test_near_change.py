"""Objects are looked for near change only (issue 27, a): the same changes as over the whole scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import BUILDINGS, add_building, ground, write_tif

from campwatch import detect
from campwatch.cli.main import cli
from campwatch.config import DetectConfig
from campwatch.detection.structures import near_change_margin_m

SHAPE = (1024, 1200)  # 512 m x 600 m at 0.5 m: a camp's buildings every 256 x 240 px
NEW = (200, 170, 24, 40)  # a building added in the north-west corner, 12 m x 20 m
FENCE_ROW, FENCE_COLS, RAZED = 236, (20, 420), (250, 330)  # 200 m of fence, 40 m razed
FAR_FENCE_ROW, FAR_FENCE_COLS = 990, (700, 1100)  # a fence far from any change, standing on both dates


def scene(*, new: bool, razed: bool, noise_seed: int) -> np.ndarray:
    img = ground(SHAPE, 7)
    for r in range(0, SHAPE[0] - 255, 256):
        for c in range(0, SHAPE[1] - 239, 240):
            for b in BUILDINGS:
                add_building(img, r + b[0], c + b[1], b[2], b[3])
    if new:
        add_building(img, *NEW)
    img[:, FENCE_ROW, FENCE_COLS[0]:FENCE_COLS[1]] *= 0.45
    if razed:
        img[:, FENCE_ROW, RAZED[0]:RAZED[1]] = ground(SHAPE, 7)[:, FENCE_ROW, RAZED[0]:RAZED[1]]
    img[:, FAR_FENCE_ROW, FAR_FENCE_COLS[0]:FAR_FENCE_COLS[1]] *= 0.45
    img = img + np.random.default_rng(noise_seed).normal(0, 5, img.shape)
    return np.clip(np.round(img), 1, 65535).astype("uint16")


@pytest.fixture(scope="module")
def wide_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("near")
    return (write_tif(folder / "a_2020-05-01.tif", scene(new=False, razed=False, noise_seed=1)),
            write_tif(folder / "b_2020-09-01.tif", scene(new=True, razed=True, noise_seed=2)))


def _found(result):
    return [(r.change_class, round(r.area_m2 or r.length_m or 0.0), tuple(round(v) for v in r.geometry.centroid.coords[0]))
            for r in result.regions if r.change_class != "other_change"]


def test_changes_found_near_change_are_those_found_over_the_whole_scene(wide_pair):
    near = detect(*wide_pair)
    whole = detect(*wide_pair, config=DetectConfig(objects_near_change=False))
    found = _found(near)
    assert found == _found(whole)
    assert sorted(c for c, *_ in found) == ["fence_razed", "structure_new"]
    new = next(r for r in near.regions if r.change_class == "structure_new")
    assert new.area_m2 == pytest.approx(12 * 20, rel=0.15)
    razed = next(r for r in near.regions if r.change_class == "fence_razed")
    assert 40.0 - 2 * 5.0 <= razed.length_m <= 40.0  # the ends come in by the smoothing (4 m) and a pixel
    # The whole scene holds 4 x 5 camp tiles of 5 buildings (and the new one after); near change,
    # only those within 216 m (433 px) of the new one and the razed stretch (rows 0-670, cols 0-763):
    # the 42 of 3 x 3 tiles wholly inside, less those the window's edge cuts.
    assert near.structures_seen["within_m"] == pytest.approx(near_change_margin_m(DetectConfig(), 0.5), abs=0.1)
    assert whole.structures_seen["before"]["structure"] == 100
    assert whole.structures_seen["after"]["structure"] == 101
    assert near.structures_seen["before"]["structure"] == 42
    assert near.structures_seen["after"]["structure"] == near.structures_seen["before"]["structure"] + 1
    assert "within_m" not in whole.structures_seen


@pytest.mark.slow
def test_the_report_says_structures_were_counted_near_change_and_whole_scene_reports_read_as_before(wide_pair,
                                                                                                  tmp_path: Path):
    out_near, out_whole = tmp_path / "near", tmp_path / "whole"
    config = tmp_path / "whole.toml"
    config.write_text("objects_near_change = false\n")
    for out, extra in ((out_near, []), (out_whole, ["--config", str(config)])):
        res = CliRunner().invoke(cli, ["-q", "detect", *map(str, wide_pair), "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
    near = json.loads((out_near / "report.geojson").read_text())
    whole = json.loads((out_whole / "report.geojson").read_text())
    assert "structures_seen" not in near["summary"]
    counted = near["summary"]["structures_near_change"]
    assert counted["within_m"] == 216.4 and set(counted) == {"within_m", "before", "after"}
    assert near["parameters"]["objects_near_change"] is True
    # Off, the parameter is left out (a report from before it existed reads and re-runs alike).
    assert "objects_near_change" not in whole["parameters"]
    assert whole["summary"]["structures_seen"]["before"] == {"structure": 100, "tower": 0}
    for out in (out_near, out_whole):
        res = CliRunner().invoke(cli, ["-q", "verify", str(out / "report.geojson")])
        assert res.exit_code == 0, res.output


@pytest.mark.slow
def test_a_pair_analysed_whole_with_two_workers_gives_the_same_bytes(wide_pair, tmp_path: Path):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        res = CliRunner().invoke(cli, ["-q", "detect", *map(str, wide_pair), "--out", str(out), "--workers", workers])
        assert res.exit_code == 0, res.output
        outs.append(out)
    assert "blocks" not in json.loads((outs[0] / "report.geojson").read_text())  # analysed whole
    for name in ("report.geojson", "change_mask.tif", "change_map.png", "item.json"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
