"""Backward passes of the activations: ``dx = dy * f'(x)`` for every function of ``activations``.

Layers with an ``activation=`` argument (Dense, Conv, RNN ...) and the activation layers
use this one table. ``backward_of(fn)`` gives ``(vjp, needs)`` for an activation function:
``vjp(x, y, dy) -> dx`` where ``x`` is the activation's input and ``y`` its output, and
``needs`` says which of them the vjp reads ("x", "y" or "xy"), so a layer keeps only
that array for its backward pass. At kinks the derivative is TensorFlow's (relu'(0) = 0).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..errors import HaibalValueError
from . import activations as A
from .activations import SELU_ALPHA, SELU_SCALE
from .kernels import fastmath

__all__ = ["ActivationStep", "backward_of", "activation_backward", "relu_backward", "leaky_relu_backward",
           "elu_backward", "softmax_backward", "log_softmax_backward", "sigmoid_of"]


def sigmoid_of(x: np.ndarray) -> np.ndarray:
    """``sigmoid(x)`` in ``x``'s dtype, without overflow."""
    e = np.exp(-np.abs(x))
    one = x.dtype.type(1)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def relu_backward(x, dy, negative_slope=0.0, max_value=None, threshold=0.0):
    """Backward of ``activations.relu(x, negative_slope, max_value, threshold)``."""
    k = dy.dtype.type
    if negative_slope != 0.0 and max_value is None and threshold == 0.0:
        return np.where(x > 0, dy, dy * k(negative_slope))
    if threshold != 0.0:
        core = x > k(threshold)
        y_core = x * core
    else:
        core = x > 0
        y_core = np.maximum(x, k(0))
    if max_value is not None:
        core = core & (y_core <= k(max_value))
    dx = dy * core
    if negative_slope != 0.0:
        dx += dy * (x < k(threshold)) * k(negative_slope)
    return dx


def leaky_relu_backward(x, dy, negative_slope=0.2):
    """Backward of ``leaky_relu``: 1 where ``x > 0``, ``negative_slope`` elsewhere."""
    return np.where(x > 0, dy, dy * dy.dtype.type(negative_slope))


def elu_backward(x, y, dy, alpha=1.0):
    """Backward of ``elu``: 1 where ``x > 0``, ``alpha * exp(x) = y + alpha`` elsewhere."""
    return np.where(x > 0, dy, dy * (y + dy.dtype.type(alpha)))


def _axes(axis, ndim):
    if axis is None:
        return None
    return tuple(a % ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))


def softmax_backward(y, dy, axis=-1):
    """Backward of ``softmax`` from its output: ``y * (dy - sum(dy * y))`` along ``axis``."""
    ax = _axes(axis, y.ndim)
    return y * (dy - (dy * y).sum(axis=ax, keepdims=True))


def log_softmax_backward(y, dy, axis=-1):
    """Backward of ``log_softmax`` from its output: ``dy - exp(y) * sum(dy)`` along ``axis``."""
    ax = _axes(axis, y.ndim)
    return dy - np.exp(y) * dy.sum(axis=ax, keepdims=True)


_erfc = np.frompyfunc(math.erfc, 1, 1)


def _gelu(x, y, dy):
    wide = x.astype(np.float64)
    cdf = 0.5 * _erfc(-wide / math.sqrt(2)).astype(np.float64)
    pdf = np.exp(-0.5 * wide * wide) / math.sqrt(2 * math.pi)
    return dy * (cdf + wide * pdf).astype(dy.dtype)


def _softplus_grad(x, y, dy):
    return dy * sigmoid_of(x)


def _softsign(x, y, dy):
    d = np.abs(x) + x.dtype.type(1)
    return dy / (d * d)


def _silu(x, y, dy):
    s = sigmoid_of(x)
    return dy * (s * (x.dtype.type(1) + x * (x.dtype.type(1) - s)))


def _mish(x, y, dy):
    t = np.tanh(fastmath.softplus(x))
    return dy * (t + x * (x.dtype.type(1) - t * t) * sigmoid_of(x))


def _hard_sigmoid(x, y, dy):
    k = x.dtype.type
    return dy * ((x > k(-3)) & (x < k(3))) * k(1 / 6)


def _hard_silu(x, y, dy):
    k = x.dtype.type
    hs = np.clip(x + k(3), k(0), k(6)) / k(6)
    return dy * (hs + x * ((x > k(-3)) & (x < k(3))) * k(1 / 6))


def _selu(x, y, dy):
    k = x.dtype.type
    return np.where(x > 0, dy * k(SELU_SCALE), dy * (y + k(SELU_SCALE * SELU_ALPHA)))


def _relu6(x, y, dy):
    return dy * ((x > 0) & (x < x.dtype.type(6)))


def _thresholded_relu(x, y, dy):
    return dy * (x > x.dtype.type(1.0))


def _log_sigmoid(x, y, dy):
    return dy * sigmoid_of(-x)


# fn -> (vjp(x, y, dy), needs)
_TABLE: dict[Callable, tuple[Callable, str]] = {
    A.linear: (lambda x, y, dy: dy, ""),
    A.relu: (lambda x, y, dy: dy * (y > 0), "y"),
    A.relu6: (_relu6, "x"),
    A.leaky_relu: (lambda x, y, dy: leaky_relu_backward(x, dy), "x"),
    A.elu: (lambda x, y, dy: elu_backward(x, y, dy), "xy"),
    A.selu: (_selu, "xy"),
    A.gelu: (_gelu, "x"),
    A.sigmoid: (lambda x, y, dy: dy * y * (y.dtype.type(1) - y), "y"),
    A.tanh: (lambda x, y, dy: dy * (y.dtype.type(1) - y * y), "y"),
    A.softmax: (lambda x, y, dy: softmax_backward(y, dy), "y"),
    A.log_softmax: (lambda x, y, dy: log_softmax_backward(y, dy), "y"),
    A.softplus: (_softplus_grad, "x"),
    A.softsign: (_softsign, "x"),
    A.silu: (_silu, "x"),
    A.mish: (_mish, "x"),
    A.hard_sigmoid: (_hard_sigmoid, "x"),
    A.hard_silu: (_hard_silu, "x"),
    A.exponential: (lambda x, y, dy: dy * y, "y"),
    A.log_sigmoid: (_log_sigmoid, "x"),
    A.thresholded_relu: (_thresholded_relu, "x"),
}


def backward_of(fn) -> tuple[Callable, str]:
    """``(vjp, needs)`` for an activation function of ``activations`` (see the module docstring)."""
    try:
        return _TABLE[fn]
    except (KeyError, TypeError):
        name = getattr(fn, "__name__", repr(fn))
        raise HaibalValueError(f"no backward pass is known for the activation {name!r}; "
                               f"use one of haibal_py.activations") from None


def activation_backward(fn, x, y, dy):
    """``dL/dx`` for ``y = fn(x)`` given ``dy = dL/dy``."""
    vjp, _ = backward_of(fn)
    return vjp(x, y, dy)


class ActivationStep:
    """An activation as a layer applies it (``Dense(activation=...)``, Conv, RNN ...):
    ``forward(z)`` returns ``(y, saved)`` keeping only what ``backward(saved, dy)`` reads.

    ``z`` must be a fresh array the layer owns: relu and tanh are then applied in place
    (no copy), and "linear" returns ``z`` itself. ``name`` is Keras' config value.
    """

    def __init__(self, identifier=None):
        self.fn = A.get(identifier)
        self.name = getattr(self.fn, "__name__", str(self.fn))
        self.vjp, self.needs = backward_of(self.fn)
        self.is_linear = self.fn is A.linear

    def forward(self, z: np.ndarray):
        if self.is_linear:
            return z, None
        if self.fn is A.relu:
            y = np.maximum(z, z.dtype.type(0), out=z)
            return y, (None, y)
        if self.fn is A.tanh:
            y = np.tanh(z, out=z)
            return y, (None, y)
        y = self.fn(z)
        return y, (z if "x" in self.needs else None, y if "y" in self.needs else None)

    def backward(self, saved, dy: np.ndarray) -> np.ndarray:
        if self.is_linear:
            return dy
        x, y = saved
        return self.vjp(x, y, dy)
