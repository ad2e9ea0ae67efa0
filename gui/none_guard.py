"""Work around reference leaks of ``None``, ``True`` and ``False`` in PySide6 6.12 on Python 3.11.

Every call to a Qt method returning ``void`` (``setPos``, ``update``, ``setPen``...)
drops one reference to ``None`` without having taken it (measured: -1 per call with
PySide6-Essentials 6.12.0 abi3 wheels). Python 3.12+ made ``None`` immortal, so
nothing happens there; on 3.11 ``None``'s count (about 25 000 at start) reaches zero
after a few hundred nodes or a few seconds of painting, and the interpreter aborts
with "none_dealloc: deallocating None".

Some calls leak ``True``/``False`` references the same way (seen as "bool_dealloc" at
exit). ``protect_none`` gives ``None``, ``True`` and ``False`` reference counts so large
that no session can use them up: what Python 3.12 does by design (PEP 683, immortal
objects). It is a no-op on 3.12+.
"""

from __future__ import annotations

import sys

#: enough for 2**60 leaked references; well below the counter's limit
_HEADROOM = 1 << 60
_done = False


def protect_none() -> bool:
    """Make ``None``, ``True`` and ``False`` practically immortal on Python < 3.12."""
    global _done
    if _done or sys.version_info >= (3, 12):
        return False
    import ctypes

    for obj in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt is the first field
        real = sys.getrefcount(obj)
        if not 0 <= real - count.value <= 4:  # not the layout we expect: leave it
            return False
        count.value += _HEADROOM
    _done = True
    return True
