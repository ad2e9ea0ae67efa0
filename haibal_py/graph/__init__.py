"""The graph layer: the dataflow graph model, its analysis, its documents, templates.

``from haibal_py.graph import Graph`` is the entry point (``graph.model``). Beside it:
``algorithms`` (order, cycles), ``typecheck`` (static types), ``validation`` (every
problem at once), ``terminals`` (graph inputs/outputs, Constant), ``composite``
(templates and composite nodes), ``templates`` (snippets), ``subgraphs`` (collapse and
expand), ``document`` (graph and snippet documents).
"""

from .model import Graph, GraphNode
from .parts import Connection, GraphError, GraphValidationError, Problem
from .typecheck import TypeInfo

__all__ = ["Connection", "Graph", "GraphError", "GraphNode", "GraphValidationError", "Problem", "TypeInfo"]
