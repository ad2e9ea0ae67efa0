"""Keras-style stateful metrics: ``update_state`` / ``result`` / ``reset_state``.

``MeanMetricWrapper`` follows ``keras.metrics.MeanMetricWrapper``: each batch's values
are averaged over their non-batch axes (one value per sample), then
``total += sum(values * sample_weight)`` and ``count += batch size`` (or the sum of
the per-sample weights); ``result = total / count`` (0 before any sample).
As in Keras, without ``sample_weight`` a position whose label is ``ignore_class``
counts as a 0 in its sample's mean; with ``sample_weight`` it gets weight 0.
Sums are accumulated in float64.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .arrays import as_sample_weight, squeeze_or_expand_to_same_rank


class Metric:
    """Base class of stateful metrics."""

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or type(self).__name__
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def __call__(self, *args, **kwargs) -> float:
        """Update with one batch and return the running result (as Keras metrics do)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name}


def samplewise(values: np.ndarray, sample_weight, mask) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample weighted values and per-sample weights, as Keras' ``reduce_to_samplewise_values``."""
    values = np.asarray(values, dtype=np.float64)
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if mask is not None:
            m, weights = squeeze_or_expand_to_same_rank(mask.astype(np.float64), weights)
            if weights.ndim < m.ndim:  # per-sample weights on a per-position mask: align on the left
                weights = weights.reshape(weights.shape + (1,) * (m.ndim - weights.ndim))
            weights = weights * m
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = values.mean(axis=tuple(range(weights.ndim, values.ndim)))
        weights = np.broadcast_to(weights, values.shape)
        values = values * weights
        if weights.ndim > 1:
            weights = weights.mean(axis=tuple(range(1, weights.ndim)))
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, weights


class Mean(Metric):
    """The weighted mean of all values seen so far."""

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        self._accumulate(np.asarray(values), sample_weight, None)

    def _accumulate(self, values: np.ndarray, sample_weight, mask) -> None:
        values, weights = samplewise(values, sample_weight, mask)
        self.total += float(values.sum())
        if weights is not None:
            self.count += float(weights.sum())
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """A stateful metric averaging ``fn(y_true, y_pred, **kwargs)`` over every sample seen.

    ``mask_fn``, when given, returns ``(values, mask)`` (for ``ignore_class``).
    """

    def __init__(self, fn: Callable, name=None, dtype=None, mask_fn: Callable | None = None, **kwargs):
        self.fn = fn
        self.mask_fn = mask_fn
        self.fn_kwargs = kwargs
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.mask_fn is not None:
            values, mask = self.mask_fn(y_true, y_pred, **self.fn_kwargs)
        else:
            values, mask = np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs)), None
        self._accumulate(values, sample_weight, mask)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}
