"""``save(model, path, opset=None)``: a haibal-py model as an ONNX file.

The model's calls are walked in order (nested models inline); each layer becomes ONNX
operators (``export_layers``). Inputs keep the model's input names, dtypes and shapes, with
a dynamic batch size (``dim_param`` "batch") and channels-last layouts as the model
computes them; outputs are named after the layers that make them. The result passes
``onnx.checker.check_model(full_check=True)``. A layer without an ONNX form is refused
before anything is written, with its name and class.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files.atomic import write_bytes_atomic
from ..numeric.layers import InputLayer
from ..numeric.models import Model
from .errors import OnnxError, UnsupportedOnnxError, require_onnx
from .export_graph import GraphBuilder
from .export_layers import EXPORTERS

__all__ = ["save", "to_onnx", "DEFAULT_OPSET", "MIN_EXPORT_OPSET"]

#: the opset written when none is asked (read by every ONNX Runtime of the last years)
DEFAULT_OPSET = 17
MIN_EXPORT_OPSET = 13


def _exporter(layer):
    for cls in type(layer).__mro__:
        if cls in EXPORTERS:
            return EXPORTERS[cls]
    return None


def _unsupported(model, found=None) -> dict:
    found = {} if found is None else found
    for layer in model.layers:
        if isinstance(layer, Model):
            _unsupported(layer, found)
        elif _exporter(layer) is None:
            key = type(layer).__name__
            found[key] = found.get(key, 0) + 1
    return found


def export_call(g: GraphBuilder, layer, xs: list, in_syms: list, out_syms: list, node=None) -> list:
    """The ONNX names of ``layer``'s outputs for one call on inputs named ``xs``."""
    if isinstance(layer, Model):
        return _export_model(g, layer, xs)
    fn = _exporter(layer)
    if fn is None:
        raise UnsupportedOnnxError(f"{layer.name} ({type(layer).__name__}) cannot be exported to ONNX",
                                   {type(layer).__name__: 1})
    call = node if node is not None else _Call(in_syms, out_syms, {})
    outs = fn(g, layer, list(xs), call)
    if len(outs) != len(call.outputs):
        raise OnnxError(f"internal: {layer.name} exported {len(outs)} outputs for {len(call.outputs)}")
    return outs


class _Call:
    """A layer call's symbolic inputs, outputs and keyword arguments (like ``symbolic.Node``)."""

    def __init__(self, inputs, outputs, kwargs):
        self.inputs, self.outputs, self.kwargs = list(inputs), list(outputs), dict(kwargs)


def _export_model(g: GraphBuilder, model: Model, xs: list) -> list:
    names = {id(t): x for t, x in zip(model.inputs, xs)}
    for node in model._graph.nodes:
        layer = node.layer
        ins = [names[id(t)] for t in node.inputs]
        if isinstance(layer, InputLayer):
            outs = ins
        else:
            outs = export_call(g, layer, ins, node.inputs, node.outputs, node)
        for t, name in zip(node.outputs, outs):
            names[id(t)] = name
    return [names[id(t)] for t in model.outputs]


def _elem_type(onnx, dtype) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _value_info(onnx, name: str, dtype, shape, batch: str = "batch"):
    dims = []
    for k, d in enumerate(shape):
        if d is None:
            dims.append(batch if k == 0 else f"{name}_dim{k}")
        else:
            dims.append(int(d))
    return onnx.helper.make_tensor_value_info(name, _elem_type(onnx, dtype), dims)


def to_onnx(model: Model, opset: int | None = None):
    """The ``onnx.ModelProto`` of ``model`` (see the module docstring)."""
    onnx = require_onnx()
    if not isinstance(model, Model):
        raise OnnxError(f"save() takes a haibal-py model (Model or Sequential), got {type(model).__name__}")
    top = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if not MIN_EXPORT_OPSET <= opset <= top:
        raise OnnxError(f"opset must be between {MIN_EXPORT_OPSET} and {top} (the installed onnx's newest), "
                        f"got {opset}")
    if getattr(model, "_graph", None) is None:
        raise OnnxError(f"{model.name}: the model is not built yet (give it an input shape or call it once)")
    missing = _unsupported(model)
    if missing:
        listed = ", ".join(f"{k} x{v}" for k, v in sorted(missing.items()))
        raise UnsupportedOnnxError(f"{model.name}: these layers cannot be exported to ONNX: {listed}", missing)
    g = GraphBuilder(onnx, opset, model.dtype)
    g.export_call = export_call
    inputs = []
    for t in model.inputs:
        g.reserve(t.name)
        inputs.append(_value_info(onnx, t.name, t.dtype, t.shape))
    out_names = []
    for t in model.outputs:
        final = t.name
        while final in out_names or final in {i.name for i in inputs}:
            final = f"{final}_output"
        g.reserve(final)
        out_names.append(final)
    outs = _export_model(g, model, [t.name for t in model.inputs])
    outputs = []
    for t, name, final in zip(model.outputs, outs, out_names):
        g.nodes.append(onnx.helper.make_node("Identity", [name], [final], name=g.name(f"{final}_identity")))
        outputs.append(_value_info(onnx, final, t.dtype if np.dtype(t.dtype).kind == "f" else model.dtype, t.shape))
    g.simplify(set(out_names))
    graph = onnx.helper.make_graph(g.nodes, model.name, inputs, outputs, g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="haibal-py",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    proto.ir_version = min(proto.ir_version, _max_ir(onnx, opset))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as exc:  # the checker's ValidationError and shape inference errors
        raise OnnxError(f"{model.name}: the exported graph does not pass the ONNX checker: {exc}") from None
    return proto


def _max_ir(onnx, opset: int) -> int:
    """The IR version of the release that brought ``opset`` (what runtimes of that time read)."""
    table = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10}
    return table.get(opset, onnx.IR_VERSION)


def save(model: Model, path, opset: int | None = None) -> Path:
    """Write ``model`` to ``path`` as ONNX (opset 17 unless ``opset`` is given); returns the path."""
    proto = to_onnx(model, opset)
    path = Path(path)
    write_bytes_atomic(path, proto.SerializeToString())
    return path
