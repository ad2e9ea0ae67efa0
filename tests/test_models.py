"""Functional models and Sequential: graphs, forward/backward (central differences in float64),
Keras' weight order, freezing, predict, weights files, configs and error messages."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from haibal_py import layers as L
from haibal_py import models, regularizers
from haibal_py.errors import LayerError
from haibal_py.numeric.layers.base import Layer

RNG = np.random.default_rng(7)


def normal(*shape):
    return RNG.normal(size=shape)


def skip_shared_two_outputs():
    """Two inputs, one Dense shared by both, a skip connection, two outputs."""
    a = L.Input((4,), name="a")
    b = L.Input((4,), name="b")
    shared = L.Dense(4, activation="tanh", name="shared")
    sa, sb = shared(a), shared(b)
    skip = L.Add(name="skip")([sa, sb, a])
    joined = L.Concatenate(name="join")([skip, b])
    head = L.Dense(3, name="head")(joined)
    return models.Model([a, b], [head, skip], name="two_heads")


def test_functional_model_with_shared_layer_skip_and_two_outputs_backward():
    with float64_layers():
        model = skip_shared_two_outputs()
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "skip", "join", "head"]
    result = check_gradients(model, [normal(3, 4), normal(3, 4)])
    assert len(result["grads"]) == 4                    # shared kernel and bias once, then head's


def test_shared_layer_gradients_are_the_sum_over_its_calls():
    with float64_layers():
        x = L.Input((3,))
        d = L.Dense(3, name="twice")
        y = d(d(x))
        model = models.Model(x, y)
    data = normal(2, 3)
    out = model.forward(data)
    dy = normal(2, 3)
    _, (gk, gb) = model.backward(dy)
    h = data @ d.kernel + d.bias
    np.testing.assert_allclose(out, h @ d.kernel + d.bias)
    dh = dy @ d.kernel.T
    np.testing.assert_allclose(gk, h.T @ dy + data.T @ dh)
    np.testing.assert_allclose(gb, dy.sum(0) + dh.sum(0))


def test_nested_models_sequential_inside_functional_and_a_model_called_twice():
    with float64_layers():
        block = models.Sequential([L.Input((3,)), L.Dense(3, activation="sigmoid", name="bd"), L.Dense(3, name="bd2")],
                                  name="block")
        x = L.Input((3,), name="x")
        y = block(block(x))                                 # the same nested model twice
        z = L.Dense(2, name="top")(L.Add(name="res")([y, x]))
        model = models.Model(x, z, name="outer")
    assert [layer.name for layer in model.layers] == ["x", "block", "res", "top"]
    assert len(model.trainable_weights) == 6
    check_gradients(model, normal(4, 3))
    inner = models.Model(x, y, name="sub")            # a model on a sub-graph shares the layers
    assert inner.get_layer("block") is block
    np.testing.assert_allclose(inner.predict(np.ones((2, 3))), block.forward(block.forward(np.ones((2, 3)))))


def test_nested_multi_output_model_gradients():
    with float64_layers():
        i = L.Input((3,))
        twin = models.Model(i, [L.Dense(2, name="ta")(i), L.Dense(3, name="tb")(i)], name="twin")
        x = L.Input((3,))
        p, q = twin(x)
        model = models.Model(x, L.Concatenate()([p, q, x]))
    check_gradients(model, normal(2, 3))


class _Stats(Layer):
    """A stand-in for BatchNormalization's weights: gamma (trainable) created after a
    non-trainable ``moving`` weight, so the order rule is visible."""

    def build(self, input_shape):
        self.moving = self.add_weight("moving", (input_shape[-1],), "zeros", trainable=False)
        self.gamma = self.add_weight("gamma", (input_shape[-1],), "ones")
        self.built = True

    def _forward(self, x, training):
        return x * self.gamma, x

    def _backward(self, x, dy, need_dx):
        return (dy * self.gamma if need_dx else None), ([(dy * x).sum(0)] if self.trainable else [])


def test_weight_order_is_keras_per_layer_trainable_then_non_trainable():
    """Keras 3.15 (checked with TensorFlow's Keras on Dense, BatchNormalization, PReLU, Dense):
    model.weights = per layer in model.layers order, each layer's trainable weights then its
    non-trainable ones; freezing a layer moves its weights to non_trainable_weights in place."""
    x = L.Input((4,))
    h = L.Dense(3, name="d1")(x)
    h = _Stats(name="bn")(h)
    h = L.PReLU(name="pr")(h)
    model = models.Model(x, L.Dense(2, name="d2")(h))
    from haibal_py.numeric.models.weights_io import weight_entries
    names = [key for key, _ in weight_entries(model)]
    assert names == ["d1/kernel", "d1/bias", "bn/gamma", "bn/moving", "pr/alpha", "d2/kernel", "d2/bias"]

    def keys(arrays):
        ids = {id(spec.value): key for key, spec in weight_entries(model)}
        return [ids[id(a)] for a in arrays]

    assert keys(model.trainable_weights) == ["d1/kernel", "d1/bias", "bn/gamma", "pr/alpha", "d2/kernel", "d2/bias"]
    assert keys(model.non_trainable_weights) == ["bn/moving"]
    model.get_layer("d1").trainable = False
    assert keys(model.weights) == names
    assert keys(model.trainable_weights) == ["bn/gamma", "pr/alpha", "d2/kernel", "d2/bias"]
    assert keys(model.non_trainable_weights) == ["d1/kernel", "d1/bias", "bn/moving"]
    model.forward(np.ones((2, 4), np.float32))
    _, grads = model.backward(np.ones((2, 2), np.float32))
    assert [g.shape for g in grads] == [w.shape for w in model.trainable_weights]


def test_freezing_a_layer_or_the_model():
    model = skip_shared_two_outputs()
    x = [np.ones((2, 4), np.float32), np.ones((2, 4), np.float32)]
    model.get_layer("shared").trainable = False
    model.forward(x)
    dx, grads = model.backward([np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)])
    assert len(grads) == 2 and len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    assert dx[0].shape == (2, 4)
    model.trainable = False                             # as Keras 3: sets every layer inside
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    model.forward(x)
    dx, grads = model.backward([np.ones((2, 3), np.float32), np.ones((2, 4), np.float32)])
    assert grads == [] and dx[1].shape == (2, 4)
    model.trainable = True
    assert model.get_layer("shared").trainable and len(model.trainable_weights) == 4


def test_sequential_builds_from_input_input_shape_or_first_call():
    with_input = models.Sequential([L.Input((5,)), L.Dense(3, name="s1"), L.Dense(2, name="s2")])
    assert with_input.built and with_input.input_shape == (None, 5) and with_input.output_shape == (None, 2)
    assert [layer.name for layer in with_input.layers] == ["s1", "s2"]   # the InputLayer is left out
    legacy = models.Sequential([L.Dense(3, input_shape=(5,))])
    assert legacy.built and legacy.input_shape == (None, 5)
    deferred = models.Sequential()
    deferred.add(L.Dense(4, activation="relu"))
    deferred.add(L.Dense(1))
    assert not deferred.built
    with pytest.raises(LayerError, match="no input shape yet"):
        deferred.input_shape
    y = deferred(np.ones((6, 3), np.float32))
    assert y.shape == (6, 1) and deferred.built
    assert deferred.input_shape == (6, 3)              # Keras builds with the data's batch size
    assert deferred.predict(np.ones((10, 3))).shape == (10, 1)
    later = models.Sequential([L.Dense(2)])
    later.build((None, 7))
    assert later.count_params() == 16
    popped = with_input.pop()
    assert popped.name == "s2" and with_input.output_shape == (None, 3)
    with pytest.raises(LayerError, match="unique names"):
        models.Sequential([L.Dense(2, name="same"), L.Dense(2, name="same")])
    with pytest.raises(LayerError, match="input layer can only be the first"):
        models.Sequential([L.Dense(2), L.Input((3,))])


def test_sequential_gradients_and_dropout_training_flag():
    with float64_layers():
        model = models.Sequential([L.Input((4,)), L.Dense(5, activation="elu"), L.Dropout(0.5, seed=1),
                                   L.Dense(2, activation="softmax")])
    check_gradients(model, normal(3, 4))                # inference: Dropout is the identity
    x = np.ones((50, 4))
    assert not np.array_equal(model.forward(x, training=True), model.forward(x, training=True))
    with float64_layers():
        inp = L.Input((4,))
        always = L.Dropout(0.5, seed=0)(inp, training=True)   # a call fixed to training
        fixed = models.Model(inp, always)
    assert (fixed.forward(x, training=False) == 0).any()


def test_model_weights_api_get_layer_and_shapes():
    model = skip_shared_two_outputs()
    assert model.count_params() == 20 + 27
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 4), (4,), (8, 3), (3,)]
    new = [np.full(w.shape, i, np.float32) for i, w in enumerate(weights)]
    model.set_weights(new)
    assert model.get_layer("head").bias[0] == 3
    assert model.get_layer(index=2).name == "shared"
    with pytest.raises(LayerError, match="no layer named 'nope'"):
        model.get_layer("nope")
    assert model.input_shape == [(None, 4), (None, 4)]
    assert model.output_shape == [(None, 3), (None, 4)]
    assert [t.name for t in model.inputs] == ["a", "b"]
    with pytest.raises(LayerError, match="set_weights got 3"):
        model.set_weights(new[:3])


def test_forward_takes_lists_and_dicts_and_checks_inputs():
    model = skip_shared_two_outputs()
    a, b = np.ones((2, 4), np.float32), np.zeros((2, 4), np.float32)
    by_list = model.forward([a, b])
    by_dict = model.forward({"b": b, "a": a})
    np.testing.assert_array_equal(by_list[0], by_dict[0])
    with pytest.raises(LayerError, match=r"takes 2 inputs \(a, b\), got 1 arrays"):
        model.forward([a])
    with pytest.raises(LayerError, match="inputs dict lacks 'b'"):
        model.forward({"a": a})
    with pytest.raises(LayerError, match=r"input 'a' expects shape \(None, 4\), got \(2, 5\)"):
        model.forward([np.ones((2, 5)), b])


def test_predict_batches_like_forward_for_single_and_multi_input_models():
    model = skip_shared_two_outputs()
    a, b = normal(70, 4).astype(np.float32), normal(70, 4).astype(np.float32)
    full = model.forward([a, b])
    batched = model.predict([a, b], batch_size=16)
    for f, p in zip(full, batched):
        np.testing.assert_allclose(p, f, rtol=1e-6)
    seq = models.Sequential([L.Input((4,)), L.Dense(3)])
    np.testing.assert_allclose(seq.predict(a), seq.forward(a), rtol=1e-6)
    assert seq.predict(a[:0]).shape == (0, 3)
    with pytest.raises(LayerError, match="batch_size must be a positive int"):
        seq.predict(a, batch_size=0)


@pytest.mark.parametrize("suffix", [".weights.npz", ".safetensors"])
def test_save_and_load_weights_round_trip(tmp_path, suffix):
    model = skip_shared_two_outputs()
    path = tmp_path / f"model{suffix}"
    model.save_weights(path)
    saved = model.get_weights()
    twin = skip_shared_two_outputs()
    assert not np.array_equal(twin.get_weights()[0], saved[0])
    twin.load_weights(path)
    for w, s in zip(twin.get_weights(), saved):
        np.testing.assert_array_equal(w, s)
    x = [np.ones((1, 4), np.float32)] * 2
    np.testing.assert_array_equal(twin.forward(x)[0], model.forward(x)[0])


def test_weights_files_use_layer_and_weight_names_and_are_safe(tmp_path):
    inner = models.Sequential([L.Input((3,)), L.Dense(2, name="in_d")], name="enc")
    x = L.Input((3,))
    model = models.Model(x, L.Dense(1, name="top")(inner(x)))
    model.save_weights(tmp_path / "m.weights.npz")
    with np.load(tmp_path / "m.weights.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["enc/in_d/bias", "enc/in_d/kernel", "top/bias", "top/kernel"]
    model.save_weights(tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["top/kernel"]["dtype"] == "F32" and header["top/kernel"]["shape"] == [2, 1]
    assert n % 8 == 0 and len(raw) == 8 + n + 4 * (3 * 2 + 2 + 2 + 1)


def test_load_weights_refuses_mismatches_without_touching_the_model(tmp_path):
    model = skip_shared_two_outputs()
    before = model.get_weights()
    other = models.Sequential([L.Input((4,)), L.Dense(4, name="shared"), L.Dense(2, name="head")])
    other.save_weights(tmp_path / "other.weights.npz")
    with pytest.raises(LayerError, match=r"'head/kernel' has shape \(4, 2\) in the file, the model needs \(8, 3\)"):
        model.load_weights(tmp_path / "other.weights.npz")
    for w, b in zip(model.get_weights(), before):          # 'shared' fitted, but nothing was loaded
        np.testing.assert_array_equal(w, b)
    fewer = models.Sequential([L.Input((4,)), L.Dense(4, name="shared")])
    fewer.save_weights(tmp_path / "fewer.safetensors")
    with pytest.raises(LayerError, match="'head/kernel' is not in the file"):
        model.load_weights(tmp_path / "fewer.safetensors")
    more = models.Sequential([L.Input((4,)), L.Dense(4, name="shared"), L.Dense(3, name="head", input_dim=8),
                              L.Dense(1, name="extra")])
    more.save_weights(tmp_path / "more.weights.npz")
    with pytest.raises(LayerError, match="head/kernel"):
        model.load_weights(tmp_path / "more.weights.npz")
    with pytest.raises(LayerError, match=r"end with '.weights.npz' or '.safetensors'"):
        model.save_weights(tmp_path / "model.h5")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(LayerError, match="not a safetensors file"):
        model.load_weights(tmp_path / "junk.safetensors")
    (tmp_path / "pickle.weights.npz").write_bytes(b"PK not a zip")
    with pytest.raises(LayerError, match="cannot read this weights file"):
        model.load_weights(tmp_path / "pickle.weights.npz")
    with pytest.raises(LayerError, match="no weights file"):
        model.load_weights(tmp_path / "absent.weights.npz")


def test_load_weights_refuses_an_extra_weight_in_the_file(tmp_path):
    small = models.Sequential([L.Input((4,)), L.Dense(2, name="only")])
    big = models.Sequential([L.Input((4,)), L.Dense(2, name="only"), L.Dense(2, name="extra")])
    big.save_weights(tmp_path / "big.weights.npz")
    with pytest.raises(LayerError, match="holds 'extra/bias', which the model does not have"):
        small.load_weights(tmp_path / "big.weights.npz")


def test_graph_errors_name_layers_and_shapes():
    x = L.Input((3,), name="x")
    stray = L.Input((3,), name="stray")
    y = L.Add(name="both")([L.Dense(3, name="dx")(x), stray])
    with pytest.raises(LayerError, match="graph disconnected.*stray"):
        models.Model(x, y)
    a = L.Input((3,), name="same")
    b = L.Input((3,), name="same")
    with pytest.raises(LayerError, match="the name 'same' is used 2 times"):
        models.Model([a, b], L.Add()([a, b]))
    seq3 = L.Input((3, 4), name="seq3")
    with pytest.raises(LayerError, match=r"rv \(RepeatVector\) expects a rank-2 input.*\(None, 3, 4\)"):
        L.RepeatVector(2, name="rv")(seq3)
    with pytest.raises(LayerError, match=r"fc \(Dense\) expects inputs whose last axis is 3.*\(None, 5\)"):
        d = L.Dense(2, name="fc")
        d(L.Input((3,)))
        d(L.Input((5,)))
    with pytest.raises(LayerError, match="subclassed models are not supported"):
        models.Model()
    with pytest.raises(LayerError, match="takes a list of input tensors"):
        L.Concatenate()(L.Input((2,)))


def test_functional_and_sequential_configs_round_trip():
    model = skip_shared_two_outputs()
    config = model.get_config()
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["head", 0, 0], ["skip", 0, 0]]
    shared = next(item for item in config["layers"] if item["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2
    from haibal_py.numeric.layers.base import LAYER_CLASSES
    clone = LAYER_CLASSES["Functional"].from_config(json.loads(json.dumps(config)))
    clone.set_weights(model.get_weights())
    x = [normal(2, 4).astype(np.float32), normal(2, 4).astype(np.float32)]
    for c, m in zip(clone.forward(x), model.forward(x)):
        np.testing.assert_array_equal(c, m)
    seq = models.Sequential([L.Input((3,)), L.Dense(4, activation="relu"), L.Dropout(0.1), L.Dense(1)], name="s")
    again = models.Sequential.from_config(seq.get_config())
    assert again.name == "s" and again.input_shape == (None, 3)
    again.set_weights(seq.get_weights())
    np.testing.assert_array_equal(again.predict(np.ones((2, 3))), seq.predict(np.ones((2, 3))))


def test_losses_and_regularization_grads_follow_trainable_weights():
    x = L.Input((3,))
    h = L.Dense(2, kernel_initializer="ones", kernel_regularizer=regularizers.L2(0.5),
                activity_regularizer=regularizers.L1(0.1), name="r")(x)
    model = models.Model(x, L.Dense(1, name="plain")(h))
    y = model.forward(np.ones((4, 3), np.float32))
    assert y.shape == (4, 1)
    penalties = model.losses
    assert penalties[0] == pytest.approx(0.5 * 6)
    assert penalties[1] == pytest.approx(0.1 * 4 * 2 * 3 / 4)   # |h| summed, divided by the batch
    reg = model.regularization_grads()
    assert len(reg) == len(model.trainable_weights)
    np.testing.assert_allclose(reg[0], np.ones((3, 2)))
    assert reg[1] is None and reg[2] is None


def test_integer_inputs_get_no_gradient_and_the_embedding_still_learns():
    ids = L.Input((3,), dtype="int32", name="ids")
    model = models.Model(ids, L.Dense(1)(L.Flatten()(L.Embedding(5, 2)(ids))))
    model.forward(np.array([[0, 1, 4]]))
    dx, grads = model.backward(np.ones((1, 1), np.float32))
    assert dx is None and grads[0].shape == (5, 2) and grads[0][[0, 1, 4]].any()
    with pytest.raises(LayerError, match="takes integers"):
        model.forward(np.array([[0.5, 1, 2]]))


class MaskedScale(Layer):
    """A layer with a tensor call argument (as MultiHeadAttention's attention_mask)."""

    call_kwargs = ("mask",)

    def _forward(self, x, training, mask=None):
        keep = np.ones_like(x) if mask is None else np.asarray(mask, dtype=x.dtype)
        return x * keep * 2, keep

    def _backward(self, keep, dy, need_dx):
        return (dy * keep * 2 if need_dx else None), []


def test_symbolic_tensors_as_call_arguments_feed_values_and_get_no_gradient():
    x = L.Input((3,), name="vals")
    m = L.Input((3,), dtype="bool", name="keep")
    y = MaskedScale(name="masked")(x, mask=m)
    model = models.Model([x, m], y)
    assert [layer.name for layer in model.layers] == ["vals", "keep", "masked"]
    mask = np.array([[True, False, True]])
    out = model.forward([np.ones((1, 3)), mask])
    np.testing.assert_array_equal(out, [[2, 0, 2]])
    dx, grads = model.backward(np.ones((1, 3), np.float32))
    np.testing.assert_array_equal(dx[0], [[2, 0, 2]])
    assert dx[1] is None and grads == []
    assert model.summary_rows()[2].connected_to == ["vals[0][0]", "keep[0][0]"]
    clone = models.Model.from_config(json.loads(json.dumps(model.get_config())))
    np.testing.assert_array_equal(clone.forward([np.ones((1, 3)), mask]), out)


def test_output_gradients_are_cast_to_the_output_dtype():
    with float64_layers():
        x = L.Input((3,))
        wide = models.Model(x, L.Dense(2)(x))
    wide.forward(np.ones((2, 3)))
    _, grads = wide.backward(np.ones((2, 2), np.float32))
    assert all(g.dtype == np.float64 for g in grads)
    narrow = models.Sequential([L.Input((3,)), L.Dense(2)])
    narrow.forward(np.ones((2, 3)))
    dx, grads = narrow.backward(np.ones((2, 2)))              # float64 dy into a float32 model
    assert dx.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    d = L.Dense(2)
    d(np.ones((1, 3), np.float32))
    assert d.backward(np.ones((1, 2)))[1][0].dtype == np.float32


def test_load_weights_refuses_a_zip_bomb_and_pickles_without_decompressing_them(tmp_path):
    """A 'weights' archive of under a MB that would decompress to 512 MB, and one holding a
    pickled object: refused before any large allocation, the model untouched."""
    import tracemalloc
    import zipfile

    model = models.Sequential([L.Input((4,)), L.Dense(2, name="only")])
    before = model.get_weights()
    bomb = tmp_path / "bomb.weights.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((2,), np.float32))
        for name, shape in (("only/kernel", (4, 2)), ("only/bias", (1 << 27,))):
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, dict(header, shape=shape))
                chunk = bytes(1 << 20)
                for _ in range(4 * shape[0] * (shape[1] if len(shape) > 1 else 1) // len(chunk) or 1):
                    fh.write(chunk if len(shape) == 1 else chunk[:32])
    assert bomb.stat().st_size < 5 << 20
    tracemalloc.start()
    with pytest.raises(LayerError, match="larger than the model's weights"):
        model.load_weights(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 << 20
    pickled = tmp_path / "pickled.weights.npz"
    np.savez(pickled, **{"only/kernel": np.zeros((4, 2), np.float32), "only/bias": np.array([{"x": 1}, None])})
    with pytest.raises(LayerError, match="only/bias"):
        model.load_weights(pickled)
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
