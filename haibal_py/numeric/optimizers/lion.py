"""Lion: Keras 3's ``keras.optimizers.Lion`` (evolved sign momentum)."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, check_real, keras_cast


class Lion(Optimizer):
    """``w -= lr * sign(beta_1 m + (1 - beta_1) g)``, then ``m = beta_2 m + (1 - beta_2) g``."""

    hyperparameters = {"beta_1": 0.9, "beta_2": 0.99}
    passes = 10
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        # Keras: beta_1 in (0, 1], else the optimizer degenerates to SignSGD
        check_real("Lion", "beta_1", self.beta_1, low=0, high=1, low_open=True)
        check_real("Lion", "beta_2", self.beta_2, low=0, high=1)

    def slot_groups(self):
        return [("momentum",)]

    def _constants(self, dtype, lr):
        t = dtype.type
        beta_1, beta_2 = keras_cast(self.beta_1, dtype), keras_cast(self.beta_2, dtype)
        return lr, beta_1, t(1.0) - beta_1, beta_2, t(1.0) - beta_2

    def _update(self, w, g, slots, scratch, k):
        lr, beta_1, c1, beta_2, c2 = k
        m = slots[0]
        a, b = scratch
        np.multiply(m, beta_1, out=a)
        np.multiply(g, c1, out=b)
        a += b
        np.sign(a, out=a)
        a *= lr
        w -= a
        m *= beta_2
        np.multiply(g, c2, out=b)
        m += b
