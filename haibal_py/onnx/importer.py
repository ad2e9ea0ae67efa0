"""``load(path) -> Model``: an ONNX model as a functional model of the project's layers.

Three passes, so a model never half-loads:

1. **Check**: every node's operator (and the operator forms that are refused, such as an
   LSTM with peepholes) is looked up first; an ``UnsupportedOnnxError`` lists every
   unsupported one with its count before anything is built.
2. **Trace**: the nodes are converted in order (``import_ops``). Values known at import
   time are folded (ONNX's reference evaluator), shape computations are followed
   symbolically (``values``), and each run-time operator becomes one or more layer calls,
   recorded as ``Step`` s and traced on symbolic tensors to know every shape.
3. **Build**: a few rewrites make the model read like a Keras one (a MatMul followed by
   an Add of a bias is one Dense; an activation after a Dense or a convolution becomes its
   ``activation``), names are settled (the model's inputs and outputs keep the ONNX
   names), and the layers are made, called and given the ONNX weights.

Layouts: the model's inputs and outputs are exactly the ONNX graph's (a PyTorch export
takes NCHW). Channels-first operators run on the project's channels-last layers; the
transposes between them are views (``values.Tensor``) that only materialize where the
graph needs the ONNX layout (a Flatten, a Reshape, an output).
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HaibalError
from ..numeric.keras_api import snake_case
from ..numeric.layers import Flatten, Input, LayerError, Permute, Reshape
from ..numeric.layers.onnx_shape import OnnxReshape, OnnxTranspose
from ..numeric.layers.symbolic import SymbolicTensor
from ..numeric.models import Model
from .errors import OnnxError, UnsupportedOnnxError, require_onnx
from .import_build import build_model
from .import_ops import CHECKS, OPS, SYMBOLIC, convert_node
from .values import Const, Fill, ShapeVec, Sym, Tensor, identity_axes, same_dim, view_plan

__all__ = ["load", "load_model", "Importer", "Step"]

#: opsets this importer understands (older graphs use operator forms it does not read)
MIN_OPSET = 9


@dataclass
class Step:
    """One layer call of the imported model (made again, for real, in the build pass)."""

    cls: type
    config: dict
    inputs: list            # phase-1 SymbolicTensors (or one)
    outputs: list           # phase-1 SymbolicTensors
    weights: Any = None     # {weight name: array} or a list in the layer's weight order
    single_input: bool = True
    removed: bool = False
    origin: str = ""        # the ONNX node it comes from


@dataclass
class _Node:
    """An ONNX node, read once: operator, inputs, outputs, attributes, name."""

    op: str
    inputs: list
    outputs: list
    attrs: dict
    name: str
    domain: str = ""
    proto: Any = None

    def attr(self, key, default=None):
        return self.attrs.get(key, default)


def element_dtype(onnx, elem_type: int, what: str) -> np.dtype:
    """The NumPy dtype of an ONNX element type, or an OnnxError naming ``what`` (a file may
    say any number)."""
    try:
        if elem_type == onnx.TensorProto.UNDEFINED:
            raise KeyError(elem_type)
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        raise OnnxError(f"{what} has an unknown element type ({elem_type})") from None


def tensor_array(onnx, tensor, what: str) -> np.ndarray:
    """A TensorProto's values, or an OnnxError naming ``what`` when its data does not match
    its declared dims and element type (the file says both; neither is trusted)."""
    element_dtype(onnx, tensor.data_type, what)
    try:
        return onnx.numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise OnnxError(f"{what}: its data does not match its dims {_fmt(tensor.dims)} "
                        f"({type(exc).__name__}: {exc})") from None


def _read_attrs(onnx, node) -> dict:
    out = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode("utf-8") for v in value]
        elif a.type == onnx.AttributeProto.TENSOR:
            value = tensor_array(onnx, value, f"node {node.name or node.op_type!r} ({node.op_type}): attribute {a.name!r}")
        out[a.name] = value
    return out


_ZERO_INIT = "zeros"


def _quiet(config):
    """``config`` with every initializer replaced by zeros (the trace pass builds layers
    only to know their shapes: drawing random weights would be wasted)."""
    if isinstance(config, dict):
        return {k: (_ZERO_INIT if k.endswith("_initializer") and v is not None else _quiet(v))
                for k, v in config.items()}
    if isinstance(config, list):
        return [_quiet(v) for v in config]
    return config


def _clean_name(raw: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.:\-]+", "_", raw).strip("_")
    return name


class Importer:
    """Converts one ONNX ``ModelProto`` (see the module docstring)."""

    def __init__(self, model_proto, name: str | None = None):
        self.onnx = require_onnx()
        self.proto = model_proto
        self.graph = model_proto.graph
        self.opset = 0
        for imp in model_proto.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = imp.version
        if self.opset < MIN_OPSET:
            raise OnnxError(f"ONNX opset {self.opset} is too old: haibal-py imports opset {MIN_OPSET} and newer "
                            f"(convert the model with onnx.version_converter first)")
        self.name = _clean_name(name or self.graph.name or "onnx_model") or "onnx_model"
        self.values: dict[str, Any] = {}
        self.steps: list[Step] = []
        self.float_dtype = "float32"
        self._names: set[str] = set()
        self._counters: Counter = Counter()
        self.nodes = [_Node(n.op_type, list(n.input), list(n.output), _read_attrs(self.onnx, n), n.name, n.domain, n)
                      for n in self.graph.node]
        self.consumers: Counter = Counter()
        for n in self.nodes:
            for i in n.inputs:
                if i:
                    self.consumers[i] += 1
        self.graph_outputs = [o.name for o in self.graph.output]
        for o in self.graph_outputs:
            self.consumers[o] += 1
        self._symbols: dict[str, Sym] = {}
        self.input_tensors: list[SymbolicTensor] = []
        self.input_names: list[str] = []

    # ------------------------------------------------------------------ names
    def unique_name(self, base: str) -> str:
        base = _clean_name(base) or "layer"
        name, k = base, 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def helper_name(self, kind: str, origin: str = "") -> str:
        stem = _clean_name(origin)
        return self.unique_name(f"{stem}_{kind}" if stem else kind)

    # ------------------------------------------------------------------ checking
    @contextmanager
    def _blame(self, n):
        """Errors of a malformed node (a missing input or attribute, an attribute of the wrong
        kind or size ...) as an OnnxError naming the node; haibal-py's own errors pass."""
        try:
            yield
        except HaibalError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
            raise OnnxError(f"{self.name}: node {n.name or n.op!r} ({n.op}) is malformed or not importable: "
                            f"{type(exc).__name__}: {exc}") from exc

    def check(self) -> None:
        problems: Counter = Counter()
        known = {i.name for i in self.graph.initializer}
        for n in self.nodes:
            if n.domain not in ("", "ai.onnx"):
                problems[f"{n.domain}.{n.op}"] += 1
                continue
            if n.op == "Constant" or (n.inputs and all(not i or i in known for i in n.inputs)):
                known.update(n.outputs)  # folded when the model is imported
                continue
            if n.op not in OPS and n.op not in SYMBOLIC:
                problems[n.op] += 1
                continue
            check = CHECKS.get(n.op)
            with self._blame(n):
                reason = check(n, self) if check is not None else None
            if reason:
                problems[f"{n.op} ({reason})"] += 1
        for inp in self.graph.input:
            kind = inp.type.WhichOneof("value")
            if kind != "tensor_type":
                problems[f"graph input {inp.name!r} of type {kind}"] += 1
        if problems:
            listed = ", ".join(f"{op} x{count}" for op, count in sorted(problems.items()))
            raise UnsupportedOnnxError(f"{self.name}: the model uses {sum(problems.values())} node(s) haibal-py "
                                       f"cannot import: {listed}", dict(problems))

    # ------------------------------------------------------------------ values
    def const(self, name: str):
        """The constant value of input ``name`` (None for an absent optional input), or an
        OnnxError when it is computed at run time."""
        if not name:
            return None
        v = self.values[name]
        if isinstance(v, Const):
            return v.value
        if isinstance(v, ShapeVec) and v.known:
            return v.as_array()
        raise OnnxError(f"{self.name}: {name!r} must be known when the model is imported (a constant), "
                        f"but it is computed at run time")

    def is_const(self, name: str) -> bool:
        v = self.values.get(name)
        return isinstance(v, Const) or (isinstance(v, ShapeVec) and v.known)

    def tensor(self, name: str) -> Tensor:
        v = self.values[name]
        if not isinstance(v, Tensor):
            raise OnnxError(f"{self.name}: {name!r} is expected to be computed at run time here")
        return v

    def symbol(self, key: str) -> Sym:
        if key not in self._symbols:
            self._symbols[key] = Sym(key)
        return self._symbols[key]

    # ------------------------------------------------------------------ layers
    def emit(self, cls, config: dict, inputs, weights=None, name: str | None = None, origin: str = "",
             dims=None, integer: bool = False, helper: bool = False):
        """Record one layer call on physical ``inputs`` (a SymbolicTensor or a list) and
        return its physical output tensor(s) as ``Tensor`` s with identity views.

        ``dims``: the physical sizes of the output (else: the traced shape, the batch
        symbol of the first input on axis 0, new symbols elsewhere). The layer is named after
        the ONNX node (``origin``); a ``helper`` layer (a layout change, a padding) or a second
        layer of the node gets a suffix."""
        config = dict(config)
        if name is None:
            stem = _clean_name(origin)
            name = self.unique_name(stem) if stem and not helper and stem not in self._names else \
                self.helper_name(snake_case(cls.__name__), origin)
        config["name"] = name
        if "dtype" not in config:
            config["dtype"] = self.float_dtype
        single = isinstance(inputs, SymbolicTensor)
        try:
            layer = cls.from_config(_quiet(config))
            out = layer(inputs if single else list(inputs))
        except LayerError as exc:
            raise OnnxError(f"{self.name}: node {origin or '?'}: {exc}") from None
        outs = out if isinstance(out, list) else [out]
        self.steps.append(Step(cls, config, inputs if single else list(inputs), outs, weights, single, origin=origin))
        ins = [inputs] if single else list(inputs)
        result = []
        for k, o in enumerate(outs):
            d = dims[k] if dims is not None and isinstance(dims, list) else dims
            result.append(self.register(Tensor(o, identity_axes(len(o.shape)), self._dims(o, ins, d), integer)))
        return result if isinstance(out, list) else result[0]

    def _dims(self, out: SymbolicTensor, ins: list, dims) -> tuple:
        if dims is not None:
            return tuple(dims)
        first = self._phys_dims.get(id(ins[0])) if ins else None
        res = []
        for i, d in enumerate(out.shape):
            if d is not None:
                res.append(int(d))
            elif i == 0 and first and isinstance(first[0], Sym):
                res.append(first[0])
            else:
                res.append(Sym())
        return tuple(res)

    @property
    def _phys_dims(self) -> dict:
        if not hasattr(self, "_phys_cache"):
            self._phys_cache = {}
        return self._phys_cache

    def register(self, t: Tensor) -> Tensor:
        self._phys_dims[id(t.sym)] = t.phys_dims
        return t

    def set(self, name: str, value) -> None:
        if isinstance(value, Tensor):
            self.register(value)
        self.values[name] = value

    # ------------------------------------------------------------------ layouts
    def layout(self, t: Tensor, wanted: tuple | None = None, origin: str = "") -> SymbolicTensor:
        """A physical tensor ``p`` with ``t == view(p, wanted)`` (the ONNX layout itself by
        default), adding a transpose and/or a reshape when the view needs them."""
        plan = view_plan(t, wanted)
        sym = t.sym
        dims = t.phys_dims
        if plan.perm is not None:
            perm = plan.perm
            if perm[0] == 0:
                out = self.emit(Permute, {"dims": [p for p in perm[1:]]}, sym, origin=origin,
                                dims=plan.dims_after_perm, helper=True)
            else:
                out = self.emit(OnnxTranspose, {"perm": list(perm)}, sym, origin=origin, dims=plan.dims_after_perm,
                                helper=True)
            sym, dims = out.sym, out.phys_dims
            self.register(out)
        if plan.dims is not None:
            out = self.reshape(sym, dims, plan.dims, origin, helper=True)
            sym = out.sym
        return sym

    def reshape(self, sym, src: tuple, target: tuple, origin: str = "", helper: bool = False) -> Tensor:
        """A layer reshaping ``sym`` (sizes ``src``) to sizes ``target`` (ints or Syms):
        Keras' Flatten or Reshape when the batch axis stays first, else OnnxReshape."""
        unknown = [i for i, d in enumerate(target) if isinstance(d, Sym)]
        if src and target and same_dim(src[0], target[0]):
            rest = [i for i in unknown if i != 0]
            if len(rest) <= 1:
                if len(target) == 2 and len(src) > 2:
                    out = self.emit(Flatten, {}, sym, origin=origin, dims=target, helper=helper)
                else:
                    shape = [-1 if i in rest else int(d) for i, d in enumerate(target) if i > 0]
                    out = self.emit(Reshape, {"target_shape": shape}, sym, origin=origin, dims=target, helper=helper)
                return self.register(out)
        spec = []
        free = 0
        for i, d in enumerate(target):
            if isinstance(d, int):
                spec.append(d)
            elif i < len(src) and same_dim(src[i], d):
                spec.append(0)
            else:
                spec.append(-1)
                free += 1
        if free > 1:
            raise OnnxError(f"{self.name}: node {origin or '?'}: cannot reshape a tensor of sizes {_fmt(src)} to "
                            f"{_fmt(target)}: more than one size is unknown when the model is imported")
        if any(d == 0 for d in spec) and any(isinstance(d, int) and d == 0 for d in target):
            raise OnnxError(f"{self.name}: node {origin or '?'}: reshape to a shape holding a size 0 is not supported")
        out = self.emit(OnnxReshape, {"shape": spec}, sym, origin=origin, dims=target, helper=helper)
        return self.register(out)

    # ------------------------------------------------------------------ driver
    def _inputs(self) -> None:
        onnx = self.onnx
        inits = {i.name for i in self.graph.initializer}
        float_types = []
        for inp in self.graph.input:
            if inp.name in inits:
                continue
            elem = inp.type.tensor_type.elem_type
            float_types.append(element_dtype(onnx, elem, f"{self.name}: graph input {inp.name!r}"))
        floats = [d for d in float_types if d.kind == "f"]
        if any(d == np.float64 for d in floats):
            self.float_dtype = "float64"
        for init in self.graph.initializer:
            self.values[init.name] = Const(tensor_array(onnx, init, f"{self.name}: initializer {init.name!r}"),
                                           trainable=True)
        for inp in self.graph.input:
            if inp.name in inits:
                continue
            tt = inp.type.tensor_type
            np_dtype = element_dtype(onnx, tt.elem_type, f"{self.name}: graph input {inp.name!r}")
            dims = []
            for k, d in enumerate(tt.shape.dim):
                if d.HasField("dim_value"):
                    dims.append(int(d.dim_value))
                else:
                    dims.append(self.symbol(d.dim_param) if d.dim_param else Sym(f"{inp.name}_dim{k}"))
            if np_dtype.kind == "b":
                raise UnsupportedOnnxError(f"{self.name}: boolean model inputs are not supported ({inp.name!r})",
                                           {f"boolean input {inp.name}": 1})
            dtype = self.float_dtype if np_dtype.kind == "f" else np.dtype(np_dtype).name
            name = self.unique_name(inp.name)
            batch_shape = tuple(None if isinstance(d, Sym) else d for d in dims)
            sym = Input(batch_shape=batch_shape, dtype=dtype, name=name)
            t = Tensor(sym, identity_axes(len(dims)), tuple(dims), integer=np_dtype.kind in "iu")
            self.set(inp.name, t)
            self.input_tensors.append(sym)
            self.input_names.append(name)

    def trace(self) -> None:
        self._inputs()
        for n in self.nodes:
            with self._blame(n):
                convert_node(self, n)
        for o in self.graph_outputs:
            if o not in self.values:
                raise OnnxError(f"{self.name}: graph output {o!r} is never computed")

    def build(self) -> Model:
        return build_model(self)


def _fmt(dims) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ")"


def load_model(model_proto, name: str | None = None) -> Model:
    """An ``onnx.ModelProto`` as a haibal-py model (see ``load``)."""
    imp = Importer(model_proto, name)
    imp.check()
    imp.trace()
    return imp.build()


def load(path, name: str | None = None) -> Model:
    """Read an ONNX file as a functional ``Model`` running on haibal-py's NumPy layers.

    The model takes and returns what the ONNX graph declares (names, shapes, layouts:
    NCHW stays NCHW); ``predict`` runs it, ``fit`` fine-tunes it (initializers feeding
    arithmetic become trainable weights). Unsupported operators are listed, with their
    counts, in an ``UnsupportedOnnxError`` before anything is built."""
    onnx = require_onnx()
    path = Path(path)
    try:
        proto = onnx.load(str(path))
    except FileNotFoundError:
        raise OnnxError(f"no ONNX file at {path}") from None
    except Exception as exc:  # protobuf's DecodeError and friends
        raise OnnxError(f"{path} is not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    return load_model(proto, name or path.stem.replace(".", "_"))
