"""Confusion counts at thresholds, and the curves built on them (Keras' ``metrics_utils``).

A prediction is positive at threshold ``t`` when ``y_pred > t``; a label is positive when
it is non-zero. ``confusion_counts`` returns the weighted true/false positives/negatives
for every threshold (shape ``[T]``, or ``[T, L]`` per label with ``multi_label``) from a
histogram of the predictions over the thresholds: ``O(N log T)`` instead of comparing every
prediction with every threshold. NaN predictions are never above a threshold (as in Keras).
"""

from __future__ import annotations

import numpy as np

from ...errors import HaibalValueError
from ..arrays import as_sample_weight, squeeze_or_expand_to_same_rank
from .blocks import EPSILON

NEG_INF = -1e10  # Keras' stand-in for minus infinity (predictions dropped by top_k)

__all__ = ["NEG_INF", "parse_thresholds", "even_thresholds", "filter_top_k", "prepare",
           "confusion_counts", "divide_no_nan", "auc_from_counts", "interpolate_pr_auc", "pr_gain"]


def parse_thresholds(thresholds, default: float) -> tuple[np.ndarray, bool]:
    """``thresholds`` (None, a float or a list of floats in [0, 1]) as a 1-D float64 array,
    and whether a single float was given (the result is then a scalar)."""
    if thresholds is None:
        return np.array([default], dtype=np.float64), True
    arr = np.asarray(thresholds, dtype=np.float64)
    single = arr.ndim == 0
    arr = arr.reshape(-1)
    if arr.size == 0:
        raise HaibalValueError("thresholds must hold at least one value")
    if not np.all((arr >= 0) & (arr <= 1)):
        raise HaibalValueError(f"thresholds must be in the range [0, 1], got {np.asarray(thresholds).tolist()}")
    return arr, single


def even_thresholds(num_thresholds: int) -> np.ndarray:
    """Keras' AUC grid: ``-eps``, then ``i / (n - 1)`` for ``i = 1 .. n - 2``, then ``1 + eps``."""
    n = int(num_thresholds)
    if n <= 1:
        raise HaibalValueError(f"num_thresholds must be > 1, got {num_thresholds!r}")
    inner = [(i + 1) * 1.0 / (n - 1) for i in range(n - 2)]
    return np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON], dtype=np.float64)


def filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` with everything but the ``k`` largest entries of each row set to ``NEG_INF``
    (ties go to the lower index, as ``top_k``)."""
    k = int(k)
    if k < 1:
        raise HaibalValueError(f"top_k must be >= 1, got {k}")
    order = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, x, NEG_INF)


def prepare(y_true, y_pred, sample_weight=None, top_k=None, class_id=None):
    """Labels (bool), predictions and weights (float64), all of one shape, as Keras aligns them."""
    try:
        yt = np.asarray(y_true)
        yp = np.asarray(y_pred)
    except (TypeError, ValueError) as exc:
        raise HaibalValueError(f"y_true / y_pred is not an array: {exc}") from None
    if yt.dtype.kind not in "biuf" or yp.dtype.kind not in "biuf":
        raise HaibalValueError(f"y_true and y_pred must be numeric, got {yt.dtype} and {yp.dtype}")
    if yp.dtype.kind != "f":
        yp = yp.astype(np.float32)  # Keras' floatx
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    if yt.shape != yp.shape:
        raise HaibalValueError(f"y_true shape {yt.shape} does not match y_pred shape {yp.shape}")
    w = None
    if sample_weight is not None:
        w = as_sample_weight(sample_weight)
        _, w = squeeze_or_expand_to_same_rank(yp, w)
        if 0 < w.ndim < yp.ndim:  # per-sample weights: align on the left
            w = w.reshape(w.shape + (1,) * (yp.ndim - w.ndim))
        try:
            w = np.broadcast_to(w, yp.shape)
        except ValueError:
            raise HaibalValueError(f"sample_weight shape {np.shape(sample_weight)} cannot be broadcast to "
                                   f"y_pred shape {yp.shape}") from None
    if top_k is not None:
        if yp.ndim == 0:
            raise HaibalValueError("top_k needs predictions with a class axis")
        yp = filter_top_k(yp, top_k)
    if class_id is not None:
        if yp.ndim < 2:  # Keras: a class id needs a class axis after the batch axis
            raise HaibalValueError(f"class_id={class_id} needs y_pred with a class axis (batch, classes), "
                                   f"got y_pred shape {yp.shape}")
        if not -yp.shape[-1] <= int(class_id) < yp.shape[-1]:
            raise HaibalValueError(f"class_id {class_id} is out of range for y_pred shape {yp.shape}")
        yt, yp = yt[..., class_id], yp[..., class_id]
        w = None if w is None else w[..., class_id]
    return yt != 0, yp, w


CHUNK = 1 << 20  # predictions binned per pass (bounded temporaries for large inputs)
FEW_THRESHOLDS = 4  # up to this many thresholds, compare directly rather than binning


def _counts_direct(pos, pred, w, thresholds):
    """tp, fp, tn, fn by comparing every prediction with each of a few thresholds."""
    tp, fp = np.zeros(len(thresholds)), np.zeros(len(thresholds))
    total_pos = float(np.count_nonzero(pos)) if w is None else float(w[pos].sum())
    total = float(pred.size) if w is None else float(w.sum())
    for i, t in enumerate(thresholds.astype(pred.dtype)):
        for start in range(0, pred.size, CHUNK):
            part = slice(start, start + CHUNK)
            above = pred[part] > t
            hit = above & pos[part]
            if w is None:
                tp[i] += np.count_nonzero(hit)
                fp[i] += np.count_nonzero(above) - np.count_nonzero(hit)
            else:
                wt = w[part]
                tp[i] += wt[hit].sum()
                fp[i] += wt[above].sum() - wt[hit].sum()
    return tp, fp, total - total_pos - fp, total_pos - tp


def _bins_on_grid(th: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``searchsorted(th, p)`` for Keras' evenly spaced grid, by arithmetic: the guess
    ``ceil(p * (n - 1))`` is off by at most one near a threshold (rounding), so one
    comparison each way makes it exact. ~20x faster than a binary search."""
    n = len(th)
    guess = np.ceil(p * p.dtype.type(n - 1)) if p.dtype.kind == "f" else np.ceil(p * (n - 1.0))
    g = np.clip(np.nan_to_num(guess, nan=0.0, posinf=n, neginf=0.0), 0, n).astype(np.intp)
    g -= (g > 0) & (th[np.maximum(g - 1, 0)] >= p)  # a threshold counted as below is not
    g += (g < n) & (th[np.minimum(g, n - 1)] < p)  # a threshold left out is below
    return g


def _counts_1d(pos: np.ndarray, pred: np.ndarray, w: np.ndarray | None, thresholds: np.ndarray):
    """tp, fp, tn, fn at each threshold for flat arrays.

    Each prediction is binned by how many thresholds lie strictly below it (a binary search
    among the sorted thresholds, compared in the prediction's dtype as Keras does); suffix
    sums of the per-bin weights give the weight above each threshold: ``O(N log T)``,
    no sort of the predictions.
    """
    if len(thresholds) <= FEW_THRESHOLDS:
        return _counts_direct(pos, pred, w, thresholds)
    order = np.argsort(thresholds, kind="stable")
    th = thresholds[order].astype(pred.dtype)
    bins = len(th) + 1
    even = len(th) > 2 and np.array_equal(thresholds[order], even_thresholds(len(th)))
    hist_all = np.zeros(bins)
    hist_pos = np.zeros(bins)
    for start in range(0, pred.size, CHUNK):
        part = slice(start, start + CHUNK)
        p = pred[part]
        p = np.where(np.isnan(p), -np.inf, p) if p.dtype.kind == "f" else p  # NaN is never above
        below = _bins_on_grid(th, p) if even else np.searchsorted(th, p, side="left")
        ps = pos[part]
        if w is None:
            hist_all += np.bincount(below, minlength=bins)
            hist_pos += np.bincount(below[ps], minlength=bins)
        else:
            wt = w[part]
            hist_all += np.bincount(below, weights=wt, minlength=bins)
            hist_pos += np.bincount(below[ps], weights=wt[ps], minlength=bins)
    hist_neg = hist_all - hist_pos
    above_pos = np.cumsum(hist_pos[::-1])[::-1][1:]  # weight of positives above sorted threshold j
    above_neg = np.cumsum(hist_neg[::-1])[::-1][1:]
    tp, fp = np.empty(len(th)), np.empty(len(th))
    tp[order], fp[order] = above_pos, above_neg
    fn, tn = hist_pos.sum() - tp, hist_neg.sum() - fp
    return tp, fp, tn, fn


def confusion_counts(pos, pred, w, thresholds: np.ndarray, multi_label: bool = False,
                     label_weights=None) -> dict[str, np.ndarray]:
    """Weighted ``tp``, ``fp``, ``tn``, ``fn`` per threshold (``[T]``, or ``[T, L]`` with ``multi_label``)."""
    if label_weights is not None:
        lw = np.asarray(label_weights, dtype=np.float64)
        if not multi_label:  # weights on the last axis, folded into the sample weights
            try:
                w = np.broadcast_to(lw, pred.shape) * (1.0 if w is None else w)
            except ValueError:
                raise HaibalValueError(f"label_weights shape {lw.shape} does not fit y_pred shape {pred.shape}") from None
    if multi_label:
        if pred.ndim < 1:
            raise HaibalValueError("multi_label needs predictions with a label axis")
        cols = pred.shape[-1]
        per = [_counts_1d(pos[..., j].reshape(-1), pred[..., j].reshape(-1),
                          None if w is None else w[..., j].reshape(-1), thresholds) for j in range(cols)]
        return {k: np.stack([p[i] for p in per], axis=-1).reshape(len(thresholds), cols)
                for i, k in enumerate(("tp", "fp", "tn", "fn"))}
    tp, fp, tn, fn = _counts_1d(pos.reshape(-1), pred.reshape(-1), None if w is None else w.reshape(-1), thresholds)
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def divide_no_nan(a, b):
    """``a / b``, 0 where ``b`` is 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def interpolate_pr_auc(tp, fp, fn) -> np.ndarray:
    """Area under the precision-recall curve with Davis & Goadrich's interpolation (axis 0 = thresholds)."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = divide_no_nan(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = np.where(both, divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
    inc = divide_no_nan(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
    return inc.sum(axis=0)


def pr_gain(tp, fp, tn, fn) -> tuple[np.ndarray, np.ndarray]:
    """Recall gain and precision gain (Flach & Kull's precision-recall-gain curve), as Keras:
    ``1 - (P/N) fn/tp`` and ``1 - (P/N) fp/tp``; where ``tp`` is 0 the recall gain is 0 and the
    precision gain 1, and a negative recall gain is raised to 0."""
    scale = divide_no_nan(tp + fn, tn + fp)
    recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
    precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
    none = np.asarray(tp) == 0
    return np.maximum(np.where(none, 0.0, recall_gain), 0.0), np.where(none, 1.0, precision_gain)


def auc_from_counts(tp, fp, tn, fn, curve: str = "ROC", summation_method: str = "interpolation") -> np.ndarray:
    """Riemann sum of the ROC, PR or PRGAIN curve over the thresholds (axis 0), as Keras' ``AUC.result``."""
    if curve == "PR" and summation_method == "interpolation":
        return interpolate_pr_auc(tp, fp, fn)
    recall = divide_no_nan(tp, tp + fn)
    if curve == "ROC":
        x, y = divide_no_nan(fp, fp + tn), recall
    elif curve == "PR":
        x, y = recall, divide_no_nan(tp, tp + fp)
    else:
        x, y = pr_gain(tp, fp, tn, fn)
    if summation_method == "interpolation":
        heights = (y[:-1] + y[1:]) / 2.0
    elif summation_method == "minoring":
        heights = np.minimum(y[:-1], y[1:])
    else:  # majoring
        heights = np.maximum(y[:-1], y[1:])
    return ((x[:-1] - x[1:]) * heights).sum(axis=0)
