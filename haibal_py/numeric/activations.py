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
from .keras_api import Registry
from ..errors import HaibalValueError
from .kernels import fastmath

__all__ = [
    "relu", "leaky_relu", "relu6", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "hard_silu",
    "hard_swish", "softmax", "log_softmax", "softplus", "softsign", "silu", "swish", "mish", "tanh",
    "exponential", "linear", "log_sigmoid", "thresholded_relu", "celu", "glu", "hard_shrink", "hard_tanh",
    "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink", "threshold",
    "get", "serialize", "deserialize",
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
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, a tuple of ints, or ``None`` for every
    element), max-shifted."""
    v, spec = _work(x)
    ax = _axis(axis, len(spec[1]))
    with np.errstate(invalid="ignore"):
        e = np.exp(v - v.max(axis=ax, keepdims=True)) if v.size else v.copy()
        e /= e.sum(axis=ax, keepdims=True)
    return _done(e, spec)


def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis`` (an int, a tuple of ints, or ``None`` for every
    element), max-shifted."""
    v, spec = _work(x)
    ax = _axis(axis, len(spec[1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        if not v.size:
            return _done(v.copy(), spec)
        s = v - v.max(axis=ax, keepdims=True)
        s -= np.log(np.exp(s).sum(axis=ax, keepdims=True))
    return _done(s, spec)


def _axis(axis, ndim: int):
    """``axis`` (None, an int, or a tuple/list of ints, as Keras accepts) as NumPy takes it."""
    if axis is None:
        return None
    if ndim == 0:
        raise HaibalValueError(f"axis={axis!r} is out of range for a scalar x")
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim) for a in axis)
        if not axes or len(set(axes)) != len(axes):
            raise HaibalValueError(f"axis {axis!r} must name distinct axes of x (rank {ndim})")
        return axes
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


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: ``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``."""
    alpha = _number(alpha, "alpha")
    if alpha == 0.0:
        raise HaibalValueError("alpha must not be 0 (celu divides by it)")
    v, spec = _work(x)
    k = v.dtype.type
    return _done(np.maximum(v, k(0)) + k(alpha) * np.expm1(np.minimum(v, k(0)) / k(alpha)), spec)


def glu(x, axis=-1):
    """Gated linear unit: ``a * sigmoid(b)``, ``a`` and ``b`` the two halves of ``x`` along ``axis``
    (whose size must be even); the result has half that size."""
    arr = as_float_array(x, "x")
    if arr.ndim == 0:
        raise HaibalValueError("glu needs an axis to split, got a scalar x")
    ax = normalize_axis(axis, arr.ndim)
    if arr.shape[ax] % 2:
        raise HaibalValueError(f"glu: the size of axis {axis} must be even, got x shape {arr.shape}")
    v = arr.astype(compute_dtype(arr.dtype), copy=False)
    a, b = np.split(v, 2, axis=ax)
    return (a * _sigmoid(b)).astype(result_dtype(arr.dtype), copy=False)


def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    v, spec = _work(x)
    return _done(np.clip(v, v.dtype.type(-1), v.dtype.type(1)), spec)


def hard_shrink(x, threshold=0.5):
    """``x`` where ``abs(x) > threshold``, else 0."""
    threshold = _number(threshold, "threshold")
    v, spec = _work(x)
    return _done(np.where(np.abs(v) > v.dtype.type(threshold), v, v.dtype.type(0)), spec)


def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    threshold = _number(threshold, "threshold")
    v, spec = _work(x)
    t = v.dtype.type(threshold)
    return _done(np.where(v > t, v - t, np.where(v < -t, v + t, v.dtype.type(0))), spec)


def tanh_shrink(x):
    """``x - tanh(x)``."""
    v, spec = _work(x)
    return _done(v - np.tanh(v), spec)


def sparse_plus(x):
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1`` (a smooth ReLU)."""
    v, spec = _work(x)
    k = v.dtype.type
    return _done(np.where(v <= -1, k(0), np.where(v < 1, k(0.25) * np.square(v + k(1)), v)), spec)


def sparse_sigmoid(x):
    """0 for ``x <= -1``, ``(x + 1) / 2`` for ``-1 < x < 1``, 1 for ``x >= 1``."""
    v, spec = _work(x)
    k = v.dtype.type
    return _done(np.where(v <= -1, k(0), np.where(v >= 1, k(1), k(0.5) * (v + k(1)))), spec)


def squareplus(x, b=4):
    """``(x + sqrt(x^2 + b)) / 2`` (a smooth ReLU; ``b >= 0``)."""
    b = _number(b, "b")
    if b < 0:
        raise HaibalValueError(f"b must be >= 0, got {b!r}")
    v, spec = _work(x)
    k = v.dtype.type
    with np.errstate(over="ignore"):
        return _done((v + np.sqrt(v * v + k(b))) / k(2), spec)


def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    threshold = _number(threshold, "threshold")
    default_value = _number(default_value, "default_value")
    v, spec = _work(x)
    return _done(np.where(v > v.dtype.type(threshold), v, v.dtype.type(default_value)), spec)


def sparsemax(x, axis=-1):
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of ``x`` onto the
    probability simplex along ``axis``, ``max(x - tau, 0)``, which sums to 1 and is exactly 0
    below the threshold ``tau``.

    ``tau = (sum of the k largest - 1) / k``, ``k`` the number of sorted entries ``z_j`` with
    ``1 + j z_j > sum of the j largest``. Keras 3.15 (every backend) divides the sum of the
    *cumulative* sums over that support by ``k`` instead, which is the projection only when
    ``k = 1``: for ``[1, 0.5, 0.1]`` it gives ``[0.25, 0, 0]``, which does not sum to 1. The
    projection, ``[0.75, 0.25, 0]``, is what a Keras user expects; the two agree whenever a
    single entry is kept (every case Keras' own tests check).
    """
    arr = as_float_array(x, "x")
    if arr.ndim == 0:
        raise HaibalValueError("sparsemax needs an axis, got a scalar x")
    ax = normalize_axis(axis, arr.ndim)
    v = np.moveaxis(arr.astype(compute_dtype(arr.dtype), copy=False), ax, -1)
    if v.shape[-1] == 0:
        return arr.astype(result_dtype(arr.dtype))
    k = v.dtype.type
    z = -np.sort(-v, axis=-1)
    cums = np.cumsum(z, axis=-1)
    ranks = np.arange(1, v.shape[-1] + 1, dtype=v.dtype)
    support = k(1) + ranks * z > cums
    count = support.sum(axis=-1, keepdims=True)
    top_sum = np.take_along_axis(cums, np.maximum(count - 1, 0), axis=-1)
    tau = (top_sum - k(1)) / np.maximum(count, 1).astype(v.dtype)
    out = np.maximum(v - tau, k(0))
    return np.moveaxis(out, -1, ax).astype(result_dtype(arr.dtype), copy=False)


# Keras' identifiers (keras.activations.ALL_OBJECTS_DICT): every function under its name, and
# the aliases swish (silu) and hard_swish (hard_silu). thresholded_relu is HAIBAL's.
REGISTRY = Registry("activation", {n: globals()[n] for n in __all__ if n not in ("get", "serialize", "deserialize")},
                    keras_module="keras.activations", own_module="haibal_py.activations", instantiate=False)


def serialize(activation) -> str:
    """The name of an activation function, as ``keras.activations.serialize`` gives for Keras'
    own (``swish`` gives ``"silu"``, the function it is)."""
    if not callable(activation):
        raise HaibalValueError(f"cannot serialize {activation!r}: not an activation function")
    return REGISTRY.function_name(activation)


def deserialize(config, custom_objects=None):
    """The activation function a name (or Keras' ``{"class_name": "function", "config": name}``) names."""
    return REGISTRY.with_objects(custom_objects).deserialize(config)


def get(identifier):
    """An activation function as ``keras.activations.get``: ``None`` gives ``linear``, a name or
    a serialized form gives the function, a callable is returned as it is."""
    if identifier is None:
        return linear
    return REGISTRY.get(identifier)
