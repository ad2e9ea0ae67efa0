"""Symbolic tensors: how a model is defined before any data flows (Keras' ``KerasTensor``).

Calling a layer on ``SymbolicTensor`` s (``Input(...)`` gives the first ones) builds the
layer from the input shapes, records the call as a ``Node`` in ``layer._inbound_nodes``
and returns symbolic outputs whose shapes come from ``compute_output_shape``. A
``Model(inputs, outputs)`` then walks those nodes back from its outputs.

This module knows layers only through their duck-typed API (``name``, ``built``,
``build``, ``compute_output_shape``, ``n_inputs``, ``call_kwargs``, ``dtype``): it does
not import ``base``, which imports it.
"""

from __future__ import annotations

from typing import Any

from ...errors import HaibalError, LayerError

__all__ = ["SymbolicTensor", "Node", "is_symbolic", "call_symbolic", "flatten_symbolic", "format_shape"]


def format_shape(shape) -> str:
    """``(None, 3)`` as Keras prints shapes."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class SymbolicTensor:
    """A placeholder with a shape (batch first, often None), a dtype and the call that made it."""

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape, dtype: str, name: str, node: "Node | None" = None, index: int = 0):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def layer(self):
        """The layer whose call produced this tensor."""
        return self.node.layer if self.node is not None else None

    @property
    def _keras_history(self) -> tuple:
        """``(layer, node_index, tensor_index)``, as Keras' ``KerasTensor._keras_history``."""
        if self.node is None:
            return (None, 0, 0)
        return (self.node.layer, self.node.node_index, self.index)

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={format_shape(self.shape)}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args, **kwargs):
        raise LayerError(f"{self.name} is a symbolic tensor (a model input or a layer's symbolic "
                         f"output): it has no values; build a Model and call forward() on arrays")

    def __bool__(self):
        raise LayerError(f"{self.name} is a symbolic tensor: it has no truth value")


class Node:
    """One call of a layer on symbolic tensors: its inputs, outputs and call arguments.

    ``kwargs`` are the call's other arguments; those holding symbolic tensors (an
    ``attention_mask`` input ...) are also in ``tensor_kwargs``: the model feeds them
    their values at run time, and sends them no gradient."""

    def __init__(self, layer, inputs: list, single_input: bool, outputs: list, single_output: bool,
                 training: bool | None = None, kwargs: dict | None = None):
        self.layer = layer
        self.inputs = list(inputs)
        self.single_input = single_input
        self.outputs = list(outputs)
        self.single_output = single_output
        self.training = training
        self.kwargs = dict(kwargs or {})
        self.tensor_kwargs = {k: v for k, v in self.kwargs.items() if isinstance(v, SymbolicTensor)}

    @property
    def all_inputs(self) -> list["SymbolicTensor"]:
        """The positional inputs, then the symbolic tensors passed as keyword arguments."""
        return self.inputs + list(self.tensor_kwargs.values())

    def call_kwargs(self, values: dict) -> dict:
        """The call's keyword arguments with each symbolic tensor replaced by its value
        (``values`` maps ``id(tensor)`` to arrays)."""
        if not self.tensor_kwargs:
            return self.kwargs
        return {k: values[id(v)] if isinstance(v, SymbolicTensor) else v for k, v in self.kwargs.items()}

    @property
    def is_input(self) -> bool:
        """True for the node of an ``InputLayer`` (no inputs)."""
        return not self.inputs

    @property
    def node_index(self) -> int:
        return self.layer._inbound_nodes.index(self)

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.all_inputs if t.node is not None]

    def pack_inputs(self, values: list):
        """The layer's input structure (one array or a list) from a flat list of values."""
        return values[0] if self.single_input else list(values)

    def unpack_outputs(self, outputs) -> list:
        """A flat list from the layer's output structure."""
        if self.single_output:
            return [outputs]
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(self.outputs):
            raise LayerError(f"{self.layer.name}: expected {len(self.outputs)} outputs, got "
                             f"{type(outputs).__name__}")
        return list(outputs)

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.node_index}]>"


def flatten_symbolic(x) -> list | None:
    """The symbolic tensors of ``x`` (one tensor, or a list/tuple of them) as a list; None
    when ``x`` holds no symbolic tensor; LayerError when it mixes them with arrays."""
    if isinstance(x, SymbolicTensor):
        return [x]
    if isinstance(x, (list, tuple)) and x:
        flags = [isinstance(t, SymbolicTensor) for t in x]
        if all(flags):
            return list(x)
        if any(flags):
            raise LayerError("a layer was called on a mix of symbolic tensors and arrays; "
                             "pass only symbolic tensors (Input) or only arrays")
    return None


def is_symbolic(x) -> bool:
    """True for a ``SymbolicTensor`` or a non-empty list/tuple of them."""
    return flatten_symbolic(x) is not None


def _as_shapes(result, layer) -> tuple[list[tuple], bool]:
    def one(s):
        if not isinstance(s, tuple) or not all(d is None or isinstance(d, int) for d in s):
            raise LayerError(f"{layer.name}: compute_output_shape must return a shape tuple "
                             f"(or a list of them), got {result!r}")
        return s
    if isinstance(result, list):
        return [one(tuple(s)) for s in result], False
    return [one(tuple(result) if isinstance(result, tuple) else result)], True


def call_symbolic(layer, inputs, training: bool | None = None, build: bool = True, **kwargs) -> Any:
    """Record ``layer(inputs)`` on symbolic tensors and return its symbolic output(s).

    ``build=False`` records the call without building the layer (no weights are made): a
    model *definition* that is cloned before it runs (the editor's layer nodes) spares the
    initializers' work; the output shapes still come from ``compute_output_shape``."""
    flat = flatten_symbolic(inputs)
    if flat is None:
        raise LayerError(f"{layer.name}: call_symbolic needs symbolic tensors, got {type(inputs).__name__}")
    single_input = isinstance(inputs, SymbolicTensor)
    n_inputs = getattr(layer, "n_inputs", 1)
    if n_inputs == 1 and not single_input:
        if len(flat) != 1:
            raise LayerError(f"{layer.name} ({type(layer).__name__}) takes one input tensor, got {len(flat)}")
        single_input = True
    if n_inputs is None and single_input:
        raise LayerError(f"{layer.name} ({type(layer).__name__}) takes a list of input tensors, "
                         f"got one tensor of shape {format_shape(flat[0].shape)}")
    allowed = getattr(layer, "call_kwargs", ())
    unknown = sorted(k for k in kwargs if k not in allowed)
    if unknown:
        raise LayerError(f"{layer.name} ({type(layer).__name__}): unknown call argument(s) {', '.join(unknown)}")
    shapes = flat[0].shape if single_input else [t.shape for t in flat]
    try:
        if build and not layer.built:
            layer.build(shapes)
            layer.built = True
        result = layer.compute_output_shape(shapes, **kwargs) if kwargs else layer.compute_output_shape(shapes)
    except HaibalError:
        raise
    except (ValueError, TypeError, IndexError) as exc:
        shown = format_shape(shapes) if single_input else ", ".join(format_shape(s) for s in shapes)
        raise LayerError(f"{layer.name} ({type(layer).__name__}) cannot take input shape {shown}: {exc}") from None
    out_shapes, single_output = _as_shapes(result, layer)
    node = Node(layer, flat, single_input, [], single_output, training, kwargs)
    dtype = getattr(layer, "output_dtype", None) or layer.dtype
    names = [layer.name] if single_output else [f"{layer.name}_{i}" for i in range(len(out_shapes))]
    node.outputs = [SymbolicTensor(s, dtype, n, node, i) for i, (s, n) in enumerate(zip(out_shapes, names))]
    if not hasattr(layer, "_inbound_nodes"):
        layer._inbound_nodes = []
    layer._inbound_nodes.append(node)
    return node.outputs[0] if single_output else list(node.outputs)
