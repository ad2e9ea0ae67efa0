"""A run in the editor keeps nothing of itself once it is over.

Each run has its own worker thread. A worker that outlived its run kept the run's
``Runtime`` (graph and every node output) alive: the editor grew by the size of all
outputs at each run and every run wrote to fresh memory (slower than reusing it).
"""

import gc
import weakref

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from haibal_py.graph import Graph  # noqa: E402
from haibal_py.gui.runner import RunWorker  # noqa: E402

ELU = "haibal.activations.ELU"


@pytest.fixture
def window(open_editor):
    return open_editor()


def small_graph(path):
    g = Graph(name="chain")
    x = g.add_input("x", default=np.linspace(-2, 2, 50).tolist(), type="float[1]")
    e = g.add_node(ELU, params={"alpha": 1.0})
    y = g.add_output("y")
    g.connect(x, "value", e, "x")
    g.connect(e, "result", y, "value")
    g.save(path)
    return path


def run_and_wait(window, qtbot):
    with qtbot.waitSignal(window.run_finished, timeout=10000) as sig:
        assert window.run_graph()
    assert sig.args == [True], window.status.text()


def test_a_finished_run_leaves_no_worker_and_frees_the_previous_document(window, qtbot, tmp_path):
    path = small_graph(tmp_path / "g.json")
    window.open(path)
    run_and_wait(window, qtbot)
    first_runtime = weakref.ref(window.model.runtime)
    first_worker = weakref.ref(window.findChildren(RunWorker)[0]) if window.findChildren(RunWorker) else None

    window.open(path)  # a new document: the first one's runtime is not needed any more
    run_and_wait(window, qtbot)
    qtbot.waitUntil(lambda: not window.findChildren(RunWorker), timeout=5000)  # deleted once finished
    gc.collect()
    assert first_runtime() is None, gc.get_referrers(first_runtime())
    assert first_worker is None or first_worker() is None
    assert window.last_result.ran  # the result of the run is still shown


def test_a_worker_drops_its_job_when_done(qtbot):
    seen = []

    def job(events):
        events.progress(1, 1)
        return "ok"


    worker = RunWorker(job)
    worker.done.connect(lambda result, error, _s: seen.append((result, error)))
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert seen == [("ok", "")]
    assert worker.job is None  # nothing of the run is kept by the thread object
