"""Where unseeded random draws come from: one process-wide NumPy generator.

Initializers, Dropout, GaussianNoise ... built without a ``seed`` draw from
``global_rng()``; ``set_random_seed(seed)`` (Keras' ``keras.utils.set_random_seed``)
makes every such draw of the process reproducible from that point on. A ``seed``
given to an object gives it its own generator and never touches this one.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..errors import HaibalValueError

__all__ = ["global_rng", "set_random_seed", "seeded", "check_seed"]

_STATE = {"rng": np.random.default_rng()}


def global_rng() -> np.random.Generator:
    """The generator that unseeded draws use."""
    return _STATE["rng"]


def set_random_seed(seed: int) -> None:
    """Re-seed the generator of unseeded draws (as ``keras.utils.set_random_seed``)."""
    _STATE["rng"] = np.random.default_rng(check_seed(seed, "seed", allow_none=False))


@contextmanager
def seeded(seed: int):
    """Unseeded draws inside the block come from a generator seeded with ``seed``; the
    process-wide generator is put back afterwards, unchanged (a node building a model
    gives the same initial weights on every run without re-seeding the process)."""
    previous = _STATE["rng"]
    _STATE["rng"] = np.random.default_rng(check_seed(seed, "seed", allow_none=False))
    try:
        yield _STATE["rng"]
    finally:
        _STATE["rng"] = previous


def check_seed(seed, name: str = "seed", allow_none: bool = True):
    """``seed`` if it is None (when allowed), a non-negative int or a ``np.random.Generator``."""
    if seed is None and allow_none:
        return None
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        return int(seed)
    raise HaibalValueError(f"{name} must be a non-negative int, a numpy Generator or None, got {seed!r}")
