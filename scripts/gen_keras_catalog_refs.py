"""Reference values from Keras for the loss / metric / activation catalog (tests/test_keras_catalog_refs.py).

Run with the reference environment (TensorFlow 2.21, Keras 3.15.1; never needed by the tests):

    /work/venv-ref/bin/python scripts/gen_keras_catalog_refs.py

It writes ``tests/reference/keras_catalog/refs.json``: for each case, the call (module,
function or class, arguments, the batches fed to a metric) with its inputs, and what Keras
returned. Inputs are drawn from a fixed seed, so running it again gives the same file.

Where Keras fixed a bug after 3.15.1, the reference is computed so that it is the corrected
behaviour, and the case says how (``"note"``): Tversky (#23333, alpha and beta swapped back,
so the 3.15.1 function is called with them exchanged).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "keras_catalog" / "refs.json"
RNG = np.random.default_rng(20261129)


def enc(value):
    """A value as JSON: arrays as {"array": nested list, "dtype": name}."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, dict):
        return {k: enc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return {"tuple": [enc(v) for v in value]} if isinstance(value, tuple) else [enc(v) for v in value]
    arr = np.asarray(keras.ops.convert_to_numpy(value))
    if arr.dtype.kind == "f":
        arr = arr.astype(arr.dtype)
    return {"array": arr.tolist(), "dtype": str(arr.dtype)}


def f32(*shape, low=0.0, high=1.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


CASES: list[dict] = []


def add(kind, module, name, args=(), kwargs=None, *, init=None, updates=None, note=None, tol=1e-5, call=None):
    """Evaluate one case in Keras and record it."""
    kwargs = kwargs or {}
    mod = getattr(keras, module)
    if kind == "function":
        fn = getattr(mod, call or name)
        result = fn(*args, **kwargs)
    elif kind == "loss":
        obj = getattr(mod, name)(**(init or {}))
        result = obj(*args, **kwargs)
    else:  # metric: batches of (y_true, y_pred[, sample_weight])
        obj = getattr(mod, name)(**(init or {}))
        for batch in updates:
            obj.update_state(*batch[:2], **({"sample_weight": batch[2]} if len(batch) > 2 else {}))
        result = obj.result()
    CASES.append({"kind": kind, "module": module, "name": name, "args": enc(list(args)), "kwargs": enc(kwargs),
                  "init": enc(init or {}), "updates": enc([list(b) for b in updates or []]),
                  "expected": enc(result), "tol": tol, **({"note": note} if note else {})})


def activations():
    x32 = np.linspace(-3, 3, 25, dtype=np.float32).reshape(5, 5)
    x64 = np.linspace(-2.5, 2.5, 12).reshape(3, 4)
    for x in (x32, x64):
        for name, kw in (("celu", {}), ("celu", {"alpha": 0.5}), ("hard_shrink", {}), ("hard_shrink", {"threshold": 1.2}),
                         ("hard_tanh", {}), ("soft_shrink", {}), ("soft_shrink", {"threshold": 0.8}),
                         ("sparse_plus", {}), ("sparse_sigmoid", {}), ("squareplus", {}), ("squareplus", {"b": 1}),
                         ("tanh_shrink", {}), ("threshold", {"threshold": 0.3, "default_value": -2.0}),
                         ("glu", {}), ("glu", {"axis": 0} if x.shape[0] % 2 == 0 else {"axis": -1})):
            if name == "glu" and x.shape[kw.get("axis", -1)] % 2:
                continue
            add("function", "activations", name, (x,), kw)
    # sparsemax where one entry is kept per row (Keras 3.15's formula is the projection only then)
    add("function", "activations", "sparsemax", (np.linspace(1, 12, 12).reshape(-1, 2),))
    add("function", "activations", "sparsemax", (np.linspace(1, 12, 12).reshape(-1, 1, 3),), {"axis": -3})
    x = f32(2, 3, 4, low=-3, high=3)
    add("function", "activations", "softmax", (x,), {"axis": (1, 2)})
    add("function", "activations", "log_softmax", (x,), {"axis": (0, 2)})
    add("function", "activations", "softmax", (x.astype(np.float64),), {"axis": (1, 2)})


def losses():
    # CTC: labels padded with 0 (the blank) at the end, logits (batch, time, classes)
    y_true = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0]], dtype=np.int32)
    y_pred = RNG.standard_normal((3, 6, 5)).astype(np.float32)
    add("function", "losses", "ctc", (y_true, y_pred), tol=1e-4)
    add("loss", "losses", "CTC", (y_true, y_pred), tol=1e-4)
    add("loss", "losses", "CTC", (y_true, y_pred), {"sample_weight": np.array([1.0, 0.5, 2.0], np.float32)},
        init={"reduction": "sum"}, tol=1e-4)
    # Circle: L2-normalised embeddings and integer labels
    emb = RNG.standard_normal((8, 4)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array([0, 1, 0, 2, 1, 0, 2, 3], dtype=np.int32)
    for init in ({}, {"gamma": 16.0, "margin": 0.25}, {"remove_diagonal": False}, {"reduction": None}):
        add("loss", "losses", "Circle", (labels, emb), init=init, tol=2e-4)
    add("loss", "losses", "Circle", (labels, emb), {"sample_weight": np.linspace(0.5, 2, 8).astype(np.float32)},
        init={"reduction": "mean_with_sample_weight"}, tol=2e-4)
    ref = RNG.standard_normal((5, 4)).astype(np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    add("function", "losses", "circle", (labels, emb),
        {"ref_labels": np.array([0, 1, 2, 3, 0], np.int32), "ref_embeddings": ref, "gamma": 10.0}, tol=2e-4)
    # Generalized cross entropy
    probs = RNG.dirichlet(np.ones(4), size=6).astype(np.float32)
    lab = np.array([0, 1, 2, 3, 1, 2])
    add("function", "losses", "categorical_generalized_cross_entropy", (lab, probs), {"q": 0.7})
    add("loss", "losses", "CategoricalGeneralizedCrossEntropy", (lab, probs))
    add("loss", "losses", "CategoricalGeneralizedCrossEntropy", (lab, probs), init={"q": 0.2, "reduction": "sum"})
    # Tversky after Keras' fix #23333: 3.15.1's function with alpha and beta exchanged
    t = (RNG.random((2, 5, 5, 1)) > 0.5).astype(np.float32)
    p = f32(2, 5, 5, 1)
    note = "keras 3.15.1 swapped alpha/beta (fixed in #23333): computed as tversky(alpha=beta, beta=alpha)"
    CASES_BEFORE = len(CASES)
    add("function", "losses", "tversky", (t, p), {"alpha": 0.3, "beta": 0.7, "axis": (1, 2, 3)}, note=note)
    CASES[CASES_BEFORE]["kwargs"] = enc({"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)})
    add("function", "losses", "tversky", (t, p), {"alpha": 0.2, "beta": 0.8}, note=note)
    CASES[CASES_BEFORE + 1]["kwargs"] = enc({"alpha": 0.8, "beta": 0.2})
    # the loss functions keras.metrics exports
    yt, yp = f32(4, 6), f32(4, 6)
    for name in ("binary_crossentropy", "hinge", "mean_squared_error", "kl_divergence", "poisson", "log_cosh",
                 "mean_absolute_percentage_error", "squared_hinge", "huber", "categorical_hinge"):
        add("function", "metrics", name, (yt, yp))


def metrics():
    # element-wise accuracies (Keras 3), with an element-wise sample_weight
    yt = (RNG.random((4, 3)) > 0.5).astype(np.float32)
    yp = f32(4, 3)
    w = f32(4, 3)
    add("function", "metrics", "binary_accuracy", (yt, yp), {"threshold": 0.4})
    add("metric", "metrics", "BinaryAccuracy", updates=[(yt, yp, w)])
    add("metric", "metrics", "BinaryAccuracy", updates=[(yt, yp, w[:, 0])], init={"threshold": 0.7})
    ints_t = RNG.integers(0, 3, (4, 3)).astype(np.float32)
    ints_p = RNG.integers(0, 3, (4, 3)).astype(np.float32)
    add("metric", "metrics", "Accuracy", updates=[(ints_t, ints_p, w), (ints_t[:2], ints_p[:2])])
    # SparseCategoricalAccuracy: (2, 1) labels against a (1, 2, 3) prediction (Keras broadcasts the
    # function's comparison to (2, 2); haibal-py matches label i with position i, which agrees here)
    add("metric", "metrics", "SparseCategoricalAccuracy",
        updates=[(np.array([[0], [0]]), np.array([[[0.9, 0.1, 0.0], [0.8, 0.15, 0.05]]], np.float32))])
    # top-k from sorted ids
    ids = np.array([[3, 1, 4, 0], [2, 2, 0, 1], [0, 1, 2, 3]], np.int32)
    lab = np.array([1, 0, 3])
    for k in (1, 2, 3):
        add("function", "metrics", "sparse_top_k_categorical_accuracy", (lab, ids), {"k": k, "from_sorted_ids": True})
    add("metric", "metrics", "SparseTopKCategoricalAccuracy", updates=[(lab, ids)],
        init={"k": 2, "from_sorted_ids": True})
    # AUC on the precision-recall-gain curve
    yt = (RNG.random(40) > 0.6).astype(np.float32)
    yp = np.clip(yt * 0.3 + RNG.random(40) * 0.7, 0, 1).astype(np.float32)
    for init in ({"curve": "PRGAIN"}, {"curve": "PRGAIN", "num_thresholds": 7, "summation_method": "minoring"},
                 {"curve": "PRGAIN", "summation_method": "majoring"}):
        add("metric", "metrics", "AUC", updates=[(yt, yp)], init=init)
    yt2 = (RNG.random((10, 3)) > 0.5).astype(np.float32)
    yp2 = f32(10, 3)
    add("metric", "metrics", "AUC", updates=[(yt2, yp2)], init={"curve": "PRGAIN", "multi_label": True})
    # IoU leaves out ids outside [0, num_classes) and ignore_class
    add("metric", "metrics", "MeanIoU", updates=[(np.array([0, 1, 2, -1, 4, 1]), np.array([0, 1, 1, 1, 1, 7]))],
        init={"num_classes": 3})
    add("metric", "metrics", "IoU", updates=[(np.array([0, 1, 2, 2, 1]), np.array([0, 1, -2, 2, 0]))],
        init={"num_classes": 3, "target_class_ids": [1, 2], "ignore_class": 0})
    # F-scores with float beta / threshold
    yt3 = (RNG.random((6, 4)) > 0.5).astype(np.float32)
    yp3 = f32(6, 4)
    add("metric", "metrics", "FBetaScore", updates=[(yt3, yp3)], init={"beta": 2.0, "threshold": 0.4, "average": "macro"})


def configs() -> dict:
    """get_config() and serialize() of every Loss and Metric class Keras exports (required arguments given)."""
    required = {"IoU": {"num_classes": 3, "target_class_ids": [0, 1]}, "MeanIoU": {"num_classes": 3},
                "OneHotIoU": {"num_classes": 3, "target_class_ids": [0, 2]}, "OneHotMeanIoU": {"num_classes": 3},
                "SensitivityAtSpecificity": {"specificity": 0.4}, "SpecificityAtSensitivity": {"sensitivity": 0.4},
                "PrecisionAtRecall": {"recall": 0.7}, "RecallAtPrecision": {"precision": 0.6}}
    out = {}
    for module in ("losses", "metrics"):
        mod = getattr(keras, module)
        for name in sorted(dir(mod)):
            cls = getattr(mod, name)
            if not isinstance(cls, type) or name in ("Loss", "Metric", "MeanMetricWrapper"):
                continue
            obj = cls(**required.get(name, {}))
            out[f"{module}.{name}"] = {"init": required.get(name, {}), "config": obj.get_config(),
                                       "serialized": mod.serialize(obj),
                                       "variables": [v.path.split("/")[-1] for v in getattr(obj, "variables", [])]}
    out["functions"] = {f"{m}.{n}": getattr(keras, m).serialize(getattr(getattr(keras, m), n))
                        for m, n in (("losses", "mean_squared_error"), ("metrics", "binary_accuracy"))}
    out["activations"] = {n: keras.activations.serialize(getattr(keras.activations, n))
                          for n in ("relu", "swish", "hard_swish", "celu", "sparsemax")}
    return json.loads(json.dumps(out, default=lambda v: np.asarray(v).tolist()))


def main() -> None:
    activations()
    losses()
    metrics()
    doc = {"generator": "scripts/gen_keras_catalog_refs.py", "keras": keras.__version__,
           "backend": keras.backend.backend(), "cases": CASES, "configs": configs()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(CASES)} cases and {len(doc['configs'])} configs to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
