"""The generated node classes, the palette and typed wiring, driven as a user would."""

import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py import CATALOG  # noqa: E402
from haibal_py.gui.adapter import HaibalNode, node_class_for  # noqa: E402
from haibal_py.gui.bridge import same_value  # noqa: E402
from haibal_py.gui.canvas import Canvas  # noqa: E402
from haibal_py.gui.palette import TYPE_ROLE, Palette  # noqa: E402
from haibal_py.gui.style import BROKEN_COLOR, KIND_COLORS  # noqa: E402

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


@pytest.fixture
def canvas(qtbot):
    c = Canvas()
    qtbot.addWidget(c.graph.widget)
    return c


def test_every_catalog_class_gets_a_node_class_with_its_ports_and_params(canvas):
    for cls in CATALOG:
        node = canvas.add_node(cls.type_id)
        assert isinstance(node, HaibalNode) and node.haibal_class is cls
        assert list(node.inputs()) == [p.name for p in cls.inputs]
        assert list(node.outputs()) == [p.name for p in cls.outputs]
        values = node.param_values()
        assert list(values) == [p.name for p in cls.params]
        for p in cls.params:
            want = p.coerce(p.default) if p.default is not None or not p.optional else None
            assert same_value(values[p.name], want), (cls.type_id, p.name)
        assert node.has_property("instance") == (len(cls.instances) > 1)


def test_param_widgets_match_kinds_and_refuse_bad_values(canvas):
    node = canvas.add_node(SCCE)
    widgets = node.view.widgets
    assert widgets["from_logits"].type_ == "CheckboxNodeWidget"
    assert widgets["axis"].type_ == "LineEditNodeWidget"
    assert widgets["instance"].type_ == "ComboNodeWidget"
    assert widgets["instance"].all_items()[0] == "automatic"
    refused = []
    HaibalNode.invalid_value_hook = lambda n, msg: refused.append(msg)
    try:
        widgets["axis"].get_custom_widget().setText("two")
        widgets["axis"].on_value_changed()
        assert node.param_values()["axis"] == -1
        assert refused and "axis" in refused[0] and "'two'" in refused[0]
        widgets["ignore_class"].get_custom_widget().setText("255")
        widgets["ignore_class"].on_value_changed()
        widgets["from_logits"].get_custom_widget().setChecked(True)
        assert node.param_values() == {"from_logits": True, "axis": -1, "ignore_class": 255}
    finally:
        HaibalNode.invalid_value_hook = None


def test_palette_lists_catalog_by_category_searches_and_drags(qtbot):
    palette = Palette()
    qtbot.addWidget(palette)
    cats = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert cats == CATALOG.categories()
    palette.search.setText("sparse cross")
    found = palette.visible_types()
    assert node_class_for(CATALOG.get(SCCE)).type_ in found
    assert all("sparse" in t.lower() for t in found)
    palette.search.setText("line plot")
    assert palette.visible_types() == [node_class_for(CATALOG.get("haibal.viewers.LinePlot")).type_]
    item = palette.items["haibal.viewers.LinePlot"]
    mime = palette.tree.mimeData([item])
    assert bytes(mime.data("nodegraphqt/nodes")).decode().endswith("node:" + item.data(0, TYPE_ROLE))
    with qtbot.waitSignal(palette.node_requested) as sig:
        palette.tree.itemDoubleClicked.emit(item, 0)
    assert sig.args == [item.data(0, TYPE_ROLE)]


def test_drop_from_palette_creates_node_on_canvas(canvas, qtbot):
    palette = Palette()
    qtbot.addWidget(palette)
    mime = palette.tree.mimeData([palette.items[SCCE]])
    canvas.graph._on_node_data_dropped(mime, QtCore.QPoint(10, 20))
    (node,) = canvas.nodes()
    assert node.haibal_class is CATALOG.get(SCCE) and node.pos() == [10.0, 20.0]


def test_wire_colours_follow_types_with_coercion_dot(canvas):
    scce = canvas.add_node(SCCE)
    plot = canvas.add_node("haibal.viewers.LinePlot")
    image = canvas.add_node("haibal.viewers.ImageView")
    assert canvas.connect(scce, "result", plot, "value").ok
    pipe = canvas.pipe_item((scce.name(), "result", plot.name(), "value"))
    assert pipe.pen().color().getRgb()[:3] == KIND_COLORS["float"]
    assert scce.port_states[("out", "result")]["color"] == KIND_COLORS["float"]
    # a float result into y_true (integer labels): accepted with LabVIEW's coercion dot
    other = canvas.add_node(SCCE)
    compat = canvas.connect(scce, "result", other, "y_true")
    assert compat.ok and compat.coerced
    assert other.port_states[("in", "y_true")]["coerced"]
    assert not other.port_states[("in", "y_pred")]["coerced"]
    assert "coerced" in canvas.pipe_item((scce.name(), "result", other.name(), "y_true")).toolTip()
    assert image is not None


def test_undo_of_a_connection(canvas):
    scce = canvas.add_node(SCCE)
    plot = canvas.add_node("haibal.viewers.LinePlot")
    canvas.connect(scce, "result", plot, "value")
    assert canvas.wires() == [(scce.name(), "result", plot.name(), "value")]
    canvas.graph.undo_stack().undo()
    assert canvas.wires() == []
    canvas.graph.undo_stack().redo()
    assert canvas.wires() == [(scce.name(), "result", plot.name(), "value")]


def test_large_array_parameter_survives_copy_and_paste(canvas, qtbot):
    import numpy as np

    src = canvas.add_node("haibal.io.GraphInput")
    big = np.arange(200.0).reshape(10, 20)
    src.set_param("default", big)
    assert src.get_property("default").startswith("<array float64 (10, 20)")
    np.testing.assert_array_equal(src.param_values()["default"], big)
    canvas.graph.clear_selection()
    src.set_selected(True)
    canvas.graph.copy_nodes()
    (pasted,) = canvas.graph.paste_nodes()
    np.testing.assert_array_equal(pasted.param_values()["default"], big)
