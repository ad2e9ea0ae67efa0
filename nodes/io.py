"""Source and file nodes: RandomSource, ReadFile, WriteFile (HAIBAL's I/O palette; Constant
and the graph terminals live in the core, ``haibal_py.graph.terminals``).

Their output types follow their parameters (a random source's shape, a file read as
batches), so the graph's type check sees them before anything runs. File paths are
relative to the graph file and confined by the run's file policy (``files()`` declares
them, the run context resolves them); sizes are checked against the run's limits before
anything is allocated (``check_limits``). The file nodes are
``volatile``: ``cache_token`` tells the runtime when a file changed on disk, so an
incremental re-run reads it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from haibal_py.errors import HaibalValueError, ParameterError
from haibal_py.files.array_files import read_array, write_arrays
from haibal_py.files.policy import READ, WRITE, FileUse
from haibal_py.node import HelpText, Instance, Node, Param, Port, register
from haibal_py.node.types import ANY, Batches, PortType

from ._text_params import parse_sizes

VALUE = "value"


# ---------------------------------------------------------------------------- RandomSource
_CHUNK = 1 << 20  # values drawn at a time in float64 before they are written into a float32 result


def _random_dtype(p) -> np.dtype:
    if p["distribution"] == "integers":
        return np.dtype(p["dtype"] if p["dtype"].startswith("int") else "int64")
    return np.dtype(p["dtype"])


def _check_random_size(node: Node, limits) -> None:
    p = node.values
    count = max(p["batches"], 1)
    what = f"{node.label}: {count} arra{'ys' if count > 1 else 'y'} of shape ({p['shape']})"
    limits.check_value(parse_sizes(p["shape"]), _random_dtype(p).itemsize, what, count)


def _fill(out: np.ndarray, draw) -> np.ndarray:
    """Fill ``out`` with ``draw(n)`` float64 values, a chunk at a time: the same numbers as one
    big draw (the generator's stream is sequential) without a float64 copy of the result."""
    flat = out.reshape(-1)
    for start in range(0, flat.size, _CHUNK):
        part = flat[start:start + _CHUNK]
        part[...] = draw(part.size)
    return out


def _random(node: Node, values: dict) -> dict:
    p = node.values
    _check_random_size(node, node.context.limits)  # before allocating anything
    shape = parse_sizes(p["shape"])
    rng = np.random.default_rng(p["seed"])
    count = p["batches"]
    dtype = _random_dtype(p)

    def draw():
        if p["distribution"] == "uniform":
            if p["high"] < p["low"]:
                raise HaibalValueError(f"{node.label}: high ({p['high']}) is below low ({p['low']})")
            if dtype == np.float64:
                return rng.uniform(p["low"], p["high"], size=shape)
            return _fill(np.empty(shape, dtype), lambda n: rng.uniform(p["low"], p["high"], size=n))
        if p["distribution"] == "normal":
            if dtype == np.float64:
                return rng.normal(p["mean"], p["stddev"], size=shape)
            return _fill(np.empty(shape, dtype), lambda n: rng.normal(p["mean"], p["stddev"], size=n))
        low, high = int(np.ceil(p["low"])), int(np.ceil(p["high"]))
        if high <= low:
            raise HaibalValueError(f"{node.label}: integers need high > low, got low={p['low']}, high={p['high']}")
        labels = rng.integers(low, high, size=shape, dtype=dtype)
        if p["void_fraction"] > 0:  # a 'void' label (255 in segmentation maps) at random positions
            flat = labels.reshape(-1)
            for start in range(0, flat.size, _CHUNK):
                part = flat[start:start + _CHUNK]
                part[rng.random(size=part.size) < p["void_fraction"]] = p["void_value"]
        return labels

    if count == 0:
        return {VALUE: draw()}
    out = []
    for i in range(count):
        out.append(draw())
        node.context.progress(i + 1, count)
    return {VALUE: Batches(out)}


def _random_type(wired, params) -> PortType:
    if params is None:
        return ANY
    rank = len(parse_sizes(params["shape"]))
    ints = params["distribution"] == "integers"
    kind = "int" if ints or params["dtype"].startswith("int") else "float"
    return PortType.of(kind, rank, sequence=params["batches"] > 0)


@register
class RandomSource(Node):
    """Seeded random numbers: uniform, normal or integers, of a given shape."""

    type_id = "haibal.io.RandomSource"
    category = "I/O"
    display_name = "Random Source"
    help = HelpText("Random numbers from a seeded generator (NumPy's default_rng), so a graph gives "
                    "the same numbers on every run: uniform in [low, high), normal(mean, stddev), or "
                    "integers in [low, high) (optionally with a fraction of 'void' labels, e.g. 255). With batches > 0 it emits that many arrays as a sequence "
                    "of batches.", ("Synthetic labels and logits to try a loss or metric.",
                                    "A stream of batches for a batch instance."))
    outputs = (Port(VALUE, ANY, "the random array (or a sequence of batches)."),)
    params = (
        Param("distribution", "enum", "uniform", "uniform, normal or integers.",
              choices=("uniform", "normal", "integers")),
        Param("shape", "str", "", "the array shape, sizes separated by commas (empty: a scalar).",
              check=parse_sizes),
        Param("seed", "int", 0, "the generator's seed.", minimum=0),
        Param("low", "float", 0.0, "lower bound (uniform, integers; inclusive)."),
        Param("high", "float", 1.0, "upper bound (uniform, integers; exclusive)."),
        Param("mean", "float", 0.0, "mean (normal)."),
        Param("stddev", "float", 1.0, "standard deviation (normal).", minimum=0.0),
        Param("dtype", "enum", "float32", "the dtype; integers use int32/int64 (int64 otherwise).",
              choices=("float32", "float64", "int32", "int64")),
        Param("void_fraction", "float", 0.0, "integers: the fraction of positions set to void_value "
              "(like the 'void' pixels of segmentation label maps).", minimum=0.0, maximum=1.0),
        Param("void_value", "int", 255, "integers: the label written at void positions."),
        Param("batches", "int", 0, "0: one array; n > 0: a sequence of n batches of that shape.", minimum=0),
    )
    instances = (Instance("value", {}, {VALUE: _random_type}, _random, "draws the numbers"),)

    def set_param(self, name: str, value) -> None:
        super().set_param(name, value)
        if name == "shape":  # kept in one spelling: "4, 64, 64"
            self.values["shape"] = ", ".join(str(d) for d in parse_sizes(self.values["shape"]))

    def check_limits(self, limits) -> None:
        """Its output size (shape x batches x dtype) from its parameters, within ``max_value_bytes``."""
        _check_random_size(self, limits)


# ---------------------------------------------------------------------------- files
class _FileNode(Node):
    """A node reading or writing a file named relative to the graph file. Its path goes
    through the run's file policy: declared by ``files()`` (checked before anything runs)
    and resolved by the run context when the file is opened."""

    volatile = True
    writes = False

    def files(self) -> list[FileUse]:
        raw = self.values["path"]
        return [FileUse(raw, WRITE if self.writes else READ)] if raw else []

    def file_path(self) -> Path:
        raw = self.values["path"]
        if not raw:
            raise HaibalValueError(f"{self.label}: parameter 'path' is empty")
        return self.context.resolve_path(raw, write=self.writes)

    def cache_token(self):
        """Changes when the file changes on disk, so the runtime re-runs the node."""
        try:
            st = self.file_path().stat()
            return (str(self.file_path()), st.st_mtime_ns, st.st_size)
        except (OSError, HaibalValueError):
            return None


def _read(node: Node, values: dict) -> dict:
    arr = read_array(node.file_path(), node.values["key"] or None, limits=node.context.limits)
    return {VALUE: Batches(list(arr)) if node.values["as_batches"] else arr}


@register
class ReadFile(_FileNode):
    """Reads an array from a .npy, .npz or .csv file."""

    type_id = "haibal.io.ReadFile"
    category = "I/O"
    display_name = "Read File"
    help = HelpText("Reads an array from a .npy, .npz (one array, or the one named by key) or .csv "
                    "file (numbers separated by commas, an optional header row). A relative path "
                    "starts at the graph file's folder. Pickled data is never loaded.",
                    ("Load saved labels and predictions to evaluate them.",))
    outputs = (Port(VALUE, ANY, "the array read (a sequence of batches with as_batches)."),)
    params = (Param("path", "str", "", "the file, relative to the graph file's folder."),
              Param("key", "str", "", "for a .npz holding several arrays: which one."),
              Param("as_batches", "bool", False, "split the array along its first axis into a "
                    "sequence of batches (for a batch instance)."))
    instances = (Instance("value", {}, {VALUE: lambda wired, params: PortType("any", 0, None, True)
                                        if params is not None and params["as_batches"] else ANY},
                          _read, "reads the file"),)


def _write(node: Node, values: dict) -> dict:
    value = values[VALUE]
    path = node.file_path()
    key = node.values["key"] or "value"
    write_arrays(path, {key: value})
    return {VALUE: value}


@register
class WriteFile(_FileNode):
    """Writes an array to a .npy, .npz or .csv file (atomically) and passes it on."""

    type_id = "haibal.io.WriteFile"
    category = "I/O"
    display_name = "Write File"
    help = HelpText("Writes the value to a .npy, .npz (under key) or .csv file, atomically (a "
                    "temporary file renamed into place), and passes the value on. A relative path "
                    "starts at the graph file's folder.", ("Save per-sample losses for a report.",))
    inputs = (Port(VALUE, ANY, "the array to write."),)
    outputs = (Port(VALUE, ANY, "the same value, passed on."),)
    params = (Param("path", "str", "", "the file, relative to the graph file's folder."),
              Param("key", "str", "value", "the array's name in a .npz file."))
    writes = True
    instances = (Instance("value", {VALUE: ANY}, {VALUE: lambda wired, params: wired.get(VALUE, ANY)}, _write,
                          "writes the file"),)
