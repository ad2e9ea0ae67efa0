"""Every layer against TensorFlow's Keras: forward outputs, every gradient, weights after the call.

The reference files (tests/reference/keras_layers/, README there) were computed offline by
scripts/gen_keras_layer_refs.py. The first tests check the files themselves (complete,
consistent; tests/test_keras_ref_facts.py re-derives values from their definitions); the generic test
then builds each case's layer through ``haibal_py.layers`` by Keras class name and config,
sets Keras' weights and compares. Cases whose class haibal_py does not have yet are not
collected; once the core, convolution and recurrent families are all there,
``test_every_case_is_covered`` demands every class.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_refs import (LAYER_DIR, assert_close, case_info, cases, close_ratio, layer_classes,
                        load_arrays, load_case)

try:
    from haibal_py import layers as L
except ImportError:  # the facade lands with the core layers
    L = None


# --------------------------------------------------------------------------- the files
def test_every_case_has_its_file_with_the_keys_it_declares():
    index = json.loads((LAYER_DIR / "cases.json").read_text())
    names = [c["case"] for c in index]
    assert len(names) == len(set(names)), "duplicate case names"
    assert {p.stem for p in LAYER_DIR.glob("*.npz")} == set(names), "an .npz without a case, or the reverse"
    for c in index:
        arrays = load_arrays(LAYER_DIR / f"{c['case']}.npz")
        assert sorted(arrays) == sorted(c["keys"]), c["case"]
        if c["layer"] == "Input":  # a symbolic tensor: shape and dtype only, no arrays
            assert arrays == {} and len(c["output_shapes"]) == 1, c["case"]
            continue
        n_in, n_w, n_out = len(c["input_shapes"]), len(c["weight_names"]), len(c["output_shapes"])
        expected = ({f"x{i}" for i in range(n_in)} | {f"w{i}" for i in range(n_w)}
                    | {f"w_after{i}" for i in range(n_w)} | {f"y{i}" for i in range(n_out)}
                    | {f"dy{i}" for i in range(n_out)} | {f"dx{i}" for i in c["dx_inputs"]}
                    | {f"g{i}" for i in range(len(c["trainable_weight_names"]))})
        assert set(arrays) == expected, c["case"]
        for i, (shape, dtype) in enumerate(zip(c["input_shapes"], c["input_dtypes"])):
            assert arrays[f"x{i}"].shape == tuple(shape) and arrays[f"x{i}"].dtype == dtype, (c["case"], i)
        assert c["dx_inputs"] == [i for i, d in enumerate(c["input_dtypes"]) if d.startswith("float")]
        for i in c["dx_inputs"]:
            assert arrays[f"dx{i}"].shape == arrays[f"x{i}"].shape, (c["case"], i)
        for i, shape in enumerate(c["weight_shapes"]):
            assert arrays[f"w{i}"].shape == arrays[f"w_after{i}"].shape == tuple(shape), (c["case"], i)
        for i, shape in enumerate(c["output_shapes"]):
            assert arrays[f"y{i}"].shape == arrays[f"dy{i}"].shape == tuple(shape), (c["case"], i)
        trainable = [p for p, t in zip(c["weight_paths"], c["weight_trainable"]) if t]
        assert trainable == c["trainable_weight_paths"], c["case"]
        for i, path in enumerate(c["trainable_weight_paths"]):
            assert arrays[f"g{i}"].shape == tuple(c["weight_shapes"][c["weight_paths"].index(path)])
        for i, j in c["same_as"].items():
            np.testing.assert_array_equal(arrays[f"x{i}"], arrays[f"x{j}"])
        for key, arr in arrays.items():
            assert arr.dtype in (np.float32, np.int32, np.bool_), (c["case"], key, arr.dtype)
            if arr.dtype == np.float32:
                assert np.isfinite(arr).all(), (c["case"], key)
        assert c["float64_deviation"] is None or c["float64_deviation"] <= 1.0, c["case"]
        assert c["keras_version"] == "3.15.1", c["case"]


def test_reference_files_stay_small():
    total = sum(p.stat().st_size for p in LAYER_DIR.iterdir())
    assert total < 3 * 1024 * 1024, f"{total} bytes"


def test_the_issue_layers_all_have_cases():
    wanted = """Input Dense Conv1D Conv2D Conv3D Conv2DTranspose DepthwiseConv2D SeparableConv2D
        MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D
        GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D Flatten
        Reshape Permute RepeatVector Dropout SpatialDropout2D GaussianNoise BatchNormalization
        LayerNormalization GroupNormalization Embedding Activation ReLU LeakyReLU PReLU ELU Softmax
        Add Subtract Multiply Average Maximum Minimum Concatenate Dot ZeroPadding1D ZeroPadding2D
        Cropping1D Cropping2D UpSampling1D UpSampling2D SimpleRNN LSTM GRU Bidirectional
        TimeDistributed MultiHeadAttention""".split()
    assert set(layer_classes()) == set(wanted)


# --------------------------------------------------------------------------- the loader
def test_reference_case_loader_groups_arrays():
    ref = load_case("lstm_return_state")
    assert len(ref["x"]) == 1 and len(ref["y"]) == 3 and len(ref["dy"]) == 3
    assert len(ref["w"]) == len(ref["w_after"]) == len(ref["g"]) == 3
    assert load_case("embedding")["dx"] == [None]
    assert close_ratio(ref["y"][0], ref["y"][0]) == 0.0
    with pytest.raises(AssertionError, match="tolerance"):
        assert_close(ref["y"][0] * 1.01, ref["y"][0], "scaled")
    with pytest.raises(KeyError, match="no_such_case"):
        load_case("no_such_case")


# --------------------------------------------------------------------------- haibal_py's layers
def _classes_needed(name: str) -> list[str]:
    info = case_info(name)
    needed = [info["layer"]]
    if isinstance(info["config"].get("layer"), dict):
        needed.append(info["config"]["layer"]["class_name"])
    return needed


def _available(name: str) -> bool:
    return L is not None and all(hasattr(L, cls) for cls in _classes_needed(name))


LAYER_CASES = [n for n in cases() if case_info(n)["layer"] != "Input" and _available(n)]
INPUT_CASES = [n for n in cases("Input") if _available(n)]


def build_layer(class_name: str, config: dict, name: str | None):
    """A haibal_py layer from a Keras class name and constructor kwargs (wrappers: inner first)."""
    config = dict(config)
    if isinstance(config.get("layer"), dict):
        spec = config["layer"]
        config["layer"] = build_layer(spec["class_name"], spec["config"], None)
    if name is not None:
        config["name"] = name
    return getattr(L, class_name)(**config)


def call_arguments(ref: dict):
    """(inputs, call kwargs) for ``forward``: the array, the list of arrays, or for keyword
    inputs (MultiHeadAttention) the list [query, value(, key)] with other roles as kwargs."""
    xs = ref["x"]
    kwargs = dict(ref["call_kwargs"])
    if ref["inputs_as"] == "single":
        return xs[0], kwargs
    if ref["inputs_as"] == "list":
        return list(xs), kwargs
    roles = dict(zip(ref["inputs_as"], xs))
    inputs = [roles.pop(r) for r in ("query", "value", "key") if r in roles]
    kwargs.update(roles)
    return inputs, kwargs


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


if LAYER_CASES:
    @pytest.mark.parametrize("name", LAYER_CASES)
    def test_layer_matches_keras(name):
        ref = load_case(name)
        layer = build_layer(ref["layer"], ref["config"], ref["layer_name"])
        inputs, kwargs = call_arguments(ref)
        layer.forward(inputs, training=False, **kwargs)  # builds the layer
        assert [tuple(w.shape) for w in layer.weights] == [tuple(s) for s in ref["weight_shapes"]]
        layer.set_weights(ref["w"])
        ys = _as_list(layer.forward(inputs, training=ref["training"], **kwargs))
        assert len(ys) == len(ref["y"])
        for i, (y, expected) in enumerate(zip(ys, ref["y"])):
            assert_close(y, expected, f"{name} y{i}")
        for i, (w, expected) in enumerate(zip(layer.get_weights(), ref["w_after"])):
            assert_close(w, expected, f"{name} weight {ref['weight_names'][i]} after the call")
        dys = ref["dy"] if len(ref["dy"]) > 1 else ref["dy"][0]
        dx, grads = layer.backward(dys)
        dx = _as_list(dx) if ref["inputs_as"] != "single" else [dx]
        for i in ref["dx_inputs"]:
            assert_close(dx[i], ref["dx"][i], f"{name} dx{i}")
        assert len(grads) == len(ref["g"])
        for i, (g, expected) in enumerate(zip(grads, ref["g"])):
            assert_close(g, expected, f"{name} d{ref['trainable_weight_names'][i]}")

    @pytest.mark.parametrize("name", LAYER_CASES)
    def test_layer_weight_names_and_order_match_keras(name):
        ref = load_case(name)
        layer = build_layer(ref["layer"], ref["config"], ref["layer_name"])
        inputs, kwargs = call_arguments(ref)
        layer.forward(inputs, training=False, **kwargs)
        names = [s.name.rsplit("/", 1)[-1] for s in layer.weight_specs()]
        trainable = [s.name.rsplit("/", 1)[-1] for s in layer.weight_specs(True)]
        assert names == ref["weight_names"]
        assert trainable == ref["trainable_weight_names"]

    #: cases whose Keras symbolic output shapes differ from the shapes of Keras' own outputs
    KERAS_SYMBOLIC_SHAPE_BUGS = {"mha_scores", "mha_attention_mask"}

    @pytest.mark.parametrize("name", LAYER_CASES)
    def test_layer_symbolic_output_shapes_match_keras(name):
        ref = case_info(name)
        layer = build_layer(ref["layer"], ref["config"], ref["layer_name"])
        tensors = [L.Input(shape=s[1:], dtype=d) for s, d in zip(ref["input_shapes"], ref["input_dtypes"])]
        if isinstance(ref["inputs_as"], list):  # Keras' keyword form: mha(query=..., value=...)
            outs = _as_list(layer(**dict(zip(ref["inputs_as"], tensors)), **ref["call_kwargs"]))
        else:
            inputs = tensors[0] if ref["inputs_as"] == "single" else tensors
            outs = _as_list(layer(inputs, **ref["call_kwargs"]))
        want = ref["symbolic_output_shapes"]
        if name in KERAS_SYMBOLIC_SHAPE_BUGS:
            # Keras 3.15 infers the attention scores' key axis from the query's length; the
            # scores it computes have the key's length, as haibal-py's symbolic shape does
            want = [[None] + list(s[1:]) for s in ref["output_shapes"]]
        assert [list(t.shape) for t in outs] == want


if INPUT_CASES:
    @pytest.mark.parametrize("name", INPUT_CASES)
    def test_input_matches_keras(name):
        ref = case_info(name)
        t = L.Input(**ref["config"])
        assert list(t.shape) == ref["output_shapes"][0]
        assert str(np.dtype(t.dtype)) == ref["output_dtypes"][0]


FAMILIES = ("Dense", "Conv2D", "LSTM")  # one class of each helper's family

if L is not None and all(hasattr(L, cls) for cls in FAMILIES):
    def test_every_case_is_covered():
        missing = sorted({cls for n in cases() for cls in _classes_needed(n) if not hasattr(L, cls)})
        assert not missing, f"haibal_py.layers lacks {missing}, which the Keras references cover"
