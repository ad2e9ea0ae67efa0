"""Argument rules shared by the spatial layers (convolution, pooling, padding, cropping,
upsampling): Keras 3's ``standardize_tuple``, ``standardize_padding`` and
``standardize_data_format``, with errors that name the layer and the argument.

Only ``data_format="channels_last"`` (Keras' default) is computed; "channels_first" is
refused with a message saying how to get the same model (inputs ``(batch, ..., channels)``).
"""

from __future__ import annotations

import numpy as np

from .base import LayerError, as_tuple_shape
from .symbolic import format_shape

__all__ = ["standardize_tuple", "standardize_padding", "standardize_data_format", "spatial_input_shape",
           "format_shape"]


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


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
