"""The analyst's review in the history: its columns survive checks, a rejected change is not reported again,
a corrected class holds, the QGIS form to review with, and the labels the reviews teach."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE
from shapely.geometry import box

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.monitor.history import run_check
from campwatch.monitor.review import apply_reviews, review_from_truth, review_labels
from campwatch.monitor.store import REVIEW_COLUMNS, history_layers
from campwatch.monitor.tracking import REVERSAL, ChangeTracker, TrackedChange

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
AOI = AOIS / "camp22.geojson"


def _set(history: Path, sql: str, *args: object) -> None:
    """What an analyst's QGIS does: write into the history's changes layer (attributes only).

    GDAL's R-tree triggers name GeoPackage functions SQLite lacks; they run only when a row's
    geometry or fid changes, which an attribute edit never does, but SQLite wants them named.
    """
    with closing(sqlite3.connect(history)) as db, db:
        for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            db.create_function(name, 1, lambda g: None)
        db.execute(sql, args)


def _empty_truth(tmp_path: Path) -> Path:
    path = tmp_path / "no_events.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    return path


@pytest.fixture()
def first_check(tmp_path: Path):
    """A first check of camp22 (two images): its history has the first pair's changes."""
    images = tmp_path / "img"
    images.mkdir()
    for f in CAMP22[:2]:
        shutil.copy(f, images / f.name)
    result = run_check(AOI, images, tmp_path / "checks", now=NOW, figures=False)
    assert result.found_new
    return images, tmp_path / "checks" / "history.gpkg", result


@pytest.mark.slow
def test_review_columns_are_the_analysts_and_survive_checks(first_check, tmp_path):
    images, history, first = first_check
    changes, _ = history_layers(history)
    assert list(changes.columns[-6:-1]) == list(REVIEW_COLUMNS)
    assert set(changes["review"]) == {"unreviewed"}
    one, two = sorted(changes["change_id"])[:2]
    _set(history, "UPDATE changes SET review = 'confirmed', review_note = 'seen on the ground', "
                  "reviewed_by = 'analyst A', reviewed_at = '2026-01-02' WHERE change_id = ?", one)
    _set(history, "UPDATE changes SET review = 'corrected', review_class = 'structure_modified' "
                  "WHERE change_id = ?", two)
    shutil.copy(CAMP22[2], images / CAMP22[2].name)
    second = run_check(AOI, images, tmp_path / "checks", now=NOW, figures=False)
    assert second.status == "ok"
    changes, _ = history_layers(history)
    row = changes[changes["change_id"] == one].iloc[0]
    assert (row["review"], row["review_note"], row["reviewed_by"], row["reviewed_at"]) == (
        "confirmed", "seen on the ground", "analyst A", "2026-01-02")
    row = changes[changes["change_id"] == two].iloc[0]
    assert (row["review"], row["review_class"]) == ("corrected", "structure_modified")
    # the class campwatch found stays campwatch's; the analyst's correction is beside it
    assert row["class"] == first.new[[c["id"] for c in first.new].index(two)]["class"]
    new = changes[changes["change_id"].isin({c["id"] for c in second.new})]
    assert len(new) == len(second.new) and set(new["review"]) == {"unreviewed"}


@pytest.mark.slow
def test_a_rejected_change_that_recurs_is_recorded_but_not_reported(first_check, tmp_path):
    images, history, first = first_check
    done = review_from_truth(history, _empty_truth(tmp_path), now=NOW)  # every change a false alarm
    assert done.rejected == len(first.new) and done.confirmed == done.corrected == 0
    # The next image is the first again (the false alarms go away), then the second again (they come back).
    shutil.copy(CAMP22[0], images / "camp22_2015-05-01.tif")
    undone = run_check(AOI, images, tmp_path / "checks", now=NOW, figures=False)
    shutil.copy(CAMP22[1], images / "camp22_2015-10-01.tif")
    again = run_check(AOI, images, tmp_path / "checks", now=NOW, figures=False)
    # Gone again at once, the false alarms are transient: nothing new. Back, they are known false alarms.
    assert undone.status == "ok" and not undone.found_new, undone.summary
    assert again.status == "ok" and not again.found_new, again.summary
    assert "known false alarm" in again.summary
    changes, checks = history_layers(history)
    recorded = changes[changes["reviewed_by"] == "campwatch"]
    # The structure and the tower were undone, then came back: new records, each a known false alarm in the
    # history. Other change has no undoing: found again, it is the rejected change itself, not a new one.
    assert len(recorded) == sum(1 for c in first.new if c["class"] in REVERSAL) == 2
    assert set(recorded["review"]) == {"rejected"}
    assert all(n.startswith("known false alarm, rejected on 2026-01-01") for n in recorded["review_note"])
    assert list(checks["new_changes"]) == [len(first.new), 0, 0]
    # and --exit-code says nothing new
    shutil.copy(CAMP22[0], images / "camp22_2016-05-01.tif")
    result = CliRunner().invoke(cli, ["check", str(AOI), str(images), "--out", str(tmp_path / "checks"),
                                      "--no-figures", "--exit-code"])
    assert result.exit_code == 0, result.output


def _tracked(cid: str, cls: str, geom, **props) -> TrackedChange:
    day = ("a.tif", dt.date(2020, 1, 1))
    return TrackedChange(id=cid, change_class=cls, geometry=geom, before=day, first=("b.tif", dt.date(2020, 6, 1)),
                         last=("b.tif", dt.date(2020, 6, 1)), confidence=0.9, area_m2=geom.area, length_m=None,
                         properties=props)


def test_the_recurrence_rule_same_place_and_the_class_or_its_undoing():
    rejected = _tracked("C1", "structure_new", box(0, 0, 10, 10),
                        review={"review": "rejected", "at": "2026-02-03T10:00:00"})
    corrected = _tracked("C2", "structure_modified", box(100, 0, 110, 10), found_class="structure_new",
                         review={"review": "corrected", "class": "structure_modified"})
    new = [_tracked("C3", "structure_new", box(1, 1, 11, 11)),          # recurs C1
           _tracked("C4", "structure_demolished", box(0, 0, 9, 9)),     # undoes C1: no change either
           _tracked("C5", "tower_added", box(0, 0, 10, 10)),            # another kind: reported
           _tracked("C6", "structure_new", box(40, 0, 50, 10)),         # elsewhere: reported
           _tracked("C7", "structure_new", box(100, 0, 110, 11))]       # C2 again, under its corrected class
    tracker = ChangeTracker("EPSG:32652", [rejected, corrected] + new)
    report, alarms = apply_reviews(tracker, list(new), {"C1", "C2"})
    assert [c.id for c in report] == ["C5", "C6"]
    assert [c.id for c in alarms] == ["C3", "C4"]
    assert alarms[0].properties["review"] == {"review": "rejected", "by": "campwatch",
                                              "note": "known false alarm, rejected on 2026-02-03 (C1)"}
    assert "C7" not in {c.id for c in tracker.changes}  # folded into C2
    assert corrected.change_class == "structure_modified"


@pytest.mark.slow
def test_the_historys_style_has_the_review_form_and_greys_rejected_changes(first_check):
    _, history, _ = first_check
    with closing(sqlite3.connect(history)) as db:
        (qml,) = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'changes' "
                            "AND styleName = 'campwatch'").fetchone()
    root = ET.fromstring(qml.split("\n", 1)[1])
    widgets = {f.get("name"): f.find("editWidget") for f in root.iter("field") if f.find("editWidget") is not None}
    assert widgets["review"].get("type") == widgets["review_class"].get("type") == "ValueMap"
    values = [o.get("value") for o in widgets["review"].iter("Option") if o.get("type") == "QString"]
    assert values == ["unreviewed", "confirmed", "rejected", "corrected"]
    classes = [o.get("value") for o in widgets["review_class"].iter("Option") if o.get("type") == "QString"]
    assert "structure_new" in classes and "fence_razed" in classes
    editable = {f.get("name"): f.get("editable") for f in root.find("editable")}
    assert editable["review"] == "1" and editable["class"] == "0" and editable["change_id"] == "0"
    expressions = [o.get("value") for o in root.iter("Option") if o.get("name") == "expression"]
    assert expressions and all(e.startswith("if(\"review\" = 'rejected', '160,160,160,") for e in expressions)


@pytest.mark.slow
def test_review_lists_what_is_left_and_writes_the_labels_the_reviews_give(first_check, tmp_path):
    _, history, first = first_check
    runner = CliRunner()
    result = runner.invoke(cli, ["review", str(history)])
    assert result.exit_code == 0
    assert f"{len(first.new)} changes; {len(first.new)} unreviewed, 0 confirmed" in result.output
    assert all(c["id"] in result.output for c in first.new)
    # nothing reviewed: nothing to teach from, nothing written
    out = tmp_path / "labels.geojson"
    result = runner.invoke(cli, ["review", str(history), "--out", str(out)])
    assert result.exit_code == 2 and "no change is reviewed" in result.output and not out.exists()
    result = runner.invoke(cli, ["review", str(history), "--from-truth", str(SAMPLE / "camp22" / "truth.geojson"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(first.new)} changes; 0 unreviewed" in result.output
    labels = json.loads(out.read_text())["features"]
    kinds = [(f["properties"].get("label") or f["properties"].get("role")) for f in labels]
    assert kinds.count("taught area") == 1  # every change of the one pair reviewed: the AOI is taught
    assert kinds.count("change") + kinds.count("no change") == len(first.new)
    assert {(f["properties"]["from"], f["properties"]["to"]) for f in labels} == {("2012-05-20", "2012-10-07")}
    # the first pair's true events: a structure demolished and a tower removed, confirmed as change
    assert {f["properties"].get("class") for f in labels if f["properties"].get("label") == "change"} >= {
        "structure", "tower"}


@pytest.mark.slow
def test_a_bad_review_is_refused_naming_the_row(first_check):
    _, history, _ = first_check
    _set(history, "UPDATE changes SET review = 'maybe' WHERE rowid = 1")
    with pytest.raises(InputError, match=r"row 1 .*review is 'maybe'; expected one of unreviewed, confirmed"):
        review_labels(history)
    _set(history, "UPDATE changes SET review = 'corrected', review_class = 'castle' WHERE rowid = 1")
    with pytest.raises(InputError, match="review is 'corrected' but review_class is 'castle'"):
        review_labels(history)


@pytest.mark.slow
def test_teach_from_the_reviews_of_a_history_and_detect_with_it(first_check, tmp_path):
    images, history, _ = first_check
    runner = CliRunner()
    empty = runner.invoke(cli, ["teach", "--history", str(history), "--images", str(images),
                                "--out", str(tmp_path / "m.onnx")])
    assert empty.exit_code == 2 and "no change is reviewed" in empty.output
    assert not (tmp_path / "m.onnx").exists()
    review_from_truth(history, SAMPLE / "camp22" / "truth.geojson", now=NOW)
    result = runner.invoke(cli, ["teach", "--history", str(history), "--images", str(images),
                                 "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "m.json").read_text())
    (pair,) = card["training"]["pairs"]
    assert pair["name"] == "2012-05-20_2012-10-07" and pair["labelled_px"]["change"] > 0
    assert pair["inputs"][2]["role"] == "labels" and pair["inputs"][2]["path"].endswith("history.gpkg")
    out = tmp_path / "detect"
    result = runner.invoke(cli, ["detect", str(CAMP22[0]), str(CAMP22[1]), "--aoi", str(AOI), "--model",
                                 str(tmp_path / "m.onnx"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.geojson").read_text())
    assert report["model"]["name"] == "taught: m" and report["model"]["licence"] == "taught from the user's own labels"
