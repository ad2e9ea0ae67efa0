"""Pooling layers: float64 gradient checks, Keras' numbers in training mode too (the training
pass keeps a tape), tie rules, output shapes, configs and errors. Keras' numbers in
inference mode are compared in tests/test_keras_layer_refs.py."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from keras_refs import assert_close, cases, load_case
from haibal_py import layers as L
from haibal_py.numeric.layers import LayerError

GRAD_CASES = [
    ("MaxPooling1D", dict(), (2, 7, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 2)),
    ("MaxPooling2D", dict(), (2, 5, 6, 2)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 6, 7, 2)),
    ("MaxPooling2D", dict(pool_size=(2, 3), strides=(1, 2)), (2, 5, 7, 2)),
    ("MaxPooling3D", dict(pool_size=2, strides=(1, 2, 2), padding="same"), (1, 3, 4, 4, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("AveragePooling2D", dict(), (2, 5, 6, 2)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same"), (2, 4, 5, 2)),
    ("AveragePooling3D", dict(pool_size=(2, 2, 3), strides=2, padding="same"), (1, 3, 4, 5, 2)),
    ("GlobalAveragePooling1D", dict(), (2, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 4, 5, 3)),
    ("GlobalAveragePooling3D", dict(), (2, 2, 3, 2, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (2, 5, 3)),
    ("GlobalMaxPooling2D", dict(), (2, 4, 5, 3)),
    ("GlobalMaxPooling3D", dict(), (2, 2, 3, 2, 3)),
]


@pytest.mark.parametrize("name,kwargs,shape", GRAD_CASES, ids=lambda v: str(v) if isinstance(v, str) else None)
@pytest.mark.parametrize("training", [False, True])
def test_gradients_match_central_differences(name, kwargs, shape, training):
    with float64_layers():
        layer = getattr(L, name)(**kwargs)
    x = np.random.default_rng(0).uniform(-1, 1, shape)  # distinct values: no ties, no kinks
    check_gradients(layer, x, training=training)
    y = layer(x)
    assert y.shape == layer.compute_output_shape(shape)
    unknown = (None,) * (len(shape) - 1) + (shape[-1],)
    expected = layer.compute_output_shape(unknown)
    assert len(expected) == y.ndim and expected[-1] == shape[-1]


@pytest.mark.parametrize("name", [c for c in cases() if c.startswith("max_pooling")])
def test_max_pooling_in_training_is_keras(name):
    ref = load_case(name)
    layer = getattr(L, ref["layer"])(name=ref["layer_name"], **ref["config"])
    y = layer.forward(ref["x"][0], training=True)
    assert_close(y, ref["y"][0], f"{name} y")
    dx, grads = layer.backward(ref["dy"][0])
    assert_close(dx, ref["arrays"]["dx0"], f"{name} dx")
    assert grads == []


def test_ties_follow_tensorflow():
    # 2-D: the first maximum of a window (row-major) takes its gradient; 3-D: every tied maximum
    x2 = np.array([[1.0, 5.0], [5.0, 0.0]]).reshape(1, 2, 2, 1)
    for training in (False, True):
        layer = L.MaxPooling2D(dtype="float64")
        layer.forward(x2, training=training)
        dx, _ = layer.backward(np.ones((1, 1, 1, 1)))
        np.testing.assert_array_equal(dx.reshape(2, 2), [[0, 1], [0, 0]])
    x3 = np.array([1.0, 5.0, 5.0, 0.0, 0.0, 0.0, 5.0, 2.0]).reshape(1, 2, 2, 2, 1)
    layer = L.MaxPooling3D(dtype="float64")
    layer.forward(x3, training=True)
    dx, _ = layer.backward(np.ones((1, 1, 1, 1, 1)))
    np.testing.assert_array_equal(dx.reshape(-1), [0, 1, 1, 0, 0, 0, 1, 0])
    # a global max shares its gradient between tied maxima
    layer = L.GlobalMaxPooling1D(dtype="float64")
    layer.forward(np.array([[[3.0], [1.0], [3.0]]]))
    dx, _ = layer.backward(np.array([[1.0]]))
    np.testing.assert_array_equal(dx.reshape(-1), [0.5, 0, 0.5])


def test_same_average_pooling_divides_by_the_real_inputs():
    layer = L.AveragePooling1D(pool_size=3, strides=2, padding="same", dtype="float64")
    x = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]])  # pads (1, 1): windows [1, 2], [2, 3, 4], [4, 5]
    np.testing.assert_allclose(layer(x).reshape(-1), [1.5, 3.0, 4.5])


def test_defaults_and_configs_are_keras():
    assert L.MaxPooling2D().get_config()["pool_size"] == (2, 2)
    assert L.MaxPooling2D().get_config()["strides"] == (2, 2)  # strides default to pool_size
    assert L.AveragePooling1D(3).get_config()["strides"] == (3,)
    assert L.MaxPooling3D(strides=1).get_config()["pool_size"] == (2, 2, 2)
    config = L.AveragePooling2D(3, 2, "SAME").get_config()
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    assert L.GlobalMaxPooling2D(keepdims=True).get_config()["keepdims"] is True
    for layer in (L.MaxPooling2D(3, 2, "same"), L.AveragePooling3D(), L.GlobalAveragePooling1D(keepdims=True)):
        assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    assert L.MaxPooling2D().weights == [] and L.MaxPooling2D().built
    assert L.GlobalAveragePooling2D().compute_output_shape((None, 4, 5, 3)) == (None, 3)
    assert L.GlobalAveragePooling2D(keepdims=True).compute_output_shape((None, 4, 5, 3)) == (None, 1, 1, 3)


def test_errors_name_the_layer_and_the_shape():
    with pytest.raises(LayerError, match=r"p \(MaxPooling2D\) expects a rank-4 input .* got shape \(2, 5, 3\)"):
        L.MaxPooling2D(name="p")(np.zeros((2, 5, 3), np.float32))
    with pytest.raises(LayerError, match=r"pool_size \(3, 3\) does not fit inputs of shape \(1, 2, 5, 1\)"):
        L.MaxPooling2D(3)(np.zeros((1, 2, 5, 1), np.float32))
    with pytest.raises(LayerError, match="padding must be one of"):
        L.AveragePooling1D(padding="causal")
    with pytest.raises(LayerError, match="strides must hold positive ints"):
        L.MaxPooling1D(strides=0)
    with pytest.raises(LayerError, match="channels_first"):
        L.GlobalMaxPooling2D(data_format="channels_first")
    with pytest.raises(LayerError, match="rank-3 input"):
        L.GlobalAveragePooling1D()(np.zeros((2, 3, 4, 5), np.float32))
