"""Adamax: Keras 3's ``keras.optimizers.Adamax`` (Adam with the infinity norm)."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, check_real, keras_cast


class Adamax(Optimizer):
    """``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``."""

    hyperparameters = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    passes = 11
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        check_real("Adamax", "beta_1", self.beta_1, low=0, high=1, high_open=True)
        check_real("Adamax", "beta_2", self.beta_2, low=0, high=1)
        check_real("Adamax", "epsilon", self.epsilon, low=0)

    def slot_groups(self):
        return [("momentum", "norm")]

    def _constants(self, dtype, lr):
        t = dtype.type
        beta_1_power = keras_cast(self.beta_1, dtype) ** t(self.iterations + 1)
        return lr, t(1 - self.beta_1), t(self.beta_2), t(self.epsilon), t(1) - beta_1_power

    def _update(self, w, g, slots, scratch, k):
        lr, c1, beta_2, eps, bias = k
        m, u = slots
        a, b = scratch
        np.subtract(g, m, out=a)
        a *= c1
        m += a
        u *= beta_2
        np.abs(g, out=a)
        np.maximum(u, a, out=u)
        np.multiply(m, lr, out=a)
        np.add(u, eps, out=b)
        b *= bias
        a /= b
        w -= a
