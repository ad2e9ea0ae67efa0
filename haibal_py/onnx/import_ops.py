"""ONNX operators -> layer calls, for ``importer.Importer`` (see its docstring).

``OPS[op](imp, node)`` converts one node whose inputs include a run-time tensor;
``CHECKS[op](node, imp)`` returns why a node cannot be imported (None when it can), and
runs before anything is built. Nodes whose inputs are all known are folded with ONNX's
reference evaluator; shape computations (``Shape`` -> ``Gather`` -> ``Concat`` ...) go
through ``SYMBOLIC``.

Mapping onto Keras layers where they correspond: Gemm/MatMul (+Add) -> Dense, Conv ->
Conv1D/2D/3D (DepthwiseConv for depthwise groups), MaxPool/AveragePool ->
MaxPooling/AveragePooling, Global*Pool -> Global*Pooling, BatchNormalization,
LayerNormalization, InstanceNormalization -> GroupNormalization, activations ->
ReLU/LeakyReLU/ELU/PReLU/Softmax/Activation, Flatten/Reshape -> Flatten/Reshape,
Concat -> Concatenate, Add/Sub/Mul/Max/Min/Mean of two computed tensors of one rank ->
the merging layers, Dropout -> Dropout, LSTM/GRU/RNN -> LSTM/GRU/SimpleRNN (and
Bidirectional). The rest goes to the ``Onnx*`` layers of ``numeric.layers``.
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric import layers as L
from ..numeric.layers.onnx_math import OnnxClip, OnnxEinsum, OnnxElementwise, OnnxMatMul, OnnxUnary
from ..numeric.layers.onnx_shape import (OnnxExpand, OnnxGather, OnnxPad, OnnxReduce, OnnxSlice, OnnxTranspose,
                                         negative_slice)
from .errors import OnnxError
from .import_rnn import RNN_CHECKS, RNN_OPS
from .import_util import fail as _fail
from .import_util import opt_input as _opt_input
from .values import Const, Fill, ShapeVec, Sym, Tensor, identity_axes, memory_order_kept, same_dim

__all__ = ["OPS", "CHECKS", "SYMBOLIC", "convert_node", "supported_operators"]

INT64_MAX = 2 ** 63 - 1


def _t(imp, n, k: int = 0) -> Tensor:
    return imp.tensor(n.inputs[k])


def _set_view(imp, n, out: Tensor, axes, phys_dims=None, k: int = 0, integer: bool = False) -> None:
    imp.set(n.outputs[k], Tensor(out.sym, tuple(axes), tuple(phys_dims or out.phys_dims), integer))


def _input_value(imp, name):
    return imp.values.get(name) if name else None


def _float(imp, arr) -> np.ndarray:
    return np.asarray(arr, dtype=imp.float_dtype, order="C")


# ---------------------------------------------------------------------------- elementwise
def _same_shape(imp, n, cls, config, integer=False):
    """An element-wise layer on the physical tensor: the view is kept."""
    t = _t(imp, n)
    out = imp.emit(cls, config, t.sym, origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims, integer=integer)


def _activation(name):
    return lambda imp, n: _same_shape(imp, n, L.Activation, {"activation": name})


def _unary(op):
    return lambda imp, n: _same_shape(imp, n, OnnxUnary, {"op": op})


def _relu(imp, n):
    _same_shape(imp, n, L.ReLU, {})


def _leaky(imp, n):
    _same_shape(imp, n, L.LeakyReLU, {"negative_slope": float(n.attr("alpha", 0.01))})


def _elu(imp, n):
    _same_shape(imp, n, L.ELU, {"alpha": float(n.attr("alpha", 1.0))})


_SELU = (1.67326319217681884765625, 1.05070102214813232421875)


def _selu_check(n, imp):
    a, g = float(n.attr("alpha", _SELU[0])), float(n.attr("gamma", _SELU[1]))
    if abs(a - _SELU[0]) > 1e-6 or abs(g - _SELU[1]) > 1e-6:
        return f"alpha={a}, gamma={g} differ from selu's constants"
    return None


def _hard_sigmoid(imp, n):
    alpha, beta = float(n.attr("alpha", 0.2)), float(n.attr("beta", 0.5))
    if abs(alpha - 1 / 6) < 1e-7 and abs(beta - 0.5) < 1e-7:
        _same_shape(imp, n, L.Activation, {"activation": "hard_sigmoid"})
        return
    t = _t(imp, n)
    a = imp.emit(OnnxElementwise, {"op": "mul", "operands": ["x", "c"], "constant_shapes": {"1": []}}, t.sym,
                 weights={"operand_1": _float(imp, alpha)}, origin=n.name, dims=t.phys_dims)
    b = imp.emit(OnnxElementwise, {"op": "add", "operands": ["x", "c"], "constant_shapes": {"1": []}}, a.sym,
                 weights={"operand_1": _float(imp, beta)}, origin=n.name, dims=t.phys_dims)
    out = imp.emit(OnnxClip, {"min": 0.0, "max": 1.0}, b.sym, origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims)


def _gelu(imp, n):
    if n.attr("approximate", "none") != "none":
        _fail(imp, n, "approximate='tanh' is not supported")
    _same_shape(imp, n, L.Activation, {"activation": "gelu"})


def _softmax_axes(imp, n, t: Tensor):
    axis = n.attr("axis", -1 if imp.opset >= 13 else 1)
    axis = axis % t.rank
    onnx_axes = [axis] if imp.opset >= 13 else list(range(axis, t.rank))
    return onnx_axes


def _softmax(imp, n, log: bool = False):
    t = _t(imp, n)
    onnx_axes = _softmax_axes(imp, n, t)
    if any(t.axes[a] is None for a in onnx_axes):
        t = _materialized(imp, t, n)
    phys = [t.axes[a] for a in onnx_axes]
    last = len(t.phys_dims) - 1
    if log:
        if phys != [last]:
            t = _materialized(imp, t, n)
            if onnx_axes != [t.rank - 1]:
                _fail(imp, n, "LogSoftmax is supported on the last axis only")
        out = imp.emit(L.Activation, {"activation": "log_softmax"}, t.sym, origin=n.name, dims=t.phys_dims)
    else:
        axis = -1 if phys == [last] else (phys[0] if len(phys) == 1 else sorted(phys))
        out = imp.emit(L.Softmax, {"axis": axis}, t.sym, origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims)


def _materialized(imp, t: Tensor, n) -> Tensor:
    """``t`` as a physical tensor in the ONNX layout."""
    if t.is_identity:
        return t
    sym = imp.layout(t, origin=n.name)
    return imp.register(Tensor(sym, identity_axes(t.rank), t.dims, t.integer))


def _prelu(imp, n):
    t = _t(imp, n)
    slope = imp.const(n.inputs[1])
    c = _phys_constant(imp, t, slope)
    if c is None:
        t = _materialized(imp, t, n)
        c = _phys_constant(imp, t, slope)
    full = c.reshape((1,) * (len(t.phys_dims) - c.ndim) + c.shape)
    if full.shape[0] != 1 or len(t.phys_dims) < 2:
        _fail(imp, n, "a slope that varies along the batch axis is not supported")
    shared = [p for p in range(1, len(t.phys_dims)) if full.shape[p] == 1 and t.phys_dims[p] != 1]
    alpha_shape = tuple(1 if p in shared else t.phys_dims[p] for p in range(1, len(t.phys_dims)))
    if any(isinstance(d, Sym) for d in alpha_shape):
        _fail(imp, n, "PReLU needs the sizes of the axes its slope varies along")
    alpha = np.broadcast_to(full[0], alpha_shape).copy()
    out = imp.emit(L.PReLU, {"shared_axes": shared or None}, t.sym, weights={"alpha": _float(imp, alpha)},
                   origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims)


def _clip(imp, n):
    if imp.opset >= 11:
        lo = imp.const(_opt_input(n, 1)) if _opt_input(n, 1) else None
        hi = imp.const(_opt_input(n, 2)) if _opt_input(n, 2) else None
    else:
        lo, hi = n.attr("min"), n.attr("max")
    lo = None if lo is None else float(np.asarray(lo))
    hi = None if hi is None else float(np.asarray(hi))
    if lo is not None and lo == 0.0 and (hi is None or hi > 0):
        _same_shape(imp, n, L.ReLU, {"max_value": hi})
    else:
        _same_shape(imp, n, OnnxClip, {"min": lo, "max": hi})


def _dropout(imp, n):
    if len(n.outputs) > 1 and n.outputs[1] and imp.consumers[n.outputs[1]]:
        _fail(imp, n, "its mask output is used")
    if imp.opset >= 12:
        ratio = imp.const(_opt_input(n, 1)) if _opt_input(n, 1) else 0.5
    else:
        ratio = n.attr("ratio", 0.5)
    ratio = float(np.asarray(ratio))
    t = _t(imp, n)
    if ratio <= 0.0:
        imp.set(n.outputs[0], t)
        return
    _same_shape(imp, n, L.Dropout, {"rate": ratio})


def _identity(imp, n):
    imp.set(n.outputs[0], _t(imp, n))


def _cast(imp, n):
    t = _t(imp, n)
    to = imp.onnx.helper.tensor_dtype_to_np_dtype(n.attr("to"))
    if to.kind == "f":
        imp.set(n.outputs[0], Tensor(t.sym, t.axes, t.phys_dims, False))
    elif to.kind == "b" or t.integer:
        imp.set(n.outputs[0], t)  # comparisons already give 0/1; integers stay integers
    else:
        _same_shape(imp, n, OnnxUnary, {"op": "trunc"}, integer=True)


# ---------------------------------------------------------------------------- binary ops
_KERAS_MERGE = {"add": L.Add, "sub": L.Subtract, "mul": L.Multiply, "max": L.Maximum, "min": L.Minimum,
                "sum": L.Add, "mean": L.Average}
_NO_GRAD = ("equal", "less", "less_or_equal", "greater", "greater_or_equal", "and", "or", "xor")


def _phys_constant(imp, t: Tensor, c: np.ndarray) -> np.ndarray | None:
    """Constant ``c`` (broadcast against the ONNX tensor ``t``) laid out for ``t``'s
    physical tensor, with leading axes of size 1 dropped; None when the view cannot take
    it (``c`` has more axes, or varies along an inserted axis)."""
    c = np.asarray(c)
    if c.ndim > t.rank:
        return None
    full = c.reshape((1,) * (t.rank - c.ndim) + c.shape)
    if any(a is None and full.shape[i] != 1 for i, a in enumerate(t.axes)):
        return None
    keep = [i for i, a in enumerate(t.axes) if a is not None]
    sq = full.reshape(tuple(full.shape[i] for i in keep))
    positions = [t.axes[i] for i in keep]
    order = np.argsort(positions)
    sq = sq.transpose(order) if sq.ndim else sq
    placed = sorted(positions)
    phys_rank = len(t.phys_dims)
    shape = [1] * phys_rank
    for p, size in zip(placed, sq.shape):
        shape[p] = size
    out = sq.reshape(shape)
    while out.ndim and out.shape[0] == 1:
        out = out.reshape(out.shape[1:])
    return out


def _broadcast_dims(a: tuple, b: tuple) -> tuple:
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if same_dim(x, y) or (isinstance(y, int) and y == 1):
            out.append(x)
        elif isinstance(x, int) and x == 1:
            out.append(y)
        elif isinstance(x, int):
            out.append(x)
        else:
            out.append(y)
    return tuple(out)


def _fill_is_neutral(op: str, value: float, position: int) -> bool:
    if op in ("add", "sum") or (op == "sub" and position == 1):
        return value == 0.0
    if op == "mul" or (op == "div" and position == 1):
        return value == 1.0
    return False


def _elementwise(op):
    def convert(imp, n):
        vals = [_input_value(imp, i) for i in n.inputs if i]
        tensors = [k for k, v in enumerate(vals) if isinstance(v, Tensor)]
        if len(vals) == 1:
            imp.set(n.outputs[0], vals[0])
            return
        if len(tensors) == len(vals):
            _elementwise_tensors(imp, n, op, vals)
            return
        if len(vals) == 2 and len(tensors) == 1:
            k = tensors[0]
            t, other = vals[k], vals[1 - k]
            if isinstance(other, Fill):
                if _fill_is_neutral(op, other.value, 1 - k) and len(other.dims) <= t.rank:
                    imp.set(n.outputs[0], t)
                    return
                _fail(imp, n, "an operand made by ConstantOfShape of a run-time shape is not supported here")
            const = imp.const(n.inputs[1 - k])
            trainable = isinstance(other, Const) and other.trainable and op not in _NO_GRAD
            c = _phys_constant(imp, t, const)
            if c is None:
                t = _materialized(imp, t, n)
                c = np.asarray(const)
            kinds = ["x", "w" if trainable else "c"]
            if k == 1:
                kinds.reverse()
            pos = str(1 - k)
            out = imp.emit(OnnxElementwise, {"op": op, "operands": kinds, "constant_shapes": {pos: list(c.shape)}},
                           t.sym, weights={f"operand_{pos}": _float(imp, c)}, origin=n.name,
                           dims=_broadcast_dims(t.phys_dims, c.shape))
            axes = t.axes if len(out.phys_dims) == len(t.phys_dims) else None
            if axes is None:  # the constant added axes in front: the ONNX layout, grown
                imp.set(n.outputs[0], out)
            else:
                _set_view(imp, n, out, axes, out.phys_dims)
            return
        _elementwise_mixed(imp, n, op, vals)
    return convert


def _elementwise_tensors(imp, n, op, ts):
    same = all(t.axes == ts[0].axes and len(t.phys_dims) == len(ts[0].phys_dims) for t in ts)
    if same:
        syms, axes = [t.sym for t in ts], ts[0].axes
        dims = ts[0].phys_dims
        for t in ts[1:]:
            dims = _broadcast_dims(dims, t.phys_dims)
    else:
        mats = [_materialized(imp, t, n) for t in ts]
        syms = [m.sym for m in mats]
        axes = None
        dims = mats[0].phys_dims
        for m in mats[1:]:
            dims = _broadcast_dims(dims, m.phys_dims)
    ranks = {len(s.shape) for s in syms}
    if op in _KERAS_MERGE and len(ranks) == 1 and ranks.pop() >= 2 and (op != "sub" or len(syms) == 2):
        out = imp.emit(_KERAS_MERGE[op], {}, syms, origin=n.name, dims=dims)
    else:
        out = imp.emit(OnnxElementwise, {"op": op, "operands": ["x"] * len(syms), "constant_shapes": {}}, syms,
                       origin=n.name, dims=dims)
    if axes is None or len(out.phys_dims) != len(ts[0].phys_dims):
        imp.set(n.outputs[0], out)
    else:
        _set_view(imp, n, out, axes, out.phys_dims)


def _elementwise_mixed(imp, n, op, vals):
    """Operands mixing computed tensors and constants, in the ONNX layout."""
    kinds, syms, shapes, weights = [], [], {}, {}
    dims = ()
    for k, (name, v) in enumerate(zip([i for i in n.inputs if i], vals)):
        if isinstance(v, Tensor):
            m = _materialized(imp, v, n)
            kinds.append("x")
            syms.append(m.sym)
            dims = _broadcast_dims(dims, m.phys_dims)
        elif isinstance(v, Fill):
            _fail(imp, n, "an operand made by ConstantOfShape of a run-time shape is not supported here")
        else:
            c = np.asarray(imp.const(name))
            trainable = isinstance(v, Const) and v.trainable and op not in _NO_GRAD and op != "where"
            kinds.append("w" if trainable else "c")
            shapes[str(k)] = list(c.shape)
            weights[f"operand_{k}"] = _float(imp, c)
            dims = _broadcast_dims(dims, c.shape)
    out = imp.emit(OnnxElementwise, {"op": op, "operands": kinds, "constant_shapes": shapes},
                   syms[0] if len(syms) == 1 else syms, weights=weights, origin=n.name, dims=dims)
    imp.set(n.outputs[0], out)


def _not(imp, n):
    _same_shape(imp, n, OnnxUnary, {"op": "not"})


# ---------------------------------------------------------------------------- dense
def _dense_input(imp, n, t: Tensor):
    """``t`` as a physical tensor whose last axis is the ONNX last axis and whose view is
    otherwise kept, so a Dense layer on it computes the ONNX product."""
    last = len(t.phys_dims) - 1
    if t.rank >= 2 and t.axes[-1] == last and len(t.phys_dims) >= 2 and t.axes[0] is not None:
        return t
    return _materialized(imp, t, n)


def _emit_dense(imp, n, t: Tensor, kernel: np.ndarray, bias):
    t = _dense_input(imp, n, t)
    if len(t.phys_dims) < 2:
        return None
    units = int(kernel.shape[1])
    weights = {"kernel": _float(imp, kernel)}
    if bias is not None:
        weights["bias"] = _float(imp, bias)
    dims = t.phys_dims[:-1] + (units,)
    out = imp.emit(L.Dense, {"units": units, "use_bias": bias is not None}, t.sym, weights=weights,
                   origin=n.name, dims=dims)
    return Tensor(out.sym, t.axes, dims)


def _gemm(imp, n):
    a = _input_value(imp, n.inputs[0])
    if not isinstance(a, Tensor):
        _fail(imp, n, "a computed right-hand matrix with a constant left-hand one is not supported")
    if not imp.is_const(n.inputs[1]):
        _gemm_general(imp, n)
        return
    alpha, beta = float(n.attr("alpha", 1.0)), float(n.attr("beta", 1.0))
    b = np.asarray(imp.const(n.inputs[1]), dtype=np.float64)
    if n.attr("transB", 0):
        b = b.T
    kernel = b * alpha
    c = imp.const(_opt_input(n, 2)) if _opt_input(n, 2) else None
    bias = None
    extra = None
    if c is not None:
        c = np.asarray(c, dtype=np.float64) * beta
        if c.size == 1 or (c.ndim >= 1 and c.shape[-1] == kernel.shape[1] and c.size == kernel.shape[1]):
            bias = np.broadcast_to(c.reshape(-1), (kernel.shape[1],)).copy()
        else:
            extra = c
    if n.attr("transA", 0):
        t = _materialized(imp, a, n)
        tt = imp.emit(OnnxTranspose, {"perm": [1, 0]}, t.sym, origin=n.name,
                      dims=(t.phys_dims[1], t.phys_dims[0]))
        a = imp.register(tt)
    if a.rank != 2:
        _fail(imp, n, f"Gemm takes matrices, got a rank-{a.rank} input")
    out = _emit_dense(imp, n, a, kernel, bias)
    if extra is not None:
        base = _materialized(imp, out, n)
        out = imp.emit(OnnxElementwise, {"op": "add", "operands": ["x", "w"],
                                         "constant_shapes": {"1": list(extra.shape)}},
                       base.sym, weights={"operand_1": _float(imp, extra)}, origin=n.name, dims=base.phys_dims)
    imp.set(n.outputs[0], imp.register(out))


def _gemm_general(imp, n):
    a = _materialized(imp, _t(imp, n, 0), n)
    b = _materialized(imp, _t(imp, n, 1), n)
    if n.attr("transA", 0):
        a = imp.register(imp.emit(OnnxTranspose, {"perm": [1, 0]}, a.sym, origin=n.name,
                                  dims=a.phys_dims[::-1]))
    if n.attr("transB", 0):
        b = imp.register(imp.emit(OnnxTranspose, {"perm": [1, 0]}, b.sym, origin=n.name,
                                  dims=b.phys_dims[::-1]))
    out = imp.emit(OnnxMatMul, {"operands": ["x", "x"], "constant_shapes": {}}, [a.sym, b.sym], origin=n.name,
                   dims=(a.phys_dims[0], b.phys_dims[1]))
    alpha, beta = float(n.attr("alpha", 1.0)), float(n.attr("beta", 1.0))
    if alpha != 1.0:
        out = imp.register(imp.emit(OnnxElementwise, {"op": "mul", "operands": ["x", "c"],
                                                      "constant_shapes": {"1": []}},
                                    out.sym, weights={"operand_1": _float(imp, alpha)}, origin=n.name,
                                    dims=out.phys_dims))
    if _opt_input(n, 2):
        c = np.asarray(imp.const(n.inputs[2])) * beta
        out = imp.register(imp.emit(OnnxElementwise, {"op": "add", "operands": ["x", "w"],
                                                      "constant_shapes": {"1": list(c.shape)}},
                                    out.sym, weights={"operand_1": _float(imp, c)}, origin=n.name,
                                    dims=out.phys_dims))
    imp.set(n.outputs[0], out)


def _matmul(imp, n):
    a, b = (_input_value(imp, i) for i in n.inputs[:2])
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        w = np.asarray(imp.const(n.inputs[1]))
        if w.ndim == 2 and a.rank >= 2:
            out = _emit_dense(imp, n, a, w, None)
            if out is not None:
                imp.set(n.outputs[0], imp.register(out))
                return
    kinds, syms, shapes, weights, dims = [], [], {}, {}, []
    for k, (name, v) in enumerate(zip(n.inputs[:2], (a, b))):
        if isinstance(v, Tensor):
            m = _materialized(imp, v, n)
            kinds.append("x")
            syms.append(m.sym)
            dims.append(m.phys_dims)
        else:
            c = np.asarray(imp.const(name))
            kinds.append("w" if isinstance(v, Const) and v.trainable else "c")
            shapes[str(k)] = list(c.shape)
            weights[f"operand_{k}"] = _float(imp, c)
            dims.append(tuple(c.shape))
    da, db = dims
    lead = _broadcast_dims(da[:-2], db[:-2]) if len(da) > 2 or len(db) > 2 else ()
    out_dims = lead + ((da[-2],) if len(da) >= 2 else ()) + ((db[-1],) if len(db) >= 2 else ())
    out = imp.emit(OnnxMatMul, {"operands": kinds, "constant_shapes": shapes}, syms[0] if len(syms) == 1 else syms,
                   weights=weights, origin=n.name, dims=out_dims)
    imp.set(n.outputs[0], out)


def _einsum(imp, n):
    eq = n.attr("equation")
    kinds, syms, shapes, weights, dims = [], [], {}, {}, {}
    vals = [_input_value(imp, i) for i in n.inputs]
    subs = eq.replace(" ", "").split("->")[0].split(",") if "->" in eq else []
    for k, (name, v) in enumerate(zip(n.inputs, vals)):
        if isinstance(v, Tensor):
            m = _materialized(imp, v, n)
            kinds.append("x")
            syms.append(m.sym)
            arr_dims = m.phys_dims
        else:
            c = np.asarray(imp.const(name))
            kinds.append("w" if isinstance(v, Const) and v.trainable else "c")
            shapes[str(k)] = list(c.shape)
            weights[f"operand_{k}"] = _float(imp, c)
            arr_dims = c.shape
        if k < len(subs):
            for letter, d in zip(subs[k], arr_dims):
                if letter not in dims or (isinstance(dims[letter], int) and dims[letter] == 1):
                    dims[letter] = d
    out_sub = eq.replace(" ", "").split("->")[1] if "->" in eq else ""
    out = imp.emit(OnnxEinsum, {"equation": eq, "operands": kinds, "constant_shapes": shapes},
                   syms[0] if len(syms) == 1 else syms, weights=weights, origin=n.name,
                   dims=tuple(dims.get(c, Sym()) for c in out_sub) or None)
    imp.set(n.outputs[0], out)


def _einsum_check(n, imp):
    eq = (n.attr("equation") or "").replace(" ", "")
    if "..." in eq or "->" not in eq:
        return "implicit or '...' equations"
    return None


# ---------------------------------------------------------------------------- convolution and pooling
def _channels_last(rank: int) -> tuple:
    """The view of an ONNX (N, C, *spatial) tensor held as (N, *spatial, C)."""
    return (0, rank - 1) + tuple(range(1, rank - 1))


def _same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding (the odd pixel after), as Keras computes it."""
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _explicit_pads(n, sizes, kernel, strides, dilations):
    """The (begin, end) pads of each spatial axis, from ``pads`` or ``auto_pad``; None when
    an unknown size makes SAME padding unknown."""
    k = len(kernel)
    auto = n.attr("auto_pad", "NOTSET")
    if isinstance(auto, bytes):
        auto = auto.decode()
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if any(not isinstance(s, int) for s in sizes):
            return "same" if auto == "SAME_UPPER" else None
        pairs = [_same_pads(s, kk, st, d) for s, kk, st, d in zip(sizes, kernel, strides, dilations)]
        if auto == "SAME_LOWER":
            pairs = [(e, b) for b, e in pairs]
        return pairs
    if auto == "VALID":
        return [(0, 0)] * k
    pads = list(n.attr("pads", [0] * (2 * k)))
    return list(zip(pads[:k], pads[k:]))


def _padding_mode(pairs, sizes, kernel, strides, dilations):
    """'valid', 'same' or None (explicit padding needed) for these pads."""
    if pairs == "same":
        return "same"
    if all(b == 0 and e == 0 for b, e in pairs):
        return "valid"
    if all(isinstance(s, int) for s in sizes) and all(
            (b, e) == _same_pads(s, k, st, d) for (b, e), s, k, st, d in zip(pairs, sizes, kernel, strides, dilations)):
        return "same"
    return None


def _pad_layer(imp, n, t: Tensor, pairs, value: float = 0.0) -> Tensor:
    """Explicit spatial padding of a channels-last physical tensor (Keras' ZeroPadding for
    zeros, OnnxPad for another value)."""
    k = len(pairs)
    dims = (t.phys_dims[0],) + tuple(d + b + e if isinstance(d, int) else Sym() for d, (b, e)
                                     in zip(t.phys_dims[1:-1], pairs)) + (t.phys_dims[-1],)
    if value == 0.0 and k in (1, 2, 3):
        cls = {1: L.ZeroPadding1D, 2: L.ZeroPadding2D, 3: L.ZeroPadding3D}[k]
        padding = list(pairs[0]) if k == 1 else [list(p) for p in pairs]
        out = imp.emit(cls, {"padding": padding}, t.sym, origin=n.name, dims=dims, helper=True)
    else:
        begins = [0] + [b for b, _ in pairs] + [0]
        ends = [0] + [e for _, e in pairs] + [0]
        out = imp.emit(OnnxPad, {"pads": begins + ends, "mode": "constant", "value": value}, t.sym,
                       origin=n.name, dims=dims, helper=True)
    return imp.register(out)


def _conv_check(n, imp):
    k = len(n.attr("kernel_shape", [])) or None
    strides = n.attr("strides")
    dil = n.attr("dilations")
    if strides and dil and max(strides) > 1 and max(dil) > 1:
        return "strides > 1 with dilations > 1"
    if k is not None and k not in (1, 2, 3):
        return f"{k}-D"
    return None


def _conv_operands(imp, n, what: str):
    """(input, kernel, bias or None, spatial rank, kernel size, strides) of a Conv or ConvTranspose."""
    t = _t(imp, n)
    w = np.asarray(imp.const(n.inputs[1]))
    bias = imp.const(_opt_input(n, 2)) if _opt_input(n, 2) else None
    k = w.ndim - 2
    if k not in (1, 2, 3) or t.rank != k + 2:
        _fail(imp, n, f"a {k}-D {what} of a rank-{t.rank} input is not supported")
    kernel = tuple(int(v) for v in (n.attr("kernel_shape") or w.shape[2:]))
    strides = tuple(n.attr("strides") or [1] * k)
    return t, w, bias, k, kernel, strides


def _conv(imp, n):
    t, w, bias, k, kernel, strides = _conv_operands(imp, n, "convolution")
    dil = tuple(n.attr("dilations") or [1] * k)
    group = int(n.attr("group", 1))
    x = imp.layout(t, _channels_last(t.rank), origin=n.name)
    xt = Tensor(x, (), imp._phys_dims.get(id(x)) or _cl_dims(t))
    sizes = xt.phys_dims[1:-1]
    pairs = _explicit_pads(n, sizes, kernel, strides, dil)
    if pairs is None:
        _fail(imp, n, "auto_pad SAME_LOWER needs known spatial sizes")
    mode = _padding_mode(pairs, sizes, kernel, strides, dil)
    if mode is None:
        xt = _pad_layer(imp, n, xt, pairs)
        mode = "valid"
    c_in = xt.phys_dims[-1]
    m = int(w.shape[0])
    config = {"kernel_size": list(kernel), "strides": list(strides), "padding": mode, "dilation_rate": list(dil),
              "use_bias": bias is not None}
    weights = {}
    spatial = tuple(range(2, 2 + k))
    if group > 1 and group == c_in and w.shape[1] == 1 and k in (1, 2):
        mult = m // c_in
        cls = L.DepthwiseConv1D if k == 1 else L.DepthwiseConv2D
        config["depth_multiplier"] = mult
        weights["kernel"] = w.reshape((c_in, mult) + w.shape[2:]).transpose(spatial + (0, 1))
    else:
        cls = {1: L.Conv1D, 2: L.Conv2D, 3: L.Conv3D}[k]
        config.update(filters=m, groups=group)
        weights["kernel"] = w.transpose(spatial + (1, 0))
    if bias is not None:
        weights["bias"] = bias
    weights = {key: _float(imp, v) for key, v in weights.items()}
    out = imp.emit(cls, config, xt.sym, weights=weights, origin=n.name)
    _set_view(imp, n, out, _channels_last(t.rank))


def _cl_dims(t: Tensor) -> tuple:
    d = t.dims
    return (d[0],) + tuple(d[2:]) + (d[1],)


def _conv_transpose_check(n, imp):
    if n.attr("output_shape") is not None:
        return "output_shape"
    if n.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        return f"auto_pad={n.attr('auto_pad')}"
    if int(n.attr("group", 1)) != 1:
        return "group > 1"
    dil = n.attr("dilations")
    if dil and max(dil) > 1:
        return "dilations > 1"
    return None


def _conv_transpose(imp, n):
    t, w, bias, k, kernel, strides = _conv_operands(imp, n, "transposed convolution")
    pads = list(n.attr("pads", [0] * (2 * k)))
    out_pad = list(n.attr("output_padding", [0] * k))
    x = imp.layout(t, _channels_last(t.rank), origin=n.name)
    xt = Tensor(x, (), imp._phys_dims.get(id(x)) or _cl_dims(t))
    cls = {1: L.Conv1DTranspose, 2: L.Conv2DTranspose, 3: L.Conv3DTranspose}[k]
    # valid transposed convolution, output_padding then cropping of the ONNX pads
    config = {"filters": int(w.shape[1]), "kernel_size": list(kernel), "strides": list(strides),
              "padding": "valid", "use_bias": bias is not None}
    if any(out_pad):
        config["output_padding"] = out_pad
    spatial = tuple(range(2, 2 + k))
    weights = {"kernel": _float(imp, w.transpose(spatial + (1, 0)))}
    if bias is not None:
        weights["bias"] = _float(imp, bias)
    out = imp.register(imp.emit(cls, config, xt.sym, weights=weights, origin=n.name))
    if any(pads):
        pairs = list(zip(pads[:k], pads[k:]))
        if any(isinstance(d, Sym) for d in out.phys_dims[1:-1]):
            starts = [b for b, _ in pairs]
            ends = [-e if e else INT64_MAX for _, e in pairs]
        else:
            starts = [b for b, _ in pairs]
            ends = [d - e for d, (_, e) in zip(out.phys_dims[1:-1], pairs)]
        dims = (out.phys_dims[0],) + tuple(
            d - b - e if isinstance(d, int) else Sym() for d, (b, e) in zip(out.phys_dims[1:-1], pairs)
        ) + (out.phys_dims[-1],)
        out = imp.register(imp.emit(OnnxSlice, {"starts": starts, "ends": ends, "axes": list(range(1, k + 1))},
                                    out.sym, origin=n.name, dims=dims))
    _set_view(imp, n, out, _channels_last(t.rank))


def _pool_check(n, imp):
    dil = n.attr("dilations")
    if dil and max(dil) > 1:
        return "dilations > 1"
    if n.attr("storage_order", 0):
        return "storage_order=1"
    if len(n.outputs) > 1 and n.outputs[1] and imp.consumers[n.outputs[1]]:
        return "Indices output"
    k = len(n.attr("kernel_shape", []))
    if k not in (1, 2, 3):
        return f"{k}-D"
    return None


def _pool(kind):
    def convert(imp, n):
        t = _t(imp, n)
        k = t.rank - 2
        kernel = tuple(int(v) for v in n.attr("kernel_shape"))
        strides = tuple(n.attr("strides") or [1] * k)
        ones = (1,) * k
        x = imp.layout(t, _channels_last(t.rank), origin=n.name)
        xt = Tensor(x, (), imp._phys_dims.get(id(x)) or _cl_dims(t))
        sizes = xt.phys_dims[1:-1]
        pairs = _explicit_pads(n, sizes, kernel, strides, ones)
        if pairs is None:
            _fail(imp, n, "auto_pad SAME_LOWER needs known spatial sizes")
        mode = _padding_mode(pairs, sizes, kernel, strides, ones)
        include_pad = kind == "avg" and bool(n.attr("count_include_pad", 0))
        if mode == "same" and include_pad:
            mode = None
            if pairs == "same":
                _fail(imp, n, "count_include_pad with SAME padding needs known spatial sizes")
        if n.attr("ceil_mode", 0):
            pairs = [(0, 0)] * k if pairs == "same" else pairs
            if any(not isinstance(s, int) for s in sizes):
                _fail(imp, n, "ceil_mode=1 needs known spatial sizes")
            grown = []
            for s, kk, st, (b, e) in zip(sizes, kernel, strides, pairs):
                floor_n = (s + b + e - kk) // st + 1
                ceil_n = -(-(s + b + e - kk) // st) + 1
                if (ceil_n - 1) * st >= s + b:  # ONNX drops a last window starting in the end padding
                    ceil_n -= 1
                grown.append((b, e + (ceil_n - floor_n) * st))
            if grown != list(pairs):
                if kind == "avg":
                    _fail(imp, n, "ceil_mode=1 that adds a window is not supported for AveragePool")
                pairs, mode = grown, None
        if mode is None:
            xt = _pad_layer(imp, n, xt, pairs, value=0.0 if kind == "avg" else -np.inf)
            mode = "valid"
        names = {("max", 1): L.MaxPooling1D, ("max", 2): L.MaxPooling2D, ("max", 3): L.MaxPooling3D,
                 ("avg", 1): L.AveragePooling1D, ("avg", 2): L.AveragePooling2D, ("avg", 3): L.AveragePooling3D}
        out = imp.emit(names[(kind, k)], {"pool_size": list(kernel), "strides": list(strides), "padding": mode},
                       xt.sym, origin=n.name)
        _set_view(imp, n, out, _channels_last(t.rank))
    return convert


def _global_pool(kind):
    def convert(imp, n):
        t = _t(imp, n)
        k = t.rank - 2
        if k not in (1, 2, 3):
            _fail(imp, n, f"a rank-{t.rank} input is not supported")
        _global(imp, n, t, kind, k)
    return convert


def _global(imp, n, t: Tensor, kind: str, k: int):
    cls = {("avg", 1): L.GlobalAveragePooling1D, ("avg", 2): L.GlobalAveragePooling2D,
           ("avg", 3): L.GlobalAveragePooling3D, ("max", 1): L.GlobalMaxPooling1D,
           ("max", 2): L.GlobalMaxPooling2D, ("max", 3): L.GlobalMaxPooling3D}[(kind, k)]
    x = imp.layout(t, _channels_last(t.rank), origin=n.name)
    dims = (t.dims[0],) + (1,) * k + (t.dims[1],)
    out = imp.emit(cls, {"keepdims": True}, x, origin=n.name, dims=dims)
    _set_view(imp, n, out, _channels_last(t.rank), dims)


# ---------------------------------------------------------------------------- normalization
def _batch_norm_check(n, imp):
    if n.attr("training_mode", 0):
        return "training_mode=1"
    if len([o for o in n.outputs if o]) > 1:
        return "running statistics outputs"
    return None


def _batch_norm(imp, n):
    t = _t(imp, n)
    scale, bias, mean, var = (np.asarray(imp.const(i)) for i in n.inputs[1:5])
    if t.rank < 2:
        _fail(imp, n, "inputs of rank < 2 are not supported")
    if t.axes[1] is None or t.axes[0] is None:
        t = _materialized(imp, t, n)
    axis = t.axes[1]
    phys_rank = len(t.phys_dims)
    config = {"axis": -1 if axis == phys_rank - 1 else axis, "epsilon": float(n.attr("epsilon", 1e-5)),
              "momentum": float(n.attr("momentum", 0.9))}
    weights = {"gamma": scale, "beta": bias, "moving_mean": mean, "moving_variance": var}
    out = imp.emit(L.BatchNormalization, config, t.sym, weights={k: _float(imp, v) for k, v in weights.items()},
                   origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims)


def _layer_norm_check(n, imp):
    if len([o for o in n.outputs if o]) > 1:
        return "mean/inv_std_dev outputs"
    return None


def _layer_norm(imp, n):
    t = _t(imp, n)
    axis = int(n.attr("axis", -1)) % t.rank
    onnx_axes = list(range(axis, t.rank))
    phys = [t.axes[a] for a in onnx_axes]
    tail = list(range(len(t.phys_dims) - len(phys), len(t.phys_dims)))
    if phys != tail:
        t = _materialized(imp, t, n)
        phys = [t.axes[a] for a in onnx_axes]
    sizes = tuple(t.phys_dims[p] for p in phys)
    if any(isinstance(s, Sym) for s in sizes):
        _fail(imp, n, "the normalized axes must have known sizes")
    scale = np.broadcast_to(np.asarray(imp.const(n.inputs[1])), sizes)
    bias = imp.const(_opt_input(n, 2)) if _opt_input(n, 2) else None
    config = {"axis": phys[0] if len(phys) == 1 else phys, "epsilon": float(n.attr("epsilon", 1e-5)),
              "center": bias is not None}
    weights = {"gamma": _float(imp, scale)}
    if bias is not None:
        weights["beta"] = _float(imp, np.broadcast_to(np.asarray(bias), sizes))
    if len(phys) == 1 and phys[0] == len(t.phys_dims) - 1:
        config["axis"] = -1
    out = imp.emit(L.LayerNormalization, config, t.sym, weights=weights, origin=n.name, dims=t.phys_dims)
    _set_view(imp, n, out, t.axes, t.phys_dims)


def _instance_norm(imp, n):
    t = _t(imp, n)
    if t.rank < 3:
        _fail(imp, n, "inputs of rank < 3 are not supported")
    x = imp.layout(t, _channels_last(t.rank), origin=n.name)
    scale, bias = (np.asarray(imp.const(i)) for i in n.inputs[1:3])
    out = imp.emit(L.GroupNormalization, {"groups": -1, "axis": -1, "epsilon": float(n.attr("epsilon", 1e-5))},
                   x, weights={"gamma": _float(imp, scale), "beta": _float(imp, bias)}, origin=n.name)
    _set_view(imp, n, out, _channels_last(t.rank))


# ---------------------------------------------------------------------------- shape operators
def _transpose(imp, n):
    t = _t(imp, n)
    perm = n.attr("perm") or list(range(t.rank))[::-1]
    imp.set(n.outputs[0], t.with_axes([t.axes[p] for p in perm]))


def _axes_of(imp, n, k: int, rank: int):
    """The ``axes`` of Squeeze/Unsqueeze/Reduce* (an attribute or, in newer opsets, an input)."""
    if n.attr("axes") is not None:
        axes = list(n.attr("axes"))
    elif _opt_input(n, k):
        axes = [int(a) for a in np.asarray(imp.const(n.inputs[k])).reshape(-1)]
    else:
        return None
    return [a % rank for a in axes]


def _squeeze(imp, n):
    t = _t(imp, n)
    axes = _axes_of(imp, n, 1, t.rank)
    if axes is None:
        axes = [i for i, d in enumerate(t.dims) if isinstance(d, int) and d == 1]
    for a in axes:
        if not (isinstance(t.dims[a], int) and t.dims[a] == 1):
            _fail(imp, n, f"axis {a} of size {t.dims[a]} cannot be squeezed")
    imp.set(n.outputs[0], t.with_axes([ax for i, ax in enumerate(t.axes) if i not in axes]))


def _unsqueeze(imp, n):
    t = _t(imp, n)
    out_rank = t.rank + len(_axes_of(imp, n, 1, 10 ** 6) or [])
    axes = sorted(_axes_of(imp, n, 1, out_rank) or [])
    new = list(t.axes)
    for a in axes:
        new.insert(a, None)
    imp.set(n.outputs[0], t.with_axes(new))


def _flatten(imp, n):
    t = _t(imp, n)
    axis = int(n.attr("axis", 1)) % (t.rank + 1) if t.rank else 0
    dims = t.dims
    head, tail = dims[:axis], dims[axis:]
    target = (_prod(head), _prod(tail))
    _reshape_to(imp, n, t, target)


def _prod(dims):
    if any(isinstance(d, Sym) for d in dims):
        if len(dims) == 1:
            return dims[0]
        return Sym()
    return int(math.prod(dims))


def _reshape_to(imp, n, t: Tensor, target: tuple):
    if len(target) == t.rank and all(same_dim(a, b) for a, b in zip(target, t.dims)):
        imp.set(n.outputs[0], t)
        return
    if memory_order_kept(t) and t.axes and t.axes[0] == 0:
        # the physical tensor's memory order is the ONNX one: reshape it directly
        src = t.phys_dims
        if len(src) == len(target) and all(same_dim(a, b) for a, b in zip(src, target)):
            imp.set(n.outputs[0], Tensor(t.sym, identity_axes(len(target)), t.phys_dims, t.integer))
            return
        out = imp.reshape(t.sym, src, target, origin=n.name)
    else:
        m = _materialized(imp, t, n)
        out = imp.reshape(m.sym, m.phys_dims, target, origin=n.name)
    imp.set(n.outputs[0], Tensor(out.sym, out.axes, out.phys_dims, t.integer))


def _reshape(imp, n):
    t = _t(imp, n)
    shape_v = _input_value(imp, n.inputs[1]) if len(n.inputs) > 1 else None
    if shape_v is None:
        raw = list(n.attr("shape"))
    elif isinstance(shape_v, ShapeVec):
        raw = list(shape_v.dims)
    else:
        raw = [int(v) for v in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
    allowzero = bool(n.attr("allowzero", 0))
    dims = t.dims
    target = []
    for i, d in enumerate(raw):
        if isinstance(d, int) and d == 0 and not allowzero:
            if i >= len(dims):
                _fail(imp, n, f"shape {raw} copies axis {i} of a rank-{len(dims)} input")
            target.append(dims[i])
        else:
            target.append(d)
    if sum(1 for d in target if isinstance(d, int) and d == -1) > 1:
        _fail(imp, n, f"shape {raw} holds more than one -1")
    if any(isinstance(d, int) and d == -1 for d in target):
        known_in = [d for d in dims]
        rest = [d for d in target if not (isinstance(d, int) and d == -1)]
        inferred = _infer(known_in, rest)
        target = [inferred if isinstance(d, int) and d == -1 else d for d in target]
    _reshape_to(imp, n, t, tuple(target))


def _infer(src, rest):
    """The size of -1 in a reshape of sizes ``src`` to ``rest`` + (-1): cancels the sizes
    both sides share (the batch symbol), else a new unknown size."""
    src, rest = list(src), list(rest)
    for d in list(rest):
        for k, s in enumerate(src):
            if isinstance(d, Sym) and s is d:
                src.pop(k)
                rest.remove(d)
                break
    if any(isinstance(d, Sym) for d in src + rest):
        return Sym()
    num, den = math.prod(src), math.prod(rest)
    if den == 0 or num % den:
        return Sym()
    return num // den


def _concat(imp, n):
    vals = [_input_value(imp, i) for i in n.inputs if i]
    axis = int(n.attr("axis"))
    if not all(isinstance(v, Tensor) for v in vals):
        _fail(imp, n, "joining computed tensors with constants is not supported")
    rank = vals[0].rank
    axis %= rank
    if all(v.axes == vals[0].axes and len(v.phys_dims) == len(vals[0].phys_dims) for v in vals) \
            and vals[0].axes[axis] is not None:
        syms, axes = [v.sym for v in vals], vals[0].axes
        p = axes[axis]
        phys = [v.phys_dims for v in vals]
    else:
        mats = [_materialized(imp, v, n) for v in vals]
        syms, axes, p = [m.sym for m in mats], identity_axes(rank), axis
        phys = [m.phys_dims for m in mats]
    if p == 0:
        _fail(imp, n, "joining along the batch axis is not supported")
    sizes = [d[p] for d in phys]
    joined = sum(sizes) if all(isinstance(s, int) for s in sizes) else Sym()
    dims = tuple(joined if i == p else phys[0][i] for i in range(len(phys[0])))
    out = imp.emit(L.Concatenate, {"axis": p if p != len(dims) - 1 else -1}, syms, origin=n.name, dims=dims)
    _set_view(imp, n, out, axes, dims)


def _gather(imp, n):
    data, idx = (_input_value(imp, i) for i in n.inputs[:2])
    axis = int(n.attr("axis", 0))
    if isinstance(idx, Tensor):
        if isinstance(data, Tensor) or axis != 0:
            _fail(imp, n, "indices computed at run time are supported only to look up rows of a constant "
                          "table (an embedding)")
        table = np.asarray(imp.const(n.inputs[0]))
        if table.ndim != 2:
            _fail(imp, n, f"looking up a rank-{table.ndim} table is not supported")
        out = imp.emit(L.Embedding, {"input_dim": int(table.shape[0]), "output_dim": int(table.shape[1])}, idx.sym,
                       weights={"embeddings": _float(imp, table)}, origin=n.name,
                       dims=idx.phys_dims + (int(table.shape[1]),))
        _set_view(imp, n, out, tuple(idx.axes) + (len(idx.phys_dims),))
        return
    t = data
    indices = np.asarray(imp.const(n.inputs[1])).astype(np.int64)
    axis %= t.rank
    p = t.axes[axis]
    if p is None or indices.ndim > 1:
        t = _materialized(imp, t, n)
        p = axis
    dims = list(t.phys_dims)
    dims[p:p + 1] = [int(d) for d in indices.shape]
    out = imp.emit(OnnxGather, {"indices": indices.tolist(), "axis": p}, t.sym, origin=n.name,
                   dims=tuple(dims))
    if indices.ndim == 0:
        axes = [a if a is None or a < p else a - 1 for i, a in enumerate(t.axes) if i != axis]
    elif indices.ndim == 1:
        axes = list(t.axes)
    else:
        axes = list(identity_axes(len(dims)))
    _set_view(imp, n, out, axes, tuple(dims))


def _slice_params(imp, n, t: Tensor):
    if imp.opset >= 10:
        vals = []
        for k in (1, 2, 3, 4):
            name = _opt_input(n, k)
            v = _input_value(imp, name) if name else None
            vals.append(v)
        starts, ends = _sym_or_const(imp, n.inputs[1]), _sym_or_const(imp, n.inputs[2])
        axes = _sym_or_const(imp, _opt_input(n, 3)) if _opt_input(n, 3) else None
        steps = _sym_or_const(imp, _opt_input(n, 4)) if _opt_input(n, 4) else None
    else:
        starts, ends, axes, steps = n.attr("starts"), n.attr("ends"), n.attr("axes"), None
    axes = list(range(len(starts))) if axes is None else [int(a) % t.rank for a in axes]
    steps = [1] * len(starts) if steps is None else [int(s) for s in steps]
    return list(starts), list(ends), axes, steps


def _sym_or_const(imp, name):
    v = _input_value(imp, name)
    if isinstance(v, ShapeVec):
        return list(v.dims)
    return [int(x) for x in np.asarray(imp.const(name)).reshape(-1)]


def _slice(imp, n):
    t = _t(imp, n)
    starts, ends, axes, steps = _slice_params(imp, n, t)
    dims = t.dims
    for k, (s, e, a) in enumerate(zip(starts, ends, axes)):
        if isinstance(s, Sym):
            _fail(imp, n, "a start computed at run time is not supported")
        if isinstance(e, Sym):
            if same_dim(e, dims[a]):
                ends[k] = INT64_MAX
            else:
                _fail(imp, n, "an end computed at run time is not supported")
    if any(t.axes[a] is None for a in axes):
        t = _materialized(imp, t, n)
    phys_axes = [t.axes[a] for a in axes]
    out_dims = list(t.phys_dims)
    for s, e, p, st in zip(starts, ends, phys_axes, steps):
        size = t.phys_dims[p]
        if isinstance(size, int):
            if st > 0:
                out_dims[p] = len(range(*slice(s, e, st).indices(size)))
            else:
                out_dims[p] = len(range(*negative_slice(s, e, st, size).indices(size)))
        elif not (s == 0 and e >= INT64_MAX // 2 and st == 1):
            out_dims[p] = Sym()
    out = imp.emit(OnnxSlice, {"starts": starts, "ends": [min(e, INT64_MAX) for e in ends], "axes": phys_axes,
                               "steps": steps}, t.sym, origin=n.name, dims=tuple(out_dims))
    _set_view(imp, n, out, t.axes, tuple(out_dims))


def _split(imp, n):
    t = _t(imp, n)
    axis = int(n.attr("axis", 0)) % t.rank
    size = t.dims[axis]
    outs = [o for o in n.outputs]
    if _opt_input(n, 1):
        sizes = [int(v) for v in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
    elif n.attr("split") is not None:
        sizes = list(n.attr("split"))
    else:
        if not isinstance(size, int):
            _fail(imp, n, "splitting an axis of unknown size is not supported")
        parts = len(outs)
        chunk = -(-size // parts)
        sizes = [min(chunk, size - k * chunk) for k in range(parts)]
    if t.axes[axis] is None:
        t = _materialized(imp, t, n)
    p = t.axes[axis]
    start = 0
    for k, (name, s) in enumerate(zip(outs, sizes)):
        if not name:
            start += s
            continue
        dims = tuple(s if i == p else d for i, d in enumerate(t.phys_dims))
        out = imp.emit(OnnxSlice, {"starts": [start], "ends": [start + s], "axes": [p], "steps": [1]}, t.sym,
                       origin=n.name, dims=dims)
        imp.set(name, Tensor(out.sym, t.axes, dims, t.integer))
        start += s


def _pad(imp, n):
    t = _t(imp, n)
    mode = n.attr("mode", "constant")
    if imp.opset >= 11:
        pads = [int(v) for v in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
        value = float(np.asarray(imp.const(_opt_input(n, 2)))) if _opt_input(n, 2) else 0.0
        axes = [int(a) % t.rank for a in np.asarray(imp.const(_opt_input(n, 3))).reshape(-1)] \
            if _opt_input(n, 3) else list(range(t.rank))
    else:
        pads, value, axes = list(n.attr("pads")), float(n.attr("value", 0.0)), list(range(t.rank))
    if mode not in ("constant", "reflect", "edge"):
        _fail(imp, n, f"mode {mode!r} is not supported")
    k = len(axes)
    pairs = {a: (pads[i], pads[i + k]) for i, a in enumerate(axes)}
    if any(t.axes[a] is None and pairs[a] != (0, 0) for a in pairs):
        t = _materialized(imp, t, n)
    phys_rank = len(t.phys_dims)
    begins, ends = [0] * phys_rank, [0] * phys_rank
    for a, (b, e) in pairs.items():
        if t.axes[a] is not None:
            begins[t.axes[a]], ends[t.axes[a]] = b, e
    dims = tuple(d + b + e if isinstance(d, int) else (d if b == e == 0 else Sym())
                 for d, b, e in zip(t.phys_dims, begins, ends))
    out = imp.emit(OnnxPad, {"pads": begins + ends, "mode": mode, "value": value}, t.sym, origin=n.name, dims=dims)
    _set_view(imp, n, out, t.axes, dims)


def _tile(imp, n):
    t = _t(imp, n)
    reps = [int(r) for r in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
    dims = t.dims
    if any(r != 1 and not (isinstance(d, int) and d == 1) for r, d in zip(reps, dims)):
        _fail(imp, n, "repeating axes larger than 1 is not supported (only Tile that broadcasts, as Expand)")
    if all(r == 1 for r in reps):
        imp.set(n.outputs[0], t)
        return
    m = _materialized(imp, t, n)
    out = imp.emit(OnnxExpand, {"shape": reps}, m.sym, origin=n.name,
                   dims=tuple(r if r != 1 else d for r, d in zip(reps, m.phys_dims)))
    imp.set(n.outputs[0], out)


def _resize_check(n, imp):
    mode = n.attr("mode", "nearest")
    ctm = n.attr("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest":
        near = n.attr("nearest_mode", "round_prefer_floor")
        ok = (ctm == "asymmetric" and near == "floor") or \
            (ctm in ("half_pixel", "pytorch_half_pixel") and near in ("round_prefer_floor", "round_prefer_ceil"))
        return None if ok else f"nearest with {ctm}/{near}"
    if mode == "linear":
        return None if ctm in ("half_pixel", "pytorch_half_pixel") else f"linear with {ctm}"
    return f"mode={mode}"


def _resize(imp, n):
    t = _t(imp, n)
    scales = None
    if imp.opset >= 11:
        if _opt_input(n, 2) and np.size(imp.const(n.inputs[2])):
            scales = [float(v) for v in np.asarray(imp.const(n.inputs[2])).reshape(-1)]
        elif _opt_input(n, 3):
            sizes = [int(v) for v in np.asarray(imp.const(n.inputs[3])).reshape(-1)]
            dims = t.dims
            scales = []
            for s, d in zip(sizes, dims):
                if not isinstance(d, int) or s % d:
                    _fail(imp, n, "sizes that are not whole multiples of known sizes are not supported")
                scales.append(s / d)
    else:
        scales = [float(v) for v in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
    if scales is None or any(s != int(s) or s < 1 for s in scales):
        _fail(imp, n, f"only whole upsampling factors are supported, got scales {scales}")
    scales = [int(s) for s in scales]
    if all(s == 1 for s in scales):
        imp.set(n.outputs[0], t)
        return
    k = t.rank - 2
    if k not in (1, 2, 3):
        _fail(imp, n, f"a rank-{t.rank} input is not supported")
    # channels-last physical layout: the unit scales must be on the batch and the channel axis
    if scales[0] == 1 and scales[1] == 1:
        wanted = _channels_last(t.rank)
        spatial = scales[2:]
    elif scales[0] == 1 and scales[-1] == 1:
        wanted = None
        spatial = scales[1:-1]
    else:
        _fail(imp, n, f"scales {scales} resize the batch or every non-batch axis")
    x = imp.layout(t, wanted, origin=n.name)
    linear = n.attr("mode", "nearest") == "linear"
    if linear and k != 2:
        _fail(imp, n, "linear resizing is supported for 2-D images only")
    cls = {1: L.UpSampling1D, 2: L.UpSampling2D, 3: L.UpSampling3D}[k]
    config = {"size": spatial[0] if k == 1 else list(spatial)}
    if linear:
        config["interpolation"] = "bilinear"
    out = imp.emit(cls, config, x, origin=n.name)
    _set_view(imp, n, out, wanted if wanted is not None else identity_axes(t.rank))


def _expand(imp, n):
    t = _t(imp, n)
    shape_v = _input_value(imp, n.inputs[1])
    raw = list(shape_v.dims) if isinstance(shape_v, ShapeVec) else \
        [int(v) for v in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
    rank = max(len(raw), t.rank)
    dims = (1,) * (rank - t.rank) + t.dims
    raw = [1] * (rank - len(raw)) + raw
    target = []
    for d, r in zip(dims, raw):
        if isinstance(r, Sym):
            if not same_dim(d, r):
                _fail(imp, n, "expanding to a size computed at run time is not supported")
            target.append(1)
        else:
            target.append(int(r))
    if all(r == 1 or (isinstance(d, int) and d == r) for d, r in zip(dims, target)) and rank == t.rank:
        imp.set(n.outputs[0], t)
        return
    m = _materialized(imp, t, n)
    out_dims = tuple(r if r != 1 else d for d, r in zip(dims, target))
    out = imp.emit(OnnxExpand, {"shape": target}, m.sym, origin=n.name, dims=out_dims)
    imp.set(n.outputs[0], out)


_REDUCE_OPS = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min",
               "ReduceProd": "prod", "ReduceSumSquare": "sum_square", "ReduceL1": "l1", "ReduceL2": "l2",
               "ReduceLogSumExp": "log_sum_exp"}


def _reduce(op):
    def convert(imp, n):
        t = _t(imp, n)
        axes = _axes_of(imp, n, 1, t.rank)
        keepdims = bool(n.attr("keepdims", 1))
        if axes is None or not axes:
            if axes is not None or n.attr("noop_with_empty_axes", 0):
                imp.set(n.outputs[0], t)
                return
            axes = list(range(t.rank))
        axes = sorted(set(axes))
        if op in ("mean", "max") and keepdims and t.rank in (3, 4, 5) and axes == list(range(2, t.rank)):
            _global(imp, n, t, "avg" if op == "mean" else "max", t.rank - 2)
            return
        if any(t.axes[a] is None for a in axes):
            t = _materialized(imp, t, n)
        phys = sorted(t.axes[a] for a in axes)
        dims = [1 if i in phys else d for i, d in enumerate(t.phys_dims)]
        if not keepdims:
            dims = [d for i, d in enumerate(t.phys_dims) if i not in phys]
        pr = len(t.phys_dims)
        if op in ("mean", "max") and pr in (3, 4, 5) and phys == list(range(1, pr - 1)):
            # the spatial axes of a channels-last tensor: a global pooling
            cls = {("mean", 3): L.GlobalAveragePooling1D, ("mean", 4): L.GlobalAveragePooling2D,
                   ("mean", 5): L.GlobalAveragePooling3D, ("max", 3): L.GlobalMaxPooling1D,
                   ("max", 4): L.GlobalMaxPooling2D, ("max", 5): L.GlobalMaxPooling3D}[(op, pr)]
            out = imp.emit(cls, {"keepdims": keepdims}, t.sym, origin=n.name, dims=tuple(dims))
        else:
            out = imp.emit(OnnxReduce, {"op": op, "axes": phys, "keepdims": keepdims}, t.sym, origin=n.name,
                           dims=tuple(dims))
        if keepdims:
            view = t.axes
        else:
            view = [a - sum(1 for p in phys if p < a) if a is not None else None
                    for i, a in enumerate(t.axes) if i not in axes]
        _set_view(imp, n, out, view, tuple(dims))
    return convert


def _shape(imp, n):
    v = _input_value(imp, n.inputs[0])
    dims = v.dims if isinstance(v, (Tensor, Fill)) else tuple(np.shape(imp.const(n.inputs[0])))
    start, end = n.attr("start", 0), n.attr("end")
    dims = tuple(dims)[start:end]
    vec = ShapeVec(dims)
    imp.set(n.outputs[0], Const(vec.as_array()) if vec.known else vec)


def _size(imp, n):
    v = _input_value(imp, n.inputs[0])
    dims = v.dims if isinstance(v, (Tensor, Fill)) else tuple(np.shape(imp.const(n.inputs[0])))
    p = _prod(dims)
    imp.set(n.outputs[0], Const(np.asarray(p, dtype=np.int64)) if isinstance(p, int) else ShapeVec((p,), True))


def _constant_of_shape(imp, n):
    v = _input_value(imp, n.inputs[0])
    value = n.attr("value")
    fill = float(np.asarray(value).reshape(-1)[0]) if value is not None else 0.0
    if isinstance(v, ShapeVec):
        imp.set(n.outputs[0], Fill(tuple(v.dims), fill))
        return
    _fail(imp, n, "ConstantOfShape of a computed tensor is not supported")


# ---------------------------------------------------------------------------- symbolic shapes
def _sym_vec(imp, name) -> ShapeVec:
    v = _input_value(imp, name)
    if isinstance(v, ShapeVec):
        return v
    arr = np.asarray(imp.const(name))
    return ShapeVec(tuple(int(x) for x in arr.reshape(-1)), arr.ndim == 0)


def _sym_gather(imp, n):
    data = _sym_vec(imp, n.inputs[0])
    idx = np.asarray(imp.const(n.inputs[1]))
    picked = [data.dims[int(i)] for i in idx.reshape(-1)]
    imp.set(n.outputs[0], ShapeVec(tuple(picked), idx.ndim == 0))


def _sym_unsqueeze(imp, n):
    v = _sym_vec(imp, n.inputs[0])
    imp.set(n.outputs[0], ShapeVec(v.dims, False))


def _sym_squeeze(imp, n):
    v = _sym_vec(imp, n.inputs[0])
    imp.set(n.outputs[0], ShapeVec(v.dims, len(v.dims) == 1))


def _sym_concat(imp, n):
    dims = []
    for name in n.inputs:
        if name:
            dims.extend(_sym_vec(imp, name).dims)
    imp.set(n.outputs[0], ShapeVec(tuple(dims)))


def _sym_slice(imp, n):
    v = _sym_vec(imp, n.inputs[0])
    if imp.opset >= 10:
        starts = [int(x) for x in np.asarray(imp.const(n.inputs[1])).reshape(-1)]
        ends = [int(x) for x in np.asarray(imp.const(n.inputs[2])).reshape(-1)]
        steps = [int(x) for x in np.asarray(imp.const(n.inputs[4])).reshape(-1)] if _opt_input(n, 4) else [1]
    else:
        starts, ends, steps = n.attr("starts"), n.attr("ends"), [1]
    imp.set(n.outputs[0], ShapeVec(tuple(v.dims[slice(starts[0], min(ends[0], 2 ** 62), steps[0])])))


def _sym_identity(imp, n):
    imp.set(n.outputs[0], _sym_vec(imp, n.inputs[0]))


def _sym_arith(op):
    def convert(imp, n):
        a, b = _sym_vec(imp, n.inputs[0]), _sym_vec(imp, n.inputs[1])
        la, lb = list(a.dims), list(b.dims)
        if len(la) == 1 and len(lb) > 1:
            la = la * len(lb)
        if len(lb) == 1 and len(la) > 1:
            lb = lb * len(la)
        out = []
        for x, y in zip(la, lb):
            if isinstance(x, int) and isinstance(y, int):
                out.append(int({"add": x + y, "sub": x - y, "mul": x * y,
                                "div": x // y if y else 0}[op]))
            elif op == "mul" and (y == 1 or x == 1):
                out.append(x if y == 1 else y)
            elif op in ("add", "sub") and y == 0:
                out.append(x)
            elif op == "div" and y == 1:
                out.append(x)
            else:
                out.append(Sym())
        imp.set(n.outputs[0], ShapeVec(tuple(out), a.scalar and b.scalar))
    return convert


SYMBOLIC = {"Gather": _sym_gather, "Unsqueeze": _sym_unsqueeze, "Squeeze": _sym_squeeze, "Concat": _sym_concat,
            "Slice": _sym_slice, "Cast": _sym_identity, "Identity": _sym_identity, "Reshape": _sym_identity,
            "Add": _sym_arith("add"), "Sub": _sym_arith("sub"), "Mul": _sym_arith("mul"), "Div": _sym_arith("div"),
            "ConstantOfShape": _constant_of_shape, "Shape": _shape, "Size": _size}


# ---------------------------------------------------------------------------- tables
OPS = {
    "Relu": _relu, "LeakyRelu": _leaky, "Elu": _elu, "Selu": _activation("selu"), "PRelu": _prelu,
    "Sigmoid": _activation("sigmoid"), "Tanh": _activation("tanh"), "Softplus": _activation("softplus"),
    "Softsign": _activation("softsign"), "HardSigmoid": _hard_sigmoid, "HardSwish": _activation("hard_silu"),
    "Gelu": _gelu, "Mish": _activation("mish"), "Softmax": _softmax,
    "LogSoftmax": lambda imp, n: _softmax(imp, n, log=True), "Clip": _clip,
    "Neg": _unary("neg"), "Abs": _unary("abs"), "Sqrt": _unary("sqrt"), "Exp": _unary("exp"), "Log": _unary("log"),
    "Reciprocal": _unary("reciprocal"), "Erf": _unary("erf"), "Sin": _unary("sin"), "Cos": _unary("cos"),
    "Floor": _unary("floor"), "Ceil": _unary("ceil"), "Round": _unary("round"), "Sign": _unary("sign"),
    "Not": _not, "Identity": _identity, "Dropout": _dropout, "Cast": _cast,
    "Add": _elementwise("add"), "Sub": _elementwise("sub"), "Mul": _elementwise("mul"), "Div": _elementwise("div"),
    "Pow": _elementwise("pow"), "Max": _elementwise("max"), "Min": _elementwise("min"), "Sum": _elementwise("sum"),
    "Mean": _elementwise("mean"), "Where": _elementwise("where"), "Equal": _elementwise("equal"),
    "Less": _elementwise("less"), "LessOrEqual": _elementwise("less_or_equal"), "Greater": _elementwise("greater"),
    "GreaterOrEqual": _elementwise("greater_or_equal"), "And": _elementwise("and"), "Or": _elementwise("or"),
    "Xor": _elementwise("xor"),
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "ConvTranspose": _conv_transpose,
    "MaxPool": _pool("max"), "AveragePool": _pool("avg"), "GlobalAveragePool": _global_pool("avg"),
    "GlobalMaxPool": _global_pool("max"), "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm, "InstanceNormalization": _instance_norm,
    "Transpose": _transpose, "Squeeze": _squeeze, "Unsqueeze": _unsqueeze, "Flatten": _flatten,
    "Reshape": _reshape, "Concat": _concat, "Gather": _gather, "Slice": _slice, "Split": _split, "Pad": _pad,
    "Expand": _expand, "Tile": _tile, "Resize": _resize, "Upsample": _resize, "Einsum": _einsum,
    "Shape": _shape, "Size": _size, "ConstantOfShape": _constant_of_shape,
    **{op: _reduce(kind) for op, kind in _REDUCE_OPS.items()},
    **RNN_OPS,
}
CHECKS = {"Selu": _selu_check, "Conv": _conv_check, "ConvTranspose": _conv_transpose_check,
          "MaxPool": _pool_check, "AveragePool": _pool_check, "BatchNormalization": _batch_norm_check,
          "LayerNormalization": _layer_norm_check, "Resize": _resize_check, "Upsample": _resize_check,
          "Einsum": _einsum_check, **RNN_CHECKS}


def supported_operators() -> list[str]:
    """The ONNX operators ``load`` converts (the default domain)."""
    return sorted(set(OPS) | {"Constant"})


def _fold(imp, n) -> None:
    from onnx.reference import ReferenceEvaluator
    feeds = {}
    trainable = False
    for name in n.inputs:
        if name:
            v = imp.values[name]
            feeds[name] = v.value if isinstance(v, Const) else v.as_array()
            trainable = trainable or (isinstance(v, Const) and v.trainable)
    try:
        ev = ReferenceEvaluator(n.proto, opsets={"": imp.opset})
        results = ev.run(None, feeds)
    except Exception as exc:  # the reference evaluator raises many kinds
        raise OnnxError(f"{imp.name}: node {n.name or n.op!r} ({n.op}) on constants could not be evaluated: "
                        f"{type(exc).__name__}: {exc}") from None
    for name, value in zip(n.outputs, results):
        if name:
            imp.set(name, Const(np.asarray(value), trainable and n.op in _KEEPS_PARAMETERS))


#: operators that pass a parameter on (a transposed weight is still a weight)
_KEEPS_PARAMETERS = ("Identity", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Cast", "Flatten")


def _fill_op(imp, n, vals) -> bool:
    """Operators on ``Fill`` values (zeros of a run-time shape, as exports make initial
    states) that stay such values: casts, products by zeros, products of zeros."""
    fills = [v for v in vals if isinstance(v, Fill)]
    if not fills:
        return False
    first = fills[0]
    if n.op in ("Cast", "Identity", "Dropout") and isinstance(vals[0], Fill):
        imp.set(n.outputs[0], first)
        return True
    zero = [v for v in fills if v.value == 0.0]
    if n.op == "MatMul" and isinstance(vals[0], Fill) and vals[0].value == 0.0:
        other = vals[1]
        last = other.dims[-1] if isinstance(other, (Tensor, Fill)) else np.shape(imp.const(n.inputs[1]))[-1]
        imp.set(n.outputs[0], Fill(tuple(vals[0].dims[:-1]) + (last,), 0.0))
        return True
    if n.op == "Mul" and zero:
        dims = ()
        for name, v in zip(n.inputs, vals):
            d = v.dims if isinstance(v, (Tensor, Fill)) else np.shape(imp.const(name))
            dims = _broadcast_dims(dims, tuple(d))
        imp.set(n.outputs[0], Fill(dims, 0.0))
        return True
    return False


def convert_node(imp, n) -> None:
    """Convert one node: a constant, a folded computation, a shape computation or layers."""
    if n.op == "Constant":
        imp.set(n.outputs[0], Const(_constant_value(imp, n), trainable=False))
        return
    vals = [_input_value(imp, i) for i in n.inputs]
    for name, v in zip(n.inputs, vals):
        if name and v is None:
            raise OnnxError(f"{imp.name}: node {n.name or n.op!r} ({n.op}) reads {name!r}, which no earlier "
                            f"node computes (the graph is not in topological order)")
    known = all(v is None or isinstance(v, Const) or (isinstance(v, ShapeVec) and v.known) for v in vals)
    if known and n.op not in ("Dropout",) and vals:
        _fold(imp, n)
        return
    if _fill_op(imp, n, vals):
        return
    if not any(isinstance(v, Tensor) for v in vals):
        handler = SYMBOLIC.get(n.op)
        if handler is None:
            _fail(imp, n, "this operator on a shape computed at run time is not supported")
        handler(imp, n)
        return
    OPS[n.op](imp, n)


def _constant_value(imp, n) -> np.ndarray:
    onnx = imp.onnx
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in n.attrs:
            v = n.attrs[key]
            if key == "value":
                return np.asarray(v)
            return np.asarray(v, dtype=np.float32 if "float" in key else np.int64)
    del onnx
    raise OnnxError(f"{imp.name}: Constant node {n.name!r} has no value this importer reads "
                    f"(sparse and string constants are not supported)")
