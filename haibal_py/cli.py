"""The ``haibal`` command: run, validate and inspect saved graphs, list the node catalog.

Exit codes: 0 success; 1 a node failed while running (its id, name, type and message);
2 invalid usage, an invalid graph, snippet or input file, a file outside the allowed
folders, a limit exceeded, an output that cannot be written (every problem on its own
line, no traceback); 3 an internal error (a bug in haibal-py: ``HAIBAL_DEBUG=1`` shows the
traceback); 130 interrupted.

Everything printed that comes from a file (graph and node names, types, messages) has
its control characters escaped (``\x1b``, ``\n``, ``\u202e``): a graph cannot move the cursor,
recolour the terminal or forge lines.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import __version__
from .errors import HaibalError
from .files.array_files import SUFFIXES, check_writable, read_array, write_arrays
from .files.graph_format import STRUCTURES_VERSION, GraphFormatError, dumps, loads
from .files.limits import LimitError, Limits
from .files.policy import FilePolicy
from .files.snippet_format import is_snippet_path
from .graph import Graph, GraphValidationError
from .graph.structures import StructureNode
from .graph.templates import load_runnable
from .node.registry import CATALOG
from .node.types import Batches, PortType
from .runtime import GraphInputError, NodeRunError, Runtime

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(HaibalError, ValueError):
    """A command-line argument cannot be used (exit code 2)."""


# ---------------------------------------------------------------------------- value text
def printable(text: Any) -> str:
    """``text`` with every character that is not printable escaped as Python writes it
    (``\x1b``, ``\n``, ``\u202e``): terminal escape sequences, newlines and bidi overrides from
    a file reach the terminal as visible text."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _stats(arr: np.ndarray) -> str:
    if arr.size == 0 or arr.dtype.kind not in "biuf":
        return ""
    a = arr.astype(np.float64)
    return f"min {_num(a.min())}  mean {_num(a.mean())}  max {_num(a.max())}"


def _num(x) -> str:
    x = float(x)
    return "nan" if math.isnan(x) else f"{x:.6g}"


def summarize(value: Any, width: int = 6) -> str:
    """A one-line description of a value: a scalar in full, an array summarised."""
    if isinstance(value, Batches):
        if not value:
            return "0 batches"
        first = np.asarray(value[0])
        return f"{len(value)} batches of shape {first.shape} {first.dtype}"
    if isinstance(value, (str, bool, int, float)) or value is None:
        return repr(value)
    arr = _as_array(value)
    if arr is None:  # an object a node passes on (a model): its own description
        return repr(value)
    if arr.ndim == 0:
        return f"{_num(arr) if arr.dtype.kind in 'f' else arr.item()!r}".strip("'") + f"  ({arr.dtype})"
    flat = arr.reshape(-1)
    shown = ", ".join(_num(v) if arr.dtype.kind == "f" else str(v) for v in flat[:width])
    more = ", ..." if flat.size > width else ""
    return f"shape {arr.shape} {arr.dtype}  {_stats(arr)}  [{shown}{more}]".replace("  [", "  values [")


def _as_array(value) -> np.ndarray | None:
    """``value`` as an array, or None for an object that is not array-like (a model)."""
    try:
        arr = np.asarray(value)
    except Exception:  # objects refusing conversion (a symbolic tensor has no values)
        return None
    return None if arr.dtype.kind == "O" else arr


def to_json_value(value: Any, limit: int = 100_000) -> Any:
    """A JSON description of a value: shape, dtype, statistics and (if not huge) the values."""
    if isinstance(value, Batches):
        return {"batches": [to_json_value(v, limit) for v in value]}
    if isinstance(value, (str, bool)) or value is None:
        return value
    arr = _as_array(value)
    if arr is None:
        return {"object": type(value).__name__, "repr": repr(value)}
    out: dict[str, Any] = {"shape": list(arr.shape), "dtype": str(arr.dtype)}
    if arr.dtype.kind in "biuf" and arr.size:
        a = arr.astype(np.float64)
        out.update(min=_finite(a.min()), mean=_finite(a.mean()), max=_finite(a.max()))
    if arr.size <= limit and arr.dtype.kind in "biuf":
        data = arr.tolist()
        out["value"] = _clean(data) if arr.dtype.kind == "f" else data
    return out


def _finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _clean(data):
    if isinstance(data, list):
        return [_clean(d) for d in data]
    return _finite(data)


# ---------------------------------------------------------------------------- progress
class ProgressBar:
    """A one-line progress bar on stderr: nodes done, and the batches of a running node."""

    def __init__(self, stream=None, min_nodes: int = 0, min_batches: int = 0):
        self.stream = stream or sys.stderr
        self.min_nodes, self.min_batches = min_nodes, min_batches
        self.total, self.done, self.shown, self.last = 0, 0, False, 0.0
        self.detail = ""
        self.values: dict[str, str] = {}  # node id -> its last training values, for the detail

    def run_started(self, to_run):
        self.total, self.done = len(to_run), 0

    def node_started(self, node_id):
        self.detail = node_id
        self._draw()

    def node_finished(self, node_id, seconds):
        self.done += 1
        self._draw()

    def node_failed(self, node_id, message, seconds):
        self._end()

    def node_progress(self, node_id, done, total):
        self.detail = f"{node_id} {done}/{total}" + self.values.get(node_id, "")
        if total >= self.min_batches:
            self._draw(force_show=True)

    def node_event(self, node_id, kind, payload):
        """A loop's iteration (its number and scalar values) or a training curve's point (its
        epoch and logged values): they join the node's progress."""
        if not isinstance(payload, dict):
            return
        if kind == "iteration":
            values = "  ".join(f"{k} {v:.4g}" for k, v in payload.items() if k != "step" and isinstance(v, float))
            self.detail = f"{node_id} i={payload.get('step')}  {values}".rstrip()
            self._draw(force_show=True)
            return
        if kind != "curve":
            return
        shown = [f"{k} {v:.4f}" for k, v in payload.items()
                 if k not in ("stage", "epoch", "batch", "step") and isinstance(v, float)][:3]
        epoch = payload.get("epoch")
        self.values[node_id] = (f" epoch {epoch + 1}" if isinstance(epoch, int) else "") + \
            ("  " + "  ".join(shown) if shown else "")

    def run_finished(self, result):
        self._draw(final=True)
        self._end()

    def _draw(self, final: bool = False, force_show: bool = False):
        if not (self.shown or force_show or self.total >= self.min_nodes):
            return
        now = time.monotonic()
        if not final and self.shown and now - self.last < 0.1:
            return
        self.last, self.shown = now, True
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r[{bar:<30}] {self.done}/{self.total} nodes  {self.detail[:72]:<72}")
        self.stream.flush()

    def _end(self):
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


# ---------------------------------------------------------------------------- helpers
def _parse_assignment(text: str, what: str) -> tuple[str, str]:
    if "=" not in text:
        raise UsageError(f"{what} {text!r} must look like NAME=VALUE")
    left, right = text.split("=", 1)
    if not left:
        raise UsageError(f"{what} {text!r} has no name before '='")
    return left, right


def apply_sets(graph: Graph, sets: Sequence[str]) -> None:
    """``--set NODE.PARAM=VALUE`` (NODE: id or unique name; VALUE: JSON, or plain text)."""
    for item in sets:
        left, raw = _parse_assignment(item, "--set")
        if "." not in left:
            raise UsageError(f"--set {item!r}: name the node and the parameter, as NODE.PARAM=VALUE")
        ref, pname = left.rsplit(".", 1)
        node_id = graph.resolve(ref)
        holder = graph.locate(node_id)  # a node inside a structure is named by its id too
        gn = holder.node(node_id)
        if gn.node is None:
            raise UsageError(f"--set {item!r}: node {node_id!r} has an unknown type {gn.type_id!r}")
        kind = gn.node.param(pname).kind
        value: Any = raw
        if kind not in ("str", "enum", "array"):
            try:
                value = loads(raw, "--set")  # strict: no NaN, no 1e999, no deep nesting
            except GraphFormatError:
                value = raw  # plain text: the parameter says whether it takes it
        holder.set_param(node_id, pname, value)


def read_inputs(items: Sequence[str], limits: Limits | None = None) -> dict[str, Any]:
    """``--input NAME=FILE`` -> {NAME: array}; a .npz gives its array NAME, or its only one."""
    values = {}
    for item in items:
        name, file = _parse_assignment(item, "--input")
        if name in values:
            raise UsageError(f"--input {name!r} is given twice")
        values[name] = read_array(file, fallback_key=name, limits=limits or Limits())
    return values


def _load(path: str, limits: Limits) -> Graph:
    if is_snippet_path(path):  # NAME.png / NAME.snippet.json run like graphs
        return load_runnable(path)
    return Graph.load(path, limits=limits)


def _trust(args) -> tuple[FilePolicy, Limits]:
    """The file policy and limits of the command line (``--allow-read``, ``--allow-write``, ``--limit``)."""
    for flag, dirs in (("--allow-read", args.allow_read), ("--allow-write", args.allow_write)):
        for d in dirs:
            if not Path(d).expanduser().is_dir():
                raise UsageError(f"{flag} {d!r}: no such folder")
    return FilePolicy(tuple(args.allow_read), tuple(args.allow_write)), Limits().with_text(args.limit)


def _print_problems(path: str, problems, out) -> None:
    path = printable(path)
    print(f"{path}: the graph is not valid ({len(problems)} problem{'s' if len(problems) != 1 else ''}):", file=out)
    for p in problems:
        print(f"{path}: {printable(p)}", file=out)


def _file_lines(graph: Graph, policy: FilePolicy) -> list[str]:
    """One line per file the graph would read or write: where it leads, or why it is refused."""
    lines = []
    for a in graph.files(policy):
        target = f"-> {a.resolved}" if a.resolved is not None else "REFUSED (outside the allowed folders)"
        lines.append(printable(f"{a.use.mode:<5}  {a.use.path!r}  by node {a.where!r}  {target}"))
    return lines


def _file_json(graph: Graph, policy: FilePolicy) -> list[dict]:
    return [{"node": a.node, "via": list(a.use.via), "mode": a.use.mode, "path": a.use.path,
             "resolved": None if a.resolved is None else str(a.resolved), "refused": a.refused}
            for a in graph.files(policy)]


# ---------------------------------------------------------------------------- commands
def cmd_run(args) -> int:
    if args.over or args.sweep:
        return cmd_run_over(args)
    for flag, value in (("--over-input", args.over_input), ("--workers", args.workers), ("--scheduler", args.scheduler)):
        if value is not None:
            raise UsageError(f"{flag} is for runs over shards or sweeps: add --over FILES or --sweep NODE.PARAM=V1,V2")
    policy, limits = _trust(args)
    if args.output:  # checked before anything runs: a run is never wasted on an unwritable output
        if Path(args.output).suffix.lower() != ".npz":
            raise UsageError(f"--output {args.output!r}: the outputs are written as a .npz file")
        try:
            check_writable(Path(args.output).absolute())
        except HaibalError as exc:
            raise UsageError(f"--output {args.output!r}: {exc}") from None
    graph = _load(args.graph, limits)
    apply_sets(graph, args.set)
    runtime = Runtime(graph, policy, limits)
    runtime.prepare()  # validates: GraphValidationError lists every problem, nothing ran
    inputs = read_inputs(args.input, limits)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    observer = ProgressBar(min_nodes=0 if args.progress else 50, min_batches=0 if args.progress else 10) \
        if show else None
    try:
        result = runtime.run(inputs, observer=observer)
    except NodeRunError as exc:
        print(f"haibal: {printable(exc)}", file=sys.stderr)
        return EXIT_INVALID if isinstance(_root_cause(exc), LimitError) else EXIT_FAILED
    if args.output:
        write_arrays(args.output, result.outputs)
    if args.json:
        doc = {"graph": args.graph, "outputs": {k: to_json_value(v) for k, v in result.outputs.items()},
               "ran": result.ran, "seconds": result.seconds}
        print(dumps(doc), end="")
    else:
        if not result.outputs:
            print("(the graph has no outputs)")
        names = {k: printable(k) for k in result.outputs}
        width = max((len(k) for k in names.values()), default=0)
        for name, value in result.outputs.items():
            if isinstance(value, str) and "\n" in value:  # a text block (a model summary): line by line
                print(f"{names[name]}:")
                print("\n".join(printable(line) for line in value.rstrip().splitlines()))
            else:
                print(f"{names[name]:<{width}}  {printable(summarize(value))}")
        if args.output:
            print(f"wrote {len(result.outputs)} output(s) to {printable(args.output)}", file=sys.stderr)
    return EXIT_OK


def _root_cause(exc: BaseException) -> BaseException:
    """The error at the bottom of a chain of node failures (a node failing inside a loop)."""
    while isinstance(exc, NodeRunError) and exc.cause is not None:
        exc = exc.cause
    return exc


def cmd_run_over(args) -> int:
    """``haibal run --over/--sweep``: the graph once per shard and setting (haibal_py.distributed)."""
    from .distributed.command import run_command  # Dask and the rest load only for these runs
    policy, limits = _trust(args)
    graph = _load(args.graph, limits)
    apply_sets(graph, args.set)
    problems = graph.validate(policy, limits)
    if problems:
        _print_problems(args.graph, problems, sys.stderr)
        return EXIT_INVALID
    return run_command(args, graph, read_inputs(args.input, limits), policy=policy, limits=limits,
                       describe=summarize, to_json=to_json_value, dumps=dumps, text=printable)


def _add_scale_arguments(run: argparse.ArgumentParser) -> None:
    """``haibal run`` over shards and sweeps (docs/scale.md)."""
    scale = run.add_argument_group("sharded runs and sweeps (docs/scale.md)")
    scale.add_argument("--over", nargs="+", action="extend", default=[], metavar="FILES",
                       help="run once per file ('data/*.npz': arrays named like the graph inputs); merged "
                            "metrics over all, other outputs per shard (--output .npz/.csv/.json)")
    scale.add_argument("--over-input", metavar="NAME", help="the graph input a .npy/.csv shard feeds")
    scale.add_argument("--sweep", action="append", default=[], metavar="NODE.PARAM=V1,V2",
                       help="run every combination of these parameter values; repeatable")
    scale.add_argument("--workers", type=int, metavar="N",
                       help="local Dask worker processes (default: the machine's cores; 1: this process)")
    scale.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://host:8786)")


def cmd_validate(args) -> int:
    policy, limits = _trust(args)
    graph = _load(args.graph, limits)
    problems = graph.validate(policy, limits)
    expanded, nesting = graph.expanded_size()
    if args.json:
        print(json.dumps({"graph": args.graph, "valid": not problems, "nodes": len(graph.nodes),
                          "expanded_nodes": expanded, "nesting": nesting,
                          "files": _file_json(graph, policy) if expanded <= limits.max_expanded_nodes else [],
                          "problems": [{"node": p.node, "port": p.port, "code": p.code, "message": p.message}
                                       for p in problems]}, indent=2))
        return EXIT_INVALID if problems else EXIT_OK
    if problems:
        _print_problems(args.graph, problems, sys.stdout)
        return EXIT_INVALID
    size = f"; {expanded} with composite nodes expanded, nested {nesting} deep" if expanded != len(graph.nodes) else ""
    print(f"{printable(args.graph)}: valid ({len(graph.nodes)} nodes, {len(graph.connections)} connections{size})")
    for line in _file_lines(graph, policy):
        print(f"  {line}")
    return EXIT_OK


def _default_text(value) -> str:
    return "required" if value is None else summarize(value)


def cmd_info(args) -> int:
    policy, limits = _trust(args)
    graph = _load(args.graph, limits)
    problems = graph.validate(policy, limits)
    expanded, nesting = graph.expanded_size()
    info = graph.port_types()
    title = printable(graph.name or Path(args.graph).stem)
    print(f"{title}" + (f": {printable(graph.description)}" if graph.description else ""))
    size = f" ({expanded} with composite nodes expanded, nested {nesting} deep)" if expanded != len(graph.nodes) else ""
    version = STRUCTURES_VERSION if any(True for _ in graph.diagrams()) else 1
    print(f"format version {version}, {len(graph.nodes)} nodes{size}, {len(graph.connections)} connections, "
          + ("valid" if not problems else f"{len(problems)} problem(s)"))
    print("\nInputs")
    for name, gid in graph.inputs.items():
        vals = graph.node(gid).params
        doc = f"  {vals.get('doc')}" if vals.get("doc") else ""
        print(printable(f"  {name} : {vals.get('type')}  default: {_default_text(vals.get('default'))}{doc}"))
    if not graph.inputs:
        print("  (none)")
    print("\nOutputs")
    for name, gid in graph.outputs.items():
        vals = graph.node(gid).params
        doc = f"  {vals.get('doc')}" if vals.get("doc") else ""
        feeding = [c for c in graph.incoming(gid)]
        src = f"{feeding[0].src}.{feeding[0].src_port}" if feeding else "unwired"
        typ = info.outputs.get((feeding[0].src, feeding[0].src_port)) if feeding else None
        print(printable(f"  {name} : {typ if typ is not None else vals.get('type')}  from {src}{doc}"))
    if not graph.outputs:
        print("  (none)")
    print("\nFiles (read or written, checked against the allowed folders)")
    files = _file_lines(graph, policy) if expanded <= limits.max_expanded_nodes else []
    for line in files:
        print(f"  {line}")
    if not files:
        print("  (none)")
    print("\nNodes")
    _print_nodes(graph, info, "  ")
    if problems:
        print()
        _print_problems(args.graph, problems, sys.stdout)
        return EXIT_INVALID
    return EXIT_OK


def _print_nodes(graph: Graph, info, indent: str) -> None:
    """The nodes of a graph (a structure's diagrams below it, indented)."""
    for gid, gn in graph.nodes.items():
        if gn.is_input or gn.is_output:
            continue
        inst = info.instances.get(gid)
        pinned = gn.instance if gn.instance != "automatic" else f"automatic -> {inst}"
        if gn.cls is not None and len(gn.cls.instances) <= 1:
            pinned = ""
        elif gn.cls is None:
            pinned = "unknown type"
        params = ", ".join(f"{k}=({summarize(v)})" if isinstance(v, np.ndarray) else f"{k}={v!r}"
                           for k, v in gn.params.items())
        print(printable(f"{indent}{gid}  {gn.type_id}  name={gn.name!r}" + (f"  instance: {pinned}" if pinned else ""))
              + (f"\n{indent}    {printable(params)}" if params else ""))
        if isinstance(gn.node, StructureNode):
            node = gn.node
            for t in node.terminals:
                what = ("shift register" if t.kind == "shift" else
                        f"{t.direction}put tunnel{', indexing' if t.indexing else ''}")
                print(printable(f"{indent}    terminal {t.name!r}: {what}"))
            for d in node.diagrams:
                title = f"case {d.label}" if not node.loop else "diagram"
                print(printable(f"{indent}    {title}:"))
                _print_nodes(d.graph, info, indent + "      ")


def describe_node_class(cls) -> list[str]:
    lines = [f"{cls.type_id}  ({cls.display_name or cls.__name__}, {cls.category})"]
    if cls.help.description:
        lines.append("    " + textwrap.shorten(cls.help.description, 100, placeholder=" ..."))
    for port in cls.inputs:
        req = "" if port.required else f" = {port.default!r}"
        lines.append(f"    in  {port.name}: {cls.port_types_text(port.name)}{req}")
    for port in cls.outputs:
        lines.append(f"    out {port.name}: {port.type}")
    for p in cls.params:
        choices = f" {list(p.choices)}" if p.choices else ""
        default = summarize(p.default) if isinstance(p.default, np.ndarray) else repr(p.default)
        lines.append(f"    param {p.name}: {p.kind}{choices} = {default}")
    if len(cls.instances) > 1:
        lines.append("    instances: " + ", ".join(i.name for i in cls.instances))
    return lines


def cmd_nodes(args) -> int:
    if args.category:
        classes = CATALOG.in_category(args.category)
        if not classes:
            raise UsageError(f"no category {args.category!r} (categories: {', '.join(CATALOG.categories())})")
    else:
        classes = list(CATALOG)
    if args.json:
        print(json.dumps([{
            "type": c.type_id, "name": c.display_name, "category": c.category,
            "inputs": [{"name": p.name, "type": c.port_types_text(p.name), "required": p.required} for p in c.inputs],
            "outputs": [{"name": p.name, "type": str(p.type)} for p in c.outputs],
            "params": [{"name": p.name, "kind": p.kind, "choices": list(p.choices),
                        "default": p.default if not isinstance(p.default, np.ndarray) else p.default.tolist()}
                       for p in c.params],
            "instances": [i.name for i in c.instances]} for c in classes], indent=2))
        return EXIT_OK
    current = None
    for cls in classes:
        if cls.category != current:
            current = cls.category
            print(f"\n== {current} ==")
        print("\n".join(describe_node_class(cls)))
    return EXIT_OK


# ---------------------------------------------------------------------------- entry point
# ---------------------------------------------------------------------------- haibal onnx
LOAD_ONNX_TYPE = "haibal.model.LoadONNX"
MODEL_TYPE = PortType("model", 0, 0)


def cmd_onnx_import(args) -> int:
    """An ONNX file as a graph of layer nodes (the catalog's Load ONNX node knows how)."""
    model_path = Path(args.model)
    if not model_path.is_file():
        raise UsageError(f"{args.model!r}: no such file")
    out = Path(args.output) if args.output else model_path.with_suffix(".json")
    if out.suffix.lower() != ".json":
        raise UsageError(f"-o {str(out)!r}: a graph is written as a .json file")
    hook = getattr(CATALOG.get(LOAD_ONNX_TYPE), "graph_from_file", None)
    if hook is None:
        raise UsageError(f"the node catalog's {LOAD_ONNX_TYPE} gives no graph_from_file")
    graph = hook(model_path, name=out.stem)
    graph.save(out)
    print(printable(f"wrote {out} ({len(graph.nodes)} nodes; inputs {', '.join(graph.inputs) or 'none'}; "
                    f"outputs {', '.join(graph.outputs) or 'none'})"))
    return EXIT_OK


def _model_nodes(graph: Graph) -> list[str]:
    """Ids of the nodes whose output is a built model (model[0]: Model, Load ONNX ...)."""
    found = []
    for gid, gn in graph.nodes.items():
        node = gn.node
        if node is not None and any(p.type == MODEL_TYPE for p in type(node).outputs):
            found.append(gid)
    return found


def _ancestors(graph: Graph, node_id: str) -> set[str]:
    keep, stack = set(), [node_id]
    while stack:
        gid = stack.pop()
        if gid in keep:
            continue
        keep.add(gid)
        stack.extend(c.src for c in graph.incoming(gid))
    return keep


def cmd_onnx_export(args) -> int:
    """The model a graph builds, written as ONNX: the graph's nodes up to its Model node run."""
    from .onnx import save as save_onnx
    out = Path(args.output)
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"-o {args.output!r}: the model is written as a .onnx file")
    policy, limits = _trust(args)
    graph = _load(args.graph, limits)
    candidates = _model_nodes(graph)
    if args.node:
        chosen = [gid for gid in candidates if gid == args.node or graph.nodes[gid].name == args.node]
        if not chosen:
            raise UsageError(f"--node {args.node!r}: no node giving a model (choices: {', '.join(candidates)})")
    else:
        # the last model of the graph: a node giving a model that no other such node depends on
        # (a trained model after the untrained one; a model passed on by a summary is the same model)
        upstream = set()
        for gid in candidates:
            upstream |= _ancestors(graph, gid) - {gid}
        chosen = [gid for gid in candidates if gid not in upstream]
    if len(chosen) != 1:
        what = "no node gives a built model (wire the layers into a Model node)" if not chosen else \
            f"several nodes give a model ({', '.join(chosen)}): choose one with --node"
        raise UsageError(f"{args.graph}: {what}")
    node_id = chosen[0]
    sub = graph.copy()
    keep = _ancestors(sub, node_id)
    for gid in [g for g in sub.nodes if g not in keep]:
        sub.remove_node(gid)
    problems = sub.validate(policy, limits)
    if problems:
        _print_problems(args.graph, problems, sys.stderr)
        return EXIT_INVALID
    try:
        result = Runtime(sub, policy=policy, limits=limits).run({})
    except NodeRunError as exc:
        print(f"haibal: {exc}", file=sys.stderr)
        return EXIT_FAILED
    model = next((v for v in result.values.get(node_id, {}).values() if v is not None), None)
    save_onnx(model, out, opset=args.opset)
    print(f"wrote {printable(str(out))} (model {printable(getattr(model, 'name', '?'))!r} of node "
          f"{printable(node_id)!r})")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haibal", description="Run and inspect haibal-py graphs.")
    parser.add_argument("--version", action="version", version=f"haibal-py {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run a saved graph and print its outputs")
    run.add_argument("graph", metavar="GRAPH", help="a saved graph (.json)")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE",
                     help=f"value of graph input NAME from a file ({', '.join(SUFFIXES)}); repeatable")
    run.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                     help="set a node parameter before running (NODE: id or name); repeatable")
    run.add_argument("--output", metavar="OUT.npz", help="write the graph outputs to a .npz file")
    run.add_argument("--json", action="store_true", help="print the outputs as JSON")
    prog = run.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="always show the progress bar (default: only on a terminal, for long runs)")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")
    _trust_options(run)
    _add_scale_arguments(run)
    run.set_defaults(func=cmd_run)
    val = sub.add_parser("validate", help="check a graph without running it; list the files it would use")
    val.add_argument("graph", metavar="GRAPH")
    val.add_argument("--json", action="store_true", help="print the problems as JSON")
    _trust_options(val)
    val.set_defaults(func=cmd_validate)
    nodes = sub.add_parser("nodes", help="list the node catalog (ports, parameters, instances)")
    nodes.add_argument("category", nargs="?", metavar="CATEGORY", help="only this palette category")
    nodes.add_argument("--json", action="store_true", help="print the catalog as JSON")
    nodes.set_defaults(func=cmd_nodes)
    info = sub.add_parser("info", help="describe a graph: inputs, outputs, nodes, problems")
    info.add_argument("graph", metavar="GRAPH")
    _trust_options(info)
    info.set_defaults(func=cmd_info)
    onnx = sub.add_parser("onnx", help="ONNX models: import as a graph of layer nodes, export a graph's model")
    onnx_sub = onnx.add_subparsers(dest="onnx_command", metavar="COMMAND", required=True)
    imp = onnx_sub.add_parser("import", help="write an ONNX file as a graph of layer nodes (with its weights)")
    imp.add_argument("model", metavar="MODEL.onnx")
    imp.add_argument("-o", "--output", metavar="GRAPH.json", help="the graph file (default: MODEL.json)")
    imp.set_defaults(func=cmd_onnx_import)
    exp = onnx_sub.add_parser("export", help="write the model a graph builds (its Model node) as ONNX")
    exp.add_argument("graph", metavar="GRAPH")
    exp.add_argument("-o", "--output", metavar="MODEL.onnx", required=True, help="the ONNX file")
    exp.add_argument("--node", metavar="NODE", help="the node giving the model (id or name); default: the last "
                     "one (no other node giving a model depends on it)")
    exp.add_argument("--opset", type=int, default=None, help="the ONNX opset (default 17)")
    _trust_options(exp)
    exp.set_defaults(func=cmd_onnx_export)
    return parser


def _trust_options(cmd) -> None:
    cmd.add_argument("--allow-read", action="append", default=[], metavar="DIR",
                     help="let the graph read files in DIR too (default: only its own folder); repeatable")
    cmd.add_argument("--allow-write", action="append", default=[], metavar="DIR",
                     help="let the graph write (and read) files in DIR too; repeatable")
    cmd.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                     help=f"raise a resource limit ({', '.join(Limits.names())}), e.g. "
                          f"max_value_bytes=8GiB; repeatable (docs/security.md)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on bad usage
    try:
        code = args.func(args)
        sys.stdout.flush()  # a full device or a closed pipe is reported here, not at exit
        return code
    except GraphValidationError as exc:
        _print_problems(getattr(args, "graph", "graph"), exc.problems, sys.stderr)
        return EXIT_INVALID
    except (GraphInputError, HaibalError) as exc:
        print(f"haibal: error: {printable(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("haibal: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_OK
    except OSError as exc:  # standard output on a full device, a closed terminal ...
        _drop_stdout()
        if exc.errno == errno.EPIPE:
            return EXIT_OK
        print(f"haibal: error: cannot write the results: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # a bug: say so in one line (HAIBAL_DEBUG=1 shows the traceback)
        if os.environ.get("HAIBAL_DEBUG"):
            raise
        print(f"haibal: internal error: {type(exc).__name__}: {printable(exc)} (a bug in haibal-py; set "
              f"HAIBAL_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _drop_stdout() -> None:
    """Point standard output at the null device, so the exit-time flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
