"""Snippets: templates made from a selection, read from files, inserted into graphs.

LabVIEW documents its functions with "snippets": PNG pictures of a block diagram that
become code when dropped on a diagram. A haibal snippet is the same idea for a ``Graph``:

- ``Snippet.from_selection(graph, node_ids, name=...)`` copies the selected nodes and the
  wires among them; every wire that crossed the selection's edge becomes a graph
  terminal of the template: a wire coming in becomes a named template input (a
  ``GraphInput`` whose default is the value the original graph gave it, when known), a
  wire going out a template output. Parameters can be exposed (``expose={"from_logits":
  ("scc1", "from_logits")}``); their defaults are the node's values.
- The snippet document (``to_json``) is versioned (``"format": "haibal-snippet"``,
  ``"version": 1``) and embeds the template as a saved-graph document.
  ``save(folder)`` writes ``NAME.snippet.json`` and ``NAME.png``: a picture whose PNG
  ``iTXt`` chunk ``haibal-snippet`` carries the very same JSON text, byte for byte.
- ``load_snippet(path)`` reads either file. Loading checks the format, the version, the
  catalog types and parameters of every node; it never executes code.
- ``insert_snippet(graph, snippet, at=(x, y))`` adds the template's nodes to a graph as
  ordinary nodes (ids remapped, positions moved to the drop point); on any error the
  graph is left exactly as it was.
- ``snippet_node_class(snippet)`` is a composite node whose ports are the template's
  inputs and outputs; running it runs the inner graph.
- ``load_runnable(path)``: the template graph of a snippet file, for ``haibal run``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ..errors import HaibalError
from ..files.graph_format import GraphFormatError, loads
from ..files.png_chunks import NO_SNIPPET, SnippetError
from ..files.snippet_format import (JSON_SUFFIX, PNG_SUFFIX, check_name, file_stem, is_snippet_path,
                                    read_snippet_text, snippet_paths)
from ..node.registry import CATALOG
from ..node.types import ANY
from .composite import Template, template_node_class
from .document import template_from_document
from .model import ID_RE, Graph, initials
from .parts import Connection, ExposedParam, GraphParts, NodeSpec
from .terminals import INPUT_TYPE_ID, OUTPUT_TYPE_ID, VALUE

__all__ = ["JSON_SUFFIX", "PNG_SUFFIX", "NO_SNIPPET", "ExposedParam", "Snippet", "SnippetError", "copy_graph",
           "file_stem", "insert_snippet", "is_snippet_path", "load_runnable", "load_snippet",
           "read_snippet_text", "snippet_node_class", "snippet_paths"]

_TERMINAL_GAP = 180.0  # how far left/right of the selection new template terminals are placed


class Snippet(Template):
    """A template with the constructors that need the graph class: from a selection, from a document."""

    @classmethod
    def from_selection(cls, graph: Graph, node_ids: Iterable[str], name: str, description: str = "",
                       category: str = "", expose: Mapping[str, tuple[str, str]] | None = None,
                       defaults: Mapping[str, Any] | None = None,
                       values: Mapping[str, Mapping[str, Any]] | None = None) -> "Snippet":
        """A template from the selected nodes of ``graph`` (which is not changed).

        Wires into the selection become template inputs, named after the graph input they
        came from, else after the input port they feed (``y_true``; ``y_true_2`` ... when taken). A source feeding several selected
        ports gives one input. Its default is ``defaults[name]`` when given, else the
        default of the ``GraphInput`` it came from, else the value that crossed the wire in
        a previous run (``values``: ``RunResult.values``, node id -> port -> value), else none
        (it must then be given at run time).
        Wires out of the selection become template outputs, named after the graph output
        they went to (the first one), else after the output port.
        ``expose`` maps template parameter names to (selected node id, parameter name).
        """
        check_name(name)
        ids = list(dict.fromkeys(node_ids))
        if not ids:
            raise SnippetError("a snippet needs at least one selected node")
        for gid in ids:
            gn = graph.node(gid)
            if gn.node is None:
                raise SnippetError(f"node {gid!r} has an unknown type {gn.type_id!r} and cannot go in a snippet")
        chosen = set(ids)
        inner = Graph(name=name, description=description)
        inner.local_types = dict(graph.local_types)  # collapsed subgraphs in the selection
        inner.add_parts(GraphParts(nodes=[spec for spec in graph.to_parts().nodes if spec.id in chosen]))  # structures whole
        taken = set(inner.inputs) | set(inner.outputs) | set(inner.nodes)
        x0, y0, x1, y1 = _bbox([graph.nodes[g].pos for g in ids])
        types = graph.port_types()
        defaults = dict(defaults or {})
        made_in: dict[tuple[str, str], str] = {}
        made_out: dict[tuple[str, str], str] = {}
        for c in graph.connections:
            if c.src in chosen and c.dst in chosen:
                inner.connect(c.src, c.src_port, c.dst, c.dst_port)
            elif c.dst in chosen and c.src in graph.nodes:
                key = (c.src, c.src_port)
                if key not in made_in:
                    src = graph.nodes[c.src]
                    tname = _unique(src.name if src.is_input else c.dst_port, taken)
                    default = defaults.pop(tname, None)
                    if default is None and src.is_input:
                        default = src.params.get("default")
                    if default is None and values is not None:
                        default = _plain_array(values.get(c.src, {}).get(c.src_port))
                    ptype = types.outputs.get(key, ANY)
                    y = y0 + 90.0 * len(made_in)
                    made_in[key] = inner.add_input(tname, default=default, type=ptype,
                                                   pos=(x0 - _TERMINAL_GAP, y), id=_free_id(tname, inner))
                inner.connect(made_in[key], VALUE, c.dst, c.dst_port)
            elif c.src in chosen and c.dst in graph.nodes:
                key = (c.src, c.src_port)
                if key not in made_out:
                    dst = graph.nodes[c.dst]
                    tname = _unique(dst.name if dst.is_output else c.src_port, taken)
                    ptype = types.outputs.get(key, ANY)
                    y = y0 + 90.0 * len(made_out)
                    made_out[key] = inner.add_output(tname, type=ptype, pos=(x1 + _TERMINAL_GAP, y),
                                                     id=_free_id(tname, inner))
                    inner.connect(c.src, c.src_port, made_out[key], VALUE)
        if defaults:
            raise SnippetError(f"defaults given for {sorted(defaults)}, which are not template inputs "
                               f"(inputs: {', '.join(inner.inputs) or 'none'})")
        params = [ExposedParam(pname, node, param) for pname, (node, param) in (expose or {}).items()]
        snippet = cls(name, inner, description, category, params)
        snippet.check()
        return snippet

    @classmethod
    def from_dict(cls, doc: Any, source: str = "snippet") -> "Snippet":
        """A snippet from its document; SnippetError on any fault (format, version, node types)."""
        parts = template_from_document(doc, source)
        template = Graph.template_from_parts(parts, source=source)
        return cls(template.name, template.graph, template.description, template.category, template.params)

    @classmethod
    def from_json(cls, text: str, source: str = "snippet") -> "Snippet":
        try:
            doc = loads(text, source)
        except GraphFormatError as exc:
            raise SnippetError(f"the snippet is not valid JSON: {exc}") from None
        return cls.from_dict(doc, source)


def copy_graph(graph: Graph) -> Graph:
    """An independent copy of a graph (same ids, names, parameters, instances, positions, wires)."""
    unknown = [gid for gid, gn in graph.nodes.items() if gn.node is None]
    if unknown:
        raise SnippetError(f"node {unknown[0]!r} has an unknown type {graph.nodes[unknown[0]].type_id!r}")
    return graph.copy()


def snippet_node_class(snippet: Template, type_id: str | None = None):
    """A composite ``Node`` class for a snippet (not registered: ``CATALOG.register`` it to use it)."""
    return template_node_class(snippet, type_id)


def _plain_array(value):
    """A run-time value usable as a GraphInput default (a numeric/bool array), else None."""
    if value is None or isinstance(value, (str, dict)):
        return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _free_id(name: str, graph: Graph) -> str | None:
    return name if ID_RE.fullmatch(name) and not graph._id_taken(name) else None


def _bbox(positions: Iterable[tuple[float, float] | None]) -> tuple[float, float, float, float]:
    pts = [p for p in positions if p is not None]
    if not pts:
        return 0.0, 0.0, 0.0, 0.0
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def load_snippet(path: str | Path) -> Snippet:
    """Read a snippet from ``NAME.snippet.json`` or ``NAME.png``; never executes code."""
    return Snippet.from_json(read_snippet_text(path), Path(path).name)


def load_runnable(path: str | Path) -> Graph:
    """The template graph of a snippet file, ready for the runtime (``haibal run NAME.png``):
    template inputs are graph inputs (with their defaults), template outputs graph outputs."""
    graph = load_snippet(path).runnable()
    graph.base_dir = Path(path).resolve().parent
    return graph


def insert_snippet(graph: Graph, snippet: Snippet, at: tuple[float, float] | None = None,
                   on_clash: str = "error") -> dict[str, str]:
    """Add the snippet's nodes and wires to ``graph``; returns {snippet node id: new node id}.

    Node ids are remapped where they clash. The template's top-left node goes to ``at``.
    A template terminal whose name is already a terminal of ``graph`` is a clash: with
    ``on_clash="error"`` SnippetError names it; with ``"rename"`` it gets a free name
    (``y_true_2``). On any error ``graph`` is left unchanged.
    """
    if on_clash not in ("error", "rename"):
        raise SnippetError(f"on_clash must be 'error' or 'rename', got {on_clash!r}")
    src = snippet.graph
    everything = [gn for g in src.graphs() for gn in g.nodes.values()]  # inside structures too
    unknown = sorted({gn.type_id for gn in everything
                      if gn.node is None or (gn.type_id not in CATALOG and gn.type_id not in src.local_types)})
    if unknown:
        raise SnippetError(f"snippet {snippet.name!r} uses unknown node types: {', '.join(unknown)}")
    new_types = {}
    for type_id in {gn.type_id for gn in everything} & set(src.local_types):
        have = graph.local_types.get(type_id)
        cls = src.local_types[type_id]
        if have is None:
            new_types[type_id] = cls
        elif have is not cls and have.template.to_dict() != cls.template.to_dict():
            raise SnippetError(f"cannot insert snippet {snippet.name!r}: it holds a subgraph "
                               f"{cls.template.name!r} and the graph already has a different one of that name; "
                               f"rename one of them first")
    names: dict[str, str] = {}
    taken = {True: set(graph.inputs), False: set(graph.outputs)}
    clashes = []
    for gid, gn in src.nodes.items():
        if gn.is_input or gn.is_output:
            if gn.name in taken[gn.is_input]:
                kind, have = ("input", graph.inputs) if gn.is_input else ("output", graph.outputs)
                clashes.append(f"an {kind} named {gn.name!r} (node {have.get(gn.name)!r})")
                names[gid] = _unique(gn.name, taken[gn.is_input])
            else:
                taken[gn.is_input].add(gn.name)
    if clashes and on_clash == "error":
        raise SnippetError(f"cannot insert snippet {snippet.name!r}: the graph already has "
                           f"{' and '.join(sorted(clashes))}; rename them first or insert with on_clash='rename'")
    x0, y0, _, _ = _bbox([gn.pos for gn in src.nodes.values()])
    dx, dy = (at[0] - x0, at[1] - y0) if at is not None else (0.0, 0.0)
    parts = src.to_parts()
    mapping: dict[str, str] = {}
    try:
        with graph.transaction():
            graph.local_types.update(new_types)
            specs = moved_specs(graph, parts.nodes, (dx, dy), at, mapping, set(), names)
            graph.add_parts(GraphParts(nodes=specs, connections=[
                Connection(mapping[c.src], c.src_port, mapping[c.dst], c.dst_port) for c in parts.connections]))
    except HaibalError as exc:
        raise SnippetError(f"cannot insert snippet {snippet.name!r}: {exc}") from None
    return {gid: mapping[gid] for gid in src.nodes}


def moved_specs(graph: Graph, specs: list[NodeSpec], shift: tuple[float, float], at, mapping: dict[str, str],
                 pending: set[str], names: Mapping[str, str] | None = None) -> list[NodeSpec]:
    """Copies of ``specs`` for ``graph``: ids kept where free in the whole graph, else new ones
    (``mapping``: old -> new, for the nodes inside structures too), positions shifted, names
    of clashing terminals changed (``names``); a structure's diagrams the same way."""
    out = []
    for spec in specs:
        name = (names or {}).get(spec.id, spec.name)
        new_id = spec.id if not graph._id_taken(spec.id) and spec.id not in pending else None
        if new_id is None and spec.type_id in (INPUT_TYPE_ID, OUTPUT_TYPE_ID) and names is not None:
            free = _free_id(name, graph)
            new_id = free if free is not None and free not in pending else None
        if new_id is None:
            new_id = _fresh_id(graph, spec.type_id, pending)
        pending.add(new_id)
        mapping[spec.id] = new_id
        pos = (spec.pos[0] + shift[0], spec.pos[1] + shift[1]) if spec.pos is not None else at
        out.append(replace(spec, id=new_id, name=name, pos=pos))
    for k, spec in enumerate(out):
        if spec.structure is not None:
            diagrams = []
            for d in spec.structure.diagrams:
                inner = moved_specs(graph, d.graph.nodes, shift, None, mapping, pending)
                wires = [Connection(mapping[c.src], c.src_port, mapping[c.dst], c.dst_port) for c in d.graph.connections]
                diagrams.append(replace(d, graph=replace(d.graph, nodes=inner, connections=wires)))
            out[k] = replace(spec, structure=replace(spec.structure, diagrams=diagrams))
    return out


def _fresh_id(graph: Graph, type_id: str, pending: set[str]) -> str:
    """An id for a new node of ``type_id`` that no node of ``graph`` (nor one being added) has."""
    stem = initials(type_id)
    n = 1
    while graph._id_taken(f"{stem}{n}") or f"{stem}{n}" in pending:
        n += 1
    return f"{stem}{n}"


