"""AdamW: Keras 3's ``keras.optimizers.AdamW`` (Adam with decoupled weight decay)."""

from __future__ import annotations

from .adam import Adam
from .base import OptimizerError


class AdamW(Adam):
    """Adam, with ``w -= w * weight_decay * lr`` before each update (``weight_decay``
    defaults to 0.004 and must be set)."""

    hyperparameters = {"weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}

    def _check_hyperparameters(self) -> None:
        if self.weight_decay is None:
            raise OptimizerError("AdamW: argument `weight_decay` must be a float. Received: weight_decay=None")
        super()._check_hyperparameters()
