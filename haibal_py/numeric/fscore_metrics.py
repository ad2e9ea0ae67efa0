"""F-scores (Keras' ``FBetaScore`` and ``F1Score``) over 2-D ``(batch, classes)`` inputs."""

from __future__ import annotations

import numpy as np

from .arrays import as_float_array, as_sample_weight
from ..errors import HaibalValueError
from .kernels.blocks import EPSILON
from .metric_base import Metric

__all__ = ["FBetaScore", "F1Score"]


class FBetaScore(Metric):
    """``keras.metrics.FBetaScore``: ``(1 + b^2) p r / (b^2 p + r)`` per class.

    ``threshold``: predictions above it are 1; ``None``: the row's maximum is 1 (unless it
    is 0). ``average``: ``None`` (one score per class), ``"micro"`` (global counts),
    ``"macro"`` (mean of the class scores) or ``"weighted"`` (by class support).
    The result is 0 before any sample. ``beta`` and ``threshold`` must be floats, as in Keras.
    State: Keras' ``true_positives``, ``false_positives``, ``false_negatives`` and
    ``intermediate_weights`` (built at the first update, when the number of classes is known).
    """

    state_names = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")
    AVERAGES = (None, "micro", "macro", "weighted")

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in self.AVERAGES:
            raise HaibalValueError(f"average must be one of {list(self.AVERAGES)}, got {average!r}")
        if not isinstance(beta, (float, np.floating)):  # as Keras: 2 is refused, 2.0 is a beta
            raise HaibalValueError(f"beta must be a float (e.g. 2.0), got {beta!r} of type {type(beta).__name__}")
        if not beta > 0:
            raise HaibalValueError(f"beta must be a float > 0, got {beta!r}")
        if threshold is not None:
            if not isinstance(threshold, (float, np.floating)):
                raise HaibalValueError(f"threshold must be a float (e.g. 0.5) or None, got {threshold!r} of type "
                                       f"{type(threshold).__name__}")
            if not 0.0 < threshold <= 1.0:
                raise HaibalValueError(f"threshold must be a float with 0 < threshold <= 1, got {threshold!r}")
        self.average, self.beta = average, float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        yt = as_float_array(y_true, "y_true").astype(np.float64)
        yp = as_float_array(y_pred, "y_pred").astype(np.float64)
        if yp.ndim != 2 or yt.ndim != 2:
            raise HaibalValueError(f"{self.name} expects 2-D inputs (batch_size, output_dim), got y_true shape "
                                   f"{yt.shape} and y_pred shape {yp.shape}")
        if yt.shape != yp.shape:
            raise HaibalValueError(f"{self.name}: y_true shape {yt.shape} does not match y_pred shape {yp.shape}")
        if self.intermediate_weights is not None and self.average != "micro" \
                and self.intermediate_weights.shape[0] != yp.shape[1]:
            raise HaibalValueError(f"{self.name}: y_pred has {yp.shape[1]} classes but earlier batches had "
                                   f"{self.intermediate_weights.shape[0]}")
        if self.threshold is None:
            pred = (yp >= yp.max(axis=-1, keepdims=True)) & (np.abs(yp) > 1e-9) if yp.shape[1] else yp > 0
        else:
            pred = yp > self.threshold
        pred = pred.astype(np.float64)
        w = None
        if sample_weight is not None:
            w = as_sample_weight(sample_weight).reshape(-1)
            if w.size == 1:
                w = np.full(yp.shape[0], w[0])
            if w.shape != (yp.shape[0],):
                raise HaibalValueError(f"{self.name}: sample_weight needs one weight per sample ({yp.shape[0]}), "
                                       f"got shape {np.shape(sample_weight)}")
            w = w[:, None]
        axis = None if self.average == "micro" else 0

        def wsum(v):
            return (v if w is None else v * w).sum(axis=axis)

        parts = (wsum(pred * yt), wsum(pred * (1 - yt)), wsum((1 - pred) * yt), wsum(yt))
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, self.intermediate_weights = parts
        else:
            self.true_positives = self.true_positives + parts[0]
            self.false_positives = self.false_positives + parts[1]
            self.false_negatives = self.false_negatives + parts[2]
            self.intermediate_weights = self.intermediate_weights + parts[3]

    def result(self):
        if self.true_positives is None:
            return 0.0
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * (precision * recall) / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            score = (score * weights).sum()
        elif self.average is not None:
            score = np.mean(score)
        return float(score) if np.ndim(score) == 0 else np.asarray(score)

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """``keras.metrics.F1Score``: the F-beta score with ``beta = 1``."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config
