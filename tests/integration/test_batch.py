"""Batch runs: many AOIs in worker processes or on Dask, resumable after a kill."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.monitor.batch import find_jobs, run_batch
from campwatch.monitor.store import history_layers

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))
#: AOI name -> how many of the Camp 22 images its folder holds.
SITES = {"hq-a": 4, "hq-b": 3, "hq-c": 4}


def make_root(root: Path, sites: dict[str, int] = SITES) -> Path:
    (root / "aois").mkdir(parents=True)
    for name, n in sites.items():
        shutil.copy(AOIS / "camp22.geojson", root / "aois" / f"{name}.geojson")
        (root / "images" / name).mkdir(parents=True)
        for f in CAMP22[:n]:
            shutil.copy(f, root / "images" / name / f.name)
    return root


def history_content(results: Path, name: str) -> tuple[list[dict], list[dict]]:
    """A history's rows without what differs from run to run (when, and where it was written)."""
    changes, checks = history_layers(results / name / "history.gpkg")
    changes = changes.assign(wkt=changes.geometry.to_wkt()).drop(columns="geometry")
    checks = checks.drop(columns=["geometry", "checked_at", "report_folder"])
    changes, checks = (f.astype(object).where(f.notna(), None) for f in (changes, checks))  # NaN != NaN
    return (changes.sort_values("change_id").to_dict("records"), checks.sort_values("check_id").to_dict("records"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = make_root(tmp_path_factory.mktemp("batch") / "root")
    records = run_batch(root, workers=2, figures=False)
    return root, records


@pytest.mark.slow
def test_batch_checks_every_aoi(reference):
    root, records = reference
    assert [r["aoi"] for r in records] == ["hq-a", "hq-b", "hq-c"]
    assert [r["status"] for r in records] == ["ok", "ok", "ok"]
    assert records[1]["summary"].startswith("since 2012-10-07: 2 new structures")
    results = root / "results"
    summary = json.loads((results / "summary.json").read_text())
    assert [j["aoi"] for j in summary["jobs"]] == ["hq-a", "hq-b", "hq-c"]
    log = (results / "batch.log").read_text().splitlines()
    assert log[0].endswith("start: 3 AOIs on 2 worker processes")
    assert log[-1].endswith("end: 3 of 3 AOIs done")
    assert sorted(line.split()[1] for line in log[1:-1]) == ["hq-a:", "hq-b:", "hq-c:"]
    # hq-a and hq-c hold the same images: their histories agree.
    a, c = history_content(results, "hq-a"), history_content(results, "hq-c")
    assert [(r["class"], r["interval_from"], r["interval_to"], r["wkt"]) for r in a[0]] == [
        (r["class"], r["interval_from"], r["interval_to"], r["wkt"]) for r in c[0]]
    # Run again: nothing to do, nothing added.
    again = run_batch(root, workers=2, figures=False)
    assert {r["status"] for r in again} == {"already checked"}
    assert history_content(results, "hq-a") == a


def test_batch_bad_root(tmp_path: Path):
    with pytest.raises(InputError, match="batch root not found"):
        find_jobs(tmp_path / "none")
    (tmp_path / "aois").mkdir()
    with pytest.raises(InputError, match="no AOI files in"):
        find_jobs(tmp_path)
    res = CliRunner().invoke(cli, ["batch", str(tmp_path)])
    assert res.exit_code == 2
    assert "no AOI files in" in res.output
    assert not (tmp_path / "results").exists()


def test_batch_cli_reports_an_aoi_without_images(tmp_path: Path):
    root = make_root(tmp_path / "root", {"hq-b": 2})
    shutil.copy(AOIS / "camp25.geojson", root / "aois" / "lost.geojson")
    res = CliRunner().invoke(cli, ["batch", str(root), "--workers", "1", "--no-figures"])
    assert res.exit_code == 2, res.output
    assert "lost" in res.output and "no images folder for AOI 'lost'" in res.output.replace("\n", " ").replace(
        "│", "").replace("  ", " ")
    assert (root / "results" / "hq-b" / "history.gpkg").is_file()
    assert not (root / "results" / "lost").exists()


def _workers_of(pid: int) -> list[int]:
    """The multiprocessing worker processes among the children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and "spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_batch_resumes_after_a_worker_is_killed(tmp_path: Path, reference):
    ref_root, _ = reference
    root = make_root(tmp_path / "root")
    cmd = [sys.executable, "-m", "campwatch.cli.main", "batch", str(root), "--workers", "2", "-q", "--no-figures"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    histories: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        histories = list((root / "results").glob("*/history.gpkg"))
        if histories:
            break
        time.sleep(0.05)
    assert histories, "no check finished"
    killed = _workers_of(proc.pid)
    assert killed, "no worker process to kill"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert proc.returncode == 1
    log = (root / "results" / "batch.log").read_text()
    assert "its worker process died; run the batch again to resume" in log
    finished_before = {p.parent.name for p in (root / "results").glob("*/history.gpkg")}
    assert finished_before and finished_before != set(SITES)

    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = {j["aoi"]: j["status"] for j in json.loads((root / "results" / "summary.json").read_text())["jobs"]}
    assert {k for k, v in summary.items() if v == "already checked"} == finished_before
    assert {k for k, v in summary.items() if v == "ok"} == set(SITES) - finished_before
    # Nothing lost, nothing doubled: every history equals the one of a run never killed.
    for name in SITES:
        assert history_content(root / "results", name) == history_content(ref_root / "results", name), name
    assert not list((root / "results").rglob(".campwatch-partial-*"))


@pytest.mark.slow
def test_batch_on_a_dask_cluster_gives_the_local_results(tmp_path: Path, reference):
    from distributed import LocalCluster

    ref_root, ref_records = reference
    root = make_root(tmp_path / "root")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        records = run_batch(root, scheduler=cluster.scheduler_address, figures=False)
    assert [(r["aoi"], r["status"], r["summary"], r["new"]) for r in records] == [
        (r["aoi"], r["status"], r["summary"], r["new"]) for r in ref_records]
    assert "on Dask scheduler tcp://" in (root / "results" / "batch.log").read_text()
    for name in SITES:
        assert history_content(root / "results", name) == history_content(ref_root / "results", name), name
    pd.testing.assert_frame_equal(
        history_layers(root / "results" / "hq-a" / "history.gpkg")[0].drop(columns="geometry"),
        history_layers(ref_root / "results" / "hq-a" / "history.gpkg")[0].drop(columns="geometry"))
