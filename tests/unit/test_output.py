"""Tests of campwatch.io.output: a run's outputs appear all together, or none does."""

from __future__ import annotations

import pytest

from campwatch.errors import OutputError
from campwatch.io.output import OutputSet, check_writable


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
    assert sorted(p.name for p in out.iterdir()) == ["report.geojson"]


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
