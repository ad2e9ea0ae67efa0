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

from dataclasses import dataclass

import numpy as np

from . import blas, engine

__all__ = ["BatchNormTape", "batch_norm_train_2d", "batch_norm_train_backward_2d", "moments", "standardize", "standardize_backward", "affine_inference", "rms_scale",
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
# A (rows, C) input is processed in blocks of rows shared by one thread per core. What makes
# it fast in NumPy (measured on 1M float32 values, one core):
# - every elementwise operation is a 1-D operation on a block's flat view, the per-channel
#   vectors tiled once to a block's length: a (rows, C) op broadcasting a (C,) vector runs
#   NumPy's iterator over runs of C values (0.23 ms), the flat one its contiguous loop (0.13 ms);
# - every sum over rows is a BLAS product ``ones @ block`` (0.055 ms; ``sum(axis=0)`` takes
#   0.3 ms for C = 64 and einsum 0.5 ms);
# - the forward pass keeps ``t = x - shift`` (``shift`` the first block's mean, so the
#   one-pass variance does not cancel) and the backward pass reuses it: forward is 6 passes
#   (t, two sums, t * t, the output's product and sum), backward 7.
# Blocks' partial sums are kept per block and added in block order in float64: the results
# do not depend on which thread took which block.
BLOCK_ELEMENTS = 1 << 17
_THREAD_ELEMENTS = 1 << 17          # input per thread (the blocks are shared from two threads' worth)


@dataclass
class BatchNormTape:
    """What ``batch_norm_train_2d`` keeps for its backward pass: ``t = x - shift`` and
    ``d = mean - shift`` (float64), the blocks, the inverse deviation (float64)."""

    t: np.ndarray
    d: np.ndarray
    inv: np.ndarray
    blocks: list


def _blocks(rows: int, cols: int) -> list[tuple[int, int]]:
    step = max(1, BLOCK_ELEMENTS // max(1, cols))
    return [(a, min(a + step, rows)) for a in range(0, rows, step)]


def _tiled(v, rows: int, dtype) -> np.ndarray:
    """A per-channel vector repeated for ``rows`` rows, flat, in ``dtype``."""
    return np.tile(np.asarray(v, dtype=dtype), rows)


def _flat(a: np.ndarray, r0: int, r1: int) -> np.ndarray:
    return a[r0:r1].reshape(-1)


def _blockwise(work, blocks: list, size: int) -> None:
    engine.run(work, blocks, size, _THREAD_ELEMENTS)


@blas.in_single_thread
def batch_norm_train_2d(x: np.ndarray, gamma, beta, epsilon: float):
    """``(y, mean, var, inv, tape)`` of training-mode batch normalization of ``x (rows, C)``."""
    x = np.ascontiguousarray(x)
    rows, cols = x.shape
    dt = x.dtype
    blocks = _blocks(rows, cols)
    step = blocks[0][1] - blocks[0][0]
    ones = np.ones(step, dt)
    shift = (ones @ x[:step]) / dt.type(step)
    shift_t = _tiled(shift, step, dt)
    t = np.empty(x.shape, dt)
    part1 = np.empty((len(blocks), cols), dt)
    part2 = np.empty((len(blocks), cols), dt)
    order = {b: i for i, b in enumerate(blocks)}

    def stats(shared):
        sq = np.empty((step, cols), dt)
        for a, b in shared:
            n, i = b - a, order[(a, b)]
            tb = t[a:b]
            np.subtract(_flat(x, a, b), shift_t[:n * cols], out=tb.reshape(-1))
            np.matmul(ones[:n], tb, out=part1[i])
            np.multiply(tb, tb, out=sq[:n])
            np.matmul(ones[:n], sq[:n], out=part2[i])

    _blockwise(stats, blocks, x.size)
    s1 = part1.sum(axis=0, dtype=np.float64)
    s2 = part2.sum(axis=0, dtype=np.float64)
    d = s1 / rows
    mean64 = shift + d
    var64 = np.maximum(s2 / rows - d * d, 0.0)
    inv64 = 1.0 / np.sqrt(var64 + epsilon)
    k64 = inv64 if gamma is None else inv64 * gamma
    b64 = -d * k64 + (0.0 if beta is None else beta)       # y = t k + b
    k_t, b_t = _tiled(k64, step, dt), _tiled(b64, step, dt)
    y = np.empty(x.shape, dt)

    def out(shared):
        for a, c in shared:
            m = (c - a) * cols
            yb = _flat(y, a, c)
            np.multiply(_flat(t, a, c), k_t[:m], out=yb)
            yb += b_t[:m]

    _blockwise(out, blocks, x.size)
    return y, mean64.astype(dt), var64.astype(dt), inv64.astype(dt), BatchNormTape(t, d, inv64, blocks)


@blas.in_single_thread
def batch_norm_train_backward_2d(dy: np.ndarray, tape: BatchNormTape, gamma, need_dx: bool):
    """``(dx, dgamma, dbeta)`` of ``batch_norm_train_2d`` (``dx`` None unless ``need_dx``)."""
    t, blocks = tape.t, tape.blocks
    rows, cols = t.shape
    dt = t.dtype
    dy = np.ascontiguousarray(dy, dtype=dt)
    step = blocks[0][1] - blocks[0][0]
    ones = np.ones(step, dt)
    part1 = np.empty((len(blocks), cols), dt)
    part2 = np.empty((len(blocks), cols), dt)
    order = {b: i for i, b in enumerate(blocks)}

    def sums(shared):
        prod = np.empty((step, cols), dt)
        for a, b in shared:
            n, i = b - a, order[(a, b)]
            np.matmul(ones[:n], dy[a:b], out=part1[i])
            np.multiply(dy[a:b], t[a:b], out=prod[:n])
            np.matmul(ones[:n], prod[:n], out=part2[i])

    _blockwise(sums, blocks, t.size)
    dbeta = part1.sum(axis=0, dtype=np.float64)
    s_dt = part2.sum(axis=0, dtype=np.float64) - tape.d * dbeta     # sum(dy (x - mean))
    inv64 = tape.inv
    dgamma = s_dt * inv64
    dx = None
    if need_dx:
        k = inv64 if gamma is None else inv64 * gamma
        # dx = k (dy - dbeta / n - xhat dgamma / n), xhat = (x - mean) inv = (t - d) inv
        c = -k * inv64 * dgamma / rows
        e = -k * dbeta / rows - c * tape.d
        a_t, c_t, e_t = _tiled(k, step, dt), _tiled(c, step, dt), _tiled(e, step, dt)
        dx = np.empty(t.shape, dt)

        def grad(shared):
            scratch = np.empty(step * cols, dt)
            for s, f in shared:
                m = (f - s) * cols
                g, tmp = _flat(dx, s, f), scratch[:m]
                np.multiply(_flat(dy, s, f), a_t[:m], out=g)
                np.multiply(_flat(t, s, f), c_t[:m], out=tmp)
                g += tmp
                g += e_t[:m]

        _blockwise(grad, blocks, t.size)
    return dx, dgamma.astype(dt), dbeta.astype(dt)
