"""haibal-py against Keras 3.15.1's own numbers and configurations (no TensorFlow needed).

``tests/reference/keras_catalog/refs.json`` is written by ``scripts/gen_keras_catalog_refs.py``
(run with the reference environment): calls of the new losses (CTC, Circle, generalized
crossentropy), the new activations, AUC's PRGAIN curve, top-k from sorted ids, the
element-wise accuracies, IoU's out-of-range ids, ... with Keras' results; and the
``get_config()`` / ``serialize()`` / state variables of every Loss and Metric class Keras exports.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from haibal_py import activations, losses, metrics

REFS = json.loads((Path(__file__).parent / "reference" / "keras_catalog" / "refs.json").read_text())
MODULES = {"losses": losses, "metrics": metrics, "activations": activations}


def dec(value):
    """Inverse of the generator's ``enc``."""
    if isinstance(value, dict):
        if "array" in value:
            return np.array(value["array"], dtype=value["dtype"])
        if "tuple" in value:
            return tuple(dec(v) for v in value["tuple"])
        return {k: dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dec(v) for v in value]
    return value


def run_case(case):
    mod = MODULES[case["module"]]
    args, kwargs, init = dec(case["args"]), dec(case["kwargs"]), dec(case["init"])
    if case["kind"] == "function":
        return getattr(mod, case["name"])(*args, **kwargs)
    obj = getattr(mod, case["name"])(**init)
    if case["kind"] == "loss":
        return obj(*args, **kwargs)
    for batch in dec(case["updates"]):
        obj.update_state(*batch[:2], **({"sample_weight": batch[2]} if len(batch) > 2 else {}))
    return obj.result()


def _case_id(case) -> str:
    return f"{case['module']}.{case['name']}({','.join(sorted(case['kwargs']) + sorted(case['init']))})"


@pytest.mark.parametrize("case", REFS["cases"], ids=[_case_id(c) for c in REFS["cases"]])
def test_same_numbers_as_keras(case):
    expected = dec(case["expected"])
    got = run_case(case)
    tol = case["tol"]
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=tol, atol=tol)
    assert np.shape(got) == np.shape(expected)
    if isinstance(expected, np.ndarray) and expected.dtype == np.float64 and case["kind"] == "function" \
            and case["module"] == "activations":
        assert got.dtype == np.float64  # float64 in, float64 out


CONFIGS = {k: v for k, v in REFS["configs"].items() if k.startswith(("losses.", "metrics."))}
# Keras' variable names where the attribute has another name (as in Keras' own classes)
VARIABLE_ATTRIBUTES = {"total_confusion_matrix": "total_cm", "residual": "total_mse"}
# configuration values that differ on purpose (see docs/catalog-metrics.md, "Differences from Keras")
OWN_VALUES = {"dtype"}


def _build(key):
    module, name = key.split(".")
    return getattr(MODULES[module], name)(**REFS["configs"][key]["init"])


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_config_has_keras_keys_and_values(key):
    keras_config = CONFIGS[key]["config"]
    obj = _build(key)
    config = obj.get_config()
    assert set(keras_config) <= set(config), f"missing keys {set(keras_config) - set(config)}"
    for k, v in keras_config.items():
        if k in OWN_VALUES:
            continue
        if k == "name":  # Keras numbers its default names (auc_4): the name before the number
            assert config[k] == re.sub(r"_\d+$", "", v)
            continue
        assert config[k] == v or np.allclose(config[k], v), (k, config[k], v)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_serialize_round_trip_through_json(key):
    module = MODULES[key.split(".")[0]]
    obj = _build(key)
    ser = module.serialize(obj)
    keras_ser = CONFIGS[key]["serialized"]
    assert {k: ser[k] for k in ("module", "class_name", "registered_name")} == \
        {k: keras_ser[k] for k in ("module", "class_name", "registered_name")}
    again = module.deserialize(json.loads(json.dumps(ser)))
    assert type(again) is type(obj)
    assert again.get_config() == obj.get_config()
    assert type(obj).from_config(obj.get_config()).get_config() == obj.get_config()
    # what Keras itself serialized reads here too (its dtype names included)
    from_keras = module.deserialize(keras_ser)
    assert type(from_keras) is type(obj)


@pytest.mark.parametrize("key", sorted(k for k in CONFIGS if k.startswith("metrics.")))
def test_state_variables_have_keras_names(key):
    obj = _build(key)
    names = [VARIABLE_ATTRIBUTES.get(n, n) for n in CONFIGS[key]["variables"]]
    assert [n for n in obj.state_names if getattr(obj, n) is not None] == names
    assert len(obj.variables) == len(names)
    for n, v in zip(names, obj.variables):
        assert getattr(obj, n) is v and not np.any(v)


def test_functions_and_activations_serialize_as_keras():
    for key, expected in REFS["configs"]["functions"].items():
        module, name = key.split(".")
        assert MODULES[module].serialize(getattr(MODULES[module], name)) == expected
        assert MODULES[module].deserialize(expected) is getattr(MODULES[module], name)
    for name, expected in REFS["configs"]["activations"].items():
        fn = getattr(activations, name)
        assert activations.serialize(fn) == expected
        assert activations.deserialize(expected) is fn
        assert activations.get(expected) is fn


def test_every_keras_loss_and_metric_class_exists():
    keras_classes = {k for k in REFS["configs"] if k.startswith(("losses.", "metrics."))}
    assert len([k for k in keras_classes if k.startswith("losses.")]) == 22  # Keras 3.15's Loss classes
    for key in keras_classes:
        module, name = key.split(".")
        assert name in MODULES[module].__all__
