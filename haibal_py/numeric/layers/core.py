"""Core layers: ``Dense`` and ``Embedding`` (Keras 3's weights, layouts and defaults).

Dense: ``y = activation(x @ kernel + bias)`` on the last axis of inputs of any rank >= 2,
kernel ``(input_dim, units)``, bias ``(units,)``. Its backward pass is two GEMMs on the
(batch * ..., features) views of the arrays: ``dkernel = x^T dz`` and ``dx = dz kernel^T``.

Embedding: ``embeddings[indices]`` with embeddings ``(input_dim, output_dim)``; its gradient
is a scatter-add of the output gradient into the rows that were read.
"""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from ..activation_grads import ActivationStep
from .arguments import positive_int, refuse_unsupported
from .base import Layer, LayerError, check_rank, serialize_or_none
from .symbolic import format_shape

__all__ = ["Dense", "Embedding"]


class Dense(Layer):
    """Keras' ``Dense``: a fully connected layer on the last axis."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        refuse_unsupported(self.name, lora_rank=lora_rank, quantization_config=quantization_config)
        self.units = positive_int(units, "units", self.name)
        self.activation = ActivationStep(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.kernel = self.bias = None

    def build(self, input_shape):
        shape = check_rank(self, input_shape, min_rank=2)
        if shape[-1] is None:
            raise LayerError(f"{self.name} (Dense): the last axis of its input must be known, "
                             f"got shape {format_shape(shape)}")
        self.kernel = self.add_weight("kernel", (shape[-1], self.units), self.kernel_initializer,
                                      self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, min_rank=2)
        if self.kernel is not None and shape[-1] is not None and shape[-1] != self.kernel.shape[0]:
            raise LayerError(f"{self.name} (Dense) expects inputs whose last axis is {self.kernel.shape[0]}, "
                             f"got shape {format_shape(shape)}")
        return shape[:-1] + (self.units,)

    def _forward(self, x, training):
        x2 = x.reshape(-1, x.shape[-1])
        z = x2 @ self.kernel
        if self.use_bias:
            z += self.bias
        y, saved = self.activation.forward(z)
        return y.reshape(x.shape[:-1] + (self.units,)), (x2, saved, x.shape)

    def _backward(self, ctx, dy, need_dx):
        x2, saved, x_shape = ctx
        dz = self.activation.backward(saved, dy.reshape(-1, self.units))
        grads = []
        if self.trainable:
            grads.append(x2.T @ dz)
            if self.use_bias:
                grads.append(dz.sum(axis=0))
        dx = (dz @ self.kernel.T).reshape(x_shape) if need_dx else None
        return dx, grads

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation.name,
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_or_none(self.kernel_initializer, initializers),
                "bias_initializer": serialize_or_none(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_or_none(self.kernel_regularizer, regularizers),
                "bias_regularizer": serialize_or_none(self.bias_regularizer, regularizers),
                "kernel_constraint": None, "bias_constraint": None, "quantization_config": None}


class Embedding(Layer):
    """Keras' ``Embedding``: integer indices in ``[0, input_dim)`` to rows of ``embeddings``."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        if mask_zero:
            raise LayerError(f"{self.name}: mask_zero=True is not supported yet (haibal-py layers do not "
                             f"propagate masks); pad with a zero row you ignore in the loss instead")
        refuse_unsupported(self.name, lora_rank=lora_rank, quantization_config=quantization_config)
        self.input_dim = positive_int(input_dim, "input_dim", self.name)
        self.output_dim = positive_int(output_dim, "output_dim", self.name)
        self.mask_zero = False
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.embeddings = None
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, list) and len(weights) == 1 else [weights])

    def build(self, input_shape=None):
        if self.embeddings is None:
            self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                              self.embeddings_initializer, self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _cast(self, inputs):
        try:
            idx = np.asarray(inputs)
        except (TypeError, ValueError) as exc:
            raise LayerError(f"{self.name}: input is not an array ({exc})") from None
        if idx.dtype.kind == "f":
            if not np.all(np.isfinite(idx)) or not np.array_equal(idx, np.round(idx)):
                raise LayerError(f"{self.name} (Embedding) takes integer indices, got non-integral values")
            idx = idx.astype(np.int64)
        elif idx.dtype.kind == "b" or idx.dtype.kind not in "iu":
            raise LayerError(f"{self.name} (Embedding) takes integer indices, got dtype {idx.dtype}")
        if idx.size:
            lo, hi = idx.min(), idx.max()
            if lo < 0 or hi >= self.input_dim:
                bad = lo if lo < 0 else hi
                raise LayerError(f"{self.name} (Embedding): index {int(bad)} is outside [0, {self.input_dim})")
        return idx

    def _forward(self, idx, training):
        return np.take(self.embeddings, idx, axis=0), idx

    def _backward(self, idx, dy, need_dx):
        if not self.trainable:
            return None, []
        grad = np.zeros_like(self.embeddings)
        np.add.at(grad, idx.reshape(-1), dy.reshape(-1, self.output_dim))
        return None, [grad]

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": serialize_or_none(self.embeddings_initializer, initializers),
                "embeddings_regularizer": serialize_or_none(self.embeddings_regularizer, regularizers),
                "activity_regularizer": serialize_or_none(self.activity_regularizer, regularizers),
                "embeddings_constraint": None, "mask_zero": False, "quantization_config": None}
