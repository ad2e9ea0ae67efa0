"""The convolution-family layers against TensorFlow's Keras on the cases of
tests/reference/keras_conv/ (written by scripts/gen_keras_conv_refs.py, the format of
tests/reference/keras_layers/): the 1-D and 3-D variants and max poolings over tied maxima.
Outputs, every gradient, weight names and symbolic shapes, in inference and training mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keras_refs import assert_close, load_arrays
from haibal_py import layers as L

CONV_DIR = Path(__file__).resolve().parent / "reference" / "keras_conv"
INDEX = json.loads((CONV_DIR / "cases.json").read_text())
NAMES = [c["case"] for c in INDEX]


def _load(name: str) -> dict:
    info = next(c for c in INDEX if c["case"] == name)
    arrays = load_arrays(CONV_DIR / f"{name}.npz")
    group = lambda prefix: [arrays[k] for k in sorted((k for k in arrays if k[len(prefix):].isdigit()  # noqa: E731
                                                       and k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))]
    return {**info, **{p: group(p) for p in ("x", "w", "y", "dy", "dx", "g")}}


def test_the_files_hold_what_the_index_says():
    assert {p.stem for p in CONV_DIR.glob("*.npz")} == set(NAMES)
    for c in INDEX:
        assert sorted(load_arrays(CONV_DIR / f"{c['case']}.npz")) == sorted(c["keys"]), c["case"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("training", [False, True])
def test_layer_matches_keras(name, training):
    ref = _load(name)
    layer = getattr(L, ref["layer"])(name=ref["layer_name"], **ref["config"])
    x = ref["x"][0]
    layer.forward(x)  # builds the layer
    assert [s.name for s in layer.weight_specs()] == ref["weight_names"]
    layer.set_weights(ref["w"])
    y = layer.forward(x, training=training and "dropout" not in name)  # dropout: Keras' inference numbers
    assert_close(y, ref["y"][0], f"{name} y")
    dx, grads = layer.backward(ref["dy"][0])
    assert_close(dx, ref["dx"][0], f"{name} dx")
    assert len(grads) == len(ref["g"])
    for g, expected, wname in zip(grads, ref["g"], ref["trainable_weight_names"]):
        assert_close(g, expected, f"{name} d{wname}")


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_output_shapes_match_keras(name):
    ref = _load(name)
    layer = getattr(L, ref["layer"])(**ref["config"])
    out = layer(L.Input(shape=ref["input_shapes"][0][1:]))
    assert [list(out.shape)] == ref["symbolic_output_shapes"]


def test_the_tie_cases_hold_ties():
    """The tie cases test something only if their windows do hold several equal maxima."""
    x = _load("max_pooling2d_ties")["x"][0]  # (2, 4, 6, 3), 2 x 2 windows
    windows = x.reshape(2, 2, 2, 3, 2, 3)
    tied = (windows == windows.max(axis=(2, 4), keepdims=True)).sum(axis=(2, 4)) > 1
    assert tied.mean() > 0.2  # 28% of the windows
    assert np.isin(np.unique(x), [0.0, 0.5, 1.0]).all()
