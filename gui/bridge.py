"""Between the canvas and the headless core: one ``haibal_py.graph.Graph`` kept in step.

The editor owns one ``Document``: a ``Graph`` (the runtime's model, saved in the
runtime's format) and the map from canvas nodes to graph node ids. ``sync`` applies
the canvas's state to the graph as edits (add/remove/connect/set_param...), so the
graph's change log tells the ``Runtime`` exactly what changed and a re-run recomputes
only that. Wire checks come from ``Graph.port_types`` (the runtime's validation, live).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from haibal_py.distributed import expand_shards, run_over as distributed_run_over
from haibal_py.errors import HaibalError
from haibal_py.graph import Connection, Graph, GraphValidationError, TypeInfo
from haibal_py.runtime import NodeRunError, Runtime
from haibal_py.node.types import Compat

from . import adapter
from .adapter import HaibalNode

#: graphs with more nodes open with compact nodes (see ``Document.load_into``)
COMPACT_ABOVE = 150

WireKey = tuple[str, str, str, str]


def same_value(a, b) -> bool:
    """Parameter equality that copes with arrays."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if a is None or b is None:
            return False
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


class Document:
    """The graph behind the canvas, and the canvas-node -> graph-id map."""

    def __init__(self, graph: Graph | None = None):
        self.graph = graph or Graph()
        self.runtime = Runtime(self.graph)  # keeps node outputs between runs
        self.ids: dict[str, str] = {}  # canvas node id -> graph node id
        self._busy = False  # a run is reading the graph: leave it alone
        self.edited_while_busy = False

    @property
    def busy(self) -> bool:
        return self._busy

    @busy.setter
    def busy(self, value: bool) -> None:
        self._busy = value
        if value:
            self.edited_while_busy = False

    # -- canvas -> graph
    def sync(self, canvas, graph: Graph | None = None, ids: dict | None = None) -> Graph:
        """Apply the canvas's nodes, parameters and wires to the graph (as edits)."""
        g = self.graph if graph is None else graph
        ids = self.ids if ids is None else ids
        nodes = canvas.nodes()
        alive = {n.id for n in nodes}
        for cid in [c for c in ids if c not in alive]:
            gid = ids.pop(cid)
            if gid in g.nodes:
                g.remove_node(gid)
        for node in nodes:
            params = node.param_values()
            gid = ids.get(node.id)
            if gid is None or gid not in g.nodes:
                ids[node.id] = add_canvas_node(g, node, params)
                continue
            gn = g.nodes[gid]
            if gn.name != node.name():
                g.rename(gid, node.name())
            current = gn.params
            for name, value in params.items():
                if not same_value(current.get(name), value):
                    g.set_param(gid, name, value)
            if gn.instance != node.instance_name():
                g.set_instance(gid, node.instance_name())
            g.set_pos(gid, node.pos())
        wanted = set()
        for node in nodes:
            for in_name, port in node.inputs().items():
                for src in port.connected_ports():
                    sid = ids.get(src.node().id)
                    if sid is not None:
                        wanted.add(Connection(sid, src.name(), ids[node.id], in_name))
        mapped = set(ids.values())
        for conn in list(g.connections):
            if conn.src in mapped and conn.dst in mapped and conn not in wanted:
                g.disconnect(conn.src, conn.src_port, conn.dst, conn.dst_port)
        have = set(g.connections)
        for conn in sorted(wanted - have, key=str):
            g.connect(conn.src, conn.src_port, conn.dst, conn.dst_port, replace=True)
        return g

    def snapshot(self, canvas) -> Graph:
        """The canvas as a graph, without touching the document's (used while a run reads it)."""
        g = Graph(self.graph.name, self.graph.description)
        g.base_dir, g.editor = self.graph.base_dir, dict(self.graph.editor)
        g.local_types = dict(self.graph.local_types)
        ids: dict[str, str] = {}
        for cid, gid in self.ids.items():  # keep the ids the document uses
            ids[cid] = gid
        order = [n for n in canvas.nodes()]
        pre = {}
        for node in order:
            gid = ids.get(node.id)
            if gid is not None and gid not in g.nodes:
                pre[node.id] = add_canvas_node(g, node, node.param_values(), id=gid)
        return self.sync(canvas, graph=g, ids=pre)

    # -- graph -> canvas
    def load_into(self, canvas, graph: Graph) -> list[str]:
        """Put ``graph``'s nodes and wires on the (empty) canvas; returns what could not be shown.

        Graphs of more than ``COMPACT_ABOVE`` nodes get compact nodes (parameters in the
        Properties panel only), so that they open in seconds.
        """
        compact = len(graph.nodes) > COMPACT_ABOVE
        adapter.EMBED_WIDGETS = not compact
        try:
            return self._load_into(canvas, graph)
        finally:
            adapter.EMBED_WIDGETS = True

    def _load_into(self, canvas, graph: Graph) -> list[str]:
        self.graph, self.ids = graph, {}
        self.runtime = Runtime(graph)
        canvas.types.update(adapter.register_local(canvas.graph, graph.local_types.values()))
        skipped = []
        made: dict[str, HaibalNode] = {}
        # terminals first: their names are the graph's interface, so when a name is
        # taken twice (the canvas wants unique names) the other node is the one renamed
        order = sorted(graph.nodes.items(), key=lambda kv: not (kv[1].is_input or kv[1].is_output))
        for gid, gn in order:
            if gn.node is None:
                skipped.append(f"node {gid!r}: unknown type {gn.type_id!r} (kept in the file, not shown)")
                continue
            node = canvas.add_node(gn.type_id, name=gn.name, pos=gn.pos or (0, 0), push_undo=False)
            if node.name() != gn.name:  # NodeGraphQt made it unique: keep the graph in step
                graph.rename(gid, node.name())
            current = node.param_values()
            for name, value in gn.params.items():
                if name in gn.bad_params or same_value(current.get(name), value):
                    continue  # (each change redraws the node: skip the defaults)
                node.set_param(name, value, push_undo=False)
            if gn.instance != node.instance_name():
                node.set_instance(gn.instance, push_undo=False)
            made[gid] = node
            self.ids[node.id] = gid
        for conn in graph.connections:
            src, dst = made.get(conn.src), made.get(conn.dst)
            if src is None or dst is None:
                continue
            try:
                src.get_output(conn.src_port).connect_to(dst.get_input(conn.dst_port), push_undo=False)
            except AttributeError:
                skipped.append(f"connection {conn}: unknown port")
        return skipped

    # -- checks shown live
    def type_info(self, canvas) -> tuple[TypeInfo, dict[str, str]]:
        """Static types of the canvas's graph, and graph id -> canvas node name."""
        if self.busy:
            self.edited_while_busy = True
        g = self.snapshot(canvas) if self.busy else self.sync(canvas)
        names = {gid: gn.name for gid, gn in g.nodes.items()}
        return g.port_types(), names

    def wire_checks(self, canvas) -> tuple[dict[WireKey, Compat], dict[tuple[str, str, str], Any]]:
        info, names = self.type_info(canvas)
        wires = {(names[c.src], c.src_port, names[c.dst], c.dst_port): compat
                 for c, compat in info.wires.items() if c.src in names and c.dst in names}
        ports = {}
        for (gid, port), t in info.outputs.items():
            if gid in names:
                ports[(names[gid], "out", port)] = t
        fed = {(c.dst, c.dst_port): info.outputs.get((c.src, c.src_port)) for c in info.wires}
        for (gid, port), t in info.inputs.items():
            if gid in names:
                src = fed.get((gid, port))
                ports[(names[gid], "in", port)] = src if (t.kind == "any" and src is not None) else t
        return wires, ports

    def problems(self, canvas) -> list[str]:
        g = self.sync(canvas)
        names = {gid: gn.name for gid, gn in g.nodes.items()}
        return [_named(p, names) for p in g.validate()]

    def node_name(self, gid: str) -> str:
        gn = self.graph.nodes.get(gid)
        return gn.name if gn is not None else gid

    # -- files
    def save(self, canvas, path: Path) -> None:
        g = self.snapshot(canvas) if self.busy else self.sync(canvas)
        g.save(path)


def add_canvas_node(g: Graph, node: HaibalNode, params: dict, id: str | None = None) -> str:
    """Add a canvas node to ``g``. A collapsed subgraph's class is its definition, and the
    canvas's is the current one (after an undo it may be the one from before an edit)."""
    cls = node.haibal_class
    if getattr(cls, "snippet", None) is not None:
        g.local_types[cls.type_id] = cls
    return g.add_node(cls.type_id, name=node.name(), params=params, instance=node.instance_name(),
                      pos=node.pos(), id=id)


def load(path) -> Graph:
    return Graph.load(path)


class _Observer:
    """Runtime observer recording events by canvas node name (see ``runner.RunEvents``)."""

    def __init__(self, events, names: dict[str, str]):
        self.events, self.names, self.total, self.done = events, names, 0, 0

    def run_started(self, to_run):
        self.total = len(to_run)
        self.events.progress(0, max(self.total, 1))

    def node_started(self, node_id):
        self.events.started(self.names.get(node_id, node_id))

    def node_finished(self, node_id, seconds):
        self.done += 1
        self.events.finished(self.names.get(node_id, node_id), seconds)
        self.events.progress(self.done, max(self.total, 1))

    def node_failed(self, node_id, message, seconds):
        self.events.failed(self.names.get(node_id, node_id), message)


def _named(problem, names: dict[str, str]) -> str:
    text = str(problem)
    if problem.node in names and names[problem.node] != problem.node:
        text = text.replace(f"node {problem.node!r}", f"node {names[problem.node]!r}", 1)
    return text


def run(runtime: Runtime, events) -> dict:
    """Run on the calling (worker) thread; values keyed by canvas node name.

    Returns ``{"outputs": {name: {port: value}}, "ran": [names], "graph_outputs": {...},
    "error": text or "", "failed": name or None}``; a failing node is reported, not raised.
    """
    graph = runtime.graph
    names = {gid: gn.name for gid, gn in graph.nodes.items()}
    observer = _Observer(events, names)
    error, failed = "", None
    try:
        result = runtime.run(observer=observer)
    except NodeRunError as exc:
        result, error, failed = exc.result, str(exc), names.get(exc.node_id, exc.node_id)
    except GraphValidationError as exc:  # nothing ran: every problem, nodes by their names
        result, error = None, "cannot run: " + "; ".join(_named(p, names) for p in exc.problems)
    return {
        "outputs": {names.get(gid, gid): vals for gid, vals in (result.values if result else {}).items()},
        "ran": [names.get(gid, gid) for gid in (result.ran if result else [])],
        "graph_outputs": dict(result.outputs) if result else {},
        "error": error,
        "failed": failed,
        "seconds": result.seconds if result else 0.0,
    }


class _ShardEvents:
    """``run_over``'s progress reports as the editor's run events (shards done of all)."""

    def __init__(self, events, total: int):
        self.events, self.total, self.count = events, total, 0
        events.progress(0, max(total, 1))

    def done(self, result) -> None:
        self.count += 1
        self.events.progress(self.count, max(self.total, 1))

    def close(self) -> None:
        pass


def run_over(graph: Graph, folder, pattern: str, events, workers: int = 1) -> dict:
    """Run the graph once per file of ``folder`` matching ``pattern`` (``haibal_py.distributed``),
    on the calling (worker) thread. Returns ``run``'s dict with the merged values of every
    node output that merges (the viewers fed by a metric) under ``outputs``, keyed by canvas
    node name, and ``over``: {"shards", "failures", "per_shard"}. Nothing is raised."""
    names = {gid: gn.name for gid, gn in graph.nodes.items()}
    empty = {"outputs": {}, "ran": [], "graph_outputs": {}, "failed": None, "seconds": 0.0,
             "over": {"shards": 0, "failures": [], "per_shard": []}}
    try:
        shards = expand_shards(pattern, base_dir=folder)
        res = distributed_run_over(graph, shards, workers=workers, node_values=True,
                                   progress=_ShardEvents(events, len(shards)))
    except GraphValidationError as exc:
        return {**empty, "error": "cannot run: " + "; ".join(_named(p, names) for p in exc.problems)}
    except HaibalError as exc:
        return {**empty, "error": str(exc)}
    row = res.rows[0]
    return {
        "outputs": {names.get(gid, gid): vals for gid, vals in row.node_values.items()},
        "ran": [],
        "graph_outputs": dict(row.outputs),
        "error": "",
        "failed": None,
        "seconds": res.seconds,
        "over": {"shards": res.shards, "failures": [str(f) for f in row.failures], "per_shard": row.per_shard},
    }
