"""Keras' ``ops.cast`` of a Python number, which the optimizers and schedules mirror."""

from __future__ import annotations

import numpy as np


def keras_cast(value, dtype: np.dtype):
    """Keras' ``ops.cast(value, dtype)`` of a hyperparameter: TensorFlow makes a Python float
    a float32 tensor first, so a float64 weight sees ``float64(float32(value))``. (Python
    numbers mixed into ``ops.multiply``/``add``/... keep their double value instead.)"""
    if type(value) is float:
        return dtype.type(np.float32(value))
    return dtype.type(value)
