"""Keeping freed memory for reuse, so that a layer's large temporaries cost no page faults.

A forward or backward pass allocates arrays of megabytes (gates of every step, gradients,
pieces' buffers) and frees them before the next pass allocates the same sizes again. With
glibc's default settings those blocks are returned to the operating system (``mmap`` for
large blocks, trimming of the heap's top) and every new array then takes a page fault per
4 KiB page on first touch: measured on bench/layers.py, 2500 faults per LSTM step and 4000
per MultiHeadAttention step, 15-20% of their time. Raising glibc's ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` (``mallopt``) keeps freed blocks in the process for the next pass, as
the caching allocators of PyTorch and TensorFlow do: the process keeps its peak memory
instead of giving it back between passes.

A graph's run is the same story at its scale: a chain of 100 nodes on 100,000-value arrays
ran in 33-96 ms on the editor's worker thread with glibc's defaults (fresh pages at every
run, depending on which of glibc's per-thread arenas the thread got) and in 33-47 ms with
freed memory kept (bench/editor.py).

This changes the allocator of the whole process, so it is done once, when a layer or a
graph first runs (``Layer.call_forward``, ``Runtime.run``), and not at all with the
environment variable ``HAIBAL_KEEP_FREED_MEMORY=0``, or where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 << 20    # blocks up to this size come from the heap (glibc's default: 128 KiB, rising)
TRIM_THRESHOLD = 1 << 30      # free memory kept at the heap's top before any is returned
_state: dict = {}


def keep_freed_memory() -> bool:
    """Tell glibc to keep freed memory for reuse (once per process); whether it is done."""
    if "done" in _state:
        return _state["done"]
    done = False
    if os.environ.get("HAIBAL_KEEP_FREED_MEMORY", "1") != "0" and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            mallopt = libc.mallopt
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            # glibc versions that cap the mmap threshold at 32 MiB refuse larger values
            done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) or mallopt(_M_MMAP_THRESHOLD, 32 << 20))
            done = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and done
        except (OSError, AttributeError):  # not glibc (musl, another OS): nothing to tune
            done = False
    _state["done"] = done
    return done
