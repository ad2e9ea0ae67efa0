"""Hinge losses (Keras 3 names and formulas), reduced along the last axis.

``hinge`` and ``squared_hinge`` expect labels -1/1; as in Keras, when *every* label is
0 or 1 they are first mapped to -1/1 (``2 y - 1``).
"""

from __future__ import annotations

import numpy as np

from .blocks import BLOCK_ELEMENTS, mean_of, pair, row_values, to_rows

__all__ = ["hinge", "squared_hinge", "categorical_hinge"]


def labels_are_binary(y_true: np.ndarray) -> bool:
    """True when every label is 0 or 1 (checked in blocks, stopping at the first other value)."""
    flat = y_true.reshape(-1)
    for start in range(0, flat.size, BLOCK_ELEMENTS * 8):
        blk = flat[start:start + BLOCK_ELEMENTS * 8]
        if not ((blk == 0) | (blk == 1)).all():
            return False
    return True


def _margins(t, p, binary: bool):
    one = p.dtype.type(1)
    if binary:
        t = 2 * t - one
    return np.maximum(one - t * p, p.dtype.type(0))


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/1."""
    true = np.asarray(y_true)
    binary = labels_are_binary(true) if true.dtype.kind in "fiub" else False
    return mean_of(lambda t, p: _margins(t, p, binary).sum(axis=1), y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``; 0/1 labels are mapped to -1/1."""
    true = np.asarray(y_true)
    binary = labels_are_binary(true) if true.dtype.kind in "fiub" else False

    def kernel(t, p):
        m = _margins(t, p, binary)
        return np.einsum("ij,ij->i", m, m)
    return mean_of(kernel, y_true, y_pred)


def _categorical_hinge(t, p):
    one = p.dtype.type(1)
    pos = np.einsum("ij,ij->i", t, p)
    neg = ((one - t) * p).max(axis=1)
    return np.maximum(neg - pos + one, p.dtype.type(0))


def categorical_hinge(y_true, y_pred):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` along the last axis."""
    true, pred, work, out_dtype = pair(y_true, y_pred)
    t, outer = to_rows(true, (pred.ndim - 1,))
    p, _ = to_rows(pred, (pred.ndim - 1,))
    if p.shape[1] == 0:
        return np.full(outer, np.nan, dtype=out_dtype)
    return row_values(_categorical_hinge, (t, p), work).reshape(outer).astype(out_dtype)
