"""The one place for the layers' argument rules: numbers (positive ints, rates, axes),
options haibal-py refuses, and the spatial layers' Keras 3 ``standardize_tuple``,
``standardize_padding`` and ``standardize_data_format``, each with an error that names the
layer and the argument.

Only ``data_format="channels_last"`` (Keras' default) is computed; "channels_first" is
refused with a message saying how to get the same model (inputs ``(batch, ..., channels)``).
"""

from __future__ import annotations

import numpy as np

from .base import LayerError, as_tuple_shape
from .symbolic import format_shape

__all__ = ["positive_int", "rate", "normalize_axis", "refuse_unsupported", "standardize_tuple",
           "standardize_padding", "standardize_data_format", "spatial_input_shape", "format_shape"]


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def positive_int(value, name: str, who: str, allow: tuple = ()) -> int:
    """``value`` as an int > 0 (or one of ``allow``, e.g. GroupNormalization's ``groups=-1``),
    else a LayerError naming the argument."""
    if _is_int(value) and (value > 0 or value in allow):
        return int(value)
    raise LayerError(f"{who}: {name} must be a positive integer, got {value!r}")


def rate(value, name: str, who: str) -> float:
    """A dropout rate of the recurrent and attention layers: a number in [0, 1], as a float."""
    try:
        r = float(value)
    except (TypeError, ValueError):
        raise LayerError(f"{who}: {name} must be a number in [0, 1], got {value!r}") from None
    if not 0.0 <= r <= 1.0:
        raise LayerError(f"{who}: {name} must be in [0, 1], got {value!r}")
    return r


def normalize_axis(axis, ndim: int, who: str, shape=None) -> int:
    """``axis`` as a non-negative index into a rank-``ndim`` input (LayerError otherwise)."""
    if not _is_int(axis):
        raise LayerError(f"{who}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        where = f"input shape {tuple(shape)}" if shape is not None else f"a rank-{ndim} input"
        raise LayerError(f"{who}: axis {axis} is out of range for {where}")
    return int(axis) % ndim


def refuse_unsupported(who: str, **options) -> None:
    """A LayerError for the first option given (not None, not False): haibal-py lacks it."""
    for key, value in options.items():
        if value is not None and value is not False:
            raise LayerError(f"{who}: {key}={value!r} is not supported by haibal-py yet")


def standardize_tuple(value, n: int, name: str, who: str, allow_zero: bool = False) -> tuple[int, ...]:
    """``value`` (an int or ``n`` ints) as a tuple of ``n`` ints > 0 (>= 0 with ``allow_zero``)."""
    items = (value,) * n if _is_int(value) else None
    if items is None:
        try:
            items = tuple(value)
        except TypeError:
            items = ()
    if len(items) != n or not all(_is_int(v) for v in items):
        raise LayerError(f"{who}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    items = tuple(int(v) for v in items)
    low = 0 if allow_zero else 1
    if min(items) < low:
        raise LayerError(f"{who}: {name} must hold {'non-negative' if allow_zero else 'positive'} "
                         f"ints, got {value!r}")
    return items


def standardize_padding(value, who: str, allow_causal: bool = False) -> str:
    """"valid", "same" (any case) or, for 1-D convolutions, "causal"."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    mode = value.lower() if isinstance(value, str) else None
    if mode not in allowed:
        raise LayerError(f"{who}: padding must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
    return mode


def standardize_data_format(value, who: str) -> str:
    """"channels_last" (also for None, Keras' default image_data_format)."""
    if value is None:
        return "channels_last"
    mode = value.lower() if isinstance(value, str) else None
    if mode == "channels_last":
        return mode
    if mode == "channels_first":
        raise LayerError(f"{who}: data_format='channels_first' is not supported; haibal-py layers take "
                         f"channels-last inputs (batch, ..., channels): transpose the input "
                         f"(e.g. Permute) and use data_format='channels_last'")
    raise LayerError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {value!r}")


def spatial_input_shape(layer, input_shape, rank: int) -> tuple:
    """The input shape ``(batch, *spatial, channels)`` of a layer working on ``rank`` spatial
    axes, or a LayerError naming the layer and the shape."""
    try:
        shape = as_tuple_shape(input_shape)
    except (TypeError, ValueError):
        raise LayerError(f"{layer.name} ({type(layer).__name__}) expects one input shape, "
                         f"got {input_shape!r}") from None
    if len(shape) != rank + 2:
        kind = {1: "(batch, steps, channels)", 2: "(batch, rows, cols, channels)",
                3: "(batch, dim1, dim2, dim3, channels)"}[rank]
        raise LayerError(f"{layer.name} ({type(layer).__name__}) expects a rank-{rank + 2} input {kind}, "
                         f"got shape {format_shape(shape)}")
    return shape
