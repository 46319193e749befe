"""Styles that make campwatch's outputs open ready in QGIS: the classes in the figures' colours, labelled.

- :func:`vector_qml`: a QGIS style (``.qml``) for a layer of changes, categorized on its
  class field with the figures' colours, each change labelled with its id. QGIS loads
  ``report.qml`` beside ``report.geojson`` as that layer's default style.
- :func:`write_layer_styles`: the same styles as a GeoPackage's default layer styles
  (QGIS's ``layer_styles`` table), beside the analyst's own, which are kept.
- :func:`mask_categories_xml`: the change mask's class names as GDAL's category names (in
  its ``.aux.xml``), which QGIS shows beside the colour table the mask carries.
- :func:`mask_qml`: the change mask's QGIS style (``change_mask.qml``): the same colours and
  names, with "no change" transparent (a GeoTIFF's colour table keeps no alpha, so without
  it QGIS draws "no change" black over the imagery).

The styles are written from campwatch's own class table (:data:`campwatch.classes.CLASSES`);
no text from an input goes into them but a field name campwatch chose.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path

from campwatch.classes import CLASSES, NOT_ANALYSED, OBSCURED
from campwatch.io.changemask import mask_colours

__all__ = ["vector_qml", "write_layer_styles", "mask_categories_xml", "mask_qml", "STYLE_NAME",
           "QGIS_VERSION"]

#: The name of campwatch's style in a GeoPackage's ``layer_styles``.
STYLE_NAME = "campwatch"
#: The QGIS version whose style format the styles follow (older and newer QGIS read it).
QGIS_VERSION = "3.22.16-Białowieża"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _qml_text(root: ET.Element) -> str:
    """A QGIS style document's text."""
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


def _option(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", name=name, type="QString", value=value)


#: A change the analyst rejected is drawn in this grey (its fill fainter still).
REJECTED_GREY = "#a0a0a0"


def _greyed_when_rejected(layer: ET.Element, properties: dict[str, tuple[str, str]], review_field: str) -> None:
    """Data-defined colours of a symbol layer: grey where ``review_field`` says rejected, else as drawn."""
    dd = ET.SubElement(layer, "data_defined_properties")
    collection = ET.SubElement(dd, "Option", type="Map")
    _option(collection, "name", "")
    props = ET.SubElement(collection, "Option", name="properties", type="Map")
    for key, (normal, grey) in properties.items():
        prop = ET.SubElement(props, "Option", name=key, type="Map")
        ET.SubElement(prop, "Option", name="active", type="bool", value="true")
        _option(prop, "expression", f"if(\"{review_field}\" = 'rejected', '{grey}', '{normal}')")
        ET.SubElement(prop, "Option", name="type", type="int", value="3")
    _option(collection, "type", "collection")


def _fill_symbol(parent: ET.Element, name: str, colour: str, width_mm: float, *, review_field: str | None = None
                 ) -> None:
    """An outline in ``colour`` over a faint fill of it (grey where ``review_field`` says rejected)."""
    symbol = ET.SubElement(parent, "symbol", type="fill", name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in (("color", _rgba(colour, 40)), ("style", "solid"), ("outline_color", _rgba(colour)),
                       ("outline_style", "solid"), ("outline_width", f"{width_mm:g}"), ("outline_width_unit", "MM"),
                       ("joinstyle", "round")):
        _option(options, key, value)
    if review_field:
        _greyed_when_rejected(layer, {"fillColor": (_rgba(colour, 40), _rgba(REJECTED_GREY, 20)),
                                      "outlineColor": (_rgba(colour), _rgba(REJECTED_GREY))}, review_field)


def _line_symbol(parent: ET.Element, name: str, colour: str, width_mm: float, *, review_field: str | None = None
                 ) -> None:
    symbol = ET.SubElement(parent, "symbol", type="line", name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    layer = ET.SubElement(symbol, "layer", attrib={"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", type="Map")
    for key, value in (("line_color", _rgba(colour)), ("line_width", f"{width_mm:g}"), ("line_width_unit", "MM"),
                       ("line_style", "solid"), ("capstyle", "round"), ("joinstyle", "round")):
        _option(options, key, value)
    if review_field:
        _greyed_when_rejected(layer, {"outlineColor": (_rgba(colour), _rgba(REJECTED_GREY))}, review_field)


def _value_map(parent: ET.Element, field: str, entries: list[tuple[str, str]]) -> None:
    """A drop-down list for ``field`` in QGIS's attribute form: (label, value) in order."""
    f = ET.SubElement(parent, "field", name=field, configurationFlags="None")
    widget = ET.SubElement(f, "editWidget", type="ValueMap")
    config = ET.SubElement(widget, "config")
    top = ET.SubElement(config, "Option", type="Map")
    listing = ET.SubElement(top, "Option", name="map", type="List")
    for label, value in entries:
        item = ET.SubElement(listing, "Option", type="Map")
        _option(item, label, value)


def _review_form(root: ET.Element, *, review_field: str, fields: tuple[str, ...]) -> None:
    """The form an analyst reviews a change in: drop-down lists for the review and the right class, the
    note, who and when editable, and campwatch's own fields read-only."""
    config = ET.SubElement(root, "fieldConfiguration")
    _value_map(config, review_field, [("Unreviewed", "unreviewed"), ("Confirmed", "confirmed"),
                                      ("Rejected (false alarm)", "rejected"),
                                      ("Corrected (give the right class)", "corrected")])
    _value_map(config, "review_class", [(c.label, c.name) for c in sorted(CLASSES.values(), key=lambda c: c.code)])
    aliases = ET.SubElement(root, "aliases")
    for index, (field, alias) in enumerate(((review_field, "Review"), ("review_class", "Right class (if corrected)"),
                                            ("review_note", "Note"), ("reviewed_by", "Reviewed by"),
                                            ("reviewed_at", "Reviewed on"))):
        ET.SubElement(aliases, "alias", field=field, index=str(index), name=alias)
    editable = ET.SubElement(root, "editable")
    for field in fields:
        ET.SubElement(editable, "field", name=field, editable="0")
    for field in (review_field, "review_class", "review_note", "reviewed_by", "reviewed_at"):
        ET.SubElement(editable, "field", name=field, editable="1")


def vector_qml(*, id_field: str, class_field: str = "class", review_field: str | None = None,
               read_only: tuple[str, ...] = ()) -> str:
    """A QGIS layer style for changes: categorized on ``class_field``, labelled with ``id_field``.

    Each class is drawn in its figure colour under its label in the legend (``"New
    structure"``): an area as an outline (0.6 mm; other change 0.35 mm) over a faint fill,
    a fence as a 1 mm line. Labels (the change id, 7 pt with a white halo) show from
    1:25,000 in. QGIS opens a file of polygons and lines as a layer of each; the one style
    serves both, since each class's symbol is of its geometry's type.

    With ``review_field`` (a history's changes): a change whose review is ``rejected`` is
    drawn grey, and the attribute form has drop-down lists for the review and the right
    class, with the fields ``read_only`` not editable.
    """
    categories_attr = "Symbology|Labeling" + ("|Fields|Forms" if review_field else "")
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories=categories_attr, labelsEnabled="1")
    renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=class_field, symbollevels="0",
                             enableorderby="0", forceraster="0", referencescale="-1")
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, c in enumerate(sorted(CLASSES.values(), key=lambda c: c.code)):
        ET.SubElement(categories, "category", render="true", symbol=str(i), value=c.name, label=c.label,
                      type="string")
        if c.linear:  # fences are lines
            _line_symbol(symbols, str(i), c.colour, 1.0, review_field=review_field)
        else:
            _fill_symbol(symbols, str(i), c.colour, 0.6 if c.analyst else 0.35, review_field=review_field)
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(settings, "text-style", fieldName=id_field, isExpression="0", fontFamily="Sans Serif",
                  fontSize="7", fontSizeUnit="Point", textColor="0,0,0,255", textOpacity="1", namedStyle="Bold")
    ET.SubElement(settings, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM",
                  bufferColor="255,255,255,255", bufferOpacity="0.8")
    ET.SubElement(settings, "placement", placement="0", dist="1", distUnits="MM", placementFlags="10",
                  centroidInside="1", centroidWhole="0", polygonPlacementFlags="2")
    ET.SubElement(settings, "rendering", scaleVisibility="1", scaleMin="0", scaleMax="25000", obstacle="1",
                  displayAll="0", upsidedownLabels="0", limitNumLabels="0")
    if review_field:
        _review_form(root, review_field=review_field, fields=read_only)
    return _qml_text(root)


def write_layer_styles(gpkg: str | Path, layers: dict[str, str]) -> None:
    """Put campwatch's style of each layer (``{table: qml}``) in ``gpkg``'s ``layer_styles`` table.

    The table is made when the file has none. It is not registered in ``gpkg_contents``: GDAL
    lists a GeoPackage's unregistered tables (an analyst's among them) only while no table
    is registered as attributes. campwatch's row of each layer (``styleName`` :data:`STYLE_NAME`) is replaced; an
    analyst's styles stay, and stay the default: campwatch's style is the default only for a
    layer that has no other default style.
    """
    with closing(sqlite3.connect(gpkg)) as db, db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),"
            " f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),"
            " styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),"
            " update_time DATETIME DEFAULT CURRENT_TIMESTAMP)")
        # A table an analyst's older QGIS made may lack some of these columns: fill those it has.
        have = {row[1] for row in db.execute("PRAGMA table_info(layer_styles)")}
        for table, qml in layers.items():
            geometry = db.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                                  (table,)).fetchone()
            db.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (table, STYLE_NAME))
            others = db.execute("SELECT COUNT(*) FROM layer_styles WHERE f_table_name = ? AND useAsDefault",
                                (table,)).fetchone()[0]
            row = {"f_table_catalog": "", "f_table_schema": "", "f_table_name": table,
                   "f_geometry_column": geometry[0] if geometry else "", "styleName": STYLE_NAME, "styleQML": qml,
                   "styleSLD": "", "useAsDefault": 0 if others else 1,
                   "description": "campwatch: changes by class in the figures' colours, labelled with their ids",
                   "owner": "campwatch",
                   # GeoPackage's own datetime form (SQLite's CURRENT_TIMESTAMP lacks the T and the Z)
                   "update_time": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"}
            row = {k: v for k, v in row.items() if k in have}
            db.execute(f"INSERT INTO layer_styles ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                       tuple(row.values()))


def _mask_names() -> list[str]:
    """The name of each of the mask's 256 values ("" for a value no class uses)."""
    names = [""] * 256
    names[0] = "No change"
    for c in CLASSES.values():
        names[c.code] = c.label
    names[OBSCURED], names[NOT_ANALYSED] = "Obscured (cloud or shadow)", "Not analysed"
    return names


def mask_qml() -> str:
    """A QGIS style for the change mask (``change_mask.qml``): paletted, each class in its colour and named.

    QGIS loads it as the mask's default style. "No change" is transparent, so the imagery
    shows through where nothing changed.
    """
    colours = mask_colours()
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories")
    pipe = ET.SubElement(root, "pipe")
    renderer = ET.SubElement(pipe, "rasterrenderer", type="paletted", band="1", opacity="1", alphaBand="-1",
                             nodataColor="")
    ET.SubElement(renderer, "rasterTransparency")
    palette = ET.SubElement(renderer, "colorPalette")
    for value, name in enumerate(_mask_names()):
        if name:
            r, g, b, a = colours[value]
            ET.SubElement(palette, "paletteEntry", value=str(value), color=f"#{r:02x}{g:02x}{b:02x}",
                          alpha=str(a), label=name)
    ET.SubElement(root, "blendMode").text = "0"
    return _qml_text(root)


def mask_categories_xml() -> str:
    """The change mask's class names as a GDAL PAM document (``change_mask.tif.aux.xml``).

    Category *i* names value *i* as the figures' legend does: ``No change``, each class's
    label (``New structure``), ``Obscured`` and ``Not analysed``; values no class uses are
    left unnamed. (The mask's tags name each value by its report name, ``CLASS_2 =
    structure_new``.)
    """
    names = _mask_names()
    root = ET.Element("PAMDataset")
    band = ET.SubElement(root, "PAMRasterBand", band="1")
    categories = ET.SubElement(band, "CategoryNames")
    last = max(i for i, n in enumerate(names) if n)
    for name in names[: last + 1]:
        ET.SubElement(categories, "Category").text = name
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"
