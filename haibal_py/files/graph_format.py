"""The saved-graph format: one versioned JSON document, checked by a JSON Schema on load.

``{"format": "haibal-graph", "version": 1, "nodes": [...], "connections": [...]}``; the
full description is in ``docs/graph-format.md`` and the schema in
``haibal_py/files/schemas/graph-v1.json``. Loading parses JSON only: it never executes code
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

from .atomic import write_atomic
from ..errors import HaibalValueError

FORMAT = "haibal-graph"
VERSION = 1
INLINE_LIMIT = 64  # elements; larger arrays go into the sibling .npz
SCHEMA_FILE = "graph-v1.json"

__all__ = ["FORMAT", "VERSION", "INLINE_LIMIT", "NODE_ID_RE", "GraphFormatError", "NpzArrays", "arrays_path",
           "check_document", "decode_value", "dumps", "encode_value", "read_document", "schema",
           "write_document"]


class GraphFormatError(HaibalValueError):
    """A file or document is not a graph this version of haibal-py can read."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of version 1 documents (shipped as package data)."""
    text = resources.files("haibal_py.files").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
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
                               f"match {NODE_ID_RE.pattern} exactly, array shapes and versions are integers "
                               f"written without a decimal point, lists are JSON arrays")
    else:
        import jsonschema
        err = jsonschema.exceptions.best_match(errors)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise GraphFormatError(f"{prefix}{_where(err.absolute_path)}: {_short(err.message)}{more}")


# The schema's rules as plain Python: jsonschema takes about 1 ms per node, this 100 times less.
# It accepts nothing the schema refuses (tests/test_format.py checks both on random documents).
NODE_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")  # a node id (the schema's pattern)
_DTYPES = frozenset(("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                     "float16", "float32", "float64"))
_DOC_KEYS = frozenset(("format", "version", "name", "description", "nodes", "connections", "editor", "subgraphs"))
_NODE_KEYS = frozenset(("id", "type", "name", "instance", "params", "pos", "state"))


def _is_number(v) -> bool:
    return type(v) is float or type(v) is int


def _is_id(v) -> bool:
    return type(v) is str and len(v) <= 200 and NODE_ID_RE.fullmatch(v) is not None


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
    if "state" in n:
        state = n["state"]
        if type(state) is not dict or not all(type(v) is dict and _value(v) for v in state.values()):
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


def encode_value(value, key: str, arrays: dict | None, inline_limit: int):
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


def decode_value(raw, where: str, arrays) -> Any:
    if isinstance(raw, dict):
        if "npz" in raw:
            if arrays is None:
                raise GraphFormatError(f"{where}: refers to array {raw['npz']!r} of a .npz file, "
                                       f"but the document was not read from a file")
            return arrays[raw["npz"]]
        try:
            arr = _exact_array(raw["array"], np.dtype(raw["dtype"]))
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


def _exact_array(data, dtype: np.dtype) -> np.ndarray:
    """``data`` as an array of ``dtype``, refusing values the dtype would change (1.5 as an
    int64, 2 as a bool, 300 as a uint8): a file never loads other numbers than it holds."""
    arr = np.array(data, dtype=dtype)
    if dtype.kind in "biu" and arr.size:
        exact = np.array(data)
        if exact.dtype.kind not in "biuf" or not np.array_equal(arr.astype(np.float64), exact.astype(np.float64)):
            raise ValueError("values that this dtype cannot hold exactly (fractions or out of range)")
    return arr


def read_document(path: str | Path) -> tuple[Any, "NpzArrays"]:
    """The JSON document of a graph file (not yet checked) and its arrays (read on first use).

    GraphFormatError on anything that is not readable UTF-8 JSON; nothing is executed.
    """
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
    return doc, NpzArrays(arrays_path(path))


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


def write_document(path: str | Path, doc: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write a graph document to ``path`` atomically; ``arrays`` into ``<stem>.arrays.npz``."""
    path = Path(path)
    text = dumps(doc)
    if arrays:
        write_atomic(arrays_path(path), lambda fh: np.savez(fh, **arrays))
    write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))
