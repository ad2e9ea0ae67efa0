"""Structures in the editor (issue 17): frames on the canvas with their terminals, the
examples opened and run, "Enclose in ..." and its undo, nodes dragged into and out of a
frame, wires across a border, cases shown and edited, terminals from the context menu,
copy and paste of a structure, snippets holding one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtWidgets  # noqa: E402

from haibal_py.graph import Graph  # noqa: E402
from haibal_py.gui.frames import MARGIN  # noqa: E402
from haibal_py.gui.structures import add_context_items, edit_case_values, enclose_selection, parse_case_values  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402
from gui_helpers import run_and_wait  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(open_editor):
    return open_editor()


def drawn_everything(window) -> bool:
    """Every wire of the graph and of the diagrams shown is drawn, and nothing else."""
    canvas = window.canvas
    shown = set(canvas.items) | set(canvas.frames)
    terminals = {gid for sid in canvas.frames for gid in canvas.terminal_nodes(sid)}
    wanted = {c for c in canvas.all_connections()
              if (c.src in shown or c.src in terminals) and (c.dst in shown or c.dst in terminals)}
    return set(canvas.wires()) == wanted


def drag(window, item, to) -> None:
    """Move a canvas item as a mouse drag does: its new position, then NodeGraphQt's signal."""
    before = tuple(item.pos())
    item.set_property("pos", [float(to[0]), float(to[1])], push_undo=False)
    window.canvas.viewer.moved_nodes.emit({item.view: before})


def build_rows(window):
    """x (3 x 2) -> Sum -> y, built in the editor; returns (x, sum, y) ids."""
    m = window.model
    x = m.add_node("haibal.io.GraphInput", "x", params={"type": "float[2]", "default": np.arange(6.0).reshape(3, 2)},
                   pos=(0, 0))
    s = m.add_node("haibal.math.Sum", pos=(260, 0))
    y = m.add_node("haibal.io.GraphOutput", "y", pos=(560, 0))
    m.connect(x, "value", s, "x")
    m.connect(s, "result", y, "value")
    return x, s, y


@pytest.mark.parametrize("name, frames", [("loop_batches", 1), ("case_from_logits", 1), ("train_steps", 2)])
def test_examples_open_as_frames_and_run_as_headless(window, qtbot, name, frames):
    path = ROOT / "examples" / f"{name}.json"
    window.open(path)
    canvas = window.canvas
    assert len(canvas.frames) == frames  # train_steps: a For Loop inside a While Loop
    assert canvas.terminals and drawn_everything(window) and window.errors.errors() == []
    run_and_wait(window, qtbot)
    headless = Runtime(Graph.load(path)).run().outputs
    for key, value in headless.items():
        np.testing.assert_array_equal(window.last_result.outputs[key], value)
    assert all(canvas.states[sid] == "done" for sid in canvas.frames)


def test_enclose_in_a_for_loop_and_undo(window):
    x, s, y = build_rows(window)
    before = window.model.graph.to_dict()
    window.canvas.select([s])
    sid = enclose_selection(window, "for")
    graph = window.model.graph
    assert sid in window.canvas.frames and s in window.canvas.items and graph.locate(s) is graph.structure(sid).body
    assert {t.name for t in graph.structure(sid).terminals} == {"x", "result"}
    assert drawn_everything(window)
    window.act_undo.trigger()
    after = window.model.graph.to_dict()
    assert sid not in window.canvas.frames and window.model.graph.locate(s) is window.model.graph
    assert sorted(json.dumps(n, sort_keys=True) for n in after["nodes"]) == \
        sorted(json.dumps(n, sort_keys=True) for n in before["nodes"])
    assert drawn_everything(window)
    window.act_redo.trigger()
    assert sid in window.canvas.frames and window.model.graph.locate(s).owner[1] == sid and drawn_everything(window)


def test_the_enclose_actions_are_in_the_edit_and_context_menus(window):
    assert set(window.act_enclose) == {"for", "while", "case"}
    build_rows(window)
    window.canvas.select(list(window.canvas.items))
    texts = [a.text() for a in window.context_menu().actions()]
    assert "Enclose in For Loop" in texts and "Enclose in Case Structure" in texts


def test_a_node_dragged_into_a_frame_joins_its_diagram_and_leaves_it_again(window, qtbot):
    x, s, y = build_rows(window)
    m = window.model
    sid = window.canvas.add_node("haibal.structure.ForLoop", pos=(200, 300), free=False)
    fx, fy, fw, fh = window.canvas.frame_rect(sid)
    drag(window, window.canvas.item(s), (fx + 60, fy + 60))
    graph = m.graph
    assert graph.locate(s) is graph.structure(sid).body
    assert [t.name for t in graph.structure(sid).terminals] == ["x", "result"]  # the wires became tunnels
    assert drawn_everything(window)
    m.connect(m.add_node("haibal.io.Constant", params={"value": 2}, pos=(0, 300)), "value", sid, "N")
    run_and_wait(window, qtbot)
    assert float(window.last_result.outputs["y"]) == 15.0
    drag(window, window.canvas.item(s), (fx + fw + 200, fy))  # out again: wired as before, tunnels gone
    assert graph.locate(s) is graph and graph.structure(sid).terminals == ()
    assert drawn_everything(window)
    window.act_undo.trigger()
    assert graph.locate(s) is graph.structure(sid).body and drawn_everything(window)


def test_a_wire_across_the_border_gets_a_tunnel(window):
    x, s, y = build_rows(window)
    m = window.model
    sid = window.canvas.add_node("haibal.structure.ForLoop", pos=(200, 300), free=False)
    fx, fy, _, _ = window.canvas.frame_rect(sid)
    a = window.canvas.add_node("haibal.math.Add", pos=(fx + 80, fy + 80), free=False)
    assert m.home(a) == (sid, 0)
    out, inp = window.canvas.item(x).get_output("value").view, window.canvas.item(a).get_input("x").view
    window.canvas.viewer.connection_changed.emit([], [(out, inp)])  # drawn from outside to inside
    st = m.graph.structure(sid)
    assert [t.name for t in st.terminals] == ["x"] and m.graph.feeding(sid, "x")[0].src == x
    assert ("tunnel_in", "x") in {k[1:] for k in window.canvas.terminals} and drawn_everything(window)


def test_case_structures_show_one_case_and_edit_cases(window, qtbot):
    window.open(ROOT / "examples" / "case_from_logits.json")
    canvas = window.canvas
    (sid,) = canvas.frames
    graph = window.model.graph
    false_case, true_case = graph.structure(sid).diagrams
    softmax = next(g for g, gn in true_case.nodes.items() if gn.type_id.endswith("SoftMax"))
    assert canvas.visible(sid) == 0 and softmax not in canvas.items
    canvas.frames[sid].view.on_case_step(1)
    assert canvas.visible(sid) == 1 and softmax in canvas.items and drawn_everything(window)
    assert canvas.frames[sid].view.case_text == "True"
    assert edit_case_values(window, sid, "True, Default")
    assert graph.structure(sid).node.diagrams[1].default and canvas.frames[sid].view.case_text == "True, Default"
    assert parse_case_values('1, "two", Default') == ((1, "two"), True)
    window.act_undo.trigger()
    assert not graph.structure(sid).node.diagrams[1].default


def test_terminals_from_the_context_menu(window):
    x, s, y = build_rows(window)
    window.canvas.select([s])
    sid = enclose_selection(window, "for")
    canvas = window.canvas
    key = next(k for k in canvas.terminals if k[1] == "tunnel_in")
    item = canvas.terminals[key]
    r = item.view.sceneBoundingRect()
    menu = QtWidgets.QMenu()
    add_context_items(window, menu, (r.center().x(), r.center().y()))
    acts = {a.text(): a for a in menu.actions()}
    acts["Indexing (x)"].trigger()
    assert window.model.graph.structure(sid).node.terminal("x").indexing
    assert canvas.terminals[key].view.indexing  # drawn with brackets
    acts["Add Shift Register"].trigger()
    assert [t.kind for t in window.model.graph.structure(sid).terminals].count("shift") == 1
    assert {k[1] for k in canvas.terminals if k[0] == sid} >= {"shift_left", "shift_right"}
    sr = next(k for k in canvas.terminals if k[1] == "shift_right")
    canvas.graph.scene().clearSelection()
    canvas.terminals[sr].view.setSelected(True)
    window.act_delete.trigger()
    assert [t.kind for t in window.model.graph.structure(sid).terminals].count("shift") == 0
    window.act_undo.trigger()
    assert [t.kind for t in window.model.graph.structure(sid).terminals].count("shift") == 1


def test_copy_and_paste_a_structure(window, qtbot):
    window.open(ROOT / "examples" / "loop_batches.json")
    (sid,) = window.canvas.frames
    window.canvas.select([sid])
    assert window.copy()
    made = window.paste()  # at the view's centre: inside the loop's frame, so into its diagram
    assert len(made) == 1 and made[0] != sid and made[0] in window.canvas.frames
    assert window.model.home(made[0]) == (sid, 0)
    inner_old = set(window.model.graph.structure(sid).body.nodes) - {made[0]}
    inner_new = set(window.model.graph.structure(made[0]).body.nodes)
    assert len(inner_new) == len(inner_old) and not inner_new & inner_old and drawn_everything(window)
    window.act_undo.trigger()
    at = window.canvas.frame_rect(sid)
    (outside,) = window.model.paste_text(window.model.copy_text([sid]), at=(at[0] + at[2] + 400, at[1]))
    assert window.model.home(outside) == () and outside in window.canvas.frames and drawn_everything(window)


def test_a_frame_resized_on_the_canvas_is_a_model_edit(window):
    sid = window.canvas.add_node("haibal.structure.WhileLoop", pos=(0, 0), free=False)
    frame = window.canvas.frames[sid]
    x, y, w, h = window.canvas.frame_rect(sid)
    window.canvas.viewer.node_backdrop_updated.emit(frame.id, "sizer_mouse_release", {
        "pos": [x - MARGIN, y - MARGIN], "width": w + 2 * MARGIN + 100, "height": h + 2 * MARGIN + 50})
    assert window.model.graph.structure(sid).node.size == (w + 100, h + 50)
    window.act_undo.trigger()
    assert window.model.graph.structure(sid).node.size == (w, h)
