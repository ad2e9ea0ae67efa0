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
    """logits -> SoftMax -> SCCE(labels) -> loss, through the model; returns (softmax, scce) ids."""
    m = window.model
    lg = canvas_input(m, "logits", LOGITS, "float[2]", (0, 0))
    yt = canvas_input(m, "labels", LABELS, "int[1]", (0, 200))
    sm = m.add_node(SOFTMAX, pos=(250, 0))
    sc = m.add_node(SCCE, pos=(500, 60))
    out = m.add_node("haibal.io.GraphOutput", name="loss", pos=(800, 60))
    m.connect(lg, "value", sm, "x")
    m.connect(sm, "result", sc, "y_pred")
    m.connect(yt, "value", sc, "y_true")
    m.connect(sc, "result", out, "value")
    m.undo_stack.setClean()
    return sm, sc


def run_and_wait(window, qtbot):
    with qtbot.waitSignal(window.run_finished, timeout=10000) as sig:
        assert window.run_graph()
    assert sig.args == [True], window.status.text()
    return window


def loss_of(window):
    return window.value("loss")


def state(window):
    g = window.model.graph
    names = {gid: gn.name for gid, gn in g.nodes.items()}
    nodes = sorted((gn.name, gn.type_id) for gn in g.nodes.values())
    assert sorted((n.name(), n.haibal_class.type_id) for n in window.canvas.nodes()) == nodes
    return nodes, sorted((names[c.src], c.src_port, names[c.dst], c.dst_port) for c in g.connections)


def select(window, gids):
    """Select as a click does (scene selection: not an undo step)."""
    window.canvas.select(gids)


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
    assert gsub.is_subgraph(window, node) and window.model.node_name(node) == "Loss from logits"
    names, wires = state(window)
    assert ("Loss from logits", "haibal.subgraph.Loss_from_logits") in names and len(names) == 4
    assert sorted(wires) == sorted([("logits", "value", "Loss from logits", "logits"),
                                    ("labels", "value", "Loss from logits", "labels"),
                                    ("Loss from logits", "loss", "loss", "value")])
    assert sorted(p.name() for p in window.canvas.item(node).input_ports()) == ["labels", "logits"]
    assert window.is_modified()
    np.testing.assert_allclose(loss_of(run_and_wait(window, qtbot)), EXPECTED, rtol=1e-6)
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
    window.model.undo()
    assert state(window) == before
    np.testing.assert_allclose(loss_of(run_and_wait(window, qtbot)), EXPECTED, rtol=1e-6)
    window.model.redo()
    assert len(state(window)[0]) == 4


def test_reopened_file_shows_the_subgraph_node_and_expands(window, qtbot, tmp_path):
    build_collapsed(window)
    path = window.save(tmp_path / "collapsed.json")
    window.open(path)
    node = window.model.graph.resolve("Loss from logits")
    assert gsub.is_subgraph(window, node)
    select(window, [node])
    made = gsub.expand_node(window)
    assert sorted(window.model.graph.nodes[g].type_id for g in made) == [SOFTMAX, SCCE]
    names, wires = state(window)
    assert len(names) == 5 and len(wires) == 4
    np.testing.assert_allclose(loss_of(run_and_wait(window, qtbot)), EXPECTED, rtol=1e-6)
    window.model.undo()  # the expansion is one step too
    assert gsub.is_subgraph(window, window.model.graph.resolve("Loss from logits"))


def test_refusals_leave_the_canvas_unchanged(window):
    sm, sc = build(window)
    before = state(window)
    select(window, [])
    with pytest.raises(SubgraphError, match="select the nodes"):
        gsub.collapse_selection(window)
    select(window, [window.model.graph.resolve("logits"), sm])
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
    viewer = window.canvas.viewer
    window.fit_view()
    qtbot.wait(10)
    centre = viewer.mapFromScene(window.canvas.item(node).view.sceneBoundingRect().center())
    qtbot.mouseDClick(viewer.viewport(), QtCore.Qt.LeftButton, pos=centre)
    children = window.findChildren(gsub.SubgraphWindow)
    assert len(children) == 1
    child = children[0]
    assert child.isVisible() and "Loss from logits" in child.windowTitle()
    assert sorted(gn.type_id for gn in child.model.graph.nodes.values()) == sorted(
        ["haibal.io.GraphInput", "haibal.io.GraphInput", "haibal.io.GraphOutput", SOFTMAX, SCCE])
    # edit inside: SCCE reads the SoftMax output as logits now -> another number
    inner_scce = next(g for g, gn in child.model.graph.nodes.items() if gn.type_id == SCCE)
    child.model.set_param(inner_scce, "from_logits", True)
    assert child.is_modified()
    child.save_or_ask()
    assert not child.is_modified()
    assert window.is_modified() and "updated" in window.status.text()
    new_cls = window.model.graph.nodes[node].cls
    inner = new_cls.template.graph
    assert inner.nodes[next(g for g, gn in inner.nodes.items() if gn.type_id == SCCE)].params["from_logits"] is True
    changed = loss_of(run_and_wait(window, qtbot))
    assert not np.allclose(changed, EXPECTED)
    # saved and reloaded, the edit is there
    path = window.save(tmp_path / "edited.json")
    doc = json.loads(path.read_text())
    inner = doc["subgraphs"][0]["graph"]["nodes"]
    assert [n["params"]["from_logits"] for n in inner if n["type"] == SCCE] == [True]
    # undo in the graph's window restores the previous definition
    window.model.undo()
    np.testing.assert_allclose(loss_of(run_and_wait(window, qtbot)), EXPECTED, rtol=1e-6)
    # the same node double-clicked again raises the open window, not a second one
    assert gsub.open_subgraph(window, node) is child


def test_closing_the_graph_window_asks_the_open_subgraph_first(window):
    node = build_collapsed(window)
    child = gsub.open_subgraph(window, node)
    child.model.set_param(next(g for g, gn in child.model.graph.nodes.items() if gn.type_id == SCCE),
                          "from_logits", True)
    child.ask_save_changes = lambda: "cancel"
    assert not window.close()  # the subgraph's unsaved edit keeps both open
    assert window.isVisible() and child.isVisible()
    child.ask_save_changes = lambda: "discard"
    assert window.close()


def feed(window, node):
    """Graph inputs logits/labels and output loss around a subgraph node."""
    m = window.model
    lg = canvas_input(m, "logits", LOGITS, "float[2]", (-300, 0))
    yt = canvas_input(m, "labels", LABELS, "int[1]", (-300, 200))
    out = m.add_node("haibal.io.GraphOutput", name="loss", pos=(400, 0))
    m.connect(lg, "value", node, "logits")
    m.connect(yt, "value", node, "labels")
    m.connect(node, "loss", out, "value")


def test_a_subgraph_node_pastes_into_another_window_and_runs(window, qtbot, open_editor):
    node = build_collapsed(window)
    window.copy()
    other = open_editor("other")
    other.paste()
    pasted = [g for g in other.model.graph.nodes if gsub.is_subgraph(other, g)]
    assert len(pasted) == 1
    feed(other, pasted[0])
    np.testing.assert_allclose(loss_of(run_and_wait(other, qtbot)), EXPECTED, rtol=1e-6)


def test_a_snippet_holding_a_subgraph_inserts_on_another_canvas(window, qtbot, tmp_path, open_editor):
    from haibal_py.gui import snippets as gsnip
    node = build_collapsed(window)
    _, png = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "wrapped loss")
    other = open_editor("other")
    made = gsnip.insert_file(other, png, (0, 0))
    subs = [g for g in made if gsub.is_subgraph(other, g)]
    assert len(subs) == 1 and other.model.graph.nodes[subs[0]].type_id == "haibal.subgraph.Loss_from_logits"
    with qtbot.waitSignal(other.run_finished, timeout=10000) as sig:
        assert other.run_graph()
    assert sig.args == [True], other.status.text()  # the template inputs carry the run's values
    np.testing.assert_allclose(other.outputs[subs[0]]["loss"], EXPECTED, rtol=1e-6)


def test_pasting_a_different_subgraph_of_the_same_name_is_refused(window, qtbot, open_editor):
    node = build_collapsed(window)
    window.copy()
    other = open_editor("other")
    sm2, sc2 = build(other)
    other.model.set_param(sc2, "from_logits", True)  # same name, another definition
    select(other, [sm2, sc2])
    gsub.collapse_selection(other, "Loss from logits")
    before = state(other)
    other.paste()
    assert state(other) == before
    assert "'Loss from logits'" in other.status.text() and "different one of that name" in other.status.text()
    # the same definition pastes fine
    window.paste()
    assert sum(gsub.is_subgraph(window, g) for g in window.model.graph.nodes) == 2
