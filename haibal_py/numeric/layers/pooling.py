"""Pooling layers (Keras 3's): MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the global
poolings GlobalAveragePooling1D/2D/3D and GlobalMaxPooling1D/2D/3D, channels-last.

Numbers and gradients are those of Keras' TensorFlow backend (``kernels.pooling``):
"same" windows never take padding (max pooling pads with -inf, average pooling divides
by the window's real inputs); a window's max-pooling gradient goes to its first maximum
in scan order in 1-D and 2-D, and to every tied maximum in 3-D (TensorFlow's MaxPool3D
gradient does that); a global max's gradient is shared equally between tied maxima.
Keras' ``GlobalAveragePooling1D`` mask argument is not supported (haibal-py layers do not
carry masks).
"""

from __future__ import annotations

from ..kernels import pooling as P
from ..kernels.windows import conv_geometry, conv_output_length
from .base import Layer, LayerError
from .arguments import (format_shape, spatial_input_shape, standardize_data_format, standardize_padding,
                        standardize_tuple)

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
           "AveragePooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D"]


class _Pooling(Layer):
    """Keras' ``BasePooling``: ``pool_size`` windows every ``strides`` (default: ``pool_size``)."""

    rank = 0
    empty_batch_by_shape = True
    mode = "max"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = f"{self.name} ({type(self).__name__})"
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", who)
        self.strides = self.pool_size if strides is None else standardize_tuple(strides, self.rank, "strides", who)
        self.padding = standardize_padding(padding, who)
        self.data_format = standardize_data_format(data_format, who)
        self.built = True  # no weights (Keras builds pooling layers at construction)

    def compute_output_shape(self, input_shape):
        shape = spatial_input_shape(self, input_shape, self.rank)
        out = []
        for n, k, s in zip(shape[1:-1], self.pool_size, self.strides):
            length = None if n is None else conv_output_length(n, k, s, self.padding)
            if length is not None and length <= 0:
                raise LayerError(f"{self.name} ({type(self).__name__}): pool_size {self.pool_size} does not fit "
                                 f"inputs of shape {format_shape(shape)} with padding='valid'")
            out.append(length)
        return (shape[0],) + tuple(out) + (shape[-1],)

    def _forward(self, x, training):
        geom = conv_geometry(x.shape[1:-1], self.pool_size, self.strides, 1, self.padding)
        if self.mode == "max":  # a training pass keeps which taps won, for a faster backward pass
            keep = training and self.rank < 3  # 3-D gradients reach every tied maximum: no tape
            y, tape = P.max_pool_forward(x, geom, keep=True) if keep else (P.max_pool_forward(x, geom), None)
            return y, (x, y, geom, tape)
        return P.avg_pool_forward(x, geom), (x.shape, geom)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        if self.mode == "max":
            x, y, geom, tape = ctx
            ties = "all" if self.rank == 3 else "first"
            return P.max_pool_backward(x, y, dy, geom, ties=ties, tape=tape), []
        x_shape, geom = ctx
        return P.avg_pool_backward(dy, geom, x_shape), []

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Keras' ``MaxPooling1D(pool_size=2, strides=None, padding="valid")`` on ``(batch, steps, channels)``."""

    rank, mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Keras' ``MaxPooling2D(pool_size=(2, 2), strides=None, padding="valid")``."""

    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Keras' ``MaxPooling3D(pool_size=(2, 2, 2), strides=None, padding="valid")``; its
    gradient reaches every input equal to a window's maximum, as TensorFlow's does."""

    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Keras' ``AveragePooling1D(pool_size=2, strides=None, padding="valid")``."""

    rank, mode = 1, "average"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Keras' ``AveragePooling2D(pool_size=(2, 2), strides=None, padding="valid")``."""

    rank, mode = 2, "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Keras' ``AveragePooling3D(pool_size=(2, 2, 2), strides=None, padding="valid")``."""

    rank, mode = 3, "average"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


# ---------------------------------------------------------------------- global
class _GlobalPooling(Layer):
    """Keras' ``BaseGlobalPooling``: a mean or max over every spatial axis."""

    rank = 0
    mode = "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, f"{self.name} ({type(self).__name__})")
        self.keepdims = bool(keepdims)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = spatial_input_shape(self, input_shape, self.rank)
        if self.keepdims:
            return (shape[0],) + (1,) * self.rank + (shape[-1],)
        return (shape[0], shape[-1])

    def _forward(self, x, training):
        y = P.global_pool_forward(x, self.mode, self.keepdims)
        return y, (x, y) if self.mode == "max" else x.shape

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        if self.mode == "max":
            x, y = ctx
            return P.global_max_backward(x, y, dy), []
        return P.global_avg_backward(dy, ctx), []

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Keras' ``GlobalAveragePooling1D(data_format=None, keepdims=False)``."""

    rank, mode = 1, "average"


class GlobalAveragePooling2D(_GlobalPooling):
    """Keras' ``GlobalAveragePooling2D(data_format=None, keepdims=False)``."""

    rank, mode = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    """Keras' ``GlobalAveragePooling3D(data_format=None, keepdims=False)``."""

    rank, mode = 3, "average"


class GlobalMaxPooling1D(_GlobalPooling):
    """Keras' ``GlobalMaxPooling1D(data_format=None, keepdims=False)``."""

    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    """Keras' ``GlobalMaxPooling2D(data_format=None, keepdims=False)``."""

    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    """Keras' ``GlobalMaxPooling3D(data_format=None, keepdims=False)``."""

    rank, mode = 3, "max"
