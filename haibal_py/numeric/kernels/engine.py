"""The one block/thread engine of the kernels: its threads, the sharing of blocks of work
among them, and the guarantees that keep the numbers the same whichever thread took which block.

A kernel cuts its work into blocks that fit in a core's cache (tiles of a loss's rows, pieces
of a convolution's images, row blocks of a product) and hands ``work(blocks)`` to ``share``
(or ``run``, which picks the number of threads from the input's size). For small inputs
``work`` runs once, in the calling thread, over every block. For large ones it runs in up to
``THREADS`` threads at once (the calling thread among them), all taking the next block from
one shared iterator: NumPy and BLAS release the GIL inside their loops, and on a machine
whose cores are shared with other jobs a thread that gets less CPU takes fewer blocks instead
of holding up a fixed half; a worker that has not started when the blocks run out is
cancelled, not waited for.

Reproducible numbers: ``work`` writes each block's result to a place of its own, or adds it
through ``OrderedSum`` (sums in block order, whichever thread finishes first); blocks that
add into the same rows of an output run in separate phases (``run_phases``).

Threads: one pool of workers (``THREADS - 1``, with the caller ``THREADS``) and one
background lane (``Pipeline``: work that goes on while the caller does something else).
Both are created on first use, and again in a forked child (a pool's threads do not survive
``fork``; reusing them would deadlock). A kernel called from one of these threads runs its
blocks there, alone: waiting for the other workers could wait for itself. BLAS threading
(``blas.single_thread``) is ``blas``'s business; this module knows nothing of BLAS.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

__all__ = ["THREADS", "PARALLEL_ELEMENTS", "thread_count", "share", "run", "run_phases", "run_tasks",
           "submit", "in_worker", "OrderedSum", "Pipeline"]

# At most one thread per CPU this process may run on, and no more than 8: the kernels are
# memory-bound, and more threads than memory channels only add contention.
THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else (os.cpu_count() or 1)))
# Elements of input per thread below which ``run`` does not hand blocks to another thread
# (doing so costs more than it saves; measured with bench/scce.py and bench/catalog.py on
# 2 cores). Kernels with other costs per element pass their own ``per_thread``.
PARALLEL_ELEMENTS = 1 << 20
_PREFIX = "haibal-kernel"  # the names of the engine's threads

_pools: dict = {"pid": 0, "workers": None, "background": None}
_pools_lock = threading.Lock()


def _pool(kind: str) -> ThreadPoolExecutor:
    """The worker pool (``kind="workers"``) or the background lane, made again after a fork."""
    with _pools_lock:
        if _pools["pid"] != os.getpid():
            _pools.update(pid=os.getpid(), workers=None, background=None)
        if _pools[kind] is None:
            size = max(1, THREADS - 1) if kind == "workers" else 1
            _pools[kind] = ThreadPoolExecutor(size, thread_name_prefix=f"{_PREFIX}-{kind}")
        return _pools[kind]


def in_worker() -> bool:
    """Whether the calling thread is one of the engine's (a worker or the background lane)."""
    return threading.current_thread().name.startswith(_PREFIX)


def thread_count(blocks: int, elements: int, per_thread: int | None = None) -> int:
    """How many threads share ``blocks`` blocks holding ``elements`` elements in all: one per
    ``per_thread`` elements (default ``PARALLEL_ELEMENTS``), at most one per block and ``THREADS``."""
    per = PARALLEL_ELEMENTS if per_thread is None else per_thread
    return max(1, min(THREADS, blocks, elements // max(1, per)))


def share(work: Callable[[Iterable], object], blocks: list, threads: int) -> list:
    """Call ``work(blocks)`` in up to ``threads`` threads (this one included), all drawing from
    one iterator over ``blocks``; returns the result of each call that ran.

    One thread (or a call from one of the engine's threads): ``work(blocks)`` here, once.
    A worker that has not started when the blocks run out is cancelled. An exception raised
    in any thread is raised here once every started thread has stopped (this thread's first).
    """
    threads = max(1, min(threads, len(blocks), THREADS))
    if threads < 2 or in_worker():
        return [work(blocks)]
    shared = _Shared(blocks)
    pool = _pool("workers")
    futures = [pool.submit(work, shared) for _ in range(threads - 1)]
    results, errors = [], []
    try:
        results.append(work(shared))
    finally:
        for f in futures:
            if f.cancel():  # not started: every block is taken, it would find none
                continue
            try:
                results.append(f.result())
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
    if errors:
        raise errors[0]
    return results


def run(work: Callable[[Iterable], object], blocks: list, elements: int, per_thread: int | None = None) -> list:
    """``share`` in as many threads as ``elements`` (the size of the input) asks: ``thread_count``."""
    return share(work, blocks, thread_count(len(blocks), elements, per_thread))


def run_phases(work: Callable[[Iterable], object], blocks: list, threads: int) -> list:
    """``share`` over the blocks of phase 0 (``block.phase``), then over those of phase 1: blocks
    that add into rows another block adds into too never run at the same time."""
    results = []
    for phase in (0, 1):
        part = [b for b in blocks if b.phase == phase]
        if part:
            results += share(work, part, threads)
    return results


def run_tasks(tasks: list) -> None:
    """Call every callable of ``tasks`` once, the threads each taking the next one."""
    def drain(part):
        for task in part:
            task()

    share(drain, tasks, THREADS)


def submit(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` on a worker thread (a ``Future``)."""
    return _pool("workers").submit(fn, *args, **kwargs)


class _Shared:
    """An iterator over ``blocks`` that several threads may advance at once."""

    __slots__ = ("_it", "_lock")

    def __init__(self, blocks: list):
        self._it = iter(blocks)
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._it)


class OrderedSum:
    """The sum of per-block arrays, added in block order whichever thread finishes first
    (the same floating-point result on every run). A block's array is kept only until the
    blocks before it are in."""

    def __init__(self, blocks: list):
        self._order = {id(b): i for i, b in enumerate(blocks)}
        self._pending: dict[int, object] = {}
        self._next = 0
        self.total = None
        self._lock = threading.Lock()

    def add(self, block, value) -> None:
        with self._lock:
            self._pending[self._order[id(block)]] = value
            while self._next in self._pending:
                v = self._pending.pop(self._next)
                self.total = v if self.total is None else self.total + v
                self._next += 1


class Pipeline:
    """Work handed to the background lane while this thread goes on (a recurrent layer's
    input projections of the next steps, or the weight gradients of the steps already done).

    ``submit(fn)`` queues ``fn`` (or runs it at once with one thread, or when called from one
    of the engine's threads); ``wait(job)`` returns once ``fn`` has run, running it here if
    the lane has not started it; ``finish()`` waits for every job. The lane runs jobs one at a
    time, in order. Jobs write their results to places of their own, so the numbers never
    depend on which thread ran them.
    """

    def __init__(self):
        self._inline = THREADS == 1 or in_worker()
        self._jobs: list = []

    def submit(self, fn):
        if self._inline:
            fn()
            return None
        job = [fn, _pool("background").submit(fn)]
        self._jobs.append(job)
        return job

    @staticmethod
    def wait(job) -> None:
        if job is None or job[0] is None:   # none, or already waited for
            return
        fn, future = job
        job[0] = None
        if future.cancel():
            fn()
        else:
            future.result()

    def finish(self) -> None:
        jobs, self._jobs = self._jobs, []
        errors = []
        for job in jobs:
            try:
                self.wait(job)
            except BaseException as exc:  # noqa: BLE001 - re-raised once every job has stopped
                errors.append(exc)
        if errors:
            raise errors[0]
