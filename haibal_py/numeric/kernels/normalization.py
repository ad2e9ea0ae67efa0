"""Normalization kernels: standardize over some axes, and the exact vector-Jacobian products.

Batch, layer and group normalization are one computation on a view of the input:
``xhat = (x - mean) / sqrt(var + eps)`` with ``mean`` and the biased ``var`` taken over
``axes`` (the others are kept), then a per-feature scale and offset. The backward pass of
standardization is the classic one:

    dx = inv * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))

(``mean`` over the same axes). Callers reshape their input so that the axes are simple
(batch norm: ``(rows, C)`` or ``(pre, C, post)``; group norm: ``(B, P, G, Cg, Q)``), which
costs no copy for C-contiguous arrays. Sums run in the input's dtype with NumPy's pairwise
summation; the two-pass variance never cancels.

``rms_scale`` is Keras 3's deprecated ``LayerNormalization(rms_scaling=True)``:
``x / sqrt(var(x) + eps)``, the input divided by its *centred* deviation but not centred.
"""

from __future__ import annotations

import numpy as np

__all__ = ["moments", "standardize", "standardize_backward", "affine_inference", "rms_scale",
           "rms_scale_backward", "reduce_to", "sum_product"]


def _count(x: np.ndarray, axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def sum_product(a: np.ndarray, b: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``sum(a * b)`` over ``axes`` (kept as size 1) without an ``a * b`` temporary when 2-D."""
    if a.ndim == 2 and axes == (0,):
        return np.einsum("ij,ij->j", a, b)[None, :]
    if a.ndim == 2 and axes == (1,):
        return np.einsum("ij,ij->i", a, b)[:, None]
    return np.sum(a * b, axis=axes, keepdims=True)


def moments(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, var, x - mean)`` over ``axes`` (kept as size 1), the variance biased (Keras')."""
    n = _count(x, axes)
    mean = np.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    var = sum_product(centred, centred, axes) / x.dtype.type(max(n, 1))
    return mean, var, centred


def standardize(x: np.ndarray, axes: tuple[int, ...], epsilon: float):
    """``(xhat, mean, var, inv)``: ``xhat = (x - mean) * inv`` with ``inv = 1 / sqrt(var + eps)``."""
    mean, var, xhat = moments(x, axes)
    inv = 1.0 / np.sqrt(var + x.dtype.type(epsilon))
    xhat *= inv
    return xhat, mean, var, inv


def standardize_backward(dxhat: np.ndarray, xhat: np.ndarray, inv: np.ndarray,
                         axes: tuple[int, ...]) -> np.ndarray:
    """dL/dx of ``standardize`` given dL/dxhat (``inv`` keeps the reduced axes as size 1)."""
    n = xhat.dtype.type(max(_count(xhat, axes), 1))
    mean_d = np.sum(dxhat, axis=axes, keepdims=True) / n
    mean_dx = sum_product(dxhat, xhat, axes) / n
    dx = xhat * mean_dx
    np.subtract(dxhat, dx, out=dx)
    dx -= mean_d
    dx *= inv
    return dx


def affine_inference(x: np.ndarray, mean: np.ndarray, var: np.ndarray, gamma, beta, epsilon: float):
    """``(y, inv)`` for fixed statistics: ``y = x * (gamma * inv) + (beta - mean * gamma * inv)``."""
    inv = 1.0 / np.sqrt(var + x.dtype.type(epsilon))
    scale = inv if gamma is None else inv * gamma
    shift = -mean * scale
    if beta is not None:
        shift = shift + beta
    y = x * scale
    y += shift
    return y, inv


def rms_scale(x: np.ndarray, axes: tuple[int, ...], epsilon: float):
    """``(x * inv, inv, mean)`` with ``inv = 1 / sqrt(var(x) + eps)`` over ``axes``."""
    mean, var, _ = moments(x, axes)
    inv = 1.0 / np.sqrt(var + x.dtype.type(epsilon))
    return x * inv, inv, mean


def rms_scale_backward(ds: np.ndarray, x: np.ndarray, inv: np.ndarray, mean: np.ndarray,
                       axes: tuple[int, ...]) -> np.ndarray:
    """dL/dx of ``s = x * inv`` (``inv`` depends on x through the variance)."""
    n = x.dtype.type(max(_count(x, axes), 1))
    # d inv / d x_j = -inv^3 (x_j - mean) / n
    coef = sum_product(ds, x, axes) * inv ** 3 / n
    dx = ds * inv
    dx -= (x - mean) * coef
    return dx


def reduce_to(a: np.ndarray, axes: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """``a`` summed over ``axes`` and reshaped to a weight's ``shape``."""
    return np.sum(a, axis=axes).reshape(shape)
