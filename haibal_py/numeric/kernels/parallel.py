"""Sharing a kernel's pieces of work between threads (convolutions, poolings).

NumPy's loops and BLAS release the GIL, so threads that each take the next piece of a
large array (a few images, or a band of one image's rows) keep every core busy. Pieces are
taken one at a time from a shared iterator rather than split in fixed halves: on a machine
whose cores are shared with other jobs, a thread that gets less CPU simply takes fewer
pieces. The threads are ``blas``'s workers; products inside a piece must run with one
BLAS thread (``blas.single_thread()``), or the two threads' products would each start
threads of their own.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from . import blas

__all__ = ["THREADS", "run_pieces", "single_threaded_blas", "can_split_blas"]

THREADS = blas.CORES
single_threaded_blas = blas.single_thread


def can_split_blas() -> bool:
    """Whether BLAS can be held to one thread, so that pieces with products may run in threads."""
    return bool(blas._openblas())


def run_pieces(work: Callable[[Iterable], object], pieces: list, threads: int) -> list:
    """Call ``work(shared_iterator)`` in ``threads`` threads (this one included); each call
    takes pieces from the one iterator until it is exhausted. Returns each call's result."""
    threads = max(1, min(threads, len(pieces), THREADS))
    if threads == 1:
        return [work(iter(pieces))]
    shared = _Shared(pieces)
    futures = [blas.submit(work, shared) for _ in range(threads - 1)]
    results = []
    try:
        results.append(work(shared))
    finally:
        results.extend(f.result() for f in futures)
    return results


class _Shared:
    """An iterator several threads may draw from (``next`` under a lock)."""

    def __init__(self, items: list):
        self._it = iter(items)
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            return next(self._it)
