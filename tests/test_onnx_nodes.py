"""ONNX in graphs: the layer nodes of the ONNX operator layers, Load ONNX / Save ONNX /
ONNX Runtime nodes, ``model_graph`` and the ``haibal onnx`` commands, on the fixtures."""

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from haibal_py.cli import main  # noqa: E402
from haibal_py.graph import Graph  # noqa: E402
from haibal_py.node.registry import CATALOG  # noqa: E402
from haibal_py.numeric import layers as L  # noqa: E402
from haibal_py.numeric.models import Model  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402
from haibal_py.testing import check_node_class  # noqa: E402

FIXTURES = Path(__file__).parent / "reference" / "onnx"
ONNX_TYPES = ["haibal.model.LoadONNX", "haibal.model.SaveONNX", "haibal.model.ONNXRuntime"] + \
    [f"haibal.layers.{n}" for n in ("OnnxElementwise", "OnnxMatMul", "OnnxEinsum", "OnnxUnary", "OnnxClip",
                                    "OnnxTranspose", "OnnxReshape", "OnnxGather", "OnnxSlice", "OnnxPad",
                                    "OnnxReduce", "OnnxExpand")]


@pytest.mark.parametrize("type_id", ONNX_TYPES)
def test_node_contract(type_id):
    check_node_class(CATALOG.get(type_id), check_imports=False)


def _data(name):
    return np.load(FIXTURES / f"{name}.npz")


@pytest.mark.parametrize("name", ["torch_cnn", "torch_bigru", "keras_cnn", "keras_lstm"])
def test_imported_model_as_a_graph_runs_with_the_same_numbers(tmp_path, name):
    graph = CATALOG.get("haibal.model.LoadONNX").graph_from_file(FIXTURES / f"{name}.onnx")
    assert graph.validate() == []
    graph.save(tmp_path / "g.json")
    again = Graph.load(tmp_path / "g.json")
    data = _data(name)
    result = Runtime(again).run({next(iter(again.inputs)): data["x"]})
    assert result.ok, result.errors
    np.testing.assert_allclose(next(iter(result.outputs.values())), data["y"], atol=1e-4)


def test_pytorch_cnn_graph_reads_left_to_right():
    graph = CATALOG.get("haibal.model.LoadONNX").graph_from_file(FIXTURES / "torch_cnn.onnx")
    kinds = {gn.type_id for gn in graph.nodes.values()}
    assert {"haibal.layers.Input", "haibal.layers.Conv2D", "haibal.layers.BatchNormalization",
            "haibal.layers.MaxPooling2D", "haibal.layers.Dense", "haibal.model.Model",
            "haibal.model.Predict"} <= kinds
    conv = next(gn for gn in graph.nodes.values() if gn.type_id == "haibal.layers.Conv2D")
    assert conv.name == "conv1_Conv" and conv.node.values["padding"] == "same"
    # every wire goes left to right, and no two nodes share a place
    for c in graph.connections:
        assert graph.nodes[c.src].pos[0] < graph.nodes[c.dst].pos[0]
    places = [gn.pos for gn in graph.nodes.values()]
    assert len(set(places)) == len(places)
    model = next(gn for gn in graph.nodes.values() if gn.type_id == "haibal.model.Model")
    assert "conv1_Conv/kernel" in model.node.state and "seed" in model.node.state


def test_load_save_and_runtime_nodes(tmp_path):
    pytest.importorskip("onnxruntime")
    data = _data("keras_mlp")
    shutil.copy(FIXTURES / "keras_mlp.onnx", tmp_path / "mlp.onnx")  # files inside the graph's folder
    g = Graph(name="nodes")
    load = g.add_node("haibal.model.LoadONNX", "load", {"path": "mlp.onnx"})
    save = g.add_node("haibal.model.SaveONNX", "save", {"path": "again.onnx", "opset": 18})
    predict = g.add_node("haibal.model.Predict", "predict")
    ort_file = g.add_node("haibal.model.ONNXRuntime", "ort_file", {"path": "again.onnx", "batch_size": 2})
    ort_model = g.add_node("haibal.model.ONNXRuntime", "ort_model")
    x = g.add_input("x")
    for src, dst, port in [(load, save, "model"), (save, predict, "model"), (save, ort_model, "model"),
                           (x, predict, "x"), (x, ort_file, "x"), (x, ort_model, "x")]:
        g.connect(src, "model" if src != x else "value", dst, port)
    for node, name in [(predict, "haibal"), (ort_file, "file"), (ort_model, "wired")]:
        g.connect(node, "y", g.add_output(name), "value")
    g.save(tmp_path / "g.json")
    graph = Graph.load(tmp_path / "g.json")
    result = Runtime(graph).run({"x": data["x"]})
    assert result.ok, result.errors
    for name in ("haibal", "file", "wired"):
        np.testing.assert_allclose(result.outputs[name], data["y"], atol=1e-5)
    assert (tmp_path / "again.onnx").exists()


def test_runtime_node_errors_name_the_problem(tmp_path):
    pytest.importorskip("onnxruntime")
    node = CATALOG.get("haibal.model.ONNXRuntime")(path=str(tmp_path / "missing.onnx"))
    with pytest.raises(ValueError, match="no ONNX file"):
        node(x=np.zeros((1, 12), "float32"))
    node = CATALOG.get("haibal.model.ONNXRuntime")(path=str(FIXTURES / "keras_mlp.onnx"))
    with pytest.raises(ValueError, match="takes 1 input"):
        node(x=np.zeros((1, 12), "float32"), x_2=np.zeros((1, 12), "float32"))
    with pytest.raises(ValueError, match="onnxruntime refused the inputs"):
        node(x=np.zeros((1, 5), "float32"))


def test_onnx_layer_nodes_build_with_their_constants():
    x = L.Input((4,), name="x")
    y = L.OnnxElementwise("mul", operands=["x", "w"], constant_shapes={"1": [4]}, name="scale")(x)
    y = L.OnnxSlice([1], [3], [1], [1], name="cut")(y)
    model = Model(x, y, name="small")
    model.layers[1]._constants[1][...] = [1.0, 2.0, 3.0, 4.0]
    from haibal_py.nodes.onnx import model_graph
    graph = model_graph(model)
    assert graph.nodes["scale"].node.values["operands"] == "x, w"
    assert graph.nodes["scale"].node.values["constant_shapes"] == '{"1": [4]}'
    result = Runtime(graph).run({"x": np.ones((2, 4), "float32")})
    np.testing.assert_allclose(result.outputs["cut"], [[2.0, 3.0]] * 2)


def test_cli_import_then_export(tmp_path, capsys):
    graph_path = tmp_path / "cnn.json"
    assert main(["onnx", "import", str(FIXTURES / "torch_cnn.onnx"), "-o", str(graph_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert graph_path.exists() and list(tmp_path.glob("cnn.arrays*.npz"))  # the weights beside it
    data = _data("torch_cnn")
    np.save(tmp_path / "x.npy", data["x"])
    assert main(["run", str(graph_path), "--input", f"input={tmp_path / 'x.npy'}", "--output",
                 str(tmp_path / "out.npz")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["output"], data["y"], atol=1e-4)
    out = tmp_path / "cnn.onnx"
    assert main(["onnx", "export", str(graph_path), "-o", str(out)]) == 0
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": data["x"]})[0], data["y"], atol=1e-4)


def test_cli_refusals(tmp_path, capsys):
    assert main(["onnx", "import", str(tmp_path / "none.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    assert main(["onnx", "import", str(bad), "-o", str(tmp_path / "g.json")]) == 2
    assert "not a readable ONNX model" in capsys.readouterr().err
    g = Graph(name="empty")
    g.add_input("x")
    g.save(tmp_path / "empty.json")
    assert main(["onnx", "export", str(tmp_path / "empty.json"), "-o", str(tmp_path / "m.onnx")]) == 2
    assert "no node gives a built model" in capsys.readouterr().err


def test_the_example_cnn_exports_with_the_same_numbers(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    example = Path(__file__).resolve().parents[1] / "examples" / "model_cnn.json"
    out = tmp_path / "cnn.onnx"
    assert main(["onnx", "export", str(example), "-o", str(out)]) == 0
    graph = Graph.load(example)
    model = Runtime(graph).run({}).values["cnn"]["model"]
    x = np.random.default_rng(0).random((5, 28, 28, 1)).astype("float32")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], model.predict(x), atol=1e-5)
