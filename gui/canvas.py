"""The canvas: a NodeGraphQt graph of generated nodes, with typed wires and run states.

``Canvas`` wraps ``NodeGraphQt.NodeGraph`` with what the project adds: nodes created
by catalog type id, wires coloured by type and drawn broken (dashed red, reason in the
tooltip) when their types cannot match, coercion dots, and node colours for
running / done / failed.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from NodeGraphQt import NodeGraph
from NodeGraphQt.constants import PipeEnum
from Qt import QtCore, QtGui

from haibal_py.node.registry import CATALOG
from haibal_py.node.types import Compat, PortType

from .adapter import HaibalNode, node_class_for, register_catalog
from .style import BROKEN_COLOR, FAILED_NODE_COLOR, RUNNING_NODE_COLOR, kind_color, wire_width

DASHED = PipeEnum.DRAW_TYPE_DASHED.value
SOLID = PipeEnum.DRAW_TYPE_DEFAULT.value

#: (source node name, output port, destination node name, input port)
WireKey = tuple[str, str, str, str]


def _styled_reset(pipe) -> Callable[[], None]:
    """``PipeItem.reset`` that keeps the pipe's own width (NodeGraphQt resets it to 2)."""

    def reset() -> None:
        pipe._active = False
        pipe._highlight = False
        pipe.set_pipe_styling(color=pipe.color, width=getattr(pipe, "haibal_width", 2), style=pipe.style)
        pipe._draw_direction_pointer()

    return reset


def _broken_emphasis(pipe) -> Callable[[], None]:
    def emphasise() -> None:
        pipe.set_pipe_styling(color=(*BROKEN_COLOR, 255), width=3, style=DASHED)

    return emphasise


class Canvas(QtCore.QObject):
    """The editable graph. ``changed`` fires after any edit that changes the document."""

    changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graph = NodeGraph()
        self.graph.set_acyclic(True)
        self.graph.set_pipe_collision(False)
        self.graph.get_unique_name = self._unique_name
        self.types = register_catalog(self.graph)  # catalog type id -> NodeGraphQt type
        #: ``checker(canvas) -> (wire checks, port types)``; port types are keyed
        #: (node name, "in"/"out", port). None: the declared port types alone.
        self.checker: Callable[["Canvas"], tuple[dict[WireKey, Compat], dict]] | None = None
        self.wire_status: dict[WireKey, Compat] = {}
        self.node_errors: dict[str, str] = {}
        self.node_states: dict[str, str] = {}  # node name -> idle / running / done / failed
        self._names: dict[str, HaibalNode] = {}
        self._restyle_pending = False
        g = self.graph
        g.port_connected.connect(self._on_wiring_changed)
        g.port_disconnected.connect(self._on_wiring_changed)
        g.node_created.connect(lambda *_: self._schedule_restyle())
        g.nodes_deleted.connect(lambda *_: self._schedule_restyle())
        g.property_changed.connect(self._on_property_changed)

    # -- building, as a user would
    def refresh_catalog(self) -> None:
        """Register node classes added to the catalog since the canvas was made."""
        self.types = register_catalog(self.graph)

    def add_node(self, type_id: str, name: str | None = None, pos=None, push_undo: bool = True) -> HaibalNode:
        """A new node of catalog type ``type_id`` (or a NodeGraphQt type string)."""
        if type_id not in self.types.values():
            if type_id not in self.types:
                CATALOG.get(type_id)  # unknown -> UnknownNodeTypeError naming it
                self.refresh_catalog()
            type_id = self.types[type_id]
        return self.graph.create_node(type_id, name=name, pos=list(pos) if pos else None, push_undo=push_undo)

    def connect(self, src: HaibalNode, out_port: str, dst: HaibalNode, in_port: str, push_undo: bool = True) -> Compat:
        """Wire ``src.out_port`` to ``dst.in_port``; returns how the types match."""
        src.get_output(out_port).connect_to(dst.get_input(in_port), push_undo=push_undo)
        self.restyle_wires()
        return self.wire_status.get((src.name(), out_port, dst.name(), in_port), Compat(True))

    def nodes(self) -> list[HaibalNode]:
        return [n for n in self.graph.all_nodes() if isinstance(n, HaibalNode)]

    def node(self, name: str) -> HaibalNode:
        node = self.graph.get_node_by_name(name)
        if node is None:
            raise KeyError(f"no node named {name!r} on the canvas")
        return node

    def wires(self) -> list[WireKey]:
        out = []
        for node in self.nodes():
            for in_name, port in node.inputs().items():
                for src in port.connected_ports():
                    out.append((src.node().name(), src.name(), node.name(), in_name))
        return out

    # -- type checks shown on the wires
    def _on_wiring_changed(self, *_):
        self._schedule_restyle()
        self.changed.emit()

    def _on_property_changed(self, node, name, _value):
        if name in ("selected", "pos", "xy_pos"):
            return
        if name not in ("color", "border_color", "text_color"):
            self._schedule_restyle()
        self.changed.emit()

    def _schedule_restyle(self) -> None:
        if not self._restyle_pending:
            self._restyle_pending = True
            QtCore.QTimer.singleShot(0, self._restyle_if_pending)

    def _restyle_if_pending(self) -> None:
        if self._restyle_pending:  # not done meanwhile by a direct call
            self.restyle_wires()

    def _unique_name(self, name: str) -> str:
        """NodeGraphQt's ``get_unique_name`` (a node name not yet used), with a set:
        the original scans a list per candidate, quadratic when opening big graphs."""
        name = " ".join(name.split())
        taken = {n.model.name for n in self.graph.model.nodes.values()}
        if name not in taken:
            return name
        base = re.sub(r" \d+$", "", name) if re.search(r"\w+ \d+$", name) else name
        x = 1
        while f"{base} {x}" in taken:
            x += 1
        return f"{base} {x}"

    def declared_checks(self) -> dict[WireKey, Compat]:
        """Wire checks from the declared port types alone (used when no checker is set)."""
        out = {}
        for key in self.wires():
            src = self.node(key[0]).haibal_class.output(key[1]).type
            dst_cls = self.node(key[2]).haibal_class
            accepted = [inst.input_types(None)[key[3]] for inst in dst_cls.instances if key[3] in inst.inputs] \
                or [dst_cls.input(key[3]).type]
            results = [src.check(t) for t in accepted]
            ok = [r for r in results if r.ok]
            out[key] = (min(ok, key=lambda r: r.coerced) if ok else
                        Compat(False, reason=f"{key[2]}.{key[3]}: " + "; ".join(r.reason for r in results)))
        return out

    def restyle_wires(self) -> None:
        """Colour every wire by type; broken ones dashed red with the reason as tooltip."""
        self._restyle_pending = False
        if self.checker is not None:
            checks, port_types = self.checker(self)
        else:
            checks, port_types = self.declared_checks(), {}
        self.wire_status = checks
        for node in self.nodes():
            for (side, pname), state in node.port_states.items():
                ptype = port_types.get((node.name(), side, pname))
                if ptype is not None and (ptype.kind != "any" or state["type"].kind == "any"):
                    color = kind_color(ptype)
                    if color != state["color"]:
                        state["color"] = color
                        (node.get_input(pname) if side == "in" else node.get_output(pname)).view.update()
                    state["shown_type"] = ptype
        coerced_ports = set()
        for node in self.nodes():
            for name, port in node.inputs().items():
                for src in port.connected_ports():
                    key = (src.node().name(), src.name(), node.name(), name)
                    compat = checks.get(key, Compat(True))
                    src_type = port_types.get((src.node().name(), "out", src.name())) or \
                        (src.node().haibal_class.output(src.name()).type if isinstance(src.node(), HaibalNode) else PortType())
                    for pipe in port.view.connected_pipes:
                        if pipe.output_port is src.view:
                            self._style_pipe(pipe, src_type, compat)
                    if compat.ok and compat.coerced:
                        coerced_ports.add((node.name(), name))
        for node in self.nodes():
            for (side, name), state in node.port_states.items():
                coerced = side == "in" and (node.name(), name) in coerced_ports
                if state.get("coerced") != coerced:
                    state["coerced"] = coerced
                    node.get_input(name).view.update()

    @staticmethod
    def _style_pipe(pipe, ptype: PortType, compat: Compat) -> None:
        if compat.ok:
            color, width, style = (*kind_color(ptype), 255), wire_width(ptype), SOLID
            tip = f"{ptype}" + (" (coerced: converted implicitly)" if compat.coerced else "")
        else:
            color, width, style = (*BROKEN_COLOR, 255), 2, DASHED
            tip = f"broken wire: {compat.reason}"
        pipe.color, pipe.style, pipe.haibal_width = color, style, width
        pipe.haibal_broken = not compat.ok
        pipe.reset = _styled_reset(pipe)
        if compat.ok:  # NodeGraphQt's own hover/selection colours
            pipe.__dict__.pop("highlight", None)
            pipe.__dict__.pop("activate", None)
        else:  # a broken wire stays dashed red, also when hovered or selected
            pipe.highlight = pipe.activate = _broken_emphasis(pipe)
        pipe.setToolTip(tip)
        if not (pipe.active() or pipe.highlighted()):
            pipe.reset()
        elif not compat.ok:
            pipe.highlight()
        pipe.update()

    def broken_wires(self) -> dict[WireKey, str]:
        return {k: c.reason for k, c in self.wire_status.items() if not c.ok}

    def pipe_item(self, key: WireKey):
        """The QGraphicsItem drawing a wire (for tests and probes)."""
        src, dst = self.node(key[0]), self.node(key[2])
        out_view = src.get_output(key[1]).view
        for pipe in dst.get_input(key[3]).view.connected_pipes:
            if pipe.output_port is out_view:
                return pipe
        return None

    # -- run states (LabVIEW's highlight execution); view-only, never saved nor undone
    def set_node_state(self, name: str, state: str, message: str = "") -> None:
        """``state``: idle, running, done or failed (red, message in the tooltip)."""
        if state == self.node_states.get(name, "idle") and state != "failed":
            return  # nothing to redraw (each redraw costs the UI thread a repaint)
        node = self._by_name(name)
        if node is None:
            return
        self.node_states[name] = state
        base = (*node.model.color[:3], 255)
        view = node.view
        if state == "running":
            view.color, view.border_color = (*RUNNING_NODE_COLOR, 255), (255, 215, 0, 255)
        elif state == "failed":
            view.color, view.border_color = (*FAILED_NODE_COLOR, 255), (255, 60, 60, 255)
            self.node_errors[name] = message
            view.setToolTip(f"FAILED: {message}\n\n{node.hover_text()}")
        elif state == "done":
            view.color, view.border_color = base, (60, 200, 90, 255)
        else:
            view.color, view.border_color = base, tuple(node.model.border_color)
        if state != "failed" and self.node_errors.pop(name, None) is not None:
            view.setToolTip(node.hover_text())
        view.update()

    def _by_name(self, name: str):
        """The node named ``name`` (NodeGraphQt's lookup scans every node; this is cached)."""
        node = self._names.get(name)
        if node is None or node.name() != name or node.graph is None:
            self._names = {n.name(): n for n in self.nodes()}
            node = self._names.get(name)
        return node

    def node_state_color(self, name: str) -> tuple:
        return tuple(self.node(name).view.color[:3])

    def reset_states(self, names: Iterable[str] | None = None) -> None:
        for name in (names if names is not None else list(self.node_states)):
            self.set_node_state(name, "idle")
