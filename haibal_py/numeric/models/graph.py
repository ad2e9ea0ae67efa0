"""The call graph of a functional model: which nodes run, in which order, and its layers.

``walk_calls(outputs)`` walks the recorded layer calls (``symbolic.Node``) back from the
outputs, depth-first: every call after the calls it reads from, the one walk of a symbolic
graph in the project (the Model node's wires use it too). ``map_graph(inputs, outputs)``
walks it stopping at the declared inputs. As Keras does, the
depth of a node is the longest path from it to an output; layers are listed by
decreasing depth and, within a depth, in the order the walk first met them, which is
Keras' ``model.layers`` order. It refuses cycles, disconnected graphs and two layers
sharing a name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, Sequence

from ...errors import LayerError
from ..layers.symbolic import Node, SymbolicTensor

__all__ = ["GraphMap", "CallWalk", "map_graph", "walk_calls"]


@dataclass
class GraphMap:
    """What a functional model needs to know about its graph."""

    nodes: list[Node]                     # the nodes to run, inputs first (no InputLayer nodes)
    network_nodes: set[int]               # id() of every node of the model, InputLayer nodes included
    nodes_by_depth: dict[int, list[Node]]
    layers: list                          # Keras' model.layers order (InputLayers included)


class CallWalk(NamedTuple):
    """What ``walk_calls`` found."""

    nodes: list[Node]   # every call after the calls it reads from (Inputs first met, first)
    layers: list        # the layers of those calls, in the order the walk first met them


def walk_calls(outputs: Sequence[SymbolicTensor], stop_at: Sequence[SymbolicTensor] = ()) -> CallWalk:
    """The layer calls ``outputs`` depend on, depth-first from the first output; the walk does
    not go past a tensor of ``stop_at`` that a layer (not an Input) made: an intermediate
    tensor declared as a model input, where the graph starts. LayerError on a tensor no
    Input or layer made, and on a cycle."""
    stop = {id(t) for t in stop_at}
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    layers: list = []
    met: set[int] = set()

    def visit(tensor: SymbolicTensor):
        node = tensor.node
        if node is None:
            raise LayerError(f"the tensor {tensor.name} was not made by an Input or a layer")
        if id(node) in finished:
            return
        if not node.is_input and id(tensor) in stop:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise LayerError(f"the tensor {tensor.name} of layer {node.layer.name!r} is part of a cycle")
        if id(node.layer) not in met:
            met.add(id(node.layer))
            layers.append(node.layer)
        in_progress.add(id(node))
        for t in node.all_inputs:
            visit(t)
        in_progress.discard(id(node))
        finished.add(id(node))
        ordered.append(node)

    for out in outputs:
        visit(out)
    return CallWalk(ordered, layers)


def map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> GraphMap:
    """The nodes, depths and layers of the graph from ``inputs`` to ``outputs``."""
    ordered, met = walk_calls(outputs, stop_at=inputs)
    layer_index = {id(layer): i for i, layer in enumerate(met)}     # id(layer) -> first traversal index
    layers_by_id = {id(layer): layer for layer in met}
    in_graph = {id(n) for n in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    nodes_by_id = {id(n): n for n in ordered}
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    # declared inputs that no output depends on still belong to the model (Keras keeps them)
    for t in inputs:
        node = t.node
        if node is not None and node.is_input and id(node.layer) not in layer_depth:
            layer_depth[id(node.layer)] = 0
            layer_index[id(node.layer)] = -1
            layers_by_id[id(node.layer)] = node.layer
            node_depth[id(node)] = 0
            nodes_by_id[id(node)] = node
    nodes_by_depth: dict[int, list[Node]] = defaultdict(list)
    for nid, depth in node_depth.items():
        nodes_by_depth[depth].append(nodes_by_id[nid])
    layers_by_depth: dict[int, list] = defaultdict(list)
    for lid, depth in layer_depth.items():
        layers_by_depth[depth].append(layers_by_id[lid])
    layers = []
    for depth in sorted(layers_by_depth, reverse=True):
        layers.extend(sorted(layers_by_depth[depth], key=lambda layer: layer_index[id(layer)]))

    # every tensor a node reads must come from the inputs or an earlier node
    computable = {id(t) for t in inputs}
    run: list[Node] = []
    done_layers: list[str] = []
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            for t in node.all_inputs:
                if id(t) not in computable:
                    raise LayerError(f"graph disconnected: the input {t.name} of layer {node.layer.name!r} "
                                     f"cannot be computed from the model's inputs (layers reached without "
                                     f"trouble: {', '.join(done_layers) or 'none'})")
            if node.is_input and not any(id(o) in computable for o in node.outputs):
                raise LayerError(f"graph disconnected: the input layer {node.layer.name!r} feeds the outputs "
                                 f"but is not among the model's inputs")
            done_layers.append(node.layer.name)
            if not node.is_input:
                run.append(node)
            computable.update(id(o) for o in node.outputs)
    for t in outputs:
        if id(t) not in computable:
            raise LayerError(f"graph disconnected: the output {t.name} cannot be computed from the model's inputs")
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) > 1:
            raise LayerError(f"the name {name!r} is used {names.count(name)} times in the model; "
                             f"layer names must be unique")
    network = {id(n) for n in nodes_by_id.values()}
    return GraphMap(run, network, dict(nodes_by_depth), layers)
