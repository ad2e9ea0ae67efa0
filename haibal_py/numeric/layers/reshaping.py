"""Reshaping layers: ``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector`` (Keras 3's).

The batch axis is never touched. Forward passes return views where NumPy can
(``reshape`` of a contiguous array, ``transpose``); backward passes undo them.
"""

from __future__ import annotations

import math

import numpy as np

from .arguments import positive_int
from .base import Layer, LayerError, check_rank

__all__ = ["Flatten", "Reshape", "Permute", "RepeatVector"]


def _data_format(value, who: str) -> str:
    value = "channels_last" if value is None else value
    if value not in ("channels_last", "channels_first"):
        raise LayerError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {value!r}")
    return value


class Flatten(Layer):
    """``(batch, ...)`` to ``(batch, prod(...))``; ``channels_first`` inputs are first moved
    to channels-last, so the flattened order is the same for both formats (as Keras)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format, self.name)

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, min_rank=1)
        rest = shape[1:]
        return (shape[0], None if None in rest else math.prod(rest))

    def _forward(self, x, training):
        moved = self.data_format == "channels_first" and x.ndim > 2
        v = np.moveaxis(x, 1, -1) if moved else x
        return v.reshape(x.shape[0], math.prod(x.shape[1:])), (x.shape, moved)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        shape, moved = ctx
        if moved:
            chl = (shape[0],) + shape[2:] + (shape[1],)
            return np.moveaxis(dy.reshape(chl), -1, 1), []
        return dy.reshape(shape), []

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """``(batch, ...)`` to ``(batch, *target_shape)``; one entry of ``target_shape`` may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise LayerError(f"{self.name}: target_shape must be a tuple of ints, got {target_shape!r}") from None
        if sum(d == -1 for d in target) > 1 or any(d < -1 or d == 0 for d in target):
            raise LayerError(f"{self.name}: target_shape must hold positive sizes and at most one -1, "
                             f"got {target_shape!r}")
        self.target_shape = target

    def _resolve(self, rest) -> tuple:
        target = self.target_shape
        if None in rest:
            return tuple(None if d == -1 else d for d in target)
        size = math.prod(rest)
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or size % known:
                raise LayerError(f"{self.name} (Reshape): cannot reshape inputs of shape (None, "
                                 f"{', '.join(map(str, rest))}) to target_shape {target}")
            return tuple(size // known if d == -1 else d for d in target)
        if known != size:
            raise LayerError(f"{self.name} (Reshape): inputs of shape (None, {', '.join(map(str, rest))}) "
                             f"have {size} values per sample, target_shape {target} has {known}")
        return target

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, min_rank=1)
        return (shape[0],) + self._resolve(shape[1:])

    def _forward(self, x, training):
        return x.reshape((x.shape[0],) + self._resolve(x.shape[1:])), x.shape

    def _backward(self, shape, dy, need_dx):
        return (dy.reshape(shape) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of ``1 .. rank-1`` (1-based, as Keras)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise LayerError(f"{self.name}: dims must be a tuple of ints, got {dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise LayerError(f"{self.name}: dims must be a permutation of 1..{len(dims)} (the batch axis 0 "
                             f"stays first), got {dims}")
        self.dims = dims
        self._perm = (0,) + dims
        self._inverse = tuple(np.argsort(self._perm))

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, ranks=[len(self.dims) + 1])
        return tuple(shape[a] for a in self._perm)

    def _forward(self, x, training):
        return x.transpose(self._perm), None

    def _backward(self, ctx, dy, need_dx):
        return (dy.transpose(self._inverse) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """``(batch, features)`` to ``(batch, n, features)``."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_int(n, "n", self.name)

    def compute_output_shape(self, input_shape):
        shape = check_rank(self, input_shape, ranks=[2])
        return (shape[0], self.n, shape[1])

    def _forward(self, x, training):
        return np.broadcast_to(x[:, None, :], (x.shape[0], self.n, x.shape[1])).copy(), None

    def _backward(self, ctx, dy, need_dx):
        return (dy.sum(axis=1) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "n": self.n}

