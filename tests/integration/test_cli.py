"""The command line: outputs, exit codes, and a clear error with nothing left behind for each bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import BUILDINGS, NEW, aoi_doc, camp_scene, grid_aoi_coords, write_tif

from campwatch.cli.main import cli


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_everywhere():
    for args in ([], ["detect"], ["sample"]):
        res = run(*args, "--help")
        assert res.exit_code == 0
        assert "Usage:" in res.output


def test_detect_writes_all_outputs(pair, tmp_path, aoi_file):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    aoi = aoi_file(aoi_doc(grid_aoi_coords()))
    out = tmp_path / "out"
    res = run("detect", before, after, "--aoi", aoi, "--out", out)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [".campwatch-outputs", "change_map.png", "change_mask.qml",
                                                    "change_mask.tif", "change_mask.tif.aux.xml", "item.json", "report.geojson",
                                                    "report.qml"]
    assert "Test AOI" in res.output
    # The summary speaks the analyst's words, not the report's code names.
    (line,) = [line for line in res.output.splitlines() if line.strip().startswith("New structure")]
    assert line.split()[2] == "1" and line.endswith(" m2")
    assert "structure_new" not in res.output
    report = json.loads((out / "report.geojson").read_text())
    assert [f["properties"]["class"] for f in report["features"]].count("structure_new") == 1


def test_verbose_logs_go_to_stderr(pair, tmp_path):
    before, after = pair()
    runner = CliRunner()
    res = runner.invoke(cli, ["detect", str(before), str(after), "--out", str(tmp_path / "o"), "-v"])
    assert res.exit_code == 0
    assert "campwatch: INFO: thresholds" in res.stderr
    assert "INFO" not in res.stdout
    res = runner.invoke(cli, ["detect", str(before), str(after), "--out", str(tmp_path / "o2"), "-q"])
    assert res.stderr == ""


def _no_outputs(out: Path) -> bool:
    return not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "file not found"),
        ("not_tiff", "not a readable raster"),
        ("truncated", "not a readable raster"),
        ("other_crs", "does not overlap"),
        ("far_away", "does not overlap"),
        ("other_bands", "cannot all be matched by name"),
        ("no_crs", "has no coordinate reference system"),
        ("no_date", "cannot tell the acquisition date"),
        ("aoi_outside", "lies outside"),
        ("aoi_lat_lon", "read the other way round (latitude, longitude) they would be"),
        ("screenshot", "campwatch frames FRAMES_DIR --bounds W S E N"),
        ("aoi_invalid_json", "not valid JSON"),
        ("aoi_self_intersecting", "not valid (Self-intersection"),
        ("aoi_missing", "AOI file"),
        ("all_nodata", "no valid pixel"),
        ("same_date", "same date"),
        ("bad_config", "unknown parameter(s) thresold"),
    ],
)
def test_bad_input_exit_2_message_and_nothing_written(case, expected, tmp_path, pair, aoi_file):
    before, after = pair()
    aoi = None
    bad = tmp_path / "bad"
    bad.mkdir()
    extra: list[str] = []
    if case == "missing":
        after = tmp_path / "nope_2020-09-01.tif"
    elif case == "not_tiff":
        after = bad / "scene_2020-09-01.tif"
        after.write_text("this is not an image")
    elif case == "truncated":
        data = after.read_bytes()
        after = bad / "scene_2020-09-01.tif"
        after.write_bytes(data[: len(data) // 3])
    elif case == "other_crs":
        after = write_tif(bad / "s_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2), crs="EPSG:32651")
    elif case == "far_away":
        from affine import Affine

        after = write_tif(bad / "s_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2),
                          transform=Affine(0.5, 0, 590000.0, 0, -0.5, 4632000.0))
    elif case == "other_bands":
        after = write_tif(bad / "s_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2)[:3],
                          descriptions=None)
    elif case == "no_crs":
        after = write_tif(bad / "s_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2), crs=None)
    elif case == "no_date":
        after = write_tif(bad / "scene_after.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2))
    elif case == "aoi_outside":
        aoi = aoi_file(aoi_doc([[10, 10], [10.1, 10], [10.1, 10.1], [10, 10.1], [10, 10]]))
    elif case == "aoi_lat_lon":
        import rasterio
        from rasterio.warp import transform_bounds

        with rasterio.open(before) as ds:
            w, s_, e, n = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        lat0, lon0 = s_ + 0.3 * (n - s_), w + 0.3 * (e - w)
        lat1, lon1 = s_ + 0.6 * (n - s_), w + 0.6 * (e - w)
        aoi = aoi_file(aoi_doc([[lat0, lon0], [lat0, lon1], [lat1, lon1], [lat1, lon0], [lat0, lon0]]))
    elif case == "screenshot":
        from affine import Affine

        after = write_tif(bad / "s_2020-09-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2), crs=None,
                          transform=Affine.identity())
    elif case == "aoi_invalid_json":
        aoi = aoi_file('{"type": "FeatureCollection", "features": [')
    elif case == "aoi_self_intersecting":
        aoi = aoi_file(aoi_doc([[129.8, 41.8], [129.9, 41.85], [129.9, 41.8], [129.8, 41.85], [129.8, 41.8]]))
    elif case == "aoi_missing":
        aoi = tmp_path / "no_such_aoi.geojson"
    elif case == "all_nodata":
        after = write_tif(bad / "s_2020-09-01.tif", np.zeros((4, 256, 240), "uint16"))
    elif case == "same_date":
        after = write_tif(bad / "s_2020-05-01.tif", camp_scene(7, buildings=BUILDINGS, noise_seed=2))
    elif case == "bad_config":
        cfg = tmp_path / "c.toml"
        cfg.write_text("thresold = 3\n")
        extra = ["--config", str(cfg)]
    out = tmp_path / "out"
    args = ["detect", before, after, "--out", out, *extra]
    if aoi is not None:
        args += ["--aoi", aoi]
    res = run(*args)
    assert res.exit_code == 2, res.output
    assert expected in res.stderr
    assert res.stderr.startswith("campwatch: error:")
    if case in ("missing", "not_tiff", "truncated", "other_crs", "far_away", "other_bands", "no_crs", "no_date"):
        assert Path(after).name in res.stderr  # the message names the file
    if case.startswith("aoi"):
        assert Path(aoi).name in res.stderr
    assert _no_outputs(out)
    assert "Traceback" not in res.output


def test_unwritable_output_folder(pair, tmp_path):
    before, after = pair()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run("detect", before, after, "--out", blocker / "out")
    assert res.exit_code == 2
    assert "is a file, not a folder" in res.stderr


def test_interrupted_run_leaves_no_partial_outputs(pair, tmp_path, monkeypatch):
    import campwatch.run as pipeline

    before, after = pair()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "change_map", boom)
    out = tmp_path / "out"
    res = run("detect", before, after, "--out", out)
    assert res.exit_code == 1
    assert "disk on fire" in res.stderr
    assert not out.exists()  # created by the run, removed again: no half-written outputs

    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = run("detect", before, after, "--out", out)
    assert res.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_sample_command(tmp_path):
    res = run("sample", tmp_path / "s", "--camp", "camp22")
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (tmp_path / "s" / "camp22").iterdir())
    assert files == ["camp22_2012-05-20.tif", "camp22_2012-10-07.tif", "camp22_2013-06-02.tif",
                     "camp22_2014-04-22.tif", "truth.geojson"]
    res = run("sample", tmp_path / "s2", "--camp", "camp99")
    assert res.exit_code == 2
    assert "camp99" in res.output


def test_version():
    res = run("--version")
    assert res.exit_code == 0 and "campwatch" in res.output




def test_dates_given_on_the_command_line(pair, tmp_path):
    """Files whose names and tags carry no date run when the dates are given; the report says so."""
    import shutil

    before, after = pair()
    a = tmp_path / "undated_a.tif"
    b = tmp_path / "undated_b.tif"
    shutil.copy(before, a)
    shutil.copy(after, b)
    out = tmp_path / "out"
    res = run("detect", a, b, "--before-date", "2019-03-01", "--after-date", "2019-09-01", "--out", out)
    assert res.exit_code == 0, res.output
    report = json.loads((out / "report.geojson").read_text())
    assert report["interval"] == {"from": "2019-03-01", "to": "2019-09-01"}
    assert any("date 2019-03-01 given by the user" in w for w in report["warnings"])
    res = run("detect", a, b, "--before-date", "2019-13-01", "--out", tmp_path / "o2")
    assert res.exit_code == 2 and "2019-13-01" in res.output


def test_a_debug_traceback_is_printed_line_by_line_and_no_line_passes_for_campwatchs_own(capsys):
    import logging

    from campwatch.cli.options import configure_logging

    configure_logging(2, 0)
    log = logging.getLogger("campwatch")
    try:
        raise ValueError("bad name\ncampwatch: ERROR: forged")
    except ValueError:
        log.debug("unexpected error", exc_info=True)
    log.warning("said once")
    log.warning("said once")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "campwatch: DEBUG: unexpected error"
    assert err[1] == "  | Traceback (most recent call last):"
    assert all(line.startswith("  | ") for line in err[1:-1])
    assert "  | campwatch: ERROR: forged" in err  # the exception's own newline, marked as the traceback's
    assert err.count("campwatch: WARNING: said once") == 1
    configure_logging(0, 0)
