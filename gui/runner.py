"""Runs a job on a worker thread and reports its progress as Qt signals.

The job is any callable taking a ``RunHooks``; it calls the hooks from the worker
thread and the signals reach the window on the UI thread (queued connections), so
the window never waits for a node to finish.
"""

from __future__ import annotations

import time
import traceback
from typing import Callable

from Qt import QtCore


class RunHooks(QtCore.QObject):
    """Signals a running job emits: node started / finished / failed, overall progress."""

    node_started = QtCore.Signal(str)
    node_finished = QtCore.Signal(str, float)
    node_failed = QtCore.Signal(str, str)
    progress = QtCore.Signal(int, int)


class RunWorker(QtCore.QThread):
    """``job(hooks)`` on a worker thread; ``done(result, error_text, seconds)`` at the end."""

    done = QtCore.Signal(object, str, float)

    def __init__(self, job: Callable[[RunHooks], object], parent=None):
        super().__init__(parent)
        self.job = job
        self.hooks = RunHooks()

    def run(self) -> None:  # worker thread
        start = time.perf_counter()
        try:
            result, error = self.job(self.hooks), ""
        except Exception as exc:  # reported on the UI thread, never swallowed
            result = None
            error = str(exc) or type(exc).__name__
            if not getattr(exc, "__module__", "").startswith("haibal_py"):
                error = f"{type(exc).__name__}: {error}\n{traceback.format_exc(limit=3)}"
        self.done.emit(result, error, time.perf_counter() - start)
