"""One NodeGraphQt node class per node class, generated from its declarations.

Nothing about a node is written twice: the ports, their types (as colours and
tooltips), the parameters (as widgets on the node; every parameter is also in the
Properties panel) and the polymorphic instance selector come from the headless ``Node``
subclass. A canvas node is a *view* of one graph node (``gid``): what a user types in its
widgets goes to ``on_edit`` (the canvas turns it into a model edit), and the canvas sets
the widgets from the graph.

Parameter widgets (ours, not NodeGraphQt's group boxes, so that a node redraw restyles
nothing): ``bool`` -> checkbox, ``enum`` and the instance -> combo box, the others -> line
edit (an array as JSON, a large one as a summary). A node embeds at most
``MAX_EMBEDDED`` of them (a Random Source would be a tower otherwise); graphs of many
nodes open with none (compact nodes: each embedded widget costs NodeGraphQt ~2 ms).
"""

from __future__ import annotations

import itertools
import json
import re
import weakref
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
from NodeGraphQt import BaseNode
from NodeGraphQt.base.model import NodeModel
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.widgets.node_widgets import NodeBaseWidget
from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import ParameterError
from haibal_py.node import AUTOMATIC, Node, Param
from haibal_py.node.registry import CATALOG

from .search import first_sentence
from .style import DARK, STATE_COLORS, STATE_WORDS, SUBGRAPH_COLOR, category_color

INSTANCE_PROP = "instance"
MAX_EMBEDDED = 4
#: arrays with more elements show as a summary in their field
ARRAY_TEXT_LIMIT = 64
_RESERVED = set(NodeModel().properties) | {"id", "type_", INSTANCE_PROP}


def prop_name(param_name: str) -> str:
    """The node property holding a parameter (NodeGraphQt reserves some names)."""
    return f"{param_name}_" if param_name in _RESERVED else param_name


def ngqt_type(type_id: str) -> tuple[str, str]:
    """(identifier, class name) for a catalog type id; NodeGraphQt joins them with a dot."""
    safe = re.sub(r"[^\w.]", "_", type_id)
    ident, _, name = safe.rpartition(".")
    return (ident or "haibal"), (name if name.isidentifier() else f"N_{name}")


def array_summary(arr: np.ndarray) -> str:
    return f"<array {arr.dtype} {tuple(arr.shape)}>"


def param_to_text(param: Param, value) -> Any:
    """What a widget shows for a parameter value (a large array: its summary)."""
    if param.kind == "bool":
        return bool(value)
    if param.kind == "enum":
        return str(value)
    if param.kind == "array" and value is not None:
        arr = np.asarray(value)
        return json.dumps(arr.tolist()) if arr.size <= ARRAY_TEXT_LIMIT else array_summary(arr)
    return "" if value is None else repr(value) if param.kind == "float" else str(value)


def text_to_param(param: Param, text, owner: str = "") -> Any:
    """The parameter value for a widget's text; ``ParameterError`` (naming ``owner``) when it is not one."""
    if param.kind in ("bool", "enum"):
        return param.coerce(text, owner)
    if isinstance(text, str):
        stripped = text.strip()
        if stripped == "" and param.kind != "str":
            return param.coerce(None, owner)
        where = f"{owner}: " if owner else ""
        if param.kind == "int":
            try:
                text = int(stripped)
            except ValueError:
                raise ParameterError(f"{where}parameter {param.name!r} must be an int, got {text!r}") from None
        elif param.kind == "float":
            try:
                text = float(stripped)
            except ValueError:
                raise ParameterError(f"{where}parameter {param.name!r} must be a float, got {text!r}") from None
    return param.coerce(text, owner)


# ---------------------------------------------------------------------------------- widgets
_FIELD_STYLE = """
QWidget#haibalParam { background: transparent; }
QLabel { color: rgb(225, 225, 225); background: transparent; }
QLineEdit, QComboBox { background: rgb(24, 25, 28); color: rgb(235, 235, 235); border: 1px solid rgb(90, 92, 98);
                       border-radius: 3px; padding: 1px 3px; min-height: 18px; }
QLineEdit:focus { border: 1px solid rgb(120, 160, 230); }
QCheckBox { color: rgb(225, 225, 225); background: transparent; }
QCheckBox::indicator { width: 13px; height: 13px; border: 1px solid rgb(150, 152, 160); border-radius: 2px;
                       background: rgb(24, 25, 28); }
QCheckBox::indicator:checked { background: rgb(95, 150, 235); border: 1px solid rgb(170, 200, 250); }
"""
FIELD_WIDTH = 104  # a field on a node: its value's start shows, the rest in the Properties panel
NODE_FONT_PT = 10  # title, port names and fields: legible at the zoom that fits a small graph


class _ParamRow(QtWidgets.QWidget):
    """A label and its field, in one row: what a node shows for one parameter."""

    def __init__(self, label: str, editor: QtWidgets.QWidget):
        super().__init__()
        self.setObjectName("haibalParam")
        self.setAttribute(QtCore.Qt.WA_TranslucentBackground)
        self.setStyleSheet(_FIELD_STYLE)
        self.editor = editor
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(4, 1, 4, 1)
        lay.setSpacing(6)
        self.label = QtWidgets.QLabel(label)
        lay.addWidget(self.label)
        lay.addWidget(editor, 1)

    def setTitleAlign(self, align="center") -> None:
        """NodeGraphQt aligns its widgets' titles on every redraw; a row has nothing to align."""


class ParamWidget(NodeBaseWidget):
    """A parameter field on a node: checkbox, combo box or line edit."""

    def __init__(self, parent, name: str, label: str, kind: str, items=(), tooltip: str = "", placeholder: str = ""):
        super().__init__(parent, name, label)
        self.kind = kind
        if kind == "bool":
            editor = QtWidgets.QCheckBox()
            editor.toggled.connect(self.on_value_changed)
        elif kind == "combo":
            editor = QtWidgets.QComboBox()
            editor.addItems([str(i) for i in items])
            editor.setMaximumWidth(FIELD_WIDTH)
            editor.activated.connect(self.on_value_changed)
        else:
            editor = QtWidgets.QLineEdit()
            editor.setPlaceholderText(placeholder)
            editor.setFixedWidth(FIELD_WIDTH)
            editor.editingFinished.connect(self._on_edited)
        editor.setToolTip(tooltip)
        self.setWidget(_ParamRow(label, editor))
        font = self.font()  # a proxy gives its widget its own font
        font.setPointSizeF(NODE_FONT_PT - 0.5)
        self.setFont(font)
        self.resize(self.widget().sizeHint())  # else the proxy keeps a default 200 px width

    def _on_edited(self) -> None:
        editor = self.get_custom_widget()
        if editor.isModified():
            editor.setModified(False)
            self.on_value_changed()

    @property
    def type_(self) -> str:
        return {"bool": "CheckboxNodeWidget", "combo": "ComboNodeWidget"}.get(self.kind, "LineEditNodeWidget")

    def get_custom_widget(self):
        return self.widget().editor

    def get_value(self):
        editor = self.get_custom_widget()
        if self.kind == "bool":
            return editor.isChecked()
        if self.kind == "combo":
            return editor.currentText()
        return editor.text()

    def set_value(self, value) -> None:
        editor = self.get_custom_widget()
        blocked = editor.blockSignals(True)
        try:
            if self.kind == "bool":
                editor.setChecked(bool(value))
            elif self.kind == "combo":
                editor.setCurrentIndex(max(0, editor.findText(str(value))))
            else:
                editor.setText(str(value))
                editor.setCursorPosition(0)  # the start of a long value shows, not its end
                editor.setModified(False)
        finally:
            editor.blockSignals(blocked)

    def all_items(self) -> list[str]:
        editor = self.get_custom_widget()
        return [editor.itemText(i) for i in range(editor.count())] if self.kind == "combo" else []


# ---------------------------------------------------------------------------------- the node item
class HaibalNodeItem(NodeItem):
    """NodeGraphQt's node item, drawn once per batch of changes, with a run-state badge
    (a dot in the title bar) and, for graph outputs, a line showing the last value."""

    def __init__(self, name="node", parent=None):
        super().__init__(name, parent)
        self._hold = 1  # nothing is drawn before the node is in a scene (``post_init`` draws it)
        # titles and port names stay drawn down to 40 screen pixels of node width (NodeGraphQt:
        # 70), so Zoom to Fit on a training graph still says which node is which
        self._proxy_mode_threshold = 40
        self._dirty = False
        self.badge = QtWidgets.QGraphicsEllipseItem(0, 0, 9, 9, self)
        self.badge.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1))
        self.badge.setVisible(False)
        self.value_line = QtWidgets.QGraphicsSimpleTextItem(self)
        self.value_line.setBrush(QtGui.QColor(*DARK.text))
        font = self.value_line.font()
        font.setPointSizeF(9)
        self.value_line.setFont(font)
        self.value_line.setVisible(False)

    @contextmanager
    def held(self):
        """Draw once after the block, however many changes it makes."""
        self._hold += 1
        try:
            yield
        finally:
            self._hold -= 1
            if not self._hold and self._dirty:
                self._dirty = False
                self.draw_node()

    def post_init(self, viewer=None, pos=None):
        self._hold, self._dirty = 0, False
        super().post_init(viewer, pos)

    def draw_node(self) -> None:
        if self._hold:
            self._dirty = True
            return
        super().draw_node()
        rect = self.boundingRect()
        self.badge.setPos(rect.right() - 15, rect.top() + 6)
        self.value_line.setPos(rect.left() + 2, rect.bottom() + 3)

    # -- layout: ports in two columns under the title, the fields below them (a node as wide as
    #    its title or its port names, not as both side by side with the fields in between)
    def _port_column_height(self) -> float:
        heights = [sum(p.boundingRect().height() + 1 for p in ports if p.isVisible())
                   for ports in (self.inputs, self.outputs)]
        return max(heights)

    def calc_size(self, add_w=0.0, add_h=0.0):
        title = self.text_item.boundingRect()
        ins = [p for p in self.inputs if p.isVisible()]
        outs = [p for p in self.outputs if p.isVisible()]
        port_w = (ins or outs)[0].boundingRect().width() if (ins or outs) else 0.0
        in_w = max((self.get_input_text_item(p).boundingRect().width() for p in ins), default=0.0)
        out_w = max((self.get_output_text_item(p).boundingRect().width() for p in outs), default=0.0)
        fields = [w for w in self.widgets.values() if w.isVisible()]
        field_w = max((w.boundingRect().width() for w in fields), default=0.0)
        field_h = sum(w.boundingRect().height() for w in fields)
        width = max(title.width() + 28.0, in_w + out_w + port_w + 24.0, field_w + 16.0)
        height = max(title.height(), self._port_column_height() + (field_h + 6.0 if fields else 0.0))
        return width + add_w, height + add_h + 4.0

    def align_widgets(self, v_offset=0.0):
        rect = self.boundingRect()
        y = rect.y() + v_offset + self._port_column_height() + 2.0
        for widget in self.widgets.values():
            if widget.isVisible():
                widget.setPos(rect.left() + 8.0, y)
                y += widget.boundingRect().height()

    def set_badge(self, state: str) -> None:
        color = STATE_COLORS.get(state)
        self.badge.setVisible(color is not None)
        if color is not None:
            self.badge.setBrush(QtGui.QColor(*color))

    def set_value_text(self, text: str | None, color=DARK.text) -> None:
        self.value_line.setVisible(bool(text))
        if text:
            self.value_line.setText(text)
            self.value_line.setBrush(QtGui.QColor(*color))


def _port_painter(state: dict) -> Callable:
    """A port drawn in its type's colour; filled when wired; a coercion dot when converted
    (amber with a dark centre when the conversion can fail at run time)."""

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
            painter.setBrush(QtGui.QColor(245, 170, 20) if state.get("lossy") else QtGui.QColor(230, 30, 30))
            r = rect.width() / (2.6 if state.get("lossy") else 3.2)
            painter.drawEllipse(rect.center(), r, r)
            if state.get("lossy"):
                painter.setBrush(QtGui.QColor(20, 20, 20))
                painter.drawEllipse(rect.center(), r / 2.5, r / 2.5)
        painter.restore()

    return paint


class HaibalNode(BaseNode):
    """Base of every generated node class: ports, parameter widgets, help tooltip."""

    __identifier__ = "haibal"
    NODE_NAME = "HaibalNode"
    haibal_class: type[Node] = Node

    def __init__(self):
        super().__init__(qgraphics_item=HaibalNodeItem)
        #: the graph node this canvas node shows (set by the canvas)
        self.gid: str = ""
        #: ``on_edit(node, param name or "instance" or "name", value)``: a user's edit (set by the canvas)
        self.on_edit: Callable[["HaibalNode", str, Any], None] | None = None
        self.port_states: dict[tuple[str, str], dict] = {}
        self.state = "idle"
        cls = self.haibal_class
        with self.view.held():
            for port in cls.inputs:
                tip = f"{port.name} : {cls.port_types_text(port.name)}\n{port.doc}" + (
                    "" if port.required else f"\n(optional, default {port.default!r})")
                self._add_port("in", port.name, port.type, tip)
            for port in cls.outputs:
                self._add_port("out", port.name, port.type, f"{port.name} : {port.type}\n{port.doc}")
            font = self.view.text_item.font()
            font.setPointSizeF(NODE_FONT_PT)
            font.setBold(True)
            self.view.text_item.setFont(font)
            port_font = QtGui.QFont(font)
            port_font.setBold(False)
            port_font.setPointSizeF(NODE_FONT_PT - 0.5)
            for port in self.input_ports() + self.output_ports():
                text = (self.view.get_input_text_item(port.view) if port.type_() == "in"
                        else self.view.get_output_text_item(port.view))
                text.setFont(port_font)
            self.set_color(*(SUBGRAPH_COLOR if getattr(cls, "template", None) is not None
                             else category_color(cls.category)))
            self.model.text_color = (*DARK.node_text, 255)

    # -- construction
    def _add_port(self, side: str, name: str, ptype, tooltip: str) -> None:
        state = {"color": DARK.kind_color(ptype.kind), "coerced": False, "lossy": False, "type": ptype}
        add = self.add_input if side == "in" else self.add_output
        kwargs = {"multi_input": False} if side == "in" else {"multi_output": True}
        port = add(name, display_name=True, painter_func=_port_painter(state), **kwargs)
        port.view.setToolTip(tooltip)
        self.port_states[(side, name)] = state

    def build_widgets(self, values: dict[str, Any], instance: str, embed: bool = True) -> None:
        """The parameter fields on the node (at most ``MAX_EMBEDDED``; none when not ``embed``)."""
        cls = self.haibal_class
        with self.view.held():
            if embed:
                for param in cls.params[:MAX_EMBEDDED]:
                    self._add_param_widget(param, values.get(param.name, param.default))
                if len(cls.instances) > 1:
                    widget = ParamWidget(self.view, INSTANCE_PROP, "instance", "combo", [AUTOMATIC, *cls.instance_names()],
                                         "polymorphic instance: 'automatic' picks it from what is wired")
                    self.add_custom_widget(widget)
                    widget.set_value(instance)
                    self.model.set_property(INSTANCE_PROP, instance)

    def _add_param_widget(self, param: Param, value) -> None:
        tip = f"{param.name} ({param.kind}): {param.doc}"
        if param.kind == "bool":
            widget = ParamWidget(self.view, prop_name(param.name), param.name, "bool", tooltip=tip)
        elif param.kind == "enum":
            widget = ParamWidget(self.view, prop_name(param.name), param.name, "combo", param.choices, tip)
        else:
            widget = ParamWidget(self.view, prop_name(param.name), param.name, "text", tooltip=tip,
                                 placeholder="none" if param.optional else "" if param.kind == "str" else param.kind)
        self.add_custom_widget(widget)
        text = param_to_text(param, value)
        widget.set_value(text)
        self.model.set_property(widget.get_name(), text)

    def release(self) -> None:
        """Disconnect the parameter widgets from this node. NodeGraphQt wires each widget to
        a lambda holding the node; through Qt that cycle is invisible to Python's collector,
        so a cleared canvas would stay in memory for good."""
        self.on_edit = None
        for widget in self.view.widgets.values():
            try:
                widget.value_changed.disconnect()
            except (RuntimeError, TypeError):  # nothing connected / already deleted
                pass

    # -- shown values
    def show_values(self, values: dict[str, Any], instance: str) -> None:
        """Set the fields from the graph node's values (no edit is reported)."""
        widgets = self.view.widgets
        for param in self.haibal_class.params:
            widget = widgets.get(prop_name(param.name))
            if widget is not None:
                text = param_to_text(param, values.get(param.name))
                widget.set_value(text)
                self.model.set_property(widget.get_name(), text)
        widget = widgets.get(INSTANCE_PROP)
        if widget is not None:
            widget.set_value(instance)
            self.model.set_property(INSTANCE_PROP, instance)

    def hover_text(self, state: str | None = None, message: str = "") -> str:
        cls = self.haibal_class
        lines = [f"{self.name()} — {cls.display_name or cls.__name__}", first_sentence(cls.help.description)]
        state = state or self.state
        if state != "idle":
            lines.append(f"state: {STATE_WORDS[state]}")
        if message:
            lines.append(f"FAILED: {message}")
        lines.append("(F1: full help)")
        return "\n".join(line for line in lines if line)

    # -- what a user does in the node's fields
    def param_for_prop(self, prop: str) -> Param | None:
        for param in self.haibal_class.params:
            if prop_name(param.name) == prop:
                return param
        return None

    def set_property(self, name, value, push_undo=True):
        """A field or the title changed by the user: reported to ``on_edit`` (the canvas asks
        the model, then shows what the graph holds); every other property as NodeGraphQt does."""
        if self.on_edit is not None and (name == "name" or name == INSTANCE_PROP or self.param_for_prop(name)):
            if self.get_property(name) != value:
                param = self.param_for_prop(name)
                self.on_edit(self, param.name if param is not None else name, value)
            return
        super().set_property(name, value, push_undo=push_undo)

    def show_name(self, name: str) -> None:
        """Show the graph node's name (no edit is reported)."""
        if self.name() != name:
            super().set_property("name", name, push_undo=False)


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


#: a graph's own classes (collapsed subgraphs) -> their NodeGraphQt class; weak: a
#: definition nobody uses any more takes its class with it
_LOCAL: "weakref.WeakKeyDictionary[type, type[HaibalNode]]" = weakref.WeakKeyDictionary()
_LOCAL_COUNT = itertools.count(1)


def local_class_for(cls: type[Node]) -> type[HaibalNode]:
    """The NodeGraphQt class of a graph's own node class (a collapsed subgraph). Each
    definition gets its own NodeGraphQt type: a redefined subgraph has other ports."""
    gen = _LOCAL.get(cls)
    if gen is None:
        gen = _generate(cls, "haibal.subgraph", f"Subgraph{next(_LOCAL_COUNT)}")
        _LOCAL[cls] = gen
    return gen


def register(ngraph, cls: type[Node], local: bool) -> str:
    """The NodeGraphQt type of ``cls`` on ``ngraph`` (registered there the first time)."""
    gen = local_class_for(cls) if local else node_class_for(cls)
    if gen.type_ not in ngraph.registered_nodes():
        ngraph.register_node(gen)
    return gen.type_


def register_catalog(ngraph) -> dict[str, str]:
    """Register every catalog class on ``ngraph``; returns catalog type id -> NodeGraphQt type."""
    known = set(ngraph.registered_nodes())
    mapping = {}
    for cls in CATALOG:
        gen = node_class_for(cls)
        if gen.type_ not in known:
            ngraph.register_node(gen)
            known.add(gen.type_)
        mapping[cls.type_id] = gen.type_
    return mapping
