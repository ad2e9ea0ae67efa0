"""Issue 15's defects, each as a user meets it on the real window (offscreen, real Qt events).

Shortcuts are real key presses on the canvas view; wires are clicked with the mouse.
"""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore, QtGui, QtWidgets  # noqa: E402
from Qt.QtTest import QTest  # noqa: E402

from haibal_py.graph import Connection  # noqa: E402
from haibal_py.gui import subgraphs as gsub  # noqa: E402
from gui_helpers import (EXPECTED, SCCE, build_scce, from_palette, key, run_and_wait,  # noqa: E402
                         set_in_properties)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(open_editor, tmp_path, monkeypatch):
    monkeypatch.setenv("HAIBAL_SNIPPETS_DIR", str(tmp_path / "lib"))
    return open_editor()


def overlaps(a, b, gap=0.0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + gap and bx < ax + aw + gap and ay < by + bh + gap and by < ay + ah + gap


# ---------------------------------------------------------------------------- 1. Ctrl+Z, Ctrl+Y
def test_1_ctrl_z_and_ctrl_y_pressed_on_the_canvas_undo_and_redo(window, qtbot):
    from_palette(window, "haibal.viewers.LinePlot")
    from_palette(window, SCCE)
    assert len(window.canvas.nodes()) == 2
    key(window, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert len(window.canvas.nodes()) == 1 == len(window.model.graph.nodes)
    key(window, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier)
    assert window.canvas.nodes() == []
    key(window, QtCore.Qt.Key_Y, QtCore.Qt.ControlModifier)
    assert len(window.canvas.nodes()) == 1
    key(window, QtCore.Qt.Key_Z, QtCore.Qt.ControlModifier | QtCore.Qt.ShiftModifier)
    assert len(window.canvas.nodes()) == 2


def test_1_no_shortcut_is_bound_twice(window):
    """Qt finds a key ambiguous when two enabled actions of the window hold it (what broke Ctrl+Z)."""
    seen = {}
    for act in window.findChildren(QtGui.QAction):
        if not act.isEnabled() and act is not window.act_stop:
            continue
        for seq in act.shortcuts():
            text = seq.toString()
            assert text not in seen, f"{text!r}: {seen[text]!r} and {act.text()!r}"
            seen[text] = act.text()
    assert {"Ctrl+Z", "Ctrl+Y", "Ctrl+Shift+Z", "Ctrl+R", "F", "Home", "Ctrl+L", "Ctrl+."} <= set(seen)


# ---------------------------------------------------------------------------- 2. clicking a wire
def test_2_clicking_a_wire_selects_and_probes_it_without_picking_it_up(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    window.fit_view()
    conn = Connection(loss, "result", plot, "value")
    pipe = window.canvas.pipe_item(conn)
    path = pipe.path()
    viewer = window.canvas.viewer
    point = viewer.mapFromScene(path.pointAtPercent(0.3))
    QTest.mouseClick(viewer.viewport(), QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, point)
    assert conn in window.model.graph.connections  # still wired
    assert conn in window.canvas.wires()
    assert window.canvas.selected_wires() == [conn]
    np.testing.assert_allclose(window.probe.view.value, EXPECTED, rtol=1e-5)
    assert window.model.node_name(loss) in window.probe.title.text()


# ---------------------------------------------------------------------------- 3. names kept
def test_3_opening_the_scce_example_keeps_every_name(window, tmp_path):
    doc = json.loads((ROOT / "examples" / "scce.json").read_text())
    names = sorted(n["name"] for n in doc["nodes"])
    assert names.count("mean") == 2  # a node and a graph output share the name
    window.open(ROOT / "examples" / "scce.json")
    assert sorted(n.name() for n in window.canvas.nodes()) == names
    saved = window.save(tmp_path / "scce.json")
    assert sorted(n["name"] for n in json.loads(saved.read_text())["nodes"]) == names


# ---------------------------------------------------------------------------- 4. stale viewers
def test_4_viewers_are_marked_stale_after_a_failed_run(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    entry = window.viewers.entries[(plot,)]
    assert not entry.stale and "stale" not in entry.title()
    set_in_properties(window, yt, "default", "[5, 2]")  # label 5 of 3 classes: the loss fails
    assert entry.stale  # edited upstream: stale already
    run_and_wait(window, qtbot, ok=False)
    assert entry.stale and "stale" in entry.title() and not entry.view.isEnabled()
    np.testing.assert_allclose(entry.view.value, EXPECTED, rtol=1e-5)  # the old value, marked
    assert window.canvas.states[plot] == "stale"
    set_in_properties(window, yt, "default", "[1, 2]")
    run_and_wait(window, qtbot)
    assert not entry.stale and "stale" not in entry.title()


# ---------------------------------------------------------------------------- 5. refused value
def test_5_the_properties_panel_shows_the_graph_value_after_a_refusal(window, qtbot):
    loss = from_palette(window, SCCE)
    window.canvas.select([loss])
    field = window.properties.field("axis")
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, "abc")
    qtbot.keyClick(field, QtCore.Qt.Key_Return)
    assert window.model.graph.nodes[loss].params["axis"] == -1
    assert field.text() == "-1"
    assert "axis" in window.status.text() and "'abc'" in window.status.text()
    assert "refused" in window.properties.message.text()
    node_field = window.canvas.item(loss).view.widgets["axis"].get_custom_widget()
    assert node_field.text() == "-1"


# ---------------------------------------------------------------------------- 6. new viewer entry
def test_6_a_new_viewer_node_gets_its_panel_entry_at_once(window):
    plot = from_palette(window, "haibal.viewers.LinePlot")
    assert (plot,) in window.viewers.entries
    assert window.viewers.entries[(plot,)].title().startswith(window.model.node_name(plot))
    window.act_undo.trigger()
    assert (plot,) not in window.viewers.entries


# ---------------------------------------------------------------------------- 7. float -> int wires
def test_7_a_float_to_int_wire_warns_before_running(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, src, "type", "float[1]")
    set_in_properties(window, src, "default", "[0.05, 1.0]")
    loss = from_palette(window, SCCE)
    window.model.connect(src, "value", loss, "y_true")
    window.refresh_checks()
    conn = Connection(src, "value", loss, "y_true")
    assert conn in window.canvas.lossy_wires()
    pipe = window.canvas.pipe_item(conn)
    assert pipe.pen().style() == QtCore.Qt.DotLine and "warning" in pipe.toolTip()
    assert "converted implicitly" not in pipe.toolTip()
    state = window.canvas.item(loss).port_states[("in", "y_true")]
    assert state["coerced"] and state["lossy"]
    warnings = window.errors.warnings()
    assert [w.gid for w in warnings] == [loss] and "integral" in warnings[0].text


# ---------------------------------------------------------------------------- 8. names in messages
def test_8_messages_name_nodes_by_their_names(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, src, "type", "float[0]")
    set_in_properties(window, src, "default", "0.5")
    image = from_palette(window, "haibal.viewers.ImageView")
    out = from_palette(window, "haibal.io.GraphOutput")
    window.model.connect(src, "value", image, "value")
    window.refresh_checks()
    texts = [f"{i.node}: {i.text}" for i in window.errors.issues]
    assert texts
    for text in texts + [window.act_run.toolTip()]:
        for gid in (src, image, out):
            assert f"'{gid}'" not in text and f"{gid}." not in text, text
    assert any("Image View" in t for t in texts) and any("Graph Input.value" in t for t in texts)
    assert any(i.gid == out and "Graph Output" == i.node for i in window.errors.issues)


# ---------------------------------------------------------------------------- 9. free space
def test_9_new_pasted_and_dropped_nodes_land_on_free_space(window, qtbot, tmp_path):
    a = from_palette(window, "haibal.io.GraphInput")
    b = from_palette(window, "haibal.io.GraphInput")
    c = from_palette(window, SCCE)
    boxes = {g: window.canvas.box(g) for g in (a, b, c)}
    assert not overlaps(boxes[a], boxes[b]) and not overlaps(boxes[a], boxes[c]) and not overlaps(boxes[b], boxes[c])
    window.canvas.select([a, c])
    window.copy()
    pasted = window.paste()
    assert len(pasted) == 2
    for p in pasted:
        for g in (a, b, c):
            assert not overlaps(window.canvas.box(p), window.canvas.box(g)), (p, g)
    from haibal_py.gui import snippets as gsnip
    window.canvas.select([c])
    _, png = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "one loss")
    centre = window.canvas.box(c)
    made = gsnip.insert_file(window, png, (centre[0], centre[1]))
    for m in made:
        for g in window.canvas.items:
            if g not in made:
                assert not overlaps(window.canvas.box(m), window.canvas.box(g)), (m, g)


# ---------------------------------------------------------------------------- 10. subgraphs
def test_10_collapsing_keeps_the_viewers_and_the_subgraph_window_runs(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    window.canvas.select([loss, plot])
    node = gsub.collapse_selection(window, "Loss and plot")
    keys = [k for k in window.viewers.entries if k[-1] == plot]
    assert keys == [(node, plot)]
    entry = window.viewers.entries[keys[0]]
    assert entry.title().startswith("Loss and plot › ")
    run_and_wait(window, qtbot)
    np.testing.assert_allclose(entry.view.value, EXPECTED, rtol=1e-5)
    child = gsub.open_subgraph(window, node)
    qtbot.addWidget(child)
    child.ask_save_changes = lambda: "discard"
    assert not child.run_is_broken(), [i.text for i in child.issues]
    run_and_wait(child, qtbot)
    inner_plot = next(g for g, gn in child.model.graph.nodes.items() if gn.type_id == "haibal.viewers.LinePlot")
    np.testing.assert_allclose(child.viewers.view(inner_plot).value, EXPECTED, rtol=1e-5)
    assert "--input" not in child.status.text()


def test_10_a_subgraph_window_before_any_run_says_what_to_do_in_the_editor(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    window.canvas.select([loss])
    node = gsub.collapse_selection(window, "Just the loss")
    child = gsub.open_subgraph(window, node)
    qtbot.addWidget(child)
    child.ask_save_changes = lambda: "discard"
    assert child.run_is_broken()
    texts = " ".join(i.text for i in child.issues)
    assert "Properties panel" in texts and "--input" not in texts
    assert "run" in child.status.text()


# ---------------------------------------------------------------------------- 11. recovery
def test_11_recovery_keeps_the_file_name_and_fits_the_view(open_editor, tmp_path, qtbot):
    first = open_editor("rec")
    first.open(ROOT / "examples" / "scce.json")
    first.model.rename("scc1", "per sample, edited")
    assert first.autosave()
    second = open_editor("rec")
    assert second.restore_recovery()
    assert second.path == ROOT / "examples" / "scce.json"
    assert "scce.json" in second.windowTitle() and "recovered" in second.windowTitle()
    assert second.isWindowModified()
    assert second.model.node_name("scc1") == "per sample, edited"
    qtbot.wait(20)
    view = second.canvas.viewer.mapToScene(second.canvas.viewer.viewport().rect()).boundingRect()
    assert view.contains(second.canvas.scene_rect_of(None))
    second.remove_recovery()


# ---------------------------------------------------------------------------- 12. error list
def test_12_every_problem_in_the_error_list_and_a_short_status(window, qtbot):
    a = from_palette(window, SCCE)
    b = from_palette(window, "haibal.viewers.ImageView")
    window.refresh_checks()
    errors = window.errors.errors()
    assert len(errors) >= 3  # y_true and y_pred of the loss, the viewer's value: each its own row
    assert window.errors.topLevelItemCount() == len(window.errors.issues)
    with qtbot.waitSignal(window.run_finished) as sig:
        assert not window.run_graph()
    assert sig.args == [False]
    assert f"{len(errors)} problems" in window.status.text() and ";" not in window.status.text()
    # a click on a row selects its node
    window.canvas.select([])
    row = window.errors.row_of(b)
    window.errors.itemClicked.emit(row, 0)
    assert window.canvas.selected_ids() == [b]


# ---------------------------------------------------------------------------- 13. collapse checks first
def test_13_collapse_checks_the_selection_before_asking_a_name(window, monkeypatch):
    yt, yp, loss, plot, out = build_scce(window)
    asked = []
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: asked.append(a) or ("X", True))
    window.canvas.select([yt, loss])  # a graph input cannot go inside
    window.act_collapse.trigger()
    assert asked == [] and "graph input" in window.status.text()
    window.canvas.select([])
    window.act_collapse.trigger()
    assert asked == [] and "select the nodes" in window.status.text()
    window.canvas.select([loss])
    window.act_collapse.trigger()
    assert len(asked) == 1 and gsub.is_subgraph(window, window.canvas.selected_ids()[0])


# ---------------------------------------------------------------------------- 14. zoom to fit
def test_14_f_and_home_zoom_to_fit_and_opening_fits(window, qtbot):
    window.open(ROOT / "examples" / "scce.json")
    qtbot.wait(20)
    viewer = window.canvas.viewer

    def shown():
        return viewer.mapToScene(viewer.viewport().rect()).boundingRect()

    assert shown().contains(window.canvas.scene_rect_of(None))
    viewer.set_scene_rect([5000, 5000, 300, 200])  # looking elsewhere
    assert not shown().intersects(window.canvas.scene_rect_of(None))
    key(window, QtCore.Qt.Key_F)
    assert shown().contains(window.canvas.scene_rect_of(None))
    viewer.set_scene_rect([5000, 5000, 300, 200])
    key(window, QtCore.Qt.Key_Home)
    assert shown().contains(window.canvas.scene_rect_of(None))


def test_14_the_context_menu_offers_more_than_undo(window):
    from_palette(window, SCCE)
    window.canvas.select(list(window.canvas.items))
    texts = [a.text().replace("&", "") for a in window.context_menu().actions() if a.text()]
    for wanted in ("Undo", "Redo", "Add node…", "Paste", "Copy", "Delete", "Zoom to Fit", "Clean Up",
                   "Add Comment", "Node Help", "Collapse into subgraph…"):
        assert wanted in texts, texts


# ---------------------------------------------------------------------------- also seen
def test_also_seen_the_save_dialog_proposes_the_graphs_name(window, tmp_path):
    window.model.graph.name = "my loss"
    assert window.suggested_save_path().name == "my loss.json"
    window.save(tmp_path / "first.json")
    assert window.suggested_save_path() == tmp_path / "first.json"


def test_also_seen_cached_nodes_keep_a_frame_colour(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    set_in_properties(window, loss, "from_logits", True)
    run_and_wait(window, qtbot)
    assert window.canvas.states[yt] == "cached" and window.canvas.states[loss] == "done"
    frame = window.canvas.item(yt).view.border_color[:3]
    assert frame != window.canvas.item(yt).model.border_color[:3]


def test_also_seen_image_frames_count_from_zero(window, qtbot):
    src = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, src, "type", "float[3]")
    set_in_properties(window, src, "default", json.dumps(np.arange(2 * 4 * 5.0).reshape(2, 4, 5).tolist()))
    img = from_palette(window, "haibal.viewers.ImageView")
    window.model.connect(src, "value", img, "value")
    run_and_wait(window, qtbot)
    view = window.viewers.view(img).image
    assert list(view.tVals) == [0.0, 1.0]


def test_also_seen_random_source_is_not_a_tower(window):
    rs = from_palette(window, "haibal.io.RandomSource")
    loss = from_palette(window, SCCE)
    assert window.canvas.box(rs)[3] <= 1.3 * window.canvas.box(loss)[3]
    assert len(window.canvas.item(rs).view.widgets) <= 4
    window.canvas.select([rs])
    assert set(window.properties.fields) >= {p.name for p in window.model.graph.nodes[rs].cls.params}


def test_also_seen_the_canvas_is_most_of_a_1280_by_720_window(window, qtbot):
    qtbot.wait(20)
    assert window.size() == QtCore.QSize(1280, 720)
    assert window.canvas.viewer.width() >= 760
    assert window.docks["properties"].height() >= 230


def test_also_seen_the_plot_fits_its_panel(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    qtbot.wait(20)
    panel = window.viewers
    assert panel.body.height() <= panel.viewport().height()  # nothing hangs below the panel


def test_also_seen_one_theme_for_chrome_and_canvas(window):
    bg = window.canvas.theme.canvas
    for widget in (window.palette.tree, window.errors, window.properties):
        base = widget.palette().color(QtGui.QPalette.Base)
        assert abs(base.lightness() - QtGui.QColor(*bg).lightness()) < 60, widget
    window.set_theme("light")
    for widget in (window.palette.tree, window.errors):
        assert widget.palette().color(QtGui.QPalette.Base).lightness() > 200
    assert QtGui.QColor(*window.canvas.theme.canvas).lightness() > 200


def test_also_seen_help_is_formatted_text(window):
    window.canvas.select([from_palette(window, SCCE)])
    window.act_help.trigger()
    html = window.help_dialog.browser.toHtml()
    assert "<table" in html and "<h2" in html


def test_also_seen_a_long_default_shows_its_start(window):
    src = from_palette(window, "haibal.io.GraphInput")
    set_in_properties(window, src, "default", json.dumps(list(range(40))))
    edit = window.canvas.item(src).view.widgets["default"].get_custom_widget()
    assert edit.text().startswith("[0, 1, 2") and edit.cursorPosition() == 0
    assert window.properties.field("default").cursorPosition() == 0


def test_8_a_name_two_nodes_share_is_told_apart_by_its_id(window):
    window.open(ROOT / "examples" / "scce.json")  # a loss node and a graph output are both 'mean'
    window.model.disconnect("y_pred", "value", "scc2", "y_pred")
    window.refresh_checks()
    (issue,) = window.errors.errors()
    assert issue.gid == "scc2" and issue.node == "mean (scc2)"
    assert "'mean' (scc2)" in issue.text and "SparseCategoricalCrossentropy" not in issue.text
