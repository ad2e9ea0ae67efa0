"""The shared engine of the dense loss kernels: pairing inputs and reducing them in cache-sized tiles.

Every dense loss reduces ``(y_true, y_pred)`` along some axes. The inputs are viewed as
``(rows, cols)`` matrices with the reduced axes last (a view for the usual last axis of a
C-contiguous array, one copy otherwise); tiles of them that fit in the CPU cache are cast
to the working dtype and handed to a small kernel, so each input is read from memory once
and no temporary is larger than a tile. Large inputs are shared among threads by
``engine.run`` (the one thread engine of the kernels, which the sparse categorical
crossentropy uses too).

Two reductions:

- ``row_sums``: kernels returning per-row *sums* (additive statistics), so a long row may
  be cut into column chunks (e.g. Dice over every axis). Sums are accumulated in float64,
  each chunk's sums kept apart and added in a fixed order: the result does not depend on
  which thread took which tile.
- ``row_values``: kernels needing a whole row at once (softmax, max), one value per row.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from ..arrays import (
    as_float_array,
    as_numeric_array,
    compute_dtype,
    normalize_axis,
    result_dtype,
    squeeze_or_expand_to_same_rank,
)
from ...errors import HaibalValueError
from . import engine

EPSILON = 1e-7  # keras.backend.epsilon()
BLOCK_ELEMENTS = 1 << 16  # 256 KiB of float32 per input tile (measured best on 2 cores)


def pair(y_true, y_pred, min_rank: int = 1) -> tuple[np.ndarray, np.ndarray, np.dtype, np.dtype]:
    """``(y_true, y_pred, work_dtype, result_dtype)`` checked to have the same shape.

    As in Keras, ``y_true`` takes ``y_pred``'s dtype, and a trailing size-1 axis on one
    side is squeezed (or added) so that both have the same rank.
    """
    pred = as_float_array(y_pred, "y_pred")
    true = as_numeric_array(y_true, "y_true")  # integers stay as they are: tiles are cast one by one
    true, pred = squeeze_or_expand_to_same_rank(true, pred)
    if true.shape != pred.shape:
        raise HaibalValueError(f"y_true shape {true.shape} does not match y_pred shape {pred.shape}")
    if pred.ndim < min_rank:
        raise HaibalValueError(f"y_pred must have at least {min_rank} dimension(s), got a scalar")
    return true, pred, compute_dtype(pred.dtype), result_dtype(pred.dtype)


def reduced_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None = every axis, an int or a tuple of ints) as sorted non-negative indices."""
    if axis is None:
        return tuple(range(ndim))
    items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    axes = tuple(normalize_axis(a, max(ndim, 1)) if ndim else _scalar_axis(a) for a in items)
    if len(set(axes)) != len(axes):
        raise HaibalValueError(f"axis {axis!r} names the same axis twice")
    return tuple(sorted(axes))


def _scalar_axis(axis):
    raise HaibalValueError(f"axis={axis!r} is out of range for a scalar y_pred")


def to_rows(x: np.ndarray, axes: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """``x`` as a ``(rows, cols)`` matrix whose columns run over ``axes``; and the kept shape."""
    keep = [i for i in range(x.ndim) if i not in axes]
    if keep + list(axes) != list(range(x.ndim)):
        x = np.transpose(x, keep + list(axes))
    outer = tuple(x.shape[:len(keep)])
    return x.reshape(math.prod(outer), math.prod(x.shape[len(keep):])), outer


def _tiles(rows: int, cols: int, split_cols: bool) -> list[tuple[slice, slice]]:
    if split_cols and cols > BLOCK_ELEMENTS:
        return [(slice(r, r + 1), slice(c, min(c + BLOCK_ELEMENTS, cols)))
                for r in range(rows) for c in range(0, cols, BLOCK_ELEMENTS)]
    step = max(1, BLOCK_ELEMENTS // max(cols, 1))
    return [(slice(r, min(r + step, rows)), slice(0, cols)) for r in range(0, rows, step)]


def row_sums(kernel: Callable, mats: Sequence[np.ndarray], work: np.dtype, nstats: int) -> list[np.ndarray]:
    """Per-row sums of ``nstats`` additive statistics, ``kernel(*tiles) -> nstats per-row sums``."""
    rows, cols = mats[0].shape
    tiles = _tiles(rows, cols, split_cols=True)
    split = cols > BLOCK_ELEMENTS
    # row blocks: each row in one tile, written in place; column chunks: one slot per chunk,
    # summed per row afterwards in chunk order
    acc = np.zeros((nstats, len(tiles) if split else rows), dtype=np.float64)

    def run(part):
        with np.errstate(all="ignore"):
            for index, (rs, cs) in part:
                stats = kernel(*(m[rs, cs].astype(work, copy=False) for m in mats))
                for a, s in zip(acc, stats):
                    if split:
                        a[index] = s[0] if np.ndim(s) else s
                    else:
                        a[rs] = s

    engine.run(run, list(enumerate(tiles)), rows * cols)
    if split:
        acc = acc.reshape(nstats, rows, -(-cols // BLOCK_ELEMENTS)).sum(axis=2)
    return list(acc)


def row_values(kernel: Callable, mats: Sequence[np.ndarray], work: np.dtype) -> np.ndarray:
    """One value per row, ``kernel(*tiles) -> per-row values`` on whole rows."""
    rows, cols = mats[0].shape
    out = np.empty(rows, dtype=work)
    tiles = _tiles(rows, cols, split_cols=False)

    def run(part):
        with np.errstate(all="ignore"):
            for rs, cs in part:
                out[rs] = kernel(*(m[rs, cs].astype(work, copy=False) for m in mats))

    engine.run(run, tiles, rows * cols)
    return out


def mean_of(kernel: Callable, y_true, y_pred, axis=-1, mean: bool = True, scale: float = 1.0) -> np.ndarray:
    """``scale`` times the mean (or sum) along ``axis`` of an elementwise ``kernel(t, p) -> per-row sums``."""
    true, pred, work, out_dtype = pair(y_true, y_pred)
    axes = reduced_axes(axis, pred.ndim)
    t, outer = to_rows(true, axes)
    p, _ = to_rows(pred, axes)
    (total,) = row_sums(lambda a, b: (kernel(a, b),), (t, p), work, 1)
    if mean:
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / t.shape[1]
    if scale != 1.0:
        total = total * scale
    return total.reshape(outer).astype(out_dtype)
