"""BLAS threading for the layer kernels: one-thread BLAS in loops of small products, and
large products split in row blocks over the cores.

Measured on the project's 2-core machine (OpenBLAS, float32): a recurrent step's product
``(64, 128) @ (128, 512)`` takes ~0.17 ms with one BLAS thread and 0.3-0.6 ms with two
(waking the second thread costs more than it saves), and under load two BLAS threads
made large products slower too. So the layer kernels run inside ``single_thread()``
(OpenBLAS told to use one thread, restored afterwards) and call ``matmul`` for their large
products, which splits the rows of the left operand into one block per core, each block
multiplied by its own Python thread (NumPy releases the GIL inside BLAS).

OpenBLAS is found among the loaded libraries (``/proc/self/maps``) and driven through its
``*set_num_threads*`` entry points; where there is none (another BLAS, another OS) both
helpers fall back to plain NumPy and the numbers are the same.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

__all__ = ["single_thread", "in_single_thread", "matmul", "bmm", "submit", "CORES"]

CORES = max(1, min(2, os.cpu_count() or 1))
SPLIT_FLOPS = 16e6          # products below this run in the calling thread
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads_64_",
            "openblas_set_num_threads64_", "openblas_set_num_threads_64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads_64_",
            "openblas_get_num_threads64_", "openblas_get_num_threads_64_", "openblas_get_num_threads")
_state = {"api": None, "depth": 0, "saved": None}
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _openblas():
    """``(set, get)`` of the loaded OpenBLAS (found once), or False."""
    if _state["api"] is None:
        api = False  # assigned once found: a thread asking meanwhile searches too, never sees False early
        try:
            with open("/proc/self/maps") as fh:
                paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
        except OSError:
            paths = set()
        for path in sorted(paths):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                api = (setter, getter)
                break
        _state["api"] = api
    return _state["api"]


@contextmanager
def single_thread():
    """Run the block with one BLAS thread (re-entrant; the previous count is restored)."""
    api = _openblas()
    if not api:
        yield
        return
    with _lock:
        if _state["depth"] == 0:
            _state["saved"] = api[1]()
            api[0](1)
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                api[0](_state["saved"])


def in_single_thread(fn):
    """Decorator: ``fn`` runs inside ``single_thread()``."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with single_thread():
            return fn(*args, **kwargs)
    return run


def _workers() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="haibal-blas")
    return _pool


def submit(fn, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` on the shared worker threads (a ``Future``)."""
    return _workers().submit(fn, *args, **kwargs)


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D ``a``, ``b``; large products are split by rows of ``a`` over the cores."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if CORES == 1 or 2.0 * m * k * n < SPLIT_FLOPS or m < 2 * CORES or not _openblas():
        return np.matmul(a, b, out=out)
    cuts = np.linspace(0, m, CORES + 1).astype(int)
    jobs = [_workers().submit(np.matmul, a[i:j], b, out=out[i:j]) for i, j in zip(cuts[1:-1], cuts[2:])]
    np.matmul(a[:cuts[1]], b, out=out[:cuts[1]])
    for job in jobs:
        job.result()
    return out


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)`` for stacks of matrices (same leading shape), the stack split over the cores."""
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    count = int(np.prod(lead))
    if CORES == 1 or 2.0 * count * m * k * n < SPLIT_FLOPS or not lead or lead[0] < CORES \
            or a.shape[:-2] != b.shape[:-2] or not _openblas():
        return np.matmul(a, b)
    out = np.empty(lead + (m, n), dtype=np.result_type(a, b))
    cuts = np.linspace(0, lead[0], CORES + 1).astype(int)
    jobs = [_workers().submit(np.matmul, a[i:j], b[i:j], out=out[i:j]) for i, j in zip(cuts[1:-1], cuts[2:])]
    np.matmul(a[:cuts[1]], b[:cuts[1]], out=out[:cuts[1]])
    for job in jobs:
        job.result()
    return out
