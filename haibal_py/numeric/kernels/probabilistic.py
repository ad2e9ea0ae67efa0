"""Probabilistic losses (Keras 3 names, signatures and numbers on the TensorFlow backend).

- Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before any log.
- ``categorical_crossentropy`` first divides ``y_pred`` by its sum along ``axis``.
- ``binary_crossentropy(from_logits=True)`` is the stable
  ``max(x, 0) - x z + log1p(exp(-|x|))``; a categorical one uses a max-shifted log-sum-exp.
- ``label_smoothing`` squeezes binary labels towards 0.5 and one-hot labels towards
  ``1 / num_classes`` (the length of the class axis).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..arrays import as_float_array, as_label_array, check_bool, compute_dtype, normalize_axis, result_dtype
from ...errors import HaibalValueError
from . import fastmath
from .blocks import EPSILON, mean_of, pair, row_values, to_rows

__all__ = [
    "kl_divergence", "poisson", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_generalized_cross_entropy",
]


def _check_axis(axis) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise HaibalValueError(f"axis must be an integer, got {axis!r}")


def _check_smoothing(label_smoothing) -> float:
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise HaibalValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


def _kl(t, p):
    eps, one = p.dtype.type(EPSILON), p.dtype.type(1)
    t = np.clip(t, eps, one)
    q = np.clip(p, eps, one)
    return np.einsum("ij,ij->i", t, np.log(t / q))


def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[1e-7, 1]``."""
    return mean_of(_kl, y_true, y_pred, mean=False)


def _poisson(t, p):
    lg = np.log(p + p.dtype.type(EPSILON))
    return p.sum(axis=1) - np.einsum("ij,ij->i", t, lg)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."""
    return mean_of(_poisson, y_true, y_pred)


def _smooth_binary(t, ls: float):
    if ls:
        t = t * t.dtype.type(1 - ls) + t.dtype.type(0.5 * ls)
    return t


def _bce_probs(t, p):
    """Elementwise ``-(t log c + (1 - t) log(1 - c))`` summed per row, ``c`` the clipped ``p``."""
    eps = p.dtype.type(EPSILON)
    c = np.clip(p, eps, p.dtype.type(1) - eps)
    log_c = np.log(c)
    log_1mc = fastmath.log1p_finite(-c)
    np.subtract(log_c, log_1mc, out=log_c)  # t log c + (1-t) log(1-c) = t (log c - log(1-c)) + log(1-c)
    return -(np.einsum("ij,ij->i", t, log_c) + log_1mc.sum(axis=1))


def _bce_logits(t, x):
    """Elementwise ``max(x, 0) - x t + log1p(exp(-|x|))`` summed per row."""
    return fastmath.softplus(x).sum(axis=1) - np.einsum("ij,ij->i", t, x)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy, the mean along ``axis`` of the elementwise losses."""
    _check_axis(axis)
    ls = _check_smoothing(label_smoothing)
    base = _bce_logits if check_bool(from_logits, "from_logits") else _bce_probs
    return mean_of(lambda t, p: base(_smooth_binary(t, ls), p), y_true, y_pred, axis=axis)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow: ``exp(-|x|)`` only."""
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def _focal_kernel(apply_class_balancing, alpha, gamma, from_logits, ls):
    def kernel(t, p):
        one = p.dtype.type(1)
        t = _smooth_binary(t, ls)
        if from_logits:  # as Keras on TensorFlow: the stable logits crossentropy, unclipped
            bce = fastmath.softplus(p) - p * t
            p = sigmoid(p)
        else:
            eps = p.dtype.type(EPSILON)
            c = np.clip(p, eps, one - eps)
            bce = -(t * np.log(c) + (one - t) * fastmath.log1p_finite(-c))
        p_t = t * p + (one - t) * (one - p)
        focal = _power(one - p_t, gamma)
        out = focal * bce
        if apply_class_balancing:
            a = p.dtype.type(alpha)
            out *= t * a + (one - t) * (one - a)
        return out.sum(axis=1)
    return kernel


def _power(x: np.ndarray, gamma: float) -> np.ndarray:
    if gamma == 2.0:
        return x * x
    if gamma == 1.0:
        return x
    if gamma == 0.0:
        return np.ones_like(x)
    return np.power(x, x.dtype.type(gamma))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary focal crossentropy (Lin et al.): ``(1 - p_t)^gamma * bce``, optionally class-balanced.

    ``p_t = y_true p + (1 - y_true)(1 - p)``; with ``from_logits``, ``p = sigmoid(y_pred)`` and
    ``bce`` is the logits form (no clipping), as Keras computes it on TensorFlow.
    """
    _check_axis(axis)
    ls = _check_smoothing(label_smoothing)
    gamma = float(gamma)
    if gamma < 0:
        raise HaibalValueError(f"gamma must be >= 0, got {gamma!r}")
    kernel = _focal_kernel(check_bool(apply_class_balancing, "apply_class_balancing"), float(alpha), gamma,
                           check_bool(from_logits, "from_logits"), ls)
    return mean_of(kernel, y_true, y_pred, axis=axis)


def _smooth_onehot(t, ls: float):
    if ls:
        t = t * t.dtype.type(1 - ls) + t.dtype.type(ls / t.shape[1])
    return t


def _cce_probs(t, p):
    q = p / p.sum(axis=1, keepdims=True)
    eps = p.dtype.type(EPSILON)
    np.clip(q, eps, p.dtype.type(1) - eps, out=q)
    return -np.einsum("ij,ij->i", t, np.log(q, out=q))


def _cce_logits(t, x):
    e = x - x.max(axis=1, keepdims=True)
    picked = np.einsum("ij,ij->i", t, e)
    lse = np.log(np.exp(e, out=e).sum(axis=1))
    return lse * t.sum(axis=1) - picked


def _class_rows(y_true, y_pred, axis, fn_name):
    _check_axis(axis)
    true, pred, work, out_dtype = pair(y_true, y_pred)
    ax = normalize_axis(axis, pred.ndim)
    if pred.shape[ax] == 1:
        warnings.warn(f"{fn_name}: y_pred has a single class along axis {axis} (shape {pred.shape}); "
                      "use binary_crossentropy for two classes", UserWarning, stacklevel=3)
    t, outer = to_rows(true, (ax,))
    p, _ = to_rows(pred, (ax,))
    return t, p, outer, work, out_dtype


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Categorical crossentropy between one-hot (or soft) labels and predictions along ``axis``."""
    ls = _check_smoothing(label_smoothing)
    from_logits = check_bool(from_logits, "from_logits")
    t, p, outer, work, out_dtype = _class_rows(y_true, y_pred, axis, "categorical_crossentropy")
    base = _cce_logits if from_logits else _cce_probs
    if p.shape[1] == 0:
        return np.zeros(outer, dtype=out_dtype)
    out = row_values(lambda a, b: base(_smooth_onehot(a, ls), b), (t, p), work)
    return out.reshape(outer).astype(out_dtype)


def softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """``sum(alpha * (1 - q)^gamma * -y_true * log(q), axis)``, ``q`` the renormalised, clipped ``y_pred``.

    ``alpha`` is a scalar or one weight per class.
    """
    ls = _check_smoothing(label_smoothing)
    from_logits = check_bool(from_logits, "from_logits")
    gamma = float(gamma)
    if gamma < 0:
        raise HaibalValueError(f"gamma must be >= 0, got {gamma!r}")
    t, p, outer, work, out_dtype = _class_rows(y_true, y_pred, axis, "categorical_focal_crossentropy")
    a = np.asarray(alpha, dtype=work)
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] != p.shape[1]):
        raise HaibalValueError(f"alpha must be a scalar or one weight per class ({p.shape[1]}), "
                               f"got shape {a.shape}")
    if p.shape[1] == 0:
        return np.zeros(outer, dtype=out_dtype)

    def kernel(tb, pb):
        tb = _smooth_onehot(tb, ls)
        if from_logits:
            pb = softmax_rows(pb)
        eps = pb.dtype.type(EPSILON)
        q = pb / pb.sum(axis=1, keepdims=True)
        np.clip(q, eps, pb.dtype.type(1) - eps, out=q)
        w = _power(pb.dtype.type(1) - q, gamma) * a
        w *= np.log(q)
        return -np.einsum("ij,ij->i", tb, w)

    return row_values(kernel, (t, p), work).reshape(outer).astype(out_dtype)


kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross entropy (Zhang & Sabuncu, 2018): ``(1 - p^q) / q``, ``p`` the predicted
    probability of the integer label (``y_true`` ``(batch,)`` or ``(batch, 1)``, ``y_pred``
    ``(batch, classes)``); ``q`` in ``(0, 1)`` moves it from crossentropy (near 0) to MAE (1).
    """
    try:
        q = float(q)
    except (TypeError, ValueError):
        raise HaibalValueError(f"q must be a number in (0, 1), got {q!r}") from None
    if not 0.0 < q < 1.0:
        raise HaibalValueError(f"q must be in the interval (0, 1), got {q!r}")
    pred = as_float_array(y_pred, "y_pred")
    labels = as_label_array(y_true, "y_true")
    if pred.ndim == 0:
        raise HaibalValueError("y_pred must have a class axis, got a scalar")
    if labels.ndim == pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != pred.shape[:-1]:
        raise HaibalValueError(f"categorical_generalized_cross_entropy: y_true shape {labels.shape} must be y_pred "
                               f"shape {pred.shape} without its last (class) axis")
    num_classes = pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise HaibalValueError(f"y_true holds the label {int(bad)}, outside the valid range [0, {num_classes})")
    work = compute_dtype(pred.dtype)
    p = np.take_along_axis(pred.astype(work, copy=False), labels[..., None].astype(np.intp), axis=-1)[..., 0]
    k = work.type
    with np.errstate(invalid="ignore"):
        out = (k(1) - np.power(p, k(q))) / k(q)
    return out.astype(result_dtype(pred.dtype))
