"""The editor's model: ONE ``haibal_py.graph.Graph``, its undo history and its runtime.

Everything the editor changes goes through ``EditorModel``: the canvas, the Properties
panel, paste, snippets and subgraphs turn a user's gesture into one of its edits, and
draw what ``changed`` then says (the canvas is a view of the graph, never the other
way round). Each edit is one graph transaction (all or nothing: a refused edit raises a
``HaibalError`` and leaves the graph as it was) and one undo step.

Undo keeps the graph's parts before and after each step; undoing applies the difference
back as ordinary graph edits, so the graph's change log still tells the ``Runtime``
exactly which nodes to run again. A ``Change`` says what differs: nodes added, removed,
updated (name, parameters, instance, state, class), moved, wires added and removed, and
structures whose terminals, cases or frame changed. Structures' diagrams are part of it:
a snapshot lists every node at every depth (node ids are unique in the whole graph) with
the diagram it is in, so an edit inside a loop is undone as that edit.

While a run reads the graph on its worker thread the model is *locked* (as LabVIEW's
block diagram is while its VI runs): edits raise ``GraphLocked``; moving nodes, which
the runtime never reads, stays allowed.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

import numpy as np
from Qt import QtCore, QtGui

from haibal_py.errors import HaibalError, ParameterError
from haibal_py.files.limits import Limits
from haibal_py.files.policy import FilePolicy
from haibal_py.graph import Connection, Graph
from haibal_py.graph.parts import GraphParts, NodeSpec
from haibal_py.graph.structures import WHILE_TYPE_ID, Layout, StructureNode, connect_across, enclose, move_nodes
from haibal_py.graph.templates import Snippet, insert_snippet
from haibal_py.node import AUTOMATIC
from haibal_py.runtime import Runtime

UNDO_LIMIT = 200  # steps kept (each holds two snapshots of the graph's parts; arrays are shared, not copied)


class GraphLocked(HaibalError):
    """An edit was asked for while a run reads the graph."""


def same_value(a, b) -> bool:
    """Parameter equality that copes with arrays (and is quick for the same object)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return False
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _same_params(a: Mapping, b: Mapping) -> bool:
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)


@dataclass
class Snapshot:
    """A graph's editable content at one moment (what an undo step restores): every node, at
    every depth (a structure's spec without its diagrams), where it is (``home``: () in the
    graph itself, (structure id, diagram index) inside a structure), each structure's
    layout (terminals, cases, frame), every wire."""

    name: str
    description: str
    specs: dict[str, NodeSpec]
    classes: dict[str, type | None]
    connections: list[Connection]
    local_types: dict[str, type]
    editor: dict
    home: dict[str, tuple] = field(default_factory=dict)
    layouts: dict[str, Layout] = field(default_factory=dict)

    @classmethod
    def of(cls, graph: Graph) -> "Snapshot":
        parts = graph.to_parts()
        specs: dict[str, NodeSpec] = {}
        home: dict[str, tuple] = {}
        layouts: dict[str, Layout] = {}
        wires: list[Connection] = []

        def walk(gparts, where: tuple) -> None:
            for spec in gparts.nodes:
                st = spec.structure
                specs[spec.id] = replace(spec, structure=None) if st is not None else spec
                home[spec.id] = where
                if st is not None:
                    layouts[spec.id] = Layout(tuple(st.terminals), tuple((d.values, d.default) for d in st.diagrams),
                                              st.size, tuple(json.dumps(d.graph.editor, sort_keys=True)
                                                             for d in st.diagrams))
                    for k, d in enumerate(st.diagrams):
                        walk(d.graph, (spec.id, k))
            wires.extend(gparts.connections)

        walk(parts, ())
        return cls(parts.name, parts.description, specs, {gid: gn.cls for gid, gn in graph.all_nodes()}, wires,
                   dict(graph.local_types), json.loads(json.dumps(graph.editor)), home, layouts)

    def depth(self, gid: str) -> int:
        n, where = 0, self.home.get(gid, ())
        while where:
            n += 1
            where = self.home.get(where[0], ())
        return n


@dataclass
class Change:
    """What one edit (or its undo) changed."""

    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)  # name, parameters, instance, state
    replaced: set[str] = field(default_factory=set)  # same id, another class (a redefined subgraph)
    moved: set[str] = field(default_factory=set)
    wires_added: set[Connection] = field(default_factory=set)
    wires_removed: set[Connection] = field(default_factory=set)
    structures: set[str] = field(default_factory=set)  # terminals, cases or frame changed
    editor: bool = False  # the editor's own data (backdrops) changed
    reset: bool = False  # a new graph: redraw everything

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.updated or self.replaced or self.moved or self.wires_added
                    or self.wires_removed or self.structures or self.editor or self.reset)

    @property
    def structural(self) -> bool:
        return bool(self.added or self.removed or self.replaced or self.wires_added or self.wires_removed
                    or self.structures or self.reset)

    def touched(self) -> set[str]:
        """Nodes whose values may change: edited ones and the ends of changed wires."""
        ids = self.added | self.updated | self.replaced
        for c in self.wires_added | self.wires_removed:
            ids.add(c.dst)
        return ids


def diff(a: Snapshot, b: Snapshot) -> Change:
    change = Change()
    change.added = set(b.specs) - set(a.specs)
    change.removed = set(a.specs) - set(b.specs)
    gone = set(change.removed)
    for gid in sorted(set(a.specs) & set(b.specs), key=a.depth):  # outer nodes first
        sa, sb = a.specs[gid], b.specs[gid]
        ha, hb = a.home.get(gid, ()), b.home.get(gid, ())
        if (sa.type_id != sb.type_id or a.classes.get(gid) is not b.classes.get(gid) or ha != hb
                or (ha and ha[0] in gone)):  # moved to another diagram, or its structure is made anew
            change.replaced.add(gid)
            gone.add(gid)
            continue
        if (sa.name != sb.name or sa.instance != sb.instance or not _same_params(sa.params, sb.params)
                or not _same_params(sa.state, sb.state)):
            change.updated.add(gid)
        if sa.pos != sb.pos:
            change.moved.add(gid)
        if a.layouts.get(gid) != b.layouts.get(gid):
            change.structures.add(gid)
    wa, wb = set(a.connections), set(b.connections)
    change.wires_added, change.wires_removed = wb - wa, wa - wb
    change.editor = a.editor != b.editor or a.name != b.name or a.description != b.description
    return change


def _holder(graph: Graph, where: tuple) -> Graph:
    """The graph a snapshot's ``home`` names: ``graph`` itself, or a structure's diagram."""
    if not where:
        return graph
    return graph.structure(where[0]).diagram(where[1])


def _apply(graph: Graph, target: Snapshot, change: Change, current: Snapshot | None = None) -> None:
    """Make ``graph`` equal ``target`` through ordinary graph edits (one transaction)."""
    with graph.transaction():
        graph.local_types.clear()
        graph.local_types.update(target.local_types)
        for c in change.wires_removed:
            holder = graph.locate(c.dst) if graph.find(c.dst) is not None else None
            if holder is not None and holder.has_wire(c):
                holder.disconnect(c.src, c.src_port, c.dst, c.dst_port)
        depth = current.depth if current is not None else (lambda gid: 0)
        for gid in sorted(change.removed | change.replaced, key=depth):
            if graph.find(gid) is not None:  # else: gone with its structure
                graph.locate(gid).remove_node(gid)
        for sid in change.structures:
            if graph.find(sid) is not None and sid in target.layouts:
                graph.structure(sid).set_layout(target.layouts[sid])
        fresh = change.added | change.replaced
        for gid in sorted(fresh, key=target.depth):  # a structure before what is inside it
            spec = target.specs[gid]
            holder = _holder(graph, target.home.get(gid, ()))
            holder.add_node(spec.type_id, spec.name, {}, AUTOMATIC, spec.pos, id=gid, state=spec.state)
            if gid in target.layouts:
                graph.structure(gid).set_layout(target.layouts[gid])
            _set_params(holder, gid, spec.params)
            if spec.instance != AUTOMATIC:
                holder.set_instance(gid, spec.instance)
        for gid in change.updated - fresh:
            spec, holder = target.specs[gid], graph.locate(gid)
            gn = holder.nodes[gid]
            if gn.name != spec.name and spec.name is not None:
                holder.rename(gid, spec.name)
            _set_params(holder, gid, {k: v for k, v in spec.params.items() if not same_value(gn.params.get(k), v)})
            if gn.instance != spec.instance:
                holder.set_instance(gid, spec.instance)
            if gn.node is not None and not _same_params(gn.node.get_state(), spec.state):
                holder.set_state(gid, spec.state)
        for gid in change.moved - fresh:
            graph.locate(gid).set_pos(gid, target.specs[gid].pos)
        for c in target.connections:
            if c in change.wires_added or c.src in fresh or c.dst in fresh:
                holder = graph.locate(c.dst)
                if not holder.has_wire(c):
                    holder.connect(c.src, c.src_port, c.dst, c.dst_port, replace=True)
        graph.editor = json.loads(json.dumps(target.editor))
        graph.name, graph.description = target.name, target.description


def _set_params(graph: Graph, gid: str, params: Mapping[str, Any]) -> None:
    for name, value in params.items():
        try:
            graph.set_param(gid, name, value)
        except ParameterError:
            pass  # a refused value read from a file: the node keeps its default (validate shows none)


class _Step(QtGui.QUndoCommand):
    """One edit: the graph before and after it."""

    def __init__(self, model: "EditorModel", label: str, before: Snapshot, after: Snapshot, change: Change,
                 amend: bool = False):
        super().__init__(label)
        self.model, self.before, self.after, self.change = model, before, after, change
        self.done = True  # the edit was applied before the step was pushed
        self.amend = amend  # part of the step before it (a new node moved off its neighbours)

    def id(self) -> int:
        return 1

    def mergeWith(self, other) -> bool:
        if not getattr(other, "amend", False):
            return False
        self.after = other.after
        self.change = diff(self.before, self.after)
        return True

    def redo(self) -> None:
        if self.done:
            self.done = False
            self.model.notify(self.change)
            return
        self.model.restore(self.before, self.after)

    def undo(self) -> None:
        self.model.restore(self.after, self.before)


class EditorModel(QtCore.QObject):
    """The graph being edited, its undo stack, its runtime. ``changed(Change)`` after every edit."""

    changed = QtCore.Signal(object)
    locked_changed = QtCore.Signal(bool)

    def __init__(self, graph: Graph | None = None, parent=None):
        super().__init__(parent)
        self.undo_stack = QtGui.QUndoStack(self)
        self.undo_stack.setUndoLimit(UNDO_LIMIT)
        self.graph = graph if graph is not None else Graph()
        #: what runs may touch: the graph's folder unless widened (Run settings), and the limits
        self.policy = FilePolicy()
        self.limits = Limits()
        self.runtime = Runtime(self.graph, policy=self.policy, limits=self.limits)
        self._depth = 0
        self._locked = False

    # ------------------------------------------------------------------ whole graphs
    def load(self, graph: Graph) -> None:
        """Edit ``graph`` from now on (history cleared, a fresh runtime)."""
        self.graph = graph
        self.runtime = Runtime(graph, policy=self.policy, limits=self.limits)
        self.undo_stack.clear()
        self.notify(Change(reset=True))

    def set_run_settings(self, policy: FilePolicy, limits: Limits) -> None:
        """The folders runs may read and write beyond the graph's own, and the limits; later
        runs (a fresh runtime: everything runs again) and checks use them."""
        self.policy, self.limits = policy, limits
        self.runtime = Runtime(self.graph, policy=policy, limits=limits)
        self.notify(Change(reset=False))

    def node_name(self, gid: str) -> str:
        gn = self.graph.find(gid)
        return gn.name if gn is not None else gid

    def node(self, gid: str):
        """The ``GraphNode`` ``gid``, in the graph or inside one of its structures (GraphError otherwise)."""
        return self.graph.locate(gid).nodes[gid]

    def holder(self, where: tuple = ()) -> Graph:
        """The graph ``where`` names: () the graph itself, (structure id, diagram index) a diagram."""
        return _holder(self.graph, where)

    def home(self, gid: str) -> tuple:
        """Where node ``gid`` is: () in the graph itself, (structure id, diagram index) in a diagram."""
        holder = self.graph.locate(gid)
        if holder.owner is None:
            return ()
        sid = holder.owner[1]
        diagrams = holder.owner[0].nodes[sid].node.diagrams
        return sid, next(k for k, d in enumerate(diagrams) if d.graph is holder)

    # ------------------------------------------------------------------ locking
    @property
    def locked(self) -> bool:
        return self._locked

    def set_locked(self, locked: bool) -> None:
        if locked != self._locked:
            self._locked = locked
            self.undo_stack.setActive(True)
            self.locked_changed.emit(locked)

    def _check_unlocked(self) -> None:
        if self._locked:
            raise GraphLocked("the graph is running: stop the run (Ctrl+.) or wait for it to finish to edit it")

    def undo(self) -> None:
        self._check_unlocked()
        self.undo_stack.undo()

    def redo(self) -> None:
        self._check_unlocked()
        self.undo_stack.redo()

    # ------------------------------------------------------------------ edits
    @contextmanager
    def edit(self, label: str, allow_locked: bool = False, amend: bool = False):
        """``with model.edit("label") as graph:`` edit ``graph``; one undo step, all or nothing.
        ``amend``: the edit joins the previous step (undone with it)."""
        if self._depth:  # inside another edit: that one records
            yield self.graph
            return
        if not allow_locked:
            self._check_unlocked()
        before = Snapshot.of(self.graph)
        self._depth += 1
        try:
            with self.graph.transaction():
                yield self.graph
        finally:
            self._depth -= 1
        after = Snapshot.of(self.graph)
        change = diff(before, after)
        if not change.empty:
            self.undo_stack.push(_Step(self, label, before, after, change, amend))

    def restore(self, current: Snapshot, target: Snapshot) -> None:
        """Make the graph ``target`` again (an undo step applying its difference to ``current``)."""
        change = diff(current, target)
        _apply(self.graph, target, change, current)
        self.notify(change)

    def notify(self, change: Change) -> None:
        self.changed.emit(change)

    def add_node(self, type_id: str, name: str | None = None, params: Mapping[str, Any] | None = None,
                 pos: Iterable[float] | None = None, instance: str = AUTOMATIC, where: tuple = ()) -> str:
        """A new node (in the diagram ``where`` names: () the graph itself); its name made
        unique among the graph's names (``SoftMax 2``) unless given. A structure comes with
        its iteration terminal (loops) and its conditional terminal (While Loops)."""
        with self.edit("add node") as g:
            cls = g.node_class(type_id)
            base = name or cls.display_name or cls.__name__
            if name is None:
                base = self.unique_name(base)
            holder = _holder(g, where)
            gid = holder.add_node(type_id, base, params, instance, pos)
            if isinstance(holder.nodes[gid].node, StructureNode):
                st = holder.structure(gid)
                st.set_size((420.0, 280.0))
                if st.node.loop:
                    st.add_iteration()
                if st.node.type_id == WHILE_TYPE_ID:
                    st.set_condition("stop")
            return gid

    def unique_name(self, base: str, extra_taken: Iterable[str] = ()) -> str:
        taken = {gn.name for _, gn in self.graph.all_nodes()} | set(extra_taken)
        if base not in taken:
            return base
        n = 2
        while f"{base} {n}" in taken:
            n += 1
        return f"{base} {n}"

    def remove(self, gids: Iterable[str], label: str = "delete") -> None:
        gids = [g for g in gids if self.graph.find(g) is not None]
        if gids:
            with self.edit(label) as g:
                for gid in gids:
                    if g.find(gid) is not None:  # not gone with a structure removed before it
                        g.locate(gid).remove_node(gid)

    def rewire(self, disconnect: Iterable[Connection] = (), connect: Iterable[Connection] = (),
               label: str = "wire") -> None:
        """Remove and add wires in one step (a wire dragged from one input to another). A wire
        between nodes of different diagrams crosses structures' borders through tunnels."""
        disconnect, connect = list(disconnect), list(connect)
        if not disconnect and not connect:
            return
        with self.edit(label) as g:
            for c in disconnect:
                if g.find(c.dst) is not None:
                    holder = g.locate(c.dst)
                    if holder.has_wire(c):
                        holder.disconnect(c.src, c.src_port, c.dst, c.dst_port)
            for c in connect:
                connect_across(g, c.src, c.src_port, c.dst, c.dst_port, replace_wire=True)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Connection:
        conn = Connection(src, src_port, dst, dst_port)
        self.rewire(connect=[conn], label="connect")
        return conn

    def disconnect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        self.rewire(disconnect=[Connection(src, src_port, dst, dst_port)], label="disconnect")

    def set_param(self, gid: str, name: str, value) -> None:
        """Set a parameter (``ParameterError`` naming the node by name when refused)."""
        gn = self.node(gid)
        if name in gn.params and same_value(gn.params[name], value):
            return
        try:
            with self.edit(f"set {name}") as g:
                g.locate(gid).set_param(gid, name, value)
        except ParameterError as exc:
            raise ParameterError(_by_name(str(exc), gid, gn.name)) from None

    def set_instance(self, gid: str, instance: str) -> None:
        if self.node(gid).instance != instance:
            with self.edit("set instance") as g:
                g.locate(gid).set_instance(gid, instance)

    def rename(self, gid: str, name: str) -> None:
        name = " ".join(str(name).split())
        if self.node(gid).name != name:
            with self.edit("rename") as g:
                g.locate(gid).rename(gid, name)

    def move(self, positions: Mapping[str, tuple[float, float]], label: str = "move", amend: bool = False) -> None:
        """New positions (the runtime never reads them: allowed while a run reads the graph);
        ``amend``: part of the previous step."""
        moved = {}
        for gid, p in positions.items():
            gn = self.graph.find(gid)
            if gn is not None and gn.pos != (float(p[0]), float(p[1])):
                moved[gid] = (float(p[0]), float(p[1]))
        if moved:
            with self.edit(label, allow_locked=True, amend=amend) as g:
                for gid, pos in moved.items():
                    g.locate(gid).set_pos(gid, pos)

    def set_editor_data(self, key: str, value, label: str = "edit") -> None:
        """The editor's own data saved with the graph (``graph.editor[key]``: backdrops ...)."""
        if self.graph.editor.get(key) != value:
            with self.edit(label, allow_locked=True) as g:
                g.editor = {**g.editor, key: json.loads(json.dumps(value))}

    # ------------------------------------------------------------------ structures
    def structure_edit(self, sid: str, label: str, fn):
        """``fn(Structure)`` as one edit (a terminal, a case, the conditional terminal ...)."""
        with self.edit(label) as g:
            return fn(g.structure(sid))

    def set_frame(self, sid: str, pos=None, size=None, label: str = "resize structure") -> None:
        """A structure's frame: its position and size (layout only: allowed while running)."""
        st = self.graph.structure(sid)
        gn = st.graph.nodes[sid]
        new_pos = gn.pos if pos is None else (float(pos[0]), float(pos[1]))
        new_size = st.node.size if size is None else (float(size[0]), float(size[1]))
        if (new_pos, new_size) != (gn.pos, st.node.size):
            with self.edit(label, allow_locked=True) as g:
                holder = g.structure(sid)
                holder.graph.set_pos(sid, new_pos)
                holder.set_size(new_size)

    def enclose(self, gids: Iterable[str], kind: str, name: str | None = None) -> str:
        """Put the nodes inside a new For Loop ("for"), While Loop ("while") or Case Structure ("case")."""
        labels = {"for": "For Loop", "while": "While Loop", "case": "Case Structure"}
        with self.edit(f"enclose in {labels.get(kind, kind)}") as g:
            return enclose(g, gids, kind, name or self.unique_name(labels.get(kind, "Structure")))

    def move_to(self, gids: Iterable[str], where: tuple, label: str = "move into structure") -> list:
        """Move nodes into the diagram ``where`` names (() the graph itself); the wires they had
        cross the borders through tunnels. Returns the wires that could not follow."""
        with self.edit(label) as g:
            return move_nodes(g, gids, _holder(g, where))

    # ------------------------------------------------------------------ clipboard
    def copy_text(self, gids: Iterable[str]) -> str:
        """The nodes ``gids`` (structures whole) and the wires among them as a graph document
        (JSON text). Nodes inside a selected structure come with it; of the rest, those in
        the diagram of the first one."""
        graph = self.graph
        chosen = [g for g in gids if graph.find(g) is not None and graph.find(g).node is not None]
        inside = {gid for sid in chosen if isinstance(graph.find(sid).node, StructureNode)
                  for d in graph.find(sid).node.diagrams for gid, _ in d.graph.all_nodes()}
        chosen = [g for g in chosen if g not in inside]
        if not chosen:
            return json.dumps(Graph("clipboard").to_dict())
        holder = graph.locate(chosen[0])
        keep = {g for g in chosen if g in holder.nodes}
        sub = Graph("clipboard")
        sub.local_types = dict(graph.local_types)
        sub.add_parts(GraphParts(nodes=[spec for spec in holder.to_parts().nodes if spec.id in keep],
                                 connections=[c for c in holder.connections if c.src in keep and c.dst in keep]))
        return json.dumps(sub.to_dict(inline_limit=1 << 62))

    def paste_text(self, text: str, at: tuple[float, float] | None = None, label: str = "paste",
                   where: tuple = ()) -> list[str]:
        """Insert a copied graph document (its top-left node at ``at``) in the diagram ``where``
        names (() the graph itself); returns the new ids.

        Terminal names the graph already has get a free name (``y_true_2``), other
        nodes a name no node has yet (``SoftMax 2``)."""
        try:
            sub = Graph.from_dict(json.loads(text), source="clipboard")
        except (ValueError, TypeError) as exc:
            raise HaibalError(f"the clipboard holds no graph ({exc})") from None
        with self.edit(label) as g:
            holder = _holder(g, where)
            taken = {gn.name for _, gn in g.all_nodes()}
            mapping = insert_snippet(holder, Snippet("clipboard", sub), at, on_clash="rename")
            for new in mapping.values():
                gn = holder.nodes[new]
                if not gn.is_terminal and gn.name in taken:
                    holder.rename(new, self.unique_name(gn.name, taken))
                taken.add(holder.nodes[new].name)
        return list(mapping.values())


def _by_name(message: str, gid: str, name: str) -> str:
    """A core message with ``node 'id'`` shown as the node's name."""
    return message.replace(f"node {gid!r}: ", "").replace(f"{gid!r}", repr(name))
