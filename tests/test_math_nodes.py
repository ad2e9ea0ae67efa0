"""Math nodes: add, subtract, multiply, divide (broadcasting) and sum, mean, min, max.

Numbers are written out by hand, in float32 and float64; instance selection follows
LabVIEW's numeric polymorphism (int wired to a float instance = a coercion dot).
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from haibal_py import CATALOG, HaibalValueError, ParameterError, PortTypeError
from haibal_py.graph import Graph
from haibal_py.runtime import Runtime
from haibal_py.node.types import PortType

FLOATS = [np.float32, np.float64]


def make(name, **params):
    return CATALOG.get(f"haibal.math.{name}")(**params)


def run(name, params=None, **inputs):
    return make(name, **(params or {}))(**inputs)["result"]


def t(text):
    return PortType.parse(text)


def test_the_math_palette():
    names = {c.display_name for c in CATALOG.in_category("Math")}
    assert names == {"Add", "Subtract", "Multiply", "Divide", "Sum", "Mean", "Min", "Max",
                     "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"}
    assert all(c.type_id == f"haibal.math.{c.display_name}" for c in CATALOG.in_category("Math"))


# ---------------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, expected", [
    ("Add", [[11.0, 22.0, 33.0], [14.0, 25.0, 36.0]]),
    ("Subtract", [[-9.0, -18.0, -27.0], [-6.0, -15.0, -24.0]]),
    ("Multiply", [[10.0, 40.0, 90.0], [40.0, 100.0, 180.0]]),
    ("Divide", [[0.1, 0.1, 0.1], [0.4, 0.25, 0.2]]),
])
def test_arithmetic_broadcasts_and_keeps_the_float_dtype(dtype, name, expected):
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    y = np.array([10, 20, 30], dtype=dtype)
    got = run(name, x=x, y=y)
    assert got.dtype == dtype and got.shape == (2, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)


def test_arithmetic_on_numbers():
    assert run("Add", x=1.5, y=2.25) == 3.75
    assert run("Subtract", x=2, y=5) == -3
    assert run("Multiply", x=np.float32(0.5), y=4) == 2.0 and run("Multiply", x=np.float32(0.5), y=4).dtype == np.float32
    assert run("Divide", x=1, y=4) == 0.25
    assert run("Add", x=np.arange(3, dtype=np.float32), y=0.5).dtype == np.float32  # a number stays weak


def test_int_and_float_promotion():
    ints = run("Add", x=np.array([1, 2]), y=np.array([3, 4]))
    assert ints.dtype.kind == "i" and ints.tolist() == [4, 6]
    mixed = run("Multiply", x=np.array([1, 2]), y=np.array([0.5, 0.5]))
    assert mixed.dtype == np.float64 and mixed.tolist() == [0.5, 1.0]
    quotient = run("Divide", x=np.array([1, 3]), y=np.array([2, 2]))
    assert quotient.dtype == np.float64 and quotient.tolist() == [0.5, 1.5]


@pytest.mark.parametrize("wired, instance, coerced, out", [
    ({"x": "float[0]", "y": "float[0]"}, "float scalar", (), "float[0]"),
    ({"x": "int[0]", "y": "int[0]"}, "int scalar", (), "int[0]"),
    ({"x": "int[0]", "y": "float[0]"}, "float scalar", ("x",), "float[0]"),
    ({"x": "int[2]", "y": "float[0]"}, "float array", ("x",), "float[2]"),
    ({"x": "float[1]", "y": "int[3]"}, "float array", ("y",), "float[3]"),
    ({"x": "int[1]", "y": "int[3]"}, "int array", (), "int[3]"),
    ({"x": "float[2]", "y": "float[1]"}, "float array", (), "float[2]"),
])
def test_add_instances_coercion_and_output_types(wired, instance, coerced, out):
    sel = make("Add").select({k: t(v) for k, v in wired.items()})
    assert sel.instance.name == instance and sel.coerced == coerced
    assert str(sel.instance.output_types({k: t(v) for k, v in wired.items()})["result"]) == out


def test_divide_has_only_float_instances():
    cls = CATALOG.get("haibal.math.Divide")
    assert cls.instance_names() == ("float scalar", "float array", "float batch")
    sel = make("Divide").select({"x": t("int[1]"), "y": t("int[1]")})
    assert sel.instance.name == "float array" and sel.coerced == ("x", "y")


def test_booleans_and_text_are_broken_wires():
    with pytest.raises(PortTypeError, match="no instance accepts"):
        make("Add").select({"x": t("bool[1]"), "y": t("float[1]")})
    with pytest.raises(PortTypeError):
        run("Add", x=np.array([True]), y=np.array([1.0]))


def test_pinned_instances_convert():
    node = make("Add", instance="float array")
    got = node(x=np.array([1, 2]), y=np.array([3, 4]))["result"]
    assert got.dtype == np.float64 and got.tolist() == [4.0, 6.0]
    node = make("Add", instance="int array")
    got = node(x=np.array([1.0, 2.0]), y=np.array([3, 4]))["result"]
    assert got.dtype.kind == "i" and got.tolist() == [4, 6]
    with pytest.raises(HaibalValueError, match=r"Add: input 'x' holds 1.5; the int instance takes integers"):
        node(x=np.array([1.5]), y=np.array([1]))


def test_divide_by_zero_is_numpy_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = run("Divide", x=np.array([1.0, -1.0, 0.0]), y=0.0)
        assert got[0] == np.inf and got[1] == -np.inf and np.isnan(got[2])
        got = run("Divide", x=np.array([1, 0]), y=np.array([0, 0]))
        assert got[0] == np.inf and np.isnan(got[1])
        assert np.isnan(run("Multiply", x=np.inf, y=0.0))
        big = run("Multiply", x=np.float32(3e38), y=np.float32(10))
        assert big == np.inf and big.dtype == np.float32


def test_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(HaibalValueError) as err:
        run("Subtract", x=np.zeros((2, 3)), y=np.zeros(4))
    assert str(err.value) == "Subtract: inputs 'x' (shape (2, 3)) and 'y' (shape (4,)) do not broadcast together"


finite = st.floats(-1e6, 1e6, allow_nan=False, width=64)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=finite), finite)
def test_add_and_multiply_commute(a, s):
    b = np.full(a.shape[-1:], s)  # broadcast along the last axis
    np.testing.assert_array_equal(run("Add", x=a, y=b), run("Add", x=b, y=a))
    np.testing.assert_array_equal(run("Multiply", x=a, y=b), run("Multiply", x=b, y=a))
    np.testing.assert_array_equal(run("Subtract", x=a, y=b), -run("Subtract", x=b, y=a))


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(-1000, 1000)),
       hnp.arrays(np.int64, st.integers(1, 6), elements=st.integers(1, 1000)))
def test_int_division_round_trip(a, b):
    if a.shape != b.shape:
        b = np.resize(b, a.shape)
    q = run("Divide", x=a, y=b)
    np.testing.assert_allclose(run("Multiply", x=q, y=b), a, rtol=1e-12)


# ---------------------------------------------------------------------------- comparisons
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, expected", [
    ("Equal", [False, True, False, False]), ("NotEqual", [True, False, True, True]),
    ("Greater", [False, False, True, False]), ("GreaterEqual", [False, True, True, False]),
    ("Less", [True, False, False, False]), ("LessEqual", [True, True, False, False]),
])
def test_comparisons_give_booleans(dtype, name, expected):
    x = np.array([0.25, 0.5, 0.75, np.nan], dtype=dtype)
    got = run(name, x=x, y=0.5)
    assert got.dtype == np.bool_ and got.tolist() == expected
    assert run(name, x=np.array([1, 2, 3, 4]), y=np.array([2])).dtype == np.bool_


def test_comparison_types_and_a_void_label_replaced_in_a_graph():
    sel = make("Equal").select({"x": t("int[2]"), "y": t("int[0]")})
    assert sel.instance.name == "int array" and sel.coerced == ()
    assert str(sel.instance.output_types({"x": t("int[2]"), "y": t("int[0]")})["result"]) == "bool[2]"
    assert str(make("Less").output_types({"x": t("float[0]"), "y": t("int[0]")})["result"]) == "bool[0]"
    g = Graph()
    g.add_input("labels", default=np.array([[0, 255], [2, 1]]), type="int[2]")
    void = g.add_node("haibal.io.Constant", params={"value": 255})
    zero = g.add_node("haibal.io.Constant", params={"value": 0})
    eq = g.add_node("haibal.math.Equal")
    where = g.add_node("haibal.array.Where")
    g.connect("labels", "value", eq, "x")
    g.connect(void, "value", eq, "y")
    g.connect(eq, "result", where, "condition")
    g.connect(zero, "value", where, "x")
    g.connect("labels", "value", where, "y")
    g.connect(where, "result", g.add_output("clean", type="int[2]"), "value")
    assert g.validate() == []
    assert str(g.port_types().outputs[(where, "result")]) == "int[2]"
    assert Runtime(g).run().outputs["clean"].tolist() == [[0, 0], [2, 1]]


# ---------------------------------------------------------------------------- reductions
X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name, axis, expected", [
    ("Sum", "all", 21.0), ("Sum", "0", [5.0, 7.0, 9.0]), ("Sum", "-1", [6.0, 15.0]),
    ("Mean", "all", 3.5), ("Mean", "1", [2.0, 5.0]), ("Mean", "0, 1", 3.5),
    ("Min", "all", 1.0), ("Min", "0", [1.0, 2.0, 3.0]), ("Max", "all", 6.0), ("Max", "1", [3.0, 6.0]),
])
def test_reductions_numbers(dtype, name, axis, expected):
    got = run(name, {"axis": axis}, x=X.astype(dtype))
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    assert np.asarray(got).dtype == dtype


def test_keepdims_and_several_axes():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert run("Sum", {"axis": "0, 2", "keepdims": True}, x=x).shape == (1, 3, 1)
    # x[i, j, k] = 12i + 4j + k: the sum over i in 0..1 and k in 0..3 is 32j + 60
    np.testing.assert_array_equal(run("Sum", {"axis": "0, 2"}, x=x), [60, 92, 124])
    assert run("Max", {"keepdims": True}, x=x).shape == (1, 1, 1)
    assert run("Mean", {"axis": "(2,)"}, x=x).shape == (2, 3)


def test_reduction_dtypes():
    mask = np.array([[True, False, True], [True, True, True]])
    assert run("Sum", x=mask) == 5 and run("Sum", x=mask).dtype.kind == "i"
    assert run("Mean", {"axis": "1"}, x=mask).tolist() == [2 / 3, 1.0]
    assert run("Min", x=mask).dtype == np.bool_ and not run("Min", x=mask)
    ints = np.array([1, 2], dtype=np.int32)
    assert run("Mean", x=ints) == 1.5 and run("Mean", x=ints).dtype == np.float64
    assert run("Max", x=ints).dtype == np.int32


@pytest.mark.parametrize("name, wired, params, out, instance", [
    ("Sum", "float[3]", {"axis": "1"}, "float[2]", "float"),
    ("Sum", "float[3]", {"axis": "1", "keepdims": True}, "float[3]", "float"),
    ("Sum", "float[3]", {}, "float[0]", "float"),
    ("Sum", "bool[2]", {"axis": "0"}, "int[1]", "bool"),
    ("Mean", "int[2]", {"axis": "0, 1"}, "float[0]", "int"),
    ("Min", "int[4]", {"axis": "-1"}, "int[3]", "int"),
    ("Max", "bool[2]", {"keepdims": True}, "bool[2]", "bool"),
    ("Mean", "float[2+]", {"axis": "0"}, "float[1+]", "float"),
])
def test_reduction_types(name, wired, params, out, instance):
    node = make(name, **params)
    sel = node.select({"x": t(wired)})
    assert sel.instance.name == instance and sel.coerced == ()
    assert str(sel.instance.output_types({"x": t(wired)}, node.values)["result"]) == out
    assert str(node.output_types({"x": t(wired)})["result"]) == out


def test_reduction_errors():
    with pytest.raises(HaibalValueError, match=r"Sum: parameter 'axis' = 2 is out of bounds for input 'x' "
                                               r"of rank 2 \(allowed: -2..1\)"):
        run("Sum", {"axis": "2"}, x=X)
    with pytest.raises(HaibalValueError, match="names an axis twice"):
        run("Mean", {"axis": "1, -1"}, x=X)
    with pytest.raises(HaibalValueError, match=r"input 'x' \(shape \(0, 3\)\) has no values along axis 0 "
                                               r"to take the minimum of"):
        run("Min", {"axis": "0"}, x=np.zeros((0, 3)))
    with pytest.raises(HaibalValueError, match="to take the maximum of"):
        run("Max", x=np.zeros(0))
    for bad in ("x", "1.5", "0,,1", "0, 0"):
        with pytest.raises(ParameterError, match="'axis'"):
            make("Sum", axis=bad)


def test_empty_sum_and_mean_are_numpy_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run("Sum", x=np.zeros(0)) == 0.0
        assert math.isnan(run("Mean", x=np.zeros(0)))
        assert run("Mean", {"axis": "0"}, x=np.zeros((0, 2))).shape == (2,)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=finite))
def test_reductions_agree_with_each_other(x):
    total = run("Sum", x=x)
    np.testing.assert_allclose(run("Sum", x=run("Sum", {"axis": "0"}, x=x)), total, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(run("Mean", x=x), total / x.size, rtol=1e-9, atol=1e-9)
    assert run("Min", x=x) <= run("Mean", x=x) + 1e-9 <= run("Max", x=x) + 2e-9
    assert run("Max", {"axis": "-1"}, x=x).tolist() == (-run("Min", {"axis": "-1"}, x=-x)).tolist()


def test_math_nodes_in_a_graph():
    g = Graph("mean error")
    g.add_input("y_true", default=np.array([1, 2, 3]), type="int[1]")
    g.add_input("y_pred", default=np.array([1.5, 2.0, 2.0], dtype=np.float32), type="float[1]")
    diff = g.add_node("haibal.math.Subtract")
    sq = g.add_node("haibal.math.Multiply")
    mean = g.add_node("haibal.math.Mean")
    g.connect("y_pred", "value", diff, "x")
    g.connect("y_true", "value", diff, "y")
    g.connect(diff, "result", sq, "x")
    g.connect(diff, "result", sq, "y")
    g.connect(sq, "result", mean, "x")
    g.connect(mean, "result", g.add_output("mse", type="float[0]"), "value")
    types = g.port_types()
    assert str(types.outputs[(diff, "result")]) == "float[1]"
    assert types.instances[diff] == "float array"
    assert any(c.dst == diff and c.dst_port == "y" and w.coerced for c, w in types.wires.items())
    assert str(types.outputs[(mean, "result")]) == "float[0]"
    assert g.validate() == []
    res = Runtime(g).run()
    assert math.isclose(res.outputs["mse"], (0.25 + 0 + 1) / 3, rel_tol=1e-12)


def test_batch_instances_of_math_nodes():
    from haibal_py import Batches
    xs = Batches([np.array([1.0, 2.0]), np.array([3.0])])
    got = run("Multiply", x=xs, y=2.0)
    assert isinstance(got, Batches) and [b.tolist() for b in got] == [[2.0, 4.0], [6.0]]
    got = run("Subtract", x=xs, y=Batches([np.array([1.0, 1.0]), np.array([1.0])]))
    assert [b.tolist() for b in got] == [[0.0, 1.0], [2.0]]
    means = run("Mean", x=xs)
    assert [float(m) for m in means] == [1.5, 3.0]
    assert make("Sum").select({"x": t("seq<bool[2]>")}).instance.name == "bool batch"
    assert str(make("Sum", axis="-1").output_types({"x": t("seq<bool[2]>")})["result"]) == "seq<int[1]>"
    sel = make("Add").select({"x": t("seq<int[1]>"), "y": t("float[0]")})
    assert sel.instance.name == "float batch" and sel.coerced == ("x",)
    assert str(sel.instance.output_types({"x": t("seq<int[1]>"), "y": t("float[0]")})["result"]) == "seq<float[1]>"
