"""Keras-style stateful metrics: ``update_state`` / ``result`` / ``reset_state`` / ``merge_state``.

Every stateful metric keeps its state in attributes with Keras' names (``total`` and
``count``, ``true_positives``, ``total_cm``, ...), listed in ``state_names`` in Keras'
order; ``variables`` returns them. Every state is a float64 *sum* (a NumPy float64 scalar
or array), so the state of a metric fed several shards is the sum of the shards' states:
``merge_state`` adds them, and gives exactly the result of one metric fed the
concatenated shards (as ``Metric.merge_state`` of tf.keras does). A state is ``None``
until the first update when its shape depends on the data (F-scores, R2Score,
MeanTensor), as Keras builds those variables at the first update.

``MeanMetricWrapper`` follows ``keras.metrics.MeanMetricWrapper``: each batch's values
are averaged over their non-batch axes (one value per sample), then
``total += sum(values * sample_weight)`` and ``count += batch size`` (or the sum of
the per-sample weights); ``result = total / count`` (0 before any sample).
As in Keras, without ``sample_weight`` a position whose label is ``ignore_class``
counts as a 0 in its sample's mean; with ``sample_weight`` it gets weight 0.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from ..errors import HaibalValueError
from .arrays import as_sample_weight, squeeze_or_expand_to_same_rank
from .keras_api import snake_case


class Metric:
    """Base class of stateful metrics.

    Subclasses set ``state_names`` (Keras' attribute names of the state variables), build
    them in ``reset_state`` and implement ``update_state`` and ``result``.
    """

    state_names: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, *args, **kwargs) -> None:
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the running result (as Keras metrics do)."""
        self.update_state(*args, **kwargs)
        return self.result()

    @property
    def variables(self) -> list:
        """The state variables that exist, in Keras' order (float64 scalars or arrays)."""
        return [v for v in (getattr(self, n) for n in self.state_names) if v is not None]

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        """The metric ``get_config()`` describes (a fresh state)."""
        return cls(**config)

    def merge_state(self, metrics: Iterable["Metric"]) -> None:
        """Add the states of ``metrics`` (same class and configuration) to this one.

        After it, ``result()`` is what one metric fed every batch of every merged metric
        would give. A metric that was never updated adds nothing.
        """
        if isinstance(metrics, Metric):
            metrics = [metrics]
        metrics = list(metrics)
        mine = self._merge_key()
        for other in metrics:
            if type(other) is not type(self):
                raise HaibalValueError(f"{self.name}: cannot merge the state of a {type(other).__name__} into a "
                                       f"{type(self).__name__}")
            theirs = other._merge_key()
            if theirs != mine:
                diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
                raise HaibalValueError(f"{self.name}: cannot merge {type(other).__name__} metrics configured "
                                       f"differently ({', '.join(f'{k}={mine.get(k)!r} vs {theirs.get(k)!r}' for k in diff)})")
        for other in metrics:
            for key in self.state_names:
                self._merge_one(key, getattr(other, key))

    def _merge_key(self) -> dict:
        """What two metrics must share to be merged: the configuration, the name aside."""
        config = self.get_config()
        config.pop("name", None)
        return _comparable(config)

    def _merge_one(self, key: str, theirs) -> None:
        mine = getattr(self, key)
        if theirs is None:
            return
        if mine is None:
            setattr(self, key, np.array(theirs, dtype=np.float64) if np.ndim(theirs) else np.float64(theirs))
            return
        if np.shape(mine) != np.shape(theirs):
            raise HaibalValueError(f"{self.name}: cannot merge the state {key!r} of shape {np.shape(theirs)} into "
                                   f"one of shape {np.shape(mine)} (the metrics saw data of different shapes)")
        setattr(self, key, mine + theirs)


def _comparable(value):
    """``value`` with arrays turned into nested lists, so configurations compare with ``==``."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_comparable(v) for v in np.asarray(value, dtype=object).tolist()] if np.ndim(value) else value
    return value


def samplewise(values: np.ndarray, sample_weight, mask) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample weighted values and per-sample weights, as Keras' ``reduce_to_samplewise_values``."""
    values = np.asarray(values, dtype=np.float64)
    weights = None
    if sample_weight is not None:
        weights = as_sample_weight(sample_weight)
        if mask is not None:
            m, weights = squeeze_or_expand_to_same_rank(mask.astype(np.float64), weights)
            if weights.ndim < m.ndim:  # per-sample weights on a per-position mask: align on the left
                weights = weights.reshape(weights.shape + (1,) * (m.ndim - weights.ndim))
            weights = weights * m
        values, weights = squeeze_or_expand_to_same_rank(values, weights)
        if values.ndim > weights.ndim:
            values = values.mean(axis=tuple(range(weights.ndim, values.ndim)))
        if weights.ndim > values.ndim or not _broadcastable(weights.shape, values.shape):
            raise HaibalValueError(f"sample_weight shape {np.shape(sample_weight)} cannot be broadcast to the "
                                   f"values' shape {values.shape}")
        weights = np.broadcast_to(weights, values.shape)
        values = values * weights
        if weights.ndim > 1:
            weights = weights.mean(axis=tuple(range(1, weights.ndim)))
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, weights


def _broadcastable(shape: tuple, target: tuple) -> bool:
    return all(a in (1, b) for a, b in zip(shape[::-1], target[::-1]))


class Mean(Metric):
    """``keras.metrics.Mean``: the weighted mean of all values seen so far."""

    state_names = ("total", "count")

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total = np.float64(0.0)
        self.count = np.float64(0.0)

    def update_state(self, values, sample_weight=None) -> None:
        self._accumulate(np.asarray(values), sample_weight, None)

    def _accumulate(self, values: np.ndarray, sample_weight, mask) -> None:
        values, weights = samplewise(values, sample_weight, mask)
        self.total = self.total + np.float64(values.sum())
        if weights is not None:
            self.count = self.count + np.float64(weights.sum())
        else:
            self.count = self.count + np.float64(values.shape[0] if values.ndim >= 1 else 1)

    def result(self) -> float:
        return float(self.total / self.count) if self.count else 0.0


class MeanMetricWrapper(Mean):
    """A stateful metric averaging ``fn(y_true, y_pred, **kwargs)`` over every sample seen.

    ``mask_fn``, when given, returns ``(values, mask)`` (for ``ignore_class``).
    """

    def __init__(self, fn: Callable, name=None, dtype=None, mask_fn: Callable | None = None, **kwargs):
        self.fn = fn
        self.mask_fn = mask_fn
        self.fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper", dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.mask_fn is not None:
            values, mask = self.mask_fn(y_true, y_pred, **self.fn_kwargs)
        else:
            values, mask = np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs)), None
        self._accumulate(values, sample_weight, mask)

    def get_config(self) -> dict:
        return {**super().get_config(), **self.fn_kwargs}
