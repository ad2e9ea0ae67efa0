"""Properties of the metrics (hypothesis): ranges, one batch = the function's mean, and any
split of the batches = the concatenated batch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haibal_py import metrics as m

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def classification(draw, min_rows=1):
    """A seeded batch: one-hot labels, integer labels, 0/1 labels, scores, weights, dtype, split points."""
    rows = draw(st.integers(min_rows, 24))
    classes = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, rows)
    scores = rng.random((rows, classes)).astype(dtype)
    if draw(st.booleans()):  # coarse scores: ties and values equal to the thresholds
        scores = (np.round(scores * 4) / 4).astype(dtype)
    binary = rng.integers(0, 2, (rows, classes))
    weights = rng.random(rows) * draw(st.sampled_from([0.0, 1.0, 3.0]))
    cuts = sorted(draw(st.lists(st.integers(0, rows), max_size=3)))
    return dict(labels=labels, onehot=np.eye(classes, dtype=dtype)[labels], scores=scores, binary=binary,
                weights=weights, cuts=cuts, classes=classes)


ACCURACIES = [
    lambda d: m.binary_accuracy(d["binary"], d["scores"]),
    lambda d: m.categorical_accuracy(d["onehot"], d["scores"]),
    lambda d: m.sparse_categorical_accuracy(d["labels"], d["scores"]),
    lambda d: m.top_k_categorical_accuracy(d["onehot"], d["scores"], k=2),
    lambda d: m.sparse_top_k_categorical_accuracy(d["labels"], d["scores"], k=2),
    lambda d: m.accuracy(d["labels"], np.argmax(d["scores"], axis=-1)),
]


@SETTINGS
@given(classification())
def test_accuracies_are_in_unit_interval_and_top_k_dominates(d):
    for fn in ACCURACIES:
        values = fn(d)
        assert np.all((values >= 0) & (values <= 1))
    top1 = m.sparse_top_k_categorical_accuracy(d["labels"], d["scores"], k=1)
    top2 = m.sparse_top_k_categorical_accuracy(d["labels"], d["scores"], k=2)
    assert np.all(top2 >= top1)
    assert np.all(top1 >= m.sparse_categorical_accuracy(d["labels"], d["scores"]))


# (metric factory, how to build its update_state arguments from a batch, function or None)
STREAMS = [
    (m.BinaryAccuracy, lambda d: (d["binary"], d["scores"]), m.binary_accuracy),
    (m.CategoricalAccuracy, lambda d: (d["onehot"], d["scores"]), m.categorical_accuracy),
    (m.SparseCategoricalAccuracy, lambda d: (d["labels"], d["scores"]), m.sparse_categorical_accuracy),
    (lambda: m.TopKCategoricalAccuracy(k=2), lambda d: (d["onehot"], d["scores"]),
     lambda t, p: m.top_k_categorical_accuracy(t, p, k=2)),
    (lambda: m.SparseTopKCategoricalAccuracy(k=2), lambda d: (d["labels"], d["scores"]),
     lambda t, p: m.sparse_top_k_categorical_accuracy(t, p, k=2)),
    (m.PearsonCorrelation, lambda d: (d["onehot"], d["scores"]), m.pearson_correlation),
    (m.ConcordanceCorrelation, lambda d: (d["onehot"], d["scores"]), m.concordance_correlation),
    (m.CosineSimilarity, lambda d: (d["onehot"], d["scores"]), m.cosine_similarity),
    (m.RootMeanSquaredError, lambda d: (d["onehot"], d["scores"]), None),
    (m.R2Score, lambda d: (d["onehot"], d["scores"]), None),
    (m.AUC, lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.AUC(curve="PR", num_thresholds=17), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.AUC(multi_label=True), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.Precision(thresholds=[0.25, 0.5]), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.Recall(top_k=2), lambda d: (d["onehot"], d["scores"]), None),
    (lambda: m.Specificity(class_id=1), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.PrecisionAtRecall(0.5, num_thresholds=11), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.MeanIoU(5), lambda d: (d["labels"], np.argmax(d["scores"], -1)), None),
    (lambda: m.OneHotIoU(5, [0, 1]), lambda d: (np.eye(5)[d["labels"]], np.pad(d["scores"], ((0, 0), (0, 5 - d["classes"])))),
     None),
    (lambda: m.F1Score(average="macro"), lambda d: (d["binary"], d["scores"]), None),
    (lambda: m.FBetaScore(beta=2.0, threshold=0.5), lambda d: (d["binary"], d["scores"]), None),
]


def _split(arrays, cuts):
    edges = [0] + list(cuts) + [len(arrays[0])]
    return [tuple(a[lo:hi] for a in arrays) for lo, hi in zip(edges[:-1], edges[1:])]


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("factory,args,fn", STREAMS, ids=[str(i) for i in range(len(STREAMS))])
@SETTINGS
@given(d=classification(min_rows=2))
def test_any_split_equals_the_concatenation(factory, args, fn, d):
    arrays = args(d)
    whole = factory()
    whole.update_state(*arrays, sample_weight=d["weights"])
    parts = factory()
    for part in _split(arrays + (d["weights"],), d["cuts"]):
        parts.update_state(*part[:-1], sample_weight=part[-1])
    _close(parts.result(), whole.result())


@pytest.mark.parametrize("factory,args,fn", [s for s in STREAMS if s[2] is not None],
                         ids=[str(i) for i, s in enumerate(STREAMS) if s[2] is not None])
@SETTINGS
@given(d=classification())
def test_one_batch_equals_the_function_mean(factory, args, fn, d):
    arrays = args(d)
    metric = factory()
    metric.update_state(*arrays)
    assert metric.result() == pytest.approx(float(np.mean(fn(*arrays).astype(np.float64))), rel=1e-6, abs=1e-7)


@SETTINGS
@given(d=classification())
def test_precision_recall_and_counts_agree(d):
    t, p = d["binary"], d["scores"]
    counts = {c: c() for c in (m.TruePositives, m.FalsePositives, m.TrueNegatives, m.FalseNegatives)}
    for metric in counts.values():
        metric.update_state(t, p)
    tp, fp, tn, fn = (counts[c].result() for c in (m.TruePositives, m.FalsePositives, m.TrueNegatives,
                                                   m.FalseNegatives))
    assert tp + fp + tn + fn == t.size
    assert tp == np.sum((t != 0) & (p > 0.5))
    precision, recall = m.Precision(), m.Recall()
    precision.update_state(t, p)
    recall.update_state(t, p)
    assert precision.result() == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert recall.result() == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
    auc = m.AUC()
    auc.update_state(t, p)
    assert 0.0 <= auc.result() <= 1.0


@SETTINGS
@given(d=classification(), thresholds=st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]),
                                                min_size=1, max_size=7))
def test_counts_at_any_thresholds_match_brute_force(d, thresholds):
    """Both count engines (direct comparisons for few thresholds, binning for many) agree with numpy."""
    t, p, w = d["binary"], d["scores"], d["weights"][:, None]
    th = np.array(thresholds, dtype=p.dtype)
    above = p[None] > th[:, None, None]
    expected = {"tp": (above & (t != 0)), "fp": (above & (t == 0)), "tn": (~above & (t == 0)),
                "fn": (~above & (t != 0))}
    for cls, key in ((m.TruePositives, "tp"), (m.FalsePositives, "fp"), (m.TrueNegatives, "tn"),
                     (m.FalseNegatives, "fn")):
        metric = cls(thresholds=thresholds)
        metric.update_state(t, p, sample_weight=d["weights"])
        want = (expected[key] * w[None]).sum(axis=(1, 2))
        np.testing.assert_allclose(np.atleast_1d(metric.result()), want, rtol=1e-9, atol=1e-9)
