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
from dataclasses import dataclass

import numpy as np

from ...errors import HaibalValueError
from . import engine
from .windows import ConvGeometry, Window, split_pieces, tap_slices

__all__ = ["MaxPoolTape", "max_pool_forward", "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
           "window_counts", "global_pool_forward", "global_avg_backward", "global_max_backward"]

_PARALLEL_ELEMENTS = 1 << 19  # input values per thread (pieces are shared from two threads' worth)


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


@dataclass
class MaxPoolTape:
    """What a training forward pass keeps for the backward pass of disjoint windows: for each
    fold (one per spatial axis, the last axis first) and each tap after the first, where that
    tap won (a bool array of the fold's output shape). About a quarter of the input's bytes
    for 2 x 2 windows; it spares the backward pass every comparison."""

    masks: list[list[np.ndarray]]


def max_pool_forward(x: np.ndarray, geom: ConvGeometry, keep: bool = False):
    """The largest value of each pooling window; with ``keep``, ``(y, tape)`` where ``tape``
    (a ``MaxPoolTape``, or None for overlapping or padded windows) speeds up the backward pass."""
    _check(x, geom, "max pooling")
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0],) + geom.out_size + (x.shape[-1],), x.dtype)
    tree = _disjoint(geom)
    pieces = split_pieces(x.shape[0], geom, geom.taps * x.shape[-1], _TREE_PIECE_ELEMENTS if tree else None)
    images, rows = _shapes(geom, pieces)
    tape = None
    if keep and tree:
        tape = MaxPoolTape([[np.empty(shape, bool) for _ in range(k - 1)]
                            for shape, k in zip(_fold_shapes(geom, x.shape[0], geom.out_size[0], x.shape[-1]),
                                                _fold_taps(geom))])

    def work(shared):
        if tree:
            bufs = _Buffers()
        else:
            win = Window(geom, x.shape[-1], x.dtype, images, rows, fill=-np.inf)
        for p in shared:
            yp = y[p.n0:p.n1, p.r0:p.r1]
            if tree:
                masks = None if tape is None else _piece_masks(tape.masks, geom, p)
                _tree_forward(_region(x, geom, p), geom, _piece_shapes(geom, p, x.shape[-1]), bufs, masks, yp)
                continue
            xl = win.load(x, p)
            for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                v = xl[(slice(None),) + sl]
                if t == 0:
                    yp[...] = v
                else:
                    np.maximum(yp, v, out=yp)

    engine.run(work, pieces, x.size, _PARALLEL_ELEMENTS)
    return (y, tape) if keep else y


def max_pool_backward(x: np.ndarray, y: np.ndarray, dy: np.ndarray, geom: ConvGeometry,
                      ties: str = "first", tape: MaxPoolTape | None = None) -> np.ndarray:
    """dL/dx of ``max_pool_forward`` (``y`` its output, ``tape`` what it kept) for the output
    gradient ``dy``.

    ``ties="first"``: each window's gradient goes to its first maximum in scan order
    (TensorFlow's 1-D and 2-D max pooling, PyTorch's); ``ties="all"``: to every input equal
    to the maximum (TensorFlow's 3-D max pooling gradient does this).
    """
    _check(x, geom, "max pooling backward")
    if ties not in ("first", "all"):
        raise HaibalValueError(f"max pooling backward: ties must be 'first' or 'all', got {ties!r}")
    x, y, dy = np.ascontiguousarray(x), np.ascontiguousarray(y), np.ascontiguousarray(dy, dtype=x.dtype)
    if dy.shape != y.shape:
        raise HaibalValueError(f"max pooling backward: output gradient of shape {dy.shape}, expected {y.shape}")
    first = ties == "first"
    tree = first and _disjoint(geom)
    pieces = split_pieces(x.shape[0], geom, geom.taps * x.shape[-1], _TREE_PIECE_ELEMENTS if tree else None)
    images, rows = _shapes(geom, pieces)
    threads = engine.thread_count(len(pieces), x.size, _PARALLEL_ELEMENTS)
    tiled = all(s == k and (o - 1) * s + k == n for n, k, s, o in zip(geom.in_size, geom.kernel, geom.strides,
                                                                         geom.out_size))
    dx = np.empty_like(x) if first and tiled else np.zeros_like(x)  # tiling windows write every input
    if tree:
        def tree_work(shared):
            bufs = _Buffers()
            for p in shared:
                shapes = _piece_shapes(geom, p, x.shape[-1])
                if tape is None:  # no tape: the comparisons again, into buffers of this thread
                    masks = [[bufs.get(("tape", level, t), shape, bool) for t in range(k - 1)]
                             for level, (shape, k) in enumerate(zip(shapes, _fold_taps(geom)))]
                    _tree_forward(_region(x, geom, p), geom, shapes, bufs, masks,
                                  bufs.get("y", shapes[-1], x.dtype))
                else:
                    masks = _piece_masks(tape.masks, geom, p)
                _tree_backward(geom, shapes, masks, dy[p.n0:p.n1, p.r0:p.r1], _used(dx, geom, p), bufs)

        engine.share(tree_work, pieces, threads)
        return dx
    taps = geom.taps

    def work(shared):
        win = Window(geom, x.shape[-1], x.dtype, images, rows, fill=-np.inf)
        dwin = Window(geom, x.shape[-1], x.dtype, images, rows)
        shape = (images, rows) + geom.out_size[1:] + (x.shape[-1],)
        eq, free = np.empty(shape, bool), np.empty(shape, bool)
        mask = np.empty(shape, x.dtype)
        for p in shared:
            n = p.n1 - p.n0
            part = (slice(0, n), slice(0, p.r1 - p.r0))
            e, f, m = eq[part], free[part], mask[part]
            xl = win.load(x, p)
            yp, gp = y[p.n0:p.n1, p.r0:p.r1], dy[p.n0:p.n1, p.r0:p.r1]
            local = dwin.zeros(p)
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
                m *= gp
                local[idx] += m
            dwin.store(dx, local, p)

    engine.run_phases(work, pieces, threads)
    return dx


# ---------------------------------------------------------------------- the folds of disjoint windows
# Disjoint windows without padding (the usual pool_size == strides) take their maximum axis by
# axis, last spatial axis first: a left-biased fold over the taps of one axis (a later tap wins
# only when strictly greater), then over the next axis. That finds each window's first
# maximum in row-major order, and the backward pass routes the gradient back down the same
# folds: per tap one product with its "won" mask and one subtraction, with no bookkeeping of
# which windows are already taken.
#
# Every NumPy operation here runs on whole contiguous (1-D) arrays: an operation on strided
# views (a tap's windows along an axis) takes NumPy's general iterator, 2.5-3x slower per
# value than its contiguous loop, while a strided *copy* costs no more than a contiguous one.
# So a fold compares and maxes the flat source with itself shifted by one tap (``step`` values,
# the distance between neighbours along the folded axis): the results are right at every
# window's first position and meaningless in between, and one strided copy gathers the
# windows' values (and masks) into the compact output. The backward pass computes each tap's
# share in contiguous buffers and copies it into the tap's strided view. (Measured, 2 x 2
# windows on (64, 32, 32, 64) float32, one core: 9 ms of CPU with the strided operations,
# about 6 ms so.)
_TREE_PIECE_ELEMENTS = 1 << 19  # input values per piece (2 MiB of float32; measured best from 1 << 16 to 1 << 21)


class _Buffers:
    """Flat scratch arrays of one thread, grown on demand and reused piece after piece."""

    def __init__(self):
        self._bufs: dict = {}

    def get(self, key, shape, dtype) -> np.ndarray:
        size = math.prod(shape)
        buf = self._bufs.get(key)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._bufs[key] = np.empty(max(size, 1), dtype)
        return buf[:size].reshape(shape)


def _fold_taps(geom: ConvGeometry) -> list[int]:
    """The taps of each fold (the last spatial axis first)."""
    return [geom.kernel[axis] for axis in range(geom.rank - 1, -1, -1)]


def _fold_shapes(geom: ConvGeometry, images: int, rows: int, channels: int) -> list[tuple]:
    """The output shape of each fold for ``images`` images and ``rows`` output rows."""
    shape = [images, (rows - 1) * geom.strides[0] + geom.kernel[0]]
    shape += [(n - 1) * s + k for n, k, s in zip(geom.out_size[1:], geom.kernel[1:], geom.strides[1:])]
    shape.append(channels)
    out = [images, rows] + list(geom.out_size[1:])
    shapes = []
    for axis in range(geom.rank, 0, -1):
        shape[axis] = out[axis]
        shapes.append(tuple(shape))
    return shapes


def _piece_shapes(geom: ConvGeometry, p, channels: int) -> list[tuple]:
    """The fold output shapes of piece ``p``."""
    return _fold_shapes(geom, p.n1 - p.n0, p.r1 - p.r0, channels)


def _piece_masks(masks: list[list[np.ndarray]], geom: ConvGeometry, p) -> list[list[np.ndarray]]:
    """Piece ``p``'s part of a tape's full-batch masks."""
    used = slice(p.r0 * geom.strides[0], (p.r1 - 1) * geom.strides[0] + geom.kernel[0])
    last = len(masks) - 1
    rows = [slice(p.r0, p.r1) if level == last else used for level in range(len(masks))]
    return [[m[p.n0:p.n1, rows[level]] for m in ms] for level, ms in enumerate(masks)]


def _used(a: np.ndarray, geom: ConvGeometry, p) -> np.ndarray:
    """The part of ``a`` (input or input gradient) that piece ``p``'s windows cover."""
    index = [slice(p.n0, p.n1), slice(p.r0 * geom.strides[0], (p.r1 - 1) * geom.strides[0] + geom.kernel[0])]
    for n, k, s in zip(geom.out_size[1:], geom.kernel[1:], geom.strides[1:]):
        index.append(slice(0, (n - 1) * s + k))
    return a[tuple(index)]


def _region(a: np.ndarray, geom: ConvGeometry, p) -> np.ndarray:
    """The contiguous part of ``a`` (C-ordered) holding piece ``p``'s windows: its whole
    images, or the band of input rows of its one image (uncovered inputs included)."""
    if p.whole:
        return a[p.n0:p.n1]
    s0 = geom.strides[0]
    return a[p.n0:p.n1, p.r0 * s0:min(geom.in_size[0], (p.r1 - 1) * s0 + geom.kernel[0])]


def _tap_index(shape, axis: int, t: int, s: int, out: int) -> tuple:
    """The index of tap ``t``'s values (one per window along ``axis``) in an array of which
    the leading ``shape`` is used."""
    index = [slice(0, n) for n in shape]
    index[axis] = slice(t, t + (out - 1) * s + 1, s)
    return tuple(index)


def _tree_forward(src: np.ndarray, geom: ConvGeometry, shapes: list, bufs: _Buffers, masks,
                  yp: np.ndarray) -> None:
    """``yp`` = the windows' maxima of ``src`` (a piece's contiguous input region). ``shapes``:
    the piece's fold output shapes; ``masks`` (or None): per fold, arrays to receive where
    each tap after the first won."""
    last = geom.rank - 1
    for level, k in enumerate(_fold_taps(geom)):
        axis = geom.rank - level  # the array axis of spatial axis rank - 1 - level
        s = geom.strides[axis - 1]
        shape = shapes[level]
        dst = yp if level == last else bufs.get(("fold", level), shape, src.dtype)
        index = _tap_index(shape, axis, 0, s, shape[axis])
        if k == 1:
            np.copyto(dst, src[index])
            src = dst
            continue
        flat = src.reshape(-1)
        step = math.prod(src.shape[axis + 1:])
        m = flat.size - (k - 1) * step       # positions whose every tap is inside src
        run = bufs.get("run", (flat.size,), src.dtype)
        prev = flat[:m]
        for t in range(1, k):
            tap = flat[t * step:t * step + m]
            if masks is not None:
                won = bufs.get("won", (flat.size,), bool)
                np.greater(tap, prev, out=won[:m])
                np.copyto(masks[level][t - 1], won.reshape(src.shape)[index])
            np.maximum(prev, tap, out=run[:m])
            prev = run[:m]
        np.copyto(dst, run.reshape(src.shape)[index])
        src = dst


def _tree_backward(geom: ConvGeometry, shapes: list, masks, gp: np.ndarray, dxl: np.ndarray,
                   bufs: _Buffers) -> None:
    """Assign (windows are disjoint) the gradient ``gp`` of a piece's maxima to ``dxl`` (its
    covered input gradient, zero elsewhere) down the folds whose tap masks are ``masks``."""
    g = np.ascontiguousarray(gp)
    taps = _fold_taps(geom)
    for level in range(geom.rank - 1, -1, -1):
        axis = geom.rank - level
        k, s = taps[level], geom.strides[axis - 1]
        if level == 0:
            gin = dxl
        else:  # the gradient of this fold's input (the previous fold's output)
            gin = bufs.get(("grad", level), shapes[level - 1], g.dtype)
            if s > k:  # inputs between windows get no gradient (dx itself starts at zero)
                gin.fill(0)
        out = g.shape[axis]
        if k == 1:
            np.copyto(gin[_tap_index(g.shape, axis, 0, s, out)], g)
        else:
            mask = bufs.get("mask", g.shape, g.dtype)
            share = bufs.get("share", g.shape, g.dtype)
            rem = g
            for t in range(k - 1, 0, -1):  # the last tap that won takes its gradient, then the earlier ones
                np.copyto(mask, masks[level][t - 1])  # bool -> float: far faster than a mixed-type product
                np.multiply(rem, mask, out=share)
                np.copyto(gin[_tap_index(g.shape, axis, t, s, out)], share)
                nxt = bufs.get(("rem", t % 2), g.shape, g.dtype)
                np.subtract(rem, share, out=nxt)
                rem = nxt
            np.copyto(gin[_tap_index(g.shape, axis, 0, s, out)], rem)
        g = gin


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

    engine.run(work, pieces, x.size, _PARALLEL_ELEMENTS)
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
                dwin.store(dx, target, p)

    engine.run_phases(work, pieces, engine.thread_count(len(pieces), dx.size, _PARALLEL_ELEMENTS))
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
