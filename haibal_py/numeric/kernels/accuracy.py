"""Accuracy metric functions (Keras 3 names, signatures and formulas).

``accuracy`` and ``binary_accuracy`` compare element by element, as Keras 3 does (one value
per element of ``y_pred``; tf.keras 2 averaged them over the last axis): the metric classes
then average each sample's elements, and an element-wise ``sample_weight`` works. The
others give one value per sample. Values are 1.0 for a hit and 0.0 for a miss, in
``y_pred``'s float dtype (float32 for anything else, Keras' ``floatx``). Shapes that cannot
be matched raise a ``HaibalValueError`` naming both shapes instead of broadcasting silently.
"""

from __future__ import annotations

import numpy as np

from ..arrays import (
    as_float_array,
    as_label_array,
    as_numeric_array,
    check_bool,
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


def _hits(compare, y_true: np.ndarray, y_pred: np.ndarray, dtype) -> np.ndarray:
    """``compare(t, p)`` (booleans) as 1.0 / 0.0 in ``dtype``."""
    return np.asarray(compare(y_true, y_pred), dtype=dtype)


def _as_pred_dtype(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """``y_true`` in ``y_pred``'s dtype, as Keras converts it before comparing (0.1 in float64
    equals 0.1 in float32 once both are float32)."""
    if y_pred.dtype.kind == "f" and y_true.dtype != y_pred.dtype:
        return y_true.astype(y_pred.dtype)
    return y_true


def accuracy(y_true, y_pred):
    """1.0 where ``y_pred`` equals ``y_true``, element by element (Keras 3), else 0.0."""
    yp = as_numeric_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    dtype = result_dtype(yp.dtype)
    yt, yp = _same_shape(_as_pred_dtype(yt, yp), yp, "accuracy")
    return _hits(np.equal, yt, yp, dtype)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` equals the 0/1 label, element by element (Keras 3), else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    yt, yp = _same_shape(_as_pred_dtype(yt, yp), yp, "binary_accuracy")
    try:
        thr = yp.dtype.type(threshold)
    except (TypeError, ValueError):
        raise HaibalValueError(f"threshold must be a number, got {threshold!r}") from None
    # NaN predictions are not > threshold: they count as class 0, as in Keras.
    return _hits(lambda t, p: t == (p > thr), yt, yp, result_dtype(yp.dtype))


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


def _sparse_labels(y_true, yp: np.ndarray, what: str) -> tuple[np.ndarray, tuple]:
    """Labels shaped like ``y_pred`` without its class axis, and the shape of the result.

    A trailing size-1 label axis is squeezed. Labels holding one id per position of
    ``y_pred`` in another shape (``(2, 1)`` labels for a ``(1, 2, C)`` prediction) are
    reshaped, as Keras does, and the result takes the labels' (squeezed) shape.
    """
    yt = as_label_array(y_true, "y_true")
    if yt.ndim == yp.ndim and yt.ndim > 0 and yt.shape[-1] == 1:
        yt = yt[..., 0]
    out_shape = yt.shape
    if yt.shape != yp.shape[:-1]:
        if yp.ndim == 0 or yt.size != int(np.prod(yp.shape[:-1])):
            raise HaibalValueError(f"{what}: y_true shape {yt.shape} must be y_pred shape {yp.shape} "
                                   "without its last (class) axis (or hold as many labels)")
        yt = yt.reshape(yp.shape[:-1])
        if len(out_shape) > 1 and out_shape[-1] == 1:  # as Keras squeezes a trailing 1 of its matches
            out_shape = out_shape[:-1]
    return yt, out_shape


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label equals ``argmax(y_pred)`` along the last axis, else 0.0."""
    yp = as_float_array(y_pred, "y_pred")
    yt, shape = _sparse_labels(y_true, yp, "sparse_categorical_accuracy")
    hits = yt == _argmax_last(yp, "y_pred")
    return np.asarray(hits, dtype=result_dtype(yp.dtype)).reshape(shape)


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
    k = _check_k(k)
    yp = as_float_array(y_pred, "y_pred")
    yt = as_numeric_array(y_true, "y_true")
    if yt.shape != yp.shape:
        raise HaibalValueError(f"top_k_categorical_accuracy: y_true shape {yt.shape} must equal y_pred shape "
                               f"{yp.shape} (one-hot labels)")
    hits = in_top_k(_argmax_last(yt, "y_true"), yp, k)
    return np.asarray(hits, dtype=result_dtype(yp.dtype))


def _check_k(k) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
        raise HaibalValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` largest predictions, else 0.0.

    ``from_sorted_ids``: ``y_pred`` holds, per sample, category ids sorted from the highest
    score down (``(batch, N)``, e.g. a retrieval's ranked ids), and a hit is the label among
    the first ``k`` of them (a label listed twice counts once).
    """
    k = _check_k(k)
    from_sorted_ids = check_bool(from_sorted_ids, "from_sorted_ids")
    if from_sorted_ids:
        yp = as_numeric_array(y_pred, "y_pred")
    else:
        yp = as_float_array(y_pred, "y_pred")
    if yp.ndim == 0:
        raise HaibalValueError("y_pred needs a class axis, got a scalar")
    yt, shape = _sparse_labels(y_true, yp, "sparse_top_k_categorical_accuracy")
    if from_sorted_ids:
        hits = (yp[..., :k] == yt[..., None]).any(axis=-1)
        dtype = result_dtype(yp.dtype) if yp.dtype.kind == "f" else np.dtype(np.float32)
    else:
        hits = in_top_k(yt, yp, k)
        dtype = result_dtype(yp.dtype)
    return np.asarray(hits, dtype=dtype).reshape(shape)
