"""Sharing a kernel's pieces of work between threads (convolutions, poolings).

NumPy's loops and BLAS release the GIL, so threads that each take the next piece of a
large array (a few images, or a band of one image's rows) keep every core busy. Pieces are
taken one at a time from a shared iterator rather than split in fixed halves: on a machine
whose cores are shared with other jobs, a thread that gets less CPU simply takes fewer
pieces. Results stay the same from run to run: sums over pieces are added in piece order
(``OrderedSum``), and pieces that add into the same input rows run in separate phases
(``run_phases``). The threads are ``blas``'s workers; products inside a piece must run with one
BLAS thread (``blas.single_thread()``), or the two threads' products would each start
threads of their own.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from . import blas

__all__ = ["THREADS", "run_pieces", "run_phases", "OrderedSum", "single_threaded_blas", "can_split_blas"]

THREADS = blas.CORES
_WORKER_PREFIX = "haibal-blas"  # the names of blas's worker threads
single_threaded_blas = blas.single_thread


def can_split_blas() -> bool:
    """Whether BLAS can be held to one thread, so that pieces with products may run in threads."""
    return bool(blas._openblas())


def run_pieces(work: Callable[[Iterable], object], pieces: list, threads: int) -> list:
    """Call ``work(shared_iterator)`` in ``threads`` threads (this one included); each call
    takes pieces from the one iterator until it is exhausted. Returns the result of each call
    that ran (a worker that had not started when the pieces ran out is not run at all)."""
    threads = max(1, min(threads, len(pieces), THREADS))
    if threads == 1 or threading.current_thread().name.startswith(_WORKER_PREFIX):
        # (a kernel called from a worker thread runs alone: waiting there for the other
        # workers could wait for itself)
        return [work(iter(pieces))]
    shared = _Shared(pieces)
    futures = [blas.submit(work, shared) for _ in range(threads - 1)]
    results = []
    try:
        results.append(work(shared))
    finally:
        # a worker that has not started yet (its core busy with another job) is cancelled
        # rather than waited for: the pieces are all taken, it would only find none left
        results.extend(f.result() for f in futures if not f.cancel())
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


def run_phases(work: Callable[[Iterable], object], pieces: list, threads: int) -> list:
    """``run_pieces`` over the pieces of phase 0, then over those of phase 1 (bands that add
    into rows another band of their image adds into too)."""
    results = []
    for phase in (0, 1):
        part = [p for p in pieces if p.phase == phase]
        if part:
            results += run_pieces(work, part, threads)
    return results


class OrderedSum:
    """The sum of per-piece arrays, added in piece order whichever thread finishes first
    (the same floating-point result on every run). A piece's array is kept only until the
    pieces before it are in."""

    def __init__(self, pieces: list):
        self._order = {id(p): i for i, p in enumerate(pieces)}
        self._pending: dict[int, object] = {}
        self._next = 0
        self.total = None
        self._lock = threading.Lock()

    def add(self, piece, value) -> None:
        with self._lock:
            self._pending[self._order[id(piece)]] = value
            while self._next in self._pending:
                v = self._pending.pop(self._next)
                self.total = v if self.total is None else self.total + v
                self._next += 1
