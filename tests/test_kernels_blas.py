"""kernels/blas.py: products split over the cores give NumPy's numbers, shared tasks all run
once, a Pipeline runs every job exactly once whether the background thread or the caller
takes it, and errors reach the caller."""

import threading

import numpy as np
import pytest

from haibal_py.numeric.kernels import blas


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(blas, "CORES", 2)
    monkeypatch.setattr(blas, "CHUNKS", 8)


@pytest.mark.parametrize("shape", [(300, 40, 50), (40, 50, 300), (7, 3, 5)])
def test_split_products_equal_numpy(two_cores, shape):
    rng = np.random.default_rng(0)
    m, k, n = shape
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    with blas.single_thread():
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12)
        sa, sb = rng.normal(size=(6, m, k)), rng.normal(size=(6, k, n))
        np.testing.assert_allclose(blas.bmm(sa, sb), sa @ sb, rtol=1e-12)


def test_run_shared_runs_every_task_once(two_cores):
    seen = []
    lock = threading.Lock()

    def task(i):
        with lock:
            seen.append(i)

    blas.run_shared([lambda i=i: task(i) for i in range(50)])
    assert sorted(seen) == list(range(50))


def test_pipeline_runs_each_job_once(two_cores):
    counts = [0] * 20
    gate = threading.Event()

    def job(i):
        if i == 0:
            gate.wait(5)          # hold the background thread: later jobs queue behind it
        counts[i] += 1

    pipe = blas.Pipeline()
    jobs = [pipe.submit(lambda i=i: job(i)) for i in range(20)]
    pipe.wait(jobs[5])            # not started yet: the caller runs it (and finish does not again)
    assert counts[5] == 1
    gate.set()
    pipe.wait(jobs[5])
    pipe.finish()
    assert counts == [1] * 20


def test_pipeline_reports_errors_after_every_job(two_cores):
    done = []

    def bad():
        raise ValueError("job failed")

    pipe = blas.Pipeline()
    pipe.submit(bad)
    pipe.submit(lambda: done.append(1))
    with pytest.raises(ValueError, match="job failed"):
        pipe.finish()
    assert done == [1]
