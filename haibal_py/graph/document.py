"""Graph parts <-> the JSON documents of graph files and snippets (``docs/graph-format.md``).

``graph_to_document`` / ``graph_from_document`` convert a graph's parts; large arrays and
node state go to the sibling ``.npz`` when the document is saved to a file, and inline in
a snippet (one self-contained document). ``template_to_document`` /
``template_from_document`` do the same for snippet documents, whose ``"graph"`` is a graph
document. ``save_parts`` / ``load_parts`` read and write files through ``haibal_py.files``.
Loading checks the document against the JSON Schema first; it never executes code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import HaibalError
from ..files import graph_format as fmt
from ..files import snippet_format
from ..files.limits import DEFAULT_LIMITS, Limits
from ..files.png_chunks import SnippetError
from .parts import (Connection, DiagramParts, ExposedParam, GraphParts, NodeSpec, StructureParts, TemplateParts,
                    TerminalSpec)

__all__ = ["graph_from_document", "graph_to_document", "load_parts", "save_parts", "template_from_document",
           "template_to_document"]


def graph_to_document(parts: GraphParts, arrays: dict | None = None, inline_limit: int | None = None) -> dict:
    """The document of a graph; arrays larger than ``inline_limit`` elements, and node state,
    go into ``arrays`` (key -> array) when it is given, else inline. Written as the lowest
    format version that holds it (2 when it has structures, else 1)."""
    limit = fmt.INLINE_LIMIT if inline_limit is None else inline_limit
    nodes = _node_entries(parts.nodes, arrays, limit)
    doc: dict[str, Any] = {"format": fmt.FORMAT, "version": 1}
    if parts.name:
        doc["name"] = parts.name
    if parts.description:
        doc["description"] = parts.description
    doc["nodes"] = nodes
    doc["connections"] = _wire_entries(parts.connections)
    if parts.subgraphs:
        doc["subgraphs"] = [template_to_document(t) for t in parts.subgraphs]
    if parts.editor:
        doc["editor"] = parts.editor
    doc["version"] = fmt.version_for(doc)
    return doc


def _wire_entries(connections) -> list[dict]:
    return [{"from": [c.src, c.src_port], "to": [c.dst, c.dst_port]} for c in connections]


def _node_entries(specs: list[NodeSpec], arrays: dict | None, limit: int) -> list[dict]:
    """The ``"nodes"`` of a document or a diagram. Array keys are ``<node id>.<parameter>``
    and ``<node id>/<state key>``: node ids are unique in the whole document."""
    nodes = []
    for spec in specs:
        entry: dict[str, Any] = {"id": spec.id, "type": spec.type_id}
        if spec.name is not None:
            entry["name"] = spec.name
        if spec.instance != "automatic":
            entry["instance"] = spec.instance
        params = {name: fmt.encode_value(value, f"{spec.id}.{name}", arrays, limit)
                  for name, value in spec.params.items()}
        if params:
            entry["params"] = params
        if spec.pos is not None:
            entry["pos"] = [float(spec.pos[0]), float(spec.pos[1])]
        if spec.state:
            entry["state"] = {key: fmt.encode_value(value, f"{spec.id}/{key}", arrays, 0)
                              for key, value in spec.state.items()}
        if spec.structure is not None:
            entry["structure"] = _structure_entry(spec.structure, arrays, limit)
        nodes.append(entry)
    return nodes


def _structure_entry(st: StructureParts, arrays: dict | None, limit: int) -> dict:
    terminals = []
    for t in st.terminals:
        item: dict[str, Any] = {"name": t.name, "kind": t.kind}
        if t.kind == "tunnel":
            item["direction"] = t.direction
            item["indexing"] = bool(t.indexing)
        if t.doc:
            item["doc"] = t.doc
        terminals.append(item)
    diagrams = []
    for d in st.diagrams:
        item = {}
        if d.values:
            item["values"] = list(d.values)
        if d.default:
            item["default"] = True
        item["nodes"] = _node_entries(d.graph.nodes, arrays, limit)
        item["connections"] = _wire_entries(d.graph.connections)
        if d.graph.editor:
            item["editor"] = d.graph.editor
        diagrams.append(item)
    entry: dict[str, Any] = {"terminals": terminals, "diagrams": diagrams}
    if st.size is not None:
        entry["size"] = [float(st.size[0]), float(st.size[1])]
    return entry


def graph_from_document(doc: Mapping[str, Any], arrays=None, source: str = "") -> GraphParts:
    """A graph's parts from its document, checked against the schema first (GraphFormatError).
    ``arrays``: key -> array for ``{"npz": key}`` values (a mapping read lazily)."""
    fmt.check_document(doc, source)
    prefix = f"{source}: " if source else ""
    parts = GraphParts(doc.get("name", ""), doc.get("description", ""), editor=dict(doc.get("editor", {})))
    for i, entry in enumerate(doc.get("subgraphs", ())):
        try:
            parts.subgraphs.append(template_from_document(entry, source=f"{prefix}subgraphs[{i}]"))
        except SnippetError as exc:
            raise fmt.GraphFormatError(str(exc)) from None
    parts.nodes = _node_specs(doc["nodes"], arrays, prefix, {}, "nodes")
    parts.connections = _wires(doc.get("connections", ()))
    return parts


def _wires(entries) -> list[Connection]:
    return [Connection(c["from"][0], c["from"][1], c["to"][0], c["to"][1]) for c in entries]


def _node_specs(entries, arrays, prefix: str, seen: dict[str, str], where_list: str) -> list[NodeSpec]:
    """Node specs of a document's (or a diagram's) ``"nodes"``; ``seen`` holds the ids met so
    far in the whole document (id -> where), which must be unique throughout."""
    specs = []
    for i, entry in enumerate(entries):
        gid = entry["id"]
        here = f"{where_list}[{i}]"
        if gid in seen:
            raise fmt.GraphFormatError(f"{prefix}node id {gid!r} is used twice ({seen[gid]} and {here})")
        seen[gid] = here
        where = f"{prefix}node {gid!r}"
        specs.append(NodeSpec(
            id=gid, type_id=entry["type"], name=entry.get("name"), instance=entry.get("instance", "automatic"),
            params={k: fmt.decode_value(v, f"{where}, parameter {k!r}", arrays)
                    for k, v in entry.get("params", {}).items()},
            pos=tuple(float(v) for v in entry["pos"]) if "pos" in entry else None,
            state={k: fmt.decode_value(v, f"{where}, state {k!r}", arrays)
                   for k, v in entry.get("state", {}).items()},
            structure=_structure_parts(entry["structure"], arrays, prefix, seen, f"{here}.structure")
            if "structure" in entry else None))
    return specs


def _structure_parts(entry, arrays, prefix: str, seen: dict[str, str], where: str) -> StructureParts:
    terminals = [TerminalSpec(t["name"], t["kind"], t.get("direction", "in"), bool(t.get("indexing", False)),
                              t.get("doc", "")) for t in entry.get("terminals", ())]
    diagrams = []
    for i, d in enumerate(entry["diagrams"]):
        graph = GraphParts(editor=dict(d.get("editor", {})))
        graph.nodes = _node_specs(d["nodes"], arrays, prefix, seen, f"{where}.diagrams[{i}].nodes")
        graph.connections = _wires(d.get("connections", ()))
        diagrams.append(DiagramParts(graph, tuple(d.get("values", ())), bool(d.get("default", False))))
    size = tuple(float(v) for v in entry["size"]) if "size" in entry else None
    return StructureParts(terminals, diagrams, size)


def template_to_document(template: TemplateParts) -> dict:
    """The snippet document of a template; every array inline (one self-contained document)."""
    try:
        graph = graph_to_document(template.graph)
    except HaibalError as exc:
        raise SnippetError(f"snippet {template.name!r} cannot be written: {exc}") from None
    return {"format": snippet_format.FORMAT, "version": snippet_format.VERSION, "name": template.name,
            "description": template.description, "category": template.category,
            "params": [p.to_dict() for p in template.params], "graph": graph}


def template_from_document(doc: Any, source: str = "snippet") -> TemplateParts:
    """A template's parts from a snippet document (SnippetError on any fault)."""
    snippet_format.check_envelope(doc, source)
    try:
        graph = graph_from_document(doc["graph"])
    except HaibalError as exc:
        raise SnippetError(f"{source}: the snippet's graph is invalid: {exc}") from None
    params = [ExposedParam(p["name"], p["node"], p["param"], str(p.get("doc", ""))) for p in doc.get("params", [])]
    return TemplateParts(doc["name"], graph, doc.get("description", ""), doc.get("category", ""), params)


def save_parts(parts: GraphParts, path: str | Path) -> None:
    """Write a graph file atomically; large arrays and node state into its sibling ``.npz``."""
    arrays: dict = {}
    doc = graph_to_document(parts, arrays=arrays)
    fmt.write_document(path, doc, arrays)


def load_parts(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> GraphParts:
    """Read a graph file (GraphFormatError on anything that is not a readable graph); the
    arrays of its sibling ``.npz`` are read as the document names them, within ``limits``."""
    doc, arrays = fmt.read_document(path, limits)
    try:
        return graph_from_document(doc, arrays=arrays, source=str(path))
    finally:
        arrays.close()
