"""The runtime: dataflow order, values, incremental re-runs, observers, failures."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph, GraphValidationError
from haibal_py.runtime import GraphInputError, NodeRunError, RunObserver, Runtime
from haibal_py.node.types import Batches

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
Y_TRUE = [1, 2]
Y_PRED = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]
# by hand, float64, as TensorFlow: clip to [1e-7, 1 - 1e-7] then renormalise, so the 0 of the
# first row adds 1e-7 to its sum: -log(0.95 / (1 + 1e-7)), -log(0.1)
EXPECTED = np.array([-math.log(0.95) + math.log1p(1e-7), -math.log(0.1)])


def doc_graph(dtype=np.float64) -> Graph:
    g = Graph("scce")
    g.add_input("y_true", default=np.array(Y_TRUE), type="int[1]")
    g.add_input("y_pred", default=np.array(Y_PRED, dtype=dtype), type="float[2]")
    per = g.add_node(SCCE, "per sample")
    mean = g.add_node(SCCE, "mean", instance="batch")
    for n in (per, mean):
        g.connect("y_true", "value", n, "y_true")
        g.connect("y_pred", "value", n, "y_pred")
    g.connect(per, "result", g.add_output("loss"), "value")
    g.connect(mean, "result", g.add_output("mean"), "value")
    return g


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-7), (np.float32, 1e-6)])
def test_the_documentation_example_gives_keras_numbers(dtype, tol):
    res = Runtime(doc_graph(dtype)).run()
    np.testing.assert_allclose(res.outputs["loss"], EXPECTED, rtol=tol)
    assert res.outputs["loss"].dtype == dtype
    assert math.isclose(res.outputs["mean"], EXPECTED.mean(), rel_tol=tol)
    assert res.instances["scc1"] == "array" and res.instances["scc2"] == "batch"
    assert res.ok and res.failed is None


def test_every_node_runs_once_in_dataflow_order():
    g = doc_graph()
    res = Runtime(g).run()
    assert sorted(res.ran) == sorted(g.nodes)
    pos = {gid: i for i, gid in enumerate(res.ran)}
    for c in g.connections:
        assert pos[c.src] < pos[c.dst]
    assert set(res.timings) == set(g.nodes) and all(t >= 0 for t in res.timings.values())


def test_an_output_feeds_all_consumers_without_copies():
    g = Graph()
    c = g.add_node("haibal.io.Constant", params={"value": np.arange(6.0)})
    a = g.add_node("haibal.viewers.ValueDisplay")
    b = g.add_node("haibal.viewers.ValueDisplay")
    g.connect(c, "value", a, "value")
    g.connect(c, "value", b, "value")
    g.connect(a, "value", g.add_output("a"), "value")
    g.connect(b, "value", g.add_output("b"), "value")
    res = Runtime(g).run()
    assert res.outputs["a"] is res.outputs["b"] is res.values[c]["value"]


def test_a_second_run_reuses_everything_and_a_change_reruns_only_downstream():
    g = doc_graph()
    rt = Runtime(g)
    first = rt.run()
    again = rt.run()
    assert again.ran == [] and sorted(again.cached) == sorted(g.nodes)
    np.testing.assert_array_equal(again.outputs["loss"], first.outputs["loss"])
    g.set_param("scc1", "from_logits", True)
    changed = rt.run()
    assert changed.ran == ["scc1", "loss"]
    logits = np.array(Y_PRED)
    expected = -(logits[[0, 1], Y_TRUE] - np.log(np.exp(logits).sum(-1)))
    np.testing.assert_allclose(changed.outputs["loss"], expected, rtol=1e-7)
    assert changed.outputs["mean"] == first.outputs["mean"]


def test_a_new_input_value_reruns_its_consumers_and_an_equal_one_does_not():
    g = doc_graph()
    rt = Runtime(g)
    rt.run()
    res = rt.run(inputs={"y_true": np.array([0, 0])})
    assert sorted(res.ran) == sorted(["y_true", "scc1", "scc2", "loss", "mean"])
    np.testing.assert_allclose(res.outputs["loss"], [-math.log(0.05) + math.log1p(1e-7), -math.log(0.1)],
                               rtol=1e-7)
    same = rt.run(inputs={"y_true": np.array([0, 0])})  # another object, same content
    assert same.ran == []


def test_structural_edits_are_revalidated_and_rerun():
    g = doc_graph()
    rt = Runtime(g)
    rt.run()
    g.disconnect("y_pred", "value", "scc1", "y_pred")
    with pytest.raises(GraphValidationError, match="'scc1', port 'y_pred'"):
        rt.run()
    g.connect("y_pred", "value", "scc1", "y_pred")
    res = rt.run()
    assert res.ran == ["scc1", "loss"]


def test_an_invalid_graph_runs_nothing():
    g = doc_graph()
    g.set_param("y_pred", "type", "float[1]")  # the default no longer fits, and scc1 sees float[1]
    rt = Runtime(g)
    with pytest.raises(GraphValidationError) as info:
        rt.run()
    assert info.value.problems and rt.last_result is None


class Recorder(RunObserver):
    def __init__(self):
        self.events = []

    def run_started(self, to_run):
        self.events.append(("run", tuple(to_run)))

    def node_started(self, node_id):
        self.events.append(("start", node_id))

    def node_finished(self, node_id, seconds):
        assert seconds >= 0
        self.events.append(("done", node_id))

    def node_failed(self, node_id, message, seconds):
        self.events.append(("failed", node_id, message))

    def node_progress(self, node_id, done, total):
        self.events.append(("progress", node_id, done, total))

    def run_finished(self, result):
        self.events.append(("end", result.ok))


def test_observers_hear_each_node_and_batch_progress():
    g = Graph()
    yt = g.add_node("haibal.io.RandomSource", params=dict(distribution="integers", shape="8", high=3, batches=5))
    yp = g.add_node("haibal.io.RandomSource", params=dict(distribution="uniform", shape="8, 3", batches=5))
    m = g.add_node(SCCE)
    g.connect(yt, "value", m, "y_true")
    g.connect(yp, "value", m, "y_pred")
    rec = Recorder()
    Runtime(g).run(observer=rec)
    ev = rec.events
    assert ev[0] == ("run", (yt, yp, m)) and ev[-1] == ("end", True)
    assert [e for e in ev if e[0] in ("start", "done")] == [
        ("start", yt), ("done", yt), ("start", yp), ("done", yp), ("start", m), ("done", m)]
    assert [e[2:] for e in ev if e[0] == "progress" and e[1] == m] == [(i, 5) for i in range(1, 6)]
    # a bare object with only some hooks works too
    class Partial:
        def __init__(self):
            self.seen = []

        def node_finished(self, node_id, seconds):
            self.seen.append(node_id)

    p = Partial()
    Runtime(g).run(observer=p)
    assert p.seen == [yt, yp, m]


def test_a_failing_node_stops_the_run_and_keeps_what_ran():
    g = doc_graph()
    rec = Recorder()
    rt = Runtime(g)
    with pytest.raises(NodeRunError) as info:
        rt.run(inputs={"y_true": np.array([1, 7])}, observer=rec)
    err = info.value
    assert isinstance(err, HaibalError) and isinstance(err, RuntimeError)
    assert err.node_id in ("scc1", "scc2") and err.type_id == SCCE
    msg = str(err)
    assert f"node '{err.node_id}'" in msg and "SparseCategoricalCrossentropy" in msg and "7" in msg
    result = err.result
    assert not result.ok and result.failed == err.node_id and err.node_id in result.errors
    assert {"y_true", "y_pred"} <= set(result.values)  # the values that were computed are kept
    assert rt.last_result is result
    assert ("failed", err.node_id, result.errors[err.node_id]) in rec.events
    assert rec.events[-1] == ("end", False)
    # a good value afterwards runs the failed node again
    ok = rt.run(inputs={"y_true": np.array([1, 2])})
    np.testing.assert_allclose(ok.outputs["loss"], EXPECTED, rtol=1e-7)


def test_plain_python_errors_inside_a_node_are_named_too():
    g = Graph()
    r = g.add_node("haibal.io.RandomSource", params=dict(distribution="uniform", low=2.0, high=1.0))
    g.connect(r, "value", g.add_output("x"), "value")
    with pytest.raises(NodeRunError, match=r"node 'rs1' \(Random Source, RandomSource\) failed: .*high \(1.0\) is below low"):
        Runtime(g).run()


def test_graph_input_values_are_checked_before_running():
    g = doc_graph()
    rt = Runtime(g)
    with pytest.raises(GraphInputError, match="no input 'labels'.*inputs: y_true, y_pred"):
        rt.run(inputs={"labels": [1]})
    with pytest.raises(GraphInputError, match=r"'y_pred' expects float\[2\], got float\[1\] \(shape \(3,\)\)"):
        rt.run(inputs={"y_pred": np.array([0.1, 0.2, 0.7])})
    assert rt.last_result is None
    g2 = Graph()
    g2.add_input("x", type="float[1]")
    g2.connect("x", "value", g2.add_output("y"), "value")
    with pytest.raises(GraphInputError, match="'x' needs a value"):
        Runtime(g2).run()
    np.testing.assert_array_equal(Runtime(g2).run({"x": np.array([1.5])}).outputs["y"], [1.5])


def test_a_sequence_input_takes_an_array_as_batches():
    g = Graph()
    g.add_input("y_true", type="seq<int[1]>")
    g.add_input("y_pred", type="seq<float[2]>")
    m = g.add_node(SCCE)
    g.connect("y_true", "value", m, "y_true")
    g.connect("y_pred", "value", m, "y_pred")
    g.connect(m, "result", g.add_output("mean"), "value")
    yt = np.array([[1, 2], [0, 0]])
    yp = np.array([Y_PRED, [[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]]])
    res = Runtime(g).run({"y_true": yt, "y_pred": yp})
    assert res.instances[m] == "batch" and isinstance(res.values["y_true"]["value"], Batches)
    expected = np.mean([-math.log(0.95), -math.log(0.1), -math.log(0.5), -math.log(0.25)])
    assert math.isclose(res.outputs["mean"], expected, rel_tol=1e-7)


def test_read_file_runs_again_when_the_file_changes(tmp_path):
    path = tmp_path / "labels.npy"
    np.save(path, np.array([1, 2]))
    g = Graph()
    g.base_dir = tmp_path
    r = g.add_node("haibal.io.ReadFile", params={"path": "labels.npy"})
    g.add_input("y_pred", default=np.array(Y_PRED), type="float[2]")
    m = g.add_node(SCCE)
    g.connect(r, "value", m, "y_true")
    g.connect("y_pred", "value", m, "y_pred")
    g.connect(m, "result", g.add_output("loss"), "value")
    rt = Runtime(g)
    np.testing.assert_allclose(rt.run().outputs["loss"], EXPECTED, rtol=1e-7)
    assert rt.run().ran == []
    np.save(path, np.array([0, 0]))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # a visibly newer file
    res = rt.run()
    assert res.ran == [r, m, "loss"]
    np.testing.assert_allclose(res.outputs["loss"], [-math.log(0.05) + math.log1p(1e-7), -math.log(0.1)],
                               rtol=1e-7)


def test_write_file_writes_atomically_and_once(tmp_path):
    g = Graph()
    g.base_dir = tmp_path
    c = g.add_node("haibal.io.Constant", params={"value": [[1.5, 2.0], [3.0, 4.0]]})
    w = g.add_node("haibal.io.WriteFile", params={"path": "out.npy"})
    g.connect(c, "value", w, "value")
    rt = Runtime(g)
    rt.run()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), [[1.5, 2.0], [3.0, 4.0]])
    assert rt.run().ran == []  # nothing changed, the file is not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]  # no temporary file left


def test_random_source_is_seeded_and_typed():
    g = Graph()
    r = g.add_node("haibal.io.RandomSource", params=dict(distribution="integers", shape="4, 5", low=0, high=3,
                                                         seed=3, void_fraction=0.25, void_value=255))
    g.connect(r, "value", g.add_output("x"), "value")
    a = Runtime(g).run().outputs["x"]
    b = Runtime(g).run().outputs["x"]
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 5) and a.dtype == np.int64
    assert set(np.unique(a)) <= {0, 1, 2, 255} and (a == 255).any()
    assert str(g.port_types().outputs[(r, "value")]) == "int[2]"


def test_a_node_class_that_forgets_an_output_is_named_not_its_consumer():
    from haibal_py.node import Instance, Node, Port
    from haibal_py.node.types import ANY

    class Forgetful(Node):  # a plug-in with a bug, not registered in the catalog
        type_id = "test.Forgetful"
        display_name = "Forgetful"
        inputs = ()
        outputs = (Port("value", ANY),)
        instances = (Instance("only", {}, {"value": ANY}, lambda node, values: {"other": 1}),)

    from haibal_py.node.registry import CATALOG
    CATALOG._nodes.setdefault(Forgetful.type_id, Forgetful)
    try:
        g = Graph()
        f = g.add_node("test.Forgetful")
        g.connect(f, "value", g.add_output("y"), "value")
        with pytest.raises(NodeRunError, match=r"node 'f1' \(Forgetful\) failed: .*no value for its output 'value'"):
            Runtime(g).run()
    finally:
        CATALOG._nodes.pop(Forgetful.type_id, None)
