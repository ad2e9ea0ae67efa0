"""Stateful metrics that reduce values rather than compare labels: Sum, MeanTensor,
RootMeanSquaredError, MeanRelativeError, R2Score (``Mean`` lives in ``metric_base``).

Every state is a float64 sum, so feeding batches in any split (or merging the states of
metrics fed the shards, ``merge_state``) gives the result of the concatenated batch.
"""

from __future__ import annotations

import warnings

import numpy as np

from .arrays import as_float_array, as_sample_weight, squeeze_or_expand_to_same_rank
from ..errors import HaibalValueError
from .kernels.confusion import divide_no_nan
from .metric_base import Mean, Metric

__all__ = ["Sum", "MeanTensor", "RootMeanSquaredError", "MeanRelativeError", "R2Score"]


def _weights_like(sample_weight, values: np.ndarray) -> np.ndarray:
    """``sample_weight`` broadcast to ``values`` (per-sample weights aligned on the left)."""
    w = as_sample_weight(sample_weight)
    _, w = squeeze_or_expand_to_same_rank(values, w)
    if 0 < w.ndim < values.ndim:
        w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    try:
        return np.broadcast_to(w, values.shape)
    except ValueError:
        raise HaibalValueError(f"sample_weight shape {np.shape(sample_weight)} cannot be broadcast to "
                               f"the values' shape {values.shape}") from None


def _pair(y_true, y_pred, what: str) -> tuple[np.ndarray, np.ndarray]:
    yt = as_float_array(y_true, "y_true").astype(np.float64)
    yp = as_float_array(y_pred, "y_pred").astype(np.float64)
    yt, yp = squeeze_or_expand_to_same_rank(yt, yp)
    if yt.shape != yp.shape:
        raise HaibalValueError(f"{what}: y_true shape {yt.shape} does not match y_pred shape {yp.shape}")
    return yt, yp


class Sum(Metric):
    """``keras.metrics.Sum``: the (weighted) sum of every value seen."""

    state_names = ("total",)

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total = np.float64(0.0)

    def update_state(self, values, sample_weight=None) -> None:
        v = as_float_array(values, "values").astype(np.float64)
        if sample_weight is not None:
            v = v * _weights_like(sample_weight, v)
        self.total = self.total + np.float64(v.sum())

    def result(self) -> float:
        return float(self.total)


class MeanTensor(Metric):
    """``tf.keras.metrics.MeanTensor``: the element-wise (weighted) mean of same-shaped tensors.

    ``shape`` fixes the expected shape; otherwise the first update does. Asking for the
    result before any update is an error, as in tf.keras.
    """

    state_names = ("total", "count")

    def __init__(self, name="mean_tensor", dtype=None, shape=None):
        self.shape = None if shape is None else tuple(int(s) for s in np.atleast_1d(shape))
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total = None
        self.count = None

    def update_state(self, values, sample_weight=None) -> None:
        v = as_float_array(values, "values").astype(np.float64)
        want = self.shape if self.total is None else self.total.shape
        if want is not None and v.shape != tuple(want):
            raise HaibalValueError(f"{self.name}: values must always have the shape {tuple(want)}, got {v.shape}")
        w = np.ones_like(v) if sample_weight is None else _weights_like(sample_weight, v)
        if self.total is None:
            self.total, self.count = np.zeros(v.shape), np.zeros(v.shape)
        self.total = self.total + v * w
        self.count = self.count + w

    def result(self) -> np.ndarray:
        if self.total is None:
            raise HaibalValueError(f"{self.name} has no result yet: call update_state(values) first")
        return divide_no_nan(self.total, self.count)

    def get_config(self) -> dict:
        return {**super().get_config(), "shape": None if self.shape is None else list(self.shape)}


class RootMeanSquaredError(Mean):
    """``keras.metrics.RootMeanSquaredError``: ``sqrt`` of the mean (per sample, then over samples)
    of ``square(y_pred - y_true)``."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self.name)
        self._accumulate(np.square(yp - yt), sample_weight, None)

    def result(self) -> float:
        return float(np.sqrt(self.total / self.count)) if self.count else 0.0


class MeanRelativeError(Mean):
    """``tf.keras.metrics.MeanRelativeError``: mean of ``abs(y_true - y_pred) / normalizer``
    (0 where the normalizer is 0); ``normalizer`` broadcasts to ``y_pred``."""

    def __init__(self, normalizer, name=None, dtype=None):
        self.normalizer = as_sample_weight(normalizer, "normalizer")
        super().__init__(name=name or "mean_relative_error", dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self.name)
        _, norm = squeeze_or_expand_to_same_rank(yp, self.normalizer)
        try:
            norm = np.broadcast_to(norm, yp.shape)
        except ValueError:
            raise HaibalValueError(f"{self.name}: normalizer shape {self.normalizer.shape} cannot be broadcast "
                                   f"to y_pred shape {yp.shape}") from None
        self._accumulate(divide_no_nan(np.abs(yt - yp), norm), sample_weight, None)

    def get_config(self) -> dict:
        return {**super().get_config(), "normalizer": self.normalizer.tolist()}


class R2Score(Metric):
    """``keras.metrics.R2Score``: the coefficient of determination per output column of 2-D
    inputs, aggregated by ``class_aggregation`` (``"uniform_average"``,
    ``"variance_weighted_average"`` or ``None`` for one score per column), adjusted for
    ``num_regressors`` when > 0. 0 before any sample.

    ``num_samples`` counts the samples (rows) with a non-zero weight for at least one output,
    as Keras does since its fix of August 2026 (#23334; Keras 3.15.1 still counted every
    element, so its adjusted score of a multi-output regression was wrong).
    """

    state_names = ("num_samples", "squared_sum", "sum", "total_mse", "count")
    AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in self.AGGREGATIONS:
            raise HaibalValueError(f"class_aggregation must be one of {list(self.AGGREGATIONS)}, "
                                   f"got {class_aggregation!r}")
        if not isinstance(num_regressors, (int, np.integer)) or isinstance(num_regressors, bool) or num_regressors < 0:
            raise HaibalValueError(f"num_regressors must be an integer >= 0, got {num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.sum = self.squared_sum = self.total_mse = self.count = None
        self.num_samples = np.float64(0.0)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt, yp = _pair(y_true, y_pred, self.name)
        if yp.ndim != 2:
            raise HaibalValueError(f"{self.name} expects 2-D inputs (batch_size, output_dim), got shape {yp.shape}")
        if self.sum is not None and yp.shape[1] != self.sum.shape[0]:
            raise HaibalValueError(f"{self.name}: y_pred has {yp.shape[1]} outputs but earlier batches had "
                                   f"{self.sum.shape[0]}")
        w = np.ones_like(yt) if sample_weight is None else _weights_like(sample_weight, yt)
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = (np.zeros(yp.shape[1]) for _ in range(4))
        wt = yt * w
        self.sum = self.sum + wt.sum(axis=0)
        self.squared_sum = self.squared_sum + (yt * wt).sum(axis=0)
        self.total_mse = self.total_mse + (np.square(yt - yp) * w).sum(axis=0)
        self.count = self.count + w.sum(axis=0)
        self.num_samples = self.num_samples + np.float64(np.count_nonzero((w != 0).any(axis=-1)))

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1.0 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            n, p = int(self.num_samples), self.num_regressors
            if p >= n - 1:
                warnings.warn(f"{self.name}: {p} regressors for {n} samples; falling back to the plain R2 score",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1) / (n - p - 1)
        return float(score) if np.ndim(score) == 0 else np.asarray(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
