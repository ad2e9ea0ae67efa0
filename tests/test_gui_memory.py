"""Opening a graph frees the canvas it replaces (NodeGraphQt's widget lambdas hold their node)."""

import gc

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py.graph import Graph  # noqa: E402
from haibal_py.gui.adapter import HaibalNode  # noqa: E402


def live_nodes() -> int:
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.DeferredDelete)
    gc.collect()
    return sum(isinstance(o, HaibalNode) for o in gc.get_objects())


def test_reopening_a_graph_keeps_one_canvas_of_nodes(open_editor, tmp_path):
    g = Graph("chain")
    prev = g.add_input("x", default=np.linspace(-1, 1, 8), type="float[1]")
    for _ in range(10):  # nodes with embedded parameter widgets
        nid = g.add_node("haibal.activations.ELU")
        g.connect(prev, "value" if prev == "x" else "result", nid, "x")
        prev = nid
    g.connect(prev, "result", g.add_output("y"), "value")
    path = tmp_path / "chain.json"
    g.save(path)
    w = open_editor()
    w.open(path)
    baseline = live_nodes()
    assert baseline >= 12
    for _ in range(3):
        w.open(path)
    assert live_nodes() == baseline
    assert w.last_result is None
