"""Activation functions, under Keras 3's names, signatures and formulas.

Every function takes any array-like and returns an array of the same shape: float32
stays float32, float64 stays float64, integers and lists become float32 (float16 is
computed in float32 and returned as float16). The formulas are the overflow-free forms:
``exp`` is only ever taken of non-positive numbers.
"""

from __future__ import annotations

import math

import numpy as np

from .arrays import as_float_array, compute_dtype, normalize_axis, result_dtype
from ..errors import HaibalValueError
from .kernels import fastmath

__all__ = [
    "relu", "leaky_relu", "relu6", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "hard_silu",
    "hard_swish", "softmax", "log_softmax", "softplus", "softsign", "silu", "swish", "mish", "tanh",
    "exponential", "linear", "log_sigmoid", "thresholded_relu", "get",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _work(x) -> tuple[np.ndarray, tuple]:
    """``x`` in the working dtype, at least 1-D (NumPy turns 0-d results into scalars);
    and the ``(dtype, shape)`` the result must have."""
    arr = as_float_array(x, "x")
    spec = (result_dtype(arr.dtype), arr.shape)
    return np.atleast_1d(arr.astype(compute_dtype(arr.dtype), copy=False)), spec


def _done(y: np.ndarray, spec: tuple) -> np.ndarray:
    dtype, shape = spec
    return np.asarray(y).astype(dtype, copy=False).reshape(shape)


def _number(value, name: str, optional: bool = False):
    if value is None and optional:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HaibalValueError(f"{name} must be a number, got {value!r}") from None


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """``max(x, 0)``; with ``threshold``: ``x`` above it, else ``negative_slope * (x - threshold)``;
    ``max_value`` caps the positive part. Keras 3's ``relu`` exactly.
    """
    negative_slope = _number(negative_slope, "negative_slope")
    max_value = _number(max_value, "max_value", optional=True)
    threshold = _number(threshold, "threshold")
    v, spec = _work(x)
    k = v.dtype.type
    with np.errstate(invalid="ignore"):
        if negative_slope != 0.0 and max_value is None and threshold == 0.0:
            return _done(np.where(v > 0, v, v * k(negative_slope)), spec)
        if threshold != 0.0:
            y = v * (v > k(threshold))
        else:
            y = np.maximum(v, k(0))
        if max_value is not None:
            y = np.clip(y, k(0), k(max_value))
        if negative_slope != 0.0:
            y = y - k(negative_slope) * np.maximum(k(threshold) - v, k(0))
    return _done(y, spec)


def leaky_relu(x, negative_slope=0.2):
    """``x`` where ``x > 0``, else ``negative_slope * x``."""
    negative_slope = _number(negative_slope, "negative_slope")
    v, spec = _work(x)
    return _done(np.where(v > 0, v, v * v.dtype.type(negative_slope)), spec)


def relu6(x):
    """``min(max(x, 0), 6)``."""
    v, spec = _work(x)
    return _done(np.clip(v, v.dtype.type(0), v.dtype.type(6)), spec)


def elu(x, alpha=1.0):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (via ``expm1``)."""
    alpha = _number(alpha, "alpha")
    v, spec = _work(x)
    neg = np.expm1(np.minimum(v, v.dtype.type(0)))
    return _done(np.where(v > 0, v, v.dtype.type(alpha) * neg), spec)


def selu(x):
    """``scale * elu(x, alpha)`` with Klambauer et al.'s constants."""
    v, spec = _work(x)
    k = v.dtype.type
    neg = k(SELU_ALPHA) * np.expm1(np.minimum(v, k(0)))
    return _done(k(SELU_SCALE) * np.where(v > 0, v, neg), spec)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def gelu(x, approximate=False):
    """``x * P(X <= x)`` for a standard normal X; with ``approximate``, the tanh form.

    Exact: ``0.5 x erfc(-x / sqrt 2)`` (no cancellation for negative x).
    Approximate: ``x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))``, which is
    ``0.5 x (1 + tanh(...))`` without its cancellation.
    """
    v, spec = _work(x)
    k = v.dtype.type
    if approximate:
        with np.errstate(over="ignore"):  # |x|^3 may overflow to inf: sigmoid(+-inf) is exact
            u = k(2 * math.sqrt(2 / math.pi)) * (v + k(0.044715) * v * v * v)
        return _done(v * _sigmoid(u), spec)
    wide = v.astype(np.float64)
    cdf = 0.5 * _erfc(-wide / math.sqrt(2)).astype(np.float64)
    return _done((wide * cdf).astype(v.dtype), spec)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        e = np.exp(-np.abs(v))
        one = v.dtype.type(1)
        return np.where(v >= 0, one / (one + e), e / (one + e))


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed from ``exp(-|x|)``."""
    v, spec = _work(x)
    return _done(_sigmoid(v), spec)


def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    v, spec = _work(x)
    return _done(-_softplus(-v), spec)


def hard_sigmoid(x):
    """Keras 3's ``relu6(x + 3) / 6``: 0 below -3, 1 above 3, ``x / 6 + 0.5`` between."""
    v, spec = _work(x)
    k = v.dtype.type
    return _done(np.clip(v + k(3), k(0), k(6)) / k(6), spec)


def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    v, spec = _work(x)
    k = v.dtype.type
    return _done(v * (np.clip(v + k(3), k(0), k(6)) / k(6)), spec)


hard_swish = hard_silu


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (``None``: over every element), max-shifted."""
    v, spec = _work(x)
    ax = _axis(axis, len(spec[1]))
    with np.errstate(invalid="ignore"):
        e = np.exp(v - v.max(axis=ax, keepdims=True)) if v.size else v.copy()
        e /= e.sum(axis=ax, keepdims=True)
    return _done(e, spec)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis`` (``None``: over every element), max-shifted."""
    v, spec = _work(x)
    ax = _axis(axis, len(spec[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        if not v.size:
            return _done(v.copy(), spec)
        s = v - v.max(axis=ax, keepdims=True)
        s -= np.log(np.exp(s).sum(axis=ax, keepdims=True))
    return _done(s, spec)


def _axis(axis, ndim: int):
    if axis is None:
        return None
    if ndim == 0:
        raise HaibalValueError(f"axis={axis!r} is out of range for a scalar x")
    return normalize_axis(axis, ndim)


def _softplus(v: np.ndarray) -> np.ndarray:
    return fastmath.softplus(v)


def softplus(x):
    """``log(exp(x) + 1)``, as ``max(x, 0) + log1p(exp(-|x|))``."""
    v, spec = _work(x)
    return _done(_softplus(v), spec)


def softsign(x):
    """``x / (|x| + 1)``."""
    v, spec = _work(x)
    return _done(v / (np.abs(v) + v.dtype.type(1)), spec)


def silu(x):
    """Swish: ``x * sigmoid(x)``."""
    v, spec = _work(x)
    return _done(v * _sigmoid(v), spec)


swish = silu


def mish(x):
    """``x * tanh(softplus(x))``."""
    v, spec = _work(x)
    return _done(v * np.tanh(_softplus(v)), spec)


def tanh(x):
    """Hyperbolic tangent."""
    v, spec = _work(x)
    return _done(np.tanh(v), spec)


def exponential(x):
    """``exp(x)``."""
    v, spec = _work(x)
    with np.errstate(over="ignore"):
        return _done(np.exp(v), spec)


def linear(x):
    """The identity (as an array of the library's dtype)."""
    v, spec = _work(x)
    return _done(v.copy(), spec)


def thresholded_relu(x, theta=1.0):
    """``x`` where ``x > theta``, else 0 (HAIBAL's ThresholdedReLU; ``relu(x, threshold=theta)``)."""
    return relu(x, threshold=theta)


def get(identifier):
    """An activation function by name (``None`` gives ``linear``), as ``keras.activations.get``."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in __all__ and identifier != "get":
        return globals()[identifier]
    raise HaibalValueError(f"unknown activation {identifier!r}; known: {', '.join(n for n in __all__ if n != 'get')}")
