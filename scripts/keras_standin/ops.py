"""The few ``keras.ops`` Keras' tests use to build and read their inputs, over NumPy.

They follow Keras' conversion rules where the tests rely on them: Python floats become
float32 tensors (``convert_to_tensor([1.0])``), ``ones`` / ``one_hot`` give floatx.
"""

import numpy as np

from . import backend


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    if dtype is not None:
        return np.asarray(x, dtype=backend.standardize_dtype(dtype))
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x)
    out = np.asarray(x)
    if out.dtype == np.float64:
        out = out.astype(backend.floatx())
    elif out.dtype == np.int64:
        out = out.astype(np.int32)
    return out


def array(x, dtype=None):
    return convert_to_tensor(x, dtype=dtype)


def cast(x, dtype):
    return np.asarray(x).astype(backend.standardize_dtype(dtype))


def ones(shape, dtype=None):
    return np.ones(shape, dtype=backend.standardize_dtype(dtype))


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype=backend.standardize_dtype(dtype))


def one_hot(x, num_classes, axis=-1, dtype=None):
    x = np.asarray(x)
    out = (x[..., None] == np.arange(num_classes)).astype(backend.standardize_dtype(dtype))
    return np.moveaxis(out, -1, axis)


def shape(x):
    return tuple(np.shape(x))


def transpose(x, axes=None):
    return np.transpose(np.asarray(x), axes)


def tile(x, repeats):
    return np.tile(np.asarray(x), repeats)


def expand_dims(x, axis):
    return np.expand_dims(np.asarray(x), axis)


def log(x):
    return np.log(np.asarray(x))


def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    return np.sum(np.asarray(x), axis=axis, keepdims=keepdims)
