"""What the GUI tests do as a user would: palette double-clicks, Properties edits, runs, key presses.

Imported by the GUI tests only (it imports Qt)."""

from __future__ import annotations

import json

import numpy as np
from Qt import QtCore

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
Y_TRUE = [1, 2]
Y_PRED = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
# by hand, float64: -log(p[label]); from logits: logsumexp(row) - row[label]
EXPECTED = [-np.log(0.95), -np.log(0.1)]
EXPECTED_LOGITS = [np.log(np.exp(Y_PRED[i]).sum()) - Y_PRED[i][Y_TRUE[i]] for i in range(2)]


def from_palette(window, type_id: str) -> str:
    """Add a node the way a user does: double-click its palette entry; returns its id."""
    before = set(window.model.graph.nodes)
    window.palette.tree.itemDoubleClicked.emit(window.palette.items[type_id], 0)
    (gid,) = set(window.model.graph.nodes) - before
    return gid


def set_in_properties(window, gid: str, name: str, value) -> None:
    """Change a parameter through the Properties panel, as a user does (select, type, Enter)."""
    window.canvas.select([gid])
    panel = window.properties
    assert panel.gid == gid
    field = panel.field(name)
    if hasattr(field, "setChecked"):
        field.setChecked(bool(value))
    elif hasattr(field, "findText"):
        field.setCurrentIndex(field.findText(str(value)))
        field.activated.emit(field.currentIndex())
    else:
        panel.type_into(name, str(value))


def rename(window, gid: str, name: str) -> None:
    window.canvas.select([gid])
    window.properties.name_edit.setText(name)
    window.properties.name_edit.setModified(True)
    window.properties.name_edit.editingFinished.emit()


def run_and_wait(window, qtbot, ok=True):
    with qtbot.waitSignal(window.run_finished, timeout=15000) as sig:
        assert window.run_graph() or not ok
    assert sig.args == [ok], window.status.text()


def build_scce(window, qtbot=None):
    """The walk-through graph, built through the palette and the Properties panel: returns ids."""
    yt = from_palette(window, "haibal.io.GraphInput")
    rename(window, yt, "y_true")
    set_in_properties(window, yt, "type", "int[1]")
    set_in_properties(window, yt, "default", json.dumps(Y_TRUE))
    yp = from_palette(window, "haibal.io.GraphInput")
    rename(window, yp, "y_pred")
    set_in_properties(window, yp, "type", "float[2]")
    set_in_properties(window, yp, "default", json.dumps(Y_PRED))
    loss = from_palette(window, SCCE)
    plot = from_palette(window, "haibal.viewers.LinePlot")
    out = from_palette(window, "haibal.io.GraphOutput")
    rename(window, out, "loss")
    m = window.model
    m.connect(yt, "value", loss, "y_true")
    m.connect(yp, "value", loss, "y_pred")
    m.connect(loss, "result", plot, "value")
    m.connect(plot, "value", out, "value")
    return yt, yp, loss, plot, out


def key(window, key, modifiers=QtCore.Qt.NoModifier) -> None:
    """A real key press on the canvas view (shortcuts reach the window's actions)."""
    from Qt.QtTest import QTest
    view = window.canvas.viewer
    view.setFocus()
    QTest.keyClick(view, key, modifiers)


def scene_to_view(window, point) -> QtCore.QPoint:
    return window.canvas.viewer.mapFromScene(point)
