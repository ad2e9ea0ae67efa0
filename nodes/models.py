"""Model nodes: HAIBAL's Output VI and what uses a built model (the "Model" palette).

- **Model**: takes the last layers' model wires, finds the Inputs by walking the symbolic
  graph and builds the model (``_model_wires.build_model``): a Keras ``Sequential`` for a
  plain chain, a functional ``Model`` otherwise. It is a *stateful* node: its state holds the
  weights (``"<layer>/<weight>"``) and the seed they were initialised from, saved with the
  graph in its sibling ``.npz``. When the state fits (same seed; each weight by name and
  shape) the weights are restored, others start from ``seed``; the state then holds the
  model's weights. Its output, ``model[0]``, is a new model on every run of the node (never
  the arrays of its state); nodes that change a model work on a copy (``copy_model``).
- **Predict**: ``model.predict(x, batch_size)``.
- **Model Summary**: the Keras summary table and the parameter counts, as outputs.
- **Save Weights** / **Load Weights**: ``.weights.npz`` / ``.safetensors`` files, paths
  through the run context's file policy.

API for other nodes (training): ``MODEL`` (the port type of a built model), ``ModelNode``
(the class; ``ModelNode.state`` after a run holds the weights), ``model_state(model, seed)``
and ``restore_state(model, state)`` in ``_model_wires``; a node that trains a model works on
``copy_model(model)`` (the model it receives is the Model node's kept output, shared by the
nodes wired to it and reused by later runs), and writes trained weights back with
``Graph.set_state(model_node_id, model_state(model, seed))``.
"""

from __future__ import annotations

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import PortType
from haibal_py.numeric.layers.budget import weight_budget
from haibal_py.numeric.models import Model
from haibal_py.numeric.models.summary import summary_text
from haibal_py.numeric.models.weights_io import weight_entries

from ._model_wires import (MODEL, MODEL_CLASSES, as_tensor, build_model, copy_model, layer_name,
                           model_state, restore_state, shape_text)
from .io import _FileNode

CATEGORY = "Model"
MODEL_PORT = "model"
#: the terminal width a Model Summary lays its table out for (a wide terminal: Keras' default widths)
SUMMARY_COLUMNS = 200
WIRE = PortType("model", 1, None)
INT = PortType("int", 0, 0)
TEXT = PortType("str", 0, 0)

__all__ = ["MODEL", "ModelNode", "Predict", "ModelSummary", "SaveWeights", "LoadWeights", "as_model",
           "weights_by_layer"]


def as_model(value, port: str = MODEL_PORT) -> Model:
    """``value`` as a built model; a clear error for a model wire of layers not yet built."""
    if isinstance(value, Model):
        return value
    if value is not None and type(value).__name__ == "SymbolicTensor":
        raise HaibalValueError(f"input {port!r} takes a built model (the output of a Model node), got a model wire "
                               f"of shape {value.shape}: wire the layers into a Model node first")
    raise HaibalValueError(f"input {port!r} takes a built model (the output of a Model node), "
                           f"got {type(value).__name__}")


# ---------------------------------------------------------------------------- Model
OUTPUT_PORTS = ("outputs", "outputs_2", "outputs_3")


def _build(node: Node, values: dict) -> dict:
    tensors = [as_tensor(values[p], p) for p in OUTPUT_PORTS if p == "outputs" or values.get(p) is not None]
    p = node.values
    name = layer_name(node.name, "Model", "Model")
    seed = p["seed"]
    with weight_budget(node.context.limits, f"model {name!r}"):  # a graph says units=10**9 as easily as 10
        model = build_model(tensors, name=name, seed=seed, model_class=p["model_class"])
    restore_state(model, node.state, seed=seed)
    node.state = model_state(model, seed)
    return {MODEL_PORT: model}


ModelNode = declare_node(
    type_id="haibal.model.Model", category=CATEGORY, display_name="Model", module=__name__, class_name="ModelNode",
    description="Builds the model defined by the layer nodes wired into it (HAIBAL's Output): it finds the "
                "Inputs by walking back from the outputs, makes every layer under its node's name (the model "
                "takes the Model node's name), and keeps "
                "the weights as its state, saved with the graph (a graph holding a model saves and runs with "
                "its weights). Weights whose layer and shape are unchanged keep their values from run to run; "
                "new ones start from the seed (a new seed starts them all anew).",
    use_cases=("The end of a network definition: Input -> layers -> Model -> Predict / Model Summary.",
               "A multi-output model: wire the second and third outputs too."),
    inputs=(Port("outputs", WIRE, "the model's output: the last layer's model wire."),
            Port("outputs_2", WIRE, "an optional second output.", default=None),
            Port("outputs_3", WIRE, "an optional third output.", default=None)),
    outputs=(Port(MODEL_PORT, MODEL, "the built model, weights included (model[0])."),),
    params=(Param("seed", "int", 0, "the seed the weights are initialised from.", minimum=0),
            Param("model_class", "enum", "auto", "the class built: auto (a Sequential for a chain of one-input, "
                  "one-output layers, as Keras users write it; a functional Model otherwise), Sequential or "
                  "Functional.", choices=MODEL_CLASSES)),
    instances=(Instance("model", {p: WIRE for p in OUTPUT_PORTS}, {MODEL_PORT: MODEL}, _build,
                        "model wires -> the built model"),),
    attrs={"stateful": True})


# ---------------------------------------------------------------------------- Predict
X_PORTS = ("x", "x_2", "x_3")
Y_PORTS = ("y", "y_2", "y_3")


def _predict(node: Node, values: dict) -> dict:
    model = as_model(values[MODEL_PORT])
    xs = [values[p] for p in X_PORTS if p == "x" or values.get(p) is not None]
    if len(xs) != len(model.inputs):
        raise HaibalValueError(f"model {model.name!r} takes {len(model.inputs)} input(s) "
                               f"({', '.join(model.input_names)}), {len(xs)} wired (x, x_2, x_3 in that order)")
    out = model.predict(xs[0] if len(xs) == 1 else xs, batch_size=node.values["batch_size"])
    outs = out if isinstance(out, list) else [out]
    if len(outs) > len(Y_PORTS):
        raise HaibalValueError(f"model {model.name!r} has {len(outs)} outputs; Predict gives the first three")
    result = {p: None for p in Y_PORTS}
    result.update(zip(Y_PORTS, outs))
    return result


Predict = declare_node(
    type_id="haibal.model.Predict", category=CATEGORY, display_name="Predict", module=__name__, class_name="Predict",
    description="Runs a built model in inference (Keras' model.predict): batch_size samples at a time, "
                "dropout and noise off, batch normalisation with its moving statistics.",
    use_cases=("Class probabilities of new samples.", "Check a model's output shape on real data."),
    inputs=(Port(MODEL_PORT, MODEL, "the built model (a Model node's output)."),
            Port("x", PortType("any", 1, None), "the input samples (batch first)."),
            Port("x_2", PortType("any", 1, None), "the second input of a multi-input model.", default=None),
            Port("x_3", PortType("any", 1, None), "the third input of a multi-input model.", default=None)),
    outputs=(Port("y", PortType("float", 1, None), "the model's output for x."),
             Port("y_2", PortType("float", 1, None), "the second output of a multi-output model (empty otherwise)."),
             Port("y_3", PortType("float", 1, None), "the third output of a multi-output model (empty otherwise).")),
    params=(Param("batch_size", "int", 32, "how many samples go through the model at a time.", minimum=1),),
    instances=(Instance("predict", {MODEL_PORT: MODEL, **{p: PortType("any", 1, None) for p in X_PORTS}},
                        {p: PortType("float", 1, None) for p in Y_PORTS}, _predict,
                        "a model and samples -> the predictions"),))


# ---------------------------------------------------------------------------- Model Summary
def _summary(node: Node, values: dict) -> dict:
    model = as_model(values[MODEL_PORT])
    p = node.values
    text = summary_text(model, expand_nested=p["expand_nested"], show_trainable=p["show_trainable"],
                        columns=SUMMARY_COLUMNS)
    trainable = int(sum(w.size for w in model.trainable_weights))
    total = model.count_params()
    shapes = model.output_shape
    return {MODEL_PORT: model, "summary": text, "total_params": total, "trainable_params": trainable,
            "non_trainable_params": total - trainable, "output_shape": shape_text(shapes)}


ModelSummary = declare_node(
    type_id="haibal.model.ModelSummary", category=CATEGORY, display_name="Model Summary", module=__name__,
    class_name="ModelSummary",
    description="Keras' model.summary(): a table of the layers (name, type, output shape, parameters), the "
                "parameter counts and the output shape, as outputs (haibal run prints them); the editor "
                "shows the table and a histogram of each layer's weights. The model passes through.",
    use_cases=("Check a network's shapes and size before training.", "Compare a graph with a Keras model."),
    inputs=(Port(MODEL_PORT, MODEL, "the built model."),),
    outputs=(Port(MODEL_PORT, MODEL, "the same model, passed on."),
             Port("summary", TEXT, "the summary table, as Keras prints it (laid out for a wide terminal)."),
             Port("total_params", INT, "the number of weights (trainable and not)."),
             Port("trainable_params", INT, "the number of trainable weights."),
             Port("non_trainable_params", INT, "the number of non-trainable weights (moving statistics, frozen "
                  "layers)."),
             Port("output_shape", TEXT, "the model's output shape, as Keras prints it: (None, 10).")),
    params=(Param("expand_nested", "bool", False, "also list the layers inside nested models."),
            Param("show_trainable", "bool", False, "add a column telling whether each layer is trainable.")),
    instances=(Instance("summary", {MODEL_PORT: MODEL},
                        {MODEL_PORT: MODEL, "summary": TEXT, "total_params": INT, "trainable_params": INT,
                         "non_trainable_params": INT, "output_shape": TEXT}, _summary,
                        "a model -> its summary"),))


# ---------------------------------------------------------------------------- weights files
PATH_DOC = "the weights file (.weights.npz or .safetensors), relative to the graph file's folder."


def _save(node: Node, values: dict) -> dict:
    model = as_model(values[MODEL_PORT])
    model.save_weights(node.file_path())
    return {MODEL_PORT: model}


def _load(node: Node, values: dict) -> dict:
    model = copy_model(as_model(values[MODEL_PORT]))
    model.load_weights(node.file_path())
    return {MODEL_PORT: model}


SaveWeights = declare_node(
    type_id="haibal.model.SaveWeights", category=CATEGORY, display_name="Save Weights", module=__name__,
    class_name="SaveWeights", base=_FileNode, attrs={"writes": True, "volatile": False},
    description="Writes a model's weights to a file (model.save_weights: .weights.npz or .safetensors, "
                "written atomically, never pickled) and passes the model on.",
    use_cases=("Keep trained weights to load them in another graph or in Python.",),
    inputs=(Port(MODEL_PORT, MODEL, "the model whose weights are written."),),
    outputs=(Port(MODEL_PORT, MODEL, "the same model, passed on."),),
    params=(Param("path", "str", "model.weights.npz", PATH_DOC),),
    instances=(Instance("save", {MODEL_PORT: MODEL}, {MODEL_PORT: MODEL}, _save, "writes the weights file"),))

LoadWeights = declare_node(
    type_id="haibal.model.LoadWeights", category=CATEGORY, display_name="Load Weights", module=__name__,
    class_name="LoadWeights", base=_FileNode,
    description="A copy of the model with its weights read from a file (model.load_weights): every weight's "
                "name and shape must match, or the file is refused naming the first mismatch. The file is "
                "read again when it changes on disk.",
    use_cases=("Run a model trained elsewhere (saved by Save Weights or by haibal-py in Python).",),
    inputs=(Port(MODEL_PORT, MODEL, "the model the weights are for (its architecture)."),),
    outputs=(Port(MODEL_PORT, MODEL, "a copy of the model with the file's weights."),),
    params=(Param("path", "str", "model.weights.npz", PATH_DOC),),
    instances=(Instance("load", {MODEL_PORT: MODEL}, {MODEL_PORT: MODEL}, _load, "reads the weights file"),))


def weights_by_layer(model: Model) -> dict[str, np.ndarray]:
    """Every weight of ``model`` flattened per layer (``{"conv1": all its values}``), for the
    editor's histograms."""
    out: dict[str, list] = {}
    for key, spec in weight_entries(model):
        out.setdefault(key.rsplit("/", 1)[0], []).append(spec.value.ravel())
    return {k: np.concatenate(v) for k, v in out.items()}

