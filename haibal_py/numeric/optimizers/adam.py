"""Adam (and AMSGrad): Keras 3's ``keras.optimizers.Adam``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, OptimizerError, check_real, keras_cast


def update_moments(g, m, v, c1, c2, scratch) -> None:
    """Adam's (and Nadam's) moments, in place and in Keras' order of operations:
    ``m += (g - m) * c1``, ``v += (g * g - v) * c2`` (``c = 1 - beta``)."""
    np.subtract(g, m, out=scratch)
    scratch *= c1
    m += scratch
    np.square(g, out=scratch)
    scratch -= v
    scratch *= c2
    v += scratch


def check_betas(owner: str, beta_1, beta_2, epsilon) -> None:
    check_real(owner, "beta_1", beta_1, low=0, high=1, high_open=True)
    check_real(owner, "beta_2", beta_2, low=0, high=1, high_open=True)
    check_real(owner, "epsilon", epsilon, low=0)


class Adam(Optimizer):
    """``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)`` and
    ``w -= m * alpha / (sqrt(v) + epsilon)`` with Keras 3's
    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``; ``amsgrad`` uses the running
    maximum of ``v``."""

    hyperparameters = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False}
    reads_weight = False

    @property
    def passes(self) -> int:
        return 15 if self.amsgrad else 14

    def _check_hyperparameters(self) -> None:
        check_betas(type(self).__name__, self.beta_1, self.beta_2, self.epsilon)
        if not isinstance(self.amsgrad, (bool, np.bool_)):
            raise OptimizerError(f"{type(self).__name__}: `amsgrad` must be a bool, got {self.amsgrad!r}")

    def slot_groups(self):
        return [("momentum", "velocity")] + ([("velocity_hat",)] if self.amsgrad else [])

    def _constants(self, dtype, lr):
        t = dtype.type(self.iterations + 1)
        one = dtype.type(1)
        beta_1_power = keras_cast(self.beta_1, dtype) ** t
        beta_2_power = keras_cast(self.beta_2, dtype) ** t
        alpha = lr * np.sqrt(one - beta_2_power) / (one - beta_1_power)
        return dtype.type(1 - self.beta_1), dtype.type(1 - self.beta_2), alpha, dtype.type(self.epsilon)

    def _update(self, w, g, slots, scratch, k):
        c1, c2, alpha, eps = k
        m, v = slots[0], slots[1]
        a, b = scratch
        update_moments(g, m, v, c1, c2, a)
        if self.amsgrad:
            v_hat = slots[2]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=a)
        a += eps
        np.multiply(m, alpha, out=b)
        b /= a
        w -= b
