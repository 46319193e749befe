"""Phantom dates (issue 17, class 5): a name's full ISO date wins, implausible years and two dates
are refused, and symbolic links make no image of their own."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import pytest
from conftest import SAMPLE
from hypothesis import given, settings
from hypothesis import strategies as st

from campwatch.errors import InputError, SceneError
from campwatch.io.dates import parse_date
from campwatch.monitor.series import series_scenes

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


@pytest.mark.parametrize("name, date", [
    ("camp_0256_0512_2012-01-01.tif", dt.date(2012, 1, 1)),
    ("site1000_2015-09-26.tif", dt.date(2015, 9, 26)),
    ("20160514_camp25.tif", dt.date(2016, 5, 14)),
    ("camp25_2016_05_14.tif", dt.date(2016, 5, 14)),
    ("S2A_20200602_T44TNM_20200602.tif", dt.date(2020, 6, 2)),
    ("2019-12-31T10-30_x.tif", dt.date(2019, 12, 31)),
])
def test_the_names_full_date_wins(name, date):
    assert parse_date(name) == date


@pytest.mark.parametrize("name, message", [
    ("a_2015-01-01_2016-01-01.tif", "the name holds 2 dates (2015-01-01, 2016-01-01)"),
    ("x_0256-05-12.tif", "cannot tell the acquisition date"),
    ("x_2999-05-12.tif", "cannot tell the acquisition date"),
    ("x_2016-02-30.tif", "cannot tell the acquisition date"),
])
def test_implausible_and_double_dates_are_refused(name, message):
    with pytest.raises(SceneError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_date(name)


def test_an_implausible_tag_date_is_refused():
    with pytest.raises(SceneError, match="is not a valid date from 1960 on"):
        parse_date("x.tif", {"TIFFTAG_DATETIME": "0256:05:12 10:00:00"})
    assert parse_date("x.tif", {"TIFFTAG_DATETIME": "2016:05:14 10:00:00"}) == dt.date(2016, 5, 14)


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(st.sampled_from("ab_-0123456789"), max_size=12), date=st.dates(dt.date(1960, 1, 1),
                                                                                     dt.date(2026, 12, 31)),
       suffix=st.text(st.sampled_from("ab_-xyz"), max_size=6))
def test_a_names_iso_date_is_found_whatever_stands_around_it(prefix, date, suffix):
    name = f"{prefix}{'' if not prefix or not prefix[-1].isdigit() else '_'}{date.isoformat()}{suffix}.tif"
    try:
        found = parse_date(name)
    except SceneError as exc:
        assert "dates" in str(exc)  # the prefix held a second plausible date: named, refused
        return
    assert found == date


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for f in CAMP22[:2]:
        shutil.copy(f, folder / f.name)
    return folder


@pytest.mark.parametrize("link, target, message", [
    ("2016-01-01", ".", "a symbolic link to its own folder"),
    ("2016-01-01.tif", "..", "a symbolic link to its own folder"),
    ("camp22_2016-01-01.tif", "camp22_2012-05-20.tif", "another image of the folder"),
    ("loop_2016-01-01.tif", "loop_2016-01-01.tif", "loops or leads nowhere"),
    ("gone_2016-01-01.tif", "nothing.tif", "loops or leads nowhere"),
])
def test_symbolic_links_make_no_phantom_image(images, link, target, message):
    os.symlink(target, images / link)
    with pytest.raises(InputError, match=message):
        series_scenes(images)


def test_a_link_out_of_the_folder_is_refused_and_one_within_it_is_read(images, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(CAMP22[2], outside / "camp22_2013-06-02.tif")
    os.symlink(outside / "camp22_2013-06-02.tif", images / "camp22_2013-06-02.tif")
    with pytest.raises(InputError, match="leads out of"):
        series_scenes(images)
    (images / "camp22_2013-06-02.tif").unlink()
    (images / ".store").mkdir()  # hidden: not an image of its own
    shutil.copy(CAMP22[2], images / ".store" / "x.tif")
    os.symlink(images / ".store" / "x.tif", images / "camp22_2013-06-02.tif")
    assert [i.date for i in series_scenes(images)] == [dt.date(2012, 5, 20), dt.date(2012, 10, 7), dt.date(2013, 6, 2)]


def test_a_name_date_the_date_tag_contradicts_is_a_warning_in_the_report(tmp_path):
    """A name's date is used; a date tag that says another day is said in the report (issue 26, 3)."""
    import json

    from conftest import BUILDINGS, camp_scene, write_tif

    from campwatch.run import run_detect

    img = camp_scene(7, buildings=BUILDINGS, noise_seed=1)
    before = write_tif(tmp_path / "a_2020-05-01.tif", img, tags={"TIFFTAG_DATETIME": "2020:05:01 10:00:00"})
    after = write_tif(tmp_path / "b_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2),
                      tags={"TIFFTAG_DATETIME": "2023:02:11 09:00:00"})
    _, paths = run_detect(before, after, tmp_path / "out")
    report = json.loads(paths["report.geojson"].read_text())
    assert report["interval"] == {"from": "2020-05-01", "to": "2020-09-01"}
    said = [w for w in report["warnings"] if "date tag" in w]
    assert said == ["b_2020-09-01.tif: the name says 2020-09-01 but its date tag says 2023-02-11 (often the day "
                    "the file was made); the name's date is used"]


def test_an_image_from_the_future_is_refused(tmp_path):
    from conftest import BUILDINGS, camp_scene, write_tif

    from campwatch.io.scene import scene_info

    soon = dt.date.today() + dt.timedelta(days=40)
    path = write_tif(tmp_path / f"camp_{soon.isoformat()}.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=1))
    with pytest.raises(SceneError, match=f"its acquisition date {soon.isoformat()} is after today"):
        scene_info(path)
