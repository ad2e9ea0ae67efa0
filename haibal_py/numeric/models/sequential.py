"""``Sequential``: a stack of single-input, single-output layers (Keras 3's).

The model builds itself as a functional graph as soon as it knows its input shape: an
``Input`` added first, ``input_shape=`` on the first layer, ``build(shape)``, or the
first call on data (then, as Keras, with that data's batch size). ``layers`` leaves
the ``InputLayer`` out.
"""

from __future__ import annotations

import numpy as np

from ...errors import LayerError
from ..layers.base import Layer, auto_name, get_layer_class
from ..layers.input_layer import InputLayer
from ..layers.symbolic import SymbolicTensor
from .functional import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """Keras' ``Sequential(layers=None, trainable=True, name=None)``."""

    _is_sequential = True

    def __init__(self, layers=None, trainable=True, name=None):
        Layer.__init__(self, name=name or auto_name("Sequential"), trainable=trainable)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._graph = None
        self.built = False
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    # ------------------------------------------------------------------ building
    def add(self, layer, rebuild: bool = True) -> None:
        """Append ``layer`` (an ``Input(...)`` tensor or an ``InputLayer`` may come first)."""
        if isinstance(layer, SymbolicTensor):
            src = layer.node.layer if layer.node is not None else None
            if not isinstance(src, InputLayer):
                raise LayerError(f"{self.name}: only an Input(...) tensor can be added to a Sequential model, "
                                 f"not the output of {src.name if src else 'nothing'!r}")
            layer = src
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise LayerError(f"{self.name}: an input layer can only be the first layer of a Sequential model")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            if any(other.name == layer.name for other in self._stack):
                raise LayerError(f"{self.name}: all layers added to a Sequential model should have unique "
                                 f"names; {layer.name!r} is already there")
            self._stack.append(layer)
        else:
            raise LayerError(f"{self.name}: add() takes a Layer or an Input(...) tensor, got {type(layer).__name__}")
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise LayerError(f"{self.name}: there is no layer to pop")
        layer = self._stack.pop()
        self._graph, self.built = None, False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        self._graph, self.built = None, False
        if self._input_layer is not None:
            self.build(self._input_layer.batch_shape)
        elif self._stack and self._stack[0]._input_shape_arg is not None:
            first = self._stack[0]
            self.build((first._batch_size_arg,) + first._input_shape_arg)

    def build(self, input_shape=None) -> None:
        """Build the graph for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            raise LayerError(f"{self.name}: build() needs the input shape (batch axis included)")
        if self._input_layer is None or tuple(self._input_layer.batch_shape) != tuple(input_shape):
            if self._input_layer is not None and len(self._input_layer.batch_shape) != len(input_shape):
                raise LayerError(f"{self.name} was defined for inputs of shape {self._input_layer.batch_shape}, "
                                 f"got {tuple(input_shape)}")
            dtype = self._input_layer.dtype if self._input_layer is not None else None
            self._input_layer = InputLayer(batch_shape=tuple(input_shape), dtype=dtype)
        x = self._input_layer.output_tensor
        first = x
        for layer in self._stack:
            x = layer(x)
            if not isinstance(x, SymbolicTensor):
                raise LayerError(f"{self.name}: every layer of a Sequential model must have one output; "
                                 f"{layer.name!r} has {len(x)}")
        self._init_graph(first, x)

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def _sublayers(self) -> list[Layer]:
        return list(self._stack)

    def _require_graph(self, what: str):
        if self._graph is None:
            raise LayerError(f"{self.name} has no input shape yet, so it has no {what}; add an Input, "
                             f"call build(input_shape) or call the model on data")

    @property
    def output_names(self) -> list[str]:
        """The last layer's name: known before the model has an input shape, so that
        ``compile`` with metrics works on a Sequential without an Input (built at ``fit``)."""
        if self._graph is None and self._stack:
            return [self._stack[-1].name]
        return super().output_names

    @property
    def inputs(self):
        self._require_graph("inputs")
        return super().inputs

    @property
    def outputs(self):
        self._require_graph("outputs")
        return super().outputs

    @property
    def input_shape(self):
        self._require_graph("input_shape")
        return super().input_shape

    @property
    def output_shape(self):
        self._require_graph("output_shape")
        return super().output_shape

    def compute_output_shape(self, input_shape):
        if self._graph is None:
            shape = tuple(input_shape)
            for layer in self._stack:
                shape = layer.compute_output_shape(shape)
            return shape
        return super().compute_output_shape(input_shape)

    # ------------------------------------------------------------------ running
    @property
    def n_inputs(self):
        return 1

    @n_inputs.setter
    def n_inputs(self, value):
        pass

    def _cast(self, inputs):
        if self._graph is None:
            if not self._stack:
                raise LayerError(f"{self.name} has no layers")
            self.build(np.shape(inputs))
        return super()._cast(inputs)

    def get_config(self) -> dict:
        layers = []
        if self._input_layer is not None:
            layers.append({"class_name": "InputLayer", "config": self._input_layer.get_config()})
        layers += [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._stack]
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype, "layers": layers}
        if self._input_layer is not None:
            config["build_input_shape"] = self._input_layer.batch_shape
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        try:
            model = cls(name=config.get("name"), trainable=config.get("trainable", True))
            for item in config["layers"]:
                model.add(get_layer_class(item["class_name"]).from_config(item["config"]), rebuild=False)
        except (KeyError, TypeError) as exc:
            raise LayerError(f"not a Sequential config ({exc!r})") from None
        model._maybe_rebuild()
        if not model.built and config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        return model

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r}, layers={len(self._stack)}, built={self.built}>"
