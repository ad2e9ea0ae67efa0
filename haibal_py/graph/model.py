"""The graph model: nodes by catalog type id, typed wires, graph inputs and outputs.

Headless (no Qt). The editor, the CLI and Python scripts all build and read graphs
through this one API; ``haibal_py.runtime.Runtime`` runs them.

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

Nodes are addressed by stable string ids (``"scc1"``: initials of the class name plus a
counter, or given), never memory addresses. Each ``GraphNode`` holds a live ``Node`` (its
parameters, instance and state) unless its type id is unknown: such a node is kept
(and saved back unchanged) but reported by ``validate``. Wires may break the rules (a
port fed twice, an unknown port, a type mismatch) because a file or the editor can hold
them; ``validate`` reports them all, ``port_types`` says how each wire looks.

Edits go through the graph (``set_param``, ``set_instance``, ``set_state`` ...): each is
logged so a ``Runtime`` re-runs only what is downstream of it; after changing a ``Node``
object directly, call ``graph.touch(node_id)``. ``with graph.transaction():`` makes a
series of edits all-or-nothing: on an error everything is rolled back (nodes, their
parameters, wires, definitions, revision, change log).

Structures (For Loop, While Loop, Case Structure: ``structures``) are nodes owning
diagrams, each a ``Graph`` nested in this one (``owner``): an edit inside a diagram is
logged on it and on every graph around it, node ids are unique in the whole graph
(``locate(node_id)`` finds the diagram holding one), and one ``transaction`` covers the
diagrams too. Build them with ``add_for_loop`` / ``add_while_loop`` / ``add_case`` and
edit their terminals and cases with ``structure(node_id)``.

This module holds the data and its editing; ``algorithms``, ``typecheck`` and
``validation`` analyse it, ``document`` reads and writes its files.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..errors import HaibalError, HaibalValueError, ParameterError, PortTypeError, UnknownNodeTypeError
from ..files.graph_format import MAX_POS, NODE_ID_RE, GraphFormatError
from ..files.limits import DEFAULT_LIMITS, Limits
from ..files.policy import FilePolicy
from ..files.png_chunks import SnippetError
from ..node.base import AUTOMATIC, Node
from ..node.registry import CATALOG
from ..node.types import PortType
from . import algorithms, document, resources, typecheck, validation
from .composite import CompositeNode, Template, expanded_size, template_node_class
from .parts import (Connection, DiagramParts, GraphError, GraphParts, GraphValidationError, NodeSpec, Problem,
                    StructureParts, TemplateParts)
from .structures import (CASE_TYPE_ID, FOR_TYPE_ID, WHILE_TYPE_ID, Diagram, Structure, StructureError,
                         StructureNode)
from .terminals import INPUT_TYPE_ID, OUTPUT_TYPE_ID, Terminal

__all__ = ["Connection", "Graph", "GraphError", "GraphNode", "GraphValidationError", "Problem", "ID_RE",
           "SUBGRAPH_PREFIX"]

ID_RE = NODE_ID_RE  # a node id: what the file format accepts (use fullmatch)
SUBGRAPH_PREFIX = "haibal.subgraph."


@dataclass
class GraphNode:
    """A node in a graph: its id, catalog type, live ``Node`` (None if the type is unknown), layout.

    ``bad_params`` keeps parameter values read from a file that the node refused
    (name -> (raw value, message)); ``validate`` reports them, saving writes them back.
    """

    id: str
    type_id: str
    node: Node | None
    pos: tuple[float, float] | None = None
    raw_params: dict[str, Any] = field(default_factory=dict)  # as read, for unknown types
    raw_name: str | None = None
    raw_instance: str = AUTOMATIC
    bad_params: dict[str, tuple[Any, str]] = field(default_factory=dict)
    raw_state: dict[str, Any] = field(default_factory=dict)  # as read, for unknown types
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
    def is_terminal(self) -> bool:
        return isinstance(self.node, Terminal)

    @property
    def label(self) -> str:
        """How messages name the node: its name, and its type when they differ (the id when
        the name is not unique is added by the graph's messages)."""
        kind = self.type_id.rsplit(".", 1)[-1]
        return f"{self.id!r} ({self.name}, {kind})" if self.name != kind else f"{self.id!r} ({kind})"

    def has_port(self, port: str, output: bool) -> bool:
        if self.node is None:
            return False
        return any(p.name == port for p in (self.node.outputs if output else self.node.inputs))


def initials(type_id: str) -> str:
    """The stem of a new node's id: the capitals and digits of its class name (``scc``)."""
    last = type_id.rsplit(".", 1)[-1]
    caps = "".join(ch for ch in last if ch.isupper() or ch.isdigit())
    return (caps or last[:4] or "node").lower()


@dataclass
class _Snapshot:
    """What ``transaction`` restores: every field an edit can change."""

    name: str
    description: str
    nodes: dict[str, GraphNode]
    node_fields: list[tuple]
    connections: list[Connection]
    local_types: dict[str, type]
    editor: dict
    revision: int
    log_length: int
    id_hint: dict[str, int]
    structures: dict[str, tuple]  # structure node id -> its terminals, diagrams and their graphs' snapshots


class Graph:
    """A dataflow graph of catalog nodes; see the module docstring."""

    def __init__(self, name: str = "", description: str = ""):
        self.name = name
        self.description = description
        self.nodes: dict[str, GraphNode] = {}
        self._wires: dict[Connection, None] = {}  # every wire, in the order added
        self._in: dict[str, list[Connection]] = {}  # node id -> wires into it
        self._out: dict[str, list[Connection]] = {}  # node id -> wires out of it
        self._base_dir: Path | None = None
        #: (the graph holding the structure, its node id) when this graph is a structure's diagram
        self.owner: tuple["Graph", str] | None = None
        self._structure_ids: dict[str, None] = {}  # the structure nodes among this graph's nodes
        #: the file it was loaded from or saved to, if any
        self.path: Path | None = None
        #: the editor's own data (view, backdrops ...): kept and saved, ignored by the runtime
        self.editor: dict[str, Any] = {}
        #: node types this graph defines itself (collapsed subgraphs): type id -> composite class
        self.local_types: dict[str, type[CompositeNode]] = {}
        self.revision = 0
        self._log: list[tuple[str | None, bool]] = []  # (changed node id, structural) per edit
        self._id_hint: dict[str, int] = {}  # id stem -> a number below which every id is taken
        self._snapshot: _Snapshot | None = None  # the open transaction's

    @property
    def base_dir(self) -> Path | None:
        """The folder relative file paths (Read File, the sibling .npz) are resolved against:
        for a structure's diagram, that of the graph holding it."""
        return self._base_dir if self.owner is None else self.root.base_dir

    @base_dir.setter
    def base_dir(self, value) -> None:
        self._base_dir = Path(value) if value is not None else None

    # ------------------------------------------------------------------ nesting
    @property
    def root(self) -> "Graph":
        """The outermost graph (this one unless it is a structure's diagram)."""
        g = self
        while g.owner is not None:
            g = g.owner[0]
        return g

    def diagrams(self) -> Iterator["Graph"]:
        """The diagrams of this graph's structures, and theirs, depth first."""
        for sid in list(self._structure_ids):
            gn = self.nodes.get(sid)
            if gn is None or not isinstance(gn.node, StructureNode):
                continue
            for d in gn.node.diagrams:
                yield d.graph
                yield from d.graph.diagrams()

    def graphs(self) -> Iterator["Graph"]:
        """This graph and every diagram inside it."""
        yield self
        yield from self.diagrams()

    def locate(self, node_id: str) -> "Graph":
        """The graph holding ``node_id``: this one or a diagram inside it (GraphError otherwise)."""
        if node_id in self.nodes:
            return self
        for g in self.diagrams():
            if node_id in g.nodes:
                return g
        self.node(node_id)  # the error, naming this graph's nodes
        raise AssertionError("unreachable")

    def find(self, node_id: str) -> GraphNode | None:
        """The node ``node_id`` in this graph or a diagram inside it (None when there is none)."""
        gn = self.nodes.get(node_id)
        if gn is not None or not self._structure_ids:
            return gn
        for g in self.diagrams():
            gn = g.nodes.get(node_id)
            if gn is not None:
                return gn
        return None

    def all_nodes(self) -> Iterator[tuple[str, GraphNode]]:
        """(id, node) of every node, this graph's then its structures' diagrams' (depth first)."""
        for g in self.graphs():
            yield from g.nodes.items()

    def _id_taken(self, node_id: str) -> bool:
        return any(node_id in g.nodes for g in self.root.graphs())

    def structure(self, node_id: str) -> Structure:
        """The editor of structure ``node_id``, in this graph or a diagram inside it (terminals,
        cases, conditional terminal, diagrams)."""
        holder = self.locate(node_id)
        gn = holder.nodes[node_id]
        if not isinstance(gn.node, StructureNode):
            raise StructureError(f"node {gn.label} is not a structure (For Loop, While Loop, Case Structure)")
        return Structure(holder, node_id)

    def new_diagram(self, node_id: str, values=(), default: bool = False, parts: GraphParts | None = None) -> Diagram:
        """A diagram for structure ``node_id`` (empty, or built from ``parts``), owned by this graph;
        the caller adds it to the structure's ``diagrams``."""
        inner = type(self)()
        inner.owner = (self, node_id)
        inner.local_types = self.root.local_types  # one set of subgraph types for the whole graph
        if parts is not None:
            inner._fill(parts)
        return Diagram(inner, values, default)

    # ------------------------------------------------------------------ lookup
    def __contains__(self, node_id: str) -> bool:
        return node_id in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, node_id: str) -> GraphNode:
        return self.node(node_id)

    def __repr__(self) -> str:
        return f"<Graph {self.name!r}: {len(self.nodes)} nodes, {len(self._wires)} connections>"

    def node(self, node_id: str) -> GraphNode:
        """The ``GraphNode`` with this id (GraphError naming the known ids otherwise)."""
        try:
            return self.nodes[node_id]
        except KeyError:
            known = ", ".join(list(self.nodes)[:20]) + (" ..." if len(self.nodes) > 20 else "")
            raise GraphError(f"no node {node_id!r} in the graph (nodes: {known or 'none'})") from None

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
    def connections(self) -> list[Connection]:
        """Every wire, in the order added (a copy: change wires with ``connect``/``disconnect``)."""
        return list(self._wires)

    @property
    def inputs(self) -> dict[str, str]:
        """Graph input terminals: name -> node id (file order)."""
        return {gn.name: gid for gid, gn in self.nodes.items() if gn.is_input}

    @property
    def outputs(self) -> dict[str, str]:
        """Graph output terminals: name -> node id (file order)."""
        return {gn.name: gid for gid, gn in self.nodes.items() if gn.is_output}

    def incoming(self, node_id: str) -> list[Connection]:
        return list(self._in.get(node_id, ()))

    def outgoing(self, node_id: str) -> list[Connection]:
        return list(self._out.get(node_id, ()))

    def successors(self, node_id: str) -> Iterator[str]:
        """The node at the end of each wire out of ``node_id`` (once per wire)."""
        return (c.dst for c in self._out.get(node_id, ()))

    def node_class(self, type_id: str) -> type[Node]:
        """The class of a type id: the graph's own subgraph types first, then the catalog
        (UnknownNodeTypeError naming it otherwise)."""
        cls = self.local_types.get(type_id)
        return cls if cls is not None else CATALOG.get(type_id)

    def label(self, node_id: str) -> str:
        """How a message names a node the user knows: its name (and its id when names repeat)."""
        gn = self.nodes.get(node_id)
        if gn is None:
            return repr(node_id)
        return gn.label

    # ------------------------------------------------------------------ change log
    def _touch(self, gn: GraphNode | None = None, structural: bool = False) -> None:
        """Record a change: runtimes read the log to re-run only what changed. A change in a
        structure's diagram is a change of the structure in the graph holding it."""
        self.revision += 1
        if gn is not None:
            gn.revision += 1
        self._log.append((gn.id if gn is not None else None, structural))
        if self.owner is not None:
            parent, sid = self.owner
            holder = parent.nodes.get(sid)
            if holder is not None and isinstance(holder.node, StructureNode) and \
                    any(d.graph is self for d in holder.node.diagrams):
                parent._touch(holder, structural)

    def touch(self, node_id: str, structural: bool = False) -> None:
        """Say that a node's ``Node`` was changed directly (not through ``set_param``), so
        runtimes recompute it and what depends on it; ``structural``: its ports changed (a
        structure's terminals), so the graph is validated again."""
        self._touch(self.node(node_id), structural)

    def changes_since(self, mark: int) -> tuple[int, set[str], bool]:
        """(new mark, ids of changed nodes, whether wires/nodes/instances/types changed) since ``mark``.

        A mark beyond the log (a transaction rolled back after it was read) counts as a
        structural change."""
        if mark > len(self._log):
            return len(self._log), set(self.nodes), True
        ids, structural = set(), False
        for node_id, struct in self._log[mark:]:
            structural = structural or struct
            if node_id is not None:
                ids.add(node_id)
        return len(self._log), ids, structural

    @contextmanager
    def transaction(self):
        """All-or-nothing edits: on any error inside the block, the graph is restored exactly
        (nodes, parameters, instances, state, wires, definitions, revision, change log)."""
        if self._snapshot is not None:  # nested: the outermost block restores
            yield self
            return
        self._snapshot = self._take_snapshot()
        try:
            yield self
        except BaseException:
            self._restore(self._snapshot)
            raise
        finally:
            self._snapshot = None

    def _take_snapshot(self) -> _Snapshot:
        fields = [(gn, gn.pos, dict(gn.raw_params), gn.raw_name, gn.raw_instance, dict(gn.bad_params),
                   dict(gn.raw_state), gn.revision,
                   None if gn.node is None else (gn.node.name, dict(gn.node.values), gn.node.instance,
                                                 dict(gn.node.state)))
                  for gn in self.nodes.values()]
        structures = {}
        for sid in self._structure_ids:
            node = self.nodes[sid].node
            structures[sid] = (node, node.terminals, node.size,
                               [(d, d.values, d.default, d.graph._take_snapshot()) for d in node.diagrams])
        return _Snapshot(self.name, self.description, dict(self.nodes), fields, list(self._wires),
                         dict(self.local_types), dict(self.editor), self.revision, len(self._log),
                         dict(self._id_hint), structures)

    def _restore(self, snap: _Snapshot) -> None:
        self.name, self.description = snap.name, snap.description
        self.nodes = snap.nodes
        for gn, pos, raw_params, raw_name, raw_instance, bad, raw_state, revision, live in snap.node_fields:
            gn.pos, gn.raw_params, gn.raw_name, gn.raw_instance = pos, raw_params, raw_name, raw_instance
            gn.bad_params, gn.raw_state, gn.revision = bad, raw_state, revision
            if live is not None:
                gn.node.name, gn.node.values, gn.node.instance, gn.node.state = live
        self._wires, self._in, self._out = {}, {}, {}
        for c in snap.connections:
            self._link(c)
        self.local_types.clear()  # in place: the diagrams share the dict
        self.local_types.update(snap.local_types)
        self.editor = snap.editor
        self.revision = snap.revision
        del self._log[snap.log_length:]
        self._id_hint = snap.id_hint
        self._structure_ids = dict.fromkeys(snap.structures)
        for node, terminals, size, diagrams in snap.structures.values():
            node.terminals, node.size = terminals, size
            node.diagrams = []
            for d, values, default, inner in diagrams:
                d.values, d.default = values, default
                d.graph._restore(inner)
                node.diagrams.append(d)
            node.refresh()

    # ------------------------------------------------------------------ editing
    def new_id(self, type_id: str) -> str:
        """A fresh stable id for a node of this type (``scc1``, ``scc2`` ...), unique in the
        whole graph (its structures' diagrams included)."""
        stem = initials(type_id)
        root = self.root
        if not root._structure_ids and root is self:  # no diagrams: the common, fast case
            taken = self.nodes.__contains__
        else:
            taken = root._id_taken
        n = root._id_hint.get(stem, 1) if taken(f"{stem}1") else 1  # lowest free number
        while taken(f"{stem}{n}"):
            n += 1
        root._id_hint[stem] = n
        return f"{stem}{n}"

    def _check_new_id(self, node_id: str) -> str:
        if not isinstance(node_id, str) or not ID_RE.fullmatch(node_id):
            raise GraphError(f"node id {node_id!r} must be a letter or _ followed by letters, digits, _ or -")
        if node_id in self.nodes or (self.root._structure_ids or self.owner is not None) and self._id_taken(node_id):
            raise GraphError(f"node id {node_id!r} is already used")
        return node_id

    def add_node(self, type_id: str, name: str | None = None, params: Mapping[str, Any] | None = None,
                 instance: str = AUTOMATIC, pos: Iterable[float] | None = None, id: str | None = None,
                 state: Mapping[str, Any] | None = None) -> str:
        """Add a node of catalog type ``type_id`` (or a subgraph type of this graph); returns its id.

        Unknown type ids, parameters or instances raise at once (UnknownNodeTypeError,
        ParameterError); ``from_parts`` is the lenient path that keeps them for ``validate``.
        """
        cls = self.node_class(type_id)
        type_id = cls.type_id if type_id not in self.local_types else type_id  # a renamed type: its new id
        node_id = self._check_new_id(id) if id is not None else self.new_id(type_id)
        node = cls(name, instance=instance, **dict(params or {}))
        if state:
            node.set_state(state)
        gn = GraphNode(node_id, type_id, node, _pos(pos), raw_instance=instance)
        if gn.is_input or gn.is_output:
            taken = self.inputs if gn.is_input else self.outputs
            if gn.name in taken:
                raise GraphError(f"the graph already has an {'input' if gn.is_input else 'output'} "
                                 f"named {gn.name!r}")
        if isinstance(node, StructureNode):
            node.diagrams = [self.new_diagram(node_id, values, default) for values, default in _first_cases(node)]
            node.refresh()
            self._structure_ids[node_id] = None
        self.nodes[node_id] = gn
        self._touch(gn, structural=True)
        return node_id

    def add_for_loop(self, name: str | None = None, pos: Iterable[float] | None = None,
                     size: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a For Loop (its diagram holds the iteration terminal ``i``); returns its id.
        Give it terminals with ``structure(id)``: ``add_tunnel``, ``add_shift_register``."""
        return self._add_structure(FOR_TYPE_ID, name, pos, size, id, condition=None)

    def add_while_loop(self, name: str | None = None, condition: str = "stop", pos: Iterable[float] | None = None,
                       size: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a While Loop: its diagram holds ``i`` and the conditional terminal (a graph output
        named ``"stop"``: stop if true, or ``"continue"``: continue if true); returns its id."""
        return self._add_structure(WHILE_TYPE_ID, name, pos, size, id, condition=condition)

    def add_case(self, cases: Iterable = (False, True), default: bool | int = False, name: str | None = None,
                 pos: Iterable[float] | None = None, size: Iterable[float] | None = None,
                 id: str | None = None) -> str:
        """Add a Case Structure with one case per item of ``cases`` (a selector value, or a
        list of them); ``default=True`` adds a Default case after them, an index makes that
        case the Default too (LabVIEW's ``0, Default``). Returns its id."""
        specs = [tuple(c) if isinstance(c, (list, tuple)) else (c,) for c in cases]
        if not specs and default is not True:
            raise StructureError("a Case Structure needs at least one case")
        with self.transaction():
            node_id = self.add_node(CASE_TYPE_ID, name, pos=pos, id=id)
            node = self.nodes[node_id].node
            node.diagrams = node.diagrams[:1]  # its first case, re-labelled below
            node.diagrams[0].values = ()
            st = self.structure(node_id)
            for k, values in enumerate(specs):
                is_default = not isinstance(default, bool) and k == default
                if k == 0:
                    st.set_case(0, values, default=is_default)
                else:
                    st.add_case(values, default=is_default)
            if default is True:
                if specs:
                    st.add_case((), default=True)
                else:
                    st.set_case(0, (), default=True)
            if size is not None:
                st.set_size(size)
        return node_id

    def _add_structure(self, type_id, name, pos, size, id, condition) -> str:
        with self.transaction():
            node_id = self.add_node(type_id, name, pos=pos, id=id)
            st = self.structure(node_id)
            st.add_iteration()
            if condition is not None:
                st.set_condition(condition)
            if size is not None:
                st.set_size(size)
        return node_id

    def add_input(self, name: str, default=None, type: str | PortType = "any", doc: str = "",
                  pos: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a graph input terminal named ``name`` (also its id when free); returns its id."""
        node_id = id if id is not None else (name if ID_RE.fullmatch(name) and not self._id_taken(name) else None)
        return self.add_node(INPUT_TYPE_ID, name, {"type": str(type), "default": default, "doc": doc},
                             pos=pos, id=node_id)

    def add_output(self, name: str, type: str | PortType = "any", doc: str = "",
                   pos: Iterable[float] | None = None, id: str | None = None) -> str:
        """Add a graph output terminal named ``name`` (also its id when free); returns its id."""
        node_id = id if id is not None else (name if ID_RE.fullmatch(name) and not self._id_taken(name) else None)
        return self.add_node(OUTPUT_TYPE_ID, name, {"type": str(type), "doc": doc}, pos=pos, id=node_id)

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every wire to or from it (a structure with its diagrams)."""
        self.node(node_id)
        fed = {c.dst for c in self._out.get(node_id, ()) if c.dst != node_id}
        for c in self.incoming(node_id) + self.outgoing(node_id):
            self._unlink(c)
        del self.nodes[node_id]
        self._in.pop(node_id, None)
        self._out.pop(node_id, None)
        self._structure_ids.pop(node_id, None)
        self.root._id_hint.clear()  # a number became free
        self._touch(structural=True)
        for dst in fed:
            if dst in self.nodes:
                self._touch(self.nodes[dst])

    def _link(self, c: Connection) -> None:
        self._wires[c] = None
        self._in.setdefault(c.dst, []).append(c)
        self._out.setdefault(c.src, []).append(c)

    def _unlink(self, c: Connection) -> None:
        del self._wires[c]
        self._in[c.dst].remove(c)
        self._out[c.src].remove(c)

    def has_wire(self, conn: Connection) -> bool:
        """Whether this graph has the wire ``conn``."""
        return conn in self._wires

    def feeding(self, node_id: str, port: str) -> list[Connection]:
        """The wires into ``node_id.port`` (more than one only in a faulty file)."""
        return [c for c in self._in.get(node_id, ()) if c.dst_port == port]

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
        fed = self.feeding(dst, dst_port)
        if fed and not replace:
            raise GraphError(f"input {dst_port!r} of node {d.label} is already fed by {fed[0].src}.{fed[0].src_port}")
        for old in fed:
            self._unlink(old)
        conn = Connection(src, src_port, dst, dst_port)
        self._link(conn)
        self._touch(d, structural=True)
        return conn

    def _port(self, gn: GraphNode, port: str, output: bool):
        try:
            return gn.node.output(port) if output else gn.node.input(port)
        except PortTypeError as exc:
            raise GraphError(f"node {gn.id!r}: {exc}") from None

    def disconnect(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        """Remove the wire ``src.src_port -> dst.dst_port`` (GraphError if there is none)."""
        conn = Connection(src, src_port, dst, dst_port)
        if conn not in self._wires:
            raise GraphError(f"no connection {conn}")
        self._unlink(conn)
        self._touch(self.nodes.get(dst), structural=True)

    def _live(self, node_id: str) -> GraphNode:
        gn = self.node(node_id)
        if gn.node is None:
            raise UnknownNodeTypeError(f"node {node_id!r}: unknown node type {gn.type_id!r}")
        return gn

    def set_param(self, node_id: str, name: str, value) -> None:
        """Set a parameter (checked and converted by the node; ParameterError otherwise)."""
        gn = self._live(node_id)
        if gn.is_terminal and name == "name":
            return self.rename(node_id, value)
        try:
            gn.node.set_param(name, value)
        except ParameterError as exc:
            raise type(exc)(f"node {node_id!r}: {exc}") from None
        was_bad = gn.bad_params.pop(name, None) is not None
        self._touch(gn, structural=was_bad or (gn.is_terminal and name == "type"))

    def set_instance(self, node_id: str, instance: str) -> None:
        """Pin a polymorphic instance by name, or ``"automatic"`` to pick from the wired types."""
        gn = self._live(node_id)
        try:
            gn.node.instance = instance
        except ParameterError as exc:
            raise type(exc)(f"node {node_id!r}: {exc}") from None
        gn.raw_instance = instance
        self._touch(gn, structural=True)

    def set_state(self, node_id: str, state: Mapping[str, Any]) -> None:
        """Replace a stateful node's persistent arrays (its weights, its optimizer slots)."""
        gn = self._live(node_id)
        gn.node.set_state(state)
        self._touch(gn)

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
        self.node(node_id).pos = _pos(pos)

    def define_template(self, template: Template, source: str = "subgraph") -> str:
        """Make a template a node type of this graph (``haibal.subgraph.NAME``); returns the type id.

        A definition with the same name as another, different one is refused: type ids
        are the names, as a file refers to them."""
        type_id = SUBGRAPH_PREFIX + template.name.strip().replace(" ", "_")
        have = self.local_types.get(type_id)
        if have is not None and have.template is not template and have.template.to_dict() != template.to_dict():
            raise SnippetError(f"{source}: the graph already defines a different subgraph named {template.name!r}")
        if have is None or have.template is not template:
            if have is None and type_id in CATALOG:
                raise SnippetError(f"{source}: subgraph name {template.name!r} gives type id {type_id!r}, "
                                   f"which a catalog node already uses")
            self.local_types[type_id] = template_node_class(template, type_id)
        return type_id

    # ------------------------------------------------------------------ analysis
    def topological_order(self) -> tuple[list[str], list[str]]:
        """(node ids in dataflow order, node ids on or behind a cycle). Ties keep file order."""
        return algorithms.topological_order(self.nodes, self.successors)

    def port_types(self) -> typecheck.TypeInfo:
        """Static port types propagated through the graph (see ``typecheck.TypeInfo``)."""
        return typecheck.port_types(self)

    def validate(self, policy: FilePolicy | None = None, limits: Limits | None = None) -> list[Problem]:
        """Every reason the graph cannot run, in a stable order; [] when it can run. Files
        are checked against ``policy`` (default: the graph's folder and below) and sizes
        against ``limits`` (default: ``Limits()``), as the runtime will."""
        return validation.validate(self, policy, limits)

    def check(self, policy: FilePolicy | None = None, limits: Limits | None = None) -> None:
        """Raise GraphValidationError listing every problem, if there is any."""
        problems = self.validate(policy, limits)
        if problems:
            raise GraphValidationError(problems)

    def files(self, policy: FilePolicy | None = None) -> list[resources.FileAccess]:
        """Every file the graph would read or write (inside composite nodes too), each with
        where it leads or why ``policy`` refuses it."""
        return resources.file_accesses(self, policy)

    def expanded_size(self) -> tuple[int, int]:
        """(nodes, nesting depth) with every composite node counted with its inner graph."""
        return expanded_size(self)

    # ------------------------------------------------------------------ parts and files
    def to_parts(self) -> GraphParts:
        """The graph as data (what its file holds)."""
        specs = []
        for gid, gn in self.nodes.items():
            instance = gn.raw_instance if gn.raw_instance != AUTOMATIC else gn.instance
            params = gn.params
            params.update({name: raw for name, (raw, _msg) in gn.bad_params.items()})  # saved as read
            state = gn.node.get_state() if gn.node is not None else dict(gn.raw_state)
            structure = None
            if isinstance(gn.node, StructureNode):
                node = gn.node
                structure = StructureParts(list(node.terminals), [
                    DiagramParts(d.graph.to_parts(), d.values, d.default) for d in node.diagrams], node.size)
            specs.append(NodeSpec(gid, gn.type_id, gn.name, instance, params, gn.pos, state, structure))
        used = []
        if self.owner is None:  # the definitions of subgraphs are the outermost graph's, for its diagrams too
            used = [t for t in dict.fromkeys(gn.type_id for g in self.graphs() for gn in g.nodes.values())
                    if isinstance(getattr(self.local_types.get(t), "template", None), Template)]
        return GraphParts(self.name, self.description, specs, list(self._wires), dict(self.editor),
                          [self.local_types[t].template.to_parts() for t in used])

    @classmethod
    def from_parts(cls, parts: GraphParts, base_dir: str | Path | None = None,
                   local_types: Mapping[str, type[CompositeNode]] | None = None) -> "Graph":
        """A graph from its parts: the one constructor the loader uses. Lenient: unknown
        node types, refused parameter values and unknown instances are kept for ``validate``;
        a subgraph definition that is not a valid template raises SnippetError.
        ``local_types``: subgraph types already built (a copy shares its original's)."""
        graph = cls(parts.name, parts.description)
        graph.base_dir = Path(base_dir) if base_dir is not None else None
        graph.local_types.update(local_types or {})
        for tp in parts.subgraphs:
            graph.define_template(cls.template_from_parts(tp, base_dir), source=f"subgraph {tp.name!r}")
        graph._fill(parts)
        if graph._structure_ids:  # ids are unique in the whole graph, diagrams included
            seen: set[str] = set()
            for g in graph.graphs():
                twice = seen & set(g.nodes)
                if twice:
                    raise GraphError(f"node id {sorted(twice)[0]!r} is used twice (node ids are unique in the "
                                     f"whole graph, inside structures too)")
                seen |= set(g.nodes)
        return graph

    def add_parts(self, parts: GraphParts) -> list[str]:
        """Add the nodes of ``parts`` (structures with their diagrams) and the wires among them,
        keeping their ids (GraphError when one is taken in the whole graph); returns the ids.
        Moving nodes into or out of a structure, and pasting, go through it."""
        ids = [spec.id for spec in parts.nodes]
        inner = [gid for spec in parts.nodes if spec.structure is not None
                 for gid in _spec_ids(spec.structure)]
        with self.transaction():
            for gid in ids + inner:
                self._check_new_id(gid)
            if len(set(ids + inner)) != len(ids) + len(inner):
                raise GraphError("the nodes to add use one id twice")
            self._add_specs(parts.nodes, parts.connections)
        return ids

    def _fill(self, parts: GraphParts) -> None:
        """Add the nodes (structures with their diagrams), wires and editor data of ``parts``."""
        self.editor = dict(parts.editor)
        self._add_specs(parts.nodes, parts.connections)

    def _add_specs(self, specs: list[NodeSpec], connections: list[Connection]) -> None:
        for spec in specs:
            if spec.id in self.nodes:
                raise GraphError(f"node id {spec.id!r} is used twice")
            self.nodes[spec.id] = gn = self._node_from_spec(spec)
            if isinstance(gn.node, StructureNode):
                self._structure_ids[spec.id] = None
                self._build_structure(gn, spec.structure)
            elif spec.structure is not None:
                raise GraphError(f"node {spec.id!r} ({spec.type_id}) holds a structure but is not one "
                                 f"(For Loop, While Loop, Case Structure)")
        for c in connections:
            if c not in self._wires:
                self._link(c)
        self._touch(structural=True)

    def _build_structure(self, gn: GraphNode, parts: StructureParts | None) -> None:
        node = gn.node
        if parts is None:  # a structure made without its parts (a bare add): its first cases, empty
            node.diagrams = [self.new_diagram(gn.id, values, default) for values, default in _first_cases(node)]
        else:
            node.terminals = tuple(parts.terminals)
            node.size = parts.size
            node.diagrams = [self.new_diagram(gn.id, d.values, d.default, d.graph) for d in parts.diagrams]
            if node.loop and len(node.diagrams) != 1:
                raise GraphError(f"node {gn.id!r}: a {node.display_name} has one diagram, got {len(node.diagrams)}")
        node.refresh()

    def _node_from_spec(self, spec: NodeSpec) -> GraphNode:
        try:
            cls = self.node_class(spec.type_id)
        except UnknownNodeTypeError:
            return GraphNode(spec.id, spec.type_id, None, spec.pos, raw_params=dict(spec.params),
                             raw_name=spec.name, raw_instance=spec.instance, raw_state=dict(spec.state))
        try:
            node = cls(spec.name)
        except Exception as exc:  # a node class that cannot be built from its defaults
            raise GraphError(f"node {spec.id!r} ({spec.type_id}) cannot be created: {exc}") from None
        type_id = spec.type_id if spec.type_id in self.local_types else cls.type_id
        gn = GraphNode(spec.id, type_id, node, spec.pos, raw_name=spec.name, raw_instance=spec.instance)
        try:
            node.instance = spec.instance
        except HaibalError:
            pass  # kept in raw_instance; validate reports it
        for pname, value in spec.params.items():
            try:
                node.set_param(pname, value)
            except Exception as exc:  # unknown parameter or refused value: a problem, not a crash
                message = str(exc) if isinstance(exc, HaibalError) else f"parameter {pname!r}: {exc}"
                gn.bad_params[pname] = (value, message)
        if spec.state:
            try:
                node.set_state(spec.state)
            except HaibalError as exc:
                raise GraphError(f"node {spec.id!r}: {exc}") from None
        return gn

    @classmethod
    def template_from_parts(cls, parts: TemplateParts, base_dir=None, source: str = "") -> Template:
        """A checked template (its graph built with this class): SnippetError when a node type
        is unknown, a parameter value refused, the wiring malformed or an exposed parameter wrong."""
        where = source or f"snippet {parts.name!r}"
        try:
            graph = cls.from_parts(parts.graph, base_dir)
        except HaibalError as exc:
            raise SnippetError(f"{where}: the snippet's graph is invalid: {exc}") from None
        graph.name = parts.name
        template = Template(parts.name, graph, parts.description, parts.category, parts.params)
        validation.check_template(template, where)
        return template

    def copy(self) -> "Graph":
        """An independent copy (same ids, names, parameters, instances, state, positions, wires)."""
        parts = self.to_parts()
        parts.subgraphs = []  # the definitions are shared, not rebuilt
        return type(self).from_parts(parts, self.base_dir, local_types=self.local_types)

    def to_dict(self, arrays: dict | None = None, inline_limit: int | None = None) -> dict:
        """The saved-graph document (``docs/graph-format.md``). Arrays larger than
        ``inline_limit`` elements go into ``arrays`` (key -> array) when it is given."""
        return document.graph_to_document(self.to_parts(), arrays=arrays, inline_limit=inline_limit)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], base_dir: str | Path | None = None, arrays=None,
                  source: str = "") -> "Graph":
        """A graph from a saved-graph document, checked against the JSON Schema
        (GraphFormatError otherwise). ``arrays``: key -> array for ``{"npz": key}`` values."""
        parts = document.graph_from_document(doc, arrays=arrays, source=source)
        return cls._from_file_parts(parts, base_dir, source)

    @classmethod
    def _from_file_parts(cls, parts: GraphParts, base_dir, source: str) -> "Graph":
        try:
            return cls.from_parts(parts, base_dir)
        except (SnippetError, GraphError) as exc:
            raise GraphFormatError(f"{source}: {exc}" if source else str(exc)) from None

    def save(self, path: str | Path) -> None:
        """Write the graph atomically, large arrays and node state in a content-named ``.npz``
        beside it: the pair is never mixed, even by a save killed midway or concurrent saves."""
        path = Path(path)
        document.save_parts(self.to_parts(), path)
        self.base_dir = path.parent
        self.path = path

    @classmethod
    def load(cls, path: str | Path, limits: Limits | None = None) -> "Graph":
        """Read a saved graph (never runs code, never unpickles; GraphFormatError on a bad
        file); its sibling ``.npz`` is read within ``limits`` (LimitError beyond them)."""
        path = Path(path)
        graph = cls._from_file_parts(document.load_parts(path, limits or DEFAULT_LIMITS), path.parent, str(path))
        graph.path = path
        return graph


def _spec_ids(structure: StructureParts) -> list[str]:
    """The ids of the nodes inside a structure's parts, at every depth."""
    out = []
    for d in structure.diagrams:
        for spec in d.graph.nodes:
            out.append(spec.id)
            if spec.structure is not None:
                out.extend(_spec_ids(spec.structure))
    return out


def _first_cases(node: StructureNode) -> list[tuple[tuple, bool]]:
    """The diagrams a new structure starts with: a loop's body; a Case Structure's False and True."""
    return [((), False)] if node.loop else [((False,), False), ((True,), False)]


def _pos(pos: Iterable[float] | None) -> tuple[float, float] | None:
    """A canvas position: two finite numbers within +-MAX_POS (what the file format keeps)."""
    if pos is None:
        return None
    try:
        xy = tuple(float(v) for v in pos)
    except (TypeError, ValueError, OverflowError):
        xy = ()
    if len(xy) != 2 or not all(math.isfinite(v) and abs(v) <= MAX_POS for v in xy):
        raise HaibalValueError(f"a node position is two finite numbers within +-{MAX_POS:g}, got {pos!r}")
    return xy
