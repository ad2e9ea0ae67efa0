"""Adagrad: Keras 3's ``keras.optimizers.Adagrad``."""

from __future__ import annotations

import numpy as np

from .base import Optimizer, check_real


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + epsilon)``, ``acc`` starting at
    ``initial_accumulator_value``."""

    hyperparameters = {"initial_accumulator_value": 0.1, "epsilon": 1e-7}
    passes = 9
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        check_real("Adagrad", "initial_accumulator_value", self.initial_accumulator_value, low=0)
        check_real("Adagrad", "epsilon", self.epsilon, low=0)

    def slot_groups(self):
        return [("accumulator",)]

    def slot_initial_value(self, slot):
        return self.initial_accumulator_value

    def _constants(self, dtype, lr):
        return lr, dtype.type(self.epsilon)

    def _update(self, w, g, slots, scratch, k):
        lr, eps = k
        acc = slots[0]
        a, b = scratch
        np.square(g, out=a)
        acc += a
        np.multiply(g, lr, out=a)
        np.add(acc, eps, out=b)
        np.sqrt(b, out=b)
        a /= b
        w -= a
