"""Merging layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``, ``Minimum``,
``Concatenate`` and ``Dot`` (Keras 3's), each called on a list of inputs.

Element-wise merges broadcast as Keras does: inputs of lower rank get axes inserted
after the batch axis, then sizes of 1 stretch. Their backward passes sum the gradient
back over the stretched axes. Maximum and Minimum send the gradient of a tie to the
first input holding the extreme value (TensorFlow's ``maximum`` gradient, chained).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import EPSILON
from .base import Layer, LayerError, as_tuple_shape
from .broadcasting import broadcast_shapes, extreme_grads, unbroadcast
from .symbolic import format_shape

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"]


def _shapes(layer, input_shape, exactly: int | None = None) -> list[tuple]:
    if not isinstance(input_shape, (list, tuple)) or not input_shape \
            or not all(isinstance(s, (list, tuple)) for s in input_shape):
        raise LayerError(f"{layer.name} ({type(layer).__name__}) takes a list of inputs, got one input "
                         f"of shape {input_shape}")
    shapes = [as_tuple_shape(s) for s in input_shape]
    if exactly is not None and len(shapes) != exactly:
        raise LayerError(f"{layer.name} ({type(layer).__name__}) takes exactly {exactly} inputs, got {len(shapes)}")
    if any(len(s) < 1 for s in shapes):
        raise LayerError(f"{layer.name} ({type(layer).__name__}): inputs need a batch axis, got shapes "
                         f"{', '.join(format_shape(s) for s in shapes)}")
    batches = {s[0] for s in shapes} - {None}
    if len(batches) > 1:
        raise LayerError(f"{layer.name} ({type(layer).__name__}) cannot merge inputs with different batch sizes: "
                         f"{', '.join(format_shape(s) for s in shapes)}")
    return shapes


def _padded(shape: tuple, rank: int) -> tuple:
    """``shape`` with axes of size 1 inserted after the batch axis up to ``rank``."""
    return shape[:1] + (1,) * (rank - len(shape)) + shape[1:]


class _ElementwiseMerge(Layer):
    n_inputs = None
    _exactly: int | None = None

    def compute_output_shape(self, input_shape):
        shapes = _shapes(self, input_shape, self._exactly)
        rank = max(len(s) for s in shapes)
        return broadcast_shapes([_padded(s, rank) for s in shapes], f"{self.name} ({type(self).__name__})", "inputs")

    def _forward(self, inputs, training):
        rank = max(x.ndim for x in inputs)
        xs = [x.reshape(_padded(x.shape, rank)) if x.ndim < rank else x for x in inputs]
        y = self._merge(xs)
        return y, (xs, [x.shape for x in inputs], y)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        xs, shapes, y = ctx
        grads = self._merge_grads(xs, y, dy)
        return [unbroadcast(g, x.shape).reshape(s) for g, x, s in zip(grads, xs, shapes)], []


def _inplace(op, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``op(y, x)`` into ``y`` (a fresh array) when the result has ``y``'s shape."""
    if np.broadcast_shapes(y.shape, x.shape) == y.shape:
        return op(y, x, out=y)
    return op(y, x)


class Add(_ElementwiseMerge):
    """The sum of the inputs."""

    def _merge(self, xs):
        y = xs[0] + xs[1] if len(xs) > 1 else xs[0].copy()
        for x in xs[2:]:
            y = _inplace(np.add, y, x)
        return y

    def _merge_grads(self, xs, y, dy):
        return [dy] * len(xs)


class Subtract(_ElementwiseMerge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    _exactly = 2

    def _merge(self, xs):
        return xs[0] - xs[1]

    def _merge_grads(self, xs, y, dy):
        return [dy, -dy]


class Multiply(_ElementwiseMerge):
    """The element-wise product of the inputs."""

    def _merge(self, xs):
        y = xs[0] * xs[1] if len(xs) > 1 else xs[0].copy()
        for x in xs[2:]:
            y = _inplace(np.multiply, y, x)
        return y

    def _merge_grads(self, xs, y, dy):
        grads = []
        for i in range(len(xs)):
            g = dy
            for j, x in enumerate(xs):
                if j != i:
                    g = g * x
            grads.append(g)
        return grads


class Average(_ElementwiseMerge):
    """The element-wise mean of the inputs."""

    def _merge(self, xs):
        y = Add._merge(self, xs)
        y /= y.dtype.type(len(xs))
        return y

    def _merge_grads(self, xs, y, dy):
        return [dy / dy.dtype.type(len(xs))] * len(xs)


class _Extreme(_ElementwiseMerge):
    _op = staticmethod(np.maximum)

    def _merge(self, xs):
        y = xs[0]
        for x in xs[1:]:
            y = self._op(y, x)
        return y if len(xs) > 1 else y.copy()

    def _merge_grads(self, xs, y, dy):
        return extreme_grads(xs, y, dy)


class Maximum(_Extreme):
    """The element-wise maximum of the inputs."""

    _op = staticmethod(np.maximum)


class Minimum(_Extreme):
    """The element-wise minimum of the inputs."""

    _op = staticmethod(np.minimum)


class Concatenate(Layer):
    """Joins the inputs along ``axis`` (their other axes must match)."""

    n_inputs = None

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise LayerError(f"{self.name}: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def _axis(self, rank: int, shapes) -> int:
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise LayerError(f"{self.name} (Concatenate): axis {self.axis} is not a non-batch axis of inputs "
                             f"of shapes {', '.join(format_shape(s) for s in shapes)}")
        return self.axis % rank

    def compute_output_shape(self, input_shape):
        shapes = _shapes(self, input_shape)
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise LayerError(f"{self.name} (Concatenate) needs inputs of one rank, got shapes "
                             f"{', '.join(format_shape(s) for s in shapes)}")
        axis = self._axis(rank, shapes)
        out = []
        for i, dims in enumerate(zip(*shapes)):
            if i == axis:
                out.append(None if None in dims else sum(dims))
                continue
            known = {d for d in dims if d is not None}
            if len(known) > 1:
                raise LayerError(f"{self.name} (Concatenate): inputs must match on every axis but {self.axis}, "
                                 f"got shapes {', '.join(format_shape(s) for s in shapes)}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def _forward(self, inputs, training):
        axis = self.axis % inputs[0].ndim
        return np.concatenate(inputs, axis=axis), (axis, [x.shape[axis] for x in inputs])

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        axis, sizes = ctx
        return np.split(dy, np.cumsum(sizes)[:-1], axis=axis), []

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Keras' ``Dot(axes, normalize=False)``: per-sample dot products of two inputs along
    ``axes`` (one int for both, or a pair), optionally of L2-normalised inputs (the cosine).

    The output has ``x``'s axes (less the summed one), then ``y``'s (less the batch and
    the summed one); a rank-1 result becomes ``(batch, 1)``.
    """

    n_inputs = None

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        pair = axes if isinstance(axes, (list, tuple)) else None
        if pair is not None:
            if len(pair) != 2 or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in pair):
                raise LayerError(f"{self.name}: axes must be an int or a pair of ints, got {axes!r}")
            self.axes = [int(a) for a in pair]
        elif isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
            self.axes = int(axes)
        else:
            raise LayerError(f"{self.name}: axes must be an int or a pair of ints, got {axes!r}")
        self.normalize = bool(normalize)

    def _resolve(self, shapes) -> list[int]:
        pair = self.axes if isinstance(self.axes, list) else [self.axes, self.axes]
        out = []
        for a, s in zip(pair, shapes):
            if not -len(s) <= a < len(s) or a % len(s) == 0:
                raise LayerError(f"{self.name} (Dot): axes {self.axes} must name non-batch axes of inputs of shapes "
                                 f"{format_shape(shapes[0])}, {format_shape(shapes[1])}")
            out.append(a % len(s))
        return out

    def compute_output_shape(self, input_shape):
        shapes = _shapes(self, input_shape, exactly=2)
        if any(len(s) < 2 for s in shapes):
            raise LayerError(f"{self.name} (Dot) needs inputs of rank 2 or more, got shapes "
                             f"{format_shape(shapes[0])}, {format_shape(shapes[1])}")
        a, b = self._resolve(shapes)
        da, db = shapes[0][a], shapes[1][b]
        if da is not None and db is not None and da != db:
            raise LayerError(f"{self.name} (Dot): axis {a} of {format_shape(shapes[0])} and axis {b} of "
                             f"{format_shape(shapes[1])} differ ({da} != {db})")
        out = [d for i, d in enumerate(shapes[0]) if i != a] + [d for i, d in enumerate(shapes[1]) if i not in (0, b)]
        return tuple(out) if len(out) > 1 else tuple(out) + (1,)

    @staticmethod
    def _unit(x, axis):
        sq = (x * x).sum(axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            inv = np.minimum(1.0 / np.sqrt(sq), x.dtype.type(1.0 / EPSILON)).astype(x.dtype)
        return x * inv, inv

    def _forward(self, inputs, training):
        x, y = inputs
        a, b = self._resolve([x.shape, y.shape])
        ux, inv_x = self._unit(x, a) if self.normalize else (x, None)
        uy, inv_y = self._unit(y, b) if self.normalize else (y, None)
        xm = np.moveaxis(ux, a, -1)                    # (N, *xr, d)
        ym = np.moveaxis(uy, b, 1)                     # (N, d, *yr)
        n, d = x.shape[0], x.shape[a]
        xr, yr = xm.shape[1:-1], ym.shape[2:]
        out = np.matmul(xm.reshape(n, math.prod(xr), d), ym.reshape(n, d, math.prod(yr)))
        out_shape = (n,) + xr + yr
        out = out.reshape(out_shape if len(out_shape) > 1 else (n, 1))
        return out, (ux, uy, inv_x, inv_y, a, b, xm.shape, ym.shape)

    def _backward(self, ctx, dout, need_dx):
        if not need_dx:
            return None, []
        ux, uy, inv_x, inv_y, a, b, xm_shape, ym_shape = ctx
        n, d = xm_shape[0], xm_shape[-1]
        px, py = math.prod(xm_shape[1:-1]), math.prod(ym_shape[2:])
        g = dout.reshape(n, px, py)
        xm = np.moveaxis(ux, a, -1).reshape(n, px, d)
        ym = np.moveaxis(uy, b, 1).reshape(n, d, py)
        gx = np.moveaxis((g @ ym.transpose(0, 2, 1)).reshape(xm_shape), -1, a)
        gy = np.moveaxis((xm.transpose(0, 2, 1) @ g).reshape(ym_shape), 1, b)
        if self.normalize:
            gx = self._unit_backward(ux, inv_x, gx, a)
            gy = self._unit_backward(uy, inv_y, gy, b)
        return [gx, gy], []

    @staticmethod
    def _unit_backward(u, inv, g, axis):
        clipped = inv >= u.dtype.type(1.0 / EPSILON)
        proj = np.where(clipped, 0, u * (g * u).sum(axis=axis, keepdims=True))
        return inv * (g - proj)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}
