"""Layers for ONNX's shape operators that have no Keras layer: ``OnnxTranspose``,
``OnnxReshape``, ``OnnxGather``, ``OnnxSlice``, ``OnnxPad``, ``OnnxReduce``, ``OnnxExpand``.

Unlike Keras' ``Permute`` and ``Reshape``, these work on every axis, the batch axis
included, with the ONNX operator's semantics (a model imported from ONNX may move its
batch axis, as a time-major recurrent layer does). Their parameters are constants known
when the model is imported (``haibal_py.onnx.load`` resolves shape computations first).
Each backward pass is the adjoint of its forward pass.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Layer, LayerError, as_tuple_shape
from .broadcasting import broadcast_shapes, unbroadcast
from .symbolic import format_shape

__all__ = ["OnnxTranspose", "OnnxReshape", "OnnxGather", "OnnxSlice", "OnnxPad", "OnnxReduce", "OnnxExpand",
           "negative_slice"]


def _ints(value, name: str, who: str) -> tuple[int, ...]:
    try:
        items = tuple(int(v) for v in np.asarray(value, dtype=np.int64).reshape(-1))
    except (TypeError, ValueError):
        raise LayerError(f"{who}: {name} must be a list of ints, got {value!r}") from None
    return items


def _axis(axis: int, rank: int, who: str) -> int:
    if not -rank <= axis < rank:
        raise LayerError(f"{who}: axis {axis} is out of range for inputs of rank {rank}")
    return axis % rank


class OnnxTranspose(Layer):
    """``numpy.transpose(x, perm)`` over all axes (ONNX ``Transpose``; the batch axis may move)."""

    def __init__(self, perm, **kwargs):
        super().__init__(**kwargs)
        self.perm = _ints(perm, "perm", self.name)
        if sorted(self.perm) != list(range(len(self.perm))):
            raise LayerError(f"{self.name}: perm must be a permutation of 0..{len(self.perm) - 1}, got {perm!r}")
        self._inverse = tuple(int(i) for i in np.argsort(self.perm))

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        if len(shape) != len(self.perm):
            raise LayerError(f"{self.name} (OnnxTranspose): perm {self.perm} needs a rank-{len(self.perm)} input, "
                             f"got shape {format_shape(shape)}")
        return tuple(shape[p] for p in self.perm)

    def _forward(self, x, training):
        return x.transpose(self.perm), None

    def _backward(self, ctx, dy, need_dx):
        return (dy.transpose(self._inverse) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "perm": list(self.perm)}


class OnnxReshape(Layer):
    """ONNX ``Reshape`` over all axes: ``shape`` holds sizes, at most one -1 (inferred) and
    0s, which copy the input's size at the same index (``allowzero=0``)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = _ints(shape, "shape", self.name)
        if sum(d == -1 for d in self.shape) > 1 or any(d < -1 for d in self.shape):
            raise LayerError(f"{self.name}: shape may hold one -1 and no other negative size, got {shape!r}")

    def _target(self, shape: tuple) -> tuple:
        out = []
        for i, d in enumerate(self.shape):
            if d == 0:
                if i >= len(shape):
                    raise LayerError(f"{self.name} (OnnxReshape): shape {self.shape} copies axis {i} of an input "
                                     f"of rank {len(shape)}")
                d = shape[i]
            out.append(d)
        if -1 in out:
            copied = [i for i, d in enumerate(self.shape) if d == 0]
            rest_in = [d for i, d in enumerate(shape) if i not in copied]
            known = [d for i, d in enumerate(out) if d != -1 and i not in copied]
            if None in rest_in or None in known:
                return tuple(None if d == -1 else d for d in out)
            size, rest = math.prod(rest_in), math.prod(known)
            if rest == 0 or size % rest:
                raise LayerError(f"{self.name} (OnnxReshape): cannot reshape shape {format_shape(shape)} "
                                 f"to {self.shape}")
            out = [size // rest if d == -1 else d for d in out]
        elif None not in shape and None not in out and math.prod(shape) != math.prod(out):
            raise LayerError(f"{self.name} (OnnxReshape): shape {format_shape(shape)} has {math.prod(shape)} values, "
                             f"the target {format_shape(tuple(out))} has {math.prod(out)}")
        return tuple(out)

    def compute_output_shape(self, input_shape):
        return self._target(as_tuple_shape(input_shape))

    def _forward(self, x, training):
        return x.reshape(self._target(x.shape)), x.shape

    def _backward(self, shape, dy, need_dx):
        return (dy.reshape(shape) if need_dx else None), []

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}


class OnnxGather(Layer):
    """ONNX ``Gather`` with constant ``indices`` (negative ones count from the end) along
    ``axis``: the output's shape is the input's with ``axis`` replaced by the indices' shape."""

    def __init__(self, indices, axis=0, **kwargs):
        super().__init__(**kwargs)
        arr = np.asarray(indices)
        if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.array_equal(arr, np.round(arr))):
            raise LayerError(f"{self.name}: indices must be integers, got {indices!r}")
        self.indices = arr.astype(np.int64)
        self.axis = int(axis)

    def _resolved(self, size: int | None) -> np.ndarray:
        if size is None:
            if (self.indices < 0).any():
                raise LayerError(f"{self.name} (OnnxGather): negative indices need a known size on axis {self.axis}")
            return self.indices
        if (self.indices < -size).any() or (self.indices >= size).any():
            raise LayerError(f"{self.name} (OnnxGather): indices {self.indices.tolist()} are out of range for "
                             f"an axis of size {size}")
        return np.where(self.indices < 0, self.indices + size, self.indices)

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        axis = _axis(self.axis, len(shape), self.name)
        self._resolved(shape[axis])
        return shape[:axis] + self.indices.shape + shape[axis + 1:]

    def _forward(self, x, training):
        axis = self.axis % x.ndim
        idx = self._resolved(x.shape[axis])
        return np.take(x, idx, axis=axis), (x.shape, axis, idx)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        shape, axis, idx = ctx
        dx = np.zeros(shape, dtype=dy.dtype)
        moved = np.moveaxis(dx, axis, 0)
        d = dy.reshape(shape[:axis] + (idx.size,) + shape[axis + 1:])
        np.add.at(moved, idx.reshape(-1), np.moveaxis(d, axis, 0))
        return dx, []

    def get_config(self):
        return {**super().get_config(), "indices": self.indices.tolist(), "axis": self.axis}


class OnnxSlice(Layer):
    """ONNX ``Slice``: ``starts``, ``ends``, ``axes`` and ``steps`` as the operator's inputs
    (ends beyond the axis are clamped, negative values count from the end)."""

    def __init__(self, starts, ends, axes=None, steps=None, **kwargs):
        super().__init__(**kwargs)
        self.starts = _ints(starts, "starts", self.name)
        self.ends = _ints(ends, "ends", self.name)
        self.axes = _ints(axes, "axes", self.name) if axes is not None else tuple(range(len(self.starts)))
        self.steps = _ints(steps, "steps", self.name) if steps is not None else (1,) * len(self.starts)
        if not len(self.starts) == len(self.ends) == len(self.axes) == len(self.steps):
            raise LayerError(f"{self.name}: starts, ends, axes and steps must have one entry per sliced axis")
        if 0 in self.steps:
            raise LayerError(f"{self.name}: steps must not be 0")

    def _slices(self, shape) -> tuple:
        index = [slice(None)] * len(shape)
        for s, e, a, st in zip(self.starts, self.ends, self.axes, self.steps):
            a = _axis(a, len(shape), self.name)
            n = shape[a]
            if n is None:
                if s < 0 or e < 0:
                    raise LayerError(f"{self.name} (OnnxSlice): negative bounds need a known size on axis {a}")
                index[a] = slice(s, None if e >= 2 ** 62 else e, st)
                continue
            index[a] = slice(*slice(s, e, st).indices(n)) if st > 0 else negative_slice(s, e, st, n)
        return tuple(index)

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        out = list(shape)
        for a, sl in enumerate(self._slices(shape)):
            if shape[a] is not None:
                out[a] = len(range(*sl.indices(shape[a])))
            elif sl != slice(None):
                out[a] = None
        return tuple(out)

    def _forward(self, x, training):
        index = self._slices(x.shape)
        return x[index], (x.shape, index)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        shape, index = ctx
        dx = np.zeros(shape, dtype=dy.dtype)
        dx[index] = dy
        return dx, []

    def get_config(self):
        return {**super().get_config(), "starts": list(self.starts), "ends": list(self.ends),
                "axes": list(self.axes), "steps": list(self.steps)}


def negative_slice(s: int, e: int, st: int, n: int) -> slice:
    """ONNX's clamping of a negative-step slice (ends below -n mean "through index 0")."""
    s = s + n if s < 0 else s
    s = min(max(s, 0), n - 1)
    e = e + n if e < 0 else e
    e = min(max(e, -1), n - 1)
    return slice(s, None if e < 0 else e, st)


class OnnxPad(Layer):
    """ONNX ``Pad``: ``pads`` is ``[begin_0, ..., begin_n, end_0, ..., end_n]`` over all axes
    (negative values crop), ``mode`` "constant" (with ``value``), "reflect" or "edge"."""

    def __init__(self, pads, mode="constant", value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.pads = _ints(pads, "pads", self.name)
        if len(self.pads) % 2:
            raise LayerError(f"{self.name}: pads must hold a begin and an end per axis, got {pads!r}")
        if mode not in ("constant", "reflect", "edge"):
            raise LayerError(f"{self.name}: mode must be 'constant', 'reflect' or 'edge', got {mode!r}")
        self.mode = mode
        self.value = float(value)

    def _pairs(self, rank: int) -> list[tuple[int, int]]:
        n = len(self.pads) // 2
        if n != rank:
            raise LayerError(f"{self.name} (OnnxPad): pads {self.pads} are for rank-{n} inputs, got rank {rank}")
        return list(zip(self.pads[:n], self.pads[n:]))

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        out = tuple(None if d is None else d + b + e for d, (b, e) in zip(shape, self._pairs(len(shape))))
        if any(d is not None and d < 0 for d in out):
            raise LayerError(f"{self.name} (OnnxPad): pads {self.pads} crop more than shape {format_shape(shape)}")
        return out

    def _forward(self, x, training):
        pairs = self._pairs(x.ndim)
        crop = tuple(slice(max(-b, 0), x.shape[i] - max(-e, 0)) for i, (b, e) in enumerate(pairs))
        core = x[crop]
        widths = [(max(b, 0), max(e, 0)) for b, e in pairs]
        if self.mode == "constant":
            y = np.pad(core, widths, mode="constant", constant_values=x.dtype.type(self.value))
        else:
            y = np.pad(core, widths, mode="reflect" if self.mode == "reflect" else "edge")
        return y, (x.shape, crop, widths)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        shape, crop, widths = ctx
        core_shape = tuple(len(range(*c.indices(n))) for c, n in zip(crop, shape))
        inner = tuple(slice(b, b + n) for (b, _), n in zip(widths, core_shape))
        if self.mode == "constant":
            d_core = dy[inner]
        else:
            d_core = _pad_adjoint(dy, widths, core_shape, self.mode)
        dx = np.zeros(shape, dtype=dy.dtype)
        dx[crop] = d_core
        return dx, []

    def get_config(self):
        return {**super().get_config(), "pads": list(self.pads), "mode": self.mode, "value": self.value}


def _pad_adjoint(dy, widths, core_shape, mode):
    """The gradient of ``np.pad(core, widths, mode)`` ("reflect"/"edge") for ``core``:
    every output position sends its gradient to the input position it copied."""
    index = []
    for (b, _), n, total in zip(widths, core_shape, dy.shape):
        pos = np.arange(total) - b
        if mode == "edge":
            src = np.clip(pos, 0, n - 1)
        else:
            period = 2 * (n - 1) if n > 1 else 1
            m = np.mod(pos, period)
            src = np.where(m < n, m, period - m) if n > 1 else np.zeros_like(pos)
        index.append(src)
    d_core = np.zeros(core_shape, dtype=dy.dtype)
    grids = np.meshgrid(*index, indexing="ij")
    np.add.at(d_core, tuple(grids), dy)
    return d_core


_REDUCE = ("mean", "sum", "max", "min", "prod", "sum_square", "l1", "l2", "log_sum_exp")


class OnnxReduce(Layer):
    """ONNX ``Reduce*``: ``op`` in mean, sum, max, min, prod, sum_square, l1, l2,
    log_sum_exp over ``axes`` (None: every axis) with ``keepdims``. A tie of max/min shares
    its gradient equally among the tied entries (TensorFlow's rule)."""

    OPS = _REDUCE

    def __init__(self, op, axes=None, keepdims=True, **kwargs):
        super().__init__(**kwargs)
        if op not in _REDUCE:
            raise LayerError(f"{self.name}: op must be one of {', '.join(_REDUCE)}, got {op!r}")
        self.op = op
        self.axes = None if axes is None else _ints(axes, "axes", self.name)
        self.keepdims = bool(keepdims)

    def _axes(self, rank: int) -> tuple[int, ...]:
        if self.axes is None:
            return tuple(range(rank))
        axes = tuple(sorted({_axis(a, rank, self.name) for a in self.axes}))
        return axes

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        axes = self._axes(len(shape))
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(shape))
        return tuple(d for i, d in enumerate(shape) if i not in axes)

    def _forward(self, x, training):
        axes = self._axes(x.ndim)
        op = self.op
        if op == "mean":
            y = x.mean(axis=axes, keepdims=True)
        elif op == "sum":
            y = x.sum(axis=axes, keepdims=True)
        elif op == "max":
            y = x.max(axis=axes, keepdims=True)
        elif op == "min":
            y = x.min(axis=axes, keepdims=True)
        elif op == "prod":
            y = x.prod(axis=axes, keepdims=True)
        elif op == "sum_square":
            y = (x * x).sum(axis=axes, keepdims=True)
        elif op == "l1":
            y = np.abs(x).sum(axis=axes, keepdims=True)
        elif op == "l2":
            y = np.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            m = x.max(axis=axes, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
            y = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        kept = y if self.keepdims else y.reshape(tuple(d for i, d in enumerate(y.shape) if i not in axes))
        return kept, (x, y, axes)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        x, y, axes = ctx
        d = dy.reshape(y.shape)
        op = self.op
        if op == "mean":
            count = math.prod(x.shape[a] for a in axes)
            dx = np.broadcast_to(d / d.dtype.type(max(count, 1)), x.shape)
        elif op == "sum":
            dx = np.broadcast_to(d, x.shape)
        elif op in ("max", "min"):
            hit = x == y
            dx = hit * (d / hit.sum(axis=axes, keepdims=True).astype(d.dtype))
        elif op == "prod":
            with np.errstate(divide="ignore", invalid="ignore"):
                dx = np.where(x != 0, d * y / x, d * _prod_without(x, axes))
        elif op == "sum_square":
            dx = d * (x + x)
        elif op == "l1":
            dx = d * np.sign(x)
        elif op == "l2":
            with np.errstate(divide="ignore", invalid="ignore"):
                dx = np.where(y > 0, d * x / y, 0)
        else:
            dx = d * np.exp(x - y)
        return np.ascontiguousarray(dx, dtype=dy.dtype), []

    def get_config(self):
        return {**super().get_config(), "op": self.op, "axes": None if self.axes is None else list(self.axes),
                "keepdims": self.keepdims}


def _prod_without(x, axes):
    """For each entry, the product of the other entries of its reduced group (zeros handled)."""
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    lead = moved.shape[:x.ndim - len(axes)]
    flat = moved.reshape(lead + (-1,))
    n = flat.shape[-1]
    left = np.concatenate([np.ones(lead + (1,), x.dtype), np.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
    right = np.concatenate([np.cumprod(flat[..., ::-1], axis=-1)[..., :-1][..., ::-1],
                            np.ones(lead + (1,), x.dtype)], axis=-1)
    out = (left * right).reshape(moved.shape) if n else flat.reshape(moved.shape)
    return np.moveaxis(out, tuple(range(x.ndim - len(axes), x.ndim)), axes)


class OnnxExpand(Layer):
    """ONNX ``Expand``: broadcasts the input to ``shape`` (NumPy's rule; a 1 in ``shape``
    keeps the input's size, so 1 stands for "whatever the input has", the batch axis too)."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = _ints(shape, "shape", self.name)
        if any(d < 0 for d in self.shape):
            raise LayerError(f"{self.name}: shape must hold sizes >= 0, got {shape!r}")

    def compute_output_shape(self, input_shape):
        return broadcast_shapes([as_tuple_shape(input_shape), self.shape], f"{self.name} (OnnxExpand)")

    def _forward(self, x, training):
        target = np.broadcast_shapes(x.shape, self.shape)
        return np.broadcast_to(x, target).copy(), x.shape

    def _backward(self, shape, dy, need_dx):
        if not need_dx:
            return None, []
        return unbroadcast(dy, shape), []

    def get_config(self):
        return {**super().get_config(), "shape": list(self.shape)}
