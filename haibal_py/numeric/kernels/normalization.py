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

from . import blas

__all__ = ["batch_norm_train_2d", "batch_norm_train_backward_2d", "moments", "standardize", "standardize_backward", "affine_inference", "rms_scale",
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


# ----------------------------------------------------------------------------- batch norm, channels last
# A (rows, C) input is processed in blocks of rows that fit in the CPU cache, by one thread
# per core: the statistics in ONE read of x (sums of x - s and (x - s)^2 around a shift s,
# the mean of the first block, so the variance does not cancel), the output in one more;
# the backward pass reads x and dy twice and writes dx once. Sums are accumulated in float64.
BLOCK_BYTES = 1 << 19


def _row_blocks(rows: int, cols: int, itemsize: int) -> list[tuple[int, int]]:
    step = max(1, BLOCK_BYTES // max(1, cols * itemsize))
    return [(a, min(a + step, rows)) for a in range(0, rows, step)]


def _split(blocks: list, parts: int) -> list[list]:
    cut = np.linspace(0, len(blocks), parts + 1).astype(int)
    return [blocks[a:b] for a, b in zip(cut[:-1], cut[1:]) if b > a]


def _in_threads(work, blocks: list, size: int) -> list:
    parts = _split(blocks, blas.CORES if size >= (1 << 18) else 1)
    if len(parts) == 1:
        return [work(parts[0])]
    jobs = [blas.submit(work, p) for p in parts[1:]]
    first = work(parts[0])
    return [first] + [j.result() for j in jobs]


def batch_norm_train_2d(x: np.ndarray, gamma, beta, epsilon: float):
    """``(y, mean, var, inv)`` of training-mode batch normalization of ``x (rows, C)``."""
    rows, cols = x.shape
    blocks = _row_blocks(rows, cols, x.itemsize)
    shift = x[blocks[0][0]:blocks[0][1]].mean(axis=0)

    def stats(part):
        s1 = np.zeros(cols)
        s2 = np.zeros(cols)
        for a, b in part:
            t = x[a:b] - shift
            s1 += t.sum(axis=0)
            s2 += np.einsum("ij,ij->j", t, t)
        return s1, s2

    parts = _in_threads(stats, blocks, x.size)
    s1 = sum(p[0] for p in parts)
    s2 = sum(p[1] for p in parts)
    d = s1 / rows
    mean64 = shift + d
    var64 = np.maximum(s2 / rows - d * d, 0.0)
    inv64 = 1.0 / np.sqrt(var64 + epsilon)
    k64 = inv64 if gamma is None else inv64 * gamma
    b64 = -mean64 * k64 + (0.0 if beta is None else beta)
    k, b = k64.astype(x.dtype), b64.astype(x.dtype)
    y = np.empty_like(x)

    def out(part):
        for a, c in part:
            yb = y[a:c]
            np.multiply(x[a:c], k, out=yb)
            yb += b
        return None

    _in_threads(out, blocks, x.size)
    dt = x.dtype
    return y, mean64.astype(dt), var64.astype(dt), inv64.astype(dt)


def batch_norm_train_backward_2d(dy: np.ndarray, x: np.ndarray, mean, inv, gamma, need_dx: bool):
    """``(dx, dgamma, dbeta)`` of ``batch_norm_train_2d`` (``dx`` None unless ``need_dx``)."""
    rows, cols = x.shape
    blocks = _row_blocks(rows, cols, x.itemsize)
    m = mean.astype(x.dtype)

    def sums(part):
        sd = np.zeros(cols)
        sdx = np.zeros(cols)
        for a, b in part:
            t = x[a:b] - m
            sd += dy[a:b].sum(axis=0)
            sdx += np.einsum("ij,ij->j", dy[a:b], t)
        return sd, sdx

    parts = _in_threads(sums, blocks, x.size)
    dbeta = sum(p[0] for p in parts)
    sum_dy_xc = sum(p[1] for p in parts)
    inv64 = inv.astype(np.float64)
    dgamma = sum_dy_xc * inv64
    dx = None
    if need_dx:
        k = inv64 if gamma is None else inv64 * gamma
        # dx = k (dy - dbeta / n - xhat dgamma / n), xhat = (x - mean) inv
        a = k.astype(x.dtype)
        c = (-k * inv64 * dgamma / rows).astype(x.dtype)
        d = (-k * dbeta / rows).astype(x.dtype)
        dx = np.empty_like(x)

        def grad(part):
            for s, e in part:
                t = x[s:e] - m
                t *= c
                g = dx[s:e]
                np.multiply(dy[s:e], a, out=g)
                g += t
                g += d
            return None

        _in_threads(grad, blocks, x.size)
    return dx, dgamma.astype(x.dtype), dbeta.astype(x.dtype)
