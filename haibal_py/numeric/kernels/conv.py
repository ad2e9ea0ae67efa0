"""Convolutions of channels-last arrays (NWC, NHWC, NDHWC): forward passes and their
vector-Jacobian products, as Keras' TensorFlow backend computes them.

Shapes: ``x`` is ``(batch, *spatial, channels)``; a kernel is ``(*kernel_size, in_channels //
groups, filters)`` (Keras' layout). Every function takes a ``ConvGeometry`` (sizes, strides,
dilation and the explicit padding of each spatial axis, from ``conv_geometry``), so "same",
"valid", "causal" and the padding of transposed convolutions are decided in one place.
"same" pads as TensorFlow does: ``total = max((out - 1) * stride + dilated_kernel - in, 0)``,
``total // 2`` before and the rest (the extra pixel) after.

How it is computed (im2col + GEMM): the output rows (one per output pixel) are cut into
pieces of about ``windows.PIECE_ELEMENTS`` patch values (a few images, or a band of one image's
rows). For each piece the input is padded into a small buffer, its patches are copied into a
``(rows, taps * channels)`` matrix with one strided copy (with one input channel per group,
a tap-major ``(taps, rows)`` array filled by one shifted-slice copy per tap, whose transpose
is the same matrix), and one matrix product with the kernel (``(taps * channels, filters)``)
gives the outputs; the same patch matrix gives the kernel gradient (``patches.T @ dy``), and
``dy @ kernel.T`` scattered back tap by tap (a loop over the kernel's taps, never over
pixels) gives the input gradient. Pieces stay in the CPU caches and are shared between
threads (``engine.share``), each thread with single-threaded BLAS and buffers of its own; no
array of all patches is ever built.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import HaibalValueError
from . import blas, engine
from .windows import (ConvGeometry, Window, conv_geometry, conv_output_length, patches, same_padding,
                      split_pieces, tap_slices, transpose_geometry, transpose_output_length)

__all__ = [
    "ConvGeometry", "conv_geometry", "same_padding", "conv_output_length", "transpose_output_length",
    "transpose_geometry", "conv_forward", "conv_backward", "conv_input_grad", "conv_transpose_forward",
    "conv_transpose_backward", "depthwise_forward", "depthwise_backward",
]

_PARALLEL_ELEMENTS = 1 << 18  # patch values per thread (threads are used from two threads' worth)


def _threads(geom: ConvGeometry, batch: int, width: int, pieces: list) -> int:
    if not blas.can_single_thread():
        return 1
    return engine.thread_count(len(pieces), batch * math.prod(geom.out_size) * width, _PARALLEL_ELEMENTS)


# ---------------------------------------------------------------------- the engine
def _conv_pass(geom: ConvGeometry, kernel: np.ndarray, groups: int, *, x=None, y=None, bias=None, dy=None,
               dk: bool = False, db: bool = False, dx=None):
    """One pass over the pieces doing any of: ``y = conv(x) + bias`` (into ``y``), the kernel
    gradient from ``x`` and ``dy``, the bias gradient (sum of ``dy``), and the input
    gradient from ``dy`` scattered tap by tap into the zeroed array ``dx``.
    Returns (dk or None, db or None)."""
    batch = (x if x is not None else dx).shape[0]
    c_in = (x if x is not None else dx).shape[-1]
    dtype = kernel.dtype
    taps = geom.taps
    cg = c_in // groups
    filters = kernel.shape[-1]
    fg = filters // groups
    width = taps * cg
    kmat = kernel.reshape(width, filters)
    need_patches = y is not None or dk
    pieces = split_pieces(batch, geom, width)
    max_images = max(p.n1 - p.n0 for p in pieces)
    max_rows = max(p.r1 - p.r0 for p in pieces)
    per_row = math.prod(geom.out_size[1:])
    pointwise = geom.is_pointwise and groups == 1
    # A column of ones after the patches folds the bias into the forward product (kernel rows +
    # the bias row) and the bias gradient into the kernel gradient's (its last row): no pass of its own.
    ones = int(need_patches and groups == 1 and not pointwise and ((y is not None and bias is not None) or db))
    kmat_y = kmat
    if ones and y is not None:
        row = bias if bias is not None else np.zeros(filters, dtype)
        kmat_y = np.concatenate([kmat, row.reshape(1, filters)])

    # One input channel per group (a first layer on grey images): a patch row is only ``taps``
    # values, and copying the strided patch view one value at a time costs 5x the product. The
    # patches are then kept tap-major (``(taps + ones, rows)``, the product reads its transpose):
    # each tap's values are one copy of a shifted input slice, in contiguous runs of a row.
    tap_major = need_patches and not pointwise and cg == 1

    def work(shared):
        win = Window(geom, c_in, dtype, max_images, max_rows)
        m_max = max_images * max_rows * per_row
        col = None
        if need_patches and not pointwise:
            col = np.empty((width + ones, m_max), dtype).T if tap_major else np.empty((m_max, width + ones), dtype)
        if ones:
            col[:, width] = 1
        dcol = np.empty((m_max, width), dtype) if dx is not None and not pointwise else None
        for p in shared:
            m = (p.n1 - p.n0) * (p.r1 - p.r0) * per_row
            dy2 = dy[p.n0:p.n1, p.r0:p.r1].reshape(m, filters) if dy is not None else None
            if need_patches:
                xl = win.load(x, p)
                part = np.empty((width + ones, filters), dtype) if dk else None
                for g in range(groups):
                    if pointwise:
                        c2 = xl.reshape(m, c_in)
                    elif tap_major:
                        c2 = col[:m]
                        out = (p.n1 - p.n0, p.r1 - p.r0) + geom.out_size[1:]
                        for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                            np.copyto(c2[:, t].reshape(out), xl[(slice(None),) + sl + (g,)])
                    else:
                        c2 = col[:m]
                        view = patches(xl, geom, p, slice(g * cg, (g + 1) * cg))
                        lead = view.shape[:geom.rank + 1]
                        # splits only the (contiguous) last axis: always a view of col
                        dst = c2.reshape(lead + (width + ones,))[..., :width].reshape(view.shape)
                        np.copyto(dst, view)
                    fs = slice(g * fg, (g + 1) * fg)
                    if y is not None:
                        y2 = y[p.n0:p.n1, p.r0:p.r1].reshape(m, filters)
                        if groups == 1:
                            np.matmul(c2, kmat_y, out=y2)
                        else:
                            y2[:, fs] = c2 @ kmat[:, fs]
                        if bias is not None and not ones and g == groups - 1:
                            y2 += bias
                    if dk:
                        np.matmul(c2.T, dy2[:, fs], out=part[:, fs])
                if dk:
                    dk_sum.add(p, part)
            if db and not ones:
                db_sum.add(p, np.add.reduce(dy2, axis=0))
            if dx is not None:
                if pointwise:
                    np.matmul(dy2, kmat.T, out=dx[p.n0:p.n1, p.r0:p.r1].reshape(m, c_in))
                    continue
                local = win.zeros(p)
                for g in range(groups):
                    fs = slice(g * fg, (g + 1) * fg)
                    d2 = dcol[:m]
                    np.matmul(dy2[:, fs], kmat[:, fs].T, out=d2)
                    d6 = d2.reshape((p.n1 - p.n0, p.r1 - p.r0) + geom.out_size[1:] + (taps, cg))
                    cs = slice(g * cg, (g + 1) * cg)
                    for t, sl in enumerate(tap_slices(geom, p.r1 - p.r0)):
                        local[(slice(None),) + sl + (cs,)] += d6[..., t, :]
                win.store(dx, local, p)

    dk_sum, db_sum = engine.OrderedSum(pieces), engine.OrderedSum(pieces)
    # single-threaded BLAS even on one thread: OpenBLAS threading a product this small costs
    # more than it gains (10x slower measured on a loaded 2-core VM)
    with blas.single_thread():
        run = engine.run_phases if dx is not None and not pointwise else engine.share
        run(work, pieces, _threads(geom, batch, width, pieces))
    dk_out = db_out = None
    if dk:
        dk_out = dk_sum.total
        if ones:
            dk_out, db_out = dk_out[:width], dk_out[width].copy()
        dk_out = dk_out.reshape(kernel.shape)
    if db and not ones:
        db_out = db_sum.total
    return dk_out, db_out


def _check(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry, groups: int, what: str) -> None:
    if x.ndim != geom.rank + 2 or tuple(x.shape[1:-1]) != geom.in_size:
        raise HaibalValueError(f"{what}: input of shape {x.shape} does not match the geometry's "
                               f"spatial shape {geom.in_size}")
    if kernel.ndim != geom.rank + 2 or tuple(kernel.shape[:-2]) != geom.kernel:
        raise HaibalValueError(f"{what}: kernel of shape {kernel.shape} does not match kernel_size {geom.kernel}")
    if x.shape[-1] != kernel.shape[-2] * groups or kernel.shape[-1] % groups:
        raise HaibalValueError(f"{what}: input with {x.shape[-1]} channels and kernel of shape {kernel.shape} "
                               f"do not fit groups={groups}")


def _contiguous(a: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


# ---------------------------------------------------------------------- public kernels
def conv_forward(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry, groups: int = 1,
                 bias: np.ndarray | None = None) -> np.ndarray:
    """The convolution (cross-correlation, as Keras) of ``x`` with ``kernel``, plus ``bias``."""
    _check(x, kernel, geom, groups, "conv")
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel = _contiguous(x, dtype), _contiguous(kernel, dtype)
    y = np.empty((x.shape[0],) + geom.out_size + (kernel.shape[-1],), dtype)
    _conv_pass(geom, kernel, groups, x=x, y=y, bias=None if bias is None else _contiguous(bias, dtype))
    return y


def _flipped(geom: ConvGeometry, kernel: np.ndarray, groups: int):
    """(geometry, kernel) of the convolution of ``dy`` that gives a stride-1 convolution's
    input gradient (the kernel turned by 180 degrees, channels swapped within each group,
    ``dilated - 1 - pad`` zeros on each side), or None when strides or padding rule it out."""
    if any(s != 1 for s in geom.strides):
        return None
    eff = geom.dilated_kernel
    pads = tuple((e - 1 - b, e - 1 - a) for e, (b, a) in zip(eff, geom.pads))
    if min(v for p in pads for v in p) < 0:
        return None
    rank = geom.rank
    *ks, cg, filters = kernel.shape
    fg = filters // groups
    turned = np.flip(kernel, axis=tuple(range(rank))).reshape(tuple(ks) + (cg, groups, fg))
    axes = tuple(range(rank)) + (rank + 2, rank + 1, rank)  # (..., cg, G, fg) -> (..., fg, G, cg)
    turned = np.ascontiguousarray(turned.transpose(axes)).reshape(tuple(ks) + (fg, groups * cg))
    back = ConvGeometry(geom.out_size, geom.kernel, geom.strides, geom.dilation, pads, geom.in_size)
    return back, turned


def conv_backward(x: np.ndarray, kernel: np.ndarray, dy: np.ndarray, geom: ConvGeometry, groups: int = 1,
                  need_dx: bool = True, need_db: bool = False):
    """(dx or None, dkernel, dbias or None) of the convolution for the output gradient ``dy``."""
    _check(x, kernel, geom, groups, "conv backward")
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel, dy = _contiguous(x, dtype), _contiguous(kernel, dtype), _contiguous(dy, dtype)
    expected = (x.shape[0],) + geom.out_size + (kernel.shape[-1],)
    if dy.shape != expected:
        raise HaibalValueError(f"conv backward: output gradient of shape {dy.shape}, expected {expected}")
    dk, db = _conv_pass(geom, kernel, groups, x=x, dy=dy, dk=True, db=need_db)
    dx = _input_grad(dy, kernel, geom, groups) if need_dx else None
    return dx, dk, db


def conv_input_grad(dy: np.ndarray, kernel: np.ndarray, geom: ConvGeometry, groups: int = 1) -> np.ndarray:
    """dL/dx of the convolution alone (a frozen layer's backward pass needs no kernel gradient)."""
    dtype = np.result_type(dy.dtype, kernel.dtype)
    dy, kernel = _contiguous(dy, dtype), _contiguous(kernel, dtype)
    expected = geom.out_size + (kernel.shape[-1],)
    if dy.ndim != geom.rank + 2 or dy.shape[1:] != expected or kernel.shape[:-2] != geom.kernel:
        raise HaibalValueError(f"conv backward: output gradient of shape {dy.shape} and kernel of shape "
                               f"{kernel.shape} do not fit outputs (batch, *{expected})")
    return _input_grad(dy, kernel, geom, groups)


def _input_grad(dy: np.ndarray, kernel: np.ndarray, geom: ConvGeometry, groups: int,
                bias: np.ndarray | None = None) -> np.ndarray:
    """dL/dx (+ ``bias``) for the output gradient ``dy``. With strides 1 it is itself a
    convolution of ``dy`` (``_flipped``): a patch copy and one product per piece instead
    of a product and one scatter-add per tap (measured 20% faster)."""
    shape = (dy.shape[0],) + geom.in_size + (kernel.shape[-2] * groups,)
    flipped = None if geom.is_pointwise else _flipped(geom, kernel, groups)
    if flipped is not None:
        out = np.empty(shape, dy.dtype)
        _conv_pass(flipped[0], flipped[1], groups, x=dy, y=out, bias=bias)
        return out
    out = np.zeros(shape, dy.dtype)
    _conv_pass(geom, kernel, groups, dy=dy, dx=out)
    if bias is not None:
        out += bias
    return out


def conv_transpose_forward(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry,
                           bias: np.ndarray | None = None) -> np.ndarray:
    """The transposed convolution of ``x`` (spatial ``geom.out_size``) with a Keras transposed
    kernel ``(*kernel_size, filters, in_channels)``, plus ``bias``: the input gradient of
    ``geom``'s convolution."""
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel = _contiguous(x, dtype), _contiguous(kernel, dtype)
    _check_transpose(x, kernel, geom)
    return _input_grad(x, kernel, geom, 1, None if bias is None else _contiguous(bias, dtype))


def conv_transpose_backward(x: np.ndarray, kernel: np.ndarray, dy: np.ndarray, geom: ConvGeometry,
                            need_dx: bool = True, need_db: bool = False):
    """(dx or None, dkernel, dbias or None) of ``conv_transpose_forward`` for its output gradient ``dy``:
    dx is the forward convolution of ``dy``, dkernel pairs ``dy``'s patches with ``x``."""
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel, dy = _contiguous(x, dtype), _contiguous(kernel, dtype), _contiguous(dy, dtype)
    _check_transpose(x, kernel, geom)
    expected = (x.shape[0],) + geom.in_size + (kernel.shape[-2],)
    if dy.shape != expected:
        raise HaibalValueError(f"conv transpose backward: output gradient of shape {dy.shape}, expected {expected}")
    dx = np.empty(x.shape, dtype) if need_dx else None
    dk, _ = _conv_pass(geom, kernel, 1, x=dy, y=dx, dy=x, dk=True)
    db = dy.reshape(-1, dy.shape[-1]).sum(axis=0) if need_db else None
    return dx, dk, db


def _check_transpose(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry) -> None:
    if x.ndim != geom.rank + 2 or tuple(x.shape[1:-1]) != geom.out_size:
        raise HaibalValueError(f"conv transpose: input of shape {x.shape} does not match the geometry's "
                               f"spatial shape {geom.out_size}")
    if kernel.ndim != geom.rank + 2 or tuple(kernel.shape[:-2]) != geom.kernel or kernel.shape[-1] != x.shape[-1]:
        raise HaibalValueError(f"conv transpose: kernel of shape {kernel.shape} does not fit kernel_size "
                               f"{geom.kernel} and an input with {x.shape[-1]} channels")


# ---------------------------------------------------------------------- depthwise
# A depthwise convolution is one product and one sum per kernel tap, of arrays as large as the
# output: memory-bound work, where NumPy's cost is per contiguous run. So the last spatial axis
# and the channels are merged into one row (``W * C`` values): with stride 1 along that axis,
# a tap's input is a contiguous slice of each padded row and its weights are the tap's channel
# weights tiled along the row. A depth multiplier above 1 convolves the input repeated
# ``depth_multiplier`` times along the channels (channel c * dm + m is channel c again).
def _depthwise_pass(geom: ConvGeometry, kernel: np.ndarray, *, x=None, y=None, dy=None,
                    dk: bool = False, dx=None):
    """One pass over the pieces of a depthwise convolution with one kernel per channel
    (``kernel``: ``(*kernel_size, channels)``): ``y = conv(x)``, the kernel gradient from ``x``
    and ``dy``, and the input gradient from ``dy`` added into the zeroed ``dx``."""
    src = x if x is not None else dx
    batch, chans = src.shape[0], src.shape[-1]
    dtype = kernel.dtype
    k2 = kernel.reshape(geom.taps, chans)
    rows_ok = geom.strides[-1] == 1  # the row form needs consecutive outputs along the last axis
    pieces = split_pieces(batch, geom, chans * geom.taps)
    max_images = max(p.n1 - p.n0 for p in pieces)
    max_rows = max(p.r1 - p.r0 for p in pieces)
    per_row = math.prod(geom.out_size[1:])
    last_out = geom.out_size[-1]
    tiled = np.tile(k2, (1, last_out)) if rows_ok else None  # each tap's weights along a whole row
    d_last, last_taps = geom.dilation[-1], geom.kernel[-1]

    def row_view(a, sl, j, run):
        """Tap ``j`` of the last axis in ``a`` (a piece's padded rows), its last axis merged
        with the channels: ``run`` consecutive values of each row."""
        merged = a.reshape(a.shape[:-2] + (a.shape[-2] * chans,))
        start = j * d_last * chans
        return merged[(slice(None),) + sl[:-1] + (slice(start, start + run),)]

    def work(shared):
        win = Window(geom, chans, dtype, max_images, max_rows)
        dwin = Window(geom, chans, dtype, max_images, max_rows) if dx is not None else None
        tmp = np.empty(max_images * max_rows * per_row * chans, dtype)
        ones = np.ones(max_images * max_rows * per_row, dtype) if dk else None
        for p in shared:
            nb, rows = p.n1 - p.n0, p.r1 - p.r0
            m = nb * rows * per_row
            if rows_ok:  # (images, rows, ..., last axis * channels); 1-D: the piece's rows are the last axis
                run = (rows if geom.rank == 1 else last_out) * chans
                shape = (nb, run) if geom.rank == 1 else (nb, rows) + geom.out_size[1:-1] + (run,)
            else:
                shape = (nb, rows) + geom.out_size[1:] + (chans,)
            t_buf = tmp[:m * chans].reshape(shape)
            xl = win.load(x, p) if y is not None or dk else None
            g = dy[p.n0:p.n1, p.r0:p.r1].reshape(shape) if dy is not None else None
            local = dwin.zeros(p) if dx is not None else None
            out = y[p.n0:p.n1, p.r0:p.r1].reshape(shape) if y is not None else None
            part = np.empty((geom.taps, chans), dtype) if dk else None
            for t, sl in enumerate(tap_slices(geom, rows)):
                if rows_ok:
                    xv = row_view(xl, sl, t % last_taps, run) if xl is not None else None
                    w = tiled[t, :run]
                else:
                    idx = (slice(None),) + sl
                    xv = xl[idx] if xl is not None else None
                    w = k2[t]
                if out is not None:
                    if t == 0:
                        np.multiply(xv, w, out=out)
                    else:
                        np.multiply(xv, w, out=t_buf)
                        out += t_buf
                if dk:
                    np.multiply(xv, g, out=t_buf)
                    # the sum over every position, by BLAS (a per-row NumPy sum costs per row)
                    np.matmul(ones[:m], t_buf.reshape(m, chans), out=part[t])
                if dx is not None:
                    np.multiply(g, w, out=t_buf)
                    if rows_ok:
                        row_view(local, sl, t % last_taps, run)[...] += t_buf
                    else:
                        local[(slice(None),) + sl] += t_buf
            if dx is not None:
                dwin.store(dx, local, p)
            if dk:
                dk_sum.add(p, part)

    dk_sum = engine.OrderedSum(pieces)
    threads = engine.thread_count(len(pieces), batch * math.prod(geom.out_size) * chans, _PARALLEL_ELEMENTS)
    with blas.single_thread():
        (engine.run_phases if dx is not None else engine.share)(work, pieces, threads)
    return dk_sum.total.reshape(kernel.shape) if dk else None


def _check_depthwise(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry) -> None:
    if x.ndim != geom.rank + 2 or tuple(x.shape[1:-1]) != geom.in_size:
        raise HaibalValueError(f"depthwise conv: input of shape {x.shape} does not match the geometry's "
                               f"spatial shape {geom.in_size}")
    if kernel.ndim != geom.rank + 2 or tuple(kernel.shape[:-2]) != geom.kernel or kernel.shape[-2] != x.shape[-1]:
        raise HaibalValueError(f"depthwise conv: kernel of shape {kernel.shape} does not fit kernel_size "
                               f"{geom.kernel} and an input with {x.shape[-1]} channels")


def depthwise_forward(x: np.ndarray, kernel: np.ndarray, geom: ConvGeometry) -> np.ndarray:
    """Depthwise convolution; ``kernel`` is ``(*kernel_size, channels, depth_multiplier)`` and
    output channel ``c * depth_multiplier + m`` is channel ``c`` convolved with ``kernel[..., c, m]``."""
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel = _contiguous(x, dtype), _contiguous(kernel, dtype)
    _check_depthwise(x, kernel, geom)
    dm = kernel.shape[-1]
    y = np.empty((x.shape[0],) + geom.out_size + (x.shape[-1] * dm,), dtype)
    _depthwise_pass(geom, kernel.reshape(kernel.shape[:-2] + (-1,)), x=_repeat(x, dm), y=y)
    return y


def _repeat(x: np.ndarray, dm: int) -> np.ndarray:
    """Each channel ``dm`` times in a row (channel ``c * dm + m`` is channel ``c``)."""
    return x if dm == 1 else np.repeat(x, dm, axis=-1)


def depthwise_backward(x: np.ndarray, kernel: np.ndarray, dy: np.ndarray, geom: ConvGeometry,
                       need_dx: bool = True, need_dk: bool = True):
    """(dx or None, dkernel or None) of ``depthwise_forward`` for the output gradient ``dy``."""
    dtype = np.result_type(x.dtype, kernel.dtype)
    x, kernel, dy = _contiguous(x, dtype), _contiguous(kernel, dtype), _contiguous(dy, dtype)
    _check_depthwise(x, kernel, geom)
    expected = (x.shape[0],) + geom.out_size + (x.shape[-1] * kernel.shape[-1],)
    if dy.shape != expected:
        raise HaibalValueError(f"depthwise conv backward: output gradient of shape {dy.shape}, expected {expected}")
    if not (need_dx or need_dk):
        return None, None
    dm = kernel.shape[-1]
    flat = kernel.reshape(kernel.shape[:-2] + (-1,))
    dx = np.zeros(x.shape[:-1] + (x.shape[-1] * dm,), dtype) if need_dx else None
    dk = _depthwise_pass(geom, flat, x=_repeat(x, dm) if need_dk else None, dy=dy, dk=need_dk, dx=dx)
    if dx is not None and dm > 1:
        dx = dx.reshape(x.shape + (dm,)).sum(axis=-1)
    return dx, None if dk is None else dk.reshape(kernel.shape)
