"""Spatial dropout (Keras 3's SpatialDropout1D/2D/3D): ``Dropout`` whose mask drops whole
feature maps, one draw per (sample, channel) shared by every position, so neighbouring
positions (strongly correlated after a convolution) are dropped together.

The identity outside training; in training the kept maps are scaled by ``1 / (1 - rate)``
and the backward pass multiplies by the same mask. Masks come from NumPy generators
(``seed`` or ``seeding.global_rng()``), so they are not Keras' random numbers.
"""

from __future__ import annotations

from .base import LayerError
from .regularization import Dropout
from .arguments import format_shape, spatial_input_shape, standardize_data_format

__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"]


class _SpatialDropout(Dropout):
    rank = 0

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(data_format, f"{self.name} ({type(self).__name__})")

    def _mask_shape(self, shape):
        if len(shape) != self.rank + 2:
            raise LayerError(f"{self.name} ({type(self).__name__}) expects a rank-{self.rank + 2} input, "
                             f"got shape {format_shape(shape)}")
        return (shape[0],) + (1,) * self.rank + (shape[-1],)

    def compute_output_shape(self, input_shape):
        return spatial_input_shape(self, input_shape, self.rank)

    def get_config(self):
        config = {**super().get_config(), "data_format": self.data_format}
        config.pop("noise_shape", None)
        return config


class SpatialDropout1D(_SpatialDropout):
    """Keras' ``SpatialDropout1D(rate, seed=None)`` on ``(batch, steps, channels)``."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, None, seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("data_format")
        return config


class SpatialDropout2D(_SpatialDropout):
    """Keras' ``SpatialDropout2D(rate, data_format=None, seed=None)`` on ``(batch, rows, cols, channels)``."""

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Keras' ``SpatialDropout3D(rate, data_format=None, seed=None)``."""

    rank = 3
