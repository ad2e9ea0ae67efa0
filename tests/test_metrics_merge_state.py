"""``Metric.merge_state``: merging the states of metrics fed shards of the data gives the result
of one metric fed all of it, for every stateful metric class (hypothesis draws the data, the
batches and the shards); metrics of other classes or configurations are refused."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haibal_py import HaibalValueError, metrics as m

C = 4  # classes
IGNORE = 3  # a label left out by the ignore_class cases


def _probs(rng, n, c=C):
    p = rng.random((n, c)) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def _onehot(rng, n, c=C):
    return np.eye(c)[rng.integers(0, c, n)]


# data kind -> rows of (y_true, y_pred) (or values), drawn from a seeded generator
DATA = {
    "binary": lambda rng, n: ((rng.random((n, 3)) > 0.5).astype(float), rng.random((n, 3))),
    "binary1d": lambda rng, n: ((rng.random(n) > 0.5).astype(float), rng.random(n)),
    "exact": lambda rng, n: (rng.integers(0, 3, (n, 3)).astype(float), rng.integers(0, 3, (n, 3)).astype(float)),
    "onehot": lambda rng, n: (_onehot(rng, n), _probs(rng, n)),
    "sparse": lambda rng, n: (rng.integers(0, C, n), _probs(rng, n)),
    "segment": lambda rng, n: (rng.integers(0, C, (n, 5)), _probs(rng, n * 5).reshape(n, 5, C)),
    "sorted_ids": lambda rng, n: (rng.integers(0, C, n), np.argsort(-rng.random((n, C)), axis=1)),
    "regression": lambda rng, n: (rng.standard_normal((n, 3)), rng.standard_normal((n, 3))),
    "positive": lambda rng, n: (rng.random((n, 3)) + 0.1, rng.random((n, 3)) + 0.1),
    "hinge": lambda rng, n: (rng.choice([-1.0, 1.0], (n, 3)), rng.standard_normal((n, 3))),
    "values": lambda rng, n: (rng.standard_normal((n, 3)),),
    "ids": lambda rng, n: (rng.integers(-1, C + 1, (n, 2)), rng.integers(-1, C + 1, (n, 2))),  # some out of range
    "onehot_ids": lambda rng, n: (_onehot(rng, n), _probs(rng, n)),
}

# (class, constructor arguments, data kind): every stateful metric class of haibal_py.metrics
CASES = [
    (m.Accuracy, {}, "exact"), (m.BinaryAccuracy, {"threshold": 0.4}, "binary"),
    (m.CategoricalAccuracy, {}, "onehot"), (m.SparseCategoricalAccuracy, {}, "sparse"),
    (m.TopKCategoricalAccuracy, {"k": 2}, "onehot"), (m.SparseTopKCategoricalAccuracy, {"k": 2}, "sparse"),
    (m.SparseTopKCategoricalAccuracy, {"k": 2, "from_sorted_ids": True}, "sorted_ids"),
    (m.PearsonCorrelation, {}, "regression"), (m.ConcordanceCorrelation, {}, "regression"),
    (m.SparseCategoricalCrossentropy, {}, "sparse"),
    (m.SparseCategoricalCrossentropy, {"ignore_class": IGNORE}, "segment"),
    (m.MeanSquaredError, {}, "regression"), (m.MeanAbsoluteError, {}, "regression"),
    (m.MeanAbsolutePercentageError, {}, "positive"), (m.MeanSquaredLogarithmicError, {}, "positive"),
    (m.CosineSimilarity, {}, "regression"), (m.LogCoshError, {}, "regression"), (m.Hinge, {}, "hinge"),
    (m.SquaredHinge, {}, "hinge"), (m.CategoricalHinge, {}, "onehot"), (m.KLDivergence, {}, "onehot"),
    (m.Poisson, {}, "positive"), (m.BinaryCrossentropy, {"label_smoothing": 0.1}, "binary"),
    (m.CategoricalCrossentropy, {}, "onehot"), (m.Huber, {"delta": 0.5}, "regression"),
    (m.Mean, {}, "values"), (m.Sum, {}, "values"), (m.MeanTensor, {}, "values"),
    (m.RootMeanSquaredError, {}, "regression"), (m.MeanRelativeError, {"normalizer": [1.0, 2.0, 4.0]}, "regression"),
    (m.R2Score, {}, "regression"), (m.R2Score, {"class_aggregation": None, "num_regressors": 1}, "regression"),
    (m.AUC, {}, "binary"), (m.AUC, {"curve": "PR", "num_thresholds": 13}, "binary"),
    (m.AUC, {"curve": "PRGAIN", "summation_method": "majoring"}, "binary"),
    (m.AUC, {"multi_label": True}, "binary"), (m.AUC, {"multi_label": True, "num_labels": 3}, "binary"),
    (m.AUC, {"thresholds": [0.2, 0.5, 0.9], "label_weights": [1.0, 2.0, 0.5]}, "binary"),
    (m.Precision, {}, "binary"), (m.Precision, {"thresholds": [0.3, 0.7]}, "binary"),
    (m.Precision, {"top_k": 2}, "binary"), (m.Recall, {"class_id": 1}, "binary"), (m.Specificity, {}, "binary"),
    (m.TruePositives, {"thresholds": [0.2, 0.6]}, "binary1d"), (m.FalsePositives, {}, "binary"),
    (m.TrueNegatives, {}, "binary"), (m.FalseNegatives, {}, "binary"),
    (m.SensitivityAtSpecificity, {"specificity": 0.5}, "binary"),
    (m.SpecificityAtSensitivity, {"sensitivity": 0.5, "num_thresholds": 21}, "binary"),
    (m.PrecisionAtRecall, {"recall": 0.6}, "binary"), (m.RecallAtPrecision, {"precision": 0.6}, "binary"),
    (m.IoU, {"num_classes": C, "target_class_ids": [0, 2]}, "ids"),
    (m.MeanIoU, {"num_classes": C, "ignore_class": IGNORE}, "ids"),
    (m.BinaryIoU, {"threshold": 0.3}, "binary"),
    (m.OneHotIoU, {"num_classes": C, "target_class_ids": [1, 3]}, "onehot_ids"),
    (m.OneHotMeanIoU, {"num_classes": C}, "onehot_ids"),
    (m.F1Score, {}, "binary"), (m.F1Score, {"average": "micro", "threshold": 0.5}, "binary"),
    (m.FBetaScore, {"beta": 2.0, "average": "weighted"}, "binary"), (m.FBetaScore, {"average": "macro"}, "binary"),
]


def _ids(case) -> str:
    cls, kwargs, _ = case
    return cls.__name__ + "".join(f"-{k}" for k in kwargs)


def test_every_stateful_metric_class_is_covered():
    stateful = {getattr(m, n) for n in m.__all__ if isinstance(getattr(m, n), type)
                and issubclass(getattr(m, n), m.Metric) and getattr(m, n).state_names}
    assert stateful - {c for c, _, _ in CASES} == {m.MeanMetricWrapper}  # the base of the mean metrics


@st.composite
def _feeds(draw):
    """Batches (lists of rows) and a split of them into shards, with or without sample weights."""
    sizes = draw(st.lists(st.integers(1, 5), min_size=2, max_size=6))
    cuts = sorted(draw(st.sets(st.integers(1, len(sizes) - 1), min_size=1, max_size=len(sizes) - 1)))
    return sizes, cuts, draw(st.booleans()), draw(st.integers(0, 2 ** 32 - 1))


def _batches(kind, sizes, weighted, seed):
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        parts = DATA[kind](rng, n)
        weight = rng.random(n) + 0.25 if weighted else None
        out.append((parts, weight))
    return out


def _feed(metric, batches, mean_tensor: bool):
    for parts, weight in batches:
        if mean_tensor:  # MeanTensor averages same-shaped tensors: each row is one update
            for i in range(len(parts[0])):
                metric.update_state(parts[0][i], sample_weight=None if weight is None else weight[i])
        else:
            metric.update_state(*parts, sample_weight=weight)


def _same(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("ignore:r2_score.*falling back to the plain R2 score")
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@settings(max_examples=12, deadline=None)
@given(feeds=_feeds())
def test_merged_shards_give_the_result_of_all_the_data(case, feeds):
    cls, kwargs, kind = case
    sizes, cuts, weighted, seed = feeds
    batches = _batches(kind, sizes, weighted, seed)
    mean_tensor = cls is m.MeanTensor
    whole = cls(**kwargs)
    _feed(whole, batches, mean_tensor)
    bounds = [0, *cuts, len(batches)]
    shards = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        shard = cls(**kwargs)
        _feed(shard, batches[a:b], mean_tensor)
        shards.append(shard)
    merged = copy.deepcopy(shards[0])
    merged.merge_state(shards[1:])
    _same(merged.result(), whole.result())
    for mine, theirs in zip(merged.variables, whole.variables):
        _same(mine, theirs)
    fresh = cls(**kwargs)  # a metric never updated takes the merged states as they are
    fresh.merge_state(shards)
    _same(fresh.result(), whole.result())
    shards[-1].merge_state([cls(**kwargs)])  # merging a never-updated metric adds nothing
    single = cls(**kwargs)
    _feed(single, batches[bounds[-2]:], mean_tensor)
    _same(shards[-1].result(), single.result())


def test_merging_refuses_other_classes_and_configurations():
    with pytest.raises(HaibalValueError, match="cannot merge the state of a Recall into a Precision"):
        m.Precision().merge_state([m.Recall()])
    with pytest.raises(HaibalValueError, match="num_thresholds=200 vs 50"):
        m.AUC().merge_state([m.AUC(num_thresholds=50)])
    with pytest.raises(HaibalValueError, match="ignore_class=None vs 3"):
        m.MeanIoU(4).merge_state([m.MeanIoU(4, ignore_class=3)])
    with pytest.raises(HaibalValueError, match="threshold"):
        m.BinaryAccuracy().merge_state([m.BinaryAccuracy(threshold=0.7)])
    m.MeanSquaredError(name="a").merge_state([m.MeanSquaredError(name="b")])  # the name does not matter


def test_merging_states_of_different_shapes_is_refused():
    a, b = m.F1Score(), m.F1Score()
    a.update_state([[1, 0, 1]], [[0.9, 0.1, 0.8]])
    b.update_state([[1, 0]], [[0.9, 0.1]])
    with pytest.raises(HaibalValueError, match=r"shape \(2,\) into one of shape \(3,\)"):
        a.merge_state([b])
    t1, t2 = m.MeanTensor(), m.MeanTensor()
    t1.update_state([1.0, 2.0])
    t2.update_state([1.0, 2.0, 3.0])
    with pytest.raises(HaibalValueError, match="shape"):
        t1.merge_state([t2])


def test_merge_state_takes_one_metric_too():
    a, b = m.Mean(), m.Mean()
    a.update_state([1.0, 2.0])
    b.update_state([6.0])
    a.merge_state(b)
    assert a.result() == pytest.approx(3.0)
    assert float(a.total) == 9.0 and float(a.count) == 3.0
