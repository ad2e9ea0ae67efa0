"""Upsampling of channels-last arrays by integer factors, forward and backward.

- nearest: every value repeated ``size`` times along each spatial axis (Keras'
  ``ops.repeat``), one broadcast copy; its gradient sums each block of repeats.
- bilinear: TensorFlow's ``resize(..., "bilinear")`` with half-pixel centres and no
  antialiasing (what Keras' ``UpSampling2D(interpolation="bilinear")`` calls): output
  ``o`` of an axis reads ``src = (o + 0.5) / size - 0.5`` between inputs
  ``max(floor(src), 0)`` and ``min(ceil(src), n - 1)`` with weight ``src - floor(src)``,
  axis by axis (two gathers and a multiply-add); the gradient adds each phase of the outputs
  (every ``size``-th one) to two shifted slices of the input gradient.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["upsample_nearest", "upsample_nearest_backward", "upsample_bilinear", "upsample_bilinear_backward"]


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


def _plan(n: int, size: int):
    """For the ``n * size`` outputs of one axis: the input below and above each one, and the
    weight of the one above (TensorFlow's half-pixel rule, clamped at the edges)."""
    out = n * size
    src = (np.arange(out, dtype=np.float64) + 0.5) * (n / out) - 0.5
    floor = np.floor(src)
    lower = np.maximum(floor, 0).astype(np.intp)
    upper = np.minimum(np.ceil(src), n - 1).astype(np.intp)
    return lower, upper, src - floor


def _shaped(w: np.ndarray, axis: int, ndim: int, dtype) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = w.size
    return w.astype(dtype).reshape(shape)


def upsample_bilinear(x: np.ndarray, size) -> np.ndarray:
    """Bilinear upsampling of every spatial axis of ``x`` by the integer factors ``size``:
    the last spatial axis first, each output ``low + (high - low) * weight`` as TensorFlow's
    resize kernel computes it."""
    y = x
    for axis in range(x.ndim - 2, 0, -1):
        lower, upper, lerp = _plan(x.shape[axis], size[axis - 1])
        low = np.take(y, lower, axis=axis)
        high = np.take(y, upper, axis=axis)
        high -= low
        high *= _shaped(lerp, axis, x.ndim, x.dtype)
        low += high
        y = low
    return y


def upsample_bilinear_backward(dy: np.ndarray, size, x_shape) -> np.ndarray:
    """dL/dx of ``upsample_bilinear`` (inputs of shape ``x_shape``). Along an axis upsampled
    ``s`` times, the outputs ``s * i + r`` of one phase ``r`` all read inputs ``i + floor(c)``
    and ``i + ceil(c)`` (clamped to the edges) with the same weight, ``c = (r + 0.5) / s - 0.5``:
    each phase adds its gradient to two shifted slices of dx."""
    dx = dy
    for axis in range(1, len(x_shape) - 1):
        n, s = x_shape[axis], size[axis - 1]
        out = np.zeros(dx.shape[:axis] + (n,) + dx.shape[axis + 1:], dx.dtype)
        for r in range(s):
            c = (r + 0.5) / s - 0.5
            lo, hi = math.floor(c), math.ceil(c)
            w = c - lo
            g = dx[(slice(None),) * axis + (slice(r, None, s),)]
            _add_shifted(out, g, lo, 1.0 - w, axis)
            if w:
                _add_shifted(out, g, hi, w, axis)
        dx = out
    return dx


def _add_shifted(out: np.ndarray, g: np.ndarray, shift: int, weight: float, axis: int) -> None:
    """``out[clip(i + shift)] += weight * g[i]`` along ``axis`` (shift -1, 0 or 1)."""
    n = out.shape[axis]
    lead = (slice(None),) * axis
    scaled = g * g.dtype.type(weight)
    if shift == 0 or n == 1:
        out += scaled  # (one input: every output reads it)
        return
    if shift < 0:
        out[lead + (slice(0, n - 1),)] += scaled[lead + (slice(1, n),)]
        out[lead + (slice(0, 1),)] += scaled[lead + (slice(0, 1),)]
    else:
        out[lead + (slice(1, n),)] += scaled[lead + (slice(0, n - 1),)]
        out[lead + (slice(n - 1, n),)] += scaled[lead + (slice(n - 1, n),)]
