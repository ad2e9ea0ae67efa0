"""Models: the functional ``Model`` and ``Sequential``, their summary, weights files and training."""

from .compile_utils import CompileError  # noqa: F401
from .data import DataError  # noqa: F401
from .functional import Functional, Model  # noqa: F401
from .sequential import Sequential  # noqa: F401
from .training import TrainingError  # noqa: F401

__all__ = ["Model", "Functional", "Sequential", "CompileError", "DataError", "TrainingError"]
