"""The canvas as a view of the model: generated node classes, fields, the palette, typed wires."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py import CATALOG  # noqa: E402
from haibal_py.graph import Connection  # noqa: E402
from haibal_py.gui.adapter import HaibalNode  # noqa: E402
from haibal_py.gui.canvas import NODE_MIME, Canvas  # noqa: E402
from haibal_py.gui.model import same_value  # noqa: E402
from haibal_py.gui.palette import TYPE_ROLE, Palette  # noqa: E402
from haibal_py.gui.style import BROKEN_COLOR, DARK  # noqa: E402

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


@pytest.fixture
def canvas(qtbot):
    c = Canvas()
    qtbot.addWidget(c.graph.widget)
    return c


def test_every_catalog_class_gets_a_node_with_its_ports_and_params(canvas):
    from haibal_py.graph.structures import StructureNode
    for cls in CATALOG:
        gid = canvas.model.add_node(cls.type_id)
        if issubclass(cls, StructureNode):  # drawn as a frame, its terminals on the border
            assert gid in canvas.frames and gid not in canvas.items
            continue
        node = canvas.item(gid)
        assert isinstance(node, HaibalNode) and node.haibal_class is cls and node.gid == gid
        assert list(node.inputs()) == [p.name for p in cls.inputs]
        assert list(node.outputs()) == [p.name for p in cls.outputs]
        values = canvas.model.graph.nodes[gid].params
        for p in cls.params:
            want = p.coerce(p.default) if p.default is not None or not p.optional else None
            assert same_value(values[p.name], want), (cls.type_id, p.name)
        assert ("instance" in node.view.widgets) == (len(cls.instances) > 1)


def test_fields_match_kinds_and_refuse_bad_values(canvas, qtbot):
    gid = canvas.model.add_node(SCCE)
    widgets = canvas.item(gid).view.widgets
    assert widgets["from_logits"].type_ == "CheckboxNodeWidget"
    assert widgets["axis"].type_ == "LineEditNodeWidget"
    assert widgets["instance"].type_ == "ComboNodeWidget"
    assert widgets["instance"].all_items()[0] == "automatic"
    refused = []
    canvas.refused.connect(refused.append)
    edit = widgets["axis"].get_custom_widget()
    edit.setText("two")
    edit.setModified(True)
    edit.editingFinished.emit()
    assert canvas.model.graph.nodes[gid].params["axis"] == -1 and edit.text() == "-1"
    assert refused and "axis" in refused[0] and "'two'" in refused[0] and f"'{gid}'" not in refused[0]
    edit = widgets["ignore_class"].get_custom_widget()
    edit.setText("255")
    edit.setModified(True)
    edit.editingFinished.emit()
    widgets["from_logits"].get_custom_widget().setChecked(True)
    assert canvas.model.graph.nodes[gid].params == {"from_logits": True, "axis": -1, "ignore_class": 255}


def test_palette_lists_the_catalog_by_category_searches_and_drags(qtbot):
    palette = Palette()
    qtbot.addWidget(palette)
    cats = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert cats == CATALOG.categories()
    palette.search.setText("sparse cross")
    found = palette.visible_types()
    assert found[0] == SCCE or found[0].endswith("SparseCategoricalCrossentropy")
    assert all("sparse" in t.lower() for t in found)
    palette.search.setText("line plot")
    assert palette.visible_types() == ["haibal.viewers.LinePlot"]
    assert "Line Plot" in palette.description.text() and "1-D array" in palette.description.text()
    item = palette.items["haibal.viewers.LinePlot"]
    mime = palette.tree.mimeData([item])
    assert bytes(mime.data(NODE_MIME)).decode() == "haibal.viewers.LinePlot"
    with qtbot.waitSignal(palette.node_requested) as sig:
        palette.tree.itemDoubleClicked.emit(item, 0)
    assert sig.args == [item.data(0, TYPE_ROLE)]


@pytest.mark.parametrize("query, first", [
    ("scce", "SparseCategoricalCrossentropy"), ("mse", "MeanSquaredError"), ("bce", "BinaryCrossentropy"),
    ("cross entropy", "BinaryCrossentropy"), ("graph in", "Graph Input"), ("kld", "KLDivergence"),
])
def test_search_matches_words_and_initials(qtbot, query, first):
    palette = Palette()
    qtbot.addWidget(palette)
    palette.search.setText(query)
    assert CATALOG.get(palette.visible_types()[0]).display_name == first
    assert palette.tree.currentItem().data(0, TYPE_ROLE) == palette.visible_types()[0]  # Enter adds it


def test_a_palette_drop_adds_the_node_where_it_lands(canvas, qtbot):
    palette = Palette()
    qtbot.addWidget(palette)
    mime = palette.tree.mimeData([palette.items[SCCE]])
    canvas.viewer.dropped.emit(mime, QtCore.QPointF(10, 20))
    (gid,) = canvas.model.graph.nodes
    assert canvas.model.graph.nodes[gid].type_id == SCCE and canvas.model.graph.nodes[gid].pos == (10.0, 20.0)


def test_wire_colours_follow_types_with_coercion_dot(canvas):
    m = canvas.model
    src = m.add_node("haibal.io.GraphInput", params={"type": "int[1]", "default": [1, 2]})
    scce = m.add_node(SCCE)
    plot = m.add_node("haibal.viewers.LinePlot")
    m.connect(scce, "result", plot, "value")
    canvas.restyle()
    pipe = canvas.pipe_item(Connection(scce, "result", plot, "value"))
    assert pipe.pen().color().getRgb()[:3] == DARK.kind_color("float")
    assert canvas.item(scce).port_states[("out", "result")]["color"] == DARK.kind_color("float")
    # integers into a float input: accepted with LabVIEW's coercion dot, no warning
    other = m.add_node("haibal.activations.ELU")
    m.connect(src, "value", other, "x")
    canvas.restyle()
    compat = canvas.wire_status[Connection(src, "value", other, "x")]
    assert compat.ok and compat.coerced and not compat.lossy
    state = canvas.item(other).port_states[("in", "x")]
    assert state["coerced"] and not state["lossy"]
    assert "converted implicitly" in canvas.pipe_item(Connection(src, "value", other, "x")).toolTip()


def test_a_broken_wire_is_dashed_red_with_its_reason(canvas):
    m = canvas.model
    src = m.add_node("haibal.io.GraphInput", params={"type": "float[0]", "default": 0.5})
    img = m.add_node("haibal.viewers.ImageView")
    m.connect(src, "value", img, "value")
    canvas.restyle()
    conn = Connection(src, "value", img, "value")
    pipe = canvas.pipe_item(conn)
    assert pipe.pen().style() == QtCore.Qt.DashLine and pipe.pen().color().getRgb()[:3] == BROKEN_COLOR
    assert "rank" in pipe.toolTip() and conn in canvas.broken_wires()


def test_undo_of_a_connection(canvas):
    m = canvas.model
    scce = m.add_node(SCCE)
    plot = m.add_node("haibal.viewers.LinePlot")
    m.connect(scce, "result", plot, "value")
    wire = [Connection(scce, "result", plot, "value")]
    assert canvas.wires() == wire
    m.undo()
    assert canvas.wires() == [] and m.graph.connections == []
    m.redo()
    assert canvas.wires() == wire == m.graph.connections


def test_a_wire_dragged_on_the_canvas_is_a_model_edit(canvas):
    """NodeGraphQt's gesture signal (what a mouse drag emits) becomes one graph edit."""
    m = canvas.model
    a = m.add_node("haibal.io.GraphInput", params={"type": "float[1]", "default": [0.5]})
    b = m.add_node("haibal.activations.ELU")
    c = m.add_node("haibal.activations.ELU")
    out, inp = canvas.item(a).get_output("value").view, canvas.item(b).get_input("x").view
    canvas.viewer.connection_changed.emit([], [(out, inp)])
    assert m.graph.connections == [Connection(a, "value", b, "x")]
    # dragged from b.x to c.x: one step removes and adds
    inp2 = canvas.item(c).get_input("x").view
    canvas.viewer.connection_changed.emit([(out, inp)], [(out, inp2)])
    assert m.graph.connections == [Connection(a, "value", c, "x")] == canvas.wires()
    m.undo()
    assert m.graph.connections == [Connection(a, "value", b, "x")] == canvas.wires()


def test_a_large_array_parameter_survives_copy_and_paste(canvas):
    m = canvas.model
    src = m.add_node("haibal.io.GraphInput")
    big = np.arange(200.0).reshape(10, 20)
    m.set_param(src, "default", big)
    assert canvas.item(src).view.widgets["default"].get_value().startswith("<array float64 (10, 20)")
    (pasted,) = m.paste_text(m.copy_text([src]), at=(400.0, 0.0))
    np.testing.assert_array_equal(m.graph.nodes[pasted].params["default"], big)
    assert m.graph.nodes[pasted].name != m.graph.nodes[src].name  # terminal names stay unique


def test_run_states_colour_the_frame_and_badge(canvas):
    gid = canvas.model.add_node(SCCE)
    for state in ("running", "done", "cached", "stale", "failed", "idle"):
        canvas.set_state(gid, state, "boom" if state == "failed" else "")
        assert canvas.states[gid] == state
        assert canvas.item(gid).view.badge.isVisible() == (state != "idle")
    canvas.set_state(gid, "failed", "label 5 out of range")
    assert "label 5" in canvas.node_tip(gid) and "failed" in canvas.node_tip(gid)


def test_renaming_on_the_title_and_cutting_wires_are_model_edits(canvas):
    m = canvas.model
    a = m.add_node("haibal.io.GraphInput", name="x", params={"type": "float[1]", "default": [0.5]})
    b = m.add_node("haibal.activations.ELU")
    m.connect(a, "value", b, "x")
    canvas.viewer.node_name_changed.emit(canvas.item(b).id, "my elu")  # a title edited on the canvas
    assert m.graph.nodes[b].name == "my elu" and canvas.item(b).name() == "my elu"
    pipe = canvas.pipe_item(Connection(a, "value", b, "x"))
    canvas.viewer.connection_sliced.emit([[pipe.input_port, pipe.output_port]])  # Alt+Shift stroke
    assert m.graph.connections == [] and canvas.wires() == []
    m.undo()
    assert m.graph.connections == [Connection(a, "value", b, "x")] == canvas.wires()
    # a terminal name the graph refuses (two inputs of one name) is drawn back
    c = m.add_node("haibal.io.GraphInput", name="z")
    refused = []
    canvas.refused.connect(refused.append)
    canvas.viewer.node_name_changed.emit(canvas.item(c).id, "x")
    assert m.graph.nodes[c].name == "z" and canvas.item(c).name() == "z" and "'x'" in refused[0]
