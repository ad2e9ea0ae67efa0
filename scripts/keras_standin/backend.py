"""``keras.backend`` as Keras' tests use it, over NumPy.

``backend()`` says "tensorflow": haibal-py mirrors the numbers of Keras' TensorFlow backend,
so a test Keras skips or branches on for TensorFlow does the same here. ``floatx`` is
haibal-py's own (``haibal_py.numeric.config``). Masks, variables and symbolic tensors are
not claimed (see ``not_claimed.RULES``).
"""

import numpy as np

from haibal_py.numeric import config

from .not_claimed import NotClaimed, refuse

_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64",
                  complex: "complex128"}


def backend() -> str:
    return "tensorflow"


floatx = config.floatx
set_floatx = config.set_floatx
epsilon = config.epsilon


def standardize_dtype(dtype) -> str:
    """Keras' dtype names: ``None`` is floatx, Python types map as under TensorFlow."""
    if dtype is None:
        return floatx()
    if isinstance(dtype, str) and dtype == "bfloat16":
        raise NotClaimed("bfloat16", "bfloat16")
    dtype = _PYTHON_DTYPES.get(dtype, dtype)
    if isinstance(dtype, str) and dtype == "string":
        return dtype
    return np.dtype(dtype).name


def is_tensor(x) -> bool:
    return isinstance(x, np.ndarray)


def convert_to_numpy(x):
    return x if isinstance(x, np.ndarray) else np.array(x)


def shape(x) -> tuple:
    return tuple(np.shape(x))


set_keras_mask = refuse("mask", "keras.backend.set_keras_mask")
get_keras_mask = refuse("mask", "keras.backend.get_keras_mask")
Variable = refuse("variables", "keras.backend.Variable")
compute_output_spec = refuse("symbolic", "keras.backend.compute_output_spec")
KerasTensor = refuse("symbolic", "keras.KerasTensor")
