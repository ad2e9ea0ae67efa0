"""Optimizers and schedules against Keras 3's own numbers (computed offline, shipped).

``scripts/gen_keras_optimizer_refs.py`` ran each case with Keras 3 (TensorFlow backend);
here the same optimizer is rebuilt from Keras' serialized config (so the configs are
compatible too), given the same gradients, and must give the same weights after every
step, the same iterations and learning rates, and the same optimizer variables, in
Keras' order, at the end.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from haibal_py import optimizers
from haibal_py.optimizers import schedules

REF = Path(__file__).parent / "reference" / "keras_optimizers"
INDEX = json.loads((REF / "index.json").read_text())
ARRAYS = np.load(REF / "refs.npz")
SHAPES = [tuple(s) for s in INDEX["shapes"]]
SIZES = [int(np.prod(s)) for s in SHAPES]
RTOL = 1e-5


def split(row: np.ndarray) -> list[np.ndarray]:
    """One flattened row of the three weights back to their shapes."""
    out, start = [], 0
    for shape, size in zip(SHAPES, SIZES):
        out.append(row[start:start + size].reshape(shape))
        start += size
    return out


def atol_for(dtype) -> float:
    # float32 rounding of values near 0 (a weight crossing zero): a few ulps of the scale 1
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12


def run_case(name: str, fuse_limit=None):
    case = INDEX["cases"][name]
    dtype = np.dtype(case["dtype"])
    weights_ref = ARRAYS[f"{name}|weights"]
    grads_ref = ARRAYS[f"{name}|grads"]
    opt = optimizers.deserialize(case["config"])
    opt.fuse_limit = fuse_limit
    weights = [w.copy() for w in split(weights_ref[0])]
    assert all(w.dtype == dtype for w in weights)
    opt.build(weights, names=INDEX["names"])
    if case["exclude_from_weight_decay"]:
        opt.exclude_from_weight_decay(var_names=case["exclude_from_weight_decay"])
    lrs = []
    for t in range(case["steps"]):
        missing = case["none_grads"].get(str(t), [])
        grads = [None if i in missing else g.copy() for i, g in enumerate(split(grads_ref[t]))]
        lrs.append(np.float32(opt.learning_rate))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt.apply(grads, weights)
        assert bool(caught) == bool(missing), [str(w.message) for w in caught]
        for i, (w, ref) in enumerate(zip(weights, split(weights_ref[t + 1]))):
            np.testing.assert_allclose(w, ref, rtol=RTOL, atol=atol_for(dtype),
                                       err_msg=f"{name}: weight {i} after step {t + 1}")
        assert opt.iterations == case["iterations"][t], f"{name}: iterations after step {t + 1}"
    np.testing.assert_allclose(lrs, ARRAYS[f"{name}|lr"], rtol=RTOL, err_msg=f"{name}: learning rates")
    return opt, case


@pytest.mark.parametrize("layout", ["fused", "per_weight"])
@pytest.mark.parametrize("name", sorted(INDEX["cases"]))
def test_optimizer_matches_keras(name, layout):
    # fused: the three small weights are updated through flat buffers; per_weight: one by one
    opt, case = run_case(name, fuse_limit=None if layout == "fused" else 0)
    assert opt._groups[0].fused == (layout == "fused")
    ours = opt.variables
    assert [list(np.shape(v)) for v in ours] == case["variable_shapes"], name
    flat = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in ours])
    np.testing.assert_allclose(flat, ARRAYS[f"{name}|variables"], rtol=RTOL, atol=1e-6,
                               err_msg=f"{name}: optimizer variables (Keras' order)")


def test_every_optimizer_and_option_is_covered():
    names = set(INDEX["cases"])
    for cls in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl"):
        for option in ("default", "clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "accumulation",
                       "float64", "ema", "schedule_exponential"):
            assert f"{cls}/{option}" in names
    for label in INDEX["schedules"]:
        assert f"Adam/schedule_{label}" in names and f"SGD/schedule_{label}" in names


def test_state_variable_keys_follow_keras_names():
    # Keras' variable names (<weight>_<slot>) and ours (<slot>/<position>) list the same slots
    for name, case in INDEX["cases"].items():
        opt = optimizers.deserialize(case["config"])
        opt.build([np.zeros(s, dtype=case["dtype"]) for s in SHAPES])
        keys = list(opt.get_state())
        assert len(keys) == len(case["variable_names"]), name
        for key, keras_name in zip(keys, case["variable_names"]):
            if "/" in key:
                slot, pos = key.split("/")
                weight = INDEX["names"][int(pos)]
                assert keras_name == f"{weight}_{slot}", (name, key, keras_name)


@pytest.mark.parametrize("label", sorted(INDEX["schedules"]))
def test_schedule_matches_keras(label):
    config = INDEX["schedules"][label]
    schedule = schedules.deserialize(config)
    ref = ARRAYS[f"schedule|{label}"]
    steps = np.arange(INDEX["schedule_steps"])
    one_by_one = np.array([schedule(int(s)) for s in steps])
    assert one_by_one.dtype == np.float32
    np.testing.assert_allclose(one_by_one, ref, rtol=RTOL, atol=1e-9, err_msg=label)
    # vectorised steps: the same values (NumPy's SIMD cos/pow may differ from its scalar ones by an ulp)
    np.testing.assert_allclose(schedule(steps), one_by_one, rtol=3e-7, atol=1e-12)
    assert schedules.serialize(schedule) == config
