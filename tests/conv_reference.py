"""Convolutions and poolings written from their definitions, one output pixel at a time, in
float64: the values the fast kernels (``haibal_py.numeric.kernels.conv`` / ``pooling``) are
compared with. Slow on purpose; use small shapes.

Padding is explicit, ``pads = ((before, after), ...)`` per spatial axis, so these functions
never share the kernels' "same"/"valid" logic; ``tf_same_pads`` derives TensorFlow's rule
separately for the tests.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding: output ceil(size / stride), the odd pixel after."""
    out = math.ceil(size / stride)
    eff = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def out_length(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int]) -> int:
    return (size + pads[0] + pads[1] - (kernel - 1) * dilation - 1) // stride + 1


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def conv(x, kernel, strides, dilation, pads, groups: int = 1) -> np.ndarray:
    """Cross-correlation of x (batch, *spatial, c_in) with kernel (*k, c_in / groups, filters)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    filters = kernel.shape[-1]
    cg, fg = x.shape[-1] // groups, filters // groups
    xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    out = tuple(out_length(n, k, s, d, p) for n, k, s, d, p in zip(x.shape[1:-1], ks, strides, dilation, pads))
    y = np.zeros((x.shape[0],) + out + (filters,))
    for o in _positions(out):
        for t in _positions(ks):
            idx = tuple(oo * s + tt * d for oo, tt, s, d in zip(o, t, strides, dilation))
            for g in range(groups):
                patch = xp[(slice(None),) + idx + (slice(g * cg, (g + 1) * cg),)]
                y[(slice(None),) + o + (slice(g * fg, (g + 1) * fg),)] += patch @ kernel[t][:, g * fg:(g + 1) * fg]
    return y


def conv_transpose(x, kernel, strides, dilation, pads, out_size) -> np.ndarray:
    """The transposed convolution: every input pixel adds ``x * kernel`` at ``stride`` spacing
    into the padded output, which is then cropped by ``pads``. kernel (*k, filters, c_in)."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    full = tuple(n + b + a for n, (b, a) in zip(out_size, pads))
    y = np.zeros((x.shape[0],) + full + (kernel.shape[-2],))
    for o in _positions(x.shape[1:-1]):
        for t in _positions(ks):
            idx = tuple(oo * s + tt * d for oo, tt, s, d in zip(o, t, strides, dilation))
            if all(i < n for i, n in zip(idx, full)):
                y[(slice(None),) + idx] += x[(slice(None),) + o] @ kernel[t].T
    crop = tuple(slice(b, b + n) for (b, _), n in zip(pads, out_size))
    return y[(slice(None),) + crop]


def depthwise(x, kernel, strides, dilation, pads) -> np.ndarray:
    """Depthwise convolution: output channel c * dm + m is channel c with kernel[..., c, m]."""
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    outs = [conv(x[..., c:c + 1], kernel[..., c:c + 1, :], strides, dilation, pads) for c in range(x.shape[-1])]
    return np.concatenate(outs, axis=-1)


def _windows(x, pool, strides, pads):
    """For each output position: the list of (input index, values) of its real inputs."""
    out = tuple(out_length(n, k, s, 1, p) for n, k, s, p in zip(x.shape[1:-1], pool, strides, pads))
    for o in _positions(out):
        members = []
        for t in _positions(pool):
            idx = tuple(oo * s + tt - b for oo, tt, s, (b, _) in zip(o, t, strides, pads))
            if all(0 <= i < n for i, n in zip(idx, x.shape[1:-1])):
                members.append(idx)
        yield o, members


def pool(x, pool_size, strides, pads, mode: str) -> np.ndarray:
    """Max or average ("max"/"average") of each window's real (unpadded) inputs."""
    x = np.asarray(x, np.float64)
    out = tuple(out_length(n, k, s, 1, p) for n, k, s, p in zip(x.shape[1:-1], pool_size, strides, pads))
    y = np.zeros((x.shape[0],) + out + (x.shape[-1],))
    for o, members in _windows(x, pool_size, strides, pads):
        vals = np.stack([x[(slice(None),) + i] for i in members])
        y[(slice(None),) + o] = vals.max(0) if mode == "max" else vals.mean(0)
    return y


def pool_grad(x, dy, pool_size, strides, pads, mode: str, ties: str = "first") -> np.ndarray:
    """dL/dx of ``pool``: averages spread dy evenly over the real inputs; a max sends it to the
    window's first maximum in row-major order (``ties="first"``) or to every tied maximum ("all")."""
    x, dy = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    dx = np.zeros_like(x)
    for o, members in _windows(x, pool_size, strides, pads):
        g = dy[(slice(None),) + o]
        vals = np.stack([x[(slice(None),) + i] for i in members])
        if mode == "average":
            for i in members:
                dx[(slice(None),) + i] += g / len(members)
            continue
        top = vals.max(0)
        first = vals.argmax(0)  # numpy's argmax: the first maximum
        for k, i in enumerate(members):
            hit = (vals[k] == top) if ties == "all" else (first == k)
            dx[(slice(None),) + i] += g * hit
    return dx


def conv_grads(x, kernel, dy, strides, dilation, pads, groups: int = 1):
    """(dx, dkernel) of ``conv`` for the output gradient ``dy``, by the same loops run backwards."""
    x, kernel, dy = (np.asarray(a, np.float64) for a in (x, kernel, dy))
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    cg, fg = x.shape[-1] // groups, kernel.shape[-1] // groups
    xp = np.pad(x, ((0, 0),) + tuple(pads) + ((0, 0),))
    dxp, dk = np.zeros_like(xp), np.zeros_like(kernel)
    for o in _positions(dy.shape[1:-1]):
        for t in _positions(ks):
            idx = tuple(oo * s + tt * d for oo, tt, s, d in zip(o, t, strides, dilation))
            for g in range(groups):
                cs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
                g_out = dy[(slice(None),) + o + (fs,)]
                dxp[(slice(None),) + idx + (cs,)] += g_out @ kernel[t][:, fs].T
                dk[t + (slice(None), fs)] += xp[(slice(None),) + idx + (cs,)].T @ g_out
    crop = tuple(slice(b, b + n) for (b, _), n in zip(pads, x.shape[1:-1]))
    return dxp[(slice(None),) + crop], dk
