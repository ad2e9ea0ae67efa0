"""Live values streamed by a running node, the Stop button, and the wire colours of the model kinds.

The node classes here are the test's own: an emitter that streams a live value per step
(``RunContext.emit``) and ends early when asked to (``RunContext.should_stop``), and a
node with HAIBAL's model wire. They are node types of the edited graph itself
(``Graph.local_types``, as collapsed subgraphs are), so the catalog is left alone.
"""

import sys
import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore  # noqa: E402

from haibal_py.graph import Connection  # noqa: E402
from haibal_py.gui.style import DARK, LIGHT, WIRE_CONTRAST, contrast, wire_width  # noqa: E402
from haibal_py.node import HelpText, Instance, Node, Param, Port  # noqa: E402
from haibal_py.node.types import KINDS, PortType, register_kind  # noqa: E402
from gui_helpers import key, run_and_wait  # noqa: E402

SCALAR = PortType("float", 0, 0)


def _emit_steps(node, values):
    ctx = node.context
    done = 0
    for i in range(node.values["steps"]):
        if ctx.should_stop():
            break
        ctx.emit("training", {"step": i, "loss": 1.0 / (i + 1), "accuracy": i / (i + 1)})
        ctx.emit("lr", 0.01)
        done = i + 1
        if node.values["delay"]:
            time.sleep(node.values["delay"])
    return {"value": float(done)}


class Emitter(Node):
    type_id = "test.Emitter"
    category = "Test"
    display_name = "Emitter"
    help = HelpText("Streams one point per step as a live value; ends early when the run is stopped.")
    outputs = (Port("value", SCALAR, "how many steps it made"),)
    params = (Param("steps", "int", 10, "steps to make"), Param("delay", "float", 0.0, "seconds between steps"))
    instances = (Instance("loop", {}, {"value": SCALAR}, _emit_steps),)


class ModelMaker(Node):
    type_id = "test.ModelMaker"
    category = "Test"
    display_name = "Model Maker"
    help = HelpText("Passes a model wire on (for the wire colours).")
    outputs = (Port("model", PortType("model"), "a model"),)
    instances = (Instance("make", {}, {"model": PortType("model")}, lambda node, values: {"model": object()}),)


@pytest.fixture
def window(open_editor):
    w = open_editor()
    w.model.graph.local_types.update({Emitter.type_id: Emitter, ModelMaker.type_id: ModelMaker})
    return w


def emitter_graph(window, steps, delay):
    m = window.model
    em = m.add_node(Emitter.type_id, params={"steps": steps, "delay": delay}, pos=(0, 0))
    elu = m.add_node("haibal.activations.ELU", pos=(250, 0))
    out = m.add_node("haibal.io.GraphOutput", name="steps", pos=(500, 0))
    m.connect(em, "value", elu, "x")
    m.connect(elu, "result", out, "value")
    return em, elu, out


def test_live_values_reach_a_live_plot_one_series_per_name(window, qtbot):
    em, elu, out = emitter_graph(window, steps=40, delay=0.0)
    received = []
    window.live_values.connect(received.extend)  # any display of one's own can listen too
    run_and_wait(window, qtbot)
    assert [e[2] for e in received if e[1] == "lr"] == [0.01] * 40 and {e[0] for e in received} == {em}
    plot = window.viewers.entries[("live", em)].view
    assert set(plot.series) == {"loss", "accuracy", "lr"}
    xs, ys = plot.series["loss"]
    assert xs == [float(i) for i in range(40)]
    np.testing.assert_allclose(ys, [1.0 / (i + 1) for i in range(40)])
    assert plot.series["lr"][1] == [0.01] * 40 and plot.series["lr"][0] == [float(i) for i in range(40)]
    curves = {c.name(): c for c in plot.plot.getPlotItem().listDataItems()}
    np.testing.assert_allclose(curves["loss"].yData, ys)
    assert window.viewers.entries[("live", em)].title().startswith("Emitter (live)")
    # a run that reuses the emitter's cached output keeps its curve (nothing ran again)
    window.model.set_param(elu, "alpha", 0.5)
    run_and_wait(window, qtbot)
    assert len(plot.series["loss"][0]) == 40
    # a run of the emitter itself starts a fresh curve
    window.model.set_param(em, "steps", 5)
    run_and_wait(window, qtbot)
    assert plot.series["loss"][0] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_events_are_read_while_the_run_goes_on(window, qtbot):
    em, elu, out = emitter_graph(window, steps=100_000, delay=0.001)
    assert window.run_graph()
    plot = window.viewers.live(em, "Emitter")
    qtbot.waitUntil(lambda: len(plot.series.get("loss", ([], []))[0]) > 20, timeout=10_000)
    assert window.is_running()  # the UI thread drew points while the worker was still emitting
    with qtbot.waitSignal(window.run_finished, timeout=10_000):
        window.stop_run()


def test_the_stop_key_ends_the_run_and_keeps_what_ran(window, qtbot):
    em, elu, out = emitter_graph(window, steps=10_000_000, delay=0.001)
    assert window.run_graph()
    assert window.act_stop.isEnabled() and not window.act_run.isEnabled()
    qtbot.waitUntil(lambda: window.worker is not None and window.worker.events.emitted > 20, timeout=10_000)
    with qtbot.waitSignal(window.run_finished, timeout=10_000) as sig:
        key(window, QtCore.Qt.Key_Period, QtCore.Qt.ControlModifier)  # Ctrl+. as in LabVIEW
    assert sig.args == [True]
    result = window.last_result
    assert result.stopped and result.ran == [em]  # the nodes after it did not start
    made = window.value(em)
    assert 10 <= made < 10_000_000
    assert elu not in result.values and window.canvas.states.get(elu, "idle") != "done"
    assert "stopped" in window.status.text()
    assert not window.is_running() and not window.model.locked and window.act_run.isEnabled()
    # the next run computes the stopped node again, and the rest
    window.model.set_param(em, "steps", 3)
    run_and_wait(window, qtbot)
    assert window.last_result.ran == [em, elu, out] and window.value("steps") == 3.0


def test_edits_wait_for_the_run_but_moving_does_not(window, qtbot):
    em, elu, out = emitter_graph(window, steps=10_000_000, delay=0.001)
    assert window.run_graph()
    qtbot.waitUntil(lambda: window.worker is not None and window.worker.events.emitted > 3, timeout=10_000)
    assert window.model.locked
    window.set_param(elu, "alpha", 2.0)
    assert window.model.graph.nodes[elu].params["alpha"] == 1.0 and "running" in window.status.text()
    window.model.move({elu: (300.0, 40.0)})
    assert window.model.graph.nodes[elu].pos == (300.0, 40.0)
    with qtbot.waitSignal(window.run_finished, timeout=10_000):
        window.stop_run()


def test_the_collector_pauses_during_a_run_only(window, qtbot):
    """The one process-wide setting a window touches (see ``window._CollectorPause``): the
    collector is paused during its runs and put back after, also when the window closes."""
    import gc
    interval = sys.getswitchinterval()
    assert gc.isenabled()
    em, elu, out = emitter_graph(window, steps=10_000_000, delay=0.001)
    assert window.run_graph()
    assert not gc.isenabled() and sys.getswitchinterval() == interval
    with qtbot.waitSignal(window.run_finished, timeout=10_000):
        window.stop_run()
    assert gc.isenabled()
    assert window.run_graph()
    assert not gc.isenabled()
    assert window.close()  # closing a running window stops the run and puts the collector back
    assert not window.is_running() and gc.isenabled() and sys.getswitchinterval() == interval


def test_every_kind_has_its_own_wire_colour_with_contrast():
    kinds = list(KINDS) + [register_kind("test_tensor_list")]
    for theme in (DARK, LIGHT):
        colours = {k: theme.kind_color(k) for k in kinds}
        for k, c in colours.items():
            assert contrast(c, theme.canvas) >= WIRE_CONTRAST, (theme.name, k, c)
        assert len(set(colours.values())) == len(kinds), (theme.name, colours)
    assert wire_width(PortType("model")) > max(wire_width(PortType.of("float", r)) for r in (0, 1, 2))


def test_a_model_wire_is_drawn_in_its_colour(window):
    m = window.model
    src = m.add_node(ModelMaker.type_id)
    view = m.add_node("haibal.viewers.ValueDisplay")
    m.connect(src, "model", view, "value")
    window.refresh_checks()
    pipe = window.canvas.pipe_item(Connection(src, "model", view, "value"))
    assert pipe.pen().color().getRgb()[:3] == DARK.kind_color("model")
    assert pipe.pen().width() == wire_width(PortType("model"))
    assert window.canvas.item(src).port_states[("out", "model")]["color"] == DARK.kind_color("model")
