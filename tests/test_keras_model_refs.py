"""The example models against TensorFlow's Keras: summary text, parameter counts, weight order,
forward output and every gradient (tests/reference/keras_models/, computed offline by
scripts/gen_keras_example_model_refs.py from the architectures in tests/example_models.py).

The file checks always run; a model's comparison is collected once haibal_py has
``models.Sequential``/``Model`` and every layer class the model uses."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from example_models import MODELS
from keras_refs import MODEL_DIR, assert_close, load_arrays, load_model_case, model_cases

try:
    from haibal_py import layers as L
    from haibal_py import models as M
except ImportError:  # the facades land with the core layers and models
    L = M = None


# --------------------------------------------------------------------------- the files
def test_every_model_has_its_arrays_and_summary():
    index = json.loads((MODEL_DIR / "cases.json").read_text())
    assert [c["model"] for c in index] == list(MODELS)
    files = {p.name for p in MODEL_DIR.iterdir()}  # the folder also holds other references (index.json)
    assert {f"{m}.npz" for m in MODELS} | {f"{m}_summary.txt" for m in MODELS} <= files
    assert {f for f in files if f.endswith("_summary.txt")} == {f"{m}_summary.txt" for m in MODELS}
    for c in index:
        arrays = load_arrays(MODEL_DIR / f"{c['model']}.npz")
        assert sorted(arrays) == sorted(c["keys"]), c["model"]
        assert [list(arrays[f"w{i}"].shape) for i in range(len(c["weight_paths"]))] == c["weight_shapes"]
        sizes = [int(np.prod(s)) for s in c["weight_shapes"]]
        assert sum(sizes) == c["count_params"] == c["trainable_params"] + c["non_trainable_params"]
        assert sum(row["params"] for row in c["layers"]) == c["count_params"]
        assert len(c["trainable_weight_paths"]) == len([k for k in arrays if re.fullmatch(r"g\d+", k)])
        assert sorted(c["trainable_weight_paths"] + c["non_trainable_weight_paths"]) == sorted(c["weight_paths"])
        for i in c["dx_inputs"]:
            assert arrays[f"dx{i}"].shape == arrays[f"x{i}"].shape
        assert c["float64_deviation"] <= 1.0


def test_summaries_state_the_counts_and_their_float32_sizes():
    for name in model_cases():
        ref = load_model_case(name)
        text = ref["summary"]
        assert text.startswith(f'Model: "{name}"\n') and text.endswith("\n")
        for label, count in (("Total", ref["count_params"]), ("Trainable", ref["trainable_params"]),
                             ("Non-trainable", ref["non_trainable_params"])):
            assert f" {label} params: {count:,} (" in text, (name, label)
        for row in ref["layers"]:
            assert f"{row['name']} ({row['class_name']})" in text
            assert f"{row['params']:,}" in text
        widths = {len(line) for line in text.splitlines()[1:-3]}
        assert widths == ({108} if "Connected to" in text else {88}), name  # Keras' default line length


def test_model_weights_go_layer_by_layer_each_trainable_then_not():
    ref = load_model_case("bn_dropout")
    leaves = [p.split("/", 1)[1] for p in ref["weight_paths"]]
    assert leaves == ["dense/kernel", "dense/bias", "batch_norm/gamma", "batch_norm/beta",
                      "batch_norm/moving_mean", "batch_norm/moving_variance", "output/kernel", "output/bias"]
    assert ref["non_trainable_weight_paths"] == ["bn_dropout/batch_norm/moving_mean",
                                                 "bn_dropout/batch_norm/moving_variance"]


def test_model_reference_loader_groups_arrays():
    ref = load_model_case("two_inputs_skip")
    assert len(ref["x"]) == 2 and len(ref["dx"]) == 2 and len(ref["y"]) == 1
    assert len(ref["g"]) == len(ref["trainable_weight_paths"])
    assert load_model_case("lstm_classifier")["dx"] == [None]
    with pytest.raises(KeyError, match="no_such_model"):
        load_model_case("no_such_model")


# --------------------------------------------------------------------------- haibal_py's models
def _available(name: str) -> bool:
    return (M is not None and hasattr(M, "Sequential") and hasattr(M, "Model") and hasattr(L, "Input")
            and all(hasattr(L, cls) for cls in MODELS[name][3]))


MODEL_CASES = [n for n in MODELS if _available(n)]


def build_model(name: str):
    """The example model built with haibal_py's layers and models."""
    api = SimpleNamespace(Input=L.Input, Sequential=M.Sequential, Model=M.Model, layers=L)
    return MODELS[name][0](api)


def captured_summary(model) -> str:
    pieces = []
    model.summary(print_fn=lambda text, *args, **kwargs: pieces.append(text))
    return "".join(p if p.endswith("\n") else p + "\n" for p in pieces)


if MODEL_CASES:
    @pytest.mark.parametrize("name", MODEL_CASES)
    def test_model_summary_and_counts_match_keras(name, monkeypatch):
        ref = load_model_case(name)
        model = build_model(name)
        monkeypatch.setenv("COLUMNS", "200")  # the terminal width the references were printed at
        monkeypatch.setenv("LINES", "50")
        assert captured_summary(model) == ref["summary"]
        assert model.count_params() == ref["count_params"]
        assert sum(w.size for w in model.trainable_weights) == ref["trainable_params"]
        assert sum(w.size for w in model.non_trainable_weights) == ref["non_trainable_params"]
        assert [list(w.shape) for w in model.weights] == ref["weight_shapes"]

    @pytest.mark.parametrize("name", MODEL_CASES)
    def test_model_forward_and_gradients_match_keras(name):
        ref = load_model_case(name)
        model = build_model(name)
        model.set_weights(ref["w"])
        inputs = ref["x"] if len(ref["x"]) > 1 else ref["x"][0]
        ys = model.forward(inputs, training=ref["training"])
        ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
        for i, (y, expected) in enumerate(zip(ys, ref["y"])):
            assert_close(y, expected, f"{name} y{i}")
        dx, grads = model.backward(ref["dy"] if len(ref["dy"]) > 1 else ref["dy"][0])
        dx = list(dx) if len(ref["x"]) > 1 else [dx]
        for i in ref["dx_inputs"]:
            assert_close(dx[i], ref["dx"][i], f"{name} dx{i}")
        assert len(grads) == len(ref["g"])
        for i, (g, expected) in enumerate(zip(grads, ref["g"])):
            assert_close(g, expected, f"{name} d{ref['trainable_weight_paths'][i]}")
