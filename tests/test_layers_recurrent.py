"""SimpleRNN, LSTM, GRU: Keras' cell equations written out step by step (float64) as the
reference for forward values, finite differences for every gradient, masks, initial
states, dropout, float32, configs and errors."""

import itertools

import numpy as np
import pytest

from haibal_py.errors import HaibalValueError
from haibal_py.layers import GRU, LSTM, SimpleRNN
from gradcheck import check_layer

RNG = np.random.default_rng(11)


def sig(v):
    return 1 / (1 + np.exp(-v))


def reference(layer, x, h0=None, c0=None, mask=None):
    """Keras 3's RNN loop and cells, one step at a time, from their definitions.
    Returns (outputs in processing order (B, T, u), final states)."""
    W, U = layer.kernel, layer.recurrent_kernel
    b = layer.bias
    B, T, _ = x.shape
    u = layer.units
    h = np.zeros((B, u)) if h0 is None else h0
    c = np.zeros((B, u)) if c0 is None else c0
    steps = range(T - 1, -1, -1) if layer.go_backwards else range(T)
    prev_out = np.zeros((B, u))
    outs = []
    for t in steps:
        xt = x[:, t]
        if isinstance(layer, SimpleRNN):
            hn = np.tanh(xt @ W + (0 if b is None else b) + h @ U)
            cn = None
        elif isinstance(layer, LSTM):
            z = xt @ W + h @ U + (0 if b is None else b)
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            cn = sig(f) * c + sig(i) * np.tanh(g)
            hn = sig(o) * np.tanh(cn)
        else:
            if layer.reset_after:
                bi, br = (0, 0) if b is None else (b[0], b[1])
                mx = xt @ W + bi
                mh = h @ U + br
                z = sig(mx[:, :u] + mh[:, :u])
                r = sig(mx[:, u:2 * u] + mh[:, u:2 * u])
                hh = np.tanh(mx[:, 2 * u:] + r * mh[:, 2 * u:])
            else:
                mx = xt @ W + (0 if b is None else b)
                z = sig(mx[:, :u] + h @ U[:, :u])
                r = sig(mx[:, u:2 * u] + h @ U[:, u:2 * u])
                hh = np.tanh(mx[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
            hn = z * h + (1 - z) * hh
            cn = None
        if mask is not None:
            m = mask[:, t][:, None]
            out = np.where(m, hn, prev_out)
            hn = np.where(m, hn, h)
            if cn is not None:
                cn = np.where(m, cn, c)
        else:
            out = hn
        h, c, prev_out = hn, cn, out
        outs.append(out)
    states = [h, c] if isinstance(layer, LSTM) else [h]
    return np.stack(outs, axis=1), states


def make(cls, dtype="float64", shape=(2, 5, 3), **kw):
    layer = cls(4, dtype=dtype, **kw)
    layer.build(shape)
    for w in layer.weights:
        w[...] = RNG.uniform(-0.6, 0.6, w.shape)
    return layer


CELLS = [(SimpleRNN, {}), (LSTM, {}), (GRU, {}), (GRU, {"reset_after": False}), (LSTM, {"use_bias": False})]


@pytest.mark.parametrize("cls,kw", CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_matches_the_cell_equations(cls, kw, go_backwards):
    x = RNG.normal(size=(2, 5, 3))
    layer = make(cls, return_sequences=True, return_state=True, go_backwards=go_backwards, **kw)
    out, *states = layer.forward(x)
    want, want_states = reference(layer, x)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    for s, w in zip(states, want_states):
        np.testing.assert_allclose(s, w, rtol=1e-12, atol=1e-14)
    last = make(cls, go_backwards=go_backwards, **kw)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last.forward(x), want[:, -1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,kw", CELLS)
def test_mask_and_initial_state_match_keras_loop(cls, kw):
    x = RNG.normal(size=(2, 5, 3))
    mask = np.array([[0, 1, 1, 0, 1], [1, 1, 0, 0, 0]], bool)
    layer = make(cls, return_sequences=True, return_state=True, **kw)
    init = [RNG.normal(size=(2, 4)) for _ in range(2 if cls is LSTM else 1)]
    out, *states = layer.forward([x] + init, mask=mask)
    want, want_states = reference(layer, x, *init, mask=mask)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    for s, w in zip(states, want_states):
        np.testing.assert_allclose(s, w, rtol=1e-12, atol=1e-14)
    # a masked first step outputs zeros even though the state starts from init
    np.testing.assert_array_equal(out[0, 0], 0)
    # initial_state= is the same as the list form
    again = layer.forward(x, mask=mask, initial_state=init)
    np.testing.assert_array_equal(again[0], out)


@pytest.mark.parametrize("cls,kw", CELLS)
@pytest.mark.parametrize("return_sequences,return_state,go_backwards",
                         list(itertools.product([False, True], [False, True], [False, True])))
def test_gradients(cls, kw, return_sequences, return_state, go_backwards):
    layer = make(cls, shape=(2, 4, 3), return_sequences=return_sequences, return_state=return_state,
                 go_backwards=go_backwards, **kw)
    check_layer(layer, RNG.normal(size=(2, 4, 3)))


@pytest.mark.parametrize("cls,kw", CELLS)
def test_gradients_with_mask_initial_state_and_zero_output(cls, kw):
    layer = make(cls, shape=(2, 4, 3), return_sequences=True, return_state=True, **kw)
    x = RNG.normal(size=(2, 4, 3))
    init = [RNG.normal(size=(2, 4)) for _ in range(2 if cls is LSTM else 1)]
    mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], bool)
    dx, _ = check_layer(layer, [x] + init, forward=lambda xs: layer.call_forward(xs, mask=mask))
    assert len(dx) == 1 + len(init)
    layer.zero_output_for_mask = True
    check_layer(layer, x, forward=lambda xs: layer.call_forward(xs, mask=mask))


@pytest.mark.parametrize("cls,kw", CELLS)
@pytest.mark.parametrize("implementation", [1, 2])
def test_dropout_gradients_with_fixed_masks(cls, kw, implementation):
    layer = make(cls, shape=(2, 4, 3), dropout=0.3, recurrent_dropout=0.4 if implementation == 1 else 0.0,
                 seed=5, return_sequences=True, implementation=implementation, **kw)

    def forward(xs):
        layer._rng = np.random.default_rng(5)  # the same masks on every evaluation
        return layer.call_forward(xs, training=True)

    check_layer(layer, RNG.normal(size=(2, 4, 3)), forward=forward)


@pytest.mark.parametrize("cls,kw", [(SimpleRNN, {"activation": "gelu"}), (LSTM, {"activation": "swish",
                                     "recurrent_activation": "hard_sigmoid"}), (GRU, {"activation": "elu"})])
def test_other_activations(cls, kw):
    layer = make(cls, shape=(2, 4, 3), return_sequences=True, **kw)
    check_layer(layer, RNG.normal(size=(2, 4, 3)))


def test_dropout_only_in_training_and_seeded():
    x = RNG.normal(size=(3, 6, 3))
    a = make(LSTM, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    b = make(LSTM, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    b.set_weights(a.get_weights())
    ref = make(LSTM, return_sequences=True)
    ref.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.forward(x), ref.forward(x))           # inference: no dropout
    ya, yb = a.forward(x, training=True), b.forward(x, training=True)
    np.testing.assert_array_equal(ya, yb)                                  # same seed, same masks
    assert not np.allclose(ya, ref.forward(x))
    assert not np.array_equal(a.forward(x, training=True), ya)             # new masks on each call


def test_input_dropout_mask_is_the_same_at_every_step():
    # a one-unit linear SimpleRNN with identity weights: the output at step t is the sum of
    # the dropped inputs; constant inputs show which features the (shared) mask dropped
    layer = SimpleRNN(1, activation=None, use_bias=False, dropout=0.5, seed=3, return_sequences=True,
                      dtype="float64")
    layer.build((4, 6, 5))
    layer.kernel[...] = 1.0
    layer.recurrent_kernel[...] = 1.0
    y = layer.forward(np.ones((4, 6, 5)), training=True)[..., 0]
    steps = np.diff(np.concatenate([np.zeros((4, 1)), y], axis=1), axis=1)
    np.testing.assert_allclose(steps, steps[:, :1] * np.ones((1, 6)))


def test_float32_matches_float64():
    x = RNG.normal(size=(3, 7, 3))
    for cls in (SimpleRNN, LSTM, GRU):
        a = make(cls, dtype="float64", return_sequences=True)
        b = cls(4, return_sequences=True)
        b.build(x.shape)
        b.set_weights(a.get_weights())
        y32 = b.forward(x.astype(np.float32))
        assert y32.dtype == np.float32
        np.testing.assert_allclose(y32, a.forward(x), rtol=1e-5, atol=1e-6)
        dy = RNG.normal(size=y32.shape)
        dx32, g32 = b.backward(dy.astype(np.float32))
        dx64, g64 = a.backward(dy)
        np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)
        for g, h in zip(g32, g64):
            np.testing.assert_allclose(g, h, rtol=1e-4, atol=1e-5)


def test_weight_layouts_and_defaults():
    lstm = LSTM(3)
    lstm.build((None, 5, 2))
    assert [(s.name, s.value.shape) for s in lstm.weight_specs()] == [
        ("kernel", (2, 12)), ("recurrent_kernel", (3, 12)), ("bias", (12,))]
    np.testing.assert_array_equal(lstm.bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])   # unit_forget_bias
    rk = lstm.recurrent_kernel
    np.testing.assert_allclose(rk @ rk.T, np.eye(3), atol=1e-5)   # orthogonal recurrent_initializer
    gru = GRU(3)
    gru.build((None, 5, 2))
    assert [w.shape for w in gru.weights] == [(2, 9), (3, 9), (2, 9)]
    gru_old = GRU(3, reset_after=False)
    gru_old.build((None, 5, 2))
    assert gru_old.bias.shape == (9,)
    rnn = SimpleRNN(3)
    rnn.build((None, 5, 2))
    assert [w.shape for w in rnn.weights] == [(2, 3), (3, 3), (3,)]
    assert LSTM(3, return_sequences=True, return_state=True).compute_output_shape((None, 5, 2)) == \
        [(None, 5, 3), (None, 3), (None, 3)]
    assert GRU(3).compute_output_shape((8, 5, 2)) == (8, 3)


def test_config_round_trip():
    layer = GRU(5, reset_after=False, go_backwards=True, dropout=0.25, seed=3, return_sequences=True)
    config = layer.get_config()
    assert config["reset_after"] is False and config["recurrent_activation"] == "sigmoid"
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert GRU.from_config(config).get_config() == config


def test_errors():
    with pytest.raises(HaibalValueError, match=r"expects a rank-3 input \(batch, timesteps, features\), got shape \(4, 3\)"):
        LSTM(2).forward(np.zeros((4, 3)))
    with pytest.raises(HaibalValueError, match="units must be a positive integer, got 0"):
        GRU(0)
    with pytest.raises(HaibalValueError, match="stateful=True is not supported"):
        SimpleRNN(2, stateful=True)
    with pytest.raises(HaibalValueError, match="dropout must be in"):
        LSTM(2, dropout=1.5)
    with pytest.raises(HaibalValueError, match="activation='nope'"):
        LSTM(2, activation="nope")
    with pytest.raises(HaibalValueError, match="activation='softmax': it is not elementwise"):
        SimpleRNN(2, activation="softmax")
    layer = LSTM(2)
    x = np.zeros((3, 4, 5), np.float32)
    with pytest.raises(HaibalValueError, match=r"initial state must have shape \(batch, units\) = \(3, 2\), got \(3, 5\)"):
        layer.forward([x, np.zeros((3, 5)), np.zeros((3, 2))])
    with pytest.raises(HaibalValueError, match=r"mask shape \(3, 5\) does not match the input's \(batch, timesteps\) \(3, 4\)"):
        layer.forward(x, mask=np.ones((3, 5), bool))
    with pytest.raises(HaibalValueError, match=r"built for 5 features, got input shape \(3, 4, 6\)"):
        layer.forward(np.zeros((3, 4, 6)))


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_default_path_with_initial_state(use_bias, go_backwards):
    # no mask, tanh/sigmoid: the feature-major kernel, fed an initial state
    layer = make(LSTM, shape=(3, 4, 2), return_sequences=True, return_state=True, go_backwards=go_backwards,
                 use_bias=use_bias)
    x = RNG.normal(size=(3, 4, 2))
    init = [RNG.normal(size=(3, 4)) for _ in range(2)]
    out, *states = layer.forward([x] + init)
    want, want_states = reference(layer, x, *init)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    for s, w in zip(states, want_states):
        np.testing.assert_allclose(s, w, rtol=1e-12, atol=1e-14)
    dx, _ = check_layer(layer, [x] + init)
    assert len(dx) == 3


@pytest.mark.parametrize("return_sequences", [False, True])
def test_lstm_long_sequence_blocks_and_threads(return_sequences):
    # 19 steps: blocks of 8 whose products run in the background; float32 against the float64
    # cell equations, float64 gradients against finite differences, the same bits twice
    x = RNG.normal(size=(3, 19, 2))
    layer = make(LSTM, shape=x.shape, return_sequences=return_sequences, go_backwards=True)
    check_layer(layer, x)
    want, _ = reference(layer, x)
    want = want if return_sequences else want[:, -1]
    l32 = make(LSTM, dtype="float32", shape=x.shape, return_sequences=return_sequences, go_backwards=True)
    l32.set_weights([w.astype(np.float32) for w in layer.get_weights()])
    y = l32.forward(x.astype(np.float32))
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    dy = RNG.normal(size=y.shape).astype(np.float32)
    dx, grads = l32.backward(dy)
    y2 = l32.forward(x.astype(np.float32))
    dx2, grads2 = l32.backward(dy)
    assert np.array_equal(y, y2) and np.array_equal(dx, dx2)
    assert all(np.array_equal(a, b) for a, b in zip(grads, grads2))
