"""One NodeGraphQt node class per catalog node class, generated from its declarations.

Nothing about a node is written twice: the ports, their types (as colours and
tooltips), the parameters (as widgets on the node and in the properties panel) and the
polymorphic instance selector all come from the headless ``Node`` subclass.

Parameter widgets: ``bool`` -> checkbox, ``enum`` -> combo box, ``int``/``float``/``str``
-> line edit whose text is checked with ``Param.coerce`` (a bad value is refused and the
old one restored), and ``instance`` -> LabVIEW's polymorphic selector with "automatic".
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import numpy as np

from NodeGraphQt import BaseNode
from NodeGraphQt.base.model import NodeModel
from NodeGraphQt.constants import NodePropWidgetEnum
from Qt import QtCore, QtGui

from haibal_py.errors import HaibalError, ParameterError
from haibal_py.node import AUTOMATIC, Node, Param
from haibal_py.node.registry import CATALOG

from .style import kind_color

INSTANCE_PROP = "instance"
#: False while building nodes for a big graph: parameters then show in the Properties
#: panel only (embedded widgets cost NodeGraphQt about 2 ms each to build)
EMBED_WIDGETS = True


def _title_align_once():
    """NodeGraphQt restyles every embedded widget's frame on each node redraw
    (``setStyleSheet``, about 0.6 ms each); restyle only when the result would change."""
    from NodeGraphQt.widgets.node_widgets import _NodeGroupBox

    if getattr(_NodeGroupBox, "_haibal_patched", False):
        return
    original = _NodeGroupBox.setTitleAlign

    def set_title_align(self, align="center"):
        key = (align, bool(self.title()))
        if getattr(self, "_haibal_title_key", None) != key:
            self._haibal_title_key = key
            original(self, align)

    _NodeGroupBox.setTitleAlign = set_title_align
    _NodeGroupBox._haibal_patched = True


_title_align_once()
_RESERVED = set(NodeModel().properties) | {"id", "type_", INSTANCE_PROP}


def prop_name(param_name: str) -> str:
    """The node property holding a parameter (NodeGraphQt reserves some names)."""
    return f"{param_name}_" if param_name in _RESERVED else param_name


def ngqt_type(type_id: str) -> tuple[str, str]:
    """(identifier, class name) for a catalog type id; NodeGraphQt joins them with a dot."""
    safe = re.sub(r"[^\w.]", "_", type_id)
    ident, _, name = safe.rpartition(".")
    return (ident or "haibal"), (name if name.isidentifier() else f"N_{name}")


#: arrays with more elements are not spelled out in the widget (see ``HaibalNode.arrays``)
ARRAY_TEXT_LIMIT = 64


_SHOWN_ARRAYS: dict[str, np.ndarray] = {}  # summary text -> array, for copy/paste and undo


def array_summary(arr: np.ndarray) -> str:
    text = f"<array {arr.dtype} {tuple(arr.shape)}>"
    known = _SHOWN_ARRAYS.get(text)
    if known is not None and known is not arr and not np.array_equal(known, arr):
        text = f"<array {arr.dtype} {tuple(arr.shape)} #{len(_SHOWN_ARRAYS)}>"
    return text


def param_to_text(param: Param, value, arrays: dict | None = None) -> Any:
    """The property value shown by the widget for a parameter value.

    Small arrays are written as JSON; larger ones as a summary, the array itself kept
    in ``arrays`` (the node's side store) under that summary.
    """
    if param.kind in ("bool",):
        return bool(value)
    if param.kind == "enum":
        return str(value)
    if param.kind == "array" and value is not None:
        arr = np.asarray(value)
        if arr.size <= ARRAY_TEXT_LIMIT or arrays is None:
            return json.dumps(arr.tolist())
        text = array_summary(arr)
        arrays[text] = _SHOWN_ARRAYS[text] = arr
        return text
    return "" if value is None else repr(value) if param.kind == "float" else str(value)


def text_to_param(param: Param, text, owner: str = "", arrays: dict | None = None) -> Any:
    """The parameter value for a widget's text; ``ParameterError`` when it is not one."""
    if param.kind in ("bool", "enum"):
        return param.coerce(text, owner)
    if param.kind == "array" and isinstance(text, str) and text.startswith("<array "):
        if arrays and text in arrays:
            return arrays[text]
        if text in _SHOWN_ARRAYS:  # a pasted node, or an undone edit
            if arrays is not None:
                arrays[text] = _SHOWN_ARRAYS[text]
            return _SHOWN_ARRAYS[text]
    if isinstance(text, str):
        stripped = text.strip()
        if stripped == "" and param.kind != "str":
            return param.coerce(None, owner)
        if param.kind == "int":
            try:
                text = int(stripped)
            except ValueError:
                raise ParameterError(f"{owner}: parameter {param.name!r} must be an int, got {text!r}") from None
        elif param.kind == "float":
            try:
                text = float(stripped)
            except ValueError:
                raise ParameterError(f"{owner}: parameter {param.name!r} must be a float, got {text!r}") from None
    return param.coerce(text, owner)


def _port_painter(state: dict) -> Callable:
    """A port drawn in its type's colour; filled when wired; a coercion dot when converted."""

    def paint(painter: QtGui.QPainter, rect: QtCore.QRectF, info: dict) -> None:
        painter.save()
        color = QtGui.QColor(*state["color"])
        border = color.lighter(150) if info["hovered"] else color.darker(130)
        painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
        painter.setPen(QtGui.QPen(border, 1.8))
        painter.setBrush(color if (info["connected"] or info["hovered"]) else QtGui.QColor(30, 30, 30))
        painter.drawEllipse(rect)
        if state.get("coerced"):
            painter.setPen(QtCore.Qt.NoPen)
            painter.setBrush(QtGui.QColor(230, 30, 30))
            r = rect.width() / 3.2
            painter.drawEllipse(rect.center(), r, r)
        painter.restore()

    return paint


class HaibalNode(BaseNode):
    """Base of every generated node class: ports, parameter widgets, help tooltip."""

    __identifier__ = "haibal"
    NODE_NAME = "HaibalNode"
    haibal_class: type[Node] = Node
    #: called with (node, message) when a parameter widget gets a value it cannot take
    invalid_value_hook: Callable[["HaibalNode", str], None] | None = None

    def __init__(self):
        super().__init__()
        cls = self.haibal_class
        view = self.view
        view.draw_node = lambda: None  # each add_* redraws the node: draw once at the end
        try:
            self._build(cls)
        finally:
            del view.draw_node
        view.draw_node()

    def _build(self, cls: type[Node]) -> None:
        self.port_states: dict[tuple[str, str], dict] = {}
        self.arrays: dict[str, np.ndarray] = {}  # large array parameters, by their summary text
        for port in cls.inputs:
            self._add_port("in", port.name, port.type, f"{port.name} : {cls.port_types_text(port.name)}\n{port.doc}"
                           + ("" if port.required else f"\n(optional, default {port.default!r})"))
        for port in cls.outputs:
            self._add_port("out", port.name, port.type, f"{port.name} : {port.type}\n{port.doc}")
        for param in cls.params:
            self._add_param_widget(param)
        if len(cls.instances) > 1:
            items = [AUTOMATIC, *cls.instance_names()]
            tip = "polymorphic instance: 'automatic' picks it from what is wired"
            if EMBED_WIDGETS:
                self.add_combo_menu(INSTANCE_PROP, "instance", items=items, tooltip=tip)
            else:
                self.create_property(INSTANCE_PROP, AUTOMATIC, items=items,
                                     widget_type=NodePropWidgetEnum.QCOMBO_BOX.value, widget_tooltip=tip)
        self.view.setToolTip(self.hover_text())
        self.set_color(*_title_color(cls.category))

    # -- construction
    def _add_port(self, side: str, name: str, ptype, tooltip: str) -> None:
        state = {"color": kind_color(ptype), "coerced": False, "type": ptype}
        add = self.add_input if side == "in" else self.add_output
        kwargs = {"multi_input": False} if side == "in" else {"multi_output": True}
        port = add(name, display_name=True, painter_func=_port_painter(state), **kwargs)
        port.view.setToolTip(tooltip)
        self.port_states[(side, name)] = state

    def _add_param_widget(self, param: Param) -> None:
        name, tip = prop_name(param.name), f"{param.name} ({param.kind}): {param.doc}"
        if not EMBED_WIDGETS:  # compact node: the parameter lives in the Properties panel only
            items, kind = None, NodePropWidgetEnum.QLINE_EDIT.value
            value = param_to_text(param, param.default, self.arrays)
            if param.kind == "bool":
                kind = NodePropWidgetEnum.QCHECK_BOX.value
            elif param.kind == "enum":
                items, kind = [str(c) for c in param.choices], NodePropWidgetEnum.QCOMBO_BOX.value
            self.create_property(name, value, items=items, widget_type=kind, widget_tooltip=tip)
            return
        if param.kind == "bool":
            self.add_checkbox(name, param.name, text="", state=bool(param.default), tooltip=tip)
        elif param.kind == "enum":
            self.add_combo_menu(name, param.name, items=[str(c) for c in param.choices], tooltip=tip)
            self.set_property(name, str(param.default), push_undo=False)
        else:
            placeholder = "none" if param.optional else param.kind
            self.add_text_input(name, param.name, text=param_to_text(param, param.default, self.arrays),
                                placeholder_text=placeholder, tooltip=tip)

    def release(self) -> None:
        """Disconnect the parameter widgets from this node. NodeGraphQt wires each widget to
        a lambda holding the node; through Qt that cycle is invisible to Python's collector,
        so a cleared canvas would stay in memory for good."""
        for widget in self.view.widgets.values():
            try:
                widget.value_changed.disconnect()
            except (RuntimeError, TypeError):  # nothing connected / already deleted
                pass

    # -- the headless view of this node
    def hover_text(self) -> str:
        cls = self.haibal_class
        first = cls.help.description.split(". ")[0].rstrip(".") + "." if cls.help.description else ""
        return f"{cls.display_name or cls.__name__}\n{first}\n(F1: full help)"

    def param_values(self) -> dict[str, Any]:
        """The parameter values, checked and converted (``ParameterError`` if one is bad)."""
        out = {}
        for param in self.haibal_class.params:
            out[param.name] = text_to_param(param, self.get_property(prop_name(param.name)), self.name(), self.arrays)
        return out

    def instance_name(self) -> str:
        return self.get_property(INSTANCE_PROP) if self.has_property(INSTANCE_PROP) else AUTOMATIC

    def set_param(self, name: str, value, push_undo: bool = True) -> None:
        """Set a parameter from a Python value (as the widget would)."""
        param = self.haibal_class.param(name)
        self.set_property(prop_name(name), param_to_text(param, value, self.arrays), push_undo=push_undo)

    def set_instance(self, name: str, push_undo: bool = True) -> None:
        if name != AUTOMATIC and name not in self.haibal_class.instance_names():
            raise ParameterError(f"{self.name()}: unknown instance {name!r}")
        if self.has_property(INSTANCE_PROP):
            self.set_property(INSTANCE_PROP, name, push_undo=push_undo)

    def _param_for_prop(self, prop: str) -> Param | None:
        for param in self.haibal_class.params:
            if prop_name(param.name) == prop:
                return param
        return None

    def set_property(self, name, value, push_undo=True):
        """Refuse parameter values the headless node would refuse; keep the old one."""
        param = self._param_for_prop(name)
        if param is not None and self.has_property(name):
            try:
                text_to_param(param, value, self.name(), self.arrays)
            except HaibalError as exc:
                old = self.get_property(name)
                widget = self.view.widgets.get(name)
                if widget is not None and widget.get_value() != old:
                    QtCore.QTimer.singleShot(0, lambda: widget.set_value(old))
                hook = type(self).invalid_value_hook or HaibalNode.invalid_value_hook
                if hook is not None:
                    hook(self, str(exc))
                return
        super().set_property(name, value, push_undo=push_undo)


_CATEGORY_COLORS = [(60, 45, 25), (25, 45, 70), (30, 60, 40), (60, 30, 55), (55, 55, 30), (35, 50, 60)]


def _title_color(category: str) -> tuple[int, int, int]:
    return _CATEGORY_COLORS[sum(map(ord, category or "x")) % len(_CATEGORY_COLORS)]


_GENERATED: dict[str, type[HaibalNode]] = {}


def _generate(cls: type[Node], ident: str, name: str) -> type[HaibalNode]:
    """A NodeGraphQt class (type ``ident.name``) for a headless node class."""
    return type(name, (HaibalNode,), {
        "__identifier__": ident,
        "NODE_NAME": cls.display_name or cls.__name__,
        "haibal_class": cls,
        "__module__": __name__,
        "__doc__": cls.help.description,
    })


def node_class_for(cls: type[Node]) -> type[HaibalNode]:
    """The NodeGraphQt class for a catalog class (generated once)."""
    known = _GENERATED.get(cls.type_id)
    if known is not None and known.haibal_class is cls:
        return known
    gen = _generate(cls, *ngqt_type(cls.type_id))
    _GENERATED[cls.type_id] = gen
    return gen


_LOCAL: dict[type[Node], type[HaibalNode]] = {}


def local_class_for(cls: type[Node]) -> type[HaibalNode]:
    """The NodeGraphQt class of a graph's own node class (a collapsed subgraph). Each
    definition gets its own NodeGraphQt type: a redefined subgraph has other ports, and the
    nodes of the old definition (kept by the undo stack) must still be rebuilt as they were."""
    gen = _LOCAL.get(cls)
    if gen is None:
        gen = _generate(cls, "haibal.subgraph", f"Subgraph{len(_LOCAL) + 1}")
        _LOCAL[cls] = gen
    return gen


def register_local(graph, classes) -> dict[str, str]:
    """Register a graph's own node classes on ``graph``; returns type id -> NodeGraphQt type."""
    return _register(graph, classes, local_class_for)


def register_all_local(graph) -> None:
    """Register every subgraph class any window made, so a subgraph node copied in one
    window pastes into another (the class carries its definition)."""
    register_local(graph, list(_LOCAL))


def register_catalog(graph) -> dict[str, str]:
    """Register every catalog class on ``graph``; returns catalog type id -> NodeGraphQt type."""
    return _register(graph, CATALOG, node_class_for)


def _register(graph, classes, generated) -> dict[str, str]:
    """Register ``generated(cls)`` for each class (once per graph); type id -> NodeGraphQt type."""
    known = set(graph.registered_nodes())
    mapping = {}
    for cls in classes:
        gen = generated(cls)
        if gen.type_ not in known:
            graph.register_node(gen)
        mapping[cls.type_id] = gen.type_
    return mapping
