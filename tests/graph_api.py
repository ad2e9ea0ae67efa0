"""A Keras-like API that writes graphs of layer nodes: ``tests/example_models.py`` builders
(written for Keras and haibal_py's Python API) build the same models as node graphs.

``api = GraphAPI(name)``; ``api.Input(shape, name=...)``, ``api.layers.Conv2D(16, 3, ...)``
(called on the handles of model wires), ``api.Sequential([...], name=...)`` and
``api.Model(inputs, outputs, name=...)`` add nodes to ``api.graph`` and wire them; the two
last return the Model node's id. Keras arguments become node parameters through the layer
nodes' own argument table (``KerasArg.shown``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import haibal_py.nodes  # noqa: F401
from haibal_py.graph.model import Graph
from haibal_py.nodes._layer_decl import declaration


@dataclass(frozen=True)
class Wire:
    node: str
    port: str = "y"


class _LayerCall:
    def __init__(self, api: "GraphAPI", class_name: str, args: tuple, kwargs: dict):
        decl = declaration(class_name)
        signature = inspect.signature((decl.defaults_from or decl.layer).__init__)
        bound = signature.bind_partial(None, *args, **kwargs).arguments
        bound.pop(next(iter(signature.parameters)))  # self
        extra = bound.pop("kwargs", {})
        bound.update(extra)
        self.api, self.decl = api, decl
        self.name = bound.pop("name", None)
        specs = dict(decl.arg_specs())
        self.params = {k: specs[k].shown(v) for k, v in bound.items()}

    def __call__(self, x):
        api, decl = self.api, self.decl
        node = api.graph.add_node(f"haibal.layers.{decl.name}", self.name, self.params, pos=api.next_pos())
        if decl.ports == "merge":
            for port, wire in zip(("x1", "x2", "x3", "x4"), x):
                api.graph.connect(wire.node, wire.port, node, port)
        else:
            api.graph.connect(x.node, x.port, node, "x")
        return Wire(node)


class _Layers:
    def __init__(self, api: "GraphAPI"):
        self._api = api

    def __getattr__(self, class_name: str):
        return lambda *args, **kwargs: _LayerCall(self._api, class_name, args, kwargs)


class GraphAPI:
    def __init__(self, name: str = "graph"):
        self.graph = Graph(name=name)
        self.layers = _Layers(self)
        self._x = 0.0

    def next_pos(self):
        self._x += 200.0
        return (self._x, 0.0)

    def Input(self, shape, name=None, dtype=None):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        params = {"shape": ", ".join("None" if d is None else str(d) for d in shape)}
        if dtype is not None:
            params["dtype"] = dtype
        return Wire(self.graph.add_node("haibal.layers.Input", name, params, pos=self.next_pos()))

    def _model(self, outputs, name, model_class):
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        node = self.graph.add_node("haibal.model.Model", name, {"model_class": model_class},
                                   pos=self.next_pos())
        for port, wire in zip(("outputs", "outputs_2", "outputs_3"), outputs):
            self.graph.connect(wire.node, wire.port, node, port)
        return node

    def Sequential(self, items, name=None):
        x = items[0]
        for layer in items[1:]:
            x = layer(x)
        return self._model(x, name, "Sequential")

    def Model(self, inputs, outputs, name=None):
        return self._model(outputs, name, "Functional")
