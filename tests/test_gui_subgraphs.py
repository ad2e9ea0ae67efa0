"""Collapsed subgraphs in the editor: collapse (one undo step), save/run headlessly, expand,
double-click opens the subgraph in its own window, and Save there updates the graph."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py.gui import subgraphs as gsub  # noqa: E402
from haibal_py.subgraphs import SubgraphError  # noqa: E402
from reference import LABELS, LOGITS, canvas_input, scce_from_logits  # noqa: E402

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
SOFTMAX = "haibal.activations.SoftMax"
EXPECTED = scce_from_logits(LABELS, LOGITS)


@pytest.fixture
def window(open_editor, tmp_path, monkeypatch):
    monkeypatch.setenv("HAIBAL_SNIPPETS_DIR", str(tmp_path / "lib"))
    return open_editor()


def build(window):
    """logits -> SoftMax -> SCCE(labels) -> loss, on the canvas."""
    c = window.canvas
    lg = canvas_input(c, "logits", LOGITS, "float[2]", (0, 0))
    yt = canvas_input(c, "labels", LABELS, "int[1]", (0, 200))
    sm = c.add_node(SOFTMAX, pos=(250, 0))
    sc = c.add_node(SCCE, pos=(500, 60))
    out = c.add_node("haibal.io.GraphOutput", name="loss", pos=(800, 60))
    c.connect(lg, "value", sm, "x")
    c.connect(sm, "result", sc, "y_pred")
    c.connect(yt, "value", sc, "y_true")
    c.connect(sc, "result", out, "value")
    window.graph.undo_stack().setClean()
    return sm, sc


def run_and_wait(window, qtbot):
    with qtbot.waitSignal(window.run_finished, timeout=10000) as sig:
        assert window.run_graph()
    assert sig.args == [True], window.status.text()
    return window.outputs


def state(window):
    c = window.canvas
    return sorted((n.name(), n.haibal_class.type_id) for n in c.nodes()), sorted(c.wires())


def select(window, nodes):
    """Select as a click does (scene selection: not an undo step)."""
    for n in window.canvas.nodes():
        n.view.setSelected(n in nodes)


def build_collapsed(window):
    """``build``, then SoftMax and SCCE collapsed into "Loss from logits", which is selected."""
    select(window, build(window))
    node = gsub.collapse_selection(window, "Loss from logits")
    select(window, [node])
    return node


def test_collapse_is_one_undo_step_and_runs_the_same(window, qtbot, tmp_path):
    sm, sc = build(window)
    before = state(window)
    select(window, [sm, sc])
    node = gsub.collapse_selection(window, "Loss from logits")
    assert gsub.is_subgraph_node(node) and node.name() == "Loss from logits"
    names, wires = state(window)
    assert ("Loss from logits", "haibal.subgraph.Loss_from_logits") in names and len(names) == 4
    assert sorted(wires) == sorted([("logits", "value", "Loss from logits", "logits"),
                                    ("labels", "value", "Loss from logits", "labels"),
                                    ("Loss from logits", "loss", "loss", "value")])
    assert sorted(p.name() for p in node.input_ports()) == ["labels", "logits"]
    assert window.is_modified()
    np.testing.assert_allclose(run_and_wait(window, qtbot)["loss"]["value"], EXPECTED, rtol=1e-6)
    # saved graph runs headlessly with the same numbers
    path = window.save(tmp_path / "collapsed.json")
    assert json.loads(path.read_text())["subgraphs"][0]["name"] == "Loss from logits"
    out = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(path), "--output", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        np.testing.assert_allclose(data["loss"], EXPECTED, rtol=1e-6)
    # one undo brings the two nodes back, wired as before
    window.graph.undo_stack().undo()
    assert state(window) == before
    np.testing.assert_allclose(run_and_wait(window, qtbot)["loss"]["value"], EXPECTED, rtol=1e-6)
    window.graph.undo_stack().redo()
    assert len(state(window)[0]) == 4


def test_reopened_file_shows_the_subgraph_node_and_expands(window, qtbot, tmp_path):
    build_collapsed(window)
    path = window.save(tmp_path / "collapsed.json")
    window.open(path)
    node = window.canvas.node("Loss from logits")
    assert gsub.is_subgraph_node(node)
    select(window, [node])
    made = gsub.expand_node(window)
    assert sorted(n.haibal_class.type_id for n in made) == [SOFTMAX, SCCE]
    names, wires = state(window)
    assert len(names) == 5 and len(wires) == 4
    np.testing.assert_allclose(run_and_wait(window, qtbot)["loss"]["value"], EXPECTED, rtol=1e-6)
    window.graph.undo_stack().undo()  # the expansion is one step too
    assert gsub.is_subgraph_node(window.canvas.node("Loss from logits"))


def test_refusals_leave_the_canvas_unchanged(window):
    sm, sc = build(window)
    before = state(window)
    select(window, [])
    with pytest.raises(SubgraphError, match="select the nodes"):
        gsub.collapse_selection(window)
    select(window, [window.canvas.node("logits"), sm])
    with pytest.raises(SubgraphError, match="graph input"):
        gsub.collapse_selection(window)
    select(window, [sm])
    with pytest.raises(SubgraphError, match="select one subgraph node"):
        gsub.expand_node(window)
    assert state(window) == before and not window.is_modified()
    # the menu actions report instead of raising
    select(window, [sm])
    window.act_expand.trigger()
    assert "select one subgraph node" in window.status.text()


def test_double_click_opens_the_subgraph_and_save_updates_the_graph(window, qtbot, tmp_path):
    node = build_collapsed(window)
    viewer = window.graph.viewer()
    window.fit_view()
    qtbot.wait(10)
    centre = viewer.mapFromScene(node.view.sceneBoundingRect().center())
    qtbot.mouseDClick(viewer.viewport(), QtCore.Qt.LeftButton, pos=centre)
    children = window.findChildren(gsub.SubgraphWindow)
    assert len(children) == 1
    child = children[0]
    assert child.isVisible() and "Loss from logits" in child.windowTitle()
    assert sorted(n.haibal_class.type_id for n in child.canvas.nodes()) == sorted(
        ["haibal.io.GraphInput", "haibal.io.GraphInput", "haibal.io.GraphOutput", SOFTMAX, SCCE])
    # the subgraph runs on its own (its inputs are terminals with no default: give them)
    # edit inside: SCCE reads the SoftMax output as logits now -> another number
    inner_scce = next(n for n in child.canvas.nodes() if n.haibal_class.type_id == SCCE)
    inner_scce.set_param("from_logits", True)
    assert child.is_modified()
    child.save_or_ask()
    assert not child.is_modified()
    assert window.is_modified() and "updated" in window.status.text()
    new_node = window.canvas.node("Loss from logits")
    assert new_node.haibal_class.snippet.graph.nodes[
        next(g for g, gn in new_node.haibal_class.snippet.graph.nodes.items() if gn.type_id == SCCE)
    ].params["from_logits"] is True
    changed = run_and_wait(window, qtbot)["loss"]["value"]
    assert not np.allclose(changed, EXPECTED)
    # saved and reloaded, the edit is there
    path = window.save(tmp_path / "edited.json")
    doc = json.loads(path.read_text())
    inner = doc["subgraphs"][0]["graph"]["nodes"]
    assert [n["params"]["from_logits"] for n in inner if n["type"] == SCCE] == [True]
    # undo in the graph's window restores the previous definition
    window.graph.undo_stack().undo()
    np.testing.assert_allclose(run_and_wait(window, qtbot)["loss"]["value"], EXPECTED, rtol=1e-6)
    # the same node double-clicked again raises the open window, not a second one
    assert gsub.open_subgraph(window, window.canvas.node("Loss from logits")) is child


def test_closing_the_graph_window_asks_the_open_subgraph_first(window):
    node = build_collapsed(window)
    child = gsub.open_subgraph(window, node)
    next(n for n in child.canvas.nodes() if n.haibal_class.type_id == SCCE).set_param("from_logits", True)
    child.ask_save_changes = lambda: "cancel"
    assert not window.close()  # the subgraph's unsaved edit keeps both open
    assert window.isVisible() and child.isVisible()
    child.ask_save_changes = lambda: "discard"
    assert window.close()


def feed(window, node):
    """Graph inputs logits/labels and output loss around a subgraph node."""
    c = window.canvas
    lg = c.add_node("haibal.io.GraphInput", name="logits", pos=(-300, 0))
    lg.set_param("default", LOGITS)
    yt = c.add_node("haibal.io.GraphInput", name="labels", pos=(-300, 200))
    yt.set_param("default", LABELS)
    out = c.add_node("haibal.io.GraphOutput", name="loss", pos=(400, 0))
    c.connect(lg, "value", node, "logits")
    c.connect(yt, "value", node, "labels")
    c.connect(node, "loss", out, "value")


def test_a_subgraph_node_pastes_into_another_window_and_runs(window, qtbot, open_editor):
    node = build_collapsed(window)
    window.copy()
    other = open_editor("other")
    other.paste()
    pasted = [n for n in other.canvas.nodes() if gsub.is_subgraph_node(n)]
    assert len(pasted) == 1
    feed(other, pasted[0])
    np.testing.assert_allclose(run_and_wait(other, qtbot)["loss"]["value"], EXPECTED, rtol=1e-6)


def test_a_snippet_holding_a_subgraph_inserts_on_another_canvas(window, qtbot, tmp_path, open_editor):
    from haibal_py.gui import snippets as gsnip
    node = build_collapsed(window)
    _, png = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "wrapped loss")
    other = open_editor("other")
    made = gsnip.insert_file(other, png, (0, 0))
    subs = [n for n in made if gsub.is_subgraph_node(n)]
    assert len(subs) == 1 and subs[0].haibal_class.type_id == "haibal.subgraph.Loss_from_logits"
    with qtbot.waitSignal(other.run_finished, timeout=10000) as sig:
        assert other.run_graph()
    assert sig.args == [True], other.status.text()  # the template inputs carry the run's values
    np.testing.assert_allclose(other.outputs[subs[0].name()]["loss"], EXPECTED, rtol=1e-6)


def test_pasting_a_different_subgraph_of_the_same_name_is_refused(window, qtbot, open_editor):
    node = build_collapsed(window)
    window.copy()
    other = open_editor("other")
    sm2, sc2 = build(other)
    sc2.set_param("from_logits", True)  # same name, another definition
    select(other, [sm2, sc2])
    gsub.collapse_selection(other, "Loss from logits")
    before = state(other)
    other.paste()
    assert state(other) == before
    assert "different subgraph named 'Loss from logits'" in other.status.text()
    # the same definition pastes fine
    window.paste()
    assert sum(gsub.is_subgraph_node(n) for n in window.canvas.nodes()) == 2
