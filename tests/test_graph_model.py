"""The graph model's own contracts: transactions, adjacency, the public constructor, node
state saved with the graph, type-id aliases, the declared node hooks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from haibal_py import CATALOG, ParameterError
from haibal_py.graph import Graph, GraphError
from haibal_py.graph.parts import GraphParts, NodeSpec
from haibal_py.node import HelpText, Instance, Node, Param, Port, PortType, register
from haibal_py.runtime import Runtime

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


def small() -> Graph:
    g = Graph("small")
    yt = g.add_input("y_true", default=[1, 2], type="int[1]")
    yp = g.add_input("y_pred", default=[[.05, .95, 0], [.1, .8, .1]], type="float[2]")
    sc = g.add_node(SCCE)
    g.connect(yt, "value", sc, "y_true")
    g.connect(yp, "value", sc, "y_pred")
    g.connect(sc, "result", g.add_output("loss"), "value")
    return g


def test_a_failed_transaction_restores_everything():
    g = small()
    before, revision, log = g.to_dict(), g.revision, g.changes_since(0)[0]
    with pytest.raises(GraphError):
        with g.transaction():
            g.set_param("scc1", "from_logits", True)
            g.rename("scc1", "renamed")
            g.add_node(SCCE, id="extra")
            g.disconnect("y_true", "value", "scc1", "y_true")
            g.remove_node("loss")
            g.connect("nowhere", "value", "scc1", "y_true")  # fails: the whole block is undone
    assert g.to_dict() == before
    assert g.revision == revision and g.changes_since(0)[0] == log
    assert g.nodes["scc1"].node.values["from_logits"] is False and g.nodes["scc1"].name != "renamed"
    assert [str(c) for c in g.incoming("scc1")] == ["y_true.value -> scc1.y_true", "y_pred.value -> scc1.y_pred"]
    assert Runtime(g).run().ok


def test_a_runtime_that_synced_inside_a_rolled_back_transaction_resyncs():
    g = small()
    rt = Runtime(g)
    rt.run()
    with pytest.raises(RuntimeError):
        with g.transaction():
            g.set_param("scc1", "from_logits", True)
            rt.run()  # sees the change
            raise RuntimeError("abandon")
    res = rt.run()  # the graph is back: the runtime must not keep the abandoned values
    np.testing.assert_allclose(res.outputs["loss"], Runtime(small()).run().outputs["loss"])


def test_nested_transactions_roll_back_to_the_outermost():
    g = small()
    before = g.to_dict()
    with pytest.raises(ValueError):
        with g.transaction():
            with g.transaction():
                g.set_param("scc1", "axis", 0)
            raise ValueError
    assert g.to_dict() == before


def test_wires_are_kept_in_adjacency_maps():
    g = small()
    assert [c.dst for c in g.outgoing("y_true")] == ["scc1"]
    assert list(g.successors("scc1")) == ["loss"]
    g.remove_node("scc1")
    assert g.incoming("loss") == [] and g.outgoing("y_pred") == [] and g.connections == []


def test_a_20000_node_chain_is_built_and_validated():
    g = Graph()
    prev = g.add_input("x", default=[1.0], type="float[1]")
    for _ in range(20000):
        node = g.add_node("haibal.activations.ReLU")
        g.connect(prev, "value" if prev == "x" else "result", node, "x")
        prev = node
    assert g.validate() == []
    assert len(g.topological_order()[0]) == 20001


def test_from_parts_is_the_public_constructor_and_keeps_what_it_cannot_use():
    parts = GraphParts("p", nodes=[NodeSpec("a", "haibal.io.Constant", params={"value": 2.0}),
                                   NodeSpec("b", "no.such.Type", params={"k": 1}),
                                   NodeSpec("c", SCCE, params={"axis": "not an int"})])
    g = Graph.from_parts(parts)
    assert g.nodes["b"].node is None and g.nodes["b"].raw_params == {"k": 1}
    assert "axis" in g.nodes["c"].bad_params
    codes = {p.code for p in g.validate()}
    assert {"unknown-type", "bad-param"} <= codes
    assert g.to_parts().nodes[1].params == {"k": 1}  # saved back as read


class _Counter(Node):
    """A stateful node: counts its runs in its state, which the graph file keeps."""

    type_id = "test.state.Counter"
    category = "Math"
    display_name = "Counter"
    help = HelpText("Counts.")
    stateful = True
    outputs = (Port("count", PortType("int", 0, 0), "runs so far."),)

    def _count(self, values):
        n = int(self.state.get("runs", np.zeros((), np.int64))) + 1
        self.state = {"runs": np.array(n, np.int64), "weights": np.arange(100.0) * n}
        return {"count": n}

    instances = (Instance("count", {}, {"count": PortType("int", 0, 0)}, lambda node, values: node._count(values)),)


def test_node_state_is_saved_beside_the_graph_and_loaded_back(tmp_path):
    g = Graph.from_parts(GraphParts(), local_types={_Counter.type_id: _Counter})
    nid = g.add_node(_Counter.type_id)
    g.connect(nid, "count", g.add_output("n"), "value")
    rt = Runtime(g)
    assert rt.run().outputs["n"] == 1
    g.save(tmp_path / "g.json")
    doc = json.loads((tmp_path / "g.json").read_text())
    assert doc["nodes"][0]["state"] == {"runs": {"npz": f"{nid}/runs"}, "weights": {"npz": f"{nid}/weights"}}
    again = Graph.from_parts(Graph.load(tmp_path / "g.json").to_parts(), local_types={_Counter.type_id: _Counter})
    np.testing.assert_array_equal(again.nodes[nid].node.state["weights"], np.arange(100.0))
    assert Runtime(again).run().outputs["n"] == 2  # it went on from its saved state


def test_set_state_reruns_the_node_and_refuses_what_is_not_arrays():
    g = Graph.from_parts(GraphParts(), local_types={_Counter.type_id: _Counter})
    nid = g.add_node(_Counter.type_id)
    g.connect(nid, "count", g.add_output("n"), "value")
    rt = Runtime(g)
    rt.run()
    assert rt.run().ran == []
    g.set_state(nid, {"runs": np.array(10)})
    res = rt.run()
    assert res.ran == [nid, "n"] and res.outputs["n"] == 11
    with pytest.raises(ParameterError, match="named numeric array"):
        g.set_state(nid, {"runs": np.array(["a"])})
    with pytest.raises(ParameterError, match="keeps no state"):
        g.set_state(g.add_node("haibal.io.Constant"), {"x": np.zeros(2)})


def test_a_renamed_node_type_still_loads_old_files_and_saves_its_new_id():
    @register
    class Scale(Node):
        type_id = "test.alias.Scale2"
        replaces = ("test.alias.Scale",)
        category = "Plug-ins (tests)"
        display_name = "Scale"
        help = HelpText("Scales.")
        inputs = (Port("x", PortType("float"), "the value."),)
        outputs = (Port("y", PortType("float"), "scaled."),)
        params = (Param("k", "float", 2.0, "the factor."),)
        instances = (Instance("any", {"x": PortType("float")}, {"y": PortType("float")},
                              lambda node, v: {"y": np.asarray(v["x"]) * node["k"]}),)

    old = {"format": "haibal-graph", "version": 1,
           "nodes": [{"id": "x", "type": "haibal.io.GraphInput", "name": "x",
                      "params": {"type": "float[1]", "default": [1.0, 2.0]}},
                     {"id": "s", "type": "test.alias.Scale", "params": {"k": 3.0}},
                     {"id": "y", "type": "haibal.io.GraphOutput", "name": "y"}],
           "connections": [{"from": ["x", "value"], "to": ["s", "x"]}, {"from": ["s", "y"], "to": ["y", "value"]}]}
    g = Graph.from_dict(old)
    assert g.nodes["s"].type_id == "test.alias.Scale2" and "test.alias.Scale" in CATALOG
    np.testing.assert_allclose(Runtime(g).run().outputs["y"], [3.0, 6.0])
    assert g.to_dict()["nodes"][1]["type"] == "test.alias.Scale2"
    with pytest.raises(ValueError, match="taken"):
        register(type("Other", (Scale,), {"type_id": "test.alias.Scale"}))


def test_a_float_to_int_wire_is_marked_lossy():
    g = Graph()
    x = g.add_input("labels", default=[1.0, 2.0], type="float[1]")
    yp = g.add_input("y_pred", default=[[.05, .95, 0], [.1, .8, .1]], type="float[2]")
    sc = g.add_node(SCCE)
    g.connect(x, "value", sc, "y_true")
    g.connect(yp, "value", sc, "y_pred")
    wire = next(c for c in g.connections if c.dst_port == "y_true")
    compat = g.port_types().wires[wire]
    assert compat.ok and compat.coerced and compat.lossy and "integral" in compat.reason
