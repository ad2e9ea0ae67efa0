"""Gradient clipping as Keras 3 does it (same formulas, same operation order).

Each function returns new arrays (the caller's gradients are never written to) in the
gradients' own dtype; ``None`` entries stay ``None``.
"""

from __future__ import annotations

import numpy as np


def clip_by_norm(grad: np.ndarray, clipnorm: float) -> np.ndarray:
    """``grad * clipnorm / max(norm(grad), clipnorm)`` (``tf.clip_by_norm``)."""
    dt = grad.dtype
    c = dt.type(clipnorm)
    l2sum = np.sum(np.square(grad))
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return (grad * c) / np.maximum(l2norm, c)


def clip_by_global_norm(grads: list, global_clipnorm: float) -> list:
    """Every gradient times ``clipnorm * min(1 / global_norm, 1 / clipnorm)``.

    Keras' form: the scale is ``clipnorm * (1 / clipnorm)`` (not exactly 1 in float32 for
    every clipnorm) when the norm is below the threshold, and NaN for a non-finite norm.
    """
    present = [g for g in grads if g is not None]
    dt = np.result_type(*present)
    squared = np.stack([np.sum(np.square(g)) for g in present]).astype(dt, copy=False)
    norm = np.sqrt(np.sum(squared))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale_for_finite = dt.type(global_clipnorm) * np.minimum(dt.type(1.0) / norm, dt.type(1.0 / global_clipnorm))
        scale = scale_for_finite + (norm - norm)
    return [None if g is None else g * scale.astype(g.dtype) for g in grads]


def clip_by_value(grad: np.ndarray, clipvalue: float) -> np.ndarray:
    """``clip(grad, -clipvalue, clipvalue)``."""
    c = grad.dtype.type(clipvalue)
    return np.clip(grad, -c, c)
