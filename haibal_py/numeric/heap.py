"""Keep freed memory for the next batch: glibc's ``M_TOP_PAD`` for training loops.

A training step allocates and frees the same large arrays every batch (activations, their
gradients, patch matrices: megabytes each for a CNN). glibc gives the memory at the top of
the heap back to the system as soon as it is freed (beyond 128 KB), so every batch touches
fresh pages and pays a page fault per 4 KB: on the 2-core machine this made the CNN of
``bench/train.py`` spend about 40% of each step in the kernel (forward 6.6 ms -> 3.8 ms,
backward 10.5 ms -> 6.3 ms once the pages are kept). TensorFlow and PyTorch avoid it with
allocators of their own; NumPy uses the C library's.

``keep_freed_memory()`` asks glibc to keep ``HEAP_PAD`` bytes (64 MB; ``$HAIBAL_HEAP_PAD``
in bytes overrides it, 0 disables it) at the top of the heap when it trims, and to take as
much when it grows. It is called by ``fit``, ``evaluate`` and ``value_and_grad``, once per
process; memory beyond the pad is still returned, and pages never touched cost nothing.
Elsewhere than glibc (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

__all__ = ["HEAP_PAD", "keep_freed_memory"]

HEAP_PAD = 64 * 1024 * 1024
_M_TOP_PAD = -2  # glibc's mallopt parameter number
_done: dict[str, object] = {}


def keep_freed_memory() -> int:
    """Set glibc's top pad once (see the module docstring); returns the pad in force (0: none)."""
    if "pad" in _done:
        return _done["pad"]
    pad = 0
    try:
        wanted = int(os.environ.get("HAIBAL_HEAP_PAD", HEAP_PAD))
    except ValueError:
        wanted = HEAP_PAD
    if wanted > 0:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
            if mallopt(_M_TOP_PAD, min(wanted, 2**31 - 1)) == 1:
                pad = wanted
        except (OSError, AttributeError):
            pad = 0
    _done["pad"] = pad
    return pad
