"""Spatial reshaping layers (Keras 3's): ZeroPadding1D/2D/3D, Cropping1D/2D/3D and
UpSampling1D/2D/3D, channels-last, forward and backward.

Padding and cropping are each other's gradient (a slice, or zeros around the gradient);
upsampling repeats values ("nearest") or, for ``UpSampling2D(interpolation="bilinear")``,
interpolates as TensorFlow's half-pixel ``resize`` does (``kernels.resize``). Keras'
other ``UpSampling2D`` interpolations (bicubic, lanczos, area ...) are refused.
"""

from __future__ import annotations

import numpy as np

from ..kernels import resize as R
from .base import Layer, LayerError
from .arguments import format_shape, spatial_input_shape, standardize_data_format, standardize_tuple

__all__ = ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
           "UpSampling1D", "UpSampling2D", "UpSampling3D"]

_ORDINAL = ("1st", "2nd", "3rd")


def _pairs(value, rank: int, name: str, who: str) -> tuple[tuple[int, int], ...]:
    """Keras' padding/cropping argument: an int, ``rank`` ints (symmetric) or ``rank`` pairs."""
    if rank == 1:
        return (standardize_tuple(value, 2, name, who, allow_zero=True),)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise LayerError(f"{who}: {name} cannot be negative, got {value!r}")
        return ((int(value), int(value)),) * rank
    if not hasattr(value, "__len__") or len(value) != rank:
        raise LayerError(f"{who}: {name} must be an int, a tuple of {rank} ints or a tuple of {rank} "
                         f"(before, after) pairs, got {value!r}")
    return tuple(standardize_tuple(v, 2, f"{_ORDINAL[i]} entry of {name}", who, allow_zero=True)
                 for i, v in enumerate(value))


class _Spatial(Layer):
    rank = 0

    def _who(self) -> str:
        return f"{self.name} ({type(self).__name__})"

    def _shape(self, input_shape) -> tuple:
        return spatial_input_shape(self, input_shape, self.rank)


# ---------------------------------------------------------------------- zero padding
class _ZeroPadding(_Spatial):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding", self._who())
        self.data_format = standardize_data_format(data_format, self._who())
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._shape(input_shape)
        spatial = tuple(None if n is None else n + b + a for n, (b, a) in zip(shape[1:-1], self.padding))
        return (shape[0],) + spatial + (shape[-1],)

    def _forward(self, x, training):
        return np.pad(x, ((0, 0),) + self.padding + ((0, 0),)), x.shape

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        crop = tuple(slice(b, dy.shape[i + 1] - a) for i, (b, a) in enumerate(self.padding))
        return np.ascontiguousarray(dy[(slice(None),) + crop]), []

    def get_config(self):
        return {**super().get_config(), "padding": self.padding[0] if self.rank == 1 else self.padding,
                "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Keras' ``ZeroPadding1D(padding=1)``: zeros before and after the steps axis."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_ZeroPadding):
    """Keras' ``ZeroPadding2D(padding=(1, 1))``: zeros around rows and columns."""

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Keras' ``ZeroPadding3D(padding=((1, 1), (1, 1), (1, 1)))``."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


# ---------------------------------------------------------------------- cropping
class _Cropping(_Spatial):
    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", self._who())
        self.data_format = standardize_data_format(data_format, self._who())
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._shape(input_shape)
        spatial = []
        for n, (b, a) in zip(shape[1:-1], self.cropping):
            if n is not None and b + a >= n:
                raise LayerError(f"{self._who()}: cropping {self.cropping[0] if self.rank == 1 else self.cropping} "
                                 f"must leave something of inputs of shape {format_shape(shape)}")
            spatial.append(None if n is None else n - b - a)
        return (shape[0],) + tuple(spatial) + (shape[-1],)

    def _forward(self, x, training):
        crop = tuple(slice(b, x.shape[i + 1] - a) for i, (b, a) in enumerate(self.cropping))
        return np.ascontiguousarray(x[(slice(None),) + crop]), x.shape

    def _backward(self, x_shape, dy, need_dx):
        if not need_dx:
            return None, []
        dx = np.zeros(x_shape, dy.dtype)
        crop = tuple(slice(b, x_shape[i + 1] - a) for i, (b, a) in enumerate(self.cropping))
        dx[(slice(None),) + crop] = dy
        return dx, []

    def get_config(self):
        config = {**super().get_config(), "cropping": self.cropping[0] if self.rank == 1 else self.cropping}
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class Cropping1D(_Cropping):
    """Keras' ``Cropping1D(cropping=(1, 1))``: steps removed at the start and the end."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, None, **kwargs)


class Cropping2D(_Cropping):
    """Keras' ``Cropping2D(cropping=((0, 0), (0, 0)))``: rows and columns removed at the edges."""

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Keras' ``Cropping3D(cropping=((1, 1), (1, 1), (1, 1)))``."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


# ---------------------------------------------------------------------- upsampling
class _UpSampling(_Spatial):
    interpolation = "nearest"

    def _init_size(self, size) -> None:
        self.size = standardize_tuple(size, self.rank, "size", self._who())
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._shape(input_shape)
        return (shape[0],) + tuple(None if n is None else n * s for n, s in zip(shape[1:-1], self.size)) \
            + (shape[-1],)

    def _forward(self, x, training):
        if self.interpolation == "bilinear":
            return R.upsample_bilinear(x, self.size), x.shape
        return R.upsample_nearest(x, self.size), x.shape

    def _backward(self, x_shape, dy, need_dx):
        if not need_dx:
            return None, []
        if self.interpolation == "bilinear":
            return R.upsample_bilinear_backward(dy, self.size, x_shape), []
        return R.upsample_nearest_backward(dy, self.size), []


class UpSampling1D(_UpSampling):
    """Keras' ``UpSampling1D(size=2)``: each step repeated ``size`` times."""

    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise LayerError(f"{self._who()}: size must be an int, got {size!r}")
        self._init_size(size)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}


class UpSampling2D(_UpSampling):
    """Keras' ``UpSampling2D(size=(2, 2), interpolation="nearest")``; "bilinear" is
    TensorFlow's half-pixel bilinear resize."""

    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self._init_size(size)
        self.data_format = standardize_data_format(data_format, self._who())
        mode = interpolation.lower() if isinstance(interpolation, str) else None
        if mode not in ("nearest", "bilinear"):
            raise LayerError(f"{self._who()}: interpolation must be 'nearest' or 'bilinear' (haibal-py does not "
                             f"implement Keras' other resize methods), got {interpolation!r}")
        self.interpolation = mode

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Keras' ``UpSampling3D(size=(2, 2, 2))``: each value repeated along the three spatial axes."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_size(size)
        self.data_format = standardize_data_format(data_format, self._who())

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}
