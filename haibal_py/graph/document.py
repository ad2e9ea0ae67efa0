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
from .parts import Connection, ExposedParam, GraphParts, NodeSpec, TemplateParts

__all__ = ["graph_from_document", "graph_to_document", "load_parts", "save_parts", "template_from_document",
           "template_to_document"]


def graph_to_document(parts: GraphParts, arrays: dict | None = None, inline_limit: int | None = None) -> dict:
    """The document of a graph; arrays larger than ``inline_limit`` elements, and node state,
    go into ``arrays`` (key -> array) when it is given, else inline."""
    limit = fmt.INLINE_LIMIT if inline_limit is None else inline_limit
    nodes = []
    for spec in parts.nodes:
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
        nodes.append(entry)
    doc: dict[str, Any] = {"format": fmt.FORMAT, "version": fmt.VERSION}
    if parts.name:
        doc["name"] = parts.name
    if parts.description:
        doc["description"] = parts.description
    doc["nodes"] = nodes
    doc["connections"] = [{"from": [c.src, c.src_port], "to": [c.dst, c.dst_port]} for c in parts.connections]
    if parts.subgraphs:
        doc["subgraphs"] = [template_to_document(t) for t in parts.subgraphs]
    if parts.editor:
        doc["editor"] = parts.editor
    return doc


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
    seen = set()
    for i, entry in enumerate(doc["nodes"]):
        gid = entry["id"]
        if gid in seen:
            raise fmt.GraphFormatError(f"{prefix}node id {gid!r} is used twice (nodes[{i}])")
        seen.add(gid)
        where = f"{prefix}node {gid!r}"
        parts.nodes.append(NodeSpec(
            id=gid, type_id=entry["type"], name=entry.get("name"), instance=entry.get("instance", "automatic"),
            params={k: fmt.decode_value(v, f"{where}, parameter {k!r}", arrays)
                    for k, v in entry.get("params", {}).items()},
            pos=tuple(float(v) for v in entry["pos"]) if "pos" in entry else None,
            state={k: fmt.decode_value(v, f"{where}, state {k!r}", arrays)
                   for k, v in entry.get("state", {}).items()}))
    parts.connections = [Connection(c["from"][0], c["from"][1], c["to"][0], c["to"][1])
                         for c in doc.get("connections", ())]
    return parts


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
