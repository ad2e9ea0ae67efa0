"""Atomic file writes: a reader sees the old file or the new one, never a mix or a truncation.

Every file haibal-py writes (graphs, their array files, snippets, outputs, weights) goes
through ``write_atomic``: the data goes to a temporary file with a unique name in the
target's folder, is flushed and fsynced, gets the mode the target should have, and is
renamed over the target; the folder is fsynced so the rename survives a crash. A new
file gets ``0666 & ~umask`` (what ``open()`` would give); a replaced file keeps its mode.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, IO

__all__ = ["write_atomic", "write_bytes_atomic", "new_file_mode", "fsync_folder"]


def _read_umask() -> int:
    """The process umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # the classic read: set and restore (at import, before any thread)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0666`` minus the umask."""
    return 0o666 & ~_UMASK


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(binary file)`` on a fresh temporary file beside ``path``, then rename it over ``path``.

    Concurrent writers never share a temporary file; the last rename wins whole.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = new_file_mode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_folder(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """``write_atomic`` for data already in memory."""
    write_atomic(path, lambda fh: fh.write(data))
