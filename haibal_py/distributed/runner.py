"""``run_over``: a saved graph run once per shard (and per setting of a sweep), gathered.

The model: the whole graph runs on each shard as if the shard were the only data
(``haibal run --input``), and two kinds of outputs come back. An output fed by an
accumulator (a metric's or loss's batch instance, a class metric: their value is a
``Metric.result()``) is *mergeable*: the shards' states are merged (``merge_state``) in
shard order, and the merged value equals one run over the concatenated shards. Every other
output is *per shard*: written, one value per shard, to the table or ``.npz`` of
``output``. Tasks run in this process or on a Dask cluster (``executors.py``); results are
reduced as they arrive, so the client's memory does not grow with the number of shards.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import HaibalValueError
from ..files.array_files import check_writable
from ..files.limits import Limits
from ..files.policy import FilePolicy
from ..graph import Graph
from ..graph.parts import GraphValidationError
from .executors import DaskExecutor, InProcessExecutor, connect, cores, dask_available, local_cluster, \
    local_kernel_threads
from .progress import ShardProgress
from .results import OverResult, SettingReducer
from .shards import Shard, expand_shards
from .sweep import Sweep, SweepError, parse_sweeps, settings_product
from .table import TABLE_SUFFIXES, ShardTable
from .task import GraphPayload, Task

__all__ = ["default_workers", "run_over"]


def default_workers() -> int:
    """The machine's cores when Dask is installed, else 1 (this process)."""
    return cores() if dask_available() else 1


def _shard_list(shards, input_name: str | None) -> list[Shard | None]:
    if shards is None:
        return [None]
    if isinstance(shards, Shard):
        return [shards]
    if isinstance(shards, (str, Path)):
        return list(expand_shards(shards, input_name))
    items = list(shards)
    if items and all(isinstance(s, Shard) for s in items):
        return items
    if not items:
        raise HaibalValueError("no shards given: pass file paths or globs such as 'data/*.npz'")
    return list(expand_shards([str(s) for s in items], input_name))


def _checked_settings(graph: Graph, sweeps: Sequence[Sweep], settings: list[dict], policy: FilePolicy | None,
                      limits: Limits | None) -> list[tuple]:
    """Each setting as (node id, parameter, value) triples, every setting's graph validated first."""
    out = []
    for setting in settings:
        values = tuple((s.node_id, s.param, setting[s.label]) for s in sweeps)
        if sweeps:
            trial = graph.copy()
            for node_id, param, value in values:
                trial.set_param(node_id, param, value)
            problems = trial.validate(policy, limits)
            if problems:
                text = ", ".join(f"{k}={v!r}" for k, v in setting.items())
                raise SweepError(f"with {text} the graph is not valid: " + "; ".join(str(p) for p in problems))
        out.append(values)
    return out


@contextmanager
def _executor(client, workers: int, window: int | None):
    if isinstance(client, str):
        with connect(client) as c:
            yield DaskExecutor(c, window)
    elif client is not None:
        yield DaskExecutor(client, window)
    elif workers <= 1:
        yield InProcessExecutor()
    else:
        with local_cluster(workers) as c:
            yield DaskExecutor(c, window, kernel_threads=local_kernel_threads(workers))


def run_over(graph: Graph | str | Path, shards: str | Path | Iterable[str | Path | Shard] | None = None,
             client: Any = None, *, workers: int | None = None, input_name: str | None = None,
             sweep: Sequence[str] | Mapping[str, Sequence[Any]] | None = None,
             inputs: Mapping[str, Any] | None = None, output: str | Path | None = None,
             progress: Any = None, node_values: bool = False, window: int | None = None,
             policy: FilePolicy | None = None, limits: Limits | None = None) -> OverResult:
    """Run ``graph`` once per shard (and per setting of ``sweep``) and gather the results.

    - ``graph``: a ``Graph`` or the path of a saved graph; it is validated first.
    - ``shards``: file paths or globs (``"data/*.npz"``: each array named like a graph
      input feeds it; ``.npy``/``.csv`` files feed ``input_name``), or ``Shard`` s; None:
      one run on the graph's own inputs (a sweep alone).
    - ``client``: a ``distributed.Client`` or a scheduler address (``"tcp://host:8786"``);
      without one, ``workers`` local processes (default: the machine's cores when Dask is
      installed; 1 runs in this process, without Dask).
    - ``sweep``: ``["NODE.PARAM=V1,V2", ...]`` or ``{"NODE.PARAM": [V1, V2]}``: the
      product of the settings runs, each over every shard.
    - ``inputs``: graph input values every shard shares (a shard's own arrays win).
    - ``output``: a ``.csv``, ``.json`` or ``.npz`` file for the per-shard table (``table.py``).
    - ``progress``: True for a progress bar on stderr, or an object with ``done(result)``
      and ``close()``; ``node_values``: also merge every node output that has a state
      (``SettingResult.node_values``: the editor's viewers).
    - ``policy`` / ``limits``: the file policy and resource limits every run works under, on
      every worker (``Runtime(graph, policy, limits)``); the shards are read within ``limits``.

    Returns an ``OverResult``: one ``SettingResult`` per setting, whose ``outputs`` hold
    the merged values. A failing shard does not stop the others: it is listed in
    ``failures`` (shard, node, message). Raises GraphValidationError, SweepError or
    ShardError before anything runs when the graph, a setting or the shards are unusable;
    KeyboardInterrupt cancels the cluster's work.
    """
    start = time.perf_counter()
    if not isinstance(graph, Graph):
        graph = Graph.load(graph, limits=limits)
    problems = graph.validate(policy, limits)
    if problems:
        raise GraphValidationError(problems)
    shard_list = _shard_list(shards, input_name)
    sweeps = parse_sweeps(graph, sweep if isinstance(sweep, Mapping) else list(sweep or []))
    settings = settings_product(sweeps)
    values = _checked_settings(graph, sweeps, settings, policy, limits)
    out_path = Path(output) if output is not None else None
    if out_path is not None and out_path.suffix.lower() not in TABLE_SUFFIXES:
        raise HaibalValueError(f"output {str(out_path)!r}: the per-shard table is written as .csv, .json or .npz")
    if out_path is not None:  # before anything runs: a run is never wasted on an unwritable output
        check_writable(out_path.absolute())
    if workers is None:
        workers = default_workers()
    if workers < 1:
        raise HaibalValueError(f"workers must be at least 1, got {workers}")

    payload = GraphPayload.of(graph, inputs, policy, limits)
    output_names = list(graph.outputs)
    n = len(shard_list)
    keep_arrays = n == 1 or (out_path is not None and out_path.suffix.lower() == ".npz")
    tasks = (Task(i * n + j, i, values[i], shard) for i in range(len(settings)) for j, shard in enumerate(shard_list))
    bar = ShardProgress(n * len(settings), unit="runs" if shards is None else "shards") if progress is True \
        else (progress or None)
    table = ShardTable(out_path, graph.name, [s.label for s in sweeps], output_names, shards=n) \
        if out_path is not None else None
    rows = []
    reducers: dict[int, SettingReducer] = {}
    with _executor(client, workers, window) as executor:
        where = executor.where
        try:
            if table is not None:
                table.open()
            for res in executor.map(payload, tasks, keep_arrays=keep_arrays, node_states=node_values,
                                    on_done=bar.done if bar is not None else None):
                i = res.setting
                reducer = reducers.get(i)
                if reducer is None:
                    reducer = reducers[i] = SettingReducer(settings[i], output_names, n)
                reducer.add(res)
                setting_index = i if sweeps else None
                if table is not None:
                    table.add_shard(res, settings[i], setting_index)
                if res.index % n == n - 1:  # the setting's last shard: its row is complete
                    row = reducers.pop(i).result()
                    rows.append(row)
                    if table is not None:
                        table.add_merged(row, setting_index)
        except BaseException:
            if table is not None:
                table.abort()
            raise
        finally:
            if bar is not None:
                bar.close()
        if table is not None:
            table.commit()
    return OverResult(rows, shards=n if shards is not None else 0, seconds=time.perf_counter() - start, where=where)

