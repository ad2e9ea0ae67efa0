"""Process-wide defaults, as ``keras.config``: the float dtype of new layers (``floatx``).

Layers built without ``dtype=`` take ``floatx()`` (float32, Keras' default);
``set_floatx("float64")`` makes new layers float64, which gradient checks use.
"""

from __future__ import annotations

import numpy as np

from ..errors import HaibalValueError

__all__ = ["floatx", "set_floatx", "epsilon"]

_STATE = {"floatx": "float32"}

#: Keras' fuzz factor (``keras.config.epsilon()``)
EPSILON = 1e-7


def floatx() -> str:
    """The default float dtype of new layers and weights ("float32" unless set)."""
    return _STATE["floatx"]


def set_floatx(value: str) -> None:
    """Set the default float dtype: "float16", "float32" or "float64"."""
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in ("float16", "float32", "float64"):
        raise HaibalValueError(f"floatx must be 'float16', 'float32' or 'float64', got {value!r}")
    _STATE["floatx"] = dt.name


def epsilon() -> float:
    """Keras' fuzz factor, 1e-7."""
    return EPSILON
