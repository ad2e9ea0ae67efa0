"""haibal-py: HAIBAL-style polymorphic dataflow nodes over a NumPy core.

The headless core: NumPy kernels (``losses``, ``metrics``), the node model
(``node``, ``types``, ``registry``) and, later, graphs and their runtime. It never
imports Qt; the editor lives in ``haibal_py.gui``.
"""

from .errors import HaibalError, HaibalValueError, LayerError, ParameterError, PortTypeError, UnknownNodeTypeError
from .registry import CATALOG, register
from .types import Batches, PortType

__version__ = "0.1.0"

__all__ = [
    "CATALOG",
    "Batches",
    "HaibalError",
    "HaibalValueError",
    "LayerError",
    "ParameterError",
    "PortType",
    "PortTypeError",
    "UnknownNodeTypeError",
    "register",
]
