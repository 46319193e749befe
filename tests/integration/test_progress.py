"""Progress of long work on stderr (issue 16): JSON lines in order for a blockwise detect and a series,
no bar where stderr is not a terminal, and the library's steps to any reporter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE, sample_images

from campwatch.cli.main import cli
from campwatch.progress import Step, reporting, staged, start, tick

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
    assert "pair stage" in kinds and kinds.index("input") < kinds.index("pair stage")  # the re-run comes after


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


def _stages(steps: list[dict], what: str) -> list[dict]:
    mine = [s for s in steps if s["what"] == what]
    assert mine, f"no {what} steps"
    done = [s["done"] for s in mine]
    assert done == sorted(done) and done[0] == 0 and done[-1] == mine[0]["total"]  # work done only grows
    assert mine[-1]["eta_s"] == 0
    return mine


def test_a_pair_analysed_whole_reports_each_stage_weighted_by_its_work(tmp_path: Path):
    """No stage of a pair is silent: reading, co-registration, change, each date's objects, the
    description and the map each report a step, in units weighted by their cost (issue 29, 5)."""
    from campwatch.detection.analysis import PAIR_WORK

    res = CliRunner().invoke(cli, ["--progress", "json", "detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi",
                                   str(AOIS / "camp22.geojson"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    stages = _stages(_steps(res.stderr), "pair stage")
    assert stages[0]["total"] == sum(PAIR_WORK.values())
    said = [s["stage"] for s in stages]
    assert said[0].startswith("reading ") and said[0].endswith(" px of both dates")
    for text in ("co-registering and matching the dates", "measuring change", "finding the earlier date's objects",
                 "finding the later date's objects", "the earlier date's towers", "the later date's towers",
                 "fences and the description of each change", "the map of classes"):
        assert text in said, (text, said)
    assert said[-1].endswith("changes found")
    # The objects of both dates are most of a pair's work: their steps are the largest.
    gains = {b["stage"]: b["done"] - a["done"] for a, b in zip(stages, stages[1:])}
    assert gains["finding the later date's objects"] == PAIR_WORK["objects"] // 4
    # Then the outputs, each file a step.
    written = [s["stage"] for s in _stages(_steps(res.stderr), "output")]
    assert written == ["writing the change mask", "drawing the change map", "saving the change map",
                       "the report and its STAC item", "written"]


def test_long_stages_say_what_they_do_while_they_count_no_work(tmp_path: Path, monkeypatch):
    """Inside a long stage (clouds, the shift, each change described, each fence line followed) the pair
    speaks when it has been silent a while (TICK_S), counting no work: the time left stays from work done."""
    monkeypatch.setattr("campwatch.progress.TICK_S", 0.0)  # every tick speaks
    res = CliRunner().invoke(cli, ["--progress", "json", "detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi",
                                   str(AOIS / "camp22.geojson"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    stages = _stages(_steps(res.stderr), "pair stage")
    said = [s["stage"] for s in stages]
    for text in ("measuring the shift between the dates", "matching the later date's radiometry to the earlier's",
                 "looking for clouds and their shadows", "finding fence lines on both dates"):
        assert text in said, (text, said)
    described = [s for s in stages if s["stage"].startswith("describing change ")]
    n = int(described[0]["stage"].split(" of ")[1].replace(",", ""))
    assert [s["stage"] for s in described] == [f"describing change {i:,} of {n:,}" for i in range(1, n + 1)]
    assert len({s["done"] for s in described}) == 1  # no work counted while describing
    assert any(s.startswith("following fence line 1 of ") for s in said)


def test_a_tick_speaks_only_after_a_silence_and_fills_in_its_words_then():
    steps: list[Step] = []
    with reporting(steps.append):
        task = start("pair stage", 10, "reading")
        with staged(task):
            tick("change {:,} of {:,}", 1, 2000, every_s=3600.0)  # spoke just now: silent
            assert len(steps) == 1
            tick("change {:,} of {:,}", 2, 2000, every_s=0.0)
            task.advance("next", by=4)
            tick("the model {name}", every_s=0.0)  # without arguments, braces are words, not a format
        tick("outside any staged task", every_s=0.0)  # nobody to tell
    assert [(s.stage, s.done) for s in steps] == [("reading", 0), ("change 2 of 2,000", 0), ("next", 4),
                                                  ("the model {name}", 4)]


def test_a_model_reports_each_tile_it_runs_in_both_orders(pair, tmp_path: Path):
    from conftest import write_model

    model = write_model(tmp_path / "difference.onnx")
    before, after = pair()
    config = tmp_path / "model.toml"
    config.write_text(f'model = "{model}"\n')
    res = CliRunner().invoke(cli, ["--progress", "json", "detect", str(before), str(after), "--out",
                                   str(tmp_path / "out"), "--config", str(config)])
    assert res.exit_code == 0, res.output
    steps = _steps(res.stderr)
    tiles = _stages(steps, "model tile")
    assert tiles[0]["total"] >= 2 and tiles[0]["total"] % 2 == 0  # every tile, in both orders of the dates
    assert any("the dates swapped" in s["stage"] for s in tiles)
    pair_stages = [s["stage"] for s in steps if s["what"] == "pair stage"]
    assert any(s.startswith("the model ") for s in pair_stages)


def test_figures_and_inventory_report_their_steps(tmp_path: Path):
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi", str(AOIS / "camp22.geojson"),
                                    "--out", str(out)]).exit_code == 0
    res = CliRunner().invoke(cli, ["--progress", "json", "figures", str(out / "report.geojson"), "--dpi", "50",
                                   "--out", str(tmp_path / "figures")])
    assert res.exit_code == 0, res.output
    steps = _steps(res.stderr)
    drawn = _stages(steps, "figure")
    assert [s["stage"] for s in drawn] == ["drawing location", "drawing before and after", "drawing changes by class",
                                           "drawing close-ups", "drawn"]
    saved = _stages(steps, "figure file")
    assert [s["stage"] for s in saved[1:]] == ["location saved", "before_after saved", "change_overlay saved",
                                               "closeups saved"]
    res = CliRunner().invoke(cli, ["--progress", "json", "inventory", str(CAMP22[0]), "--aoi",
                                   str(AOIS / "camp22.geojson"), "--out", str(tmp_path / "inventory.geojson")])
    assert res.exit_code == 0, res.output
    said = [s["stage"] for s in _stages(_steps(res.stderr), "inventory stage")]
    assert said[1:3] == ["finding structures and towers", "finding fences"]
    assert said[-1].endswith("fence lines found")
