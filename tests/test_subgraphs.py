"""Collapsed subgraphs: collapse -> one composite node -> file -> run -> expand, and the refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from haibal_py.graph import Graph
from haibal_py.files.graph_format import GraphFormatError
from haibal_py.runtime import Runtime
from haibal_py.snippets import Snippet, insert_snippet, load_snippet
from haibal_py.subgraphs import (SubgraphError, collapse, define_subgraph, expand, is_subgraph, redefine,
                                 subgraph_of)

from reference import LABELS, LOGITS, scce_chain, scce_from_logits

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
SOFTMAX = "haibal.activations.SoftMax"
EXPECTED = scce_from_logits(LABELS, LOGITS)
chain = scce_chain


def outputs(g: Graph, **inputs) -> dict:
    return Runtime(g).run(inputs=inputs).outputs


def test_collapse_keeps_the_numbers_and_the_wires():
    g = chain()
    expected = outputs(g)
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    assert set(g.nodes) == {"logits", "labels", "loss", "probs", nid}
    assert is_subgraph(g, nid) and g.nodes[nid].name == "Loss from logits"
    assert g.nodes[nid].type_id == "haibal.subgraph.Loss_from_logits"
    wires = {str(c) for c in g.connections}
    # the template's ports are named after the graph terminals the wires came from / went to
    assert wires == {f"logits.value -> {nid}.logits", f"labels.value -> {nid}.labels",
                     f"{nid}.loss -> loss.value", f"{nid}.probs -> probs.value"}
    assert g.validate() == []
    got = outputs(g)
    np.testing.assert_allclose(got["loss"], EXPECTED, rtol=1e-6)
    np.testing.assert_array_equal(got["loss"], expected["loss"])
    np.testing.assert_array_equal(got["probs"], expected["probs"])
    # wired template inputs carry no default (the outer wire gives the value)
    inner = subgraph_of(g, nid).graph
    assert all(inner.nodes[t].params["default"] is None for t in inner.inputs.values())


def test_file_round_trip_and_cli_run(tmp_path):
    g = chain()
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    path = tmp_path / "collapsed.json"
    g.save(path)
    doc = json.loads(path.read_text())
    assert [d["name"] for d in doc["subgraphs"]] == ["Loss from logits"]
    assert doc["subgraphs"][0]["format"] == "haibal-snippet"
    back = Graph.load(path)
    assert back.nodes[nid].type_id == g.nodes[nid].type_id and back.validate() == []
    assert back.to_dict() == g.to_dict()
    np.testing.assert_array_equal(outputs(back)["loss"], outputs(g)["loss"])
    out = tmp_path / "out.npz"
    proc = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(path), "--output", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with np.load(out) as data:
        np.testing.assert_allclose(data["loss"], EXPECTED, rtol=1e-6)


def test_unused_definitions_are_not_saved(tmp_path):
    g = chain()
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    g.remove_node(nid)
    assert "subgraphs" not in g.to_dict()


def test_a_failing_inner_node_is_named_through_the_composite():
    g = chain()
    collapse(g, ["sm1", "scc1"], "Loss from logits")
    with pytest.raises(Exception) as info:
        outputs(g, labels=np.array([1, 7]))
    msg = str(info.value)
    assert "Loss from logits" in msg and "scc1" in msg and "label 7" in msg


def test_expand_is_the_inverse():
    g = chain()
    before = outputs(g)
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    mapping = expand(g, nid)
    assert set(mapping) == {"sm1", "scc1"} and nid not in g.nodes
    assert {gn.type_id for gn in g.nodes.values() if not (gn.is_input or gn.is_output)} == {SOFTMAX, SCCE}
    assert len(g.connections) == 5 and g.validate() == []
    got = outputs(g)
    np.testing.assert_array_equal(got["loss"], before["loss"])
    np.testing.assert_array_equal(got["probs"], before["probs"])


def test_exposed_parameter_reaches_the_inner_node_and_survives_expand():
    g = Graph("logits")
    lg = g.add_input("logits", default=LOGITS, type="float[2]")
    yt = g.add_input("labels", default=LABELS, type="int[1]")
    sc = g.add_node(SCCE)
    g.connect(lg, "value", sc, "y_pred")
    g.connect(yt, "value", sc, "y_true")
    g.connect(sc, "result", g.add_output("loss"), "value")
    nid = collapse(g, [sc], "SCCE", expose={"from_logits": (sc, "from_logits")})
    assert g.nodes[nid].params == {"from_logits": False}
    rt = Runtime(g)
    probs_as_probs = rt.run().outputs["loss"]
    g.set_param(nid, "from_logits", True)
    result = rt.run()
    assert nid in result.ran  # the changed composite re-ran
    np.testing.assert_allclose(result.outputs["loss"], EXPECTED, rtol=1e-6)
    assert not np.allclose(probs_as_probs, result.outputs["loss"])
    expand(g, nid)
    assert g.nodes[sc].params["from_logits"] is True
    np.testing.assert_allclose(outputs(g)["loss"], EXPECTED, rtol=1e-6)


def test_expand_turns_an_unwired_input_default_into_a_constant():
    g = Graph("uses a snippet type")
    snippet = load_snippet("examples/snippets/SCCE_documentation_example.snippet.json")
    type_id = define_subgraph(g, snippet)
    nid = g.add_node(type_id, "doc example")
    for tname in snippet.outputs:
        g.connect(nid, tname, g.add_output(tname), "value")
    before = outputs(g)
    expand(g, nid)
    consts = [gn for gn in g.nodes.values() if gn.type_id == "haibal.io.Constant"]
    assert len(consts) == len(snippet.inputs)
    after = outputs(g)
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_nested_subgraphs_save_load_and_run(tmp_path):
    g = chain()
    inner = collapse(g, ["scc1"], "Just the loss")
    outer = collapse(g, ["sm1", inner], "Outer")
    path = tmp_path / "nested.json"
    g.save(path)
    doc = json.loads(path.read_text())
    assert [d["name"] for d in doc["subgraphs"]] == ["Outer"]
    assert [d["name"] for d in doc["subgraphs"][0]["graph"]["subgraphs"]] == ["Just the loss"]
    back = Graph.load(path)
    np.testing.assert_allclose(outputs(back)["loss"], EXPECTED, rtol=1e-6)
    expand(back, outer)
    assert any(is_subgraph(back, gid) for gid in back.nodes)
    np.testing.assert_allclose(outputs(back)["loss"], EXPECTED, rtol=1e-6)


def test_names_are_made_unique_per_graph():
    g = chain()
    a = collapse(g, ["sm1"], "Part")
    b = collapse(g, ["scc1"], "Part")
    assert g.nodes[a].name == "Part" and g.nodes[b].name == "Part 2"
    assert g.nodes[a].type_id != g.nodes[b].type_id
    np.testing.assert_allclose(outputs(g)["loss"], EXPECTED, rtol=1e-6)


def test_a_snippet_holding_a_subgraph_inserts_into_another_graph():
    g = chain()
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    snippet = Snippet.from_json(Snippet.from_selection(g, [nid], "wrapped").to_json())
    target = Graph("target")
    mapping = insert_snippet(target, snippet)
    assert any(is_subgraph(target, gid) for gid in mapping.values())
    got = outputs(target, logits=np.array(LOGITS), labels=np.array(LABELS))
    np.testing.assert_allclose(got["loss"], EXPECTED, rtol=1e-6)


@pytest.mark.parametrize("selection, message", [
    ([], "select the nodes"),
    (["logits", "sm1"], "graph input"),
    (["loss"], "graph output"),
    (["nope"], "no node 'nope'"),
])
def test_refused_collapse_leaves_the_graph_unchanged(selection, message):
    g = chain()
    before = g.to_dict()
    with pytest.raises((SubgraphError, KeyError)) as info:
        collapse(g, selection)
    assert message in str(info.value)
    assert g.to_dict() == before and g.local_types == {}


def test_expand_refuses_an_ordinary_node():
    g = chain()
    with pytest.raises(SubgraphError, match="'sm1'.*not a collapsed subgraph"):
        expand(g, "sm1")


def test_a_file_with_two_different_definitions_of_one_name_is_refused(tmp_path):
    g = chain()
    collapse(g, ["sm1", "scc1"], "Loss from logits")
    doc = g.to_dict()
    twin = json.loads(json.dumps(doc["subgraphs"][0]))
    twin["description"] = "another one"
    doc["subgraphs"].append(twin)
    with pytest.raises(GraphFormatError, match="different subgraph named 'Loss from logits'"):
        Graph.from_dict(doc)


def test_a_bad_definition_in_a_file_is_a_format_error():
    g = chain()
    collapse(g, ["sm1", "scc1"], "Loss from logits")
    doc = g.to_dict()
    doc["subgraphs"][0]["version"] = 99
    with pytest.raises(GraphFormatError, match=r"subgraphs\[0\].*newer"):
        Graph.from_dict(doc)
    doc["subgraphs"] = ["not an object"]
    with pytest.raises(GraphFormatError):
        Graph.from_dict(doc)


def test_redefine_rebuilds_the_nodes_and_reports_dropped_wires():
    g = chain()
    nid = collapse(g, ["sm1", "scc1"], "Loss from logits")
    edited = subgraph_of(g, nid).runnable()
    edited.set_param("scc1", "from_logits", True)  # now fed softmax output as logits: a change to see
    dropped = redefine(g, g.nodes[nid].type_id, edited)
    assert dropped == []
    assert subgraph_of(g, nid).graph.nodes["scc1"].params["from_logits"] is True
    changed = outputs(g)["loss"]
    assert not np.allclose(changed, EXPECTED)
    # remove the probabilities output from the definition: its outer wire goes
    probs_terminal = next(gid for gid in edited.outputs.values() if edited.incoming(gid)[0].src == "sm1")
    edited.remove_node(probs_terminal)
    dropped = redefine(g, g.nodes[nid].type_id, edited)
    assert len(dropped) == 1 and "probs" in dropped[0]
    assert [(p.node, p.code) for p in g.validate()] == [("probs", "unwired")]
