"""The saved-graph format: one versioned JSON document, checked by a JSON Schema on load.

``{"format": "haibal-graph", "version": 1, "nodes": [...], "connections": [...]}``; the
full description is in ``docs/graph-format.md`` and the schema in
``haibal_py/files/schemas/graph-v2.json``. Version 2 adds structures (nodes holding a
``"structure"``: loops and case structures with their own diagrams); a document is
written with the lowest version that holds it (``version_for``), so a graph without
structures stays readable by haibal-py releases that read version 1 only. Loading parses JSON only: it never executes code
and never unpickles (sibling ``.npz`` files are read with ``allow_pickle=False``). Saving
is atomic: each file is written to a temporary file in the same folder, then renamed over
the target, so a crash never leaves a truncated graph.

Array parameter values are written inline (``{"array": [...], "dtype": ..., "shape": ...}``)
when they hold at most ``INLINE_LIMIT`` finite elements, otherwise into the sibling ``.npz``
(``{"npz": "<node id>.<param>"}``), as is node state.

The graph file and its ``.npz`` are saved as a pair that is never mixed: the ``.npz`` is
named by its content (``<stem>.arrays.<sha256 prefix>.npz``) and written first, under its
own name; then the JSON, which names it and records its SHA-256 (``"arrays": {"file",
"sha256"}``), replaces the old JSON atomically; then the ``.npz`` the old JSON named is
removed. A save killed at any moment leaves the old pair or the new one; a ``.npz`` that
does not match the hash is refused on load. Saves into one folder hold a lock
(``atomic.folder_lock``), so concurrent saves never interleave. Older files without
``"arrays"`` name ``<stem>.arrays.npz`` and still load.

JSON is read strictly: ``NaN``, ``Infinity`` and numbers beyond the float range are
refused (JSON has none, and a value that loads must save back), as is nesting deeper than
``MAX_DEPTH``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import HaibalValueError
from .array_files import ArrayFileError, NpzReader
from .atomic import folder_lock, fsync_folder, write_atomic, write_hashed
from .limits import DEFAULT_LIMITS, LimitError, Limits, array_bytes

FORMAT = "haibal-graph"
VERSION = 2  # the newest version this haibal-py reads and writes
STRUCTURES_VERSION = 2  # the first version holding structures
INLINE_LIMIT = 64  # elements; larger arrays go into the sibling .npz
SCHEMA_FILE = "graph-v2.json"
MAX_DEPTH = 200  # nesting of JSON arrays and objects accepted on reading
MAX_POS = 1e15  # |x|, |y| of a node position

__all__ = ["FORMAT", "VERSION", "STRUCTURES_VERSION", "INLINE_LIMIT", "MAX_DEPTH", "NODE_ID_RE", "GraphFormatError", "NpzArrays",
           "arrays_path", "check_document", "decode_value", "dumps", "encode_value", "loads", "read_document",
           "schema", "uses_structures", "version_for", "write_document"]


class GraphFormatError(HaibalValueError):
    """A file or document is not a graph this version of haibal-py can read."""


@lru_cache(maxsize=1)
def schema() -> dict:
    """The JSON Schema of graph documents, versions 1 and 2 (shipped as package data)."""
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
    """Raise GraphFormatError unless ``doc`` is a graph document of a version this haibal-py
    reads (schema enforced; a version-1 document holds no structures)."""
    prefix = f"{source}: " if source else ""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise GraphFormatError(f"{prefix}not a haibal graph (expected a JSON object with "
                               f"\"format\": \"{FORMAT}\")")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFormatError(f"{prefix}the graph has no valid \"version\" (got {version!r}); "
                               f"this haibal-py reads versions 1 to {VERSION}")
    if version > VERSION:
        raise GraphFormatError(f"{prefix}the graph is format version {version}, made by a newer haibal-py; "
                               f"this one reads versions 1 to {VERSION} (upgrade haibal-py)")
    if version < 1:
        raise GraphFormatError(f"{prefix}unknown graph format version {version}; this haibal-py reads "
                               f"versions 1 to {VERSION}")
    try:
        if _conforms(doc):  # the common case, checked fast; jsonschema explains the others
            return
    except RecursionError:
        raise GraphFormatError(f"{prefix}the document is nested too deeply") from None
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors and version < STRUCTURES_VERSION and uses_structures(doc):
        raise GraphFormatError(f"{prefix}the graph holds structures (loops, case structures), which need "
                               f"format version {STRUCTURES_VERSION}, but says version {version}")
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
_DOC_KEYS = frozenset(("format", "version", "name", "description", "nodes", "connections", "editor", "subgraphs",
                       "arrays"))
NPZ_NAME_RE = re.compile(r"[^/\\:\x00]+\.npz")  # the sibling .npz: a plain file name in the graph's folder
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_NODE_KEYS = frozenset(("id", "type", "name", "instance", "params", "pos", "state", "structure"))
_STRUCTURE_KEYS = frozenset(("terminals", "diagrams", "size"))
_TERMINAL_KEYS = frozenset(("name", "kind", "direction", "indexing", "doc"))
_DIAGRAM_KEYS = frozenset(("values", "default", "nodes", "connections", "editor"))


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


def _node(n, structures: bool) -> bool:
    if type(n) is not dict or not n.keys() <= _NODE_KEYS or "id" not in n or "type" not in n:
        return False
    if "structure" in n and not (structures and _structure(n["structure"])):
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
        if type(pos) is not list or len(pos) != 2 or not all(_is_number(x) and abs(x) <= MAX_POS for x in pos):
            return False
    if "state" in n:
        state = n["state"]
        if type(state) is not dict or not all(type(v) is dict and _value(v) for v in state.values()):
            return False
    return True


def _terminal(t) -> bool:
    if type(t) is not dict or not t.keys() <= _TERMINAL_KEYS or "name" not in t or "kind" not in t:
        return False
    return (type(t["name"]) is str and 1 <= len(t["name"]) <= 200 and t["kind"] in ("tunnel", "shift")
            and t.get("direction", "in") in ("in", "out") and type(t.get("indexing", False)) is bool
            and type(t.get("doc", "")) is str)


def _case_value(v) -> bool:
    return type(v) in (int, bool) or (type(v) is str and len(v) <= 1000)


def _wires(conns) -> bool:
    if type(conns) is not list:
        return False
    return all(type(c) is dict and c.keys() == {"from", "to"} and _port(c["from"]) and _port(c["to"]) for c in conns)


def _diagram(d) -> bool:
    if type(d) is not dict or not d.keys() <= _DIAGRAM_KEYS or "nodes" not in d:
        return False
    if "values" in d and (type(d["values"]) is not list or not all(_case_value(v) for v in d["values"])):
        return False
    if type(d.get("default", False)) is not bool or type(d.get("editor", {})) is not dict:
        return False
    return (type(d["nodes"]) is list and all(_node(n, True) for n in d["nodes"])
            and _wires(d.get("connections", [])))


def _structure(s) -> bool:
    if type(s) is not dict or not s.keys() <= _STRUCTURE_KEYS or "diagrams" not in s:
        return False
    if "size" in s:
        size = s["size"]
        if type(size) is not list or len(size) != 2 or not all(_is_number(x) and 0 <= x <= MAX_POS for x in size):
            return False
    if type(s.get("terminals", [])) is not list or not all(_terminal(t) for t in s.get("terminals", [])):
        return False
    return type(s["diagrams"]) is list and len(s["diagrams"]) >= 1 and all(_diagram(d) for d in s["diagrams"])


def uses_structures(doc) -> bool:
    """Whether a graph document (as read, unchecked) has a node holding a ``"structure"``."""
    nodes = doc.get("nodes") if type(doc) is dict else None
    return type(nodes) is list and any(type(n) is dict and "structure" in n for n in nodes)


def version_for(doc) -> int:
    """The lowest format version that holds ``doc``: 2 with structures, else 1."""
    return STRUCTURES_VERSION if uses_structures(doc) else 1


def _conforms(doc) -> bool:
    """True when ``doc`` certainly satisfies the schema (and a version-1 document holds no structures)."""
    if type(doc) is not dict or not doc.keys() <= _DOC_KEYS or "nodes" not in doc:
        return False
    if doc.get("format") != FORMAT or type(doc.get("version")) is not int or not 1 <= doc["version"] <= VERSION:
        return False
    for key in ("name", "description"):
        if key in doc and type(doc[key]) is not str:
            return False
    if "editor" in doc and type(doc["editor"]) is not dict:
        return False
    if "arrays" in doc:
        arrays = doc["arrays"]
        if (type(arrays) is not dict or arrays.keys() != {"file", "sha256"} or type(arrays["file"]) is not str
                or len(arrays["file"]) > 255 or not NPZ_NAME_RE.fullmatch(arrays["file"])
                or type(arrays["sha256"]) is not str or not _SHA256_RE.fullmatch(arrays["sha256"])):
            return False
    if "subgraphs" in doc and (type(doc["subgraphs"]) is not list
                               or not all(type(d) is dict for d in doc["subgraphs"])):
        return False
    structures = doc["version"] >= STRUCTURES_VERSION
    if type(doc["nodes"]) is not list or not all(_node(n, structures) for n in doc["nodes"]):
        return False
    return _wires(doc.get("connections", []))


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------- arrays
def arrays_path(graph_path: str | Path) -> Path:
    """The sibling ``.npz`` of graph files written before content-named pairs: ``<stem>.arrays.npz``."""
    p = Path(graph_path)
    return p.with_name(p.stem + ".arrays.npz")


def _npz_prefix(graph_path: Path) -> str:
    return graph_path.stem + ".arrays."


_NPZ_HASH_RE = re.compile(r"[0-9a-f]{16}\.npz")


def npz_files_of(graph_path: str | Path, temporary: bool = False) -> list[Path]:
    """The sibling ``.npz`` files a save of this graph may have written (content-named, and the
    older name); with ``temporary``, the temporary files a killed save of it left instead."""
    p = Path(graph_path)
    prefix = _npz_prefix(p)
    try:
        names = os.listdir(p.parent)
    except OSError:
        return []
    if temporary:  # write_atomic's and write_hashed's names: ".<name>.<random>.tmp"
        return sorted(p.parent / n for n in names if n.endswith(".tmp")
                      and (n.startswith(f".{p.name}.") or n.startswith(f".{prefix}")))
    found = [p.parent / n for n in names if n.startswith(prefix) and _NPZ_HASH_RE.fullmatch(n[len(prefix):])]
    legacy = arrays_path(p)
    return sorted(found) + ([legacy] if legacy.name in names else [])


class NpzArrays:
    """The sibling ``.npz`` of a graph file: opened when the document is read (so a save that
    replaces it meanwhile cannot pull it away), its SHA-256 checked against the document's
    before the first array is read, each array read on first use only (``NpzReader``:
    declared shapes and decompressed sizes checked against ``limits`` first; never unpickled)."""

    def __init__(self, path: Path, sha256: str | None = None, limits: Limits = DEFAULT_LIMITS):
        self.path, self.sha256, self.limits = Path(path), sha256, limits
        self._reader: NpzReader | None = None
        self._data: dict[str, np.ndarray] = {}
        try:
            self._fh = open(self.path, "rb")
        except OSError:
            self._fh = None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def _open(self, key: str) -> NpzReader:
        if self._fh is None:
            raise GraphFormatError(f"{self.path}: the graph's array file is missing (needed for array {key!r})")
        if self.sha256 is not None:
            digest = hashlib.sha256()
            for chunk in iter(lambda: self._fh.read(1 << 20), b""):
                digest.update(chunk)
            if digest.hexdigest() != self.sha256:
                raise GraphFormatError(f"{self.path}: the array file does not match the graph (its SHA-256 "
                                       f"differs from the one the graph records): it belongs to another save")
            self._fh.seek(0)
        try:
            return NpzReader(self._fh, self.limits, where=str(self.path))
        except ArrayFileError as exc:
            raise GraphFormatError(str(exc)) from None

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self._data:
            return self._data[key]
        if self._reader is None:
            self._reader = self._open(key)
        try:
            arr = self._reader.read(key)
        except ArrayFileError as exc:
            raise GraphFormatError(str(exc)) from None
        self._data[key] = arr
        return arr


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
        shape = raw["shape"]
        if len(shape) > 32 or array_bytes([d for d in shape if d], 8) >= 2**62:
            raise GraphFormatError(f"{where}: \"shape\" {_short(str(shape), 80)} is not the shape of an array "
                                   f"(at most 32 axes; the sizes other than 0 multiply to less than 2**59)")
        try:
            arr = _exact_array(raw["array"], np.dtype(raw["dtype"]))
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
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
    int64, 2 as a bool, 300 as a uint8, 1e300 as a float32, which would become infinity): a
    file never loads other numbers than it holds (floats are rounded to the dtype's precision)."""
    with np.errstate(over="ignore"):
        arr = np.array(data, dtype=dtype)
    if dtype.kind == "f" and arr.size and not np.isfinite(arr).all():
        if np.isfinite(np.array(data, dtype=np.float64)[~np.isfinite(arr)]).any():
            raise ValueError(f"values beyond the range of {dtype.name}")
    if dtype.kind in "biu" and arr.size:
        exact = np.array(data)
        if exact.dtype.kind not in "biuf" or not np.array_equal(arr.astype(np.float64), exact.astype(np.float64)):
            raise ValueError("values that this dtype cannot hold exactly (fractions or out of range)")
    return arr


def loads(text: str | bytes, source: str = "document") -> Any:
    """Parse JSON strictly: ``NaN``, ``Infinity`` and numbers beyond the float range, and
    nesting deeper than ``MAX_DEPTH``, are refused (GraphFormatError): a value that loads
    can always be saved back."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise GraphFormatError(f"{source}: not a text (UTF-8) JSON file") from None
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise GraphFormatError(f"{source}: JSON nested too deeply ({depth} levels; at most {MAX_DEPTH})")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise GraphFormatError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except _NotJson as exc:
        raise GraphFormatError(f"{source}: not valid JSON ({exc})") from None
    except RecursionError:
        raise GraphFormatError(f"{source}: JSON nested too deeply") from None


class _NotJson(ValueError):
    pass


def _no_constant(name: str):
    raise _NotJson(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"the number {_short(text, 40)} is beyond the float range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 300:
        raise _NotJson(f"an integer of {len(text)} digits")
    return int(text)


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (strings skipped), at C speed."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    bare = np.frombuffer(_STRINGS.sub("", text).encode("utf-8", "replace"), np.uint8)
    steps = (bare == ord("[")).astype(np.int32) + (bare == ord("{")) - (bare == ord("]")) - (bare == ord("}"))
    return int(np.cumsum(steps).max(initial=0))


def read_document(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, "NpzArrays"]:
    """The JSON document of a graph file (not yet checked) and its sibling ``.npz`` (opened
    now, read on first use). GraphFormatError on anything that is not readable UTF-8 JSON,
    or that names its ``.npz`` outside the graph's folder; nothing is executed."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GraphFormatError(f"{path}: no such graph file") from None
    except IsADirectoryError:
        raise GraphFormatError(f"{path}: is a folder, not a graph file") from None
    except OSError as exc:
        raise GraphFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    doc = loads(data, str(path))
    ref = doc.get("arrays") if isinstance(doc, dict) else None
    if isinstance(ref, dict) and isinstance(ref.get("file"), str) and NPZ_NAME_RE.fullmatch(ref["file"]) \
            and isinstance(ref.get("sha256"), str):
        return doc, NpzArrays(path.with_name(ref["file"]), ref["sha256"], limits)
    return doc, NpzArrays(arrays_path(path), None, limits)  # older files (check_document refuses a bad "arrays")


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
    """Write a graph document to ``path`` and ``arrays`` to its content-named sibling ``.npz``,
    as a pair that is never mixed (see the module docstring): ``.npz`` first, then the JSON
    naming it and its SHA-256, then the sibling ``.npz`` files of older saves are removed.
    The whole save holds the folder's lock."""
    path = Path(path)
    doc = {k: v for k, v in doc.items() if k != "arrays"}
    with folder_lock(path.parent):
        mode = _mode_of(path)
        new = None
        if arrays:
            new, sha = write_hashed(path.parent, _npz_prefix(path), ".npz", lambda fh: np.savez(fh, **arrays), mode)
            doc = {"format": doc.get("format"), "version": doc.get("version"),
                   "arrays": {"file": new.name, "sha256": sha}, **doc}
        try:
            text = dumps(doc)
            write_atomic(path, lambda fh: fh.write(text.encode("utf-8")))
        except BaseException:
            if new is not None and new not in _referenced(path):
                _remove(new)
            raise
        for old in npz_files_of(path) + npz_files_of(path, temporary=True):
            if old != new:  # older saves' .npz, and what killed saves left (the lock is ours)
                _remove(old)
        fsync_folder(path.parent)


def _mode_of(path: Path) -> int | None:
    """The mode a new sibling ``.npz`` gets: the graph file's, when it exists (the pair shares it)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def _referenced(path: Path) -> list[Path]:
    """The ``.npz`` the graph file on disk names now (read from its first lines)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return []
    m = re.search(r'"arrays": \{"file": ("(?:[^"\\]|\\.)*")', head)
    return [path.with_name(json.loads(m.group(1)))] if m else []


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
