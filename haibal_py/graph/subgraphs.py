"""Collapsed subgraphs: part of a graph kept as ONE composite node (LabVIEW's "Create SubVI").

- ``collapse(graph, node_ids, name)`` turns the selected nodes into a snippet
  (``Snippet.from_selection``: wires crossing the selection become its inputs and
  outputs), defines it as a node type of this graph (``haibal.subgraph.NAME``), and puts
  one node of that type where the selection was, wired as the selection was.
- ``expand(graph, node_id)`` is the inverse: the composite node's inner nodes come back
  as ordinary nodes, wired to what the composite node was wired to.
- A graph file stores each definition it uses under ``"subgraphs"`` (a snippet document:
  data, never code). A composite node runs its inner graph through the runtime's
  sub-runtime for it (``composite.CompositeNode``).

Each operation is one ``graph.transaction()``: an error (``SubgraphError``, naming the
node at fault) leaves the graph exactly as it was.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..errors import HaibalError
from ..files.png_chunks import SnippetError
from ..files.snippet_format import file_stem
from ..node.registry import CATALOG
from .composite import Template
from .model import SUBGRAPH_PREFIX, Graph
from .parts import GraphParts
from .templates import Snippet, moved_specs
from .terminals import Constant

__all__ = ["SUBGRAPH_PREFIX", "SubgraphError", "collapse", "expand", "define_subgraph", "is_subgraph",
           "subgraph_of", "redefine"]


class SubgraphError(SnippetError):
    """A selection cannot be collapsed, a node cannot be expanded, or a definition is invalid."""


def type_id_for(name: str) -> str:
    return SUBGRAPH_PREFIX + file_stem(name)


def is_subgraph(graph: Graph, node_id: str) -> bool:
    """Whether the node is a collapsed subgraph of ``graph``."""
    return graph.node(node_id).type_id in graph.local_types


def subgraph_of(graph: Graph, node_id: str) -> Template:
    """The definition behind a composite node (SubgraphError if it is an ordinary node)."""
    gn = graph.node(node_id)
    cls = graph.local_types.get(gn.type_id)
    if cls is None:
        raise SubgraphError(f"node {gn.label} is not a collapsed subgraph")
    return cls.template


def define_subgraph(graph: Graph, definition: Template | Mapping[str, Any], source: str = "subgraph") -> str:
    """Make a template (or its snippet document) a node type of ``graph``; returns the type id.

    A definition with the same name as another, different one is refused: type ids are
    the names (``haibal.subgraph.NAME``), as a file refers to them.
    """
    template = definition if isinstance(definition, Template) else Snippet.from_dict(definition, source)
    try:
        return graph.define_template(template, source)
    except SubgraphError:
        raise
    except SnippetError as exc:
        raise SubgraphError(str(exc)) from None


def free_name(graph: Graph, base: str) -> str:
    """``base``, or ``base 2``, ``base 3`` ... : a subgraph name no definition of ``graph`` uses."""
    name, n = base, 2
    while type_id_for(name) in graph.local_types or type_id_for(name) in CATALOG:
        name, n = f"{base} {n}", n + 1
    return name


# ---------------------------------------------------------------------------------- collapse
def collapse(graph: Graph, node_ids: Iterable[str], name: str = "Subgraph", description: str = "",
             category: str = "", expose: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Replace the nodes ``node_ids`` by one composite node; returns its id.

    The name is made unique among the graph's subgraphs (``Subgraph 2``). Graph inputs and
    outputs cannot go inside: they are the graph's own interface.
    """
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        raise SubgraphError("select the nodes to collapse into a subgraph first")
    for gid in ids:
        gn = graph.node(gid)
        if gn.is_input or gn.is_output:
            raise SubgraphError(f"node {gn.label} is a graph {'input' if gn.is_input else 'output'}: "
                                f"terminals stay in the graph; leave it out of the selection")
    name = free_name(graph, name)
    if not description:  # what its help text (hover, F1) says
        description = "A collapsed subgraph of " + ", ".join(graph.nodes[g].name for g in ids) + "."
    snippet = Snippet.from_selection(graph, ids, name, description, category, expose=expose)
    inner = snippet.graph
    fed_by = {}  # (selected node, input port) -> template input name
    for tname, tid in inner.inputs.items():
        for c in inner.outgoing(tid):
            fed_by[(c.dst, c.dst_port)] = tname
    feeds = {}  # (selected node, output port) -> template output name
    for tname, tid in inner.outputs.items():
        for c in inner.incoming(tid):
            feeds[(c.src, c.src_port)] = tname
    chosen = set(ids)
    wires_in, wires_out = {}, []
    for c in graph.connections:
        if c.dst in chosen and c.src not in chosen:
            wires_in[fed_by[(c.dst, c.dst_port)]] = (c.src, c.src_port)
        elif c.src in chosen and c.dst not in chosen:
            wires_out.append((feeds[(c.src, c.src_port)], c.dst, c.dst_port))
    for tname in wires_in:  # wired from outside: a default would only bloat the file
        inner.set_param(inner.inputs[tname], "default", None)
    positions = [graph.nodes[g].pos for g in ids if graph.nodes[g].pos is not None]
    pos = (min(p[0] for p in positions), min(p[1] for p in positions)) if positions else None

    def apply(g: Graph) -> str:
        type_id = define_subgraph(g, snippet)
        for gid in ids:
            g.remove_node(gid)
        new_id = g.add_node(type_id, name, pos=pos)
        for tname, (src, port) in wires_in.items():
            g.connect(src, port, new_id, tname)
        for tname, dst, port in wires_out:
            g.connect(new_id, tname, dst, port)
        return new_id

    return _atomically(graph, apply, f"cannot collapse into subgraph {name!r}")


# ---------------------------------------------------------------------------------- expand
def expand(graph: Graph, node_id: str) -> dict[str, str]:
    """Put a composite node's inner nodes back in its place; returns {inner id: new node id}.

    Its parameter values go to the inner nodes they stand for. A template input that was
    not wired but has a default becomes a Constant node holding it, so the graph computes
    what it computed before.
    """
    snippet = subgraph_of(graph, node_id)
    gn = graph.nodes[node_id]
    template = snippet.runnable(params={p.name: gn.node.values[p.name] for p in snippet.params})
    body = [gid for gid, n in template.nodes.items() if not (n.is_input or n.is_output)]
    incoming = {c.dst_port: (c.src, c.src_port) for c in graph.incoming(node_id)}
    outgoing = [(c.src_port, c.dst, c.dst_port) for c in graph.outgoing(node_id)]
    positions = [template.nodes[b].pos for b in body if template.nodes[b].pos is not None]
    x0, y0 = (min(p[0] for p in positions), min(p[1] for p in positions)) if positions else (0.0, 0.0)
    at = gn.pos or (0.0, 0.0)

    def apply(g: Graph) -> dict[str, str]:
        used = {gn.type_id for h in template.graphs() for gn in h.nodes.values()}  # inside structures too
        for type_id in used & set(template.local_types):
            define_subgraph(g, template.local_types[type_id].template)  # nested subgraphs come along
        g.remove_node(node_id)
        mapping: dict[str, str] = {}
        chosen = set(body)
        specs = [spec for spec in template.to_parts().nodes if spec.id in chosen]
        g.add_parts(GraphParts(nodes=moved_specs(g, specs, (at[0] - x0, at[1] - y0), at, mapping, set())))
        # each template port: the outer end it had, as a source (node, port) in g
        sources: dict[str, tuple[str, str] | None] = {}
        for tname, tid in template.inputs.items():
            source = incoming.get(tname)
            default = template.nodes[tid].params.get("default")
            if source is None and default is not None and template.outgoing(tid):
                const = g.add_node(Constant.type_id, f"{tname} (constant)", {"value": default},
                                   pos=(at[0] - 200.0, at[1]))
                source = (const, "value")
            sources[tid] = source
        for c in template.connections:
            src = sources.get(c.src) if c.src in template.inputs.values() else (mapping.get(c.src), c.src_port)
            if c.dst in mapping and src is not None and src[0] is not None:
                g.connect(src[0], src[1], mapping[c.dst], c.dst_port)
        for tname, dst, port in outgoing:
            tid = template.outputs[tname]
            for c in template.incoming(tid):
                src = sources.get(c.src) if c.src in template.inputs.values() else (mapping[c.src], c.src_port)
                if src is not None:
                    g.connect(src[0], src[1], dst, port)
        return {gid: mapping[gid] for gid in body}

    return _atomically(graph, apply, f"cannot expand node {gn.label}")


# ---------------------------------------------------------------------------------- edit
def redefine(graph: Graph, type_id: str, inner: Graph) -> list[str]:
    """Replace a subgraph's definition by the edited graph ``inner`` (from the editor's
    subgraph window); every node of that type is rebuilt with the new ports. Wires to
    ports the new definition no longer has are dropped: returns them, described."""
    old = graph.local_types.get(type_id)
    if old is None:
        raise SubgraphError(f"the graph has no subgraph type {type_id!r}")
    snippet = Snippet(old.template.name, inner.copy(), old.template.description, old.template.category,
                      [p for p in old.template.params if p.node in inner.nodes])
    snippet.graph.name = old.template.name
    snippet.check()
    users = [gid for gid, gn in graph.nodes.items() if gn.type_id == type_id]

    def apply(g: Graph) -> list[str]:
        del g.local_types[type_id]
        define_subgraph(g, snippet)
        dropped = []
        for gid in users:
            gn = g.nodes[gid]
            wires = g.incoming(gid) + g.outgoing(gid)
            params = {k: v for k, v in gn.params.items() if k in {p.name for p in snippet.params}}
            name, pos, instance = gn.name, gn.pos, gn.instance
            g.remove_node(gid)
            g.add_node(type_id, name, params, instance, pos, id=gid)
            for c in wires:
                try:
                    g.connect(c.src, c.src_port, c.dst, c.dst_port)
                except HaibalError:
                    dropped.append(f"{c} (the subgraph has no port "
                                   f"{c.dst_port if c.dst == gid else c.src_port!r} any more)")
        return dropped

    return _atomically(graph, apply, f"cannot update subgraph {snippet.name!r}")


def _atomically(graph: Graph, apply, what: str):
    """Run ``apply(graph)`` in one transaction: on any error the graph is as it was."""
    try:
        with graph.transaction():
            return apply(graph)
    except HaibalError as exc:
        raise SubgraphError(f"{what}: {exc}") from None
