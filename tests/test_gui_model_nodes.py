"""Model graphs in the editor: the CNN example opens and runs, its Model Summary shows Keras'
table and a weights histogram per layer in the Viewers panel, and a model built from the
palette is checked as it is wired."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from haibal_py.files.graph_format import npz_files_of

pytest.importorskip("pytestqt")

from gui_helpers import from_palette, run_and_wait, set_in_properties  # noqa: E402
from haibal_py.gui.model_view import ModelView, histogram  # noqa: E402
from keras_refs import load_model_case  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def window(open_editor):
    return open_editor(size=(1600, 950))


def test_the_cnn_example_shows_its_summary_and_weights_histograms(window, qtbot, tmp_path):
    case = load_model_case("cnn")
    window.open(ROOT / "examples" / "model_cnn.json")
    assert window.canvas.broken_wires() == {}
    run_and_wait(window, qtbot)
    view = window.viewers.view("model_summary")
    assert isinstance(view, ModelView)
    table = view.table
    rows = [[table.item(i, j).text() for j in range(3)] for i in range(table.rowCount())]
    assert rows == [[f"{r['name']} ({r['class_name']})", "(" + ", ".join(map(str, r["output_shape"])) + ")",
                     f"{r['params']:,}"] for r in case["layers"]]
    assert "12,810 parameters" in view.label.text() and "(None, 10)" in view.label.text()
    assert case["summary"] in view.toolTip()
    assert list(view.plots) == ["conv1", "conv2", "classifier"]  # the layers with weights
    model = window.model.runtime.last_result.values["cnn"]["model"]
    kernel_and_bias = np.concatenate([w.ravel() for w in model.get_layer("conv2").get_weights()])
    (item,) = view.plots["conv2"].listDataItems()
    x, y = item.getData()
    counts, edges = histogram(kernel_and_bias)
    np.testing.assert_array_equal(y, counts)
    assert counts.sum() == 4640
    # saved from the editor after the run: the graph file and its weights beside it
    window.save(tmp_path / "cnn.json")
    (npz_file,) = npz_files_of(tmp_path / "cnn.json")
    with np.load(npz_file, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["cnn/conv2/kernel"], model.get_layer("conv2").kernel)
    view.tabs.setCurrentIndex(1)  # the Weights tab in the picture
    window.fit_view()
    qtbot.wait(50)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    assert image.save(str(out / "model_cnn.png")) and image.width() >= 1200


def test_a_model_wired_from_the_palette_is_checked_and_runs(window, qtbot):
    inp = from_palette(window, "haibal.layers.Input")
    set_in_properties(window, inp, "shape", "12")
    dense = from_palette(window, "haibal.layers.Dense")
    conv = from_palette(window, "haibal.layers.Conv2D")
    model = from_palette(window, "haibal.model.Model")
    summ = from_palette(window, "haibal.model.ModelSummary")
    m, canvas = window.model, window.canvas
    m.connect(inp, "y", dense, "x")
    m.connect(dense, "y", model, "outputs")
    m.connect(model, "model", summ, "model")
    conn = m.connect(dense, "y", conv, "x")  # a rank-2 wire into a Conv2D: broken, and drawn so
    window.refresh_checks()
    reason = canvas.broken_wires()[conn]
    assert "model[4]" in reason and "model(None, 32)" in reason
    with qtbot.waitSignal(window.run_finished) as sig:
        assert not window.run_graph()  # the graph does not run while a wire is broken
    assert sig.args == [False] and "type mismatch" in window.status.text()
    m.remove([conv])
    window.refresh_checks()
    assert canvas.broken_wires() == {}
    run_and_wait(window, qtbot)
    view = window.viewers.view(summ)
    assert "416 parameters" in view.label.text()  # 12 * 32 + 32
    assert list(view.plots) == ["dense"]
