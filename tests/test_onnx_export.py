"""``haibal_py.onnx.save``: every layer exports, and onnxruntime gives what ``predict``
gives (atol 1e-5); the file imports back to the same numbers (import -> export -> import);
layers without an ONNX form are refused by name. Needs the ``onnx`` extra (skipped
without onnxruntime)."""

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import haibal_py.onnx as honnx  # noqa: E402
from haibal_py.numeric import layers as L  # noqa: E402
from haibal_py.numeric.layers import Layer  # noqa: E402
from haibal_py.numeric.models import Model, Sequential  # noqa: E402
from haibal_py.onnx import OnnxError, UnsupportedOnnxError  # noqa: E402

RNG = np.random.default_rng(0)


def _randomize(model) -> None:
    """Weights of their own (biases and statistics too), positive variances."""
    rng = np.random.default_rng(1)
    for spec in model.weight_specs():
        w = rng.normal(scale=0.4, size=spec.value.shape)
        if "variance" in spec.name:
            w = np.abs(w) + 0.5
        spec.value[...] = w


def _run_ort(path, model, xs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    assert names == [t.name for t in model.inputs]
    return sess.run(None, dict(zip(names, xs)))


def roundtrip(tmp_path, model, xs, atol=1e-5, reimport=True):
    xs = xs if isinstance(xs, list) else [xs]
    path = honnx.save(model, tmp_path / f"{model.name}.onnx")
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ref = _run_ort(path, model, xs)
    ours = model.predict(xs if len(xs) > 1 else xs[0])
    ours = ours if isinstance(ours, list) else [ours]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5)
    if reimport:
        back = honnx.load(path)
        again = back.predict(xs if len(xs) > 1 else xs[0])
        again = again if isinstance(again, list) else [again]
        for a, b in zip(again, ref):
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    return path


def one_layer(layer, shape, dtype="float32", name="m"):
    x = L.Input(shape, dtype=dtype, name="x")
    model = Model(x, layer(x), name=name)
    _randomize(model)
    return model


def _x(*shape):
    return RNG.normal(size=shape).astype("float32")


ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "exponential",
               "gelu", "silu", "hard_sigmoid", "hard_silu", "leaky_relu", "relu6", "mish", "log_softmax",
               "log_sigmoid"]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_with_every_activation(tmp_path, act):
    roundtrip(tmp_path, one_layer(L.Dense(5, activation=act), (4,)), _x(3, 4))


CASES = {
    "dense_rank3": (lambda: L.Dense(4), (5, 3)),
    "activation": (lambda: L.Activation("tanh"), (6,)),
    "relu_default": (lambda: L.ReLU(), (6,)),
    "relu_max": (lambda: L.ReLU(max_value=0.3), (6,)),
    "relu_slope": (lambda: L.ReLU(negative_slope=0.1), (6,)),
    "relu_all": (lambda: L.ReLU(max_value=0.8, negative_slope=0.2, threshold=0.1), (6,)),
    "leaky": (lambda: L.LeakyReLU(0.25), (6,)),
    "prelu": (lambda: L.PReLU(shared_axes=[1]), (4, 3)),
    "elu": (lambda: L.ELU(0.7), (6,)),
    "softmax_axis1": (lambda: L.Softmax(axis=1), (4, 3)),
    "softmax_axes": (lambda: L.Softmax(axis=(1, 2)), (4, 3)),
    "dropout": (lambda: L.Dropout(0.5), (6,)),
    "gaussian_noise": (lambda: L.GaussianNoise(1.0), (6,)),
    "spatial_dropout1d": (lambda: L.SpatialDropout1D(0.5), (4, 3)),
    "spatial_dropout2d": (lambda: L.SpatialDropout2D(0.5), (4, 4, 3)),
    "spatial_dropout3d": (lambda: L.SpatialDropout3D(0.5), (3, 3, 3, 2)),
    "flatten": (lambda: L.Flatten(), (3, 4, 2)),
    "reshape": (lambda: L.Reshape((-1, 2)), (3, 4)),
    "permute": (lambda: L.Permute((2, 3, 1)), (3, 4, 2)),
    "repeat": (lambda: L.RepeatVector(3), (4,)),
    "batchnorm_last": (lambda: L.BatchNormalization(), (4, 4, 3)),
    "batchnorm_axis1": (lambda: L.BatchNormalization(axis=1, center=False), (3, 5)),
    "layernorm": (lambda: L.LayerNormalization(), (4, 6)),
    "layernorm_axes": (lambda: L.LayerNormalization(axis=[1, 2]), (4, 6)),
    "layernorm_middle": (lambda: L.LayerNormalization(axis=1, scale=False), (4, 6)),
    "layernorm_rms": (lambda: L.LayerNormalization(rms_scaling=True), (4, 6)),
    "groupnorm": (lambda: L.GroupNormalization(groups=2), (4, 4, 6)),
    "simple_rnn": (lambda: L.SimpleRNN(4), (5, 3)),
    "simple_rnn_relu_seq": (lambda: L.SimpleRNN(4, activation="relu", return_sequences=True), (5, 3)),
    "lstm_seq": (lambda: L.LSTM(4, return_sequences=True), (5, 3)),
    "lstm_back": (lambda: L.LSTM(4, go_backwards=True, return_sequences=True), (5, 3)),
    "lstm_states": (lambda: L.LSTM(4, return_state=True), (5, 3)),
    "gru": (lambda: L.GRU(4), (5, 3)),
    "gru_before": (lambda: L.GRU(4, reset_after=False, return_sequences=True), (5, 3)),
    "gru_back_states": (lambda: L.GRU(4, go_backwards=True, return_state=True), (5, 3)),
    "bidi_concat": (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), (5, 2)),
    "bidi_sum": (lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"), (5, 2)),
    "bidi_mul_seq": (lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="mul"), (5, 2)),
    "bidi_ave": (lambda: L.Bidirectional(L.LSTM(3), merge_mode="ave"), (5, 2)),
    "bidi_none_states": (lambda: L.Bidirectional(L.LSTM(3, return_state=True), merge_mode=None), (5, 2)),
    "time_distributed": (lambda: L.TimeDistributed(L.Dense(3, activation="relu")), (4, 5)),
    "time_distributed_conv": (lambda: L.TimeDistributed(L.Conv2D(2, 3)), (3, 5, 5, 2)),
    "conv1d": (lambda: L.Conv1D(4, 3, strides=2, padding="same"), (9, 2)),
    "conv1d_causal": (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="relu"), (9, 2)),
    "conv2d": (lambda: L.Conv2D(4, 3, activation="sigmoid"), (7, 6, 2)),
    "conv2d_same_s2": (lambda: L.Conv2D(4, (3, 2), strides=2, padding="same"), (7, 6, 2)),
    "conv2d_groups": (lambda: L.Conv2D(4, 3, groups=2, dilation_rate=2), (8, 8, 4)),
    "conv3d": (lambda: L.Conv3D(2, 2, padding="same"), (4, 5, 3, 2)),
    "conv1d_t": (lambda: L.Conv1DTranspose(3, 3, strides=2), (5, 2)),
    "conv2d_t_same": (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same"), (4, 5, 2)),
    "conv2d_t_outpad": (lambda: L.Conv2DTranspose(2, 3, strides=3, output_padding=1), (3, 4, 2)),
    "conv3d_t": (lambda: L.Conv3DTranspose(2, 2, strides=2, padding="same"), (2, 3, 2, 2)),
    "depthwise1d": (lambda: L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), (7, 3)),
    "depthwise2d": (lambda: L.DepthwiseConv2D(3, strides=2), (7, 7, 3)),
    "separable1d": (lambda: L.SeparableConv1D(4, 3, depth_multiplier=2), (8, 3)),
    "separable2d": (lambda: L.SeparableConv2D(4, 3, padding="same", activation="relu"), (6, 6, 3)),
    "maxpool1d": (lambda: L.MaxPooling1D(2), (7, 3)),
    "maxpool2d_same": (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 2)),
    "maxpool3d": (lambda: L.MaxPooling3D(2), (4, 4, 4, 2)),
    "avgpool1d_same": (lambda: L.AveragePooling1D(3, strides=2, padding="same"), (7, 3)),
    "avgpool2d": (lambda: L.AveragePooling2D(2), (6, 6, 2)),
    "avgpool3d_same": (lambda: L.AveragePooling3D(2, padding="same"), (3, 5, 4, 2)),
    "gap1d": (lambda: L.GlobalAveragePooling1D(), (5, 3)),
    "gap2d_keep": (lambda: L.GlobalAveragePooling2D(keepdims=True), (4, 5, 3)),
    "gap3d": (lambda: L.GlobalAveragePooling3D(), (3, 3, 3, 2)),
    "gmp1d": (lambda: L.GlobalMaxPooling1D(), (5, 3)),
    "gmp2d": (lambda: L.GlobalMaxPooling2D(), (4, 5, 3)),
    "gmp3d_keep": (lambda: L.GlobalMaxPooling3D(keepdims=True), (3, 3, 3, 2)),
    "zeropad1d": (lambda: L.ZeroPadding1D((1, 2)), (4, 3)),
    "zeropad2d": (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (4, 3, 2)),
    "zeropad3d": (lambda: L.ZeroPadding3D(1), (2, 3, 2, 2)),
    "crop1d": (lambda: L.Cropping1D((1, 2)), (6, 3)),
    "crop2d": (lambda: L.Cropping2D(((1, 0), (0, 2))), (5, 5, 2)),
    "crop3d": (lambda: L.Cropping3D(((1, 1), (0, 1), (1, 0))), (4, 4, 4, 2)),
    "upsample1d": (lambda: L.UpSampling1D(3), (4, 2)),
    "upsample2d": (lambda: L.UpSampling2D((2, 3)), (3, 4, 2)),
    "upsample2d_bilinear": (lambda: L.UpSampling2D(2, interpolation="bilinear"), (3, 4, 2)),
    "upsample3d": (lambda: L.UpSampling3D(2), (2, 3, 2, 2)),
    "onnx_transpose": (lambda: L.OnnxTranspose([0, 2, 1]), (3, 4)),
    "onnx_reshape": (lambda: L.OnnxReshape([0, -1]), (3, 4)),
    "onnx_gather": (lambda: L.OnnxGather([2, 0], axis=1), (3, 4)),
    "onnx_slice": (lambda: L.OnnxSlice([0, -1], [2, -4], [1, 2], [1, -1]), (3, 4)),
    "onnx_pad": (lambda: L.OnnxPad([0, 1, 0, 0, 2, 1], mode="reflect"), (3, 4)),
    "onnx_reduce": (lambda: L.OnnxReduce("l2", axes=[1], keepdims=False), (3, 4)),
    "onnx_expand": (lambda: L.OnnxExpand([1, 3, 4]), (3, 1)),
    "onnx_unary": (lambda: L.OnnxUnary("erf"), (3, 4)),
    "onnx_clip": (lambda: L.OnnxClip(min=-0.2), (3, 4)),
    "onnx_elementwise": (lambda: L.OnnxElementwise("div", operands=["x", "w"], constant_shapes={"1": [4]}), (3, 4)),
    "onnx_matmul": (lambda: L.OnnxMatMul(operands=["x", "w"], constant_shapes={"1": [4, 2]}), (3, 4)),
    "onnx_einsum": (lambda: L.OnnxEinsum("bij,jk->bki", operands=["x", "w"], constant_shapes={"1": [4, 2]}), (3, 4)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_exports(tmp_path, case):
    make, shape = CASES[case]
    model = one_layer(make(), shape, name=case)
    if case == "onnx_elementwise":
        model.layers[1]._constants[1][...] = np.array([1.0, 2.0, -3.0, 4.0])
    roundtrip(tmp_path, model, _x(3, *shape))


def test_embedding_takes_integer_ids(tmp_path):
    model = one_layer(L.Embedding(10, 3), (4,), dtype="int32")
    roundtrip(tmp_path, model, RNG.integers(0, 10, size=(5, 4)).astype("int32"))


@pytest.mark.parametrize("cls", [L.Add, L.Subtract, L.Multiply, L.Average, L.Maximum, L.Minimum])
def test_merging_layers_broadcast_like_keras(tmp_path, cls):
    a, b = L.Input((4, 3), name="a"), L.Input((3,) if cls is not L.Subtract else (4, 3), name="b")
    model = Model([a, b], cls()([a, b]), name="merge")
    roundtrip(tmp_path, model, [_x(2, 4, 3), _x(2, *b.shape[1:])])


@pytest.mark.parametrize("axes, normalize, sa, sb", [(1, False, (4,), (4,)), ((2, 2), True, (3, 4), (5, 4)),
                                                      ((1, 2), False, (3, 4), (5, 3))])
def test_dot_and_concatenate(tmp_path, axes, normalize, sa, sb):
    a, b = L.Input(sa, name="a"), L.Input(sb, name="b")
    model = Model([a, b], L.Dot(axes, normalize=normalize)([a, b]), name="dot")
    roundtrip(tmp_path, model, [_x(2, *sa), _x(2, *sb)])
    c = L.Concatenate(axis=1)([a, L.Input(sa, name="c")])
    model = Model([a, c.node.inputs[1]], c, name="concat")
    roundtrip(tmp_path, model, [_x(2, *sa), _x(2, *sa)])


@pytest.mark.parametrize("key, scores", [(False, False), (True, True)])
def test_multi_head_attention(tmp_path, key, scores):
    q, v = L.Input((4, 6), name="query"), L.Input((5, 3), name="value")
    ins = [q, v]
    mha = L.MultiHeadAttention(2, 3, value_dim=2)
    if key:
        k = L.Input((5, 4), name="key")
        ins.append(k)
        out = mha(q, v, k, return_attention_scores=scores)
    else:
        out = mha(q, v, return_attention_scores=scores)
    model = Model(ins, out, name="mha")
    _randomize(model)
    roundtrip(tmp_path, model, [_x(2, 4, 6), _x(2, 5, 3)] + ([_x(2, 5, 4)] if key else []))


def test_example_models_sequential_and_nested(tmp_path):
    inner = Sequential([L.Input((8,)), L.Dense(6, activation="relu"), L.Dense(4)], name="inner")
    x = L.Input((28, 28, 1), name="image")
    h = L.Conv2D(8, 3, activation="relu")(x)
    h = L.MaxPooling2D()(h)
    h = L.Conv2D(8, 3, activation="relu")(h)
    h = L.MaxPooling2D()(h)
    h = L.Flatten()(h)
    h = L.Dense(8)(h)
    y = L.Softmax()(inner(h))
    model = Model(x, y, name="cnn")
    _randomize(model)
    path = roundtrip(tmp_path, model, _x(4, 28, 28, 1))
    graph = onnx.load(str(path)).graph
    ops = [n.op_type for n in graph.node]
    assert ops.count("Transpose") == 2  # NHWC -> NCHW once, back before the flatten
    assert [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == ["batch", 28, 28, 1]
    assert graph.output[0].name == model.outputs[0].name


@pytest.mark.parametrize("name", ["torch_cnn", "torch_lstm", "torch_bigru", "keras_cnn", "keras_lstm"])
def test_imported_fixtures_export_again(tmp_path, name):
    from pathlib import Path
    folder = Path(__file__).parent / "reference" / "onnx"
    data = np.load(folder / f"{name}.npz")
    model = honnx.load(folder / f"{name}.onnx")
    path = honnx.save(model, tmp_path / "again.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: data["x"]})[0]
    np.testing.assert_allclose(out, data["y"], atol=1e-4)
    assert sess.get_inputs()[0].name == onnx.load(str(folder / f"{name}.onnx")).graph.input[0].name


@pytest.mark.parametrize("opset", [13, 18, 20])
def test_opsets(tmp_path, opset):
    x = L.Input((6, 5, 2), name="x")
    h = L.GlobalAveragePooling2D()(L.Conv2D(3, 3, activation="gelu")(x))
    model = Model(x, L.LayerNormalization()(h), name="ops")
    path = honnx.save(model, tmp_path / "m.onnx", opset=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset
    ref = _run_ort(path, model, [_x(2, 6, 5, 2)])
    np.testing.assert_allclose(model.predict(_x(2, 6, 5, 2) * 0 + RNG.normal(size=(1,)).astype("float32")).shape,
                               ref[0].shape)


def test_refusals_name_the_layer(tmp_path):
    class Custom(Layer):
        def _forward(self, x, training):
            return x, None

    x = L.Input((3,), name="x")
    model = Model(x, Custom(name="mine")(L.Dense(2)(x)), name="custom")
    with pytest.raises(UnsupportedOnnxError, match="Custom x1") as err:
        honnx.save(model, tmp_path / "m.onnx")
    assert err.value.unsupported == {"Custom": 1}
    assert not (tmp_path / "m.onnx").exists()
    q = L.Input((4, 6), name="q")
    masked = Model(q, L.MultiHeadAttention(2, 3, name="att")(q, q, use_causal_mask=True), name="masked")
    with pytest.raises(UnsupportedOnnxError, match=r"att \(MultiHeadAttention\) cannot be exported"):
        honnx.save(masked, tmp_path / "m.onnx")
    with pytest.raises(OnnxError, match="opset must be between 13"):
        honnx.save(one_layer(L.Dense(2), (3,)), tmp_path / "m.onnx", opset=9)
