"""A fit in the editor: its curves reach the Viewers panel's live plot while it runs (the UI
thread draws points as the worker trains), and Stop ends it after the current batch, keeping
the trained model; the history's values are those the plot showed."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_helpers import run_and_wait  # noqa: E402


def training_graph(window, epochs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 3))).argmax(1).astype(np.int64)
    m = window.model
    xi = m.add_node("haibal.io.GraphInput", name="x", params={"type": "any", "default": x}, pos=(0, 0))
    yi = m.add_node("haibal.io.GraphInput", name="y", params={"type": "any", "default": y}, pos=(0, 150))
    inp = m.add_node("haibal.layers.Input", params={"shape": "4"}, pos=(0, 300))
    dense = m.add_node("haibal.layers.Dense", params={"units": 3, "activation": "softmax"}, pos=(200, 300))
    model = m.add_node("haibal.model.Model", params={"seed": 0}, pos=(400, 300))
    session = m.add_node("haibal.training.TrainingSession", params={"learning_rate": 0.01}, pos=(600, 300))
    fit = m.add_node("haibal.training.Fit", params={"epochs": epochs, "batch_size": 8, "validation_split": 0.25},
                     pos=(800, 150))
    evaluate = m.add_node("haibal.training.Evaluate", pos=(1000, 150))
    out = m.add_node("haibal.io.GraphOutput", name="accuracy", pos=(1200, 150))
    m.connect(inp, "y", dense, "x")
    m.connect(dense, "y", model, "outputs")
    m.connect(model, "model", session, "model")
    m.connect(session, "session", fit, "session")
    m.connect(xi, "value", fit, "x")
    m.connect(yi, "value", fit, "y")
    m.connect(fit, "session", evaluate, "session")
    m.connect(xi, "value", evaluate, "x")
    m.connect(yi, "value", evaluate, "y")
    m.connect(evaluate, "metric", out, "value")
    return model, fit, evaluate


def test_fit_curves_are_live_and_stop_keeps_the_model(open_editor, qtbot):
    window = open_editor()
    model_node, fit, evaluate = training_graph(window, epochs=100_000)
    assert window.run_graph()
    plot = window.viewers.live(fit, "Fit")

    def steps():
        return len(set(plot.series.get("loss", ([], []))[0]))

    qtbot.waitUntil(lambda: steps() > 30 and "val_loss" in plot.series, timeout=30_000)
    assert window.is_running()  # the curves were drawn while the fit went on
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(plot.series)
    assert "batch" not in plot.series and "epoch" not in plot.series  # coordinates, not curves
    curve_names = {c.name() for c in plot.plot.getPlotItem().listDataItems()}
    assert {"loss", "val_loss"} <= curve_names
    with qtbot.waitSignal(window.run_finished, timeout=30_000):
        window.stop_run()
    result = window.last_result
    assert result.stopped
    model = result.values[fit]["model"]
    # the fit ended after the batch it was in: every step it took is a point of the live curve
    assert model.optimizer.iterations == steps() == max(plot.series["loss"][0])
    history = result.values[fit]["history"]
    val_xs, val_ys = plot.series["val_loss"]
    assert val_ys == history.history["val_loss"] and len(val_xs) == len(history.epoch)
    assert evaluate not in result.values  # nodes after a stop wait for the next run
    # the model is kept as the stop left it: it predicts, and its weights are not the first ones
    first = result.values[model_node]["model"]
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), first.get_weights()))
    assert model.predict(np.zeros((2, 4), np.float32)).shape == (2, 3)
    assert "stopped" in window.status.text()


def test_a_finished_fit_leaves_its_curves_and_a_rerun_starts_them_again(open_editor, qtbot):
    window = open_editor()
    _, fit, evaluate = training_graph(window, epochs=3)
    run_and_wait(window, qtbot)
    plot = window.viewers.live(fit, "Fit")
    assert len(set(plot.series["loss"][0])) == 3 * 6
    assert len(plot.series["val_loss"][0]) == 3
    assert 0.0 <= window.value(evaluate, "metric") <= 1.0
    window.model.set_param(fit, "epochs", 2)
    run_and_wait(window, qtbot)
    assert len(plot.series["val_loss"][0]) == 2


@pytest.mark.parametrize("example", ["train_digits", "train_digits_cnn"])
def test_zoom_to_fit_on_a_training_example_keeps_every_node_title(open_editor, qtbot, example):
    """The bundled training graphs fit a 1280x720 window with every node drawn in full
    (NodeGraphQt drops titles and port names of nodes narrower than its proxy threshold)."""
    from pathlib import Path

    window = open_editor()
    window.open(Path(__file__).resolve().parents[1] / "examples" / f"{example}.json")
    window.fit_view()
    qtbot.wait(50)  # a paint decides each node's drawing mode
    window.canvas.viewer.viewport().repaint()
    items = list(window.canvas.items.values())
    assert len(items) == len(window.model.graph.nodes) >= 15
    shown = window.canvas.viewer.mapToScene(window.canvas.viewer.viewport().rect()).boundingRect()
    for node in items:
        assert shown.contains(node.view.sceneBoundingRect()), node.name()
        assert node.view._text_item.isVisible(), f"{node.name()}: title hidden at scale {window.canvas.scale():.2f}"
