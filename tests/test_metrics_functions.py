"""Metric functions: hand-derived float64 values, dtypes, edge cases and shape errors."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py import metrics as m
from haibal_py.errors import HaibalValueError

FLOATS = (np.float32, np.float64)


@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_accuracy_by_hand(dtype):
    y_true = np.array([[1, 0, 1], [0, 0, 1]], dtype)
    y_pred = np.array([[0.7, 0.5, 0.2], [0.1, 0.9, 0.51]], dtype)
    out = m.binary_accuracy(y_true, y_pred)
    assert out.dtype == dtype
    # one value per element, as Keras 3 (tf.keras 2 averaged the last axis); 0.5 is not > 0.5
    np.testing.assert_array_equal(out, [[1, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(m.binary_accuracy(y_true, y_pred, threshold=0.95), [[0, 1, 0], [1, 1, 0]])
    metric = m.BinaryAccuracy()  # the class averages each sample's elements, then the samples
    metric.update_state(y_true, y_pred)
    assert metric.result() == pytest.approx(2 / 3)


@pytest.mark.parametrize("dtype", FLOATS)
def test_categorical_and_sparse_accuracy_by_hand(dtype):
    y_pred = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]], dtype)
    out = m.categorical_accuracy(np.eye(3, dtype=dtype)[[1, 2, 2]], y_pred)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [1, 0, 1])
    np.testing.assert_array_equal(m.sparse_categorical_accuracy([1, 2, 2], y_pred), [1, 0, 1])
    np.testing.assert_array_equal(m.sparse_categorical_accuracy([[1], [2], [2]], y_pred), [1, 0, 1])
    # higher rank: one value per position
    seg = np.stack([y_pred, y_pred])
    np.testing.assert_array_equal(m.sparse_categorical_accuracy([[1, 2, 2], [1, 0, 0]], seg),
                                  [[1, 0, 1], [1, 1, 0]])


def test_top_k_by_hand_with_ties_counted_in():
    y_pred = np.array([[0.5, 0.5, 0.1], [0.2, 0.3, 0.5], [0.4, 0.35, 0.25]])
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy([1, 1, 2], y_pred, k=1), [1, 0, 0])
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy([1, 1, 2], y_pred, k=2), [1, 1, 0])
    np.testing.assert_array_equal(m.top_k_categorical_accuracy(np.eye(3)[[1, 1, 2]], y_pred, k=3), [1, 1, 1])
    np.testing.assert_array_equal(m.sparse_top_k_categorical_accuracy([3, -1, 0], y_pred, k=5), [0, 0, 1])


def test_accuracy_is_exact_equality():
    np.testing.assert_array_equal(m.accuracy([[1, 2], [3, 4]], [[1, 2], [3, 5]]), [[1.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(m.accuracy([1, 2, 3], [1, 2, 3.5]), [1.0, 1.0, 0.0])
    # y_true takes y_pred's dtype before the comparison, as in Keras
    assert m.accuracy(np.array([0.1]), np.array([0.1], np.float32)).tolist() == [1.0]


@pytest.mark.parametrize("dtype", FLOATS)
def test_correlations_by_hand(dtype):
    t = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype)
    p = np.array([[2.0, 4.0, 6.0, 8.0], [4.0, 3.0, 2.0, 1.0]], dtype)
    r = m.pearson_correlation(t, p)
    assert r.dtype == dtype
    np.testing.assert_allclose(r, [1.0, -1.0], rtol=1e-6)
    # Lin's CCC for row 0: var_t = 1.25, var_p = 5, cov = 2.5, means 2.5 and 5
    ccc = m.concordance_correlation(t, p)
    np.testing.assert_allclose(ccc[0], 2 * 2.5 / (1.25 + 5 + 2.5 ** 2 + 1e-7), rtol=1e-6)
    np.testing.assert_allclose(ccc[1], 2 * -1.25 / (1.25 + 1.25 + 0 + 1e-7), rtol=1e-6)
    # whole-array axis
    assert m.pearson_correlation(t, p, axis=(0, 1)).shape == ()


def test_correlation_of_a_constant_row_is_zero_not_nan():
    assert m.pearson_correlation([[1.0, 1.0, 1.0]], [[1.0, 2.0, 3.0]])[0] == 0.0
    assert np.isnan(m.pearson_correlation([[1.0, np.nan, 3.0]], [[1.0, 2.0, 3.0]])[0])


def test_cosine_similarity_metric_sign_and_zero_vector():
    np.testing.assert_allclose(m.cosine_similarity([[0., 1.], [1., 1.], [1., 1.]], [[1., 0.], [1., 1.], [-1., -1.]]),
                               [0.0, 1.0, -1.0], atol=1e-6)
    assert m.cosine_similarity([[0.0, 0.0]], [[1.0, 2.0]])[0] == 0.0


def test_nan_predictions_are_never_positive():
    np.testing.assert_array_equal(m.binary_accuracy([[1, 0]], [[np.nan, np.nan]]), [[0.0, 1.0]])


def test_lists_are_float32_and_ints_accepted():
    assert m.binary_accuracy([1, 0], [0.9, 0.2]).dtype == np.float32
    assert m.categorical_accuracy(np.eye(2, dtype=int), np.eye(2, dtype=int)).dtype == np.float32


@pytest.mark.parametrize("fn,y_true,y_pred,match", [
    (m.binary_accuracy, [[1, 0, 1]], [[0.5, 0.5]], "does not match"),
    (m.categorical_accuracy, [[0, 1]], [[0.5, 0.2, 0.3]], "must equal"),
    (m.sparse_categorical_accuracy, [1, 2, 0], [[0.5, 0.5]], "without its last"),
    (m.sparse_categorical_accuracy, [0.5], [[0.5, 0.5]], "non-integral"),
    (m.top_k_categorical_accuracy, [[0, 1]], [[0.5, 0.2, 0.3]], "must equal"),
    (m.sparse_top_k_categorical_accuracy, [[1, 2]], [[0.5, 0.5]], "without its last"),
    (m.pearson_correlation, [[1, 2, 3]], [[1, 2]], "does not match"),
    (m.concordance_correlation, [[1, 2]], [[1, 2]], None),
    (m.accuracy, [[1, 2]], [[1, 2, 3]], "does not match"),
])
def test_shape_mismatches_are_clear_errors(fn, y_true, y_pred, match):
    if match is None:  # the last row checks a bad axis instead
        with pytest.raises(HaibalValueError, match="out of range"):
            fn(y_true, y_pred, axis=2)
        return
    with pytest.raises(HaibalValueError, match=match):
        fn(y_true, y_pred)


def test_bad_arguments():
    with pytest.raises(HaibalValueError, match="k must be"):
        m.sparse_top_k_categorical_accuracy([0], [[0.5, 0.5]], k=0)
    with pytest.raises(HaibalValueError, match="numeric"):
        m.binary_accuracy(["a"], [0.5])


def test_empty_batches():
    assert m.binary_accuracy(np.zeros((0, 1)), np.zeros((0, 1))).shape == (0, 1)
    assert m.sparse_categorical_accuracy(np.zeros((0,), int), np.zeros((0, 3))).shape == (0,)
    metric = m.BinaryAccuracy()
    metric.update_state(np.zeros((0, 1)), np.zeros((0, 1)))
    assert metric.result() == 0.0


def test_get_like_keras():
    assert isinstance(m.get("binary_accuracy"), m.BinaryAccuracy)  # Keras' get: a name gives an instance
    assert isinstance(m.get("accuracy"), m.Accuracy) and isinstance(m.get("mse"), m.MeanSquaredError)
    assert isinstance(m.get("AUC"), m.AUC) and isinstance(m.get("auc"), m.AUC)
    assert m.get(m.binary_accuracy) is m.binary_accuracy
    assert m.get({"class_name": "Precision", "config": {"thresholds": 0.3}}).thresholds == [0.3]
    with pytest.raises(HaibalValueError, match="unknown metric"):
        m.get("nope")
    with pytest.raises(HaibalValueError, match="needs arguments"):
        m.get("IoU")
