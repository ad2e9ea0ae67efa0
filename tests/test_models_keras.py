"""Models rebuilt from Keras 3's own ``get_config()`` JSON compute what Keras computes.

tests/reference/keras_models/ (scripts/gen_keras_model_refs.py) holds, per model of
``summary_cases``: Keras' config, its weights in ``get_weights()`` order, an input batch,
the outputs, and TensorFlow's gradients of ``sum(y * dy)`` for the inputs and for
``trainable_weights``. Rebuilding from the config, setting the weights and running forward
and backward checks the graph, Keras' weight order and the gradients at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from haibal_py import models
from keras_refs import assert_close

DIR = Path(__file__).parent / "reference" / "keras_models"
INDEX = json.loads((DIR / "index.json").read_text(encoding="utf-8"))


def _arrays(name):
    with np.load(DIR / f"{name}.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.mark.parametrize("name", sorted(INDEX["cases"]))
def test_model_from_keras_config_matches_keras(name):
    info = INDEX["cases"][name]
    ref = _arrays(name)
    cls = models.Sequential if info["class_name"] == "Sequential" else models.Functional
    model = cls.from_config(info["config"])
    assert type(model).__name__ == info["class_name"]
    weights = [ref[f"w{i}"] for i in range(len(info["weight_paths"]))]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
    model.set_weights(weights)
    assert len(model.trainable_weights) == len(info["trainable_paths"]) == info["n_grads"]
    xs = [ref[f"x{i}"] for i in range(info["n_inputs"])]
    ys = model.forward(xs[0] if len(xs) == 1 else xs)
    ys = ys if isinstance(ys, list) else [ys]
    assert len(ys) == info["n_outputs"]
    for i, y in enumerate(ys):
        assert_close(y, ref[f"y{i}"], f"{name} y{i}")
    dys = [ref[f"dy{i}"] for i in range(info["n_outputs"])]
    dx, grads = model.backward(dys[0] if len(dys) == 1 else dys)
    dx = dx if isinstance(dx, list) else [dx]
    for i, d in enumerate(dx):
        assert_close(d, ref[f"dx{i}"], f"{name} dx{i}")
    for i, g in enumerate(grads):
        assert_close(g, ref[f"g{i}"], f"{name} gradient of {info['trainable_paths'][i]}")
    np.testing.assert_allclose(model.predict(xs[0] if len(xs) == 1 else xs, batch_size=2)
                               if len(ys) == 1 else model.predict(xs, batch_size=2)[0], ref["y0"], rtol=1e-5, atol=1e-6)


def test_weight_paths_follow_keras_order():
    from haibal_py.numeric.models.weights_io import weight_entries
    info = INDEX["cases"]["nested_frozen_expanded"]
    model = models.Functional.from_config(info["config"])
    assert [k for k, _ in weight_entries(model)] == info["weight_paths"]
    assert model.get_layer("inner").trainable is False
