"""Show a history's review form as QGIS opens it, and save a picture of it: for docs/images/review_form.png.

Run with the Python that QGIS's bindings are installed for (Debian: python3-qgis, /usr/bin/python3):

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 docs/qgis_review_form.py HISTORY.gpkg CHANGE_ID OUT.png

It opens the history's ``changes`` layer with its default style (campwatch's, from ``layer_styles``),
draws the layer (rejected changes grey) beside the attribute form of one change, and saves both.
"""

import sys

from qgis.core import QgsApplication, QgsFeatureRequest, QgsMapSettings, QgsRectangle, QgsVectorLayer
from qgis.gui import QgsAttributeEditorContext, QgsAttributeForm, QgsGui, QgsMapCanvas
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget

history, change_id, out = sys.argv[1:4]
app = QgsApplication([], True)
app.initQgis()
QgsGui.editorWidgetRegistry().initEditors()  # the drop-down lists and text fields of forms
layer = QgsVectorLayer(f"{history}|layername=changes", "changes", "ogr")
assert layer.isValid(), "the history's changes layer does not open"
message, ok = layer.loadDefaultStyle()
assert ok, message
feature = next(layer.getFeatures(QgsFeatureRequest().setFilterExpression(f"\"change_id\" = '{change_id}'")))
window = QWidget()
row = QHBoxLayout(window)
canvas = QgsMapCanvas()
canvas.setLayers([layer])
canvas.setDestinationCrs(layer.crs())
box = feature.geometry().boundingBox()
box.grow(max(box.width(), box.height()) * 6)
canvas.setExtent(layer.extent() if box.isEmpty() else QgsRectangle(box))
canvas.setFixedSize(QSize(560, 760))
row.addWidget(canvas)
layer.startEditing()
form = QgsAttributeForm(layer, feature, QgsAttributeEditorContext())
form.setFixedSize(QSize(620, 760))
row.addWidget(form)
window.resize(1220, 780)
window.show()
canvas.refreshAllLayers()
for _ in range(50):
    app.processEvents()
canvas.waitWhileRendering()
for _ in range(20):
    app.processEvents()
assert window.grab().save(out), f"cannot write {out}"
print(out)
