"""Array nodes: reshape, transpose, concatenate, stack, slice, one_hot, argmax, where, cast, clip.

Numbers are checked against values written out by hand (or NumPy's own indexing for the
property tests), in float32 and float64; static output types against the ranks the
parameters imply; errors by their type and the node, port and value they name.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haibal_py import CATALOG, Batches, HaibalValueError, ParameterError, PortTypeError
from haibal_py.graph import Graph
from haibal_py.runtime import NodeRunError, Runtime
from haibal_py.node.types import PortType

FLOATS = [np.float32, np.float64]


def make(name, **params):
    return CATALOG.get(f"haibal.array.{name}")(**params)


def run(name, params=None, **inputs):
    return make(name, **(params or {}))(**inputs)["result"]


def out_type(name, params=None, **wired):
    return str(make(name, **(params or {})).output_types({k: PortType.parse(v) for k, v in wired.items()})["result"])


def test_the_array_palette():
    names = {c.display_name for c in CATALOG.in_category("Array")}
    assert names == {"Reshape", "Transpose", "Concatenate", "Stack", "Slice", "OneHot", "ArgMax", "Where",
                     "Cast", "Clip"}
    assert all(c.type_id == f"haibal.array.{c.display_name}" for c in CATALOG.in_category("Array"))


# ---------------------------------------------------------------------------- Reshape
@pytest.mark.parametrize("dtype", FLOATS + [np.int32])
def test_reshape_keeps_values_and_dtype(dtype):
    got = run("Reshape", {"shape": "2, -1"}, x=np.arange(6, dtype=dtype))
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [[0, 1, 2], [3, 4, 5]])
    assert run("Reshape", {"shape": "(3, 2)"}, x=np.arange(6, dtype=dtype)).shape == (3, 2)
    assert run("Reshape", {"shape": ""}, x=np.array([7.0], dtype=dtype)).shape == ()


def test_reshape_wired_shape_replaces_the_parameter():
    got = run("Reshape", {"shape": "6"}, x=np.arange(6.0), shape=np.array([3, -1]))
    assert got.shape == (3, 2)
    assert run("Reshape", x=np.arange(6.0), shape=np.array([1.0, 6.0])).shape == (1, 6)


def test_reshape_error_names_node_shapes():
    with pytest.raises(HaibalValueError) as err:
        run("Reshape", {"shape": "4, -1"}, x=np.arange(6))
    assert str(err.value) == "Reshape: input 'x': cannot reshape array of shape (6,) into (4, -1)"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize("text, why", [("2, x", "'x' is not an integer"), ("-1, -1", "more than once"),
                                       ("-2, 3", "below -1"), ("2,,3", "empty entry")])
def test_reshape_bad_shape_text(text, why):
    with pytest.raises(ParameterError, match=why) as err:
        make("Reshape", shape=text)
    assert "Reshape" in str(err.value) and "'shape'" in str(err.value)


@pytest.mark.parametrize("shape", [np.array([1.5, 4.0]), np.array([-3, 2]), np.array([-1, -1])])
def test_reshape_bad_wired_shape(shape):
    with pytest.raises(HaibalValueError, match="input 'shape'"):
        run("Reshape", x=np.arange(6.0), shape=shape)
    with pytest.raises(PortTypeError, match="port 'shape' expects int\\[1\\], got int\\[2\\]"):
        run("Reshape", x=np.arange(6.0), shape=np.array([[2, 3]]))


def test_reshape_static_types():
    assert out_type("Reshape", {"shape": "2, -1"}, x="float[1]") == "float[2]"
    assert out_type("Reshape", {"shape": "-1"}, x="int[4]") == "int[1]"
    assert out_type("Reshape", {"shape": ""}, x="bool[1]") == "bool[0]"
    assert out_type("Reshape", {"shape": "2, -1"}, x="float[1]", shape="int[1]") == "float"


# ---------------------------------------------------------------------------- Transpose
def test_transpose_reverses_or_permutes():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(run("Transpose", x=x), x.T)
    got = run("Transpose", {"axes": "0, 2, 1"}, x=x)
    assert got.shape == (2, 4, 3) and got[1, 3, 2] == x[1, 2, 3]
    assert run("Transpose", {"axes": "0, -1, 1"}, x=x).shape == (2, 4, 3)
    assert out_type("Transpose", {"axes": "1, 0"}, x="int[2]") == "int[2]"


def test_transpose_errors():
    x = np.zeros((2, 3, 4))
    with pytest.raises(HaibalValueError, match=r"'axes' = '1, 0' has 2 axes but input 'x' has rank 3"):
        run("Transpose", {"axes": "1, 0"}, x=x)
    with pytest.raises(HaibalValueError, match=r"'axes' = 3 is out of bounds for input 'x' of rank 3"):
        run("Transpose", {"axes": "0, 1, 3"}, x=x)
    with pytest.raises(HaibalValueError, match="names an axis twice"):
        run("Transpose", {"axes": "0, 2, -1"}, x=x)
    with pytest.raises(ParameterError, match="repeats"):
        make("Transpose", axes="1, 1")


# ---------------------------------------------------------------------------- Concatenate, Stack
def test_concatenate_two_to_four_inputs():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(run("Concatenate", a=a, b=b), [[1, 2], [3, 4], [5, 6]])
    got = run("Concatenate", {"axis": 1}, a=a, b=a, c=a, d=a)
    np.testing.assert_array_equal(got, [[1, 2, 1, 2, 1, 2, 1, 2]])
    mixed = run("Concatenate", a=np.array([1, 2]), b=np.array([0.5], dtype=np.float32))
    assert mixed.dtype.kind == "f" and mixed.tolist() == [1.0, 2.0, 0.5]


def test_concatenate_errors_name_the_shapes():
    with pytest.raises(HaibalValueError, match=r"differ in size on axis 1; shapes: a \(2, 2\), b \(2, 3\)"):
        run("Concatenate", a=np.zeros((2, 2)), b=np.zeros((2, 3)))
    with pytest.raises(HaibalValueError, match=r"'a' \(rank 2\) and 'c' \(rank 1\)"):
        run("Concatenate", a=np.zeros((2, 2)), b=np.zeros((2, 2)), c=np.zeros(2))
    with pytest.raises(HaibalValueError, match=r"'axis' = 2 is out of bounds for input 'a' of rank 2"):
        run("Concatenate", {"axis": 2}, a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(PortTypeError):  # scalars do not fit the array instance
        run("Concatenate", a=1.0, b=2.0)


def test_stack_adds_an_axis():
    a, b, c = np.array([1, 2]), np.array([3, 4]), np.array([5, 6])
    np.testing.assert_array_equal(run("Stack", a=a, b=b, c=c), [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(run("Stack", {"axis": -1}, a=a, b=b), [[1, 3], [2, 4]])
    assert run("Stack", a=1.5, b=2.5).tolist() == [1.5, 2.5]
    with pytest.raises(HaibalValueError, match=r"different shapes: a \(2,\), b \(3,\)"):
        run("Stack", a=a, b=np.zeros(3))
    with pytest.raises(HaibalValueError, match="'axis' = 2 is out of bounds"):
        run("Stack", {"axis": 2}, a=a, b=b)


def test_join_static_types():
    assert out_type("Concatenate", a="float[2]", b="float[2]") == "float[2]"
    assert out_type("Concatenate", a="int[1]", b="float[1]") == "float[1]"
    assert out_type("Stack", a="int[2]", b="int[2]", c="int[2]") == "int[3]"
    assert out_type("Stack", a="float[0]", b="float[0]") == "float[1]"


# ---------------------------------------------------------------------------- Slice
X3 = np.arange(24).reshape(2, 4, 3)


@pytest.mark.parametrize("text, expected", [
    ("0, 1:3, ::2", X3[0, 1:3, ::2]), ("..., -1", X3[..., -1]), ("None, :", X3[None, :]),
    ("", X3), ("1", X3[1]), ("0,", X3[0]), (":, ::-1, 1", X3[:, ::-1, 1]), ("-1, newaxis, 2:", X3[-1, None, 2:]),
    ("1:, :2:, 0:3:2", X3[1:, :2, 0:3:2]),
])
def test_slice_numbers(text, expected):
    got = run("Slice", {"index": text}, x=X3)
    np.testing.assert_array_equal(got, expected)
    assert np.shape(got) == expected.shape


@pytest.mark.parametrize("text", ["1:2:3:4", "a", "0,,1", "::0", "..., ...", "__import__('os').system('x')",
                                  "1.5", "[0]", "0; 1"])
def test_slice_bad_text_is_refused_without_eval(text):
    with pytest.raises(ParameterError) as err:
        make("Slice", index=text)
    assert "Slice" in str(err.value) and "'index'" in str(err.value) and repr(text) in str(err.value)


def test_slice_errors_at_run():
    with pytest.raises(HaibalValueError, match=r"index '0, 1, 2, 0' has 4 entries but input 'x' has rank 3 "
                                               r"\(shape \(2, 4, 3\)\)"):
        run("Slice", {"index": "0, 1, 2, 0"}, x=X3)
    with pytest.raises(HaibalValueError, match=r"index '5' does not fit input 'x' of shape \(2, 4, 3\)"):
        run("Slice", {"index": "5"}, x=X3)


def test_slice_static_types():
    assert out_type("Slice", {"index": "0, 1:3, ::2"}, x="float[3]") == "float[2]"
    assert out_type("Slice", {"index": "None, ..."}, x="int[3]") == "int[4]"
    assert out_type("Slice", {"index": "0"}, x="float[1+]") == "float"  # rank 0 or more
    assert out_type("Slice", {"index": "0, 0"}, x="float[2..4]") == "float[0..2]"


@st.composite
def index_parts(draw):
    ndim = draw(st.integers(1, 3))
    shape = draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim))
    parts, index = [], []
    for size in shape[:draw(st.integers(0, ndim))]:
        if draw(st.booleans()):
            i = draw(st.integers(-size, size - 1))
            parts.append(str(i))
            index.append(i)
        else:
            start, stop = draw(st.none() | st.integers(-6, 6)), draw(st.none() | st.integers(-6, 6))
            step = draw(st.none() | st.integers(-3, 3).filter(lambda s: s != 0))
            text = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
            if step is not None:
                text += ":" + str(step)
            parts.append(text)
            index.append(slice(start, stop, step))
    return tuple(shape), ", ".join(parts), tuple(index)


@settings(max_examples=150, deadline=None)
@given(index_parts())
def test_slice_text_equals_numpy_indexing(case):
    shape, text, index = case
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    node = make("Slice", index=text)
    np.testing.assert_array_equal(node(x=x)["result"], x[index])
    rank = node.output_types({"x": PortType.of("float", len(shape))})["result"]
    assert rank.min_rank == rank.max_rank == x[index].ndim


# ---------------------------------------------------------------------------- OneHot
def test_one_hot_numbers_and_dtypes():
    got = run("OneHot", {"num_classes": 3}, indices=np.array([0, 2, 1]))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    got = run("OneHot", {"num_classes": 3, "axis": 0, "dtype": "float64"}, indices=np.array([0, 2]))
    assert got.dtype == np.float64 and got.tolist() == [[1, 0], [0, 0], [0, 1]]
    assert run("OneHot", {"num_classes": 4, "dtype": "int32"}, indices=np.int64(1)).tolist() == [0, 1, 0, 0]
    maps = run("OneHot", {"num_classes": 2}, indices=np.array([[[0, 1]]]))
    assert maps.shape == (1, 1, 2, 2)
    assert run("OneHot", {"num_classes": 2}, indices=np.array([1.0, 0.0])).tolist() == [[0, 1], [1, 0]]


def test_one_hot_out_of_range():
    with pytest.raises(HaibalValueError, match=r"'indices' holds 3, outside \[0, 3\) \(num_classes = 3\)"):
        run("OneHot", {"num_classes": 3}, indices=np.array([0, 3]))
    got = run("OneHot", {"num_classes": 3, "out_of_range": "zeros"}, indices=np.array([3, -1, 2]))
    np.testing.assert_array_equal(got, [[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    with pytest.raises(HaibalValueError, match=r"'indices' holds 1.5, not an integer"):
        run("OneHot", {"num_classes": 3}, indices=np.array([1.5]))
    with pytest.raises(HaibalValueError, match="'axis' = 2 is out of bounds for the result of rank 2"):
        run("OneHot", {"num_classes": 3, "axis": 2}, indices=np.array([1]))
    with pytest.raises(ParameterError, match="num_classes"):
        make("OneHot", num_classes=0)


def test_one_hot_instances_and_types():
    node = make("OneHot", num_classes=3)
    assert node.select({"indices": PortType.parse("int[0]")}).instance.name == "scalar"
    sel = node.select({"indices": PortType.parse("float[2]")})
    assert sel.instance.name == "array" and sel.coerced == ("indices",)
    assert out_type("OneHot", {"num_classes": 3}, indices="int[2]") == "float[3]"
    assert out_type("OneHot", {"num_classes": 3, "dtype": "int64"}, indices="int[0]") == "int[1]"


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(0, n - 1), min_size=1, max_size=20), st.integers(-2, 1))))
def test_one_hot_then_argmax_is_identity(case):
    n, labels, axis = case
    labels = np.array(labels).reshape(-1, 1) if axis in (-2, 1) else np.array(labels)
    axis = axis if labels.ndim == 2 else -1
    hot = run("OneHot", {"num_classes": n, "axis": axis}, indices=labels)
    np.testing.assert_array_equal(run("ArgMax", {"axis": axis}, x=hot), labels)


# ---------------------------------------------------------------------------- ArgMax
@pytest.mark.parametrize("dtype", FLOATS)
def test_argmax_numbers(dtype):
    x = np.array([[0.1, 0.7, 0.2], [0.5, 0.5, 0.0]], dtype=dtype)
    got = run("ArgMax", x=x)
    assert got.dtype == np.int64 and got.tolist() == [1, 0]  # ties: the first
    assert run("ArgMax", {"axis": 0}, x=x).tolist() == [1, 0, 0]
    assert run("ArgMax", {"keepdims": True}, x=x).tolist() == [[1], [0]]
    assert run("ArgMax", x=np.array([1.0, np.nan, 3.0], dtype=dtype)) == 1


def test_argmax_types_and_errors():
    assert out_type("ArgMax", x="float[3]") == "int[2]"
    assert out_type("ArgMax", {"keepdims": True}, x="float[3]") == "int[3]"
    assert out_type("ArgMax", x="float[1]") == "int[0]"
    with pytest.raises(HaibalValueError, match=r"'axis' = 2 is out of bounds for input 'x' of rank 2 "
                                               r"\(allowed: -2..1\)"):
        run("ArgMax", {"axis": 2}, x=np.zeros((2, 3)))
    with pytest.raises(HaibalValueError, match=r"no values along axis -1 \(shape \(2, 0\)\)"):
        run("ArgMax", x=np.zeros((2, 0)))
    with pytest.raises(PortTypeError):
        run("ArgMax", x=3.0)


# ---------------------------------------------------------------------------- Where
def test_where_broadcasts():
    cond = np.array([[True], [False]])
    got = run("Where", condition=cond, x=np.array([[1.0, 2.0, 3.0]]), y=0.0)
    np.testing.assert_array_equal(got, [[1, 2, 3], [0, 0, 0]])
    labels = np.array([0, 255, 2])
    np.testing.assert_array_equal(run("Where", condition=labels == 255, x=1, y=labels), [0, 1, 2])
    assert run("Where", condition=np.array([0, 2]), x=np.array([5, 5]), y=np.array([7, 7])).tolist() == [7, 5]


def test_where_errors_and_types():
    with pytest.raises(HaibalValueError, match=r"'condition' \(shape \(2,\)\), 'x' \(shape \(3,\)\) and 'y' "
                                               r"\(shape \(\)\) do not broadcast together"):
        run("Where", condition=np.array([True, False]), x=np.zeros(3), y=1.0)
    assert out_type("Where", condition="bool[2]", x="int[2]", y="float[0]") == "float[2]"
    assert out_type("Where", condition="bool[1]", x="int[3]", y="int[0]") == "int[3]"


# ---------------------------------------------------------------------------- Cast
def test_cast_numbers():
    got = run("Cast", {"dtype": "int32"}, x=np.array([-1.7, 2.9, 0.0]))
    assert got.dtype == np.int32 and got.tolist() == [-1, 2, 0]
    got = run("Cast", {"dtype": "float32"}, x=np.array([1, 2]))
    assert got.dtype == np.float32 and got.tolist() == [1.0, 2.0]
    assert run("Cast", {"dtype": "bool"}, x=np.array([0.0, -2.0, np.nan])).tolist() == [False, True, True]
    assert run("Cast", {"dtype": "uint8"}, x=np.array([255.9, 0.0])).tolist() == [255, 0]
    assert run("Cast", {"dtype": "float64"}, x=np.float32(0.5)).dtype == np.float64


@pytest.mark.parametrize("x, dtype, match", [
    (np.array([1.0, np.nan]), "int64", "holds nan, which has no int64 value"),
    (np.array([np.inf]), "int32", "holds inf"),
    (np.array([300.0]), "uint8", r"holds 300.0, outside the range of uint8 \[0, 255\]"),
    (np.array([-1]), "uint8", r"holds -1, outside the range of uint8"),
    (np.array([2 ** 40]), "int32", "outside the range of int32"),
])
def test_cast_refuses_values_it_would_wrap(x, dtype, match):
    with pytest.raises(HaibalValueError, match=match):
        run("Cast", {"dtype": dtype}, x=x)


def test_cast_instances_and_types():
    assert make("Cast").select({"x": PortType.parse("int[0]")}).instance.name == "scalar"
    assert out_type("Cast", {"dtype": "int32"}, x="float[2]") == "int[2]"
    assert out_type("Cast", {"dtype": "bool"}, x="float[0]") == "bool[0]"
    with pytest.raises(ParameterError, match="dtype"):
        make("Cast", dtype="complex64")


# ---------------------------------------------------------------------------- Clip
@pytest.mark.parametrize("dtype", FLOATS)
def test_clip_floats(dtype):
    x = np.array([-1.0, 0.25, 2.0, np.nan], dtype=dtype)
    got = run("Clip", x=x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.array([0.0, 0.25, 1.0, np.nan], dtype=dtype))
    eps = 1e-7
    got = run("Clip", {"min": eps, "max": 1 - eps}, x=np.array([0.0, 1.0], dtype=dtype))
    np.testing.assert_array_equal(got, np.array([eps, 1 - eps], dtype=dtype))
    assert run("Clip", {"min": None}, x=np.array([-5.0, 5.0], dtype=dtype)).tolist() == [-5.0, 1.0]
    assert run("Clip", {"min": None, "max": None}, x=np.array([-5.0], dtype=dtype)).tolist() == [-5.0]


def test_clip_integers_keep_their_dtype():
    got = run("Clip", {"min": 0.5, "max": 2.5}, x=np.arange(4, dtype=np.int32))
    assert got.dtype == np.int32 and got.tolist() == [1, 1, 2, 2]
    assert run("Clip", {"min": -10.0, "max": 300.0}, x=np.array([0, 255], dtype=np.uint8)).tolist() == [0, 255]
    assert run("Clip", {"min": 2, "max": 3}, x=np.int64(7)) == 3


def test_clip_errors():
    with pytest.raises(HaibalValueError, match=r"parameter 'min' \(2.0\) is above parameter 'max' \(1.0\)"):
        run("Clip", {"min": 2.0, "max": 1.0}, x=np.zeros(2))
    with pytest.raises(HaibalValueError, match="no integer lies between min"):
        run("Clip", {"min": 0.3, "max": 0.7}, x=np.zeros(2, dtype=int))
    with pytest.raises(HaibalValueError, match="booleans"):
        run("Clip", x=np.array([True]))
    assert out_type("Clip", x="int[2]") == "int[2]"


# ---------------------------------------------------------------------------- in a graph
def test_array_nodes_in_a_graph_typed_and_run():
    g = Graph("labels")
    labels = g.add_node("haibal.io.Constant", params={"value": np.array([[2, 0], [1, 2]])})
    flat = g.add_node("haibal.array.Reshape", params={"shape": "-1"})
    hot = g.add_node("haibal.array.OneHot", params={"num_classes": 3})
    back = g.add_node("haibal.array.ArgMax")
    g.connect(labels, "value", flat, "x")
    g.connect(flat, "result", hot, "indices")
    g.connect(hot, "result", back, "x")
    g.connect(back, "result", g.add_output("ids"), "value")
    g.connect(hot, "result", g.add_output("hot", type="float[2]"), "value")
    types = g.port_types()
    assert str(types.outputs[(flat, "result")]) == "int[1]"
    assert str(types.outputs[(hot, "result")]) == "float[2]"
    assert str(types.outputs[(back, "result")]) == "int[1]"
    assert g.validate() == []
    res = Runtime(g).run()
    assert res.outputs["ids"].tolist() == [2, 0, 1, 2]
    assert res.outputs["hot"].shape == (4, 3)


def test_a_failing_array_node_names_itself_in_the_run_error():
    g = Graph()
    c = g.add_node("haibal.io.Constant", params={"value": np.arange(6)})
    r = g.add_node("haibal.array.Reshape", "to matrix", params={"shape": "4, -1"})
    g.connect(c, "value", r, "x")
    g.connect(r, "result", g.add_output("out"), "value")
    with pytest.raises(NodeRunError, match=r"\(to matrix, Reshape\) failed: input 'x': cannot reshape array of shape \(6,\) into \(4, -1\)"):
        Runtime(g).run()


def test_no_warnings_from_array_nodes():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run("Clip", x=np.array([np.nan]))
        run("ArgMax", x=np.array([np.nan, 1.0]))
        run("Where", condition=np.array([True]), x=np.array([np.inf]), y=np.array([np.nan]))


# ---------------------------------------------------------------------------- batch instances
def test_batch_instances_apply_the_node_to_every_batch():
    stream = Batches([np.array([0, 2]), np.array([1])])
    node = make("OneHot", num_classes=3)
    assert node.select({"indices": PortType.parse("seq<int[1]>")}).instance.name == "batch"
    got = node(indices=stream)["result"]
    assert isinstance(got, Batches) and len(got) == 2
    np.testing.assert_array_equal(got[0], [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(got[1], [[0, 1, 0]])
    assert str(node.output_types({"indices": PortType.parse("seq<int[1]>")})["result"]) == "seq<float[2]>"
    assert str(make("ArgMax").output_types({"x": PortType.parse("seq<float[3]>")})["result"]) == "seq<int[2]>"
    flat = run("Reshape", {"shape": "-1"}, x=Batches([np.zeros((2, 2)), np.zeros((1, 3))]))
    assert [b.shape for b in flat] == [(4,), (3,)]


def test_batch_instances_zip_sequences_and_reuse_plain_values():
    cond = Batches([np.array([True, False]), np.array([False, True])])
    got = run("Where", condition=cond, x=Batches([np.array([1, 2]), np.array([3, 4])]), y=0)
    assert [b.tolist() for b in got] == [[1, 0], [0, 4]]
    with pytest.raises(HaibalValueError, match=r"different numbers of batches \(condition 2, x 1\)"):
        run("Where", condition=cond, x=Batches([np.array([1, 2])]), y=0)
    with pytest.raises(HaibalValueError, match=r"OneHot: batch 1: input 'indices' holds 5, outside \[0, 3\)"):
        run("OneHot", {"num_classes": 3}, indices=Batches([np.array([0]), np.array([5])]))


def test_a_random_label_stream_through_one_hot_and_argmax():
    g = Graph("stream")
    src = g.add_node("haibal.io.RandomSource", params={"distribution": "integers", "low": 0, "high": 4,
                                                       "shape": "8", "batches": 3, "seed": 7})
    hot = g.add_node("haibal.array.OneHot", params={"num_classes": 4})
    back = g.add_node("haibal.array.ArgMax")
    g.connect(src, "value", hot, "indices")
    g.connect(hot, "result", back, "x")
    g.connect(src, "value", g.add_output("labels"), "value")
    g.connect(back, "result", g.add_output("ids"), "value")
    types = g.port_types()
    assert str(types.outputs[(hot, "result")]) == "seq<float[2]>" and types.instances[back] == "batch"
    assert g.validate() == []
    res = Runtime(g).run()
    assert len(res.outputs["ids"]) == 3
    for labels, ids in zip(res.outputs["labels"], res.outputs["ids"]):
        np.testing.assert_array_equal(labels, ids)


# ---------------------------------------------------------------------------- saved graphs and the CLI
def _saved_graph(tmp_path):
    g = Graph("reshape and pick")
    g.add_input("x", default=np.arange(6.0), type="float[1]")
    r = g.add_node("haibal.array.Reshape", "matrix", params={"shape": "2, -1"}, id="matrix")
    s = g.add_node("haibal.array.Slice", "last column", params={"index": "..., -1"})
    g.connect("x", "value", r, "x")
    g.connect(r, "result", s, "x")
    g.connect(s, "result", g.add_output("column"), "value")
    path = tmp_path / "graph.json"
    g.save(path)
    return path


def test_cli_runs_a_saved_graph_of_array_nodes(tmp_path):
    import json
    import subprocess
    import sys
    path = _saved_graph(tmp_path)
    out = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outputs"]["column"]["value"] == [2.0, 5.0]
    bad = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(path), "--set", "matrix.shape=4, -1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0
    assert "cannot reshape array of shape (6,) into (4, -1)" in bad.stderr


def test_a_saved_bad_text_parameter_is_a_validation_problem(tmp_path):
    path = _saved_graph(tmp_path)
    doc = path.read_text().replace('"..., -1"', '"__import__(\'os\')"')
    path.write_text(doc)
    problems = Graph.load(path).validate()
    assert [(p.code, p.port) for p in problems] == [("bad-param", "index")]
    assert "cannot read" in problems[0].message


def test_a_label_stream_one_hot_into_a_loss_batch_instance():
    from haibal_py import losses
    g = Graph()
    lab = g.add_node("haibal.io.RandomSource", params={"distribution": "integers", "low": 0, "high": 4,
                                                       "shape": "8", "batches": 3, "seed": 1})
    pred = g.add_node("haibal.io.RandomSource", params={"shape": "8, 4", "batches": 3, "seed": 2,
                                                        "dtype": "float64"})
    hot = g.add_node("haibal.array.OneHot", params={"num_classes": 4, "dtype": "float64"})
    loss = g.add_node("haibal.losses.CategoricalCrossentropy")
    g.connect(lab, "value", hot, "indices")
    g.connect(hot, "result", loss, "y_true")
    g.connect(pred, "value", loss, "y_pred")
    g.connect(loss, "result", g.add_output("loss"), "value")
    assert g.validate() == [] and g.port_types().instances[loss] == "batch"
    res = Runtime(g).run()
    labels, preds = res.values[lab]["value"], res.values[pred]["value"]
    per_sample = np.concatenate([losses.categorical_crossentropy(np.eye(4)[y], p) for y, p in zip(labels, preds)])
    assert res.outputs["loss"] == pytest.approx(per_sample.mean(), rel=1e-12)


def test_a_refused_text_parameter_keeps_the_previous_value():
    node = make("Reshape", shape="3, 2")
    with pytest.raises(ParameterError):
        node.set_param("shape", "3, two")
    assert node["shape"] == "3, 2"
    assert node(x=np.arange(6))["result"].shape == (3, 2)
