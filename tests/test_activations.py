"""Activations: Keras documentation values, hand-derived float64 values, dtypes, stability, NaN."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from haibal_py import HaibalValueError, activations as act

F32, F64 = np.float32, np.float64
X = [-10, -5, 0.0, 5, 10]


def test_relu_keras_doc_examples():
    np.testing.assert_array_equal(act.relu(X), [0., 0., 0., 5., 10.])
    np.testing.assert_array_equal(act.relu(X, negative_slope=0.5), [-5., -2.5, 0., 5., 10.])
    np.testing.assert_array_equal(act.relu(X, max_value=5.), [0., 0., 0., 5., 5.])
    np.testing.assert_array_equal(act.relu(X, threshold=5.), [-0., -0., 0., 0., 10.])
    assert act.relu(X).dtype == F32


def test_relu_all_parameters_together_float64():
    x = np.array([-2.0, 0.5, 1.5, 3.0, 9.0])
    # above threshold 1: x (capped at 4); at or below: -0.1 * (1 - x)
    expected = [-0.3, -0.05, 1.5, 3.0, 4.0]
    np.testing.assert_allclose(act.relu(x, negative_slope=0.1, max_value=4.0, threshold=1.0), expected, rtol=1e-15)
    np.testing.assert_array_equal(act.thresholded_relu(x, theta=1.0), [0.0, 0.0, 1.5, 3.0, 9.0])
    np.testing.assert_array_equal(act.relu6(np.array([-1.0, 3.0, 7.0])), [0.0, 3.0, 6.0])


def test_leaky_relu_default_slope_is_keras_3():
    np.testing.assert_allclose(act.leaky_relu(np.array([-1.0, 2.0])), [-0.2, 2.0], rtol=1e-15)


def test_elu_and_selu_float64():
    x = np.array([-1.0, 0.0, 2.0, -1e-10])
    np.testing.assert_allclose(act.elu(x), [math.expm1(-1), 0.0, 2.0, math.expm1(-1e-10)], rtol=1e-15)
    np.testing.assert_allclose(act.elu(x, alpha=0.5)[0], 0.5 * math.expm1(-1), rtol=1e-15)
    scale, alpha = 1.0507009873554804934, 1.6732632423543772848
    np.testing.assert_allclose(act.selu(x)[:3], [scale * alpha * math.expm1(-1), 0.0, scale * 2], rtol=1e-15)


@pytest.mark.parametrize("v", [-40.0, -8.0, -2.0, -1e-3, 0.0, 0.5, 3.0, 12.0])
def test_gelu_exact_float64(v):
    expected = 0.5 * v * math.erfc(-v / math.sqrt(2))
    np.testing.assert_allclose(act.gelu(np.array([v])), [expected], rtol=1e-15)


@pytest.mark.parametrize("v", [-30.0, -3.0, -0.5, 0.0, 1.0, 4.0])
def test_gelu_approximate_float64(v):
    u = math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)
    expected = 0.5 * v * (1 + math.tanh(u)) if v > -5 else v * math.exp(2 * u) / (1 + math.exp(2 * u))
    np.testing.assert_allclose(act.gelu(np.array([v]), approximate=True), [expected], rtol=1e-13)


def test_gelu_negative_tail_is_not_lost_to_cancellation():
    got = act.gelu(np.array([-8.0], F32), approximate=True)
    assert got[0] < 0  # 0.5 x (1 + tanh(...)) would round to -0


@pytest.mark.parametrize("v", [-800.0, -30.0, -1.0, 0.0, 1e-9, 2.0, 800.0])
def test_sigmoid_softplus_log_sigmoid_float64_are_stable(v):
    sig = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    sp = max(v, 0) + math.log1p(math.exp(-abs(v)))
    np.testing.assert_allclose(act.sigmoid(np.array([v])), [sig], rtol=1e-15)
    np.testing.assert_allclose(act.softplus(np.array([v])), [sp], rtol=1e-15)
    np.testing.assert_allclose(act.log_sigmoid(np.array([v])), [-max(-v, 0) - math.log1p(math.exp(-abs(v)))],
                               rtol=1e-15)
    np.testing.assert_allclose(act.silu(np.array([v])), [v * sig], rtol=1e-15)


def test_hard_sigmoid_is_keras_3_formula():
    x = np.array([-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0])
    np.testing.assert_allclose(act.hard_sigmoid(x), [0, 0, 0.25, 0.5, 0.75, 1, 1], rtol=1e-15)
    np.testing.assert_allclose(act.hard_silu(x), x * np.array([0, 0, 0.25, 0.5, 0.75, 1, 1]), rtol=1e-15)
    assert act.hard_swish is act.hard_silu


def test_softsign_tanh_exponential_linear_mish():
    x = np.array([-3.0, 0.0, 1.0])
    np.testing.assert_allclose(act.softsign(x), [-0.75, 0.0, 0.5], rtol=1e-15)
    np.testing.assert_allclose(act.tanh(x), [math.tanh(-3.0), 0.0, math.tanh(1.0)], rtol=1e-15)
    np.testing.assert_allclose(act.exponential(x), [math.exp(-3.0), 1.0, math.e], rtol=1e-15)
    np.testing.assert_array_equal(act.linear(x), x)
    np.testing.assert_allclose(act.mish(np.array([1.0])), [math.tanh(math.log1p(math.e))], rtol=1e-15)
    assert act.swish is act.silu


def test_softmax_any_axis_and_none():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(act.softmax(x)[0], e / e.sum(), rtol=1e-15)
    np.testing.assert_allclose(act.softmax(x)[1], [0.5, 0.5, 0.0], rtol=1e-15)
    cols = act.softmax(x, axis=0)
    np.testing.assert_allclose(cols.sum(axis=0), [1, 1, 1], rtol=1e-15)
    np.testing.assert_allclose(act.softmax(x[:1], axis=None).sum(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(act.log_softmax(x)[1], [-math.log(2), -math.log(2), -2000 - math.log(2)], rtol=1e-15)
    np.testing.assert_allclose(act.log_softmax(x, axis=0)[:, 0], [-999 - math.log1p(math.exp(-999)), 0.0],
                               atol=1e-300)
    with pytest.raises(HaibalValueError, match="axis=2 is out of range"):
        act.softmax(x, axis=2)
    with pytest.raises(HaibalValueError, match="scalar"):
        act.softmax(1.0)


ALL = [(act.relu, {}), (act.relu, {"negative_slope": 0.1, "max_value": 3.0, "threshold": 0.5}),
       (act.leaky_relu, {}), (act.relu6, {}), (act.thresholded_relu, {}), (act.elu, {}), (act.selu, {}),
       (act.gelu, {}), (act.gelu, {"approximate": True}), (act.sigmoid, {}), (act.hard_sigmoid, {}),
       (act.hard_silu, {}), (act.softmax, {}), (act.log_softmax, {}), (act.softplus, {}), (act.softsign, {}),
       (act.silu, {}), (act.mish, {}), (act.tanh, {}), (act.exponential, {}), (act.linear, {}),
       (act.log_sigmoid, {})]


@pytest.mark.parametrize("fn, kw", ALL)
@pytest.mark.parametrize("dt", [F32, F64])
def test_dtype_and_shape_kept_float32_close_to_float64(fn, kw, dt):
    x = np.linspace(-6, 6, 24).reshape(2, 3, 4)
    got = fn(x.astype(dt), **kw)
    assert got.dtype == dt and got.shape == x.shape
    np.testing.assert_allclose(got, fn(x, **kw), rtol=2e-6 if dt == F32 else 0, atol=1e-6 if dt == F32 else 0)


@pytest.mark.parametrize("fn, kw", ALL)
def test_nan_propagates_and_ints_give_float32(fn, kw):
    got = fn(np.array([1.0, np.nan, -2.0]), **kw)
    assert np.isnan(got[1])
    if fn not in (act.softmax, act.log_softmax):
        assert not np.isnan(got[[0, 2]]).any()
    assert fn([1, 2, 3], **kw).dtype == F32


@pytest.mark.parametrize("fn, kw", ALL)
def test_extreme_inputs_do_not_overflow_to_nan(fn, kw):
    x = np.array([-1e30, -100.0, 100.0, 1e30], F32)
    got = fn(x, **kw)
    assert not np.isnan(got).any()


def test_parameters_are_checked():
    with pytest.raises(HaibalValueError, match="negative_slope"):
        act.relu([1.0], negative_slope="a")
    with pytest.raises(HaibalValueError, match="x must be numeric"):
        act.relu(["a"])


def test_get():
    assert act.get("relu") is act.relu and act.get(None) is act.linear and act.get(act.tanh) is act.tanh
    with pytest.raises(HaibalValueError, match="unknown activation 'rellu'"):
        act.get("rellu")


@settings(max_examples=80, deadline=None)
@given(arrays(F64, st.integers(1, 20), elements=st.floats(-700, 700)))
def test_properties(x):
    s = act.sigmoid(x)
    assert ((s >= 0) & (s <= 1)).all()
    np.testing.assert_allclose(s + act.sigmoid(-x), 1.0, rtol=1e-15)
    assert (act.softplus(x) >= np.maximum(x, 0)).all()
    sm = act.softmax(x)
    np.testing.assert_allclose(sm.sum(), 1.0, rtol=1e-13)
    np.testing.assert_allclose(np.exp(act.log_softmax(x)), sm, rtol=1e-12, atol=1e-300)
    assert (act.relu(x) >= 0).all() and (np.abs(act.tanh(x)) <= 1).all()
    g = act.gelu(x)
    assert (g <= np.maximum(x, 0) + 1e-12).all() and (g >= np.minimum(x, 0) - 0.2).all()
