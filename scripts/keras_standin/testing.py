"""``TestCase``: the assertion helpers Keras' tests use, over NumPy (written for this runner).

``assertAllClose`` / ``assertAlmostEqual`` / ``assertAllEqual`` compare with NumPy's testing
functions at Keras' default tolerances; ``assertDType`` compares dtype names under Keras'
naming (a Python float is "float32", an int "int64" under the TensorFlow backend);
``run_class_serialization_test`` round-trips ``get_config`` / ``from_config`` and the
module's ``serialize`` / ``deserialize`` through JSON, comparing configurations and the
instance's attribute names as Keras does.
"""

import json
import shutil
import sys
import tempfile
import unittest

import numpy as np

from . import backend, parameterized


class TestCase(unittest.TestCase, parameterized.TestCase):
    maxDiff = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameterized.expand(cls)

    def get_temp_dir(self):
        path = tempfile.mkdtemp()
        self.addCleanup(lambda: shutil.rmtree(path, ignore_errors=True))
        return path

    def convert_to_numpy(self, x):
        return backend.convert_to_numpy(x)

    def assertAllClose(self, actual, desired, atol=1e-6, rtol=1e-6, tpu_atol=None, tpu_rtol=None, msg=None):
        np.testing.assert_allclose(self.convert_to_numpy(actual), self.convert_to_numpy(desired),
                                   atol=atol, rtol=rtol, err_msg=msg or "")

    def assertNotAllClose(self, x1, x2, atol=1e-6, rtol=1e-6, msg=None):
        try:
            self.assertAllClose(x1, x2, atol=atol, rtol=rtol)
        except AssertionError:
            return
        raise AssertionError(f"the two values are close at all elements. {msg or ''} Values: {x1}")

    def assertAlmostEqual(self, actual, desired, decimal=3, tpu_decimal=None, msg=None, **kwargs):
        if kwargs.get("places") is not None or kwargs.get("delta") is not None:
            return super().assertAlmostEqual(actual, desired, msg=msg, **kwargs)
        np.testing.assert_almost_equal(self.convert_to_numpy(actual), self.convert_to_numpy(desired),
                                       decimal=decimal, err_msg=msg or "")

    def assertAllEqual(self, actual, desired, msg=None):
        np.testing.assert_array_equal(self.convert_to_numpy(actual), self.convert_to_numpy(desired),
                                      err_msg=msg or "")

    def assertLen(self, iterable, expected_len, msg=None):
        self.assertEqual(len(iterable), expected_len, msg=msg)

    def assertDType(self, x, dtype, msg=None):
        got = backend.standardize_dtype(x.dtype if hasattr(x, "dtype") else type(x))
        want = backend.standardize_dtype(dtype)
        self.assertEqual(got, want, msg=msg or f"dtype of x is {got}, expected {want}")

    def run_class_serialization_test(self, instance, custom_objects=None):
        cls = type(instance)
        module = sys.modules[_public_module(cls)]
        config = instance.get_config()
        config_json = _to_json(config)
        names = set(dir(instance))
        revived = cls.from_config(config)
        self.assertEqual(config_json, _to_json(revived.get_config()))
        self.assertEqual(names, set(dir(revived)))
        serialized = _from_json(_to_json(module.serialize(instance)))
        revived = module.deserialize(serialized)
        self.assertEqual(config_json, _to_json(revived.get_config()))
        self.assertEqual(names - {"__annotations__"}, set(dir(revived)) - {"__annotations__"})
        return revived


def _public_module(cls) -> str:
    """haibal_py.losses / metrics / activations: the module whose serialize knows ``cls``."""
    for name in ("haibal_py.losses", "haibal_py.metrics", "haibal_py.activations"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, cls.__name__, None) is cls:
            return name
    for name in ("haibal_py.losses", "haibal_py.metrics"):
        if name.rsplit(".", 1)[1][:-1] in cls.__module__:
            return name
    return "haibal_py.metrics"


def _to_json(value) -> str:
    """JSON with tuples kept apart from lists (as Keras' ``to_json_with_tuples``)."""
    def mark(v):
        if isinstance(v, tuple):
            return {"__tuple__": [mark(x) for x in v]}
        if isinstance(v, list):
            return [mark(x) for x in v]
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        return v  # NumPy values fail here, as in Keras' encoder
    return json.dumps(mark(value), sort_keys=True)


def _from_json(text: str):
    def unmark(v):
        if isinstance(v, dict):
            if set(v) == {"__tuple__"}:
                return tuple(unmark(x) for x in v["__tuple__"])
            return {k: unmark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [unmark(x) for x in v]
        return v
    return unmark(json.loads(text))
