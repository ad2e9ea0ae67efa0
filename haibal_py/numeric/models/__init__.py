"""Models: the functional ``Model`` and ``Sequential``, their summary and weights files."""

from .functional import Functional, Model  # noqa: F401
from .sequential import Sequential  # noqa: F401

__all__ = ["Model", "Functional", "Sequential"]
