"""Metric nodes: every palette metric is a node, runs headlessly, picks the right instance."""

from __future__ import annotations

import numpy as np
import pytest

import haibal_py.nodes  # noqa: F401  (registers the catalog)
from haibal_py import CATALOG, Batches, metrics
from haibal_py.errors import HaibalValueError, ParameterError, PortTypeError
from haibal_py.node.types import PortType


def node(name, **params):
    return CATALOG.get(f"haibal.metrics.{name}")(**params)


def test_every_palette_metric_is_a_node_in_the_metrics_category():
    for name in metrics.HAIBAL_PALETTE + ("PearsonCorrelation", "ConcordanceCorrelation", "AUC", "R2Score",
                                          "F1Score", "FBetaScore"):
        cls = CATALOG.get(f"haibal.metrics.{name}")
        assert cls.category == "Metrics" and cls.display_name == name
        text = cls.help_text()
        assert "Input parameters" in text and "Output parameters" in text and "Use cases" in text


def test_mean_metric_node_instances():
    n = node("BinaryAccuracy", threshold=0.5)
    y_true, y_pred = [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]
    np.testing.assert_array_equal(n(y_true=y_true, y_pred=y_pred)["result"], [1, 1, 1, 0])
    assert n.select({"y_true": PortType.of("float", 2), "y_pred": PortType.of("float", 2)}).instance.name == "array"
    assert n(y_true=[1.0, 0.0], y_pred=[0.7, 0.6])["result"] == 0.5  # scalar instance: one sample
    batches = n(y_true=Batches([y_true[:1], y_true[1:]]), y_pred=Batches([y_pred[:1], y_pred[1:]]))
    assert batches["result"] == pytest.approx(0.75)
    weighted = n(y_true=Batches([y_true]), y_pred=Batches([y_pred]), sample_weight=Batches([[1, 0, 0, 1]]))
    assert weighted["result"] == pytest.approx(0.5)


def test_sparse_top_k_node_takes_integer_labels():
    n = node("SparseTopKCategoricalAccuracy", k=1)
    out = n(y_true=Batches([[2], [1]]), y_pred=Batches([[[0.1, 0.9, 0.8]], [[0.05, 0.95, 0]]]))
    assert out["result"] == pytest.approx(0.5)


@pytest.mark.parametrize("name,params,y_true,y_pred,expected", [
    ("AUC", {"num_thresholds": 3}, [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75),
    ("Precision", {}, [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    ("Recall", {}, [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    ("Specificity", {}, [0, 0, 1, 1], [0.9, 0.1, 0.8, 0.2], 0.5),
    ("TruePositives", {}, [0, 1, 1, 1], [1, 0, 1, 1], 2.0),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.5),
    ("MeanIoU", {"num_classes": 2}, [0, 0, 1, 1], [0, 1, 0, 1], 1 / 3),
    ("IoU", {"num_classes": 2, "target_class_ids": "[0]"}, [0, 0, 1, 1], [0, 1, 0, 1], 1 / 3),
    ("BinaryIoU", {"threshold": 0.3}, [0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], 1 / 3),
    ("RootMeanSquaredError", {}, [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.5),
    ("R2Score", {}, [[1], [4], [3]], [[2], [4], [4]], 1 - 2 / (26 - 64 / 3)),
    ("F1Score", {"average": "macro", "threshold": 0.5}, [[1, 1, 1], [1, 0, 0], [1, 1, 0]],
     [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], (0.5 + 0.8 + 2 / 3) / 3),
])
def test_class_metric_nodes_array_and_batch(name, params, y_true, y_pred, expected):
    n = node(name, **params)
    assert n(y_true=y_true, y_pred=y_pred)["result"] == pytest.approx(expected, rel=1e-6)
    half = len(y_true) // 2
    trues, preds = Batches([y_true[:half], y_true[half:]]), Batches([y_pred[:half], y_pred[half:]])
    out = n(y_true=trues, y_pred=preds)
    assert out["result"] == pytest.approx(expected, rel=1e-6)
    assert n.select({"y_true": PortType.of_value(trues),
                     "y_pred": PortType.of_value(preds)}).instance.name == "batch"


def test_values_nodes_mean_sum_mean_tensor():
    assert node("Mean")(values=[1, 3, 5, 7], sample_weight=[1, 1, 0, 0])["result"] == 2.0
    assert node("Sum")(values=Batches([[1, 3], [5, 7]]))["result"] == 16.0
    np.testing.assert_allclose(node("MeanTensor")(values=Batches([[0, 1], [4, 5]]))["result"], [2, 3])


def test_threshold_lists_give_one_value_per_threshold():
    out = node("Precision", thresholds="[0.3, 0.95]")(y_true=[0, 1, 1, 1], y_pred=[1, 0, 0.5, 0.9])["result"]
    np.testing.assert_allclose(out, [2 / 3, 0.0])
    out = node("FalsePositives", thresholds=0.95)(y_true=[0, 0], y_pred=[0.97, 0.9])["result"]
    assert out == 1.0


def test_node_errors_name_the_node():
    with pytest.raises(HaibalValueError, match="AUC"):
        node("AUC")(y_true=[0, 1, 1], y_pred=[0.1, 0.2])
    with pytest.raises(HaibalValueError, match="different numbers of batches"):
        node("Precision")(y_true=Batches([[0], [1]]), y_pred=Batches([[0.3]]))
    with pytest.raises(ParameterError):
        node("AUC", curve="XYZ")
    with pytest.raises(PortTypeError):
        node("BinaryAccuracy")(y_true="abc", y_pred=[0.5])
    with pytest.raises(HaibalValueError, match="target class id"):
        node("IoU", num_classes=2, target_class_ids="[3]")(y_true=[0], y_pred=[0])


def test_metric_nodes_in_a_saved_graph_run_headlessly(tmp_path):
    """AUC with explicit thresholds and Precision at two thresholds survive save/load and run."""
    from haibal_py.graph import Graph
    from haibal_py.runtime import Runtime

    g = Graph("metrics")
    g.add_input("y_true", default=np.array([0, 0, 1, 1]), type="int[1]")
    g.add_input("y_pred", default=np.array([0.0, 0.5, 0.3, 0.9]), type="float[1]")
    auc = g.add_node("haibal.metrics.AUC", "auc", params={"thresholds": "[0.5]"})
    prec = g.add_node("haibal.metrics.Precision", "precision", params={"thresholds": [0.2, 0.6]})
    acc = g.add_node("haibal.metrics.BinaryAccuracy", "accuracy", params={"threshold": 0.4})
    for n in (auc, prec, acc):
        g.connect("y_true", "value", n, "y_true")
        g.connect("y_pred", "value", n, "y_pred")
        g.connect(n, "result", g.add_output(f"out_{n}"), "value")
    path = tmp_path / "metrics.haibal.json"
    g.save(path)
    res = Runtime(Graph.load(path)).run()
    assert res.ok
    outs = {k.removeprefix("out_"): v for k, v in res.outputs.items()}
    assert outs[auc] == pytest.approx(0.75)
    np.testing.assert_allclose(outs[prec], [2 / 3, 1.0])
    assert outs[acc] == pytest.approx(0.5)  # 1-D: one sample, hits [1, 0, 0, 1] averaged
