"""Block-by-block analysis of scenes larger than one block: same answers, changes whole across block edges."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from click.testing import CliRunner
from conftest import SAMPLE, add_building, ground, write_tif
from pyproj import Transformer
from shapely.affinity import translate
from shapely.geometry import box, shape

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED, summarize
from campwatch.cli.main import cli
from campwatch.config import DetectConfig
from campwatch.detection.blocks import needs_blocks, plan_blocks
from campwatch.detection.blocks.store import ChangeStore
from campwatch.errors import ConfigError
from campwatch.io.pair import PairRequest
from campwatch.monitor.verify import verify_report
from campwatch.run import analyse_pair, run_detect

SIZE = 640  # px a side, 0.5 m pixels: four blocks of 320
CORNER = 320
#: Buildings away from the block corner, so that every block sees a few (their shadows give the sun's direction).
BASE = [(r, c, 20, 36) for r in (40, 150, 450, 560) for c in (40, 160, 420, 540)]


def scene(buildings, *, seed_noise: int, dark_patch: tuple[int, int, int, int] | None = None) -> np.ndarray:
    img = ground((SIZE, SIZE), 11)
    for b in buildings:
        add_building(img, *b)
    if dark_patch is not None:
        r0, c0, r1, c1 = dark_patch
        img[:, r0:r1, c0:c1] *= 0.7
    img = img + np.random.default_rng(seed_noise).normal(0, 5, img.shape)
    return np.clip(np.round(img), 1, 65535).astype("uint16")


def write_pair(folder: Path, before: np.ndarray, after: np.ndarray, **kw) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return (write_tif(folder / "site_2020-05-01.tif", before, **kw),
            write_tif(folder / "site_2020-09-01.tif", after, **kw))


def report(out: Path) -> dict:
    return json.loads((out / "report.geojson").read_text())


def of_class(doc: dict, name: str) -> list[dict]:
    return [f for f in doc["features"] if f["properties"]["class"] == name]


def whole_and_blocks(tmp_path: Path, before: Path, after: Path, **cfg) -> tuple[dict, dict]:
    whole = run_detect(before, after, tmp_path / "whole", config=DetectConfig(block_size_px=8192))[0]
    assert whole.blocks is None
    blocked = run_detect(before, after, tmp_path / "blocks",
                         config=DetectConfig(block_size_px=CORNER, **cfg))[0]
    assert blocked.blocks is not None and blocked.blocks["count"] == 4
    return report(tmp_path / "whole"), report(tmp_path / "blocks")


def test_blocks_tile_the_window_once():
    blocks = plan_blocks((1000, 700), 256, 40)
    cover = np.zeros((1000, 700), dtype=int)
    for b in blocks:
        cover[int(b.core.row_off):int(b.core.row_off + b.core.height),
              int(b.core.col_off):int(b.core.col_off + b.core.width)] += 1
        p = b.padded
        assert p.row_off >= 0 and p.col_off >= 0 and p.row_off + p.height <= 1000 and p.col_off + p.width <= 700
        assert b.core.row_off - p.row_off == min(40, b.core.row_off)
    assert (cover == 1).all()
    assert len(blocks) == 4 * 3
    assert [b.index for b in blocks[:4]] == [(0, 0), (0, 1), (0, 2), (1, 0)]


def test_only_windows_larger_than_a_block_with_its_halo_are_cut():
    config = DetectConfig(block_size_px=1000, block_halo_m=50)  # 100 px halo at 0.5 m
    assert not needs_blocks((1200, 1200), config, 0.5)
    assert needs_blocks((1201, 1201), config, 0.5)
    assert not needs_blocks((20000, 60), config, 0.5)  # a long thin strip fits in memory
    with pytest.raises(ConfigError, match="block_size_px=10 is not valid"):
        DetectConfig(block_size_px=10)


@pytest.mark.slow
def test_a_structure_across_the_block_corner_is_one_change(tmp_path):
    new = (CORNER - 20, CORNER - 30, 40, 60)  # 20 m x 30 m = 600 m2, on all four blocks
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    whole, blocks = whole_and_blocks(tmp_path, before, after, block_halo_m=30)
    for doc in (whole, blocks):
        found = of_class(doc, "structure_new")
        assert len(found) == 1, [f["properties"]["class"] for f in doc["features"]]
        assert 520 <= found[0]["properties"]["area_m2"] <= 640
        assert not of_class(doc, "structure_demolished")
    a, b = of_class(whole, "structure_new")[0], of_class(blocks, "structure_new")[0]
    assert shape(a["geometry"]).symmetric_difference(shape(b["geometry"])).area < 0.05 * shape(a["geometry"]).area
    # The class mask holds it whole too.
    with rasterio.open(tmp_path / "blocks" / "change_mask.tif") as src:
        codes = src.read(1)
    roof = codes[new[0]:new[0] + new[2], new[1]:new[1] + new[3]]
    assert (roof == CLASSES["structure_new"].code).mean() > 0.9
    # Same pixel accounting as the whole-scene run.
    assert blocks["summary"]["analysed_area_m2"] == pytest.approx(whole["summary"]["analysed_area_m2"], rel=0.002)
    assert blocks["blocks"]["per_block"][0]["status"] == "analysed"
    assert blocks["thresholds"]["method"].endswith("median of 4 sample blocks")


def test_a_pair_by_blocks_keeps_its_changes_in_scratch_until_it_is_closed(tmp_path):
    new = (CORNER - 20, CORNER - 30, 40, 60)  # across the corner of the four blocks
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    result = analyse_pair(PairRequest(before, after), config=DetectConfig(block_size_px=CORNER, block_halo_m=30))
    scratch = result.scratch
    assert isinstance(result.regions, ChangeStore)
    assert sorted(p.name for p in scratch.iterdir()) == ["change_mask_blocks.tif", "changes.pickle", "slivers.pickle"]
    regions = list(result.regions)
    assert [r.id for r in regions] == list(range(1, len(regions) + 1))
    assert [r.change_class for r in regions].count("structure_new") == 1
    assert result.regions[-1].id == len(regions) and result.blocks["joined_changes"] >= 1
    counted = result.summary()
    assert counted == summarize(regions) and counted.counts["structure_new"] == 1
    result.close()
    assert not scratch.exists()
    # Closed: the summary stays; the changes were in the scratch folder, and say so.
    assert result.summary() == counted
    with pytest.raises(FileNotFoundError, match="removed when the result is closed"):
        list(result.regions)


@pytest.mark.slow
def test_a_change_larger_than_the_halo_is_joined_from_its_parts(tmp_path):
    patch = (CORNER - 80, CORNER - 80, CORNER + 80, CORNER + 80)  # 80 m x 80 m of darker ground
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1),
                               scene(BASE, seed_noise=2, dark_patch=patch))
    whole, blocks = whole_and_blocks(tmp_path, before, after, block_halo_m=10)  # 20 px halo
    truth = 160 * 160 * 0.25
    for doc in (whole, blocks):
        big = [f for f in doc["features"] if f["properties"]["area_m2"] > 1000]
        assert len(big) == 1
        assert big[0]["properties"]["class"] == "other_change"
        assert big[0]["properties"]["area_m2"] == pytest.approx(truth, rel=0.03)
    joined = [f for f in blocks["features"] if f["properties"]["area_m2"] > 1000][0]
    assert joined["properties"]["evidence"]["joined_from_blocks"] == 4
    assert blocks["blocks"]["joined_changes"] >= 1
    # One feature: no part of it is reported twice.
    assert shape(joined["geometry"]).geom_type == "Polygon"
    assert sum(1 for f in blocks["features"] if shape(f["geometry"]).intersects(shape(joined["geometry"]))) == 1


def test_a_block_without_data_is_not_analysed(tmp_path):
    b = scene(BASE, seed_noise=1)
    a = scene(BASE + [(450, 300, 30, 40)], seed_noise=2)
    a[:, :, 256:] = 0  # the later image covers the western 40 % only: the eastern blocks and their halos lack it
    before, after = write_pair(tmp_path / "in", b, a)
    result, _ = run_detect(before, after, tmp_path / "out", config=DetectConfig(block_size_px=CORNER,
                                                                                block_halo_m=30))
    doc = report(tmp_path / "out")
    status = {tuple(r["block"]): r["status"] for r in doc["blocks"]["per_block"]}
    assert status[(0, 0)] == status[(1, 0)] == "analysed"
    assert status[(0, 1)].startswith("not analysed") and status[(1, 1)].startswith("not analysed")
    assert doc["summary"]["not_analysed_fraction"] == pytest.approx(0.6, abs=0.01)
    assert doc["summary"]["obscured_fraction"]["after"] == pytest.approx(0.6, abs=0.01)
    assert doc["summary"]["obscured_fraction"]["before"] == pytest.approx(0.0, abs=0.01)
    with rasterio.open(tmp_path / "out" / "change_mask.tif") as src:
        codes = src.read(1)
    assert (codes[:, 258:] == NOT_ANALYSED).all()
    for f in doc["features"]:
        assert f["properties"]["centroid_xy"][0] < 576000.0 + 256 * 0.5  # nothing claimed where nothing was seen
    assert any("only 40% of the AOI is valid on both dates" in w for w in doc["warnings"])
    assert not any(w.startswith("block") and "of the AOI is valid" in w for w in doc["warnings"])


def _tiled_sample(folder: Path, size: int) -> tuple[Path, Path]:
    """The Camp 25 sample's first and last dates repeated to fill ``size`` pixels a side."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for src_path, date in ((SAMPLE / "camp25" / "camp25_2015-04-18.tif", "2015-04-18"),
                           (SAMPLE / "camp25" / "camp25_2018-03-30.tif", "2018-03-30")):
        with rasterio.open(src_path) as src:
            tile, profile, tags = src.read(), src.profile, src.tags()
        rows = (np.arange(size) % tile.shape[1])[:, None]
        cols = (np.arange(size) % tile.shape[2])[None, :]
        path = folder / f"tiled_{date}.tif"
        with rasterio.open(path, "w", **(profile | {"width": size, "height": size})) as dst:
            dst.write(tile[:, rows, cols])
            dst.update_tags(**tags)
        out.append(path)
    return out[0], out[1]


def _tiled_truth(size: int) -> dict[str, list]:
    """The sample's truth for its first and last dates, repeated as the images are, kept where whole."""
    with rasterio.open(SAMPLE / "camp25" / "camp25_2015-04-18.tif") as src:
        t, (h, w), crs = src.transform, src.shape, src.crs
    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    frame = box(t.c, t.f + size * t.e, t.c + size * t.a, t.f)
    out: dict[str, list] = {}
    for f in json.loads((SAMPLE / "camp25" / "truth.geojson").read_text())["features"]:
        g = shapely.transform(shape(f["geometry"]), lambda xy: np.column_stack(to_grid.transform(xy[:, 0], xy[:, 1])))
        for i in range(size // h + 1):
            for j in range(size // w + 1):
                copy = translate(g, j * w * t.a, i * h * t.e)
                if copy.within(frame):
                    out.setdefault(f["properties"]["class"], []).append(copy)
    return out


def _found(doc: dict, name: str) -> list:
    to_grid = Transformer.from_crs("EPSG:4326", doc["analysis_crs"], always_xy=True)
    return [shapely.transform(shape(f["geometry"]), lambda xy: np.column_stack(to_grid.transform(xy[:, 0], xy[:, 1])))
            for f in of_class(doc, name)]


@pytest.mark.slow
def test_blocks_find_every_event_of_the_tiled_sample(tmp_path):
    before, after = _tiled_sample(tmp_path / "in", 1024)
    run_detect(before, after, tmp_path / "whole", config=DetectConfig(block_size_px=4096))
    run_detect(before, after, tmp_path / "blocks", config=DetectConfig(block_size_px=512))
    whole, blocks = report(tmp_path / "whole"), report(tmp_path / "blocks")
    assert blocks["blocks"]["count"] == 4 and blocks["blocks"]["halo_px"] == 200
    truth = _tiled_truth(1024)
    expected = {"structure_new": 12, "structure_demolished": 6, "tower_added": 1, "tower_removed": 10}
    for name, n in expected.items():
        assert len(truth[name]) == n
        found = _found(blocks, name)
        hits = sum(1 for t in truth[name] if any(g.buffer(1.0).intersects(t) for g in found))
        false = sum(1 for g in found if not any(g.buffer(1.0).intersects(t) for t in truth[name]))
        assert (hits, false) == (n, 0), name
        # The whole-scene run finds no more (on this tiled scene it misses demolitions: its shadow
        # directions are thrown by the seams; the blocks take theirs from the sample blocks).
        assert len(_found(whole, name)) <= len(found)
    razed = truth["fence_razed"]
    found = _found(blocks, "fence_razed")
    assert all(any(g.distance(t) < 2.0 for g in found) for t in razed)
    assert blocks["summary"]["fence_length_m"]["fence_built"] == 0
    assert blocks["summary"]["fence_length_m"]["fence_razed"] == pytest.approx(
        whole["summary"]["fence_length_m"]["fence_razed"], rel=0.1)
    assert blocks["summary"]["changed_area_m2"]["other_change"] == pytest.approx(
        whole["summary"]["changed_area_m2"]["other_change"], rel=0.1)
    assert blocks["blocks"]["shadow_direction_rowcol"]["before"] is not None


@pytest.mark.slow
def test_detect_cli_by_blocks_writes_a_full_size_mask_and_verifies(tmp_path):
    new = (CORNER - 20, CORNER - 30, 40, 60)
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    out = tmp_path / "out"
    params = tmp_path / "params.toml"
    params.write_text("block_halo_m = 30\n")
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--block-size", "320",
                                   "--config", str(params)])
    assert res.exit_code == 0, res.output
    assert "analysed in 4 of 4 blocks of 320 px (halo 60 px)" in res.output
    assert sorted(p.name for p in out.iterdir()) == [".campwatch-outputs", "change_map.png", "change_mask.qml",
                                                    "change_mask.tif", "change_mask.tif.aux.xml", "item.json", "report.geojson",
                                                    "report.qml"]
    with rasterio.open(out / "change_mask.tif") as src:
        assert (src.width, src.height) == (SIZE, SIZE)
        assert src.tags()["BEFORE_DATE"] == "2020-05-01"
        assert src.tags()["CLASS_1"]
        assert src.colormap(1)[CLASSES["structure_new"].code][3] == 255
    doc = report(out)
    assert doc["parameters"]["block_size_px"] == 320
    assert len(of_class(doc, "structure_new")) == 1
    assert verify_report(out / "report.geojson").ok
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(tmp_path / "bad"),
                                   "--block-size", "10"])
    assert res.exit_code == 2 and "10 is not in the range x>=64" in res.output
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_series_and_check_by_blocks(tmp_path, aoi_file):
    """A series and a monthly check of a scene larger than a block: dated changes, figures, verify."""
    from conftest import aoi_doc

    from campwatch.monitor.history import run_check
    from campwatch.monitor.series import run_series

    new = (CORNER - 20, CORNER - 30, 40, 60)  # across the block corner
    gone = BASE[5]  # (150, 160, 20, 36): inside block (0, 0)
    images = tmp_path / "images"
    images.mkdir()
    write_tif(images / "site_2020-05-01.tif", scene(BASE, seed_noise=1))
    write_tif(images / "site_2020-07-01.tif", scene(BASE + [new], seed_noise=2))
    write_tif(images / "site_2020-09-01.tif", scene([b for b in BASE if b != gone] + [new], seed_noise=3))
    t = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)
    x0, y1 = 576000.0, 4632000.0
    x1, y0 = x0 + SIZE * 0.5, y1 - SIZE * 0.5
    ring = [list(t.transform(x, y)) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    aoi = aoi_file(aoi_doc(ring, name="Block test"), name="blocktest.geojson")
    config = DetectConfig(block_size_px=CORNER, block_halo_m=30)

    result = run_series(aoi, images, tmp_path / "series", config=config, dpi=60)
    report = result.report.to_geojson()
    named = sorted((f["properties"]["class"], f["properties"]["interval"]["from"], f["properties"]["interval"]["to"],
                    f["properties"]["last_confirmed"])
                   for f in report["features"] if f["properties"]["class"] != "other_change")
    assert named == [("structure_demolished", "2020-07-01", "2020-09-01", "2020-09-01"),
                     ("structure_new", "2020-05-01", "2020-07-01", "2020-09-01")]
    for pair in ("2020-05-01_2020-07-01", "2020-07-01_2020-09-01"):
        doc = json.loads((tmp_path / "series" / "pairs" / pair / "report.geojson").read_text())
        assert doc["blocks"]["count"] == 4
    assert (tmp_path / "series" / "figures" / "change_overlay.png").stat().st_size > 10_000
    assert (tmp_path / "series" / "report.html").exists()
    assert verify_report(tmp_path / "series" / "series.geojson").ok

    check = run_check(aoi, images, tmp_path / "checks", config=config, figures=False)
    assert check.status == "ok"
    named = sorted((p["class"], p["interval"]["from"]) for p in check.new if p["class"] != "other_change")
    # The first check compares the newest image with the one before; the baseline pair finds the new structure.
    assert named == [("structure_demolished", "2020-07-01"), ("structure_new", "2020-05-01")]


def test_figures_of_a_large_scene_are_drawn_from_reduced_images_with_full_resolution_closeups(tmp_path, monkeypatch):
    import campwatch.io.pair
    from campwatch.publish.figures import closeups
    from campwatch.publish.views import view_from_report

    new = (CORNER - 20, CORNER - 30, 40, 60)
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    run_detect(before, after, tmp_path / "out")
    monkeypatch.setattr(campwatch.io.pair, "OVERVIEW_PX", 200)  # as if the scene were ten times larger
    view = view_from_report(tmp_path / "out" / "report.geojson")
    assert view.before.shape == (160, 160)  # 640 px read as 4 x 4 averages
    assert abs(view.before.transform.a) == 2.0
    assert view.chips is not None and view.obscured is not None and view.obscured.shape == (160, 160)
    chip_b, chip_a = view.chips((576150.0, 4631800.0, 576200.0, 4631850.0))
    assert abs(chip_b.transform.a) == 0.5 and chip_b.shape == (100, 100) and chip_a.shape == (100, 100)
    fig = closeups(view)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 2  # the new structure, before and after
    # Chips at the images' own 0.5 m: at least 40 m / 0.5 m = 80 pixels across, not 20.
    assert all(im.get_array().shape[1] >= 80 for im in images)


@pytest.mark.slow
def test_blocks_in_worker_processes_give_the_same_bytes(tmp_path):
    new = (CORNER - 20, CORNER - 30, 40, 60)
    before, after = write_pair(tmp_path / "in", scene(BASE, seed_noise=1), scene(BASE + [new], seed_noise=2))
    params = tmp_path / "params.toml"
    params.write_text("block_size_px = 320\nblock_halo_m = 30\n")
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}"
        res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--config", str(params),
                                       "--workers", workers])
        assert res.exit_code == 0, res.output
        outs.append(out)
    for name in ("report.geojson", "change_mask.tif", "change_map.png"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert len(of_class(report(outs[1]), "structure_new")) == 1


@pytest.mark.slow
def test_a_block_mostly_changed_is_matched_and_thresholded_as_the_scene(tmp_path):
    # Ground darkened over 140 m x 140 m, two thirds of the top-right block with its halo, and
    # the whole after image 15 % brighter (another sensor's gain). Fitted on that block
    # alone, the radiometric fit would take the darkened ground for the norm and report the
    # rest of the block as change; the scene's fit, from all sample blocks, does not.
    patch = (20, 340, 300, 620)
    before_img = scene(BASE, seed_noise=1)
    after_img = scene(BASE, seed_noise=2, dark_patch=patch).astype("float64") * 1.15
    before, after = write_pair(tmp_path / "in", before_img, np.clip(np.round(after_img), 1, 65535).astype("uint16"))
    whole, blocks = whole_and_blocks(tmp_path, before, after, block_halo_m=10)
    fit = blocks["blocks"]["radiometric_fit"]
    assert fit["gain"] == pytest.approx([1 / 1.15] * 4, rel=0.03)
    assert len(blocks["blocks"]["noise_sigma"]) == 4
    # Only that block is matched with the scene's fit, and the report says so.
    said = [w for w in blocks["warnings"] if "the scene's radiometric fit is used" in w]
    assert len(said) == 1 and said[0].startswith("block 0,1: radiometry departs from the scene's by"), said
    inside = np.zeros((SIZE, SIZE), dtype=bool)
    inside[patch[0]:patch[2], patch[1]:patch[3]] = True
    for out in ("whole", "blocks"):
        with rasterio.open(tmp_path / out / "change_mask.tif") as src:
            codes = src.read(1)
        changed = (codes > 0) & (codes < OBSCURED)
        assert changed[inside].mean() > 0.97, out
        assert changed[~inside].mean() < 0.01, out
    areas = [sum(f["properties"]["area_m2"] for f in doc["features"] if f["properties"]["length_m"] is None)
             for doc in (whole, blocks)]
    assert areas[1] == pytest.approx(areas[0], rel=0.02)
    assert areas[1] == pytest.approx(280 * 280 * 0.25, rel=0.03)
