"""Writes Keras 3 model references for tests/test_models_keras.py (run in the reference environment):

    /work/venv-ref/bin/python scripts/gen_keras_model_refs.py

For each model of ``summary_cases`` that only uses core layers, with seeded weights: Keras'
``get_config()`` (JSON), the weight paths in ``model.weights`` order, the trainable ones,
``get_weights()``, an input batch, ``model(x, training=False)`` and, under
``tf.GradientTape``, the gradients of ``L = sum(y * dy)`` for the inputs and for
``model.trainable_weights``. Output: tests/reference/keras_models/<case>.npz (arrays) and
tests/reference/keras_models/index.json (configs, names, shapes).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "reference" / "keras_models"
CASES = ["sequential_mlp", "functional_shared_merges", "nested_frozen_expanded", "nested_multi_output"]


def main() -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    import numpy as np
    import tensorflow as tf
    import keras

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    sys.path.insert(0, str(ROOT / "tests"))
    import summary_cases

    api = SimpleNamespace(layers=keras.layers, Input=keras.Input, Model=keras.Model, Sequential=keras.Sequential)
    OUT.mkdir(parents=True, exist_ok=True)
    index = {"keras_version": keras.__version__, "tensorflow_version": tf.__version__, "cases": {}}
    for offset, name in enumerate(CASES):
        rng = np.random.default_rng(100 + offset)
        model, _ = summary_cases.CASES[name](api)
        model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in model.get_weights()])
        xs = [rng.uniform(-1, 1, (3,) + tuple(t.shape[1:])).astype("float32") for t in model.inputs]
        feed = xs[0] if len(xs) == 1 else xs
        tensors = [tf.convert_to_tensor(x) for x in xs]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            ys = model(tensors[0] if len(tensors) == 1 else tensors, training=False)
            ys = ys if isinstance(ys, (list, tuple)) else [ys]
            dys = [tf.convert_to_tensor(rng.uniform(-1, 1, y.shape).astype("float32")) for y in ys]
            loss = tf.add_n([tf.reduce_sum(y * d) for y, d in zip(ys, dys)])
        grads = tape.gradient(loss, tensors + list(model.trainable_weights))
        arrays = {}
        for i, x in enumerate(xs):
            arrays[f"x{i}"] = x
            arrays[f"dx{i}"] = grads[i].numpy()
        for i, (y, d) in enumerate(zip(ys, dys)):
            arrays[f"y{i}"] = y.numpy()
            arrays[f"dy{i}"] = d.numpy()
        for i, w in enumerate(model.get_weights()):
            arrays[f"w{i}"] = w
        for i, g in enumerate(grads[len(xs):]):
            arrays[f"g{i}"] = g.numpy()
        np.savez(OUT / f"{name}.npz", **arrays)
        predicted = model.predict(feed, verbose=0)
        assert np.allclose(predicted if not isinstance(predicted, list) else predicted[0], arrays["y0"], atol=1e-6)
        index["cases"][name] = {
            "config": json.loads(json.dumps(model.get_config(), default=list)),
            "class_name": type(model).__name__,
            "weight_paths": [w.path for w in model.weights],
            "trainable_paths": [w.path for w in model.trainable_weights],
            "n_inputs": len(xs), "n_outputs": len(ys), "n_grads": len(grads) - len(xs),
        }
    (OUT / "index.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
