"""MultiHeadAttention: a per-head loop from Keras' definition as the reference, finite
differences for every gradient (masks, causal, scores, attention_axes, dropout), errors."""

import numpy as np
import pytest

from haibal_py.errors import HaibalValueError
from haibal_py.layers import MultiHeadAttention
from gradcheck import check_layer

RNG = np.random.default_rng(5)


def make(shapes, **kw):
    layer = MultiHeadAttention(dtype="float64", **kw)
    layer.build(shapes)
    for w in layer.weights:
        w[...] = RNG.uniform(-0.5, 0.5, w.shape)
    return layer


def reference(layer, query, value, key=None, mask=None):
    """Rank-3 multi-head attention, one batch item and head at a time."""
    key = value if key is None else key
    H, K = layer.num_heads, layer.key_dim
    B, T, _ = query.shape
    S = value.shape[1]
    outs = np.zeros((B, T) + tuple(layer.output_bias.shape))
    scores = np.zeros((B, H, T, S))
    for b in range(B):
        heads = []
        for h in range(H):
            q = query[b] @ layer.query_kernel[:, h] + layer.query_bias[h]
            k = key[b] @ layer.key_kernel[:, h] + layer.key_bias[h]
            v = value[b] @ layer.value_kernel[:, h] + layer.value_bias[h]
            s = (q / np.sqrt(K)) @ k.T
            if mask is not None:
                s = np.where(mask[b], s, -1e9)
            p = np.exp(s - s.max(axis=-1, keepdims=True))
            p /= p.sum(axis=-1, keepdims=True)
            if mask is not None:
                p = np.where(mask[b], p, 0.0)
            scores[b, h] = p
            heads.append(p @ v)
        o = np.stack(heads, axis=1)                      # (T, H, V)
        outs[b] = np.einsum("thv,hv...->t...", o, layer.output_kernel) + layer.output_bias
    return outs, scores


def test_self_attention_matches_reference():
    x = RNG.normal(size=(2, 5, 6))
    layer = make([x.shape, x.shape], num_heads=3, key_dim=2)
    out, scores = layer.forward([x, x], return_attention_scores=True)
    want, want_scores = reference(layer, x, x)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer(x, x), want, rtol=1e-12)        # Keras' call form


def test_cross_attention_with_key_value_dim_and_output_shape():
    q, v, k = RNG.normal(size=(2, 4, 5)), RNG.normal(size=(2, 3, 6)), RNG.normal(size=(2, 3, 4))
    layer = make([q.shape, v.shape, k.shape], num_heads=2, key_dim=3, value_dim=2, output_shape=(3, 2))
    assert [(s.name, s.value.shape) for s in layer.weight_specs()] == [
        ("query/kernel", (5, 2, 3)), ("query/bias", (2, 3)), ("key/kernel", (4, 2, 3)), ("key/bias", (2, 3)),
        ("value/kernel", (6, 2, 2)), ("value/bias", (2, 2)), ("attention_output/kernel", (2, 2, 3, 2)),
        ("attention_output/bias", (3, 2))]
    out = layer.forward([q, v, k])
    np.testing.assert_allclose(out, reference(layer, q, v, k)[0], rtol=1e-12, atol=1e-14)
    dx, grads = check_layer(layer, [q, v, k])
    assert len(dx) == 3 and len(grads) == 8


def test_masks_causal_and_fully_masked_query():
    x = RNG.normal(size=(2, 4, 5))
    layer = make([x.shape, x.shape], num_heads=2, key_dim=3)
    mask = RNG.random((2, 4, 4)) > 0.3
    mask[0, 1, :] = False                                   # query 1 of item 0 sees nothing
    causal = np.tril(np.ones((4, 4), bool))
    out, scores = layer.forward([x, x], attention_mask=mask, use_causal_mask=True, return_attention_scores=True)
    want, want_scores = reference(layer, x, x, mask=mask & causal)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(scores[0, :, 1], 0.0)
    check_layer(layer, [x, x], forward=lambda xs: layer.call_forward(
        xs, attention_mask=mask, use_causal_mask=True, return_attention_scores=True))


def test_attention_axes_on_rank4_inputs():
    x = RNG.normal(size=(2, 3, 4, 5))
    layer = make([x.shape, x.shape], num_heads=2, key_dim=2, attention_axes=(2,))
    out, scores = layer.forward([x, x], return_attention_scores=True)
    assert out.shape == (2, 3, 4, 5) and scores.shape == (2, 3, 2, 4, 4)
    # attention over axis 2 only: each slice x[:, i] is an independent rank-3 problem
    for i in range(3):
        want, want_scores = reference(layer, x[:, i], x[:, i])
        np.testing.assert_allclose(out[:, i], want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(scores[:, i], want_scores, rtol=1e-12, atol=1e-14)
    check_layer(layer, [x, x], forward=lambda xs: layer.call_forward(xs, return_attention_scores=True))
    both = make([x.shape, x.shape], num_heads=2, key_dim=2, attention_axes=(1, 2))
    _, s2 = both.forward([x, x], return_attention_scores=True)
    assert s2.shape == (2, 2, 3, 4, 3, 4)
    np.testing.assert_allclose(s2.sum(axis=(-2, -1)), 1.0)   # one softmax over both axes
    check_layer(both, [x, x])


def test_dropout_training_only_and_gradients():
    x = RNG.normal(size=(2, 4, 5))
    layer = make([x.shape, x.shape], num_heads=2, key_dim=2, dropout=0.4, seed=3)
    np.testing.assert_allclose(layer.forward([x, x]), reference(layer, x, x)[0], rtol=1e-12)
    assert not np.allclose(layer.forward([x, x], training=True), layer.forward([x, x]))

    def forward(xs):
        layer._rng = np.random.default_rng(3)
        return layer.call_forward(xs, training=True)

    check_layer(layer, [x, x], forward=forward)


def test_float32_and_no_bias():
    x = RNG.normal(size=(2, 6, 8))
    a = make([x.shape, x.shape], num_heads=4, key_dim=2, use_bias=False)
    assert len(a.weights) == 4
    b = MultiHeadAttention(num_heads=4, key_dim=2, use_bias=False)
    b.build([x.shape, x.shape])
    b.set_weights(a.get_weights())
    y = b.forward([x.astype(np.float32)] * 2)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, a.forward([x, x]), rtol=1e-5, atol=1e-6)
    small = make([(2, 3, 4), (2, 3, 4)], num_heads=2, key_dim=2, use_bias=False)
    check_layer(small, [x[:, :3, :4], x[:, 2:5, :4]])


def test_output_shape_and_config():
    layer = MultiHeadAttention(num_heads=8, key_dim=32)
    assert layer.compute_output_shape([(None, 64, 256), (None, 10, 128)]) == (None, 64, 256)
    assert layer.compute_output_shape([(None, 64, 256), (None, 10, 128)], return_attention_scores=True) == \
        [(None, 64, 256), (None, 8, 64, 10)]
    config = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5, dropout=0.1).get_config()
    assert config["output_shape"] == (5,) and config["value_dim"] == 4
    assert MultiHeadAttention.from_config(config).get_config() == config


def test_errors():
    with pytest.raises(HaibalValueError, match="num_heads must be a positive integer"):
        MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(HaibalValueError, match="use_gate=True is not supported"):
        MultiHeadAttention(num_heads=2, key_dim=2, use_gate=True)
    layer = MultiHeadAttention(num_heads=2, key_dim=2)
    with pytest.raises(HaibalValueError, match=r"value and key except the last must be equal; got value shape \(2, 3, 4\) and key shape \(2, 5, 4\)"):
        layer.forward([np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), np.zeros((2, 5, 4))])
    with pytest.raises(HaibalValueError, match="takes \\[query, value\\]"):
        layer.forward(np.zeros((2, 3, 4)))
    with pytest.raises(HaibalValueError, match=r"attention_mask of shape \(2, 3\) does not broadcast"):
        layer.forward([np.zeros((2, 3, 4))] * 2, attention_mask=np.ones((2, 3), bool))
    with pytest.raises(HaibalValueError, match="rank >= 3"):
        MultiHeadAttention(num_heads=2, key_dim=2).forward([np.zeros((2, 4))] * 2)
    with pytest.raises(HaibalValueError, match="attention_axes"):
        MultiHeadAttention(num_heads=2, key_dim=2, attention_axes=(2,)).build([(2, 3, 4)] * 2)


def test_an_empty_batch_gives_empty_outputs_and_scores():
    layer = MultiHeadAttention(num_heads=2, key_dim=4)
    x = np.zeros((0, 3, 5), np.float32)
    out, scores = layer(x, x, return_attention_scores=True)
    assert out.shape == (0, 3, 5) and scores.shape == (0, 2, 3, 3)
    y, ctx = layer.call_forward([x, x], training=True)
    (dq, dv), grads = layer.call_backward(ctx, y)
    assert dq.shape == dv.shape == x.shape and len(grads) == 8 and not any(g.any() for g in grads)
