"""Where the tasks of a sharded run go: this process, or a Dask cluster.

Both executors have one method, ``map(payload, tasks, ...)``: it yields the task results
in the order of the tasks, calls ``on_done(result)`` as each one finishes (the progress
bar), and never holds more than ``window`` tasks at once (running or finished but waiting
for an earlier one), so the client's memory stays flat however many shards there are.

Dask (``dask.distributed``) is an optional dependency: it is imported only here, only
when a cluster is asked for (``require_dask``), and a missing install says what to do.
"""

from __future__ import annotations

import collections
import logging
import os
import uuid
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from ..errors import HaibalError
from .task import GraphPayload, ShardFailure, Task, TaskResult, run_task

__all__ = ["DaskExecutor", "DaskNotInstalledError", "InProcessExecutor", "INSTALL_HINT", "connect", "dask_available",
           "local_cluster", "require_dask"]

INSTALL_HINT = "pip install 'haibal-py[distributed]'"


class DaskNotInstalledError(HaibalError, ImportError):
    """A Dask cluster was asked for, and dask.distributed is not installed."""


def dask_available() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def require_dask(what: str):
    """The ``distributed`` module, or DaskNotInstalledError saying what to install."""
    try:
        import distributed
    except ImportError:
        raise DaskNotInstalledError(
            f"{what} runs on a Dask cluster, and dask.distributed is not installed: {INSTALL_HINT} "
            f"(or use --workers 1 to run in this process)") from None
    return distributed


def cores() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class InProcessExecutor:
    """Runs the tasks one after the other in this process (``--workers 1``; no Dask needed)."""

    where = "in this process"

    def map(self, payload: GraphPayload, tasks: Iterable[Task], keep_arrays: bool = False,
            node_states: bool = False, on_done: Callable[[TaskResult], None] | None = None) -> Iterator[TaskResult]:
        for task in tasks:
            result = run_task(payload, task, keep_arrays, node_states)
            if on_done is not None:
                on_done(result)
            yield result


def _set_kernel_threads(count: int) -> None:
    """On a worker: the kernels' thread count (workers sharing a machine share its cores)."""
    from ..numeric.kernels import engine
    engine.THREADS = count


def _run_on_worker(payload, task, keep_arrays, node_states, kernel_threads):
    if kernel_threads:
        _set_kernel_threads(kernel_threads)
    return run_task(payload, task, keep_arrays, node_states)


class DaskExecutor:
    """Runs the tasks on the workers of a ``distributed.Client``.

    The graph payload is scattered to every worker once (each worker thread builds the
    graph once, see ``task.py``); each task is one shard with one setting. ``window``
    bounds the tasks held at once (default: four per worker thread). ``kernel_threads``,
    when given, is the number of threads each task's kernels may use (a local cluster:
    the machine's cores shared among its workers).
    """

    def __init__(self, client, window: int | None = None, kernel_threads: int | None = None):
        self.client = client
        nthreads = client.nthreads()
        self.workers, self.threads = len(nthreads), sum(nthreads.values()) or 1
        self.window = window or max(4, 4 * self.threads)
        self.kernel_threads = kernel_threads

    @property
    def where(self) -> str:
        return f"on {self.workers} Dask worker(s) ({self.threads} thread(s)) at {self.client.scheduler.address}"

    def map(self, payload: GraphPayload, tasks: Iterable[Task], keep_arrays: bool = False,
            node_states: bool = False, on_done: Callable[[TaskResult], None] | None = None) -> Iterator[TaskResult]:
        distributed = require_dask("a Dask run")
        client = self.client
        remote = client.scatter(payload, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:12]
        todo = iter(tasks)
        running = distributed.as_completed()
        task_of: dict = {}  # future -> task
        order: collections.deque = collections.deque()  # task indices in submission order
        ready: dict[int, TaskResult] = {}  # finished, waiting for an earlier task

        def fill() -> None:
            while len(task_of) + len(ready) < self.window:
                task = next(todo, None)
                if task is None:
                    return
                future = client.submit(_run_on_worker, remote, task, keep_arrays, node_states, self.kernel_threads,
                                       key=f"haibal-{token}-{task.index}", pure=False, retries=0)
                task_of[future] = task
                order.append(task.index)
                running.add(future)

        try:
            fill()
            while task_of:
                future = next(running)
                task = task_of.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker died, or the task could not be sent or run
                    name = task.shard.name if task.shard is not None else ""
                    result = TaskResult(task.index, task.setting, name,
                                        failure=ShardFailure(name, None, f"the Dask task failed: "
                                                                         f"{type(exc).__name__}: {exc}"))
                future.release()
                if on_done is not None:
                    on_done(result)
                ready[result.index] = result
                while order and order[0] in ready:
                    yield ready.pop(order.popleft())
                fill()
        except BaseException:  # Ctrl+C, or the caller stopped: cancel the cluster's work
            if task_of:
                client.cancel(list(task_of), force=True)
            raise
        finally:
            try:
                client.cancel([remote], force=True)
            except Exception:  # the client may already be closing
                pass


@contextmanager
def local_cluster(workers: int):
    """A ``distributed.Client`` on a local cluster of ``workers`` processes (one thread each),
    started here and shut down on leaving, however the block ends."""
    distributed = require_dask(f"--workers {workers}")
    import dask
    # no dashboard, and no statistical profiler in the workers (it samples every task's stack
    # every 10 ms, for the dashboard nobody opens: a few % of every shard's time)
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


@contextmanager
def connect(address: str):
    """A ``distributed.Client`` on the running cluster at ``address`` (``tcp://host:8786``)."""
    distributed = require_dask(f"--scheduler {address}")
    try:
        client = distributed.Client(address, timeout="5s")
    except OSError as exc:
        raise HaibalError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=30)
        except (TimeoutError, OSError):
            raise HaibalError(f"--scheduler {address}: the cluster has no worker (start some with "
                              f"'dask worker {address}')") from None
        yield client
    finally:
        client.close()


def local_kernel_threads(workers: int) -> int:
    """Kernel threads per worker of a local cluster: the machine's cores shared among them."""
    return max(1, cores() // max(1, workers))
