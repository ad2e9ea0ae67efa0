"""Regression losses (Keras 3 names, signatures and formulas), reduced along the last axis.

Each kernel turns a tile of ``(t, p)`` rows into per-row sums; ``blocks.mean_of`` divides
by the row length. ``y_true`` takes ``y_pred``'s dtype, as in Keras.
"""

from __future__ import annotations

import numpy as np

from ...errors import HaibalValueError
from . import fastmath
from .blocks import EPSILON, mean_of, pair, reduced_axes, row_sums, to_rows

__all__ = [
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh",
]


def _sq(t, p):
    d = p - t
    return np.einsum("ij,ij->i", d, d)


def _abs(t, p):
    d = p - t
    return np.abs(d, out=d).sum(axis=1)


def _ape(t, p):
    eps = p.dtype.type(EPSILON)
    d = np.abs(t - p)
    d /= np.maximum(np.abs(t), eps)
    return d.sum(axis=1)


def _sle(t, p):
    eps = p.dtype.type(EPSILON)
    d = fastmath.log1p(np.maximum(p, eps)) - fastmath.log1p(np.maximum(t, eps))
    return np.einsum("ij,ij->i", d, d)


def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``."""
    return mean_of(_sq, y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    return mean_of(_abs, y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), 1e-7)), axis=-1)``."""
    return mean_of(_ape, y_true, y_pred, scale=100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)`` (via log1p)."""
    return mean_of(_sle, y_true, y_pred)


def _huber_kernel(delta: float):
    def kernel(t, p):
        d = p.dtype.type(delta)
        e = np.subtract(p, t)
        np.abs(e, out=e)
        quad = np.minimum(e, d)  # |e| up to delta: 0.5 e^2; beyond: delta |e| - 0.5 delta^2
        half = quad * p.dtype.type(0.5)
        np.subtract(e, half, out=e)
        return np.einsum("ij,ij->i", quad, e)
    return kernel


def huber(y_true, y_pred, delta=1.0):
    """Huber loss: ``0.5 e^2`` where ``|e| <= delta``, else ``delta |e| - 0.5 delta^2``; mean along -1.

    Written as ``m (|e| - m / 2)`` with ``m = min(|e|, delta)``, which is both branches at once.
    """
    delta = float(delta)
    if not delta >= 0:
        raise HaibalValueError(f"delta must be >= 0, got {delta!r}")
    return mean_of(_huber_kernel(delta), y_true, y_pred)


def _logcosh(t, p):
    return fastmath.log_cosh(p - t).sum(axis=1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, accurate for small and large errors alike."""
    return mean_of(_logcosh, y_true, y_pred)


def _cosine_stats(t, p):
    return np.einsum("ij,ij->i", t, p), np.einsum("ij,ij->i", t, t), np.einsum("ij,ij->i", p, p)


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``, Keras' sign.

    ``l2_normalize`` is Keras 3's: ``x * min(1 / sqrt(sum(x^2)), 1 / 1e-7)``, so a zero
    vector gives 0 rather than NaN.
    """
    true, pred, work, out_dtype = pair(y_true, y_pred)
    axes = reduced_axes(axis, pred.ndim)
    t, outer = to_rows(true, axes)
    p, _ = to_rows(pred, axes)
    dot, tt, pp = row_sums(_cosine_stats, (t, p), work, 3)
    # per-row scalars: computed in the working dtype, as Keras does
    dot, tt, pp = (v.astype(work) for v in (dot, tt, pp))
    cap = work.type(1.0 / EPSILON)
    with np.errstate(divide="ignore"):
        inv_t = np.minimum(work.type(1) / np.sqrt(tt), cap)
        inv_p = np.minimum(work.type(1) / np.sqrt(pp), cap)
    return (-(dot * inv_t * inv_p)).reshape(outer).astype(out_dtype)


# Keras' short names (keras.losses.get / legacy aliases)
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh
