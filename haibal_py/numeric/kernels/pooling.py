"""Max and average pooling of channels-last arrays (NWC, NHWC, NDHWC), forward and backward,
as Keras' TensorFlow backend computes them.

Windows use ``windows.ConvGeometry`` (dilation 1, "same" padded as TensorFlow does):

- max pooling pads with -inf, so padding never wins; the gradient of each window goes to
  its FIRST largest input in scan order (row-major over the window), as TensorFlow's 1-D
  and 2-D and PyTorch's pooling gradients do, or to EVERY tied maximum (``ties="all"``,
  TensorFlow's 3-D max pooling gradient), and is summed where windows overlap;
- average pooling divides by the number of real (unpadded) inputs in each window, as
  TensorFlow's "same" average pooling does.

Each piece of a few images is computed with one NumPy operation per window tap (a loop over
the pool's taps, never over pixels) on strided views, in buffers that stay in the caches;
pieces are shared between threads. Global pooling reduces every spatial axis; the
gradient of a global max is shared equally between tied maxima (TensorFlow's gradient of
``reduce_max``).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from ...errors import HaibalValueError
from . import parallel
from .windows import ConvGeometry, Window, split_pieces, tap_slices

__all__ = ["max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
           "window_counts", "global_pool_forward", "global_avg_backward", "global_max_backward"]

_PARALLEL_ELEMENTS = 1 << 20  # input values from which pieces are shared between threads


def _check(x: np.ndarray, geom: ConvGeometry, what: str) -> None:
    if x.ndim != geom.rank + 2 or tuple(x.shape[1:-1]) != geom.in_size:
        raise HaibalValueError(f"{what}: input of shape {x.shape} does not match the pooling's spatial "
                               f"shape {geom.in_size}")
    if any(d != 1 for d in geom.dilation):
        raise HaibalValueError(f"{what}: pooling windows are not dilated, got dilation {geom.dilation}")


def _disjoint(geom: ConvGeometry) -> bool:
    """Windows that neither overlap nor read padding: each input has at most one window."""
    return not geom.has_padding and all(s >= k for s, k in zip(geom.strides, geom.kernel))


def _shapes(geom: ConvGeometry, pieces):
    """The most images and output rows of any piece (the buffers' sizes)."""
    return max(p.n1 - p.n0 for p in pieces), max(p.r1 - p.r0 for p in pieces)


def max_pool_forward(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The largest value of each pooling window."""
    _check(x, geom, "max pooling")
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0],) + geom.out_size + (x.shape[-1],), x.dtype)
    pieces = split_pieces(x.shape[0], geom, x.shape[-1])
    images, rows = _shapes(geom, pieces)

    def work(shared):
        win = Window(geom, x.shape[-1], x.dtype, images, rows, fill=-np.inf)
        for p in shared:
            xl = win.load(x, p)
            yp = y[p.n0:p.n1, p.r0:p.r1]
            for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                v = xl[(slice(None),) + sl]
                if t == 0:
                    yp[...] = v
                else:
                    np.maximum(yp, v, out=yp)

    parallel.run_pieces(work, pieces, parallel.THREADS if x.size >= _PARALLEL_ELEMENTS else 1)
    return y


def max_pool_backward(x: np.ndarray, y: np.ndarray, dy: np.ndarray, geom: ConvGeometry,
                      ties: str = "first") -> np.ndarray:
    """dL/dx of ``max_pool_forward`` (``y`` its output) for the output gradient ``dy``.

    ``ties="first"``: each window's gradient goes to its first maximum in scan order
    (TensorFlow's 1-D and 2-D max pooling, PyTorch's); ``ties="all"``: to every input equal
    to the maximum (TensorFlow's 3-D max pooling gradient does this).
    """
    _check(x, geom, "max pooling backward")
    if ties not in ("first", "all"):
        raise HaibalValueError(f"max pooling backward: ties must be 'first' or 'all', got {ties!r}")
    first = ties == "first"
    x, y, dy = np.ascontiguousarray(x), np.ascontiguousarray(y), np.ascontiguousarray(dy, dtype=x.dtype)
    if dy.shape != y.shape:
        raise HaibalValueError(f"max pooling backward: output gradient of shape {dy.shape}, expected {y.shape}")
    dx = np.zeros_like(x)
    pieces = split_pieces(x.shape[0], geom, x.shape[-1])
    images, rows = _shapes(geom, pieces)
    disjoint = _disjoint(geom)
    lock = threading.Lock()
    taps = geom.taps

    def work(shared):
        win = Window(geom, x.shape[-1], x.dtype, images, rows, fill=-np.inf)
        dwin = None if disjoint else Window(geom, x.shape[-1], x.dtype, images, rows)
        shape = (images, rows) + geom.out_size[1:] + (x.shape[-1],)
        eq, free = np.empty(shape, bool), np.empty(shape, bool)
        mask = np.empty(shape, x.dtype)
        for p in shared:
            n = p.n1 - p.n0
            part = (slice(0, n), slice(0, p.r1 - p.r0))
            e, f, m = eq[part], free[part], mask[part]
            xl = win.load(x, p)
            yp, gp = y[p.n0:p.n1, p.r0:p.r1], dy[p.n0:p.n1, p.r0:p.r1]
            target = dx[p.n0:p.n1] if disjoint else dwin.zeros(p)
            if disjoint:
                lo = p.r0 * geom.strides[0]
                target = target[:, lo:]
            for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                idx = (slice(None),) + sl
                np.equal(xl[idx], yp, out=e)
                if first and t > 0:  # only windows whose maximum no earlier tap took
                    np.logical_and(e, f, out=e)
                if first and t == 0:
                    np.logical_not(e, out=f)
                elif first and t < taps - 1:
                    np.logical_xor(f, e, out=f)  # f & ~e, as e implies f
                np.copyto(m, e)  # bool -> float: far faster than a mixed-type multiply
                if disjoint:
                    np.multiply(gp, m, out=target[idx])
                else:
                    m *= gp
                    target[idx] += m
            if not disjoint:
                dwin.store(dx, target, p, lock)

    parallel.run_pieces(work, pieces, parallel.THREADS if x.size >= _PARALLEL_ELEMENTS else 1)
    return dx


def window_counts(geom: ConvGeometry) -> np.ndarray:
    """How many real (unpadded) inputs each output's window holds, shape ``out_size``."""
    counts = np.ones((), np.int64)
    for n, k, s, (before, _), out in zip(geom.in_size, geom.kernel, geom.strides, geom.pads, geom.out_size):
        start = np.arange(out) * s - before
        per_axis = np.minimum(start + k, n) - np.maximum(start, 0)
        counts = np.multiply.outer(counts, per_axis)
    return counts


def _inverse_counts(geom: ConvGeometry, dtype) -> np.ndarray | float:
    """1 / window size: a number without padding, else an array ``(*out_size, 1)``."""
    if not geom.has_padding:
        return 1.0 / geom.taps
    return (1.0 / window_counts(geom)).astype(dtype)[..., None]


def avg_pool_forward(x: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """The mean of each pooling window's real inputs."""
    _check(x, geom, "average pooling")
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0],) + geom.out_size + (x.shape[-1],), x.dtype)
    pieces = split_pieces(x.shape[0], geom, x.shape[-1])
    images, rows = _shapes(geom, pieces)
    inv = _inverse_counts(geom, x.dtype)

    def work(shared):
        win = Window(geom, x.shape[-1], x.dtype, images, rows)
        for p in shared:
            xl = win.load(x, p)
            yp = y[p.n0:p.n1, p.r0:p.r1]
            for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                v = xl[(slice(None),) + sl]
                if t == 0:
                    yp[...] = v
                else:
                    yp += v
            yp *= inv if np.ndim(inv) == 0 else inv[p.r0:p.r1]

    parallel.run_pieces(work, pieces, parallel.THREADS if x.size >= _PARALLEL_ELEMENTS else 1)
    return y


def avg_pool_backward(dy: np.ndarray, geom: ConvGeometry, x_shape) -> np.ndarray:
    """dL/dx of ``avg_pool_forward`` for the output gradient ``dy`` (``x_shape``: the input's shape)."""
    x_shape = tuple(x_shape)
    if len(x_shape) != geom.rank + 2 or x_shape[1:-1] != geom.in_size:
        raise HaibalValueError(f"average pooling backward: input shape {x_shape} does not match the "
                               f"pooling's spatial shape {geom.in_size}")
    expected = (x_shape[0],) + geom.out_size + (x_shape[-1],)
    if dy.shape != expected:
        raise HaibalValueError(f"average pooling backward: output gradient of shape {dy.shape}, expected {expected}")
    dy = np.ascontiguousarray(dy)
    dx = np.zeros(x_shape, dy.dtype)
    pieces = split_pieces(x_shape[0], geom, x_shape[-1])
    images, rows = _shapes(geom, pieces)
    inv = _inverse_counts(geom, dy.dtype)
    disjoint = _disjoint(geom)
    lock = threading.Lock()

    def work(shared):
        dwin = None if disjoint else Window(geom, x_shape[-1], dy.dtype, images, rows)
        scaled = np.empty((images, rows) + geom.out_size[1:] + (x_shape[-1],), dy.dtype)
        for p in shared:
            g = scaled[:p.n1 - p.n0, :p.r1 - p.r0]
            np.multiply(dy[p.n0:p.n1, p.r0:p.r1], inv if np.ndim(inv) == 0 else inv[p.r0:p.r1], out=g)
            if disjoint:
                target = dx[p.n0:p.n1, p.r0 * geom.strides[0]:]
            else:
                target = dwin.zeros(p)
            for sl in tap_slices(geom, p.r1 - p.r0):
                idx = (slice(None),) + sl
                if disjoint:
                    target[idx] = g
                else:
                    target[idx] += g
            if not disjoint:
                dwin.store(dx, target, p, lock)

    parallel.run_pieces(work, pieces, parallel.THREADS if dx.size >= _PARALLEL_ELEMENTS else 1)
    return dx


# ---------------------------------------------------------------------- global pooling
def global_pool_forward(x: np.ndarray, mode: str, keepdims: bool = False) -> np.ndarray:
    """Mean ("average") or max ("max") over every spatial axis of ``(batch, *spatial, channels)``."""
    axes = tuple(range(1, x.ndim - 1))
    if mode == "average":
        return np.mean(x, axis=axes, keepdims=keepdims)
    if mode == "max":
        return np.max(x, axis=axes, keepdims=keepdims)
    raise HaibalValueError(f"global pooling mode must be 'average' or 'max', got {mode!r}")


def global_avg_backward(dy: np.ndarray, x_shape) -> np.ndarray:
    """dL/dx of a global average over the spatial axes of inputs of ``x_shape`` (``dy`` with or
    without kept axes): every input gets its window's gradient over the window's size."""
    x_shape = tuple(x_shape)
    keep = (x_shape[0],) + (1,) * (len(x_shape) - 2) + (x_shape[-1],)
    scaled = np.reshape(dy, keep) * (1.0 / math.prod(x_shape[1:-1]))
    return np.ascontiguousarray(np.broadcast_to(scaled, x_shape))


def global_max_backward(x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx of a global max (``y`` its output): shared equally between tied maxima."""
    keep = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    hit = x == np.reshape(y, keep)
    count = np.sum(hit, axis=tuple(range(1, x.ndim - 1)), keepdims=True)
    return hit * (np.reshape(dy, keep) / np.maximum(count, 1)).astype(x.dtype)
