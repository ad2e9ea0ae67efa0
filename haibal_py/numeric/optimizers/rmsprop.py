"""RMSprop: Keras 3's ``keras.optimizers.RMSprop``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, OptimizerError, check_real


class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + epsilon)`` (with
    ``centered``, ``v - mean(g)**2`` under the root; with ``momentum``, the increment goes
    through ``m = momentum * m + increment``)."""

    hyperparameters = {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}
    reads_weight = False

    @property
    def passes(self) -> int:
        return 11 + (5 if self.centered else 0) + (2 if self.momentum > 0 else 0)

    def _check_hyperparameters(self) -> None:
        check_real("RMSprop", "rho", self.rho, low=0, high=1)
        check_real("RMSprop", "momentum", self.momentum, low=0)
        check_real("RMSprop", "epsilon", self.epsilon, low=0)
        if not isinstance(self.centered, (bool, np.bool_)):
            raise OptimizerError(f"RMSprop: `centered` must be a bool, got {self.centered!r}")

    def slot_groups(self):
        groups = [("velocity",)]
        if self.momentum > 0:
            groups.append(("momentum",))
        if self.centered:
            groups.append(("average_gradient",))
        return groups

    def _constants(self, dtype, lr):
        t = dtype.type
        return lr, t(self.rho), t(1 - self.rho), t(self.epsilon), t(self.momentum)

    def _update(self, w, g, slots, scratch, k):
        lr, rho, one_minus_rho, eps, momentum = k
        velocity = slots[0]
        a, b = scratch
        velocity *= rho
        np.square(g, out=a)
        a *= one_minus_rho
        velocity += a
        if self.centered:
            average = slots[-1]
            average *= rho
            np.multiply(g, one_minus_rho, out=a)
            average += a
            np.square(average, out=b)
            np.subtract(velocity, b, out=b)
            b += eps
        else:
            np.add(velocity, eps, out=b)
        np.multiply(g, lr, out=a)
        np.sqrt(b, out=b)
        a /= b
        if self.momentum > 0:
            m = slots[1]
            m *= momentum
            m += a
            w -= m
        else:
            w -= a
