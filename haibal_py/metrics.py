"""Metric functions and stateful ``Metric`` classes, under Keras' names and signatures."""

from __future__ import annotations

from .kernels.sparse_categorical import (
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from .metric_base import Mean, MeanMetricWrapper, Metric

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy",
]


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """``keras.metrics.SparseCategoricalCrossentropy``: mean loss over every sample seen."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         mask_fn=sparse_categorical_crossentropy_with_mask,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
