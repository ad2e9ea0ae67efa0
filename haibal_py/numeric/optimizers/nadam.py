"""Nadam: Keras 3's ``keras.optimizers.Nadam`` (Adam with Nesterov momentum)."""

from __future__ import annotations

import numpy as np

from .adam import check_betas, update_moments
from .base import Optimizer, keras_cast


class Nadam(Optimizer):
    """Adam with Dozat's Nesterov momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96**t)``;
    ``u_product`` (the product of the ``u_t``, in the first weight's dtype as in Keras) is
    optimizer state."""

    hyperparameters = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
    passes = 18
    reads_weight = False

    def _check_hyperparameters(self) -> None:
        check_betas("Nadam", self.beta_1, self.beta_2, self.epsilon)

    def slot_groups(self):
        return [("momentum", "velocity")]

    def _build_extra(self, weights):
        dtype = weights[0].dtype if weights else np.dtype(np.float32)
        return {"u_product": np.ones((), dtype=dtype)}

    def _before_update(self):
        u = self._extra["u_product"]
        t = u.dtype.type
        step = t(self.iterations + 1)
        u[()] = u[()] * t(self.beta_1) * (t(1.0) - t(0.5) * t(0.96) ** step)

    def _constants(self, dtype, lr):
        t = dtype.type
        one = t(1.0)
        half = t(0.5)
        decay = keras_cast(0.96, dtype)
        beta_1, beta_2 = keras_cast(self.beta_1, dtype), keras_cast(self.beta_2, dtype)
        local_step, next_step = t(self.iterations + 1), t(self.iterations + 2)
        u_t = beta_1 * (one - half * decay ** local_step)
        u_t_1 = beta_1 * (one - half * decay ** next_step)
        u_product_t = t(self._extra["u_product"][()])
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = beta_2 ** local_step
        return (lr, one - beta_1, one - beta_2, u_t_1, one - u_product_t_1, one - u_t, one - u_product_t,
                one - beta_2_power, t(self.epsilon))

    def _update(self, w, g, slots, scratch, k):
        lr, c1, c2, u_t_1, den_m, one_minus_u_t, den_g, den_v, eps = k
        m, v = slots
        a, b = scratch
        update_moments(g, m, v, c1, c2, a)
        np.multiply(m, u_t_1, out=a)
        a /= den_m
        np.multiply(g, one_minus_u_t, out=b)
        b /= den_g
        a += b  # m_hat
        np.divide(v, den_v, out=b)
        np.sqrt(b, out=b)
        b += eps
        a *= lr
        a /= b
        w -= a
