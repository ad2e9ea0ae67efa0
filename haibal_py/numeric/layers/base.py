"""The ``Layer`` base class: Keras 3's layer API over explicit forward and backward passes.

A layer is a pair of pure computations on NumPy arrays (no autograd framework):

- ``_forward(inputs, training) -> (outputs, ctx)``: the outputs, and a context holding what
  the backward pass needs (the inputs, a mask, a normalised value ...);
- ``_backward(ctx, d_outputs, need_dx) -> (d_inputs, grads)``: the vector-Jacobian
  product: ``d_inputs`` is dL/dinputs (``None`` when ``need_dx`` is false, which spares the
  first layer of a model its most expensive product) and ``grads`` is dL/dw for each entry
  of ``trainable_weights``, in that order.

Subclasses implement those two, ``build(input_shape)`` (creating weights with
``add_weight``), ``compute_output_shape(input_shape)`` and ``get_config()``. Contexts are
returned rather than kept, so a model can call one layer at several places (shared
layers); the public ``forward`` / ``backward`` pair keeps the last context for users
who drive one layer by hand, as HAIBAL's Forward and Backward VIs do.

Weights are plain NumPy arrays, updated IN PLACE by optimizers and ``set_weights``: the
arrays a layer, a model's ``trainable_weights`` and an optimizer hold are the same
objects for the layer's whole life. ``weights`` lists trainable weights first, then
non-trainable ones, each in creation order (Keras' order); freezing a layer
(``trainable = False``) empties ``trainable_weights`` without changing ``weights``.

Calling a layer on symbolic tensors (``Input``) records the call for a functional model
(``symbolic.call_symbolic``); calling it on arrays runs ``forward``. Every forward pass
first checks the input shapes through ``compute_output_shape``, so a layer's shape rules
live in one place and every misfit is a ``LayerError`` naming the layer and the shapes.
Extra call arguments (a mask, ``return_state`` ...) are declared in ``call_kwargs`` and
reach ``compute_output_shape`` and ``_forward`` as keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import HaibalValueError, LayerError
from .. import initializers, regularizers
from ..arrays import as_numeric_array
from ..config import floatx
from ..keras_api import auto_name, reset_names
from ..kernels.memory import keep_freed_memory
from .budget import charge_weight
from .symbolic import call_symbolic, format_shape, is_symbolic

__all__ = ["Layer", "LayerError", "WeightSpec", "as_tuple_shape", "auto_name", "reset_names", "check_rank",
           "get_layer_class", "LAYER_CLASSES", "standardize_dtype", "serialize_or_none"]

#: every Layer subclass by class name, for configs (``Sequential.from_config``) and files
LAYER_CLASSES: dict[str, type] = {}

#: ``layer._last_ctx`` before any ``forward`` (a context itself may be None)
NOT_RUN = object()


def get_layer_class(name: str) -> type:
    """The layer class named ``name`` (LayerError listing the known ones when there is none)."""
    try:
        return LAYER_CLASSES[name]
    except KeyError:
        raise LayerError(f"unknown layer class {name!r}; known: {', '.join(sorted(LAYER_CLASSES))}") from None


def standardize_dtype(dtype, owner: str = "layer", float_only: bool = True) -> str:
    """A dtype name from None (``floatx()``), a name, a NumPy dtype or Keras' DTypePolicy config."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, dict):  # Keras' {"class_name": "DTypePolicy", "config": {"name": "float32"}}
        dtype = (dtype.get("config") or {}).get("name")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise LayerError(f"{owner}: unknown dtype {dtype!r}") from None
    if float_only and dt.kind != "f":
        raise LayerError(f"{owner}: dtype must be a float dtype, got {dtype!r}")
    if dt.kind not in "biuf":
        raise LayerError(f"{owner}: dtype must be numeric, got {dtype!r}")
    return dt.name


@dataclass
class WeightSpec:
    """One weight of a layer: its array (updated in place), name and role."""

    name: str
    value: np.ndarray
    trainable: bool
    regularizer: Any = None
    constraint: Any = None


def as_tuple_shape(shape) -> tuple:
    """A shape as a tuple of ints or None (batch sizes may be unknown)."""
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(None if d is None else int(d) for d in shape)


class Layer:
    """Base class of every layer (see the module docstring)."""

    #: how many inputs ``_forward`` takes: 1 (an array) or None (a list, merging layers)
    n_inputs: int | None = 1
    #: keyword arguments a call may carry besides ``training`` (passed to ``_forward``)
    call_kwargs: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LAYER_CLASSES[cls.__name__] = cls

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: str | None = None,
                 input_shape=None, input_dim: int | None = None, batch_size: int | None = None,
                 activity_regularizer=None, **unknown):
        if unknown:
            raise LayerError(f"{type(self).__name__}: unknown argument(s) {', '.join(sorted(unknown))}")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise LayerError(f"{type(self).__name__}: name must be a non-empty string without '/', got {name!r}")
        self.name = name if name is not None else auto_name(type(self).__name__)
        self._trainable = bool(trainable)
        self.dtype = standardize_dtype(dtype, self.name)
        self.built = False
        self._specs: list[WeightSpec] = []
        self._last_ctx = NOT_RUN
        self._inbound_nodes: list = []
        # Keras' legacy shape arguments, read by Sequential for its first layer
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._input_shape_arg = as_tuple_shape(input_shape) if input_shape is not None else None
        self._batch_size_arg = batch_size
        self.activity_regularizer = regularizers.get(activity_regularizer)

    # ------------------------------------------------------------------ weights
    def add_weight(self, name: str, shape, initializer="glorot_uniform", regularizer=None,
                   trainable: bool = True, constraint=None, dtype: str | None = None) -> np.ndarray:
        """Create a weight with ``initializer`` (a name, an object or a callable) and record it."""
        shape = as_tuple_shape(shape)
        if any(s.name == name for s in self._specs):
            raise LayerError(f"{self.name}: a weight named {name!r} already exists")
        if None in shape:
            raise LayerError(f"{self.name}: weight {name!r} needs a fully known shape, got {shape}")
        if constraint is not None and not callable(constraint):
            raise LayerError(f"{self.name}: constraint for {name!r} must be a callable (w -> w), "
                             f"got {constraint!r}; Keras' named constraints are not supported yet")
        init = initializers.get(initializer)
        if init is None:
            init = initializers.get("glorot_uniform")
        charge_weight(f"{self.name}/{name}", shape, dtype or self.dtype)  # before allocating it
        value = np.asarray(init(shape, dtype=dtype or self.dtype), dtype=dtype or self.dtype, order="C")
        if value.shape != shape:
            raise LayerError(f"{self.name}: initializer for {name!r} gave shape {value.shape}, not {shape}")
        self._specs.append(WeightSpec(name, value, trainable, regularizers.get(regularizer), constraint))
        return value

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # as Keras 3: setting a container's flag sets every layer inside it
        self._trainable = bool(value)
        for layer in self._sublayers():
            layer.trainable = value

    def _sublayers(self) -> list["Layer"]:
        """The layers this layer contains (models override it)."""
        return []

    def _own_specs(self, trainable: bool | None = None) -> list[WeightSpec]:
        # trainable weights first, then non-trainable: Keras' order, whatever the creation order
        specs = [s for s in self._specs if s.trainable] + [s for s in self._specs if not s.trainable]
        if trainable is None:
            return specs
        if trainable:
            return [s for s in specs if s.trainable] if self._trainable else []
        return [s for s in specs if not s.trainable or not self._trainable]

    def weight_specs(self, trainable: bool | None = None) -> list[WeightSpec]:
        """The ``WeightSpec`` of ``weights`` (None), ``trainable_weights`` (True) or
        ``non_trainable_weights`` (False); container layers (models) add their layers'."""
        return self._own_specs(trainable)

    @property
    def weights(self) -> list[np.ndarray]:
        return [s.value for s in self.weight_specs()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [s.value for s in self.weight_specs(True)]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [s.value for s in self.weight_specs(False)]

    @property
    def variables(self) -> list[np.ndarray]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``weights``, in Keras' order and layout."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights: Sequence) -> None:
        """Copy ``weights`` into the layer's arrays (in place), checking count and shapes."""
        specs = self.weight_specs()
        weights = list(weights)
        if len(weights) != len(specs):
            raise LayerError(f"{self.name}: set_weights got {len(weights)} array(s), but the layer has "
                             f"{len(specs)} weight(s) ({', '.join(s.name for s in specs) or 'none'})")
        for spec, new in zip(specs, weights):
            new = np.asarray(new)
            if new.shape != spec.value.shape:
                raise LayerError(f"{self.name}: weight {spec.name!r} has shape {spec.value.shape}, "
                                 f"got an array of shape {new.shape}")
            spec.value[...] = new

    def count_params(self) -> int:
        if not self.built:
            raise LayerError(f"{self.name}: the layer is not built yet; call it on an input or build() it")
        return int(sum(s.value.size for s in self.weight_specs()))

    @property
    def losses(self) -> list[float]:
        """The regularization penalties of the weights (Keras' ``layer.losses``)."""
        return [float(s.regularizer(s.value)) for s in self.weight_specs() if s.regularizer is not None]

    def regularization_grads(self) -> list[np.ndarray | None]:
        """d(sum of penalties)/dw for each trainable weight (None where there is no regularizer)."""
        return [None if s.regularizer is None else s.regularizer.gradient(s.value)
                for s in self.weight_specs(True)]

    # ------------------------------------------------------------------ to implement
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch dimension included, may be None)."""
        self.built = True

    def compute_output_shape(self, input_shape, **kwargs):
        """The output shape for ``input_shape`` (LayerError naming both when they do not fit);
        layers with ``call_kwargs`` receive the call's keyword arguments too."""
        return input_shape

    def _forward(self, inputs, training: bool):
        raise NotImplementedError

    def _backward(self, ctx, d_outputs, need_dx: bool):
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor's arguments, under Keras' keys (``from_config`` rebuilds the layer)."""
        config = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = serialize_or_none(self.activity_regularizer, regularizers)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    # ------------------------------------------------------------------ running
    #: whether ``call_forward`` checks input shapes through ``compute_output_shape``
    check_input_shapes: bool = True
    #: whether a batch of 0 samples gets outputs of 0 samples shaped by ``compute_output_shape``
    #: (and zero gradients) without running the kernels: set by layers whose kernels split the
    #: batch into pieces (convolution, pooling, attention); Keras returns empty outputs there too
    empty_batch_by_shape: bool = False

    def _input_shapes(self, inputs):
        return np.shape(inputs) if self.n_inputs == 1 else [np.shape(x) for x in inputs]

    def _ensure_built(self, inputs) -> None:
        if not self.built:
            self.build(self._input_shapes(inputs))
            self.built = True

    def _cast(self, inputs):
        if self.n_inputs == 1:
            return _as_float(inputs, self.dtype, self.name)
        if not isinstance(inputs, (list, tuple)):
            raise LayerError(f"{self.name}: {type(self).__name__} takes a list of inputs")
        return [_as_float(x, self.dtype, self.name) for x in inputs]

    def _check_call_kwargs(self, kwargs) -> None:
        unknown = sorted(k for k in kwargs if k not in self.call_kwargs)
        if unknown:
            raise LayerError(f"{self.name} ({type(self).__name__}): unknown call argument(s) {', '.join(unknown)}")

    def call_forward(self, inputs, training: bool = False, **kwargs):
        """(outputs, ctx): one pure forward pass, for models that keep one context per call."""
        keep_freed_memory()  # once per process: large temporaries without page faults (kernels/memory.py)
        if kwargs:
            self._check_call_kwargs(kwargs)
        inputs = self._cast(inputs)
        self._ensure_built(inputs)
        if self.check_input_shapes or self.empty_batch_by_shape:
            shapes = self._input_shapes(inputs)
            out_shape = self.compute_output_shape(shapes, **kwargs) if kwargs else self.compute_output_shape(shapes)
            if self.empty_batch_by_shape and _empty_batch(inputs):
                return _empty_outputs(out_shape, self.dtype), _EmptyBatch(shapes)
        if kwargs:
            outputs, ctx = self._forward(inputs, bool(training), **kwargs)
        else:
            outputs, ctx = self._forward(inputs, bool(training))
        if self.activity_regularizer is not None:
            ctx = _ActivityCtx(ctx, outputs)
        return outputs, ctx

    def call_backward(self, ctx, d_outputs, need_dx: bool = True):
        """(d_inputs, grads) for a context from ``call_forward``."""
        if isinstance(ctx, _EmptyBatch):
            dx = _empty_outputs(ctx.shapes, self.dtype) if need_dx else None
            return dx, [np.zeros_like(w) for w in self.trainable_weights]
        if isinstance(ctx, _ActivityCtx):
            d_outputs = _add_activity_grads(self.activity_regularizer, ctx.outputs, d_outputs)
            ctx = ctx.inner
        return self._backward(ctx, d_outputs, need_dx)

    def activity_loss(self, ctx) -> float:
        """The activity regularizer's penalty for one call, divided by the batch size as Keras
        does (0 when the layer has none)."""
        if not isinstance(ctx, _ActivityCtx):
            return 0.0
        outs = ctx.outputs if isinstance(ctx.outputs, list) else [ctx.outputs]
        return float(sum(float(self.activity_regularizer(o)) / _batch(o) for o in outs))

    def forward(self, inputs, training: bool = False, **kwargs):
        """The outputs for ``inputs`` (multi-input layers take a list); keeps the context for ``backward``."""
        outputs, self._last_ctx = self.call_forward(inputs, training, **kwargs)
        return outputs

    def backward(self, d_outputs):
        """``(dx, grads)`` for the last ``forward``: dL/dinputs (a list for multi-input layers)
        and dL/dw for each entry of ``trainable_weights``, in that order."""
        if self._last_ctx is NOT_RUN:
            raise LayerError(f"{self.name}: backward() needs a forward() first")
        return self.call_backward(self._last_ctx, _grads_as(d_outputs, self.dtype, self.name), True)

    def __call__(self, *args, training: bool | None = None, **kwargs):
        """On symbolic tensors: adds this layer to a model being defined; on arrays: ``forward``.

        Multi-input layers take a list or several positional inputs; ``layer(x, True)``
        passes ``training`` positionally, as Keras allows."""
        if not args:
            raise LayerError(f"{self.name}: called without inputs")
        if len(args) == 1:
            inputs = args[0]
        elif self.n_inputs is None:
            inputs = list(args)
        elif len(args) == 2 and isinstance(args[1], bool) and training is None:
            inputs, training = args
        else:
            raise LayerError(f"{self.name} ({type(self).__name__}) takes one input, "
                             f"got {len(args)} positional arguments")
        if is_symbolic(inputs):
            return call_symbolic(self, inputs, training=training, **kwargs)
        return self.forward(inputs, training=bool(training), **kwargs)

    # ------------------------------------------------------------------ graph
    def _node_attribute(self, what: str):
        if not self._inbound_nodes:
            raise LayerError(f"{self.name} has never been called on a symbolic tensor, so it has no {what}")
        node = self._inbound_nodes[0]
        tensors = node.inputs if what == "input" else node.outputs
        single = node.single_input if what == "input" else node.single_output
        return tensors[0] if single else list(tensors)

    @property
    def input(self):
        """The symbolic input(s) of the layer's first call (Keras' ``layer.input``)."""
        return self._node_attribute("input")

    @property
    def output(self):
        """The symbolic output(s) of the layer's first call (Keras' ``layer.output``)."""
        return self._node_attribute("output")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"


def serialize_or_none(value, module) -> dict | str | None:
    """Keras' config value of an initializer or regularizer argument (``module`` is
    ``initializers`` or ``regularizers``): the serialize dict of what ``module.get`` makes of
    ``value`` (a name, a dict or an object), a plain function's name, or None."""
    obj = module.get(value)
    if obj is None:
        return None
    try:
        return module.serialize(obj)
    except HaibalValueError:  # a plain function: Keras writes its name
        return getattr(obj, "__name__", getattr(getattr(obj, "fn", None), "__name__", repr(obj)))


def _grads_as(d, dtype: str, owner: str):
    """Output gradients as arrays of the layer's dtype (a list stays a list, None stays None)."""
    if d is None:
        return None
    if isinstance(d, (list, tuple)):
        return [_grads_as(x, dtype, owner) for x in d]
    arr = np.asarray(d)
    if arr.dtype.kind not in "biuf":
        raise LayerError(f"{owner}: output gradients must be numeric, got dtype {arr.dtype}")
    return arr if arr.dtype == dtype else arr.astype(dtype)


@dataclass
class _EmptyBatch:
    """The context of a call on a batch of 0 samples (``Layer.empty_batch_by_shape``)."""
    shapes: Any


def _empty_batch(inputs) -> bool:
    return any(np.ndim(x) and np.shape(x)[0] == 0 for x in (inputs if isinstance(inputs, list) else [inputs]))


def _empty_outputs(shape, dtype):
    """Zeros of ``shape`` (a list of shapes: a list of arrays); a None size is the batch's 0."""
    if isinstance(shape, list):
        return [_empty_outputs(s, dtype) for s in shape]
    return np.zeros(tuple(0 if d is None else d for d in shape), dtype)


def _batch(x) -> int:
    shape = np.shape(x)
    return max(int(shape[0]), 1) if shape else 1


def _add_activity_grads(reg, outputs, d_outputs):
    if isinstance(outputs, list):
        return [d if d is None else d + (reg.gradient(o) / _batch(o)).astype(d.dtype, copy=False)
                for o, d in zip(outputs, d_outputs)]
    return d_outputs + (reg.gradient(outputs) / _batch(outputs)).astype(d_outputs.dtype, copy=False)


@dataclass
class _ActivityCtx:
    inner: Any
    outputs: Any


def _as_float(x, dtype: str, owner: str) -> np.ndarray:
    if isinstance(x, np.ndarray) and x.dtype == dtype:
        return x
    return as_numeric_array(x, f"{owner}: input", LayerError).astype(dtype, copy=False)


def check_rank(layer: Layer, input_shape, ranks: Sequence[int] | None = None, what: str = "input",
               min_rank: int | None = None) -> tuple:
    """``input_shape`` as a tuple, LayerError naming the layer and the shape unless its rank
    is in ``ranks`` (or at least ``min_rank``)."""
    if isinstance(input_shape, list) and input_shape and not isinstance(input_shape[0], (int, type(None))):
        raise LayerError(f"{layer.name} ({type(layer).__name__}) takes one {what}, got {len(input_shape)}")
    shape = as_tuple_shape(input_shape)
    if ranks is not None and len(shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise LayerError(f"{layer.name} ({type(layer).__name__}) expects a rank-{want} {what} "
                         f"(batch included), got shape {format_shape(shape)}")
    if min_rank is not None and len(shape) < min_rank:
        raise LayerError(f"{layer.name} ({type(layer).__name__}) expects an {what} of rank {min_rank} or more "
                         f"(batch included), got shape {format_shape(shape)}")
    return shape


Initializer = Callable[..., np.ndarray]
