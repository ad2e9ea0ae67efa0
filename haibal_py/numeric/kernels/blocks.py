"""The shared engine of the dense loss kernels: pairing inputs and reducing them in cache-sized tiles.

Every dense loss reduces ``(y_true, y_pred)`` along some axes. The inputs are viewed as
``(rows, cols)`` matrices with the reduced axes last (a view for the usual last axis of a
C-contiguous array, one copy otherwise); tiles of them that fit in the CPU cache are cast
to the working dtype and handed to a small kernel, so each input is read from memory once
and no temporary is larger than a tile. Large inputs are shared between two threads
(NumPy releases the GIL inside its loops).

Two engines:

- ``row_sums``: kernels returning per-row *sums* (additive statistics), so a long row may
  be cut into column chunks (e.g. Dice over every axis). Sums are accumulated in float64.
- ``row_values``: kernels needing a whole row at once (softmax, max), one value per row.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

from ..arrays import as_float_array, compute_dtype, result_dtype
from ...errors import HaibalValueError
from ..arrays import squeeze_or_expand_to_same_rank
from .sparse_categorical import normalize_axis

EPSILON = 1e-7  # keras.backend.epsilon()
BLOCK_ELEMENTS = 1 << 16  # 256 KiB of float32 per input tile (measured best on 2 cores)
PARALLEL_ELEMENTS = 1 << 21  # inputs at least this large are split between threads
THREADS = max(1, min(2, os.cpu_count() or 1))


def numeric_array(value, name: str) -> np.ndarray:
    """``value`` as a numeric array, without converting integers (tiles are cast one by one)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise HaibalValueError(f"{name} is not an array: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise HaibalValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def pair(y_true, y_pred, min_rank: int = 1) -> tuple[np.ndarray, np.ndarray, np.dtype, np.dtype]:
    """``(y_true, y_pred, work_dtype, result_dtype)`` checked to have the same shape.

    As in Keras, ``y_true`` takes ``y_pred``'s dtype, and a trailing size-1 axis on one
    side is squeezed (or added) so that both have the same rank.
    """
    pred = as_float_array(y_pred, "y_pred")
    true = numeric_array(y_true, "y_true")
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


def _in_threads(tiles: list, size: int, work: Callable[[list], object]) -> list:
    """Run ``work`` on the tiles, split in contiguous halves between threads when large."""
    threads = THREADS if size >= PARALLEL_ELEMENTS and len(tiles) >= 2 * THREADS else 1
    if threads == 1:
        return [work(tiles)]
    bounds = np.linspace(0, len(tiles), threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = [pool.submit(work, tiles[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        return [p.result() for p in parts]


def row_sums(kernel: Callable, mats: Sequence[np.ndarray], work: np.dtype, nstats: int) -> list[np.ndarray]:
    """Per-row sums of ``nstats`` additive statistics, ``kernel(*tiles) -> nstats per-row sums``."""
    rows, cols = mats[0].shape
    tiles = _tiles(rows, cols, split_cols=True)

    def run(part):
        acc = [np.zeros(rows, dtype=np.float64) for _ in range(nstats)]
        with np.errstate(all="ignore"):
            for rs, cs in part:
                stats = kernel(*(m[rs, cs].astype(work, copy=False) for m in mats))
                for a, s in zip(acc, stats):
                    a[rs] += s
        return acc

    results = _in_threads(tiles, rows * cols, run)
    total = results[0]
    for other in results[1:]:
        for a, b in zip(total, other):
            a += b
    return total


def row_values(kernel: Callable, mats: Sequence[np.ndarray], work: np.dtype) -> np.ndarray:
    """One value per row, ``kernel(*tiles) -> per-row values`` on whole rows."""
    rows, cols = mats[0].shape
    out = np.empty(rows, dtype=work)
    tiles = _tiles(rows, cols, split_cols=False)

    def run(part):
        with np.errstate(all="ignore"):
            for rs, cs in part:
                out[rs] = kernel(*(m[rs, cs].astype(work, copy=False) for m in mats))

    _in_threads(tiles, rows * cols, run)
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
