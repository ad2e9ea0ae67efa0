"""Correlation metric functions (Keras 3 ``pearson_correlation`` / ``concordance_correlation``).

Both reduce along ``axis`` (one coefficient per sample for the default ``-1``), with
population (``ddof=0``) moments and Keras' ``epsilon`` (1e-7) in the denominators, so a
constant row gives 0 rather than NaN. Moments are taken in float64 and the result is
returned in ``y_pred``'s float dtype (float32 for lists and integers).
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_float_array, result_dtype
from ..errors import HaibalValueError
from ..loss_base import squeeze_or_expand_to_same_rank
from .blocks import EPSILON

__all__ = ["pearson_correlation", "concordance_correlation"]


def _pair(y_true, y_pred, axis, what: str):
    yp = as_float_array(y_pred, "y_pred")
    yt = as_float_array(y_true, "y_true")
    dtype = result_dtype(yp.dtype)
    yt, yp = squeeze_or_expand_to_same_rank(yt.astype(np.float64), yp.astype(np.float64))
    if yt.shape != yp.shape:
        raise HaibalValueError(f"{what}: y_true shape {yt.shape} does not match y_pred shape {yp.shape}")
    if yp.ndim == 0:
        raise HaibalValueError(f"{what} needs at least one axis, got scalars")
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    try:
        axes = tuple(int(a) % yp.ndim if -yp.ndim <= int(a) < yp.ndim else None for a in axes)
    except (TypeError, ValueError):
        raise HaibalValueError(f"{what}: axis must be an int or a tuple of ints, got {axis!r}") from None
    if None in axes:
        raise HaibalValueError(f"{what}: axis {axis!r} is out of range for rank {yp.ndim}")
    return yt, yp, axes, dtype


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's r along ``axis``: ``mean(z(y_true) * z(y_pred))`` with ``z = (x - mean) / (std + eps)``."""
    yt, yp, axes, dtype = _pair(y_true, y_pred, axis, "pearson_correlation")
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = yt - yt.mean(axis=axes, keepdims=True)
        dp = yp - yp.mean(axis=axes, keepdims=True)
        zt = dt / (np.sqrt((dt * dt).mean(axis=axes, keepdims=True)) + EPSILON)
        zp = dp / (np.sqrt((dp * dp).mean(axis=axes, keepdims=True)) + EPSILON)
        return np.asarray((zt * zp).mean(axis=axes), dtype=dtype)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance coefficient along ``axis``:
    ``2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))^2 + eps)``."""
    yt, yp, axes, dtype = _pair(y_true, y_pred, axis, "concordance_correlation")
    with np.errstate(invalid="ignore", divide="ignore"):
        mt = yt.mean(axis=axes, keepdims=True)
        mp = yp.mean(axis=axes, keepdims=True)
        dt, dp = yt - mt, yp - mp
        norm = (dt * dt).mean(axis=axes, keepdims=True) + (dp * dp).mean(axis=axes, keepdims=True) + (mt - mp) ** 2
        return np.asarray((2.0 * dt * dp / (norm + EPSILON)).mean(axis=axes), dtype=dtype)
