"""``haibal_py.subgraphs``: collapsed subgraphs, the public API (implemented in
``haibal_py.graph.subgraphs``): collapse a selection into one node, expand it back."""

from .graph.subgraphs import (SUBGRAPH_PREFIX, SubgraphError, collapse, define_subgraph, expand,  # noqa: F401
                              free_name, is_subgraph, redefine, subgraph_of, type_id_for)

__all__ = ["SUBGRAPH_PREFIX", "SubgraphError", "collapse", "expand", "define_subgraph", "free_name", "is_subgraph",
           "subgraph_of", "redefine", "type_id_for"]
