"""Gradients of the losses: ``dL/dy_pred`` for every loss of ``haibal_py.losses``.

Training needs, besides a loss's value, its vector-Jacobian product with respect to the
predictions. ``LossGradient(loss)`` gives both for a ``Loss`` object, with Keras'
reductions and sample weights: ``value, dy, y_metrics = grad(y_true, y_pred, sample_weight)``.
The value is what ``loss(y_true, y_pred, sample_weight)`` returns (the same kernel is
called); the gradient is the derivative of that computation, clipping included (a clipped
probability gets no gradient, as TensorFlow's ``clip_by_value``).

Per-sample gradients live in one table, ``VJPS``: for each loss function of ``kernels``,
``vjp(y_true, y_pred, dl, **options) -> dy`` where ``dl`` is dL/d(per-sample losses).
Each is checked against central differences in tests/test_loss_grads.py.

**Fused activations.** When a model's output comes from a softmax (or sigmoid) and the
loss is a crossentropy on probabilities, Keras on TensorFlow computes the loss from the
logits the activation received (``_keras_logits``), which keeps a gradient for confident
mistakes that the clipped probabilities would lose. ``LossGradient(loss, fused="softmax")``
does the same: it takes the logits, returns the loss computed from them, ``dL/dlogits``
(``softmax(z) - y``, scaled) and the probabilities (``activations.softmax(z)``, what the
model would have output) for the metrics.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..errors import HaibalValueError
from . import activations as A
from .arrays import as_float_array, as_label_array, as_numeric_array, compute_dtype, squeeze_or_expand_to_same_rank
from .kernels import hinge as _hinge
from .kernels import probabilistic as _prob
from .kernels import regression as _reg
from .kernels import segmentation as _seg
from .kernels import sparse_categorical as _scce
from .loss_base import Loss, LossFunctionWrapper, broadcast_weights

__all__ = ["LossGradient", "LossGradientError", "VJPS", "FUSABLE", "loss_vjp", "fusable_activation"]

EPSILON = 1e-7


class LossGradientError(HaibalValueError):
    """A loss whose gradient is not known, or a reduction training cannot use."""


# ---------------------------------------------------------------------------- shapes
class _Rows:
    """``y_true`` and ``y_pred`` paired as Keras pairs them (a trailing size-1 axis dropped or
    added), cast to the working dtype and viewed as ``(rows, cols)`` with the reduced axes
    last; ``back(d)`` turns a ``(rows, cols)`` gradient into one shaped like ``y_pred``."""

    def __init__(self, y_true, y_pred, axes="last", labels: bool = False):
        pred = as_float_array(y_pred, "y_pred")
        self.shape, self.dtype = pred.shape, pred.dtype
        self.work = compute_dtype(pred.dtype)
        true = as_numeric_array(y_true, "y_true")
        if not labels:
            true, pred = squeeze_or_expand_to_same_rank(true, pred)
            if true.shape != pred.shape:
                raise HaibalValueError(f"y_true shape {true.shape} does not match y_pred shape {pred.shape}")
        ndim = pred.ndim
        if axes == "last":
            axes = (ndim - 1,) if ndim else ()
        elif axes is None:
            axes = tuple(range(ndim))
        else:
            items = axes if isinstance(axes, (tuple, list)) else (axes,)
            axes = tuple(sorted(int(a) % max(ndim, 1) for a in items))
        keep = [i for i in range(ndim) if i not in axes]
        self.perm = keep + list(axes)
        self.moved = self.perm != list(range(ndim))
        moved = np.transpose(pred, self.perm) if self.moved else pred
        self.moved_shape = moved.shape
        self.outer = tuple(moved.shape[:len(keep)])
        rows, cols = math.prod(self.outer), math.prod(moved.shape[len(keep):])
        self.P = moved.reshape(rows, cols).astype(self.work, copy=False)
        if labels:
            self.T = None
        else:
            tm = np.transpose(true, self.perm) if self.moved else true
            self.T = tm.reshape(rows, cols).astype(self.work, copy=False)
        self.cols = cols

    def dl(self, dl) -> np.ndarray:
        """dL/d(per-row loss) as a ``(rows, 1)`` column in the working dtype."""
        return np.asarray(dl, dtype=self.work).reshape(-1, 1)

    def back(self, d: np.ndarray) -> np.ndarray:
        d = d.reshape(self.moved_shape)
        if self.moved:
            d = np.transpose(d, np.argsort(self.perm))
        return d.reshape(self.shape).astype(self.dtype, copy=False)


def _k(r: _Rows, value) -> np.generic:
    return r.work.type(value)


def _clip_mask(x: np.ndarray, lo, hi) -> np.ndarray:
    """Where ``clip(x, lo, hi)`` passes its gradient (TensorFlow: lo <= x <= hi)."""
    return (x >= lo) & (x <= hi)


# ---------------------------------------------------------------------------- regression
def _mse_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    return r.back((r.P - r.T) * (r.dl(dl) * _k(r, 2.0 / max(r.cols, 1))))


def _mae_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    return r.back(np.sign(r.P - r.T) * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _mape_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    den = np.maximum(np.abs(r.T), _k(r, EPSILON))
    return r.back(np.sign(r.P - r.T) / den * (r.dl(dl) * _k(r, 100.0 / max(r.cols, 1))))


def _msle_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    eps = _k(r, EPSILON)
    mp = np.maximum(r.P, eps)
    d = np.log1p(mp) - np.log1p(np.maximum(r.T, eps))
    g = _k(r, 2.0) * d / (_k(r, 1) + mp) * (r.P >= eps)  # maximum(y_pred, eps): ties go to y_pred
    return r.back(g * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _cosine_vjp(y_true, y_pred, dl, axis=-1):
    r = _Rows(y_true, y_pred, axes=axis)
    t, p = r.T, r.P
    cap = _k(r, 1.0 / EPSILON)
    dot = np.einsum("ij,ij->i", t, p)[:, None]
    tt = np.einsum("ij,ij->i", t, t)[:, None]
    pp = np.einsum("ij,ij->i", p, p)[:, None]
    with np.errstate(divide="ignore"):
        raw_t, raw_p = _k(r, 1) / np.sqrt(tt), _k(r, 1) / np.sqrt(pp)
    inv_t, inv_p = np.minimum(raw_t, cap), np.minimum(raw_p, cap)
    # loss = -dot * inv_t * inv_p; d inv_p / dp = -p inv_p^3 where 1/sqrt(pp) is below the cap
    d_inv_p = np.where(raw_p < cap, -p * inv_p ** 3, _k(r, 0))
    g = -(t * inv_p + dot * d_inv_p) * inv_t
    return r.back(g * r.dl(dl))


def _huber_vjp(y_true, y_pred, dl, delta=1.0):
    r = _Rows(y_true, y_pred)
    d = _k(r, float(delta))
    return r.back(np.clip(r.P - r.T, -d, d) * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _log_cosh_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    return r.back(np.tanh(r.P - r.T) * (r.dl(dl) / _k(r, max(r.cols, 1))))


# ---------------------------------------------------------------------------- hinge
def _signed_labels(y_true, r: _Rows) -> np.ndarray:
    true = np.asarray(y_true)
    binary = _hinge.labels_are_binary(true) if true.dtype.kind in "fiub" else False
    return _k(r, 2) * r.T - _k(r, 1) if binary else r.T


def _hinge_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    t = _signed_labels(y_true, r)
    active = (_k(r, 1) - t * r.P) > 0
    return r.back(-t * active * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _squared_hinge_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    t = _signed_labels(y_true, r)
    m = np.maximum(_k(r, 1) - t * r.P, _k(r, 0))
    return r.back(_k(r, -2) * m * t * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _categorical_hinge_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    one = _k(r, 1)
    t, p = r.T, r.P
    negs = (one - t) * p
    neg = negs.max(axis=1, keepdims=True)
    pos = np.einsum("ij,ij->i", t, p)[:, None]
    active = (neg - pos + one) > 0
    ties = negs == neg  # reduce_max's gradient is shared among ties, as TensorFlow does
    d_neg = ties / ties.sum(axis=1, keepdims=True) * (one - t)
    return r.back((d_neg - t) * active * r.dl(dl))


# ---------------------------------------------------------------------------- probabilistic
def _kl_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    eps, one = _k(r, EPSILON), _k(r, 1)
    t = np.clip(r.T, eps, one)
    q = np.clip(r.P, eps, one)
    return r.back(-t / q * _clip_mask(r.P, eps, one) * r.dl(dl))


def _poisson_vjp(y_true, y_pred, dl):
    r = _Rows(y_true, y_pred)
    g = _k(r, 1) - r.T / (r.P + _k(r, EPSILON))
    return r.back(g * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _smooth_binary(r: _Rows, t: np.ndarray, ls: float) -> np.ndarray:
    return t * _k(r, 1 - ls) + _k(r, 0.5 * ls) if ls else t


def _smooth_onehot(r: _Rows, t: np.ndarray, ls: float) -> np.ndarray:
    return t * _k(r, 1 - ls) + _k(r, ls / t.shape[1]) if ls else t


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def _bce_vjp(y_true, y_pred, dl, from_logits=False, label_smoothing=0.0, axis=-1):
    r = _Rows(y_true, y_pred, axes=axis)
    t = _smooth_binary(r, r.T, float(label_smoothing))
    scale = r.dl(dl) / _k(r, max(r.cols, 1))
    if from_logits:
        return r.back((_sigmoid(r.P) - t) * scale)
    eps, one = _k(r, EPSILON), _k(r, 1)
    c = np.clip(r.P, eps, one - eps)
    g = (c - t) / (c * (one - c)) * _clip_mask(r.P, eps, one - eps)
    return r.back(g * scale)


def _binary_focal_vjp(y_true, y_pred, dl, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                      from_logits=False, label_smoothing=0.0, axis=-1):
    r = _Rows(y_true, y_pred, axes=axis)
    one, gamma = _k(r, 1), float(gamma)
    t = _smooth_binary(r, r.T, float(label_smoothing))
    x = r.P
    if from_logits:
        p = _sigmoid(x)
        bce = (np.maximum(x, _k(r, 0)) + np.log1p(np.exp(-np.abs(x)))) - x * t
        d_bce = p - t                      # d bce / dx
        dp_dx = p * (one - p)
    else:
        eps = _k(r, EPSILON)
        p = x
        c = np.clip(x, eps, one - eps)
        bce = -(t * np.log(c) + (one - t) * np.log1p(-c))
        d_bce = (c - t) / (c * (one - c)) * _clip_mask(x, eps, one - eps)
        dp_dx = one
    p_t = t * p + (one - t) * (one - p)
    base = one - p_t
    focal = base ** _k(r, gamma) if gamma else np.ones_like(base)
    d_focal = (-_k(r, gamma) * base ** _k(r, gamma - 1) * (_k(r, 2) * t - one) * dp_dx) if gamma else 0
    g = d_focal * bce + focal * d_bce
    if apply_class_balancing:
        a = _k(r, float(alpha))
        g = g * (t * a + (one - t) * (one - a))
    return r.back(g * (r.dl(dl) / _k(r, max(r.cols, 1))))


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _through_normalisation(g: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Gradient w.r.t. ``p`` of a function of ``q = p / sum(p)`` whose gradient w.r.t. ``q`` is ``g``."""
    s = p.sum(axis=1, keepdims=True)
    q = p / s
    return (g - np.einsum("ij,ij->i", g, q)[:, None]) / s


def _cce_vjp(y_true, y_pred, dl, from_logits=False, label_smoothing=0.0, axis=-1):
    r = _Rows(y_true, y_pred, axes=axis)
    t = _smooth_onehot(r, r.T, float(label_smoothing))
    if from_logits:
        g = _softmax_rows(r.P) * t.sum(axis=1, keepdims=True) - t
        return r.back(g * r.dl(dl))
    eps, one = _k(r, EPSILON), _k(r, 1)
    q = r.P / r.P.sum(axis=1, keepdims=True)
    c = np.clip(q, eps, one - eps)
    g = -t / c * _clip_mask(q, eps, one - eps)
    return r.back(_through_normalisation(g, r.P) * r.dl(dl))


def _categorical_focal_vjp(y_true, y_pred, dl, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                           axis=-1):
    r = _Rows(y_true, y_pred, axes=axis)
    t = _smooth_onehot(r, r.T, float(label_smoothing))
    eps, one, gamma = _k(r, EPSILON), _k(r, 1), float(gamma)
    a = np.asarray(alpha, dtype=r.work)
    p = _softmax_rows(r.P) if from_logits else r.P
    q = p / p.sum(axis=1, keepdims=True)
    c = np.clip(q, eps, one - eps)
    # loss = -sum(t a (1 - c)^gamma log c)
    power = (one - c) ** _k(r, gamma) if gamma else np.ones_like(c)
    d_power = _k(r, gamma) * (one - c) ** _k(r, gamma - 1) if gamma else np.zeros_like(c)
    g = -t * a * (power / c - d_power * np.log(c)) * _clip_mask(q, eps, one - eps)
    g = _through_normalisation(g, p)
    if from_logits:
        g = p * (g - np.einsum("ij,ij->i", g, p)[:, None])
    return r.back(g * r.dl(dl))


def _class_labels(y_true, pred_shape: tuple, ignore_class=None) -> np.ndarray:
    """Integer labels aligned with ``y_pred`` without its last axis (ignored ones set to 0)."""
    labels = as_label_array(y_true, "y_true")
    labels = _scce._align_labels(labels, pred_shape, len(pred_shape) - 1)
    if ignore_class is not None:
        labels = np.where(labels == ignore_class, 0, labels)
    return labels.reshape(-1)


def _scce_vjp(y_true, y_pred, dl, from_logits=False, axis=-1, ignore_class=None):
    r = _Rows(y_true, y_pred, axes=axis, labels=True)
    labels = _class_labels(y_true, r.moved_shape, ignore_class)
    rows = np.arange(labels.size)
    if from_logits:
        g = _softmax_rows(r.P)
        g[rows, labels] -= _k(r, 1)
        return r.back(g * r.dl(dl))
    eps, one = _k(r, EPSILON), _k(r, 1)
    q = r.P / r.P.sum(axis=1, keepdims=True)
    c = np.clip(q, eps, one - eps)
    # loss = log(sum(c)) - log(c[label]): TensorFlow's softmax crossentropy on log(c)
    g = np.broadcast_to(one / c.sum(axis=1, keepdims=True), c.shape).copy()
    g[rows, labels] -= one / c[rows, labels]
    g *= _clip_mask(q, eps, one - eps)
    return r.back(_through_normalisation(g, r.P) * r.dl(dl))


def _generalized_ce_vjp(y_true, y_pred, dl, q=0.5):
    """``(1 - p^q) / q`` of the label's probability: its derivative is ``-p^(q - 1)``."""
    pred = as_float_array(y_pred, "y_pred")
    work = compute_dtype(pred.dtype)
    c = pred.shape[-1]
    p = pred.reshape(-1, c).astype(work)
    labels = as_label_array(y_true, "y_true").reshape(-1)
    rows = np.arange(labels.size)
    g = np.zeros_like(p)
    g[rows, labels] = -np.power(p[rows, labels], work.type(float(q) - 1.0))
    g *= np.asarray(dl, dtype=work).reshape(-1, 1)
    return g.reshape(pred.shape).astype(pred.dtype, copy=False)


# ---------------------------------------------------------------------------- segmentation
def _overlap(y_true, y_pred, axis):
    r = _Rows(y_true, y_pred, axes=axis)
    if r.T.shape != r.P.shape:
        raise HaibalValueError(f"y_true shape {np.shape(y_true)} does not match y_pred shape {np.shape(y_pred)}")
    t = r.T.astype(np.float64)
    tp = np.einsum("ij,ij->i", t, r.P.astype(np.float64))[:, None]
    return r, t, tp, t.sum(axis=1, keepdims=True), r.P.astype(np.float64).sum(axis=1, keepdims=True)


def _dice_vjp(y_true, y_pred, dl, axis=None):
    r, t, tp, st, sp = _overlap(y_true, y_pred, axis)
    den = st + sp + EPSILON
    g = -2.0 * (t * den - tp) / (den * den)
    return r.back(g * np.asarray(dl, dtype=np.float64).reshape(-1, 1))


def _tversky_vjp(y_true, y_pred, dl, alpha=0.5, beta=0.5, axis=None):
    r, t, tp, st, sp = _overlap(y_true, y_pred, axis)
    a, b = float(alpha), float(beta)
    # alpha weighs the false positives sum(p (1 - t)), beta the false negatives sum(t (1 - p))
    den = tp + a * (sp - tp) + b * (st - tp) + EPSILON
    d_den = (1.0 - a - b) * t + a
    g = -(t * den - tp * d_den) / (den * den)
    return r.back(g * np.asarray(dl, dtype=np.float64).reshape(-1, 1))


#: loss function -> vjp(y_true, y_pred, dl, **the function's keyword options) -> dL/dy_pred
VJPS: dict[Callable, Callable] = {
    _reg.mean_squared_error: _mse_vjp,
    _reg.mean_absolute_error: _mae_vjp,
    _reg.mean_absolute_percentage_error: _mape_vjp,
    _reg.mean_squared_logarithmic_error: _msle_vjp,
    _reg.cosine_similarity: _cosine_vjp,
    _reg.huber: _huber_vjp,
    _reg.log_cosh: _log_cosh_vjp,
    _hinge.hinge: _hinge_vjp,
    _hinge.squared_hinge: _squared_hinge_vjp,
    _hinge.categorical_hinge: _categorical_hinge_vjp,
    _prob.kl_divergence: _kl_vjp,
    _prob.poisson: _poisson_vjp,
    _prob.binary_crossentropy: _bce_vjp,
    _prob.binary_focal_crossentropy: _binary_focal_vjp,
    _prob.categorical_crossentropy: _cce_vjp,
    _prob.categorical_focal_crossentropy: _categorical_focal_vjp,
    _scce.sparse_categorical_crossentropy: _scce_vjp,
    _prob.categorical_generalized_cross_entropy: _generalized_ce_vjp,
    _seg.dice: _dice_vjp,
    _seg.tversky: _tversky_vjp,
}

#: crossentropies Keras computes from the logits of a softmax / sigmoid output
FUSABLE: dict[Callable, str] = {
    _prob.categorical_crossentropy: "softmax",
    _scce.sparse_categorical_crossentropy: "softmax",
    _prob.binary_crossentropy: "sigmoid",
}


def loss_vjp(fn: Callable) -> Callable:
    """The vjp of loss function ``fn`` (LossGradientError naming it when none is known)."""
    try:
        return VJPS[fn]
    except (KeyError, TypeError):
        name = getattr(fn, "__name__", repr(fn))
        known = ", ".join(sorted(f.__name__ for f in VJPS))
        raise LossGradientError(f"no gradient is known for the loss function {name!r}, so a model cannot be "
                                f"trained with it; trainable losses: {known}") from None


def _wrapped(loss) -> LossFunctionWrapper:
    if not isinstance(loss, LossFunctionWrapper):
        name = getattr(loss, "name", None) or type(loss).__name__
        raise LossGradientError(f"the loss {name!r} ({type(loss).__name__}) has no known gradient: training "
                                "takes the losses of haibal_py.losses (functions or classes)")
    return loss


def fusable_activation(loss: Loss, activation_fn) -> str | None:
    """"softmax" or "sigmoid" when ``loss`` on the outputs of ``activation_fn`` is computed from
    the logits (as Keras does on TensorFlow); None otherwise."""
    if not isinstance(loss, LossFunctionWrapper):
        return None
    kind = FUSABLE.get(loss.fn)
    if kind is None or loss.fn_kwargs.get("from_logits", False):
        return None
    if loss.fn_kwargs.get("axis", -1) != -1:
        return None
    wanted = A.softmax if kind == "softmax" else A.sigmoid
    return kind if activation_fn is wanted else None


class LossGradient:
    """A ``Loss`` object's value and gradient: ``grad(y_true, y_pred, sample_weight)`` returns
    ``(value, dL/dy_pred, predictions)``; see the module docstring (``fused``: the model's
    output activation, "softmax" or "sigmoid", whose logits ``y_pred`` then holds)."""

    def __init__(self, loss: Loss, fused: str | None = None):
        loss = _wrapped(loss)
        if loss.reduction in (None, "none"):
            raise LossGradientError(f"loss {loss.name!r} has reduction={loss.reduction!r}, which gives one value "
                                    "per sample; training needs one number: use 'sum_over_batch_size' (Keras' "
                                    "default), 'sum', 'mean' or 'mean_with_sample_weight'")
        self.loss = loss
        self.vjp = loss_vjp(loss.fn)
        self.kwargs = dict(loss.fn_kwargs)
        if fused not in (None, "softmax", "sigmoid"):
            raise LossGradientError(f"fused must be None, 'softmax' or 'sigmoid', got {fused!r}")
        self.fused = fused
        if fused is not None:
            self.kwargs["from_logits"] = True
        self._sparse = loss.fn is _scce.sparse_categorical_crossentropy

    def _per_sample(self, y_true, y_pred):
        loss = self.loss
        if loss.mask_fn is not None:
            losses, mask = loss.mask_fn(y_true, y_pred, **self.kwargs)
        else:
            losses, mask = np.asarray(loss.fn(y_true, y_pred, **self.kwargs)), None
        if loss.dtype is not None:
            losses = losses.astype(loss.dtype)
        return losses, mask

    def _reduce(self, losses: np.ndarray, sample_weight, mask):
        """The reduced value and dL/d(losses), as ``loss_base.reduce_weighted`` reduces."""
        dtype = losses.dtype
        weights = None if sample_weight is None else broadcast_weights(sample_weight, losses.shape, dtype)
        values = losses if weights is None else losses * weights
        if mask is not None:
            values = np.where(mask, values, dtype.type(0))
        total = values.sum(dtype=np.float64)
        reduction = self.loss.reduction
        if reduction == "sum":
            divisor = 1.0
        elif reduction == "mean_with_sample_weight" and weights is not None:
            divisor = float((weights if mask is None else np.where(mask, weights, 0)).sum(dtype=np.float64))
        else:
            divisor = float(values.size if mask is None else np.count_nonzero(mask))
        value = dtype.type(total / divisor if divisor else 0.0)
        scale = dtype.type(1.0 / divisor) if divisor else dtype.type(0)
        if weights is None and mask is None:
            dl = np.full(losses.shape, scale, dtype=dtype)
        else:
            dl = (np.ones(losses.shape, dtype) if weights is None else weights) * scale
            if mask is not None:
                dl = np.where(mask, dl, dtype.type(0))
        return value, dl

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses, mask = self._per_sample(y_true, y_pred)
        value, dl = self._reduce(losses, sample_weight, mask)
        if self.fused is None:
            return value, self.vjp(y_true, y_pred, dl, **self.kwargs), y_pred
        return (value,) + self._fused_grad(y_true, y_pred, dl)

    def value(self, y_true, y_pred, sample_weight=None):
        """``(value, predictions)`` without the gradient (evaluation)."""
        losses, mask = self._per_sample(y_true, y_pred)
        value, _ = self._reduce(losses, sample_weight, mask)
        if self.fused is None:
            return value, y_pred
        return value, (A.softmax(y_pred) if self.fused == "softmax" else A.sigmoid(y_pred))

    def _fused_grad(self, y_true, z, dl):
        """dL/dlogits and the probabilities, for a softmax or sigmoid output."""
        if self.fused == "sigmoid":
            probs = A.sigmoid(z)
            t = np.asarray(y_true, dtype=probs.dtype)
            t, p = squeeze_or_expand_to_same_rank(t, probs)
            ls = float(self.kwargs.get("label_smoothing", 0.0))
            if ls:
                t = t * probs.dtype.type(1 - ls) + probs.dtype.type(0.5 * ls)
            n = p.shape[-1] if p.ndim else 1
            g = (p - t) * (dl.reshape(dl.shape + (1,) * (p.ndim - dl.ndim)) / probs.dtype.type(n))
            return g.reshape(z.shape).astype(z.dtype, copy=False), probs
        probs = A.softmax(z)
        c = probs.shape[-1]
        scale = dl.reshape(-1, 1).astype(probs.dtype, copy=False)
        if self._sparse:
            labels = _class_labels(y_true, probs.shape, self.kwargs.get("ignore_class"))
            g = probs.reshape(-1, c) * scale
            g[np.arange(labels.size), labels] -= scale[:, 0]
        else:
            t = np.asarray(y_true, dtype=probs.dtype).reshape(-1, c)
            ls = float(self.kwargs.get("label_smoothing", 0.0))
            if ls:
                t = t * probs.dtype.type(1 - ls) + probs.dtype.type(ls / c)
            g = (probs.reshape(-1, c) * t.sum(axis=1, keepdims=True) - t) * scale
        return g.reshape(z.shape).astype(z.dtype, copy=False), probs
