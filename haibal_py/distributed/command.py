"""``haibal run GRAPH --over FILES`` / ``--sweep NODE.PARAM=V1,V2``: the command's body.

``haibal_py.cli`` parses the arguments, loads and checks the graph and reads ``--input``,
then calls ``run_command``; formatting helpers come from the CLI (``describe``, ``to_json``)
so both kinds of runs print values the same way. Exit codes: 0 every shard ran; 1 some
failed (each listed with its node and message, the others' results printed); 2 unusable
arguments (raised as haibal errors before anything runs); 130 Ctrl+C (the cluster's work
cancelled, a local cluster shut down, no half-written ``--output``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import numpy as np

from ..errors import HaibalValueError
from ..files.limits import Limits
from ..files.policy import FilePolicy
from ..graph import Graph
from .executors import INSTALL_HINT, dask_available, require_dask
from .results import OverResult
from .runner import default_workers, run_over
from .task import Summary

__all__ = ["run_command"]


def _workers(args, err) -> int:
    if args.scheduler and args.workers is not None:
        raise HaibalValueError("--workers and --scheduler exclude each other: the cluster at --scheduler "
                               "has its own workers")
    if args.scheduler:
        require_dask(f"--scheduler {args.scheduler}")
        return 1
    if args.workers is not None:
        if args.workers < 1:
            raise HaibalValueError(f"--workers must be at least 1, got {args.workers}")
        if args.workers > 1:
            require_dask(f"--workers {args.workers}")
        return args.workers
    workers = default_workers()
    if workers == 1 and not dask_available():
        print(f"haibal: note: running in this process (for several workers: {INSTALL_HINT})", file=err)
    return workers


def _cell(value: Any) -> str:
    if isinstance(value, Summary):
        return str(value)
    arr = np.asarray(value)
    if arr.dtype.kind in "biuf" and arr.ndim == 0:
        return f"{float(arr):.6g}" if arr.dtype.kind == "f" else str(arr.item())
    if arr.dtype.kind in "biuf":
        return f"shape {arr.shape} {arr.dtype}"
    return str(value)


def _setting_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return json.dumps(value)


def _print_text(res: OverResult, graph: Graph, sweeps: list[str], describe: Callable, text: Callable, out) -> None:
    shards = f"{res.shards} shard{'s' if res.shards != 1 else ''}" if res.shards else ""
    if not sweeps:
        row = res.rows[0]
        names = list(graph.outputs)
        if not names:
            print("(the graph has no outputs)", file=out)
        width = max((len(k) for k in names), default=0)
        for name in names:
            if name in row.outputs:
                merged = f"  (merged over {row.shards} of {shards})" if res.shards > 1 else ""
                print(f"{text(name):<{width}}  {describe(row.outputs[name])}{merged}", file=out)
            else:
                print(f"{text(name):<{width}}  per shard ({row.shards} values; --output FILE.npz/.csv/.json writes "
                      f"them)", file=out)
        return
    names = list(graph.outputs)
    header = sweeps + names
    lines = [header]
    for row in res.rows:
        lines.append([_setting_text(row.settings[k]) for k in sweeps]
                     + [(_cell(row.outputs[n]) if n in row.outputs else "per shard") for n in names])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(text("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()), file=out)
    if shards:
        print(f"(each row merged over {shards})", file=out)


def _json_doc(res: OverResult, path: str, sweeps: list[str], to_json: Callable) -> dict:
    def conv(v):
        return str(v) if isinstance(v, Summary) else to_json(v)

    results = [{"settings": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in row.settings.items()},
                "outputs": {k: conv(v) for k, v in row.outputs.items()}, "per_shard": row.per_shard,
                "shards": row.shards, "failed": [f.shard for f in row.failures]} for row in res.rows]
    doc: dict[str, Any] = {"graph": path, "shards": res.shards, "where": res.where, "sweep": sweeps}
    if not sweeps:
        doc["outputs"] = results[0]["outputs"]
    doc["results"] = results
    doc["failures"] = [{"shard": f.shard, "node": f.node, "message": f.message, "settings": f.settings}
                       for f in res.failures]
    doc["seconds"] = res.seconds
    return doc


def run_command(args, graph: Graph, inputs: dict, *, policy: FilePolicy | None, limits: Limits | None,
                describe: Callable[[Any], str], to_json: Callable[[Any], Any], dumps: Callable[[Any], str],
                text: Callable[[Any], str] = str, out=None, err=None) -> int:
    """Run ``graph`` as ``args`` say (``--over``, ``--over-input``, ``--sweep``, ``--workers``,
    ``--scheduler``, ``--output``, ``--json``, ``--progress``) within ``policy`` and ``limits``;
    print (``text`` escapes what comes from files); return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    workers = _workers(args, err)
    show = args.progress if args.progress is not None else err.isatty()
    res = run_over(graph, list(args.over) if args.over else None, client=args.scheduler or None, workers=workers,
                   input_name=args.over_input, sweep=list(args.sweep), inputs=inputs, output=args.output,
                   progress=True if show else None, policy=policy, limits=limits)
    sweeps = [item.split("=", 1)[0] for item in args.sweep]
    if args.json:
        print(dumps(_json_doc(res, args.graph, sweeps, to_json)), end="", file=out)
    else:
        _print_text(res, graph, sweeps, describe, text, out)
        runs = res.shards * len(res.rows) if res.shards else len(res.rows)
        print(f"ran {runs} run{'s' if runs != 1 else ''} {res.where} in {res.seconds:.2f} s"
              + (f"; wrote {args.output}" if args.output else ""), file=err)
    failures = res.failures
    if failures:
        total = (res.shards or 1) * len(res.rows)
        print(f"haibal: {len(failures)} of {total} run{'s' if total != 1 else ''} failed:", file=err)
        for f in failures:
            print(f"  {text(f)}", file=err)
        return 1
    return 0
