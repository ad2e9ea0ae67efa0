"""The editor's model: ONE ``haibal_py.graph.Graph``, its undo history and its runtime.

Everything the editor changes goes through ``EditorModel``: the canvas, the Properties
panel, paste, snippets and subgraphs turn a user's gesture into one of its edits, and
draw what ``changed`` then says (the canvas is a view of the graph, never the other
way round). Each edit is one graph transaction (all or nothing: a refused edit raises a
``HaibalError`` and leaves the graph as it was) and one undo step.

Undo keeps the graph's parts before and after each step; undoing applies the difference
back as ordinary graph edits, so the graph's change log still tells the ``Runtime``
exactly which nodes to run again. A ``Change`` says what differs: nodes added, removed,
updated (name, parameters, instance, state, class), moved, wires added and removed.

While a run reads the graph on its worker thread the model is *locked* (as LabVIEW's
block diagram is while its VI runs): edits raise ``GraphLocked``; moving nodes, which
the runtime never reads, stays allowed.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
from Qt import QtCore, QtGui

from haibal_py.errors import HaibalError, ParameterError
from haibal_py.graph import Connection, Graph
from haibal_py.graph.parts import NodeSpec
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
    """A graph's editable content at one moment (what an undo step restores)."""

    name: str
    description: str
    specs: dict[str, NodeSpec]
    classes: dict[str, type | None]
    connections: list[Connection]
    local_types: dict[str, type]
    editor: dict

    @classmethod
    def of(cls, graph: Graph) -> "Snapshot":
        parts = graph.to_parts()
        return cls(parts.name, parts.description, {s.id: s for s in parts.nodes},
                   {gid: gn.cls for gid, gn in graph.nodes.items()}, list(parts.connections),
                   dict(graph.local_types), json.loads(json.dumps(graph.editor)))


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
    editor: bool = False  # the editor's own data (backdrops) changed
    reset: bool = False  # a new graph: redraw everything

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.updated or self.replaced or self.moved or self.wires_added
                    or self.wires_removed or self.editor or self.reset)

    @property
    def structural(self) -> bool:
        return bool(self.added or self.removed or self.replaced or self.wires_added or self.wires_removed or self.reset)

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
    for gid in set(a.specs) & set(b.specs):
        sa, sb = a.specs[gid], b.specs[gid]
        if sa.type_id != sb.type_id or a.classes.get(gid) is not b.classes.get(gid):
            change.replaced.add(gid)
        elif (sa.name != sb.name or sa.instance != sb.instance or not _same_params(sa.params, sb.params)
              or not _same_params(sa.state, sb.state)):
            change.updated.add(gid)
        if sa.pos != sb.pos:
            change.moved.add(gid)
    wa, wb = set(a.connections), set(b.connections)
    change.wires_added, change.wires_removed = wb - wa, wa - wb
    change.editor = a.editor != b.editor or a.name != b.name or a.description != b.description
    return change


def _apply(graph: Graph, target: Snapshot, change: Change) -> None:
    """Make ``graph`` equal ``target`` through ordinary graph edits (one transaction)."""
    with graph.transaction():
        graph.local_types.clear()
        graph.local_types.update(target.local_types)
        have = set(graph.connections)
        for c in change.wires_removed:
            if c in have and c.src in graph.nodes and c.dst in graph.nodes:
                graph.disconnect(c.src, c.src_port, c.dst, c.dst_port)
        for gid in change.removed | change.replaced:
            if gid in graph.nodes:
                graph.remove_node(gid)
        fresh = change.added | change.replaced
        for gid, spec in target.specs.items():
            if gid in fresh:
                graph.add_node(spec.type_id, spec.name, {}, AUTOMATIC, spec.pos, id=gid, state=spec.state)
                _set_params(graph, gid, spec.params)
                if spec.instance != AUTOMATIC:
                    graph.set_instance(gid, spec.instance)
            elif gid in change.updated:
                gn = graph.nodes[gid]
                if gn.name != spec.name and spec.name is not None:
                    graph.rename(gid, spec.name)
                _set_params(graph, gid, {k: v for k, v in spec.params.items()
                                         if not same_value(gn.params.get(k), v)})
                if gn.instance != spec.instance:
                    graph.set_instance(gid, spec.instance)
                if gn.node is not None and not _same_params(gn.node.get_state(), spec.state):
                    graph.set_state(gid, spec.state)
            if gid in change.moved:
                graph.set_pos(gid, spec.pos)
        have = set(graph.connections)
        for c in target.connections:
            if c not in have and (c in change.wires_added or c.src in fresh or c.dst in fresh):
                graph.connect(c.src, c.src_port, c.dst, c.dst_port, replace=True)
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
        self.runtime = Runtime(self.graph)
        self._depth = 0
        self._locked = False

    # ------------------------------------------------------------------ whole graphs
    def load(self, graph: Graph) -> None:
        """Edit ``graph`` from now on (history cleared, a fresh runtime)."""
        self.graph = graph
        self.runtime = Runtime(graph)
        self.undo_stack.clear()
        self.notify(Change(reset=True))

    def node_name(self, gid: str) -> str:
        gn = self.graph.nodes.get(gid)
        return gn.name if gn is not None else gid

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
        _apply(self.graph, target, change)
        self.notify(change)

    def notify(self, change: Change) -> None:
        self.changed.emit(change)

    def add_node(self, type_id: str, name: str | None = None, params: Mapping[str, Any] | None = None,
                 pos: Iterable[float] | None = None, instance: str = AUTOMATIC) -> str:
        """A new node; its name made unique among the graph's names (``SoftMax 2``) unless given."""
        with self.edit("add node") as g:
            cls = g.node_class(type_id)
            base = name or cls.display_name or cls.__name__
            if name is None:
                base = self.unique_name(base)
            return g.add_node(type_id, base, params, instance, pos)

    def unique_name(self, base: str, extra_taken: Iterable[str] = ()) -> str:
        taken = {gn.name for gn in self.graph.nodes.values()} | set(extra_taken)
        if base not in taken:
            return base
        n = 2
        while f"{base} {n}" in taken:
            n += 1
        return f"{base} {n}"

    def remove(self, gids: Iterable[str], label: str = "delete") -> None:
        gids = [g for g in gids if g in self.graph.nodes]
        if gids:
            with self.edit(label) as g:
                for gid in gids:
                    g.remove_node(gid)

    def rewire(self, disconnect: Iterable[Connection] = (), connect: Iterable[Connection] = (),
               label: str = "wire") -> None:
        """Remove and add wires in one step (a wire dragged from one input to another)."""
        disconnect, connect = list(disconnect), list(connect)
        if not disconnect and not connect:
            return
        with self.edit(label) as g:
            have = set(g.connections)
            for c in disconnect:
                if c in have:
                    g.disconnect(c.src, c.src_port, c.dst, c.dst_port)
            for c in connect:
                g.connect(c.src, c.src_port, c.dst, c.dst_port, replace=True)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Connection:
        conn = Connection(src, src_port, dst, dst_port)
        self.rewire(connect=[conn], label="connect")
        return conn

    def disconnect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        self.rewire(disconnect=[Connection(src, src_port, dst, dst_port)], label="disconnect")

    def set_param(self, gid: str, name: str, value) -> None:
        """Set a parameter (``ParameterError`` naming the node by name when refused)."""
        gn = self.graph.node(gid)
        if name in gn.params and same_value(gn.params[name], value):
            return
        try:
            with self.edit(f"set {name}") as g:
                g.set_param(gid, name, value)
        except ParameterError as exc:
            raise ParameterError(_by_name(str(exc), gid, gn.name)) from None

    def set_instance(self, gid: str, instance: str) -> None:
        if self.graph.node(gid).instance != instance:
            with self.edit("set instance") as g:
                g.set_instance(gid, instance)

    def rename(self, gid: str, name: str) -> None:
        name = " ".join(str(name).split())
        if self.graph.node(gid).name != name:
            with self.edit("rename") as g:
                g.rename(gid, name)

    def move(self, positions: Mapping[str, tuple[float, float]], label: str = "move", amend: bool = False) -> None:
        """New positions (the runtime never reads them: allowed while a run reads the graph);
        ``amend``: part of the previous step."""
        moved = {gid: (float(p[0]), float(p[1])) for gid, p in positions.items()
                 if gid in self.graph.nodes and self.graph.nodes[gid].pos != (float(p[0]), float(p[1]))}
        if moved:
            with self.edit(label, allow_locked=True, amend=amend) as g:
                for gid, pos in moved.items():
                    g.set_pos(gid, pos)

    def set_editor_data(self, key: str, value, label: str = "edit") -> None:
        """The editor's own data saved with the graph (``graph.editor[key]``: backdrops ...)."""
        if self.graph.editor.get(key) != value:
            with self.edit(label, allow_locked=True) as g:
                g.editor = {**g.editor, key: json.loads(json.dumps(value))}

    # ------------------------------------------------------------------ clipboard
    def copy_text(self, gids: Iterable[str]) -> str:
        """The nodes ``gids`` and the wires among them as a graph document (JSON text)."""
        chosen = [g for g in gids if g in self.graph.nodes and self.graph.nodes[g].node is not None]
        sub = Graph("clipboard")
        sub.local_types = dict(self.graph.local_types)
        for gid in chosen:
            gn = self.graph.nodes[gid]
            sub.add_node(gn.type_id, gn.name, gn.params, gn.instance, gn.pos, id=gid, state=gn.node.get_state())
        keep = set(chosen)
        for c in self.graph.connections:
            if c.src in keep and c.dst in keep:
                sub.connect(c.src, c.src_port, c.dst, c.dst_port)
        return json.dumps(sub.to_dict(inline_limit=1 << 62))

    def paste_text(self, text: str, at: tuple[float, float] | None = None, label: str = "paste") -> list[str]:
        """Insert a copied graph document (its top-left node at ``at``); returns the new ids.

        Terminal names the graph already has get a free name (``y_true_2``), other
        nodes a name no node has yet (``SoftMax 2``)."""
        try:
            sub = Graph.from_dict(json.loads(text), source="clipboard")
        except (ValueError, TypeError) as exc:
            raise HaibalError(f"the clipboard holds no graph ({exc})") from None
        with self.edit(label) as g:
            taken = {gn.name for gn in g.nodes.values()}
            mapping = insert_snippet(g, Snippet("clipboard", sub), at, on_clash="rename")
            for new in mapping.values():
                gn = g.nodes[new]
                if not gn.is_terminal and gn.name in taken:
                    g.rename(new, self.unique_name(gn.name, taken))
                taken.add(g.nodes[new].name)
        return list(mapping.values())


def _by_name(message: str, gid: str, name: str) -> str:
    """A core message with ``node 'id'`` shown as the node's name."""
    return message.replace(f"node {gid!r}: ", "").replace(f"{gid!r}", repr(name))
