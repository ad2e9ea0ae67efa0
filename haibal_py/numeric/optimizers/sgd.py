"""SGD, with optional (Nesterov) momentum: Keras 3's ``keras.optimizers.SGD``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, OptimizerError, check_real, keras_cast


class SGD(Optimizer):
    """Gradient descent: ``w -= lr * g``; with ``momentum``, ``m = momentum * m - lr * g``
    and ``w += m`` (or ``w += momentum * m - lr * g`` with ``nesterov``)."""

    default_learning_rate = 0.01
    hyperparameters = {"momentum": 0.0, "nesterov": False}
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        # Keras wants a Python float; an int in [0, 1] is taken too
        check_real("SGD", "momentum", self.momentum, low=0, high=1)
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise OptimizerError(f"SGD: `nesterov` must be a bool, got {self.nesterov!r}")

    @property
    def passes(self) -> int:
        return 2 if self.momentum == 0 else (6 if self.nesterov else 4)

    def slot_groups(self):
        return [("momentum",)] if self.momentum != 0 else []

    def _constants(self, dtype, lr):
        return lr, keras_cast(self.momentum, dtype)

    def _update(self, w, g, slots, scratch, k):
        lr, momentum = k
        a = scratch[0]
        np.multiply(g, lr, out=a)
        if not slots:
            w -= a
            return
        m = slots[0]
        m *= momentum
        m -= a
        if self.nesterov:
            b = scratch[1]
            np.multiply(m, momentum, out=b)
            b -= a
            w += b
        else:
            w += m
