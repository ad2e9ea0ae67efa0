"""Structures (issue 17): For Loop, While Loop, shift registers, Case Structure in the graph model,
its file format, its static types and validation, and the runtime.

Real graphs built through the public API and run by the real runtime; files in tmp_path."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from haibal_py import activations
from haibal_py.files.graph_format import GraphFormatError
from haibal_py.files.limits import LimitError, Limits
from haibal_py.graph import Graph, GraphValidationError
from haibal_py.graph.structures import (CaseStructure, ForLoop, StructureError, WhileLoop, connect_across, enclose,
                                        move_nodes)
from haibal_py.node import HelpText, Instance, Node, Param, Port
from haibal_py.node.types import ANY
from haibal_py.numeric.kernels.sparse_categorical import sparse_categorical_crossentropy
from haibal_py.runtime import NodeRunError, Runtime

ROOT = Path(__file__).resolve().parent.parent
CONST = "haibal.io.Constant"


# ---------------------------------------------------------------------------- helpers
CALLS: dict[str, int] = {}


def _counted(node, values):
    CALLS[node.name] = CALLS.get(node.name, 0) + 1
    return {"result": np.asarray(values["x"], dtype=np.float64) * node.values["factor"]}


class Scale(Node):
    """Multiplies by a factor and counts its calls by node name (what ran, and how often)."""

    type_id = "test.Scale"
    display_name = "Scale"
    help = HelpText("x * factor, counted.")
    inputs = (Port("x", ANY, "x"),)
    outputs = (Port("result", ANY, "x * factor"),)
    params = (Param("factor", "float", 1.0, "factor"),)
    instances = (Instance("any", {"x": ANY}, {"result": ANY}, _counted),)


def new_graph() -> Graph:
    g = Graph("structures")
    g.local_types[Scale.type_id] = Scale
    return g


def const(g, value, name=None):
    return g.add_node(CONST, name, params={"value": value})


def sum_rows_loop(g, x, indexing=True):
    """A For Loop over the rows of ``x``: per-row sums out (indexing) and their total in a shift register."""
    fl = g.add_for_loop(name="rows")
    st = g.structure(fl)
    st.wire_in(x, "value", "row", indexing=indexing)
    st.add_shift_register("total")
    g.connect(const(g, 0.0, "zero"), "value", fl, "total")
    b = st.body
    s = b.add_node("haibal.math.Sum", id="row_sum")
    b.connect(st.terminal_node("row"), "value", s, "x")
    a = b.add_node("haibal.math.Add", id="acc")
    b.connect(st.terminal_node("total", side="source"), "value", a, "x")
    b.connect(s, "result", a, "y")
    b.connect(a, "result", st.terminal_node("total", side="sink"), "value")
    st.wire_out(s, "result", "sums", indexing=True)
    g.connect(fl, "sums", g.add_output("sums"), "value")
    g.connect(fl, "total", g.add_output("total"), "value")
    return fl


def counting_while(g, limit=10.0):
    """A While Loop adding 1 to a shift register until it reaches ``limit``; history out."""
    wl = g.add_while_loop(name="count")
    st = g.structure(wl)
    st.add_shift_register("acc")
    g.connect(const(g, 0.0), "value", wl, "acc")
    st.wire_in(const(g, 1.0, "one"), "value", "step")
    st.wire_in(const(g, limit, "limit"), "value", "limit")
    b = st.body
    a = b.add_node("haibal.math.Add")
    b.connect(st.terminal_node("acc", side="source"), "value", a, "x")
    b.connect(st.terminal_node("step"), "value", a, "y")
    b.connect(a, "result", st.terminal_node("acc", side="sink"), "value")
    ge = b.add_node("haibal.math.GreaterEqual")
    b.connect(a, "result", ge, "x")
    b.connect(st.terminal_node("limit"), "value", ge, "y")
    b.connect(ge, "result", st.terminal_node("stop"), "value")
    st.wire_out(a, "result", "history", indexing=True)
    g.connect(wl, "acc", g.add_output("acc"), "value")
    g.connect(wl, "history", g.add_output("history"), "value")
    return wl


def probs_or_logits(g):
    """A Case Structure on a boolean: True -> SoftMax of the input, False -> the input as it is."""
    sel = g.add_input("from_logits", default=np.array(True), type="bool[0]")
    x = g.add_input("x", default=np.array([[1.0, 2.0, 3.0]]), type="float[2]")
    cs = g.add_case((False, True), name="path")
    st = g.structure(cs)
    g.connect(sel, "value", cs, "selector")
    st.wire_in(x, "value", "x")
    st.add_tunnel("probs", "out")
    t = st.diagram(1)
    sm = t.add_node("haibal.activations.SoftMax")
    t.connect(st.terminal_node("x", 1), "value", sm, "x")
    t.connect(sm, "result", st.terminal_node("probs", 1), "value")
    f = st.diagram(0)
    f.connect(st.terminal_node("x", 0), "value", st.terminal_node("probs", 0), "value")
    g.connect(cs, "probs", g.add_output("probs"), "value")
    return cs


class Events:
    def __init__(self):
        self.events = []

    def node_event(self, node_id, kind, payload):
        self.events.append((node_id, kind, payload))


def codes(problems):
    return sorted(p.code for p in problems)


# ---------------------------------------------------------------------------- For Loop
def test_for_loop_indexes_rows_keeps_a_shift_register_and_stacks_an_output():
    g = new_graph()
    x = g.add_input("x", default=np.arange(12.0).reshape(4, 3), type="float[2]")
    sum_rows_loop(g, x)
    assert g.validate() == []
    res = Runtime(g).run()
    np.testing.assert_array_equal(res.outputs["sums"], [3.0, 12.0, 21.0, 30.0])
    assert res.outputs["total"] == 66.0


def test_types_flow_through_tunnels_before_anything_runs():
    g = new_graph()
    x = g.add_input("x", default=np.ones((4, 3)), type="float[2]")
    fl = sum_rows_loop(g, x)
    info = g.port_types()
    st = g.structure(fl)
    assert str(info.outputs[(st.terminal_node("row"), "value")]) == "float[1]"  # float[2] indexed
    assert str(info.outputs[("row_sum", "result")]) == "float[0]"
    assert str(info.outputs[(fl, "sums")]) == "float[1]"  # one dimension more
    assert str(info.outputs[(fl, "total")]) == "float[0]"
    assert str(info.outputs[(st.terminal_node("i"), "value")]) == "int[0]"
    st.set_indexing("row", False)  # the whole array inside: the sum of all, per iteration
    assert str(g.port_types().outputs[(st.terminal_node("row"), "value")]) == "float[2]"


def test_count_is_n_or_the_shortest_indexing_input():
    g = new_graph()
    x = g.add_input("x", default=np.arange(12.0).reshape(4, 3), type="float[2]")
    fl = sum_rows_loop(g, x)
    n = const(g, 2)
    g.connect(n, "value", fl, "N")
    res = Runtime(g).run()
    np.testing.assert_array_equal(res.outputs["sums"], [3.0, 12.0])
    g.set_param(n, "value", 9)  # more than the rows: the rows decide
    np.testing.assert_array_equal(Runtime(g).run().outputs["sums"], [3.0, 12.0, 21.0, 30.0])


def test_zero_iterations_give_an_empty_array_of_the_tunnels_rank_and_the_initial_shift_value():
    g = new_graph()
    x = g.add_input("x", default=np.ones((0, 3)), type="float[2]")
    sum_rows_loop(g, x)
    res = Runtime(g).run()
    assert res.outputs["sums"].shape == (0,) and res.outputs["sums"].dtype == np.float64
    assert res.outputs["total"] == 0.0


def test_a_non_indexing_output_of_a_loop_that_never_ran_is_an_error_naming_the_tunnel():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    g.connect(const(g, 0), "value", fl, "N")
    st.wire_out(st.terminal_node("i"), "value", "last")
    g.connect(fl, "last", g.add_output("last"), "value")
    with pytest.raises(NodeRunError, match="ran 0 times, so output tunnel 'last'"):
        Runtime(g).run()


def test_for_loop_n_from_a_file_is_bounded_by_the_iteration_limit(tmp_path):
    g = new_graph()
    fl = g.add_for_loop()
    g.connect(const(g, 50), "value", fl, "N")
    st = g.structure(fl)
    st.wire_out(st.terminal_node("i"), "value", "ids", indexing=True)
    g.connect(fl, "ids", g.add_output("ids"), "value")
    np.testing.assert_array_equal(Runtime(g).run().outputs["ids"], np.arange(50))
    with pytest.raises(NodeRunError) as info:
        Runtime(g, limits=Limits(max_loop_iterations=20)).run()
    assert isinstance(info.value.cause, LimitError) and "max_loop_iterations" in str(info.value)


def test_loop_invariant_nodes_compute_once_and_a_rerun_computes_what_changed():
    CALLS.clear()
    g = new_graph()
    x = g.add_input("x", default=np.arange(6.0).reshape(3, 2), type="float[2]")
    c = const(g, 10.0)
    fl = g.add_for_loop()
    st = g.structure(fl)
    st.wire_in(x, "value", "row", indexing=True)
    st.wire_in(c, "value", "c")
    b = st.body
    inv = b.add_node(Scale.type_id, "invariant", params={"factor": 2.0})  # depends on the constant only
    per = b.add_node(Scale.type_id, "per_row", params={"factor": 1.0})
    b.connect(st.terminal_node("c"), "value", inv, "x")
    b.connect(st.terminal_node("row"), "value", per, "x")
    add = b.add_node("haibal.math.Add")
    b.connect(inv, "result", add, "x")
    b.connect(per, "result", add, "y")
    st.wire_out(add, "result", "out", indexing=True)
    g.connect(fl, "out", g.add_output("out"), "value")
    rt = Runtime(g)
    np.testing.assert_array_equal(rt.run().outputs["out"], [[20, 21], [22, 23], [24, 25]])
    assert CALLS == {"invariant": 1, "per_row": 3}
    b.set_param(per, "factor", 2.0)  # an edit inside the loop: it runs again, the invariant part does not
    np.testing.assert_array_equal(rt.run().outputs["out"], [[20, 22], [24, 26], [28, 30]])
    assert CALLS == {"invariant": 1, "per_row": 6}
    g.set_param(c, "value", 0.0)  # the invariant input changed: computed once more
    np.testing.assert_array_equal(rt.run().outputs["out"], [[0, 2], [4, 6], [8, 10]])
    assert CALLS == {"invariant": 2, "per_row": 9}
    rt.run()  # nothing changed: the loop is not run at all
    assert CALLS == {"invariant": 2, "per_row": 9}


def test_a_conditional_terminal_ends_a_for_loop_early():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    g.connect(const(g, 100), "value", fl, "N")
    st.set_condition("stop")
    b = st.body
    ge = b.add_node("haibal.math.GreaterEqual")
    b.connect(st.terminal_node("i"), "value", ge, "x")
    b.connect(b.add_node(CONST, params={"value": 4}), "value", ge, "y")
    b.connect(ge, "result", st.terminal_node("stop"), "value")
    st.wire_out(st.terminal_node("i"), "value", "ids", indexing=True)
    g.connect(fl, "ids", g.add_output("ids"), "value")
    np.testing.assert_array_equal(Runtime(g).run().outputs["ids"], [0, 1, 2, 3, 4])  # the stopping one included
    st.set_condition("continue")  # continue if true: i >= 4 is false at once
    np.testing.assert_array_equal(Runtime(g).run().outputs["ids"], [0])


# ---------------------------------------------------------------------------- While Loop
def test_while_loop_runs_until_stop_with_its_history():
    g = new_graph()
    counting_while(g)
    assert g.validate() == []
    res = Runtime(g).run()
    assert res.outputs["acc"] == 10.0
    np.testing.assert_array_equal(res.outputs["history"], np.arange(1.0, 11.0))


def test_while_loop_from_a_file_is_bounded_by_a_limit_the_user_can_raise(tmp_path):
    g = new_graph()
    counting_while(g, limit=1e9)  # would run a billion iterations
    path = tmp_path / "forever.json"
    g.save(path)
    loaded = Graph.load(path)
    with pytest.raises(NodeRunError) as info:
        Runtime(loaded, limits=Limits(max_loop_iterations=1000)).run()
    assert isinstance(info.value.cause, LimitError)
    assert "did not stop within 1,000 iterations, the limit max_loop_iterations" in str(info.value)
    assert "--limit max_loop_iterations=N" in str(info.value)
    loaded.set_param(_const_named(loaded, "limit"), "value", 5.0)
    assert Runtime(loaded, limits=Limits(max_loop_iterations=1000)).run().outputs["acc"] == 5.0


def _const_named(g, name):
    return next(gid for gid, gn in g.nodes.items() if gn.name == name)


def test_a_while_loop_needs_its_conditional_terminal_wired():
    g = new_graph()
    wl = g.add_while_loop()
    problems = g.validate()
    assert codes(problems) == ["unwired"] and "conditional terminal 'stop' is not wired" in str(problems[0])
    g.structure(wl).set_condition(None)
    problems = g.validate()
    assert codes(problems) == ["unwired"] and "has no conditional terminal" in str(problems[0])


def test_stop_ends_a_loop_between_iterations():
    class Stopper(Node):
        type_id = "test.Stopper"
        display_name = "Stopper"
        help = HelpText("Asks the run to stop at iteration 3 and waits until it is seen.")
        inputs = (Port("x", ANY, "the iteration"),)
        outputs = (Port("result", ANY, "x"),)
        instances = (Instance("any", {"x": ANY}, {"result": ANY}, lambda node, v: _stopper(node, v)),)

    g = new_graph()
    g.local_types[Stopper.type_id] = Stopper
    wl = g.add_while_loop()
    st = g.structure(wl)
    b = st.body
    s = b.add_node(Stopper.type_id)
    b.connect(st.terminal_node("i"), "value", s, "x")
    b.connect(b.add_node(CONST, params={"value": False}), "value", st.terminal_node("stop"), "value")
    st.wire_out(s, "result", "seen", indexing=True)
    g.connect(wl, "seen", g.add_output("seen"), "value")
    rt = Runtime(g)
    _STOP["rt"] = rt
    res = rt.run()  # would never end: the stop request ends it after iteration 3
    assert res.stopped and "seen" not in res.outputs  # the nodes after it wait for the next run
    np.testing.assert_array_equal(res.values[wl]["seen"], [0, 1, 2, 3])  # what its iterations gave


_STOP: dict = {}


def _stopper(node, values):
    if int(values["x"]) == 3:
        t = threading.Thread(target=_STOP["rt"].stop)
        t.start()
        t.join()
    return {"result": values["x"]}


# ---------------------------------------------------------------------------- Case Structure
def test_case_structure_runs_the_case_the_selector_picks():
    g = new_graph()
    probs_or_logits(g)
    assert g.validate() == []
    rt = Runtime(g)
    np.testing.assert_allclose(rt.run().outputs["probs"], [[0.09003057, 0.24472847, 0.66524096]])
    np.testing.assert_array_equal(rt.run(inputs={"from_logits": np.array(False)}).outputs["probs"], [[1, 2, 3]])


def test_a_case_missing_an_output_tunnel_is_an_error_naming_the_case_and_the_tunnel():
    g = new_graph()
    cs = probs_or_logits(g)
    st = g.structure(cs)
    f = st.diagram(0)
    f.disconnect(st.terminal_node("x", 0), "value", st.terminal_node("probs", 0), "value")
    problems = g.validate()
    assert codes(problems) == ["case-output"]
    assert str(problems[0]) == (f"node {cs!r}, port 'probs': case False does not give output tunnel 'probs': wire a "
                                f"value to it in that case (every case gives every output tunnel)")
    with pytest.raises(GraphValidationError):
        Runtime(g).run()


def test_integer_and_string_selectors_with_a_default_case():
    g = new_graph()
    sel = g.add_input("k", default=np.array(2), type="int[0]")
    cs = g.add_case([0, (1, 2)], default=True)
    st = g.structure(cs)
    g.connect(sel, "value", cs, "selector")
    st.add_tunnel("y", "out")
    for k, value in enumerate([10.0, 20.0, 30.0]):
        d = st.diagram(k)
        d.connect(d.add_node(CONST, params={"value": value}), "value", st.terminal_node("y", k), "value")
    g.connect(cs, "y", g.add_output("y"), "value")
    assert g.validate() == []
    assert [d.label for d in g.nodes[cs].node.diagrams] == ["0", "1, 2", "Default"]
    rt = Runtime(g)
    assert [float(rt.run(inputs={"k": np.array(v)}).outputs["y"]) for v in (0, 1, 2, 7)] == [10, 20, 20, 30]
    h = new_graph()
    s = h.add_node(CONST, params={"value": 1.5})
    cs2 = h.add_case(["relu", "tanh"], default=0)
    h.connect(s, "value", cs2, "selector")
    problems = h.validate()
    assert codes(problems) == ["type-mismatch"]  # the selector port takes the cases' kind
    assert "(Case Structure, CaseStructure) expects str[0] here, but c1.value gives float[0]" in str(problems[0])


def test_case_coverage_problems():
    g = new_graph()
    cs = g.add_case([0, 1])  # integers without a Default case
    g.connect(const(g, 1), "value", cs, "selector")
    problems = g.validate()
    assert codes(problems) == ["case-selector"] and "no Default case" in str(problems[0])
    st = g.structure(cs)
    with pytest.raises(StructureError, match="already selects case 0"):
        st.add_case([0])
    with pytest.raises(StructureError, match="a case value is a boolean, an integer or a string"):
        st.add_case([1.5])
    st.set_case(1, default=True)
    assert g.validate() == []
    b = new_graph()
    bcs = b.add_case()  # False and True: complete without a Default
    b.connect(const(b, True), "value", bcs, "selector")
    assert b.validate() == []


# ---------------------------------------------------------------------------- validation of each kind
def test_indexing_a_scalar_and_stacking_objects_are_type_problems():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    st.wire_in(const(g, 1.0), "value", "s", indexing=True)
    problems = g.validate()
    assert codes(problems) == ["tunnel-type"]
    assert "indexing input tunnel 's' takes one element per iteration, but float[0] is a scalar" in str(problems[0])


def test_a_shift_register_keeps_one_type():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    g.connect(const(g, 3), "value", fl, "N")
    st.add_shift_register("acc")
    g.connect(const(g, 0.0), "value", fl, "acc")
    b = st.body
    b.connect(b.add_node(CONST, params={"value": [1.0, 2.0]}), "value", st.terminal_node("acc", side="sink"), "value")
    problems = g.validate()
    assert codes(problems) == ["shift-register-type"]
    assert str(problems[0]) == (f"node {fl!r}, port 'acc': shift register 'acc' is initialised with float[0] but fed "
                                f"float[1] inside the loop: a shift register keeps one type")


def test_problems_inside_a_diagram_name_the_inner_node():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    g.connect(const(g, 3), "value", fl, "N")
    b = st.body
    sm = b.add_node("haibal.activations.SoftMax", id="inner_softmax")
    b.connect(st.terminal_node("i"), "value", sm, "x")  # an integer scalar into SoftMax
    problems = g.validate()
    assert codes(problems) == ["inner"]
    assert problems[0].node == fl and problems[0].innermost().node == "inner_softmax"
    assert problems[0].innermost().code == "type-mismatch"
    assert str(problems[0]).startswith(f"node {fl!r}: inside For Loop: node 'inner_softmax', port 'x': type mismatch")


def test_terminal_names_and_stray_terminal_nodes_are_structure_problems():
    g = new_graph()
    fl = g.add_for_loop()
    st = g.structure(fl)
    with pytest.raises(StructureError, match="'N' is the name of its own terminal"):
        st.add_tunnel("N")
    st.add_tunnel("a")
    with pytest.raises(StructureError, match="already has a terminal named 'a'"):
        st.add_shift_register("a")
    st.body.add_input("stray")
    g.connect(const(g, 2), "value", fl, "N")
    problems = g.validate()
    assert "structure" in codes(problems)
    assert any("graph input named 'stray', which is not a terminal of the For Loop" in str(p) for p in problems)


def test_while_loops_do_not_index_inputs():
    g = new_graph()
    wl = g.add_while_loop()
    st = g.structure(wl)
    with pytest.raises(StructureError, match="While Loop's input tunnels do not index"):
        st.add_tunnel("x", "in", indexing=True)


def test_a_node_failing_inside_a_loop_names_the_iteration_and_the_node():
    g = new_graph()
    x = g.add_input("labels", default=np.array([[0, 1], [1, 9]]), type="int[2]")
    p = g.add_input("probs", default=np.full((2, 2, 3), 1 / 3), type="float[3]")
    fl = g.add_for_loop()
    st = g.structure(fl)
    st.wire_in(x, "value", "y_true", indexing=True)
    st.wire_in(p, "value", "y_pred", indexing=True)
    b = st.body
    loss = b.add_node("haibal.losses.SparseCategoricalCrossentropy", id="inner_scce")
    b.connect(st.terminal_node("y_true"), "value", loss, "y_true")
    b.connect(st.terminal_node("y_pred"), "value", loss, "y_pred")
    st.wire_out(loss, "result", "loss", indexing=True)
    g.connect(fl, "loss", g.add_output("loss"), "value")
    with pytest.raises(NodeRunError) as info:
        Runtime(g).run()
    assert info.value.node_id == fl
    assert f"node {fl!r} (For Loop, ForLoop) failed: iteration 1: node 'inner_scce'" in str(info.value)
    assert isinstance(info.value.cause, NodeRunError) and info.value.cause.node_id == "inner_scce"


# ---------------------------------------------------------------------------- observers
def test_observers_see_each_iteration_and_chosen_wires():
    g = new_graph()
    x = g.add_input("x", default=np.arange(6.0).reshape(3, 2), type="float[2]")
    sum_rows_loop(g, x)
    rt = Runtime(g)
    rt.watch([("row_sum", "result")])
    obs = Events()
    rt.run(observer=obs)
    points = [p for _, kind, p in obs.events if kind == "iteration"]
    assert [p["step"] for p in points] == [0, 1, 2]
    assert [p["sums"] for p in points] == [1.0, 5.0, 9.0] and [p["total"] for p in points] == [1.0, 6.0, 15.0]
    assert [float(p["wires"]["row_sum.result"]) for p in points] == [1.0, 5.0, 9.0]
    res = rt.last_result
    assert float(res.values["row_sum"]["result"]) == 9.0  # the inner nodes' last values, by id


# ---------------------------------------------------------------------------- files
def test_save_and_load_keep_structures_and_run_the_same(tmp_path):
    g = new_graph()
    x = g.add_input("x", default=np.arange(200.0).reshape(40, 5), type="float[2]")
    fl = sum_rows_loop(g, x)
    big = g.structure(fl).body.add_node(CONST, params={"value": np.arange(100.0)}, id="big_inside")
    g.structure(fl).set_size((500, 300))
    path = tmp_path / "loop.json"
    g.save(path)
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    node = next(n for n in doc["nodes"] if n["id"] == fl)
    assert node["structure"]["size"] == [500.0, 300.0]
    assert {"id": big, "type": CONST, "name": "Constant", "params": {"value": {"npz": f"{big}.value"},
                                                                      "dtype": "auto"}} in \
        node["structure"]["diagrams"][0]["nodes"]  # a large array inside: in the sibling .npz
    loaded = Graph.load(path)
    assert loaded.to_dict() == Graph.load(path).to_dict()
    np.testing.assert_array_equal(Runtime(loaded).run().outputs["sums"], Runtime(g).run().outputs["sums"])
    np.testing.assert_array_equal(loaded.locate(big).nodes[big].params["value"], np.arange(100.0))
    plain = new_graph()
    plain.connect(plain.add_input("a", default=1.0), "value", plain.add_output("b"), "value")
    plain.save(tmp_path / "plain.json")
    assert json.loads((tmp_path / "plain.json").read_text())["version"] == 1  # nothing needs version 2


def test_documents_with_structures_are_checked(tmp_path):
    g = new_graph()
    x = g.add_input("x", default=np.ones((2, 2)), type="float[2]")
    sum_rows_loop(g, x)
    doc = g.to_dict()
    doc1 = dict(doc, version=1)
    with pytest.raises(GraphFormatError, match="need format version 2, but says version 1"):
        Graph.from_dict(doc1)
    twice = json.loads(json.dumps(doc))
    loop = next(n for n in twice["nodes"] if "structure" in n)
    loop["structure"]["diagrams"][0]["nodes"][0]["id"] = "x"  # the outer graph input's id
    with pytest.raises(GraphFormatError, match="node id 'x' is used twice"):
        Graph.from_dict(twice)
    bad = json.loads(json.dumps(doc))
    next(n for n in bad["nodes"] if "structure" in n)["structure"]["terminals"][0]["kind"] = "elevator"
    with pytest.raises(GraphFormatError, match="terminals"):
        Graph.from_dict(bad)
    wrong = json.loads(json.dumps(doc))
    next(n for n in wrong["nodes"] if n["id"] == "x")["structure"] = {"diagrams": [{"nodes": []}]}
    with pytest.raises(GraphFormatError, match="holds a structure but is not one"):
        Graph.from_dict(wrong)


def test_node_ids_are_unique_in_the_whole_graph():
    g = new_graph()
    fl = g.add_for_loop()
    body = g.structure(fl).body
    inner = body.add_node("haibal.math.Add", id="shared")
    with pytest.raises(Exception, match="'shared' is already used"):
        g.add_node("haibal.math.Add", id="shared")
    assert g.add_node("haibal.math.Add") != inner
    assert body.add_node("haibal.math.Add") not in g.nodes
    assert g.locate("shared") is body


# ---------------------------------------------------------------------------- editing
def test_a_transaction_restores_structures_and_their_diagrams():
    g = new_graph()
    x = g.add_input("x", default=np.ones((3, 2)), type="float[2]")
    fl = sum_rows_loop(g, x)
    before = g.to_dict()
    st = g.structure(fl)
    with pytest.raises(RuntimeError):
        with g.transaction():
            st.add_tunnel("extra")
            st.set_indexing("row", False)
            st.body.remove_node("acc")
            st.body.add_node("haibal.math.Sum")
            raise RuntimeError("refused")
    assert g.to_dict() == before
    assert g.validate() == []
    np.testing.assert_array_equal(Runtime(g).run().outputs["sums"], [2.0, 2.0, 2.0])


def test_enclosing_nodes_in_a_for_loop_keeps_what_they_compute_and_indexing_makes_it_per_row():
    g = new_graph()
    x = g.add_input("x", default=np.arange(6.0).reshape(3, 2), type="float[2]")
    s = g.add_node("haibal.math.Sum", pos=(200, 0))
    m = g.add_node("haibal.math.Multiply", pos=(400, 0))
    g.connect(x, "value", s, "x")
    g.connect(s, "result", m, "x")
    g.connect(const(g, 2.0, "two"), "value", m, "y")
    g.connect(m, "result", g.add_output("y"), "value")
    assert Runtime(g).run().outputs["y"] == 30.0
    fl = enclose(g, [s, m], "for")
    assert set(g.nodes) == {x, "y", _const_named(g, "two"), fl}
    st = g.structure(fl)
    assert {t.name for t in st.terminals} == {"x", "two", "result"} and g.locate(s) is st.body
    g.connect(const(g, 1), "value", fl, "N")
    assert g.validate() == []
    assert Runtime(g).run().outputs["y"] == 30.0  # one iteration, same value
    st.set_indexing("x", True)
    st.set_indexing("result", True)
    g.disconnect(_const_named(g, "Constant"), "value", fl, "N")
    np.testing.assert_array_equal(Runtime(g).run().outputs["y"], [2.0, 10.0, 18.0])
    w = enclose(g, [fl], "while")  # nested
    wst = g.structure(w)
    wst.body.connect(wst.body.add_node(CONST, params={"value": True}), "value", wst.terminal_node("stop"), "value")
    np.testing.assert_array_equal(Runtime(g).run().outputs["y"], [2.0, 10.0, 18.0])
    dropped = move_nodes(g, [s], wst.body)  # out of the For Loop: its indexing input has no value outside it
    assert [(c.src, c.dst) for c in dropped] == [(st.terminal_node("x"), s)]


def test_connect_across_makes_tunnels_and_reuses_them():
    g = new_graph()
    x = g.add_input("x", default=np.ones(3), type="float[1]")
    fl = g.add_for_loop()
    g.connect(const(g, 2), "value", fl, "N")
    st = g.structure(fl)
    b = st.body
    a, c = b.add_node("haibal.math.Add"), b.add_node("haibal.math.Add")
    connect_across(g, x, "value", a, "x")
    connect_across(g, x, "value", c, "x")  # the same value: the same tunnel
    assert [t.name for t in st.terminals] == ["x"]
    b.connect(st.terminal_node("i"), "value", a, "y")
    b.connect(st.terminal_node("i"), "value", c, "y")
    out = g.add_output("out")
    connect_across(g, a, "result", out, "value")
    assert [t.name for t in st.terminals] == ["x", "result"] and g.feeding(out, "value")[0].src == fl
    np.testing.assert_array_equal(Runtime(g).run().outputs["out"], [2.0, 2.0, 2.0])


def test_structure_classes_are_catalog_nodes():
    from haibal_py.testing import check_node_class
    for cls in (ForLoop, WhileLoop, CaseStructure):
        check_node_class(cls, check_imports=False)


# ---------------------------------------------------------------------------- examples
def test_loop_batches_example_gives_each_batchs_metric_as_computed_directly():
    g = Graph.load(ROOT / "examples" / "loop_batches.json")
    assert g.validate() == []
    res = Runtime(g).run()
    values = res.values
    labels = values[_const_named(g, "labels")]["value"]
    logits = values[_const_named(g, "logits")]["value"]
    assert len(labels) == len(logits) == 8
    loss = [float(np.mean(sparse_categorical_crossentropy(y, p, from_logits=True))) for y, p in zip(labels, logits)]
    acc = [float(np.mean(np.argmax(p, -1) == y)) for y, p in zip(labels, logits)]
    np.testing.assert_allclose(res.outputs["loss_per_batch"], loss, rtol=1e-6)
    np.testing.assert_allclose(res.outputs["accuracy_per_batch"], acc)
    assert res.outputs["correct"] == sum(int(np.sum(np.argmax(p, -1) == y)) for y, p in zip(labels, logits))


def test_case_from_logits_example_takes_either_path_to_the_same_loss():
    g = Graph.load(ROOT / "examples" / "case_from_logits.json")
    rt = Runtime(g)
    y_pred = g.nodes["y_pred"].params["default"]
    y_true = g.nodes["y_true"].params["default"]
    logits = rt.run().outputs
    np.testing.assert_allclose(logits["loss"], sparse_categorical_crossentropy(y_true, y_pred, from_logits=True))
    probs = activations.softmax(y_pred)
    np.testing.assert_allclose(logits["probs"], probs)
    from_probs = rt.run(inputs={"from_logits": np.array(False), "y_pred": probs}).outputs
    np.testing.assert_allclose(from_probs["loss"], logits["loss"], rtol=1e-6)
    assert from_probs["probs"] is not None and np.allclose(from_probs["probs"], probs)


# ---------------------------------------------------------------------------- snippets and subgraphs
def test_snippets_carry_structures_and_insert_them_with_fresh_ids(tmp_path):
    from haibal_py.snippets import Snippet, insert_snippet, load_snippet
    g = new_graph()
    x = g.add_input("x", default=np.arange(6.0).reshape(3, 2), type="float[2]")
    fl = sum_rows_loop(g, x)
    zero = _const_named(g, "zero")
    sn = Snippet.from_selection(g, [zero, fl], "row sums", "sums of rows in a For Loop")
    json_path, png_path = sn.save(tmp_path)
    back = load_snippet(png_path)
    assert back.to_dict() == sn.to_dict()
    assert sorted(back.inputs) == ["x"] and sorted(back.outputs) == ["sums", "total"]
    target = new_graph()
    first = insert_snippet(target, back, at=(0, 0), on_clash="rename")
    second = insert_snippet(target, back, at=(0, 500), on_clash="rename")
    assert first[fl] == fl and second[fl] != fl  # the second copy's structure and inner nodes get new ids
    inner_ids = [set(target.structure(s).body.nodes) for s in (first[fl], second[fl])]
    assert not inner_ids[0] & inner_ids[1]
    assert sorted(target.outputs) == ["sums", "sums_2", "total", "total_2"]
    assert target.validate() == []
    outs = Runtime(target).run().outputs
    for name in ("sums", "sums_2"):
        np.testing.assert_array_equal(outs[name], [1.0, 5.0, 9.0])


def test_a_loop_collapsed_into_a_subgraph_and_expanded_computes_the_same():
    from haibal_py.subgraphs import collapse, expand
    g = new_graph()
    x = g.add_input("x", default=np.arange(6.0).reshape(3, 2), type="float[2]")
    fl = sum_rows_loop(g, x)
    before = Runtime(g).run().outputs
    sub = collapse(g, [_const_named(g, "zero"), fl], "rows")
    assert fl not in g.nodes and g.validate() == []
    during = Runtime(g).run().outputs
    np.testing.assert_array_equal(during["sums"], before["sums"])
    mapping = expand(g, sub)
    assert mapping[fl] == fl and g.locate("row_sum") is g.structure(fl).body
    np.testing.assert_array_equal(Runtime(g).run().outputs["sums"], before["sums"])


# ---------------------------------------------------------------------------- the schema and the command line
def test_the_fast_check_and_the_json_schema_agree_on_structure_documents():
    import copy as _copy

    import jsonschema

    from haibal_py.files import graph_format as fmt
    g = new_graph()
    x = g.add_input("x", default=np.ones((2, 2)), type="float[2]")
    sum_rows_loop(g, x)
    cs = g.add_case([0, "a"], default=True)  # mixed kinds: a validation problem, not a format one
    g.structure(cs).set_size((300, 200))
    good = g.to_dict()
    validator = jsonschema.Draft202012Validator(fmt.schema())
    assert fmt._conforms(good) and not list(validator.iter_errors(good))
    loop = next(i for i, n in enumerate(good["nodes"]) if n["type"] == "haibal.structure.ForLoop")
    mutations = [
        lambda d: d["nodes"][loop]["structure"].pop("diagrams"),
        lambda d: d["nodes"][loop]["structure"]["diagrams"].clear(),
        lambda d: d["nodes"][loop]["structure"]["terminals"][0].update(kind="pipe"),
        lambda d: d["nodes"][loop]["structure"]["terminals"][0].update(direction="up"),
        lambda d: d["nodes"][loop]["structure"]["terminals"][0].update(indexing="yes"),
        lambda d: d["nodes"][loop]["structure"]["terminals"][0].update(name=""),
        lambda d: d["nodes"][loop]["structure"].update(size=[1, -2]),
        lambda d: d["nodes"][loop]["structure"].update(extra=1),
        lambda d: d["nodes"][loop]["structure"]["diagrams"][0].update(values=[1.5]),
        lambda d: d["nodes"][loop]["structure"]["diagrams"][0].update(default="no"),
        lambda d: d["nodes"][loop]["structure"]["diagrams"][0]["nodes"][0].update(id="1bad"),
        lambda d: d["nodes"][loop]["structure"]["diagrams"][0]["connections"].append({"from": ["a"], "to": ["b", "c"]}),
    ]
    for mutate in mutations:
        bad = _copy.deepcopy(good)
        mutate(bad)
        assert not fmt._conforms(bad)
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(GraphFormatError):
            fmt.check_document(bad)


def test_haibal_run_validate_info_and_set_reach_inside_structures(tmp_path):
    import subprocess
    import sys
    g = new_graph()
    counting_while(g)
    path = tmp_path / "count.json"
    g.save(path)

    def haibal(*args):
        return subprocess.run([sys.executable, "-m", "haibal_py", *args], capture_output=True, text=True, timeout=120)

    run = haibal("run", str(path), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["outputs"]["acc"]["value"] == 10.0
    inner = next(gid for gid, gn in g.structure(_loop_id(g)).body.nodes.items() if gn.type_id.endswith("Add"))
    assert haibal("run", str(path), "--set", f"{_const_named(g, 'one')}.value=2", "--json").returncode == 0
    info = haibal("info", str(path))
    assert info.returncode == 0 and "format version 2" in info.stdout and "terminal 'acc': shift register" in info.stdout
    assert f"{inner}  haibal.math.Add" in info.stdout
    limited = haibal("run", str(path), "--limit", "max_loop_iterations=3")
    assert limited.returncode == 2 and "max_loop_iterations" in limited.stderr
    g.structure(_loop_id(g)).body.disconnect(inner, "result", g.structure(_loop_id(g)).terminal_node("acc", side="sink"),
                                             "value")
    g.save(path)
    bad = haibal("validate", str(path))
    assert bad.returncode == 2 and "shift register 'acc' is not fed inside the loop" in bad.stdout


def _loop_id(g):
    return next(gid for gid, gn in g.nodes.items() if gn.type_id.startswith("haibal.structure."))
