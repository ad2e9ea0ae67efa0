"""Confusion matrices over class ids and the intersection-over-union read from them.

Rows are true classes, columns predicted classes (Keras' ``confusion_matrix``); each
position adds its weight. As in Keras 3, a position whose true or predicted id is outside
``[0, num_classes)`` (or whose label is ``ignore_class``) is left out. ``iou_from_matrix`` follows Keras 3's ``IoU.result``: the IoU
of each target class is ``tp / (tp + fp + fn + eps)``, and the result is their sum over
the number of target classes that occur at all (``+ eps``), so a class never seen in
labels or predictions does not pull the mean down.
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_numeric_array, as_sample_weight
from ...errors import HaibalValueError
from .blocks import EPSILON

__all__ = ["class_ids", "confusion_matrix", "iou_from_matrix"]


def class_ids(value, name: str, axis: int | None = None) -> np.ndarray:
    """Integer class ids: given as ids, or as scores / one-hot vectors along ``axis`` (argmax)."""
    arr = as_numeric_array(value, name)
    if axis is not None:
        if arr.ndim == 0 or arr.shape[axis] == 0:
            raise HaibalValueError(f"{name} needs a non-empty class axis {axis}, got shape {arr.shape}")
        return np.argmax(arr, axis=axis)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise HaibalValueError(f"{name} holds a non-finite class id")
        arr = arr.astype(np.int64)  # Keras casts to int: truncation
    return arr.astype(np.int64, copy=False)


def confusion_matrix(y_true, y_pred, num_classes: int, weights=None, ignore_class=None) -> np.ndarray:
    """``[num_classes, num_classes]`` float64 matrix of (weighted) counts of (true, predicted) pairs.

    ``weights`` has ``y_true``'s shape, or any shape that broadcasts to it (a scalar, or one
    weight per sample: per-sample weights are aligned on the left, as for the other metrics).
    """
    t_arr = np.asarray(y_true)
    t = t_arr.reshape(-1)
    p = np.asarray(y_pred).reshape(-1)
    if t.size != p.size:
        raise HaibalValueError(f"y_true has {t.size} class ids but y_pred has {p.size}")
    if weights is None:
        w = np.ones(t.size)
    else:
        w = as_sample_weight(weights)
        if 0 < w.ndim < t_arr.ndim and w.shape == t_arr.shape[:w.ndim]:
            w = w.reshape(w.shape + (1,) * (t_arr.ndim - w.ndim))
        try:
            w = np.broadcast_to(w, t_arr.shape).reshape(-1) if w.size != t.size else w.reshape(-1)
        except ValueError:
            raise HaibalValueError(f"sample_weight shape {np.shape(weights)} does not fit y_true's "
                                   f"{t_arr.shape} class ids") from None
    n = int(num_classes)
    keep = (t >= 0) & (t < n) & (p >= 0) & (p < n)
    if ignore_class is not None:
        keep &= t != ignore_class
    if not keep.all():
        t, p, w = t[keep], p[keep], w[keep]
    return np.bincount(t * n + p, weights=w, minlength=n * n).reshape(n, n)


def iou_from_matrix(cm: np.ndarray, target_class_ids) -> float:
    """Mean IoU over ``target_class_ids`` of the classes present (see the module docstring)."""
    ids = np.asarray(list(target_class_ids), dtype=np.int64)
    tp = np.diag(cm)
    denominator = cm.sum(axis=0) + cm.sum(axis=1) - tp
    tp, denominator = tp[ids], denominator[ids]
    valid = float(np.count_nonzero(denominator > 1e-9))
    iou = tp / (denominator + EPSILON)
    return float(iou.sum() / (valid + EPSILON))
