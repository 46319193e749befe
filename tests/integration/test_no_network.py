"""Inputs never make campwatch reach the network (issue 17, class 3): a local server must receive nothing."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasterio
from click.testing import CliRunner
from conftest import AOIS, SAMPLE

from campwatch.cli.main import cli
from campwatch.errors import SceneError
from campwatch.io.gdal import command_options
from campwatch.io.scene import check_local, scene_info
from campwatch.run import run_detect

CAMP22 = sorted((SAMPLE / "camp22").glob("camp22_*.tif"))


@pytest.fixture()
def server() -> Iterator[tuple[str, list[str]]]:
    """A web server on this machine that records every request it gets."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def _vrt(path: Path, source: str, relative: bool = False) -> Path:
    with rasterio.open(CAMP22[0]) as ds:
        w, h, srs, gt = ds.width, ds.height, ds.crs.to_wkt(), ", ".join(map(str, ds.transform.to_gdal()))
    path.write_text(f"""<VRTDataset rasterXSize="{w}" rasterYSize="{h}">
  <SRS>{srs}</SRS>
  <GeoTransform>{gt}</GeoTransform>
  <VRTRasterBand dataType="UInt16" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="{int(relative)}">{source}</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
""")
    return path


@pytest.mark.parametrize("make", ["vsicurl", "nested", "url"])
def test_a_remote_source_in_an_images_folder_is_refused_and_nothing_is_requested(tmp_path, server, make):
    url, requests = server
    images = tmp_path / "images"
    images.mkdir()
    for f in CAMP22[:2]:
        shutil.copy(f, images / f.name)
    remote = f"/vsicurl/{url}/stolen_2013-01-01.tif" if make != "url" else f"{url}/stolen_2013-01-01.tif"
    if make == "nested":
        inner = _vrt(tmp_path / "inner.vrt", remote)
        _vrt(images / "camp22_2013-01-01.vrt", str(inner))
    else:
        _vrt(images / "camp22_2013-01-01.vrt", remote)
    res = CliRunner().invoke(cli, ["series", str(AOIS / "camp22.geojson"), str(images), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "refers to the remote or virtual source" in res.stderr and "campwatch reads local files only" in res.stderr
    assert requests == []
    assert not (tmp_path / "o").exists()


def test_a_remote_path_given_on_the_command_line_is_refused(tmp_path, server):
    url, requests = server
    res = CliRunner().invoke(cli, ["detect", f"/vsicurl/{url}/a_2020-01-01.tif", str(CAMP22[1]),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "a remote or virtual source; campwatch reads local files only" in res.stderr
    assert requests == []


def test_python_pixel_functions_are_refused(tmp_path):
    vrt = _vrt(tmp_path / "code_2020-01-01.vrt", str(CAMP22[0]))
    vrt.write_text(vrt.read_text().replace("<SimpleSource>", "<PixelFunctionLanguage>Python</PixelFunctionLanguage>"
                                                             "<SimpleSource>"))
    with pytest.raises(SceneError, match="Python pixel function"):
        scene_info(vrt)


def test_local_vrts_still_read(tmp_path):
    vrt = _vrt(tmp_path / "local_2020-01-01.vrt", str(CAMP22[0]))
    check_local(vrt)
    assert scene_info(vrt).width > 0


def test_gdal_itself_is_kept_off_the_network_in_commands(server):
    """Even were a remote source to slip past the checks, the options commands run with stop GDAL."""
    url, requests = server
    with rasterio.Env(**command_options()):
        with pytest.raises(rasterio.errors.RasterioIOError):
            rasterio.open(f"/vsicurl/{url}/x.tif")
    assert requests == []


# Round three (issue 26, 2): by construction, whatever the file's name or first bytes, and with NO_PROXY set
# (proxy settings are not what keeps campwatch off the network).

def _wms(url: str) -> str:
    return (f"<GDAL_WMS><Service name=\"TMS\"><ServerUrl>{url}/${{z}}/${{x}}/${{y}}.png</ServerUrl></Service>"
            "<DataWindow><UpperLeftX>-20037508.34</UpperLeftX><UpperLeftY>20037508.34</UpperLeftY>"
            "<LowerRightX>20037508.34</LowerRightX><LowerRightY>-20037508.34</LowerRightY><TileLevel>18</TileLevel>"
            "<TileCountX>1</TileCountX><TileCountY>1</TileCountY></DataWindow><Projection>EPSG:3857</Projection>"
            "<BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount></GDAL_WMS>")


@pytest.mark.parametrize("name, make", [
    ("declared_2020-01-01.vrt", lambda url: '<?xml version="1.0" encoding="UTF-8"?>\n'
                                            f'<VRTDataset rasterXSize="8" rasterYSize="8"><VRTRasterBand band="1">'
                                            f'<SimpleSource><SourceFilename>/vsicurl/{url}/a.tif</SourceFilename>'
                                            '</SimpleSource></VRTRasterBand></VRTDataset>'),
    ("warped_2020-01-01.vrt", lambda url: '<VRTDataset rasterXSize="8" rasterYSize="8" subClass="VRTWarpedDataset">'
                                          f'<GDALWarpOptions><SourceDataset>/vsicurl/{url}/a.tif</SourceDataset>'
                                          '</GDALWarpOptions></VRTDataset>'),
    ("wms_2020-01-01.tif", _wms),
    ("bom_2020-01-01.tif", lambda url: "\ufeff" + _wms(url)),
])
def test_an_image_that_names_the_network_in_any_way_is_refused_and_nothing_is_requested(
        tmp_path, server, monkeypatch, name, make):
    url, requests = server
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(CAMP22[0], images / CAMP22[0].name)
    (images / name).write_text(make(url), encoding="utf-8")
    res = CliRunner().invoke(cli, ["detect", str(images / CAMP22[0].name), str(images / name), "--out",
                                   str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert name in res.stderr and ("remote or virtual source" in res.stderr or "an XML file" in res.stderr)
    assert requests == []
    assert not (tmp_path / "out").exists()


def _ogr_vrt(url: str) -> str:
    return (f"<OGRVRTDataSource><OGRVRTLayer name=\"changes\"><SrcDataSource>/vsicurl/{url}/x.geojson"
            "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")


def test_a_history_or_truth_that_is_an_ogr_vrt_or_a_url_is_refused_and_nothing_is_requested(
        tmp_path, server, monkeypatch):
    url, requests = server
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    images = tmp_path / "images"
    images.mkdir()
    for f in CAMP22[:2]:
        shutil.copy(f, images / f.name)
    history = tmp_path / "history.gpkg"
    history.write_text(_ogr_vrt(url), encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", str(AOIS / "camp22.geojson"), str(images), "--out",
                                   str(tmp_path / "checks"), "--history", str(history)])
    assert res.exit_code == 2, res.output
    assert f"history {history}: not a GeoPackage or a GeoJSON file" in res.stderr
    res = CliRunner().invoke(cli, ["review", str(history)])
    assert res.exit_code == 2 and "not a GeoPackage" in res.stderr
    _, paths = run_detect(images / CAMP22[0].name, images / CAMP22[1].name, tmp_path / "out")
    truth = tmp_path / "truth.geojson"
    truth.write_text(_ogr_vrt(url), encoding="utf-8")
    for given, message in ((str(truth), "not a GeoPackage or a GeoJSON file"),
                           (f"{url}/truth.geojson", "a remote or virtual source"),
                           (f"/vsicurl/{url}/truth.geojson", "a remote or virtual source")):
        res = CliRunner().invoke(cli, ["evaluate", str(paths["report.geojson"]), "--truth", given])
        assert res.exit_code == 2, (given, res.output)
        assert message in res.stderr
    assert requests == []


def test_the_gdal_pyogrio_bundles_runs_with_network_access_off():
    """Each wheel brings its own GDAL: rasterio's and pyogrio's both get the no-network settings."""
    import pyogrio

    from campwatch.io.gdal import NO_NETWORK

    res = CliRunner().invoke(cli, ["models"])
    assert res.exit_code in (0, 2)
    def plain(value: object) -> str:  # pyogrio gives numbers and booleans back as such
        return {True: "yes", False: "no"}.get(value, str(value).lower()) if isinstance(value, bool) else str(value).lower()

    for key, value in NO_NETWORK.items():
        assert plain(pyogrio.get_gdal_config_option(key)) == value.lower(), key
