"""Math nodes (HAIBAL's Math palette): add, subtract, multiply, divide with broadcasting, the
comparisons (equal, greater, ...) giving booleans, and the reductions sum, mean, min, max
along an axis.

Instances follow LabVIEW's numeric polymorphism: a ``float`` and an ``int`` instance of each
rank class. An int wired to a float instance is coerced (the editor's coercion dot), so
int + float gives float; int + int stays int. Results follow NumPy's dtype promotion;
division by zero gives inf or nan as in NumPy, without warnings. Type ids are
``haibal.math.<Name>``.
"""

from __future__ import annotations

import warnings

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node import Param, Port
from haibal_py.node.types import PortType

from ._arrays import (RESULT, variant, array_node, as_numeric, broadcast, check_axis, rank_range,
                             shape_text)
from ._text_params import parse_axis

CATEGORY = "Math"
NODES = {}


def _to_kind(arr: np.ndarray, kind: str, port: str) -> np.ndarray:
    """An input converted for an instance of ``kind``: integers must be integral to be coerced."""
    if kind == "int" and arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.rint(arr))
        if bad.any():
            raise HaibalValueError(f"input {port!r} holds {arr[bad].flat[0].item()!r}; the int instance "
                                   f"takes integers")
        return arr.astype(np.int64)
    if kind == "int" and arr.dtype.kind == "b":
        return arr.astype(np.int64)
    return arr


def _result_kind(value, kind: str):
    """A float instance gives floats even when pinned on integer inputs (NumPy's float64)."""
    if kind == "float" and np.asarray(value).dtype.kind != "f":
        return np.asarray(value, dtype=np.float64)
    return value


# ---------------------------------------------------------------------------- arithmetic
def _operand(value, kind: str, port: str):
    if type(value) is int or (type(value) is float and kind == "float"):
        return value  # a Python number stays weak: NumPy keeps the array's dtype (float32 + 0.5)
    return _to_kind(as_numeric(value, port), kind, port)


def _binary(ufunc, kind: str, out_kind: str | None = None):
    def fn(node, x, y):
        a, b = _operand(x, kind, "x"), _operand(y, kind, "y")
        sa, sb = np.shape(a), np.shape(b)
        try:
            np.broadcast_shapes(sa, sb)
        except ValueError:
            raise HaibalValueError(f"inputs 'x' (shape {shape_text(sa)}) and 'y' (shape {shape_text(sb)}) "
                                   f"do not broadcast together") from None
        return _result_kind(ufunc(a, b), out_kind or kind)
    return fn


def _arith_variants(ufunc, kinds, out_kind: str | None = None) -> tuple[variant, ...]:
    """``float``/``int`` scalar and array instances; the result has the instance's kind, or ``out_kind``."""
    out = []
    for kind in kinds:
        scalar, any_rank = PortType.of(kind, 0), PortType(kind)
        result = out_kind or kind
        prefix = kind + " "
        out.append(variant(prefix + "scalar", {"x": scalar, "y": scalar}, {RESULT: PortType.of(result, 0)},
                           f"two numbers -> one {'boolean' if result == 'bool' else 'number'}",
                           _binary(ufunc, kind, out_kind)))
        out.append(variant(prefix + "array", {"x": any_rank, "y": any_rank}, {RESULT: broadcast(("x", "y"), result)},
                           "arrays (or an array and a number) that broadcast -> the broadcast shape",
                           _binary(ufunc, kind, out_kind)))
    return tuple(out)


# (name, ufunc, instance kinds, symbol, description, use cases)
ARITHMETIC = [
    ("Add", np.add, ("float", "int"), "x + y", "Adds two arrays element by element, with broadcasting.",
     ("Add a bias or an offset to predictions.", "Sum two losses into one objective.")),
    ("Subtract", np.subtract, ("float", "int"), "x - y",
     "Subtracts y from x element by element, with broadcasting.",
     ("Errors between predictions and targets.", "Centre data by subtracting its mean.")),
    ("Multiply", np.multiply, ("float", "int"), "x * y",
     "Multiplies two arrays element by element, with broadcasting.",
     ("Weight a loss by a factor.", "Apply a 0/1 mask to predictions.")),
    ("Divide", np.true_divide, ("float",), "x / y",
     "Divides x by y element by element, with broadcasting; the result is always float (integers are "
     "coerced). Division by zero gives inf or nan, as in NumPy, without warnings.",
     ("Normalise values by a total or a maximum.", "Ratios such as a mean from a sum and a count.")),
]

for _name, _ufunc, _kinds, _symbol, _desc, _uses in ARITHMETIC:
    NODES[_name] = array_node(
        name=_name, category=CATEGORY, fn=_binary(_ufunc, "float"), batch=("x", "y"),
        inputs=(Port("x", PortType("float"), "first operand: a number or an array."),
                Port("y", PortType("float"), "second operand: a number or an array broadcastable with x.")),
        outputs=(Port(RESULT, PortType("float" if _kinds == ("float",) else "any"),
                      f"{_symbol}, in the broadcast shape of x and y."),),
        variants=_arith_variants(_ufunc, _kinds),
        description=_desc + (" int + int stays int; int with float gives float (NumPy's promotion)."
                             if "int" in _kinds else ""),
        use_cases=_uses,
    )


# (name, ufunc, symbol, use cases)
COMPARISONS = [
    ("Equal", np.equal, "x == y", ("Mark a 'void' label (255) to replace it with Where.",
                                    "Correct predictions: ArgMax of y_pred equal to the labels.")),
    ("NotEqual", np.not_equal, "x != y", ("A mask of the valid (not ignored) labels.",)),
    ("Greater", np.greater, "x > y", ("Threshold probabilities into binary predictions.",)),
    ("GreaterEqual", np.greater_equal, "x >= y", ("Values at or above a threshold.",)),
    ("Less", np.less, "x < y", ("Values below a threshold, e.g. negative scores.",)),
    ("LessEqual", np.less_equal, "x <= y", ("Values at or below a threshold.",)),
]

for _name, _ufunc, _symbol, _uses in COMPARISONS:
    NODES[_name] = array_node(
        name=_name, category=CATEGORY, fn=_binary(_ufunc, "float", "bool"), batch=("x", "y"),
        inputs=(Port("x", PortType("float"), "first operand: a number or an array."),
                Port("y", PortType("float"), "second operand: a number or an array broadcastable with x.")),
        outputs=(Port(RESULT, PortType("bool"), f"{_symbol}, element by element (booleans, broadcast shape)."),),
        variants=_arith_variants(_ufunc, ("float", "int"), "bool"),
        description=f"Compares x and y element by element ({_symbol}), with broadcasting; gives booleans "
                    f"for Where, Sum (a count) or Mean (a fraction). A NaN compares unequal to everything.",
        use_cases=_uses,
    )


# ---------------------------------------------------------------------------- reductions
def _axes(node, arr: np.ndarray):
    axis = parse_axis(node["axis"])
    if axis is None:
        return None
    many = isinstance(axis, tuple)
    norm = tuple(check_axis(a, arr.ndim, "x") for a in (axis if many else (axis,)))
    if len(set(norm)) != len(norm):
        raise HaibalValueError(f"parameter 'axis' = {node['axis']!r} names an axis twice for input 'x' "
                               f"of rank {arr.ndim}")
    return norm if many else norm[0]


def _reduction(np_fn, what: str, kind: str, empty_ok: bool):
    def fn(node, x):
        arr = _to_kind(as_numeric(x, "x"), kind, "x")
        axis = _axes(node, arr)
        reduced = arr.size == 0 or (axis is not None and 0 in np.asarray(arr.shape)[list(np.atleast_1d(axis))])
        if reduced and not empty_ok:
            where = "" if axis is None else f" along axis {node['axis']}"
            raise HaibalValueError(f"input 'x' (shape {shape_text(arr.shape)}) has no values{where} "
                                   f"to take the {what} of")
        with warnings.catch_warnings():  # the mean of nothing is nan, quietly
            warnings.simplefilter("ignore", RuntimeWarning)
            return _result_kind(np_fn(arr, axis=axis, keepdims=node["keepdims"]), kind)
    return fn


def _reduced_type(kind: str):
    def rule(wired, params) -> PortType:
        t = wired.get("x", PortType(kind))
        if params is None:
            return PortType(kind, 0, t.max_rank)
        if params["keepdims"]:
            return PortType(kind, t.min_rank, t.max_rank)
        axis = parse_axis(params["axis"])
        if axis is None:
            return PortType.of(kind, 0)
        drop = len(axis) if isinstance(axis, tuple) else 1
        return rank_range(kind, t.min_rank - drop, None if t.max_rank is None else t.max_rank - drop)
    return rule


# (name, NumPy function, what it takes, output kind per input kind, empty input allowed, description, uses)
REDUCTIONS = [
    ("Sum", np.sum, "sum", {"float": "float", "int": "int", "bool": "int"}, True,
     "Sums the values along an axis (or all of them); booleans count as 0 and 1. The sum of nothing is 0.",
     ("Total of a per-sample loss.", "Count the true values of a mask.")),
    ("Mean", np.mean, "mean", {"float": "float", "int": "float", "bool": "float"}, True,
     "Averages the values along an axis (or all of them); integers and booleans give a float. The mean "
     "of nothing is nan.",
     ("Mean of per-sample losses (the sum_over_batch_size reduction).", "Fraction of true values of a mask.")),
    ("Min", np.min, "minimum", {"float": "float", "int": "int", "bool": "bool"}, False,
     "Gives the smallest value along an axis (or of all); a NaN wins. An empty input is refused.",
     ("Lowest score of each sample.", "Check that labels are not negative.")),
    ("Max", np.max, "maximum", {"float": "float", "int": "int", "bool": "bool"}, False,
     "Gives the largest value along an axis (or of all); a NaN wins. An empty input is refused.",
     ("Highest probability of each sample (the confidence).", "The largest label, to size one_hot.")),
]

AXIS = Param("axis", "str", "all", "the axis reduced: an integer (e.g. -1), several separated by commas "
             "(0, 2), or all.")
KEEPDIMS = Param("keepdims", "bool", False, "keep the reduced axes, with size 1.")

for _name, _np_fn, _what, _kinds, _empty_ok, _desc, _uses in REDUCTIONS:
    _variants = tuple(
        variant(k, {"x": PortType(k)}, {RESULT: _reduced_type(out)},
                f"{k} values of any rank -> {out}", _reduction(_np_fn, _what, k, _empty_ok))
        for k, out in _kinds.items())
    NODES[_name] = array_node(
        name=_name, category=CATEGORY, fn=_variants[0].compute, batch=("x",),
        inputs=(Port("x", PortType("float"), "numbers or booleans, any rank."),),
        outputs=(Port(RESULT, PortType("any"), f"the {_what}: a number (axis all) or an array with the "
                                               f"reduced axes removed (kept with size 1 by keepdims)."),),
        params=(AXIS, KEEPDIMS),
        validators={"axis": parse_axis},
        variants=_variants,
        description=_desc,
        use_cases=_uses,
    )
