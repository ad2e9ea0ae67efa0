"""Scaled dot-product attention over projected heads, forward and backward.

Arrays are ``(batch, heads, tokens, depth)`` (any strides: projections are viewed, not
copied, into that layout). ``scores = softmax(q k^T * scale)`` along the key tokens, with
Keras 3's masking: a masked score is replaced by a large negative number before the
softmax and its probability is set to exactly 0 after it, so a query whose keys are all
masked attends to nothing (zeros) and gets no gradient. Dropout multiplies the
probabilities by a fixed mask (kept / (1 - rate)); the returned scores are the ones
before dropout, as Keras returns them.

Backward (``P`` the probabilities, ``Pd`` after dropout, ``dO`` the output gradient):
``dV = Pd^T dO``, ``dPd = dO V^T``, ``dP = dPd * drop``,
``dS = P * (dP - sum(dP * P))``, ``dq = dS k * scale``, ``dk = dS^T q * scale``.

``flatten_axes`` / ``unflatten_axes`` turn Keras' ``attention_axes`` (attention over
several axes of a higher-rank input) into that layout: the other axes join the batch and
the attention axes are flattened into one token axis (Keras normalises the softmax over
all attention axes jointly, so this is exact).
"""

from __future__ import annotations

import math

import numpy as np

from . import blas

__all__ = ["attention_forward", "attention_backward", "causal_mask", "flatten_axes", "unflatten_axes",
           "scores_layout"]


def _large_negative(dtype) -> float:
    # Keras 3's _large_negative_number: -1e9, or -3e4 for float16
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


def causal_mask(tq: int, tk: int) -> np.ndarray:
    """Keras' causal mask ``(tq, tk)``: query i sees key j when ``i >= j``."""
    return np.arange(tq)[:, None] >= np.arange(tk)[None, :]


@blas.in_single_thread
def attention_forward(q, k, v, scale: float, mask=None, drop=None):
    """``(out, P, ctx)``: ``out = dropout(softmax(q k^T scale, mask)) v``; ``P`` the scores.

    ``mask`` broadcasts to ``(B, H, Tq, Tk)`` (True: attend), ``drop`` likewise (the
    dropout multipliers, 0 or ``1 / (1 - rate)``).
    """
    qs = q * q.dtype.type(scale)
    S = blas.bmm(qs, np.swapaxes(k, -1, -2))
    if mask is not None:
        np.copyto(S, q.dtype.type(_large_negative(q.dtype)), where=~mask)
    S -= S.max(axis=-1, keepdims=True)
    np.exp(S, out=S)
    S *= 1.0 / S.sum(axis=-1, keepdims=True)
    if mask is not None:
        np.copyto(S, 0, where=~mask)
    P = S
    Pd = P if drop is None else P * drop
    out = blas.bmm(Pd, v)
    return out, P, (qs, k, v, P, Pd, drop, scale, out)


@blas.in_single_thread
def attention_backward(ctx, d_out, d_scores=None):
    """``(dq, dk, dv)`` for the output gradient ``d_out`` (and the scores' ``d_scores``).

    The softmax's ``sum_j P_ij dP_ij`` is ``sum_d dO_id O_id`` (``O = Pd v``, dropout or
    not): a product over the value depth instead of over the keys.
    """
    qs, k, v, P, Pd, drop, scale, out = ctx
    dv = blas.bmm(np.swapaxes(Pd, -1, -2), d_out)
    dP = blas.bmm(d_out, np.swapaxes(v, -1, -2))
    if drop is not None:
        dP *= drop
    rowdot = np.einsum("...id,...id->...i", d_out, out)[..., None]
    if d_scores is not None:
        dP += d_scores
        rowdot = rowdot + np.einsum("...ij,...ij->...i", d_scores, P)[..., None]
    # softmax: dS = P * (dP - sum(dP * P)); masked entries have P = 0 and get none
    dS = dP
    dS -= rowdot
    dS *= P
    dq = blas.bmm(dS, k)
    dq *= qs.dtype.type(scale)
    dk = blas.bmm(np.swapaxes(dS, -1, -2), qs)
    return dq, dk, dv


def scores_layout(rank: int, attention_axes: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """For a projected tensor of ``rank`` (batch, inner axes..., heads, depth): the inner
    axes that are not attended over (``other``) and the attended ones (``attn``), sorted."""
    inner = list(range(1, rank - 2))
    attn = sorted(attention_axes)
    other = [a for a in inner if a not in attn]
    return other, attn


def flatten_axes(x: np.ndarray, attention_axes: tuple[int, ...]) -> np.ndarray:
    """A projected ``(B, inner..., H, D)`` as ``(B * other, H, tokens, D)`` (a view when it can be)."""
    rank = x.ndim
    other, attn = scores_layout(rank, attention_axes)
    perm = [0] + other + [rank - 2] + attn + [rank - 1]
    y = np.transpose(x, perm)
    b = x.shape[0] * math.prod(x.shape[a] for a in other)
    t = math.prod(x.shape[a] for a in attn)
    return y.reshape(b, x.shape[rank - 2], t, x.shape[rank - 1])


def unflatten_axes(y: np.ndarray, like_shape: tuple, attention_axes: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``flatten_axes`` for an array of shape ``like_shape`` (last axis may differ)."""
    rank = len(like_shape)
    other, attn = scores_layout(rank, attention_axes)
    perm = [0] + other + [rank - 2] + attn + [rank - 1]
    shape = [like_shape[a] for a in perm[:-1]] + [y.shape[-1]]
    inv = np.argsort(perm)
    return np.transpose(y.reshape(shape), inv)
