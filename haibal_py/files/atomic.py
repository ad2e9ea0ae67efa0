"""Atomic file writes: a reader sees the old file or the new one, never a mix or a truncation.

Every file haibal-py writes (graphs, their array files, snippets, outputs, weights) goes
through ``write_atomic``: the data goes to a temporary file with a unique name in the
target's folder, is flushed and fsynced, gets the mode the target should have, and is
renamed over the target; the folder is fsynced so the rename survives a crash. A new
file gets ``0666 & ~umask`` (what ``open()`` would give); a replaced file keeps its mode.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, IO, Iterator

try:
    import fcntl
except ImportError:  # Windows: the in-process lock alone
    fcntl = None

__all__ = ["AtomicStream", "folder_lock", "fsync_folder", "new_file_mode", "probe_folder", "write_atomic", "write_bytes_atomic",
           "write_hashed"]


def _read_umask() -> int:
    """The process umask, read without changing it where the system says it (Linux), at each
    new file (a program may change its umask after importing haibal-py)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _UMASK  # elsewhere: the umask read at import (before any thread)


def _umask_at_import() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask_at_import()


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0666`` minus the umask."""
    return 0o666 & ~_read_umask()


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


@contextmanager
def _removed_on_error(tmp: str):
    """A temporary file that is deleted if the block fails (an interrupt included)."""
    try:
        yield
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    with _removed_on_error(tmp):
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    fsync_folder(path.parent)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """``write_atomic`` for data already in memory."""
    write_atomic(path, lambda fh: fh.write(data))


class AtomicStream:
    """``write_atomic`` for a file written piece by piece over a long time (a sharded run's
    per-shard table): ``open()`` gives the temporary file, ``commit()`` renames it over the
    target, ``abort()`` removes it (the target is then left as it was)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fh: IO[bytes] | None = None
        self._tmp = ""

    def open(self) -> IO[bytes]:
        try:
            self._mode = stat.S_IMODE(self.path.stat().st_mode)
        except OSError:
            self._mode = new_file_mode()
        fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        self.fh = os.fdopen(fd, "wb")
        return self.fh

    def commit(self) -> None:
        fh, self.fh = self.fh, None
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            os.chmod(self._tmp, self._mode)
            os.replace(self._tmp, self.path)
        except BaseException:
            self._remove(fh)
            raise
        fsync_folder(self.path.parent)

    def abort(self) -> None:
        fh, self.fh = self.fh, None
        if fh is not None:
            self._remove(fh)

    def _remove(self, fh) -> None:
        try:
            fh.close()
        except OSError:
            pass
        try:
            os.unlink(self._tmp)
        except OSError:
            pass


def write_hashed(folder: str | Path, prefix: str, suffix: str, write: Callable[[IO[bytes]], object],
                 mode: int | None = None) -> tuple[Path, str]:
    """Write a file named by its content, ``<prefix><first 16 hex digits of its SHA-256><suffix>``,
    in ``folder``, as ``write_atomic`` does (unique temporary file, fsync, rename). Returns its
    path and full SHA-256 (hex). ``mode``: the new file's mode (``0666 & ~umask`` when None)."""
    folder = Path(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{prefix}", suffix=".tmp")
    with _removed_on_error(tmp):
        with os.fdopen(fd, "w+b") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            digest = hashlib.sha256()
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        path = folder / f"{prefix}{sha[:16]}{suffix}"
        os.chmod(tmp, new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    fsync_folder(folder)
    return path, sha


def probe_folder(folder: str | Path) -> None:
    """OSError unless ``folder`` takes a new file now (one is created and removed): a run
    whose output cannot be written is refused before it starts, not after."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".haibal-probe.", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp)


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` while saving a pair of files in it (a graph and
    its ``.npz``, a snippet's ``.png`` and ``.snippet.json``): threads of this process and,
    where the system has ``flock``, other processes saving there wait for each other, so
    concurrent saves never mix their files. Readers take no lock."""
    folder = Path(folder)
    key = os.path.realpath(folder)
    with _THREAD_LOCKS_GUARD:
        lock = _THREAD_LOCKS.setdefault(key, threading.Lock())
    with lock:
        fd = None
        if fcntl is not None:
            try:
                fd = os.open(folder, os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # a file system without locks: the thread lock alone
                if fd is not None:
                    os.close(fd)
                fd = None
        try:
            yield
        finally:
            if fd is not None:
                os.close(fd)  # closing releases the flock
