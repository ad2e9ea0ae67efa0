"""Adadelta: Keras 3's ``keras.optimizers.Adadelta``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, check_real


class Adadelta(Optimizer):
    """``E[g²] = rho E[g²] + (1 - rho) g²``; ``d = -sqrt(E[d²] + eps) g / sqrt(E[g²] + eps)``;
    ``E[d²] = rho E[d²] + (1 - rho) d²``; ``w += lr * d``."""

    hyperparameters = {"rho": 0.95, "epsilon": 1e-7}
    passes = 23
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        check_real("Adadelta", "rho", self.rho, low=0, high=1)
        check_real("Adadelta", "epsilon", self.epsilon, low=0)

    def slot_groups(self):
        return [("accumulated_grad", "accumulated_delta_var")]

    def _constants(self, dtype, lr):
        t = dtype.type
        return lr, t(self.rho), t(1 - self.rho), t(self.epsilon)

    def _update(self, w, g, slots, scratch, k):
        lr, rho, one_minus_rho, eps = k
        acc_grad, acc_delta = slots
        a, b = scratch
        acc_grad *= rho
        np.square(g, out=a)
        a *= one_minus_rho
        acc_grad += a
        np.add(acc_delta, eps, out=a)
        np.sqrt(a, out=a)
        a *= g
        np.add(acc_grad, eps, out=b)
        np.sqrt(b, out=b)
        a /= b
        np.negative(a, out=a)  # a = delta
        acc_delta *= rho
        np.square(a, out=b)
        b *= one_minus_rho
        acc_delta += b
        a *= lr
        w += a
