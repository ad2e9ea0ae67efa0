"""Sharded runs merge exactly: for every catalog node whose output is an accumulator's result
(a loss's or metric's batch instance, a class metric), ``run_over`` on random splits of the
data into shard files gives the value of one run over the concatenated data (hypothesis
draws the data, the split and the weights), through real graphs, files and the runtime."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haibal_py.distributed import run_over
from haibal_py.graph import Graph
from haibal_py.node.registry import CATALOG
from haibal_py.runtime import Runtime

C = 4  # classes
IGNORE = 3  # the label ignore_class leaves out


def _probs(rng, shape):
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=-1, keepdims=True)


def _onehot(rng, n):
    return np.eye(C)[rng.integers(0, C, n)]


# data kind -> {graph input: array of n samples}
DATA = {
    "binary": lambda rng, n: {"y_true": (rng.random((n, 3)) > 0.5).astype(float), "y_pred": rng.random((n, 3))},
    "exact": lambda rng, n: {"y_true": rng.integers(0, 3, (n, 3)).astype(float),
                             "y_pred": rng.integers(0, 3, (n, 3)).astype(float)},
    "onehot": lambda rng, n: {"y_true": _onehot(rng, n), "y_pred": _probs(rng, (n, C))},
    "sparse": lambda rng, n: {"y_true": rng.integers(0, C, n), "y_pred": _probs(rng, (n, C))},
    "segment": lambda rng, n: {"y_true": rng.integers(0, C, (n, 5)), "y_pred": _probs(rng, (n, 5, C))},
    "regression": lambda rng, n: {"y_true": rng.standard_normal((n, 3)), "y_pred": rng.standard_normal((n, 3))},
    "positive": lambda rng, n: {"y_true": rng.random((n, 3)) + 0.1, "y_pred": rng.random((n, 3)) + 0.1},
    "hinge": lambda rng, n: {"y_true": rng.choice([-1.0, 1.0], (n, 3)), "y_pred": rng.standard_normal((n, 3))},
    "values": lambda rng, n: {"values": rng.standard_normal((n, 3))},
    "ids": lambda rng, n: {"y_true": rng.integers(0, C, (n, 6)), "y_pred": rng.integers(0, C, (n, 6))},
    "onehot_ids": lambda rng, n: {"y_true": _onehot(rng, n), "y_pred": _probs(rng, (n, C))},
    # label sequences padded with 0 (the blank), logits per time step
    "ctc": lambda rng, n: {"y_true": rng.integers(1, C, (n, 3)) * (rng.random((n, 3)) < 0.8),
                           "y_pred": rng.standard_normal((n, 7, C))},
    "embeddings": lambda rng, n: {"y_true": rng.integers(0, 3, n), "y_pred": rng.standard_normal((n, 5))},
}

L, M = "haibal.losses.", "haibal.metrics."
# (node type, parameters, data kind): every node with a mergeable output
CASES = [
    (L + "BinaryCrossentropy", {"label_smoothing": 0.1}, "binary"),
    (L + "CTC", {}, "ctc"), (L + "CategoricalGeneralizedCrossEntropy", {"q": 0.7}, "sparse"),
    (L + "BinaryFocalCrossentropy", {"apply_class_balancing": True}, "binary"),
    (L + "CategoricalCrossentropy", {}, "onehot"), (L + "CategoricalFocalCrossentropy", {}, "onehot"),
    (L + "CategoricalHinge", {}, "onehot"), (L + "CosineSimilarity", {}, "regression"),
    (L + "Dice", {"per_sample": True}, "binary"), (L + "Tversky", {"per_sample": True, "alpha": 0.3}, "binary"),
    (L + "Hinge", {}, "hinge"), (L + "Huber", {"delta": 0.5}, "regression"), (L + "KLDivergence", {}, "onehot"),
    (L + "LogCosh", {}, "regression"), (L + "MeanAbsoluteError", {}, "regression"),
    (L + "MeanAbsolutePercentageError", {}, "positive"), (L + "MeanSquaredError", {}, "regression"),
    (L + "MeanSquaredLogarithmicError", {}, "positive"), (L + "Poisson", {}, "positive"),
    (L + "SparseCategoricalCrossentropy", {}, "sparse"),
    (L + "SparseCategoricalCrossentropy", {"ignore_class": IGNORE}, "segment"),
    (L + "SquaredHinge", {}, "hinge"),
    (M + "AUC", {}, "binary"), (M + "AUC", {"curve": "PR", "multi_label": True, "num_thresholds": 13}, "binary"),
    (M + "Accuracy", {}, "exact"), (M + "BinaryAccuracy", {"threshold": 0.4}, "binary"),
    (M + "BinaryCrossentropy", {}, "binary"), (M + "BinaryIoU", {"threshold": 0.3}, "binary"),
    (M + "CategoricalAccuracy", {}, "onehot"), (M + "CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    (M + "CategoricalHinge", {}, "onehot"), (M + "ConcordanceCorrelation", {}, "regression"),
    (M + "CosineSimilarity", {}, "regression"), (M + "F1Score", {"average": "macro"}, "binary"),
    (M + "FBetaScore", {"beta": 2.0}, "binary"), (M + "FalseNegatives", {}, "binary"),
    (M + "FalsePositives", {"thresholds": "[0.3, 0.7]"}, "binary"), (M + "Hinge", {}, "hinge"),
    (M + "Huber", {}, "regression"), (M + "IoU", {"num_classes": C, "target_class_ids": "[0, 2]"}, "ids"),
    (M + "KLDivergence", {}, "onehot"), (M + "LogCoshError", {}, "regression"), (M + "Mean", {}, "values"),
    (M + "MeanAbsoluteError", {}, "regression"), (M + "MeanAbsolutePercentageError", {}, "positive"),
    (M + "MeanIoU", {"num_classes": C, "ignore_class": IGNORE}, "ids"),
    (M + "MeanRelativeError", {"normalizer": "[1.0, 2.0, 4.0]"}, "regression"),
    (M + "MeanSquaredError", {}, "regression"), (M + "MeanSquaredLogarithmicError", {}, "positive"),
    (M + "MeanTensor", {}, "values"), (M + "OneHotIoU", {"num_classes": C, "target_class_ids": "[1, 3]"}, "onehot_ids"),
    (M + "OneHotMeanIoU", {"num_classes": C}, "onehot_ids"), (M + "PearsonCorrelation", {}, "regression"),
    (M + "Poisson", {}, "positive"), (M + "Precision", {"top_k": 2}, "binary"),
    (M + "PrecisionAtRecall", {"recall": 0.6}, "binary"), (M + "R2Score", {}, "regression"),
    (M + "Recall", {"class_id": 1}, "binary"), (M + "RecallAtPrecision", {"precision": 0.6}, "binary"),
    (M + "RootMeanSquaredError", {}, "regression"), (M + "SensitivityAtSpecificity", {}, "binary"),
    (M + "SparseCategoricalAccuracy", {}, "sparse"), (M + "SparseCategoricalCrossentropy", {}, "sparse"),
    (M + "SparseCategoricalCrossentropy", {"ignore_class": IGNORE, "from_logits": True}, "segment"),
    (M + "SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"), (M + "Specificity", {}, "binary"),
    (M + "SpecificityAtSensitivity", {"num_thresholds": 21}, "binary"), (M + "SquaredHinge", {}, "hinge"),
    (M + "Sum", {}, "values"), (M + "TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    (M + "TrueNegatives", {}, "binary"), (M + "TruePositives", {"thresholds": "[0.2, 0.6]"}, "binary"),
]
#: nodes whose batch instance is not mergeable: each loss depends on the other samples of its batch
NOT_MERGED = {L + "Circle": "embeddings"}
UNWEIGHTED = {M + "MeanTensor"}  # its weights are per element of the tensor, not per sample
# MeanTensor averages same-shaped tensors: a shard is a sequence of them (one per row), and the
# concatenation of shards is the sequence of all (one array per shard would be one tensor each)
INPUT_TYPES = {M + "MeanTensor": "seq<float[1]>"}


def _graph(type_id: str, params: dict, kind: str, weighted: bool, instance: str = "batch") -> Graph:
    g = Graph("merge")
    node = g.add_node(type_id, "m", params=params, instance=instance)
    for name in DATA[kind](np.random.default_rng(0), 1):
        g.connect(g.add_input(name, type=INPUT_TYPES.get(type_id, "any")), "value", node, name)
    if weighted:
        g.connect(g.add_input("sample_weight"), "value", node, "sample_weight")
    g.connect(node, "result", g.add_output("out"), "value")
    return g


def _same(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-9, atol=1e-12)


def _check_merge(g: Graph, data: dict, cuts: list[int], folder: Path):
    n = len(next(iter(data.values())))
    bounds = [0, *cuts, n]
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        np.savez(folder / f"shard{i:02d}.npz", **{k: v[a:b] for k, v in data.items()})
    res = run_over(g, str(folder / "shard*.npz"), workers=1)
    assert res.ok and res.shards == len(bounds) - 1, res.failures
    whole = Runtime(g).run(data).outputs["out"]
    assert "out" in res.merged, "the output was not merged"
    _same(res.merged["out"], whole)
    return res


def test_every_mergeable_catalog_node_is_covered():
    """Every Losses/Metrics node with a batch instance is in CASES (and reports a state) or in
    NOT_MERGED (and reports none): a new node cannot slip by untested."""
    reported = set()
    for cls in CATALOG:
        if cls.category not in ("Losses", "Metrics") or "batch" not in cls.instance_names():
            continue
        kind = next((k for t, _, k in CASES if t == cls.type_id), NOT_MERGED.get(cls.type_id))
        params = next((p for t, p, _ in CASES if t == cls.type_id), {})
        if kind is None:
            reported.add(cls.type_id)  # not covered: fails below
            continue
        res = Runtime(_graph(cls.type_id, params, kind, False)).run(DATA[kind](np.random.default_rng(1), 4))
        if cls.type_id in NOT_MERGED:
            assert res.output_states == {}, f"{cls.type_id}: a batch-coupled loss must not report a state"
        else:
            assert "out" in res.output_states, f"{cls.type_id}: its batch instance reports no state"
    assert reported == set(), f"nodes with a batch instance missing from CASES: {sorted(reported)}"


@pytest.mark.filterwarnings("ignore:r2_score.*falling back to the plain R2 score")
@pytest.mark.parametrize("case", CASES, ids=[f"{t.split('.')[-1]}-{'-'.join(p) or 'default'}" for t, p, _ in CASES])
@settings(max_examples=6, deadline=None)
@given(n=st.integers(2, 14), data=st.data(), weighted=st.booleans(), seed=st.integers(0, 2 ** 32 - 1))
def test_merged_shards_equal_one_run_over_the_concatenation(case, n, data, weighted, seed):
    type_id, params, kind = case
    weighted = weighted and type_id not in UNWEIGHTED
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), min_size=1, max_size=min(n - 1, 5)), label="cuts"))
    rng = np.random.default_rng(seed)
    arrays = DATA[kind](rng, n)
    if weighted:
        arrays["sample_weight"] = rng.random(n) + 0.25
    with tempfile.TemporaryDirectory() as tmp:
        _check_merge(_graph(type_id, params, kind, weighted), arrays, cuts, Path(tmp))


@settings(max_examples=8, deadline=None)
@given(n=st.integers(2, 10), data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_class_metrics_array_instance_merges_too(n, data, seed):
    """MeanIoU with ignore_class on segmentation maps, fed as one array per shard."""
    cuts = sorted(data.draw(st.sets(st.integers(1, n - 1), min_size=1, max_size=n - 1)))
    rng = np.random.default_rng(seed)
    arrays = {"y_true": rng.integers(0, C, (n, 4, 4)), "y_pred": rng.integers(0, C, (n, 4, 4))}
    g = _graph(M + "MeanIoU", {"num_classes": C, "ignore_class": IGNORE}, "ids", False, instance="array")
    with tempfile.TemporaryDirectory() as tmp:
        _check_merge(g, arrays, cuts, Path(tmp))


@settings(max_examples=8, deadline=None)
@given(batches=st.integers(2, 8), data=st.data(), seed=st.integers(0, 2 ** 32 - 1))
def test_streaming_metric_over_sequences_of_batches(batches, data, seed):
    """Shards holding sequences of batches (a seq<...> graph input: one batch per row) merge to
    the stream of every batch of every shard (the streaming SCCE of examples/stream.json)."""
    cuts = sorted(data.draw(st.sets(st.integers(1, batches - 1), min_size=1, max_size=batches - 1)))
    rng = np.random.default_rng(seed)
    arrays = {"y_true": rng.integers(0, C, (batches, 6)), "y_pred": rng.standard_normal((batches, 6, C))}
    g = Graph("stream")
    node = g.add_node(M + "SparseCategoricalCrossentropy", params={"from_logits": True})
    g.connect(g.add_input("y_true", type="seq<int[1]>"), "value", node, "y_true")
    g.connect(g.add_input("y_pred", type="seq<float[2]>"), "value", node, "y_pred")
    g.connect(node, "result", g.add_output("out"), "value")
    with tempfile.TemporaryDirectory() as tmp:
        _check_merge(g, arrays, cuts, Path(tmp))


@pytest.mark.parametrize("type_id, params, kind", [(L + "Dice", {"per_sample": False}, "binary"),
                                                   (L + "Circle", {}, "embeddings")], ids=["Dice", "Circle"])
def test_a_loss_of_the_whole_batch_is_per_shard_not_merged(tmp_path, type_id, params, kind):
    """Dice without per_sample is one value of the whole batch, Circle compares each sample with
    the others of its batch: the mean of the shards' values is not the value of the
    concatenation, so it is reported per shard, never merged wrongly."""
    rng = np.random.default_rng(3)
    arrays = DATA[kind](rng, 8)
    g = _graph(type_id, params, kind, False)
    for i, (a, b) in enumerate([(0, 3), (3, 8)]):
        np.savez(tmp_path / f"s{i}.npz", **{k: v[a:b] for k, v in arrays.items()})
    res = run_over(g, str(tmp_path / "s*.npz"), workers=1, output=tmp_path / "t.npz")
    assert res.merged == {} and res.rows[0].per_shard == ["out"]
    with np.load(tmp_path / "t.npz") as z:
        for i, (a, b) in enumerate([(0, 3), (3, 8)]):
            one = Runtime(g).run({k: v[a:b] for k, v in arrays.items()}).outputs["out"]
            key = next(k for k in z.files if k.endswith(f"out/{(tmp_path / f's{i}').as_posix().lstrip('/')}"))
            _same(z[key], one)
