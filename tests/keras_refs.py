"""Keras reference values shipped with the tests (plain NumPy + JSON; no TensorFlow).

``scripts/gen_keras_layer_refs.py`` and ``scripts/gen_keras_example_model_refs.py`` computed them with
TensorFlow's Keras; ``tests/reference/keras_layers/README.md`` documents the files. Use:

    from keras_refs import cases, load_case, assert_close

    for name in cases("Conv2D"):
        ref = load_case(name)
        layer = Conv2D(name=ref["layer_name"], **ref["config"])
        ...
        assert_close(y, ref["y"][0], f"{name} y0")

``load_case(name)`` returns the case's cases.json entry plus its arrays, grouped:
``x`` (inputs), ``w`` (weights in ``get_weights()`` order), ``y`` (outputs), ``dy`` (the
upstream gradients), ``dx`` (dL/dinput per input; None for integer and boolean inputs),
``g`` (dL/dw per trainable weight, in ``trainable_weights`` order) and ``w_after`` (every
weight after the call: BatchNormalization's moving statistics move in training).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

LAYER_DIR = Path(__file__).resolve().parent / "reference" / "keras_layers"
MODEL_DIR = Path(__file__).resolve().parent / "reference" / "keras_models"

#: The tolerance the Keras comparisons use (the generator checked that float32 Keras is within it
#: of float64 Keras for every case): |actual - expected| <= ATOL * max(1, max|expected|) + RTOL * |expected|
RTOL = 1e-4
ATOL = 1e-5


@lru_cache(maxsize=None)
def _index(directory: Path = LAYER_DIR) -> tuple[dict, ...]:
    return tuple(json.loads((directory / "cases.json").read_text()))


def cases(layer: str | None = None) -> list[str]:
    """The case names, in file order; only those of Keras class ``layer`` when given."""
    return [c["case"] for c in _index() if layer is None or c["layer"] == layer]


def layer_classes() -> list[str]:
    """Every Keras class name the layer cases cover, in first-seen order."""
    return list(dict.fromkeys(c["layer"] for c in _index()))


def case_info(name: str) -> dict:
    """The cases.json entry of ``name`` (KeyError naming it when there is none)."""
    for c in _index():
        if c["case"] == name:
            return dict(c)
    raise KeyError(f"no Keras layer reference case {name!r} in {LAYER_DIR / 'cases.json'}")


def _group(arrays: dict, prefix: str) -> list:
    """``arrays[prefix + "0"], arrays[prefix + "1"], ...`` until one is missing."""
    out = []
    while f"{prefix}{len(out)}" in arrays:
        out.append(arrays[f"{prefix}{len(out)}"])
    return out


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_case(name: str) -> dict:
    """The case's metadata with its arrays (see the module docstring for the keys)."""
    info = case_info(name)
    arrays = load_arrays(LAYER_DIR / f"{name}.npz")
    info["arrays"] = arrays
    for prefix in ("x", "w", "y", "dy", "g", "w_after"):
        info[prefix] = _group(arrays, prefix)
    info["dx"] = [arrays.get(f"dx{i}") for i in range(len(info["x"]))]
    return info


def model_cases() -> list[str]:
    """The names of the example-model references (tests/reference/keras_models/)."""
    return [c["model"] for c in _index(MODEL_DIR)]


def load_model_case(name: str) -> dict:
    """An example model's cases.json entry (counts, weight paths, summary rows) with ``summary``
    (the exact text ``model.summary(print_fn=...)`` prints) and its arrays: ``x`` (inputs), ``w`` (``model.weights`` order), ``y``, ``dy``, ``dx``, ``g``
    (``model.trainable_weights`` order)."""
    for c in _index(MODEL_DIR):
        if c["model"] == name:
            info = dict(c)
            break
    else:
        raise KeyError(f"no Keras model reference {name!r} in {MODEL_DIR / 'cases.json'}")
    arrays = load_arrays(MODEL_DIR / f"{name}.npz")
    info["summary"] = (MODEL_DIR / info["summary_file"]).read_text(encoding="utf-8")
    info["arrays"] = arrays
    for prefix in ("x", "w", "y", "dy", "g"):
        info[prefix] = _group(arrays, prefix)
    info["dx"] = [arrays.get(f"dx{i}") for i in range(len(info["x"]))]
    return info


def close_ratio(actual, expected) -> float:
    """The largest |actual - expected| / tolerance (<= 1 means within ``RTOL``/``ATOL``)."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if b.size == 0:
        return 0.0
    tol = ATOL * max(1.0, float(np.abs(b).max())) + RTOL * np.abs(b)
    return float((np.abs(a - b) / tol).max())


def assert_close(actual, expected, what: str) -> None:
    """Assert ``actual`` equals the Keras value ``expected`` within float32 rounding (shape too)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, Keras {expected.shape}"
    ratio = close_ratio(actual, expected)
    if not ratio <= 1.0:  # also catches NaN
        diff = np.abs(actual.astype(np.float64) - expected)
        i = np.unravel_index(int(np.nanargmax(diff)) if np.isfinite(diff).any() else 0, diff.shape)
        raise AssertionError(f"{what}: {ratio:.3g}x the tolerance (rtol {RTOL}, atol {ATOL}); "
                             f"worst at {tuple(int(k) for k in i)}: got {actual[i]!r}, Keras {expected[i]!r}")
