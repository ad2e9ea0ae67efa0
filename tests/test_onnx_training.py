"""The model trained by examples/train_digits.json, exported as ONNX, scores the same test
accuracy under onnxruntime as in haibal-py (in Python, and through ``haibal onnx export``,
which trains it again from the same seeds)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import haibal_py.onnx as honnx  # noqa: E402
from haibal_py.cli import main  # noqa: E402
from haibal_py.graph import Graph  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_digits.json"


def _accuracy(path, x, y) -> float:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
    return float(np.mean(np.argmax(probs, axis=1) == y)), probs


def test_trained_digits_model_scores_the_same_under_onnxruntime(tmp_path):
    graph_path = tmp_path / "train_digits.json"
    shutil.copy(EXAMPLE, graph_path)
    graph = Graph.load(graph_path)
    result = Runtime(graph).run({})
    assert result.ok, result.errors
    model = result.values["fit"]["model"]
    x_test, y_test = result.values["split"]["x_test"], result.values["split"]["y_test"]
    ours = float(result.outputs["test_accuracy"])
    assert ours > 0.95
    honnx.save(model, tmp_path / "digits.onnx")
    accuracy, probs = _accuracy(tmp_path / "digits.onnx", x_test, y_test)
    assert accuracy == pytest.approx(ours, abs=1e-9)
    np.testing.assert_allclose(probs, model.predict(x_test), atol=1e-5)
    # the command line trains the graph's model again (same seeds) and writes the trained one
    assert main(["onnx", "export", str(graph_path), "-o", str(tmp_path / "cli.onnx")]) == 0
    again, probs_again = _accuracy(tmp_path / "cli.onnx", x_test, y_test)
    assert again == pytest.approx(ours, abs=1e-9)
    np.testing.assert_allclose(probs_again, probs, atol=1e-5)
