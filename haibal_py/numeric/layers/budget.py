"""A budget for the weights one model build may allocate.

A graph from a file says ``units=1000000000`` as easily as ``units=10``: the Model node
builds its model inside ``weight_budget(limits, what)``, and every ``Layer.add_weight``
charges its weight's bytes BEFORE the initializer allocates it; the weights of the model
together stay within ``limits.max_value_bytes`` (a ``LimitError`` naming the layer, the
weight, its shape and how to raise the limit). Outside a budget (the Python API) nothing
is checked, as in Keras.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from ...files.limits import Limits, array_bytes

__all__ = ["weight_budget", "charge_weight"]

_BUDGET: ContextVar["_Budget | None"] = ContextVar("haibal_weight_budget", default=None)


class _Budget:
    def __init__(self, limits: Limits, what: str):
        self.limits, self.what, self.used = limits, what, 0

    def charge(self, owner: str, shape: tuple, dtype) -> None:
        self.used += array_bytes(shape, np.dtype(dtype).itemsize)
        self.limits.check("max_value_bytes", self.used,
                          f"{self.what}, counting its weights up to {owner} (shape {tuple(shape)}, {np.dtype(dtype).name}),")


@contextmanager
def weight_budget(limits: Limits, what: str):
    """Within the block, the weights created (``Layer.add_weight``) total at most
    ``limits.max_value_bytes``; ``what`` names the model in the error."""
    token = _BUDGET.set(_Budget(limits, what))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def charge_weight(owner: str, shape: tuple, dtype) -> None:
    """Count a weight about to be made against the current budget (none: nothing to check)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(owner, shape, dtype)
