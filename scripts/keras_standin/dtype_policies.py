"""``keras.dtype_policies``: reading the global policy gives floatx; setting another one, or
building a ``DTypePolicy``, is not claimed (haibal-py has no dtype policies)."""

from types import SimpleNamespace

from . import backend
from .not_claimed import NotClaimed, refuse


def _current():
    return backend.floatx()


def _set(policy):
    if policy != backend.floatx():
        raise NotClaimed("dtype_policy", f"keras.config.set_dtype_policy({policy!r})")


dtype_policy = SimpleNamespace(dtype_policy=_current, set_dtype_policy=_set)
DTypePolicy = refuse("dtype_policy", "keras.DTypePolicy")
