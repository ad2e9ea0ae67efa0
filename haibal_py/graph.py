"""The graph model: nodes by catalog type id, typed connections, graph inputs and outputs.

Headless (no Qt). The editor, the CLI and Python scripts all build and read graphs
through this one API; ``haibal_py.runtime.Runtime`` runs them and
``haibal_py.graph_format`` saves and loads them.

Build::

    g = Graph(name="scce")
    yt = g.add_input("y_true", default=[1, 2], type="int[1]")            # -> "y_true"
    yp = g.add_input("y_pred", default=[[.05, .95, 0], [.1, .8, .1]], type="float[2]")
    loss = g.add_node("haibal.metrics.SparseCategoricalCrossentropy")     # -> "scc1"
    g.connect(yt, "value", loss, "y_true")
    g.connect(yp, "value", loss, "y_pred")
    g.connect(loss, "result", g.add_output("loss"), "value")
    g.set_param(loss, "from_logits", False)
    assert g.validate() == []          # every problem, each naming node and port
    g.save("scce.json")                # atomic; Graph.load("scce.json") reads it back

Change wires with ``connect``/``disconnect``/``remove_node`` (``connections`` is readable).
Nodes are addressed by stable string ids (``"scc1"``: initials of the class name plus a
counter, or given), never memory addresses. Each ``GraphNode`` holds a live ``Node`` (its
parameters and pinned/automatic instance) unless its type id is unknown: such a node is
kept (and saved back unchanged) but reported by ``validate``. Connections may break the
rules (a port fed twice, an unknown port, a type mismatch) because a file or the editor
can hold them; ``validate`` reports them all, ``port_types`` says how each wire looks
(ok / coerced / broken) for the editor.

Graph terminals are the catalog nodes ``haibal.io.GraphInput`` / ``haibal.io.GraphOutput``
(``haibal_py.terminals``); their node name is the terminal name and must be unique.

``revision`` grows on every change; each ``GraphNode.revision`` on each change to it.
Change nodes through the graph (``set_param``, ``set_instance`` ...): it logs each change
so a ``Runtime`` re-runs only the nodes downstream of it; after changing a ``Node``
object directly, call ``graph.touch(node_id)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import HaibalError, HaibalValueError, ParameterError, PortTypeError, UnknownNodeTypeError
from .node import AUTOMATIC, Instance, Node
from .registry import CATALOG
from .terminals import INPUT_TYPE_ID, OUTPUT_TYPE_ID, VALUE
from .types import ANY, Compat, PortType

__all__ = ["Connection", "Graph", "GraphError", "GraphNode", "GraphValidationError", "Problem", "TypeInfo"]

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class GraphError(HaibalError, KeyError):
    """A graph edit names a node or port that does not exist, or breaks a rule at once."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class GraphValidationError(HaibalValueError):
    """A graph cannot run: ``problems`` lists every reason (each naming node and port)."""

    def __init__(self, problems: list["Problem"]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"the graph has {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Problem:
    """One reason a graph cannot run. ``node`` is a node id, ``port`` a port or parameter name."""

    node: str | None
    port: str | None
    message: str
    code: str = "invalid"  # unknown-type, unknown-node, unknown-port, fed-twice, unwired, cycle,
    #                  type-mismatch, no-instance, bad-param, bad-default, bad-instance, duplicate-terminal

    def __str__(self) -> str:
        where = ""
        if self.node is not None:
            where = f"node {self.node!r}"
            if self.port is not None:
                where += f", {'parameter' if self.code in ('bad-param', 'bad-default') else 'port'} {self.port!r}"
            where += ": "
        return where + self.message


@dataclass(frozen=True)
class Connection:
    """A wire from an output port to an input port (node ids and port names)."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass
class GraphNode:
    """A node in a graph: its id, catalog type, live ``Node`` (None if the type is unknown), layout.

    ``bad_params`` keeps parameter values read from a file that the node refused
    (name -> (raw value, message)); ``validate`` reports them, ``to_dict`` writes them back.
    """

    id: str
    type_id: str
    node: Node | None
    pos: tuple[float, float] | None = None
    raw_params: dict[str, Any] = field(default_factory=dict)  # as read, for unknown types
    raw_name: str | None = None
    raw_instance: str = AUTOMATIC
    bad_params: dict[str, tuple[Any, str]] = field(default_factory=dict)
    revision: int = 0

    @property
    def name(self) -> str:
        if self.node is not None:
            return self.node.name
        return self.raw_name or self.id

    @property
    def instance(self) -> str:
        return self.node.instance if self.node is not None else self.raw_instance

    @property
    def params(self) -> dict[str, Any]:
        """The parameter values (the node's, or the raw ones of an unknown type)."""
        return dict(self.node.values) if self.node is not None else dict(self.raw_params)

    @property
    def cls(self) -> type[Node] | None:
        return type(self.node) if self.node is not None else None

    @property
    def is_input(self) -> bool:
        return self.type_id == INPUT_TYPE_ID

    @property
    def is_output(self) -> bool:
        return self.type_id == OUTPUT_TYPE_ID

    @property
    def label(self) -> str:
        """How messages name the node: id, name and type."""
        kind = self.type_id.rsplit(".", 1)[-1]
        return f"{self.id!r} ({self.name}, {kind})" if self.name != kind else f"{self.id!r} ({kind})"


@dataclass
class TypeInfo:
    """Static types of a graph, for the editor and for validation.

    - ``outputs[(node_id, port)]``: the type an output carries (propagated through the
      instance each node would pick; ``any`` when unknown);
    - ``inputs[(node_id, port)]``: the type the picked instance expects at an input;
    - ``wires[connection]``: a ``Compat`` (ok / coerced: LabVIEW's coercion dot / broken);
    - ``instances[node_id]``: the instance name picked (None: none fits, or unknown type);
    - ``problems``: the type problems found (also part of ``Graph.validate``).
    """

    outputs: dict[tuple[str, str], PortType] = field(default_factory=dict)
    inputs: dict[tuple[str, str], PortType] = field(default_factory=dict)
    wires: dict[Connection, Compat] = field(default_factory=dict)
    instances: dict[str, str | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _initials(type_id: str) -> str:
    last = type_id.rsplit(".", 1)[-1]
    caps = "".join(ch for ch in last if ch.isupper() or ch.isdigit())
    return (caps or last[:4] or "node").lower()


def _exact(t: PortType) -> bool:
    return t.kind != "any" and t.max_rank is not None and t.min_rank == t.max_rank


def _join(types: list[PortType]) -> PortType:
    """The narrowest type covering all of ``types`` (used when the instance is uncertain)."""
    kinds = {t.kind for t in types}
    kind = kinds.pop() if len(kinds) == 1 else "any"
    lo = min(t.min_rank for t in types)
    hi = None if any(t.max_rank is None for t in types) else max(t.max_rank for t in types)
    return PortType(kind, lo, hi, all(t.sequence for t in types))


class Graph:
    """A dataflow graph of catalog nodes; see the module docstring."""

    def __init__(self, name: str = "", description: str = ""):
        self.name = name
        self.description = description
        self.nodes: dict[str, GraphNode] = {}
        self.connections: list[Connection] = []
        #: folder that relative file paths (ReadFile, sibling .npz) are resolved against
        self.base_dir: Path | None = None
        #: the file it was loaded from or saved to, if any
        self.path: Path | None = None
        #: the editor's own data (view, backdrops ...): kept and saved, ignored by the runtime
        self.editor: dict[str, Any] = {}
        #: node types this graph defines itself (collapsed subgraphs, ``haibal_py.subgraphs``):
        #: type id -> composite ``Node`` class; saved in the file's ``"subgraphs"``
        self.local_types: dict[str, type[Node]] = {}
        self.revision = 0
        self._log: list[tuple[str | None, bool]] = []  # (changed node id, structural) per edit
        self._fed: tuple[dict | None, int] = (None, -1)  # see _fed_index
        self._id_hint: dict[str, int] = {}  # id stem -> a number below which every id is taken

    # ------------------------------------------------------------------ lookup
    def __contains__(self, node_id: str) -> bool:
        return node_id in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, node_id: str) -> GraphNode:
        return self.node(node_id)

    def node(self, node_id: str) -> GraphNode:
        """The ``GraphNode`` with this id (GraphError naming the known ids otherwise)."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r} in the graph"
                             f" (nodes: {', '.join(self.nodes) or 'none'})") from None

    def resolve(self, ref: str) -> str:
        """A node id from an id or a unique node name (as ``--set NODE.PARAM=...`` uses)."""
        if ref in self.nodes:
            return ref
        hits = [gid for gid, gn in self.nodes.items() if gn.name == ref]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise GraphError(f"several nodes are named {ref!r} ({', '.join(hits)}); use a node id")
        raise GraphError(f"no node with id or name {ref!r} (nodes: {', '.join(self.nodes) or 'none'})")

    @property
    def inputs(self) -> dict[str, str]:
        """Graph input terminals: name -> node id (file order)."""
        return {gn.name: gid for gid, gn in self.nodes.items() if gn.is_input}

    @property
    def outputs(self) -> dict[str, str]:
        """Graph output terminals: name -> node id (file order)."""
        return {gn.name: gid for gid, gn in self.nodes.items() if gn.is_output}

    def incoming(self, node_id: str) -> list[Connection]:
        return [c for c in self.connections if c.dst == node_id]

    def outgoing(self, node_id: str) -> list[Connection]:
        return [c for c in self.connections if c.src == node_id]

    def node_class(self, type_id: str) -> type[Node]:
        """The class of a type id: the graph's own subgraph types first, then the catalog
        (UnknownNodeTypeError naming it otherwise)."""
        cls = self.local_types.get(type_id)
        return cls if cls is not None else CATALOG.get(type_id)

    # ------------------------------------------------------------------ editing
    def _touch(self, gn: GraphNode | None = None, structural: bool = False) -> None:
        """Record a change: runtimes read the log to re-run only what changed."""
        self.revision += 1
        if gn is not None:
            gn.revision += 1
        self._log.append((gn.id if gn is not None else None, structural))

    def touch(self, node_id: str) -> None:
        """Say that a node's ``Node`` was changed directly (not through ``set_param``), so
        runtimes recompute it and what depends on it."""
        self._touch(self.node(node_id))

    def changes_since(self, mark: int) -> tuple[int, set[str], bool]:
        """(new mark, ids of changed nodes, whether wires/nodes/instances/types changed) since ``mark``."""
        ids, structural = set(), False
        for node_id, struct in self._log[mark:]:
            structural = structural or struct
            if node_id is not None:
                ids.add(node_id)
        return len(self._log), ids, structural

    def new_id(self, type_id: str) -> str:
        """A fresh stable id for a node of this type (``scc1``, ``scc2`` ...)."""
        stem = _initials(type_id)
        n = self._id_hint.get(stem, 1) if f"{stem}1" in self.nodes else 1  # lowest free number
        while f"{stem}{n}" in self.nodes:
            n += 1
        self._id_hint[stem] = n
        return f"{stem}{n}"

    def add_node(self, type_id: str, name: str | None = None, params: Mapping[str, Any] | None = None,
                 instance: str = AUTOMATIC, pos: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a node of catalog type ``type_id`` (or a subgraph type of this graph); returns its id.

        Unknown type ids, parameters or instances raise at once (UnknownNodeTypeError,
        ParameterError); ``from_dict`` is the lenient path that keeps them for ``validate``.
        """
        cls = self.node_class(type_id)
        node_id = self._check_new_id(id) if id is not None else self.new_id(type_id)
        node = cls(name, instance=instance, **dict(params or {}))
        gn = GraphNode(node_id, type_id, node, tuple(float(v) for v in pos) if pos is not None else None,
                       raw_instance=instance)
        if (gn.is_input or gn.is_output) and gn.name in (self.inputs if gn.is_input else self.outputs):
            raise GraphError(f"the graph already has a {'n input' if gn.is_input else 'n output'} "
                             f"named {gn.name!r}".replace("a n", "an"))
        self.nodes[node_id] = gn
        self._touch(gn, structural=True)
        return node_id

    def _check_new_id(self, node_id: str) -> str:
        if not isinstance(node_id, str) or not _ID_RE.match(node_id):
            raise GraphError(f"node id {node_id!r} must be a letter or _ followed by letters, digits, _ or -")
        if node_id in self.nodes:
            raise GraphError(f"node id {node_id!r} is already used")
        return node_id

    def add_input(self, name: str, default=None, type: str | PortType = "any", doc: str = "",
                  pos: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a graph input terminal named ``name`` (also its id when free); returns its id."""
        node_id = id if id is not None else (name if _ID_RE.match(name) and name not in self.nodes else None)
        return self.add_node(INPUT_TYPE_ID, name, {"type": str(type), "default": default, "doc": doc},
                             pos=pos, id=node_id)

    def add_output(self, name: str, type: str | PortType = "any", doc: str = "",
                   pos: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a graph output terminal named ``name`` (also its id when free); returns its id."""
        node_id = id if id is not None else (name if _ID_RE.match(name) and name not in self.nodes else None)
        return self.add_node(OUTPUT_TYPE_ID, name, {"type": str(type), "doc": doc}, pos=pos, id=node_id)

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every connection to or from it."""
        self.node(node_id)
        fed = {c.dst for c in self.connections if c.src == node_id and c.dst != node_id}
        del self.nodes[node_id]
        self._id_hint.clear()  # a number became free
        self.connections = [c for c in self.connections if node_id not in (c.src, c.dst)]
        self._fed = (None, -1)
        self._touch(structural=True)
        for dst in fed:
            if dst in self.nodes:
                self._touch(self.nodes[dst])

    def connect(self, src: str, src_port: str, dst: str, dst_port: str, replace: bool = False) -> Connection:
        """Wire ``src.src_port`` (an output) to ``dst.dst_port`` (an input).

        Unknown nodes/ports raise GraphError at once; an input already fed raises too
        unless ``replace`` (then the old wire goes). Type mismatches are allowed (a broken
        wire the editor draws) and reported by ``validate``.
        """
        s, d = self.node(src), self.node(dst)
        if s.node is not None:
            self._port(s, src_port, output=True)
        if d.node is not None:
            self._port(d, dst_port, output=False)
        index = self._fed_index()
        fed = index.get((dst, dst_port), [])
        if fed and not replace:
            raise GraphError(f"input {dst_port!r} of node {d.label} is already fed by {fed[0].src}.{fed[0].src_port}")
        if fed:
            self.connections = [c for c in self.connections if c not in fed]
        conn = Connection(src, src_port, dst, dst_port)
        self.connections.append(conn)
        index[(dst, dst_port)] = [conn]
        self._fed = (index, len(self.connections))
        self._touch(d, structural=True)
        return conn

    def _fed_index(self) -> dict[tuple[str, str], list[Connection]]:
        """(dst, dst_port) -> the wires feeding it; rebuilt when ``connections`` changed size."""
        index, size = self._fed
        if size != len(self.connections) or index is None:
            index = {}
            for c in self.connections:
                index.setdefault((c.dst, c.dst_port), []).append(c)
            self._fed = (index, len(self.connections))
        return index

    def _port(self, gn: GraphNode, port: str, output: bool):
        try:
            return gn.cls.output(port) if output else gn.cls.input(port)
        except PortTypeError as exc:
            raise GraphError(f"node {gn.id!r}: {exc}") from None

    def disconnect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        """Remove the wire ``src.src_port -> dst.dst_port`` (GraphError if there is none)."""
        conn = Connection(src, src_port, dst, dst_port)
        if conn not in self.connections:
            raise GraphError(f"no connection {conn}")
        self.connections.remove(conn)
        self._fed = (None, -1)
        self._touch(self.nodes.get(dst), structural=True)

    def set_param(self, node_id: str, name: str, value) -> None:
        """Set a parameter (checked and converted by the node; ParameterError otherwise)."""
        gn = self.node(node_id)
        if gn.node is None:
            raise UnknownNodeTypeError(f"node {node_id!r}: unknown node type {gn.type_id!r}")
        if gn.is_input or gn.is_output:
            if name == "name":
                return self.rename(node_id, value)
        try:
            gn.node.set_param(name, value)
        except ParameterError as exc:
            raise type(exc)(f"node {node_id!r}: {exc}") from None
        was_bad = gn.bad_params.pop(name, None) is not None
        self._touch(gn, structural=was_bad or ((gn.is_input or gn.is_output) and name == "type"))

    def set_instance(self, node_id: str, instance: str) -> None:
        """Pin a polymorphic instance by name, or ``"automatic"`` to pick from the wired types."""
        gn = self.node(node_id)
        if gn.node is None:
            raise UnknownNodeTypeError(f"node {node_id!r}: unknown node type {gn.type_id!r}")
        try:
            gn.node.instance = instance
        except ParameterError as exc:
            raise type(exc)(f"node {node_id!r}: {exc}") from None
        gn.raw_instance = instance
        self._touch(gn, structural=True)

    def rename(self, node_id: str, name: str) -> None:
        """Change a node's display name (for a terminal: the terminal name, kept unique)."""
        gn = self.node(node_id)
        if not isinstance(name, str) or not name:
            raise HaibalValueError(f"node {node_id!r}: a name must be a non-empty string, got {name!r}")
        if gn.is_input or gn.is_output:
            others = self.inputs if gn.is_input else self.outputs
            if name in others and others[name] != node_id:
                raise GraphError(f"the graph already has a terminal named {name!r} ({others[name]})")
        if gn.node is not None:
            gn.node.name = name
        else:
            gn.raw_name = name
        self._touch(gn, structural=gn.is_input or gn.is_output)

    def set_pos(self, node_id: str, pos: Iterable[float] | None) -> None:
        """Editor layout only: the runtime ignores it (does not change ``revision``)."""
        self.node(node_id).pos = tuple(float(v) for v in pos) if pos is not None else None

    # ------------------------------------------------------------------ structure
    def topological_order(self) -> tuple[list[str], list[str]]:
        """(node ids in dataflow order, node ids on or behind a cycle). Ties keep file order."""
        indeg = {gid: 0 for gid in self.nodes}
        succ: dict[str, list[str]] = {gid: [] for gid in self.nodes}
        for c in self.connections:
            if c.src in indeg and c.dst in indeg:
                indeg[c.dst] += 1
                succ[c.src].append(c.dst)
        ready = [gid for gid, d in indeg.items() if d == 0]
        order: list[str] = []
        i = 0
        while i < len(ready):
            gid = ready[i]
            i += 1
            order.append(gid)
            for nxt in succ[gid]:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    ready.append(nxt)
        stuck = [gid for gid in self.nodes if indeg[gid] > 0]
        return order, stuck

    def _cycle_members(self, stuck: list[str]) -> list[list[str]]:
        """The cycles among ``stuck`` nodes (strongly connected components of size > 1 or self-loops)."""
        stuck_set = set(stuck)
        succ: dict[str, list[str]] = {gid: [] for gid in stuck}
        for c in self.connections:
            if c.src in stuck_set and c.dst in stuck_set:
                succ[c.src].append(c.dst)
        index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]

        def visit(v):  # Tarjan, iterative enough for graphs of this size
            work = [(v, iter(succ[v]))]
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            while work:
                node, it = work[-1]
                for w in it:
                    if w not in index:
                        index[w] = low[w] = counter[0]
                        counter[0] += 1
                        stack.append(w)
                        on.add(w)
                        work.append((w, iter(succ[w])))
                        break
                    if w in on:
                        low[node] = min(low[node], index[w])
                else:
                    work.pop()
                    if work:
                        low[work[-1][0]] = min(low[work[-1][0]], low[node])
                    if low[node] == index[node]:
                        comp = []
                        while True:
                            w = stack.pop()
                            on.discard(w)
                            comp.append(w)
                            if w == node:
                                break
                        if len(comp) > 1 or node in succ[node]:
                            comps.append(sorted(comp, key=stuck.index))

        for v in stuck:
            if v not in index:
                visit(v)
        return comps

    # ------------------------------------------------------------------ checking
    def port_types(self) -> TypeInfo:
        """Static port types propagated through the graph (see ``TypeInfo``)."""
        info = TypeInfo()
        order, stuck = self.topological_order()
        feeding: dict[str, list[Connection]] = {}
        for c in self.connections:
            feeding.setdefault(c.dst, []).append(c)
        for gid in order + stuck:
            gn = self.nodes[gid]
            cls = gn.cls
            if cls is None:
                info.instances[gid] = None
                continue
            wired: dict[str, PortType] = {}
            wires: dict[str, Connection] = {}
            for c in feeding.get(gid, ()):
                if c.src not in self.nodes or not self._has_port(c.dst, c.dst_port, False):
                    continue
                if c.dst_port in wires:  # fed twice: the first wire counts, validate reports it
                    continue
                src_type = info.outputs.get((c.src, c.src_port), ANY)
                wired[c.dst_port] = src_type
                wires[c.dst_port] = c
            for port in cls.inputs:
                if port.name not in wired and not port.required and port.default is not None:
                    wired[port.name] = PortType.of_value(port.default)
            self._type_node(gn, wired, wires, info, in_cycle=gid in stuck)
        return info

    def _has_port(self, node_id: str, port: str, output: bool) -> bool:
        gn = self.nodes.get(node_id)
        if gn is None or gn.cls is None:
            return False
        names = gn.cls.outputs if output else gn.cls.inputs
        return any(p.name == port for p in names)

    def _type_node(self, gn: GraphNode, wired, wires, info: TypeInfo, in_cycle: bool) -> None:
        node, gid = gn.node, gn.id
        try:
            sel = node.select(wired)
        except HaibalError as exc:
            sel = None
            self._explain_no_instance(gn, wired, wires, info, exc)
        if sel is None:
            info.instances[gid] = None
            for port in gn.cls.outputs:
                info.outputs[(gid, port.name)] = ANY
            for port in gn.cls.inputs:
                info.inputs[(gid, port.name)] = port.type
            return
        inst = sel.instance
        info.instances[gid] = inst.name
        for port in gn.cls.inputs:
            info.inputs[(gid, port.name)] = inst.inputs.get(port.name, port.type)
        for pname, conn in wires.items():
            info.wires[conn] = wired[pname].check(inst.inputs.get(pname, ANY))
        outs = self._output_types(node, inst, wired)
        for port in gn.cls.outputs:
            info.outputs[(gid, port.name)] = ANY if in_cycle else outs.get(port.name, port.type)

    def _output_types(self, node: Node, picked: Instance, wired) -> dict[str, PortType]:
        """The picked instance's output types; when the wired types are not exact, the
        runtime may pick another fitting instance, so the types of all of them are joined."""
        try:
            outs = picked.output_types(wired)
        except Exception:  # a type function that cannot cope with uncertain types
            outs = {}
        if node.instance != AUTOMATIC or all(_exact(t) for t in wired.values()):
            return outs
        fitting = [i for i in node.instances
                   if all(p in i.inputs and t.check(i.inputs[p]).ok for p, t in wired.items())]
        if len(fitting) <= 1:
            return outs
        joined: dict[str, list[PortType]] = {}
        for inst in fitting:
            try:
                for k, t in inst.output_types(wired).items():
                    joined.setdefault(k, []).append(t)
            except Exception:
                pass
        return {k: _join(ts) for k, ts in joined.items()}

    def _explain_no_instance(self, gn: GraphNode, wired, wires, info: TypeInfo, exc: Exception) -> None:
        """Mark wires broken and name the ports at fault when no instance accepts the inputs."""
        node = gn.node
        candidates = node.instances if node.instance == AUTOMATIC else \
            tuple(i for i in node.instances if i.name == node.instance)
        blamed = []
        for pname, conn in wires.items():
            src = wired[pname]
            results = [src.check(i.inputs[pname]) for i in candidates if pname in i.inputs]
            if gn.is_output:
                results = [src.check(node.declared_type)]
            ok = [r for r in results if r.ok]
            if ok:
                info.wires[conn] = Compat(True, coerced=all(r.coerced for r in ok))
            else:
                reason = results[0].reason if results else f"port {pname!r} is not used by instance {node.instance!r}"
                info.wires[conn] = Compat(False, reason=reason)
                expects = " | ".join(str(i.inputs[pname]) for i in candidates if pname in i.inputs) \
                    if not gn.is_output else str(node.declared_type)
                blamed.append(Problem(gn.id, pname, f"type mismatch: {gn.label} expects {expects or 'nothing'}"
                                      f" here, but {conn.src}.{conn.src_port} gives {src}", "type-mismatch"))
        if blamed:
            info.problems.extend(blamed)
        else:  # every wire fits some instance, but no instance fits them all together
            msg = str(exc)
            if msg.startswith(node.label + ": "):
                msg = msg[len(node.label) + 2:]
            info.problems.append(Problem(gn.id, None, f"{gn.label}: {msg}", "no-instance"))

    def validate(self) -> list[Problem]:
        """Every reason the graph cannot run, in a stable order; [] when it can run."""
        problems: list[Problem] = []
        names: dict[tuple[bool, str], str] = {}
        for gid, gn in self.nodes.items():
            if gn.node is None:
                try:
                    self.node_class(gn.type_id)
                    msg = f"node type {gn.type_id!r} could not be created"
                except UnknownNodeTypeError as exc:
                    msg = str(exc)
                problems.append(Problem(gid, None, msg, "unknown-type"))
                continue
            for pname, (raw, msg) in gn.bad_params.items():
                problems.append(Problem(gid, pname, msg, "bad-param"))
            if gn.raw_instance != gn.instance and gn.raw_instance != AUTOMATIC:
                problems.append(Problem(gid, None, f"unknown instance {gn.raw_instance!r}; choose "
                                        f"'automatic' or one of {list(gn.cls.instance_names())}", "bad-instance"))
            if gn.is_input and gn.node.values.get("default") is not None and "type" not in gn.bad_params:
                problems.extend(self._check_default(gn))
            if gn.is_input or gn.is_output:
                key = (gn.is_input, gn.name)
                if key in names:
                    problems.append(Problem(gid, None, f"another graph {'input' if gn.is_input else 'output'} "
                                            f"is named {gn.name!r} ({names[key]})", "duplicate-terminal"))
                else:
                    names[key] = gid
        fed: dict[tuple[str, str], Connection] = {}
        for c in self.connections:
            ok = True
            for end, port, output in ((c.src, c.src_port, True), (c.dst, c.dst_port, False)):
                gn = self.nodes.get(end)
                if gn is None:
                    problems.append(Problem(end, None, f"connection {c} names a node that is not in the graph",
                                            "unknown-node"))
                    ok = False
                elif gn.cls is not None and not self._has_port(end, port, output):
                    ports = gn.cls.outputs if output else gn.cls.inputs
                    problems.append(Problem(end, port, f"{gn.label} has no {'output' if output else 'input'} "
                                            f"port {port!r} ({'outputs' if output else 'inputs'}: "
                                            f"{', '.join(p.name for p in ports) or 'none'}); used by {c}",
                                            "unknown-port"))
                    ok = False
            if not ok:
                continue
            key = (c.dst, c.dst_port)
            if key in fed:
                problems.append(Problem(c.dst, c.dst_port, f"input is fed twice ({fed[key].src}.{fed[key].src_port} "
                                        f"and {c.src}.{c.src_port}); an input takes one wire", "fed-twice"))
            else:
                fed[key] = c
        for gid, gn in self.nodes.items():
            if gn.cls is None:
                continue
            for port in gn.cls.inputs:
                if port.required and (gid, port.name) not in fed:
                    problems.append(Problem(gid, port.name, f"required input of {gn.label} is not wired "
                                            f"and has no default", "unwired"))
        order, stuck = self.topological_order()
        for cycle in self._cycle_members(stuck):
            problems.append(Problem(cycle[0], None, "cycle: " + " -> ".join(cycle + [cycle[0]])
                                    + " (a dataflow graph cannot feed a node its own output)", "cycle"))
        problems.extend(self.port_types().problems)
        return problems

    def _check_default(self, gn: GraphNode) -> list[Problem]:
        from .terminals import as_declared
        declared = gn.node.declared_type
        try:
            got = PortType.of_value(as_declared(gn.node.values["default"], declared))
        except HaibalError as exc:
            return [Problem(gn.id, "default", str(exc), "bad-default")]
        res = got.check(declared)
        if res.ok:
            return []
        return [Problem(gn.id, "default", f"the default value of graph input {gn.name!r} is {got}, "
                        f"but the input is declared {declared}", "bad-default")]

    def check(self) -> None:
        """Raise GraphValidationError listing every problem, if there is any."""
        problems = self.validate()
        if problems:
            raise GraphValidationError(problems)

    # ------------------------------------------------------------------ files
    def to_dict(self, arrays: dict | None = None, inline_limit: int | None = None) -> dict:
        """The saved-graph document (``docs/graph-format.md``). Arrays larger than
        ``inline_limit`` elements go into ``arrays`` (key -> array) when it is given."""
        from .graph_format import graph_to_dict
        return graph_to_dict(self, arrays=arrays, inline_limit=inline_limit)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], base_dir: str | Path | None = None, arrays=None) -> "Graph":
        """A graph from a saved-graph document, checked against the JSON Schema
        (GraphFormatError otherwise). Unknown types/params/instances are kept for ``validate``.
        ``arrays``: key -> array for ``{"npz": key}`` values (a mapping)."""
        from .graph_format import graph_from_dict
        return graph_from_dict(doc, base_dir=base_dir, arrays=arrays)

    def save(self, path: str | Path) -> None:
        """Write the graph atomically (temp file + rename); large arrays in ``<stem>.npz`` beside it."""
        from .graph_format import save_graph
        save_graph(self, path)

    @classmethod
    def load(cls, path: str | Path) -> "Graph":
        """Read a saved graph (never runs code, never unpickles; GraphFormatError on a bad file)."""
        from .graph_format import load_graph
        return load_graph(path)

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.nodes)} nodes, {len(self.connections)} connections>"
