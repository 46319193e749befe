"""A change model in the whole flow: detect whole and by blocks, the report's record, verify, the CLI."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from click.testing import CliRunner
from conftest import BUILDINGS, NEW, write_model

from campwatch import DetectConfig
from campwatch.cli.main import cli
from campwatch.monitor.verify import verify_report
from campwatch.run import detect, run_detect

DEMOLISHED = BUILDINGS[1]


@pytest.fixture()
def model(tmp_path):
    return write_model(tmp_path / "difference.onnx")


def _structures(result):
    return sorted(r.change_class for r in result.regions if r.change_class.startswith("structure"))


def test_the_models_building_changes_are_named_new_or_demolished_by_their_shadows(pair, model):
    before, after = pair(BUILDINGS, [b for b in BUILDINGS if b != DEMOLISHED] + [NEW])
    result = detect(before, after, model=str(model))
    assert _structures(result) == ["structure_demolished", "structure_new"]
    assert result.model["name"] == "test difference"
    for r in result.regions:
        if r.change_class.startswith("structure"):
            assert r.evidence["model"]["name"] == "test difference" and r.evidence["model"]["probability"] > 0.5
            assert 0.5 <= r.confidence <= 1.0
    new = next(r for r in result.regions if r.change_class == "structure_new")
    roof, shadow = NEW[2] * NEW[3] * 0.25, (6 * NEW[3] + 6 * NEW[2]) * 0.25  # a difference model sees both
    assert new.area_m2 == pytest.approx(roof + shadow, rel=0.1)


def test_blocks_find_what_the_whole_scene_finds(pair, model):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    whole = detect(before, after, model=str(model))
    blocks = detect(before, after, config=DetectConfig(block_size_px=128, block_halo_m=20), model=str(model))
    assert blocks.blocks is not None and blocks.blocks["count"] == 4
    assert _structures(blocks) == _structures(whole) == ["structure_new"]
    area = {name: sum(r.area_m2 for r in res.regions if r.change_class == "structure_new")
            for name, res in (("whole", whole), ("blocks", blocks))}
    assert area["blocks"] == pytest.approx(area["whole"], rel=0.05)
    assert blocks.model == whole.model


def test_the_report_names_the_model_and_verify_refuses_another(pair, model, tmp_path):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    _, paths = run_detect(before, after, tmp_path / "out", model=str(model))
    report = json.loads(paths["report.geojson"].read_text())
    record = report["model"]
    assert record["used"] is True and record["name"] == "test difference"
    assert record["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert record["licence"] == "CC0 (made by the tests)" and record["threshold"] == 0.5
    roles = {i["role"]: i for i in report["inputs"]}
    # Paths are recorded relative to the report's folder, never absolute.
    rel = os.path.relpath(model.resolve(), paths["report.geojson"].parent.resolve())
    assert roles["model"]["path"] == rel and "model card" in roles
    assert report["parameters"]["model"] == rel
    assert verify_report(paths["report.geojson"]).ok

    write_model(model, gain=9.0)  # another model at the same path
    check = verify_report(paths["report.geojson"])
    assert not check.ok
    assert ("input model " + str(model.resolve()), "changed") in [(w, s) for w, s, _ in check.items]
    assert any("not run again" in n for n in check.notes)
    assert not [w for w, _, _ in check.items if w.startswith("output") and "beside" not in w]  # nothing re-run


def test_a_config_file_may_name_the_model_and_model_overrides_it(pair, model, tmp_path):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    config = tmp_path / "run.toml"
    config.write_text(f"[detect]\nmodel = {json.dumps(str(model))}\nmin_area_m2 = 30\n")
    out = tmp_path / "by_file"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--config", str(config)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.geojson").read_text())
    assert report["model"]["used"] is True and report["parameters"]["min_area_m2"] == 30
    assert report["parameters"]["model"] == os.path.relpath(model.resolve(), out.resolve())
    # --model wins over the file's.
    other = write_model(tmp_path / "other.onnx", gain=9.0)
    out = tmp_path / "by_flag"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--config", str(config),
                                   "--model", str(other)])
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.geojson").read_text())
    assert report["model"]["sha256"] == hashlib.sha256(other.read_bytes()).hexdigest()
    assert report["parameters"]["model"] == os.path.relpath(other.resolve(), out.resolve())
    assert verify_report(out / "report.geojson").ok


def test_without_a_model_the_report_says_the_classical_stages_ran(pair, tmp_path):
    before, after = pair()
    _, paths = run_detect(before, after, tmp_path / "out")
    report = json.loads(paths["report.geojson"].read_text())
    assert report["model"] == {"used": False, "note": "no change model was given: the classical stages only"}
    assert "model" not in {i["role"] for i in report["inputs"]}


def test_a_bad_model_is_exit_2_and_writes_nothing(pair, tmp_path):
    before, after = pair()
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx")
    out = tmp_path / "out"
    for model, message in ((junk, "not a model onnxruntime can run"), (tmp_path / "missing.onnx", "no such file")):
        res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--model", str(model)])
        assert res.exit_code == 2, res.output
        assert message in res.stderr
        assert not out.exists()


def test_a_model_without_its_bands_fails_before_any_block_and_writes_nothing(pair, model, tmp_path):
    # Each block used to fail on its own, quietly, and the run ended "no pixel is valid on both dates".
    before, after = pair(descriptions=None)
    config = tmp_path / "blocks.toml"
    config.write_text("block_size_px = 128\nblock_halo_m = 20\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--model", str(model),
                                   "--config", str(config)])
    assert res.exit_code == 2, res.output
    assert "takes bands red, green, blue; the images have -, -, -, -: no red, green, blue" in res.stderr
    assert "valid on both dates" not in res.stderr
    assert not out.exists()


def test_models_lists_the_folder_and_says_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPWATCH_MODELS", str(tmp_path))
    write_model(tmp_path / "difference.onnx")
    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code == 0, res.output
    assert "difference: test difference; sees change of buildings; bands red, green, blue" in res.output
    assert "sha256 " + hashlib.sha256((tmp_path / "difference.onnx").read_bytes()).hexdigest() in res.output
    write_model(tmp_path / "odd.onnx", card=None)
    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code == 2 and "odd: NOT USABLE" in res.output and "no card" in res.output


def _refused(before, after, model, tmp_path) -> str:
    """detect with ``model``: exit 2 and nothing written; what it said on stderr."""
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["detect", str(before), str(after), "--out", str(out), "--model", str(model)])
    assert res.exit_code == 2, res.output
    assert not out.exists()
    return res.stderr


def _constant_model(path, *, value: float, scale: float = 0.0, nan: bool = False):
    """A model whose output is ``scale * mean|a - b| + value`` (NaN where ``nan``): no probability, or one that
    says "change" wherever it is asked."""
    import onnx
    from conftest import MODEL_CARD
    from onnx import TensorProto, helper

    shape = [1, 3, "h", "w"]
    nodes = [helper.make_node("Sub", ["a", "b"], ["d"]), helper.make_node("Abs", ["d"], ["ad"]),
             helper.make_node("ReduceMean", ["ad"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["m", "scale"], ["g"]), helper.make_node("Add", ["g", "value"], ["q"])]
    if nan:
        nodes.append(helper.make_node("Div", ["q", "zero"], ["p"]))  # 0/0 and x/0: NaN and infinity
    else:
        nodes.append(helper.make_node("Identity", ["q"], ["p"]))
    graph = helper.make_graph(
        nodes, "constant", [helper.make_tensor_value_info("a", TensorProto.FLOAT, shape),
                            helper.make_tensor_value_info("b", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1, "h", "w"])],
        initializer=[helper.make_tensor("scale", TensorProto.FLOAT, [], [scale]),
                     helper.make_tensor("value", TensorProto.FLOAT, [], [value]),
                     helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps(MODEL_CARD), encoding="utf-8")
    return path


@pytest.mark.parametrize("value, nan, message", [
    (7.0, False, "gave values from 7 to 7, not a probability (0 to 1)"),  # issue 26's 7.0
    (-0.5, False, "gave values from -0.5 to -0.5, not a probability"),
    (0.0, True, "gave 4,096 values that are not numbers (NaN or infinite)"),
])
def test_a_model_output_that_is_no_probability_is_refused(pair, tmp_path, value, nan, message):
    """A model's output is not trusted whatever it says (issue 26, 3): exit 2, named, nothing written."""
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    model = _constant_model(tmp_path / "bad.onnx", value=value, nan=nan)
    assert "model test difference (bad.onnx): " + message in _refused(before, after, model, tmp_path)


def test_a_model_that_sees_change_everywhere_the_pixels_did_not_change_is_refused(pair, tmp_path):
    before, after = pair(BUILDINGS, BUILDINGS)  # the same place, no change: other noise only
    said = _refused(before, after, _constant_model(tmp_path / "everywhere.onnx", value=0.99), tmp_path)
    assert "model test difference: sees change on 100% of the usable pixels, where the pixels changed on" in said
    assert "not an answer campwatch can back" in said



def test_a_model_of_a_fixed_input_size_other_than_its_tiles_is_exit_2(pair, tmp_path):
    """A graph whose input is fixed at 32 x 32 px, with a card that cuts 64 px tiles (issue 26, 6)."""
    import onnx
    from conftest import MODEL_CARD
    from onnx import TensorProto, helper

    shape = [1, 3, 32, 32]
    graph = helper.make_graph(
        [helper.make_node("Sub", ["a", "b"], ["d"]), helper.make_node("Abs", ["d"], ["ad"]),
         helper.make_node("ReduceMean", ["ad"], ["m"], axes=[1], keepdims=1), helper.make_node("Sigmoid", ["m"], ["p"])],
        "fixed", [helper.make_tensor_value_info("a", TensorProto.FLOAT, shape),
                  helper.make_tensor_value_info("b", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 1, 32, 32])])
    path = tmp_path / "fixed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    path.with_suffix(".json").write_text(json.dumps(MODEL_CARD), encoding="utf-8")
    said = _refused(*pair(BUILDINGS, BUILDINGS + [NEW]), path, tmp_path)
    assert "model test difference (fixed.onnx): onnxruntime cannot run it on a tile of 64 x 64 px" in said
    assert "a model with a fixed input size needs tile_px of that size in its card" in said
