"""Time series: images found, dated and ordered; pairs compared; each change dated once."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import (
    AOIS,
    BUILDINGS,
    SAMPLE,
    TRANSFORM,
    camp_scene,
    grid_aoi_coords,
    sample_images,
    series_doc,
    write_tif,
)
from shapely.geometry import LineString, box

from campwatch.cli.main import cli
from campwatch.config import DetectConfig
from campwatch.detection.results import seen_fraction
from campwatch.document import PairReport, SeriesReport
from campwatch.errors import InputError, SceneError
from campwatch.evaluate import score_series
from campwatch.monitor.series import run_series, series_scenes
from campwatch.monitor.tracking import ChangeTracker, same_place

ANALYST_CLASSES = ("structure_new", "structure_demolished", "tower_added", "tower_removed", "fence_razed")
NEW_BUILDING = (196, 184, 22, 34)


@pytest.fixture(scope="module")
def camp25_series(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("series") / "camp25"
    result = run_series(AOIS / "camp25.geojson", SAMPLE / "camp25", out, dpi=100)
    return out, result


@pytest.mark.slow
def test_camp25_series_dates_every_truth_event_to_its_interval(camp25_series):
    out, _ = camp25_series
    scores = score_series(out / "series.geojson", SAMPLE / "camp25" / "truth.geojson",
                          ANALYST_CLASSES + ("structure_modified", "fence_built"))
    for name in ANALYST_CLASSES:
        assert scores[name].recall >= 0.95, scores[name].to_dict()
        assert scores[name].precision >= 0.95, scores[name].to_dict()
    # Nothing is reported as built, and the only modified roof lies under the cloud shadow.
    assert scores["fence_built"].false_positives == 0
    assert scores["structure_modified"].false_positives == 0
    assert scores["tower_removed"].true_positives == 3
    assert scores["structure_new"].true_positives == 3


def test_camp25_series_report(camp25_series):
    out, result = camp25_series
    text = (out / "series.geojson").read_text()
    report = json.loads(text)
    assert report == result.report.to_geojson()
    # Read typed and written back, the series and every pair's report are what was written, member for member.
    assert json.dumps(SeriesReport.from_geojson(report, source="s").to_geojson()) == json.dumps(report)
    pair_reports = sorted(out.glob("*/*/report.geojson"))
    assert len(pair_reports) == len(report["pairs"]) + len(report["bridges"]) == 6
    for path in pair_reports:
        doc = json.loads(path.read_text())
        typed = PairReport.from_geojson(doc, source=str(path))
        assert json.dumps(typed.to_geojson()) == json.dumps(doc)
        assert typed.interval == (doc["interval"]["from"], doc["interval"]["to"])
        assert typed.grid is not None and (typed.grid.height, typed.grid.width) == (doc["grid"]["height"],
                                                                                    doc["grid"]["width"])
        assert [f.id for f in typed.features] == [f["id"] for f in doc["features"]]
    assert [i["date"] for i in report["images"]] == ["2015-04-18", "2015-09-26", "2016-05-14", "2016-10-02",
                                                     "2017-06-11", "2018-03-30"]
    assert all(i["status"] == "compared" for i in report["images"])
    assert [(p["from"], p["to"]) for p in report["pairs"]] == [
        ("2015-04-18", "2015-09-26"), ("2015-09-26", "2016-05-14"), ("2016-05-14", "2016-10-02"),
        ("2016-10-02", "2017-06-11"), ("2017-06-11", "2018-03-30")]
    # The cloud of 2016-05-14 is reported as hidden on that date, not as change.
    cloudy = report["images"][2]
    assert 0.03 < cloudy["hidden_fraction"] < 0.5
    ids = [f["id"] for f in report["features"]]
    assert len(ids) == len(set(ids))
    for f in report["features"]:
        p = f["properties"]
        assert p["interval"]["from"] < p["interval"]["to"] <= p["last_confirmed"]
        assert p["first_image"].endswith(p["interval"]["to"] + ".tif")
        assert p["before_image"].endswith(p["interval"]["from"] + ".tif")
    # A tower removed in 2016 is confirmed gone in every later image.
    towers = [f["properties"] for f in report["features"] if f["properties"]["class"] == "tower_removed"]
    assert {t["last_image"] for t in towers} == {"camp25_2018-03-30.tif"}
    # The roof re-done while the edge of a cloud hid it on 2016-05-14 is not lost: the comparison
    # across that image finds it, dated to the span it could have happened in.
    assert [(b["from"], b["to"]) for b in report["bridges"]] == [("2015-09-26", "2016-10-02")]
    across = [f["properties"] for f in report["features"] if f["properties"]["found_by"] == "bridge"
              and f["properties"]["class"] != "other_change"]
    assert [(p["class"], p["interval"]["from"], p["interval"]["to"]) for p in across] == [
        ("structure_modified", "2015-09-26", "2016-10-02")]
    truth = gpd.read_file(SAMPLE / "camp25" / "truth.geojson").to_crs(32652)
    roof = truth[truth["class"] == "structure_modified"].geometry.iloc[0]
    found = gpd.GeoDataFrame.from_features(
        [f for f in report["features"] if f["properties"]["id"] == across[0]["id"]], crs=4326).to_crs(32652)
    assert found.geometry.iloc[0].intersection(roof).area > 0.5 * roof.area
    fence = [f["properties"] for f in report["features"] if f["properties"]["class"] == "fence_razed"]
    assert report["summary"]["fence_razed_m"] == pytest.approx(sum(p["length_m"] for p in fence))
    assert 170 <= report["summary"]["fence_razed_m"] <= 190  # truth: 3 stretches of 60 m
    # Every output is listed with its hash, and every input image and the AOI.
    for name, digest in report["outputs"].items():
        assert (out / name).is_file(), name
        assert len(digest) == 64
    assert len([i for i in report["inputs"] if i["role"] == "image"]) == 6
    for stem in ("location", "before_after", "change_overlay", "closeups", "timeline"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 20_000
        assert report["outputs"][f"figures/{stem}.pdf"]
    assert "Kwan-li-so No. 25" in (out / "report.html").read_text()
    with rasterio.open(out / "pairs" / "2016-10-02_2017-06-11" / "change_mask.tif") as ds:
        assert ds.tags()["AFTER_DATE"] == "2017-06-11"


def test_series_scenes_sorted_by_date_from_names_and_tags(tmp_path: Path):
    img = camp_scene(1, buildings=[], noise_seed=1)
    write_tif(tmp_path / "b_2021-03-04.tif", img)
    write_tif(tmp_path / "a_2022-01-01.tif", img)
    write_tif(tmp_path / "tagged.tif", img, tags={"TIFFTAG_DATETIME": "2020:07:08 10:00:00"})
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "a_2022-01-01.tif.aux.xml").write_text("<PAMDataset/>")
    infos = series_scenes(tmp_path)
    assert [i.date for i in infos] == [dt.date(2020, 7, 8), dt.date(2021, 3, 4), dt.date(2022, 1, 1)]
    assert [i.path.name for i in infos] == ["tagged.tif", "b_2021-03-04.tif", "a_2022-01-01.tif"]


@pytest.mark.parametrize("second, error, message", [
    ("mystery.tif", SceneError, r"mystery\.tif: cannot tell the acquisition date"),
    ("y_2021-03-04.tif", InputError, r"x_2021-03-04\.tif and .*y_2021-03-04\.tif have the same date"),
])
def test_series_scenes_names_an_undated_image_and_both_images_of_one_date(tmp_path: Path, second, error, message):
    img = camp_scene(1, buildings=[], noise_seed=1)
    write_tif(tmp_path / "x_2021-03-04.tif", img)
    write_tif(tmp_path / second, img)
    with pytest.raises(error, match=message):
        series_scenes(tmp_path)


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "folder not found"),
    (lambda p: write_tif(p / "one_2020-01-01.tif", camp_scene(1, buildings=[], noise_seed=1)), "not a folder"),
    (lambda p: p, "no images found"),
])
def test_series_scenes_bad_folder(tmp_path: Path, make, message):
    with pytest.raises(InputError, match=message):
        series_scenes(make(tmp_path))


def _grid_aoi(tmp_path: Path) -> Path:
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {
        "role": "aoi", "name": "Grid camp", "source": "tests"},
        "geometry": {"type": "Polygon", "coordinates": [grid_aoi_coords()]}}]}
    path = tmp_path / "grid.geojson"
    path.write_text(json.dumps(doc))
    return path


def test_mostly_hidden_date_is_kept_in_the_record_and_skipped(tmp_path: Path):
    images = tmp_path / "images"
    images.mkdir()
    write_tif(images / "g_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    hidden = camp_scene(7, buildings=BUILDINGS + [NEW_BUILDING], noise_seed=2)
    hidden[:, :200, :] = 0  # nodata over most of the AOI
    write_tif(images / "g_2020-07-01.tif", hidden)
    write_tif(images / "g_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS + [NEW_BUILDING], noise_seed=3))
    out = tmp_path / "out"
    result = run_series(_grid_aoi(tmp_path), images, out, figures=False)
    report = result.report.to_geojson()
    statuses = {i["date"]: (i["status"], i["reason"]) for i in report["images"]}
    assert statuses["2020-07-01"][0] == "skipped"
    assert "of the AOI has no data" in statuses["2020-07-01"][1]
    assert statuses["2020-05-01"][0] == statuses["2020-09-01"][0] == "compared"
    assert report["summary"]["skipped"] == [{"file": "g_2020-07-01.tif", "date": "2020-07-01",
                                             "reason": statuses["2020-07-01"][1]}]
    assert [(p["from"], p["to"]) for p in report["pairs"]] == [("2020-05-01", "2020-09-01")]
    new = [f["properties"] for f in report["features"] if f["properties"]["class"] == "structure_new"]
    assert len(new) == 1
    assert new[0]["interval"] == {"from": "2020-05-01", "to": "2020-09-01"}
    assert new[0]["area_m2"] == pytest.approx(22 * 34 * 0.25, rel=0.25)
    assert (out / "pairs" / "2020-05-01_2020-09-01" / "report.geojson").is_file()
    assert not (out / "pairs" / "2020-05-01_2020-07-01").exists()


def test_series_with_one_usable_image_is_an_error_and_writes_nothing(tmp_path: Path):
    images = tmp_path / "images"
    images.mkdir()
    write_tif(images / "g_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    empty = np.zeros((4, 256, 240), "uint16")
    write_tif(images / "g_2020-07-01.tif", empty)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"no two images could be compared: .*g_2020-07-01\.tif 100% of the AOI"):
        run_series(_grid_aoi(tmp_path), images, out, figures=False)
    assert not out.exists()


def _fake_pair(before: str, after: str, regions: list[SimpleNamespace], *, hidden: bool = False):
    """A stand-in for a DetectResult on the test grid: what the tracker reads of one."""
    shape = (256, 240)
    scene = {"crs": "EPSG:32652", "transform": TRANSFORM, "shape": shape, "pixel_area": 0.25}
    usable = np.full(shape, not hidden)
    return SimpleNamespace(
        before=SimpleNamespace(path=Path(f"s_{before}.tif"), date=dt.date.fromisoformat(before), **scene),
        after=SimpleNamespace(path=Path(f"s_{after}.tif"), date=dt.date.fromisoformat(after), **scene),
        regions=regions,
        seen_fraction=lambda geom: seen_fraction(
            geom, TRANSFORM, shape, lambda w: usable[int(w.row_off):int(w.row_off + w.height),
                                                     int(w.col_off):int(w.col_off + w.width)]),
    )


_REGION_IDS = itertools.count(1)


def _region(cls: str, geom, confidence: float = 0.9):
    return SimpleNamespace(id=next(_REGION_IDS), change_class=cls, geometry=geom, confidence=confidence,
                           area_m2=geom.area,
                           length_m=geom.length if not geom.area else None,
                           properties=lambda: {"cause": "structure", "evidence": {}})


def test_tracker_keeps_a_change_seen_again_as_one():
    x0, y1 = TRANSFORM.c, TRANSFORM.f
    roof = box(x0 + 20, y1 - 40, x0 + 35, y1 - 30)
    tracker = ChangeTracker("EPSG:32652")
    new = tracker.add_pair(_fake_pair("2020-01-01", "2020-02-01", [_region("structure_new", roof)]))
    assert [c.id for c in new] == ["C0001"]
    # Seen again, a little shifted, in the next pair: the same change, not a new one.
    again = tracker.add_pair(_fake_pair("2020-02-01", "2020-03-01",
                                        [_region("structure_new", roof.buffer(0.5), 0.95)]))
    assert again == []
    (change,) = tracker.changes
    assert change.interval == (dt.date(2020, 1, 1), dt.date(2020, 2, 1))
    assert change.pairs == ["2020-01-01/2020-02-01", "2020-02-01/2020-03-01"]
    assert change.last[1] == dt.date(2020, 3, 1)
    assert change.confidence == 0.95
    # A pair that sees the place and finds nothing confirms it; a hidden one does not.
    tracker.add_pair(_fake_pair("2020-03-01", "2020-04-01", []))
    assert change.last[1] == dt.date(2020, 4, 1)
    tracker.add_pair(_fake_pair("2020-04-01", "2020-05-01", [], hidden=True))
    assert change.last[1] == dt.date(2020, 4, 1)
    # Demolished later: the new structure is marked reverted, the demolition is a change of its own.
    gone = tracker.add_pair(_fake_pair("2020-05-01", "2020-06-01", [_region("structure_demolished", roof)]))
    assert [c.change_class for c in gone] == ["structure_demolished"]
    assert change.reverted == {"from": "2020-05-01", "to": "2020-06-01"}
    assert gone[0].interval == (dt.date(2020, 5, 1), dt.date(2020, 6, 1))


def test_same_place_for_areas_and_lines():
    a = box(0, 0, 10, 10)
    assert same_place(a, box(2, 2, 12, 12))
    assert not same_place(a, box(8, 8, 18, 18))
    assert not same_place(a, LineString([(0, 0), (10, 0)]))
    line = LineString([(0, 0), (100, 0)])
    assert same_place(line, LineString([(10, 1.5), (90, 1.5)]))
    assert not same_place(line, LineString([(10, 5), (90, 5)]))
    assert not same_place(line, LineString([(80, 0), (200, 0)]))


@pytest.mark.slow
def test_series_cli(tmp_path: Path):
    images = tmp_path / "camp22"
    shutil.copytree(SAMPLE / "camp22", images)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["series", str(AOIS / "camp22.geojson"), str(images), "--out", str(out), "-q",
                                   "--dpi", "60"])
    assert res.exit_code == 0, res.output
    assert "Kwan-li-so No. 22 (Hoeryong): 4 images, 3 pairs compared" in res.output
    assert "2012-10-07 -> 2013-06-02: 2 new structure" in res.output
    report = json.loads((out / "series.geojson").read_text())
    scores = score_series(out / "series.geojson", images / "truth.geojson", ANALYST_CLASSES)
    assert all(s.false_negatives == 0 and s.false_positives == 0 for s in scores.values()), scores
    assert report["parameters"] == DetectConfig().to_dict()


def test_series_cli_bad_folder_exit_2_and_nothing_written(tmp_path: Path):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["series", str(AOIS / "camp22.geojson"), str(tmp_path / "nope"), "--out", str(out)])
    assert res.exit_code == 2
    assert "nope: folder not found" in res.output
    assert not out.exists()


def test_series_of_images_in_different_crs_and_pixel_size(tmp_path: Path):
    """One date delivered in another CRS and pixel size (another satellite): the series still runs."""
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    images = tmp_path / "images"
    images.mkdir()
    write_tif(images / "g_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    src = write_tif(tmp_path / "utm.tif", camp_scene(7, buildings=BUILDINGS + [NEW_BUILDING], noise_seed=2))
    with rasterio.open(src) as ds:
        transform, width, height = calculate_default_transform(ds.crs, "EPSG:3857", ds.width, ds.height,
                                                               *ds.bounds, resolution=0.6)
        profile = ds.profile | {"crs": "EPSG:3857", "transform": transform, "width": width, "height": height}
        with rasterio.open(images / "g_2020-07-01.tif", "w", **profile) as dst:
            for b in range(1, ds.count + 1):
                reproject(rasterio.band(ds, b), rasterio.band(dst, b), resampling=Resampling.bilinear)
                dst.set_band_description(b, ds.descriptions[b - 1])
    write_tif(images / "g_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS + [NEW_BUILDING], noise_seed=3))
    result = run_series(_grid_aoi(tmp_path), images, tmp_path / "out", figures=False)
    report = result.report.to_geojson()
    assert [i["status"] for i in report["images"]] == ["compared"] * 3
    new = [f["properties"] for f in report["features"] if f["properties"]["class"] == "structure_new"]
    assert [p["interval"] for p in new] == [{"from": "2020-05-01", "to": "2020-07-01"}]
    assert new[0]["last_confirmed"] == "2020-09-01"
    assert not [f for f in report["features"] if f["properties"]["class"] == "structure_demolished"]
    assert any("resampled from EPSG:3857" in w for w in report["pairs"][0]["warnings"])


def test_series_with_a_date_delivered_as_a_folder_of_tiles(tmp_path: Path):
    images = tmp_path / "images"
    images.mkdir()
    write_tif(images / "g_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    after = camp_scene(7, buildings=BUILDINGS + [NEW_BUILDING], noise_seed=2)
    tiles = images / "g_2020-09-01"
    tiles.mkdir()
    write_tif(tiles / "west.tif", after[:, :, :120])
    write_tif(tiles / "east.tif", after[:, :, 120:], transform=TRANSFORM * TRANSFORM.translation(120, 0))
    (images / "readme.txt").write_text("delivered in two tiles")
    result = run_series(_grid_aoi(tmp_path), images, tmp_path / "out", figures=False)
    report = result.report.to_geojson()
    assert [(i["file"], i["status"]) for i in report["images"]] == [("g_2020-05-01.tif", "compared"),
                                                                    ("g_2020-09-01", "compared")]
    new = [f["properties"] for f in report["features"] if f["properties"]["class"] == "structure_new"]
    assert len(new) == 1 and new[0]["interval"] == {"from": "2020-05-01", "to": "2020-09-01"}
    assert sorted(Path(i["path"]).name for i in report["inputs"] if i["role"] == "image") == [
        "east.tif", "g_2020-05-01.tif", "west.tif"]
    # The tiles are one image to verify and to draw, too.
    from campwatch.monitor.verify import verify_report
    from campwatch.publish.html import write_figures

    assert verify_report(tmp_path / "out" / "series.geojson").ok
    write_figures(tmp_path / "out" / "series.geojson", tmp_path / "figs", dpi=50)
    assert (tmp_path / "figs" / "report.html").is_file()


def test_a_change_undone_by_the_next_image_is_one_transient_record():
    # Snow in a gully on one image: "new" against the image before, "demolished" against the one after.
    x0, y1 = TRANSFORM.c, TRANSFORM.f
    snow, roof = box(x0 + 20, y1 - 40, x0 + 35, y1 - 30), box(x0 + 60, y1 - 40, x0 + 80, y1 - 30)
    tracker = ChangeTracker("EPSG:32652")
    tracker.add_pair(_fake_pair("2020-01-01", "2020-02-01", [_region("structure_new", snow),
                                                             _region("structure_new", roof)]))
    undone = tracker.add_pair(_fake_pair("2020-02-01", "2020-03-01", [_region("structure_demolished", snow)]))
    assert undone == []  # the melt is the second half of the snow's record, not a change of its own
    by_place = {round(c.geometry.centroid.x - x0): c for c in tracker.changes}
    assert len(tracker.changes) == 2
    assert by_place[28].transient and by_place[28].reverted == {"from": "2020-02-01", "to": "2020-03-01"}
    assert not by_place[70].transient and by_place[70].reverted is None
    assert by_place[28].feature("EPSG:32652").properties["transient"] is True
    # Undone two images later, a change was seen standing on two images: reverted, not transient.
    tracker.add_pair(_fake_pair("2020-03-01", "2020-04-01", []))
    gone = tracker.add_pair(_fake_pair("2020-04-01", "2020-05-01", [_region("structure_demolished", roof)]))
    assert [c.change_class for c in gone] == ["structure_demolished"]
    assert by_place[70].reverted == {"from": "2020-04-01", "to": "2020-05-01"} and not by_place[70].transient


def test_transient_changes_are_in_the_geojson_but_not_in_counts_lines_or_timeline():
    from campwatch.monitor.series import SeriesResult
    from campwatch.publish.figures import timeline

    def feature(cid, cls, transient):
        return {"properties": {"id": cid, "class": cls, "transient": transient, "area_m2": 100.0, "length_m": None,
                               "found_by": "pair", "interval": {"from": "2020-01-01", "to": "2020-02-01"}}}

    report = {"aoi": {"name": "X"}, "summary": {"images": 2}, "images": [{"date": "2020-01-01", "status": "compared"},
                                                                       {"date": "2020-02-01", "status": "compared"}],
              "pairs": [{"from": "2020-01-01", "to": "2020-02-01"}],
              "features": [feature("C1", "structure_new", False)] + [feature(f"S{i}", "structure_new", True)
                                                                     for i in range(3)]}
    assert SeriesResult(report=series_doc(report), changes=[]).lines()[1] == (
        "  2020-01-01 -> 2020-02-01: 1 new structure, 3 on this image only (transient, not counted)")
    fig = timeline(series_doc(report))
    bars = [p.get_height() for p in fig.axes[0].patches if p.get_height() > 0]
    assert bars == [1]
    assert fig.axes[-1].get_xlabel().startswith("Not counted: 3 changes seen on one image only")


@pytest.mark.slow
def test_report_html_shows_paths_relative_to_it_and_no_absolute_one(tmp_path):
    images = sample_images(tmp_path / "img", "camp22", 2)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["-q", "series", str(AOIS / "camp22.geojson"), str(images), "--out", str(out),
                                   "--dpi", "50"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    assert str(tmp_path) not in html and str(AOIS) not in html  # no user or folder names of this machine
    assert "../img/camp22_2012-05-20.tif" in html
    series = json.loads((out / "series.geojson").read_text())
    assert series["classes"]["possible"][0] == "structure_new"
    assert series["confidence"]["name"] == "campwatch-confidence/1"


def test_swapped_series_arguments_say_which_comes_first(tmp_path):
    images = sample_images(tmp_path / "img", "camp22", 2)
    res = CliRunner().invoke(cli, ["series", str(images), str(AOIS / "camp22.geojson"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "is a folder, not an AOI file (GeoJSON); the AOI comes first" in res.stderr
    assert not (tmp_path / "o").exists()


def test_evaluate_scores_a_series_report_as_verify_and_figures_take_it(camp25_series, tmp_path):
    """`evaluate --truth` takes a series.geojson (issue 29, 7): each pair's changes on its interval."""
    out, _ = camp25_series
    truth = SAMPLE / "camp25" / "truth.geojson"
    res = CliRunner().invoke(cli, ["evaluate", str(out / "series.geojson"), "--truth", str(truth), "--classes",
                                   "structure_new,tower_removed", "--out", str(tmp_path / "scores.json")])
    assert res.exit_code == 0, res.output
    scores = json.loads((tmp_path / "scores.json").read_text())["classes"]
    expected = score_series(out / "series.geojson", truth, ("structure_new", "tower_removed"))
    assert scores == [s.to_dict() for s in expected.values()]
    assert [s["tp"] for s in scores] == [3, 3]


def test_cloud_warnings_name_their_pair_and_the_bridge_line_speaks_in_words(camp25_series):
    """Issue 29, 7: a cloud warning says which pair it belongs to; the bridge line counts in words."""
    out, result = camp25_series
    report = result.report.to_geojson()
    clouds = {(p["from"], p["to"]): [w for w in p["warnings"] if w.startswith("cloud on")] for p in report["pairs"]}
    assert clouds[("2015-09-26", "2016-05-14")][0].startswith("cloud on 2016-05-14 (pair 2015-09-26 -> 2016-05-14): ")
    assert clouds[("2016-05-14", "2016-10-02")][0].startswith("cloud on 2016-05-14 (pair 2016-05-14 -> 2016-10-02): ")
    across = [f["properties"]["id"] for f in report["features"] if f["properties"]["found_by"] == "bridge"
              and f["properties"]["class"] != "other_change"]
    bridge = [line for line in result.lines() if "where a cloud hid" in line]
    assert bridge == [f"  2015-09-26 -> 2016-10-02 where a cloud hid the image between: 1 structure modified "
                      f"({across[0]})"]


def test_a_fence_stretch_has_a_length_and_no_area(camp25_series):
    out, result = camp25_series
    fences = [f["properties"] for f in result.report.to_geojson()["features"] if f["properties"]["class"] == "fence_razed"]
    assert fences and all(p["area_m2"] is None and p["length_m"] > 0 for p in fences)
    pair = json.loads((out / "pairs" / f"{fences[0]['interval']['from']}_{fences[0]['interval']['to']}"
                       / "report.geojson").read_text())
    lines = [f["properties"] for f in pair["features"] if f["properties"]["class"] == "fence_razed"]
    assert lines and all(p["area_m2"] is None and p["length_m"] > 0 for p in lines)
    structures = [f["properties"] for f in pair["features"] if f["properties"]["length_m"] is None]
    assert all(p["area_m2"] > 0 for p in structures)


def test_a_pairs_changes_name_their_series_change_and_both_count_those_counted_earlier(camp25_series):
    """Issue 29, 7: a pair's map shows every change it found, the series counts once what an earlier
    interval counted: the pair's report links each change to the series', and both say how many."""
    from campwatch.publish.figures import change_map
    from campwatch.publish.views import view_from_report

    out, result = camp25_series
    series_ids = {f["properties"]["id"] for f in result.report.to_geojson()["features"]}
    lines = result.lines()
    earlier_total = 0
    for pair in result.report.to_geojson()["pairs"]:
        doc = json.loads((out / pair["folder"] / "report.geojson").read_text())
        props = [f["properties"] for f in doc["features"]]
        assert props and all(p["series_id"] in series_ids for p in props)
        statuses = [p["series_status"] for p in props]
        assert set(statuses) <= {"new", "found_again", "undoes"}
        earlier = sum(1 for s in statuses if s != "new")
        assert pair["counted_earlier"] == earlier
        # The series' changes of this interval are the pair's new ones, each once.
        new_ids = {p["series_id"] for p in props if p["series_status"] == "new"}
        here = {f["properties"]["id"] for f in result.report.to_geojson()["features"]
                if f["properties"]["interval"] == {"from": pair["from"], "to": pair["to"]}}
        assert new_ids == here
        line = next(line for line in lines if line.startswith(f"  {pair['from']} -> {pair['to']}: "))
        said = f"{earlier} more on the pair's map, counted in an earlier interval"
        assert (said in line) == bool(earlier), line
        if earlier:
            footer = change_map(view_from_report(out / pair["folder"] / "report.geojson")).axes[0].get_xlabel()
            assert f"In the series, {earlier} of these changes are counted in an earlier interval" in footer
        earlier_total += earlier
    assert earlier_total > 0  # the sample has changes seen again in a later pair


def test_campwatchs_own_outputs_in_the_images_folder_are_not_images(tmp_path):
    """An output folder inside the images folder, or a series whose --out is its images folder, is never read
    back as a dated image (issue 26, 4)."""
    from campwatch.monitor.series import series_scenes

    images = sample_images(tmp_path / "images", "camp22", 3)
    names = sorted(p.name for p in images.glob("*.tif"))
    res = CliRunner().invoke(cli, ["-q", "detect", str(images / names[0]), str(images / names[1]), "--aoi",
                                   str(AOIS / "camp22.geojson"), "--out", str(images / "out_2013-01-01")])
    assert res.exit_code == 0, res.output
    assert [i.path.name for i in series_scenes(images)] == names
    res = CliRunner().invoke(cli, ["-q", "series", str(AOIS / "camp22.geojson"), str(images), "--out", str(images),
                                   "--no-figures"])
    assert res.exit_code == 0, res.output
    assert (images / "item.json").is_file() and (images / "series.geojson").is_file()
    assert [i.path.name for i in series_scenes(images)] == names  # its item.json is no STAC scene of the next month
