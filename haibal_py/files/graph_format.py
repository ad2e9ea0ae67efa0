"""The saved-graph format: one versioned JSON document, checked by a JSON Schema on load.

``{"format": "haibal-graph", "version": 1, "nodes": [...], "connections": [...]}``; the
full description is in ``docs/graph-format.md`` and the schema in
``haibal_py/schemas/graph-v1.json``. Loading parses JSON only: it never executes code
and never unpickles (sibling ``.npz`` files are read with ``allow_pickle=False``). Saving
is atomic: each file is written to a temporary file in the same folder, then renamed over
the target, so a crash never leaves a truncated graph.

Array parameter values are written inline (``{"array": [...], "dtype": ..., "shape": ...}``)
when they hold at most ``INLINE_LIMIT`` finite elements, otherwise into
``<graph stem>.arrays.npz`` next to the graph (``{"npz": "<node id>.<param>"}``).
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .array_files import write_atomic
from ..errors import HaibalError, HaibalValueError, UnknownNodeTypeError
from .node import AUTOMATIC

FORMAT = "haibal-graph"
VERSION = 1
INLINE_LIMIT = 64  # elements; larger arrays go into the sibling .npz
SCHEMA_FILE = "graph-v1.json"

__all__ = ["FORMAT", "VERSION", "GraphFormatError", "check_document", "graph_from_dict", "graph_to_dict",
           "load_graph", "save_graph", "schema"]


class GraphFormatError(HaibalValueError):
    """A file or document is not a graph this version of haibal-py can read."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of version 1 documents (shipped as package data)."""
    text = resources.files("haibal_py").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema
    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


def _where(path) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in path]
    return "document" + "".join(parts)


def check_document(doc: Any, source: str = "") -> None:
    """Raise GraphFormatError unless ``doc`` is a version-1 graph document (schema enforced)."""
    prefix = f"{source}: " if source else ""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GraphFormatError(f"{prefix}not a haibal graph (expected a JSON object with "
                               f"\"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFormatError(f"{prefix}the graph has no valid \"version\" (got {version!r}); "
                               f"this haibal-py reads version {VERSION}")
    if version > VERSION:
        raise GraphFormatError(f"{prefix}the graph is format version {version}, made by a newer haibal-py; "
                               f"this one reads version {VERSION} (upgrade haibal-py)")
    if version != VERSION:
        raise GraphFormatError(f"{prefix}unknown graph format version {version}; this haibal-py reads "
                               f"version {VERSION}")
    try:
        if _conforms(doc):  # the common case, checked fast; jsonschema explains the others
            return
    except RecursionError:
        raise GraphFormatError(f"{prefix}the document is nested too deeply") from None
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:  # _conforms is a little stricter than the schema's letter
        raise GraphFormatError(f"{prefix}the document is not in the strict form of the schema: node ids "
                               f"match {_ID.pattern} exactly, array shapes and versions are integers "
                               f"written without a decimal point, lists are JSON arrays")
    else:
        import jsonschema
        err = jsonschema.exceptions.best_match(errors)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise GraphFormatError(f"{prefix}{_where(err.absolute_path)}: {_short(err.message)}{more}")


# The schema's rules as plain Python: jsonschema takes about 1 ms per node, this 100 times less.
# It accepts nothing the schema refuses (tests/test_format.py checks both on random documents).
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_DTYPES = frozenset(("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                     "float16", "float32", "float64"))
_DOC_KEYS = frozenset(("format", "version", "name", "description", "nodes", "connections", "editor", "subgraphs"))
_NODE_KEYS = frozenset(("id", "type", "name", "instance", "params", "pos"))


def _is_number(v) -> bool:
    return type(v) is float or type(v) is int


def _is_id(v) -> bool:
    return type(v) is str and len(v) <= 200 and _ID.fullmatch(v) is not None


def _nested(v) -> bool:
    if type(v) is list:
        return all(_nested(x) for x in v)
    return type(v) in (int, float, bool)


def _value(v) -> bool:
    t = type(v)
    if v is None or t in (bool, int, float, str):
        return True
    if t is list:
        return _nested(v)
    if t is not dict:
        return False
    if v.keys() == {"npz"}:
        return type(v["npz"]) is str and len(v["npz"]) >= 1
    if v.keys() == {"array", "dtype", "shape"}:
        shape = v["shape"]
        return (_nested(v["array"]) and type(v["dtype"]) is str and v["dtype"] in _DTYPES
                and type(shape) is list and all(type(d) is int and d >= 0 for d in shape))
    return False


def _port(p) -> bool:
    return type(p) is list and len(p) == 2 and _is_id(p[0]) and type(p[1]) is str and len(p[1]) >= 1


def _node(n) -> bool:
    if type(n) is not dict or not n.keys() <= _NODE_KEYS or "id" not in n or "type" not in n:
        return False
    if not _is_id(n["id"]) or type(n["type"]) is not str or not 1 <= len(n["type"]) <= 300:
        return False
    for key in ("name", "instance"):
        if key in n and (type(n[key]) is not str or not n[key]):
            return False
    if "params" in n and (type(n["params"]) is not dict or not all(_value(v) for v in n["params"].values())):
        return False
    if "pos" in n:
        pos = n["pos"]
        if type(pos) is not list or len(pos) != 2 or not all(_is_number(x) for x in pos):
            return False
    return True


def _conforms(doc) -> bool:
    """True when ``doc`` certainly satisfies the version-1 schema."""
    if type(doc) is not dict or not doc.keys() <= _DOC_KEYS or "nodes" not in doc:
        return False
    if doc.get("format") != FORMAT or type(doc.get("version")) is not int or doc["version"] != VERSION:
        return False
    for key in ("name", "description"):
        if key in doc and type(doc[key]) is not str:
            return False
    if "editor" in doc and type(doc["editor"]) is not dict:
        return False
    if "subgraphs" in doc and (type(doc["subgraphs"]) is not list
                               or not all(type(d) is dict for d in doc["subgraphs"])):
        return False
    if type(doc["nodes"]) is not list or not all(_node(n) for n in doc["nodes"]):
        return False
    conns = doc.get("connections", [])
    if type(conns) is not list:
        return False
    for c in conns:
        if type(c) is not dict or c.keys() != {"from", "to"} or not _port(c["from"]) or not _port(c["to"]):
            return False
    return True


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------- arrays
def arrays_path(graph_path: str | Path) -> Path:
    """The sibling file holding a graph's large arrays: ``<stem>.arrays.npz``."""
    p = Path(graph_path)
    return p.with_name(p.stem + ".arrays.npz")


class NpzArrays:
    """The large arrays of a graph file, read on first use (never unpickled)."""

    def __init__(self, path: Path):
        self.path = path
        self._data: dict[str, np.ndarray] | None = None

    def __getitem__(self, key: str) -> np.ndarray:
        if self._data is None:
            try:
                with np.load(self.path, allow_pickle=False) as z:
                    self._data = {k: z[k] for k in z.files}
            except FileNotFoundError:
                raise GraphFormatError(f"{self.path}: the graph's array file is missing "
                                       f"(needed for array {key!r})") from None
            except (OSError, ValueError, EOFError) as exc:
                raise GraphFormatError(f"{self.path}: not a readable .npz of plain arrays ({exc})") from None
        try:
            return self._data[key]
        except KeyError:
            raise GraphFormatError(f"{self.path}: no array {key!r} (arrays: "
                                   f"{', '.join(self._data) or 'none'})") from None


def _encode(value, key: str, arrays: dict | None, inline_limit: int):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        finite = value.dtype.kind != "f" or bool(np.isfinite(value).all())
        if arrays is not None and (value.size > inline_limit or not finite):
            arrays[key] = value
            return {"npz": key}
        if not finite:
            raise GraphFormatError(f"{key}: an array holding NaN or infinity can only be saved to a file "
                                   f"(Graph.save), not inline")
        return {"array": value.tolist(), "dtype": value.dtype.name, "shape": list(value.shape)}
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphFormatError(f"{key}: {value!r} cannot be written in JSON")
    return value


def _decode(raw, where: str, arrays) -> Any:
    if isinstance(raw, dict):
        if "npz" in raw:
            if arrays is None:
                raise GraphFormatError(f"{where}: refers to array {raw['npz']!r} of a .npz file, "
                                       f"but the document was not read from a file")
            return arrays[raw["npz"]]
        try:
            arr = np.array(raw["array"], dtype=raw["dtype"])
        except (ValueError, TypeError, OverflowError) as exc:
            raise GraphFormatError(f"{where}: not a {raw['dtype']} array ({_short(str(exc), 120)})") from None
        if list(arr.shape) != list(raw["shape"]):
            if arr.size == 0 and math.prod(raw["shape"]) == 0:
                arr = arr.reshape(raw["shape"])
            else:
                raise GraphFormatError(f"{where}: the array data has shape {list(arr.shape)}, "
                                       f"but \"shape\" says {raw['shape']}")
        return arr
    return raw


# ---------------------------------------------------------------------------- graph <-> dict
def graph_to_dict(graph, arrays: dict | None = None, inline_limit: int | None = None) -> dict:
    """The document of ``graph``; large arrays go into ``arrays`` when it is given."""
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    nodes = []
    for gid, gn in graph.nodes.items():
        entry: dict[str, Any] = {"id": gid, "type": gn.type_id, "name": gn.name}
        instance = gn.raw_instance if gn.raw_instance != AUTOMATIC else gn.instance
        if instance != AUTOMATIC:
            entry["instance"] = instance  # an unknown one is written back as read
        params = {}
        for name, value in gn.params.items():
            params[name] = _encode(value, f"{gid}.{name}", arrays, limit)
        for name, (raw, _msg) in gn.bad_params.items():
            params[name] = raw  # kept as read, so saving never loses what the user wrote
        if params:
            entry["params"] = params
        if gn.pos is not None:
            entry["pos"] = [float(gn.pos[0]), float(gn.pos[1])]
        nodes.append(entry)
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION}
    if graph.name:
        doc["name"] = graph.name
    if graph.description:
        doc["description"] = graph.description
    doc["nodes"] = nodes
    doc["connections"] = [{"from": [c.src, c.src_port], "to": [c.dst, c.dst_port]} for c in graph.connections]
    used = [t for t in dict.fromkeys(gn.type_id for gn in graph.nodes.values()) if t in graph.local_types]
    if used:  # definitions no node uses any more are not written
        doc["subgraphs"] = [graph.local_types[t].snippet.to_dict() for t in used]
    if graph.editor:
        doc["editor"] = graph.editor
    return doc


def graph_from_dict(doc: Mapping[str, Any], base_dir: str | Path | None = None, arrays=None, source: str = ""):
    """A ``Graph`` from a document (checked first). Unknown node types, refused parameter
    values and unknown instances are kept and reported by ``Graph.validate``."""
    from .graph import Connection, Graph, GraphNode

    check_document(doc, source)
    prefix = f"{source}: " if source else ""
    graph = Graph(doc.get("name", ""), doc.get("description", ""))
    graph.base_dir = Path(base_dir) if base_dir is not None else None
    graph.editor = dict(doc.get("editor", {}))
    if doc.get("subgraphs"):
        from .png_chunks import SnippetError
        from .subgraphs import define_subgraph
        for i, entry in enumerate(doc["subgraphs"]):
            try:
                define_subgraph(graph, entry, source=f"{prefix}subgraphs[{i}]")
            except SnippetError as exc:
                raise GraphFormatError(str(exc)) from None
    for i, entry in enumerate(doc["nodes"]):
        gid, type_id = entry["id"], entry["type"]
        if gid in graph.nodes:
            raise GraphFormatError(f"{prefix}node id {gid!r} is used twice (nodes[{i}])")
        name, instance = entry.get("name"), entry.get("instance", AUTOMATIC)
        pos = tuple(float(v) for v in entry["pos"]) if "pos" in entry else None
        raw_params = {k: _decode(v, f"{prefix}node {gid!r}, parameter {k!r}", arrays)
                      for k, v in entry.get("params", {}).items()}
        try:
            cls = graph.node_class(type_id)
        except UnknownNodeTypeError:
            graph.nodes[gid] = GraphNode(gid, type_id, None, pos, raw_params=raw_params, raw_name=name,
                                         raw_instance=instance)
            continue
        try:
            node = cls(name)
        except Exception as exc:  # a node class that cannot be built from its defaults
            raise GraphFormatError(f"{prefix}node {gid!r} ({type_id}) cannot be created: {exc}") from None
        gn = GraphNode(gid, type_id, node, pos, raw_name=name, raw_instance=instance)
        try:
            node.instance = instance
        except HaibalError:
            pass  # kept in raw_instance; validate reports it
        for pname, value in raw_params.items():
            try:
                node.set_param(pname, value)
            except Exception as exc:  # unknown parameter or refused value: a problem, not a crash
                message = str(exc) if isinstance(exc, HaibalError) else f"parameter {pname!r}: {exc}"
                gn.bad_params[pname] = (entry["params"][pname], message)
        graph.nodes[gid] = gn
    for c in doc.get("connections", ()):
        graph.connections.append(Connection(c["from"][0], c["from"][1], c["to"][0], c["to"][1]))
    graph._touch(structural=True)
    return graph


# ---------------------------------------------------------------------------- files
def load_graph(path: str | Path):
    """Read a graph file (GraphFormatError on anything that is not a readable graph)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GraphFormatError(f"{path}: no such graph file") from None
    except OSError as exc:
        raise GraphFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise GraphFormatError(f"{path}: not a text (UTF-8) JSON file") from None
    except json.JSONDecodeError as exc:
        raise GraphFormatError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise GraphFormatError(f"{path}: JSON nested too deeply") from None
    graph = graph_from_dict(doc, base_dir=path.parent, arrays=NpzArrays(arrays_path(path)), source=str(path))
    graph.path = path
    return graph


def dumps(doc: Any) -> str:
    """JSON text with one key per line but number lists kept on one line."""
    def is_flat(v) -> bool:
        return not isinstance(v, (dict, list)) or (isinstance(v, list) and all(is_flat(x) for x in v))

    def emit(v, ind: str) -> str:
        if isinstance(v, dict) and v:
            inner = ind + "  "
            items = [f"{inner}{json.dumps(k)}: {emit(x, inner)}" for k, x in v.items()]
            if len(v) <= 4 and all(is_flat(x) for x in v.values()):
                one = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(x, allow_nan=False)}" for k, x in v.items()) + "}"
                if len(one) + len(ind) <= 100:
                    return one
            return "{\n" + ",\n".join(items) + "\n" + ind + "}"
        if isinstance(v, list) and v and not is_flat(v):
            inner = ind + "  "
            return "[\n" + ",\n".join(inner + emit(x, inner) for x in v) + "\n" + ind + "]"
        return json.dumps(v, allow_nan=False)

    return emit(doc, "") + "\n"


def save_graph(graph, path: str | Path) -> None:
    """Write ``graph`` to ``path`` atomically; large arrays into ``<stem>.arrays.npz``."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    text = dumps(graph_to_dict(graph, arrays=arrays))
    if arrays:
        write_atomic(arrays_path(path), lambda fh: np.savez(fh, **arrays))
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))
    graph.base_dir = path.parent
    graph.path = path
