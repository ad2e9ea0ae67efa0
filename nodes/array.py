"""Array nodes (HAIBAL's Array palette): reshape, transpose, concatenate, stack, slice,
one_hot, argmax, where, cast, clip.

Each node is a declaration for ``array_node``: ports, parameters, instances with output
type rules, and a compute function over NumPy. Structural nodes keep the dtype of what is
wired (their ports accept any kind); the rules give the output rank from the parameters
(reshape's shape, slice's index, argmax's keepdims), so a graph is type-checked before
it runs. Type ids are ``haibal.array.<Name>``.
"""

from __future__ import annotations

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node import Param, Port
from haibal_py.node.types import PortType

from ._arrays import (RESULT, variant, array_node, as_array, as_numeric, broadcast, check_axis,
                             exact_rank, join_kinds, kind_of, rank_range, same_as, shape_text, shifted)
from ._text_params import check_shape, index_rank_change, parse_axes, parse_index, parse_shape

CATEGORY = "Array"
ANY = PortType("any")
ANY_SCALAR = PortType("any", 0, 0)
ANY_ARRAY = PortType("any", 1, None)
INT_VECTOR = PortType("int", 1, 1)
OUT = (Port(RESULT, ANY, "the resulting array."),)
DTYPES = ("float32", "float64", "int32", "int64", "uint8", "bool")

NODES = {}


def _node(**kw):
    cls = array_node(category=CATEGORY, **kw)
    NODES[kw["name"]] = cls
    return cls


# ---------------------------------------------------------------------------- Reshape
def _wired_shape(shape) -> tuple[int, ...]:
    arr = as_array(shape, "shape")
    if arr.ndim != 1 or arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(arr == np.rint(arr))):
        raise HaibalValueError(f"input 'shape' must be a 1-D array of integer sizes, got {arr.tolist()!r}")
    dims = tuple(int(d) for d in arr)
    try:
        check_shape(dims, str(dims))
    except ValueError as exc:
        raise HaibalValueError(f"input 'shape': {exc}") from None
    return dims


def _reshape(node, x, shape=None):
    arr = as_array(x, "x")
    dims = parse_shape(node["shape"]) if shape is None else _wired_shape(shape)
    try:
        return arr.reshape(dims)
    except ValueError:
        raise HaibalValueError(f"input 'x': cannot reshape array of shape {shape_text(arr.shape)} "
                               f"into {dims}") from None


def _reshape_type(wired, params) -> PortType:
    kind = wired["x"].kind if "x" in wired else "any"
    if params is None or "shape" in wired:
        return PortType(kind)
    return PortType.of(kind, len(parse_shape(params["shape"])))


Reshape = _node(
    name="Reshape", fn=_reshape,
    batch=('x',),
    inputs=(Port("x", ANY, "array to reshape (any dtype)."),
            Port("shape", INT_VECTOR, "optional 1-D integer array of sizes; when wired it replaces "
                 "the shape parameter.", default=None)),
    outputs=(Port(RESULT, ANY, "the same values in the new shape (same dtype)."),),
    params=(Param("shape", "str", "-1", "the new shape, sizes separated by commas; one size may be -1 "
                  "(inferred), e.g. 2, -1. Empty: a scalar (one value)."),),
    validators={"shape": parse_shape},
    variants=(variant("array", {"x": ANY, "shape": INT_VECTOR}, {RESULT: _reshape_type},
                      "any array -> the same values in the given shape"),),
    description="Gives the array a new shape without changing its values (NumPy's reshape, C order); "
                "the number of values must stay the same.",
    use_cases=("Flatten images (N, H, W) to vectors (N, H*W) before a dense loss: shape N, -1 or -1, 784.",
               "Add a class axis of size 1 to binary predictions: shape -1, 1."),
)


# ---------------------------------------------------------------------------- Transpose
def _transpose(node, x):
    arr = as_array(x, "x")
    axes = parse_axes(node["axes"])
    if axes is None:
        return arr.T
    if len(axes) != arr.ndim:
        raise HaibalValueError(f"parameter 'axes' = {node['axes']!r} has {len(axes)} axes but input 'x' "
                               f"has rank {arr.ndim} (shape {shape_text(arr.shape)}): give a permutation "
                               f"of 0..{arr.ndim - 1}")
    norm = [check_axis(a, arr.ndim, "x", "axes") for a in axes]
    if len(set(norm)) != len(norm):
        raise HaibalValueError(f"parameter 'axes' = {node['axes']!r} names an axis twice for input 'x' "
                               f"of rank {arr.ndim}")
    return np.transpose(arr, norm)


Transpose = _node(
    name="Transpose", fn=_transpose,
    batch=('x',),
    inputs=(Port("x", ANY, "array to transpose (any dtype)."),),
    outputs=(Port(RESULT, ANY, "the array with its axes permuted (same dtype and rank)."),),
    params=(Param("axes", "str", "", "the new order of the axes, e.g. 0, 2, 1; empty: reversed."),),
    validators={"axes": parse_axes},
    variants=(variant("array", {"x": ANY}, {RESULT: same_as("x")}, "any array -> its axes permuted"),),
    description="Permutes the axes of an array (NumPy's transpose): axis i of the result is axis "
                "axes[i] of the input; with no axes the order is reversed.",
    use_cases=("Move the class axis last: channels-first (N, C, H, W) predictions to (N, H, W, C) with "
               "axes 0, 2, 3, 1.", "Transpose a matrix."),
)


# ---------------------------------------------------------------------------- Concatenate, Stack
_JOIN_PORTS = ("a", "b", "c", "d")


def _join_inputs(values: dict) -> list[tuple[str, np.ndarray]]:
    return [(p, as_array(values[p], p)) for p in _JOIN_PORTS if values.get(p) is not None]


def _shapes(items) -> str:
    return ", ".join(f"{p} {shape_text(a.shape)}" for p, a in items)


def _concatenate(node, **values):
    items = _join_inputs(values)
    first_port, first = items[0]
    for p, a in items[1:]:
        if a.ndim != first.ndim:
            raise HaibalValueError(f"inputs {first_port!r} (rank {first.ndim}) and {p!r} (rank {a.ndim}) "
                                   f"have different ranks; shapes: {_shapes(items)}")
    if first.ndim == 0:
        raise HaibalValueError(f"input {first_port!r} is a scalar; concatenate needs arrays (use Stack)")
    axis = check_axis(node["axis"], first.ndim, first_port)
    for p, a in items[1:]:
        for d in range(first.ndim):
            if d != axis and a.shape[d] != first.shape[d]:
                raise HaibalValueError(f"cannot concatenate along axis {node['axis']}: inputs "
                                       f"{first_port!r} and {p!r} differ in size on axis {d}; "
                                       f"shapes: {_shapes(items)}")
    return np.concatenate([a for _, a in items], axis=axis)


def _stack(node, **values):
    items = _join_inputs(values)
    first_port, first = items[0]
    for p, a in items[1:]:
        if a.shape != first.shape:
            raise HaibalValueError(f"cannot stack inputs of different shapes: {_shapes(items)}")
    axis = check_axis(node["axis"], first.ndim + 1, "result")
    return np.stack([a for _, a in items], axis=axis)


def _join_ports(what: str, rank: PortType) -> tuple[Port, ...]:
    return (Port("a", rank, f"first array {what}."), Port("b", rank, f"second array {what}."),
            Port("c", rank, "optional third array.", default=None),
            Port("d", rank, "optional fourth array.", default=None))


def _plus_one(wired, params) -> PortType:
    t = broadcast(_JOIN_PORTS)(wired, params)
    return PortType(t.kind, t.min_rank + 1, None if t.max_rank is None else t.max_rank + 1)


_JOIN_AXIS = Param("axis", "int", 0, "the axis along which the arrays are joined.")
Concatenate = _node(
    name="Concatenate", fn=_concatenate,
    batch=_JOIN_PORTS,
    inputs=_join_ports("(rank >= 1)", ANY_ARRAY),
    outputs=(Port(RESULT, ANY, "the joined array (same rank; dtype promoted as NumPy does)."),),
    params=(_JOIN_AXIS,),
    variants=(variant("array", {p: ANY_ARRAY for p in _JOIN_PORTS}, {RESULT: broadcast(_JOIN_PORTS)},
                      "2 to 4 arrays of one rank -> one array"),),
    description="Joins 2 to 4 arrays along an existing axis (NumPy's concatenate): their shapes must "
                "agree on every other axis.",
    use_cases=("Join the batches of two data sources along axis 0.",
               "Append a feature column to a table along axis 1."),
)
Stack = _node(
    name="Stack", fn=_stack,
    batch=_JOIN_PORTS,
    inputs=_join_ports("(any rank)", ANY),
    outputs=(Port(RESULT, ANY, "the stacked array, one rank higher."),),
    params=(Param("axis", "int", 0, "the position of the new axis in the result."),),
    variants=(variant("array", {p: ANY for p in _JOIN_PORTS}, {RESULT: _plus_one},
                      "2 to 4 arrays of one shape -> one array with a new axis"),),
    description="Stacks 2 to 4 arrays of the same shape along a new axis (NumPy's stack).",
    use_cases=("Build a batch from single samples.", "Put predictions of several models side by side."),
)


# ---------------------------------------------------------------------------- Slice
def _slice(node, x):
    arr = as_array(x, "x")
    text = node["index"]
    index = parse_index(text)
    consumed, _ = index_rank_change(index)
    if consumed > arr.ndim:
        raise HaibalValueError(f"index {text!r} has {consumed} entries but input 'x' has rank {arr.ndim} "
                               f"(shape {shape_text(arr.shape)})")
    try:
        return arr[index]
    except IndexError as exc:
        raise HaibalValueError(f"index {text!r} does not fit input 'x' of shape {shape_text(arr.shape)}: "
                               f"{exc}") from None


def _slice_type(wired, params) -> PortType:
    t = wired.get("x", ANY)
    if params is None:
        return PortType(t.kind)
    consumed, change = index_rank_change(parse_index(params["index"]))
    r = exact_rank(t)
    if r is not None and consumed > r:
        return PortType(t.kind)  # the run names the problem
    return rank_range(t.kind, t.min_rank + change, None if t.max_rank is None else t.max_rank + change)


Slice = _node(
    name="Slice", fn=_slice,
    batch=('x',),
    inputs=(Port("x", ANY, "array to index (any dtype)."),),
    outputs=(Port(RESULT, ANY, "the selected part (same dtype)."),),
    params=(Param("index", "str", "...", "NumPy basic indexing as text: integers, start:stop:step slices, "
                  "... and None, separated by commas, e.g. 0, 1:3, ::2 or ..., -1."),),
    validators={"index": parse_index},
    variants=(variant("array", {"x": ANY}, {RESULT: _slice_type}, "any array -> the selected part"),),
    description="Selects part of an array with NumPy's basic indexing written as text, as between the "
                "brackets of x[...]: an integer picks one index and drops the axis, a slice keeps it, "
                "... stands for the remaining axes and None adds an axis of size 1. The text is parsed, "
                "never evaluated.",
    use_cases=("Take the first sample of a batch: 0.", "Keep the probability of class 1: ..., 1.",
               "Subsample an image: ::2, ::2."),
)


# ---------------------------------------------------------------------------- OneHot
def _integral(value, port: str) -> np.ndarray:
    arr = as_numeric(value, port)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    bad = ~np.isfinite(arr) | (arr != np.rint(arr))
    if bad.any():
        raise HaibalValueError(f"input {port!r} holds {arr[bad].flat[0].item()!r}, not an integer")
    return arr.astype(np.int64)


def _one_hot(node, indices):
    idx = _integral(indices, "indices")
    n = node["num_classes"]
    outside = (idx < 0) | (idx >= n)
    if node["out_of_range"] == "error" and outside.any():
        raise HaibalValueError(f"input 'indices' holds {idx[outside].flat[0].item()}, outside [0, {n}) "
                               f"(num_classes = {n}); set out_of_range to 'zeros' to get all-zero rows")
    ndim = idx.ndim + 1
    if not -ndim <= node["axis"] < ndim:
        raise HaibalValueError(f"parameter 'axis' = {node['axis']} is out of bounds for the result of "
                               f"rank {ndim} (allowed: -{ndim}..{ndim - 1})")
    shape = idx.shape + (n,)
    node.context.limits.check_value(shape, np.dtype(node["dtype"]).itemsize,
                                    f"a one-hot array of shape {shape_text(shape)} {node['dtype']}")
    out = np.zeros(shape, node["dtype"])  # checked before allocating; no temporary of that size
    inside = ~outside.reshape(-1)
    out.reshape(-1, n)[np.flatnonzero(inside), idx.reshape(-1)[inside]] = 1
    return np.moveaxis(out, -1, node["axis"])


def _dtype_kind(params) -> str | None:
    return None if params is None else kind_of(params["dtype"])


def _one_hot_type(wired, params) -> PortType:
    return shifted("indices", _dtype_kind(params) or "any", lambda p: (1, 1))(wired, params)


OneHot = _node(
    name="OneHot", fn=_one_hot,
    batch=('indices',),
    inputs=(Port("indices", PortType("int"), "integer class ids (integral floats are accepted)."),),
    outputs=(Port(RESULT, ANY, "the one-hot array, one rank higher (dtype from the dtype parameter)."),),
    params=(Param("num_classes", "int", 2, "the number of classes (the size of the new axis).", minimum=1),
            Param("axis", "int", -1, "the position of the new class axis."),
            Param("dtype", "enum", "float32", "the dtype of the result.", choices=DTYPES[:4]),
            Param("out_of_range", "enum", "error", "ids outside [0, num_classes): an error, or all-zero "
                  "rows (TensorFlow's one_hot).", choices=("error", "zeros"))),
    variants=(variant("scalar", {"indices": PortType.of("int", 0)}, {RESULT: _one_hot_type},
                      "one id -> one one-hot vector"),
              variant("array", {"indices": PortType("int", 1, None)}, {RESULT: _one_hot_type},
                      "ids of any rank -> one-hot array one rank higher")),
    description="Converts integer class ids to one-hot vectors (Keras' one_hot): 1 at the id's position "
                "on a new axis of size num_classes, 0 elsewhere.",
    use_cases=("Turn integer labels into the one-hot labels of CategoricalCrossentropy.",
               "Label maps (N, H, W) to one-hot masks (N, H, W, C) for Dice."),
)


# ---------------------------------------------------------------------------- ArgMax
def _argmax(node, x):
    arr = as_array(x, "x")
    axis = check_axis(node["axis"], arr.ndim, "x")
    if arr.shape[axis] == 0:
        raise HaibalValueError(f"input 'x' has no values along axis {node['axis']} (shape {shape_text(arr.shape)})")
    return np.argmax(arr, axis=axis, keepdims=node["keepdims"])


def _keep(params) -> tuple[int, int]:
    if params is None:
        return (-1, 0)
    return (0, 0) if params["keepdims"] else (-1, -1)


ArgMax = _node(
    name="ArgMax", fn=_argmax,
    batch=('x',),
    inputs=(Port("x", ANY_ARRAY, "array of scores (rank >= 1)."),),
    outputs=(Port(RESULT, PortType("int"), "int64 indices of the largest values (the first one on ties)."),),
    params=(Param("axis", "int", -1, "the axis searched (the class axis)."),
            Param("keepdims", "bool", False, "keep the searched axis, with size 1.")),
    variants=(variant("array", {"x": ANY_ARRAY}, {RESULT: shifted("x", "int", _keep)},
                      "array of rank r -> int indices of rank r-1 (r with keepdims)"),),
    description="Gives the index of the largest value along an axis (Keras' argmax); on ties the first "
                "index, and a NaN counts as the largest.",
    use_cases=("Predicted class ids from probabilities or logits, to compare with integer labels.",
               "A label map from per-pixel class scores."),
)


# ---------------------------------------------------------------------------- Where
def _where(node, condition, x, y):
    items = [("condition", as_array(condition, "condition")), ("x", as_array(x, "x")), ("y", as_array(y, "y"))]
    cond = items[0][1]
    if cond.dtype.kind not in "biuf":
        raise HaibalValueError(f"input 'condition' must hold booleans or numbers, got dtype {cond.dtype}")
    try:
        np.broadcast_shapes(*(a.shape for _, a in items))
    except ValueError:
        named = [f"{p!r} (shape {shape_text(a.shape)})" for p, a in items]
        raise HaibalValueError(f"inputs {named[0]}, {named[1]} and {named[2]} do not broadcast together") from None
    return np.where(cond.astype(bool, copy=False), items[1][1], items[2][1])


def _where_type(wired, params) -> PortType:
    t = broadcast(("condition", "x", "y"))(wired, params)
    kinds = [wired[p].kind for p in ("x", "y") if p in wired]
    return PortType(join_kinds(*kinds) if len(kinds) == 2 else "any", t.min_rank, t.max_rank)


Where = _node(
    name="Where", fn=_where,
    batch=('condition', 'x', 'y'),
    inputs=(Port("condition", ANY, "booleans (numbers: non-zero is true), broadcast with x and y."),
            Port("x", ANY, "values taken where condition is true."),
            Port("y", ANY, "values taken where condition is false.")),
    outputs=(Port(RESULT, ANY, "x where condition, else y (broadcast shape, promoted dtype)."),),
    variants=(variant("array", {"condition": ANY, "x": ANY, "y": ANY}, {RESULT: _where_type},
                      "any ranks that broadcast together"),),
    description="Chooses, element by element, x where condition is true and y elsewhere (NumPy's where); "
                "the three inputs are broadcast together.",
    use_cases=("Replace a 'void' label (255) by another class before a loss.",
               "Zero the predictions outside a mask."),
)


# ---------------------------------------------------------------------------- Cast
def _cast(node, x):
    arr = as_numeric(x, "x")
    dtype = np.dtype(node["dtype"])
    if dtype.kind in "iu" and arr.dtype.kind in "iuf":
        if arr.dtype.kind == "f":
            bad = ~np.isfinite(arr)
            if bad.any():
                raise HaibalValueError(f"input 'x' holds {arr[bad].flat[0].item()!r}, which has no "
                                       f"{dtype.name} value")
            arr = np.trunc(arr)
        info = np.iinfo(dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            bad = arr[(arr < info.min) | (arr > info.max)].flat[0].item()
            raise HaibalValueError(f"input 'x' holds {bad!r}, outside the range of {dtype.name} "
                                   f"[{info.min}, {info.max}]")
    return arr.astype(dtype)


def _cast_rule(wired, params) -> PortType:
    return same_as("x", _dtype_kind(params) or "any")(wired, params)


Cast = _node(
    name="Cast", fn=_cast,
    batch=('x',),
    inputs=(Port("x", ANY, "numbers or booleans."),),
    outputs=(Port(RESULT, ANY, "the values in the new dtype (same shape)."),),
    params=(Param("dtype", "enum", "float32", "the dtype of the result.", choices=DTYPES),),
    variants=(variant("scalar", {"x": ANY_SCALAR}, {RESULT: _cast_rule}, "one value -> one value"),
              variant("array", {"x": ANY_ARRAY}, {RESULT: _cast_rule}, "an array -> the same shape")),
    description="Converts values to another dtype (Keras' cast). Floats become integers by truncation "
                "toward zero; NaN, infinity and values outside the integer type's range are refused "
                "rather than wrapped. To bool: non-zero is true.",
    use_cases=("Integer labels to float targets for a regression loss.",
               "Float label maps read from a CSV file to int32 class ids.", "A mask to booleans for Where."),
)


# ---------------------------------------------------------------------------- Clip
def _clip(node, x):
    arr = as_numeric(x, "x")
    if arr.dtype.kind == "b":
        raise HaibalValueError("input 'x' holds booleans; Clip takes numbers (Cast them first)")
    lo, hi = node["min"], node["max"]
    if lo is not None and hi is not None and lo > hi:
        raise HaibalValueError(f"parameter 'min' ({lo}) is above parameter 'max' ({hi})")
    if arr.dtype.kind in "iu":  # integer bounds inside the dtype: the result keeps x's dtype
        info = np.iinfo(arr.dtype)
        lo = None if lo is None else int(min(max(np.ceil(lo), info.min), info.max))
        hi = None if hi is None else int(max(min(np.floor(hi), info.max), info.min))
        if lo is not None and hi is not None and lo > hi:
            raise HaibalValueError(f"no integer lies between min ({node['min']}) and max ({node['max']}) "
                                   f"for integer input 'x'")
    if lo is None and hi is None:
        return arr
    return np.clip(arr, lo, hi)


_BOUND = "none: no {} bound."
Clip = _node(
    name="Clip", fn=_clip,
    batch=('x',),
    inputs=(Port("x", ANY, "numbers."),),
    outputs=(Port(RESULT, ANY, "the values limited to [min, max] (same dtype and shape; NaN stays NaN)."),),
    params=(Param("min", "float", 0.0, "the lower bound; " + _BOUND.format("lower"), optional=True),
            Param("max", "float", 1.0, "the upper bound; " + _BOUND.format("upper"), optional=True)),
    variants=(variant("scalar", {"x": ANY_SCALAR}, {RESULT: same_as("x")}, "one value -> one value"),
              variant("array", {"x": ANY_ARRAY}, {RESULT: same_as("x")}, "an array -> the same shape")),
    description="Limits values to the interval [min, max] (Keras' clip): smaller values become min, larger "
                "ones max. Integer inputs keep their dtype (the bounds are rounded inward).",
    use_cases=("Keep probabilities inside [1e-7, 1 - 1e-7] before a logarithm.",
               "Limit predictions to the valid range of the target."),
)
