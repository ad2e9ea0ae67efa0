"""Runs the graph on a worker thread; the UI thread reads what happened in batches.

The worker's observer (``RunRecorder``) records node started / finished / failed,
progress and live values (``RunContext.emit``) in ``RunEvents``: appends to deques,
which never block the worker. The window drains them with a timer a few dozen times a
second, so a run of many small nodes costs the UI thread a handful of short Python calls
instead of one queued signal per node (every Python slot must take the GIL from the
worker, and hundreds of them would freeze the window). Live values are kept in a bounded
queue: a node streaming faster than the window reads loses its oldest points, counted in
``dropped``, instead of growing without bound.
"""

from __future__ import annotations

import collections
import time
import traceback
from typing import Any, Callable

from Qt import QtCore

from haibal_py.errors import HaibalError
from haibal_py.graph import GraphValidationError
from haibal_py.runtime import GraphInputError, NodeRunError, Runtime

LIVE_LIMIT = 100_000  # live events kept between two reads


class RunEvents:
    """What happened during a run, in order: ("started" | "finished" | "failed" | "progress", ...);
    live values apart: (node id, kind, payload)."""

    def __init__(self, live_limit: int = LIVE_LIMIT):
        self._queue: collections.deque = collections.deque()
        self._live: collections.deque = collections.deque(maxlen=live_limit)
        self.emitted = 0  # live events recorded by the worker
        self.read = 0  # live events the UI took
        self.stop_requested = False  # set by the UI; the run sees it even if asked before it began

    def started(self, gid: str) -> None:
        self._queue.append(("started", gid))

    def finished(self, gid: str, seconds: float) -> None:
        self._queue.append(("finished", gid, seconds))

    def failed(self, gid: str, message: str) -> None:
        self._queue.append(("failed", gid, message))

    def progress(self, done: int, total: int) -> None:
        self._queue.append(("progress", done, total))

    def live(self, gid: str, kind: str, payload: Any) -> None:
        self.emitted += 1
        self._live.append((gid, kind, payload))

    def drain(self) -> list[tuple]:
        """Every event recorded since the last call (UI thread)."""
        out = []
        pop = self._queue.popleft
        while self._queue:
            out.append(pop())
        return out

    def drain_live(self) -> list[tuple]:
        out = []
        pop = self._live.popleft
        while self._live:
            out.append(pop())
        self.read += len(out)
        return out

    @property
    def dropped(self) -> int:
        return self.emitted - self.read - len(self._live)


class RunRecorder:
    """Runtime observer writing to ``RunEvents`` (node ids throughout)."""

    def __init__(self, events: RunEvents, runtime: Runtime | None = None):
        self.events, self.runtime, self.total, self.done = events, runtime, 0, 0

    def run_started(self, to_run):
        if self.events.stop_requested and self.runtime is not None:
            self.runtime.stop()  # asked before the run began (``Runtime.run`` clears older requests)
        self.total = len(to_run)
        self.events.progress(0, max(self.total, 1))

    def node_started(self, node_id):
        self.events.started(node_id)

    def node_finished(self, node_id, seconds):
        self.done += 1
        self.events.finished(node_id, seconds)
        self.events.progress(self.done, max(self.total, 1))

    def node_failed(self, node_id, message, seconds):
        self.events.failed(node_id, message)

    def node_event(self, node_id, kind, payload):
        self.events.live(node_id, kind, payload)


def run(runtime: Runtime, events: RunEvents, inputs: dict | None = None) -> dict:
    """Run on the calling (worker) thread. Returns ``{"result": RunResult or None, "error": text,
    "failed": node id or None, "problems": [...]}``; a failing node is reported, not raised."""
    error, failed, problems, result = "", None, [], None
    try:
        result = runtime.run(inputs=inputs, observer=RunRecorder(events, runtime))
    except NodeRunError as exc:
        result, error, failed = exc.result, str(exc), exc.node_id
    except GraphValidationError as exc:  # nothing ran
        error, problems = "the graph has problems (see the Error List)", list(exc.problems)
    except GraphInputError as exc:  # nothing ran
        error = str(exc)
    return {"result": result, "error": error, "failed": failed, "problems": problems}


class RunWorker(QtCore.QThread):
    """``job(events)`` on a worker thread; ``done(result, error_text, seconds)`` at the end.

    One worker per run, and it deletes itself once its thread has finished: a QThread
    with a parent lives as long as the parent, and its job (a closure over the run's
    ``Runtime``) would keep every earlier run's graph and node outputs alive.
    """

    done = QtCore.Signal(object, str, float)
    #: workers whose window closed while their job still ran: kept until they finish
    detached: set = set()

    def __init__(self, job: Callable[[RunEvents], object], parent=None):
        super().__init__(parent)
        self.job: Callable[[RunEvents], object] | None = job
        self.events = RunEvents()
        self.finished.connect(self.deleteLater)  # (delivered on the UI thread, after run())

    def detach(self) -> None:
        """Let the thread outlive its window (a node that does not stop when asked): a QThread
        destroyed with its parent while it runs would abort the process."""
        self.done.disconnect()
        self.setParent(None)
        RunWorker.detached.add(self)
        self.finished.connect(lambda: RunWorker.detached.discard(self))

    def run(self) -> None:  # worker thread
        start = time.perf_counter()
        job, self.job = self.job, None  # the worker holds nothing of the run once it is done
        try:
            result, error = job(self.events), ""
        except Exception as exc:  # reported on the UI thread, never swallowed
            result = None
            error = str(exc) or type(exc).__name__
            if not isinstance(exc, HaibalError):
                error = f"{type(exc).__name__}: {error}\n{traceback.format_exc(limit=3)}"
        self.done.emit(result, error, time.perf_counter() - start)


class _ShardEvents:
    """``run_over``'s progress reports as the editor's run events (files done of all)."""

    def __init__(self, events: RunEvents, total: int):
        self.events, self.total, self.count = events, total, 0
        events.progress(0, max(total, 1))

    def done(self, result) -> None:
        self.count += 1
        self.events.progress(self.count, max(self.total, 1))

    def close(self) -> None:
        pass


def run_over(graph, folder, pattern: str, events: RunEvents, workers: int = 1, policy=None, limits=None) -> dict:
    """Run ``graph`` once per file of ``folder`` matching ``pattern`` (``haibal_py.distributed``)
    on the calling (worker) thread. Returns ``{"over": OverResult or None, "error": text,
    "problems": [...]}``; failing files are in the result, nothing is raised."""
    from haibal_py.distributed import expand_shards, run_over as over_files
    from haibal_py.errors import HaibalError
    try:
        shards = expand_shards(pattern, base_dir=folder)
        res = over_files(graph, shards, workers=workers, node_values=True, progress=_ShardEvents(events, len(shards)),
                         policy=policy, limits=limits)
    except GraphValidationError as exc:
        return {"over": None, "error": "the graph has problems (see the Error List)", "problems": list(exc.problems)}
    except HaibalError as exc:
        return {"over": None, "error": str(exc), "problems": []}
    return {"over": res, "error": "", "problems": []}
