"""Tests of campwatch.io.jsonio: deterministic JSON, streamed features, atomic writes, report loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from campwatch.document import PairReport
from campwatch.errors import InputError
from campwatch.io.jsonio import LazyList, clean, read_report, write_json, write_json_atomic


def test_write_json_is_deterministic_and_streams_features_one_per_line(tmp_path):
    made = []

    def features():
        for i in range(3):
            made.append(i)
            yield {"type": "Feature", "id": i, "properties": {"name": "Kwan-li-so №25"}}

    doc = {"type": "FeatureCollection", "schema": "x", "features": LazyList(features, 3)}
    write_json(doc, tmp_path / "a.json")
    write_json(doc, tmp_path / "b.json")
    text = (tmp_path / "a.json").read_text(encoding="utf-8")
    assert text == (tmp_path / "b.json").read_text(encoding="utf-8")
    assert made == [0, 1, 2, 0, 1, 2]  # made as written, twice
    lines = text.splitlines()
    assert sum(1 for line in lines if line.strip().startswith('{"type": "Feature"')) == 3
    assert "№25" in text  # UTF-8, not escaped
    assert json.loads(text)["features"][2]["id"] == 2


def test_clean_makes_numpy_and_nan_json_safe():
    cleaned = clean({"a": np.float32(1.5), "b": [np.int64(2), math.nan], "c": (np.bool_(True), math.inf)})
    assert cleaned == {"a": 1.5, "b": [2, None], "c": [True, None]}
    assert type(cleaned["b"][0]) is int


def test_write_json_atomic_replaces_whole_or_leaves_the_old_file(tmp_path):
    path = tmp_path / "scores.json"
    write_json_atomic({"f1": 0.5}, path)
    with pytest.raises(ValueError):
        write_json_atomic({"f1": math.nan}, path)  # not JSON: nothing written
    assert json.loads(path.read_text()) == {"f1": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["scores.json"]


@pytest.mark.parametrize("content, message", [
    (None, "report not found"),
    ("{not json", "not a campwatch report (not JSON"),
    ('{"schema": "other/1"}', "not a campwatch report (no schema 'campwatch-report/1')"),
    ("[1, 2]", "not a campwatch report"),
])
def test_read_report_names_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "report.geojson"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_report(path, PairReport)
