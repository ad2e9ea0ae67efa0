"""The canvas: a NodeGraphQt view of the model's graph.

``Canvas`` draws the graph of an ``EditorModel``: one node item per graph node (by id),
one pipe per wire, the backdrops kept in ``graph.editor``. It never changes the graph
itself: what a user does on it (a wire dragged, a node moved or renamed, a field typed
in, something dropped) becomes one model edit, and the canvas then draws what the model
says changed. An edit the model refuses is drawn back as the graph has it, and
``refused(message)`` says why.

Structures (loops, case structures) are frames on the same canvas (``frames``): their
diagrams' nodes are ordinary canvas nodes inside the frame (a Case Structure shows one
case at a time), their terminals small items on the frame (``terminals``). A graph wire
is drawn between *endpoints*: a node's port, or a terminal's side (the structure's port
outside, the terminal node's ``value`` inside). Dropping nodes into a frame (or out of
one) moves them into that diagram; a wire drawn across a frame's border gets a tunnel.

Wires are coloured by type (``Graph.port_types``: the runtime's own static types):
broken ones dashed red with the reason as tooltip, conversions that can fail at run time
(float into int) dotted amber. Nodes show their run state (a coloured frame and badge:
running, ran, from the cache, stale, failed). Clicking a wire selects it (the probe shows
its value); dragging from a port re-wires, as in LabVIEW.
"""

from __future__ import annotations

from typing import Callable, Iterable

from NodeGraphQt import BackdropNode, NodeGraph
from NodeGraphQt.constants import PipeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import PortItem
from NodeGraphQt.widgets.viewer import NodeViewer
from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.graph import Connection
from haibal_py.graph.structures import CONDITIONS, COUNT, ITERATION, SELECTOR, StructureNode
from haibal_py.node.types import ANY, Compat, PortType

from . import layout
from .adapter import INSTANCE_PROP, MAX_EMBEDDED, HaibalNode, register, register_catalog, text_to_param
from .frames import (BORDER, MARGIN, FrameNode, SinkTerminal, SourceTerminal, ThroughTerminal, frame_min_size,
                     layout_terminals, register_frames)
from .messages import by_name
from .model import Change, EditorModel
from .style import (BROKEN_COLOR, DARK, FAILED_NODE_COLOR, LOSSY_COLOR, RUNNING_NODE_COLOR, STATE_COLORS, Theme,
                    wire_width)
from .values import short, summary

DASHED = PipeEnum.DRAW_TYPE_DASHED.value
DOTTED = PipeEnum.DRAW_TYPE_DOTTED.value
SOLID = PipeEnum.DRAW_TYPE_DEFAULT.value
NODE_MIME = "application/x-haibal-node-types"  # palette drags: type ids, one a line
#: graphs with more nodes open with compact nodes (no fields on them: parameters in the Properties panel)
COMPACT_ABOVE = 150


class CanvasViewer(NodeViewer):
    """NodeGraphQt's viewer with the editor's gestures: no Undo/Redo actions of its own (the
    window's are the only ones, so Ctrl+Z is not ambiguous), drops and the context menu
    reported to the canvas, and a click on a wire selecting it rather than picking it up."""

    dropped = QtCore.Signal(object, object)  # QMimeData, scene QPointF
    context_requested = QtCore.Signal(object, object)  # global QPoint, scene QPointF
    wire_clicked = QtCore.Signal(object)  # the PipeItem

    def __init__(self, parent=None):
        super().__init__(parent, undo_stack=None)
        # repaint the changed regions only: during a run the node frames change all over the
        # graph, and repainting their common bounding rect (NodeGraphQt's choice) cost the UI
        # thread about three times as much (measured: 53 -> 18 ms of UI work per 100-node run)
        self.setViewportUpdateMode(QtWidgets.QGraphicsView.SmartViewportUpdate)

    def contextMenuEvent(self, event) -> None:
        self.RMB_state = False
        self.context_requested.emit(event.globalPos(), self.mapToScene(event.pos()))
        event.accept()

    def _acceptable(self, event) -> bool:
        mime = event.mimeData()
        return mime.hasUrls() or mime.hasFormat(NODE_MIME)

    def dragEnterEvent(self, event) -> None:
        event.accept() if self._acceptable(event) else event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.accept() if self._acceptable(event) else event.ignore()

    def dropEvent(self, event) -> None:
        event.setDropAction(QtCore.Qt.CopyAction)
        event.accept()
        self.dropped.emit(event.mimeData(), self.mapToScene(event.position().toPoint()))

    def pipe_at(self, pos: QtCore.QPointF) -> PipeItem | None:
        """The wire under a scene point, unless a node or a port is there (they come first)."""
        for item in self.scene().items(pos):
            if isinstance(item, (PortItem, AbstractNodeItem)) or isinstance(item.parentItem(), AbstractNodeItem):
                return None
        rect = QtCore.QRectF(pos.x() - 4, pos.y() - 4, 8, 8)
        for item in self.scene().items(rect):
            if type(item) is PipeItem and item.input_port is not None and item.output_port is not None:
                return item
        return None

    def viewportEvent(self, event) -> bool:
        """A wire's tooltip is written when asked for: its type and the value it carried last
        (describing every wire's value after each run would cost the UI thread for nothing)."""
        if event.type() == QtCore.QEvent.ToolTip and self.tip_for is not None:
            text = self.tip_for(self.mapToScene(event.pos()))
            if text:
                QtWidgets.QToolTip.showText(event.globalPos(), text, self.viewport())
                return True
        return super().viewportEvent(event)

    #: ``tip_for(scene point) -> text or None`` (set by the canvas): nodes and wires describe
    #: their state and last value when hovered, so a run never spends time writing tooltips
    tip_for = None

    def sceneMousePressEvent(self, event) -> None:
        if event.button() == QtCore.Qt.LeftButton and event.modifiers() == QtCore.Qt.NoModifier:
            pipe = self.pipe_at(event.scenePos())
            if pipe is not None:
                self.scene().clearSelection()
                pipe.setSelected(True)
                self.wire_clicked.emit(pipe)
                return
        super().sceneMousePressEvent(event)


class _NodeGraph(NodeGraph):
    """NodeGraphQt's graph; node names need not be unique (the ``Graph`` decides)."""

    def get_unique_name(self, name):
        return " ".join(str(name).split())


class Canvas(QtCore.QObject):
    """The view of ``model``'s graph. Signals: ``changed(Change)`` after a model change is
    drawn; ``refused(message)``; ``wire_selected(Connection)``; ``node_activated(gid)``
    (double-click); ``selection_changed()``; ``context_requested(global, scene)``."""

    changed = QtCore.Signal(object)
    refused = QtCore.Signal(str)
    wire_selected = QtCore.Signal(object)
    node_activated = QtCore.Signal(str)
    selection_changed = QtCore.Signal()
    context_requested = QtCore.Signal(object, object)

    def __init__(self, model: EditorModel | None = None, parent=None):
        super().__init__(parent)
        self.model = model if model is not None else EditorModel(parent=self)
        self._sink = QtGui.QUndoStack(self)  # NodeGraphQt records its own steps here; the model's are the undo
        self._sink.setUndoLimit(1)
        self.viewer = CanvasViewer()
        self.graph = _NodeGraph(undo_stack=self._sink, viewer=self.viewer)
        self.graph.set_acyclic(False)  # a cycle is drawn; the graph's validation reports it
        self.graph.set_pipe_collision(False)
        self.types = register_catalog(self.graph)
        register_frames(self.graph)
        self.theme: Theme = DARK
        self.items: dict[str, HaibalNode] = {}  # graph node id -> canvas node (a structure's inner nodes too)
        self._gid: dict[str, str] = {}  # NodeGraphQt node id -> graph node id
        self.frames: dict[str, FrameNode] = {}  # structure id -> its frame
        self._frame_id: dict[str, str] = {}  # NodeGraphQt node id -> structure id
        self.terminals: dict[tuple, object] = {}  # (structure id, role, name) -> terminal item
        self._terminal_key: dict[str, tuple] = {}  # NodeGraphQt node id -> terminal key
        self._src_ports: dict[tuple, object] = {}  # graph endpoint (id, port) shown by a terminal, as a source
        self._dst_ports: dict[tuple, object] = {}  # ... as a destination
        self._port_end: dict[object, tuple] = {}  # a terminal's PortItem -> its graph endpoint
        #: the case each Case Structure shows (view only: never saved nor undone)
        self.visible_case: dict[str, int] = {}
        self.backdrops: dict[str, BackdropNode] = {}  # backdrop id -> item
        self._backdrop_id: dict[str, str] = {}
        self.hidden: list[str] = []  # graph nodes of unknown types (kept in the file, not drawn)
        self.wire_status: dict[Connection, Compat] = {}
        self.types_info = None
        self.states: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        self.compact = False
        self.values: dict[str, dict] = {}
        self._sizes: dict[str, tuple[float, float]] = {}
        self._applying = 0
        self._restyle_pending = False
        self._highlighted: set = set()
        #: ``handler(mime, scene_pos) -> bool``: drops, first taker wins (features add theirs)
        self.drop_handlers: list[Callable] = [self._drop_node_types]
        v = self.viewer
        v.connection_changed.connect(self._on_connection_changed)
        v.connection_sliced.connect(self._on_connection_sliced)
        v.moved_nodes.connect(self._on_moved)
        v.node_backdrop_updated.connect(self._on_backdrop_updated)
        v.dropped.connect(self._on_dropped)
        v.context_requested.connect(self.context_requested)
        v.wire_clicked.connect(self._on_wire_clicked)
        v.tip_for = self.tip_at
        self.graph.node_double_clicked.connect(self._on_double_clicked)
        self.graph.scene().selectionChanged.connect(self._on_selection_changed)
        self.model.changed.connect(self.apply)
        self.set_theme(DARK)

    # ------------------------------------------------------------------ lookups
    @property
    def document(self):
        return self.model.graph

    def nodes(self) -> list[HaibalNode]:
        return list(self.items.values())

    def item(self, gid: str) -> HaibalNode:
        return self.items[gid]

    def gid_of(self, node) -> str | None:
        return self._gid.get(node.id)

    def node(self, name: str) -> HaibalNode:
        """The canvas node named ``name`` (the first, if several share it)."""
        for node in self.items.values():
            if node.name() == name:
                return node
        raise KeyError(f"no node named {name!r} on the canvas")

    def wires(self) -> list[Connection]:
        """The wires drawn, as graph connections."""
        out = []
        for node in list(self.items.values()) + list(self.terminals.values()):
            for port in node.inputs().values():
                dst = self._end(port.view)
                for src in port.connected_ports():
                    start = self._end(src.view)
                    if start is not None and dst is not None:
                        out.append(Connection(start[0], start[1], dst[0], dst[1]))
        return out

    def _end(self, port_view) -> tuple[str, str] | None:
        """The graph endpoint (node id, port) a canvas port shows."""
        end = self._port_end.get(port_view)
        if end is not None:
            return end
        gid = self._gid.get(port_view.node.id)
        return (gid, port_view.name) if gid is not None else None

    def _out_port(self, gid: str, port: str):
        """The canvas port showing the graph endpoint ``gid.port`` as a wire's start (None: not drawn)."""
        found = self._src_ports.get((gid, port))
        if found is not None:
            return found
        node = self.items.get(gid)
        return node.get_output(port) if node is not None else None

    def _in_port(self, gid: str, port: str):
        found = self._dst_ports.get((gid, port))
        if found is not None:
            return found
        node = self.items.get(gid)
        return node.get_input(port) if node is not None else None

    def pipe_item(self, conn: Connection):
        out, inp = self._out_port(conn.src, conn.src_port), self._in_port(conn.dst, conn.dst_port)
        if out is None or inp is None:
            return None
        for pipe in inp.view.connected_pipes:
            if pipe.output_port is out.view:
                return pipe
        return None

    def connection_of(self, pipe) -> Connection | None:
        try:
            start, end = self._end(pipe.output_port), self._end(pipe.input_port)
        except AttributeError:
            return None
        if start is None or end is None:
            return None
        return Connection(start[0], start[1], end[0], end[1])

    # ------------------------------------------------------------------ drawing the model
    def apply(self, change: Change) -> None:
        """Draw what the model says changed."""
        graph = self.model.graph
        self._applying += 1
        try:
            if change.reset:
                self._rebuild()
            else:
                for gid in change.removed | change.replaced:
                    self._remove_item(gid)
                    self._remove_frame(gid)
                fresh = change.added | change.replaced
                items, frames = self._drawn()
                for gid in [g for g in self.items if g not in items]:  # in a case no longer shown
                    self._remove_item(gid)
                for sid in [s for s in self.frames if s not in frames]:
                    self._remove_frame(sid)
                made = set()
                for gid in items:
                    if gid not in self.items and gid not in self.hidden:
                        if self._make_item(gid) is not None:
                            made.add(gid)
                redo = {sid for sid in frames if sid not in self.frames or sid in change.structures
                        or sid in change.moved or sid in change.updated or sid in fresh}
                redo |= {self.owner_of(g) for g in fresh | change.removed | change.replaced} & set(frames)
                for sid in sorted(redo, key=self.depth_of):
                    self._draw_frame(sid)
                for gid in change.updated - fresh:
                    node = self.items.get(gid)
                    if node is not None:
                        gn = graph.find(gid)
                        with node.view.held():
                            node.show_name(gn.name)
                            node.show_values(gn.params, gn.instance)
                for gid in change.moved - fresh:
                    node = self.items.get(gid)
                    gn = graph.find(gid)
                    pos = gn.pos if gn is not None else None
                    if node is not None and pos is not None and tuple(node.pos()) != tuple(pos):
                        node.set_property("pos", [float(pos[0]), float(pos[1])], push_undo=False)
                for c in change.wires_removed:
                    self._unwire(c)
                around = fresh | made | redo
                for sid in redo:
                    around |= self.terminal_nodes(sid)
                for c in self.all_connections():
                    if c in change.wires_added or c.src in around or c.dst in around:
                        self._wire(c)
            if change.reset or change.editor:
                self._draw_backdrops()
        finally:
            self._applying -= 1
        self.schedule_restyle()
        self.changed.emit(change)

    def _rebuild(self) -> None:
        for node in self.items.values():
            node.release()
        for node in self.graph.all_nodes():
            self.graph.delete_node(node, push_undo=False)
        self._sink.clear()
        self.items, self._gid, self.backdrops, self._backdrop_id = {}, {}, {}, {}
        self.frames, self._frame_id, self.terminals, self._terminal_key = {}, {}, {}, {}
        self._src_ports, self._dst_ports, self._port_end = {}, {}, {}
        self.visible_case = {}
        self.hidden, self.states, self.messages, self.values = [], {}, {}, {}
        graph = self.model.graph
        items, frames = self._drawn()
        self.compact = len(items) > COMPACT_ABOVE
        for gid in items:
            self._make_item(gid)
        for sid in sorted(frames, key=self.depth_of):
            self._draw_frame(sid)
        for c in self.all_connections():
            self._wire(c)

    # ------------------------------------------------------------------ structures
    def all_connections(self) -> list[Connection]:
        """Every wire of the graph and of its structures' diagrams."""
        return [c for g in self.model.graph.graphs() for c in g.connections]

    def visible(self, sid: str, node=None) -> int:
        """The diagram a structure shows: a loop's body, the case chosen for a Case Structure."""
        node = node if node is not None else self.model.graph.find(sid).node
        k = self.visible_case.get(sid, 0)
        return k if 0 <= k < len(node.diagrams) else 0

    def _drawn(self) -> tuple[list[str], list[str]]:
        """(the nodes drawn as canvas nodes, the structures drawn as frames): the graph's, and
        those of the diagram each structure shows; a structure's terminal nodes are drawn by
        its terminals."""
        items, frames = [], []

        def walk(g) -> None:
            terminal_names = None
            if g.owner is not None:
                holder = g.owner[0].nodes[g.owner[1]].node
                terminal_names = (set(holder.inner_inputs()), set(holder.inner_outputs()))
            for gid, gn in g.nodes.items():
                if isinstance(gn.node, StructureNode):
                    frames.append(gid)
                    walk(gn.node.diagrams[self.visible(gid, gn.node)].graph)
                elif terminal_names and ((gn.is_input and gn.name in terminal_names[0])
                                         or (gn.is_output and gn.name in terminal_names[1])):
                    continue
                else:
                    items.append(gid)

        walk(self.model.graph)
        return items, frames

    def depth_of(self, gid: str) -> int:
        graph = self.model.graph
        if graph.find(gid) is None:
            return 0
        depth, holder = 0, graph.locate(gid)
        while holder.owner is not None:
            depth += 1
            holder = holder.owner[0]
        return depth

    def owner_of(self, gid: str) -> str | None:
        """The structure whose diagram holds ``gid`` (None at the top, or when it is gone)."""
        graph = self.model.graph
        if graph.find(gid) is None:
            return None
        holder = graph.locate(gid)
        return holder.owner[1] if holder.owner is not None else None

    def terminal_nodes(self, sid: str) -> set[str]:
        gn = self.model.graph.find(sid)
        if gn is None or not isinstance(gn.node, StructureNode):
            return set()
        d = gn.node.diagrams[self.visible(sid, gn.node)].graph
        return set(d.inputs.values()) | set(d.outputs.values())

    def frame_rect(self, sid: str) -> tuple[float, float, float, float]:
        """A structure's drawn frame (x, y, w, h), from the graph."""
        holder = self.model.graph.structure(sid)
        x, y = holder.graph.nodes[sid].pos or (0.0, 0.0)
        node = holder.node
        rows = len(node.shift_registers) + max(len(node.tunnels_in), len(node.tunnels_out))
        w, h = node.size or (420.0, 280.0)
        mw, mh = frame_min_size(rows)
        return x, y, max(w, mw), max(h, mh)

    def _remove_frame(self, sid: str) -> None:
        frame = self.frames.pop(sid, None)
        for key in [k for k in self.terminals if k[0] == sid]:
            item = self.terminals.pop(key)
            self._terminal_key.pop(item.id, None)
            for port in list(item.inputs().values()) + list(item.outputs().values()):
                end = self._port_end.pop(port.view, None)
                if end is not None:
                    self._src_ports.pop(end, None)
                    self._dst_ports.pop(end, None)
            self.graph.delete_node(item, push_undo=False)
        if frame is not None:
            self._frame_id.pop(frame.id, None)
            self.states.pop(sid, None)
            self.graph.delete_node(frame, push_undo=False)

    def _draw_frame(self, sid: str) -> None:
        """(Re)draw a structure's frame and terminals from the graph."""
        was_selected = sid in self.frames and self.frames[sid].view.isSelected()
        self._remove_frame(sid)
        st = self.model.graph.structure(sid)
        node, gn = st.node, st.graph.nodes[sid]
        x, y, w, h = self.frame_rect(sid)
        frame = self.graph.create_node(FrameNode.type_, name=gn.name, selected=False, push_undo=False)
        frame.sid = sid
        view = frame.view
        view.kind = {"haibal.structure.ForLoop": "for", "haibal.structure.WhileLoop": "while"}.get(gn.type_id, "case")
        k = self.visible(sid, node)
        if view.kind == "case":
            view.case_text = node.diagrams[k].label
            view.on_case_step = lambda step, s=sid: self.step_case(s, step)
        frame.set_property("width", w + 2 * MARGIN, push_undo=False)
        frame.set_property("height", h + 2 * MARGIN, push_undo=False)
        frame.set_property("pos", [x - MARGIN, y - MARGIN], push_undo=False)
        view.setZValue(-4 + self.depth_of(sid) * 0.01)
        view.setToolTip(f"{gn.name} — {node.display_name}" + (f", case {node.diagrams[k].label}"
                                                              if view.kind == "case" else ""))
        state = self.states.get(sid)
        frame_state = STATE_COLORS.get(state) if state else None
        view.state_color = frame_state
        self.frames[sid] = frame
        self._frame_id[frame.id] = sid
        if was_selected:
            view.setSelected(True)
        d = node.diagrams[k].graph
        keys: list[tuple] = []
        if view.kind == "for":
            keys.append(("count", COUNT))
        if view.kind == "case":
            keys.append(("selector", SELECTOR))
        for t in node.terminals:
            if t.kind == "shift":
                keys.append(("shift_left", t.name))
            else:
                keys.append(("tunnel_in" if t.direction == "in" else "tunnel_out", t.name))
        if node.loop and ITERATION in d.inputs:
            keys.append(("iteration", ITERATION))
        cond = next((c for c in CONDITIONS if c in d.outputs), None) if node.loop else None
        if cond is not None:
            keys.append(("condition", cond))
        places = layout_terminals((x, y, w, h), keys)
        shifts = [k_ for k_ in keys if k_[0] == "shift_left"]
        for key in keys + [("shift_right", name) for _, name in shifts]:
            role, name = key
            if role in ("count", "selector"):
                item = self._terminal(sid, key, SinkTerminal, places[key], dst=(sid, name))
            elif role == "condition":
                item = self._terminal(sid, key, SinkTerminal, places[key], dst=(d.outputs[name], "value"))
                item.view.condition = name
            elif role == "iteration":
                item = self._terminal(sid, key, SourceTerminal, places[key], src=(d.inputs[name], "value"))
            elif role in ("tunnel_in", "shift_left"):
                inner = d.inputs.get(name)
                item = self._terminal(sid, key, ThroughTerminal, places[key], dst=(sid, name),
                                      src=(inner, "value") if inner is not None else None)
            else:  # tunnel_out, shift_right
                inner = d.outputs.get(name)
                item = self._terminal(sid, key, ThroughTerminal, places[key], src=(sid, name),
                                      dst=(inner, "value") if inner is not None else None)
            if role.startswith("tunnel"):
                item.view.indexing = node.terminal(name).indexing
            item.view.setToolTip(self._terminal_tip(node, role, name))

    def _terminal(self, sid: str, key: tuple, cls, pos, src=None, dst=None):
        item = self.graph.create_node(cls.type_, name=key[1], selected=False, push_undo=False)
        item.sid, item.key = sid, key
        item.view.role = key[0]
        item.view.draw_node()
        item.set_property("pos", [float(pos[0]), float(pos[1])], push_undo=False)
        item.view.setZValue(2)
        full = (sid,) + key
        self.terminals[full] = item
        self._terminal_key[item.id] = full
        if dst is not None:
            port = item.get_input("in")
            self._dst_ports[dst] = port
            self._port_end[port.view] = dst
        if src is not None:
            port = item.get_output("out")
            self._src_ports[src] = port
            self._port_end[port.view] = src
        return item

    @staticmethod
    def _terminal_tip(node, role: str, name: str) -> str:
        if role == "count":
            return "N: the number of iterations (unwired: the length of the indexing inputs)"
        if role == "selector":
            return "selector: picks the case"
        if role == "iteration":
            return "i: the iteration, from 0"
        if role == "condition":
            return f"conditional terminal: {'stop' if name == 'stop' else 'continue'} if true"
        t = node.terminal(name)
        if role.startswith("shift"):
            side = "previous iteration's value" if role == "shift_left" else "value for the next iteration"
            return f"shift register {name!r}: the {side} (right click: remove)"
        what = "input" if t.direction == "in" else "output"
        idx = ", indexing" if t.indexing else ""
        return f"{what} tunnel {name!r}{idx} (right click: indexing, remove)"

    def step_case(self, sid: str, step: int) -> None:
        """Show the previous (-1) or next (+1) case of a Case Structure."""
        node = self.model.graph.find(sid).node
        self.show_case(sid, (self.visible(sid, node) + step) % len(node.diagrams))

    def show_case(self, sid: str, index: int) -> None:
        """Show case ``index`` of a Case Structure (its nodes drawn, the others' hidden)."""
        self.visible_case[sid] = index
        self.apply(Change(structures={sid}))

    def frame_under(self, pos) -> str | None:
        """The structure whose frame (border or label) is at a scene point, or None."""
        for item in self.graph.scene().items(QtCore.QPointF(float(pos[0]), float(pos[1]))):
            sid = self._frame_id.get(getattr(item, "id", None))
            if sid is not None:
                return sid
        return None

    def terminal_under(self, pos) -> tuple | None:
        """(structure id, role, name) of the terminal at a scene point, or None."""
        for item in self.graph.scene().items(QtCore.QPointF(float(pos[0]), float(pos[1]))):
            while item is not None and getattr(item, "id", None) not in self._terminal_key:
                item = item.parentItem()
            if item is not None:
                return self._terminal_key[item.id]
        return None

    def frame_at(self, x: float, y: float, exclude: Iterable[str] = ()) -> tuple:
        """The diagram shown at a scene point: (structure id, diagram index) of the innermost
        frame there (not one of ``exclude`` nor inside them), or () for the graph itself."""
        skip = set(exclude)
        best, best_depth = (), -1
        for sid in self.frames:
            if sid in skip or any(self._inside(sid, e) for e in skip):
                continue
            fx, fy, fw, fh = self.frame_rect(sid)
            if fx + BORDER <= x <= fx + fw - BORDER and fy + BORDER <= y <= fy + fh - BORDER:
                depth = self.depth_of(sid)
                if depth > best_depth:
                    best, best_depth = (sid, self.visible(sid)), depth
        return best

    def _inside(self, gid: str, sid: str) -> bool:
        """Whether node ``gid`` lies (at any depth) inside structure ``sid``."""
        owner = self.owner_of(gid)
        while owner is not None:
            if owner == sid:
                return True
            owner = self.owner_of(owner)
        return False

    def _make_item(self, gid: str) -> HaibalNode | None:
        graph = self.model.graph
        gn = graph.find(gid)
        if gn.node is None:
            if gid not in self.hidden:
                self.hidden.append(gid)
            return None
        ngtype = register(self.graph, gn.cls, local=gn.type_id in graph.local_types)
        pos = gn.pos or (0.0, 0.0)
        node = self.graph.create_node(ngtype, name=gn.name, pos=[float(pos[0]), float(pos[1])], selected=False,
                                      push_undo=False)
        node.gid = gid
        node.on_edit = self._on_field_edit
        node.build_widgets(gn.params, gn.instance, embed=not self.compact)
        self.items[gid] = node
        self._gid[node.id] = gid
        rect = node.view.boundingRect()
        self._sizes[gn.type_id] = (rect.width(), rect.height())
        return node

    def _remove_item(self, gid: str) -> None:
        node = self.items.pop(gid, None)
        if node is None:
            if gid in self.hidden:
                self.hidden.remove(gid)
            return
        self._gid.pop(node.id, None)
        self.states.pop(gid, None)
        self.messages.pop(gid, None)
        node.release()
        self.graph.delete_node(node, push_undo=False)

    def _wire(self, c: Connection) -> None:
        out, inp = self._out_port(c.src, c.src_port), self._in_port(c.dst, c.dst_port)
        if out is not None and inp is not None and out not in inp.connected_ports():
            out.connect_to(inp, push_undo=False, emit_signal=False)

    def _unwire(self, c: Connection) -> None:
        out, inp = self._out_port(c.src, c.src_port), self._in_port(c.dst, c.dst_port)
        if out is not None and inp is not None and out in inp.connected_ports():
            out.disconnect_from(inp, push_undo=False, emit_signal=False)

    def resync(self, gids: Iterable[str] = ()) -> None:
        """Draw ``gids`` (names, fields, wires) exactly as the graph has them (after a refused edit)."""
        graph = self.model.graph
        self._applying += 1
        try:
            gids = set(gids)
            for gid in gids:
                node, gn = self.items.get(gid), graph.find(gid)
                if node is None or gn is None:
                    continue
                with node.view.held():
                    node.show_name(gn.name)
                    node.show_values(gn.params, gn.instance)
            drawn = {c for c in self.wires() if c.src in gids or c.dst in gids}
            wanted = {c for c in self.all_connections() if c.src in gids or c.dst in gids}
            for c in drawn - wanted:
                self._unwire(c)
            for c in wanted - drawn:
                self._wire(c)
        finally:
            self._applying -= 1
        self.schedule_restyle()

    # ------------------------------------------------------------------ backdrops (comments)
    def _draw_backdrops(self) -> None:
        wanted = {b["id"]: b for b in self.model.graph.editor.get("backdrops", []) if isinstance(b, dict) and "id" in b}
        for bid in [b for b in self.backdrops if b not in wanted]:
            item = self.backdrops.pop(bid)
            self._backdrop_id.pop(item.id, None)
            self.graph.delete_node(item, push_undo=False)
        for bid, data in wanted.items():
            item = self.backdrops.get(bid)
            if item is None:
                item = self.graph.create_node("nodeGraphQt.nodes.BackdropNode", name=data.get("title", "Comment"),
                                              selected=False, push_undo=False)
                self.backdrops[bid] = item
                self._backdrop_id[item.id] = bid
            x, y = data.get("pos", (0.0, 0.0))
            w, h = data.get("size", (300.0, 200.0))
            item.set_property("name", data.get("title", "Comment"), push_undo=False)
            item.set_property("backdrop_text", data.get("text", ""), push_undo=False)
            item.set_property("width", float(w), push_undo=False)
            item.set_property("height", float(h), push_undo=False)
            item.set_property("pos", [float(x), float(y)], push_undo=False)
            color = data.get("color")
            if color:
                item.set_property("color", (*color[:3], 255), push_undo=False)
            item.view.setZValue(-5)

    def backdrop_data(self) -> list[dict]:
        return [dict(b) for b in self.model.graph.editor.get("backdrops", []) if isinstance(b, dict)]

    def _backdrops_as_drawn(self) -> list[dict]:
        out = []
        for data in self.backdrop_data():
            item = self.backdrops.get(data.get("id"))
            if item is not None:
                w, h = item.view.width, item.view.height
                data = dict(data, pos=[float(item.view.xy_pos[0]), float(item.view.xy_pos[1])], size=[float(w), float(h)])
            out.append(data)
        return out

    def _on_backdrop_updated(self, node_id, what, value) -> None:
        if node_id in self._backdrop_id and what in ("sizer_mouse_release", "sizer_double_clicked"):
            self._ask(lambda: self.model.set_editor_data("backdrops", self._backdrops_as_drawn(), "resize comment"))
        elif node_id in self._frame_id and what == "sizer_mouse_release":
            sid = self._frame_id[node_id]
            x, y = value["pos"]
            size = (value["width"] - 2 * MARGIN, value["height"] - 2 * MARGIN)
            self._ask(lambda: self.model.set_frame(sid, pos=(x + MARGIN, y + MARGIN), size=size))
            self.apply(Change(structures={sid}))

    def add_backdrop(self, title: str = "Comment", text: str = "", gids: Iterable[str] = (), margin: float = 30.0) -> str:
        """A backdrop (a titled comment frame) around ``gids`` (or at the view centre); returns its id."""
        boxes = [self.box(g) for g in gids if g in self.items]
        if boxes:
            x, y, w, h = layout.bounding(boxes)
            x, y, w, h = x - margin, y - margin - 26, w + 2 * margin, h + 2 * margin + 26
        else:
            c = self.view_centre()
            x, y, w, h = c[0] - 150, c[1] - 100, 300.0, 200.0
        taken = {b.get("id") for b in self.backdrop_data()}
        n = 1
        while f"b{n}" in taken:
            n += 1
        data = {"id": f"b{n}", "title": title, "text": text, "pos": [x, y], "size": [w, h], "color": [40, 110, 120]}
        self.model.set_editor_data("backdrops", self.backdrop_data() + [data], "add comment")
        return data["id"]

    # ------------------------------------------------------------------ what a user does
    def _ask(self, edit: Callable[[], object], gids: Iterable[str] = ()):
        """Run a model edit asked for on the canvas; when refused, redraw ``gids`` as the graph has them."""
        try:
            return edit()
        except HaibalError as exc:
            self.resync(gids)
            self.refused.emit(by_name(str(exc), self.model.graph))
            return None

    def _conn(self, a, b) -> Connection | None:
        out, inp = (a, b) if a.port_type == "out" else (b, a)
        start, end = self._end(out), self._end(inp)
        if start is None or end is None:
            return None
        return Connection(start[0], start[1], end[0], end[1])

    def _on_connection_changed(self, disconnected, connected) -> None:
        if self._applying:
            return
        dis = [c for c in (self._conn(a, b) for a, b in disconnected) if c is not None]
        con = [c for c in (self._conn(a, b) for a, b in connected) if c is not None]
        ends = {g for c in dis + con for g in (c.src, c.dst)}
        self._ask(lambda: self.model.rewire(dis, con, "connect" if con else "disconnect"), ends)
        self.resync(ends)  # NodeGraphQt drew the gesture; draw what the graph holds

    def _on_connection_sliced(self, pairs) -> None:
        if self._applying:
            return
        dis = [c for c in (self._conn(a, b) for a, b in pairs) if c is not None]
        self._ask(lambda: self.model.rewire(dis, [], "cut wires"), {g for c in dis for g in (c.src, c.dst)})

    def _on_moved(self, moved: dict) -> None:
        graph = self.model.graph
        positions = {}
        for gid, node in self.items.items():
            gn = graph.find(gid)
            if gn is not None and tuple(node.pos()) != tuple(gn.pos or (None, None)):
                positions[gid] = tuple(node.pos())
        frames = {}
        for sid, frame in self.frames.items():
            x, y = frame.pos()
            if (x + MARGIN, y + MARGIN) != tuple(self.frame_rect(sid)[:2]):
                frames[sid] = (x + MARGIN, y + MARGIN)
        backdrop_moved = any(view.id in self._backdrop_id for view in moved)
        views = {view.id for view in moved}
        homes = {}  # the nodes and frames dropped into another diagram (or out of one)
        if not self.model.locked:
            dropped = [g for g, node in self.items.items() if node.id in views] + \
                      [s for s, f in self.frames.items() if f.id in views]
            for gid in dropped:
                r = (self.items[gid] if gid in self.items else self.frames[gid]).view.sceneBoundingRect()
                where = self.frame_at(r.center().x(), r.top() + min(30.0, r.height() / 2), exclude=[gid])
                if where != self.model.home(gid):
                    homes.setdefault(where, []).append(gid)
        if not (positions or frames or backdrop_moved or homes):
            self.apply(Change(structures=set(self.frames)))  # terminals dragged: put them back
            return

        def edit():
            with self.model.edit("move", allow_locked=True):
                if positions:
                    self.model.move(positions)
                for sid, pos in frames.items():
                    self.model.set_frame(sid, pos=pos)
                if backdrop_moved:
                    self.model.set_editor_data("backdrops", self._backdrops_as_drawn())
                for where, gids in homes.items():
                    self.model.move_to(gids, where)
        self._ask(edit, positions)

    def _on_field_edit(self, node: HaibalNode, what: str, value) -> None:
        gid = node.gid
        if what == "name":
            self._ask(lambda: self.model.rename(gid, value), [gid])
        elif what == INSTANCE_PROP:
            self._ask(lambda: self.model.set_instance(gid, value), [gid])
        else:
            param = node.haibal_class.param(what)
            self._ask(lambda: self.model.set_param(gid, what, text_to_param(param, value, node.name())), [gid])

    def _on_dropped(self, mime, pos) -> None:
        for handler in list(self.drop_handlers):
            if handler(mime, (pos.x(), pos.y())):
                return

    def _drop_node_types(self, mime, pos) -> bool:
        if not mime.hasFormat(NODE_MIME):
            return False
        type_ids = [t for t in bytes(mime.data(NODE_MIME)).decode().split("\n") if t]
        made = []
        for type_id in type_ids:
            gid = self.add_node(type_id, pos, free=True)
            if gid is not None:
                made.append(gid)
        self.select(made)
        return True

    def add_node(self, type_id: str, pos=None, free: bool = True, name: str | None = None) -> str | None:
        """Add a node of ``type_id`` at ``pos`` (the view centre by default), moved to the nearest
        free space unless ``free`` is False; returns its id (None, and ``refused``, if it cannot)."""
        x, y = pos if pos is not None else self.view_centre()
        if free:
            w, h = self.size_hint(type_id)
            x, y = layout.free_spot(x, y, w, h, self.boxes())
        where = self.frame_at(x + 10.0, y + 10.0)  # dropped inside a frame: into that diagram
        gid = self._ask(lambda: self.model.add_node(type_id, name=name, pos=(x, y), where=where))
        if free and gid in self.items:
            self.make_room([gid])
        return gid

    def make_room(self, gids: list[str]) -> None:
        """Move just-added nodes (drawn now: their real size is known) off any node they cover,
        as part of the step that added them."""
        chosen = set(gids)
        boxes = [self.box(g) for g in gids if g in self.items]
        if not boxes:
            return
        x, y, w, h = layout.bounding(boxes)
        others = self.boxes(exclude=chosen)
        nx, ny = layout.free_spot(x, y, w, h, others)
        if (nx, ny) != (x, y):
            graph = self.model.graph
            moved = {g: (graph.find(g).pos[0] + nx - x, graph.find(g).pos[1] + ny - y)
                     for g in gids if graph.find(g) is not None and graph.find(g).pos is not None}
            self.model.move(moved, amend=True)

    def _on_wire_clicked(self, pipe) -> None:
        conn = self.connection_of(pipe)
        if conn is not None:
            self.wire_selected.emit(conn)

    def _on_double_clicked(self, node) -> None:
        nid = getattr(node, "id", None)
        gid = self._gid.get(nid) or self._frame_id.get(nid)
        if gid is not None:
            self.node_activated.emit(gid)

    def _on_selection_changed(self) -> None:
        try:
            self.viewer.isVisible()
        except RuntimeError:  # the scene outlives its view for a moment when a window is destroyed
            return
        self._restyle_selection()
        self.selection_changed.emit()
        pipes = self.viewer.selected_pipes()
        if len(pipes) == 1 and not self.graph.selected_nodes():
            conn = self.connection_of(pipes[0])
            if conn is not None:
                self.wire_selected.emit(conn)

    # ------------------------------------------------------------------ geometry
    def box(self, gid: str) -> tuple[float, float, float, float]:
        if gid in self.frames:
            return self.frame_rect(gid)
        r = self.items[gid].view.sceneBoundingRect()
        return r.x(), r.y(), r.width(), r.height()

    def boxes(self, exclude: Iterable[str] = ()) -> list[tuple[float, float, float, float]]:
        skip = set(exclude)
        return [self.box(g) for g in self.items if g not in skip]

    def size_hint(self, type_id: str) -> tuple[float, float]:
        """The size a node of ``type_id`` is drawn at (measured once one was drawn)."""
        known = self._sizes.get(type_id)
        if known is not None:
            return known
        try:
            cls = self.model.graph.node_class(type_id)
        except HaibalError:
            return 170.0, 80.0
        rows = max(len(cls.inputs), len(cls.outputs))
        fields = 0 if self.compact else min(MAX_EMBEDDED, len(cls.params)) + (len(cls.instances) > 1)
        return 180.0, 36.0 + 24.0 * rows + 28.0 * fields

    def view_centre(self) -> tuple[float, float]:
        c = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        return c.x(), c.y()

    def scene_rect_of(self, gids: Iterable[str] | None = None) -> QtCore.QRectF | None:
        everything = gids is None
        gids = list(self.items) + list(self.frames) if gids is None else \
            [g for g in gids if g in self.items or g in self.frames]
        rect = None
        for gid in gids:
            r = (self.items[gid] if gid in self.items else self.frames[gid]).view.sceneBoundingRect()
            rect = r if rect is None else rect.united(r)
        if everything or len(gids) == len(self.items) + len(self.frames):
            for item in self.backdrops.values():
                r = item.view.sceneBoundingRect()
                rect = r if rect is None else rect.united(r)
        return rect

    def fit(self, gids: Iterable[str] | None = None, max_scale: float = 1.0, margin: float = 40.0) -> float:
        """Zoom so that the nodes ``gids`` (all by default) show, no closer than ``max_scale``;
        returns the scale (screen pixels per scene unit)."""
        rect = self.scene_rect_of(gids)
        if rect is None:  # nothing to show: 1:1 around the origin
            self.viewer.reset_zoom(QtCore.QPointF(0.0, 0.0))
            return self.scale()
        rect = rect.adjusted(-margin, -margin, margin, margin)
        port = self.viewer.viewport().rect()
        scale = min(port.width() / max(rect.width(), 1.0), port.height() / max(rect.height(), 1.0), max_scale)
        w, h = port.width() / scale, port.height() / scale
        c = rect.center()
        self.viewer.set_scene_rect([c.x() - w / 2, c.y() - h / 2, w, h])
        return self.scale()

    def scale(self) -> float:
        return self.viewer.transform().m11()

    def center_on(self, gids: Iterable[str]) -> None:
        rect = self.scene_rect_of(gids)
        if rect is not None:
            self.viewer.centerOn(rect.center())
            r = self.viewer.mapToScene(self.viewer.viewport().rect()).boundingRect()
            self.viewer.set_scene_rect([r.x(), r.y(), r.width(), r.height()])

    # ------------------------------------------------------------------ selection
    def selected_ids(self) -> list[str]:
        """The selected nodes and structures (frames), by graph id."""
        return [self._gid.get(n.id) or self._frame_id[n.id] for n in self.graph.selected_nodes()
                if n.id in self._gid or n.id in self._frame_id]

    def selected_terminals(self) -> list[tuple]:
        """The selected terminals: (structure id, role, name)."""
        return [self._terminal_key[n.id] for n in self.graph.selected_nodes() if n.id in self._terminal_key]

    def selected_backdrops(self) -> list[str]:
        return [self._backdrop_id[n.id] for n in self.graph.selected_nodes() if n.id in self._backdrop_id]

    def select(self, gids: Iterable[str]) -> None:
        wanted = set(gids)
        self.graph.scene().clearSelection()
        for gid, node in list(self.items.items()) + list(self.frames.items()):
            if gid in wanted:
                node.view.setSelected(True)

    def selected_wires(self) -> list[Connection]:
        return [c for c in (self.connection_of(p) for p in self.viewer.selected_pipes()) if c is not None]

    # ------------------------------------------------------------------ types on the wires
    def schedule_restyle(self) -> None:
        if not self._restyle_pending:
            self._restyle_pending = True
            QtCore.QTimer.singleShot(0, self._restyle_if_pending)

    def _restyle_if_pending(self) -> None:
        if self._restyle_pending:
            self.restyle()

    def restyle(self, info=None) -> None:
        """Colour ports and wires by their static types (``Graph.port_types``, computed when not given)."""
        self._restyle_pending = False
        graph = self.model.graph
        if info is None:
            try:
                info = graph.port_types()
            except HaibalError:
                info = None
        self.types_info = info
        self.wire_status = dict(info.wires) if info is not None else {}
        coerced: dict[str, dict[str, bool]] = {}  # node id -> {input port: lossy}
        for c, compat in self.wire_status.items():
            if compat.ok and compat.coerced:
                coerced.setdefault(c.dst, {})[c.dst_port] = compat.lossy
        for node in self.items.values():
            self._color_ports(node, coerced.get(node.gid, {}))
        for item in self.terminals.values():  # in the colour of the value they carry
            end = next((self._port_end[p.view] for p in list(item.outputs().values()) + list(item.inputs().values())
                        if p.view in self._port_end), None)
            ptype = ANY
            if end is not None and info is not None:
                ptype = info.outputs.get(end) or info.wired.get(end[0], {}).get(end[1]) or ANY
            color = self.theme.kind_color(ptype.kind)
            if item.view.fill != color:
                item.view.fill = color
                item.view.update()
        for c in self.wires():
            pipe = self.pipe_item(c)
            if pipe is not None:
                self._style_pipe(pipe, c)
        self._restyle_selection()

    def port_type(self, gid: str, side: str, port: str) -> PortType:
        """The static type shown for a port (its declared type before any check)."""
        info = self.types_info
        node = self.items.get(gid)
        declared = node.port_states[(side, port)]["type"] if node is not None else ANY
        if info is None:
            return declared
        if side == "out":
            return info.outputs.get((gid, port), declared)
        t = info.inputs.get((gid, port), declared)
        if t.kind == "any":  # show what flows in
            for c in self.model.graph.feeding(gid, port):
                fed = info.outputs.get((c.src, c.src_port))
                if fed is not None:
                    return fed
        return t

    def _color_ports(self, node: HaibalNode, coerced: dict[str, bool]) -> None:
        """Ports in their types' colours; ``coerced``: input port -> whether its conversion may fail."""
        gid = node.gid
        for (side, pname), state in node.port_states.items():
            ptype = self.port_type(gid, side, pname)
            color = self.theme.kind_color(ptype.kind if (ptype.kind != "any" or state["type"].kind == "any")
                                          else state["type"].kind)
            want = (color, side == "in" and pname in coerced, coerced.get(pname, False) if side == "in" else False)
            if (state["color"], state["coerced"], state["lossy"]) != want:
                state["color"], state["coerced"], state["lossy"] = want
                port = node.get_input(pname) if side == "in" else node.get_output(pname)
                port.view.update()
            state["shown_type"] = ptype

    def _style_pipe(self, pipe, c: Connection, selected: bool = False) -> None:
        compat = self.wire_status.get(c, Compat(True))
        ptype = self.port_type(c.src, "out", c.src_port)
        if not compat.ok:
            color, width, style = BROKEN_COLOR, 2, DASHED
            tip = f"broken wire: {by_name(compat.reason, self.model.graph)}"
        elif compat.lossy:
            color, width, style = LOSSY_COLOR, max(2, wire_width(ptype)), DOTTED
            tip = f"{ptype} — warning: {by_name(compat.reason, self.model.graph)}"
        else:
            color, width, style = self.theme.kind_color(ptype.kind), wire_width(ptype), SOLID
            tip = f"{ptype}" + (" (coerced: converted implicitly)" if compat.coerced else "")
        pipe.setAcceptHoverEvents(False)  # NodeGraphQt's hover restyling would undo ours
        pipe.color, pipe.style = (*color, 255), style
        if selected:
            color = tuple(min(255, int(v * 1.3) + 40) for v in color)
            width += 1
        pipe.set_pipe_styling(color=(*color, 255), width=width, style=style)
        pipe.setToolTip(tip)
        pipe.update()

    def _restyle_selection(self) -> None:
        """Wires of selected nodes, and selected wires, drawn brighter (in their own colour)."""
        selected_nodes = {self._gid.get(n.id) for n in self.graph.selected_nodes()}
        now = set()
        for c in self.wires():
            pipe = self.pipe_item(c)
            if pipe is not None and (pipe.isSelected() or c.src in selected_nodes or c.dst in selected_nodes):
                now.add(c)
        for c in now | self._highlighted:
            pipe = self.pipe_item(c)
            if pipe is not None:
                self._style_pipe(pipe, c, selected=c in now)
        self._highlighted = now

    def tip_at(self, pos: QtCore.QPointF) -> str | None:
        """The tooltip for a scene point: the node there, or the wire."""
        pipe = self.viewer.pipe_at(pos)
        if pipe is not None:
            return self.wire_tip(pipe)
        for item in self.graph.scene().items(pos):
            while item is not None and not isinstance(item, AbstractNodeItem):
                item = item.parentItem()
            gid = self._gid.get(item.id) if item is not None else None
            if gid is not None:
                if isinstance(self.graph.scene().items(pos)[0], QtWidgets.QGraphicsProxyWidget):
                    return None  # a field: its own tooltip
                return self.node_tip(gid)
        return None

    def node_tip(self, gid: str) -> str:
        node = self.items[gid]
        return node.hover_text(self.states.get(gid, "idle"), self.messages.get(gid, ""))

    def wire_tip(self, pipe) -> str:
        """What hovering a wire shows: its type (or why it is broken) and its last value."""
        conn = self.connection_of(pipe)
        tip = pipe.toolTip()
        if conn is not None:
            value = self.values.get(conn.src, {})
            if conn.src_port in value:
                tip += "\nlast value: " + summary(value[conn.src_port])
        return tip

    def broken_wires(self) -> dict[Connection, str]:
        return {c: compat.reason for c, compat in self.wire_status.items() if not compat.ok}

    def lossy_wires(self) -> dict[Connection, str]:
        return {c: compat.reason for c, compat in self.wire_status.items() if compat.ok and compat.lossy}

    # ------------------------------------------------------------------ run states and values
    def set_state(self, gid: str, state: str, message: str = "") -> None:
        """``state``: idle, running, done, cached, stale or failed (view only: never saved nor undone)."""
        frame = self.frames.get(gid)
        if frame is not None:  # a structure: its frame in the state's colour
            self.states[gid] = state
            color = (FAILED_NODE_COLOR if state == "failed" else RUNNING_NODE_COLOR if state == "running"
                     else STATE_COLORS.get(state))
            frame.view.state_color = color
            if message:
                self.messages[gid] = message
            frame.view.update()
            return
        node = self.items.get(gid)
        if node is None or (self.states.get(gid, "idle") == state and state != "failed"):
            return
        self.states[gid] = state
        node.state = state
        if message or state != "failed":
            self.messages.pop(gid, None)
        if message:
            self.messages[gid] = message
        view = node.view
        base = (*node.model.color[:3], 255)
        frame = STATE_COLORS.get(state)
        view.color = ((*RUNNING_NODE_COLOR, 255) if state == "running" else
                      (*FAILED_NODE_COLOR, 255) if state == "failed" else base)
        view.border_color = (*frame, 255) if frame is not None else tuple(node.model.border_color)
        view.set_badge(state)
        if view.value_line.isVisible():  # a graph output's last value: greyed when it is stale
            view.value_line.setBrush(QtGui.QColor(*(self.theme.mid if state == "stale" else self.theme.text)))
        view.update()

    def state_color(self, gid: str) -> tuple:
        if gid in self.frames:
            return tuple(self.frames[gid].view.state_color or ())
        return tuple(self.items[gid].view.color[:3])

    def reset_states(self, gids: Iterable[str] | None = None) -> None:
        for gid in list(self.states if gids is None else gids):
            self.set_state(gid, "idle")

    def show_values(self, values: dict[str, dict]) -> None:
        """The last run's values: for wire tooltips (written when hovered), and the value line
        under graph outputs."""
        self.values = values
        graph = self.model.graph
        for gid, node in self.items.items():
            gn = graph.nodes.get(gid)
            if gn is not None and gn.is_output:
                out = values.get(gid, {})
                node.view.set_value_text(("= " + short(out.get("value"))) if "value" in out else None,
                                         self.theme.text)

    # ------------------------------------------------------------------ theme
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.graph.set_background_color(*theme.canvas)
        self.graph.set_grid_color(*theme.grid)
        for node in self.items.values():
            node.view.value_line.setBrush(QtGui.QColor(*theme.text))
        self.restyle(self.types_info)
