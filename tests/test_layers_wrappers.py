"""Bidirectional and TimeDistributed: composition from their inner layers, merge modes,
states, masks, weight order and names, finite-difference gradients, configs, errors."""

import numpy as np
import pytest

from haibal_py.errors import HaibalValueError
from haibal_py.layers import GRU, LSTM, Bidirectional, LayerNormalization, SimpleRNN, TimeDistributed
from gradcheck import check_layer

RNG = np.random.default_rng(13)


def randomize(layer):
    for w in layer.weights:
        w[...] = RNG.uniform(-0.5, 0.5, w.shape)
    return layer


def built(layer, shape):
    layer.build(shape)
    return randomize(layer)


@pytest.mark.parametrize("mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_is_forward_and_flipped_backward(mode, return_sequences):
    x = RNG.normal(size=(2, 5, 3))
    bi = built(Bidirectional(LSTM(4, return_sequences=return_sequences, dtype="float64"), merge_mode=mode,
                             dtype="float64"), x.shape)
    fwd, bwd = bi.forward_layer, bi.backward_layer
    assert fwd.name.startswith("forward_lstm") and bwd.name.startswith("backward_lstm") and bwd.go_backwards
    y, y_rev = fwd.forward(x), bwd.forward(x)
    if return_sequences:
        y_rev = y_rev[:, ::-1]
    want = {"concat": lambda: np.concatenate([y, y_rev], -1), "sum": lambda: y + y_rev, "mul": lambda: y * y_rev,
            "ave": lambda: (y + y_rev) / 2, None: lambda: [y, y_rev]}[mode]()
    out = bi.forward(x)
    for a, b in zip(out if mode is None else [out], want if mode is None else [want]):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    check_layer(bi, x)


@pytest.mark.parametrize("cls", [SimpleRNN, GRU, LSTM])
def test_bidirectional_states_initial_states_and_mask(cls):
    x = RNG.normal(size=(2, 4, 3))
    bi = built(Bidirectional(cls(3, return_sequences=True, return_state=True, dtype="float64"), dtype="float64"),
               x.shape)
    n = 2 if cls is LSTM else 1
    out = bi.forward(x)
    assert len(out) == 1 + 2 * n and out[0].shape == (2, 4, 6)
    init = [RNG.normal(size=(2, 3)) for _ in range(2 * n)]
    dx, _ = check_layer(bi, [x] + init)
    assert len(dx) == 1 + 2 * n
    mask = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool)
    masked = bi.forward(x, mask=mask)
    np.testing.assert_array_equal(masked[0][1, 3], 0.0)    # Keras zeroes masked outputs of sequences
    check_layer(bi, x, forward=lambda xs: bi.call_forward(xs, mask=mask))


def test_bidirectional_weights_order_names_and_config():
    bi = Bidirectional(GRU(2, name="enc"))
    bi.build((None, 5, 3))
    assert [s.name for s in bi.weight_specs()] == [
        "forward_enc/kernel", "forward_enc/recurrent_kernel", "forward_enc/bias",
        "backward_enc/kernel", "backward_enc/recurrent_kernel", "backward_enc/bias"]
    assert bi.weights[0] is bi.forward_layer.kernel                  # the inner arrays themselves
    assert bi.count_params() == 2 * (3 * 6 + 2 * 6 + 2 * 6)
    assert bi.compute_output_shape((None, 5, 3)) == (None, 4)
    clone = Bidirectional.from_config(bi.get_config())
    assert clone.get_config()["layer"] == bi.get_config()["layer"]
    bi.trainable = False
    assert bi.trainable_weights == [] and len(bi.non_trainable_weights) == 6


def test_bidirectional_errors():
    with pytest.raises(HaibalValueError, match="merge_mode must be one of"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(HaibalValueError, match="not a recurrent layer"):
        Bidirectional(LayerNormalization())
    with pytest.raises(HaibalValueError, match="must have different go_backwards"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))


def test_time_distributed_applies_the_layer_at_every_step():
    x = RNG.normal(size=(2, 3, 4, 5))
    td = built(TimeDistributed(LayerNormalization(dtype="float64"), dtype="float64"), x.shape)
    y = td.forward(x)
    for t in range(3):
        np.testing.assert_allclose(y[:, t], td.layer.forward(x[:, t]), rtol=1e-14)
    check_layer(td, x)
    assert [s.name for s in td.weight_specs()] == [f"{td.layer.name}/gamma", f"{td.layer.name}/beta"]
    assert td.compute_output_shape((None, 3, 4, 5)) == (None, 3, 4, 5)


def test_time_distributed_recurrent_inner_layer_and_config():
    x = RNG.normal(size=(2, 3, 4, 5))
    td = built(TimeDistributed(GRU(2, dtype="float64"), dtype="float64"), x.shape)
    assert td.forward(x).shape == (2, 3, 2)
    check_layer(td, x)
    assert td.compute_output_shape((None, 3, 4, 5)) == (None, 3, 2)
    clone = TimeDistributed.from_config(td.get_config())
    assert clone.get_config()["layer"]["class_name"] == "GRU"
    with pytest.raises(HaibalValueError, match=r"expects an input of rank >= 3 \(batch, time, ...\), got shape \(2, 5\)"):
        TimeDistributed(LayerNormalization()).forward(np.zeros((2, 5)))
    with pytest.raises(HaibalValueError, match="must be a Layer instance"):
        TimeDistributed("dense")


def test_a_wrapped_model_saves_each_weight_under_its_own_layer(tmp_path):
    """TimeDistributed over a Sequential of two Dense layers: four distinct names in the
    weights file (the inner layers' names kept), and the file loads back."""
    from haibal_py import layers as L, models

    inner = models.Sequential([L.Input((4,)), L.Dense(3, name="first"), L.Dense(2, name="second")], name="inner")
    x = L.Input((5, 4))
    model = models.Model(x, TimeDistributed(inner, name="td")(x))
    model.save_weights(tmp_path / "td.weights.npz")
    with np.load(tmp_path / "td.weights.npz") as npz:
        assert sorted(npz.files) == ["td/inner/first/bias", "td/inner/first/kernel",
                                     "td/inner/second/bias", "td/inner/second/kernel"]
    saved = model.get_weights()
    model.set_weights([np.zeros_like(w) for w in saved])
    model.load_weights(tmp_path / "td.weights.npz")
    for w, s in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(w, s)
