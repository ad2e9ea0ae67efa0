"""Mergeable states in the node model and the runtime: a node reports the accumulator behind an
output (``RunContext.mergeable``); the runtime keeps it with the node's outputs, carries it
through graph outputs, viewers (``Instance.passes``) and composite nodes, and drops it when
the node runs again or stops being an accumulator."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from haibal_py import metrics
from haibal_py.errors import HaibalValueError
from haibal_py.graph import Graph
from haibal_py.node.registry import CATALOG
from haibal_py.runtime import Runtime
from haibal_py.subgraphs import collapse

SCCE_LOSS = "haibal.losses.SparseCategoricalCrossentropy"
MEAN_IOU = "haibal.metrics.MeanIoU"
LABELS = np.array([[0, 1, 3], [2, 3, 1]])
LOGITS = np.random.default_rng(0).standard_normal((2, 3, 4))


def loss_graph(instance: str = "batch", through: str | None = None) -> tuple[Graph, str, str | None]:
    """labels, logits -> SCCE loss [-> ``through`` node] -> output "out"; (graph, loss id, through id)."""
    g = Graph("states")
    yt = g.add_input("labels", default=LABELS, type="int[2]")
    yp = g.add_input("logits", default=LOGITS, type="float[3]")
    n = g.add_node(SCCE_LOSS, "loss", params={"from_logits": True, "ignore_class": 3}, instance=instance)
    g.connect(yt, "value", n, "y_true")
    g.connect(yp, "value", n, "y_pred")
    last, port, mid = n, "result", None
    if through is not None:
        mid = g.add_node(through, "shown")
        cls = g.nodes[mid].cls
        g.connect(n, "result", mid, cls.inputs[0].name)
        last, port = mid, cls.outputs[0].name
    g.connect(last, port, g.add_output("out"), "value")
    return g, n, mid


def test_a_batch_instance_reports_its_accumulator_and_the_output_carries_it():
    g, n, _ = loss_graph()
    res = Runtime(g).run()
    state = res.states[n]["result"]
    assert res.output_states["out"] is state
    assert state.result() == res.outputs["out"]  # the value is the state's result
    assert state.count == 4  # the two 'void' (3) positions do not count
    assert pickle.loads(pickle.dumps(state)).result() == state.result()  # it travels to a client


def test_an_array_instance_value_is_per_sample_and_reports_no_state():
    g, n, _ = loss_graph(instance="array")
    res = Runtime(g).run()
    assert res.states == {} and res.output_states == {}
    assert res.outputs["out"].shape == (2, 3)


def test_a_viewer_passes_the_state_on_and_another_node_does_not():
    g, n, shown = loss_graph(through="haibal.viewers.ValueDisplay")
    res = Runtime(g).run()
    assert res.output_states["out"] is res.states[shown]["value"] is res.states[n]["result"]
    g2, _, relu = loss_graph(through="haibal.activations.ReLU")  # a function of the value: not the metric
    res2 = Runtime(g2).run()
    assert "out" not in res2.output_states and relu not in res2.states


def test_states_are_cached_with_the_outputs_and_replaced_when_the_node_runs_again():
    g, n, _ = loss_graph()
    rt = Runtime(g)
    first = rt.run().states[n]["result"]
    again = rt.run()
    assert again.ran == [] and again.states[n]["result"] is first  # cached: the same state
    g.set_param(n, "ignore_class", None)
    third = rt.run()
    assert third.states[n]["result"] is not first and third.states[n]["result"].count == 6
    g.set_instance(n, "array")
    assert rt.run().output_states == {}  # no longer an accumulator: its old state is gone


def test_a_failed_run_keeps_no_state_of_the_failed_node():
    g, n, _ = loss_graph()
    rt = Runtime(g)
    rt.run()
    with pytest.raises(Exception):
        rt.run({"labels": np.array([[0, 1, 9], [2, 3, 1]])})  # class 9 is out of range
    assert n not in rt.last_result.states


def test_a_composite_node_forwards_the_state_of_its_inner_output():
    g, n, _ = loss_graph()
    sub = collapse(g, [n], "Loss")
    res = Runtime(g).run()
    state = res.output_states["out"]
    port = g.incoming("out")[0].src_port  # the composite's output that feeds "out"
    assert g.incoming("out")[0].src == sub and res.states[sub] == {port: state}
    assert state.result() == res.outputs["out"]


def test_a_direct_call_computes_without_keeping_anything():
    node = CATALOG.get(MEAN_IOU)("m", num_classes=4)
    out = node(y_true=LABELS, y_pred=LABELS)
    assert out["result"] == pytest.approx(1.0)


def test_class_metric_instances_report_states_that_merge():
    g = Graph("iou")
    n = g.add_node(MEAN_IOU, params={"num_classes": 4, "ignore_class": 3}, instance="array")
    g.connect(g.add_input("a", default=LABELS, type="int[2]"), "value", n, "y_true")
    g.connect(g.add_input("b", default=np.array([[0, 2, 3], [2, 1, 1]]), type="int[2]"), "value", n, "y_pred")
    g.connect(n, "result", g.add_output("miou"), "value")
    res = Runtime(g).run()
    state = copy.deepcopy(res.output_states["miou"])
    state.merge_state([res.output_states["miou"]])  # the same data twice: the same mean IoU
    assert state.result() == pytest.approx(res.outputs["miou"])


def test_loss_streams_merge_only_with_streams_of_the_same_loss_and_parameters():
    g, n, _ = loss_graph()
    a = Runtime(g).run().states[n]["result"]
    g.set_param(n, "from_logits", False)
    b = Runtime(g).run({"logits": np.full((2, 3, 4), 0.25)}).states[n]["result"]
    with pytest.raises(HaibalValueError, match="cannot merge"):
        copy.deepcopy(a).merge_state([b])
    with pytest.raises(HaibalValueError, match="cannot merge"):
        copy.deepcopy(a).merge_state([metrics.Mean()])
    merged = copy.deepcopy(a)
    merged.merge_state(a)
    assert merged.total == 2 * a.total and merged.count == 2 * a.count


def test_fresh_inputs_count_as_changed_without_a_fingerprint():
    """``run(fresh=...)``: a sharded run's new data is not hashed; the next ordinary run with the
    same values compares fingerprints again (one changed input makes its nodes run)."""
    g, n, _ = loss_graph()
    rt = Runtime(g)
    rt.run()
    labels = LABELS.copy()
    res = rt.run({"labels": labels}, fresh={"labels"})
    assert n in res.ran
    assert n in rt.run({"labels": labels}).ran  # no fingerprint kept: counted as changed once more
    assert rt.run({"labels": labels}).ran == []  # now fingerprinted: unchanged
    labels[0, 0] = 1  # changed in place: the fingerprint sees it
    assert n in rt.run({"labels": labels}).ran
