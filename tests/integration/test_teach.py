"""campwatch teach: a model taught from an analyst's labels finds what the classical stages miss, runs as any
model does, and every bad input is refused with a clear message and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import ROOF, TRANSFORM, camp_scene, write_tif
from pyproj import Transformer

from campwatch.classes import CLASSES
from campwatch.cli.main import cli
from campwatch.detection.features import pixel_features
from campwatch.detection.model import ModelError, load_model, scaled_bands
from campwatch.run import detect
from campwatch.teach import TeachError, TeachOptions, teach, teach_pair_from_files, write_model

#: Roofs that appear with no shadow (row, col, height, width in px of 0.5 m): the classical stages see only
#: "other change" there (they need the shadow a standing building casts). Four on the left, four on the right.
ROOFS = [(30, 20, 14, 18), (90, 30, 16, 16), (160, 20, 14, 20), (215, 40, 14, 18),
         (30, 180, 14, 18), (90, 190, 16, 16), (160, 180, 14, 20), (215, 200, 14, 18)]
LEFT, RIGHT = ROOFS[:4], ROOFS[4:]
_TO_LONLAT = Transformer.from_crs("EPSG:32652", "EPSG:4326", always_xy=True)


def _scene(roofs: list[tuple[int, int, int, int]], noise_seed: int) -> np.ndarray:
    img = camp_scene(7, buildings=[], noise_seed=noise_seed).astype("float32")
    for r, c, h, w in roofs:
        img[:, r:r + h, c:c + w] = (ROOF * 0.8)[:, None, None] + np.random.default_rng(r).normal(0, 5, (4, h, w))
    return np.clip(img, 1, 65535).astype("uint16")


def _ring(r0: float, c0: float, r1: float, c1: float) -> list[list[float]]:
    corners = [(c0, r0), (c1, r0), (c1, r1), (c0, r1), (c0, r0)]
    return [list(_TO_LONLAT.transform(*(TRANSFORM * (c, r)))) for c, r in corners]


def _feature(ring: list[list[float]], **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def labels_doc(roofs=LEFT, *, taught=(0, 0, 256, 120), kind: str | None = "structure") -> dict[str, object]:
    """Change outlines of ``roofs`` and a taught area (row0, col0, row1, col1 in px), as an analyst draws them."""
    feats = [_feature(_ring(r, c, r + h, c + w), label="change", **({"class": kind} if kind else {}))
             for r, c, h, w in roofs]
    if taught is not None:
        feats.append(_feature(_ring(*taught), role="taught area"))
    return {"type": "FeatureCollection", "features": feats}


@pytest.fixture()
def shadowless(tmp_path: Path):
    """A pair in which eight shadowless roofs appear, and a labels file of the left four (left half taught)."""
    before = write_tif(tmp_path / "scene_2020-05-01.tif", _scene([], 1))
    after = write_tif(tmp_path / "scene_2020-09-01.tif", _scene(ROOFS, 2))
    labels = tmp_path / "labels.geojson"
    labels.write_text(json.dumps(labels_doc()), encoding="utf-8")
    return before, after, labels


def _right_structures(result) -> list[tuple[str, float]]:
    to_px = ~TRANSFORM
    out = []
    for r in result.regions:
        col, _ = to_px * (r.geometry.centroid.x, r.geometry.centroid.y)
        if CLASSES[r.change_class].kind == "structure" and col > 120:
            out.append((r.change_class, r.area_m2))
    return out


@pytest.mark.slow
def test_a_model_taught_on_the_left_half_names_the_right_halfs_roofs_the_classical_stages_miss(shadowless, tmp_path):
    before, after, labels = shadowless
    classical = detect(before, after)
    assert _right_structures(classical) == []  # only other change there
    assert sum(r.change_class == "other_change" for r in classical.regions) == len(ROOFS)

    result = CliRunner().invoke(cli, ["teach", "--pair", str(before), str(after), str(labels),
                                      "--out", str(tmp_path / "models" / "roofs.onnx")])
    assert result.exit_code == 0, result.output
    assert "validation: F1" in result.output
    card = json.loads((tmp_path / "models" / "roofs.json").read_text())
    assert card["licence"] == "taught from the user's own labels" and card["features"] == "campwatch-pixel/1"
    assert card["bands"] == ["blue", "green", "red", "nir"] and card["pixel_size_m"] == [0.5, 0.5]
    (pair,) = card["training"]["pairs"]
    assert [i["role"] for i in pair["inputs"]] == ["before", "after", "labels"]
    assert all(len(i["sha256"]) == 64 for i in pair["inputs"])
    roof_px = sum(h * w for _, _, h, w in LEFT)
    assert pair["labelled_px"]["change"] == pytest.approx(roof_px, rel=0.1)
    assert pair["labelled_px"]["no_change"] == pytest.approx(256 * 120 - roof_px, rel=0.05)
    assert card["training"]["validation"]["f1"] > 0.5

    taught = detect(before, after, model=str(tmp_path / "models" / "roofs.onnx"))
    found = _right_structures(taught)
    assert len(found) == len(RIGHT)
    for (_, area), (_, _, h, w) in zip(sorted(found, key=lambda f: f[1]),
                                       sorted(RIGHT, key=lambda b: b[2] * b[3])):
        assert area == pytest.approx(h * w * 0.25, rel=0.35)
    assert taught.model["name"] == "taught: roofs" and taught.model["licence"] == "taught from the user's own labels"


@pytest.mark.slow
def test_the_onnx_export_gives_scikit_learns_probabilities(shadowless, tmp_path):
    before, after, labels = shadowless
    pair = teach_pair_from_files(before, after, labels)
    taught = teach([pair], options=TeachOptions(max_rows=20_000, max_iter=40))
    path, _ = write_model(taught, tmp_path / "m.onnx")
    model = load_model(path)
    a, b = scaled_bands(model.card, pair.before, pair.after, pair.valid)
    rows = pixel_features(a, b).reshape(4 * 3 + 38, -1).T
    sk = taught.classifier.predict_proba(rows)[:, 1]
    ox = model.classify_rows(np.ascontiguousarray(rows))
    # ONNX compares float32 thresholds: a pixel on a split may go the other way, nothing else differs.
    assert np.mean(np.abs(sk - ox) < 1e-4) > 0.999
    assert np.mean((sk > 0.5) == (ox > 0.5)) > 0.9999
    # and the tiled inference campwatch runs is the same as classifying the whole scene at once
    whole = model.probability(pair.before, pair.after, pair.valid)
    assert np.allclose(whole[pair.valid], ox.reshape(pair.valid.shape)[pair.valid], atol=1e-5)


@pytest.mark.slow
def test_the_same_labels_teach_the_same_model(shadowless, tmp_path):
    before, after, labels = shadowless
    pair = teach_pair_from_files(before, after, labels)
    options = TeachOptions(max_rows=20_000, max_iter=30)
    one, _ = write_model(teach([pair], options=options), tmp_path / "one.onnx")
    two, _ = write_model(teach([pair], options=options), tmp_path / "two.onnx")
    assert one.read_bytes() == two.read_bytes()


def _teach(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["teach", *args, "--out", str(tmp_path / "out" / "m.onnx")])
    return result.exit_code, result.output


def _nothing_written(tmp_path: Path) -> bool:
    out = tmp_path / "out"
    return not out.exists() or not any(out.iterdir())


def test_labels_outside_the_pair_are_refused_naming_the_label(shadowless, tmp_path):
    before, after, _ = shadowless
    far = {"type": "FeatureCollection", "features": [
        _feature([[10.0, 50.0], [10.001, 50.0], [10.001, 50.001], [10.0, 50.001], [10.0, 50.0]], label="change")]}
    labels = tmp_path / "far.geojson"
    labels.write_text(json.dumps(far))
    code, out = _teach(tmp_path, "--pair", str(before), str(after), str(labels))
    assert code == 2 and "label 0 (change, near 10.00050, 50.00050) lies outside the pair" in out
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize(("doc", "message"), [
    (labels_doc([], taught=(0, 0, 256, 120)), "the labels hold no change"),
    (labels_doc(LEFT, taught=None), "the labels hold no \"no change\" area"),
    (labels_doc(LEFT, kind="fence"), "the labels hold no change"),  # a buildings model is taught no fence
])
def test_labels_without_change_or_without_no_change_are_refused(shadowless, tmp_path, doc, message):
    before, after, _ = shadowless
    labels = tmp_path / "bad.geojson"
    labels.write_text(json.dumps(doc))
    code, out = _teach(tmp_path, "--pair", str(before), str(after), str(labels))
    assert code == 2 and message in out
    assert _nothing_written(tmp_path)


@pytest.mark.parametrize(("props", "message"), [
    ({"label": "maybe"}, "feature 0: label 'maybe' is not valid; expected \"change\" or \"no change\""),
    ({"label": "change", "class": "car"}, "feature 0: class 'car' is not one of structure, tower, fence, other"),
    ({"role": "mask"}, "feature 0: role 'mask' is not valid"),
    ({"label": "change", "from": "2020-09-01", "to": "2020-05-01"}, "from 2020-09-01 is not before to 2020-05-01"),
    ({"label": "change", "from": "soon", "to": "2020-05-01"}, "must both be dates (YYYY-MM-DD)"),
])
def test_a_bad_label_is_refused_naming_the_feature(shadowless, tmp_path, props, message):
    before, after, _ = shadowless
    labels = tmp_path / "bad.geojson"
    labels.write_text(json.dumps({"type": "FeatureCollection", "features": [_feature(_ring(0, 0, 10, 10), **props)]}))
    code, out = _teach(tmp_path, "--pair", str(before), str(after), str(labels))
    assert code == 2 and message in out, out
    assert _nothing_written(tmp_path)


def test_labels_not_in_degrees_are_refused(shadowless, tmp_path):
    before, after, _ = shadowless
    labels = tmp_path / "metres.geojson"
    labels.write_text(json.dumps({"type": "FeatureCollection", "features": [
        _feature([[576000, 4632000], [576010, 4632000], [576010, 4631990], [576000, 4632000]], label="change")]}))
    code, out = _teach(tmp_path, "--pair", str(before), str(after), str(labels))
    assert code == 2 and "are not longitude/latitude in degrees" in out
    assert _nothing_written(tmp_path)


def test_pairs_of_different_bands_are_refused(shadowless, tmp_path):
    before, after, labels = shadowless
    b3 = write_tif(tmp_path / "rgb_2020-05-01.tif", _scene([], 1)[1:], descriptions=("green", "red", "nir"))
    a3 = write_tif(tmp_path / "rgb_2020-09-01.tif", _scene(ROOFS, 2)[1:], descriptions=("green", "red", "nir"))
    code, out = _teach(tmp_path, "--pair", str(before), str(after), str(labels), "--pair", str(b3), str(a3),
                       str(labels))
    assert code == 2 and "pairs of different bands" in out and "blue, green, red, nir" in out
    assert _nothing_written(tmp_path)


def test_neither_pairs_nor_a_history_and_a_history_without_images_are_refused(tmp_path):
    code, out = _teach(tmp_path)
    assert code == 2 and "give --pair BEFORE AFTER LABELS" in out
    code, out = _teach(tmp_path, "--history", str(tmp_path / "h.gpkg"))
    assert code == 2 and "--history needs --images" in out
    assert _nothing_written(tmp_path)


@pytest.fixture(scope="module")
def taught_model(tmp_path_factory):
    """A model taught on the shadowless pair (few rounds: its use, not its skill, is tested)."""
    folder = tmp_path_factory.mktemp("taught")
    before = write_tif(folder / "scene_2020-05-01.tif", _scene([], 1))
    after = write_tif(folder / "scene_2020-09-01.tif", _scene(ROOFS, 2))
    labels = folder / "labels.geojson"
    labels.write_text(json.dumps(labels_doc()))
    pair = teach_pair_from_files(before, after, labels)
    path, _ = write_model(teach([pair], options=TeachOptions(max_rows=10_000, max_iter=20)), folder / "m.onnx")
    return path


def test_a_taught_model_on_images_without_its_bands_is_refused_before_any_pixel_is_read(taught_model, tmp_path):
    b3 = write_tif(tmp_path / "rgb_2020-05-01.tif", _scene([], 1)[1:], descriptions=("green", "red", "nir"))
    a3 = write_tif(tmp_path / "rgb_2020-09-01.tif", _scene(ROOFS, 2)[1:], descriptions=("green", "red", "nir"))
    result = CliRunner().invoke(cli, ["detect", str(b3), str(a3), "--model", str(taught_model),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "takes bands blue, green, red, nir" in result.output and "no blue" in result.output
    assert not (tmp_path / "out").exists()


def test_a_taught_model_on_pixels_far_from_those_it_was_taught_on_is_refused(taught_model, tmp_path):
    from affine import Affine

    coarse = Affine(2.0, 0, TRANSFORM.c, 0, -2.0, TRANSFORM.f)
    b = write_tif(tmp_path / "coarse_2020-05-01.tif", _scene([], 1), transform=coarse)
    a = write_tif(tmp_path / "coarse_2020-09-01.tif", _scene(ROOFS, 2), transform=coarse)
    result = CliRunner().invoke(cli, ["detect", str(b), str(a), "--model", str(taught_model),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "was taught on pixels of 0.5 to 0.5 m; these images' are 2.00 m" in result.output
    assert not (tmp_path / "out").exists()


def test_a_card_left_beside_another_model_file_is_refused(taught_model, tmp_path):
    import shutil

    other = tmp_path / "m.onnx"
    shutil.copy(taught_model, other)
    card = json.loads(taught_model.with_suffix(".json").read_text())
    card["training"]["model_sha256"] = "0" * 64
    other.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="its card .* was written for another file"):
        load_model(other)


def test_teach_options_out_of_range_are_refused():
    with pytest.raises(TeachError, match="holdout=1.5 is not valid"):
        TeachOptions(holdout=1.5)
    with pytest.raises(TeachError, match="--covers 'roofs' is not valid"):
        TeachOptions(covers="roofs")
