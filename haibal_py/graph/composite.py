"""Templates and composite nodes: a graph kept as ONE node (snippets, collapsed subgraphs).

A ``Template`` is a graph whose graph inputs and outputs are its ports, plus a name, a
description, a palette category and the node parameters it exposes. ``template_node_class``
makes a ``CompositeNode`` class of it: its ports are the template's terminals, TYPED with
their declared types (so type errors at the boundary are found before anything runs), its
parameters are the exposed ones, and running it runs the inner graph through the run
context (the runtime keeps one sub-runtime per composite node, cached like the top level).

The template's graph is any ``Graph``; this module only reads it (``nodes``, terminals,
``copy()``, ``to_parts()``), so it sits below the graph class itself.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping

from ..files.graph_format import dumps
from ..files.limits import LimitError, Limits
from ..files.policy import FileUse
from ..files.png_chunks import SnippetError
from ..files.snippet_format import file_stem, placeholder_png, write_snippet_files
from ..node.base import REQUIRED, HelpText, Instance, Node, Param, Port
from ..node.types import PortType
from .document import template_to_document
from .parts import ExposedParam, TemplateParts

__all__ = ["CompositeNode", "SnippetError", "Template", "expanded_size", "hooked_nodes", "template_node_class"]


class Template:
    """A subgraph template: a runnable ``graph`` whose terminals are the template's ports."""

    def __init__(self, name: str, graph, description: str = "", category: str = "",
                 params: list[ExposedParam] | None = None):
        self.name = name
        self.graph = graph
        self.description = description
        self.category = category
        self.params: list[ExposedParam] = list(params or [])
        #: analysis results about ``graph`` (validation), keyed by its revision
        self.cache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self.graph.nodes)} nodes>"

    # -- ports
    @property
    def inputs(self) -> dict[str, str]:
        """Template inputs: name -> terminal node id."""
        return self.graph.inputs

    @property
    def outputs(self) -> dict[str, str]:
        """Template outputs: name -> terminal node id."""
        return self.graph.outputs

    def input_default(self, name: str):
        return self.graph.node(self.inputs[name]).params.get("default")

    def param_default(self, name: str):
        p = self.param(name)
        return self.graph.node(p.node).params[p.param]

    def param(self, name: str) -> ExposedParam:
        for p in self.params:
            if p.name == name:
                return p
        raise SnippetError(f"snippet {self.name!r} has no parameter {name!r} "
                           f"(parameters: {', '.join(p.name for p in self.params) or 'none'})")

    def check(self) -> None:
        """SnippetError unless every exposed parameter names an existing node parameter, once."""
        seen = set()
        for p in self.params:
            if p.name in seen:
                raise SnippetError(f"snippet {self.name!r}: parameter {p.name!r} is exposed twice")
            seen.add(p.name)
            if p.node not in self.graph.nodes:
                raise SnippetError(f"snippet {self.name!r}: parameter {p.name!r} refers to node {p.node!r}, "
                                   f"which is not in the snippet (nodes: {', '.join(self.graph.nodes)})")
            gn = self.graph.nodes[p.node]
            if gn.node is None or p.param not in gn.node.values:
                raise SnippetError(f"snippet {self.name!r}: parameter {p.name!r} refers to {p.node}.{p.param}, "
                                   f"but node {p.node!r} has no parameter {p.param!r}")

    # -- running
    def runnable(self, params: Mapping[str, Any] | None = None):
        """A fresh copy of the template graph with exposed parameters set (inputs stay terminals)."""
        graph = self.graph.copy()
        for pname, value in (params or {}).items():
            p = self.param(pname)
            graph.set_param(p.node, p.param, value)
        return graph

    # -- documents and files
    def to_parts(self) -> TemplateParts:
        return TemplateParts(self.name, self.graph.to_parts(), self.description, self.category, list(self.params))

    def to_dict(self) -> dict:
        """The snippet document; every array inline (a snippet is one self-contained file)."""
        return template_to_document(self.to_parts())

    def to_json(self) -> str:
        """The snippet document as text: the exact bytes of ``NAME.snippet.json`` and of the PNG chunk."""
        return dumps(self.to_dict())

    def save(self, folder, picture: bytes | None = None):
        """Write ``NAME.snippet.json`` and ``NAME.png`` (``picture``: PNG bytes of the subgraph;
        a plain headless drawing when None). Both carry the same JSON text. Returns both paths."""
        text = self.to_json()
        return write_snippet_files(folder, self.name, text, picture if picture is not None else self.placeholder())

    def placeholder(self) -> bytes:
        """A headless drawing of the template: node boxes and straight wires."""
        ids = list(self.graph.nodes)
        where = {gid: i for i, gid in enumerate(ids)}
        boxes = []
        for gid in ids:
            gn = self.graph.nodes[gid]
            x, y = gn.pos or (0.0, 0.0)
            boxes.append((x, y, "input" if gn.is_input else "output" if gn.is_output else "node"))
        wires = [(where[c.src], where[c.dst]) for c in self.graph.connections]
        return placeholder_png(boxes, wires)


class CompositeNode(Node):
    """A node running graphs of its own: a template's (a collapsed subgraph, a snippet as
    one node), or a structure's diagrams (``structures.StructureNode``). ``templates()``
    lists them; the size limits, file checks and validation look inside through it."""

    template: Template  # set on each generated class (``snippet``: the same, older name)

    @classmethod
    def inner_graph(cls):
        """The template graph this class runs (shared: copy it before changing it)."""
        return cls.template.graph

    def templates(self) -> list[Template]:
        """The templates whose graphs this node runs: its class's one template here."""
        return [self.template]

    def where(self, template: Template) -> str:
        """How messages name the inside of this node: ``subgraph 'NAME'``."""
        return f"subgraph {template.name!r}"

    def inner_problems(self, wired, check) -> list[tuple[Template | None, Any]]:
        """(template, problem) for every problem inside this node, (None, problem) for the
        node's own (a structure's terminals); ``check(template)`` gives a template's own
        problems (validation passes it in: it lies above this module); ``wired``: the types
        reaching this node's inputs (a structure types its diagrams with them)."""
        return [(t, p) for t in self.templates() for p in check(t)]

    def inner_nodes(self):
        """(inner node id, node) for the nodes of the inner graphs that declare files or
        limits, as this node would run them: its exposed parameter values applied (on copies)."""
        exposed: dict[str, dict[str, Any]] = {}
        for template in self.templates():
            for p in template.params:
                exposed.setdefault(p.node, {})[p.param] = self.values[p.name]
        for template in self.templates():
            for gid, node in hooked_nodes(template):
                if gid in exposed:
                    node = copy.copy(node)
                    node.values = {**node.values, **exposed[gid]}
                yield template, gid, node

    def files(self) -> list[FileUse]:
        """The files the inner graph's nodes would read or write (``via`` names them)."""
        return [use.inside(gid) for _, gid, node in self.inner_nodes() for use in node.files()]

    def check_limits(self, limits: Limits) -> None:
        for template, gid, node in self.inner_nodes():
            try:
                node.check_limits(limits)
            except LimitError as exc:
                raise LimitError(f"inside {self.where(template)}, node {gid!r}: {exc}") from None


def _hooked(cls) -> bool:
    return cls.files is not Node.files or cls.check_limits is not Node.check_limits


def hooked_nodes(template: Template) -> list[tuple[str, Node]]:
    """The nodes of a template graph that declare files or limits (kept until the graph changes)."""
    key = ("hooked", template.graph.revision)
    cached = template.cache.get("hooked")
    if cached is not None and cached[0] == key:
        return cached[1]
    found = [(gid, gn.node) for gid, gn in template.graph.nodes.items()
             if gn.node is not None and _hooked(type(gn.node))
             and not (isinstance(gn.node, CompositeNode) and not any(hooked_nodes(t) for t in gn.node.templates()))]
    template.cache["hooked"] = (key, found)
    return found


def expanded_size(graph, memo: dict | None = None) -> tuple[int, int]:
    """(nodes, nesting depth) of ``graph`` with every composite node replaced by its inner
    graph, recursively: counted per template once, never expanded (a file nesting 30
    levels of two subgraphs each counts 2**30 nodes at the cost of 30)."""
    memo = {} if memo is None else memo
    nodes, depth = 0, 0
    for gn in graph.nodes.values():
        nodes += 1
        if isinstance(gn.node, CompositeNode):
            for template in gn.node.templates():
                if id(template) not in memo:
                    memo[id(template)] = None  # a template met inside itself counts once
                    memo[id(template)] = expanded_size(template.graph, memo)
                inner = memo[id(template)] or (0, 0)
                nodes += inner[0]
                depth = max(depth, inner[1] + 1)
    return nodes, depth



def _run_inner(node: Node, values: dict) -> dict:
    given = {k: v for k, v in values.items() if v is not None}
    return node.context.run_inner(node, given)


def template_node_class(template: Template, type_id: str | None = None) -> type[CompositeNode]:
    """A composite ``Node`` class for a template: its inputs/outputs are the template's,
    typed by their terminals; its parameters the exposed ones. Not registered anywhere."""
    graph = template.graph
    ins, outs, accepts, gives = [], [], {}, {}
    for tname, gid in template.inputs.items():
        gn = graph.nodes[gid]
        ptype = PortType.parse(gn.params["type"])
        default = gn.params.get("default")
        ins.append(Port(tname, ptype, gn.params.get("doc", ""), default=default if default is not None else REQUIRED))
        accepts[tname] = ptype
    for tname, gid in template.outputs.items():
        gn = graph.nodes[gid]
        ptype = PortType.parse(gn.params["type"])
        outs.append(Port(tname, ptype, gn.params.get("doc", "")))
        gives[tname] = ptype
    params = []
    for p in template.params:
        gn = graph.nodes[p.node]
        decl = gn.cls.param(p.param)
        params.append(Param(p.name, decl.kind, gn.params[p.param], p.doc or decl.doc, decl.choices,
                            decl.optional, decl.minimum, decl.maximum, decl.check))
    instance = Instance("subgraph", accepts, gives, _run_inner, f"runs the graph of {template.name!r}")
    attrs = {
        "type_id": type_id or f"haibal.snippet.{file_stem(template.name)}",
        "category": template.category or "Snippets",
        "display_name": template.name,
        "help": HelpText(template.description or f"The snippet {template.name!r} as one node."),
        "inputs": tuple(ins), "outputs": tuple(outs), "params": tuple(params), "instances": (instance,),
        "__doc__": template.description or f"Composite node of snippet {template.name!r}.",
        "__module__": __name__,
        "template": template,
        "snippet": template,  # the name the editor and older code use
    }
    return type("Snippet_" + re.sub(r"\W", "_", template.name), (CompositeNode,), attrs)
