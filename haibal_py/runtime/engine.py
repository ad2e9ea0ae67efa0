"""Runs a graph: dataflow order, each node once, incremental re-runs, observer hooks.

::

    rt = Runtime(graph)
    res = rt.run(inputs={"y_true": labels})   # RunResult: outputs, ran, values, timings ...
    graph.set_param("scc1", "from_logits", True)
    res = rt.run(inputs={"y_true": labels})   # only scc1 and what it feeds run again
    res.ran, res.cached

The graph is validated before anything runs (``GraphValidationError`` lists every
problem). Values flow as they are: an output feeds all its consumers without copies.

Incremental execution (like LabVIEW's and ComfyUI's): the runtime keeps each node's
outputs. A node runs again only when it is *dirty*: never ran (or failed), changed
(its parameters, instance, state or wires, read from the graph's change log, so finding
them costs O(changes)), fed by a graph input whose value changed (content fingerprint),
volatile with a new ``cache_token()`` (a file changed on disk), or downstream of a dirty
node. A re-run after one change therefore costs O(changed nodes). The instance each node
runs is picked by ``Node.select`` once per node state and kinds of values, then cached.

A composite node (collapsed subgraph, snippet node) runs its template's graph with a
sub-runtime of its own, kept between runs like everything else: only what changed
inside runs again.

A structure (For Loop, While Loop, Case Structure) runs each of its diagrams with a
``DiagramRun``: a sub-runtime on the diagram itself, kept between runs, that runs an
iteration without the bookkeeping of a whole run: the first iteration computes what
changed since the last run of the structure (with the values entering the loop that did
not change, nothing that depends only on them runs again); every later iteration runs
only what depends on the values that change per iteration (``i``, indexing tunnels, shift
registers) and the volatile nodes. Observers see the nodes inside through the same
hooks (their live values, progress), and each iteration as the structure's
``node_event(id, "iteration", {"step": i, ...})``; ``Runtime.watch`` adds chosen inner
wires' values to those events. ``RunResult.values`` holds the inner nodes' values too
(their last iteration's; node ids are unique in the whole graph).

Each node computes with a ``NodeContext``: progress and live values (a training curve)
go to the observers, ``Runtime.stop()`` is seen by ``should_stop()``, relative file paths
start at the graph's folder.

The trust boundary: ``Runtime(graph, policy=FilePolicy(...), limits=Limits(...))``. By
default a graph reads and writes only inside its own folder and below, within the
default ``Limits``. Validation refuses files outside the policy and sizes beyond the
limits; before each run, the nodes about to run are checked again (their parameters may
have changed since), so a refused file or size stops the run BEFORE any node runs
(``FileAccessError``, ``LimitError``); and each node's context resolves its paths through
the policy once more when it opens them. Composite nodes run their inner graphs with the
same policy and limits. A node that raises stops the run with a ``NodeRunError``
naming the node id, name, type and the underlying message; ``error.result`` (and
``runtime.last_result``) keep the values of the nodes that ran.

Mergeable states: a node that computes an output with an accumulator (a stateful metric's
batch instance) reports it through ``context.mergeable(output, state)``. The runtime keeps
it beside the node's outputs (cached, dropped and recomputed with them), carries it
through graph outputs, viewers (``Instance.passes``) and composite nodes, and returns
them in ``RunResult.states`` / ``RunResult.output_states``: what ``haibal_py.distributed``
merges over the shards of a sharded run.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping

import numpy as np

from ..errors import HaibalError, HaibalValueError
from ..files.limits import DEFAULT_LIMITS, Limits
from ..files.policy import DEFAULT_POLICY, FilePolicy
from ..graph.model import Graph
from ..graph.parts import GraphValidationError
from ..graph.resources import check_nodes
from ..graph.terminals import VALUE, GraphInput, GraphOutput, as_declared
from ..node.base import Node, RunContext, install_inner_runner
from ..node.types import Batches, PortType
from ..numeric.kernels.memory import keep_freed_memory

__all__ = ["GraphInputError", "NodeContext", "NodeRunError", "RunObserver", "RunResult", "Runtime", "fingerprint"]


class GraphInputError(HaibalValueError):
    """A value given for a graph input is unknown, missing or of the wrong type (before any node runs)."""


class NodeRunError(HaibalError, RuntimeError):
    """A node raised while running. ``node_id``, ``type_id``, ``cause``; ``result`` keeps what ran."""

    def __init__(self, message: str, node_id: str = "", type_id: str = "", cause: BaseException | None = None,
                 result: "RunResult | None" = None):
        super().__init__(message)
        self.node_id, self.type_id, self.cause, self.result = node_id, type_id, cause, result


class RunObserver:
    """Hooks called during a run (all no-ops here; override the ones you need).

    Any object with some of these methods works as an observer. They are called on the
    thread that runs the graph.
    """

    def run_started(self, to_run: list[str]) -> None:
        """``to_run``: the ids of the nodes that will run, in order (cached ones left out)."""

    def node_started(self, node_id: str) -> None:
        pass

    def node_finished(self, node_id: str, seconds: float) -> None:
        pass

    def node_failed(self, node_id: str, message: str, seconds: float) -> None:
        pass

    def node_progress(self, node_id: str, done: int, total: int) -> None:
        """From a node reporting progress (a batch instance: batches done of total)."""

    def node_event(self, node_id: str, kind: str, payload: Any) -> None:
        """A live value from a running node (``NodeContext.emit``: a fit's new loss points)."""

    def run_finished(self, result: "RunResult") -> None:
        """Called after a successful run and after a failed one (``result.failed`` set)."""


@dataclass
class RunResult:
    """What a run produced.

    - ``outputs``: graph output name -> value;
    - ``ran``: ids of the nodes computed by this run, in order; ``cached``: reused ones;
    - ``values``: node id -> {output port: value} for every node holding a value;
    - ``instances``: node id -> the instance it ran (or last ran) with;
    - ``timings``: node id -> seconds, for the nodes that ran; ``seconds``: the whole run;
    - ``failed`` / ``errors``: the node that failed and its message (None / {} on success);
    - ``stopped``: ``Runtime.stop()`` ended the run early (the nodes after it did not run);
    - ``states``: node id -> {output port: mergeable state} for the outputs whose value is
      an accumulator's result (``RunContext.mergeable``); ``output_states``: graph output
      name -> the state of the value that reached it, for those fed by such an output;
    - inside structures, ``values`` also holds the values of the diagrams' nodes (their last
      iteration's), by their ids (unique in the whole graph).
    """

    outputs: dict[str, Any] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failed: str | None = None
    stopped: bool = False
    seconds: float = 0.0
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_states: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list, repr=False)  # the dataflow order of the graph

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def cached(self) -> list[str]:
        """Ids of the nodes whose kept values were reused, in order (computed when asked)."""
        ran = set(self.ran)
        return [gid for gid in self.order if gid in self.values and gid not in ran]


def fingerprint(value) -> tuple:
    """A content fingerprint of a run-time value (arrays hashed, not compared by identity)."""
    if isinstance(value, Batches):
        return ("batches",) + tuple(fingerprint(v) for v in value)
    if isinstance(value, (str, bool, int, float)) or value is None:
        return (type(value).__name__, value)
    arr = np.ascontiguousarray(value)
    if arr.dtype.kind == "O":
        return ("object", id(value))
    digest = hashlib.blake2b(arr.view(np.uint8).reshape(-1) if arr.size else b"", digest_size=16).digest()
    return (arr.dtype.str, arr.shape, digest)


class _Plan:
    """What a validated graph structure needs for running: order, wiring, successors."""

    def __init__(self, graph: Graph):
        order, _ = graph.topological_order()
        self.order = order
        self.index = {gid: i for i, gid in enumerate(order)}
        self.feeds: dict[str, list[tuple[str, str, str]]] = {
            gid: [(c.dst_port, c.src, c.src_port) for c in graph.incoming(gid)] for gid in order}
        self.succ: dict[str, list[str]] = {gid: list(dict.fromkeys(graph.successors(gid))) for gid in order}
        nodes = {gid: graph.nodes[gid].node for gid in order}
        self.input_ids = [gid for gid in order if isinstance(nodes[gid], GraphInput)]
        self.output_ids = [gid for gid in order if isinstance(nodes[gid], GraphOutput)]
        self.volatile = [gid for gid in order if nodes[gid].volatile]
        #: nodes declaring files or limits (checked before each run)
        self.hooked = {gid for gid in order if type(nodes[gid]).files is not Node.files
                       or type(nodes[gid]).check_limits is not Node.check_limits}
        self.volatile_set = set(self.volatile)
        self.output_set = set(self.output_ids)


class NodeContext(RunContext):
    """The run context of one node in one runtime: reports to the run's observer."""

    def __init__(self, runtime: "Runtime", node_id: str):
        self.runtime = runtime
        self.node_id = node_id
        self.base_dir = runtime.graph.base_dir
        self.policy = runtime.policy
        self.limits = runtime.limits
        self.states: dict[str, Any] | None = None  # reported by the computing node (mergeable)

    def progress(self, done: int, total: int) -> None:
        report = self.runtime._hooks.progress
        if report is not None:
            report(self.node_id, done, total)

    def emit(self, kind: str, payload: Any) -> None:
        self.runtime._hooks.node_event(self.node_id, kind, payload)

    def should_stop(self) -> bool:
        return self.runtime._stop.is_set()

    @property
    def observed(self) -> bool:
        return self.runtime._hooks.observed

    def mergeable(self, output: str, state: Any) -> None:
        if self.states is None:
            self.states = {}
        self.states[output] = state

    def run_inner(self, node: Node, values: dict) -> dict:
        return self.runtime._run_inner(self.node_id, node, values)

    def diagram(self, node: Node, index: int) -> "DiagramRun":
        return self.runtime._diagram(self.node_id, node, index)


class Runtime:
    """Runs ``graph`` and keeps node outputs between runs (see the module docstring).

    ``policy``: the folders the graph may read and write besides its own (default: none);
    ``limits``: the resource limits (default: ``Limits()``)."""

    def __init__(self, graph: Graph, policy: FilePolicy | None = None, limits: Limits | None = None):
        self.graph = graph
        self.policy = policy or DEFAULT_POLICY
        self.limits = limits or DEFAULT_LIMITS
        self.last_result: RunResult | None = None
        self._plan: _Plan | None = None
        self._mark = 0
        self._values: dict[str, dict[str, Any]] = {}
        self._states: dict[str, dict[str, Any]] = {}  # node id -> {port: mergeable state}, beside _values
        self._instances: dict[str, str] = {}
        self._input_prints: dict[str, tuple] = {}
        self._selected: dict[str, tuple] = {}  # node id -> (selection key, Instance)
        self._tokens: dict[str, Any] = {}  # cache_token() of volatile nodes after they ran
        self._pending: set[str] = set()  # changed since the last successful sync
        self._inner: dict[str, tuple[Any, "Runtime"]] = {}  # composite node id -> (template, sub-runtime)
        self._diagrams: dict[tuple[str, int], DiagramRun] = {}  # (structure id, diagram index) -> its runner
        self._watch: set[tuple[str, str]] = set()  # (inner node id, output port) whose values iterations report
        self._contexts: dict[str, NodeContext] = {}
        self._settings: tuple = ()  # (base_dir, policy, limits) the contexts hold
        self._stop = threading.Event()
        self._hooks = _Hooks(None)

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """Ask the run to stop: the running node sees it (``NodeContext.should_stop``) and may
        end early, the nodes after it do not start (``RunResult.stopped``); the values computed
        so far are kept, and the next ``run`` computes the rest (and the node that was
        stopped) again. Safe from any thread; the next ``run`` clears the request."""
        self._stop.set()
        for _, sub in list(self._inner.values()):
            sub.stop()
        for run in list(self._diagrams.values()):  # they share this runtime's request; their composite nodes do not
            run.sub.stop_inner()

    def stop_inner(self) -> None:
        """Pass a stop request on to the sub-runtimes of composite nodes (the own one is shared)."""
        for _, sub in list(self._inner.values()):
            sub.stop()
        for run in list(self._diagrams.values()):
            run.sub.stop_inner()

    def inner_runtime(self, node_id: str, index: int | None = None) -> "Runtime | None":
        """The sub-runtime a composite node ran its inner graph with, or (``index``) the one a
        structure ran its diagram ``index`` with (None before it ran)."""
        if index is not None:
            run = self._diagrams.get((node_id, index))
            return run.sub if run is not None else None
        kept = self._inner.get(node_id)
        return kept[1] if kept is not None else None

    def watch(self, wires) -> None:
        """Report the values of these wires, given as (node id, output port) of nodes inside
        structures, with each iteration (``node_event(structure, "iteration", {..., "wires":
        {"node.port": value}})``); an empty list stops it."""
        self._watch.clear()
        self._watch.update((str(n), str(p)) for n, p in wires)

    def invalidate(self, node_id: str | None = None) -> None:
        """Forget the cached outputs of one node (and so of what it feeds), or of all."""
        if node_id is None:
            self._values.clear()
            self._states.clear()
            self._input_prints.clear()
            self._inner.clear()
            self._diagrams.clear()
        else:
            self.graph.node(node_id)
            self._values.pop(node_id, None)
            self._states.pop(node_id, None)
            self._input_prints.pop(node_id, None)
            self._inner.pop(node_id, None)
            for key in [k for k in self._diagrams if k[0] == node_id]:
                del self._diagrams[key]

    def _sync(self) -> _Plan:
        """Read the graph's change log: re-validate on structural changes, note dirty nodes."""
        mark, changed, structural = self.graph.changes_since(self._mark)
        if self._plan is None or structural:
            problems = self.graph.validate(self.policy, self.limits)
            if problems:
                raise GraphValidationError(problems)
            self._plan = _Plan(self.graph)
            for kept in (self._values, self._states, self._instances, self._tokens, self._input_prints, self._selected,
                         self._inner, self._contexts):
                for gid in [gid for gid in kept if gid not in self.graph.nodes]:
                    del kept[gid]
            for key in [k for k in self._diagrams if k[0] not in self.graph.nodes]:
                del self._diagrams[key]
            self._selected.clear()
        self._pending |= changed
        self._mark = mark
        return self._plan

    # ------------------------------------------------------------------ running
    def _input_values(self, plan: _Plan, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Graph input node id -> value (given, or the default), each checked against its type."""
        graph = self.graph
        by_name = {graph.nodes[gid].name: gid for gid in plan.input_ids}
        unknown = [k for k in inputs if k not in by_name]
        if unknown:
            raise GraphInputError(f"the graph has no input {unknown[0]!r} "
                                  f"(inputs: {', '.join(by_name) or 'none'})")
        values = {}
        for name, gid in by_name.items():
            node = graph.nodes[gid].node
            declared = node.declared_type
            if name in inputs:
                value, given = inputs[name], True
            else:
                value, given = node.values["default"], False
                if value is None:
                    raise GraphInputError(f"graph input {name!r} needs a value (it has no default): "
                                          f"give one with --input {name}=FILE")
            try:
                value = as_declared(value, declared)
            except HaibalValueError as exc:
                raise GraphInputError(f"graph input {name!r}: {exc}") from None
            got = PortType.of_value(value)
            if not got.check(declared).ok:
                shape = f" (shape {np.shape(value)})" if not isinstance(value, Batches) else ""
                raise GraphInputError(f"graph input {name!r} expects {declared}, got {got}{shape}"
                                      + ("" if given else " from its default"))
            values[gid] = value
        return values

    def prepare(self) -> None:
        """Validate the graph now, against this runtime's policy and limits, as ``run`` would
        (``GraphValidationError`` listing every problem); the next ``run`` reuses the result."""
        self._sync()

    def run(self, inputs: Mapping[str, Any] | None = None, observer: Any = None, *,
            fresh: Collection[str] = ()) -> RunResult:
        """Run what is needed; return a ``RunResult``.

        ``inputs``: graph input name -> value (others use their defaults). ``fresh``: names of
        given inputs that hold new data (a sharded run reads a new shard each time): they
        count as changed without being fingerprinted (hashing a large array costs about as
        much as reading it), and the next run counts them as changed too. Raises
        ``GraphValidationError`` (nothing ran), ``GraphInputError`` (nothing ran) or
        ``NodeRunError`` (its ``result`` holds what ran).
        """
        keep_freed_memory()  # once per process: a graph's large arrays reuse memory (kernels/memory.py)
        start = time.perf_counter()
        plan = self._sync()
        graph = self.graph
        self._refresh_contexts()
        inputs = dict(inputs or {})
        given = self._input_values(plan, inputs)
        self._stop.clear()

        dirty = {gid for gid in self._pending if gid in plan.index}
        for gid, value in given.items():
            if fresh and graph.nodes[gid].name in fresh and graph.nodes[gid].name in inputs:
                self._input_prints.pop(gid, None)
                dirty.add(gid)
                continue
            fp = fingerprint(value)
            if self._input_prints.get(gid) != fp:
                self._input_prints[gid] = fp
                dirty.add(gid)
        for gid in plan.volatile:
            if self._tokens.get(gid) != self._token(gid, graph.nodes[gid].node):
                dirty.add(gid)
        if len(self._values) < len(plan.order):
            dirty.update(gid for gid in plan.order if gid not in self._values)
        todo = list(dirty)
        while todo:  # everything downstream of a dirty node is dirty
            for nxt in plan.succ[todo.pop()]:
                if nxt not in dirty:
                    dirty.add(nxt)
                    todo.append(nxt)
        to_run = sorted(dirty, key=plan.index.__getitem__)
        nodes = graph.nodes
        check_nodes(((gid, nodes[gid].node) for gid in to_run if gid in plan.hooked), graph.base_dir,
                    self.policy, self.limits)  # before anything runs
        self._pending = set()  # from here on, the values being computed reflect every change

        hook = self._hooks = _Hooks(observer)
        hook.run_started(to_run)
        result = RunResult()
        values, states = self._values, self._states
        for gid in to_run:
            values.pop(gid, None)
            states.pop(gid, None)
        watched = observer is not None
        instances, timings, ran = self._instances, result.timings, result.ran
        perf_counter, call, nodes, feeds = time.perf_counter, self._call, graph.nodes, plan.feeds
        volatile, output_set = plan.volatile_set, plan.output_set
        stop = self._stop
        try:
            for gid in to_run:
                if stop.is_set():  # asked to stop: what ran is kept, the rest runs next time
                    result.stopped = True
                    break
                node = nodes[gid].node
                if watched:
                    hook.node_started(gid)
                t0 = perf_counter()
                try:
                    if gid in given:
                        out = {VALUE: given[gid]}
                        instances[gid] = VALUE
                    else:
                        args = {port: values[src][sport] for port, src, sport in feeds[gid]}
                        if gid in output_set:
                            out = {VALUE: args[VALUE]}
                            instances[gid] = VALUE
                            if states:
                                self._pass_states(gid, {VALUE: VALUE}, None)
                        else:
                            out = call(gid, node, args)
                except Exception as exc:  # stop the run; keep what ran
                    raise self._failure(gid, node, exc, perf_counter() - t0, result, plan, start) from exc
                seconds = perf_counter() - t0
                values[gid] = out
                if stop.is_set():  # it may have ended early: computed again by the next run
                    self._pending.add(gid)
                if gid in volatile:
                    self._tokens[gid] = self._token(gid, node)
                ran.append(gid)
                timings[gid] = seconds
                if watched:
                    hook.node_finished(gid, seconds)
        finally:
            self._release_hooks()
        self._finish(result, plan, start)
        hook.run_finished(result)
        return result

    def _failure(self, gid: str, node: Node, exc: Exception, seconds: float, result: RunResult, plan: _Plan,
                 start: float) -> NodeRunError:
        gn = self.graph.nodes[gid]
        message = str(exc) if isinstance(exc, HaibalError) else f"{type(exc).__name__}: {exc}"
        result.timings[gid] = seconds
        result.errors[gid] = message
        result.failed = gid
        self._hooks.node_failed(gid, message, seconds)
        self._finish(result, plan, start)
        self._hooks.run_finished(result)
        own = node.label + ": "  # Node.compute names the node; the id and type say it here
        detail = message[len(own):] if message.startswith(own) else message
        return NodeRunError(f"node {gn.label} failed: {detail}", gid, gn.type_id, exc, result)

    def _call(self, gid: str, node: Node, args: dict) -> dict:
        """``node.run(**args)`` with this run's context and the instance selection cached.

        Same rules as ``Node.run`` (``Node.bind``: defaults fill unwired inputs; wired inputs
        and non-None defaults take part in the selection); the selection is made again only
        when the node changed or the kinds and ranks of its values did.
        """
        cls = type(node)
        info = _CLASS_INFO.get(cls)
        if info is None or cls.dynamic_ports:
            info = _port_info(node)
        ports = info[0]
        if len(args) < len(ports):
            values = dict(args)
            for name, default in ports:
                if name not in values:
                    values[name] = default
        else:
            values = args
        key = (self.graph.nodes[gid].revision, node.instance,
               *[_type_key(values[name]) if (name in args or values[name] is not None) else None
                 for name, _ in ports])
        kept = self._selected.get(gid)
        if kept is not None and kept[0] == key:
            inst = kept[1]
        else:
            _, wired = node.bind(args)
            inst = node.select(wired).instance
            self._selected[gid] = (key, inst)
        self._instances[gid] = inst.name
        context = node.context = self._contexts.get(gid) or self._context(gid)
        context.states = None
        try:
            out = _checked(node.compute(inst, values), info[1])
        finally:
            del node.context  # back to the class's no-op context
        if context.states is not None or inst.passes:
            self._pass_states(gid, inst.passes, context.states)
            context.states = None
        return out

    def _pass_states(self, gid: str, passes, reported: dict | None) -> None:
        """Keep the mergeable states of ``gid``'s outputs: those its node reported, and for
        each output that is an input unchanged (``passes``), the state of what feeds it."""
        kept = dict(reported or {})
        for out_port, in_port in passes.items():
            for port, src, src_port in self._plan.feeds[gid]:
                if port == in_port and out_port not in kept:
                    state = self._states.get(src, {}).get(src_port)
                    if state is not None:
                        kept[out_port] = state
        if kept:
            self._states[gid] = kept

    def _context(self, gid: str) -> NodeContext:
        context = self._contexts.get(gid)
        if context is None:
            context = self._contexts[gid] = NodeContext(self, gid)
        return context

    def _refresh_contexts(self) -> None:
        """Give the node contexts this runtime's folder, policy and limits, if they changed."""
        settings = (self.graph.base_dir, self.policy, self.limits)
        if settings != self._settings:
            self._settings = settings
            for context in self._contexts.values():
                context.base_dir, context.policy, context.limits = settings

    def _token(self, gid: str, node: Node):
        """A volatile node's ``cache_token()``, read in its run context (its files resolve the same)."""
        node.context = self._context(gid)
        try:
            return node.cache_token()
        except Exception:  # a token that cannot be read: run again
            return object()
        finally:
            del node.context

    def _run_inner(self, gid: str, node: Node, values: dict) -> dict:
        """Run a composite node's template graph with its own cached sub-runtime."""
        template = node.template
        kept = self._inner.get(gid)
        if kept is None or kept[0] is not template:
            inner = template.graph.copy()
            inner.base_dir = self.graph.base_dir
            kept = self._inner[gid] = (template, Runtime(inner, self.policy, self.limits))
        sub = kept[1]
        for p in template.params:  # exposed parameters: set where they changed, so the rest stays cached
            if not _same(sub.graph.nodes[p.node].node.values[p.param], node.values[p.name]):
                sub.graph.set_param(p.node, p.param, node.values[p.name])
        if self._stop.is_set():
            sub.stop()
        res = sub.run(inputs=values)
        context = self._context(gid)
        for name, state in res.output_states.items():  # the inner graph's outputs merge as they do inside
            context.mergeable(name, state)
        return dict(res.outputs)

    def _release_hooks(self) -> None:
        """Forget the run's observer (and so do the diagrams' sub-runtimes, which used it)."""
        self._hooks = _Hooks(None)
        for run in self._diagrams.values():
            run.sub._release_hooks()

    def _diagram(self, gid: str, node: Node, index: int) -> "DiagramRun":
        """The runner of a structure's diagram, kept between runs (a new one for a new diagram)."""
        diagram = node.diagrams[index]
        run = self._diagrams.get((gid, index))
        if run is None or run.diagram is not diagram:
            run = self._diagrams[(gid, index)] = DiagramRun(self, diagram)
        return run

    def _inner_values(self, into: dict) -> None:
        for run in self._diagrams.values():
            into.update(run.sub._values)
            run.sub._inner_values(into)

    def _finish(self, result: RunResult, plan: _Plan, start: float) -> None:
        result.order = plan.order
        result.values = dict(self._values)  # C-speed copies: later runs do not change this result
        if self._diagrams:
            self._inner_values(result.values)
        result.instances = dict(self._instances)
        result.states = {gid: dict(kept) for gid, kept in self._states.items()}
        for gid in plan.output_ids:
            if gid in self._values:
                name = self.graph.nodes[gid].name
                result.outputs[name] = self._values[gid][VALUE]
                state = self._states.get(gid, {}).get(VALUE)
                if state is not None:
                    result.output_states[name] = state
        result.seconds = time.perf_counter() - start
        self.last_result = result


_CLASS_INFO: dict[type, tuple] = {}  # node class -> (input (name, default)s, output names)


def _port_info(node: Node) -> tuple:
    cls = type(node)
    if cls.dynamic_ports:  # a structure: ports of its own
        return tuple((p.name, p.default) for p in node.inputs), tuple(p.name for p in node.outputs)
    info = _CLASS_INFO.get(cls)
    if info is None:
        info = _CLASS_INFO[cls] = (tuple((p.name, p.default) for p in cls.inputs), tuple(p.name for p in cls.outputs))
    return info


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _checked(out, names: tuple[str, ...]) -> dict:
    """A node's result, checked to hold every declared output (a bug in a node class otherwise)."""
    if type(out) is not dict:
        raise HaibalValueError(f"the node returned {type(out).__name__}, not a dict of its outputs")
    for name in names:
        if name not in out:
            raise HaibalValueError(f"the node returned no value for its output {name!r} "
                                   f"(returned: {', '.join(map(str, out)) or 'nothing'})")
    return out


def _type_key(value):
    """What the selection depends on, cheaply: (dtype kind, rank) for arrays, else the PortType."""
    t = type(value)
    if t is np.ndarray or isinstance(value, np.generic):
        return (value.dtype.kind, value.ndim)
    if t is float or t is int or t is bool:
        return t
    return PortType.of_value(value)


class DiagramRun:
    """Runs one diagram of a structure, for the structure's node in a runtime (see the module
    docstring): ``begin(fixed, varying)`` once per run of the structure (``fixed``: the
    values entering it that stay the same in every iteration, by terminal name;
    ``varying``: the names of those that change), then ``step(values)`` per iteration,
    giving the values reaching the diagram's output terminals by name. A node failing
    raises ``NodeRunError`` naming it."""

    def __init__(self, parent: "Runtime", diagram):
        self.parent = parent
        self.diagram = diagram
        self.sub = Runtime(diagram.graph, parent.policy, parent.limits)
        self.sub._stop = parent._stop  # one stop request for the whole run
        self.sub._watch = parent._watch
        self._key: tuple | None = None  # (plan, varying names) the orders below are for
        self._inputs: dict[str, str] = {}  # terminal name -> node id
        self._outputs: dict[str, str] = {}
        self._input_ids: set[str] = set()
        self._loop_order: list[str] = []  # what runs in every iteration
        self._stale: set[str] = set()  # nodes to compute in the next first iteration
        self._first_order: list[str] | None = None
        self._watched: list[tuple[str, str]] = []

    def begin(self, fixed: Mapping[str, Any], varying: tuple[str, ...]) -> None:
        parent, sub = self.parent, self.sub
        sub.policy, sub.limits, sub._hooks = parent.policy, parent.limits, parent._hooks
        plan = sub._sync()
        sub._refresh_contexts()
        graph, values = sub.graph, sub._values
        if self._key is None or self._key[0] is not plan or self._key[1] != varying:
            self._inputs = {graph.nodes[gid].name: gid for gid in plan.input_ids}
            self._outputs = {graph.nodes[gid].name: gid for gid in plan.output_ids}
            self._input_ids = set(plan.input_ids)
            self._loop_order = _downstream(plan, [self._inputs[n] for n in varying] + plan.volatile)
            self._key = (plan, varying)
        stale = self._stale | {gid for gid in sub._pending if gid in plan.index}
        sub._pending = set()
        for name, value in fixed.items():
            gid = self._inputs[name]
            fp = fingerprint(value)
            if sub._input_prints.get(gid) != fp or gid not in values:
                sub._input_prints[gid] = fp
                stale.add(gid)
            values[gid] = {VALUE: value}
        if len(values) < len(plan.order):
            stale.update(gid for gid in plan.order if gid not in values and gid not in self._input_ids)
        first = _downstream(plan, list(stale) + self._loop_order)
        nodes = graph.nodes
        check_nodes(((gid, nodes[gid].node) for gid in first if gid in plan.hooked), graph.base_dir,
                    sub.policy, sub.limits)  # before the structure's first iteration
        self._stale = set(first)
        self._first_order = first
        self._watched = [w for w in sub._watch if w[0] in nodes]

    def step(self, given: Mapping[str, Any]) -> dict[str, Any]:
        sub = self.sub
        plan = self._key[0]
        order = self._first_order if self._first_order is not None else self._loop_order
        values, inputs = sub._values, self._inputs
        for name, value in given.items():
            values[inputs[name]] = {VALUE: value}
        nodes, feeds, call, skip, output_set = sub.graph.nodes, plan.feeds, sub._call, self._input_ids, plan.output_set
        gid = ""
        try:
            for gid in order:
                if gid in skip:
                    continue
                args = {port: values[src][sport] for port, src, sport in feeds[gid]}
                if gid in output_set:
                    values[gid] = {VALUE: args[VALUE]}
                else:
                    values[gid] = call(gid, nodes[gid].node, args)
        except Exception as exc:
            self._stale.update(order)
            gn = sub.graph.nodes[gid]
            message = str(exc) if isinstance(exc, HaibalError) else f"{type(exc).__name__}: {exc}"
            own = gn.node.label + ": "
            detail = message[len(own):] if message.startswith(own) else message
            raise NodeRunError(f"node {gn.label} failed: {detail}", gid, gn.type_id, exc) from exc
        if self._first_order is not None:
            self._first_order = None
            self._stale = set()
        return {name: values[gid][VALUE] for name, gid in self._outputs.items()}

    def watched(self) -> dict[str, Any]:
        """The values of the watched wires inside this diagram after the last step."""
        if not self._watched:
            return {}
        values = self.sub._values
        return {f"{n}.{p}": values[n][p] for n, p in self._watched if n in values and p in values[n]}


def _downstream(plan: _Plan, seeds) -> list[str]:
    """``seeds`` and every node fed by them, in dataflow order."""
    seen = set(seeds)
    todo = list(seen)
    while todo:
        for nxt in plan.succ[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return sorted(seen, key=plan.index.__getitem__)


class _Hooks:
    """An observer's methods, or no-ops for those it lacks (looked up once per run)."""

    def __init__(self, observer):
        self.observed = observer is not None
        def get(name):
            fn = getattr(observer, name, None) if observer is not None else None
            return fn if callable(fn) else (lambda *a: None)

        self.run_started = get("run_started")
        self.node_started = get("node_started")
        self.node_finished = get("node_finished")
        self.node_failed = get("node_failed")
        self.node_event = get("node_event")
        self.run_finished = get("run_finished")
        fn = getattr(observer, "node_progress", None) if observer is not None else None
        self.progress = fn if callable(fn) else None


def _run_detached(node: Node, values: dict) -> dict:
    """A composite node called directly (``node(...)``, outside any runtime): a fresh runtime."""
    graph = node.template.runnable({p.name: node.values[p.name] for p in node.template.params})
    return dict(Runtime(graph).run(inputs=values).outputs)


def _diagram_detached(node: Node, index: int) -> DiagramRun:
    """A structure called directly (outside any runtime): its diagram in a runtime of its own."""
    return DiagramRun(Runtime(Graph()), node.diagrams[index])


install_inner_runner(_run_detached, _diagram_detached)
