"""The one block/thread engine (``kernels.engine``) and the dense reductions built on it (``kernels.blocks``):
blocks and tasks each taken once, errors reaching the caller, a Pipeline running every job
exactly once whether the background lane or the caller takes it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import haibal_py.numeric.kernels.blocks as blocks
import haibal_py.numeric.kernels.engine as engine
from haibal_py import losses, metrics


def test_every_block_is_taken_exactly_once_by_several_threads(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 3)
    monkeypatch.setattr(engine, "PARALLEL_ELEMENTS", 1)
    seen, who = [], set()
    lock = threading.Lock()

    def work(part):
        for block in part:
            with lock:
                seen.append(block)
                who.add(threading.get_ident())

    engine.run(work, list(range(500)), 500)
    assert sorted(seen) == list(range(500))
    assert engine.thread_count(500, 500) == 3


def test_small_inputs_stay_in_the_calling_thread(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 4)
    callers = []
    engine.run(lambda part: callers.append((threading.get_ident(), list(part))), [1, 2, 3],
               engine.PARALLEL_ELEMENTS - 1)
    assert callers == [(threading.get_ident(), [1, 2, 3])]


def test_an_error_in_a_worker_thread_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 2)
    monkeypatch.setattr(engine, "PARALLEL_ELEMENTS", 1)
    main = threading.get_ident()

    def work(part):
        for block in part:
            if threading.get_ident() != main:
                raise RuntimeError(f"block {block} failed")
            threading.Event().wait(0.001)  # leave blocks for the worker

    with pytest.raises(RuntimeError, match="failed"):
        engine.run(work, list(range(200)), 200)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis", [((7, 300), -1), ((3, 50, 40), (1, 2)), ((5, 3, 60), None)])
def test_tiled_and_threaded_sums_equal_numpy_and_do_not_depend_on_threads(monkeypatch, dtype, shape, axis):
    """Tiny tiles (rows cut into column chunks) and forced threads: the same numbers, every time."""
    rng = np.random.default_rng(0)
    t = rng.random(shape).astype(dtype)
    p = rng.random(shape).astype(dtype)
    plain = losses.dice(t, p, axis=axis), metrics.pearson_correlation(t.reshape(shape[0], -1),
                                                                       p.reshape(shape[0], -1))
    monkeypatch.setattr(blocks, "BLOCK_ELEMENTS", 16)
    monkeypatch.setattr(engine, "THREADS", 3)
    monkeypatch.setattr(engine, "PARALLEL_ELEMENTS", 1)
    runs = [(losses.dice(t, p, axis=axis), metrics.pearson_correlation(t.reshape(shape[0], -1),
                                                                       p.reshape(shape[0], -1)))
            for _ in range(5)]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for got in runs:
        np.testing.assert_allclose(got[0], plain[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(got[1], plain[1], rtol=tol, atol=tol)
        np.testing.assert_array_equal(got[0], runs[0][0])  # the same bits whichever thread took a tile
    red = tuple(range(1, len(shape))) if axis is not None else None
    ref = 1 - 2 * (t.astype(np.float64) * p).sum(axis=red) / (t.sum(axis=red, dtype=np.float64)
                                                              + p.sum(axis=red, dtype=np.float64) + 1e-7)
    if axis == -1:
        ref = 1 - 2 * (t.astype(np.float64) * p).sum(-1) / (t.sum(-1, dtype=np.float64)
                                                             + p.sum(-1, dtype=np.float64) + 1e-7)
    np.testing.assert_allclose(runs[0][0], ref, rtol=tol, atol=tol)


def test_row_sums_of_an_empty_batch_with_long_rows(monkeypatch):
    monkeypatch.setattr(blocks, "BLOCK_ELEMENTS", 4)
    out = losses.mean_squared_error(np.zeros((0, 10), np.float32), np.zeros((0, 10), np.float32))
    assert out.shape == (0,) and out.dtype == np.float32


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 2)


def test_run_tasks_runs_every_task_once(two_threads):
    seen = []
    lock = threading.Lock()

    def task(i):
        with lock:
            seen.append(i)

    engine.run_tasks([lambda i=i: task(i) for i in range(50)])
    assert sorted(seen) == list(range(50))


def test_pipeline_runs_each_job_once(two_threads):
    counts = [0] * 20
    gate = threading.Event()

    def job(i):
        if i == 0:
            gate.wait(5)          # hold the background thread: later jobs queue behind it
        counts[i] += 1

    pipe = engine.Pipeline()
    jobs = [pipe.submit(lambda i=i: job(i)) for i in range(20)]
    pipe.wait(jobs[5])            # not started yet: the caller runs it (and finish does not again)
    assert counts[5] == 1
    gate.set()
    pipe.wait(jobs[5])
    pipe.finish()
    assert counts == [1] * 20


def test_pipeline_reports_errors_after_every_job(two_threads):
    done = []

    def bad():
        raise ValueError("job failed")

    pipe = engine.Pipeline()
    pipe.submit(bad)
    pipe.submit(lambda: done.append(1))
    with pytest.raises(ValueError, match="job failed"):
        pipe.finish()
    assert done == [1]
