"""BatchNormalization, LayerNormalization, GroupNormalization: values from the definitions,
finite-difference gradients (float64), Keras' moving-statistics update, float32, errors."""

import numpy as np
import pytest

from haibal_py.errors import HaibalValueError
from haibal_py.layers import BatchNormalization, GroupNormalization, LayerNormalization
from gradcheck import check_layer

RNG = np.random.default_rng(7)


def _set(layer, shape, low=0.5, high=1.5):
    layer.build(shape)
    for w in layer.weights:
        w[...] = RNG.uniform(low, high, w.shape)
    return layer


# ----------------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("kw,shape", [({}, (5, 3)), ({"axis": 1}, (3, 4, 2, 2)), ({"axis": -2}, (3, 4, 2)),
                                      ({"center": False}, (4, 2, 3)), ({"scale": False}, (4, 3))])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(kw, shape, training):
    layer = _set(BatchNormalization(dtype="float64", **kw), shape)
    check_layer(layer, RNG.normal(size=shape) * 2 + 1, training=training)


def test_batchnorm_training_values_and_moving_update():
    x = RNG.normal(size=(6, 2, 3))
    layer = _set(BatchNormalization(axis=1, momentum=0.9, epsilon=1e-3, dtype="float64"), x.shape)
    gamma, beta, mm, mv = (w.copy() for w in layer.weights)
    y = layer.forward(x, training=True)
    mean = x.mean(axis=(0, 2))
    var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))   # biased, as Keras
    want = (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-3) * gamma[None, :, None] + beta[None, :, None]
    np.testing.assert_allclose(y, want, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_mean, mm * 0.9 + mean * 0.1, rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance, mv * 0.9 + var * 0.1, rtol=1e-12)
    # inference uses the moving statistics and leaves them alone
    before = [w.copy() for w in layer.weights]
    y2 = layer.forward(x, training=False)
    want2 = (x - layer.moving_mean[None, :, None]) / np.sqrt(layer.moving_variance[None, :, None] + 1e-3) \
        * gamma[None, :, None] + beta[None, :, None]
    np.testing.assert_allclose(y2, want2, rtol=1e-12)
    for a, b in zip(before, layer.weights):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_frozen_uses_moving_statistics_in_training():
    x = RNG.normal(size=(5, 3))
    layer = _set(BatchNormalization(dtype="float64"), x.shape)
    layer.trainable = False
    stats = [layer.moving_mean.copy(), layer.moving_variance.copy()]
    np.testing.assert_allclose(layer.forward(x, training=True), layer.forward(x, training=False))
    np.testing.assert_array_equal(layer.moving_mean, stats[0])
    assert layer.trainable_weights == []
    _, grads = layer.backward(np.ones_like(x))
    assert grads == []


def test_batchnorm_weights_layout_and_config():
    layer = BatchNormalization(axis=1)
    layer.build((None, 4, 5))
    assert [s.name for s in layer.weight_specs()] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [s.name for s in layer.weight_specs(True)] == ["gamma", "beta"]
    assert [w.shape for w in layer.weights] == [(4,)] * 4
    np.testing.assert_array_equal(layer.moving_variance, np.ones(4))
    config = layer.get_config()
    assert config["momentum"] == 0.99 and config["epsilon"] == 1e-3 and config["axis"] == 1
    clone = BatchNormalization.from_config(config)
    assert clone.get_config() == config


def test_batchnorm_float32_matches_float64():
    x = RNG.normal(size=(8, 6)).astype(np.float32)
    a, b = BatchNormalization(), BatchNormalization(dtype="float64")
    a.build(x.shape), b.build(x.shape)
    y32 = a.forward(x, training=True)
    y64 = b.forward(x.astype(np.float64), training=True)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)
    dx32, g32 = a.backward(np.ones_like(y32) + x)
    dx64, g64 = b.backward(np.ones_like(y64) + x)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)


def test_batchnorm_errors():
    with pytest.raises(HaibalValueError, match="renorm"):
        BatchNormalization(renorm=True)
    with pytest.raises(HaibalValueError, match="axis 3 is out of range for input shape"):
        BatchNormalization(axis=3).build((None, 4, 5))
    layer = BatchNormalization()
    layer.build((None, 4))
    with pytest.raises(HaibalValueError, match=r"expected 4 features on axis -1, got input shape \(2, 5\)"):
        layer.forward(np.zeros((2, 5)))


# ----------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("kw,shape", [({}, (3, 5)), ({"axis": [1, 2]}, (2, 3, 4)), ({"axis": 1}, (2, 3, 4)),
                                      ({"rms_scaling": True}, (3, 5)), ({"rms_scaling": True, "axis": [-2]}, (2, 3, 4)),
                                      ({"center": False, "scale": False}, (2, 4))])
def test_layernorm_gradients(kw, shape):
    layer = _set(LayerNormalization(dtype="float64", **kw), shape)
    check_layer(layer, RNG.normal(size=shape) * 2 + 1)


def test_layernorm_values():
    x = RNG.normal(size=(2, 3, 4))
    layer = _set(LayerNormalization(axis=[1, 2], dtype="float64"), x.shape)
    gamma, beta = layer.gamma, layer.beta
    assert gamma.shape == (3, 4)
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(layer.forward(x), (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, rtol=1e-12)
    # Keras' rms_scaling divides the (uncentred) input by its centred deviation; no beta
    rms = _set(LayerNormalization(rms_scaling=True, dtype="float64"), x.shape)
    assert [s.name for s in rms.weight_specs()] == ["gamma"]
    want = x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3) * rms.gamma
    np.testing.assert_allclose(rms.forward(x), want, rtol=1e-12)
    # Keras' documented example: layer_normalization(arange(5)) with epsilon 1e-3
    ln = LayerNormalization()
    np.testing.assert_allclose(ln.forward(np.arange(5, dtype=np.float32)[None]),
                               [[-1.4142135, -0.70710677, 0.0, 0.7071067, 1.4142135]], rtol=1e-3)


def test_layernorm_errors():
    with pytest.raises(HaibalValueError, match="axis must be an int or a list of ints"):
        LayerNormalization(axis="last")
    with pytest.raises(HaibalValueError, match=r"axis 2 is out of range for input shape \(None, 4\)"):
        LayerNormalization(axis=2).build((None, 4))
    layer = LayerNormalization()
    layer.build((None, 4))
    with pytest.raises(HaibalValueError, match=r"normalized axes of shape \(4,\), got input shape \(2, 3\)"):
        layer.forward(np.zeros((2, 3)))


# ----------------------------------------------------------------------------- GroupNormalization
@pytest.mark.parametrize("kw,shape", [({"groups": 2}, (2, 3, 4)), ({"groups": 2, "axis": 1}, (2, 4, 3)),
                                      ({"groups": -1}, (2, 3, 2, 4)), ({"groups": 1, "center": False}, (2, 6))])
def test_groupnorm_gradients(kw, shape):
    layer = _set(GroupNormalization(dtype="float64", **kw), shape)
    check_layer(layer, RNG.normal(size=shape) * 2 + 1)


def test_groupnorm_values():
    x = RNG.normal(size=(2, 5, 6))
    layer = _set(GroupNormalization(groups=3, dtype="float64"), x.shape)
    g = x.reshape(2, 5, 3, 2)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = g.var(axis=(1, 3), keepdims=True)
    want = ((g - mean) / np.sqrt(var + 1e-3)).reshape(x.shape) * layer.gamma + layer.beta
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12)


def test_groupnorm_errors():
    with pytest.raises(HaibalValueError, match="groups must be a positive integer"):
        GroupNormalization(groups=0)
    with pytest.raises(HaibalValueError, match=r"channels \(6\) of input shape \(None, 6\) must be a multiple"):
        GroupNormalization(groups=4).build((None, 6))
    with pytest.raises(HaibalValueError, match=r"number of groups \(32\) cannot be more than the number of channels"):
        GroupNormalization().build((None, 3, 8))


def test_batchnorm_statistics_do_not_cancel_for_large_means():
    # float32 data with a large offset: the one-pass shifted sums keep the variance exact
    x64 = 1e4 + RNG.normal(size=(4096, 3)) * np.array([1.0, 0.01, 3.0])
    layer = BatchNormalization(momentum=0.0)
    layer.build(x64.shape)
    layer.forward(x64.astype(np.float32), training=True)
    x32 = x64.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(layer.moving_mean, x32.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, x32.var(axis=0), rtol=1e-3)


@pytest.mark.parametrize("order", ["C", "F"])
def test_batchnorm_blocked_path_matches_float64_formulas_and_repeats(order):
    # 4100 x 70 float32 values: several row blocks, a short last block, blocks shared by
    # threads; the float64 definitions are the reference; a second run gives the same bits
    x64 = 3.0 + RNG.normal(size=(4100, 70)) * RNG.uniform(0.1, 2.0, 70)
    x = np.asarray(x64.astype(np.float32), order=order)
    dy = RNG.normal(size=x.shape).astype(np.float32)
    layer = _set(BatchNormalization(momentum=0.0), (None, 70))
    gamma, beta = layer.gamma.astype(np.float64), layer.beta.astype(np.float64)
    y = layer.forward(x, training=True)
    dx, (dgamma, dbeta) = layer.backward(dy)
    xr = x.astype(np.float64)
    mean, var = xr.mean(axis=0), xr.var(axis=0)
    inv = 1.0 / np.sqrt(var + 1e-3)
    xhat = (xr - mean) * inv
    np.testing.assert_allclose(y, xhat * gamma + beta, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, var, rtol=1e-5)
    g = dy.astype(np.float64)
    want_dbeta, want_dgamma = g.sum(axis=0), (g * xhat).sum(axis=0)
    want_dx = gamma * inv * (g - want_dbeta / len(x) - xhat * want_dgamma / len(x))
    np.testing.assert_allclose(dbeta, want_dbeta, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(dgamma, want_dgamma, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-5)
    y2 = layer.forward(x, training=True)
    dx2, (dgamma2, dbeta2) = layer.backward(dy)
    assert np.array_equal(y, y2) and np.array_equal(dx, dx2)
    assert np.array_equal(dgamma, dgamma2) and np.array_equal(dbeta, dbeta2)
