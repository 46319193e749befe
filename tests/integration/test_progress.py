"""Progress of long work on stderr (issue 16): JSON lines in order for a blockwise detect and a series,
no bar where stderr is not a terminal, and the library's steps to any reporter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, sample_images

from campwatch.cli.main import cli
from campwatch.progress import Step, reporting, start

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


def _steps(stderr: str) -> list[dict]:
    return [json.loads(line)["progress"] for line in stderr.splitlines() if line.startswith('{"progress"')]


def _in_order(steps: list[dict], what: str) -> list[dict]:
    mine = [s for s in steps if s["what"] == what]
    assert mine, f"no {what} steps"
    assert [s["done"] for s in mine] == list(range(len(mine)))  # 0, 1, 2 ... one per unit, in order
    assert {s["total"] for s in mine} == {len(mine) - 1}
    assert mine[-1]["eta_s"] == 0 and all(s["elapsed_s"] >= 0 for s in mine)
    return mine


@pytest.mark.slow
def test_a_blockwise_detect_reports_its_sample_blocks_then_every_block(tmp_path: Path):
    config = tmp_path / "blocks.toml"
    config.write_text("block_size_px = 256\nblock_halo_m = 20\n")
    res = CliRunner().invoke(cli, ["--progress", "json", "detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi",
                                   str(AOIS / "camp22.geojson"), "--out", str(tmp_path / "out"),
                                   "--config", str(config)])
    assert res.exit_code == 0, res.output
    steps = _steps(res.stderr)
    blocks = _in_order(steps, "block")
    doc = json.loads((tmp_path / "out" / "report.geojson").read_text())
    assert len(blocks) - 1 == doc["blocks"]["count"]
    assert all(s["stage"].startswith("block ") for s in blocks[1:])
    _in_order(steps, "sample block")
    # The sample blocks come before the blocks: the scene's parameters are chosen first.
    kinds = [s["what"] for s in steps]
    assert kinds.index("sample block") < kinds.index("block")
    assert res.stdout.strip()  # the summary still goes to stdout, the progress to stderr only
    assert '{"progress"' not in res.stdout


@pytest.mark.slow
def test_a_series_reports_every_image_in_date_order(tmp_path: Path):
    images = sample_images(tmp_path / "img", "camp22", 3)
    res = CliRunner().invoke(cli, ["--progress", "json", "series", str(AOIS / "camp22.geojson"), str(images),
                                   "--out", str(tmp_path / "out"), "--no-figures"])
    assert res.exit_code == 0, res.output
    steps = _in_order(_steps(res.stderr), "image")
    dates = [f.stem[-10:] for f in CAMP22[:3]]
    assert [s["stage"] for s in steps[1:]] == [f"image of {dates[0]}: the first of a pair",
                                               f"image of {dates[1]}: compared", f"image of {dates[2]}: compared"]


def test_verify_reports_each_input_hashed_then_the_re_run(tmp_path: Path):
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["detect", str(CAMP22[0]), str(CAMP22[1]), "--out", str(out)]).exit_code == 0
    res = CliRunner().invoke(cli, ["--progress", "json", "verify", str(out / "report.geojson")])
    assert res.exit_code == 0, res.output
    steps = _steps(res.stderr)
    hashed = _in_order(steps, "input")
    assert [s["stage"] for s in hashed[1:]] == [f"input {role} {p.name} hashed" for role, p in zip(("before", "after"), CAMP22[:2])]
    kinds = [s["what"] for s in steps]
    assert "step" in kinds and kinds.index("input") < kinds.index("step")  # the re-run comes after the hashing


def test_no_bar_and_no_lines_when_stderr_is_not_a_terminal(tmp_path: Path):
    res = CliRunner().invoke(cli, ["detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi", str(AOIS / "camp22.geojson"),
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert '{"progress"' not in res.stderr and "━" not in res.stderr
    quiet = CliRunner().invoke(cli, ["-q", "--progress", "bar", "detect", str(CAMP22[0]), str(CAMP22[1]), "--out",
                                     str(tmp_path / "out2")])
    assert quiet.exit_code == 0 and "━" not in quiet.stderr


def test_steps_reach_the_current_reporter_only():
    seen: list[Step] = []
    start("pair", 3, "before any reporter")  # nobody listens: nothing happens
    with reporting(seen.append):
        task = start("pair", 2, "comparing")
        for _ in task.each(["a", "b"], lambda item: f"compared {item}"):
            pass
    start("pair", 1, "after")
    assert [(s.done, s.total, s.stage) for s in seen] == [(0, 2, "comparing"), (1, 2, "compared a"),
                                                         (2, 2, "compared b")]
    assert seen[-1].eta_s == 0 and seen[0].eta_s is None
