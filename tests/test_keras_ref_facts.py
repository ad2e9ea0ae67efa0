"""Keras' conventions, re-derived in float64 NumPy from their definitions and checked against the
shipped Keras references: they test the reference files and document the facts layer
implementers need (tests/reference/keras_layers/README.md states them in words)."""

from __future__ import annotations

import math

import numpy as np

from keras_refs import assert_close, case_info, load_case


def _f64(arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------- core
def test_dense_is_x_kernel_plus_bias_with_two_products_backward():
    ref = load_case("dense")
    (x,), (k, b), (dy,) = _f64(ref["x"]), _f64(ref["w"]), _f64(ref["dy"])
    assert ref["weight_names"] == ["kernel", "bias"] and k.shape == (5, 4)
    assert_close(x @ k + b, ref["y"][0], "y")
    assert_close(dy @ k.T, ref["dx"][0], "dx")
    assert_close(x.T @ dy, ref["g"][0], "dkernel")
    assert_close(dy.sum(0), ref["g"][1], "dbias")


def test_gelu_is_the_exact_erf_form_and_hard_sigmoid_is_relu6_over_6():
    ref = load_case("activation_gelu")
    x = ref["x"][0].astype(np.float64)
    erf = np.vectorize(math.erf)
    assert_close(0.5 * x * (1 + erf(x / math.sqrt(2))), ref["y"][0], "gelu")
    ref = load_case("activation_hard_sigmoid")
    x = ref["x"][0].astype(np.float64)
    assert_close(np.clip(x + 3, 0, 6) / 6, ref["y"][0], "hard_sigmoid")


def test_relu_options_combine_as_keras_defines_them():
    ref = load_case("relu_all_options")
    x = ref["x"][0].astype(np.float64)
    c = ref["config"]
    y = np.where(x >= c["max_value"], c["max_value"],
                 np.where(x >= c["threshold"], x, c["negative_slope"] * (x - c["threshold"])))
    assert_close(y, ref["y"][0], "y")


def test_prelu_alpha_scales_the_negative_part_and_shares_axes():
    ref = load_case("prelu_shared_axes")
    (x,), (alpha,) = _f64(ref["x"]), _f64(ref["w"])
    assert alpha.shape == (1, 1, 2)
    assert_close(np.maximum(x, 0) + alpha * np.minimum(x, 0), ref["y"][0], "y")


def test_embedding_gradient_sums_the_rows_of_repeated_ids():
    ref = load_case("embedding")
    ids, (dy,) = ref["x"][0], _f64(ref["dy"])
    g = np.zeros((10, 4))
    np.add.at(g, ids.reshape(-1), dy.reshape(-1, 4))
    assert_close(g, ref["g"][0], "dembeddings")
    assert ref["dx"] == [None]


def test_dot_normalize_is_l2_normalisation_before_the_product():
    ref = load_case("dot_axes1_normalize")
    a, b = _f64(ref["x"])
    a = a / np.sqrt(np.maximum((a * a).sum(1, keepdims=True), 1e-12))
    b = b / np.sqrt(np.maximum((b * b).sum(1, keepdims=True), 1e-12))
    assert_close((a * b).sum(1, keepdims=True), ref["y"][0], "y")


# --------------------------------------------------------------------------- convolution, pooling
def _pad_same(size, k, s, d=1):
    """TensorFlow's "same": total padding for ceil(size / s) outputs, the odd pixel at the end."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _conv2d(x, k, strides, padding):
    n, h, w, _ = x.shape
    kh, kw, _, cout = k.shape
    if padding == "same":
        (t, bt), (l, r) = _pad_same(h, kh, strides), _pad_same(w, kw, strides)
        x = np.pad(x, ((0, 0), (t, bt), (l, r), (0, 0)))
    oh, ow = (x.shape[1] - kh) // strides + 1, (x.shape[2] - kw) // strides + 1
    y = np.empty((n, oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            y[:, i, j] = np.tensordot(x[:, i * strides:i * strides + kh, j * strides:j * strides + kw], k, 3)
    return y


def test_conv2d_same_padding_puts_the_odd_pixel_at_the_end():
    for name, strides in (("conv2d_same_even_kernel", 1), ("conv2d_strides2_same_even_kernel", 2),
                          ("conv2d_strides2_same", 2), ("conv2d_valid", 1)):
        ref = load_case(name)
        (x,), (k, b) = _f64(ref["x"]), _f64(ref["w"])
        y = _conv2d(x, k, strides, ref["config"].get("padding", "valid")) + b
        assert_close(y, ref["y"][0], name)


def test_conv2d_transpose_same_crops_the_full_output_with_the_odd_pixel_at_the_end():
    for name in ("conv2d_transpose_strides2_same", "conv2d_transpose_strides2_same_even_kernel",
                 "conv2d_transpose_strides2_valid", "conv2d_transpose_output_padding"):
        ref = load_case(name)
        (x,), (k, b) = _f64(ref["x"]), _f64(ref["w"])
        s, kh = ref["config"]["strides"], ref["config"]["kernel_size"]
        n, h, w, _ = x.shape
        assert k.shape[:3] == (kh, kh, ref["config"]["filters"])  # (kh, kw, out, in)
        full = np.zeros((n, (h - 1) * s + kh, (w - 1) * s + kh, k.shape[2]))
        for i in range(h):
            for j in range(w):
                full[:, i * s:i * s + kh, j * s:j * s + kh] += np.einsum("nc,xyoc->nxyo", x[:, i, j], k)
        oh, ow = ref["output_shapes"][0][1:3]
        if ref["config"]["padding"] == "same":
            top, left = (full.shape[1] - oh) // 2, (full.shape[2] - ow) // 2
            y = full[:, top:top + oh, left:left + ow]
        else:  # valid: the full output, with output_padding zeros after it
            y = np.pad(full, ((0, 0), (0, oh - full.shape[1]), (0, ow - full.shape[2]), (0, 0)))
        assert_close(y + b, ref["y"][0], name)


def test_conv1d_causal_pads_only_before():
    ref = load_case("conv1d_causal_dilation2")
    (x,), (k, b) = _f64(ref["x"]), _f64(ref["w"])
    ksize, d = ref["config"]["kernel_size"], ref["config"]["dilation_rate"]
    xp = np.pad(x, ((0, 0), ((ksize - 1) * d, 0), (0, 0)))
    y = sum(np.einsum("ntc,co->nto", xp[:, i * d:i * d + x.shape[1]], k[i]) for i in range(ksize))
    assert_close(np.tanh(y + b), ref["y"][0], "y")


def test_separable_conv2d_is_depthwise_then_pointwise_then_bias():
    ref = load_case("separable_conv2d_same")
    (x,), (dk, pk, b) = _f64(ref["x"]), _f64(ref["w"])
    assert ref["weight_names"] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    depth = np.concatenate([_conv2d(x[..., c:c + 1], dk[:, :, c:c + 1, :], 1, "same")
                            for c in range(x.shape[-1])], -1)
    assert_close(depth @ pk[0, 0] + b, ref["y"][0], "y")


def test_depthwise_kernel_multiplies_channels_as_channel_major():
    ref = load_case("depthwise_conv2d_same_dm2_strides2")
    (x,), (k, b) = _f64(ref["x"]), _f64(ref["w"])
    assert ref["weight_names"] == ["kernel", "bias"]  # Keras 3 calls the depthwise kernel "kernel"
    kh, kw, cin, dm = k.shape
    y = np.concatenate([_conv2d(x[..., c:c + 1], k[:, :, c:c + 1, :], 2, "same") for c in range(cin)], -1)
    assert_close(y + b, ref["y"][0], "y")  # output channel c * dm + m


def test_pooling_same_pads_max_with_minus_infinity_and_averages_over_pixels_inside():
    ref = load_case("average_pooling2d_same_strides1")
    x = ref["x"][0].astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))  # pool 2, stride 1: one pixel after
    ones = np.pad(np.ones_like(x), ((0, 0), (0, 1), (0, 1), (0, 0)))
    s = xp[:, :-1, :-1] + xp[:, 1:, :-1] + xp[:, :-1, 1:] + xp[:, 1:, 1:]
    c = ones[:, :-1, :-1] + ones[:, 1:, :-1] + ones[:, :-1, 1:] + ones[:, 1:, 1:]
    assert_close(s / c, ref["y"][0], "average")
    ref = load_case("max_pooling2d_same_strides1")
    x = ref["x"][0].astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    m = np.maximum(np.maximum(xp[:, :-1, :-1], xp[:, 1:, :-1]), np.maximum(xp[:, :-1, 1:], xp[:, 1:, 1:]))
    assert_close(m, ref["y"][0], "max")


def test_bilinear_upsampling_uses_half_pixel_centres():
    ref = load_case("up_sampling2d_bilinear")
    x = ref["x"][0].astype(np.float64)

    def weights(n_in, n_out):
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), lo] += 1 - (src - lo)
        m[np.arange(n_out), hi] += src - lo
        return m

    wh, ww = weights(x.shape[1], 2 * x.shape[1]), weights(x.shape[2], 2 * x.shape[2])
    assert_close(np.einsum("ph,nhwc,qw->npqc", wh, x, ww), ref["y"][0], "y")


# --------------------------------------------------------------------------- normalization
def test_batch_normalization_training_moves_statistics_with_the_biased_batch_variance():
    for name in ("batch_normalization_training", "batch_normalization_momentum_epsilon_training"):
        ref = load_case(name)
        momentum, eps = ref["config"].get("momentum", 0.99), ref["config"].get("epsilon", 1e-3)
        (x,), (gamma, beta, mm, mv) = _f64(ref["x"]), _f64(ref["w"])
        assert ref["weight_names"] == ["gamma", "beta", "moving_mean", "moving_variance"]
        assert ref["trainable_weight_names"] == ["gamma", "beta"]
        mean, var = x.mean(0), x.var(0)  # divides by N, not N - 1
        assert_close(mm * momentum + mean * (1 - momentum), ref["w_after"][2], "moving_mean")
        assert_close(mv * momentum + var * (1 - momentum), ref["w_after"][3], "moving_variance")
        assert_close(gamma * (x - mean) / np.sqrt(var + eps) + beta, ref["y"][0], "y")


def test_batch_normalization_inference_uses_the_moving_statistics_and_keeps_them():
    ref = load_case("batch_normalization_axis1_inference")
    (x,), (gamma, beta, mm, mv) = _f64(ref["x"]), _f64(ref["w"])
    shape = (1, -1, 1, 1)  # axis=1
    y = gamma.reshape(shape) * (x - mm.reshape(shape)) / np.sqrt(mv.reshape(shape) + 1e-3) + beta.reshape(shape)
    assert_close(y, ref["y"][0], "y")
    for before, after in zip(ref["w"], ref["w_after"]):
        np.testing.assert_array_equal(before, after)


def test_layer_normalization_rms_scaling_divides_by_the_variance_and_has_no_beta():
    ref = load_case("layer_normalization_rms_scaling")
    (x,), (gamma,) = _f64(ref["x"]), _f64(ref["w"])
    assert ref["weight_names"] == ["gamma"]
    var = x.var(-1, keepdims=True)  # Keras 3.15 (deprecated option): variance, not mean square
    assert_close(x / np.sqrt(var + 1e-3) * gamma, ref["y"][0], "y")


def test_group_normalization_normalises_each_group_of_channels():
    ref = load_case("group_normalization")
    (x,), (gamma, beta) = _f64(ref["x"]), _f64(ref["w"])
    n, h, w, c = x.shape
    g = x.reshape(n, h, w, 2, c // 2)
    mean = g.mean(axis=(1, 2, 4), keepdims=True)
    var = g.var(axis=(1, 2, 4), keepdims=True)
    y = ((g - mean) / np.sqrt(var + 1e-3)).reshape(x.shape) * gamma + beta
    assert_close(y, ref["y"][0], "y")


# --------------------------------------------------------------------------- recurrent
def _simple_rnn(x, k, r, b, act, backwards):
    h = np.zeros((x.shape[0], k.shape[1]))
    seq = []
    steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    for t in steps:
        h = act(x[:, t] @ k + h @ r + b)
        seq.append(h)
    return np.stack(seq, 1), h


def test_simple_rnn_go_backwards_returns_the_sequence_in_processing_order():
    ref = load_case("simple_rnn_go_backwards_relu")
    (x,), (k, r, b) = _f64(ref["x"]), _f64(ref["w"])
    seq, _ = _simple_rnn(x, k, r, b, lambda v: np.maximum(v, 0), True)
    assert_close(seq, ref["y"][0], "y")  # step 0 is the last time step, not reversed back


def _lstm(x, k, r, b, backwards=False):
    u = r.shape[0]
    h = np.zeros((x.shape[0], u))
    c = np.zeros_like(h)
    seq = []
    for t in (range(x.shape[1])[::-1] if backwards else range(x.shape[1])):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        seq.append(h)
    return np.stack(seq, 1), h, c


def test_lstm_gates_are_input_forget_cell_output_and_state_is_h_then_c():
    ref = load_case("lstm_sequences_state_backwards")
    (x,), (k, r, b) = _f64(ref["x"]), _f64(ref["w"])
    assert ref["weight_names"] == ["kernel", "recurrent_kernel", "bias"]
    seq, h, c = _lstm(x, k, r, b, backwards=True)
    assert_close(seq, ref["y"][0], "sequence")
    assert_close(h, ref["y"][1], "h")
    assert_close(c, ref["y"][2], "c")


def _gru(x, k, r, b, reset_after):
    u = r.shape[0]
    h = np.zeros((x.shape[0], u))
    seq = []
    for t in range(x.shape[1]):
        if reset_after:  # bias (2, 3u): input bias, recurrent bias
            xz = x[:, t] @ k + b[0]
            hz = h @ r + b[1]
            z = _sigmoid(xz[:, :u] + hz[:, :u])
            rr = _sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + rr * hz[:, 2 * u:])
        else:  # bias (3u,); the reset gate multiplies h before the recurrent product
            xz = x[:, t] @ k + b
            z = _sigmoid(xz[:, :u] + h @ r[:, :u])
            rr = _sigmoid(xz[:, u:2 * u] + h @ r[:, u:2 * u])
            hh = np.tanh(xz[:, 2 * u:] + (rr * h) @ r[:, 2 * u:])
        h = z * h + (1 - z) * hh
        seq.append(h)
    return np.stack(seq, 1), h


def test_gru_gates_are_update_reset_candidate_in_both_reset_modes():
    for name, reset_after in (("gru_return_sequences_state", True), ("gru_reset_before_sequences_state", False)):
        ref = load_case(name)
        (x,), (k, r, b) = _f64(ref["x"]), _f64(ref["w"])
        assert b.shape == ((2, 3 * r.shape[0]) if reset_after else (3 * r.shape[0],))
        seq, h = _gru(x, k, r, b, reset_after)
        assert_close(seq, ref["y"][0], f"{name} sequence")
        assert_close(h, ref["y"][1], f"{name} h")


def test_bidirectional_reverses_the_backward_sequence_back_and_concatenates_forward_first():
    ref = load_case("bidirectional_lstm_concat")
    (x,), w = _f64(ref["x"]), _f64(ref["w"])
    paths = ref["weight_paths"]
    assert all("forward" in p for p in paths[:3]) and all("backward" in p for p in paths[3:])
    fwd, _, _ = _lstm(x, *w[:3])
    bwd, _, _ = _lstm(x, *w[3:], backwards=True)
    assert_close(np.concatenate([fwd, bwd[:, ::-1]], -1), ref["y"][0], "y")
    ref = load_case("bidirectional_lstm_return_state")
    (x,), w = _f64(ref["x"]), _f64(ref["w"])
    fwd, fh, fc = _lstm(x, *w[:3])
    bwd, bh, bc = _lstm(x, *w[3:], backwards=True)
    assert len(ref["y"]) == 5  # [merged output, forward h, forward c, backward h, backward c]
    for got, want in zip([np.concatenate([fh, bh], -1), fh, fc, bh, bc], ref["y"]):
        assert_close(got, want, "return_state")


# --------------------------------------------------------------------------- attention
def test_multi_head_attention_scales_queries_by_one_over_sqrt_key_dim():
    ref = load_case("mha_scores")
    q_in, v_in = _f64(ref["x"])
    wq, bq, wk, bk, wv, bv, wo, bo = _f64(ref["w"])
    assert [p.split("/", 1)[1] for p in ref["weight_paths"]] == [
        "query/kernel", "query/bias", "key/kernel", "key/bias", "value/kernel", "value/bias",
        "attention_output/kernel", "attention_output/bias"]
    q = np.einsum("btd,dhk->bthk", q_in, wq) + bq
    k = np.einsum("bsd,dhk->bshk", v_in, wk) + bk  # key defaults to value
    v = np.einsum("bsd,dhk->bshk", v_in, wv) + bv
    logits = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(ref["config"]["key_dim"])
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = np.einsum("bhts,bshk->bthk", p, v)
    assert_close(np.einsum("bthk,hkd->btd", out, wo) + bo, ref["y"][0], "output")
    assert_close(p, ref["y"][1], "scores (batch, heads, query, key)")


def test_multi_head_attention_causal_mask_hides_later_keys():
    ref = load_case("mha_causal_scores")
    scores = ref["y"][1]
    t = scores.shape[-1]
    assert np.all(scores[..., np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0)
    assert case_info("mha_causal")["same_as"] == {"1": 0}


def test_bidirectional_merge_modes():
    merges = {"sum": lambda f, b: f + b, "mul": lambda f, b: f * b, "ave": lambda f, b: (f + b) / 2}
    for mode, merge in merges.items():
        ref = load_case(f"bidirectional_lstm_{mode}")
        (x,), w = _f64(ref["x"]), _f64(ref["w"])
        fwd, _, _ = _lstm(x, *w[:3])
        bwd, _, _ = _lstm(x, *w[3:], backwards=True)
        assert_close(merge(fwd, bwd[:, ::-1]), ref["y"][0], mode)
    ref = load_case("bidirectional_lstm_none")
    (x,), w = _f64(ref["x"]), _f64(ref["w"])
    fwd, _, _ = _lstm(x, *w[:3])
    bwd, _, _ = _lstm(x, *w[3:], backwards=True)
    assert len(ref["y"]) == 2
    assert_close(fwd, ref["y"][0], "forward")
    assert_close(bwd[:, ::-1], ref["y"][1], "backward, in time order")
