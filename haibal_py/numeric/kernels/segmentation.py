"""Overlap losses for segmentation maps: Dice and Tversky (Keras 3 formulas).

Both need only three sums over the reduced axes, ``S_tp = sum(y_true * y_pred)``,
``S_t = sum(y_true)`` and ``S_p = sum(y_pred)``, taken in one pass:

- dice    = ``1 - 2 S_tp / (S_t + S_p + 1e-7)``
- tversky = ``1 - S_tp / (S_tp + alpha * (S_p - S_tp) + beta * (S_t - S_tp) + 1e-7)``, where
  ``S_p - S_tp = sum(y_pred * (1 - y_true))`` (false positives, weighed by ``alpha``) and
  ``S_t - S_tp = sum(y_true * (1 - y_pred))`` (false negatives, weighed by ``beta``), as in
  Salehi et al. and in Keras since its fix of July 2026 (#23333; Keras 3.15.1 and earlier
  swapped the two weights).

``axis=None`` (Keras' default) reduces every axis to one number; ``axis=(1, 2, 3)`` gives
one value per sample of a batch of images.
"""

from __future__ import annotations

import numpy as np

from .blocks import EPSILON, pair, reduced_axes, row_sums, to_rows

__all__ = ["dice", "tversky"]


def _stats(t, p):
    return np.einsum("ij,ij->i", t, p), t.sum(axis=1), p.sum(axis=1)


def _overlap_sums(y_true, y_pred, axis):
    true, pred, work, out_dtype = pair(y_true, y_pred, min_rank=0)
    axes = reduced_axes(axis, pred.ndim)
    t, outer = to_rows(true, axes)
    p, _ = to_rows(pred, axes)
    tp, st, sp = row_sums(_stats, (t, p), work, 3)
    return tp, st, sp, outer, out_dtype


def dice(y_true, y_pred, axis=None):
    """Dice loss ``1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + eps)`` over ``axis``."""
    tp, st, sp, outer, out_dtype = _overlap_sums(y_true, y_pred, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - 2.0 * tp / (st + sp + EPSILON)
    return out.reshape(outer).astype(out_dtype)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Tversky loss; ``alpha`` weighs the false positives ``sum(y_pred (1 - y_true))``, ``beta``
    the false negatives ``sum(y_true (1 - y_pred))`` (Keras' corrected order, see the module docstring)."""
    tp, st, sp, outer, out_dtype = _overlap_sums(y_true, y_pred, axis)
    alpha, beta = float(alpha), float(beta)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 - tp / (tp + alpha * (sp - tp) + beta * (st - tp) + EPSILON)
    return out.reshape(outer).astype(out_dtype)
