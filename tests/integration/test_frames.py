"""campwatch frames: dated screenshots placed on one grid, and the series made from them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import SAMPLE
from PIL import Image

from campwatch.cli.main import cli
from campwatch.errors import InputError
from campwatch.frames import write_frames

#: The view's edges (degrees): about 1.2 km x 0.9 km near Hoeryong.
BOUNDS = (129.700, 42.440, 129.7145, 42.448)


def _screenshots(folder: Path, n: int = 3, size: tuple[int, int] = (400, 300), name: str = "EO Browser view {d}.png"
                 ) -> list[Path]:
    """Screenshots of the sample series: its first ``n`` images as 8-bit true colour, resized, a logo burnt in."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for tif in sorted((SAMPLE / "camp25").glob("camp25_*.tif"))[:n]:
        with rasterio.open(tif) as ds:
            rgb = ds.read([3, 2, 1]).astype("float32")
        rgb = np.clip(rgb / np.percentile(rgb, 99) * 255, 0, 255).astype("uint8").transpose(1, 2, 0)
        img = Image.fromarray(rgb).resize(size)
        img.paste((255, 255, 255), (0, size[1] - 20, 60, size[1]))  # a white logo in the lower left
        date = tif.stem.split("_")[-1]
        path = folder / name.format(d=date)
        img.save(path)
        out.append(path)
    return out


def test_frames_become_dated_geotiffs_on_one_grid_in_metres(tmp_path):
    frames = _screenshots(tmp_path / "frames")
    result = write_frames(tmp_path / "frames", tmp_path / "out", bounds=BOUNDS, hide_px=[(0, 280, 60, 300)])
    assert [d.isoformat() for d in result.images] == ["2015-04-18", "2015-09-26", "2016-05-14"]
    assert result.crs.to_epsg() == 32652  # UTM 52N
    # 0.0145 degrees of longitude at 42.444 N over 400 px, 0.008 of latitude over 300 px: about 3 m a pixel.
    expected = math.sqrt(0.0145 * 111_320 * math.cos(math.radians(42.444)) / 400 * 0.008 * 111_320 / 300)
    assert result.screen_pixel_m == pytest.approx(expected, rel=0.02)
    assert result.pixel_m == pytest.approx(result.screen_pixel_m)
    for date, path in result.images.items():
        with rasterio.open(path) as ds:
            assert ds.crs.to_epsg() == 32652 and ds.count == 3 and ds.dtypes[0] == "uint8"
            assert ds.tags()["TIFFTAG_DATETIME"].startswith(date.strftime("%Y:%m:%d"))
            assert ds.tags()["CAMPWATCH_GRID"].startswith("assigned by the user: frames of 400 x 300 px")
            assert ds.descriptions == ("red", "green", "blue")
            mask = ds.read_masks(1)
            # the logo's corner is nodata, the rest of the view is data
            assert mask[-3:, :5].max() == 0 and mask[ds.height // 2, ds.width // 2] == 255
            assert (mask > 0).mean() > 0.9
    record = json.loads((tmp_path / "out" / "frames.json").read_text())
    assert [f["frame"] for f in record["frames"]] == [f.name for f in frames]
    assert record["bounds_degrees"] == list(BOUNDS)


def test_a_frame_finer_than_its_imagery_is_written_at_the_imagerys_pixel_with_a_warning(tmp_path):
    _screenshots(tmp_path / "frames", n=2, name="Sentinel-2 L1C image on {d}.png")
    result = write_frames(tmp_path / "frames", tmp_path / "out", bounds=BOUNDS)
    assert result.pixel_m == 10.0  # Sentinel-2 in the names
    assert any("finer than the imagery's own (10 m" in w for w in result.warnings)
    given = write_frames(tmp_path / "frames", tmp_path / "out2", bounds=BOUNDS, source_pixel_m=6.0)
    assert given.pixel_m == 6.0
    plain = write_frames(tmp_path / "frames", tmp_path / "out3", bounds=BOUNDS, pixel_size=1.0)
    assert any("finer than the screen's pixel" in w for w in plain.warnings)


@pytest.mark.parametrize("case, message", [
    ("sizes", "must be of one size"),
    ("undated", "cannot tell the acquisition date"),
    ("same_date", "are both dated 2015-04-18"),
    ("bounds_swapped", "latitudes and longitudes the other way round"),
    ("bounds_reversed", "not WEST < EAST and SOUTH < NORTH"),
    ("hide_outside", "not a box X0 Y0 X1 Y1 inside the frames' 400 x 300 px"),
    ("out_inside", "inside the frames folder"),
    ("empty", "holds no frame"),
])
def test_bad_frames_are_refused_with_a_clear_message_and_nothing_written(tmp_path, case, message):
    frames = tmp_path / "frames"
    _screenshots(frames, n=2)
    bounds, out, hide = list(BOUNDS), tmp_path / "out", []
    if case == "sizes":
        Image.new("RGB", (401, 300)).save(frames / "view 2016-01-01.png")
    elif case == "undated":
        Image.new("RGB", (400, 300)).save(frames / "view.png")
    elif case == "same_date":
        Image.new("RGB", (400, 300)).save(frames / "other 2015-04-18.png")
    elif case == "bounds_swapped":
        bounds = [BOUNDS[1], BOUNDS[0], BOUNDS[3], BOUNDS[2]]
    elif case == "bounds_reversed":
        bounds = [BOUNDS[2], BOUNDS[1], BOUNDS[0], BOUNDS[3]]
    elif case == "hide_outside":
        hide = ["--hide", "0", "280", "500", "300"]
    elif case == "out_inside":
        out = frames / "out"
    elif case == "empty":
        for f in frames.iterdir():
            f.unlink()
    res = CliRunner().invoke(cli, ["frames", str(frames), "--bounds", *map(str, bounds), "--out", str(out), *hide])
    assert res.exit_code == 2, res.output
    assert message in res.stderr
    assert not out.exists() or not any(out.iterdir())
    assert not (out / "images").exists()


def test_inputs_to_write_frames_are_checked_as_in_the_cli(tmp_path):
    _screenshots(tmp_path / "frames", n=2)
    with pytest.raises(InputError, match="--pixel-size"):
        write_frames(tmp_path / "frames", tmp_path / "out", bounds=BOUNDS, pixel_size=float("nan"))


@pytest.mark.slow
def test_a_series_of_frames_says_its_grid_was_assigned_by_the_user(tmp_path):
    _screenshots(tmp_path / "frames", n=3)
    res = CliRunner().invoke(cli, ["frames", str(tmp_path / "frames"), "--bounds", *map(str, BOUNDS), "--out",
                                   str(tmp_path / "out"), "--hide", "0", "280", "60", "300", "--series",
                                   "--no-figures"])
    assert res.exit_code == 0, res.output
    assert "3 frames, 2015-04-18 to 2016-05-14" in res.output
    series = json.loads((tmp_path / "out" / "series" / "series.geojson").read_text())
    assert len(series["pairs"]) == 2
    assert series["classes"]["possible"]  # the classes the assigned pixel can show
    for pair in series["pairs"]:
        report = json.loads((tmp_path / "out" / "series" / pair["folder"] / "report.geojson").read_text())
        assert any(w.startswith("the grid is assigned by the user") for w in report["warnings"])
    assert (tmp_path / "out" / "aoi.geojson").exists()
