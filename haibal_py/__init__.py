"""haibal-py: HAIBAL-style polymorphic dataflow nodes over a NumPy core.

The headless core, in layers (``docs/architecture.md``): ``numeric`` (Keras in NumPy),
``node`` (the node model and catalog), ``graph`` (graphs, templates), ``files`` (documents
on disk), ``runtime`` (running graphs), ``cli``. It never imports Qt; the editor lives in
``haibal_py.gui``. Keras-style modules (``haibal_py.losses``, ``metrics``, ``activations``
...) re-export the numeric layer.
"""

from .errors import HaibalError, HaibalValueError, LayerError, ParameterError, PortTypeError, UnknownNodeTypeError
from .node.registry import CATALOG, register
from .node.types import Batches, PortType
from . import runtime as _runtime  # noqa: F401  (installs how composite nodes run outside a runtime)

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
