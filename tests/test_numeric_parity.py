"""Keras 3 parity items of the numeric core: argument checks, behaviour Keras 3 changed, the new
functions checked from their definitions, and the registries (get / serialize / deserialize)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from haibal_py import HaibalValueError, activations as a, losses as L, metrics as m

# -- argument checks: one checker for from_logits, ignore_class and sample_weight ---------------

LABELS, PROBS = np.array([0, 2, 1]), np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])


@pytest.mark.parametrize("bad", ["a", 1.5, "1", [1], True])
def test_ignore_class_must_be_an_integer_or_none(bad):
    for call in (lambda: L.sparse_categorical_crossentropy(LABELS, PROBS, ignore_class=bad),
                 lambda: L.SparseCategoricalCrossentropy(ignore_class=bad),
                 lambda: m.SparseCategoricalCrossentropy(ignore_class=bad),
                 lambda: m.MeanIoU(3, ignore_class=bad),
                 lambda: m.IoU(3, [0], ignore_class=bad)):
        with pytest.raises(HaibalValueError, match=r"ignore_class must be an integer class id or None, got"):
            call()


def test_ignore_class_takes_numpy_integers():
    loss = L.sparse_categorical_crossentropy(LABELS, PROBS, ignore_class=np.int64(2))
    assert loss[1] == 0.0 and loss[0] > 0
    assert L.SparseCategoricalCrossentropy(ignore_class=np.int8(2)).get_config()["ignore_class"] == 2


@pytest.mark.parametrize("bad", ["no", "False", 0, 1, None, 0.0])
def test_from_logits_must_be_a_bool(bad):
    onehot = np.eye(3)[LABELS]
    calls = [lambda: L.sparse_categorical_crossentropy(LABELS, PROBS, from_logits=bad),
             lambda: L.binary_crossentropy(onehot, PROBS, from_logits=bad),
             lambda: L.binary_focal_crossentropy(onehot, PROBS, from_logits=bad),
             lambda: L.categorical_crossentropy(onehot, PROBS, from_logits=bad),
             lambda: L.categorical_focal_crossentropy(onehot, PROBS, from_logits=bad),
             lambda: L.BinaryCrossentropy(from_logits=bad), lambda: L.CategoricalCrossentropy(from_logits=bad),
             lambda: L.SparseCategoricalCrossentropy(from_logits=bad),
             lambda: m.BinaryCrossentropy(from_logits=bad), lambda: m.CategoricalCrossentropy(from_logits=bad),
             lambda: m.SparseCategoricalCrossentropy(from_logits=bad), lambda: m.AUC(from_logits=bad)]
    for call in calls:
        with pytest.raises(HaibalValueError, match=r"from_logits must be a bool \(True or False\), got"):
            call()


def test_from_logits_takes_numpy_bools():
    z = np.log(PROBS)
    np.testing.assert_allclose(L.sparse_categorical_crossentropy(LABELS, z, from_logits=np.bool_(True)),
                               L.sparse_categorical_crossentropy(LABELS, PROBS), rtol=1e-6)
    assert L.BinaryCrossentropy(from_logits=np.True_).from_logits is True


@pytest.mark.parametrize("bad", [["a", "b", "c"], "w", [None, 1, 2]])
def test_sample_weight_must_be_numeric(bad):
    y = np.eye(3)[LABELS]
    calls = [lambda: L.MeanSquaredError()(y, PROBS, sample_weight=bad),
             lambda: L.SparseCategoricalCrossentropy()(LABELS, PROBS, sample_weight=bad),
             lambda: m.MeanSquaredError().update_state(y, PROBS, sample_weight=bad),
             lambda: m.Mean().update_state([1.0, 2.0, 3.0], sample_weight=bad),
             lambda: m.Sum().update_state([1.0, 2.0, 3.0], sample_weight=bad),
             lambda: m.AUC().update_state(y, PROBS, sample_weight=bad),
             lambda: m.MeanIoU(3).update_state(LABELS, LABELS, sample_weight=bad),
             lambda: m.F1Score().update_state(y, PROBS, sample_weight=bad),
             lambda: m.R2Score().update_state(y, PROBS, sample_weight=bad)]
    for call in calls:
        with pytest.raises(HaibalValueError, match=r"sample_weight must be numeric, got"):
            call()


def test_other_flags_must_be_bools():
    with pytest.raises(HaibalValueError, match="multi_label must be a bool"):
        m.AUC(multi_label="yes")
    with pytest.raises(HaibalValueError, match="sparse_y_true must be a bool"):
        m.MeanIoU(3, sparse_y_true=1)
    with pytest.raises(HaibalValueError, match="apply_class_balancing must be a bool"):
        L.BinaryFocalCrossentropy(apply_class_balancing="no")
    with pytest.raises(HaibalValueError, match="from_sorted_ids must be a bool"):
        m.SparseTopKCategoricalAccuracy(from_sorted_ids="no")
    with pytest.raises(HaibalValueError, match="remove_diagonal must be a bool"):
        L.Circle(remove_diagonal=0)


# -- inputs Keras refuses ------------------------------------------------------------------------

def test_class_id_needs_a_class_axis():
    for cls in (m.Precision, m.Recall, m.Specificity):
        with pytest.raises(HaibalValueError, match=r"class_id=1 needs y_pred with a class axis"):
            cls(class_id=1).update_state([0, 1, 1], [0.2, 0.8, 0.6])
    with pytest.raises(HaibalValueError, match="class_id must be an integer"):
        m.Precision(class_id=1.0)


def test_fbeta_takes_float_beta_and_threshold_only():
    with pytest.raises(HaibalValueError, match="beta must be a float"):
        m.FBetaScore(beta=2)
    with pytest.raises(HaibalValueError, match="threshold must be a float"):
        m.FBetaScore(threshold=1)
    with pytest.raises(HaibalValueError, match="threshold must be a float"):
        m.F1Score(threshold=True)
    assert m.FBetaScore(beta=np.float64(2.0), threshold=0.5).beta == 2.0


# -- behaviour Keras 3 changed ---------------------------------------------------------------------

def test_accuracies_are_element_wise_and_take_element_wise_weights():
    y_true = np.array([[1, 0, 1], [0, 0, 1]])
    y_pred = np.array([[0.7, 0.6, 0.2], [0.1, 0.9, 0.8]])
    hits = np.array([[1, 0, 0], [1, 0, 1]], float)
    np.testing.assert_array_equal(m.binary_accuracy(y_true, y_pred), hits)
    weights = np.array([[1.0, 2.0, 1.0], [0.0, 1.0, 3.0]])
    metric = m.BinaryAccuracy()
    metric.update_state(y_true, y_pred, sample_weight=weights)
    # Keras' MeanMetricWrapper: per sample mean(hits * w) / mean(w), summed over samples / sum of mean(w)
    per_sample = (hits * weights).mean(axis=1)
    assert metric.result() == pytest.approx(per_sample.sum() / weights.mean(axis=1).sum())
    acc = m.Accuracy()
    acc.update_state([[1, 2], [3, 4]], [[1, 0], [3, 4]], sample_weight=[[1.0, 3.0], [1.0, 1.0]])
    assert acc.result() == pytest.approx((0.5 + 1.0) / (2.0 + 1.0))


def test_sparse_categorical_accuracy_matches_labels_by_position():
    labels = np.array([[0], [2]])
    pred = np.array([[[0.9, 0.1, 0.0], [0.1, 0.2, 0.7]]])
    np.testing.assert_array_equal(m.sparse_categorical_accuracy(labels, pred), [1.0, 1.0])
    metric = m.SparseCategoricalAccuracy()
    metric.update_state(labels, pred)
    assert metric.result() == 1.0
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy(labels, pred, k=1), [1.0, 1.0])
    with pytest.raises(HaibalValueError, match="must be y_pred shape"):
        m.sparse_categorical_accuracy(np.array([0, 1, 2]), pred)


def test_softmax_and_log_softmax_take_a_tuple_axis():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 7
    e = np.exp(x - x.max(axis=(1, 2), keepdims=True))
    expected = e / e.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(a.softmax(x, axis=(1, 2)), expected, rtol=1e-14)
    np.testing.assert_allclose(a.log_softmax(x, axis=[-1, 1]), np.log(expected), rtol=1e-13)
    np.testing.assert_allclose(a.softmax(x, axis=(0, 1, 2)), a.softmax(x, axis=None), rtol=1e-14)
    with pytest.raises(HaibalValueError, match="distinct axes"):
        a.softmax(x, axis=(1, -2))


def test_r2_score_counts_samples_with_a_weight():
    y_true = np.array([[1.0, 10.0], [4.0, 20.0], [3.0, 60.0], [5.0, 10.0], [2.0, 30.0]])
    y_pred = np.array([[2.0, 12.0], [4.0, 18.0], [4.0, 50.0], [4.0, 15.0], [1.0, 20.0]])
    weights = np.array([1.0, 1.0, 0.0, 1.0, 1.0])  # the third sample does not count
    metric = m.R2Score(num_regressors=1)
    metric.update_state(y_true, y_pred, sample_weight=weights)
    assert float(metric.num_samples) == 4.0
    keep = weights > 0
    t, p = y_true[keep], y_pred[keep]
    raw = 1 - ((t - p) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0)
    assert metric.result() == pytest.approx(1 - (1 - raw.mean()) * (4 - 1) / (4 - 1 - 1))


# -- new functions, from their definitions ---------------------------------------------------------

def _ctc_brute_force(labels, logits):
    """-log of the summed probability of every path that collapses to ``labels`` (0 = blank)."""
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    steps, classes = logp.shape
    total = 0.0
    for path in itertools.product(range(classes), repeat=steps):
        collapsed = [c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1])]
        if collapsed == list(labels):
            total += math.exp(sum(logp[t, c] for t, c in enumerate(path)))
    return -math.log(total) if total else math.inf


def test_ctc_equals_the_sum_over_every_alignment():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 5, 3))
    y_true = np.array([[1, 2, 0], [2, 2, 0], [1, 0, 0], [0, 0, 0]])
    got = L.ctc(y_true, logits)
    expected = [_ctc_brute_force([c for c in row if c], logits[i]) for i, row in enumerate(y_true)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.dtype == np.float64 and L.ctc(y_true, logits.astype(np.float32)).dtype == np.float32
    # a label sequence that cannot fit in the time steps (2, 2 needs a blank between) gives inf
    assert np.isinf(L.ctc([[1, 1, 1]], rng.standard_normal((1, 4, 3))))[0]


def test_ctc_errors_name_the_problem():
    with pytest.raises(HaibalValueError, match=r"y_true must have the shape \(batch_size, max_length\)"):
        L.ctc([1, 2], np.zeros((1, 3, 3)))
    with pytest.raises(HaibalValueError, match="outside"):
        L.ctc([[1, 5]], np.zeros((1, 3, 3)))
    with pytest.raises(HaibalValueError, match="samples"):
        L.ctc([[1, 2]], np.zeros((2, 3, 3)))


def test_ctc_reads_a_row_as_tensorflow_does():
    """The first count_nonzero(row) entries are the labels, even with a 0 among them (Keras' own test)."""
    logits = (np.arange(24).reshape((2, 4, 3)).astype("float32") - 12) / 100
    y_true = np.array([[1, 2, 1, 0], [1, 2, 0, 2]])
    assert L.CTC()(y_true, logits) == pytest.approx(2.448645, rel=1e-6)  # Keras' documented value
    first = L.ctc([[1, 2, 1, 0]], logits[:1])[0]
    assert first == pytest.approx(_ctc_brute_force([1, 2, 1], logits[0].astype(np.float64)), rel=1e-6)


def test_sparsemax_is_the_projection_onto_the_simplex():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 7)) * 2
    out = a.sparsemax(x)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-12)
    assert (out >= 0).all()
    for row, y in zip(x, out):  # KKT: x - y is the same tau wherever y > 0, and x <= tau elsewhere
        support = y > 0
        tau = (row - y)[support]
        np.testing.assert_allclose(tau, tau[0], atol=1e-12)
        assert (row[~support] <= tau[0] + 1e-12).all()
    np.testing.assert_allclose(a.sparsemax([1.0, 0.5, 0.1]), [0.75, 0.25, 0.0], rtol=1e-6)
    np.testing.assert_allclose(a.sparsemax(x.T, axis=0), out.T)


def test_new_activations_by_their_formulas():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(a.celu(x, alpha=2.0), np.where(x > 0, x, 2.0 * np.expm1(x / 2.0)))
    np.testing.assert_allclose(a.hard_tanh(x), np.clip(x, -1, 1))
    np.testing.assert_allclose(a.hard_shrink(x, 1.0), np.where(np.abs(x) > 1, x, 0))
    np.testing.assert_allclose(a.soft_shrink(x, 1.0), np.sign(x) * np.maximum(np.abs(x) - 1, 0))
    np.testing.assert_allclose(a.tanh_shrink(x), x - np.tanh(x))
    np.testing.assert_allclose(a.sparse_plus(x), np.where(x <= -1, 0, np.where(x < 1, (x + 1) ** 2 / 4, x)))
    np.testing.assert_allclose(a.sparse_sigmoid(x), np.clip((x + 1) / 2, 0, 1))
    np.testing.assert_allclose(a.squareplus(x, b=1), (x + np.sqrt(x * x + 1)) / 2)
    np.testing.assert_allclose(a.threshold(x, 0.5, -7.0), np.where(x > 0.5, x, -7.0))
    g = np.arange(8.0).reshape(2, 4)
    np.testing.assert_allclose(a.glu(g), g[:, :2] / (1 + np.exp(-g[:, 2:])))
    with pytest.raises(HaibalValueError, match="must be even"):
        a.glu(np.zeros((2, 3)))
    assert a.celu(np.float32(-1.0)).dtype == np.float32


def test_generalized_cross_entropy_by_hand():
    probs = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([[0], [1], [1]])  # (batch, 1) labels are squeezed
    p = np.array([0.7, 0.8, 0.4])
    np.testing.assert_allclose(L.categorical_generalized_cross_entropy(labels, probs, q=0.5), (1 - p ** 0.5) / 0.5)
    assert L.CategoricalGeneralizedCrossEntropy(q=0.25)(labels[:, 0], probs) == \
        pytest.approx(((1 - p ** 0.25) / 0.25).mean())
    with pytest.raises(HaibalValueError, match=r"q must be in the interval \(0, 1\)"):
        L.CategoricalGeneralizedCrossEntropy(q=1.0)
    with pytest.raises(HaibalValueError, match="outside the valid range"):
        L.categorical_generalized_cross_entropy([2, 0, 1], probs, q=0.5)


def test_auc_prgain_by_hand():
    y_true, y_pred = [0, 1, 1, 0, 1], [0.1, 0.8, 0.4, 0.6, 0.9]
    metric = m.AUC(curve="PRGAIN", thresholds=[0.5])
    metric.update_state(y_true, y_pred)
    # thresholds -eps, 0.5, 1+eps: (tp, fp, tn, fn) = (3,2,0,0), (2,1,1,1), (0,0,2,3); P/N = 3/2
    rg = [1 - 1.5 * 0 / 3, 1 - 1.5 * 1 / 2, 0.0]
    pg = [1 - 1.5 * 2 / 3, 1 - 1.5 * 1 / 2, 1.0]
    expected = sum((rg[i] - rg[i + 1]) * (pg[i] + pg[i + 1]) / 2 for i in range(2))
    assert metric.result() == pytest.approx(expected)
    with pytest.raises(HaibalValueError, match='curve must be "ROC", "PR" or "PRGAIN"'):
        m.AUC(curve="GAIN")


def test_multi_label_auc_keeps_its_labels_after_reset():
    metric = m.AUC(num_thresholds=5, multi_label=True)
    metric.update_state([[0, 1], [1, 0]], [[0.2, 0.7], [0.6, 0.1]])
    metric.reset_state()
    np.testing.assert_array_equal(metric.true_positives, np.zeros((5, 2)))
    assert metric.result() == 0.0


def test_top_k_from_sorted_ids():
    ids = np.array([[3, 1, 4, 0], [2, 2, 0, 1]])
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy([1, 0], ids, k=2, from_sorted_ids=True), [1, 0])
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy([1, 0], ids, k=3, from_sorted_ids=True), [1, 1])
    metric = m.SparseTopKCategoricalAccuracy(k=1, from_sorted_ids=True)
    metric.update_state([3, 0], ids)
    assert metric.result() == 0.5
    assert m.SparseTopKCategoricalAccuracy.from_config(metric.get_config()).from_sorted_ids is True


# -- registries ---------------------------------------------------------------------------------------

def test_get_gives_what_keras_gives():
    assert L.get("sparse_categorical_crossentropy") is L.sparse_categorical_crossentropy
    assert L.get("mse") is L.mean_squared_error and isinstance(L.get("CTC"), L.CTC)
    assert isinstance(m.get("accuracy"), m.Accuracy) and isinstance(m.get("sparse_categorical_accuracy"),
                                                                   m.SparseCategoricalAccuracy)
    assert a.get(None) is a.linear and a.get("swish") is a.silu and a.get(a.relu) is a.relu
    assert L.get(None) is None and m.get(None) is None
    with pytest.raises(HaibalValueError, match="unknown loss 'nope'"):
        L.get("nope")
    with pytest.raises(HaibalValueError, match="unknown activation"):
        a.get("nope")
    with pytest.raises(HaibalValueError, match="needs arguments"):
        m.get("IoU")
    with pytest.raises(HaibalValueError, match="unknown metric class"):
        m.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(HaibalValueError, match="cannot build Huber from its config"):
        L.deserialize({"class_name": "Huber", "config": {"delta": 1.0, "nope": 2}})


@pytest.mark.parametrize("obj", [m.Specificity(thresholds=[0.2, 0.7], class_id=1), m.MeanTensor(shape=(2, 3)),
                                 m.MeanRelativeError(normalizer=[1.0, 2.0]), m.Huber(delta=0.3),
                                 L.Dice(axis=(1, 2)), L.Circle(gamma=16.0, remove_diagonal=False),
                                 L.SparseCategoricalCrossentropy(ignore_class=255, axis=1),
                                 m.AUC(thresholds=np.array([0.3, 0.6]), label_weights=np.array([1.0, 2.0]))],
                         ids=lambda o: type(o).__name__)
def test_own_classes_round_trip_through_json(obj):
    module = L if isinstance(obj, L.Loss) else m
    ser = json.loads(json.dumps(module.serialize(obj)))
    again = module.deserialize(ser)
    assert type(again) is type(obj) and again.get_config() == obj.get_config()
    assert ser["module"] in ("keras.losses", "keras.metrics", "haibal_py.metrics")


def test_a_training_setup_by_names():
    """What compile(loss="...", metrics=[...]) will do: names to configured objects and back."""
    setup = {"loss": L.serialize(L.get("sparse_categorical_crossentropy")),
             "metrics": [m.serialize(m.get(n)) for n in ("accuracy", "sparse_categorical_accuracy")]}
    text = json.dumps(setup)
    back = json.loads(text)
    assert L.deserialize(back["loss"]) is L.sparse_categorical_crossentropy
    accs = [m.deserialize(s) for s in back["metrics"]]
    assert [type(x) for x in accs] == [m.Accuracy, m.SparseCategoricalAccuracy]
