"""What LabVIEW, ComfyUI, Blender and Orange users expect of the editor (issue 15's feature list)."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore, QtGui, QtWidgets  # noqa: E402

from haibal_py.graph import Connection, Graph  # noqa: E402
from haibal_py.gui import layout  # noqa: E402
from haibal_py.gui.style import (CATEGORY_COLORS, DARK, FAILED_NODE_COLOR, LIGHT, RUNNING_NODE_COLOR,  # noqa: E402
                                 SUBGRAPH_COLOR, TEXT_CONTRAST, blend, contrast)
from gui_helpers import EXPECTED, SCCE, build_scce, from_palette, key, run_and_wait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(open_editor):
    return open_editor()


# ---------------------------------------------------------------------------- error list, broken run
def test_run_is_shown_broken_while_the_graph_has_errors(window, qtbot):
    loss = from_palette(window, SCCE)
    window.refresh_checks()
    assert window.run_is_broken()
    assert window.act_run.icon().cacheKey() == window.icon_broken.cacheKey()
    assert "Cannot run" in window.act_run.toolTip() and "problems" in window.act_run.toolTip()
    assert "Error List (" in window.docks["errors"].windowTitle()
    window.model.remove([loss])
    window.refresh_checks()
    assert not window.run_is_broken() and window.act_run.icon().cacheKey() == window.icon_run.cacheKey()
    assert window.errors.issues == [] and "No problems" in window.errors.topLevelItem(0).text(2)


def test_ctrl_l_shows_the_error_list(window, qtbot):
    window.docks["errors"].hide()
    key(window, QtCore.Qt.Key_L, QtCore.Qt.ControlModifier)
    assert window.docks["errors"].isVisible()


# ---------------------------------------------------------------------------- navigation
def test_zoom_to_selection_and_the_overview(window, qtbot):
    g = Graph("wide")
    prev = g.add_input("x", default=[0.5], type="float[1]", pos=(0, 0))
    port = "value"
    for i in range(12):
        nid = g.add_node("haibal.activations.ELU", pos=(400.0 * (i + 1), 0.0))
        g.connect(prev, port, nid, "x")
        prev, port = nid, "result"
    g.save(window.recovery_path.with_name("wide.json"))
    window.open(window.recovery_path.with_name("wide.json"))
    qtbot.wait(20)
    viewer = window.canvas.viewer
    far = list(window.model.graph.nodes)[-1]
    window.canvas.select([far])
    key(window, QtCore.Qt.Key_F, QtCore.Qt.ShiftModifier)
    shown = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
    assert shown.contains(window.canvas.scene_rect_of([far]))
    assert not shown.contains(window.canvas.scene_rect_of(None))
    window.overview.refresh()
    assert window.overview.isVisible()  # part of the graph is out of view
    # a click in the overview moves the view there
    QtGui.QGuiApplication.processEvents()
    before = shown.center()
    from Qt.QtTest import QTest
    QTest.mouseClick(window.overview, QtCore.Qt.LeftButton, QtCore.Qt.NoModifier, QtCore.QPoint(10, 50))
    after = viewer.mapToScene(viewer.viewport().rect()).boundingRect().center()
    assert after.x() < before.x()
    key(window, QtCore.Qt.Key_F)
    window.overview.refresh()
    assert not window.overview.isVisible()  # everything shows: no map needed


def test_recent_files_and_the_title(window, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    Graph("a").save(a)
    Graph("b").save(b)
    window.open(a)
    window.open(b)
    assert window.windowTitle().startswith("b.json")
    assert window.settings.existing_recent()[:2] == [str(b), str(a)]
    window.menus["recent"].aboutToShow.emit()
    names = [act.text() for act in window.menus["recent"].actions()]
    assert names[:2] == ["b.json", "a.json"]
    window.menus["recent"].actions()[1].trigger()
    assert window.path == a
    from_palette(window, SCCE)
    assert window.isWindowModified() and "[*]" in window.windowTitle()


# ---------------------------------------------------------------------------- layout
def test_align_distribute_and_clean_up_are_undoable_moves(window):
    ids = [from_palette(window, "haibal.activations.ELU") for _ in range(3)]
    window.model.move({ids[0]: (0.0, 0.0), ids[1]: (37.0, 300.0), ids[2]: (11.0, 700.0)})
    window.canvas.select(ids)
    window.align("left")
    assert {window.model.graph.nodes[g].pos[0] for g in ids} == {0.0}
    window.distribute("vertical")
    ys = sorted(window.canvas.box(g)[1] for g in ids)
    gaps = [ys[1] - ys[0], ys[2] - ys[1]]
    assert gaps[0] == pytest.approx(gaps[1], abs=1.0)
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert window.model.graph.nodes[ids[1]].pos == (37.0, 300.0)
    # clean up: columns by dataflow, nothing overlapping
    m = window.model
    m.connect(ids[0], "result", ids[1], "x")
    m.connect(ids[1], "result", ids[2], "x")
    window.canvas.select([])
    window.clean_up()
    xs = [window.canvas.box(g)[0] for g in ids]
    assert xs[0] < xs[1] < xs[2]
    assert layout.overlapping({g: window.canvas.box(g) for g in ids}) == []


def test_comments_are_backdrops_saved_in_the_graph_file(window, tmp_path):
    a = from_palette(window, SCCE)
    window.canvas.select([a])
    bid = window.add_comment("the loss", "per sample, as Keras computes it")
    (data,) = window.model.graph.editor["backdrops"]
    assert data["id"] == bid and data["title"] == "the loss"
    x, y, w, h = window.canvas.box(a)
    bx, by = data["pos"]
    bw, bh = data["size"]
    assert bx < x and by < y and bx + bw > x + w and by + bh > y + h  # around the selection
    item = window.canvas.backdrops[bid]
    assert item.name() == "the loss" and item.get_property("backdrop_text").startswith("per sample")
    path = window.save(tmp_path / "commented.json")
    assert json.loads(path.read_text())["editor"]["backdrops"][0]["title"] == "the loss"
    window.open(path)
    assert window.canvas.backdrops[bid].name() == "the loss"
    # editing its text in the Properties panel is one undoable edit
    window.canvas.select([])
    window.canvas.backdrops[bid].view.setSelected(True)
    assert window.properties.backdrop == bid
    window._commit_backdrop(bid, "renamed", "new text")
    assert window.canvas.backdrops[bid].name() == "renamed"
    window.act_undo.trigger()
    assert window.canvas.backdrops[bid].name() == "the loss"
    window.canvas.select([])
    window.canvas.backdrops[bid].view.setSelected(True)
    window.delete_selection()
    assert window.model.graph.editor["backdrops"] == [] and bid not in window.canvas.backdrops


def test_free_spot_finds_the_nearest_free_place():
    taken = [(0, 0, 100, 50)]
    assert layout.free_spot(500, 500, 100, 50, taken) == (500, 500)
    x, y = layout.free_spot(0, 0, 100, 50, taken)
    assert layout.overlapping({"new": (x, y, 100, 50), "old": taken[0]}, gap=19.0) == []
    assert abs(x) + abs(y) <= 200
    assert layout.overlapping({"a": (0, 0, 10, 10), "b": (5, 5, 10, 10), "c": (50, 0, 5, 5)}) == [("a", "b")]


# ---------------------------------------------------------------------------- search
def test_the_tab_search_shows_descriptions_and_finds_initials(window, qtbot):
    key(window, QtCore.Qt.Key_Tab)
    search = window.quick_search
    qtbot.keyClicks(search.edit, "scce")
    assert search.found()[0].endswith("SparseCategoricalCrossentropy")
    assert "crossentropy" in search.list.item(0).text().split("\n")[1].lower()
    search.hide()


# ---------------------------------------------------------------------------- live values
def test_wires_and_outputs_show_their_last_values(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    pipe = window.canvas.pipe_item(Connection(loss, "result", plot, "value"))
    assert "last value" not in window.canvas.wire_tip(pipe)
    run_and_wait(window, qtbot)
    tip = window.canvas.wire_tip(pipe)  # what hovering the wire shows
    assert tip.startswith("float[1]") and "last value" in tip and "shape (2,)" in tip and "max 2.30259" in tip
    window.fit_view()
    viewer = window.canvas.viewer
    at = viewer.mapFromScene(pipe.path().pointAtPercent(0.5))
    QtWidgets.QApplication.sendEvent(viewer.viewport(), QtGui.QHelpEvent(QtCore.QEvent.ToolTip, at,
                                                                          viewer.viewport().mapToGlobal(at)))
    assert QtWidgets.QToolTip.text() == tip  # a real hover event shows it
    node_at = viewer.mapFromScene(window.canvas.item(loss).view.sceneBoundingRect().topLeft() + QtCore.QPointF(30, 8))
    QtWidgets.QApplication.sendEvent(viewer.viewport(), QtGui.QHelpEvent(QtCore.QEvent.ToolTip, node_at,
                                                                          viewer.viewport().mapToGlobal(node_at)))
    assert "ran in the last run" in QtWidgets.QToolTip.text()
    line = window.canvas.item(out).view.value_line
    assert line.isVisible() and line.text() == "= [0.05129, 2.303]"
    states = {window.canvas.states[g] for g in (yt, yp, loss, plot, out)}
    assert states == {"done"}
    window.model.set_param(loss, "from_logits", True)
    assert window.canvas.states[loss] == "stale" and window.canvas.states[out] == "stale"
    assert window.canvas.states[yt] == "done"
    run_and_wait(window, qtbot)
    assert window.canvas.states[yt] == "cached" and window.canvas.states[loss] == "done"


# ---------------------------------------------------------------------------- legibility
def test_node_labels_reach_wcag_aa_on_every_node_colour():
    for body in CATEGORY_COLORS + [SUBGRAPH_COLOR, RUNNING_NODE_COLOR, FAILED_NODE_COLOR]:
        assert contrast(DARK.node_text, body) >= TEXT_CONTRAST, body
        title_bar = blend((0, 0, 0), body, 80 / 255)  # NodeGraphQt darkens the title strip
        assert contrast(DARK.node_text, title_bar) >= TEXT_CONTRAST, body
    for theme in (DARK, LIGHT):
        for fg, bg in ((theme.text, theme.window), (theme.text, theme.base), (theme.error, theme.window),
                       (theme.error, theme.base), (theme.warning, theme.base)):
            assert contrast(fg, bg) >= TEXT_CONTRAST, (theme.name, fg, bg)


def test_the_node_text_drawn_is_the_checked_colour(window):
    gid = from_palette(window, SCCE)
    item = window.canvas.item(gid).view
    assert tuple(item.text_item.defaultTextColor().getRgb()[:3]) == DARK.node_text


def test_the_theme_is_remembered(open_editor):
    first = open_editor("themed")
    first.set_theme("light")
    second = open_editor("themed")
    assert second.theme.name == "light" and second.act_light.isChecked()
    assert second.canvas.theme.name == "light"


def test_help_pages_are_html_with_tables(window):
    from haibal_py import CATALOG
    from haibal_py.gui.help_view import help_html
    for cls in CATALOG:
        html = help_html(cls)
        assert html.startswith("<h2>") and "<h3>Inputs</h3>" in html and "<table" in html, cls.type_id


# ---------------------------------------------------------------------------- the model
def test_undo_reruns_only_what_it_changed(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    window.model.set_param(loss, "from_logits", True)
    run_and_wait(window, qtbot)
    window.act_undo.trigger()
    assert window.model.graph.nodes[loss].params["from_logits"] is False
    run_and_wait(window, qtbot)
    assert window.last_result.ran == [loss, plot, out]
    np.testing.assert_allclose(window.value(plot), EXPECTED, rtol=1e-5)


def test_deleting_and_undoing_brings_back_names_params_wires_and_ids(window):
    yt, yp, loss, plot, out = build_scce(window)
    window.model.set_param(loss, "axis", 0)
    before = window.model.graph.to_dict()
    window.canvas.select([loss, plot])
    window.act_delete.trigger()
    assert loss not in window.model.graph.nodes and len(window.model.graph.connections) == 0
    window.act_undo.trigger()
    after = window.model.graph.to_dict()
    assert sorted(json.dumps(n, sort_keys=True) for n in after["nodes"]) == \
        sorted(json.dumps(n, sort_keys=True) for n in before["nodes"])
    assert sorted(map(str, after["connections"])) == sorted(map(str, before["connections"]))
    assert sorted(window.canvas.wires(), key=str) == sorted(window.model.graph.connections, key=str)


def test_stale_values_are_marked_on_outputs_and_in_the_probe(window, qtbot):
    yt, yp, loss, plot, out = build_scce(window)
    run_and_wait(window, qtbot)
    conn = Connection(loss, "result", plot, "value")
    window.canvas.select([])
    window.canvas.pipe_item(conn).setSelected(True)
    assert window.probe.wire == conn and "stale" not in window.probe.title.text()
    line = window.canvas.item(out).view.value_line
    assert line.brush().color().getRgb()[:3] == window.theme.text
    window.model.set_param(loss, "from_logits", True)
    assert "stale" in window.probe.title.text() and not window.probe.view.isEnabled()
    assert line.brush().color().getRgb()[:3] == window.theme.mid
    window.canvas.select([loss, plot])
    from haibal_py.gui import subgraphs as gsub
    gsub.collapse_selection(window, "Gone")
    assert window.probe.wire is None and "gone" in window.probe.title.text()


def test_an_empty_canvas_is_shown_one_to_one(window):
    window.fit_view()
    assert window.canvas.scale() == pytest.approx(1.0, abs=0.03)  # (Qt keeps a 2-pixel margin when fitting)
