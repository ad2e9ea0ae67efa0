"""Composite nodes (collapsed subgraphs, snippet nodes) keep static types and run with a
cached sub-runtime of their own."""

from __future__ import annotations

import numpy as np

from haibal_py.graph import Graph
from haibal_py.runtime import Runtime
from haibal_py.subgraphs import collapse

from reference import LABELS, scce_chain, scce_from_logits


def chain() -> Graph:
    return scce_chain(probs=False)


def test_a_collapsed_node_has_the_types_of_its_terminals():
    g = chain()
    sub = collapse(g, ["sm1", "scc1"], "Loss")
    node = g.nodes[sub].node
    assert {p.name: str(p.type) for p in node.inputs} == {"logits": "float[2]", "labels": "int[1]"}
    assert {p.name: str(p.type) for p in node.outputs} == {"loss": "float[1]"}
    assert g.validate() == []


def test_a_type_error_at_the_boundary_is_still_reported_after_collapsing():
    g = chain()
    sub = collapse(g, ["sm1", "scc1"], "Loss")
    g.remove_node("labels")
    bad = g.add_input("labels", default=[[1.5]], type="float[2]")
    g.connect(bad, "value", sub, "labels")
    problems = g.validate()
    assert [p.code for p in problems] == ["type-mismatch"]
    assert "expects int[1]" in problems[0].message and problems[0].port == "labels"


def test_a_type_error_inside_is_reported_on_the_collapsed_node():
    g = chain()
    g.set_instance("scc1", "scalar")  # pinned to one sample: a batch no longer fits (a broken wire)
    assert {p.code for p in g.validate()} == {"type-mismatch"}
    sub = collapse(g, ["sm1", "scc1"], "Loss")
    problems = g.validate()
    assert problems and all(p.node == sub for p in problems)
    assert "inside subgraph 'Loss'" in problems[0].message and "scc1" in problems[0].message


def test_the_inner_graph_runs_with_a_cached_sub_runtime():
    g = chain()
    sub = collapse(g, ["sm1", "scc1"], "Loss", expose={"from_logits": ("scc1", "from_logits")})
    rt = Runtime(g)
    expected = Runtime(chain()).run().outputs["loss"]
    np.testing.assert_allclose(rt.run().outputs["loss"], expected, rtol=1e-6)
    inner = rt.inner_runtime(sub)
    assert inner is not None and inner.last_result.ran  # it ran once
    assert rt.run().ran == []  # nothing changed: nothing runs, inside either
    g.set_param(sub, "from_logits", True)  # an exposed parameter: only the inner node it names runs
    res = rt.run()
    assert res.ran == [sub, "loss"]
    assert inner.last_result.ran == ["scc1", "loss"]
    assert rt.inner_runtime(sub) is inner
    np.testing.assert_allclose(res.outputs["loss"], scce_from_logits(LABELS, Runtime(chain()).run().values["sm1"]["result"]),
                               rtol=1e-6)
