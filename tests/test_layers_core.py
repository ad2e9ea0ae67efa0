"""Core layers (Dense, Embedding, activation, noise, reshaping, merging): gradients by central
differences in float64, float32 runs, Keras arguments, configs and error messages.

Forward values and gradients are also compared with TensorFlow's Keras in
tests/test_keras_layer_refs.py (reference files from the refs branch).
"""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from haibal_py import layers as L
from haibal_py import initializers, regularizers
from haibal_py.errors import HaibalValueError, LayerError

RNG = np.random.default_rng(1234)


def normal(*shape):
    return RNG.normal(size=shape)


def away_from_kinks(*shape, gap=0.05):
    """Normal values kept at least ``gap`` from 0 (finite differences straddle no kink)."""
    x = RNG.normal(size=shape)
    return np.where(np.abs(x) < gap, np.sign(x) * gap + x, x)


GRADIENT_CASES = [
    ("dense", lambda: L.Dense(3, bias_initializer="random_normal"), lambda: normal(4, 5)),
    ("dense_no_bias", lambda: L.Dense(2, use_bias=False), lambda: normal(3, 4)),
    ("dense_rank3", lambda: L.Dense(3, activation="sigmoid"), lambda: normal(2, 3, 4)),
    ("dense_rank4_softmax", lambda: L.Dense(3, activation="softmax"), lambda: normal(2, 2, 2, 3)),
    ("embedding", lambda: L.Embedding(6, 3), lambda: np.array([[0, 5, 2, 2], [1, 1, 1, 4]])),
    ("activation_selu", lambda: L.Activation("selu"), lambda: away_from_kinks(3, 4)),
    ("activation_log_softmax", lambda: L.Activation("log_softmax"), lambda: normal(3, 4)),
    ("relu_all", lambda: L.ReLU(max_value=1.5, negative_slope=0.2, threshold=0.3),
     lambda: np.array([[-1.0, 0.1, 0.5, 1.0, 2.0, 3.0]])),
    ("relu_plain", lambda: L.ReLU(), lambda: away_from_kinks(3, 4)),
    ("leaky_relu", lambda: L.LeakyReLU(negative_slope=0.1), lambda: away_from_kinks(3, 4)),
    ("elu", lambda: L.ELU(alpha=0.7), lambda: away_from_kinks(3, 4)),
    ("softmax_axis1", lambda: L.Softmax(axis=1), lambda: normal(2, 3, 4)),
    ("softmax_two_axes", lambda: L.Softmax(axis=(1, 2)), lambda: normal(2, 3, 4)),
    ("prelu", lambda: L.PReLU(alpha_initializer=initializers.RandomUniform(0.1, 0.5, seed=1)),
     lambda: away_from_kinks(3, 4)),
    ("prelu_shared", lambda: L.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2]),
     lambda: away_from_kinks(2, 3, 2, 4)),
    ("gaussian_noise_inference", lambda: L.GaussianNoise(0.5), lambda: normal(3, 4)),
    ("dropout_inference", lambda: L.Dropout(0.5), lambda: normal(3, 4)),
    ("flatten", lambda: L.Flatten(), lambda: normal(2, 3, 2)),
    ("flatten_channels_first", lambda: L.Flatten(data_format="channels_first"), lambda: normal(2, 3, 2, 2)),
    ("reshape", lambda: L.Reshape((2, -1)), lambda: normal(2, 3, 4)),
    ("permute", lambda: L.Permute((3, 1, 2)), lambda: normal(2, 3, 4, 2)),
    ("repeat_vector", lambda: L.RepeatVector(3), lambda: normal(2, 4)),
    ("add_broadcast", lambda: L.Add(), lambda: [normal(2, 3, 4), normal(2, 4), normal(2, 1, 4)]),
    ("subtract", lambda: L.Subtract(), lambda: [normal(2, 3), normal(2, 3)]),
    ("multiply", lambda: L.Multiply(), lambda: [normal(2, 3), normal(2, 3), normal(2, 3)]),
    ("average", lambda: L.Average(), lambda: [normal(2, 3), normal(2, 1)]),
    ("maximum", lambda: L.Maximum(), lambda: [normal(2, 5), normal(2, 5), normal(2, 5)]),
    ("minimum", lambda: L.Minimum(), lambda: [normal(2, 5), normal(2, 5)]),
    ("concatenate", lambda: L.Concatenate(axis=1), lambda: [normal(2, 1, 3), normal(2, 2, 3)]),
    ("dot", lambda: L.Dot(axes=1), lambda: [normal(3, 4), normal(3, 4)]),
    ("dot_rank3", lambda: L.Dot(axes=(2, 2)), lambda: [normal(2, 3, 4), normal(2, 5, 4)]),
    ("dot_mixed_ranks_normalize", lambda: L.Dot(axes=(1, 2), normalize=True),
     lambda: [normal(2, 4), normal(2, 3, 4)]),
    ("dot_rank4", lambda: L.Dot(axes=(1, 3)), lambda: [normal(2, 3, 2, 2), normal(2, 2, 2, 3)]),
]


@pytest.mark.parametrize("name,make,data", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_backward_matches_central_differences(name, make, data):
    with float64_layers():
        layer = make()
    check_gradients(layer, data())


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "softplus",
                                        "softsign", "silu", "swish", "mish", "exponential", "hard_sigmoid",
                                        "hard_silu", "relu6", "leaky_relu", "log_softmax", "linear",
                                        "log_sigmoid", None])
def test_dense_backward_for_every_activation(activation):
    with float64_layers():
        layer = L.Dense(3, activation=activation, bias_initializer="random_normal")
    x = away_from_kinks(3, 4, gap=0.1) * 2
    check_gradients(layer, x)


@pytest.mark.parametrize("name,make,data", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_float32_runs_stay_float32(name, make, data):
    layer = make()
    x = data()
    x = [np.asarray(a, np.float32) for a in x] if isinstance(x, list) else (
        x if x.dtype.kind in "iu" else x.astype(np.float32))
    y = layer.forward(x, training=False)
    assert y.dtype == np.float32
    dx, grads = layer.backward(np.ones_like(y))
    for d in (dx if isinstance(dx, list) else [dx]):
        assert d is None or d.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    assert [g.shape for g in grads] == [w.shape for w in layer.trainable_weights]


def test_dense_layout_names_and_rank3_uses_the_last_axis():
    d = L.Dense(4, name="fc")
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    y = d(x)
    assert [s.name for s in d.weight_specs()] == ["kernel", "bias"]
    assert d.kernel.shape == (4, 4) and d.bias.shape == (4,)
    np.testing.assert_allclose(y, x @ d.kernel + d.bias, rtol=1e-6)
    assert y.shape == (2, 3, 4)


def test_dense_kernel_initializer_regularizers_and_losses():
    d = L.Dense(2, kernel_initializer="ones", bias_initializer=initializers.Constant(0.5),
                kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.1))
    d.build((None, 3))
    assert np.array_equal(d.kernel, np.ones((3, 2), np.float32))
    assert d.losses == pytest.approx([0.01 * 6, 0.1 * 1.0])
    reg = d.regularization_grads()
    np.testing.assert_allclose(reg[0], 0.02 * np.ones((3, 2)))
    np.testing.assert_allclose(reg[1], 0.1 * np.ones(2))


def test_dense_refuses_wrong_feature_count_and_rank_naming_layer_and_shapes():
    d = L.Dense(3, name="fc")
    d(np.ones((2, 5), np.float32))
    with pytest.raises(LayerError, match=r"fc \(Dense\).*last axis is 5.*\(2, 6\)"):
        d(np.ones((2, 6)))
    with pytest.raises(LayerError, match=r"fc \(Dense\).*rank 2 or more.*\(5,\)"):
        L.Dense(3, name="fc")(np.ones(5))
    with pytest.raises(LayerError, match="units must be a positive integer"):
        L.Dense(0)
    with pytest.raises(LayerError, match="unknown argument"):
        L.Dense(3, kernel_size=3)
    with pytest.raises(HaibalValueError, match="unknown activation"):
        L.Dense(3, activation="relu7")
    with pytest.raises(LayerError, match="lora_rank"):
        L.Dense(3, lora_rank=4)


def test_embedding_indices_gradient_accumulates_repeats_and_refuses_bad_ids():
    e = L.Embedding(4, 2, name="emb")
    idx = np.array([[1, 1, 3]])
    y = e(idx)
    np.testing.assert_array_equal(y[0], e.embeddings[[1, 1, 3]])
    dx, (g,) = e.backward(np.ones((1, 3, 2), np.float32))
    assert dx is None
    np.testing.assert_array_equal(g, [[0, 0], [2, 2], [0, 0], [1, 1]])
    with pytest.raises(LayerError, match=r"emb \(Embedding\): index 4 is outside \[0, 4\)"):
        e(np.array([[4]]))
    with pytest.raises(LayerError, match="index -1"):
        e(np.array([[-1]]))
    with pytest.raises(LayerError, match="non-integral"):
        e(np.array([[0.5]]))
    np.testing.assert_array_equal(e(np.array([[2.0]])), e(np.array([[2]])))
    with pytest.raises(LayerError, match="mask_zero=True is not supported"):
        L.Embedding(4, 2, mask_zero=True)
    w = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_array_equal(L.Embedding(4, 2, weights=w).embeddings, w)
    assert L.Embedding(4, 2).embeddings_initializer.get_config()["minval"] == -0.05


def test_dropout_training_mask_scaling_reuse_and_seed():
    x = np.ones((200, 50), np.float32)
    d = L.Dropout(0.25, seed=3)
    assert d(x) is x and d(x, training=False) is x
    y = d(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    dy = RNG.normal(size=x.shape).astype(np.float32)
    dx, grads = d.backward(dy)
    np.testing.assert_allclose(dx, dy * y, rtol=1e-6)     # the same mask, the same scale
    assert grads == []
    again = L.Dropout(0.25, seed=3)
    np.testing.assert_array_equal(again(x, training=True), y)
    assert not np.array_equal(d(x, training=True), y)      # the next call draws a new mask
    shared = L.Dropout(0.5, noise_shape=(None, 1), seed=0)(np.ones((6, 4)), training=True)
    assert all(len(set(row)) == 1 for row in shared)
    assert not L.Dropout(1.0)(x, training=True).any()
    with pytest.raises(LayerError, match="rate must be a number in"):
        L.Dropout(1.5)
    with pytest.raises(LayerError, match="noise_shape"):
        L.Dropout(0.5, noise_shape=(None, 3))(np.ones((2, 4)), training=True)


def test_gaussian_noise_training_statistics_and_identity_gradient():
    x = np.zeros((400, 100), np.float32)
    g = L.GaussianNoise(0.3, seed=1)
    y = g(x, training=True)
    assert abs(y.std() - 0.3) < 0.01 and abs(y.mean()) < 0.01 and y.dtype == np.float32
    dy = np.ones_like(y)
    assert g.backward(dy)[0] is dy
    assert g(x) is x
    with pytest.raises(LayerError, match="stddev"):
        L.GaussianNoise(-1.0)


def test_reshaping_errors_name_the_layer_and_shapes():
    with pytest.raises(LayerError, match=r"rs \(Reshape\).*12 values per sample.*10"):
        L.Reshape((2, 5), name="rs")(np.ones((2, 3, 4)))
    with pytest.raises(LayerError, match="at most one -1"):
        L.Reshape((-1, -1))
    with pytest.raises(LayerError, match="permutation of 1..2"):
        L.Permute((0, 1))
    with pytest.raises(LayerError, match=r"rv \(RepeatVector\) expects a rank-2 input.*\(2, 3, 4\)"):
        L.RepeatVector(2, name="rv")(np.ones((2, 3, 4)))
    assert L.Flatten()(np.ones((3,))).shape == (3, 1)


def test_merging_errors_and_shapes():
    with pytest.raises(LayerError, match=r"sub \(Subtract\) takes exactly 2 inputs, got 3"):
        L.Subtract(name="sub")([np.ones((2, 2))] * 3)
    with pytest.raises(LayerError, match="do not broadcast together"):
        L.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(LayerError, match="different batch sizes"):
        L.Add()([np.ones((2, 3)), np.ones((3, 3))])
    with pytest.raises(LayerError, match="takes a list of inputs"):
        L.Concatenate()(np.ones((2, 3)))
    with pytest.raises(LayerError, match=r"must match on every axis but -1"):
        L.Concatenate()([np.ones((2, 3, 1)), np.ones((2, 4, 1))])
    with pytest.raises(LayerError, match=r"axis 1 of \(2, 3\) and axis 1 of \(2, 4\) differ"):
        L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    assert L.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))]).shape == (2, 1)
    assert L.Add()(np.ones((2, 3)), np.ones((2, 3))).shape == (2, 3)   # several positional inputs
    m = L.Maximum()
    y = m([np.array([[1.0, 5.0]]), np.array([[1.0, 2.0]])])
    d0, d1 = m.backward(np.array([[1.0, 1.0]], np.float32))[0]
    np.testing.assert_array_equal(d0, [[1, 1]])            # the tie goes to the first input
    np.testing.assert_array_equal(d1, [[0, 0]])
    np.testing.assert_array_equal(y, [[1, 5]])


def test_activation_layers_keras_defaults_and_validation():
    assert L.LeakyReLU().negative_slope == 0.3
    assert L.LeakyReLU(alpha=0.1).negative_slope == 0.1       # Keras 2 spelling
    assert L.ELU().alpha == 1.0 and L.Softmax().axis == -1
    with pytest.raises(LayerError, match="max_value must be a non-negative number"):
        L.ReLU(max_value=-1)
    with pytest.raises(LayerError, match="negative_slope"):
        L.LeakyReLU(negative_slope=-0.5)
    with pytest.raises(LayerError, match="axis 3 is out of range"):
        L.Softmax(axis=3)(np.ones((2, 3)))
    with pytest.raises(HaibalValueError, match="no backward pass is known"):
        L.Activation(lambda x: x * 2)
    p = L.PReLU(shared_axes=[1])
    p(np.ones((2, 3, 4), np.float32))
    assert p.alpha.shape == (1, 4)
    with pytest.raises(LayerError, match="PReLU"):
        p(np.ones((2, 3, 5), np.float32))


CONFIG_LAYERS = [
    lambda: L.Dense(3, activation="relu", use_bias=False, kernel_regularizer=regularizers.L2(0.1)),
    lambda: L.Embedding(10, 4), lambda: L.Activation("tanh"), lambda: L.ReLU(max_value=6.0),
    lambda: L.LeakyReLU(0.2), lambda: L.PReLU(shared_axes=[1]), lambda: L.ELU(0.5), lambda: L.Softmax(axis=1),
    lambda: L.Dropout(0.3, noise_shape=(None, 1), seed=2), lambda: L.GaussianNoise(0.2, seed=1),
    lambda: L.Flatten(), lambda: L.Reshape((2, 3)), lambda: L.Permute((2, 1)), lambda: L.RepeatVector(4),
    lambda: L.Add(), lambda: L.Subtract(), lambda: L.Multiply(), lambda: L.Average(), lambda: L.Maximum(),
    lambda: L.Minimum(), lambda: L.Concatenate(axis=1), lambda: L.Dot(axes=[1, 2], normalize=True),
]


@pytest.mark.parametrize("make", CONFIG_LAYERS)
def test_get_config_round_trips(make):
    layer = make()
    config = layer.get_config()
    assert {"name", "trainable", "dtype"} <= set(config)
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_dense_config_has_keras_keys():
    assert set(L.Dense(3).get_config()) == {
        "name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
        "bias_initializer", "kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint",
        "quantization_config"}
    assert L.Dense(3).get_config()["activation"] == "linear"
    assert L.Dense(3, activation="swish").get_config()["activation"] == "silu"
    assert L.Dense(3).get_config()["kernel_initializer"] == {
        "class_name": "GlorotUniform", "config": {"seed": None, "input_axes": None, "output_axes": None}}


def test_layer_names_weights_freezing_and_activity_regularizer():
    from haibal_py.numeric.layers.base import reset_names
    reset_names()
    assert [L.Dense(1).name, L.Dense(1).name, L.PReLU().name] == ["dense", "dense_1", "p_re_lu"]
    d = L.Dense(2, name="frozen")
    d(np.ones((1, 3), np.float32))
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2 and len(d.weights) == 2
    dx, grads = d.backward(np.ones((1, 2), np.float32))
    assert grads == [] and dx.shape == (1, 3)
    with pytest.raises(LayerError, match="name must be a non-empty string without '/'"):
        L.Dense(2, name="a/b")
    a = L.Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.L2(0.5), dtype="float64")
    x = np.ones((4, 3))
    y, ctx = a.call_forward(x)
    assert a.activity_loss(ctx) == pytest.approx(0.5 * np.sum(y * y) / 4)   # divided by the batch size
    dx, (gk, gb) = a.call_backward(ctx, np.zeros_like(y))
    np.testing.assert_allclose(gb, (0.5 * 2 * y / 4).sum(axis=0))


def test_set_weights_checks_count_and_shapes():
    d = L.Dense(2, name="fc")
    d.build((None, 3))
    with pytest.raises(LayerError, match=r"fc: set_weights got 1 array\(s\), but the layer has 2"):
        d.set_weights([np.zeros((3, 2))])
    with pytest.raises(LayerError, match=r"'kernel' has shape \(3, 2\), got an array of shape \(2, 3\)"):
        d.set_weights([np.zeros((2, 3)), np.zeros(2)])
    kernel = d.kernel
    d.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert d.kernel is kernel and kernel.sum() == 6           # in place: optimizers keep their arrays


def test_layer_calls_refuse_unknown_call_arguments_and_symbolic_mixes():
    with pytest.raises(LayerError, match="unknown call argument"):
        L.Dense(2)(np.ones((1, 2)), mask=None)
    with pytest.raises(LayerError, match="mix of symbolic tensors and arrays"):
        L.Add()([L.Input((2,)), np.ones((1, 2))])
    with pytest.raises(LayerError, match="backward\\(\\) needs a forward\\(\\) first"):
        L.Dense(2).backward(np.ones((1, 2)))
