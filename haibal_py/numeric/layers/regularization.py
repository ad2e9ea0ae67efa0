"""Noise layers used for regularization: ``Dropout`` and ``GaussianNoise`` (Keras 3's).

Both are the identity (the input array itself, no copy) when ``training`` is false.
In training, Dropout zeroes each value with probability ``rate`` and scales the others
by ``1 / (1 - rate)``; its backward pass multiplies by the same scaled mask. Masks and
noise come from the layer's own generator when ``seed`` is given (reproducible: the
n-th training call gives the same mask for the same seed, as Keras' ``SeedGenerator``),
else from ``seeding.global_rng()``.
"""

from __future__ import annotations

import math

import numpy as np

from ..seeding import check_seed, global_rng
from .base import Layer, LayerError

__all__ = ["Dropout", "GaussianNoise"]


class _Noise(Layer):
    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        seed = check_seed(seed, f"{self.name}: seed")
        self.seed = seed if isinstance(seed, int) else None
        self._rng = seed if isinstance(seed, np.random.Generator) else (
            np.random.default_rng(seed) if seed is not None else None)

    def rng(self) -> np.random.Generator:
        return self._rng if self._rng is not None else global_rng()


class Dropout(_Noise):
    """Keras' ``Dropout(rate, noise_shape=None, seed=None)``; ``noise_shape`` entries that
    are None take the input's size (a 1 shares the mask along that axis)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not math.isfinite(rate) \
                or not 0 <= rate <= 1:
            raise LayerError(f"{self.name}: rate must be a number in [0, 1], got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise LayerError(f"{self.name} (Dropout): noise_shape {self.noise_shape} does not fit inputs of "
                             f"shape {tuple(shape)}")
        out = []
        for n, d in zip(self.noise_shape, shape):
            if n is None:
                out.append(d)
            elif n == 1 or d is None or n == d:
                out.append(n)
            else:
                raise LayerError(f"{self.name} (Dropout): noise_shape {self.noise_shape} does not fit inputs "
                                 f"of shape {tuple(shape)}")
        return tuple(out)

    def compute_output_shape(self, input_shape):
        self._mask_shape(tuple(input_shape))
        return tuple(input_shape)

    def _forward(self, x, training):
        if not training or self.rate == 0.0:
            return x, None
        k = x.dtype.type
        if self.rate == 1.0:
            mask = np.zeros(self._mask_shape(x.shape), dtype=x.dtype)
        else:
            keep = self.rng().random(self._mask_shape(x.shape), dtype=np.float32) >= np.float32(self.rate)
            mask = keep.astype(x.dtype) * k(1.0 / (1.0 - self.rate))
        return x * mask, mask

    def _backward(self, mask, dy, need_dx):
        if not need_dx:
            return None, []
        return (dy if mask is None else dy * mask), []

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


class GaussianNoise(_Noise):
    """Keras' ``GaussianNoise(stddev, seed=None)``: adds N(0, stddev^2) noise in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.number)) \
                or not math.isfinite(stddev) or stddev < 0:
            raise LayerError(f"{self.name}: stddev must be a non-negative number, got {stddev!r}")
        self.stddev = float(stddev)

    def _forward(self, x, training):
        if not training or self.stddev == 0.0:
            return x, None
        noise = self.rng().standard_normal(x.shape, dtype=x.dtype if x.dtype in (np.float32, np.float64)
                                           else np.float64)
        return x + (noise * self.stddev).astype(x.dtype, copy=False), None

    def _backward(self, ctx, dy, need_dx):
        return (dy if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
