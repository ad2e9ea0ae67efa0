"""FTRL-Proximal: Keras 3's ``keras.optimizers.Ftrl``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, check_real


class Ftrl(Optimizer):
    """Follow The Regularized Leader (McMahan et al., 2013) with L1, L2 and L2-shrinkage
    regularization, as Keras 3 computes it (``w`` is set from the ``linear`` slot)."""

    hyperparameters = {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1,
                       "l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0,
                       "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0}
    passes = 24
    n_scratch = 4

    def _check_hyperparameters(self) -> None:
        check_real("Ftrl", "learning_rate_power", self.learning_rate_power, high=0)
        for arg in ("initial_accumulator_value", "l1_regularization_strength", "l2_regularization_strength",
                    "l2_shrinkage_regularization_strength", "beta"):
            check_real("Ftrl", arg, getattr(self, arg), low=0)

    def slot_groups(self):
        return [("accumulator", "linear")]

    def slot_initial_value(self, slot):
        return self.initial_accumulator_value if slot == "accumulator" else 0.0

    def _constants(self, dtype, lr):
        t = dtype.type
        l2_reg = t(self.l2_regularization_strength) + t(self.beta) / (t(2.0) * lr)
        l1 = t(self.l1_regularization_strength)
        return (lr, t(-self.learning_rate_power), t(2 * self.l2_shrinkage_regularization_strength),
                t(2) * l2_reg, -l1, l1)

    def _update(self, w, g, slots, scratch, k):
        lr, power, shrinkage, two_l2_reg, low, high = k
        accum, linear = slots
        a, b, c, d = scratch
        np.multiply(w, shrinkage, out=a)
        np.add(g, a, out=a)  # grad_to_use
        np.square(g, out=b)
        np.add(accum, b, out=b)  # new_accum
        np.power(b, power, out=c)
        np.power(accum, power, out=d)
        np.subtract(c, d, out=d)
        d /= lr
        d *= w
        a -= d
        linear += a
        c /= lr
        c += two_l2_reg  # quadratic
        np.clip(linear, low, high, out=d)
        d -= linear
        d /= c
        w[...] = d
        accum[...] = b
