"""End to end on the bundled sample: detected structure changes match the truth."""

from __future__ import annotations

import pytest
from conftest import AOIS, SAMPLE

from campwatch.evaluate import score_report
from campwatch.run import run_detect

CLASSES = ("structure_new", "structure_demolished", "tower_added", "tower_removed", "fence_razed", "fence_built")


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    totals = {c: [0, 0, 0] for c in CLASSES}
    per_pair = {}
    for camp in ("camp25", "camp22"):
        images = sorted((SAMPLE / camp).glob("*.tif"))
        for a, b in zip(images, images[1:]):
            _, paths = run_detect(a, b, out / f"{a.stem}_{b.stem}", aoi_path=AOIS / f"{camp}.geojson")
            sc = score_report(paths["report.geojson"], SAMPLE / camp / "truth.geojson", CLASSES)
            per_pair[(a.stem, b.stem)] = sc
            for c, s in sc.items():
                totals[c][0] += s.true_positives
                totals[c][1] += s.false_positives
                totals[c][2] += s.false_negatives
    return totals, per_pair


@pytest.mark.slow
def test_new_and_demolished_structures_precision_and_recall(scores):
    totals, _ = scores
    structure = [totals["structure_new"], totals["structure_demolished"]]
    tp = sum(t[0] for t in structure)
    fp = sum(t[1] for t in structure)
    fn = sum(t[2] for t in structure)
    assert tp >= 8  # the sample has 9 structure events that no cloud or nodata hides
    assert tp / (tp + fp) >= 0.9
    assert tp / (tp + fn) >= 0.9


@pytest.mark.parametrize("cls", ["structure_new", "structure_demolished", "tower_removed", "fence_razed"])
def test_targets_per_class(scores, cls):
    tp, fp, fn = scores[0][cls]
    assert tp > 0
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.95


def test_fence_lengths_in_metres(scores):
    tp, fp, fn = scores[0]["fence_razed"]
    # Four razed stretches of 60 to 92 m: about 272 m in all.
    assert 250 <= tp + fn <= 290
    assert fp == 0


def test_each_change_dated_to_its_interval(scores):
    _, per_pair = scores
    # Every pair with a truth event found it in that pair, not in another.
    assert per_pair[("camp25_2015-04-18", "camp25_2015-09-26")]["structure_new"].true_positives == 2
    assert per_pair[("camp25_2016-10-02", "camp25_2017-06-11")]["structure_demolished"].true_positives == 1
    assert per_pair[("camp22_2012-05-20", "camp22_2012-10-07")]["structure_demolished"].true_positives == 1
