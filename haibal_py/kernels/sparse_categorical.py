"""Sparse categorical crossentropy, with tf.keras' semantics and numbers.

Probabilities path (what TensorFlow does): ``q = y_pred / sum(y_pred)`` along the
class axis, ``c = clip(q, 1e-7, 1 - 1e-7)``, ``logp = log(c)``, then a softmax
cross-entropy on ``logp``, which renormalises: ``loss = logsumexp(logp) - logp[label]``.
With ``m = max(logp) = log(max(c))`` that is ``log(sum(c / max(c))) - log(c[label] / max(c))``,
the form computed here: it rounds as TensorFlow's max-shifted log-softmax does (hence
``2.3841855e-07`` for a perfect float32 prediction, ``2e-07`` in float64), yet needs no
per-element ``exp``/``log``.

Logits path: the stable ``logsumexp(z - max z) - (z[label] - max z)``.

The work is done in blocks of rows that fit in the CPU cache: ``y_pred`` is read from
memory once and no temporary larger than a block is made (a copy is made only for an
input that is not a C-contiguous float32/float64 array).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..arrays import as_float_array, as_label_array, compute_dtype, result_dtype
from ..errors import HaibalValueError

EPSILON = 1e-7
_BLOCK_ELEMENTS = 1 << 15  # 128 KiB of float32: a block stays in L2 cache
_FEW_CLASSES = 64  # below this, blocks are transposed so reductions run across rows
_PARALLEL_ELEMENTS = 1 << 21  # inputs this large are split among threads
_THREADS = 1


def normalize_axis(axis: int, ndim: int, name: str = "axis") -> int:
    """``axis`` as a non-negative index, with a clear error when out of range."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise HaibalValueError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise HaibalValueError(f"{name}={axis} is out of range for y_pred with {ndim} dimension(s)")
    return int(axis) % ndim


def _align_labels(labels: np.ndarray, pred_shape: tuple, ax: int) -> np.ndarray:
    """Labels shaped like ``y_pred`` without its class axis; a size-1 class or trailing dim is squeezed."""
    out_shape = pred_shape[:ax] + pred_shape[ax + 1:]
    if labels.shape == out_shape:
        return labels
    if labels.ndim == len(pred_shape):
        if labels.shape[ax] == 1 and labels.shape[:ax] + labels.shape[ax + 1:] == out_shape:
            return labels.reshape(out_shape)
        if labels.shape[-1] == 1 and labels.shape[:-1] == out_shape:
            return labels.reshape(out_shape)
    raise HaibalValueError(
        f"y_true shape {labels.shape} does not match y_pred shape {pred_shape} "
        f"(expected {out_shape}: y_pred's shape without the class axis {ax})"
    )


def _check_labels(labels: np.ndarray, num_classes: int, ignore_class) -> np.ndarray | None:
    """Raise on a label outside ``[0, C)``; return the mask of non-ignored positions."""
    valid = None if ignore_class is None else labels != ignore_class
    bad = (labels < 0) | (labels >= num_classes)
    if valid is not None:
        bad &= valid
    if bad.any():
        value = labels[bad].flat[0].item()
        extra = "" if ignore_class is None else f" and is not ignore_class={ignore_class}"
        raise HaibalValueError(
            f"y_true holds the label {value}, outside the valid range [0, {num_classes}){extra}"
        )
    return valid


def _take(block: np.ndarray, lab: np.ndarray, cls: int) -> np.ndarray:
    """``block[label]`` along the class axis ``cls`` (0 or 1) of a 2-D block."""
    return np.take_along_axis(block, np.expand_dims(lab, cls), axis=cls).squeeze(cls)


def _probs_exact(b: np.ndarray, lab: np.ndarray, cls: int) -> np.ndarray:
    """The clip-then-renormalise formula, step by step (used where the max is clipped)."""
    eps = b.dtype.type(EPSILON)
    c = b / b.sum(axis=cls, keepdims=True)
    np.clip(c, eps, b.dtype.type(1) - eps, out=c)
    c /= c.max(axis=cls, keepdims=True)
    return np.log(c.sum(axis=cls)) - np.log(_take(c, lab, cls))


def _probs_block(b: np.ndarray, lab: np.ndarray, cls: int, out: np.ndarray) -> None:
    """Probabilities path on a 2-D block whose class axis is ``cls``.

    With ``s = sum(p)`` and ``m = max(p)``, and ``m / s`` below ``1 - eps`` (so only the
    lower clip acts), ``clip(p/s) / clip(m/s) == max(p, eps*s) / m``: one pass instead
    of four. Rows whose max is clipped take the step-by-step formula.
    """
    eps = b.dtype.type(EPSILON)
    s = b.sum(axis=cls, keepdims=True)
    m = b.max(axis=cls, keepdims=True)
    r = np.maximum(b, s * eps)
    m, s = m.squeeze(cls), s.squeeze(cls)
    np.subtract(np.log(r.sum(axis=cls) / m), np.log(_take(r, lab, cls) / m), out=out)
    top = ~(m < s * (b.dtype.type(1) - eps))  # max clipped, or NaN: redo exactly
    if top.any():
        rows = np.flatnonzero(top)
        sub = b[rows] if cls == 1 else b[:, rows]
        out[rows] = _probs_exact(sub, lab[rows], cls)


def _logits_block(b: np.ndarray, lab: np.ndarray, cls: int, out: np.ndarray) -> None:
    """Logits path: ``log(sum(exp(z - max z))) - (z[label] - max z)``."""
    e = b - b.max(axis=cls, keepdims=True)
    picked = _take(e, lab, cls)
    np.exp(e, out=e)
    np.subtract(np.log(e.sum(axis=cls)), picked, out=out)


def _blocks(x3: np.ndarray, lab: np.ndarray):
    """Yield 2-D ``(block, labels, class_axis, out_index)`` pieces of a ``(outer, C, inner)`` array.

    Few classes on the last axis are transposed per block so that the class reduction
    runs across contiguous rows rather than along a short axis.
    """
    outer, num_classes, inner = x3.shape
    if inner == 1:
        x2, lab2 = x3[:, :, 0], lab[:, 0]
        rows = max(1, _BLOCK_ELEMENTS // num_classes)
        for o in range(0, outer, rows):
            blk, where = x2[o:o + rows], (slice(o, o + min(rows, outer - o)), 0)
            if num_classes < _FEW_CLASSES:
                yield np.ascontiguousarray(blk.T), lab2[o:o + rows], 0, where
            else:
                yield blk, lab2[o:o + rows], 1, where
    else:
        cols = max(1, _BLOCK_ELEMENTS // num_classes)
        for o in range(outer):
            for i in range(0, inner, cols):
                yield x3[o, :, i:i + cols], lab[o, i:i + cols], 0, (o, slice(i, min(i + cols, inner)))


def _run_blocks(kernel, x3: np.ndarray, lab: np.ndarray, out: np.ndarray) -> None:
    """Apply ``kernel`` to every block; large inputs are shared among threads (NumPy frees the GIL)."""
    def work(pieces):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for blk, lb, cls, idx in pieces:
                res = np.empty(lb.shape, dtype=blk.dtype)
                kernel(blk, lb, cls, res)
                out[idx] = res

    threads = min(_THREADS, x3.size // _PARALLEL_ELEMENTS)
    if threads < 2:
        work(_blocks(x3, lab))
        return
    bounds = np.linspace(0, x3.shape[0], threads + 1).astype(int) if x3.shape[0] >= threads else None
    if bounds is None:  # one huge slab: split the inner axis instead
        work(_blocks(x3, lab))
        return
    with ThreadPoolExecutor(threads) as pool:
        parts = [pool.submit(work, _shifted(_blocks(x3[a:b], lab[a:b]), a))
                 for a, b in zip(bounds[:-1], bounds[1:])]
        for part in parts:
            part.result()


def _shifted(pieces, start: int):
    """Blocks of a slab ``x3[start:]`` with output indices shifted back into the whole."""
    for blk, lb, cls, (o, i) in pieces:
        o = slice(o.start + start, o.stop + start) if isinstance(o, slice) else o + start
        yield blk, lb, cls, (o, i)


def sparse_categorical_crossentropy_with_mask(
    y_true, y_pred, from_logits: bool = False, axis: int = -1, ignore_class=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The loss and the mask of positions that count (``None`` when all count)."""
    pred = as_float_array(y_pred, "y_pred")
    labels = as_label_array(y_true, "y_true")
    if pred.ndim == 0:
        raise HaibalValueError("y_pred must have a class axis, got a scalar")
    ax = normalize_axis(axis, pred.ndim)
    num_classes = pred.shape[ax]
    if num_classes == 0:
        raise HaibalValueError(f"y_pred has an empty class axis (shape {pred.shape}, axis {ax})")
    labels = _align_labels(labels, pred.shape, ax)
    valid = _check_labels(labels, num_classes, ignore_class)
    if valid is not None:
        labels = np.where(valid, labels, 0)

    work = compute_dtype(pred.dtype)
    x = np.ascontiguousarray(pred, dtype=work)
    outer = math.prod(pred.shape[:ax])
    inner = math.prod(pred.shape[ax + 1:])
    x3 = x.reshape(outer, num_classes, inner)
    lab = labels.reshape(outer, inner).astype(np.intp, copy=False)
    out = np.empty((outer, inner), dtype=work)

    _run_blocks(_logits_block if from_logits else _probs_block, x3, lab, out)

    loss = out.reshape(labels.shape)
    if valid is not None:
        loss = np.where(valid, loss, loss.dtype.type(0))
    return loss.astype(result_dtype(pred.dtype), copy=False), valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    """Sparse categorical crossentropy between integer labels and predictions.

    Same signature, semantics and numbers as ``tf.keras.losses.sparse_categorical_crossentropy``,
    plus: any array-like, any ``axis``, integral float labels, and a clear error for a label
    outside ``[0, C)`` (unless it equals ``ignore_class``, whose positions get loss 0).
    Returns an array shaped like ``y_pred`` without its class axis, of ``y_pred``'s float dtype.
    """
    loss, _ = sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits, axis, ignore_class)
    return loss
