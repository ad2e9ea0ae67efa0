"""ZeroPadding, Cropping, UpSampling (nearest and bilinear) and SpatialDropout layers: values
written out by hand, float64 gradient checks, shapes, configs and errors. Keras' numbers
are compared in tests/test_keras_layer_refs.py."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from haibal_py import layers as L
from haibal_py.numeric.layers import LayerError

GRAD_CASES = [
    ("ZeroPadding1D", dict(padding=(1, 2)), (2, 4, 3)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 1))), (2, 3, 4, 2)),
    ("ZeroPadding3D", dict(padding=1), (1, 2, 3, 2, 2)),
    ("Cropping1D", dict(cropping=(2, 1)), (2, 6, 3)),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (2, 5, 6, 2)),
    ("Cropping3D", dict(cropping=((1, 0), (0, 1), (1, 1))), (1, 3, 3, 4, 2)),
    ("UpSampling1D", dict(size=3), (2, 3, 2)),
    ("UpSampling2D", dict(size=(2, 3)), (2, 3, 2, 2)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear"), (1, 2, 3, 2)),
    ("UpSampling2D", dict(size=(1, 4), interpolation="bilinear"), (1, 3, 2, 2)),
    ("UpSampling3D", dict(size=(1, 2, 2)), (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("name,kwargs,shape", GRAD_CASES, ids=lambda v: str(v) if isinstance(v, str) else None)
def test_gradients_match_central_differences(name, kwargs, shape):
    with float64_layers():
        layer = getattr(L, name)(**kwargs)
    x = np.random.default_rng(0).uniform(-1, 1, shape)
    check_gradients(layer, x)
    assert layer(x).shape == layer.compute_output_shape(shape)
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_values_written_out():
    x = np.arange(1.0, 7.0).reshape(1, 2, 3, 1)  # [[1, 2, 3], [4, 5, 6]]
    padded = L.ZeroPadding2D(((1, 0), (0, 2)), dtype="float64")(x)[0, ..., 0]
    np.testing.assert_array_equal(padded, [[0, 0, 0, 0, 0], [1, 2, 3, 0, 0], [4, 5, 6, 0, 0]])
    cropped = L.Cropping2D(((0, 1), (1, 0)), dtype="float64")(x)[0, ..., 0]
    np.testing.assert_array_equal(cropped, [[2, 3]])
    up = L.UpSampling2D((2, 1), dtype="float64")(x)[0, ..., 0]
    np.testing.assert_array_equal(up, [[1, 2, 3], [1, 2, 3], [4, 5, 6], [4, 5, 6]])
    np.testing.assert_array_equal(L.UpSampling1D(2, dtype="float64")(np.array([[[1.0], [2.0]]])).reshape(-1),
                                  [1, 1, 2, 2])
    # half-pixel bilinear (TensorFlow's resize): outputs sample (i + 0.5) / 2 - 0.5, clamped
    row = L.UpSampling2D((1, 2), interpolation="bilinear", dtype="float64")(np.array([[[[0.0], [4.0]]]]))
    np.testing.assert_allclose(row.reshape(-1), [0.0, 1.0, 3.0, 4.0])
    np.testing.assert_array_equal(L.Cropping1D((1, 2), dtype="float64")(np.arange(5.0).reshape(1, 5, 1)).reshape(-1),
                                  [1, 2])


def test_arguments_are_standardized_as_keras():
    assert L.ZeroPadding1D().padding == ((1, 1),) and L.ZeroPadding1D(2).get_config()["padding"] == (2, 2)
    assert L.ZeroPadding2D(2).padding == ((2, 2), (2, 2))
    assert L.ZeroPadding2D((1, 2)).padding == ((1, 1), (2, 2))
    assert L.ZeroPadding3D().padding == ((1, 1),) * 3
    assert L.Cropping1D().get_config()["cropping"] == (1, 1)
    assert L.Cropping2D().cropping == ((0, 0), (0, 0)) and L.Cropping2D(1).cropping == ((1, 1), (1, 1))
    assert L.Cropping3D().cropping == ((1, 1),) * 3
    config = L.UpSampling2D().get_config()
    assert (config["size"], config["interpolation"], config["data_format"]) == ((2, 2), "nearest", "channels_last")
    assert config["name"].startswith("up_sampling2d")  # Keras' automatic name
    assert L.UpSampling1D().get_config()["size"] == 2
    assert L.UpSampling3D().size == (2, 2, 2)
    assert L.ZeroPadding2D(1).compute_output_shape((None, None, 4, 3)) == (None, None, 6, 3)


def test_errors_name_the_layer_and_the_values():
    with pytest.raises(LayerError, match=r"cropping \(\(2, 2\), \(0, 0\)\) must leave something of inputs "
                                         r"of shape \(1, 4, 3, 1\)"):
        L.Cropping2D(((2, 2), (0, 0)))(np.zeros((1, 4, 3, 1), np.float32))
    with pytest.raises(LayerError, match="padding must be an int, a tuple of 2 ints"):
        L.ZeroPadding2D((1, 2, 3))
    with pytest.raises(LayerError, match="cropping cannot be negative"):
        L.Cropping2D(-1)
    with pytest.raises(LayerError, match="1st entry of padding"):
        L.ZeroPadding2D(((1, 2, 3), 1))
    with pytest.raises(LayerError, match="interpolation must be 'nearest' or 'bilinear'"):
        L.UpSampling2D(interpolation="bicubic")
    with pytest.raises(LayerError, match="size must be an int"):
        L.UpSampling1D(size=(2,))
    with pytest.raises(LayerError, match="size must hold positive ints"):
        L.UpSampling2D(size=0)
    with pytest.raises(LayerError, match=r"expects a rank-5 input"):
        L.ZeroPadding3D()(np.zeros((1, 2, 2, 2), np.float32))


# --------------------------------------------------------------------------- spatial dropout
@pytest.mark.parametrize("name,shape", [("SpatialDropout1D", (4, 6, 8)), ("SpatialDropout2D", (4, 5, 6, 8)),
                                        ("SpatialDropout3D", (3, 2, 3, 4, 8))])
def test_spatial_dropout_drops_whole_feature_maps(name, shape):
    layer = getattr(L, name)(0.5, seed=3, dtype="float64")
    x = np.random.default_rng(1).uniform(0.5, 1.5, shape)
    assert layer(x) is x  # inference: the identity
    y = layer.forward(x, training=True)
    kept = y != 0
    # one draw per (sample, channel): every position of a map is kept or dropped together
    per_map = kept.reshape(shape[0], -1, shape[-1])
    assert (per_map.all(axis=1) | ~per_map.any(axis=1)).all()
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], x[kept] * 2)
    dy = np.random.default_rng(2).uniform(-1, 1, shape)
    dx, grads = layer.backward(dy)
    np.testing.assert_allclose(dx, dy * kept * 2)
    assert grads == []


def test_spatial_dropout_seeds_configs_and_errors():
    a = L.SpatialDropout2D(0.3, seed=7)
    b = L.SpatialDropout2D(0.3, seed=7)
    x = np.ones((8, 3, 3, 5), np.float32)
    np.testing.assert_array_equal(a.forward(x, training=True), b.forward(x, training=True))
    assert a.get_config()["rate"] == 0.3 and a.get_config()["seed"] == 7
    assert a.get_config()["data_format"] == "channels_last" and "noise_shape" not in a.get_config()
    assert "data_format" not in L.SpatialDropout1D(0.1).get_config()
    with pytest.raises(LayerError, match="rate must be a number in"):
        L.SpatialDropout2D(1.5)
    with pytest.raises(LayerError, match="channels_first"):
        L.SpatialDropout2D(0.5, data_format="channels_first")
    with pytest.raises(LayerError, match="expects a rank-4 input"):
        L.SpatialDropout2D(0.5).forward(np.ones((2, 3, 4), np.float32), training=True)
    with float64_layers():
        check_gradients(L.SpatialDropout2D(0.5), np.ones((2, 2, 2, 3)))  # inference: identity
