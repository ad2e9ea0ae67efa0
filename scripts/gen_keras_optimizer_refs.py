"""Reference values for the optimizers and schedules, computed by Keras 3 (TensorFlow backend).

Run with the reference environment (never in tests or CI):

    /work/venv-ref/bin/python scripts/gen_keras_optimizer_refs.py

For each case: seeded float32 (or float64) weights of three small shapes, a seeded
sequence of gradients (some ``None`` where a case says so), and, after each
``optimizer.apply`` (eager), the weights, ``iterations`` and the learning rate of that
step; at the end, every optimizer variable in Keras' order. Schedules alone: their value
at steps 0..200. Writes ``tests/reference/keras_optimizers/`` (``refs.npz``, ``index.json``,
``README.md``).
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "reference" / "keras_optimizers"
SHAPES = [(3, 4), (4,), (2, 2, 3)]
NAMES = ["kernel", "bias", "gamma"]
SCHEDULE_STEPS = 201

S = keras.optimizers.schedules

# (label, config) for every schedule tried alone and inside optimizers
SCHEDULES = {
    "exponential": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    "exponential_staircase": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                                                       staircase=True)),
    "exponential_slow": ("ExponentialDecay", dict(initial_learning_rate=0.05, decay_steps=7, decay_rate=0.96)),
    "piecewise": ("PiecewiseConstantDecay", dict(boundaries=[2, 4, 6], values=[0.1, 0.05, 0.02, 0.01])),
    "piecewise_long": ("PiecewiseConstantDecay", dict(boundaries=[10, 50, 100], values=[1.0, 0.5, 0.1, 0.001])),
    "piecewise_float_bounds": ("PiecewiseConstantDecay", dict(boundaries=[2.5, 7.9], values=[0.3, 0.2, 0.1])),
    "polynomial": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=5, end_learning_rate=0.01)),
    "polynomial_power": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.001,
                                                 power=2.0)),
    "polynomial_cycle": ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=3, end_learning_rate=0.01,
                                                 power=0.5, cycle=True)),
    "inverse_time": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
    "inverse_time_staircase": ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=1.5,
                                                        staircase=True)),
    "cosine": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=6)),
    "cosine_alpha": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=60, alpha=0.1)),
    "cosine_warmup": ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=5, warmup_target=0.1,
                                          warmup_steps=3)),
    "cosine_warmup_alpha": ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=50, alpha=0.2,
                                                warmup_target=0.5, warmup_steps=20)),
    "cosine_restarts": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=2)),
    "cosine_restarts_mul": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.5,
                                                        m_mul=0.5, alpha=0.05)),
    "cosine_restarts_constant_period": ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3,
                                                                    t_mul=1.0, m_mul=0.8)),
}

# own non-default arguments per optimizer (each tried alone, on top of the defaults)
VARIANTS = {
    "SGD": {"lr": dict(learning_rate=0.1), "momentum": dict(learning_rate=0.05, momentum=0.9),
            "nesterov": dict(learning_rate=0.05, momentum=0.8, nesterov=True)},
    "Adam": {"args": dict(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-3),
             "amsgrad": dict(learning_rate=0.01, amsgrad=True)},
    "AdamW": {"args": dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.85),
              "amsgrad": dict(learning_rate=0.01, weight_decay=0.05, amsgrad=True)},
    "RMSprop": {"args": dict(learning_rate=0.01, rho=0.8, epsilon=1e-4),
                "momentum": dict(learning_rate=0.01, momentum=0.9),
                "centered": dict(learning_rate=0.01, centered=True),
                "centered_momentum": dict(learning_rate=0.01, centered=True, momentum=0.5)},
    "Adagrad": {"args": dict(learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-3)},
    "Adadelta": {"args": dict(learning_rate=1.0, rho=0.9, epsilon=1e-6)},
    "Adamax": {"args": dict(learning_rate=0.01, beta_1=0.7, beta_2=0.9, epsilon=1e-4)},
    "Nadam": {"args": dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-4)},
    "Lion": {"args": dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9)},
    "Ftrl": {"args": dict(learning_rate=0.1, learning_rate_power=-0.7, initial_accumulator_value=0.2,
                          l1_regularization_strength=0.01, l2_regularization_strength=0.1,
                          l2_shrinkage_regularization_strength=0.05, beta=0.5),
             "l1": dict(learning_rate=0.5, l1_regularization_strength=0.3)},
}


def cases() -> list[dict]:
    out = []

    def add(name, cls, kwargs, steps=6, dtype="float32", none_grads=None, exclude=None, schedule=None,
            grad_scale=1.0):
        out.append(dict(name=name, cls=cls, kwargs=kwargs, steps=steps, dtype=dtype, none_grads=none_grads or {},
                        exclude=exclude, schedule=schedule, grad_scale=grad_scale))

    for cls, variants in VARIANTS.items():
        lr = 0.01 if cls != "SGD" else 0.1
        add(f"{cls}/default", cls, {})
        for label, kwargs in variants.items():
            add(f"{cls}/{label}", cls, kwargs)
        add(f"{cls}/clipnorm", cls, dict(learning_rate=lr, clipnorm=0.5), grad_scale=2.0)
        add(f"{cls}/clipvalue", cls, dict(learning_rate=lr, clipvalue=0.3), grad_scale=2.0)
        add(f"{cls}/global_clipnorm", cls, dict(learning_rate=lr, global_clipnorm=1.0), grad_scale=2.0)
        add(f"{cls}/global_clipnorm_inactive", cls, dict(learning_rate=lr, global_clipnorm=1000.0))
        add(f"{cls}/weight_decay", cls, dict(learning_rate=lr, weight_decay=0.05))
        add(f"{cls}/accumulation", cls, dict(learning_rate=lr, gradient_accumulation_steps=3), steps=9)
        add(f"{cls}/float64", cls, dict(learning_rate=lr), dtype="float64")
        add(f"{cls}/schedule_exponential", cls, {}, schedule="exponential")
        add(f"{cls}/ema", cls, dict(learning_rate=lr, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3),
            steps=7)
    for label in SCHEDULES:
        for cls in ("SGD", "Adam"):
            kwargs = dict(momentum=0.9) if cls == "SGD" else {}
            add(f"{cls}/schedule_{label}", cls, kwargs, steps=8, schedule=label)
    add("Adam/schedule_accumulation", "Adam", dict(gradient_accumulation_steps=2), steps=8, schedule="exponential")
    add("Nadam/schedule_accumulation", "Nadam", dict(gradient_accumulation_steps=2), steps=8, schedule="cosine")
    add("AdamW/schedule_weight_decay", "AdamW", dict(weight_decay=0.1), steps=8, schedule="piecewise")
    add("SGD/none_grads", "SGD", dict(learning_rate=0.1, momentum=0.5), none_grads={1: [1], 3: [0, 2]})
    add("Adam/none_grads", "Adam", dict(learning_rate=0.01, weight_decay=0.1), none_grads={0: [2], 2: [1]})
    add("RMSprop/none_grads_accumulation", "RMSprop", dict(learning_rate=0.01, gradient_accumulation_steps=2),
        steps=8, none_grads={1: [0], 2: [1]})
    add("AdamW/exclude_bias", "AdamW", dict(learning_rate=0.01, weight_decay=0.2), exclude=["bias"])
    add("SGD/exclude_kernel_gamma", "SGD", dict(learning_rate=0.1, weight_decay=0.3), exclude=["kernel", "gam"])
    add("Adam/loss_scale", "Adam", dict(learning_rate=0.01, loss_scale_factor=128.0), grad_scale=128.0)
    add("SGD/loss_scale_accumulation", "SGD", dict(learning_rate=0.1, loss_scale_factor=4.0,
                                                   gradient_accumulation_steps=2), steps=6)
    add("Adam/ema_accumulation", "Adam", dict(learning_rate=0.01, use_ema=True, ema_overwrite_frequency=2,
                                              gradient_accumulation_steps=2), steps=8)
    add("Adam/ema_no_overwrite", "Adam", dict(learning_rate=0.01, use_ema=True), steps=5)
    add("SGD/clipnorm_float64", "SGD", dict(learning_rate=0.1, momentum=0.9, clipnorm=0.5), dtype="float64",
        grad_scale=2.0)
    add("Adam/global_clipnorm_accumulation", "Adam", dict(learning_rate=0.01, global_clipnorm=0.5,
                                                         gradient_accumulation_steps=2), steps=6, grad_scale=2.0)
    add("Nadam/float64_schedule", "Nadam", {}, dtype="float64", schedule="cosine_warmup")
    add("Adam/long_run", "Adam", dict(learning_rate=0.05), steps=40)
    add("Nadam/long_run", "Nadam", dict(learning_rate=0.05), steps=40)
    return out


def make_schedule(label):
    cls, kwargs = SCHEDULES[label]
    return getattr(S, cls)(**kwargs)


def run_case(case: dict, arrays: dict) -> dict:
    name = case["name"]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    dtype = case["dtype"]
    w0 = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [[(rng.normal(size=s) * case["grad_scale"]).astype(dtype) for s in SHAPES] for _ in range(case["steps"])]
    for t, missing in case["none_grads"].items():
        for i in missing:
            grads[t][i] = None
    kwargs = dict(case["kwargs"])
    if case["schedule"]:
        kwargs["learning_rate"] = make_schedule(case["schedule"])
    opt = getattr(keras.optimizers, case["cls"])(**kwargs)
    variables = [keras.Variable(w, dtype=dtype, name=n) for w, n in zip(w0, NAMES)]
    if case["exclude"]:
        opt.exclude_from_weight_decay(var_names=case["exclude"])
    config = keras.optimizers.serialize(opt)
    size = sum(int(np.prod(s)) for s in SHAPES)
    weights = np.empty((case["steps"] + 1, size), dtype=dtype)
    flat_grads = np.full((case["steps"], size), np.nan, dtype=dtype)
    weights[0] = np.concatenate([w.ravel() for w in w0])
    lrs, iterations = [], []
    for t, step_grads in enumerate(grads):
        flat_grads[t] = np.concatenate([np.full(int(np.prod(s)), np.nan, dtype) if g is None else g.ravel()
                                        for g, s in zip(step_grads, SHAPES)])
        lrs.append(np.float32(keras.ops.convert_to_numpy(opt.learning_rate)))
        opt.apply([None if g is None else tf.constant(g) for g in step_grads], variables)
        weights[t + 1] = np.concatenate([v.numpy().ravel() for v in variables])
        iterations.append(int(keras.ops.convert_to_numpy(opt.iterations)))
    opt_vars = [np.asarray(v.numpy()) for v in opt.variables]
    arrays[f"{name}|weights"] = weights
    arrays[f"{name}|grads"] = flat_grads
    arrays[f"{name}|lr"] = np.array(lrs, dtype=np.float32)
    arrays[f"{name}|variables"] = np.concatenate([v.astype(np.float64).ravel() for v in opt_vars])
    return {"config": config, "steps": case["steps"], "dtype": dtype,
            "exclude_from_weight_decay": case["exclude"],
            "none_grads": {str(t): v for t, v in case["none_grads"].items()},
            "iterations": iterations, "variable_shapes": [list(v.shape) for v in opt_vars],
            "variable_names": [v.path.split("/", 1)[-1] for v in opt.variables]}


def run_schedules(arrays: dict) -> dict:
    index = {}
    steps = np.arange(SCHEDULE_STEPS)
    for label in SCHEDULES:
        schedule = make_schedule(label)
        values = [np.float32(schedule(tf.constant(s, dtype=tf.int64)).numpy()) for s in steps]
        arrays[f"schedule|{label}"] = np.array(values, dtype=np.float32)
        index[label] = keras.optimizers.schedules.serialize(schedule)
    return index


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    index = {"versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__,
                          "python": sys.version.split()[0]},
             "shapes": SHAPES, "names": NAMES, "schedule_steps": SCHEDULE_STEPS, "cases": {}, "schedules": {}}
    for case in cases():
        keras.utils.clear_session()
        index["cases"][case["name"]] = run_case(case, arrays)
    index["schedules"] = run_schedules(arrays)
    np.savez_compressed(OUT / "refs.npz", **arrays)
    (OUT / "index.json").write_text(json.dumps(index, separators=(",", ":")) + "\n")
    v = index["versions"]
    (OUT / "README.md").write_text(
        "# Keras optimizer reference values\n\n"
        "Written by `scripts/gen_keras_optimizer_refs.py` (do not edit by hand) with "
        f"Keras {v['keras']}, TensorFlow {v['tensorflow']} (backend), NumPy {v['numpy']}, Python {v['python']}.\n\n"
        "- `index.json`: `shapes` and `names` of the three weights; `cases` (optimizer runs: Keras' serialized "
        "optimizer config, steps, dtype, `exclude_from_weight_decay` names, which gradients are None at which "
        "step, `iterations` after each step, the shapes and names of Keras' optimizer variables) and `schedules` "
        "(serialized schedules).\n"
        "- `refs.npz`, the three weights flattened and concatenated in each row: `<case>|weights` (steps + 1 "
        "rows: initial, then after each step), `<case>|grads` (one row per step, NaN where a gradient is None), "
        "`<case>|lr` the learning rate used at each step, `<case>|variables` the optimizer's variables after the "
        "run (Keras' order, flattened, concatenated, as float64); `schedule|<label>` a schedule's value at "
        f"steps 0..{SCHEDULE_STEPS - 1}.\n")
    size = (OUT / "refs.npz").stat().st_size
    print(f"{len(index['cases'])} optimizer cases, {len(index['schedules'])} schedules; refs.npz {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
