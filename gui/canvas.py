"""The canvas: a NodeGraphQt view of the model's graph.

``Canvas`` draws the graph of an ``EditorModel``: one node item per graph node (by id),
one pipe per wire, the backdrops kept in ``graph.editor``. It never changes the graph
itself: what a user does on it (a wire dragged, a node moved or renamed, a field typed
in, something dropped) becomes one model edit, and the canvas then draws what the model
says changed. An edit the model refuses is drawn back as the graph has it, and
``refused(message)`` says why.

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
from haibal_py.node.types import ANY, Compat, PortType

from . import layout
from .adapter import INSTANCE_PROP, MAX_EMBEDDED, HaibalNode, register, register_catalog, text_to_param
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
        self.theme: Theme = DARK
        self.items: dict[str, HaibalNode] = {}  # graph node id -> canvas node
        self._gid: dict[str, str] = {}  # NodeGraphQt node id -> graph node id
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
        for gid, node in self.items.items():
            for in_name, port in node.inputs().items():
                for src in port.connected_ports():
                    out.append(Connection(self._gid[src.node().id], src.name(), gid, in_name))
        return out

    def pipe_item(self, conn: Connection):
        src, dst = self.items.get(conn.src), self.items.get(conn.dst)
        if src is None or dst is None or src.get_output(conn.src_port) is None or dst.get_input(conn.dst_port) is None:
            return None
        out_view = src.get_output(conn.src_port).view
        for pipe in dst.get_input(conn.dst_port).view.connected_pipes:
            if pipe.output_port is out_view:
                return pipe
        return None

    def connection_of(self, pipe) -> Connection | None:
        try:
            return Connection(self._gid[pipe.output_port.node.id], pipe.output_port.name,
                              self._gid[pipe.input_port.node.id], pipe.input_port.name)
        except (KeyError, AttributeError):
            return None

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
                fresh = change.added | change.replaced
                for gid in graph.nodes:
                    if gid in fresh:
                        self._make_item(gid)
                for gid in change.updated - fresh:
                    node = self.items.get(gid)
                    if node is not None:
                        gn = graph.nodes[gid]
                        with node.view.held():
                            node.show_name(gn.name)
                            node.show_values(gn.params, gn.instance)
                for gid in change.moved - fresh:
                    node = self.items.get(gid)
                    pos = graph.nodes[gid].pos if gid in graph.nodes else None
                    if node is not None and pos is not None and tuple(node.pos()) != tuple(pos):
                        node.set_property("pos", [float(pos[0]), float(pos[1])], push_undo=False)
                for c in change.wires_removed:
                    self._unwire(c)
                wanted = [c for c in graph.connections
                          if c in change.wires_added or c.src in fresh or c.dst in fresh]
                for c in wanted:
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
        self.hidden, self.states, self.messages, self.values = [], {}, {}, {}
        graph = self.model.graph
        self.compact = len(graph.nodes) > COMPACT_ABOVE
        for gid in graph.nodes:
            self._make_item(gid)
        for c in graph.connections:
            self._wire(c)

    def _make_item(self, gid: str) -> HaibalNode | None:
        graph = self.model.graph
        gn = graph.nodes[gid]
        if gn.node is None:
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
        src, dst = self.items.get(c.src), self.items.get(c.dst)
        if src is None or dst is None:
            return
        out, inp = src.get_output(c.src_port), dst.get_input(c.dst_port)
        if out is not None and inp is not None and out not in inp.connected_ports():
            out.connect_to(inp, push_undo=False, emit_signal=False)

    def _unwire(self, c: Connection) -> None:
        src, dst = self.items.get(c.src), self.items.get(c.dst)
        if src is None or dst is None:
            return
        out, inp = src.get_output(c.src_port), dst.get_input(c.dst_port)
        if out is not None and inp is not None and out in inp.connected_ports():
            out.disconnect_from(inp, push_undo=False, emit_signal=False)

    def resync(self, gids: Iterable[str] = ()) -> None:
        """Draw ``gids`` (names, fields, wires) exactly as the graph has them (after a refused edit)."""
        graph = self.model.graph
        self._applying += 1
        try:
            gids = set(gids)
            for gid in gids:
                node, gn = self.items.get(gid), graph.nodes.get(gid)
                if node is None or gn is None:
                    continue
                with node.view.held():
                    node.show_name(gn.name)
                    node.show_values(gn.params, gn.instance)
            drawn = {c for c in self.wires() if c.src in gids or c.dst in gids}
            wanted = {c for c in graph.connections if c.src in gids or c.dst in gids}
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
        src, dst = self._gid.get(out.node.id), self._gid.get(inp.node.id)
        if src is None or dst is None:
            return None
        return Connection(src, out.name, dst, inp.name)

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
        positions = {gid: tuple(node.pos()) for gid, node in self.items.items()
                     if gid in graph.nodes and tuple(node.pos()) != tuple(graph.nodes[gid].pos or (None, None))}
        backdrop_moved = any(view.id in self._backdrop_id for view in moved)
        with self.model.edit("move", allow_locked=True):
            if positions:
                self.model.move(positions)
            if backdrop_moved:
                self.model.set_editor_data("backdrops", self._backdrops_as_drawn())

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
        gid = self._ask(lambda: self.model.add_node(type_id, name=name, pos=(x, y)))
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
            moved = {g: (graph.nodes[g].pos[0] + nx - x, graph.nodes[g].pos[1] + ny - y)
                     for g in gids if g in graph.nodes and graph.nodes[g].pos is not None}
            self.model.move(moved, amend=True)

    def _on_wire_clicked(self, pipe) -> None:
        conn = self.connection_of(pipe)
        if conn is not None:
            self.wire_selected.emit(conn)

    def _on_double_clicked(self, node) -> None:
        gid = self._gid.get(getattr(node, "id", None))
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
        gids = list(self.items) if gids is None else [g for g in gids if g in self.items]
        rect = None
        for gid in gids:
            r = self.items[gid].view.sceneBoundingRect()
            rect = r if rect is None else rect.united(r)
        if gids is not None and len(gids) == len(self.items):
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
        return [self._gid[n.id] for n in self.graph.selected_nodes() if n.id in self._gid]

    def selected_backdrops(self) -> list[str]:
        return [self._backdrop_id[n.id] for n in self.graph.selected_nodes() if n.id in self._backdrop_id]

    def select(self, gids: Iterable[str]) -> None:
        wanted = set(gids)
        self.graph.scene().clearSelection()
        for gid, node in self.items.items():
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
