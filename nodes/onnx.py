"""ONNX in the graph: the ONNX operator layers as layer nodes, **Load ONNX**, **Save ONNX**
and **ONNX Runtime** (the "Model" palette), and ``model_graph``: a built model as a graph
of layer nodes (``haibal onnx import`` uses it).

- The layers made for ONNX operators without a Keras layer (``OnnxReshape``,
  ``OnnxElementwise`` ...) get layer nodes like every Keras layer (type ids
  ``haibal.layers.Onnx*``), so an imported model can be shown, edited and saved as a graph.
  Their constant operands are weights (the Model node's state).
- **Load ONNX** reads a ``.onnx`` file as a built model (``haibal_py.onnx.load``): the output
  is a model wire for Predict, Model Summary, training ... **Save ONNX** writes a model
  (``haibal_py.onnx.save``) and passes it on. **ONNX Runtime** runs a ``.onnx`` file (or a
  wired model, exported on the fly) through ``onnxruntime``, with Predict's ports.
- ``model_graph(model)``: Input nodes, one layer node per layer call (named after the layer,
  so the Model node rebuilds the same names), a Model node holding the weights as its
  state, and a Predict between graph inputs and outputs named after the model's (each graph
  input's default is one sample of zeros, so the graph runs as it is); laid out left to
  right by depth. ``LoadOnnx.graph_from_file(path)`` is that graph for an ONNX file
  (the hook ``haibal onnx import`` finds through the catalog).
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.graph import Graph
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.registry import CATALOG
from haibal_py.node.types import PortType
from haibal_py.numeric import layers as L
from haibal_py.numeric.models import Model
from haibal_py.onnx import load as onnx_load
from haibal_py.onnx import save as onnx_save
from haibal_py.onnx.errors import require_onnxruntime

from ._layer_decl import LayerDecl, declaration, layer_node
from ._model_wires import MODEL, model_state
from .io import _FileNode
from .models import X_PORTS, Y_PORTS, as_model

__all__ = ["model_graph", "LoadOnnx", "SaveOnnx", "OnnxRuntime", "DECLARATIONS"]

CATEGORY = "Model"
LAYERS = "Layers"
MODEL_PORT = "model"
ONNX_USE = "Models imported from ONNX (PyTorch, Keras): operators without a Keras layer."

# ---------------------------------------------------------------------------- ONNX operator layers
DECLARATIONS = [
    LayerDecl(
        name="OnnxElementwise", layer=L.OnnxElementwise, ports="variadic", ranks=(0, None),
        display_name="ONNX Elementwise",
        args=(("op", "onnx_elementwise_op"), "operands", "constant_shapes"),
        defaults={"op": "add", "operands": "x, x", "constant_shapes": "{}"},
        description="An element-wise ONNX operator with NumPy broadcasting (Add, Sub, Mul, Div, Pow, Max, Min, "
                    "Sum, Mean, Where, comparisons) on wired inputs and constant operands (weights).",
        use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxMatMul", layer=L.OnnxMatMul, ports="variadic", ranks=(1, None), display_name="ONNX MatMul",
        args=("operands", "constant_shapes"), defaults={"operands": "x, x", "constant_shapes": "{}"},
        description="numpy.matmul of two operands (ONNX MatMul), wired or constant.", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxEinsum", layer=L.OnnxEinsum, ports="variadic", ranks=(0, None), display_name="ONNX Einsum",
        args=("equation", "operands", "constant_shapes"),
        defaults={"equation": "bij,jk->bik", "operands": "x, x", "constant_shapes": "{}"},
        description="numpy.einsum of the operands (ONNX Einsum, explicit equations).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxUnary", layer=L.OnnxUnary, ranks=(0, None), weights=False, display_name="ONNX Unary",
        args=(("op", "onnx_unary_op"),), defaults={"op": "neg"},
        description="An element-wise ONNX function without a Keras activation (Neg, Abs, Sqrt, Exp, Log, Erf ...).",
        use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxClip", layer=L.OnnxClip, ranks=(0, None), weights=False, display_name="ONNX Clip",
        args=(("min", "clip_min"), ("max", "clip_max")),
        description="clip(x, min, max) (ONNX Clip).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxTranspose", layer=L.OnnxTranspose, ranks=(1, None), weights=False, display_name="ONNX Transpose",
        args=("perm",), defaults={"perm": "1, 0, 2"},
        description="Permutes every axis, the batch axis included (ONNX Transpose).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxReshape", layer=L.OnnxReshape, ranks=(1, None), weights=False, display_name="ONNX Reshape",
        args=(("shape", "onnx_shape"),), defaults={"shape": "0, -1"},
        description="Reshapes every axis, the batch axis included (ONNX Reshape: 0 copies, -1 infers).",
        use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxGather", layer=L.OnnxGather, ranks=(1, None), weights=False, display_name="ONNX Gather",
        args=("indices", ("axis", "gather_axis")), defaults={"indices": "[0]"},
        description="Takes constant indices along an axis (ONNX Gather).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxSlice", layer=L.OnnxSlice, ranks=(1, None), weights=False, display_name="ONNX Slice",
        args=("starts", "ends", ("axes", "slice_axes"), "steps"),
        defaults={"starts": "0", "ends": "1", "axes": "1", "steps": "1"},
        description="Slices axes with starts, ends and steps (ONNX Slice, Split).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxPad", layer=L.OnnxPad, ranks=(1, None), weights=False, display_name="ONNX Pad",
        args=("pads", ("mode", "pad_mode"), ("value", "pad_value")), defaults={"pads": "0, 1, 0, 1"},
        description="Pads (or crops) every axis: constant, reflect or edge (ONNX Pad).", use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxReduce", layer=L.OnnxReduce, ranks=(1, None), weights=False, display_name="ONNX Reduce",
        args=(("op", "onnx_reduce_op"), ("axes", "reduce_axes"), "keepdims"), defaults={"op": "mean"},
        description="Reduces axes: mean, sum, max, min, prod, sum_square, l1, l2, log_sum_exp (ONNX Reduce*).",
        use_cases=(ONNX_USE,)),
    LayerDecl(
        name="OnnxExpand", layer=L.OnnxExpand, ranks=(1, None), weights=False, display_name="ONNX Expand",
        args=(("shape", "expand_shape"),), defaults={"shape": "1, 2"},
        description="Broadcasts the input to a shape (ONNX Expand).", use_cases=(ONNX_USE,)),
]

NODES: dict[str, type[Node]] = {}
for _decl in DECLARATIONS:
    NODES[_decl.name] = layer_node(_decl, category=LAYERS, module=__name__)


# ---------------------------------------------------------------------------- a model as a graph
_INPUT_PORTS = {"single": ("x",), "wrapper": ("x",), "merge": ("x1", "x2", "x3", "x4"),
                "variadic": ("x1", "x2", "x3", "x4"), "attention": ("query", "value", "key")}
X_SPACING, Y_SPACING = 220.0, 140.0


def _params(layer) -> dict:
    """The layer node's parameters for ``layer`` (Keras config values in the node's form)."""
    name = type(layer).__name__
    decl = declaration(name)
    config = dict(layer.get_config())
    if isinstance(layer, L.Bidirectional):
        inner = layer.forward_layer
        config = {**inner.get_config(), "layer": type(inner).__name__,
                  "merge_mode": layer.merge_mode, "trainable": layer.trainable, "dtype": layer.dtype}
    params = {}
    for pname, arg in decl.arg_specs():
        if pname not in config:
            continue
        value = config[pname]
        if pname == "activation" and not isinstance(value, str):
            value = getattr(value, "name", None) or getattr(value, "__name__", value)
        if arg.form == "regularizer" and value is not None:
            raise HaibalValueError(f"layer {layer.name!r}: a regularizer cannot be shown on a node yet")
        params[pname] = arg.shown(value)
    return params


def _unsupported_layers(model: Model) -> list[str]:
    bad = []
    for layer in model.layers:
        if isinstance(layer, L.InputLayer):
            continue
        name = type(layer).__name__
        if f"haibal.layers.{name}" not in CATALOG or isinstance(layer, (L.TimeDistributed, Model)):
            bad.append(f"{layer.name} ({name})")
    return bad


def _node_id(graph: Graph, name: str) -> str:
    base = "".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "node"
    if not (base[0].isalpha() or base[0] == "_"):
        base = "n_" + base
    candidate, k = base, 0
    while candidate in graph.nodes:
        k += 1
        candidate = f"{base}_{k}"
    return candidate


def model_graph(model: Model, name: str | None = None, seed: int = 0) -> Graph:
    """A graph of layer nodes defining ``model``, a Model node holding its weights, and a
    Predict from graph inputs to graph outputs (see the module docstring)."""
    bad = _unsupported_layers(model)
    if bad:
        raise HaibalValueError(f"{model.name}: these layers have no layer node: {', '.join(bad)}")
    if len(model.outputs) > 3 or len(model.inputs) > 3:
        raise HaibalValueError(f"{model.name}: a Model node takes three outputs and Predict three inputs at most; "
                               f"the model has {len(model.inputs)} inputs and {len(model.outputs)} outputs")
    graph = Graph(name=name or model.name)
    where: dict[int, tuple[str, str]] = {}     # id(tensor) -> (node id, port)
    depth: dict[str, int] = {}
    for t in model.inputs:
        layer = t.node.layer
        dtype = layer.dtype if layer.dtype in ("float32", "float64", "int32", "int64") else "float32"
        gid = graph.add_node("haibal.layers.Input", layer.name, {
            "shape": ", ".join("None" if d is None else str(d) for d in t.shape[1:]),
            "batch_size": None, "dtype": dtype}, id=_node_id(graph, layer.name))
        where[id(t)] = (gid, "y")
        depth[gid] = 0
    for call in model._graph.nodes:
        layer = call.layer
        decl = declaration(type(layer).__name__)
        params = _params(layer)
        gid = graph.add_node(f"haibal.layers.{type(layer).__name__}", layer.name, params,
                             id=_node_id(graph, layer.name))
        ports = _INPUT_PORTS[decl.ports]
        ins = call.inputs
        if call.kwargs.get("attention_mask") is not None or len(ins) > len(ports):
            raise HaibalValueError(f"{model.name}: layer {layer.name!r} takes {len(ins)} inputs; its node has "
                                   f"{len(ports)} ports")
        for port, t in zip(ports, ins):
            src, src_port = where[id(t)]
            graph.connect(src, src_port, gid, port)
        depth[gid] = 1 + max(depth[where[id(t)][0]] for t in ins)
        out_ports = decl.port_names(graph.node(gid).node.values)
        for t, port in zip(call.outputs, out_ports):
            where[id(t)] = (gid, port)
    last = max(depth.values()) + 1
    model_id = graph.add_node("haibal.model.Model", model.name, {"seed": seed}, id=_node_id(graph, model.name),
                              state=model_state(model, seed))
    for port, t in zip(("outputs", "outputs_2", "outputs_3"), model.outputs):
        src, src_port = where[id(t)]
        graph.connect(src, src_port, model_id, port)
    depth[model_id] = last
    predict = graph.add_node("haibal.model.Predict", "Predict", id=_node_id(graph, "predict"))
    graph.connect(model_id, MODEL_PORT, predict, MODEL_PORT)
    depth[predict] = last + 1
    taken = set()
    for port, t in zip(X_PORTS, model.inputs):
        gname = t.name if t.name not in taken else f"{t.name}_{len(taken)}"
        taken.add(gname)
        gid = graph.add_input(gname, default=_sample(t), id=_node_id(graph, f"{gname}_data"),
                              doc=f"samples for the model's input {t.name!r}, shape {t.shape} (the default: "
                                  f"one sample of zeros, so the graph runs as it is)")
        graph.connect(gid, "value", predict, port)
        depth[gid] = last
    for port, t in zip(Y_PORTS, model.outputs):
        gid = graph.add_output(t.name, doc=f"the model's output {t.name!r}, shape {t.shape}",
                               id=_node_id(graph, f"{t.name}_out"))
        graph.connect(predict, port, gid, "value")
        depth[gid] = last + 2
    rows: dict[int, int] = defaultdict(int)
    for gid in graph.nodes:
        d = depth.get(gid, 0)
        graph.nodes[gid].pos = (d * X_SPACING, rows[d] * Y_SPACING)
        rows[d] += 1
    return graph


#: the largest input sample (in values) a graph input gets as its default
SAMPLE_LIMIT = 65536


def _sample(t) -> np.ndarray | None:
    """One sample of zeros for the model input ``t`` (None when a size is unknown or it is big)."""
    shape = (1,) + tuple(t.shape[1:])
    if any(d is None for d in shape) or int(np.prod(shape)) > SAMPLE_LIMIT:
        return None
    return np.zeros(shape, dtype=t.dtype)


def onnx_graph(path, name: str | None = None) -> Graph:
    """The graph of the ONNX file at ``path`` (``model_graph(haibal_py.onnx.load(path))``)."""
    return model_graph(onnx_load(path), name=name)


# ---------------------------------------------------------------------------- nodes
ONNX_DOC = "the ONNX file, relative to the graph file's folder."


def _load(node: Node, values: dict) -> dict:
    return {MODEL_PORT: onnx_load(node.file_path())}


LoadOnnx = declare_node(
    type_id="haibal.model.LoadONNX", category=CATEGORY, display_name="Load ONNX", module=__name__,
    class_name="LoadOnnx", base=_FileNode,
    description="Reads an ONNX file (exported from PyTorch, Keras or haibal-py) as a built model running on "
                "haibal-py's layers: its input and output names, shapes and layout are the file's (a PyTorch "
                "export takes NCHW). Operators haibal-py cannot import are listed, with their counts, before "
                "anything is built. Read again when the file changes.",
    use_cases=("Evaluate a PyTorch or Keras model with the Metrics nodes.", "Fine-tune an imported model."),
    outputs=(Port(MODEL_PORT, MODEL, "the imported model (model[0])."),),
    params=(Param("path", "str", "model.onnx", ONNX_DOC),),
    instances=(Instance("load", {}, {MODEL_PORT: MODEL}, _load, "reads the ONNX file"),),
    attrs={"graph_from_file": staticmethod(onnx_graph)})


def _save(node: Node, values: dict) -> dict:
    model = as_model(values[MODEL_PORT])
    opset = node.values["opset"] or None
    onnx_save(model, node.file_path(), opset=opset)
    return {MODEL_PORT: model}


SaveOnnx = declare_node(
    type_id="haibal.model.SaveONNX", category=CATEGORY, display_name="Save ONNX", module=__name__,
    class_name="SaveOnnx", base=_FileNode, attrs={"writes": True, "volatile": False},
    description="Writes a model as an ONNX file (checked with the ONNX checker; dynamic batch size; "
                "channels-last as the model computes) and passes the model on. A layer without an ONNX form "
                "is refused by name before anything is written.",
    use_cases=("Deploy a model trained in haibal-py with ONNX Runtime, or open it in other tools.",),
    inputs=(Port(MODEL_PORT, MODEL, "the model to write."),),
    outputs=(Port(MODEL_PORT, MODEL, "the same model, passed on."),),
    params=(Param("path", "str", "model.onnx", ONNX_DOC),
            Param("opset", "int", 0, "the ONNX opset written (0: 17, the default).", minimum=0)),
    instances=(Instance("save", {MODEL_PORT: MODEL}, {MODEL_PORT: MODEL}, _save, "writes the ONNX file"),))


class _Session:
    """An onnxruntime session kept by a node, made again when its file changes."""

    def __init__(self, key, sess):
        self.key, self.sess = key, sess


def _session(node: Node, values: dict):
    ort = require_onnxruntime()
    model = values.get(MODEL_PORT)
    if model is not None:
        model = as_model(model)
        key = ("model", id(model))
        cached = getattr(node, "_onnx_session", None)
        if cached is not None and cached.key == key:
            return cached.sess
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.onnx")
            onnx_save(model, path)
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    else:
        path = node.file_path()
        try:
            st = path.stat()
        except OSError:
            raise HaibalValueError(f"{node.label}: no ONNX file at {path}") from None
        key = (str(path), st.st_mtime_ns, st.st_size)
        cached = getattr(node, "_onnx_session", None)
        if cached is not None and cached.key == key:
            return cached.sess
        try:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types
            raise HaibalValueError(f"{node.label}: onnxruntime cannot load {path}: {exc}") from None
    node._onnx_session = _Session(key, sess)
    return sess


_NP_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(bool)": np.bool_, "tensor(float16)": np.float16}


def _run(node: Node, values: dict) -> dict:
    sess = _session(node, values)
    xs = [values[p] for p in X_PORTS if p == "x" or values.get(p) is not None]
    inputs = sess.get_inputs()
    if len(xs) != len(inputs):
        raise HaibalValueError(f"{node.label}: the ONNX model takes {len(inputs)} input(s) "
                               f"({', '.join(i.name for i in inputs)}), {len(xs)} wired (x, x_2, x_3 in that order)")
    arrays = []
    for spec, x in zip(inputs, xs):
        dtype = _NP_TYPES.get(spec.type)
        arrays.append(np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x))
    n = {len(a) for a in arrays}
    if len(n) != 1:
        raise HaibalValueError(f"{node.label}: the inputs have different batch sizes: "
                               f"{', '.join(str(a.shape) for a in arrays)}")
    total, size = n.pop(), node.values["batch_size"]
    chunks = []
    for start in range(0, max(total, 1), size):
        feed = {spec.name: a[start:start + size] for spec, a in zip(inputs, arrays)}
        try:
            chunks.append(sess.run(None, feed))
        except Exception as exc:  # onnxruntime's errors name the input and the shapes
            raise HaibalValueError(f"{node.label}: onnxruntime refused the inputs: {exc}") from None
        node.context.progress(min(start + size, total), total)
    outs = [np.concatenate([c[k] for c in chunks]) for k in range(len(chunks[0]))]
    if len(outs) > len(Y_PORTS):
        raise HaibalValueError(f"{node.label}: the ONNX model has {len(outs)} outputs; the node gives the first three")
    result = {p: None for p in Y_PORTS}
    result.update(zip(Y_PORTS, outs))
    return result


class _RuntimeBase(_FileNode):
    """The file is read when no model is wired."""

    def cache_token(self):
        return super().cache_token() if self.values.get("path") else None


OnnxRuntime = declare_node(
    type_id="haibal.model.ONNXRuntime", category=CATEGORY, display_name="ONNX Runtime", module=__name__,
    class_name="OnnxRuntime", base=_RuntimeBase,
    description="Runs a model through onnxruntime (the optional onnx extra) for inference speed, with "
                "Predict's ports: the ONNX file at path, or the wired model exported on the fly. Inputs go "
                "in the file's input order (x, x_2, x_3), batch_size samples at a time; the session is kept "
                "until the file or the model changes.",
    use_cases=("Fast inference of a trained model.", "Check that an exported model gives haibal-py's numbers."),
    inputs=(Port(MODEL_PORT, MODEL, "a built model to run instead of the file (exported first).", default=None),
            Port("x", PortType("any", 1, None), "the input samples (batch first)."),
            Port("x_2", PortType("any", 1, None), "the second input of a multi-input model.", default=None),
            Port("x_3", PortType("any", 1, None), "the third input of a multi-input model.", default=None)),
    outputs=(Port("y", PortType("float", 1, None), "the model's first output."),
             Port("y_2", PortType("float", 1, None), "the second output (empty otherwise)."),
             Port("y_3", PortType("float", 1, None), "the third output (empty otherwise).")),
    params=(Param("path", "str", "model.onnx", ONNX_DOC + " Ignored when a model is wired."),
            Param("batch_size", "int", 32, "how many samples go through onnxruntime at a time.", minimum=1)),
    instances=(Instance("run", {MODEL_PORT: MODEL, **{p: PortType("any", 1, None) for p in X_PORTS}},
                        {p: PortType("float", 1, None) for p in Y_PORTS}, _run,
                        "samples -> onnxruntime's outputs"),))
