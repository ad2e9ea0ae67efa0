"""Loss functions and ``Loss`` classes, under Keras' names and signatures."""

from __future__ import annotations

from .kernels.sparse_categorical import (
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from .loss_base import Loss, LossFunctionWrapper, reduce_weighted

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "reduce_weighted",
    "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy",
]


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """``keras.losses.SparseCategoricalCrossentropy``: integer labels, reduced loss.

    With ``ignore_class``, ignored positions are left out of the mean.
    """

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         mask_fn=sparse_categorical_crossentropy_with_mask,
                         from_logits=from_logits, axis=axis, ignore_class=ignore_class)
