"""The history keeps what is not campwatch's (issue 17, class 2): an analyst's layers, columns and QGIS
styles survive every check; a foreign schema or unreadable rows are refused, the file untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import AOIS, SAMPLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.monitor.history import run_check
from campwatch.monitor.store import CHANGE_COLUMNS, CHECK_COLUMNS, REVIEW_COLUMNS, history_layers, write_history

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
STYLE = "<qgis><renderer-v2 type='categorizedSymbol'/></qgis>"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _images(tmp_path: Path, n: int) -> Path:
    images = tmp_path / "img"
    images.mkdir(exist_ok=True)
    for f in CAMP22[:n]:
        if not (images / f.name).exists():
            shutil.copy(f, images / f.name)
    return images


def _analyst_edits(history: Path) -> None:
    """What an analyst does in QGIS: a notes layer, a column of their own, a saved style, a table."""
    notes = gpd.GeoDataFrame({"note": ["the north gate: ask the source"], "author": ["analyst A"]},
                             geometry=[Point(129.93, 42.54)], crs="EPSG:4326")
    pyogrio.write_dataframe(notes, history, layer="notes")
    with closing(sqlite3.connect(history)) as db, db:
        # QGIS saves the analyst's style as the default: campwatch's stops being it.
        db.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = 'changes'")
        db.execute("INSERT INTO layer_styles (f_table_name, f_geometry_column, styleName, styleQML, useAsDefault) "
                   "VALUES ('changes', 'geom', 'analyst style', ?, 1)", (STYLE,))
        db.execute("ALTER TABLE changes ADD COLUMN reviewed TEXT DEFAULT 'not yet'")
        db.execute("ALTER TABLE checks ADD COLUMN reviewer TEXT DEFAULT 'analyst A'")
        db.execute("CREATE TABLE sources (name TEXT, url TEXT)")
        db.execute("INSERT INTO sources VALUES ('imagery vendor', 'https://example.org/terms')")


def _table(history: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(history)) as db:
        return db.execute(sql).fetchall()


@pytest.mark.slow
def test_an_analysts_layers_columns_and_styles_survive_checks(tmp_path: Path):
    out = tmp_path / "checks"
    first = run_check(AOIS / "camp22.geojson", _images(tmp_path, 2), out, now=NOW, figures=False)
    history = out / "history.gpkg"
    _analyst_edits(history)
    before_ids = set(gpd.read_file(history, layer="changes")["change_id"])
    analysts = "SELECT * FROM layer_styles WHERE styleName != 'campwatch'"
    styles, sources = _table(history, analysts), _table(history, "SELECT * FROM sources")
    notes = gpd.read_file(history, layer="notes")

    second = run_check(AOIS / "camp22.geojson", _images(tmp_path, 3), out, now=NOW, figures=False)
    assert second.status == "ok" and second.found_new and first.check_id != second.check_id
    assert sorted(name for name, _ in pyogrio.list_layers(history)) == [
        "changes", "checks", "layer_styles", "notes", "sources"]
    pd.testing.assert_frame_equal(gpd.read_file(history, layer="notes"), notes)
    assert _table(history, analysts) == styles
    # campwatch's style is there, written again, and not the default: the analyst's stays it.
    assert _table(history, "SELECT f_table_name, useAsDefault FROM layer_styles WHERE styleName = 'campwatch'") == [
        ("changes", 0)]
    assert _table(history, "SELECT * FROM sources") == sources
    changes = gpd.read_file(history, layer="changes")
    checks = gpd.read_file(history, layer="checks")
    # The analyst's column keeps its value on every change it had; the new ones have none yet.
    old = changes[changes["change_id"].isin(before_ids)]
    assert len(old) == len(before_ids) and set(old["reviewed"]) == {"not yet"}
    new = changes[~changes["change_id"].isin(before_ids)]
    assert len(new) == len(second.new) and new["reviewed"].isna().all()
    assert _table(history, "SELECT reviewer FROM checks ORDER BY fid") == [("analyst A",), (None,)]
    assert _table(history, "SELECT count(*) FROM changes WHERE reviewed IS NULL") == [(len(second.new),)]
    assert list(checks["check_id"]) == [first.check_id, second.check_id]
    # The history still reads as campwatch's, with the analyst's columns after campwatch's.
    changes, checks = history_layers(history)
    assert list(changes.columns) == list(CHANGE_COLUMNS) + list(REVIEW_COLUMNS) + ["reviewed", "geometry"]
    # campwatch's review columns: the changes it adds are unreviewed.
    assert set(changes["review"]) == {"unreviewed"}
    assert list(checks.columns) == list(CHECK_COLUMNS) + ["reviewer", "geometry"]


def _history_with(tmp_path: Path, changes: dict | None = None, checks: dict | None = None) -> Path:
    """A small history written by campwatch, its rows' values replaced by those given."""
    change = {c: None for c in CHANGE_COLUMNS} | {
        "change_id": "camp22-1", "aoi": "camp22", "class": "structure_new", "interval_from": "2012-05-20",
        "interval_to": "2012-10-07", "first_image": "a.tif", "last_confirmed": "2012-10-07"}
    check = {c: None for c in CHECK_COLUMNS} | {
        "check_id": "camp22-2012-10-07-aaaa", "aoi": "camp22", "key": "k", "newest_date": "2012-10-07",
        "compared_through": "2012-10-07"}
    change |= changes or {}
    check |= checks or {}
    path = tmp_path / "history.gpkg"
    write_history(path, gpd.GeoDataFrame([change], geometry=[box(0, 0, 1, 1)], crs="EPSG:4326"),
                  gpd.GeoDataFrame([check], geometry=[box(0, 0, 1, 1)], crs="EPSG:4326"))
    return path


@pytest.mark.parametrize("layer, values, message", [
    ("changes", {"interval_from": "last spring"}, "layer 'changes', row 1 (change_id 'camp22-1'): interval_from is "
                                                  "'last spring', not a date"),
    ("changes", {"last_confirmed": "2012-13-45"}, "last_confirmed is '2012-13-45', not a date"),
    ("changes", {"change_id": ""}, "layer 'changes', row 1: change_id is '', not an id"),
    ("checks", {"compared_through": "yesterday"}, "layer 'checks', row 1 (check_id 'camp22-2012-10-07-aaaa'): "
                                                  "compared_through is 'yesterday', not a date"),
    ("checks", {"check_id": None}, "layer 'checks', row 1: check_id is None, not an id"),
])
def test_garbage_in_the_history_names_the_row_and_writes_nothing(tmp_path, layer, values, message):
    path = _history_with(tmp_path, **({layer: values}))
    digest = _sha(path)
    with pytest.raises(InputError, match="history .*history.gpkg: ") as info:
        history_layers(path)
    assert message in str(info.value)
    images = _images(tmp_path, 2)
    res = CliRunner().invoke(cli, ["check", str(AOIS / "camp22.geojson"), str(images), "--out",
                                   str(tmp_path / "checks"), "--history", str(path)])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert _sha(path) == digest
    assert not (tmp_path / "checks").exists() or not any(
        p.suffix != ".lock" for p in (tmp_path / "checks").rglob("*"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(min_size=1, max_size=30).filter(lambda v: not _is_date(v)))
def test_any_non_date_in_a_date_column_is_refused(tmp_path_factory, value):
    path = _history_with(tmp_path_factory.mktemp("h"), changes={"interval_to": value})
    with pytest.raises(InputError, match="layer 'changes', row 1 .*interval_to is .*not a date"):
        history_layers(path)


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("layer", ["changes", "checks"])
def test_a_foreign_layer_of_campwatchs_name_is_refused_and_left_untouched(tmp_path, layer):
    path = tmp_path / "theirs.gpkg"
    other = "checks" if layer == "changes" else "changes"
    # Their own layer called 'changes' (or 'checks'), beside a campwatch-like other one.
    theirs = gpd.GeoDataFrame({"name": ["road"], "status": ["paved"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    pyogrio.write_dataframe(theirs, path, layer=layer)
    columns = CHANGE_COLUMNS if other == "changes" else CHECK_COLUMNS
    pyogrio.write_dataframe(gpd.GeoDataFrame({c: ["x"] for c in columns}, geometry=[Point(0, 0)], crs="EPSG:4326"),
                            path, layer=other)
    digest = _sha(path)
    images = _images(tmp_path, 2)
    res = CliRunner().invoke(cli, ["check", str(AOIS / "camp22.geojson"), str(images), "--out",
                                   str(tmp_path / "checks"), "--history", str(path)])
    assert res.exit_code == 2, res.output
    assert f"its layer '{layer}' is not campwatch's (no column" in res.output
    assert _sha(path) == digest


def test_a_new_campwatch_column_is_added_to_an_older_history(tmp_path):
    path = _history_with(tmp_path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE keep_me (x INTEGER)")
        db.execute("INSERT INTO keep_me VALUES (7)")
    changes, checks = history_layers(path)
    changes["confidence_note"] = ["a column a later campwatch writes"]
    write_history(path, changes, checks)
    again, _ = history_layers(path)
    assert list(again["confidence_note"]) == ["a column a later campwatch writes"]
    assert _table(path, "SELECT * FROM keep_me") == [(7,)]


@pytest.mark.parametrize("name, sql", [
    ("rewrite", "CREATE TRIGGER rewrite AFTER INSERT ON changes BEGIN UPDATE changes SET class = 'other_change'; END"),
    ("keep_rows", "CREATE TRIGGER keep_rows BEFORE DELETE ON changes BEGIN SELECT RAISE(IGNORE); END"),
    ("no_checks", "CREATE TRIGGER no_checks BEFORE INSERT ON checks BEGIN SELECT RAISE(ABORT, 'no'); END"),
    ("styled", "CREATE TRIGGER styled AFTER INSERT ON layer_styles BEGIN DELETE FROM changes; END"),
    # GDAL's own name, another body.
    ("rtree_changes_geom_insert", 'CREATE TRIGGER "rtree_changes_geom_insert" AFTER INSERT ON "changes" BEGIN '
                                  "UPDATE changes SET class = 'structure_new'; END"),
])
def test_a_history_holding_sql_of_its_own_is_refused_before_any_runs(tmp_path, name, sql):
    """A history is data (issue 26, 1): a trigger campwatch did not write is refused, nothing fires, nothing written."""
    path = _history_with(tmp_path)
    with closing(sqlite3.connect(path)) as db, db:
        if name == "rtree_changes_geom_insert":
            db.execute('DROP TRIGGER "rtree_changes_geom_insert"')
        db.execute(sql)
    digest = _sha(path)
    images = _images(tmp_path, 2)
    res = CliRunner().invoke(cli, ["check", str(AOIS / "camp22.geojson"), str(images), "--out",
                                   str(tmp_path / "checks"), "--history", str(path)])
    assert res.exit_code == 2, res.output
    assert f"holds a trigger campwatch did not write ('{name}' on '" in res.output
    assert f"DROP TRIGGER \"{name}\"" in res.output
    assert _sha(path) == digest
    assert not (tmp_path / "checks").exists() or not any(
        p.suffix != ".lock" for p in (tmp_path / "checks").rglob("*"))
    res = CliRunner().invoke(cli, ["review", str(path)])
    assert res.exit_code == 2 and f"'{name}'" in res.output
    assert _sha(path) == digest


def test_campwatchs_layer_as_a_view_is_refused(tmp_path):
    path = _history_with(tmp_path)
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("ALTER TABLE checks RENAME TO checks_kept")
        db.execute("CREATE VIEW checks AS SELECT * FROM checks_kept")
    with pytest.raises(InputError, match="its layer 'checks' is a view, not campwatch's table"):
        history_layers(path)


def test_after_writing_the_history_is_checked_against_what_was_found(tmp_path, monkeypatch):
    """Were a write to go wrong (here: rows lost on the way), the history is left as it was."""
    from campwatch.errors import OutputError
    from campwatch.monitor import store

    path = _history_with(tmp_path)
    digest = _sha(path)
    changes, checks = history_layers(path)
    more = pd.concat([changes, changes.assign(change_id="camp22-2")], ignore_index=True)
    real = store._replace_rows
    monkeypatch.setattr(store, "_replace_rows", lambda gpkg, frames: real(gpkg, frames | {"changes": changes}))
    with pytest.raises(OutputError, match="its layer 'changes' does not hold what was written \\(1 rows read back, 2 "
                                          "written\\); the history is left as it was"):
        write_history(path, gpd.GeoDataFrame(more, crs="EPSG:4326"), checks)
    assert _sha(path) == digest and sorted(p.name for p in tmp_path.iterdir()) == ["history.gpkg"]


def test_a_history_given_through_a_link_is_checked_and_written_in_place(tmp_path):
    """The analyst's real file gets the check, the link stays a link (issue 26, 4)."""
    import os

    images = _images(tmp_path, 2)
    real = tmp_path / "shared" / "camp22-history.gpkg"
    real.parent.mkdir()
    link = tmp_path / "history-link.gpkg"
    os.symlink(real, link)
    res = CliRunner().invoke(cli, ["-q", "check", str(AOIS / "camp22.geojson"), str(images), "--out",
                                   str(tmp_path / "checks"), "--history", str(link)])
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.is_file() and len(history_layers(real)[1]) == 1
    assert not (tmp_path / "history-link.gpkg.lock").exists() and not (real.parent / "camp22-history.gpkg.lock").exists()
    # The checks layer records the check's folder from the real file's folder.
    (folder,) = history_layers(real)[1]["report_folder"]
    assert (real.parent / folder / "check.json").is_file()
