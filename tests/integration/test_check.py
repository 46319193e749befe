"""The monthly check and its history: what is new, stable ids, idempotence, concurrent writers."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.evaluate import read_truth
from campwatch.monitor.history import run_check
from campwatch.monitor.store import history_layers

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))
ANALYST = ("structure_new", "structure_demolished", "tower_added", "tower_removed", "fence_razed")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _folder(tmp_path: Path, n: int, name: str = "img") -> Path:
    images = tmp_path / name
    images.mkdir(exist_ok=True)
    for f in CAMP22[:n]:
        if not (images / f.name).exists():
            shutil.copy(f, images / f.name)
    return images


@pytest.mark.slow
def test_monthly_checks_build_a_history(tmp_path: Path):
    images = _folder(tmp_path, 2)
    out = tmp_path / "checks"
    aoi = AOIS / "camp22.geojson"
    first = run_check(aoi, images, out, now=NOW, dpi=72)
    assert first.status == "ok"
    assert first.summary.startswith("since 2012-05-20: 1 structure demolished, 1 guard tower removed")
    ids_after_first = {c["id"] for c in first.new}
    # The first check made its figure set and report page; the others were told not to.
    assert sorted(p.name for p in (first.folder / "figures").glob("*.png")) == [
        "before_after.png", "change_overlay.png", "closeups.png", "location.png", "timeline.png"]
    page = (first.folder / "report.html").read_text()
    assert "since 2012-05-20: 1 structure demolished" in page
    named = [c["id"] for c in first.new if c["class"] != "other_change"]
    assert named and all(f"<td>{i}</td>" in page for i in named)  # the gazetteer uses the history's ids
    _folder(tmp_path, 3)
    second = run_check(aoi, images, out, now=NOW, figures=False)
    assert second.summary.startswith("since 2012-10-07: 2 new structures")
    assert "m of fence razed" in second.summary
    _folder(tmp_path, 4)
    third = run_check(aoi, images, out, now=NOW, figures=False)
    assert third.summary.startswith("since 2013-06-02: 1 structure demolished, 1 guard tower removed")
    assert third.found_new

    # QGIS-style readers see two layers.
    history = out / "history.gpkg"
    assert sorted(name for name, _ in pyogrio.list_layers(history)) == ["changes", "checks", "layer_styles"]
    changes = gpd.read_file(history, layer="changes")
    checks = gpd.read_file(history, layer="checks")
    assert list(checks["newest_date"]) == ["2012-10-07", "2013-06-02", "2014-04-22"]
    assert list(checks["previous_date"]) == ["2012-05-20", "2012-10-07", "2013-06-02"]
    assert list(checks["status"]) == ["ok", "ok", "ok"]
    assert checks.geometry.iloc[0].geom_type == "Polygon"
    # Ids are stable: what the first check found is still there, under the same ids, confirmed later.
    assert ids_after_first <= set(changes["change_id"])
    assert changes["change_id"].is_unique
    kept = changes[changes["change_id"].isin(ids_after_first) & changes["class"].isin(ANALYST)]
    assert len(kept) == 2
    assert set(kept["last_confirmed"]) == {"2014-04-22"}
    assert set(kept["first_seen"]) == {"2012-10-07"}
    # Every truth event is in the history with its interval, and no other analyst-class change.
    # The structure built while a cloud hid its place (2013-06-02) is found against the
    # baseline and dated to the whole span, which holds its true interval.
    found = changes[changes["class"].isin(ANALYST)].to_crs(32652)
    truth = read_truth(SAMPLE / "camp22" / "truth.geojson").to_crs(32652)
    truth = truth[truth["class"].isin(ANALYST)]
    assert len(truth) == 8
    for _, t in truth.iterrows():
        near = found[(found["class"] == t["class"]) & (found.distance(t.geometry) < 2.0)]
        assert len(near) >= 1, t["class"]
        for _, f in near.iterrows():
            if f["found_by"] == "pair":
                assert (f["interval_from"], f["interval_to"]) == (t["interval"]["from"], t["interval"]["to"])
            else:
                assert f["interval_from"] <= t["interval"]["from"] and t["interval"]["to"] <= f["interval_to"]
    for _, f in found.iterrows():
        assert (truth[truth["class"] == f["class"]].distance(f.geometry) < 2.0).any(), f["change_id"]
    assert (found["found_by"] == "baseline").sum() == 1
    # Each check's outputs are on disk where the history says.
    for recorded in checks["report_folder"]:
        folder = history.parent / recorded  # relative to the history's folder, never absolute
        assert not Path(recorded).is_absolute()
        doc = json.loads((folder / "check.json").read_text())
        for pair in doc["pairs"]:
            assert (Path(folder) / pair["folder"] / "report.geojson").is_file()


def test_same_check_twice_adds_nothing(tmp_path: Path):
    images = _folder(tmp_path, 3)
    out = tmp_path / "checks"
    first = run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    before = (out / "history.gpkg").read_bytes()
    again = run_check(AOIS / "camp22.geojson", images, out, figures=False)
    assert again.status == "already checked"
    assert again.check_id == first.check_id
    assert not again.found_new
    assert (out / "history.gpkg").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == sorted(["history.gpkg", first.check_id])  # no lock file left


@pytest.mark.slow
def test_first_check_compares_with_previous_and_baseline(tmp_path: Path):
    images = _folder(tmp_path, 4)
    out = tmp_path / "checks"
    result = run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    doc = json.loads((result.folder / "check.json").read_text())
    assert [(p["kind"], p["from"], p["to"]) for p in doc["pairs"]] == [
        ("pair", "2013-06-02", "2014-04-22"), ("baseline", "2012-05-20", "2014-04-22")]
    # what the pixels could show, and what the confidences mean
    assert doc["classes"]["pixel_size_m"] == pytest.approx(0.5) and doc["classes"]["not_possible"] == {}
    assert doc["confidence"]["name"] == "campwatch-confidence/1"
    changes, checks = history_layers(out / "history.gpkg")
    assert checks["baseline_date"].iloc[0] == "2012-05-20"
    # What only the baseline shows is dated to the whole span, never to the last interval.
    base = changes[changes["found_by"] == "baseline"]
    assert (base["interval_from"] == "2012-05-20").all() and (base["interval_to"] == "2014-04-22").all()
    named = run_check(AOIS / "camp22.geojson", images, tmp_path / "other", baseline="2012-10-07", now=NOW, figures=False)
    doc = json.loads((named.folder / "check.json").read_text())
    assert doc["pairs"][1]["from"] == "2012-10-07"


def _check_in_process(args: tuple[str, str, str, str]) -> str:
    aoi, images, out, history = args
    return run_check(aoi, images, out, history_path=history, figures=False).status


@pytest.mark.slow
def test_concurrent_checks_on_one_history(tmp_path: Path):
    images = _folder(tmp_path, 3)
    history = tmp_path / "shared.gpkg"
    aois = []
    for name in ("hq-a", "hq-b"):
        shutil.copy(AOIS / "camp22.geojson", tmp_path / f"{name}.geojson")
        aois.append(str(tmp_path / f"{name}.geojson"))
    jobs = [(a, str(images), str(tmp_path / "out" / Path(a).stem), str(history)) for a in aois]
    jobs += [jobs[0]]  # the same check twice at once: recorded once
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        statuses = pool.map(_check_in_process, jobs)
    assert sorted(statuses) == ["already checked", "ok", "ok"]
    changes, checks = history_layers(history)
    assert sorted(checks["aoi"]) == ["hq-a", "hq-b"]
    assert changes["change_id"].is_unique
    per_aoi = changes.groupby("aoi").size()
    assert per_aoi["hq-a"] == per_aoi["hq-b"] > 0


@pytest.mark.slow
def test_concurrent_checks_with_their_own_histories_share_one_folder(tmp_path: Path):
    # Each keeps its history; neither removes the other's staging (issue 17, class 6).
    images = _folder(tmp_path, 3)
    out = tmp_path / "out"
    jobs = [(str(AOIS / "camp22.geojson"), str(images), str(out), str(tmp_path / f"{name}.gpkg"))
            for name in ("analyst-a", "analyst-b")]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        statuses = pool.map(_check_in_process, jobs)
    assert statuses == ["ok", "ok"]
    for name in ("analyst-a", "analyst-b"):
        _, checks = history_layers(tmp_path / f"{name}.gpkg")
        assert len(checks) == 1 and (tmp_path / checks["report_folder"].iloc[0] / "check.json").exists()
    assert not [p for p in out.iterdir() if "campwatch-partial" in p.name]


@pytest.mark.slow
def test_mostly_hidden_newest_image_is_said_and_skipped_next_time(tmp_path: Path):
    import rasterio

    images = _folder(tmp_path, 2)
    out = tmp_path / "checks"
    run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    with rasterio.open(CAMP22[2]) as src:
        profile, data = src.profile, src.read()
    data[:, : int(data.shape[1] * 0.8)] = 0
    with rasterio.open(images / CAMP22[2].name, "w", **profile) as dst:
        dst.write(data)
    hidden = run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    assert hidden.status == "obscured"
    assert hidden.summary.startswith(f"newest image {CAMP22[2].name}: ")
    assert "of the AOI has no data; nothing reported for it" in hidden.summary
    assert not hidden.found_new
    _folder(tmp_path, 4)
    later = run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    assert later.status == "ok"
    assert later.summary.startswith("since 2012-10-07: ")  # the last usable image, not the hidden one
    _, checks = history_layers(out / "history.gpkg")
    assert list(checks["status"]) == ["ok", "obscured", "ok"]
    assert json.loads(checks["skipped"].iloc[2])[0]["file"] == CAMP22[2].name


def test_check_cli_exit_code_for_schedulers(tmp_path: Path):
    images = _folder(tmp_path, 2)
    out = tmp_path / "checks"
    args = ["check", str(AOIS / "camp22.geojson"), str(images), "--out", str(out), "--exit-code", "-q", "--no-figures"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 3, res.output
    assert res.output.startswith("camp22: since 2012-05-20: 1 structure demolished")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0
    assert "already checked" in res.output


@pytest.mark.parametrize("case, message", [
    ("history", "not a GeoPackage"),
    ("baseline", "baseline '1999-01-01' is not one of the images"),
])
def test_check_bad_input_exit_2_and_nothing_written(tmp_path: Path, case: str, message: str):
    images = _folder(tmp_path, 2)
    out = tmp_path / "checks"
    args = ["check", str(AOIS / "camp22.geojson"), str(images), "--out", str(out)]
    if case == "history":
        bad = tmp_path / "history.gpkg"
        bad.write_text("not a geopackage")
        args += ["--history", str(bad)]
    else:
        args += ["--baseline", "1999-01-01"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists() or not any(p.suffix != ".lock" for p in out.rglob("*"))
    if case == "history":
        assert (tmp_path / "history.gpkg").read_text() == "not a geopackage"


def test_check_needs_the_image_it_compared_last(tmp_path: Path):
    images = _folder(tmp_path, 3)
    out = tmp_path / "checks"
    run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)
    (images / CAMP22[2].name).unlink()
    _folder(tmp_path, 4)
    (images / CAMP22[2].name).unlink()
    with pytest.raises(InputError, match="the image of 2013-06-02, the last one this AOI's history"):
        run_check(AOIS / "camp22.geojson", images, out, now=NOW, figures=False)


@pytest.mark.slow
def test_history_change_ids_number_on(tmp_path: Path):
    images = _folder(tmp_path, 3)
    out = tmp_path / "checks"
    shutil.copy(AOIS / "camp22.geojson", tmp_path / "hq.geojson")
    run_check(tmp_path / "hq.geojson", _folder(tmp_path, 2, "img2"), out, now=NOW, figures=False)
    run_check(tmp_path / "hq.geojson", images, out, now=NOW, figures=False)
    changes, _ = history_layers(out / "history.gpkg")
    numbers = sorted(int(i.rsplit("-", 1)[1]) for i in changes["change_id"])
    assert numbers == list(np.arange(1, len(numbers) + 1))
    assert all(i.startswith("hq-") for i in changes["change_id"])
