"""Accuracy metric functions (Keras 3 names, signatures and formulas).

Each returns one value per sample (1.0 for a hit, 0.0 for a miss, or the mean of the
hits along the last axis for the element-wise accuracies), in ``y_pred``'s float dtype
(float32 for anything else, Keras' ``floatx``). Shapes that cannot be matched raise a
``HaibalValueError`` naming both shapes instead of broadcasting silently.
"""

from __future__ import annotations

import numpy as np

from ..arrays import (
    as_float_array,
    as_label_array,
    as_numeric_array,
    result_dtype,
    squeeze_or_expand_to_same_rank,
)
from ...errors import HaibalValueError

__all__ = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "in_top_k",
]


def _same_shape(y_true: np.ndarray, y_pred: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise HaibalValueError(f"{what}: y_true shape {y_true.shape} does not match y_pred shape {y_pred.shape}")
    return y_true, y_pred


def _mean_last(hits: np.ndarray, dtype) -> np.ndarray:
    if hits.ndim == 0:
        return np.asarray(hits, dtype=dtype)
    if hits.shape[-1] == 0:
        return np.full(hits.shape[:-1], np.nan, dtype=dtype)
    return (np.count_nonzero(hits, axis=-1) / hits.shape[-1]).astype(dtype)


def _hit_rate(compare, y_true: np.ndarray, y_pred: np.ndarray, dtype) -> np.ndarray:
    """Mean over the last axis of ``compare(t, p)`` (booleans), in cache-sized row blocks."""
    if y_pred.ndim == 0 or y_pred.shape[-1] == 0:
        return _mean_last(compare(y_true, y_pred), dtype)
    n = y_pred.shape[-1]
    t, p = y_true.reshape(-1, n), y_pred.reshape(-1, n)
    counts = np.empty(t.shape[0], dtype=np.int64)
    step = max(1, (1 << 16) // n)
    for start in range(0, t.shape[0], step):
        block = slice(start, start + step)
        counts[block] = np.count_nonzero(compare(t[block], p[block]), axis=1)
    return (counts / n).astype(dtype).reshape(y_pred.shape[:-1])


def accuracy(y_true, y_pred):
    """How often ``y_pred`` equals ``y_true`` exactly, averaged along the last axis."""
    yp = as_numeric_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    dtype = result_dtype(yp.dtype)
    yt, yp = _same_shape(yt, yp, "accuracy")
    return _hit_rate(np.equal, yt, yp, dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """How often ``y_pred > threshold`` equals the 0/1 label, averaged along the last axis."""
    yp = as_float_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    yt, yp = _same_shape(yt, yp, "binary_accuracy")
    # NaN predictions are not > threshold: they count as class 0, as in Keras.
    thr = yp.dtype.type(threshold)
    return _hit_rate(lambda t, p: t == (p > thr), yt, yp, result_dtype(yp.dtype))


def _argmax_last(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise HaibalValueError(f"{name} needs a non-empty class axis, got shape {arr.shape}")
    return np.argmax(arr, axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` along the last axis, else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    if yt.shape != yp.shape:
        raise HaibalValueError(f"categorical_accuracy: y_true shape {yt.shape} must equal y_pred shape {yp.shape} "
                               "(one-hot labels; use sparse_categorical_accuracy for integer labels)")
    hits = _argmax_last(yt, "y_true") == _argmax_last(yp, "y_pred")
    return np.asarray(hits, dtype=result_dtype(yp.dtype))


def _sparse_labels(y_true, yp: np.ndarray, what: str) -> np.ndarray:
    yt = as_label_array(y_true, "y_true")
    if yt.ndim == yp.ndim and yt.ndim > 0 and yt.shape[-1] == 1:
        yt = yt[..., 0]
    if yt.shape != yp.shape[:-1]:
        raise HaibalValueError(f"{what}: y_true shape {yt.shape} must be y_pred shape {yp.shape} "
                               "without its last (class) axis")
    return yt


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred)`` along the last axis, else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    yt = _sparse_labels(y_true, yp, "sparse_categorical_accuracy")
    hits = yt == _argmax_last(yp, "y_pred")
    return np.asarray(hits, dtype=result_dtype(yp.dtype))


def in_top_k(targets, predictions: np.ndarray, k: int) -> np.ndarray:
    """Whether each target's score is among the ``k`` largest of its row.

    Ties count in (a target whose score equals the k-th largest is in the top k), as in
    TensorFlow's ``in_top_k``: the target is in when fewer than ``k`` scores of its row are
    strictly greater. One comparison pass, in cache-sized row blocks. A target outside
    ``[0, num_classes)`` or with a NaN score is never in.
    """
    k = int(k)
    if k < 1:
        raise HaibalValueError(f"k must be >= 1, got {k}")
    n = predictions.shape[-1]
    if n == 0:
        raise HaibalValueError(f"y_pred needs a non-empty class axis, got shape {predictions.shape}")
    shape = predictions.shape[:-1]
    rows = predictions.reshape(-1, n)
    flat_targets = np.broadcast_to(targets, shape).reshape(-1)
    valid = (flat_targets >= 0) & (flat_targets < n)
    safe = np.where(valid, flat_targets, 0)
    target_scores = rows[np.arange(rows.shape[0]), safe]
    greater = np.empty(rows.shape[0], dtype=np.int64)
    step = max(1, (1 << 16) // n)
    for start in range(0, rows.shape[0], step):
        block = slice(start, start + step)
        greater[block] = np.count_nonzero(rows[block] > target_scores[block, None], axis=1)
    hits = valid & (greater < k) & ~np.isnan(target_scores)
    return hits.reshape(shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where ``argmax(y_true)`` is among the ``k`` largest predictions, else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    if yt.shape != yp.shape:
        raise HaibalValueError(f"top_k_categorical_accuracy: y_true shape {yt.shape} must equal y_pred shape "
                               f"{yp.shape} (one-hot labels)")
    hits = in_top_k(_argmax_last(yt, "y_true"), yp, k)
    return np.asarray(hits, dtype=result_dtype(yp.dtype))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the ``k`` largest predictions, else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    if yp.ndim == 0:
        raise HaibalValueError("y_pred needs a class axis, got a scalar")
    yt = _sparse_labels(y_true, yp, "sparse_top_k_categorical_accuracy")
    hits = in_top_k(yt, yp, k)
    return np.asarray(hits, dtype=result_dtype(yp.dtype))
