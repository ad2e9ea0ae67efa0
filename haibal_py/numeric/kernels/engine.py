"""The one thread engine of the kernels: blocks of work shared by a pool of threads.

A kernel cuts its input into blocks that fit in a core's cache and hands
``work(blocks)`` to ``run``. For small inputs ``work`` runs once, in the calling thread,
over every block. For large ones it runs in up to ``THREADS`` threads at once (the
calling thread among them), all taking the next block from one shared iterator: NumPy
and BLAS release the GIL inside their loops, and on a machine whose cores are shared
with other jobs a thread that gets less CPU takes fewer blocks instead of holding up a
fixed half. ``work`` must write each block's result to a place of its own (results then
do not depend on which thread took which block, so they are reproducible).

The pool is created on first use, and again in a forked child (a pool's threads do not
survive ``fork``; reusing them would deadlock).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

# At most one thread per CPU this process may run on, and no more than 8: the kernels are
# memory-bound, and more threads than memory channels only add contention.
THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else (os.cpu_count() or 1)))
# Inputs of at least this many elements per thread are shared among threads (below it,
# handing blocks to other threads costs more than it saves; measured with bench/scce.py
# and bench/catalog.py on 2 cores).
PARALLEL_ELEMENTS = 1 << 20

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    """The worker pool (``THREADS - 1`` workers plus the caller), made again after a fork."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max(1, THREADS - 1), thread_name_prefix="haibal-kernel")
            _pool_pid = os.getpid()
        return _pool


def thread_count(blocks: int, elements: int) -> int:
    """How many threads ``run`` uses for ``blocks`` blocks holding ``elements`` elements in all."""
    return max(1, min(THREADS, blocks, elements // PARALLEL_ELEMENTS))


def run(work: Callable[[Iterable], None], blocks: list, elements: int) -> None:
    """Call ``work(iterator of blocks)`` once per thread; the threads share one iterator.

    ``elements`` (the size of the input) decides how many threads: see ``thread_count``.
    An exception raised in any thread is raised here, after every thread has stopped.
    """
    threads = thread_count(len(blocks), elements)
    if threads < 2:
        work(blocks)
        return
    shared = _Shared(blocks)
    pool = _get_pool()
    futures = [pool.submit(work, shared) for _ in range(threads - 1)]
    try:
        work(shared)
    finally:
        errors = []
        for f in futures:
            try:
                f.result()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)
    if errors:
        raise errors[0]


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
