"""Fault injection (issue 17, class 6): kill detect, series and check at random moments, the commit
included; what is on disk is the old set or the new set, never a mix, and a rerun succeeds."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import AOIS, SAMPLE, sample_images

from campwatch.monitor.store import history_layers

pytestmark = pytest.mark.slow

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))
REPORT = {"detect": "report.geojson", "series": "series.geojson"}
#: Kills per command: their moments are drawn from a seeded generator, so each run of the suite kills
#: at the same moments (early in the analysis, mid-way, and in the commit).
KILLS = 3


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _campwatch(args: list[str], *, kill_after: float | None = None) -> int | None:
    """Run the CLI in a process of its own; with ``kill_after``, SIGKILL it then (None: it had finished)."""
    proc = subprocess.Popen([sys.executable, "-m", "campwatch.cli.main", "-q", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()
        return 0
    try:
        proc.wait(timeout=kill_after)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def _state(out: Path, report: str) -> float | None:
    """The ``min_area_m2`` of the run whose complete set is in ``out``; None when there is none.

    Fails when the folder holds a mix: a file the report does not name, or one whose hash it
    does not record.
    """
    if not out.exists():
        return None
    doc = json.loads((out / report).read_text())
    outputs = doc["outputs"]
    for name, digest in outputs.items():
        assert _sha(out / name) == digest, f"{name} is not the file {report} describes"
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    stray = files - set(outputs) - {report, ".campwatch-outputs", "report.html", "item.json"}
    assert not stray, f"files beside {report} that it does not describe: {sorted(stray)[:5]}"
    assert not [p for p in out.parent.iterdir() if "campwatch-partial" in p.name and p.name.startswith(f".{out.name}")
                and not p.is_dir()]
    # The STAC Item beside the report describes that report, not another run's.
    item = json.loads((out / "item.json").read_text())
    assert item["assets"][report]["file:checksum"] == "1220" + _sha(out / report)
    return float(doc["parameters"]["min_area_m2"])


def _configs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("min_area_m2 = 25\n")
    b.write_text("min_area_m2 = 40\n")
    return a, b


@pytest.mark.parametrize("command", ["detect", "series"])
def test_a_killed_run_leaves_the_old_set_or_the_new_one(tmp_path: Path, command: str):
    rng = random.Random(f"faults-{command}")
    images = sample_images(tmp_path / "img", "camp22", 2)
    out = tmp_path / "out"
    if command == "detect":
        base = ["detect", str(images / CAMP22[0].name), str(images / CAMP22[1].name), "--aoi",
                str(AOIS / "camp22.geojson"), "--out", str(out)]
    else:
        base = ["series", str(AOIS / "camp22.geojson"), str(images), "--out", str(out), "--dpi", "50"]
    old, new = _configs(tmp_path)
    t0 = time.perf_counter()
    _campwatch(base + ["--config", str(old)])
    took = time.perf_counter() - t0
    assert _state(out, REPORT[command]) == 25
    seen = set()
    for _ in range(KILLS):
        # Anywhere from start-up to the end of the commit (the last tenth of the run).
        returned = _campwatch(base + ["--config", str(new)], kill_after=rng.uniform(0.3, 1.05) * took)
        state = _state(out, REPORT[command])
        assert state in (25, 40)
        if returned is None and state == 25:
            seen.add("old")
        elif state == 40:
            seen.add("new")
            _campwatch(base + ["--config", str(old)])  # back to the old set for the next try
    _campwatch(base + ["--config", str(new)])
    assert _state(out, REPORT[command]) == 40
    # Nothing of the dead runs is left beside or in the folder.
    assert [p.name for p in tmp_path.iterdir() if "campwatch" in p.name] == []
    assert [p for p in out.rglob("*") if "campwatch-partial" in p.name or "campwatch-old" in p.name] == []
    assert "old" in seen  # at least one kill landed before the commit


def test_a_killed_check_leaves_the_history_as_it_was_or_with_the_check(tmp_path: Path):
    rng = random.Random("faults-check")
    images = sample_images(tmp_path / "img", "camp22", 2)
    out = tmp_path / "checks"
    args = ["check", str(AOIS / "camp22.geojson"), str(images), "--out", str(out), "--no-figures"]
    _campwatch(args)
    history = out / "history.gpkg"
    changes0, checks0 = history_layers(history)
    shutil.copy(CAMP22[2], images / CAMP22[2].name)
    t0 = time.perf_counter()
    probe = tmp_path / "probe"
    shutil.copytree(out, probe)
    _campwatch(["check", str(AOIS / "camp22.geojson"), str(images), "--out", str(probe), "--no-figures"])
    took = time.perf_counter() - t0
    for _ in range(5):
        _campwatch(args, kill_after=rng.uniform(0.3, 1.05) * took)
        changes, checks = history_layers(history)  # readable, whole
        assert len(checks) in (len(checks0), len(checks0) + 1)
        if len(checks) == len(checks0):
            assert list(checks["check_id"]) == list(checks0["check_id"])
            assert len(changes) == len(changes0)
        else:
            # The check is recorded only once its folder is whole.
            assert (history.parent / checks["report_folder"].iloc[-1] / "check.json").exists()
            break
    _campwatch(args)
    changes, checks = history_layers(history)
    assert len(checks) == len(checks0) + 1
    assert [p for p in out.rglob("*") if "campwatch-partial" in p.name] == []
    assert not list(out.glob(".history.gpkg.*.tmp.gpkg"))
