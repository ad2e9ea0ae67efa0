"""The node model: port types, nodes with polymorphic instances, the catalog, the factory.

``from haibal_py.node import Node, Port, Param, Instance`` is how a catalog declares nodes.
"""

from .base import (AUTOMATIC, NULL_CONTEXT, REQUIRED, HelpText, Instance, Node, Param, Port, RunContext,
                   Selection)
from .registry import CATALOG, register
from .types import ANY, Batches, Compat, PortType

__all__ = ["ANY", "AUTOMATIC", "CATALOG", "NULL_CONTEXT", "REQUIRED", "Batches", "Compat", "HelpText", "Instance",
           "Node", "Param", "Port", "PortType", "RunContext", "Selection", "register"]
