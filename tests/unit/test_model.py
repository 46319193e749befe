"""Tests of campwatch.detection.model: cards, loading, tiled inference with blended seams, nodata."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import numpy as np
import pytest
from conftest import MODEL_CARD, array_scene, write_model

from campwatch.detection.model import (
    CPU_PROVIDER,
    ModelError,
    choose_providers,
    load_model,
    resolve_model,
    run_tiled,
    set_inference_threads,
)


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b).mean(axis=0)


def test_tiles_and_padding_give_the_whole_image_run_of_a_pointwise_model():
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 150, 170), "float32"), rng.random((3, 150, 170), "float32")
    seen: list[tuple[int, int]] = []

    def run(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        seen.append(x.shape[1:])
        return _diff(x, y)

    tiled = run_tiled(run, a, b, tile=64, overlap=16, multiple=16)
    np.testing.assert_allclose(tiled, _diff(a, b), rtol=0, atol=1e-6)
    assert all(h % 16 == 0 and w % 16 == 0 for h, w in seen)  # every tile padded to the multiple
    assert len(seen) > 1


def test_seams_of_a_model_with_a_neighbourhood_are_blended(tmp_path):
    model = load_model(write_model(tmp_path / "smooth.onnx", smooth=True))
    rng = np.random.default_rng(2)
    a = rng.random((3, 200, 200)).astype("float32")
    b = a + 0.3 * rng.random((3, 200, 200)).astype("float32")  # change everywhere, varying pixel to pixel
    b[:, 60:140, 50:90] += 0.3
    whole = run_tiled(model._run, a, b, tile=208, overlap=0, multiple=16)
    tiled = run_tiled(model._run, a, b, tile=64, overlap=16, multiple=16)
    cut = run_tiled(model._run, a, b, tile=64, overlap=0, multiple=16)  # no overlap: seams show
    inner = (slice(2, -2), slice(2, -2))  # at the scene's own edge, padding differs by tile size, not seams
    seams, blended = np.abs(cut - whole)[inner], np.abs(tiled - whole)[inner]
    assert seams.max() > 0.01  # without overlap the tile edges show
    assert blended.max() < 0.25 * seams.max() and blended.mean() < 2e-4


def test_probability_is_nan_where_a_date_has_no_data_and_change_follows_the_threshold(tmp_path):
    model = load_model(write_model(tmp_path / "m.onnx"))
    base = np.full((3, 80, 90), 400, "float32") + np.random.default_rng(3).normal(0, 2, (3, 80, 90)).astype("float32")
    after = base.copy()
    after[:, 20:40, 30:60] = 900  # a bright new roof
    valid = np.ones((80, 90), bool)
    valid[:, :10] = False
    bands = ("red", "green", "blue")
    before_s = dataclasses.replace(array_scene(base), band_names=bands)
    after_s = dataclasses.replace(before_s, data=after)
    change = model.change(before_s, after_s, valid)
    assert np.isnan(change.probability[:, :10]).all() and not change.mask[:, :10].any()
    assert change.mask[22:38, 32:58].all()
    assert change.mask.sum() == pytest.approx(20 * 30, rel=0.15)
    assert change.covers == "buildings" and change.name == "test difference"


def test_a_scene_without_the_models_bands_is_a_clear_error(tmp_path):
    model = load_model(write_model(tmp_path / "m.onnx"))
    pan = dataclasses.replace(array_scene(np.ones((1, 32, 32), "float32")), band_names=("pan",))
    with pytest.raises(ModelError, match=r"takes bands red, green, blue; the images have pan: no red, green, blue"):
        model.change(pan, pan, np.ones((32, 32), bool))


def test_the_card_may_sit_in_the_onnx_metadata_or_name_the_file(tmp_path):
    meta = load_model(write_model(tmp_path / "meta.onnx", card_in_metadata=True))
    assert meta.card.name == "test difference" and meta.card_path is None
    write_model(tmp_path / "plain.onnx", card=None)
    card = tmp_path / "elsewhere.toml"
    card.write_text("file = \"plain.onnx\"\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in MODEL_CARD.items()))
    named = load_model(card)
    assert named.path == tmp_path / "plain.onnx" and named.card_path == card
    record = named.record()
    assert record["sha256"] == hashlib.sha256((tmp_path / "plain.onnx").read_bytes()).hexdigest()
    assert record["licence"] == "CC0 (made by the tests)" and record["threshold"] == 0.5


@pytest.mark.parametrize("change, message", [
    ({"covers": "trees"}, "covers='trees' is not valid; expected one of buildings, all"),
    ({"mean": [0.5, 0.5]}, "mean=[0.5, 0.5] is not valid; expected a list of 3 numbers"),
    ({"std": [0.2, 0.0, 0.2]}, "expected numbers > 0"),
    ({"threshold": 1.5}, "threshold=1.5 is not valid; expected 0 < threshold < 1"),
    ({"tile_px": 100000}, "tile_px=100000 is not valid; expected a whole number from 16 to 4096"),
    ({"tile_px": 72}, "tile_px=72 is not a multiple of tile_multiple=16"),
    ({"bands": ["red", "red", "blue"]}, "bands=['red', 'red', 'blue'] is not valid"),
    ({"shoe_size": 44}, "unknown key(s) shoe_size"),
    ({"name": ""}, "name='' is not valid; expected a non-empty string"),
    ({"inputs": ["before", "after"]}, "has no input 'before' (its inputs: a, b)"),
    ({"output": "q"}, "has no output 'q' (its outputs: p)"),
    ({"bands": ["red", "green", "blue", "nir"], "mean": [0.5] * 4, "std": [0.2] * 4},
     "the card's 4 bands need (1, 4, H, W)"),
])
def test_a_bad_card_is_refused_naming_the_key(tmp_path, change, message):
    write_model(tmp_path / "m.onnx", card=MODEL_CARD | change)
    with pytest.raises(ModelError, match=re.escape(message)):
        load_model(tmp_path / "m.onnx")


def test_missing_cards_files_and_non_onnx_files_are_refused(tmp_path):
    write_model(tmp_path / "bare.onnx", card=None)
    with pytest.raises(ModelError, match="no card; put bare.toml beside it"):
        load_model(tmp_path / "bare.onnx")
    with pytest.raises(ModelError, match="file not found"):
        load_model(tmp_path / "none.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model at all")
    junk.with_suffix(".json").write_text(json.dumps(MODEL_CARD))
    with pytest.raises(ModelError, match="not a model onnxruntime can run"):
        load_model(junk)
    (tmp_path / "broken.toml").write_text("name = [")
    with pytest.raises(ModelError, match="broken.toml: cannot be parsed"):
        load_model(tmp_path / "broken.toml")
    (tmp_path / "nofile.toml").write_text('name = "x"')
    with pytest.raises(ModelError, match="names no model file"):
        load_model(tmp_path / "nofile.toml")


def test_a_model_is_found_by_name_in_the_models_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPWATCH_MODELS", str(tmp_path))
    write_model(tmp_path / "difference.onnx")
    assert resolve_model("difference") == tmp_path / "difference.json"
    with pytest.raises(ModelError, match=r"--model nothing: no such file, and no model of that name in .*\(difference\)"):
        resolve_model("nothing")


def test_a_model_travels_to_a_worker_process_without_its_session(tmp_path):
    """Blocks analysed in worker processes get the model by pickling; each opens its own session."""
    import pickle

    model = load_model(write_model(tmp_path / "m.onnx"))
    state = model.__getstate__()
    assert state["session"] is None
    again = pickle.loads(pickle.dumps(model))
    assert again.session is not None and again.sha256 == model.sha256 and again.card == model.card
    a = np.zeros((3, 32, 32), "float32")
    np.testing.assert_allclose(again._run(a, a + 0.5), model._run(a, a + 0.5))


def test_a_gpu_provider_is_asked_for_when_onnxruntime_offers_one():
    assert choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers(["AzureExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers(["ROCMExecutionProvider", "CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider", "ROCMExecutionProvider", "CPUExecutionProvider"]


def test_without_a_usable_gpu_the_model_runs_on_the_cpu_and_the_report_says_so(tmp_path, monkeypatch):
    import onnxruntime as ort

    model = load_model(write_model(tmp_path / "m.onnx"))
    assert model.provider == CPU_PROVIDER and "provider" not in model.record()  # the CPU: as every report before
    assert model.provider_notes() == []
    # An onnxruntime that offers CUDA on a machine without a GPU: asked for, fallen back from, said.
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    model = load_model(write_model(tmp_path / "gpu.onnx"))
    assert model.provider == CPU_PROVIDER
    assert model.provider_notes() == ["model test difference: onnxruntime offers CUDAExecutionProvider but cannot run "
                                      "the model there (no usable GPU); it ran on the CPU"]
    assert model.provider_notes()[0] in model.notes_for(0.5)


def test_a_worker_gives_its_sessions_its_share_of_the_cores(tmp_path):
    path = write_model(tmp_path / "m.onnx")
    try:
        set_inference_threads(1)
        one = load_model(path)
        assert one.session.get_session_options().intra_op_num_threads == 1
    finally:
        set_inference_threads(0)
    assert load_model(path).session.get_session_options().intra_op_num_threads == 0
