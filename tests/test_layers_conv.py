"""Convolution layers: float64 gradient checks of every layer and option that matters, Keras'
weight names and layouts, output shapes (also with unknown sizes), configs, frozen layers,
float32 runs, models holding them, and errors that name the layer and the shapes.
Keras' own numbers for these layers are compared in tests/test_keras_layer_refs.py."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from haibal_py import layers as L
from haibal_py.errors import HaibalValueError
from haibal_py.numeric.layers import LayerError
from haibal_py.numeric.models import Sequential

GRAD_CASES = [
    # (class, kwargs, input shape)
    ("Conv1D", dict(filters=3, kernel_size=3), (2, 7, 2)),
    ("Conv1D", dict(filters=3, kernel_size=3, strides=2, padding="same", activation="tanh"), (2, 8, 2)),
    ("Conv1D", dict(filters=2, kernel_size=2, padding="causal", dilation_rate=2), (2, 6, 2)),
    ("Conv1D", dict(filters=4, kernel_size=3, groups=2, padding="same", use_bias=False), (2, 5, 4)),
    ("Conv2D", dict(filters=2, kernel_size=3, padding="same", activation="sigmoid"), (2, 5, 4, 2)),
    ("Conv2D", dict(filters=2, kernel_size=(2, 3), strides=(2, 1)), (2, 5, 5, 2)),
    ("Conv2D", dict(filters=2, kernel_size=3, strides=2, padding="same"), (2, 6, 5, 2)),
    ("Conv2D", dict(filters=2, kernel_size=2, dilation_rate=2, padding="same"), (2, 5, 5, 2)),
    ("Conv2D", dict(filters=4, kernel_size=3, groups=2), (2, 5, 5, 4)),
    ("Conv2D", dict(filters=3, kernel_size=1), (2, 3, 3, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2, padding="same", strides=(1, 2, 1)), (1, 3, 4, 3, 2)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (2, 4, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", activation="tanh"), (2, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, output_padding=1), (2, 2, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, dilation_rate=2, padding="same"), (2, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=(3, 2), padding="valid", use_bias=False), (2, 3, 3, 2)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2), (1, 2, 2, 2, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3, padding="same", activation="tanh"), (2, 5, 4, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2), (2, 6, 5, 2)),
    ("DepthwiseConv2D", dict(kernel_size=2, dilation_rate=2), (2, 5, 5, 2)),
    ("SeparableConv1D", dict(filters=3, kernel_size=3, padding="same"), (2, 6, 2)),
    ("SeparableConv2D", dict(filters=3, kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 5, 6, 2)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, use_bias=False, activation="sigmoid"), (2, 4, 4, 3)),
]


def _make(name, kwargs, dtype=None):
    return getattr(L, name)(**kwargs, **({} if dtype is None else {"dtype": dtype}))


def _randomize(layer, seed=0):
    """Weights drawn away from Keras' zero bias, so every gradient is exercised."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in layer.get_weights()])


@pytest.mark.parametrize("name,kwargs,shape", GRAD_CASES, ids=lambda v: str(v) if isinstance(v, str) else None)
def test_gradients_match_central_differences(name, kwargs, shape):
    with float64_layers():
        layer = _make(name, kwargs)
    x = np.random.default_rng(1).uniform(-1, 1, shape)
    layer.build(shape)
    _randomize(layer)
    check_gradients(layer, x)


@pytest.mark.parametrize("name,kwargs,shape", GRAD_CASES, ids=lambda v: str(v) if isinstance(v, str) else None)
def test_float32_run_and_shapes(name, kwargs, shape):
    layer = _make(name, kwargs)
    x = np.random.default_rng(2).uniform(-1, 1, shape).astype(np.float32)
    y = layer(x)
    assert y.dtype == np.float32 and all(w.dtype == np.float32 for w in layer.weights)
    assert y.shape == layer.compute_output_shape(shape)
    unknown = (None,) + tuple(None for _ in shape[1:-1]) + (shape[-1],)
    assert layer.compute_output_shape(unknown) == (None,) * (len(shape) - 1) + (y.shape[-1],)
    dx, grads = layer.backward(np.ones_like(y))
    assert dx.shape == x.shape and dx.dtype == np.float32
    assert [g.shape for g in grads] == [w.shape for w in layer.trainable_weights]


def test_weight_names_and_layouts_are_keras():
    x = np.zeros((1, 6, 6, 3), np.float32)
    cases = [
        (L.Conv2D(5, (3, 2)), [("kernel", (3, 2, 3, 5)), ("bias", (5,))]),
        (L.Conv2D(6, 3, groups=3, use_bias=False), [("kernel", (3, 3, 1, 6))]),
        (L.Conv2DTranspose(5, 3), [("kernel", (3, 3, 5, 3)), ("bias", (5,))]),
        (L.DepthwiseConv2D(3, depth_multiplier=2), [("kernel", (3, 3, 3, 2)), ("bias", (6,))]),
        (L.SeparableConv2D(4, 3, depth_multiplier=2),
         [("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 4)), ("bias", (4,))]),
    ]
    for layer, expected in cases:
        layer(x)
        assert [(s.name, s.value.shape) for s in layer.weight_specs()] == expected, layer.name
    conv3d = L.Conv3D(2, 2)
    conv3d(np.zeros((1, 3, 3, 3, 4), np.float32))
    assert conv3d.kernel.shape == (2, 2, 2, 4, 2)
    assert L.Conv1D(2, 3).compute_output_shape((None, 10, 4)) == (None, 8, 2)


def test_frozen_layer_gives_dx_and_no_weight_gradients():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 5, 5, 2))
    for make in (lambda: L.Conv2D(3, 3, padding="same", dtype="float64"),
                 lambda: L.Conv2D(3, 3, strides=2, dtype="float64"),
                 lambda: L.Conv2DTranspose(3, 3, strides=2, dtype="float64"),
                 lambda: L.DepthwiseConv2D(3, dtype="float64"),
                 lambda: L.SeparableConv2D(3, 3, dtype="float64")):
        layer = make()
        layer.build(x.shape)
        _randomize(layer)
        y = layer(x)
        dy = rng.uniform(-1, 1, y.shape)
        dx, grads = layer.backward(dy)
        layer.trainable = False
        layer(x)
        frozen_dx, frozen_grads = layer.backward(dy)
        assert frozen_grads == [] and layer.trainable_weights == []
        np.testing.assert_allclose(frozen_dx, dx, rtol=1e-12, atol=1e-12)
        _, ctx = layer.call_forward(x)
        assert layer.call_backward(ctx, dy, need_dx=False) == (None, [])


def test_configs_round_trip_with_keras_keys():
    conv = L.Conv2D(4, 3, strides=2, padding="SAME", activation="relu", groups=2, name="c")
    config = conv.get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 2) and config["padding"] == "same"
    assert config["data_format"] == "channels_last" and config["dilation_rate"] == (1, 1)
    assert config["activation"] == "relu" and config["groups"] == 2
    keras_keys = {"name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format",
                  "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                  "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                  "bias_constraint"}
    assert keras_keys <= set(config)
    for layer in (conv, L.Conv1D(2, 3, padding="causal"), L.Conv2DTranspose(3, 3, strides=2, output_padding=1),
                  L.DepthwiseConv2D(3, depth_multiplier=2), L.SeparableConv1D(3, 2, depth_multiplier=2),
                  L.Conv3DTranspose(2, 2)):
        again = type(layer).from_config(layer.get_config())
        assert again.get_config() == layer.get_config()
    assert L.Conv2DTranspose(3, 3, strides=2, output_padding=1).get_config()["output_padding"] == (1, 1)
    assert L.DepthwiseConv2D(3).get_config()["depth_multiplier"] == 1


def test_regularizers_reach_the_weights():
    layer = L.Conv2D(2, 3, kernel_regularizer="l2", bias_regularizer="l1", dtype="float64")
    layer.build((1, 4, 4, 1))
    layer.set_weights([np.ones((3, 3, 1, 2)), np.full(2, -2.0)])
    np.testing.assert_allclose(layer.losses, [0.01 * 18, 0.01 * 4])


def test_errors_name_the_layer_argument_and_shape():
    with pytest.raises(LayerError, match=r"c2 \(Conv2D\) expects a rank-4 input .* got shape \(2, 5, 3\)"):
        L.Conv2D(2, 3, name="c2")(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(LayerError, match="channels_first"):
        L.Conv2D(2, 3, data_format="channels_first")
    with pytest.raises(LayerError, match="strides > 1 is not supported together with dilation_rate > 1"):
        L.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(LayerError, match="strides > 1 is not supported"):
        L.DepthwiseConv2D(3, strides=2, dilation_rate=2)
    with pytest.raises(LayerError, match=r"filters \(3\) must be divisible by groups \(2\)"):
        L.Conv2D(3, 3, groups=2)
    with pytest.raises(LayerError, match="3 channels must be divisible by groups=2"):
        L.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(LayerError, match="padding must be one of 'valid', 'same', got 'causal'"):
        L.Conv2D(2, 3, padding="causal")
    with pytest.raises(LayerError, match="kernel_size must be an int or a tuple of 2 ints"):
        L.Conv2D(2, (3, 3, 3))
    with pytest.raises(LayerError, match="kernel_size must hold positive ints"):
        L.Conv2D(2, 0)
    with pytest.raises(LayerError, match="filters must be a positive integer"):
        L.Conv2D(0, 3)
    with pytest.raises(LayerError, match="output_padding must be smaller than strides"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(LayerError, match=r"does not fit inputs of shape \(1, 2, 5, 1\)"):
        L.Conv2D(2, 3)(np.zeros((1, 2, 5, 1), np.float32))
    layer = L.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(LayerError, match=r"built for inputs with 3 channels, got shape \(1, 5, 5, 4\)"):
        layer(np.zeros((1, 5, 5, 4), np.float32))
    with pytest.raises(LayerError, match="channel axis"):
        L.Conv2D(2, 3).build((None, 5, 5, None))
    with pytest.raises(LayerError, match="does not map back"):
        L.Conv2DTranspose(2, 2, strides=2, padding="same", output_padding=0)(np.zeros((1, 3, 3, 1), np.float32))
    with pytest.raises(LayerError, match="lora_rank"):
        L.Conv2D(2, 3, lora_rank=4)
    assert issubclass(LayerError, HaibalValueError) and issubclass(LayerError, ValueError)


def test_a_convolutional_model_trains_end_to_end():
    with float64_layers():
        model = Sequential([L.Input((6, 6, 2)), L.Conv2D(3, 3, padding="same", activation="tanh"),
                            L.MaxPooling2D(), L.DepthwiseConv2D(2, padding="same"),
                            L.Conv2DTranspose(2, 2, strides=2), L.GlobalAveragePooling2D(), L.Dense(2)])
    for layer in model.layers:
        if layer.weights:
            _randomize(layer, seed=len(layer.name))
    x = np.random.default_rng(4).uniform(-1, 1, (2, 6, 6, 2))
    assert model.compute_output_shape((None, 6, 6, 2)) == (None, 2)
    check_gradients(model, x, rtol=1e-5)


@pytest.mark.parametrize("name,kwargs,shape", GRAD_CASES + [
    ("MaxPooling2D", {}, (2, 4, 4, 2)), ("AveragePooling1D", dict(pool_size=2), (2, 6, 2)),
    ("MaxPooling3D", {}, (1, 2, 4, 2, 2))], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_an_empty_batch_gives_empty_outputs_and_zero_gradients(name, kwargs, shape):
    """As Keras: a batch of 0 samples goes through (a predict on an empty array, an ONNX
    input of batch 0) with the output shape of a real batch."""
    layer = _make(name, kwargs)
    full = layer(np.ones(shape, np.float32))
    empty = np.zeros((0,) + shape[1:], np.float32)
    y, ctx = layer.call_forward(empty, training=True)
    assert y.shape == (0,) + full.shape[1:] and y.dtype == np.float32
    dx, grads = layer.call_backward(ctx, y)
    assert dx.shape == empty.shape
    assert [g.shape for g in grads] == [w.shape for w in layer.trainable_weights]
    assert all(not g.any() for g in grads)
