"""``InputLayer`` and ``Input``: where a functional model's data enters (Keras 3's).

``Input(shape=(3,))`` makes an ``InputLayer`` and returns its symbolic output, a
``SymbolicTensor`` of shape ``(None, 3)``. The layer's forward pass is the identity
(with the input cast to the layer's dtype, which may be an integer dtype for indices).
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_numeric_array
from .base import Layer, LayerError, as_tuple_shape, auto_name, standardize_dtype
from .symbolic import Node, SymbolicTensor, format_shape

__all__ = ["InputLayer", "Input"]


class InputLayer(Layer):
    """The layer of a model input; ``batch_shape`` includes the batch dimension (usually None)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        who = name or "InputLayer"
        if sparse or ragged:
            raise LayerError(f"{who}: sparse and ragged inputs are not supported")
        if input_tensor is not None:
            raise LayerError(f"{who}: input_tensor is not supported; use Input(shape=...)")
        if optional:
            raise LayerError(f"{who}: optional inputs are not supported")
        for legacy in ("input_shape", "batch_input_shape"):  # Keras 2 spellings
            if legacy in kwargs and shape is None and batch_shape is None:
                value = kwargs.pop(legacy)
                if legacy == "input_shape":
                    shape = value
                else:
                    batch_shape = value
        if shape is not None and batch_shape is not None:
            raise LayerError(f"{who}: give shape or batch_shape, not both")
        if batch_shape is None:
            if shape is None:
                raise LayerError(f"{who}: an input needs shape= (without the batch size) or batch_shape=")
            shape = _dims(shape, who, "shape")
            batch_shape = (None if batch_size is None else int(batch_size),) + shape
        else:
            batch_shape = _dims(batch_shape, who, "batch_shape")
            if not batch_shape:
                raise LayerError(f"{who}: batch_shape needs at least the batch dimension")
        super().__init__(name=name or auto_name("InputLayer"), **kwargs)
        self.dtype = standardize_dtype(dtype, self.name, float_only=False)
        self.batch_shape = batch_shape
        self.built = True
        node = Node(self, [], True, [], True)
        node.outputs = [SymbolicTensor(batch_shape, self.dtype, self.name, node, 0)]
        self._inbound_nodes.append(node)

    @property
    def output_tensor(self) -> SymbolicTensor:
        return self._inbound_nodes[0].outputs[0]

    def _cast(self, inputs):
        arr = as_numeric_array(inputs, f"{self.name}: input", LayerError)
        if arr.dtype == self.dtype:
            return arr
        if np.dtype(self.dtype).kind in "iu" and arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
                raise LayerError(f"{self.name}: this input takes integers ({self.dtype}), got non-integral values")
        return arr.astype(self.dtype)

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        want = self.batch_shape
        if len(shape) != len(want) or any(w is not None and s is not None and w != s
                                           for s, w in zip(shape, want)):
            raise LayerError(f"{self.name} expects inputs of shape {format_shape(want)}, "
                             f"got shape {format_shape(shape)}")
        return shape

    def _forward(self, inputs, training):
        return inputs, None

    def _backward(self, ctx, d_outputs, need_dx):
        return (d_outputs if need_dx else None), []

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": False, "ragged": False,
                "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _dims(shape, who, what) -> tuple:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = as_tuple_shape(shape)
    except (TypeError, ValueError):
        raise LayerError(f"{who}: {what} must be a tuple of ints (or None), got {shape!r}") from None
    if any(d is not None and d < 0 for d in dims):
        raise LayerError(f"{who}: {what} must hold non-negative sizes, got {shape!r}")
    return dims


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None,
          tensor=None, optional=False) -> SymbolicTensor:
    """A symbolic model input of ``shape`` (batch size excluded): Keras 3's ``keras.Input``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                       batch_shape=batch_shape, input_tensor=tensor, optional=optional, name=name)
    return layer.output_tensor
