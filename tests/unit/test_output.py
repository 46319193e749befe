"""Tests of campwatch.io.output: a run's outputs appear all together, or none does."""

from __future__ import annotations

import errno
import json
import os

import pytest
from filelock import FileLock

from campwatch.errors import OutputError
from campwatch.io.output import MANIFEST, OutputSet, check_writable, clear_dead_runs


def test_outputs_appear_together_report_last(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out) as outs:
        outs.path("change_mask.tif").write_bytes(b"mask")
        outs.path("pairs/a_b/report.geojson").write_text("{}")
        assert not (out / "change_mask.tif").exists()  # nothing in place before the commit
        assert outs.names == ["change_mask.tif", "pairs/a_b/report.geojson"]
    assert (out / "change_mask.tif").read_bytes() == b"mask"
    assert (out / "pairs" / "a_b" / "report.geojson").read_text() == "{}"
    assert [p.name for p in out.iterdir() if p.name.startswith(".campwatch-partial")] == []


def test_a_failed_run_leaves_nothing_and_removes_the_folder_it_made(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"), OutputSet(out) as outs:
        outs.path("change_mask.tif").write_bytes(b"mask")
        raise RuntimeError("boom")
    assert not out.exists()


def test_a_failed_run_keeps_an_earlier_runs_outputs(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out) as outs:
        outs.path("report.geojson").write_text("old")
    with pytest.raises(RuntimeError), OutputSet(out) as outs:
        outs.path("report.geojson").write_text("new")
        raise RuntimeError("boom")
    assert (out / "report.geojson").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.geojson"]


def test_an_output_asked_for_and_not_written_fails_the_commit(tmp_path):
    with pytest.raises(OutputError, match="output report.geojson was not written"), OutputSet(tmp_path) as outs:
        outs.path("report.geojson")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_names_the_problem(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_writable(blocker / "out")
    check_writable(tmp_path / "new" / "deeper")  # can be made: fine, and nothing is made
    assert not (tmp_path / "new").exists()


def _set(out, files: dict[str, str]) -> None:
    with OutputSet(out) as outs:
        for name, text in files.items():
            outs.path(name).write_text(text)


def _tree(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_over_an_earlier_one_replaces_its_whole_set(tmp_path):
    out = tmp_path / "series"
    _set(out, {"pairs/a_b/report.geojson": "ab", "pairs/b_c/report.geojson": "bc", "series.geojson": "old"})
    _set(out, {"pairs/a_c/report.geojson": "ac", "series.geojson": "new"})
    # Nothing of the earlier set is left beside the new one: no report names files it does not describe.
    assert _tree(out) == {MANIFEST: json.dumps(["pairs", "series.geojson"]), "pairs/a_c/report.geojson": "ac",
                          "series.geojson": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series"]  # no staging or old set left beside it


def test_a_folder_with_someone_elses_files_keeps_them(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("the analyst's")
    _set(out, {"report.geojson": "old", "change_map.png": "old map"})
    _set(out, {"report.geojson": "new"})
    assert _tree(out) == {"notes.txt": "the analyst's", "report.geojson": "new", "change_map.png": "old map",
                          MANIFEST: json.dumps(["change_map.png", "report.geojson"])}


@pytest.mark.parametrize("theirs", [{"report.html": "the analyst's page"},
                                    {"report.html": "the analyst's page", "notes.txt": "theirs"},
                                    {"figures/location.png": "the analyst's figure"}])
def test_a_file_of_an_outputs_name_that_is_not_campwatchs_is_never_overwritten(tmp_path, theirs):
    """Outputs never replace files campwatch did not write (issue 26, 4): the manifest says which are its."""
    out = tmp_path / "figs"
    for name, text in theirs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    with pytest.raises(OutputError, match=r"is not campwatch's \(its folder's .campwatch-outputs does not list it\);"
                                          " campwatch does not overwrite it and wrote nothing"):
        _set(out, {"report.html": "campwatch's page", "figures/location.png": "campwatch's figure"})
    assert _tree(out) == theirs  # as they were, and nothing of campwatch's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs"]


def test_what_dead_runs_left_is_cleared_and_a_live_runs_staging_is_not(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead = [out / ".campwatch-partial-dead1", tmp_path / ".out.campwatch-partial-dead2",
            out / ".check-1.campwatch-partial-dead3"]
    for d in dead:
        d.mkdir()
        (d / "report.geojson").write_text("half")
        (d / ".campwatch-lock").write_text("")  # its process died: the lock is free
    live = tmp_path / ".out.campwatch-partial-live"
    live.mkdir()
    other = tmp_path / ".someone-elses.campwatch-partial-x"  # made for another folder: not ours to judge
    other.mkdir()
    with FileLock(str(live / ".campwatch-lock")):  # a live run holds its lock
        removed = clear_dead_runs(out)
        assert sorted(removed) == sorted(dead)
        assert live.exists() and other.exists()
    assert not any(d.exists() for d in dead)


def test_an_earlier_set_left_aside_by_a_run_that_died_is_put_back(tmp_path):
    out = tmp_path / "out"
    aside = tmp_path / ".out.campwatch-old-x" / "set"
    aside.mkdir(parents=True)
    (aside / "report.geojson").write_text("old")
    clear_dead_runs(out)
    assert _tree(out) == {"report.geojson": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("where", ["writing", "committing"])
def test_a_full_disk_says_so_and_leaves_the_earlier_set(tmp_path, monkeypatch, where):
    out = tmp_path / "out"
    _set(out, {"report.geojson": "old"})
    if where == "committing":
        real = os.fsync

        def full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"output folder .*out: the disk is full"), OutputSet(out) as outs:
        outs.path("report.geojson").write_text("new")
        if where == "writing":
            raise OSError(errno.ENOSPC, "No space left on device", str(outs.path("change_mask.tif")))
    if where == "committing":
        monkeypatch.setattr(os, "fsync", real)
    assert _tree(out) == {MANIFEST: json.dumps(["report.geojson"]), "report.geojson": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_output_folder_reached_through_a_symbolic_link_keeps_the_link(tmp_path):
    real = tmp_path / "disk" / "runs"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    _set(link, {"report.geojson": "old"})
    _set(link, {"report.geojson": "new", "change_map.png": "map"})
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert _tree(real) == {MANIFEST: json.dumps(["report.geojson", "change_map.png"]), "report.geojson": "new",
                           "change_map.png": "map"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "out"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["runs"]  # no staging left beside the real folder


def test_a_lock_file_is_gone_once_released_and_two_processes_never_hold_it_at_once(tmp_path):
    import multiprocessing

    from campwatch.io.output import FileOnlyWhileLocked

    lock_path = tmp_path / "history.gpkg.lock"
    with FileOnlyWhileLocked(lock_path):
        assert lock_path.exists()
    assert not lock_path.exists()
    log = tmp_path / "log"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hold, args=(lock_path, log, i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = log.read_text().split()
    # Each holder wrote "in" then "out" with nobody between them.
    assert lines == ["in", "out"] * 8
    assert not lock_path.exists()


def _hold(lock_path, log, i):
    import time

    from campwatch.io.output import FileOnlyWhileLocked

    for _ in range(2):
        with FileOnlyWhileLocked(lock_path):
            with open(log, "a") as fh:
                fh.write("in\n")
            time.sleep(0.02)
            with open(log, "a") as fh:
                fh.write("out\n")
        time.sleep(0.001)


def test_outputs_take_the_mode_of_the_umask_not_the_0700_of_a_staging_folder(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        with OutputSet(tmp_path / "out") as outs:
            outs.path("report.json").write_text("{}")
        old_set = tmp_path / "out"
        with OutputSet(old_set) as outs:  # over an existing set (staged inside or beside, swapped in)
            outs.path("report.json").write_text("{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "report.json").stat().st_mode) == 0o644


def test_two_runs_committing_one_new_folder_at_once_both_succeed_and_it_holds_one_whole_set(tmp_path, monkeypatch):
    """Two identical checks into one folder (issue 17, class 6): the second's commit finds the folder the
    first made a moment before; it replaces that set as any old set, it does not fail."""
    from campwatch.io import output

    out = tmp_path / "check"
    real_replace = os.replace
    raced = []

    def replace(src, dst, *args, **kwargs):
        if not raced and os.fspath(dst) == os.fspath(out):
            raced.append(True)
            with OutputSet(out) as first:  # the other run commits between our look and our move
                first.path("report.json").write_text("first")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(output.os, "replace", replace)
    with OutputSet(out) as second:
        second.path("report.json").write_text("second")
    assert raced
    assert (out / "report.json").read_text() == "second"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "report.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging or old set left
