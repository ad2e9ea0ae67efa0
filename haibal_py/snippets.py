"""Snippets: reusable subgraph templates, saved as ``NAME.snippet.json`` and as a ``NAME.png`` picture.

LabVIEW documents its functions with "snippets": PNG pictures of a block diagram that
become code when dropped on a diagram. A haibal snippet is the same idea for a ``Graph``:

- ``Snippet.from_selection(graph, node_ids, name=...)`` copies the selected nodes and the
  connections among them; every connection that crossed the selection's edge becomes a
  graph terminal of the template: a wire coming in becomes a named template input (a
  ``GraphInput`` whose default is the value the original graph gave it, when known), a
  wire going out a template output. Parameters can be exposed (``expose={"from_logits":
  ("scc1", "from_logits")}``); their defaults are the node's values.
- The snippet document (``to_json``) is versioned (``"format": "haibal-snippet"``,
  ``"version": 1``) and embeds the template as a saved-graph document (``Graph.to_dict``).
  ``save(folder)`` writes ``NAME.snippet.json`` and ``NAME.png``: a picture whose PNG
  ``iTXt`` chunk ``haibal-snippet`` carries the very same JSON text, byte for byte
  (``haibal_py.png_chunks``).
- ``load_snippet(path)`` reads either file. Loading checks the format, the version, the
  catalog types and parameters of every node; it never executes code.
- ``insert_snippet(graph, snippet, at=(x, y))`` adds the template's nodes to a graph as
  ordinary nodes (ids remapped, positions moved to the drop point); on any error the
  graph is left exactly as it was.
- ``snippet_node_class(snippet)`` is a composite ``Node`` whose ports are the template's
  inputs and outputs; running it runs the inner graph through the ``Runtime``.
- ``load_runnable(path)``: the template graph of a snippet file, for ``haibal run``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import HaibalError
from .graph import Graph
from .node import HelpText, Instance, Node, Param, Port
from .png_chunks import NO_SNIPPET, SnippetError, embed_snippet, encode_png, extract_snippet
from .registry import CATALOG
from .terminals import INPUT_TYPE_ID, OUTPUT_TYPE_ID, VALUE
from .types import ANY

__all__ = ["FORMAT", "VERSION", "JSON_SUFFIX", "PNG_SUFFIX", "NO_SNIPPET", "Snippet", "SnippetError",
           "ExposedParam", "load_snippet", "load_runnable", "is_snippet_path", "insert_snippet",
           "snippet_node_class", "placeholder_png", "snippet_paths", "copy_graph", "read_snippet_text"]

FORMAT = "haibal-snippet"
VERSION = 1
JSON_SUFFIX = ".snippet.json"
PNG_SUFFIX = ".png"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\- ]*$")
_TERMINAL_GAP = 180.0
#: graph problems that make a snippet document malformed (type problems are left to validate/run)
_STRUCTURAL = ("unknown-node", "unknown-port", "fed-twice", "duplicate-terminal", "bad-instance")  # how far left/right of the selection new template terminals are placed


@dataclass(frozen=True)
class ExposedParam:
    """A template parameter: the name users set, and the node parameter it stands for."""

    name: str
    node: str
    param: str
    doc: str = ""

    def to_dict(self) -> dict:
        out = {"name": self.name, "node": self.node, "param": self.param}
        if self.doc:
            out["doc"] = self.doc
        return out


@dataclass
class Snippet:
    """A subgraph template: a runnable ``graph`` whose terminals are the template's ports."""

    name: str
    graph: Graph
    description: str = ""
    category: str = ""
    params: list[ExposedParam] = field(default_factory=list)

    # ------------------------------------------------------------------ ports
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
        p = self._param(name)
        return self.graph.node(p.node).params[p.param]

    def _param(self, name: str) -> ExposedParam:
        for p in self.params:
            if p.name == name:
                return p
        raise SnippetError(f"snippet {self.name!r} has no parameter {name!r} "
                           f"(parameters: {', '.join(p.name for p in self.params) or 'none'})")

    # ------------------------------------------------------------------ making
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
        _check_name(name)
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
        for gid in ids:
            gn = graph.nodes[gid]
            inner.add_node(gn.type_id, gn.name, gn.params, gn.instance, gn.pos, id=gid)
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
        snippet._check_params()
        return snippet

    def _check_params(self) -> None:
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

    # ------------------------------------------------------------------ documents
    def to_dict(self) -> dict:
        """The snippet document; every array inline (a snippet is one self-contained file)."""
        try:
            graph = self.graph.to_dict()
        except HaibalError as exc:
            raise SnippetError(f"snippet {self.name!r} cannot be written: {exc}") from None
        return {"format": FORMAT, "version": VERSION, "name": self.name, "description": self.description,
                "category": self.category, "params": [p.to_dict() for p in self.params], "graph": graph}

    def to_json(self) -> str:
        """The snippet document as text: the exact bytes of ``NAME.snippet.json`` and of the PNG chunk."""
        from .graph_format import dumps
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, doc: Any, source: str = "snippet") -> "Snippet":
        """A snippet from its document; SnippetError on any fault (format, version, node types)."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            fmt = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise SnippetError(f"{source}: not a haibal snippet (expected \"format\": \"{FORMAT}\", got {fmt!r})")
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise SnippetError(f"{source}: snippet version must be a positive integer, got {version!r}")
        if version > VERSION:
            raise SnippetError(f"{source}: snippet format version {version} is newer than this haibal-py "
                               f"reads (version {VERSION}); update haibal-py to use it")
        for key, kind in (("name", str), ("description", str), ("category", str), ("params", list),
                          ("graph", dict)):
            if key in doc and not isinstance(doc[key], kind) or (key in ("name", "graph") and key not in doc):
                raise SnippetError(f"{source}: field {key!r} must be a {kind.__name__}")
        name = doc["name"]
        _check_name(name, source)
        try:
            graph = Graph.from_dict(doc["graph"])
        except HaibalError as exc:
            raise SnippetError(f"{source}: the snippet's graph is invalid: {exc}") from None
        unknown = sorted({gn.type_id for gn in graph.nodes.values() if gn.node is None})
        if unknown:
            raise SnippetError(f"{source}: snippet {name!r} uses node types this haibal-py does not know: "
                               f"{', '.join(unknown)} (install the catalog that provides them)")
        bad = [f"{gid}.{p} ({msg})" for gid, gn in graph.nodes.items() for p, (_, msg) in gn.bad_params.items()]
        if bad:
            raise SnippetError(f"{source}: snippet {name!r} has bad parameter values: {'; '.join(bad)}")
        broken = [str(p) for p in graph.validate() if p.code in _STRUCTURAL]
        if broken:
            raise SnippetError(f"{source}: snippet {name!r} is malformed: {'; '.join(broken)}")
        params = []
        for i, p in enumerate(doc.get("params", [])):
            if not isinstance(p, dict) or not all(isinstance(p.get(k), str) for k in ("name", "node", "param")):
                raise SnippetError(f"{source}: params[{i}] must have string fields name, node and param")
            params.append(ExposedParam(p["name"], p["node"], p["param"], str(p.get("doc", ""))))
        snippet = cls(name, graph, doc.get("description", ""), doc.get("category", ""), params)
        try:
            snippet._check_params()
            snippet.to_dict()  # what is accepted can be written back (no NaN/infinity inline)
        except SnippetError as exc:
            raise SnippetError(f"{source}: {exc}") from None
        return snippet

    @classmethod
    def from_json(cls, text: str, source: str = "snippet") -> "Snippet":
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise SnippetError(f"{source}: the snippet is not valid JSON ({exc})") from None
        return cls.from_dict(doc, source)

    # ------------------------------------------------------------------ files
    def save(self, folder: str | Path, picture: bytes | None = None) -> tuple[Path, Path]:
        """Write ``NAME.snippet.json`` and ``NAME.png`` (``picture``: PNG bytes of the subgraph;
        a plain headless drawing when None). Both carry the same JSON text. Returns both paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        text = self.to_json()
        png = embed_snippet(picture if picture is not None else placeholder_png(self), text)
        stem = file_stem(self.name)
        json_path, png_path = folder / f"{stem}{JSON_SUFFIX}", folder / f"{stem}{PNG_SUFFIX}"
        _atomic_write(json_path, text.encode("utf-8"))
        _atomic_write(png_path, png)
        return json_path, png_path

    # ------------------------------------------------------------------ running
    def runnable(self, inputs: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None) -> Graph:
        """A fresh copy of the template graph with exposed parameters set (inputs stay terminals)."""
        graph = copy_graph(self.graph)
        for pname, value in (params or {}).items():
            p = self._param(pname)
            graph.set_param(p.node, p.param, value)
        return graph


def copy_graph(graph: Graph) -> Graph:
    """An independent copy of a graph (same ids, names, parameters, instances, positions, wires)."""
    out = Graph(graph.name, graph.description)
    out.local_types = dict(graph.local_types)
    try:
        for gid, gn in graph.nodes.items():
            if gn.node is None:
                raise SnippetError(f"node {gid!r} has an unknown type {gn.type_id!r}")
            out.add_node(gn.type_id, gn.name, gn.params, gn.instance, gn.pos, id=gid)
        for c in graph.connections:
            out.connect(c.src, c.src_port, c.dst, c.dst_port)
    except SnippetError:
        raise
    except HaibalError as exc:
        raise SnippetError(f"cannot copy graph {graph.name!r}: {exc}") from None
    out.base_dir = graph.base_dir
    return out


def _plain_array(value):
    """A run-time value usable as a GraphInput default (a numeric/bool array), else None."""
    if value is None or isinstance(value, (str, dict)):
        return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _check_name(name: Any, source: str = "snippet") -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > 100:
        raise SnippetError(f"{source}: a snippet name is 1-100 letters, digits, spaces, _ or -, "
                           f"starting with a letter or digit; got {name!r}")


def file_stem(name: str) -> str:
    """The file name stem of a snippet (spaces become underscores)."""
    return name.strip().replace(" ", "_")


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _free_id(name: str, graph: Graph) -> str | None:
    return name if re.match(r"^[A-Za-z_][A-Za-z0-9_\-]*$", name) and name not in graph.nodes else None


def _bbox(positions: Iterable[tuple[float, float] | None]) -> tuple[float, float, float, float]:
    pts = [p for p in positions if p is not None]
    if not pts:
        return 0.0, 0.0, 0.0, 0.0
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# ---------------------------------------------------------------------------------- loading
def is_snippet_path(path: str | Path) -> bool:
    """Whether a path names a snippet file (``*.snippet.json`` or ``*.png``)."""
    name = Path(path).name.lower()
    return name.endswith(JSON_SUFFIX) or name.endswith(PNG_SUFFIX)


def read_snippet_text(path: str | Path) -> str:
    """The snippet JSON text of a ``.snippet.json`` or ``.png`` file (not yet checked)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnippetError(f"cannot read snippet file {str(path)!r}: {exc.strerror or exc}") from None
    if path.name.lower().endswith(PNG_SUFFIX):
        try:
            return extract_snippet(data)
        except SnippetError as exc:
            raise SnippetError(str(exc) if str(exc) == NO_SNIPPET else f"{path.name}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnippetError(f"{path.name}: a snippet file is UTF-8 JSON ({exc.reason} at byte {exc.start})") from None


def load_snippet(path: str | Path) -> Snippet:
    """Read a snippet from ``NAME.snippet.json`` or ``NAME.png``; never executes code."""
    return Snippet.from_json(read_snippet_text(path), Path(path).name)


def load_runnable(path: str | Path) -> Graph:
    """The template graph of a snippet file, ready for the runtime (``haibal run NAME.png``):
    template inputs are graph inputs (with their defaults), template outputs graph outputs."""
    graph = load_snippet(path).runnable()
    graph.base_dir = Path(path).resolve().parent
    return graph


def snippet_paths(folder: str | Path) -> list[Path]:
    """The snippets in a folder: one path per snippet (the PNG when both files exist), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        low = p.name.lower()
        if low.endswith(JSON_SUFFIX):
            found.setdefault(p.name[:-len(JSON_SUFFIX)], p)
        elif low.endswith(PNG_SUFFIX):
            found[p.name[:-len(PNG_SUFFIX)]] = p
    return [found[k] for k in sorted(found)]


# ---------------------------------------------------------------------------------- inserting
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
    unknown = sorted({gn.type_id for gn in src.nodes.values()
                      if gn.node is None or (gn.type_id not in CATALOG and gn.type_id not in src.local_types)})
    if unknown:
        raise SnippetError(f"snippet {snippet.name!r} uses unknown node types: {', '.join(unknown)}")
    new_types = {}
    for type_id in {gn.type_id for gn in src.nodes.values()} & set(src.local_types):
        have = graph.local_types.get(type_id)
        cls = src.local_types[type_id]
        if have is None:
            new_types[type_id] = cls
        elif have is not cls and have.snippet.to_dict() != cls.snippet.to_dict():
            raise SnippetError(f"cannot insert snippet {snippet.name!r}: it holds a subgraph "
                               f"{cls.snippet.name!r} and the graph already has a different one of that name; "
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
    saved = (dict(graph.nodes), list(graph.connections), graph.revision)
    mapping: dict[str, str] = {}
    graph.local_types.update(new_types)
    try:
        for gid, gn in src.nodes.items():
            pos = (gn.pos[0] + dx, gn.pos[1] + dy) if gn.pos is not None else (at if at is not None else None)
            name = names.get(gid, gn.name)
            new_id = gid if gid not in graph.nodes else None
            if new_id is None and (gn.is_input or gn.is_output):
                new_id = _free_id(name, graph)
            mapping[gid] = graph.add_node(gn.type_id, name, gn.params, gn.instance, pos, id=new_id)
        for c in src.connections:
            graph.connect(mapping[c.src], c.src_port, mapping[c.dst], c.dst_port)
    except BaseException as exc:
        graph.nodes, graph.connections, graph.revision = saved
        for type_id in new_types:
            del graph.local_types[type_id]
        if isinstance(exc, HaibalError):
            raise SnippetError(f"cannot insert snippet {snippet.name!r}: {exc}") from None
        raise
    return mapping


# ---------------------------------------------------------------------------------- composite node
def snippet_node_class(snippet: Snippet, type_id: str | None = None) -> type[Node]:
    """A composite ``Node`` class for a snippet: its inputs/outputs are the template's, its
    parameters the exposed ones; ``compute`` runs the inner graph through the Runtime.

    Not registered in the catalog (call ``CATALOG.register`` on it to use it in graphs).
    """
    from .types import PortType

    template = copy_graph(snippet.graph)
    ins, outs = [], []
    for tname, gid in snippet.inputs.items():
        gn = template.nodes[gid]
        default = gn.params.get("default")
        ins.append(Port(tname, PortType.parse(gn.params["type"]), gn.params.get("doc", ""),
                        default=default if default is not None else _required()))
    for tname, gid in snippet.outputs.items():
        gn = template.nodes[gid]
        outs.append(Port(tname, PortType.parse(gn.params["type"]), gn.params.get("doc", "")))
    params = []
    for p in snippet.params:
        gn = template.nodes[p.node]
        decl = gn.cls.param(p.param)
        params.append(Param(p.name, decl.kind, gn.params[p.param], p.doc or decl.doc, decl.choices,
                            decl.optional, decl.minimum, decl.maximum))

    def compute(node: Node, values: dict) -> dict:
        graph = copy_graph(template)
        for p in snippet.params:
            graph.set_param(p.node, p.param, node.values[p.name])
        given = {k: v for k, v in values.items() if v is not None}
        return _run(graph, given, node.label)

    instance = Instance("snippet", {p.name: ANY for p in ins}, {p.name: ANY for p in outs}, compute,
                        f"runs the snippet {snippet.name!r}")
    attrs = {
        "type_id": type_id or f"haibal.snippet.{file_stem(snippet.name)}",
        "category": snippet.category or "Snippets",
        "display_name": snippet.name,
        "help": HelpText(snippet.description or f"The snippet {snippet.name!r} as one node."),
        "inputs": tuple(ins), "outputs": tuple(outs), "params": tuple(params), "instances": (instance,),
        "__doc__": snippet.description or f"Composite node of snippet {snippet.name!r}.",
        "snippet": snippet,  # its definition: what a graph file saves for a collapsed subgraph
    }
    cls_name = "Snippet_" + re.sub(r"\W", "_", snippet.name)
    return type(cls_name, (Node,), attrs)


def _required():
    from .node import REQUIRED
    return REQUIRED


def _run(graph: Graph, inputs: Mapping[str, Any], label: str) -> dict:
    """Run a graph through the runtime; the outputs by name."""
    from .runtime import Runtime  # the runtime is imported only when a composite node runs
    result = Runtime(graph).run(inputs=dict(inputs))
    outputs = getattr(result, "outputs", result)
    return dict(outputs)


# ---------------------------------------------------------------------------------- pictures
def placeholder_png(snippet: Snippet, scale: float = 0.5) -> bytes:
    """A plain headless drawing of the template (node boxes and straight wires), for places
    without Qt; the editor renders the real picture from its scene."""
    pos = {gid: gn.pos or (0.0, 0.0) for gid, gn in snippet.graph.nodes.items()}
    x0, y0, x1, y1 = _bbox(pos.values())
    box_w, box_h, pad = 120, 50, 20
    w = int((x1 - x0) * scale) + box_w + 2 * pad
    h = int((y1 - y0) * scale) + box_h + 2 * pad
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (45, 47, 52)
    corner = {gid: (int((p[0] - x0) * scale) + pad, int((p[1] - y0) * scale) + pad) for gid, p in pos.items()}
    for c in snippet.graph.connections:
        (ax, ay), (bx, by) = corner[c.src], corner[c.dst]
        _line(img, ax + box_w, ay + box_h // 2, bx, by + box_h // 2, (230, 190, 80))
    for gid, (cx, cy) in corner.items():
        gn = snippet.graph.nodes[gid]
        color = (70, 120, 180) if gn.is_input else (90, 160, 90) if gn.is_output else (110, 110, 125)
        img[cy:cy + box_h, cx:cx + box_w] = color
        img[cy:cy + 12, cx:cx + box_w] = (min(color[0] + 60, 255), min(color[1] + 60, 255), min(color[2] + 60, 255))
    return encode_png(img)


def _line(img: np.ndarray, ax: int, ay: int, bx: int, by: int, color) -> None:
    n = max(abs(bx - ax), abs(by - ay), 1)
    t = np.linspace(0.0, 1.0, n + 1)
    xs = np.clip(np.round(ax + (bx - ax) * t).astype(int), 0, img.shape[1] - 1)
    ys = np.clip(np.round(ay + (by - ay) * t).astype(int), 0, img.shape[0] - 1)
    img[ys, xs] = color
    img[np.clip(ys + 1, 0, img.shape[0] - 1), xs] = color
