"""A PyTorch CNN (tests/reference/onnx/torch_cnn.onnx) imported with ``haibal onnx import``
opens in the editor as a readable graph (layer nodes left to right, no broken wire, no
problem) and runs: the Model node rebuilds the PyTorch weights and Predict gives
onnxruntime's numbers for the fixture's inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("onnx")

from gui_helpers import run_and_wait  # noqa: E402
from haibal_py.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "reference" / "onnx"


@pytest.fixture
def window(open_editor):
    return open_editor(size=(1600, 950))


def test_pytorch_cnn_opens_as_a_readable_graph_and_runs(window, qtbot, tmp_path):
    path = tmp_path / "torch_cnn.json"
    assert main(["onnx", "import", str(FIXTURES / "torch_cnn.onnx"), "-o", str(path)]) == 0
    window.open(path)
    graph = window.model.graph
    assert window.canvas.broken_wires() == {}
    assert [i.text for i in window.check_issues] == []
    # readable: every wire goes left to right, the layers carry their ONNX node names
    for c in graph.connections:
        assert graph.nodes[c.src].pos[0] < graph.nodes[c.dst].pos[0]
    names = {gn.name for gn in graph.nodes.values()}
    assert {"conv1_Conv", "bn1_BatchNormalization", "conv2_Conv", "output"} <= names
    run_and_wait(window, qtbot)
    result = window.model.runtime.last_result
    zeros = result.outputs["output"]
    data = np.load(FIXTURES / "torch_cnn.npz")
    from haibal_py.onnx import load
    np.testing.assert_allclose(zeros, load(FIXTURES / "torch_cnn.onnx").predict(np.zeros((1, 1, 28, 28), "float32")),
                               atol=1e-5)
    # the fixture's own inputs through the graph the editor holds give onnxruntime's outputs
    from haibal_py.runtime import Runtime
    again = Runtime(graph.copy()).run({"input": data["x"]})
    np.testing.assert_allclose(again.outputs["output"], data["y"], atol=1e-4)
    window.fit_view()
    qtbot.wait(50)
    out = ROOT / "tests" / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    image = window.grab()
    assert image.save(str(out / "onnx_torch_cnn.png")) and image.width() >= 1200
