"""Small helpers the sequence/normalization layers share: argument checks and config values."""

from __future__ import annotations

from ...errors import HaibalValueError
from .. import initializers, regularizers
from .base import LayerError


def init_config(identifier):
    """An initializer argument as Keras writes it in a config (``{"class_name", "config"}``)."""
    obj = initializers.get(identifier)
    if isinstance(obj, initializers.Initializer):
        return initializers.serialize(obj)
    return identifier


def reg_config(identifier):
    """A regularizer argument as Keras writes it in a config (None stays None)."""
    obj = regularizers.get(identifier)
    if obj is None:
        return None
    try:
        return regularizers.serialize(obj)
    except HaibalValueError:  # a plain function: kept as given
        return identifier


def positive_int(owner: str, name: str, value, allow: tuple = ()) -> int:
    """``value`` as a positive int (or one of ``allow``), else LayerError naming it."""
    if value in allow and not isinstance(value, bool):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LayerError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def rate(owner: str, name: str, value) -> float:
    """A dropout rate in [0, 1]."""
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise LayerError(f"{owner}: {name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= r <= 1.0:
        raise LayerError(f"{owner}: {name} must be in [0, 1], got {value!r}")
    return r


def normalize_axis(owner: str, axis: int, ndim: int, shape=None) -> int:
    """``axis`` as a non-negative index into a rank-``ndim`` input (LayerError otherwise)."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise LayerError(f"{owner}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        where = f"input shape {tuple(shape)}" if shape is not None else f"a rank-{ndim} input"
        raise LayerError(f"{owner}: axis {axis} is out of range for {where}")
    return axis % ndim
