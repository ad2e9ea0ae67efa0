"""BLAS threading for the layer kernels: one-thread BLAS in loops of small products, and
large products split in row blocks over the engine's threads (``engine.run_tasks``).

Measured on the project's 2-core machine (OpenBLAS, float32): a recurrent step's product
``(64, 128) @ (128, 512)`` takes ~0.17 ms with one BLAS thread and 0.3-0.6 ms with two
(waking the second thread costs more than it saves), and under load two BLAS threads
made large products slower too. So the layer kernels run inside ``single_thread()``
(OpenBLAS told to use one thread, restored afterwards) and call ``matmul`` for their large
products, which cuts them into a few blocks that the calling thread and the engine's workers
take one at a time (NumPy releases the GIL inside BLAS): a worker whose core is busy with
another job takes fewer blocks, or none, instead of holding up a fixed half. The threads, and
how blocks are shared among them, are ``engine``'s; this module only drives BLAS.

OpenBLAS is found among the loaded libraries (``/proc/self/maps``) and driven through its
``*set_num_threads*`` entry points; where there is none (another BLAS, another OS) both
helpers fall back to plain NumPy and the numbers are the same.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from contextlib import contextmanager

import numpy as np

from . import engine

__all__ = ["single_thread", "in_single_thread", "can_single_thread", "matmul", "bmm"]

SPLIT_FLOPS = 16e6              # products below this run in the calling thread
CHUNKS = 2 * engine.THREADS     # blocks a large product is cut into (taken one at a time by the threads)
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads_64_",
            "openblas_set_num_threads64_", "openblas_set_num_threads_64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads_64_",
            "openblas_get_num_threads64_", "openblas_get_num_threads_64_", "openblas_get_num_threads")
_state = {"api": None, "depth": 0, "saved": None}
_lock = threading.Lock()


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


def can_single_thread() -> bool:
    """Whether BLAS can be held to one thread, so that blocks with products may run in threads."""
    return bool(_openblas())


def in_single_thread(fn):
    """Decorator: ``fn`` runs inside ``single_thread()``."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        with single_thread():
            return fn(*args, **kwargs)
    return run


def _cuts(length: int, chunks: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, length, chunks + 1).astype(int)
    return [(int(i), int(j)) for i, j in zip(edges[:-1], edges[1:]) if j > i]


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` for 2-D ``a``, ``b``; large products are cut in ``CHUNKS`` blocks of rows of
    ``a`` (or of columns of ``b`` when those are more) shared by the engine's threads."""
    m, k = a.shape
    n = b.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    cores = engine.THREADS
    if cores == 1 or 2.0 * m * k * n < SPLIT_FLOPS or max(m, n) < 2 * cores or not _openblas():
        return np.matmul(a, b, out=out)
    if m >= n:
        tasks = [functools.partial(np.matmul, a[i:j], b, out=out[i:j]) for i, j in _cuts(m, CHUNKS)]
    else:
        tasks = [functools.partial(np.matmul, a, b[:, i:j], out=out[:, i:j]) for i, j in _cuts(n, CHUNKS)]
    engine.run_tasks(tasks)
    return out


def bmm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b)`` for stacks of matrices (same leading shape), the stack cut in
    blocks shared by the engine's threads."""
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    count = int(np.prod(lead))
    if engine.THREADS == 1 or 2.0 * count * m * k * n < SPLIT_FLOPS or not lead or lead[0] < engine.THREADS \
            or a.shape[:-2] != b.shape[:-2] or not _openblas():
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty(lead + (m, n), dtype=np.result_type(a, b))
    tasks = [functools.partial(np.matmul, a[i:j], b[i:j], out=out[i:j]) for i, j in _cuts(lead[0], CHUNKS)]
    engine.run_tasks(tasks)
    return out
