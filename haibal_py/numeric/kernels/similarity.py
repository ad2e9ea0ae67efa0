"""Metric-learning losses over embeddings: Circle loss (Keras 3's ``keras.losses.circle``).

``y_pred`` holds L2-normalised embeddings ``(batch, dim)`` and ``y_true`` their integer
labels. With cosine distances ``d = max(1 - y_pred . ref^T, 0)`` to the reference
embeddings (``y_pred`` itself by default), positives (same label, not the sample itself
when ``remove_diagonal``) and negatives (other labels), Sun et al.'s (2020) loss of a
sample is ``softplus(logsumexp_pos(-gamma a_p (m - d)) + logsumexp_neg(gamma a_n (1 - m - d)))``
with weights ``a_p = max(m + d, 0)`` and ``a_n = max(1 + m - d, 0)`` (``m`` the margin).
A sample with no positive (or no negative) has ``-inf`` in that term. The loss ``0``
entries are masked out of the reduction, as Keras marks them (``circle_with_mask``).
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_float_array, as_label_array, check_bool, compute_dtype, result_dtype
from ...errors import HaibalValueError
from . import fastmath

__all__ = ["circle", "circle_with_mask"]


def _logsumexp_masked(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise ``log(sum(exp(x)))`` over the masked entries; ``-inf`` for a row with none."""
    x = np.where(mask, x, -np.inf)
    top = x.max(axis=1, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        return np.log(np.exp(x - safe).sum(axis=1)) + safe[:, 0]


def circle_with_mask(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80,
                     margin=0.4):
    """The Circle loss per sample and the mask of samples whose loss is above 0."""
    remove_diagonal = check_bool(remove_diagonal, "remove_diagonal")
    try:
        gamma, margin = float(gamma), float(margin)
    except (TypeError, ValueError):
        raise HaibalValueError(f"circle: gamma and margin must be numbers, got {gamma!r} and {margin!r}") from None
    emb = as_float_array(y_pred, "y_pred")
    labels = as_label_array(y_true, "y_true")
    ref = emb if ref_embeddings is None else as_float_array(ref_embeddings, "ref_embeddings")
    ref_lab = labels if ref_labels is None else as_label_array(ref_labels, "ref_labels")
    if emb.ndim != 2 or ref.ndim != 2 or emb.shape[1] != ref.shape[1]:
        raise HaibalValueError(f"circle: y_pred and ref_embeddings must be (batch, dim) embeddings of one dim, got "
                               f"shapes {emb.shape} and {ref.shape}")
    labels, ref_lab = labels.reshape(-1), ref_lab.reshape(-1)
    if labels.size != emb.shape[0] or ref_lab.size != ref.shape[0]:
        raise HaibalValueError(f"circle: one label per embedding is needed: y_true has {labels.size} labels for "
                               f"y_pred shape {emb.shape}, ref_labels {ref_lab.size} for ref_embeddings shape "
                               f"{ref.shape}")
    work = compute_dtype(emb.dtype)
    k = work.type
    e, r = emb.astype(work, copy=False), ref.astype(work, copy=False)
    dist = np.maximum(k(1) - e @ r.T, k(0))
    positive = labels[:, None] == ref_lab[None, :]
    negative = ~positive
    if remove_diagonal:
        positive &= ~np.eye(positive.shape[0], positive.shape[1], dtype=bool)
    pos_w = np.maximum((k(margin) + dist) * positive, k(0))
    neg_w = np.maximum((k(1 + margin) - dist) * negative, k(0))
    pos_term = k(-gamma) * pos_w * (k(margin) - dist)
    neg_term = k(gamma) * neg_w * (k(1 - margin) - dist)
    total = _logsumexp_masked(pos_term, positive) + _logsumexp_masked(neg_term, negative)
    loss = fastmath.softplus(np.asarray(total, dtype=work)).astype(result_dtype(emb.dtype))  # softplus(-inf) = 0
    return loss, loss > 0


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss per sample (see the module docstring); Keras 3's ``circle`` signature."""
    return circle_with_mask(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin)[0]
