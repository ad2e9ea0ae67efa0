"""Runs a job on a worker thread; the UI thread reads its progress in batches.

The job is any callable taking a ``RunEvents``: it records node started / finished /
failed and progress there (a thread-safe deque). The window drains the events with a
timer a few dozen times a second, so a run of many small nodes costs the UI thread a
handful of short Python calls instead of one queued signal per node: every Python
slot must take the GIL from the worker, and hundreds of them would freeze the window.
"""

from __future__ import annotations

import collections
import time
import traceback
from typing import Callable

from Qt import QtCore


class RunEvents:
    """What happened during a run, in order: ("started" | "finished" | "failed" | "progress", ...)."""

    def __init__(self):
        self._queue: collections.deque = collections.deque()

    def started(self, name: str) -> None:
        self._queue.append(("started", name))

    def finished(self, name: str, seconds: float) -> None:
        self._queue.append(("finished", name, seconds))

    def failed(self, name: str, message: str) -> None:
        self._queue.append(("failed", name, message))

    def progress(self, done: int, total: int) -> None:
        self._queue.append(("progress", done, total))

    def drain(self) -> list[tuple]:
        """Every event recorded since the last call (UI thread)."""
        out = []
        pop = self._queue.popleft
        while self._queue:
            out.append(pop())
        return out


class RunWorker(QtCore.QThread):
    """``job(events)`` on a worker thread; ``done(result, error_text, seconds)`` at the end.

    One worker per run, and it deletes itself once its thread has finished: a QThread
    with a parent lives as long as the parent, and its job (a closure over the run's
    ``Runtime``) would keep every earlier run's graph and node outputs alive, the
    process growing by the size of all outputs at each run (measured: +116 MB per run
    of the 100-node benchmark graph) and every run writing to never-used memory.
    """

    done = QtCore.Signal(object, str, float)

    def __init__(self, job: Callable[[RunEvents], object], parent=None):
        super().__init__(parent)
        self.job: Callable[[RunEvents], object] | None = job
        self.events = RunEvents()
        self.finished.connect(self.deleteLater)  # (delivered on the UI thread, after run())

    def run(self) -> None:  # worker thread
        start = time.perf_counter()
        job, self.job = self.job, None  # the worker holds nothing of the run once it is done
        try:
            result, error = job(self.events), ""
        except Exception as exc:  # reported on the UI thread, never swallowed
            result = None
            error = str(exc) or type(exc).__name__
            if not type(exc).__module__.startswith("haibal_py"):
                error = f"{type(exc).__name__}: {error}\n{traceback.format_exc(limit=3)}"
        self.done.emit(result, error, time.perf_counter() - start)
