"""The editor window driven as a user would: palette, wires, properties, run, files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py.graph import Connection  # noqa: E402
from haibal_py.gui.editor import new_window  # noqa: E402
from haibal_py.gui.style import FAILED_NODE_COLOR  # noqa: E402
from gui_helpers import (EXPECTED, EXPECTED_LOGITS, SCCE, Y_PRED, Y_TRUE, build_scce, from_palette,  # noqa: E402
                         run_and_wait, set_in_properties)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(open_editor):
    return open_editor()


def test_build_run_view_save_and_run_headless(window, qtbot, tmp_path):
    yt, yp, loss, plot, out = build_scce(window)
    assert window.isWindowModified()
    run_and_wait(window, qtbot)
    view = window.viewers.view(plot)
    assert view.shown_as() == "plot"
    np.testing.assert_allclose(view.value, EXPECTED, rtol=1e-5)
    curve = view.plot.getPlotItem().listDataItems()[0]
    np.testing.assert_allclose(curve.yData, EXPECTED, rtol=1e-5)

    # change a parameter through the Properties panel: only what depends on it re-runs
    set_in_properties(window, loss, "from_logits", True)
    assert window.model.graph.nodes[loss].params["from_logits"] is True
    run_and_wait(window, qtbot)
    assert window.last_result.ran == [loss, plot, out]
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
    names = sorted(gn.name for gn in window.model.graph.nodes.values())
    window.open(path)
    assert sorted(n.name() for n in window.canvas.nodes()) == names
    assert len(window.canvas.wires()) == 4 == len(window.model.graph.connections)
    assert window.model.graph.nodes[loss].params["from_logits"] is True
    assert not window.isWindowModified()


def test_type_mismatch_draws_a_broken_wire_and_refuses_to_run(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, src, "type", "float[0]")
    set_in_properties(window, src, "default", "0.5")
    image = from_palette(window, "haibal.viewers.ImageView")
    window.model.connect(src, "value", image, "value")
    window.refresh_checks()
    conn = Connection(src, "value", image, "value")
    reason = window.canvas.broken_wires()[conn]
    assert "rank" in reason
    pipe = window.canvas.pipe_item(conn)
    assert pipe.pen().style() == QtCore.Qt.DashLine and "rank" in pipe.toolTip()
    with qtbot.waitSignal(window.run_finished) as sig:
        assert not window.run_graph()
    assert sig.args == [False] and "type mismatch" in window.status.text()


def test_failing_node_turns_red_with_its_message(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    set_in_properties(window, yt, "default", "[5, 2]")  # label 5 of 3 classes
    run_and_wait(window, qtbot, ok=False)
    assert window.canvas.state_color(loss) == FAILED_NODE_COLOR
    item = window.canvas.item(loss)
    assert "label 5" in window.canvas.node_tip(loss) and "label 5" in window.status.text()
    assert window.canvas.state_color(yt) != FAILED_NODE_COLOR
    set_in_properties(window, yt, "default", "[1, 2]")
    run_and_wait(window, qtbot)
    assert window.canvas.state_color(loss) != FAILED_NODE_COLOR


def test_undo_of_a_connection_and_title_star(window, qtbot, tmp_path):
    yt, yp, loss, plot, out = build_scce(window)
    window.save(tmp_path / "g.json")
    assert not window.isWindowModified()
    n = len(window.canvas.wires())
    window.model.disconnect(plot, "value", out, "value")
    assert len(window.canvas.wires()) == n - 1 and window.isWindowModified()
    window.act_undo.trigger()
    assert len(window.canvas.wires()) == n and not window.isWindowModified()


def test_copy_paste_delete_select_all(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    window.canvas.select([loss])
    window.act_copy.trigger()
    window.act_paste.trigger()
    assert len(window.canvas.nodes()) == 6
    pasted = (set(window.model.graph.nodes) - {yt, yp, loss, plot, out}).pop()
    assert window.model.graph.nodes[pasted].name != window.model.graph.nodes[loss].name
    window.act_select_all.trigger()
    window.act_delete.trigger()
    assert window.canvas.nodes() == [] and window.model.graph.nodes == {}
    window.act_undo.trigger()
    assert len(window.canvas.nodes()) == 6


def test_autosave_and_restore(qtbot, tmp_path):
    rec = tmp_path / "recovery.json"
    w = new_window(recovery_path=rec)
    qtbot.addWidget(w)
    build_scce(w)
    assert w.autosave() and rec.exists()
    w2 = new_window(recovery_path=rec)
    qtbot.addWidget(w2)
    assert w2.restore_recovery()
    assert sorted(n.name() for n in w2.canvas.nodes()) == sorted(n.name() for n in w.canvas.nodes())
    assert w2.isWindowModified()
    w.ask_save_changes = lambda: "discard"
    w2.ask_save_changes = lambda: "discard"


def test_close_with_unsaved_changes_asks(window, qtbot):
    from_palette(window, SCCE)
    asked = []
    window.ask_save_changes = lambda: asked.append(1) or "cancel"
    assert not window.close() and asked
    window.ask_save_changes = lambda: "discard"
    assert window.close()


def test_help_f1_and_hover(window, qtbot):
    loss = from_palette(window, SCCE)
    assert "crossentropy" in window.canvas.node_tip(loss).lower()
    window.canvas.select([loss])
    window.act_help.trigger()
    page = window.help_dialog.browser.toPlainText()
    assert "Inputs" in page and "Use cases" in page and "y_true" in page


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.name)
def test_every_example_reopens_and_runs(window, qtbot, example):
    window.open(example)
    assert window.canvas.nodes(), example
    assert window.canvas.broken_wires() == {}
    run_and_wait(window, qtbot)


def test_screenshot_of_the_scce_example_with_a_plot(window, qtbot):
    """Grab the window to tests/artifacts/editor.png (looked at by eye: titles, ports, layout)."""
    window.open(ROOT / "examples" / "scce.json")
    per_sample = "scc1"
    x, y = window.model.graph.nodes[per_sample].pos
    plot = window.add_from_palette("haibal.viewers.LinePlot", pos=(x + 420, y - 170))
    window.model.rename(plot, "loss per sample")
    window.model.connect(per_sample, "result", plot, "value")
    run_and_wait(window, qtbot)
    np.testing.assert_allclose(window.viewers.view(plot).value, EXPECTED, rtol=1e-5)
    window.canvas.select([per_sample])
    window.fit_view()
    qtbot.wait(50)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    assert image.save(str(out / "editor.png"))
    assert image.width() >= 1200 and image.height() >= 700


def test_tab_on_the_canvas_opens_a_quick_search_that_adds_a_node(window, qtbot):
    viewer = window.canvas.viewer
    viewer.setFocus()
    qtbot.keyClick(viewer, QtCore.Qt.Key_Tab)
    search = window.quick_search
    assert search.isVisible()
    qtbot.keyClicks(search.edit, "line plot")
    assert search.found()[0] == "haibal.viewers.LinePlot"
    qtbot.keyClick(search.edit, QtCore.Qt.Key_Return)
    assert [gn.type_id for gn in window.model.graph.nodes.values()] == ["haibal.viewers.LinePlot"]
    assert not search.isVisible()


def test_selecting_a_node_shows_its_properties(window, qtbot):
    loss = from_palette(window, SCCE)
    window.canvas.select([])
    assert window.properties.gid is None
    window.canvas.select([loss])
    assert window.properties.gid == loss
    assert window.properties.field("axis").text() == "-1"


def test_console_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "haibal_py.gui", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "haibal-editor" in out.stdout and "GRAPH" in out.stdout.upper()


def test_viewers_show_images_tables_and_values(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput")
    image = np.arange(48, dtype=float).reshape(6, 8)
    set_in_properties(window, src, "type", "float[2]")
    set_in_properties(window, src, "default", json.dumps(image.tolist()))
    img = from_palette(window, "haibal.viewers.ImageView")
    table = from_palette(window, "haibal.viewers.ArrayTable")
    scce = from_palette(window, SCCE)
    yt = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, yt, "type", "int[1]")
    set_in_properties(window, yt, "default", json.dumps(Y_TRUE))
    yp = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, yp, "type", "float[2]")
    set_in_properties(window, yp, "default", json.dumps(Y_PRED))
    set_in_properties(window, scce, "instance", "batch")
    value = from_palette(window, "haibal.viewers.ValueDisplay")
    m = window.model
    for a, b in ((src, img), (src, table)):
        m.connect(a, "value", b, "value")
    m.connect(yt, "value", scce, "y_true")
    m.connect(yp, "value", scce, "y_pred")
    m.connect(scce, "result", value, "value")
    run_and_wait(window, qtbot)
    views = window.viewers
    assert views.view(img).shown_as() == "image"
    np.testing.assert_array_equal(views.view(img).image.image, image.T)  # pyqtgraph is column-major
    assert views.view(table).shown_as() == "table"
    assert views.view(table).table.rowCount() == 6 and views.view(table).table.columnCount() == 8
    assert "shape (6, 8)" in views.view(table).label.text()
    assert views.view(value).shown_as() == "value"
    np.testing.assert_allclose(views.view(value).value, np.mean(EXPECTED), rtol=1e-5)
    assert f"{np.mean(EXPECTED):.4f}"[:5] in views.view(value).label.text()


def test_big_graph_opens_with_compact_nodes_and_runs(window, qtbot, tmp_path):
    from haibal_py.graph import Graph
    from haibal_py.gui.canvas import COMPACT_ABOVE

    g = Graph(name="chain")
    prev, port = g.add_input("x", default=[-1.0, 0.5], type="float[1]"), "value"
    for i in range(COMPACT_ABOVE):
        nid = g.add_node("haibal.activations.ELU", params={"alpha": 0.5 if i == 3 else 1.0}, pos=(200 * i, 0))
        g.connect(prev, port, nid, "x")
        prev, port = nid, "result"
    g.connect(prev, port, g.add_output("y"), "value")
    g.save(tmp_path / "chain.json")
    window.open(tmp_path / "chain.json")
    assert len(window.canvas.nodes()) == COMPACT_ABOVE + 2
    elu = [gid for gid, gn in window.model.graph.nodes.items() if gn.type_id == "haibal.activations.ELU"]
    assert all(not window.canvas.item(g).view.widgets for g in elu)  # parameters in the Properties panel only
    assert sorted({window.model.graph.nodes[g].params["alpha"] for g in elu}) == [0.5, 1.0]
    set_in_properties(window, elu[0], "alpha", "2.0")
    assert window.model.graph.nodes[elu[0]].params["alpha"] == 2.0
    run_and_wait(window, qtbot)
    # by hand: ELU(x) = x for x > 0, alpha * (exp(x) - 1) otherwise; 0.5 stays 0.5
    x = -1.0
    for g_ in elu:
        alpha = window.model.graph.nodes[g_].params["alpha"]
        x = x if x > 0 else alpha * np.expm1(x)
    np.testing.assert_allclose(window.value("y"), [x, 0.5], rtol=1e-6)


def test_a_user_types_into_a_node_field(window, qtbot):
    """The fields on a node edit the graph too (and a refused text shows the graph's value again)."""
    loss = from_palette(window, SCCE)
    widget = window.canvas.item(loss).view.widgets["axis"]
    edit = widget.get_custom_widget()
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "0")
    qtbot.keyClick(edit, QtCore.Qt.Key_Return)
    assert window.model.graph.nodes[loss].params["axis"] == 0
    edit.selectAll()
    qtbot.keyClicks(edit, "two")
    qtbot.keyClick(edit, QtCore.Qt.Key_Return)
    assert window.model.graph.nodes[loss].params["axis"] == 0
    assert edit.text() == "0" and "axis" in window.status.text() and "'two'" in window.status.text()
    window.act_undo.trigger()
    assert window.model.graph.nodes[loss].params["axis"] == -1 and edit.text() == "-1"
