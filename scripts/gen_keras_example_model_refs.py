"""Keras reference values for the example models: summary text, parameter counts, weight paths,
and a forward pass with every gradient on fixed weights and inputs.

Run with the reference environment (TensorFlow + Keras 3), never from the tests:

    /work/venv-ref/bin/python scripts/gen_keras_example_model_refs.py [--check]

Writes ``tests/reference/keras_models/``: ``<model>.npz`` (inputs, weights in ``model.weights``
order, outputs, dy, dL/dinputs, dL/dtrainable weights), ``<model>_summary.txt`` (exactly what
``model.summary(print_fn=...)`` prints) and ``cases.json``; the README in
``tests/reference/keras_layers/`` documents both folders. The models are defined once, for any
Keras-like API, in ``tests/example_models.py``. The terminal width is fixed
(``COLUMNS=200``) so ``summary()`` uses Keras' default line length (88 columns, 108 with
"Connected to") instead of the width of whatever terminal runs the script.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from types import SimpleNamespace

os.environ["COLUMNS"] = "200"  # summary(): Keras' default line length, not the terminal's
os.environ["LINES"] = "50"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import gen_keras_layer_refs as layer_refs  # noqa: E402  (sets the TensorFlow environment)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from example_models import MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "reference" / "keras_models"


# The architectures live in tests/example_models.py (shared with the comparison tests).
KERAS_API = SimpleNamespace(Input=keras.Input, Sequential=keras.Sequential, Model=keras.Model,
                            layers=keras.layers)


# --------------------------------------------------------------------------- running one model
def _build(name, dtype="float32"):
    keras.utils.clear_session()
    keras.config.set_floatx(dtype)
    try:
        return MODELS[name][0](KERAS_API)
    finally:
        keras.config.set_floatx("float32")


def _summary(model) -> str:
    lines = []
    model.summary(print_fn=lambda text, line_break=None: lines.append(text))
    return "".join(lines)


def _run(name, model, xs, weights, dys=None):
    model.set_weights(weights)
    dtype = model.weights[0].dtype
    tx = [tf.constant(x.astype(dtype) if x.dtype == np.float32 else x) for x in xs]
    float_idx = [i for i, x in enumerate(xs) if x.dtype.kind == "f"]
    with tf.GradientTape() as tape:
        for i in float_idx:
            tape.watch(tx[i])
        ys = layer_refs._flat(model(tx if len(tx) > 1 else tx[0], training=False))
        if dys is None:
            rng = layer_refs._seed(f"model/{name}", "dy")
            dys = [rng.uniform(-1.0, 1.0, size=tuple(y.shape)).astype(np.float32) for y in ys]
        loss = tf.add_n([tf.reduce_sum(y * tf.constant(d.astype(dtype))) for y, d in zip(ys, dys)])
    grads = tape.gradient(loss, [tx[i] for i in float_idx] + list(model.trainable_weights))
    if any(g is None for g in grads):
        raise RuntimeError(f"{name}: a gradient is missing")
    grads = [tf.convert_to_tensor(g).numpy() for g in grads]
    return dict(ys=[y.numpy() for y in ys], dys=dys, dxs=dict(zip(float_idx, grads[:len(float_idx)])),
                gs=grads[len(float_idx):])


def _layer_rows(model):
    """One row per layer as summary() lists them: name, class, output shape, parameter count."""
    rows = []
    for layer in model.layers if isinstance(model, keras.Sequential) else model._operations:
        out = layer.output
        shapes = [list(t.shape) for t in layer_refs._flat(out)]
        rows.append({"name": layer.name, "class_name": type(layer).__name__,
                     "output_shape": shapes[0] if len(shapes) == 1 else shapes,
                     "params": int(layer.count_params()) if layer.built else 0})
    return rows


def run_model(name):
    _, batch, int_high, _ = MODELS[name]
    model = _build(name)
    xs = []
    for i, (inp, high) in enumerate(zip(model.inputs, int_high)):
        rng = layer_refs._seed(f"model/{name}", f"x{i}")
        shape = (batch,) + tuple(inp.shape[1:])
        if high is not None:
            xs.append(rng.integers(0, high, size=shape).astype(np.int32))
        else:
            xs.append(rng.uniform(-1.0, 1.0, size=shape).astype(np.float32))
    rng = layer_refs._seed(f"model/{name}", "weights")
    weights = [(rng.uniform(0.5, 1.5, size=tuple(v.shape)) if v.path.rsplit("/", 1)[-1] in
                ("gamma", "moving_variance") else rng.uniform(-0.5, 0.5, size=tuple(v.shape))).astype(np.float32)
               for v in model.weights]
    info = {
        "model": name,
        "class_name": type(model).__name__,
        "summary_file": f"{name}_summary.txt",
        "count_params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(v.shape) for v in model.trainable_weights)),
        "non_trainable_params": int(sum(np.prod(v.shape) for v in model.non_trainable_weights)),
        "weight_paths": [v.path for v in model.weights],
        "weight_shapes": [list(v.shape) for v in model.weights],
        "trainable_weight_paths": [v.path for v in model.trainable_weights],
        "non_trainable_weight_paths": [v.path for v in model.non_trainable_weights],
        "layers": _layer_rows(model),
        "input_names": [t.name for t in model.inputs],
        "input_shapes": [list(x.shape) for x in xs],
        "input_dtypes": [str(x.dtype) for x in xs],
        "symbolic_input_shapes": [list(t.shape) for t in model.inputs],
        "symbolic_output_shapes": [list(t.shape) for t in layer_refs._flat(model.outputs)],
        "training": False,
    }
    summary = _summary(model)
    r32 = _run(name, model, xs, weights)
    r64 = _run(name, _build(name, "float64"), xs, weights, r32["dys"])
    worst = 0.0
    for a, b in zip(r32["ys"] + r32["gs"] + list(r32["dxs"].values()),
                    r64["ys"] + r64["gs"] + list(r64["dxs"].values())):
        worst = max(worst, layer_refs._close(a, b))
    if worst > 1.0:
        raise RuntimeError(f"{name}: float32 is {worst:.2f}x the tolerance away from float64")
    arrays = {f"x{i}": x for i, x in enumerate(xs)}
    arrays.update({f"w{i}": w for i, w in enumerate(weights)})
    for i, (y, dy) in enumerate(zip(r32["ys"], r32["dys"])):
        arrays[f"y{i}"] = y.astype(np.float32)
        arrays[f"dy{i}"] = dy
    arrays.update({f"dx{i}": dx.astype(np.float32) for i, dx in r32["dxs"].items()})
    arrays.update({f"g{i}": g.astype(np.float32) for i, g in enumerate(r32["gs"])})
    info.update({
        "output_shapes": [list(y.shape) for y in r32["ys"]],
        "dx_inputs": sorted(r32["dxs"]),
        "keys": list(arrays),
        "float64_deviation": round(worst, 4),
        "keras_version": keras.__version__, "tensorflow_version": tf.__version__,
    })
    return info, arrays, summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; report files that would change")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    changed, infos = [], []

    def put(path: Path, data: bytes):
        if not path.exists() or path.read_bytes() != data:
            changed.append(path.name)
            if not args.check:
                path.write_bytes(data)

    for name in MODELS:
        info, arrays, summary = run_model(name)
        infos.append(info)
        put(OUT / f"{name}.npz", layer_refs.npz_bytes(arrays))
        put(OUT / info["summary_file"], summary.encode("utf-8"))
        print(f"{name:24s} params {info['count_params']:6d}  f64 dev {info['float64_deviation']}")
        print(summary)
    put(OUT / "cases.json", layer_refs.index_text(infos).encode("utf-8"))
    print(f"{len(infos)} models; {'would change' if args.check else 'changed'}: {changed or 'nothing'}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
