"""The editor window driven as a user would: palette, wires, properties, run, files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore, QtWidgets  # noqa: E402

from haibal_py.gui.style import FAILED_NODE_COLOR  # noqa: E402
from haibal_py.gui.editor import new_window  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
Y_TRUE = [1, 2]
Y_PRED = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
# by hand, float64: -log(p[label]); from logits: logsumexp(row) - row[label]
# (rtol 1e-5 leaves room for Keras' epsilon 1e-7 in the probability form)
EXPECTED = [-np.log(0.95), -np.log(0.1)]
EXPECTED_LOGITS = [np.log(np.exp(Y_PRED[i]).sum()) - Y_PRED[i][Y_TRUE[i]] for i in range(2)]


@pytest.fixture
def window(open_editor):
    return open_editor()


def from_palette(window, type_id, qtbot):
    """Add a node the way a user does: double-click its palette entry."""
    before = {n.id for n in window.canvas.nodes()}
    item = window.palette.items[type_id]
    window.palette.tree.itemDoubleClicked.emit(item, 0)
    (node,) = [n for n in window.canvas.nodes() if n.id not in before]
    return node


def set_in_properties(window, node, prop, value):
    """Change a parameter through the properties panel, as a user does."""
    window.properties.add_node(node)
    editor = window.properties.get_property_editor_widget(node)
    editor.get_widget(prop).set_value(value)


def run_and_wait(window, qtbot, ok=True):
    with qtbot.waitSignal(window.run_finished, timeout=10000) as sig:
        assert window.run_graph()
    assert sig.args == [ok], window.status.text()


def build_scce(window, qtbot):
    yt = from_palette(window, "haibal.io.GraphInput", qtbot)
    yt.set_name("y_true")
    set_in_properties(window, yt, "type", "int[1]")
    set_in_properties(window, yt, "default", json.dumps(Y_TRUE))
    yp = from_palette(window, "haibal.io.GraphInput", qtbot)
    yp.set_name("y_pred")
    set_in_properties(window, yp, "type", "float[2]")
    set_in_properties(window, yp, "default", json.dumps(Y_PRED))
    loss = from_palette(window, SCCE, qtbot)
    plot = from_palette(window, "haibal.viewers.LinePlot", qtbot)
    out = from_palette(window, "haibal.io.GraphOutput", qtbot)
    out.set_name("loss")
    c = window.canvas
    assert c.connect(yt, "value", loss, "y_true").ok
    assert c.connect(yp, "value", loss, "y_pred").ok
    assert c.connect(loss, "result", plot, "value").ok
    assert c.connect(plot, "value", out, "value").ok
    return yt, yp, loss, plot, out


def test_build_run_view_save_and_run_headless(window, qtbot, tmp_path):
    yt, yp, loss, plot, out = build_scce(window, qtbot)
    assert window.isWindowModified()
    run_and_wait(window, qtbot)
    view = window.viewers.views[plot.name()]
    assert view.shown_as() == "plot"
    np.testing.assert_allclose(view.value, EXPECTED, rtol=1e-5)
    curve = view.plot.getPlotItem().listDataItems()[0]
    np.testing.assert_allclose(curve.yData, EXPECTED, rtol=1e-5)

    # change a parameter through the properties widget: only what depends on it re-runs
    set_in_properties(window, loss, "from_logits", True)
    assert loss.param_values()["from_logits"] is True
    run_and_wait(window, qtbot)
    assert window.last_run["ran"] == [loss.name(), plot.name(), out.name()]
    np.testing.assert_allclose(view.value, EXPECTED_LOGITS, rtol=1e-5)

    path = window.save(tmp_path / "scce.json")
    assert not window.isWindowModified() and "scce.json" in window.windowTitle()
    doc = json.loads(path.read_text())
    assert doc["format"] == "haibal-graph"
    cli = subprocess.run([sys.executable, "-m", "haibal_py.cli", "run", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    np.testing.assert_allclose(json.loads(cli.stdout)["outputs"]["loss"]["value"], EXPECTED_LOGITS, rtol=1e-5)

    # and it reopens with the same nodes, wires and parameters
    window.open(path)
    names = sorted(n.name() for n in window.canvas.nodes())
    assert names == sorted(["y_true", "y_pred", loss.name(), plot.name(), "loss"])
    assert len(window.canvas.wires()) == 4
    assert window.canvas.node(loss.name()).param_values()["from_logits"] is True
    assert not window.isWindowModified()


def test_type_mismatch_draws_a_broken_wire_and_refuses_to_run(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput", qtbot)
    set_in_properties(window, src, "type", "float[0]")
    set_in_properties(window, src, "default", "0.5")
    image = from_palette(window, "haibal.viewers.ImageView", qtbot)
    compat = window.canvas.connect(src, "value", image, "value")
    assert not compat.ok and "rank" in compat.reason
    key = (src.name(), "value", image.name(), "value")
    pipe = window.canvas.pipe_item(key)
    assert pipe.pen().style() == QtCore.Qt.DashLine and compat.reason in pipe.toolTip()
    with qtbot.waitSignal(window.run_finished) as sig:
        window.run_graph()
    assert sig.args == [False] and "type mismatch" in window.status.text()


def test_failing_node_turns_red_with_its_message(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window, qtbot)
    set_in_properties(window, yt, "default", "[5, 2]")  # label 5 of 3 classes
    run_and_wait(window, qtbot, ok=False)
    assert window.canvas.node_state_color(loss.name()) == FAILED_NODE_COLOR
    assert "label 5" in loss.view.toolTip() and "label 5" in window.status.text()
    assert window.canvas.node_state_color(yt.name()) != FAILED_NODE_COLOR
    set_in_properties(window, yt, "default", "[1, 2]")
    run_and_wait(window, qtbot)
    assert window.canvas.node_state_color(loss.name()) != FAILED_NODE_COLOR


def test_undo_of_a_connection_and_title_star(window, qtbot, tmp_path):
    yt, yp, loss, plot, out = build_scce(window, qtbot)
    window.save(tmp_path / "g.json")
    assert "*" not in window.windowTitle().replace("[*]", "") and not window.isWindowModified()
    n = len(window.canvas.wires())
    window.canvas.graph.get_node_by_name(plot.name()).get_output("value").disconnect_from(out.get_input("value"))
    assert len(window.canvas.wires()) == n - 1 and window.isWindowModified()
    window.act_undo.trigger()
    assert len(window.canvas.wires()) == n and not window.isWindowModified()


def test_clicking_a_wire_probes_its_value(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window, qtbot)
    run_and_wait(window, qtbot)
    pipe = window.canvas.pipe_item((loss.name(), "result", plot.name(), "value"))
    window.graph.clear_selection()
    pipe.setSelected(True)
    np.testing.assert_allclose(window.probe.view.value, EXPECTED, rtol=1e-5)
    assert loss.name() in window.probe.title.text()


def test_copy_paste_delete_select_all(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window, qtbot)
    window.graph.clear_selection()
    loss.set_selected(True)
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert len(window.canvas.nodes()) == 6
    window.act_select_all.trigger()
    window.act_delete.trigger()
    assert window.canvas.nodes() == []
    window.act_undo.trigger()
    assert len(window.canvas.nodes()) == 6


def test_autosave_and_restore(qtbot, tmp_path):
    rec = tmp_path / "recovery.json"
    w = new_window(recovery_path=rec)
    qtbot.addWidget(w)
    build_scce(w, qtbot)
    assert w.autosave() and rec.exists()
    w2 = new_window(recovery_path=rec)
    qtbot.addWidget(w2)
    assert w2.restore_recovery()
    assert sorted(n.name() for n in w2.canvas.nodes()) == sorted(n.name() for n in w.canvas.nodes())
    assert w2.isWindowModified()
    w.ask_save_changes = lambda: "discard"
    w2.ask_save_changes = lambda: "discard"


def test_close_with_unsaved_changes_asks(window, qtbot):
    from_palette(window, SCCE, qtbot)
    asked = []
    window.ask_save_changes = lambda: asked.append(1) or "cancel"
    assert not window.close() and asked
    window.ask_save_changes = lambda: "discard"
    assert window.close()


def test_help_f1_and_hover(window, qtbot):
    loss = from_palette(window, SCCE, qtbot)
    assert "crossentropy" in loss.view.toolTip().lower()
    window.graph.clear_selection()
    loss.set_selected(True)
    window.act_help.trigger()
    page = window.help_dialog.findChild(QtWidgets.QPlainTextEdit).toPlainText()
    assert "Input parameters" in page and "Use cases" in page and "y_true" in page


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.name)
def test_every_example_reopens_and_runs(window, qtbot, example):
    window.open(example)
    assert window.canvas.nodes(), example
    assert window.canvas.broken_wires() == {}
    run_and_wait(window, qtbot)


def test_screenshot_of_the_scce_example_with_a_plot(window, qtbot):
    """Grab the window to tests/artifacts/editor.png (looked at by eye: titles, ports, layout)."""
    window.resize(1600, 950)
    window.open(ROOT / "examples" / "scce.json")
    per_sample = window.canvas.node("per sample")
    plot = window.add_from_palette("haibal.viewers.LinePlot", pos=(per_sample.x_pos() + 420, per_sample.y_pos() - 170))
    plot.set_name("loss per sample")
    assert window.canvas.connect(per_sample, "result", plot, "value").ok
    run_and_wait(window, qtbot)
    np.testing.assert_allclose(window.viewers.views["loss per sample"].value, EXPECTED, rtol=1e-5)
    window.graph.clear_selection()
    window.properties.add_node(per_sample)
    window.fit_view()
    qtbot.wait(50)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    assert image.save(str(out / "editor.png"))
    assert image.width() >= 1200 and image.height() >= 700


def test_tab_on_the_canvas_opens_a_quick_search_that_adds_a_node(window, qtbot):
    viewer = window.graph.viewer()
    viewer.setFocus()
    qtbot.keyClick(viewer, QtCore.Qt.Key_Tab)
    search = window.quick_search
    assert search.isVisible()
    qtbot.keyClicks(search.edit, "line plot")
    assert search.list.count() == 1
    qtbot.keyClick(search.edit, QtCore.Qt.Key_Return)
    assert [n.haibal_class.type_id for n in window.canvas.nodes()] == ["haibal.viewers.LinePlot"]
    assert not search.isVisible()


def test_selecting_a_node_shows_its_properties(window, qtbot):
    loss = from_palette(window, SCCE, qtbot)
    window.graph.clear_selection()
    window.graph.node_selected.emit(loss)
    editor = window.properties.get_property_editor_widget(loss)
    assert editor is not None and editor.get_widget("axis").get_value() in ("-1", -1)


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "haibal_py.gui", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "haibal-editor" in out.stdout and "GRAPH" in out.stdout.upper()


def test_viewers_show_images_tables_and_values(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput", qtbot)
    image = np.arange(48, dtype=float).reshape(6, 8)
    set_in_properties(window, src, "type", "float[2]")
    set_in_properties(window, src, "default", json.dumps(image.tolist()))
    img = from_palette(window, "haibal.viewers.ImageView", qtbot)
    table = from_palette(window, "haibal.viewers.ArrayTable", qtbot)
    scce = from_palette(window, SCCE, qtbot)
    yt = from_palette(window, "haibal.io.GraphInput", qtbot)
    set_in_properties(window, yt, "type", "int[1]")
    set_in_properties(window, yt, "default", json.dumps(Y_TRUE))
    yp = from_palette(window, "haibal.io.GraphInput", qtbot)
    set_in_properties(window, yp, "type", "float[2]")
    set_in_properties(window, yp, "default", json.dumps(Y_PRED))
    set_in_properties(window, scce, "instance", "batch")
    value = from_palette(window, "haibal.viewers.ValueDisplay", qtbot)
    c = window.canvas
    for a, b in ((src, img), (src, table)):
        assert c.connect(a, "value", b, "value").ok
    c.connect(yt, "value", scce, "y_true")
    c.connect(yp, "value", scce, "y_pred")
    c.connect(scce, "result", value, "value")
    run_and_wait(window, qtbot)
    views = window.viewers.views
    assert views[img.name()].shown_as() == "image"
    np.testing.assert_array_equal(views[img.name()].image.image, image.T)  # pyqtgraph is column-major
    assert views[table.name()].shown_as() == "table"
    assert views[table.name()].table.rowCount() == 6 and views[table.name()].table.columnCount() == 8
    assert "shape (6, 8)" in views[table.name()].label.text()
    assert views[value.name()].shown_as() == "value"
    np.testing.assert_allclose(views[value.name()].value, np.mean(EXPECTED), rtol=1e-5)
    assert f"{np.mean(EXPECTED):.4f}"[:5] in views[value.name()].label.text()


def test_big_graph_opens_with_compact_nodes_and_runs(window, qtbot, tmp_path):
    from haibal_py.graph import Graph
    from haibal_py.gui.bridge import COMPACT_ABOVE

    g = Graph(name="chain")
    prev, port = g.add_input("x", default=[-1.0, 0.5], type="float[1]"), "value"
    for i in range(COMPACT_ABOVE):
        nid = g.add_node("haibal.activations.ELU", params={"alpha": 0.5 if i == 3 else 1.0}, pos=(200 * i, 0))
        g.connect(prev, port, nid, "x")
        prev, port = nid, "result"
    g.connect(prev, port, g.add_output("y"), "value")
    g.save(tmp_path / "chain.json")
    window.open(tmp_path / "chain.json")
    nodes = window.canvas.nodes()
    assert len(nodes) == COMPACT_ABOVE + 2
    elu = [n for n in nodes if n.haibal_class.type_id == "haibal.activations.ELU"]
    assert all(not n.view.widgets for n in elu)  # parameters in the Properties panel only
    assert sorted({n.param_values()["alpha"] for n in elu}) == [0.5, 1.0]
    set_in_properties(window, elu[0], "alpha", "2.0")
    assert elu[0].param_values()["alpha"] == 2.0
    run_and_wait(window, qtbot)
    # by hand: ELU(x) = x for x > 0, alpha * (exp(x) - 1) otherwise; 0.5 stays 0.5
    x = -1.0
    for n in elu:
        alpha = n.param_values()["alpha"]
        x = x if x > 0 else alpha * np.expm1(x)
    np.testing.assert_allclose(window.last_run["graph_outputs"]["y"], [x, 0.5], rtol=1e-6)
