"""The graph model: building, stable ids, validation (every problem), static types."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py.errors import HaibalError, ParameterError, UnknownNodeTypeError
from haibal_py.graph import Connection, Graph, GraphError, GraphValidationError
from haibal_py.node.types import PortType

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


def scce_graph(instance: str = "automatic", y_true_type: str = "int[1]", y_pred_type: str = "float[2]") -> Graph:
    g = Graph("scce")
    g.add_input("y_true", default=[1, 2], type=y_true_type)
    g.add_input("y_pred", default=[[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], type=y_pred_type)
    loss = g.add_node(SCCE, instance=instance)
    g.connect("y_true", "value", loss, "y_true")
    g.connect("y_pred", "value", loss, "y_pred")
    g.connect(loss, "result", g.add_output("loss"), "value")
    return g


def codes(problems):
    return sorted(p.code for p in problems)


def test_ids_are_stable_strings_from_the_type_name():
    g = Graph()
    assert g.add_node(SCCE) == "scc1"
    assert g.add_node(SCCE) == "scc2"
    g.remove_node("scc1")
    assert g.add_node(SCCE) == "scc1"
    assert g.add_node("haibal.io.RandomSource") == "rs1"
    assert g.add_node(SCCE, id="my_loss") == "my_loss"
    with pytest.raises(GraphError, match="already used"):
        g.add_node(SCCE, id="my_loss")
    with pytest.raises(GraphError, match="node id"):
        g.add_node(SCCE, id="has space")


def test_terminals_are_nodes_named_by_their_terminal_name():
    g = scce_graph()
    assert g.inputs == {"y_true": "y_true", "y_pred": "y_pred"}
    assert g.outputs == {"loss": "loss"}
    assert g["y_true"].type_id == "haibal.io.GraphInput"
    with pytest.raises(GraphError, match="already has an input named 'y_true'"):
        g.add_input("y_true", id="other")
    g.rename("loss", "per_sample")
    assert g.outputs == {"per_sample": "loss"}


def test_a_valid_graph_has_no_problem():
    assert scce_graph().validate() == []


def test_edits_fail_at_once_on_unknown_names():
    g = scce_graph()
    with pytest.raises(UnknownNodeTypeError, match="did you mean"):
        g.add_node("haibal.metrics.SparseCategoricalCrossentropi")
    with pytest.raises(GraphError, match="no node 'nope'"):
        g.connect("nope", "value", "scc1", "y_true")
    with pytest.raises(GraphError, match="no input port 'labels'"):
        g.connect("y_true", "value", "scc1", "labels")
    with pytest.raises(GraphError, match="already fed by y_true.value"):
        g.connect("y_pred", "value", "scc1", "y_true")
    with pytest.raises(ParameterError, match="from_logits"):
        g.set_param("scc1", "from_logits", "maybe")
    with pytest.raises(ParameterError, match="unknown instance"):
        g.set_instance("scc1", "vector")
    with pytest.raises(GraphError, match="no connection"):
        g.disconnect("y_pred", "value", "scc1", "y_true")
    # replace=True swaps the wire instead
    g.connect("y_pred", "value", "scc1", "y_true", replace=True)
    assert Connection("y_true", "value", "scc1", "y_true") not in g.connections


def test_remove_node_drops_its_wires():
    g = scce_graph()
    g.remove_node("scc1")
    assert all("scc1" not in (c.src, c.dst) for c in g.connections)
    assert codes(g.validate()) == ["unwired"]  # the output terminal lost its wire


def test_validate_lists_every_problem_with_node_and_port():
    doc = {
        "format": "haibal-graph", "version": 1,
        "nodes": [
            {"id": "a", "type": "haibal.io.GraphInput", "name": "a", "params": {"type": "str", "default": 1}},
            {"id": "b", "type": "haibal.nope.Missing"},
            {"id": "c", "type": SCCE, "params": {"from_logits": "perhaps", "colour": 1}, "instance": "vector"},
            {"id": "d", "type": SCCE},
            {"id": "e", "type": "haibal.viewers.ValueDisplay"},
            {"id": "f", "type": "haibal.viewers.ValueDisplay"},
            {"id": "o1", "type": "haibal.io.GraphOutput", "name": "out"},
            {"id": "o2", "type": "haibal.io.GraphOutput", "name": "out"},
        ],
        "connections": [
            {"from": ["a", "value"], "to": ["d", "y_pred"]},      # str into float: type mismatch
            {"from": ["a", "value"], "to": ["o1", "value"]},
            {"from": ["d", "result"], "to": ["o1", "value"]},     # fed twice
            {"from": ["d", "nothing"], "to": ["o2", "value"]},    # unknown output port
            {"from": ["ghost", "value"], "to": ["c", "y_true"]},  # unknown node
            {"from": ["e", "value"], "to": ["f", "value"]},       # a cycle e <-> f
            {"from": ["f", "value"], "to": ["e", "value"]},
        ],
    }
    g = Graph.from_dict(doc)
    problems = g.validate()
    got = codes(problems)
    for code in ("unknown-type", "bad-param", "bad-default", "bad-instance", "duplicate-terminal", "fed-twice",
                 "unknown-port", "unknown-node", "unwired", "cycle", "type-mismatch"):
        assert code in got, (code, [str(p) for p in problems])
    by_code = {}
    for p in problems:
        by_code.setdefault(p.code, []).append(p)
    assert by_code["unknown-type"][0].node == "b"
    assert "is int[0], but the input is declared str" in by_code["bad-default"][0].message
    assert str(by_code["bad-param"][0]).startswith("node 'c', parameter 'from_logits': ")
    assert {(p.node, p.port) for p in by_code["bad-param"]} == {("c", "from_logits"), ("c", "colour")}
    assert by_code["fed-twice"][0].node == "o1" and by_code["fed-twice"][0].port == "value"
    assert ("d", "y_true") in {(p.node, p.port) for p in by_code["unwired"]}
    assert ("c", "y_pred") in {(p.node, p.port) for p in by_code["unwired"]}
    mismatch = by_code["type-mismatch"][0]
    assert (mismatch.node, mismatch.port) == ("d", "y_pred")
    assert "a.value gives str" in mismatch.message
    assert "e -> f -> e" in by_code["cycle"][0].message or "f -> e -> f" in by_code["cycle"][0].message
    # every problem prints on one line, naming its node
    for p in problems:
        assert "\n" not in str(p) and str(p).startswith(f"node {p.node!r}")
    with pytest.raises(GraphValidationError) as info:
        g.check()
    assert info.value.problems == problems
    assert isinstance(info.value, HaibalError) and isinstance(info.value, ValueError)


def test_types_propagate_through_the_picked_instance():
    info = scce_graph().port_types()
    assert info.instances["scc1"] == "array"
    assert info.outputs[("scc1", "result")] == PortType.of("float", 1)  # rank of y_pred minus one
    assert all(c.ok and not c.coerced for c in info.wires.values())
    pinned = scce_graph(instance="batch").port_types()
    assert pinned.instances["scc1"] == "batch"
    assert pinned.outputs[("scc1", "result")] == PortType.of("float", 0)


def test_rank_of_a_four_d_map_propagates_to_the_output_terminal():
    g = scce_graph(y_true_type="int[3]", y_pred_type="float[4]")
    assert [p.code for p in g.validate()] == ["bad-default", "bad-default"]  # [1, 2] is int[1]
    g.set_param("y_true", "default", np.zeros((2, 4, 4), dtype=int))
    g.set_param("y_pred", "default", np.full((2, 4, 4, 3), 1 / 3))
    assert [p.code for p in g.validate()] == []
    g.set_param("loss", "type", "float[3]")
    assert g.validate() == []
    g.set_param("loss", "type", "float[0]")
    problems = g.validate()
    assert [(p.node, p.port, p.code) for p in problems] == [("loss", "value", "type-mismatch")]
    assert "float[3]" in problems[0].message


def test_coercion_dot_and_broken_wire_are_reported_per_connection():
    g = Graph()
    src = g.add_node("haibal.io.Constant", params={"value": [[1, 2], [3, 4]]})  # int[2]
    act = g.add_node("haibal.activations.ReLU")
    g.connect(src, "value", act, "x")
    info = g.port_types()
    wire = Connection(src, "value", act, "x")
    assert info.wires[wire].ok and info.wires[wire].coerced  # int into float: LabVIEW's coercion dot
    assert g.validate() == []
    g.set_param(src, "value", True)  # bool cannot feed a float port
    info = g.port_types()
    assert not info.wires[wire].ok and info.wires[wire].reason
    assert [(p.node, p.port) for p in g.validate()] == [(act, "x")]


def test_uncertain_types_do_not_invent_problems_downstream():
    g = scce_graph(y_pred_type="any")
    # y_pred of unknown rank: scalar, array or batch may run; the output covers all of them
    out = g.port_types().outputs[("scc1", "result")]
    assert out.kind == "float" and out.min_rank == 0 and (out.max_rank is None or out.max_rank >= 1)
    assert g.validate() == []


def test_change_log_says_what_changed():
    g = scce_graph()
    mark, _, _ = g.changes_since(0)
    g.set_param("scc1", "from_logits", True)
    mark2, ids, structural = g.changes_since(mark)
    assert ids == {"scc1"} and not structural
    g.set_instance("scc1", "batch")
    _, ids, structural = g.changes_since(mark2)
    assert ids == {"scc1"} and structural
    g.set_pos("scc1", (10, 20))  # layout only
    assert g.changes_since(g.changes_since(0)[0])[1] == set()


def test_resolve_by_id_or_unique_name():
    g = scce_graph()
    assert g.resolve("scc1") == "scc1"
    assert g.resolve("SparseCategoricalCrossentropy") == "scc1"
    g.add_node(SCCE)
    with pytest.raises(GraphError, match="several nodes"):
        g.resolve("SparseCategoricalCrossentropy")
    with pytest.raises(GraphError, match="no node with id or name"):
        g.resolve("nothing")


def test_array_parameters_take_json_text_and_refuse_text():
    g = Graph()
    c = g.add_node("haibal.io.Constant")
    g.set_param(c, "value", "[[1.5, 2]]")
    np.testing.assert_array_equal(g[c].params["value"], np.array([[1.5, 2.0]]))
    with pytest.raises(ParameterError, match="numeric or bool array"):
        g.set_param(c, "value", "hello")
