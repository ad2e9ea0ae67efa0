"""Correlation metric functions (Keras 3 ``pearson_correlation`` / ``concordance_correlation``).

Both reduce along ``axis`` (one coefficient per sample for the default ``-1``), with
population (``ddof=0``) moments and Keras' ``epsilon`` (1e-7) in the denominators, so a
constant row gives 0 rather than NaN. Rows are processed in cache-sized tiles cast to
float64 (``blocks.row_values``): centred sums of squares and products from one read of
each input, in two threads for large inputs. The result has ``y_pred``'s float dtype
(float32 for lists and integers).
"""

from __future__ import annotations

import numpy as np

from ...errors import HaibalValueError
from .blocks import EPSILON, pair, reduced_axes, row_values, to_rows

__all__ = ["pearson_correlation", "concordance_correlation"]


def _moments(t: np.ndarray, p: np.ndarray):
    """Row means and centred second moments (population) of two float64 tiles."""
    n = t.shape[1]
    mt = t.sum(axis=1) / n
    mp = p.sum(axis=1) / n
    dt = t - mt[:, None]
    dp = p - mp[:, None]
    vt = np.einsum("ij,ij->i", dt, dt) / n
    vp = np.einsum("ij,ij->i", dp, dp) / n
    cov = np.einsum("ij,ij->i", dt, dp) / n
    return mt, mp, vt, vp, cov


def _pearson_rows(t, p):
    _, _, vt, vp, cov = _moments(t, p)
    return cov / ((np.sqrt(vt) + EPSILON) * (np.sqrt(vp) + EPSILON))


def _concordance_rows(t, p):
    mt, mp, vt, vp, cov = _moments(t, p)
    return 2.0 * cov / (vt + vp + (mt - mp) ** 2 + EPSILON)


def _per_sample(kernel, y_true, y_pred, axis, what: str) -> np.ndarray:
    try:
        true, pred, _, out_dtype = pair(y_true, y_pred)
    except HaibalValueError as exc:
        raise HaibalValueError(f"{what}: {exc}") from None
    try:
        axes = reduced_axes(axis, pred.ndim)
    except (HaibalValueError, TypeError, ValueError):
        raise HaibalValueError(f"{what}: axis {axis!r} is out of range for rank {pred.ndim}") from None
    t, outer = to_rows(true, axes)
    p, _ = to_rows(pred, axes)
    if t.shape[1] == 0:
        return np.full(outer, np.nan, dtype=out_dtype)
    return row_values(kernel, (t, p), np.dtype(np.float64)).reshape(outer).astype(out_dtype)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's r along ``axis``: ``mean(z(y_true) * z(y_pred))`` with ``z = (x - mean) / (std + eps)``."""
    return _per_sample(_pearson_rows, y_true, y_pred, axis, "pearson_correlation")


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance coefficient along ``axis``:
    ``2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))^2 + eps)``."""
    return _per_sample(_concordance_rows, y_true, y_pred, axis, "concordance_correlation")
