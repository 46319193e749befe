"""Both forms of evaluation: a report against a truth file, and a labelled dataset folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import BUILDINGS, NEW, camp_scene
from PIL import Image

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.evaluate import evaluate_dataset, pixel_score


def _png(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if data.ndim == 3:
        data = np.moveaxis(data, 0, -1)
    Image.fromarray(data).save(path)


@pytest.fixture()
def dataset(tmp_path):
    """A tiny LEVIR-like dataset: one pair with a new building, one with nothing new."""
    root = tmp_path / "ds"
    for name, after in (("pair_new", BUILDINGS + [NEW]), ("pair_none", BUILDINGS)):
        a = camp_scene(7, buildings=BUILDINGS, noise_seed=1)[:3]
        b = camp_scene(7, buildings=after, noise_seed=2)[:3]
        # 8-bit RGB, as PNG datasets ship.
        _png(root / "A" / f"{name}.png", np.clip(a // 3, 0, 255).astype("uint8"))
        _png(root / "B" / f"{name}.png", np.clip(b // 3, 0, 255).astype("uint8"))
        label = np.zeros(a.shape[1:], "uint8")
        if after != BUILDINGS:
            r0, c0, h, w = NEW
            label[r0:r0 + h, c0:c0 + w] = 255
        _png(root / "label" / f"{name}.png", label)
    return root


def test_pixel_score():
    p = np.array([[1, 1, 0, 0]], bool)
    t = np.array([[1, 0, 1, 0]], bool)
    s = pixel_score(p, t)
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 1, 1, 1)
    assert s.precision == 0.5 and s.recall == 0.5 and s.f1 == 0.5 and s.iou == pytest.approx(1 / 3)


def test_dataset_scores(dataset):
    score = evaluate_dataset(dataset, pixel_size=0.5)
    assert set(score.pairs) == {"pair_new", "pair_none"}
    new = score.pairs["pair_new"]
    assert new.f1 > 0.8 and new.iou > 0.7
    assert score.pairs["pair_none"].fp < 50
    assert (score.objects_found, score.objects_total) == (1, 1)
    assert score.pooled.tp == new.tp + score.pairs["pair_none"].tp


def test_dataset_errors(tmp_path, dataset):
    with pytest.raises(InputError, match="missing sub-folder"):
        evaluate_dataset(tmp_path)
    (dataset / "label" / "pair_none.png").unlink()
    with pytest.raises(InputError, match="pair_none.png has no label"):
        evaluate_dataset(dataset)


def test_cli_dataset_form(dataset, tmp_path):
    out = tmp_path / "scores.json"
    res = CliRunner().invoke(cli, ["evaluate", str(dataset), "--pixel-size", "0.5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "pooled" in res.output and "object recall: 1/1" in res.output
    data = json.loads(out.read_text())
    assert data["pairs"]["pair_new"]["f1"] > 0.8 and data["classes"] == ["structure_new", "structure_demolished",
                                                                          "structure_modified", "structure_changed"]


def test_a_dataset_reports_each_pairs_stages(dataset):
    """evaluate is not silent while a large dataset pair is analysed: each pair's stages are steps (issue 29, 5)."""
    res = CliRunner().invoke(cli, ["--progress", "json", "evaluate", str(dataset), "--pixel-size", "0.5"])
    assert res.exit_code == 0, res.output
    steps = [json.loads(line)["progress"] for line in res.stderr.splitlines() if line.startswith('{"progress"')]
    stages = [s["stage"] for s in steps if s["what"] == "pair stage"]
    assert [s for s in stages if s.endswith(": reading both dates")] == ["pair_new: reading both dates",
                                                                        "pair_none: reading both dates"]
    assert stages.count("measuring change") == 2 and stages.count("the map of classes") == 2
    assert [s["stage"] for s in steps if s["what"] == "dataset pair"][1:] == ["scored pair_new", "scored pair_none"]


def test_cli_report_form(pair, tmp_path):
    from campwatch.run import run_detect

    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    _, paths = run_detect(before, after, tmp_path / "o")
    report = json.loads(paths["report.geojson"].read_text())
    new = next(f for f in report["features"] if f["properties"]["class"] == "structure_new")
    truth = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": new["geometry"],
         "properties": {"class": "structure_new", "interval": {"from": "2020-05-01", "to": "2020-09-01"}}},
        {"type": "Feature", "geometry": new["geometry"],
         "properties": {"class": "structure_demolished", "interval": {"from": "2020-05-01", "to": "2020-09-01"}}},
    ]}
    tp = tmp_path / "truth.geojson"
    tp.write_text(json.dumps(truth))
    res = CliRunner().invoke(cli, ["evaluate", str(paths["report.geojson"]), "--truth", str(tp)])
    assert res.exit_code == 0, res.output
    lines = {ln.split()[0]: ln.split() for ln in res.output.splitlines()[1:]}
    assert lines["structure_new"][1:4] == ["1", "0", "0"]
    assert lines["structure_demolished"][1:4] == ["0", "0", "1"]


@pytest.mark.parametrize("args, message", [
    (["--classes", "roads"], "unknown class(es) roads"),
    (["--pixel-size", "0"], "--pixel-size=0.0 is not valid"),
])
def test_cli_bad_options(dataset, args, message):
    res = CliRunner().invoke(cli, ["evaluate", str(dataset), *args])
    assert res.exit_code == 2 and message in res.stderr


def test_cli_not_a_dataset(tmp_path):
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "not a dataset folder" in res.stderr


def test_dataset_images_of_four_bands_keep_them_and_rgba_drops_alpha(tmp_path):
    import datetime as dt

    from conftest import write_tif

    from campwatch.evaluate import read_pair_scene

    four = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    scene = read_pair_scene(write_tif(tmp_path / "four.tif", four), pixel_size=0.5, date=dt.date(2020, 1, 1))
    assert scene.data.shape == four.shape and scene.band_names == ("blue", "green", "red", "nir")
    rgba = np.concatenate([np.clip(four[:3] // 3, 0, 255), np.full((1,) + four.shape[1:], 255)]).astype("uint8")
    _png(tmp_path / "rgba.png", rgba)
    scene = read_pair_scene(tmp_path / "rgba.png", pixel_size=2.0, date=dt.date(2020, 1, 1))
    assert scene.data.shape == (3,) + four.shape[1:] and scene.band_names == ("red", "green", "blue")
    assert scene.transform.a == 2.0
