"""Sharded runs on a real Dask cluster: a LocalCluster of two worker processes (started once
for the module), ``--workers 2`` and ``--scheduler ADDRESS`` from the command line, and
Ctrl+C cancelling the cluster's work. The numbers are the in-process run's, bit for bit:
the states merge in shard order whichever worker finishes first."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")  # the 'distributed' extra, installed by make test

from haibal_py.distributed import run_over  # noqa: E402
from haibal_py.distributed.executors import DaskExecutor  # noqa: E402
from haibal_py.distributed.task import GraphPayload, Task, loads  # noqa: E402
from haibal_py.distributed.shards import expand_shards  # noqa: E402
from haibal_py.graph import Graph  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402

from test_distributed_run import SEG, interrupt_after_progress, make_shards_module, many_shards  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    folder = tmp / "shards"
    make_shards_module.make_shards(folder, 12, 2, 16, 6, concat=tmp / "all.npz")
    with np.load(tmp / "all.npz") as z:
        whole = {k: z[k] for k in z.files}
    return folder, whole


def test_two_worker_processes_give_the_in_process_numbers_bit_for_bit(client, shards, tmp_path):
    folder, whole = shards
    assert len(client.nthreads()) == 2
    here = run_over(SEG, str(folder / "*.npz"), workers=1, output=tmp_path / "here.npz")
    there = run_over(SEG, str(folder / "*.npz"), client=client, output=tmp_path / "there.npz")
    assert there.ok and there.where.startswith("on 2 Dask worker(s)")
    assert there.merged["mean_loss"] == here.merged["mean_loss"]  # the same additions in the same order
    one = Runtime(Graph.load(SEG)).run(whole).outputs["mean_loss"]
    assert there.merged["mean_loss"] == pytest.approx(one, rel=1e-12)
    with np.load(tmp_path / "here.npz") as a, np.load(tmp_path / "there.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


def test_each_worker_builds_the_graph_once(client, shards):
    folder, _ = shards
    graph = Graph.load(SEG)
    graph.set_param("scc2", "from_logits", True)  # a payload no other test sent
    graph.description = "loads test"
    before = client.run(loads)
    run_over(graph, str(folder / "*.npz"), client=client)
    after = client.run(loads)
    built = {w: after[w] - before[w] for w in after}
    assert set(built.values()) <= {0, 1} and sum(built.values()) >= 1, built  # 12 shards, at most once each
    run_over(graph, str(folder / "*.npz"), client=client)
    assert client.run(loads) == after  # the same graph again: nothing built


def test_a_failing_shard_on_the_cluster_is_reported_and_the_others_merge(client, shards, tmp_path):
    folder, whole = shards
    bad = tmp_path / "bad.npz"
    np.savez(bad, labels=np.full((1, 16, 16), 99, np.int32), logits=np.zeros((1, 16, 16, 6), np.float32))
    res = run_over(SEG, [str(folder / "*.npz"), str(bad)], client=client)
    assert [(Path(f.shard).name, f.node) for f in res.failures] == [("bad.npz", "scc1")]
    assert "label 99" in res.failures[0].message
    one = Runtime(Graph.load(SEG)).run(whole).outputs["mean_loss"]
    assert res.merged["mean_loss"] == pytest.approx(one, rel=1e-12) and res.rows[0].shards == 12


def test_a_small_window_keeps_few_tasks_and_yields_them_in_order(client, shards):
    folder, _ = shards
    payload = GraphPayload.of(Graph.load(SEG))
    tasks = [Task(i, 0, (), s) for i, s in enumerate(expand_shards(str(folder / "*.npz")))]
    executor = DaskExecutor(client, window=2)
    held = []
    results = []
    for res in executor.map(payload, tasks, on_done=lambda r: held.append(r.index)):
        results.append(res.index)
    assert results == list(range(12)) and sorted(held) == list(range(12))


def haibal(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "haibal_py", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_haibal_run_over_with_two_local_workers_and_on_a_scheduler(client, shards):
    folder, whole = shards
    one = Runtime(Graph.load(SEG)).run(whole).outputs["mean_loss"]
    local = haibal("run", SEG, "--over", folder / "*.npz", "--workers", "2", "--json")
    assert local.returncode == 0, local.stderr
    doc = json.loads(local.stdout)
    assert doc["where"].startswith("on 2 Dask worker(s)") and doc["shards"] == 12
    assert doc["outputs"]["mean_loss"]["value"] == pytest.approx(one, rel=1e-12)
    remote = haibal("run", SEG, "--over", folder / "*.npz", "--scheduler", client.scheduler.address, "--json")
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["outputs"]["mean_loss"]["value"] == doc["outputs"]["mean_loss"]["value"]
    unreachable = haibal("run", SEG, "--over", folder / "*.npz", "--scheduler", "tcp://127.0.0.1:9", timeout=60)
    assert unreachable.returncode == 2 and "cannot reach the Dask scheduler" in unreachable.stderr


def test_ctrl_c_cancels_the_cluster_work_and_shuts_it_down(tmp_path):
    folder = many_shards(tmp_path, 400)
    done = interrupt_after_progress([SEG, "--over", folder / "*.npz", "--workers", "2"], tmp_path)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "haibal: interrupted" in done.stderr
    # every process the command started (its local cluster's workers) is gone from its group
    alive = ["?"]
    for _ in range(100):
        alive = subprocess.run(["pgrep", "-g", str(done.pgid)], capture_output=True, text=True).stdout.split()
        if not alive:
            break
        time.sleep(0.1)
    assert alive == [], alive
