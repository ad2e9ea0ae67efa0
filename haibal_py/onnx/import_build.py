"""The build pass of the importer: rewrites that make the traced steps read like a Keras
model, the names of the outputs, then the real layers, called and given their weights.

Rewrites (each only when the first layer's output feeds nothing else):

- an ``OnnxElementwise`` add of a constant that varies along the last axis only, after a
  Dense or a convolution without bias, becomes that layer's ``bias`` (a Keras export of
  ``Dense`` is ``MatMul`` + ``Add``);
- an activation (``Activation``, a plain ``ReLU``, ``Softmax`` on the last axis) after a
  Dense or a convolution with a linear activation becomes its ``activation``.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..numeric import layers as L
from ..numeric.layers.onnx_math import OnnxElementwise
from ..numeric.models import Model
from .errors import OnnxError
from .values import Tensor

__all__ = ["build_model"]

_HAS_BIAS = (L.Dense, L.Conv1D, L.Conv2D, L.Conv3D, L.DepthwiseConv1D, L.DepthwiseConv2D, L.Conv1DTranspose,
             L.Conv2DTranspose, L.Conv3DTranspose)
_FOLDABLE = ("relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu", "softplus", "softsign", "silu",
             "hard_sigmoid", "hard_silu", "mish", "exponential", "log_softmax")


def _units(step) -> int:
    cfg = step.config
    if step.cls is L.Dense:
        return int(cfg["units"])
    if "filters" in cfg:
        return int(cfg["filters"])
    return None  # depthwise: filled from the kernel


def _producers(steps) -> dict:
    out = {}
    for s in steps:
        if not s.removed:
            for o in s.outputs:
                out[id(o)] = s
    return out


def _count_uses(steps, outputs) -> Counter:
    uses: Counter = Counter()
    for s in steps:
        if s.removed:
            continue
        for t in ([s.inputs] if s.single_input else s.inputs):
            uses[id(t)] += 1
    for t in outputs:
        uses[id(t)] += 1
    return uses


def _activation_of(step) -> str | None:
    cfg = step.config
    if step.cls is L.Activation and cfg.get("activation") in _FOLDABLE:
        return cfg["activation"]
    if step.cls is L.ReLU and cfg.get("max_value") is None and not cfg.get("negative_slope") \
            and not cfg.get("threshold"):
        return "relu"
    if step.cls is L.Softmax and cfg.get("axis") == -1:
        return "softmax"
    return None


def _fuse(imp, outputs: list) -> dict:
    """Fold biases and activations into the layer before them; returns the aliases
    (id of a removed step's output -> the tensor replacing it)."""
    alias: dict[int, object] = {}
    steps = imp.steps

    def resolve(t):
        while id(t) in alias:
            t = alias[id(t)]
        return t

    producers = _producers(steps)
    uses = _count_uses(steps, outputs)
    for s in steps:
        if s.removed:
            continue
        if s.single_input:
            s.inputs = resolve(s.inputs)
        else:
            s.inputs = [resolve(t) for t in s.inputs]
        if not s.single_input:
            continue
        p = producers.get(id(s.inputs))
        if p is None or p.cls not in _HAS_BIAS or uses[id(s.inputs)] != 1 or len(p.outputs) != 1:
            continue
        if p.config.get("activation") not in (None, "linear"):
            continue
        if s.cls is OnnxElementwise and s.config["op"] == "add" and not p.config.get("use_bias", True):
            kinds = s.config["operands"]
            if sorted(kinds) not in (["c", "x"], ["w", "x"]):
                continue
            pos = 1 - kinds.index("x")
            const = np.asarray(s.weights[f"operand_{pos}"])
            units = _units(p) or p.outputs[0].shape[-1]
            if const.size != units or (const.ndim and const.shape[-1] != units):
                continue
            p.config["use_bias"] = True
            p.weights = dict(p.weights or {})
            p.weights["bias"] = const.reshape(-1).copy()
        else:
            act = _activation_of(s)
            if act is None:
                continue
            p.config["activation"] = act
        s.removed = True
        alias[id(s.outputs[0])] = p.outputs[0]
        uses[id(p.outputs[0])] = uses.pop(id(s.outputs[0]), 0)
        producers.pop(id(s.outputs[0]), None)
    return alias


def _reachable(steps, outputs) -> set:
    producers = _producers(steps)
    seen: set[int] = set()
    stack = list(outputs)
    keep = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        p = producers.get(id(t))
        if p is None:
            continue
        keep.add(id(p))
        stack.extend([p.inputs] if p.single_input else p.inputs)
    return keep


def _name_outputs(imp, outputs: list) -> list:
    """Give each model output its ONNX name: rename the layer that makes it, or add an
    identity layer (a layer with several outputs, a model input, an output given twice)."""
    producers = _producers(imp.steps)
    by_name = {s.config["name"]: s for s in imp.steps if not s.removed}
    inputs = {id(t) for t in imp.input_tensors}
    result = []
    seen: Counter = Counter(id(t) for t in outputs)
    for onnx_name, t in zip(imp.graph_outputs, outputs):
        want = _clean(onnx_name)
        p = producers.get(id(t))
        if p is not None and len(p.outputs) == 1 and seen[id(t)] == 1 and id(t) not in inputs:
            if p.config["name"] != want:
                other = by_name.get(want)
                if other is not None and other is not p:
                    other.config["name"] = imp.unique_name(want)
                    by_name[other.config["name"]] = other
                elif want in {n for n in imp.input_names}:
                    want = imp.unique_name(want)
                by_name.pop(p.config["name"], None)
                p.config["name"] = want
                by_name[want] = p
            result.append(t)
            continue
        name = want if want not in by_name and want not in imp.input_names else imp.unique_name(want)
        out = imp.emit(L.Activation, {"activation": "linear"}, t, name=name, origin=onnx_name)
        by_name[name] = imp.steps[-1]
        result.append(out.sym)
    return result


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:\-]+", "_", name).strip("_") or "output"


def _set_weights(layer, weights, origin: str) -> None:
    if weights is None:
        return
    specs = layer.weight_specs()
    if isinstance(weights, dict):
        missing = [s.name for s in specs if s.name not in weights]
        extra = sorted(set(weights) - {s.name for s in specs})
        if missing or extra:
            raise OnnxError(f"internal: layer {layer.name} from node {origin!r}: weights {sorted(weights)} do not "
                            f"match the layer's {[s.name for s in specs]}")
        values = [weights[s.name] for s in specs]
    else:
        values = list(weights)
    if len(values) != len(specs):
        raise OnnxError(f"internal: layer {layer.name} from node {origin!r}: {len(values)} weights for "
                        f"{len(specs)}")
    layer.set_weights([np.asarray(v, dtype=s.value.dtype).reshape(s.value.shape) if np.size(v) == s.value.size
                       else np.asarray(v) for v, s in zip(values, specs)])


def build_model(imp) -> Model:
    """The functional model of the traced steps (see the module docstring)."""
    outputs = []
    for name in imp.graph_outputs:
        v = imp.values[name]
        if not isinstance(v, Tensor):
            raise OnnxError(f"{imp.name}: graph output {name!r} does not depend on the model's inputs "
                            f"(a constant output is not supported)")
        outputs.append(imp.layout(v, origin=name))
    alias = _fuse(imp, outputs)

    def resolve(t):
        while id(t) in alias:
            t = alias[id(t)]
        return t

    outputs = [resolve(t) for t in outputs]
    outputs = _name_outputs(imp, outputs)
    keep = _reachable(imp.steps, outputs)
    made: dict[int, object] = {id(t): t for t in imp.input_tensors}
    for s in imp.steps:
        if s.removed or id(s) not in keep:
            continue
        layer = s.cls.from_config(s.config)
        if s.single_input:
            args = made[id(resolve(s.inputs))]
        else:
            args = [made[id(resolve(t))] for t in s.inputs]
        out = layer(args)
        outs = out if isinstance(out, list) else [out]
        for old, new in zip(s.outputs, outs):
            made[id(old)] = new
        _set_weights(layer, s.weights, s.origin)
    final = [made[id(t)] for t in outputs]
    ins = imp.input_tensors
    return Model(ins[0] if len(ins) == 1 else list(ins), final[0] if len(final) == 1 else final, name=imp.name)
