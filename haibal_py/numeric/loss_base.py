"""Keras-style ``Loss`` classes: reductions and ``sample_weight`` over a loss function.

``reduction``, as Keras 3 defines it:

- ``"sum_over_batch_size"`` (default) and ``"mean"``: sum of weighted losses divided by
  the number of loss elements that count (positions whose label is ``ignore_class`` do
  not count); 0 when none counts.
- ``"sum"``: the plain sum of weighted losses.
- ``"mean_with_sample_weight"``: the weighted sum divided by the sum of the weights.
- ``"none"`` / ``None``: the unreduced, weighted loss array.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import HaibalValueError
from .arrays import as_array, as_float_array, as_sample_weight, squeeze_or_expand_to_same_rank  # noqa: F401
from .keras_api import snake_case

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


def broadcast_weights(sample_weight, shape: tuple, dtype) -> np.ndarray:
    """``sample_weight`` broadcast to a loss of ``shape``, with an error naming both shapes."""
    w = as_sample_weight(sample_weight, dtype=dtype)
    probe = np.empty(shape, dtype=bool)
    probe, w = squeeze_or_expand_to_same_rank(probe, w)
    if w.ndim < probe.ndim:  # a per-sample weight: add axes on the right
        w = w.reshape(w.shape + (1,) * (probe.ndim - w.ndim))
    try:
        return np.broadcast_to(w, probe.shape).reshape(shape)
    except ValueError:
        raise HaibalValueError(
            f"sample_weight shape {np.shape(sample_weight)} cannot be broadcast to the loss shape {shape}"
        ) from None


def check_reduction(reduction) -> str | None:
    if reduction not in REDUCTIONS:
        raise HaibalValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
    return reduction


class Loss:
    """Base class, with Keras' contract: a subclass gives ``call(y_true, y_pred)``, the
    unreduced losses of a batch, and ``__call__`` weights and reduces them.

    ``call_with_mask`` returns ``(losses, mask_or_None)``; the built-in losses override it
    to leave ``ignore_class`` positions out of the reduction. For a subclass's own ``call``
    the inputs arrive as float arrays (``y_true`` in ``y_pred``'s dtype; lists and integers
    as float32, as in the loss functions).
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = check_reduction(reduction)
        self.dtype = dtype

    def call(self, y_true, y_pred) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def call_with_mask(self, y_true, y_pred) -> tuple[np.ndarray, np.ndarray | None]:
        """``call``'s losses and the positions that count (``None``: all of them)."""
        y_pred = as_float_array(y_pred, "y_pred")
        y_true = as_array(y_true, "y_true").astype(y_pred.dtype, copy=False)
        return np.asarray(self.call(y_true, y_pred)), None

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses, mask = self.call_with_mask(y_true, y_pred)
        if self.dtype is not None:
            losses = losses.astype(self.dtype)
        return reduce_weighted(losses, sample_weight, mask, self.reduction)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict):
        """The loss ``get_config()`` describes."""
        return cls(**config)


def reduce_weighted(losses: np.ndarray, sample_weight, mask, reduction):
    """Weight ``losses``, then reduce them as ``reduction`` says (see the module docstring)."""
    dtype = losses.dtype
    weights = None if sample_weight is None else broadcast_weights(sample_weight, losses.shape, dtype)
    values = losses if weights is None else losses * weights
    if mask is not None:
        values = np.where(mask, values, dtype.type(0))
    if reduction in (None, "none"):
        return values
    total = values.sum(dtype=np.float64)
    if reduction == "sum":
        return dtype.type(total)
    if reduction == "mean_with_sample_weight" and weights is not None:
        divisor = (weights if mask is None else np.where(mask, weights, 0)).sum(dtype=np.float64)
    else:
        divisor = values.size if mask is None else np.count_nonzero(mask)
    return dtype.type(total / divisor if divisor else 0.0)


class LossFunctionWrapper(Loss):
    """A ``Loss`` around a function ``fn(y_true, y_pred, **kwargs)``.

    ``mask_fn``, when given, returns ``(losses, mask)`` instead (for ``ignore_class``).
    """

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name=None, dtype=None,
                 mask_fn: Callable | None = None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self.mask_fn = mask_fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> np.ndarray:
        """The function's losses (``ignore_class`` positions hold 0)."""
        losses, mask = self.call_with_mask(y_true, y_pred)
        return losses if mask is None else np.where(mask, losses, losses.dtype.type(0))

    def call_with_mask(self, y_true, y_pred):
        if self.mask_fn is not None:
            return self.mask_fn(y_true, y_pred, **self.fn_kwargs)
        return np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs)), None

    def get_config(self) -> dict:
        """``name``, ``reduction`` and the function's options (tuples as lists: JSON types)."""
        options = {k: list(v) if isinstance(v, tuple) else v for k, v in self.fn_kwargs.items()}
        return {**super().get_config(), **options}
