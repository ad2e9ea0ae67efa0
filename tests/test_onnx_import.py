"""``haibal_py.onnx.load``: the PyTorch and Keras fixtures against onnxruntime's outputs
(saved beside them by scripts/gen_onnx_fixtures.py), and small graphs of each supported
operator against ONNX's own reference evaluator (part of the ``onnx`` package: these tests
need neither onnxruntime nor a deep-learning framework)."""

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

import haibal_py.onnx as honnx  # noqa: E402
from haibal_py.numeric import layers as L  # noqa: E402
from haibal_py.onnx import OnnxError, UnsupportedOnnxError  # noqa: E402

FIXTURES = Path(__file__).parent / "reference" / "onnx"
NAMES = ["torch_mlp", "torch_cnn", "torch_lstm", "torch_bigru", "keras_mlp", "keras_cnn", "keras_lstm"]
RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------------- fixtures
@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_onnxruntime(name):
    data = np.load(FIXTURES / f"{name}.npz")
    model = honnx.load(FIXTURES / f"{name}.onnx")
    out = model.predict(data["x"])
    np.testing.assert_allclose(out, data["y"], atol=1e-4)
    np.testing.assert_allclose(out, data["framework_y"], atol=1e-4)
    # another batch size than the exporter traced
    np.testing.assert_allclose(model.predict(data["x"][:1]), data["y"][:1], atol=1e-4)


def test_pytorch_cnn_keeps_nchw_names_and_reads_like_keras():
    model = honnx.load(FIXTURES / "torch_cnn.onnx")
    assert model.input_names == ["input"] and model.input_shape == (None, 1, 28, 28)
    assert model.output_names == ["output"] if hasattr(model, "output_names") else True
    assert model.outputs[0].name == "output" and model.output_shape == (None, 10)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 2 and kinds.count("MaxPooling2D") == 2 and "BatchNormalization" in kinds
    assert kinds[-1] == "Dense"
    # one layout change at the input (a free reshape for one channel), one before the flatten
    assert sum(k in ("Permute", "OnnxTranspose") for k in kinds) == 1
    conv = next(layer for layer in model.layers if isinstance(layer, L.Conv2D))
    assert conv.padding == "same" and conv.activation.name == "linear"


def test_keras_export_folds_bias_and_activation_into_dense():
    model = honnx.load(FIXTURES / "keras_mlp.onnx")
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    assert [d.activation.name for d in dense] == ["relu", "sigmoid", "softmax"]
    assert all(d.use_bias for d in dense)
    assert model.input_names == ["features"]


def test_imported_model_fine_tunes():
    data = np.load(FIXTURES / "torch_mlp.npz")
    model = honnx.load(FIXTURES / "torch_mlp.onnx")
    x = np.random.default_rng(1).normal(size=(16, 20)).astype("float32")
    target = np.eye(4, dtype="float32")[np.arange(16) % 4]

    def loss():
        p = model.forward(x)
        return float(-np.mean(np.sum(target * np.log(p + 1e-7), axis=1)))

    before = loss()
    for _ in range(20):
        p = model.forward(x, training=True)
        _, grads = model.backward(-(target / (p + 1e-7)) / len(x))
        for w, g in zip(model.trainable_weights, grads):
            w -= 0.1 * g
    assert loss() < before * 0.8
    assert len(model.trainable_weights) == 6
    assert not np.allclose(model.predict(data["x"]), data["y"])  # the weights did change


# ---------------------------------------------------------------------------- small graphs
def _graph(nodes, inputs, outputs, inits=None, opset=17, float_type=TensorProto.FLOAT):
    ins = []
    for name, shape in inputs.items():
        elem = float_type
        if isinstance(shape, tuple) and shape and shape[0] == "int64":
            elem, shape = TensorProto.INT64, shape[1]
        ins.append(helper.make_tensor_value_info(name, elem, ["N"] + list(shape)))
    outs = [helper.make_tensor_value_info(o, float_type, None) for o in outputs]
    dtype = np.float64 if float_type == TensorProto.DOUBLE else np.float32
    init = [numpy_helper.from_array(np.asarray(v, dtype=dtype if np.asarray(v).dtype.kind == "f" else None), k)
            for k, v in (inits or {}).items()]
    g = helper.make_graph(nodes, "g", ins, outs, init)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _check(model_proto, feeds, atol=1e-5):
    ref = ReferenceEvaluator(model_proto).run(None, feeds)
    model = honnx.load_model(model_proto)
    ours = model.predict(feeds if len(feeds) > 1 else next(iter(feeds.values())), batch_size=64)
    ours = ours if isinstance(ours, list) else [ours]
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
    return model


def _f(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def _kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_conv_pads_pools_and_gemm():
    w1, b1 = _f(4, 3, 3, 3), _f(4)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 0, 2, 1], strides=[1, 2]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
             helper.make_node("AveragePool", ["p1"], ["p2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              count_include_pad=1),
             helper.make_node("GlobalAveragePool", ["p2"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], transB=1, alpha=0.5)]
    m = _check(_graph(nodes, {"x": (3, 13, 11)}, ["y"], {"w1": w1, "b1": b1, "wd": _f(5, 4), "bd": _f(5)}),
               {"x": _f(2, 3, 13, 11)})
    kinds = _kinds(m)
    assert "ZeroPadding2D" in kinds and "Conv2D" in kinds and "AveragePooling2D" in kinds
    assert kinds.count("Dense") == 1


def test_same_padding_depthwise_grouped_and_dilated_convs():
    nodes = [helper.make_node("Conv", ["x", "wd"], ["d"], group=4, auto_pad="SAME_UPPER", kernel_shape=[3, 3]),
             helper.make_node("Conv", ["d", "wg", "bg"], ["g"], group=2, dilations=[2, 2], pads=[2, 2, 2, 2]),
             helper.make_node("Conv", ["g", "ws"], ["y"], strides=[2, 2], pads=[0, 0, 1, 1], kernel_shape=[2, 2])]
    m = _check(_graph(nodes, {"x": (4, 9, 9)}, ["y"], {"wd": _f(8, 1, 3, 3), "wg": _f(6, 4, 3, 3), "bg": _f(6),
                                                       "ws": _f(2, 6, 2, 2)}),
               {"x": _f(2, 4, 9, 9)})
    kinds = _kinds(m)
    assert "DepthwiseConv2D" in kinds and kinds.count("Conv2D") == 2
    assert next(l for l in m.layers if isinstance(l, L.DepthwiseConv2D)).padding == "same"


def test_conv1d_batchnorm_conv3d_and_transposed():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "mu", "var"], ["y"], epsilon=1e-3),
             helper.make_node("ConvTranspose", ["y", "wt", "bt"], ["z"], strides=[2], pads=[1, 0],
                              output_padding=[1])]
    inits = {"w": _f(5, 2, 3), "s": _f(5), "b": _f(5), "mu": _f(5), "var": np.abs(_f(5)) + 0.5,
             "wt": _f(5, 3, 4), "bt": _f(3)}
    m = _check(_graph(nodes, {"x": (2, 8)}, ["z"], inits), {"x": _f(3, 2, 8)})
    assert {"Conv1D", "BatchNormalization", "Conv1DTranspose"} <= set(_kinds(m))
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 1, 1, 0, 1, 1])]
    _check(_graph(nodes, {"x": (2, 4, 5, 5)}, ["y"], {"w": _f(3, 2, 2, 3, 3)}), {"x": _f(2, 2, 4, 5, 5)})


def test_matmul_add_becomes_dense_with_bias():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Add", ["m", "b"], ["a"]),
             helper.make_node("Tanh", ["a"], ["y"])]
    m = _check(_graph(nodes, {"x": (5, 6)}, ["y"], {"w": _f(6, 3), "b": _f(3)}), {"x": _f(4, 5, 6)})
    assert _kinds(m) == ["InputLayer", "Dense"]
    dense = m.layers[1]
    assert dense.use_bias and dense.activation.name == "tanh" and dense.name == "y"


def test_shape_computations_reshapes_and_views():
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("Shape", ["t"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero_v"], ["nv"]),
             helper.make_node("Concat", ["nv", "minus"], ["shape"], axis=0),
             helper.make_node("Reshape", ["t", "shape"], ["flat"]),
             helper.make_node("Unsqueeze", ["flat", "one_v"], ["u"]),
             helper.make_node("Squeeze", ["u", "one_v"], ["y"])]
    inits = {"zero": np.array(0, np.int64), "zero_v": np.array([0], np.int64), "minus": np.array([-1], np.int64),
             "one_v": np.array([1], np.int64)}
    m = _check(_graph(nodes, {"x": (3, 4, 5)}, ["y"], inits), {"x": _f(2, 3, 4, 5)})
    assert "Flatten" in _kinds(m)


def test_slice_split_concat_gather_pad_expand():
    nodes = [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["s"]),
             helper.make_node("Split", ["x", "sizes"], ["a", "b"], axis=1),
             helper.make_node("Concat", ["b", "a"], ["c"], axis=1),
             helper.make_node("Gather", ["c", "idx"], ["g"], axis=2),
             helper.make_node("Pad", ["g", "pads"], ["p"], mode="reflect"),
             helper.make_node("Expand", ["s", "eshape"], ["e"]),
             helper.make_node("ReduceSum", ["e", "rax"], ["y1"], keepdims=0),
             helper.make_node("ReduceMean", ["p"], ["y2"], axes=[1, 2], keepdims=1)]
    inits = {"st": np.array([1, -1], np.int64), "en": np.array([3, -100], np.int64), "ax": np.array([1, 2], np.int64),
             "sp": np.array([1, -2], np.int64), "sizes": np.array([1, 2], np.int64),
             "idx": np.array([[0, 2], [3, 3]], np.int64), "pads": np.array([0, 1, 0, 0, 0, 1, 0, 0], np.int64),
             "eshape": np.array([2, 1, 1], np.int64), "rax": np.array([0], np.int64)}
    proto = _graph(nodes, {"x": (3, 4)}, ["y1", "y2"], inits, opset=17)
    _check(proto, {"x": _f(2, 3, 4)})


def test_elementwise_activation_and_logic_operators():
    nodes = [helper.make_node("LeakyRelu", ["x"], ["a"], alpha=0.1),
             helper.make_node("PRelu", ["a", "slope"], ["b"]),
             helper.make_node("Elu", ["b"], ["c"], alpha=0.7),
             helper.make_node("HardSigmoid", ["c"], ["d"], alpha=0.3, beta=0.4),
             helper.make_node("Greater", ["x", "zero"], ["mask"]),
             helper.make_node("Where", ["mask", "d", "x"], ["e"]),
             helper.make_node("Clip", ["e", "lo", "hi"], ["f"]),
             helper.make_node("Erf", ["f"], ["g"]),
             helper.make_node("Mul", ["g", "x"], ["h"]),
             helper.make_node("Div", ["h", "two"], ["i"]),
             helper.make_node("Max", ["i", "x", "c"], ["j"]),
             helper.make_node("Mean", ["j", "x"], ["k"]),
             helper.make_node("Softmax", ["k"], ["l"], axis=1),
             helper.make_node("Sqrt", ["l"], ["m"]),
             helper.make_node("Pow", ["m", "three"], ["n"]),
             helper.make_node("Sub", ["one", "n"], ["o"]),
             helper.make_node("LogSoftmax", ["o"], ["y"], axis=-1)]
    inits = {"slope": _f(3, 1, 1), "zero": np.array(0.0), "lo": np.array(-0.5), "hi": np.array(0.8),
             "two": np.array(2.0), "three": np.array(3.0), "one": np.array(1.0)}
    _check(_graph(nodes, {"x": (3, 4, 5)}, ["y"], inits), {"x": _f(2, 3, 4, 5)})


def test_softmax_of_a_channels_last_view_and_layer_norms():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("Softmax", ["c"], ["s"], axis=1),
             helper.make_node("InstanceNormalization", ["s", "gi", "bi"], ["i"], epsilon=1e-4),
             helper.make_node("LayerNormalization", ["i", "gl", "bl"], ["y"], axis=-1, epsilon=1e-3)]
    inits = {"w": _f(4, 2, 1, 1), "gi": _f(4), "bi": _f(4), "gl": _f(6), "bl": _f(6)}
    m = _check(_graph(nodes, {"x": (2, 5, 6)}, ["y"], inits), {"x": _f(3, 2, 5, 6)}, atol=1e-4)
    assert {"GroupNormalization", "LayerNormalization"} <= set(_kinds(m))
    conv = next(layer for layer in m.layers if isinstance(layer, L.Conv2D))
    assert conv.activation.name == "softmax"  # softmax over ONNX channels = over the last axis here


def _rnn_weights(op, d, h, f):
    g = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    return {"W": _f(d, g * h, f) * 0.5, "R": _f(d, g * h, h) * 0.5, "B": _f(d, 2 * g * h) * 0.5}


@pytest.mark.parametrize("op, direction, layout, extra", [
    ("LSTM", "forward", 0, {}), ("LSTM", "bidirectional", 0, {}), ("LSTM", "reverse", 1, {}),
    ("GRU", "forward", 0, {"linear_before_reset": 1}), ("GRU", "reverse", 0, {"linear_before_reset": 0}),
    ("GRU", "bidirectional", 1, {"linear_before_reset": 1}), ("RNN", "forward", 0, {}),
    ("RNN", "bidirectional", 0, {}),
])
def test_recurrent_operators(op, direction, layout, extra):
    d = 2 if direction == "bidirectional" else 1
    h, f, t = 4, 3, 5
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    nodes = [helper.make_node(op, ["x", "W", "R", "B"], outs, hidden_size=h, direction=direction, layout=layout,
                              **extra)]
    if layout == 0:
        inputs = {"x": (3, f)}  # time-major: the batch axis is the second one
        shape = (t, 2, f)
        value = {"x": _f(*shape)}
        proto = _graph(nodes, inputs, outs, _rnn_weights(op, d, h, f))
        proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value = t
        proto.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "N"
        proto.graph.input[0].type.tensor_type.shape.dim[1].ClearField("dim_value")
        model_proto = proto
        ref = ReferenceEvaluator(model_proto).run(None, value)
        model = honnx.load_model(model_proto)
        ours = model.predict(value["x"], batch_size=t)  # one batch: axis 0 is the time here
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, atol=1e-5)
    else:
        _check(_graph(nodes, {"x": (t, f)}, outs, _rnn_weights(op, d, h, f)), {"x": _f(2, t, f)})


def test_pytorch_style_zero_initial_states():
    h, f = 4, 3
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero_v"], ["nv"]),
             helper.make_node("Concat", ["one_v", "nv", "h_v"], ["hs"], axis=0),
             helper.make_node("ConstantOfShape", ["hs"], ["h0"]),
             helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("LSTM", ["xt", "W", "R", "B", "", "h0", "h0"], ["Y", "Y_h"], hidden_size=h),
             helper.make_node("Squeeze", ["Y_h", "zero_v"], ["y"])]
    inits = {**_rnn_weights("LSTM", 1, h, f), "zero": np.array(0, np.int64), "zero_v": np.array([0], np.int64),
             "one_v": np.array([1], np.int64), "h_v": np.array([h], np.int64)}
    m = _check(_graph(nodes, {"x": (6, f)}, ["y"], inits), {"x": _f(3, 6, f)})
    assert _kinds(m) == ["InputLayer", "LSTM"]


def test_embedding_lookup_from_integer_input():
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"], axis=0),
             helper.make_node("ReduceMean", ["e"], ["y"], axes=[1], keepdims=0)]
    proto = _graph(nodes, {"ids": ("int64", (4,))}, ["y"], {"table": _f(10, 3)})
    ids = RNG.integers(0, 10, size=(5, 4)).astype(np.int64)
    m = _check(proto, {"ids": ids})
    assert "Embedding" in _kinds(m) and m.inputs[0].dtype == "int64"


def test_float64_graph_backward_matches_finite_differences():
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c"], ["s"]),
             helper.make_node("ReduceMean", ["s"], ["r"], axes=[2], keepdims=0),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("MatMul", ["f", "wd"], ["y"])]
    proto = _graph(nodes, {"x": (2, 3, 3)}, ["y"], {"w": _f(2, 2, 3, 3), "b": _f(2), "wd": _f(6, 2)},
                   float_type=TensorProto.DOUBLE)
    model = honnx.load_model(proto)
    assert all(w.dtype == np.float64 for w in model.weights)
    x = RNG.normal(size=(2, 2, 3, 3))
    dy = RNG.normal(size=(2, 2))
    model.forward(x)
    dx, grads = model.backward(dy)

    def loss():
        return float(np.sum(model.forward(x) * dy))

    eps = 1e-6
    for arr, g in [(x, dx)] + list(zip(model.trainable_weights, grads)):
        flat, gflat = arr.reshape(-1), np.asarray(g).reshape(-1)
        for i in range(0, flat.size, max(1, flat.size // 7)):
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            assert abs((up - down) / (2 * eps) - gflat[i]) < 1e-6


# ---------------------------------------------------------------------------- refusals
def test_unsupported_operators_are_listed_with_counts_before_anything_is_built():
    nodes = [helper.make_node("Foo", ["x"], ["a"]), helper.make_node("Foo", ["a"], ["b"]),
             helper.make_node("Relu", ["b"], ["c"]),
             helper.make_node("NonMaxSuppression", ["c", "c"], ["d"]),
             helper.make_node("Bar", ["d"], ["e"], domain="com.example"),
             helper.make_node("LSTM", ["e", "W", "R"], ["y"], hidden_size=2, clip=3.0)]
    proto = _graph(nodes, {"x": (3,)}, ["y"], {"W": _f(1, 8, 3), "R": _f(1, 8, 2)})
    proto.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(UnsupportedOnnxError) as err:
        honnx.load_model(proto, name="bad")
    assert err.value.unsupported == {"Foo": 2, "NonMaxSuppression": 1, "com.example.Bar": 1, "LSTM (clip)": 1}
    assert "Foo x2" in str(err.value) and "5 node(s)" in str(err.value)


def test_constant_subgraphs_of_any_operator_are_folded():
    nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "rf"], ["y"])]
    inits = {"start": np.array(0, np.int64), "limit": np.array(4, np.int64), "delta": np.array(1, np.int64)}
    _check(_graph(nodes, {"x": (4,)}, ["y"], inits), {"x": _f(2, 4)})


def test_runtime_only_refusals_name_the_node():
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Cast", ["s"], ["sf"], to=TensorProto.FLOAT),
             helper.make_node("Range", ["zero", "sf", "one"], ["y"])]
    proto = _graph(nodes, {"x": (4,)}, ["y"], {"zero": np.array(0.0), "one": np.array(1.0)})
    with pytest.raises(OnnxError, match="Range"):
        honnx.load_model(proto)


def test_files_that_are_not_onnx(tmp_path):
    with pytest.raises(OnnxError, match="no ONNX file"):
        honnx.load(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01not a protobuf at all" * 3)
    with pytest.raises(OnnxError, match="not a readable ONNX model"):
        honnx.load(bad)
    old = _graph([helper.make_node("Relu", ["x"], ["y"])], {"x": (2,)}, ["y"], opset=7)
    with pytest.raises(OnnxError, match="opset 7 is too old"):
        honnx.load_model(old)


def test_resize_tile_and_einsum():
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("Resize", ["r", "", "scales"], ["b"], mode="linear",
                              coordinate_transformation_mode="half_pixel"),
             helper.make_node("ReduceMean", ["b"], ["m"], axes=[3], keepdims=1),
             helper.make_node("Tile", ["m", "reps"], ["t"]),
             helper.make_node("Einsum", ["t", "w"], ["y"], equation="nchw,wk->nchk")]
    inits = {"scales": np.array([1, 1, 2, 3], np.float32), "reps": np.array([1, 1, 1, 3], np.int64), "w": _f(3, 2)}
    m = _check(_graph(nodes, {"x": (2, 3, 4)}, ["y"], inits), {"x": _f(2, 2, 3, 4)}, atol=1e-5)
    assert {"UpSampling2D", "OnnxExpand", "OnnxEinsum"} <= set(_kinds(m))


def test_several_inputs_and_outputs_keep_their_names():
    nodes = [helper.make_node("Add", ["a", "b"], ["sum"]),
             helper.make_node("Relu", ["sum"], ["relu out"]),
             helper.make_node("Identity", ["a"], ["a_copy"])]
    proto = _graph(nodes, {"a": (3,), "b": (3,)}, ["relu out", "sum", "a_copy"])
    model = _check(proto, {"a": _f(2, 3), "b": _f(2, 3)})
    assert model.input_names == ["a", "b"]
    assert [t.name for t in model.outputs] == ["relu_out", "sum", "a_copy"]
    out = model.predict({"a": np.ones((1, 3), "float32"), "b": -np.ones((1, 3), "float32") * 2})
    np.testing.assert_allclose(out[0], 0.0)
    np.testing.assert_allclose(out[1], -1.0)
