"""Sparse categorical crossentropy, with tf.keras' semantics and numbers.

Probabilities path (what TensorFlow does): ``q = p / sum(p)`` along the class axis,
``c = clip(q, eps, 1 - eps)``, ``logp = log(c)``, then a softmax cross-entropy on
``logp``, which renormalises: ``loss = logsumexp(logp) - logp[label]``. Since
``exp(log c) = c`` that is ``log(sum(c) / c[label])``, and since ``c = clip(p, eps*s,
(1-eps)*s) / s`` the division by ``s`` cancels in the ratio. So the kernel computes,
per row, ``r = clip(p, lo, hi)`` and ``loss = log(sum(r) / r[label])``: no per-element
``log`` or ``exp``, two row sums (matrix-vector products) and one clip.

* When the row sums of a block agree to within ``0.3 * finfo.eps / (C * eps)``
  (normalised probabilities always do), ``lo`` and ``hi`` are scalars for the whole
  block; moving a clip bound by ``d`` moves ``sum(r)`` by at most ``C * d``, which stays
  below a quarter of an ulp. ``r[label]`` itself would move by up to that tolerance
  (relative) where it is clipped, so it is clipped again with its own row's bounds and
  the sum corrected by the difference (zero where the label is not clipped). Otherwise
  the rows are divided by their sums first, in TensorFlow's order, and clipped to
  ``[eps, 1 - eps]``.
* A perfect float32 prediction gives ``log(1.0000001 / 0.9999999)`` rounded in float32,
  ``2.3841855e-07`` as TensorFlow prints; float64 gives ``2e-07``.

Logits path: ``loss = log(sum(exp(z)) / exp(z[label]))``, unshifted: the arguments of
``exp`` are exact, so this is as accurate as the max-shifted form and saves two passes. It is
kept for a row only where it is exact: ``exp(z[label])`` well above the underflow limit
(terms that underflow then change the sum by less than an ulp) and nothing overflowed.
Other rows (huge logits, NaN, inf) are redone with the stable
``log(sum(exp(z - max z))) - (z[label] - max z)``, which handles logits of any size.
Small blocks decide for the whole block from its largest ``|z|`` (fewer calls).

Work is done in blocks of 1 MiB of float32 that stay in cache, taken one at a time from a
shared queue by the threads for large inputs (NumPy and BLAS release the GIL): ``y_pred``
is read from memory once, and the only temporaries are one block per thread and the
result (plus one converted copy of ``y_pred`` when it is not already a float32/float64
array). A small 2-D call skips the bookkeeping (``_fast_path``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..arrays import (
    as_float_array,
    as_label_array,
    check_bool,
    check_ignore_class,
    compute_dtype,
    normalize_axis,
    result_dtype,
)
from ...errors import HaibalValueError
from . import engine

EPSILON = 1e-7
# elements per block: 1 MiB of float32, which with its temporary stays in a core's L2 (1 MiB
# here) and L3, and pays each NumPy call's fixed cost 4x less often than 1 << 16 (measured:
# 20% faster). Not larger: from 1 << 19 elements OpenBLAS runs a matrix-vector product on
# its own threads, which on a loaded 2-core machine made a call 10-30x slower.
_BLOCK_ELEMENTS = 1 << 18
_SMALL_BLOCK = 1 << 12  # below this, blocks take the plain divide-then-clip form
_clip = np._core.umath.clip if hasattr(np, "_core") else np.core.umath.clip  # the ufunc, without np.clip's checks
_min, _max, _and = np.minimum.reduce, np.maximum.reduce, np.logical_and.reduce
_FAST_FLOATS = frozenset({np.dtype(np.float32), np.dtype(np.float64)})
# integer label dtype -> (the unsigned dtype of its size, the largest class count for which
# every negative label seen as that unsigned type is >= C: 128 for int8, whose -1 is 255)
_FAST_LABELS = {np.dtype(t): (np.dtype(np.dtype(t).str.replace("i", "u")),
                              2 ** (8 * np.dtype(t).itemsize - 1) if np.dtype(t).kind == "i" else math.inf)
                for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)}


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


def _check_labels(labels: np.ndarray, num_classes: int, ignore_class):
    """Raise on a label outside ``[0, C)``; return (labels with ignored ones set to 0, mask or None)."""
    valid = None
    if ignore_class is not None and labels.size:
        valid = labels != ignore_class
        if _and(valid, axis=None):
            valid = None
        else:
            labels = labels * valid  # ignored labels become 0 (10x faster than np.where)
    if labels.size:
        fast = _FAST_LABELS.get(labels.dtype)
        if fast is not None and num_classes <= fast[1]:
            # one reduction: seen as unsigned, a negative label is larger than any class index
            out_of_range = _max(labels.view(fast[0]), axis=None) >= num_classes
        else:  # e.g. a non-native byte order, or int8 labels with more than 128 classes
            out_of_range = _min(labels, axis=None) < 0 or _max(labels, axis=None) >= num_classes
        if out_of_range:
            bad = (labels < 0) | (labels >= num_classes)
            value = labels[bad].flat[0].item()
            extra = "" if ignore_class is None else f" and is not ignore_class={ignore_class}"
            raise HaibalValueError(
                f"y_true holds the label {value}, outside the valid range [0, {num_classes}){extra}"
            )
    return labels, valid


@functools.lru_cache(maxsize=16)
def _steps(n: int, step: int) -> np.ndarray:
    """``0, step, 2*step, ...`` (n values): flat offsets of the rows of a block."""
    return np.arange(0, n * step, step, dtype=np.intp)


@functools.lru_cache(maxsize=64)
def _helper(cls: int, num_classes: int, dtype: np.dtype) -> "_Block":
    return _Block(cls, num_classes, dtype)


class _Block:
    """Constants and helpers for 2-D blocks whose class axis ``cls`` is 1 (rows x C) or 0 (C x columns).

    Row sums use ``ndarray.dot`` (the same BLAS call as ``@``, at half its per-call cost on
    small blocks) and the clip bounds are 0-d arrays, which NumPy's ufuncs take faster than
    scalars: on a 32x10 batch each call costs about as much as its arithmetic.
    """

    __slots__ = ("cls", "ones", "dtype", "eps", "one_eps", "tol", "bound", "tiny", "huge")

    def __init__(self, cls: int, num_classes: int, dtype: np.dtype):
        self.cls = cls
        self.dtype = dtype
        self.ones = np.ones(num_classes, dtype=dtype)
        self.eps = np.array(EPSILON, dtype=dtype)
        self.one_eps = np.array(1, dtype=dtype) - self.eps
        # row sums this close share one clip bound (see the module docstring)
        self.tol = 0.3 * float(np.finfo(dtype).eps) / (num_classes * EPSILON)
        # logits within +-bound: exp(z) is normal and C * exp(2 * bound) stays below the max
        top = math.log(float(np.finfo(dtype).max)) - 3.0
        self.bound = min(top / 2 - 5.0, (top - math.log(num_classes)) / 2)
        # unshifted exp is exact when exp(z[label]) >= tiny (terms that underflow, each below
        # 2**minexp, then move the sum by less than a quarter ulp) and the ratio stays finite
        info = np.finfo(dtype)
        self.tiny = dtype.type(num_classes * 2.0 ** (info.minexp + info.nmant + 3))
        self.huge = info.max

    def rowsum(self, b: np.ndarray) -> np.ndarray:
        return b.dot(self.ones) if self.cls == 1 else self.ones.dot(b)

    def picked(self, b: np.ndarray, lab: np.ndarray) -> np.ndarray:
        """``b[label]`` along the class axis, ``b`` being C-contiguous."""
        if self.cls == 1:
            n, c = b.shape
            return b.take(_steps(n, c) + lab)
        return b.take(lab.astype(np.intp) * b.shape[1] + _steps(b.shape[1], 1))

    def per_row(self, v: np.ndarray) -> np.ndarray:
        return v[:, None] if self.cls == 1 else v[None, :]


def _probs_block(h: _Block, b: np.ndarray, lab: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    """Probabilities: ``log(sum(r) / r[label])`` with ``r = clip(p, eps*s, (1-eps)*s)``."""
    s = h.rowsum(b)
    if b.size > _SMALL_BLOCK:  # saving a pass pays off only on large blocks
        smin, smax = _min(s), _max(s)
        if smin > 0 and smax - smin <= smin * h.tol:  # one scalar bound for the block (False on NaN)
            _clip(b, h.eps * smin, h.one_eps * smax, out=tmp)  # (np.maximum with a scalar is 3x slower)
            # The scalar bounds move sum(r) by under a quarter ulp, but r[label] by up to tol
            # (relative) where it is clipped: r[label] gets its own row's bounds, in the sum
            # too (the bounds nest, so clipping tmp again is clipping p).
            t = h.picked(tmp, lab)
            r = np.maximum(t, np.multiply(s, h.eps))
            np.minimum(r, np.multiply(s, h.one_eps, out=s), out=r)  # r[label] >= eps*s > 0
            np.subtract(r, t, out=t)  # 0 where the label is not clipped: the sum is then exact
            t += h.rowsum(tmp)
            np.divide(t, r, out=out)
            np.log(out, out=out)
            return
    with np.errstate(divide="ignore", invalid="ignore"):  # TensorFlow's order: divide, then clip
        np.divide(b, h.per_row(s), out=tmp)
        _clip(tmp, h.eps, h.one_eps, out=tmp)
        np.divide(h.rowsum(tmp), h.picked(tmp, lab), out=out)
        np.log(out, out=out)


def _logits_block(h: _Block, b: np.ndarray, lab: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    """Logits: ``log(sum(exp(z)) / exp(z[label]))`` where that is exact, else the stable form per row."""
    if b.size <= _SMALL_BLOCK:  # small: one reduction decides for the whole block
        if _max(np.abs(b, out=tmp), axis=None) <= h.bound:  # False on NaN or inf
            np.exp(b, out=tmp)  # exact arguments; normal results; sums and ratios finite
            np.divide(h.rowsum(tmp), h.picked(tmp, lab), out=out)
            np.log(out, out=out)
        else:
            _logits_stable(h, b, lab, out, tmp)
        return
    # large: try the unshifted form on every row, then redo the rows where it is not exact
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        np.exp(b, out=tmp)
        picked = h.picked(tmp, lab)
        np.divide(h.rowsum(tmp), picked, out=out)
    # exp(z[label]) is a normal number and no exp, sum or ratio overflowed (both False on NaN):
    # two reductions decide for the block, the mask of rows is made only when one fails
    if not (_min(picked) >= h.tiny and _max(out) <= h.huge):
        good = picked >= h.tiny
        good &= out <= h.huge
        rows = np.flatnonzero(~good)
        sub = b[rows] if h.cls == 1 else b[:, rows]
        redo = np.empty(rows.size, dtype=out.dtype)
        _logits_stable(h, sub, lab[rows], redo, np.empty_like(sub))
        np.log(out, out=out)
        out[rows] = redo
        return
    np.log(out, out=out)


def _logits_stable(h: _Block, b: np.ndarray, lab: np.ndarray, out: np.ndarray, tmp: np.ndarray) -> None:
    """``log(sum(exp(z - max z))) - (z[label] - max z)``: any logits, NaN and inf propagate."""
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):  # inf - inf gives NaN
        m = _max(b, axis=h.cls)
        np.subtract(b, h.per_row(m), out=tmp)
        z = h.picked(tmp, lab)
        np.exp(tmp, out=tmp)
        np.log(h.rowsum(tmp), out=out)
        out -= z


def _block_ranges(outer: int, num_classes: int, inner: int):
    """Block pieces of an ``(outer, C, inner)`` array: ``(o_slice_or_int, inner_slice)``."""
    if inner == 1:
        rows = max(1, _BLOCK_ELEMENTS // num_classes)
        return [(slice(o, min(o + rows, outer)), None) for o in range(0, outer, rows)]
    cols = max(1, _BLOCK_ELEMENTS // num_classes)
    return [(o, slice(i, min(i + cols, inner))) for o in range(outer) for i in range(0, inner, cols)]


def _run(kernel, x3: np.ndarray, lab: np.ndarray, out: np.ndarray) -> None:
    """Apply ``kernel`` to every block of ``x3`` (outer, C, inner), writing ``out`` (outer, inner)."""
    outer, num_classes, inner = x3.shape
    dtype = x3.dtype
    if inner == 1:
        x2, lab2, out2 = x3.reshape(outer, num_classes), lab.reshape(outer), out.reshape(outer)
        h = _helper(1, num_classes, dtype)
        if x2.size <= _BLOCK_ELEMENTS:  # one block: no bookkeeping (per-call overhead matters here)
            kernel(h, x2, lab2, out2, np.empty_like(x2))
            return
    else:
        h = _helper(0, num_classes, dtype)
    pieces = _block_ranges(outer, num_classes, inner)
    size = min(x3.size, max(_BLOCK_ELEMENTS, num_classes))

    def work(part):
        tmp = np.empty(size, dtype=dtype)
        for o, i in part:
            if i is None:
                b, lb, ob = x2[o], lab2[o], out2[o]
            else:
                b, lb, ob = x3[o, :, i], lab[o, i], out[o, i]
            kernel(h, b, lb, ob, tmp[:b.size].reshape(b.shape))

    engine.run(work, pieces, x3.size)


def _fast_path(y_true, y_pred, from_logits, axis, ignore_class):
    """The common small call (a 2-D float array and its integer labels) with no bookkeeping.

    Per-call overhead is what costs on small batches (a 32x10 batch takes about ten NumPy
    calls of under a microsecond each): the checks are ordered cheapest first, and a batch
    of one small block does the small-block kernels' arithmetic inline, call for call, so
    the numbers are the general path's (tests/test_kernels_scce.py compares them).
    ``None`` sends every other case (and every error) to the general path.
    """
    if (type(y_pred) is not np.ndarray or type(y_true) is not np.ndarray or ignore_class is not None
            or type(axis) is not int or (axis != -1 and axis != 1)):
        return None
    shape = y_pred.shape
    if len(shape) != 2 or y_true.shape != shape[:1]:
        return None
    dtype = y_pred.dtype
    n, num_classes = shape
    fast = _FAST_LABELS.get(y_true.dtype)
    if (fast is None or dtype not in _FAST_FLOATS or not 0 < n * num_classes <= _BLOCK_ELEMENTS
            or num_classes > fast[1] or not y_pred.flags.c_contiguous):
        return None
    if _max(y_true.view(fast[0])) >= num_classes:
        return None  # negative labels are large as unsigned: the general path raises
    if fast[1] is math.inf and y_true.itemsize == 8:
        y_true = y_true.astype(np.intp)  # uint64 + intp offsets would give float64
    h = _helper(1, num_classes, dtype)
    if n * num_classes > _SMALL_BLOCK:  # one large block
        out = np.empty(n, dtype=dtype)
        (_logits_block if from_logits else _probs_block)(h, y_pred, y_true, out, np.empty(shape, dtype=dtype))
        return out
    if from_logits:  # _logits_block's small form
        tmp = np.abs(y_pred)
        if not _max(tmp, axis=None) <= h.bound:
            out = np.empty(n, dtype=dtype)
            _logits_stable(h, y_pred, y_true, out, tmp)
            return out
        np.exp(y_pred, out=tmp)
        out = np.divide(tmp.dot(h.ones), tmp.take(_steps(n, num_classes) + y_true))
        return np.log(out, out=out)
    s = y_pred.dot(h.ones)  # _probs_block's small form
    with np.errstate(divide="ignore", invalid="ignore"):
        tmp = np.divide(y_pred, s[:, None])
        _clip(tmp, h.eps, h.one_eps, out=tmp)
        out = np.divide(tmp.dot(h.ones), tmp.take(_steps(n, num_classes) + y_true))
        return np.log(out, out=out)


def sparse_categorical_crossentropy_with_mask(
    y_true, y_pred, from_logits: bool = False, axis: int = -1, ignore_class=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The loss and the mask of positions that count (``None`` when all count)."""
    if from_logits is not True and from_logits is not False:
        from_logits = check_bool(from_logits, "from_logits")
    if ignore_class is not None:
        ignore_class = check_ignore_class(ignore_class)
    fast = _fast_path(y_true, y_pred, from_logits, axis, ignore_class)
    if fast is not None:
        return fast, None
    pred = as_float_array(y_pred, "y_pred")
    labels = as_label_array(y_true, "y_true")
    if pred.ndim == 0:
        raise HaibalValueError("y_pred must have a class axis, got a scalar")
    ax = normalize_axis(axis, pred.ndim)
    num_classes = pred.shape[ax]
    if num_classes == 0:
        raise HaibalValueError(f"y_pred has an empty class axis (shape {pred.shape}, axis {ax})")
    labels = _align_labels(labels, pred.shape, ax)
    labels, valid = _check_labels(labels, num_classes, ignore_class)

    work = compute_dtype(pred.dtype)
    x = np.ascontiguousarray(pred, dtype=work)
    outer = math.prod(pred.shape[:ax])
    inner = math.prod(pred.shape[ax + 1:])
    out = np.empty((outer, inner), dtype=work)
    if out.size:
        lab = labels.reshape(outer, inner)
        if not np.can_cast(lab.dtype, np.intp):  # uint64 (values already checked to be < C)
            lab = lab.astype(np.intp)
        _run(_logits_block if from_logits else _probs_block, x.reshape(outer, num_classes, inner), lab, out)

    loss = out.reshape(labels.shape)
    if valid is not None:
        # exactly +0 where ignored. A multiply by the mask (a masked store costs 8x more on
        # this path) gives -0.0 for a loss of -1 ulp, which adding +0 turns into +0, and NaN
        # where an ignored position's loss is NaN or inf (a -inf logit at class 0): then the
        # masked store is done after all.
        with np.errstate(invalid="ignore"):
            np.multiply(loss, valid, out=loss)
        loss += 0
        if np.isnan(_max(loss, axis=None)):
            loss[~valid] = 0
    return loss.astype(result_dtype(pred.dtype), copy=False), valid


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    """Sparse categorical crossentropy between integer labels and predictions.

    Same signature, semantics and numbers as ``tf.keras.losses.sparse_categorical_crossentropy``,
    plus: any array-like, any ``axis``, integral float labels, and a clear error for a label
    outside ``[0, C)`` (unless it equals ``ignore_class``, whose positions get loss 0).
    Returns an array shaped like ``y_pred`` without its class axis, of ``y_pred``'s float dtype.
    ``from_logits`` must be a bool and ``ignore_class`` an integer or ``None``.
    """
    if from_logits is not True and from_logits is not False:
        from_logits = check_bool(from_logits, "from_logits")
    loss = _fast_path(y_true, y_pred, from_logits, axis, ignore_class)
    if loss is None:
        loss, _ = sparse_categorical_crossentropy_with_mask(y_true, y_pred, from_logits, axis, ignore_class)
    return loss
