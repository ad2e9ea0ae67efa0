"""What a worker runs: the graph over one shard with one setting of the swept parameters.

The graph travels as its saved document (``Graph.to_dict`` with its arrays), never as
pickled node objects, and each worker thread builds it once (``GraphPayload.digest`` keys
a small cache of ``Runtime`` s): later tasks only set the swept parameters that differ
and run, so the runtime's cache keeps every node that does not depend on the shard.

A task never raises for a bad shard or a failing node: it returns a ``TaskResult`` whose
``failure`` names the shard, the node and the message, so the other shards go on.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import HaibalError
from ..files.limits import DEFAULT_LIMITS, Limits
from ..files.policy import FilePolicy
from ..graph import Graph
from ..node.types import Batches
from ..runtime import NodeRunError, Runtime
from .shards import Shard, read_shard

__all__ = ["GraphPayload", "LOADS", "ShardFailure", "Summary", "Task", "TaskResult", "loads", "run_task"]

#: values with more elements than this are sent back from a worker as a ``Summary`` only,
#: unless the client writes per-shard arrays (``keep_arrays``)
SMALL_VALUES = 64
_CACHED_GRAPHS = 2  # graphs kept per worker thread (a long-lived cluster serves several runs)


@dataclass(frozen=True)
class GraphPayload:
    """A graph as plain data for the workers: its document, its arrays, the folder its
    relative file paths start from, the inputs every shard shares (``--input``), the file
    policy and limits it runs under, and a digest of all of it (the workers' cache key)."""

    document: dict
    arrays: dict[str, np.ndarray]
    base_dir: str | None
    inputs: dict[str, Any]
    digest: str
    policy: FilePolicy | None = None
    limits: Limits = DEFAULT_LIMITS

    @classmethod
    def of(cls, graph: Graph, inputs: Mapping[str, Any] | None = None, policy: FilePolicy | None = None,
           limits: Limits | None = None) -> "GraphPayload":
        arrays: dict[str, np.ndarray] = {}
        document = graph.to_dict(arrays=arrays)
        base_dir = str(graph.base_dir.resolve()) if graph.base_dir is not None else None
        inputs = dict(inputs or {})
        h = hashlib.blake2b(digest_size=16)
        h.update(json.dumps(document, sort_keys=True, default=str).encode())
        h.update(repr(base_dir).encode())
        limits = limits or DEFAULT_LIMITS
        h.update(repr((policy, limits)).encode())
        for key in sorted(arrays):
            _hash_value(h, key, arrays[key])
        for key in sorted(inputs):
            _hash_value(h, key, inputs[key])
        return cls(document, arrays, base_dir, inputs, h.hexdigest(), policy, limits)

    def build(self) -> Graph:
        return Graph.from_dict(self.document, base_dir=self.base_dir, arrays=self.arrays)


def _hash_value(h, key: str, value) -> None:
    h.update(key.encode())
    if isinstance(value, Batches):
        for v in value:
            _hash_value(h, "", v)
        return
    arr = np.ascontiguousarray(value)
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.view(np.uint8).reshape(-1) if arr.size and arr.dtype.kind != "O" else repr(value).encode())


@dataclass(frozen=True)
class Task:
    """One run: ``index`` in the run's order (settings first, then shards), the setting's
    index and its (node id, parameter, value) triples, and the shard (None: the graph's
    own inputs)."""

    index: int
    setting: int
    values: tuple[tuple[str, str, Any], ...]
    shard: Shard | None


@dataclass(frozen=True)
class ShardFailure:
    """A shard that failed: its name, the node that failed (None: the shard itself could
    not be used: unreadable, or not the graph's inputs), the message, and the setting."""

    shard: str
    node: str | None
    message: str
    settings: dict = field(default_factory=dict)

    def __str__(self) -> str:
        where = self.shard or "the graph's inputs"
        setting = (" [" + ", ".join(f"{k}={v!r}" for k, v in self.settings.items()) + "]") if self.settings else ""
        return f"{where}{setting}: {self.message}"


@dataclass(frozen=True)
class Summary:
    """A large per-shard value described instead of sent back: shape, dtype, statistics."""

    shape: tuple
    dtype: str
    min: float | None
    mean: float | None
    max: float | None
    batches: int | None = None

    @classmethod
    def of(cls, value) -> "Summary":
        batches = len(value) if isinstance(value, Batches) else None
        arr = np.asarray(value[0] if batches else value) if batches != 0 else np.zeros(0)
        stats: list[float | None] = [None, None, None]
        if arr.size and arr.dtype.kind in "biuf":
            a = arr.astype(np.float64)
            stats = [_finite(a.min()), _finite(a.mean()), _finite(a.max())]
        return cls(tuple(arr.shape), str(arr.dtype), *stats, batches=batches)

    def __str__(self) -> str:
        head = f"{self.batches} batches of shape {self.shape}" if self.batches is not None else f"shape {self.shape}"
        stats = "" if self.mean is None else f"  min {self.min:.6g}  mean {self.mean:.6g}  max {self.max:.6g}"
        return f"{head} {self.dtype}{stats}"


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass
class TaskResult:
    """What a task sends back: per-shard output values (large ones as ``Summary`` unless
    ``keep_arrays``), the mergeable states of the graph outputs fed by an accumulator, the
    states of every node output (when asked: the editor's viewers) and the failure, if any."""

    index: int
    setting: int
    shard: str
    outputs: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)
    node_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: ShardFailure | None = None
    seconds: float = 0.0


_local = threading.local()
_loads_lock = threading.Lock()
LOADS = 0  # graphs built from a payload in this process (read through ``loads()``)


def loads() -> int:
    """How many times this process built a graph from a payload (a worker: once per graph and thread)."""
    return LOADS


class _Cached:
    """A worker thread's runtime of one graph, and the parameter values swept away from the
    graph's own (restored when a later task does not sweep them)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.original: dict[tuple[str, str], Any] = {}

    def apply(self, values) -> None:
        """Set the swept parameters whose value differs (so unchanged nodes stay cached) and
        put back those an earlier task swept and this one does not."""
        graph = self.runtime.graph
        wanted = {(node_id, param): value for node_id, param, value in values}
        for node_id, param in wanted:
            if (node_id, param) not in self.original:
                self.original[(node_id, param)] = graph.nodes[node_id].node.values[param]
        for key in [k for k in self.original if k not in wanted]:
            wanted[key] = self.original.pop(key)
        for (node_id, param), value in wanted.items():
            if not _same(graph.nodes[node_id].node.values[param], value):
                graph.set_param(node_id, param, value)


def _cached(payload: GraphPayload) -> _Cached:
    global LOADS
    cache: OrderedDict = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = OrderedDict()
    kept = cache.get(payload.digest)
    if kept is None:
        kept = cache[payload.digest] = _Cached(Runtime(payload.build(), payload.policy, payload.limits))
        while len(cache) > _CACHED_GRAPHS:
            cache.popitem(last=False)
        with _loads_lock:
            LOADS += 1
    else:
        cache.move_to_end(payload.digest)
    return kept


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and a.shape == b.shape and bool(np.array_equal(a, b))
    return type(a) is type(b) and a == b


def _sendable(value, keep_arrays: bool):
    if keep_arrays:
        return value
    size = sum(np.size(v) for v in value) if isinstance(value, Batches) else np.size(value)
    return value if size <= SMALL_VALUES else Summary.of(value)


def run_task(payload: GraphPayload, task: Task, keep_arrays: bool = False, node_states: bool = False) -> TaskResult:
    """Run the payload's graph with ``task``'s setting over ``task``'s shard (see the module docstring)."""
    start = time.perf_counter()
    shard_name = task.shard.name if task.shard is not None else ""
    out = TaskResult(task.index, task.setting, shard_name)
    try:
        kept = _cached(payload)
        kept.apply(task.values)
        runtime = kept.runtime
        inputs = dict(payload.inputs)
        shard_inputs = read_shard(task.shard, payload.limits) if task.shard is not None else {}
        inputs.update(shard_inputs)
        result = runtime.run(inputs, fresh=shard_inputs)  # a shard is new data: not hashed
    except NodeRunError as exc:
        out.failure = ShardFailure(shard_name, exc.node_id, str(exc))
    except HaibalError as exc:
        out.failure = ShardFailure(shard_name, None, str(exc))
    except Exception as exc:  # a bug or a system error: reported for this shard, the others go on
        out.failure = ShardFailure(shard_name, None, f"{type(exc).__name__}: {exc}")
    else:
        out.outputs = {name: _sendable(value, keep_arrays) for name, value in result.outputs.items()}
        out.states = dict(result.output_states)
        if node_states:
            out.node_states = {gid: dict(kept) for gid, kept in result.states.items()}
    out.seconds = time.perf_counter() - start
    return out
