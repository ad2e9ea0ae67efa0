"""Model wires: what flows between layer nodes, and how a Model node turns it into a model.

Between layer nodes flows a ``SymbolicTensor`` (a model being defined, Keras' KerasTensor):
its port type is ``model(None, 28, 28, 1)``, its shape with the batch axis. A built model
(``numeric.models.Model``) is ``model[0]``, "a whole model". Layer nodes record their call
without building weights (``call_symbolic(build=False)``): what they pass on is a definition.

The Model node builds the model from that definition with ``build_model``: it walks the
symbolic graph back from the outputs (finding the Inputs), makes a fresh copy of every layer
(``from_config``) under a unique name, and builds them with unseeded initializers drawing
from a generator seeded by the node, so the same graph gives the same initial weights on
every run, and two Model nodes never share layers. ``model_state`` / ``restore_state`` move
the weights between the model and the node's state (``"<layer>/<weight>"`` keys and a
``"seed"`` entry), which the graph file saves in its sibling ``.npz``.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node.types import PortType, value_type
from haibal_py.numeric import seeding
from haibal_py.numeric.keras_api import snake_case
from haibal_py.numeric.layers import Layer, SymbolicTensor
from haibal_py.numeric.layers.symbolic import call_symbolic
from haibal_py.numeric.models import Model, Sequential
from haibal_py.numeric.models.graph import walk_calls
from haibal_py.numeric.models.weights_io import weight_entries

__all__ = ["MODEL", "MODEL_CLASSES", "SEED_KEY", "as_tensor", "build_model", "clone_graph", "copy_model",
           "layer_name", "model_state", "restore_state", "shape_text", "unique_names"]

#: the type of a built model ("a whole model")
MODEL = PortType("model", 0, 0)
#: the classes a Model node may build
MODEL_CLASSES = ("auto", "Sequential", "Functional")
#: the key of a Model node's state holding the seed its weights were initialised from
SEED_KEY = "seed"


@value_type(SymbolicTensor)
def _tensor_type(tensor: SymbolicTensor) -> PortType:
    return PortType.with_shape("model", tensor.shape)


@value_type(Model)
def _model_type(model: Model) -> PortType:
    return MODEL


# ---------------------------------------------------------------------------- names
def layer_name(node_name: str, default_name: str, class_name: str) -> str:
    """The Keras name of a node's layer: the node's name (spaces and ``/`` made ``_``), or
    Keras' automatic name for the class while the node keeps its default name."""
    if node_name == default_name or not node_name.strip():
        return snake_case(class_name)
    return re.sub(r"[\s/]+", "_", node_name.strip())


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` made unique in order, as Keras numbers its automatic names: ``dense``,
    ``dense_1``, ``dense_2`` (a suffixed name already taken is skipped)."""
    taken: set[str] = set()
    out = []
    for name in names:
        new, k = name, 0
        while new in taken:
            k += 1
            new = f"{name}_{k}"
        taken.add(new)
        out.append(new)
    return out


def shape_text(shapes) -> str:
    """Output shapes as Keras' summary prints them: ``(None, 10)``; several: ``[(None, 10), (None, 3)]``."""
    if isinstance(shapes, list):
        return "[" + ", ".join(shape_text(s) for s in shapes) + "]"
    return "(" + ", ".join(str(d) for d in shapes) + ")"


# ---------------------------------------------------------------------------- checks
def as_tensor(value: Any, port: str) -> SymbolicTensor:
    """``value`` as the symbolic tensor a model wire carries; a clear error otherwise."""
    if isinstance(value, SymbolicTensor):
        return value
    if isinstance(value, Model):
        raise HaibalValueError(f"input {port!r} takes a model wire from an Input or a layer node, got a built "
                               f"model ({value.name!r}); wire the layers before the Model node instead")
    what = "nothing (an empty optional output upstream)" if value is None else type(value).__name__
    raise HaibalValueError(f"input {port!r} takes a model wire from an Input or a layer node, got {what}")


# ---------------------------------------------------------------------------- graphs
def _clone_layer(layer: Layer, name: str) -> Layer:
    config = dict(layer.get_config())
    config["name"] = name
    return type(layer).from_config(config)


def _is_chain(nodes: list, outputs: Sequence[SymbolicTensor]) -> bool:
    """One Input, one output, every call single-input single-output without call arguments."""
    if len(outputs) != 1 or not nodes or not nodes[0].is_input or any(n.is_input for n in nodes[1:]):
        return False
    layers = [n.layer for n in nodes]
    if len({id(layer) for layer in layers}) != len(layers):
        return False
    for prev, node in zip(nodes, nodes[1:]):
        if not (node.single_input and node.single_output and not node.kwargs and node.training is None
                and len(node.inputs) == 1 and node.inputs[0] is prev.outputs[0]):
            return False
    return nodes[-1].outputs[0] is outputs[0]


def clone_graph(outputs: Sequence[SymbolicTensor], build: bool = True) -> tuple[list, list, list]:
    """Fresh copies of the layers behind ``outputs``, called on fresh Inputs under unique names.

    Returns ``(inputs, outputs, layers)``: the new symbolic inputs (the Inputs in the order
    the walk meets them), the new outputs, and the new layers in call order. A layer called
    several times stays one (shared) layer. ``build=False`` records the calls only."""
    nodes = walk_calls(outputs).nodes
    originals: list[Layer] = []
    for node in nodes:
        if all(node.layer is not o for o in originals):
            originals.append(node.layer)
    names = unique_names([layer.name for layer in originals])
    clones = {id(layer): _clone_layer(layer, name) for layer, name in zip(originals, names)}
    new: dict[int, SymbolicTensor] = {}
    inputs = []
    for node in nodes:
        layer = clones[id(node.layer)]
        if node.is_input:
            new[id(node.outputs[0])] = layer.output_tensor
            inputs.append(layer.output_tensor)
            continue
        args = [new[id(t)] for t in node.inputs]
        kwargs = {k: new[id(v)] if isinstance(v, SymbolicTensor) else v for k, v in node.kwargs.items()}
        out = call_symbolic(layer, args[0] if node.single_input else args, training=node.training, build=build,
                            **kwargs)
        for t, t_new in zip(node.outputs, [out] if node.single_output else out):
            new[id(t)] = t_new
    return inputs, [new[id(t)] for t in outputs], [clones[id(layer)] for layer in originals]


def build_model(outputs: Sequence[SymbolicTensor], name: str, seed: int, model_class: str = "auto") -> Model:
    """The model defined by ``outputs`` (see the module docstring), its weights initialised
    from ``seed``: a ``Sequential`` for a chain of one-input, one-output layers (``auto``) or
    when asked, a functional ``Model`` otherwise."""
    if model_class not in MODEL_CLASSES:
        raise HaibalValueError(f"model_class must be one of {', '.join(MODEL_CLASSES)}, got {model_class!r}")
    outputs = list(outputs)
    nodes = walk_calls(outputs).nodes
    chain = _is_chain(nodes, outputs)
    if model_class == "Sequential" and not chain:
        raise HaibalValueError("model_class 'Sequential' needs a chain of layers from one Input to one output, "
                               "each with one input and one output; use 'Functional' (or 'auto')")
    with seeding.seeded(seed):
        if chain and model_class != "Functional":
            originals = [n.layer for n in nodes]
            names = unique_names([layer.name for layer in originals])
            return Sequential([_clone_layer(layer, nm) for layer, nm in zip(originals, names)], name=name)
        inputs, outs, _ = clone_graph(outputs, build=True)
        return Model(inputs[0] if len(inputs) == 1 else inputs, outs[0] if len(outs) == 1 else outs, name=name)


def copy_model(model: Model) -> Model:
    """An independent copy of a built model, weights included (``from_config`` + ``set_weights``)."""
    with seeding.seeded(0):  # the copy's first weights are overwritten: keep the process's generator
        copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


# ---------------------------------------------------------------------------- state
def model_state(model: Model, seed: int | None = None) -> dict[str, np.ndarray]:
    """The node state holding ``model``'s weights (copies) under ``"<layer>/<weight>"``, and
    ``seed`` (when given) under ``"seed"``."""
    state = {key: spec.value.copy() for key, spec in weight_entries(model)}
    if seed is not None:
        state[SEED_KEY] = np.asarray(seed, dtype=np.int64)
    return state


def restore_state(model: Model, state: dict, seed: int | None = None) -> list[str]:
    """Copy into ``model`` the weights of ``state`` whose key and shape match; returns the keys
    restored. With ``seed`` given, nothing is restored unless the state was initialised from
    that seed (a new seed asks for new weights)."""
    if seed is not None:
        kept = state.get(SEED_KEY)
        if kept is None or np.ndim(kept) != 0 or int(kept) != seed:
            return []
    restored = []
    for key, spec in weight_entries(model):
        value = state.get(key)
        if value is not None and np.shape(value) == spec.value.shape:
            spec.value[...] = value
            restored.append(key)
    return restored
