"""Upsampling of channels-last arrays by integer factors, forward and backward.

- nearest: every value repeated ``size`` times along each spatial axis (Keras'
  ``ops.repeat``), one broadcast copy; its gradient sums each block of repeats.
- bilinear: TensorFlow's ``resize(..., "bilinear")`` with half-pixel centres and no
  antialiasing (what Keras' ``UpSampling2D(interpolation="bilinear")`` calls): output
  ``o`` of an axis reads ``src = (o + 0.5) / size - 0.5`` between inputs
  ``max(floor(src), 0)`` and ``min(ceil(src), n - 1)`` with weight ``src - floor(src)``.
  It is linear and separable, so each axis is one product with a small ``(n * size, n)``
  interpolation matrix and the gradient is the product with its transpose.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["upsample_nearest", "upsample_nearest_backward", "bilinear_matrix", "upsample_bilinear",
           "upsample_bilinear_backward"]


def upsample_nearest(x: np.ndarray, size) -> np.ndarray:
    """``x`` ``(batch, *spatial, channels)`` with each spatial axis ``i`` repeated ``size[i]`` times."""
    spatial = x.shape[1:-1]
    expand = (slice(None),) + (slice(None), None) * len(spatial) + (slice(None),)
    block = (x.shape[0],) + sum(((n, s) for n, s in zip(spatial, size)), ()) + (x.shape[-1],)
    out_shape = (x.shape[0],) + tuple(n * s for n, s in zip(spatial, size)) + (x.shape[-1],)
    return np.broadcast_to(x[expand], block).reshape(out_shape)  # one copy


def upsample_nearest_backward(dy: np.ndarray, size) -> np.ndarray:
    """dL/dx of ``upsample_nearest``: the sum of each block of repeats."""
    block = [dy.shape[0]]
    for n, s in zip(dy.shape[1:-1], size):
        block += [n // s, s]
    block.append(dy.shape[-1])
    return dy.reshape(block).sum(axis=tuple(range(2, 2 * len(size) + 1, 2)))


def bilinear_matrix(n: int, size: int, dtype) -> np.ndarray:
    """The ``(n * size, n)`` matrix of TensorFlow's half-pixel bilinear upsampling of one axis."""
    out = n * size
    src = (np.arange(out, dtype=np.float64) + 0.5) * (n / out) - 0.5
    floor = np.floor(src)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(src), n - 1).astype(np.int64)
    lerp = src - floor
    m = np.zeros((out, n), np.float64)
    rows = np.arange(out)
    np.add.at(m, (rows, lower), 1.0 - lerp)
    np.add.at(m, (rows, upper), lerp)
    return m.astype(dtype)


def _along(x: np.ndarray, axis: int, m: np.ndarray) -> np.ndarray:
    """``m @ x`` along ``axis`` of ``x`` (a product per leading index, no transposed copies)."""
    lead = math.prod(x.shape[:axis])
    rest = math.prod(x.shape[axis + 1:])
    out = np.matmul(m, x.reshape(lead, x.shape[axis], rest))
    return out.reshape(x.shape[:axis] + (m.shape[0],) + x.shape[axis + 1:])


def upsample_bilinear(x: np.ndarray, size) -> np.ndarray:
    """Bilinear upsampling of every spatial axis of ``x`` by the integer factors ``size``."""
    y = x
    for axis, s in enumerate(size, start=1):
        y = _along(y, axis, bilinear_matrix(x.shape[axis], s, x.dtype))
    return y


def upsample_bilinear_backward(dy: np.ndarray, size, x_shape) -> np.ndarray:
    """dL/dx of ``upsample_bilinear`` (inputs of shape ``x_shape``)."""
    dx = dy
    for axis, s in enumerate(size, start=1):
        dx = _along(dx, axis, np.ascontiguousarray(bilinear_matrix(x_shape[axis], s, dy.dtype).T))
    return dx
