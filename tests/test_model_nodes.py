"""Model nodes: the Model node (building, state, seeds), Predict, Model Summary, weights files.

The example models of the Keras references (tests/example_models.py) are built here as node
graphs (tests/graph_api.py): their summaries and parameter counts equal Keras' text and
counts, and with Keras' weights put in the Model node's state their predictions equal Keras'.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from haibal_py.files.graph_format import npz_files_of
import pytest

import example_models
from graph_api import GraphAPI
from haibal_py.graph.parts import GraphValidationError
from haibal_py.graph.model import Graph
from haibal_py.numeric import seeding
from haibal_py.numeric.models import Functional, Sequential
from haibal_py.numeric.models.summary import summary_text
from haibal_py.runtime import NodeRunError, Runtime
from keras_refs import assert_close, load_model_case

ROOT = Path(__file__).resolve().parent.parent
SUMMARY_COLUMNS = 200  # the Model Summary node's layout width, and the references' terminal


def example_graph(name: str):
    """The example model ``name`` as a graph: (graph, Model node id)."""
    api = GraphAPI(name)
    model_id = example_models.MODELS[name][0](api)
    return api.graph, model_id


def add_predict(graph: Graph, model_id: str, xs: list[np.ndarray], batch_size: int = 32) -> str:
    pred = graph.add_node("haibal.model.Predict", "predict", {"batch_size": batch_size})
    graph.connect(model_id, "model", pred, "model")
    for k, (port, x) in enumerate(zip(("x", "x_2", "x_3"), xs)):
        gi = graph.add_input(f"x{k}", x, "any")
        graph.connect(gi, "value", pred, port)
    out = graph.add_output("y")
    graph.connect(pred, "y", out, "value")
    return pred


def chain_graph(units=(6, 3), seed: int = 0, name: str = "mlp") -> tuple[Graph, str, list[str]]:
    g = Graph(name=name)
    x = g.add_node("haibal.layers.Input", "features", {"shape": "5"})
    ids, prev = [], x
    for k, u in enumerate(units):
        d = g.add_node("haibal.layers.Dense", f"dense_{k}", {"units": u, "activation": "tanh"})
        g.connect(prev, "y", d, "x")
        ids.append(d)
        prev = d
    m = g.add_node("haibal.model.Model", name, {"seed": seed})
    g.connect(prev, "y", m, "outputs")
    return g, m, ids


# ---------------------------------------------------------------------------- Keras references
@pytest.mark.parametrize("name", list(example_models.MODELS))
def test_example_models_built_from_nodes_summarise_and_predict_as_keras(name):
    case = load_model_case(name)
    graph, model_id = example_graph(name)
    assert graph.validate() == []
    model = Runtime(graph).run().values[model_id]["model"]
    assert type(model) is (Sequential if case["class_name"] == "Sequential" else Functional)
    assert summary_text(model, columns=SUMMARY_COLUMNS) == case["summary"]
    assert model.count_params() == case["count_params"]
    assert [list(model.output_shape)] == case["symbolic_output_shapes"]
    # Keras' weights through the node's state (model.weights order): the predictions are Keras'
    node = graph.nodes[model_id].node
    keys = [k for k in node.state if k != "seed"]
    assert [tuple(node.state[k].shape) for k in keys] == [tuple(s) for s in case["weight_shapes"]]
    assert [k.split("/")[-1] for k in keys] == [p.split("/")[-1] for p in case["weight_paths"]]
    graph.set_state(model_id, {**dict(zip(keys, case["w"])), "seed": np.int64(0)})
    add_predict(graph, model_id, case["x"])
    result = Runtime(graph).run()
    assert_close(result.outputs["y"], case["y"][0], f"{name}: predictions of the node-built model")


def test_the_model_summary_node_gives_keras_text_counts_and_shape():
    case = load_model_case("bn_dropout")
    graph, model_id = example_graph("bn_dropout")
    summ = graph.add_node("haibal.model.ModelSummary")
    graph.connect(model_id, "model", summ, "model")
    for port in ("summary", "total_params", "trainable_params", "non_trainable_params", "output_shape"):
        out = graph.add_output(port)
        graph.connect(summ, port, out, "value")
    outs = Runtime(graph).run().outputs
    assert outs["summary"] == case["summary"]
    assert (outs["total_params"], outs["trainable_params"], outs["non_trainable_params"]) == \
        (case["count_params"], case["trainable_params"], case["non_trainable_params"]) == (257, 225, 32)
    assert outs["output_shape"] == "(None, 1)"


def test_show_trainable_and_several_outputs_in_the_summary():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "x", {"shape": "4"})
    a = g.add_node("haibal.layers.Dense", "a", {"units": 3, "trainable": False})
    b = g.add_node("haibal.layers.Dense", "b", {"units": 2})
    m = g.add_node("haibal.model.Model", "two_heads")
    s = g.add_node("haibal.model.ModelSummary", None, {"show_trainable": True})
    g.connect(x, "y", a, "x")
    g.connect(x, "y", b, "x")
    g.connect(a, "y", m, "outputs")
    g.connect(b, "y", m, "outputs_2")
    g.connect(m, "model", s, "model")
    values = Runtime(g).run().values[s]
    assert values["output_shape"] == "[(None, 3), (None, 2)]"
    assert (values["trainable_params"], values["non_trainable_params"]) == (10, 15)
    assert "Trainable" in values["summary"] and " N " in values["summary"] and " Y " in values["summary"]


def test_the_example_graph_runs_headlessly_and_prints_keras_shape_and_count():
    case = load_model_case("cnn")
    run = subprocess.run([sys.executable, "-m", "haibal_py", "run", "examples/model_cnn.json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split(None, 1) == ["output_shape", repr("(None, 10)")]
    assert lines[1].split() == ["total_params", str(case["count_params"])] == ["total_params", "12810"]
    assert lines[2] == "summary:"
    assert "\n".join(lines[3:]) + "\n" == case["summary"]
    js = subprocess.run([sys.executable, "-m", "haibal_py", "run", "examples/model_cnn.json", "--json"],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)
    outputs = json.loads(js.stdout)["outputs"]
    assert outputs["total_params"]["value"] == 12810 and outputs["output_shape"] == "(None, 10)"
    assert outputs["summary"] == case["summary"]


# ---------------------------------------------------------------------------- the Model node
def test_a_chain_is_a_sequential_model_and_model_class_can_ask_for_functional():
    g, m, _ = chain_graph()
    model = Runtime(g).run().values[m]["model"]
    assert type(model) is Sequential and model.name == "mlp"
    assert [layer.name for layer in model.layers] == ["dense_0", "dense_1"]
    g.set_param(m, "model_class", "Functional")
    model = Runtime(g).run().values[m]["model"]
    assert type(model) is Functional
    assert [layer.name for layer in model.layers] == ["features", "dense_0", "dense_1"]


def test_model_class_sequential_refuses_a_branching_graph():
    graph, model_id = example_graph("two_inputs_skip")
    graph.set_param(model_id, "model_class", "Sequential")
    with pytest.raises(NodeRunError, match="model_class 'Sequential' needs a chain"):
        Runtime(graph).run()


def test_weights_start_from_the_seed_reproducibly_without_touching_the_process_generator():
    before = seeding.global_rng().bit_generator.state
    g1, m1, _ = chain_graph(seed=3)
    g2, m2, _ = chain_graph(seed=3)
    w1 = Runtime(g1).run().values[m1]["model"].get_weights()
    w2 = Runtime(g2).run().values[m2]["model"].get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2))
    assert seeding.global_rng().bit_generator.state == before
    g3, m3, _ = chain_graph(seed=4)
    w3 = Runtime(g3).run().values[m3]["model"].get_weights()
    assert not np.array_equal(w1[0], w3[0])


def test_the_state_holds_the_weights_and_seed_and_is_saved_with_the_graph(tmp_path):
    g, m, _ = chain_graph()
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    add_predict(g, m, [x])
    y0 = Runtime(g).run().outputs["y"]
    state = g.nodes[m].node.state
    assert list(state) == ["dense_0/kernel", "dense_0/bias", "dense_1/kernel", "dense_1/bias", "seed"]
    # weights changed by hand (as training would): saved beside the graph, restored on load
    trained = {k: (v + 0.5 if k != "seed" else v) for k, v in state.items()}
    g.set_state(m, trained)
    y1 = Runtime(g).run().outputs["y"]
    assert not np.allclose(y0, y1)
    g.save(tmp_path / "mlp.json")
    (npz_file,) = npz_files_of(tmp_path / "mlp.json")  # the graph's array file, named by its content
    with np.load(npz_file, allow_pickle=False) as npz:
        assert f"{m}/dense_0/kernel" in npz.files
    loaded = Graph.load(tmp_path / "mlp.json")
    np.testing.assert_array_equal(Runtime(loaded).run().outputs["y"], y1)
    run = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(tmp_path / "mlp.json"), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    np.testing.assert_allclose(json.loads(run.stdout)["outputs"]["y"]["value"], y1, rtol=1e-6)


def test_unchanged_layers_keep_their_weights_and_a_new_seed_starts_anew():
    g, m, (d0, d1) = chain_graph()
    rt = Runtime(g)
    first = rt.run().values[m]["model"]
    g.set_param(d1, "units", 4)  # the last layer changes shape
    second = rt.run().values[m]["model"]
    np.testing.assert_array_equal(second.get_layer("dense_0").get_weights()[0],
                                  first.get_layer("dense_0").get_weights()[0])
    assert second.get_layer("dense_1").get_weights()[0].shape == (6, 4)
    g.set_param(m, "seed", 9)
    third = rt.run().values[m]["model"]
    assert not np.array_equal(third.get_layer("dense_0").get_weights()[0],
                              first.get_layer("dense_0").get_weights()[0])
    assert int(g.nodes[m].node.state["seed"]) == 9


def test_each_run_gives_a_new_model_object_so_downstream_changes_do_not_leak():
    g, m, _ = chain_graph()
    rt = Runtime(g)
    model = rt.run().values[m]["model"]
    model.get_layer("dense_0").kernel[...] = 0.0  # a node downstream changing its model in place
    assert not np.all(g.nodes[m].node.state["dense_0/kernel"] == 0.0)
    g.set_param(m, "model_class", "Functional")
    again = rt.run().values[m]["model"]
    assert again is not model and not np.all(again.get_layer("dense_0").kernel == 0.0)


def test_layer_names_follow_node_names_and_are_made_unique():
    g = Graph()
    x = g.add_node("haibal.layers.Input")
    a = g.add_node("haibal.layers.Dense")
    b = g.add_node("haibal.layers.Dense")
    c = g.add_node("haibal.layers.Dense", "my head/out")
    m = g.add_node("haibal.model.Model")
    g.set_param(x, "shape", "4")
    g.connect(x, "y", a, "x")
    g.connect(a, "y", b, "x")
    g.connect(b, "y", c, "x")
    g.connect(c, "y", m, "outputs")
    model = Runtime(g).run().values[m]["model"]
    assert model.name == "model"
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "my_head_out"]
    assert model.inputs[0].name == "input_layer"


def test_two_model_nodes_on_one_definition_share_no_layer():
    g, m, (d0, d1) = chain_graph()
    m2 = g.add_node("haibal.model.Model", "first_part")
    g.connect(d0, "y", m2, "outputs")
    values = Runtime(g).run().values
    whole, part = values[m]["model"], values[m2]["model"]
    assert part.get_layer("dense_0") is not whole.get_layer("dense_0")
    assert part.output_shape == (None, 6) and whole.output_shape == (None, 3)


# ---------------------------------------------------------------------------- Predict
def test_predict_in_batches_and_with_several_inputs():
    case = load_model_case("two_inputs_skip")
    graph, model_id = example_graph("two_inputs_skip")
    Runtime(graph).run()
    keys = [k for k in graph.nodes[model_id].node.state if k != "seed"]
    graph.set_state(model_id, {**dict(zip(keys, case["w"])), "seed": np.int64(0)})
    pred = add_predict(graph, model_id, case["x"], batch_size=2)
    result = Runtime(graph).run()
    assert_close(result.outputs["y"], case["y"][0], "two inputs, batches of 2")
    assert result.values[pred]["y_2"] is None
    c = next(c for c in graph.incoming(pred) if c.dst_port == "x_2")
    graph.disconnect(c.src, c.src_port, c.dst, c.dst_port)
    with pytest.raises(NodeRunError, match=r"takes 2 input\(s\) \(input_a, input_b\), 1 wired"):
        Runtime(graph).run()


def test_a_model_wire_into_predict_or_a_model_into_a_layer_is_a_broken_wire():
    g, m, (d0, _) = chain_graph()
    pred = g.add_node("haibal.model.Predict")
    g.connect(d0, "y", pred, "model")
    after = g.add_node("haibal.layers.Dense")
    g.connect(m, "model", after, "x")
    problems = {(p.node, p.port): p.message for p in g.validate()}
    assert "expects model[0] here" in problems[(pred, "model")]
    assert "expects model[2+] here, but" in problems[(after, "x")] and "gives model[0]" in problems[(after, "x")]


# ---------------------------------------------------------------------------- weights files
@pytest.mark.parametrize("filename", ["weights/mlp.weights.npz", "mlp.safetensors"])
def test_save_and_load_weights_through_files_beside_the_graph(tmp_path, filename):
    g, m, _ = chain_graph()
    save = g.add_node("haibal.model.SaveWeights", None, {"path": filename})
    g.connect(m, "model", save, "model")
    g.save(tmp_path / "g.json")  # relative paths start at the graph's folder
    g = Graph.load(tmp_path / "g.json")
    saved_model = Runtime(g).run().values[save]["model"]
    assert (tmp_path / filename).is_file()
    # another graph: a model with other weights (another seed), loading the file
    g2, m2, _ = chain_graph(seed=5)
    g2.base_dir = tmp_path  # files stay inside the graph's folder (the file policy)
    load = g2.add_node("haibal.model.LoadWeights", None, {"path": filename})
    g2.connect(m2, "model", load, "model")
    values = Runtime(g2).run().values
    loaded, original = values[load]["model"], values[m2]["model"]
    assert all(np.array_equal(a, b) for a, b in zip(loaded.get_weights(), saved_model.get_weights()))
    assert not np.array_equal(original.get_weights()[0], saved_model.get_weights()[0])  # untouched: a copy


def test_load_weights_refuses_a_file_of_another_architecture(tmp_path):
    g, m, _ = chain_graph(units=(6, 3))
    g.base_dir = tmp_path
    save = g.add_node("haibal.model.SaveWeights", None, {"path": "a.weights.npz"})
    g.connect(m, "model", save, "model")
    Runtime(g).run()
    g2, m2, _ = chain_graph(units=(7, 3))
    g2.base_dir = tmp_path
    load = g2.add_node("haibal.model.LoadWeights", None, {"path": "a.weights.npz"})
    g2.connect(m2, "model", load, "model")
    with pytest.raises(NodeRunError, match="dense_0/kernel"):
        Runtime(g2).run()


def test_load_weights_reads_the_file_again_when_it_changes(tmp_path):
    path = tmp_path / "w.weights.npz"
    g, m, _ = chain_graph()
    rt = Runtime(g)
    model = rt.run().values[m]["model"]
    model.save_weights(path)
    g.base_dir = tmp_path
    load = g.add_node("haibal.model.LoadWeights", None, {"path": path.name})
    g.connect(m, "model", load, "model")
    first = rt.run().values[load]["model"].get_weights()[1]
    model.get_layer("dense_0").bias[...] = 7.0
    model.save_weights(path)
    res = rt.run()
    assert load in res.ran
    np.testing.assert_array_equal(res.values[load]["model"].get_weights()[1], np.full(6, 7.0, np.float32))
    assert not np.array_equal(first, np.full(6, 7.0))


def test_the_model_node_refuses_what_is_not_a_model_wire():
    g, m, _ = chain_graph()
    second = g.add_node("haibal.model.Model", "again")
    g.connect(m, "model", second, "outputs")
    with pytest.raises(GraphValidationError, match="expects model\\[1\\+\\] here"):
        Runtime(g).run()


def test_a_model_whose_weights_exceed_the_limit_is_refused_before_allocating(tmp_path):
    """A graph says units=10**9 as easily as 10: the Model node's weights count against
    max_value_bytes before each is made (the CLI says so in one line, exit 2); raising
    the limit lets the same graph run."""
    from haibal_py.files.limits import Limits

    graph, model_id, _ = chain_graph(units=(6, 3))
    small = Limits(max_value_bytes=100)  # the first kernel alone, (5, 6) float32, is 120 bytes
    with pytest.raises(NodeRunError, match=r"model 'mlp', counting its weights up to dense_0/kernel "
                                           r"\(shape \(5, 6\), float32\), needs 120 bytes, more than the limit "
                                           r"max_value_bytes = 100 bytes"):
        Runtime(graph, limits=small).run()
    assert Runtime(graph, limits=small.raised(max_value_bytes=1000)).run().values[model_id]["model"].count_params() == 57
    huge, _, _ = chain_graph(units=(10 ** 9,))
    huge.save(tmp_path / "huge.json")
    run = subprocess.run([sys.executable, "-m", "haibal_py.cli", "run", str(tmp_path / "huge.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr  # refused input, as every limit
    (line,) = run.stderr.strip().splitlines()
    assert "dense_0/kernel (shape (5, 1000000000), float32), needs 18.6 GiB" in line and "--limit" in line
