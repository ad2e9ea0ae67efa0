"""Sharing a kernel's pieces of work between threads, with BLAS kept to one thread per piece.

NumPy's loops and BLAS release the GIL, so threads that each take the next piece of a
large array (a band of images for a convolution or a pooling) keep every core busy.
Pieces are taken one at a time from a shared iterator rather than split in fixed halves:
on a machine whose cores are shared with other jobs, a thread that gets less CPU simply
takes fewer pieces.

A piece that multiplies matrices must not let OpenBLAS start threads of its own as well
(two threads each asking for two more oversubscribe the cores; measured on a loaded 2-core
VM, a 2048 x 288 x 64 product took 4 ms instead of 0.4 ms). ``single_threaded_blas()``
sets NumPy's OpenBLAS to one thread while threads of ours run, and restores it afterwards.
It is found through ``ctypes`` (the library NumPy wheels bundle); when it cannot be found
(another BLAS), ``can_split_blas()`` is false and callers keep one thread, letting the BLAS
thread its own products.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable

import numpy as np

__all__ = ["THREADS", "run_pieces", "single_threaded_blas", "can_split_blas"]

THREADS = max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else (os.cpu_count() or 1)))

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _get_pool() -> ThreadPoolExecutor:
    """The worker pool, created on first use (and again in a forked child, where its threads are gone)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max(1, THREADS - 1), thread_name_prefix="haibal-kernel")
            _pool_pid = os.getpid()
        return _pool


def run_pieces(work: Callable[[Iterable], object], pieces: list, threads: int) -> list:
    """Call ``work(shared_iterator)`` in ``threads`` threads (this one included); each call
    takes pieces from the one iterator until it is exhausted. Returns each call's result."""
    threads = max(1, min(threads, len(pieces), THREADS))
    if threads == 1:
        return [work(iter(pieces))]
    shared = _Shared(pieces)
    futures = [_get_pool().submit(work, shared) for _ in range(threads - 1)]
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


# ---------------------------------------------------------------------- BLAS threads
def _find_openblas():
    """(get, set) for the OpenBLAS NumPy uses, or None."""
    names = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
             ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
             ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
             ("openblas_get_num_threads", "openblas_set_num_threads")]
    candidates = []
    try:  # the libraries this process has loaded (Linux)
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
        candidates = sorted(p for p in paths if "openblas" in os.path.basename(p).lower())
    except OSError:
        pass
    here = os.path.dirname(os.path.dirname(np.__file__))
    candidates += sorted(glob.glob(os.path.join(here, "numpy.libs", "*openblas*")))
    candidates += sorted(glob.glob(os.path.join(os.path.dirname(np.__file__), ".dylibs", "*openblas*")))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in names:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, put = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                return get, put
    return None


_blas = _find_openblas()
_blas_lock = threading.Lock()
_blas_users = 0
_blas_saved = 1


def can_split_blas() -> bool:
    """Whether ``single_threaded_blas`` can keep BLAS to one thread (so pieces may run in threads)."""
    return _blas is not None


@contextmanager
def single_threaded_blas():
    """OpenBLAS on one thread inside the block (nested and concurrent blocks share one setting)."""
    global _blas_users, _blas_saved
    if _blas is None:
        yield
        return
    get, put = _blas
    with _blas_lock:
        if _blas_users == 0:
            _blas_saved = get()
            if _blas_saved != 1:
                put(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_saved != 1:
                put(_blas_saved)
