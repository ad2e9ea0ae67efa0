"""Convolution layers (Keras 3's): Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D
and SeparableConv1D/2D, forward and backward, channels-last.

Weights have Keras' names and layouts: ``kernel`` ``(*kernel_size, in_channels // groups,
filters)`` and ``bias`` ``(filters,)``; a transposed convolution's ``kernel`` is
``(*kernel_size, filters, in_channels)``; a depthwise convolution's ``kernel`` is
``(*kernel_size, in_channels, depth_multiplier)``; a separable convolution has
``depthwise_kernel``, ``pointwise_kernel`` ``(1, ..., in_channels * depth_multiplier,
filters)`` and ``bias``. Numbers are those of Keras' TensorFlow backend ("same" padding
puts the odd pixel after; a transposed convolution is TensorFlow's ``conv_transpose``);
the arithmetic is in ``kernels.conv``.

``activation`` is applied through ``ActivationStep`` (its backward pass included).
Keras raises on ``strides > 1`` together with ``dilation_rate > 1``; so does every layer
here (TensorFlow refuses the combination for depthwise and separable convolutions too).
"""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from ..activation_grads import ActivationStep
from ..kernels import conv as K
from .arguments import (format_shape, positive_int, refuse_unsupported, spatial_input_shape, standardize_data_format,
                        standardize_padding, standardize_tuple)
from .base import Layer, LayerError, serialize_or_none

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D"]


class _Spatial(Layer):
    """What every convolution shares: kernel size, strides, padding, dilation, activation."""

    rank = 0
    empty_batch_by_shape = True

    def _spatial_args(self, kernel_size, strides, padding, data_format, dilation_rate, allow_causal=False):
        who = f"{self.name} ({type(self).__name__})"
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", who)
        self.strides = standardize_tuple(strides, self.rank, "strides", who)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", who)
        self.padding = standardize_padding(padding, who, allow_causal=allow_causal)
        self.data_format = standardize_data_format(data_format, who)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise LayerError(f"{who}: strides > 1 is not supported together with dilation_rate > 1 (as in "
                             f"Keras); got strides={self.strides}, dilation_rate={self.dilation_rate}")

    def _bias_args(self, activation, use_bias, bias_initializer, bias_regularizer, bias_constraint) -> None:
        """The activation and bias arguments every convolution takes (``_bias_config`` writes them back)."""
        self.activation = ActivationStep(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = bias_constraint
        self.bias = None

    def _build_bias(self, size: int) -> None:
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), self.bias_initializer, self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def _who(self) -> str:
        return f"{self.name} ({type(self).__name__})"

    def _input_shape(self, input_shape) -> tuple:
        return spatial_input_shape(self, input_shape, self.rank)

    def _check_channels(self, shape, expected: int | None) -> None:
        if shape[-1] is None:
            raise LayerError(f"{self._who()}: the channel axis (last) of its input must be known, "
                             f"got shape {format_shape(shape)}")
        if expected is not None and shape[-1] != expected:
            raise LayerError(f"{self._who()} was built for inputs with {expected} channels, "
                             f"got shape {format_shape(shape)}")

    def _conv_lengths(self, shape, padding) -> tuple:
        out = []
        for n, k, s, d in zip(shape[1:-1], self.kernel_size, self.strides, self.dilation_rate):
            if n is None:
                out.append(None)
                continue
            length = K.conv_output_length(n, (k - 1) * d + 1, s, padding)
            if length <= 0:
                raise LayerError(f"{self._who()}: the kernel (kernel_size={self.kernel_size}, dilation_rate="
                                 f"{self.dilation_rate}) does not fit inputs of shape {format_shape(shape)} "
                                 f"with padding={padding!r}: the output would be empty")
            out.append(length)
        return tuple(out)

    def _geometry(self, x: np.ndarray) -> K.ConvGeometry:
        return K.conv_geometry(x.shape[1:-1], self.kernel_size, self.strides, self.dilation_rate, self.padding)

    def _spatial_config(self) -> dict:
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


def _bias_config(layer) -> dict:
    return {"activation": layer.activation.name, "use_bias": layer.use_bias,
            "bias_initializer": serialize_or_none(layer.bias_initializer, initializers),
            "bias_regularizer": serialize_or_none(layer.bias_regularizer, regularizers),
            "activity_regularizer": serialize_or_none(layer.activity_regularizer, regularizers),
            "bias_constraint": None}


# ---------------------------------------------------------------------- Conv
class _Conv(_Spatial):
    """Keras' ``BaseConv``: ``activation(conv(x, kernel) + bias)``."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        refuse_unsupported(self.name, lora_rank=lora_rank)
        self.filters = positive_int(filters, "filters", self.name)
        self.groups = positive_int(groups, "groups", self.name)
        if self.filters % self.groups:
            raise LayerError(f"{self.name}: filters ({self.filters}) must be divisible by groups ({self.groups})")
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate, allow_causal=self.rank == 1)
        self._bias_args(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint
        self.kernel = None

    def build(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None)
        if shape[-1] % self.groups:
            raise LayerError(f"{self._who()}: the input's {shape[-1]} channels must be divisible by "
                             f"groups={self.groups} (input shape {format_shape(shape)})")
        self.compute_output_shape(shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (shape[-1] // self.groups, self.filters),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._build_bias(self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None if self.kernel is None else self.kernel.shape[-2] * self.groups)
        return (shape[0],) + self._conv_lengths(shape, self.padding) + (self.filters,)

    def _forward(self, x, training):
        geom = self._geometry(x)
        z = K.conv_forward(x, self.kernel, geom, self.groups, self.bias)
        y, saved = self.activation.forward(z)
        return y, (x, geom, saved)

    def _backward(self, ctx, dy, need_dx):
        x, geom, saved = ctx
        dz = self.activation.backward(saved, dy)
        if not self.trainable:
            if not need_dx:
                return None, []
            return K.conv_input_grad(dz, self.kernel, geom, self.groups), []
        dx, dk, db = K.conv_backward(x, self.kernel, dz, geom, self.groups, need_dx, need_db=self.use_bias)
        return dx, [dk, db] if self.use_bias else [dk]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._spatial_config(), "groups": self.groups,
                "kernel_initializer": serialize_or_none(self.kernel_initializer, initializers),
                "kernel_regularizer": serialize_or_none(self.kernel_regularizer, regularizers),
                "kernel_constraint": None, **_bias_config(self)}


class Conv1D(_Conv):
    """Keras' ``Conv1D`` on ``(batch, steps, channels)``; ``padding`` may also be "causal"
    (zeros before the sequence only, so ``output[t]`` never reads ``input[t + 1:]``)."""

    rank = 1


class Conv2D(_Conv):
    """Keras' ``Conv2D`` on ``(batch, rows, cols, channels)``."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)


class Conv3D(_Conv):
    """Keras' ``Conv3D`` on ``(batch, dim1, dim2, dim3, channels)``."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, **kwargs)


# ---------------------------------------------------------------------- transposed
class _ConvTranspose(_Spatial):
    """Keras' ``BaseConvTranspose``: TensorFlow's ``conv_transpose`` plus bias, then activation."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "filters", self.name)
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = standardize_tuple(output_padding, self.rank, "output_padding", self._who(),
                                                    allow_zero=True)
            for axis, (op, s) in enumerate(zip(self.output_padding, self.strides)):
                if op >= s:
                    raise LayerError(f"{self._who()}: output_padding must be smaller than strides on every "
                                     f"axis; axis {axis} has output_padding {op} and strides {s}")
        self._bias_args(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = kernel_constraint
        self.kernel = None

    def build(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None)
        self.compute_output_shape(shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, shape[-1]),
                                      self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._build_bias(self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None if self.kernel is None else self.kernel.shape[-1])
        ops = self.output_padding or (None,) * self.rank
        out = tuple(None if n is None else K.transpose_output_length(n, k, s, self.padding, op, d)
                    for n, k, s, op, d in zip(shape[1:-1], self.kernel_size, self.strides, ops, self.dilation_rate))
        if any(n is not None and n <= 0 for n in out):
            raise LayerError(f"{self._who()}: inputs of shape {format_shape(shape)} give an empty output {out}")
        return (shape[0],) + out + (self.filters,)

    def _geometry(self, x):
        try:
            return K.transpose_geometry(x.shape[1:-1], self.kernel_size, self.strides, self.dilation_rate,
                                        self.padding, self.output_padding)
        except ValueError as exc:
            raise LayerError(f"{self._who()}: {exc}") from None

    def _forward(self, x, training):
        geom = self._geometry(x)
        z = K.conv_transpose_forward(x, self.kernel, geom, self.bias)
        y, saved = self.activation.forward(z)
        return y, (x, geom, saved)

    def _backward(self, ctx, dy, need_dx):
        x, geom, saved = ctx
        dz = self.activation.backward(saved, dy)
        if not self.trainable:
            return (K.conv_forward(dz, self.kernel, geom) if need_dx else None), []
        dx, dk, db = K.conv_transpose_backward(x, self.kernel, dz, geom, need_dx, need_db=self.use_bias)
        return dx, [dk, db] if self.use_bias else [dk]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._spatial_config(),
                "output_padding": self.output_padding,
                "kernel_initializer": serialize_or_none(self.kernel_initializer, initializers),
                "kernel_regularizer": serialize_or_none(self.kernel_regularizer, regularizers),
                "kernel_constraint": None, **_bias_config(self)}


class Conv1DTranspose(_ConvTranspose):
    """Keras' ``Conv1DTranspose`` on ``(batch, steps, channels)``."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Keras' ``Conv2DTranspose`` on ``(batch, rows, cols, channels)``; kernel
    ``(kh, kw, filters, in_channels)``."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """Keras' ``Conv3DTranspose`` on ``(batch, dim1, dim2, dim3, channels)``."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         **kwargs)


# ---------------------------------------------------------------------- depthwise
class _DepthwiseConv(_Spatial):
    """Keras' ``BaseDepthwiseConv``: each channel convolved with ``depth_multiplier`` kernels of its own."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate)
        self._bias_args(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.kernel = None

    def build(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None)
        self.compute_output_shape(shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (shape[-1], self.depth_multiplier),
                                      self.depthwise_initializer, self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self._build_bias(shape[-1] * self.depth_multiplier)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None if self.kernel is None else self.kernel.shape[-2])
        return (shape[0],) + self._conv_lengths(shape, self.padding) + (shape[-1] * self.depth_multiplier,)

    def _forward(self, x, training):
        geom = self._geometry(x)
        z = K.depthwise_forward(x, self.kernel, geom)
        if self.use_bias:
            z += self.bias
        y, saved = self.activation.forward(z)
        return y, (x, geom, saved)

    def _backward(self, ctx, dy, need_dx):
        x, geom, saved = ctx
        dz = self.activation.backward(saved, dy)
        dx, dk = K.depthwise_backward(x, self.kernel, dz, geom, need_dx=need_dx, need_dk=self.trainable)
        if not self.trainable:
            return dx, []
        grads = [dk]
        if self.use_bias:
            grads.append(dz.reshape(-1, dz.shape[-1]).sum(axis=0))
        return dx, grads

    def get_config(self):
        config = {**super().get_config(), **self._spatial_config(), "depth_multiplier": self.depth_multiplier,
                  "depthwise_initializer": serialize_or_none(self.depthwise_initializer, initializers),
                  "depthwise_regularizer": serialize_or_none(self.depthwise_regularizer, regularizers),
                  "depthwise_constraint": None, **_bias_config(self)}
        return config


class DepthwiseConv1D(_DepthwiseConv):
    """Keras' ``DepthwiseConv1D`` on ``(batch, steps, channels)``."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Keras' ``DepthwiseConv2D`` on ``(batch, rows, cols, channels)``; kernel
    ``(kh, kw, in_channels, depth_multiplier)`` (Keras names it ``kernel``)."""

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), **kwargs):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, **kwargs)


# ---------------------------------------------------------------------- separable
class _SeparableConv(_Spatial):
    """Keras' ``BaseSeparableConv``: a depthwise convolution, then a 1x1 convolution to
    ``filters`` channels, plus bias, then activation."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(filters, "filters", self.name)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self._spatial_args(kernel_size, strides, padding, data_format, dilation_rate)
        self._bias_args(activation, use_bias, bias_initializer, bias_regularizer, bias_constraint)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint, self.pointwise_constraint = depthwise_constraint, pointwise_constraint
        self.depthwise_kernel = self.pointwise_kernel = None

    def build(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None)
        self.compute_output_shape(shape)
        c = shape[-1]
        self.depthwise_kernel = self.add_weight("depthwise_kernel", self.kernel_size + (c, self.depth_multiplier),
                                                self.depthwise_initializer, self.depthwise_regularizer,
                                                constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight("pointwise_kernel",
                                                (1,) * self.rank + (c * self.depth_multiplier, self.filters),
                                                self.pointwise_initializer, self.pointwise_regularizer,
                                                constraint=self.pointwise_constraint)
        self._build_bias(self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._input_shape(input_shape)
        self._check_channels(shape, None if self.depthwise_kernel is None else self.depthwise_kernel.shape[-2])
        return (shape[0],) + self._conv_lengths(shape, self.padding) + (self.filters,)

    def _forward(self, x, training):
        geom = self._geometry(x)
        mid = K.depthwise_forward(x, self.depthwise_kernel, geom)
        mid2 = mid.reshape(-1, mid.shape[-1])
        z = mid2 @ self.pointwise_kernel.reshape(mid.shape[-1], self.filters)
        if self.use_bias:
            z += self.bias
        y, saved = self.activation.forward(z.reshape(mid.shape[:-1] + (self.filters,)))
        return y, (x, geom, mid2, saved)

    def _backward(self, ctx, dy, need_dx):
        x, geom, mid2, saved = ctx
        dz = self.activation.backward(saved, dy)
        dz2 = dz.reshape(-1, self.filters)
        pw = self.pointwise_kernel.reshape(mid2.shape[1], self.filters)
        need_mid = need_dx or self.trainable
        dx = d_dw = None
        if need_mid:
            dmid = (dz2 @ pw.T).reshape(dz.shape[:-1] + (mid2.shape[1],))
            dx, d_dw = K.depthwise_backward(x, self.depthwise_kernel, dmid, geom, need_dx=need_dx,
                                            need_dk=self.trainable)
        if not self.trainable:
            return dx, []
        grads = [d_dw, (mid2.T @ dz2).reshape(self.pointwise_kernel.shape)]
        if self.use_bias:
            grads.append(dz2.sum(axis=0))
        return dx, grads

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._spatial_config(),
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": serialize_or_none(self.depthwise_initializer, initializers),
                "pointwise_initializer": serialize_or_none(self.pointwise_initializer, initializers),
                "depthwise_regularizer": serialize_or_none(self.depthwise_regularizer, regularizers),
                "pointwise_regularizer": serialize_or_none(self.pointwise_regularizer, regularizers),
                "depthwise_constraint": None, "pointwise_constraint": None, **_bias_config(self)}


class SeparableConv1D(_SeparableConv):
    """Keras' ``SeparableConv1D`` on ``(batch, steps, channels)``."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Keras' ``SeparableConv2D`` on ``(batch, rows, cols, channels)``."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         **kwargs)
