"""Windows over channels-last arrays: the geometry of convolutions and poolings, and the
pieces of work their kernels share between threads.

``ConvGeometry`` holds the spatial sizes, strides, dilation and explicit padding of one
convolution or pooling (``conv_geometry`` decides "valid", "same" and "causal" in one
place). ``split_pieces`` cuts the output rows into cache-sized pieces (a few images, or a
band of one image's rows); ``Window`` loads a piece's padded input rows into a reused
buffer and adds a piece's input gradient back; ``patches`` and ``tap_slices`` view a
loaded piece by output position and kernel tap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...errors import HaibalValueError

__all__ = ["ConvGeometry", "conv_geometry", "same_padding", "conv_output_length", "transpose_output_length",
           "transpose_geometry", "Piece", "split_pieces", "Window", "patches", "tap_slices",
           "PIECE_ELEMENTS"]

PIECE_ELEMENTS = 1 << 19  # values per piece: 2 MiB of float32 (one 32 x 32 image of 3 x 3 x 32 patches)
_MIN_PIECE_ROWS = 256  # fewer output rows make matrix products inefficient


# ---------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of one convolution along its spatial axes (batch and channels excluded)."""

    in_size: tuple[int, ...]
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (before, after) zeros on each spatial axis
    out_size: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.in_size)

    @property
    def dilated_kernel(self) -> tuple[int, ...]:
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def padded(self) -> tuple[int, ...]:
        return tuple(n + b + a for n, (b, a) in zip(self.in_size, self.pads))

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)

    @property
    def has_padding(self) -> bool:
        return any(b or a for b, a in self.pads)

    @property
    def is_pointwise(self) -> bool:
        """1x1 kernel, stride 1, no padding: the patches are the input itself."""
        return self.taps == 1 and all(s == 1 for s in self.strides) and not self.has_padding


def same_padding(size: int, dilated_kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis: (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilated_kernel - size, 0)
    return total // 2, total - total // 2


def conv_output_length(size: int, dilated_kernel: int, stride: int, padding: str) -> int:
    """Keras' output length of one axis ("valid", "same" or "causal")."""
    if padding == "valid":
        return (size - dilated_kernel) // stride + 1
    return (size - 1) // stride + 1


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)):
        return (int(value),) * rank
    value = tuple(int(v) for v in value)
    if len(value) != rank:
        raise HaibalValueError(f"{name} must have {rank} value(s), got {value}")
    return value


def conv_geometry(in_size: Sequence[int], kernel: Sequence[int], strides=1, dilation=1,
                  padding="valid") -> ConvGeometry:
    """The geometry of a convolution of spatial size ``in_size``.

    ``padding`` is "valid", "same", "causal" (zeros before only, as Conv1D's) or explicit
    ``(before, after)`` pairs, one per spatial axis. A HaibalValueError names the sizes
    when a kernel does not fit its input.
    """
    in_size = tuple(int(n) for n in in_size)
    rank = len(in_size)
    kernel = _tuple(kernel, rank, "kernel_size")
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation, rank, "dilation_rate")
    if min(kernel + strides + dilation, default=1) < 1:
        raise HaibalValueError(f"kernel_size {kernel}, strides {strides} and dilation_rate {dilation} "
                               "must be positive")
    eff = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            pads = tuple((0, 0) for _ in in_size)
        elif mode == "same":
            pads = tuple(same_padding(n, e, s) for n, e, s in zip(in_size, eff, strides))
        elif mode == "causal":
            pads = tuple((e - 1, 0) for e in eff)
        else:
            raise HaibalValueError(f"padding must be 'valid', 'same' or 'causal', got {padding!r}")
    else:
        pads = tuple((int(b), int(a)) for b, a in padding)
        if len(pads) != rank or min((v for p in pads for v in p), default=0) < 0:
            raise HaibalValueError(f"padding must be {rank} non-negative (before, after) pairs, got {padding!r}")
    out = tuple((n + b + a - e) // s + 1 for n, (b, a), e, s in zip(in_size, pads, eff, strides))
    if min(out, default=1) < 1 or min(n + b + a - e for n, (b, a), e in zip(in_size, pads, eff)) < 0:
        raise HaibalValueError(
            f"the kernel (size {kernel}, dilation_rate {dilation}, so {eff} wide) does not fit the input "
            f"of spatial shape {in_size} with padding {padding!r}: the output would be empty")
    return ConvGeometry(in_size, kernel, strides, dilation, pads, out)


def transpose_output_length(size: int, kernel: int, stride: int, padding: str,
                            output_padding: int | None, dilation: int) -> int:
    """Keras' output length of a transposed convolution along one axis."""
    eff = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(eff, stride) - eff if output_padding is None else output_padding
        return (size - 1) * stride + eff + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + eff % 2 + output_padding


def transpose_geometry(in_size: Sequence[int], kernel: Sequence[int], strides, dilation, padding: str,
                       output_padding=None) -> ConvGeometry:
    """The geometry of the convolution whose input gradient a transposed convolution is.

    The transposed convolution maps ``in_size`` to ``out`` (Keras' lengths); TensorFlow
    computes it as the input gradient of a convolution from ``out`` back to ``in_size``,
    padded as that convolution would be. Returned: that forward convolution's geometry
    (its ``in_size`` is the transposed output, its ``out_size`` the transposed input).
    """
    in_size = tuple(int(n) for n in in_size)
    rank = len(in_size)
    kernel = _tuple(kernel, rank, "kernel_size")
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation, rank, "dilation_rate")
    ops = (None,) * rank if output_padding is None else _tuple(output_padding, rank, "output_padding")
    out = tuple(transpose_output_length(n, k, s, padding, op, d)
                for n, k, s, op, d in zip(in_size, kernel, strides, ops, dilation))
    geom = conv_geometry(out, kernel, strides, dilation, padding) if min(out) > 0 else None
    if geom is None or geom.out_size != in_size:
        raise HaibalValueError(
            f"a transposed convolution of spatial input {in_size} with kernel_size {kernel}, strides "
            f"{strides}, padding {padding!r} and output_padding {output_padding} would give {out}, "
            f"which a {padding!r} convolution does not map back to {in_size}")
    return geom


# ---------------------------------------------------------------------- pieces of work
@dataclass(frozen=True)
class Piece:
    n0: int
    n1: int
    r0: int  # output rows [r0, r1) of the first spatial axis
    r1: int
    whole: bool  # whole images (no other piece touches their input rows)
    phase: int = 0  # bands: 0 for even, 1 for odd ones; pieces of one phase never share input rows


def split_pieces(batch: int, geom: ConvGeometry, row_width: int, piece_elements: int | None = None) -> list[Piece]:
    """Output rows cut into pieces of about ``piece_elements`` values of width ``row_width``.

    Bands of one image are at least ``ceil(dilated kernel / stride) - 1`` rows high, so that the
    input rows of two bands of the same phase (every other band) never overlap: a pass adding
    input gradients runs phase 0, then phase 1, and adds in the same order on every run.
    """
    target = max(_MIN_PIECE_ROWS, (piece_elements or PIECE_ELEMENTS) // max(row_width, 1))
    per_image = math.prod(geom.out_size)
    out0 = geom.out_size[0]
    if per_image <= target or out0 == 1:
        step = max(1, target // per_image)
        return [Piece(n, min(n + step, batch), 0, out0, True) for n in range(0, batch, step)]
    per_row = per_image // out0
    s0 = geom.strides[0]
    step = max(1, target // per_row, -(-geom.dilated_kernel[0] // s0) - 1)
    return [Piece(n, n + 1, r, min(r + step, out0), False, (r // step) % 2)
            for n in range(batch) for r in range(0, out0, step)]



class Window:
    """The padded input rows one piece reads: buffers and views, reused piece after piece."""

    def __init__(self, geom: ConvGeometry, channels: int, dtype, max_images: int, max_rows: int,
                 fill: float = 0.0):
        self.geom = geom
        self.fill = fill  # the padding's value: 0 for convolutions, -inf for max pooling
        s0, e0 = geom.strides[0], geom.dilated_kernel[0]
        rows = min((max_rows - 1) * s0 + e0, geom.padded[0])
        self.shape = (max_images, rows) + geom.padded[1:] + (channels,)
        self.buf = np.empty(self.shape, dtype) if geom.has_padding else None
        self.dtype = dtype

    def rows(self, p: Piece) -> tuple[int, int]:
        """Padded rows [lo, hi) of axis 0 that piece ``p`` reads."""
        s0, e0 = self.geom.strides[0], self.geom.dilated_kernel[0]
        return p.r0 * s0, (p.r1 - 1) * s0 + e0

    def load(self, x: np.ndarray, p: Piece) -> np.ndarray:
        """The piece's padded input rows (a view of ``x`` when nothing is padded)."""
        lo, hi = self.rows(p)
        if self.buf is None:
            return x[p.n0:p.n1, lo:hi]
        dst = self.buf[:p.n1 - p.n0, :hi - lo]
        region, src = self._region(lo, hi)
        _fill_outside(dst, region, self.fill)
        dst[(slice(None),) + region] = x[(slice(p.n0, p.n1),) + src]
        return dst

    def zeros(self, p: Piece) -> np.ndarray:
        """A zeroed buffer of the piece's padded input rows (the input gradient's)."""
        lo, hi = self.rows(p)
        if self.buf is None:
            self.buf = np.empty(self.shape, self.dtype)
        dst = self.buf[:p.n1 - p.n0, :hi - lo]
        dst.fill(0)
        return dst

    def store(self, dst: np.ndarray, local: np.ndarray, p: Piece) -> None:
        """Add the unpadded part of ``local`` (from ``zeros``) into the input gradient ``dst``
        (the pieces of one phase at a time: ``engine.run_phases``)."""
        lo, hi = self.rows(p)
        region, src = self._region(lo, hi)
        target = dst[(slice(p.n0, p.n1),) + src]
        if p.whole:  # no other piece reads these rows: plain assignment
            target[...] = local[(slice(None),) + region]
        else:  # bands of the other phase add to the rows they share before or after
            target += local[(slice(None),) + region]

    def _region(self, lo: int, hi: int):
        """(slices in the piece's padded rows, slices in the unpadded input) of the input's values."""
        g = self.geom
        b0, n0 = g.pads[0][0], g.in_size[0]
        a, b = max(lo, b0), min(hi, b0 + n0)
        local = [slice(a - lo, max(a, b) - lo)]
        src = [slice(a - b0, max(a, b) - b0)]
        for (before, _), n in zip(g.pads[1:], g.in_size[1:]):
            local.append(slice(before, before + n))
            src.append(slice(0, n))
        return tuple(local), tuple(src)


def _fill_outside(dst: np.ndarray, region: tuple, value: float) -> None:
    """Set ``dst`` (images first) to ``value`` outside ``region`` (slices of its spatial axes): the padding."""
    for axis, sl in enumerate(region, start=1):
        lead = (slice(None),) * axis
        if sl.start > 0:
            dst[lead + (slice(0, sl.start),)] = value
        if sl.stop < dst.shape[axis]:
            dst[lead + (slice(sl.stop, None),)] = value


def patches(xl: np.ndarray, geom: ConvGeometry, p: Piece, channels: slice) -> np.ndarray:
    """A strided view (images, rows, *out[1:], *kernel, channels) of ``xl``'s patches."""
    rows = p.r1 - p.r0
    xl = xl[..., channels]
    st = xl.strides
    shape = (xl.shape[0], rows) + geom.out_size[1:] + geom.kernel + (xl.shape[-1],)
    strides = ((st[0],) + tuple(s * g for s, g in zip(st[1:-1], geom.strides))
               + tuple(s * d for s, d in zip(st[1:-1], geom.dilation)) + (st[-1],))
    return as_strided(xl, shape, strides, writeable=False)


def tap_slices(geom: ConvGeometry, rows: int):
    """For each kernel tap (C order), the slices of a piece's padded rows its values come from."""
    out = (rows,) + geom.out_size[1:]
    for tap in product(*(range(k) for k in geom.kernel)):
        yield tuple(slice(t * d, t * d + (n - 1) * s + 1, s)
                    for t, d, n, s in zip(tap, geom.dilation, out, geom.strides))
