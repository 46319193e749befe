"""Outputs that open ready in QGIS: the report's style, the mask's class names, the history's layer styles.

Read back with GDAL/OGR (rasterio, pyogrio, and ``gdalinfo`` where it is installed) and, where
QGIS's Python bindings are installed, opened in QGIS itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

import pyogrio
import pytest
import rasterio
from conftest import BUILDINGS, NEW

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED
from campwatch.publish.qgis import STYLE_NAME, vector_qml, write_layer_styles
from campwatch.run import run_detect

SYSTEM_PYTHON = "/usr/bin/python3"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def detected(tmp_path, pair):
    before, after = pair(BUILDINGS, BUILDINGS + [NEW])
    result, paths = run_detect(before, after, tmp_path / "out")
    result.close()
    return tmp_path / "out"


def test_the_report_has_a_qgis_style_beside_it_with_every_class_in_its_colour(detected):
    root = ET.parse(detected / "report.qml").getroot()
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "class"
    categories = {c.get("value"): c for c in renderer.iter("category")}
    assert set(categories) == set(CLASSES)
    symbols = {s.get("name"): s for s in renderer.iter("symbol")}
    for name, c in CLASSES.items():
        assert categories[name].get("label") == c.label
        symbol = symbols[categories[name].get("symbol")]
        # A fence is a line: its symbol is a line symbol; every other class an area with an outline.
        assert symbol.get("type") == ("line" if c.linear else "fill")
        colours = {o.get("value") for o in symbol.iter("Option") if o.get("name") in ("line_color", "outline_color")}
        h = c.colour.lstrip("#")
        assert colours == {f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},255"}
    assert root.get("labelsEnabled") == "1"
    assert root.find("labeling/settings/text-style").get("fieldName") == "id"
    report = json.loads((detected / "report.geojson").read_text())
    assert "id" in report["features"][0]["properties"]  # the field the labels take
    assert report["outputs"]["report.qml"] == _sha(detected / "report.qml")


def test_the_change_mask_carries_its_colour_table_and_class_names(detected):
    mask = detected / "change_mask.tif"
    aux = detected / "change_mask.tif.aux.xml"
    before = _sha(aux)
    with rasterio.open(mask) as ds:
        cmap = ds.colormap(1)
        ds.read(1)
        assert ds.tags()["CLASS_2"] == "structure_new"
    # towers added are not black, the colour of no change (0)
    assert cmap[2][:3] == (0xD5, 0x5E, 0x00) and cmap[7][:3] == (0xE7, 0x29, 0x8A) and cmap[0][:3] != cmap[7][:3]
    assert _sha(aux) == before  # reading the mask leaves its class names as they were
    names = [c.text or "" for c in ET.parse(aux).getroot().iter("Category")]
    assert names[0] == "No change" and names[2] == "New structure" and names[5] == "Fence razed"
    assert names[OBSCURED] == "Obscured (cloud or shadow)" and names[NOT_ANALYSED] == "Not analysed"
    if shutil.which("gdalinfo") is None:
        pytest.skip("gdalinfo is not installed: GDAL's own reading of the category names is not checked here")
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(mask)], capture_output=True, text=True,
                                     check=True).stdout)
    band = info["bands"][0]
    assert band["categories"][:9] == ["No change", "Other change", "New structure", "Demolished structure",
                                      "Modified structure", "Fence razed", "Fence built", "Tower added",
                                      "Tower removed"]
    assert band["colorTable"]["entries"][2][:3] == [0xD5, 0x5E, 0x00]


def test_the_change_mask_has_a_qgis_style_with_no_change_transparent(detected):
    # A GeoTIFF's colour table keeps no alpha: without the style QGIS draws "no change" black.
    qml = detected / "change_mask.qml"
    entries = {int(e.get("value")): e for e in ET.parse(qml).getroot().iter("paletteEntry")}
    assert ET.parse(qml).getroot().find("pipe/rasterrenderer").get("type") == "paletted"
    assert (entries[0].get("label"), entries[0].get("alpha")) == ("No change", "0")
    assert (entries[2].get("label"), entries[2].get("color"), entries[2].get("alpha")) == ("New structure", "#d55e00",
                                                                                          "255")
    assert entries[NOT_ANALYSED].get("label") == "Not analysed" and len(entries) == len(CLASSES) + 3
    report = json.loads((detected / "report.geojson").read_text())
    assert report["outputs"]["change_mask.qml"] == _sha(qml)


def test_write_layer_styles_makes_campwatchs_the_default_only_where_the_analyst_has_none(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    gpkg = tmp_path / "history.gpkg"
    frame = gpd.GeoDataFrame({"change_id": ["a"], "class": ["structure_new"]}, geometry=[Point(0, 0)],
                             crs="EPSG:4326")
    frame.to_file(gpkg, layer="changes", driver="GPKG")
    frame.to_file(gpkg, layer="other", driver="GPKG")
    with closing(sqlite3.connect(gpkg)) as db, db:  # an older QGIS's table, fewer columns, the analyst's default
        db.execute("CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT, "
                   "f_table_schema TEXT, f_table_name TEXT, f_geometry_column TEXT, styleName TEXT, styleQML TEXT, "
                   "useAsDefault BOOLEAN)")
        db.execute("INSERT INTO layer_styles (f_table_name, styleName, styleQML, useAsDefault) "
                   "VALUES ('changes', 'mine', '<qgis/>', 1)")
    qml = vector_qml(id_field="change_id")
    write_layer_styles(gpkg, {"changes": qml, "other": qml})
    write_layer_styles(gpkg, {"changes": qml, "other": qml})  # again: one row each, not two
    styles = pyogrio.read_dataframe(gpkg, layer="layer_styles")  # OGR reads the table
    rows = sorted(zip(styles["f_table_name"], styles["styleName"], styles["useAsDefault"].astype(int)))
    assert rows == [("changes", "campwatch", 0), ("changes", "mine", 1), ("other", "campwatch", 1)]
    ours = styles[styles["styleName"] == STYLE_NAME]
    assert set(ours["f_geometry_column"]) == {"geom"}
    assert all('fieldName="change_id"' in q for q in ours["styleQML"])


@pytest.mark.slow
def test_a_check_history_carries_campwatchs_default_style(tmp_path):
    from conftest import AOIS, sample_images

    from campwatch.monitor.history import run_check

    run_check(AOIS / "camp22.geojson", sample_images(tmp_path / "images", n=2), tmp_path / "checks", figures=False)
    history = tmp_path / "checks" / "history.gpkg"
    assert "layer_styles" in [name for name, _ in pyogrio.list_layers(history)]
    styles = pyogrio.read_dataframe(history, layer="layer_styles")
    assert list(zip(styles["f_table_name"], styles["styleName"], styles["useAsDefault"].astype(int))) == [
        ("changes", "campwatch", 1)]
    assert 'fieldName="change_id"' in styles["styleQML"][0] and 'label="New structure"' in styles["styleQML"][0]


def _has_qgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


QGIS_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer, QgsRasterLayer
app = QgsApplication([], False); app.initQgis()
out = {}
folder = sys.argv[1]
for kind in ("Polygon", "LineString"):
    layer = QgsVectorLayer(f"{folder}/report.geojson|geometrytype={kind}", "report", "ogr")
    layer.loadDefaultStyle()
    out[kind] = [layer.isValid(), layer.renderer().type(), layer.labelsEnabled(),
                 [c.label() for c in layer.renderer().categories()]]
mask = QgsRasterLayer(f"{folder}/change_mask.tif", "mask")
out["mask"] = [mask.renderer().type(), {int(c.value): c.label for c in mask.renderer().classes()}]
mask.loadDefaultStyle()  # change_mask.qml, as QGIS loads it when the analyst opens the mask
out["mask_styled"] = {int(c.value): [c.label, c.color.alpha()] for c in mask.renderer().classes()}
history = QgsVectorLayer(f"{folder}/history.gpkg|layername=changes", "changes", "ogr")
history.loadDefaultStyle()
out["history"] = [history.renderer().type(), history.labelsEnabled()]
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(not _has_qgis(), reason="QGIS's Python bindings (Debian python3-qgis) are not installed")
def test_qgis_opens_the_outputs_styled(detected, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    history = detected / "history.gpkg"
    gpd.GeoDataFrame({"change_id": ["a"], "class": ["structure_new"]}, geometry=[Point(0, 0)],
                     crs="EPSG:4326").to_file(history, layer="changes", driver="GPKG")
    write_layer_styles(history, {"changes": vector_qml(id_field="change_id")})
    run = subprocess.run([SYSTEM_PYTHON, "-c", QGIS_SCRIPT, str(detected)], capture_output=True, text=True,
                         env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    labels = [c.label for c in sorted(CLASSES.values(), key=lambda c: c.code)]
    for kind in ("Polygon", "LineString"):
        assert seen[kind] == [True, "categorizedSymbol", True, labels]
    renderer, classes = seen["mask"]
    assert renderer == "paletted" and classes["2"] == "New structure" and classes["5"] == "Fence razed"
    styled = seen["mask_styled"]
    assert styled["0"] == ["No change", 0] and styled["2"] == ["New structure", 255]  # the imagery shows through
    assert seen["history"] == ["categorizedSymbol", True]


REVIEW_SCRIPT = r"""
import json, sys
from qgis.core import QgsApplication, QgsVectorLayer
app = QgsApplication([], False); app.initQgis()
layer = QgsVectorLayer(f"{sys.argv[1]}|layername=changes", "changes", "ogr")
message, ok = layer.loadDefaultStyle()
fields = layer.fields()
def widget(name):
    setup = layer.editorWidgetSetup(fields.indexOf(name))
    values = [v for item in setup.config().get("map", []) for v in item.values()]
    return [setup.type(), values]
print(json.dumps({"ok": ok, "review": widget("review"), "review_class": widget("review_class"),
                  "editable": {n: layer.editFormConfig().readOnly(fields.indexOf(n)) for n in ("class", "review")},
                  "alias": layer.attributeAlias(fields.indexOf("review_class"))}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not _has_qgis(), reason="QGIS's Python bindings (Debian python3-qgis) are not installed")
def test_qgis_opens_the_historys_review_form(tmp_path):
    from conftest import AOIS, sample_images

    from campwatch.monitor.history import run_check

    run_check(AOIS / "camp22.geojson", sample_images(tmp_path / "img", n=2), tmp_path / "checks", figures=False)
    run = subprocess.run([SYSTEM_PYTHON, "-c", REVIEW_SCRIPT, str(tmp_path / "checks" / "history.gpkg")],
                         capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["ok"]
    assert seen["review"] == ["ValueMap", ["unreviewed", "confirmed", "rejected", "corrected"]]
    assert seen["review_class"][0] == "ValueMap" and "structure_new" in seen["review_class"][1]
    assert seen["editable"] == {"class": True, "review": False}  # campwatch's fields read-only, the review not
    assert seen["alias"] == "Right class (if corrected)"
