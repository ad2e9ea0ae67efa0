"""Activation layers: ``Activation``, ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``.

Forward passes call ``haibal_py.numeric.activations``; backward passes come from
``activation_grads`` (one table for every layer that applies an activation).
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations, initializers, regularizers
from ..activation_grads import ActivationStep, elu_backward, relu_backward, softmax_backward
from .base import Layer, LayerError, check_rank, serialize_or_none

__all__ = ["Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]


def _non_negative(value, name: str, who: str, optional: bool = False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise LayerError(f"{who}: {name} must be a non-negative number, got {value!r}")
    return float(value)


class Activation(Layer):
    """Applies ``activation`` (a name of ``haibal_py.activations`` or one of its functions)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = ActivationStep(activation)

    def _forward(self, x, training):
        y = self.activation.fn(x)  # never in place: x belongs to the caller
        saved = (x if "x" in self.activation.needs else None, y if "y" in self.activation.needs else None)
        return y, saved

    def _backward(self, saved, dy, need_dx):
        return (self.activation.backward(saved, dy) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "activation": self.activation.name}


class ReLU(Layer):
    """``relu(x, negative_slope, max_value, threshold)`` as a layer (Keras' ``ReLU``)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative(max_value, "max_value", self.name, optional=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", self.name)
        if threshold is None or isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise LayerError(f"{self.name}: threshold must be a number, got {threshold!r}")
        self.threshold = float(threshold)

    def _forward(self, x, training):
        y = activations.relu(x, negative_slope=self.negative_slope, max_value=self.max_value,
                             threshold=self.threshold)
        return y, x

    def _backward(self, x, dy, need_dx):
        if not need_dx:
            return None, []
        return relu_backward(x, dy, self.negative_slope, self.max_value, self.threshold), []

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` where ``x > 0``, else ``negative_slope * x`` (Keras' layer default 0.3; the
    Keras 2 spelling ``alpha=`` is accepted)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", self.name)

    def _forward(self, x, training):
        return activations.leaky_relu(x, negative_slope=self.negative_slope), x

    def _backward(self, x, dy, need_dx):
        if not need_dx:
            return None, []
        return np.where(x > 0, dy, dy * dy.dtype.type(self.negative_slope)), []

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
            raise LayerError(f"{self.name}: alpha must be a number, got {alpha!r}")
        self.alpha = float(alpha)

    def _forward(self, x, training):
        y = activations.elu(x, alpha=self.alpha)
        return y, (x, y)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        x, y = ctx
        return elu_backward(x, y, dy, self.alpha), []

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """``softmax`` along ``axis`` (an int or a tuple of ints), max-shifted."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else (axis,)
        if not axes or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise LayerError(f"{self.name}: axis must be an int or a tuple of ints, got {axis!r}")
        self.axis = tuple(int(a) for a in axes) if isinstance(axis, (list, tuple)) else int(axis)

    def _axes(self, ndim):
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        for a in axes:
            if not -ndim <= a < ndim:
                raise LayerError(f"{self.name} (Softmax): axis {a} is out of range for inputs of rank {ndim}")
        return tuple(a % ndim for a in axes)

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return tuple(input_shape)

    def _forward(self, x, training):
        axes = self._axes(x.ndim)
        if len(axes) == 1:
            y = activations.softmax(x, axis=axes[0])
        else:
            e = np.exp(x - x.max(axis=axes, keepdims=True))
            y = e / e.sum(axis=axes, keepdims=True)
        return y, (y, axes)

    def _backward(self, ctx, dy, need_dx):
        y, axes = ctx
        return (softmax_backward(y, dy, axes) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """``x`` where ``x > 0``, else ``alpha * x`` with a learned ``alpha`` per feature.

    ``alpha`` has the input shape without the batch axis, with 1 on ``shared_axes``
    (1-based, as Keras: ``shared_axes=[1, 2]`` shares alpha over height and width).
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = alpha_constraint
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = shared_axes if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise LayerError(f"{self.name}: shared_axes must hold axes >= 1 (the batch axis is 0), "
                                 f"got {shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]
        self.alpha = None

    def _alpha_shape(self, shape):
        shape = check_rank(self, shape, min_rank=2)
        out = list(shape[1:])
        for a in self.shared_axes or []:
            if a >= len(shape):
                raise LayerError(f"{self.name} (PReLU): shared axis {a} is out of range for input shape {shape}")
            out[a - 1] = 1
        if any(d is None for d in out):
            raise LayerError(f"{self.name} (PReLU): every non-shared axis must be known, got input shape {shape}")
        return tuple(out)

    def build(self, input_shape):
        self.alpha = self.add_weight("alpha", self._alpha_shape(input_shape), self.alpha_initializer,
                                     self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, min_rank=2)
        if self.alpha is not None:
            fits = len(shape) - 1 == self.alpha.ndim and all(
                a == 1 and (i + 1) in (self.shared_axes or []) or d is None or d == a
                for i, (d, a) in enumerate(zip(shape[1:], self.alpha.shape)))
            if not fits:
                raise LayerError(f"{self.name} (PReLU) was built for inputs of shape (None, "
                                 f"{', '.join(map(str, self.alpha.shape))}) with shared_axes={self.shared_axes}, "
                                 f"got shape {shape}")
        return shape

    def _forward(self, x, training):
        neg = np.minimum(x, x.dtype.type(0))
        return np.maximum(x, x.dtype.type(0)) + self.alpha * neg, (x, neg)

    def _backward(self, ctx, dy, need_dx):
        x, neg = ctx
        grads = []
        if self.trainable:
            g = dy * neg
            axes = (0,) + tuple(i + 1 for i, a in enumerate(self.alpha.shape) if a == 1 and x.shape[i + 1] != 1)
            grads.append(g.sum(axis=axes).reshape(self.alpha.shape))
        dx = None
        if need_dx:
            dx = np.where(x > 0, dy, 0) + np.where(x < 0, dy * self.alpha, 0)
        return dx, grads

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": serialize_or_none(self.alpha_initializer, initializers),
                "alpha_regularizer": serialize_or_none(self.alpha_regularizer, regularizers),
                "alpha_constraint": None, "shared_axes": self.shared_axes}
