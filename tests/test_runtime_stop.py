"""``Runtime.stop()``: the running node may end early, the nodes after it do not start, what ran is kept,
and the next run computes the stopped node and the rest."""

import threading

from haibal_py.graph import Graph
from haibal_py.node import HelpText, Instance, Node, Param, Port
from haibal_py.node.types import PortType
from haibal_py.runtime import Runtime

SCALAR = PortType("float", 0, 0)


def _count_until_stopped(node, values):
    ctx, done = node.context, 0
    for i in range(node.values["steps"]):
        if ctx.should_stop():
            break
        ctx.emit("step", i)
        done = i + 1
    return {"value": float(done)}


class Counter(Node):
    type_id = "test.Counter"
    display_name = "Counter"
    help = HelpText("Counts steps until stopped.")
    outputs = (Port("value", SCALAR, "steps made"),)
    params = (Param("steps", "int", 10, "steps"),)
    instances = (Instance("count", {}, {"value": SCALAR}, _count_until_stopped),)


class Watcher:
    def __init__(self, runtime):
        self.runtime, self.events = runtime, []

    def node_event(self, node_id, kind, payload):
        self.events.append(payload)
        if payload == 100:
            threading.Thread(target=self.runtime.stop).start()  # from another thread, as the editor does


def graph(steps):
    g = Graph("stop")
    g.local_types[Counter.type_id] = Counter
    c = g.add_node(Counter.type_id, params={"steps": steps})
    e = g.add_node("haibal.activations.ELU")
    g.connect(c, "value", e, "x")
    g.connect(e, "result", g.add_output("y"), "value")
    return g, c, e


def test_stop_ends_the_run_between_nodes_and_the_next_run_finishes_it():
    g, c, e = graph(10 ** 9)
    rt = Runtime(g)
    watcher = Watcher(rt)
    result = rt.run(observer=watcher)
    assert result.stopped and result.ok
    assert result.ran == [c] and c in result.values and e not in result.values and "y" not in result.outputs
    assert 100 < result.values[c]["value"] < 10 ** 9
    g.set_param(c, "steps", 3)
    again = rt.run()
    assert not again.stopped and again.ran == [c, e, "y"] and again.outputs["y"] == 3.0


def test_a_stopped_node_is_computed_again_even_unchanged():
    g, c, e = graph(10 ** 9)
    rt = Runtime(g)
    rt.run(observer=Watcher(rt))
    g.nodes[c].node.values["steps"] = 4  # changed behind the graph's back: only the stop makes it run again
    again = rt.run()
    assert again.ran[0] == c and again.outputs["y"] == 4.0


def test_a_stop_asked_before_a_run_is_forgotten_by_it():
    g, c, e = graph(7)
    rt = Runtime(g)
    rt.stop()
    result = rt.run()
    assert not result.stopped and result.outputs["y"] == 7.0
