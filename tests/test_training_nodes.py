"""Training, optimizer and dataset nodes in real graphs run by the runtime: Fit trains, streams
curves, stops after the current batch on a stop request, keeps its trained weights in the
saved graph and reuses them only while its fingerprint matches; the step-level nodes train
one step per run; optimizers, schedules and sessions are built from their parameters; the
shipped examples reach their accuracy and show their progress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import haibal_py.nodes  # noqa: F401
from haibal_py import datasets, optimizers
from haibal_py.graph.model import Graph
from haibal_py.numeric.models import Sequential
from haibal_py.runtime import NodeRunError, Runtime

ROOT = Path(__file__).resolve().parent.parent


def small_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x @ rng.normal(size=(4, 3))).argmax(1)


def training_graph(x, y, epochs=3, fit_params=None, session_params=None) -> Graph:
    g = Graph(name="train")
    inp = g.add_node("haibal.layers.Input", "features", {"shape": "4"}, id="features")
    h = g.add_node("haibal.layers.Dense", "hidden", {"units": 8, "activation": "relu"}, id="hidden")
    out = g.add_node("haibal.layers.Dense", "probs", {"units": 3, "activation": "softmax"}, id="probs")
    g.connect(inp, "y", h, "x")
    g.connect(h, "y", out, "x")
    m = g.add_node("haibal.model.Model", "net", {"seed": 1}, id="net")
    g.connect(out, "y", m, "outputs")
    s = g.add_node("haibal.training.TrainingSession", "session",
                   {"learning_rate": 0.01, **(session_params or {})}, id="session")
    g.connect(m, "model", s, "model")
    f = g.add_node("haibal.training.Fit", "fit", {"epochs": epochs, "batch_size": 16, **(fit_params or {})},
                   id="fit")
    g.connect(s, "session", f, "session")
    for name, value in (("x", x), ("y", y)):
        gi = g.add_input(name, value, "any")
        g.connect(gi, "value", f, name)
    ev = g.add_node("haibal.training.Evaluate", "evaluate", {}, id="evaluate")
    g.connect(f, "session", ev, "session")
    g.connect("x", "value", ev, "x")
    g.connect("y", "value", ev, "y")
    for name, node, port in (("accuracy", ev, "metric"), ("loss", ev, "loss")):
        o = g.add_output(name)
        g.connect(node, port, o, "value")
    return g


class Recorder:
    def __init__(self, stop_after=None, runtime=None):
        self.events, self.progress = [], []
        self.stop_after, self.runtime = stop_after, runtime

    def node_event(self, node_id, kind, payload):
        self.events.append((node_id, kind, payload))
        batches = sum(1 for _, k, p in self.events if k == "curve" and p.get("stage") == "batch")
        if self.stop_after is not None and batches == self.stop_after:
            self.runtime.stop()

    def node_progress(self, node_id, done, total):
        self.progress.append((node_id, done, total))

    def curves(self, stage):
        return [p for _, k, p in self.events if k == "curve" and p.get("stage") == stage]

    def statuses(self):
        return [p["text"] for _, k, p in self.events if k == "status"]


def test_fit_trains_and_streams_curves():
    x, y = small_data()
    g = training_graph(x, y, epochs=4, fit_params={"validation_split": 0.25})
    rec = Recorder()
    res = Runtime(g).run(observer=rec)
    batches, epochs = rec.curves("batch"), rec.curves("epoch")
    assert len(batches) == 4 * 6 and [p["epoch"] for p in epochs] == [0, 1, 2, 3]
    assert {"loss", "accuracy"} <= set(batches[0]) and {"val_loss", "val_accuracy"} <= set(epochs[0])
    assert rec.progress[-1] == ("fit", 24, 24)
    history = res.values["fit"]["history"]
    assert history.history["loss"] == [p["loss"] for p in epochs]
    assert res.outputs["accuracy"] > 0.5
    model = res.values["fit"]["model"]
    assert isinstance(model, Sequential) and model.optimizer.iterations == 24


def test_fit_equals_the_python_fit():
    """The graph trains exactly as the same model, session and fit written in Python."""
    from haibal_py.numeric.seeding import seeded
    x, y = small_data()
    res = Runtime(training_graph(x, y, epochs=3)).run()
    trained = res.values["fit"]["model"]
    initial = res.values["net"]["model"]
    again = initial.__class__.from_config(initial.get_config())
    again.set_weights(initial.get_weights())
    again.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    with seeded(0):
        again.fit(x, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(trained.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trained_weights_are_kept_in_the_graph_and_reused_only_while_unchanged(tmp_path):
    x, y = small_data()
    g = training_graph(x, y, epochs=3)
    first = Runtime(g).run()
    assert int(g.nodes["fit"].node.state["complete"]) == 1
    path = tmp_path / "trained.json"
    g.save(path)
    assert list(tmp_path.glob("trained.arrays.*.npz"))  # the state, in the graph's sibling arrays file

    loaded = Graph.load(path)
    rec = Recorder()
    again = Runtime(loaded).run(observer=rec)
    assert rec.curves("batch") == [] and len(rec.curves("epoch")) == 3  # replayed, not trained
    assert any("reused" in s for s in rec.statuses())
    assert again.outputs == first.outputs
    for a, b in zip(again.values["fit"]["model"].get_weights(), first.values["fit"]["model"].get_weights()):
        np.testing.assert_array_equal(a, b)

    # any change trains again: a fit parameter, the data, the session, the model's first weights
    for change in (lambda gr: gr.set_param("fit", "epochs", 2),
                   lambda gr: gr.set_param("x", "default", x[::-1].copy()),
                   lambda gr: gr.set_param("session", "learning_rate", 0.02),
                   lambda gr: gr.set_param("net", "seed", 7)):
        loaded = Graph.load(path)
        change(loaded)
        rec = Recorder()
        Runtime(loaded).run(observer=rec)
        assert rec.curves("batch"), "a change must train again"
    # reuse off: always trains
    loaded = Graph.load(path)
    loaded.set_param("fit", "reuse", False)
    rec = Recorder()
    Runtime(loaded).run(observer=rec)
    assert rec.curves("batch")


def test_stop_ends_the_fit_after_the_current_batch_and_keeps_the_model():
    x, y = small_data()
    g = training_graph(x, y, epochs=50)
    rt = Runtime(g)
    rec = Recorder(stop_after=9, runtime=rt)
    res = rt.run(observer=rec)
    model = res.values["fit"]["model"]
    assert len(rec.curves("batch")) == 9 and model.optimizer.iterations == 9
    assert any("stopped" in s for s in rec.statuses())
    assert int(g.nodes["fit"].node.state["complete"]) == 0
    assert res.stopped and "evaluate" not in res.values  # the nodes after it wait for the next run
    rec2 = Recorder()
    Runtime(g).run(observer=rec2)  # a stopped fit is never reused: trains again
    assert len(rec2.curves("batch")) == 50 * 8


def test_early_stopping_checkpoints_and_history_file(tmp_path):
    x, y = small_data()
    g = training_graph(x, y, epochs=30,
                       fit_params={"early_stopping": True, "monitor": "loss", "patience": 0, "history_path":
                                   "out/history.csv"},
                       session_params={"learning_rate": 0.0, "checkpoint": "every epoch",
                                       "checkpoint_path": "out/ckpt-{epoch}.weights.npz",
                                       "checkpoint_content": "weights and optimizer"})
    g.save(tmp_path / "g.json")
    g = Graph.load(tmp_path / "g.json")
    res = Runtime(g).run()
    epochs = len(res.values["fit"]["history"].epoch)
    assert epochs < 30
    rows = (tmp_path / "out" / "history.csv").read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and len(rows) == epochs + 1  # Keras' columns
    assert (tmp_path / "out" / "ckpt-1.weights.npz").is_file() and (tmp_path / "out" / "ckpt-1.optimizer.npz").is_file()


def test_history_curve_and_evaluate_outputs():
    x, y = small_data()
    g = training_graph(x, y, epochs=2, fit_params={"validation_split": 0.2})
    hc = g.add_node("haibal.training.HistoryCurve", "curve", {"key": "accuracy"})
    g.connect("fit", "history", hc, "history")
    res = Runtime(g).run()
    history = res.values["fit"]["history"]
    np.testing.assert_array_equal(res.values[hc]["values"], history.history["accuracy"])
    np.testing.assert_array_equal(res.values[hc]["val_values"], history.history["val_accuracy"])
    assert res.values[hc]["epochs"].tolist() == [0, 1]
    ev = res.values["evaluate"]
    assert ev["names"] == "accuracy" and ev["metrics"].tolist() == [ev["metric"]]
    g.set_param(hc, "key", "auc")
    with pytest.raises(NodeRunError, match="no 'auc'; it has accuracy, loss"):
        Runtime(g).run()


def test_session_settings_and_errors():
    x, y = small_data()
    g = training_graph(x, y, epochs=1, session_params={"clipnorm": 0.5, "default_optimizer": "sgd",
                                                       "metrics": "accuracy, sparse_categorical_crossentropy"})
    res = Runtime(g).run()
    session = res.values["session"]["session"]
    assert type(session.optimizer).__name__ == "SGD" and session.optimizer.clipnorm == 0.5
    assert float(session.optimizer.learning_rate) == pytest.approx(0.01)
    assert res.values["evaluate"]["names"] == "accuracy, sparse_categorical_crossentropy"
    g.set_param("session", "clipvalue", 1.0)
    with pytest.raises(NodeRunError, match="only one of `clipnorm`, `clipvalue`"):
        Runtime(g).run()
    g.set_param("session", "clipvalue", 0.0)
    g.set_param("session", "loss", "mean_squared_error")
    g.set_param("session", "from_logits", True)
    with pytest.raises(NodeRunError, match="from_logits applies to the crossentropy losses"):
        Runtime(g).run()
    g.set_param("session", "from_logits", False)
    g.set_param("session", "metrics", "nope")
    with pytest.raises(NodeRunError, match="unknown metric 'nope'"):
        Runtime(g).run()


def test_an_optimizer_node_with_a_schedule_feeds_the_session():
    x, y = small_data()
    g = training_graph(x, y, epochs=1)
    sched = g.add_node("haibal.optimizers.CosineDecay", "warmup",
                       {"initial_learning_rate": 0.0, "decay_steps": 100, "warmup_target": 0.01, "warmup_steps": 5,
                        "preview": 20})
    opt = g.add_node("haibal.optimizers.AdamW", "adamw", {"weight_decay": 0.01, "gradient_accumulation_steps": 2})
    g.connect(sched, "schedule", opt, "learning_rate")
    g.connect(opt, "optimizer", "session", "optimizer")
    res = Runtime(g).run()
    expected = optimizers.schedules.CosineDecay(0.0, 100, warmup_target=0.01, warmup_steps=5)
    np.testing.assert_array_equal(res.values[sched]["curve"], np.asarray(expected(np.arange(20)), np.float64))
    trained = res.values["fit"]["model"].optimizer
    assert type(trained).__name__ == "AdamW" and trained.gradient_accumulation_steps == 2
    assert trained.iterations == 4  # 8 batches, accumulated by 2
    assert trained is not res.values[opt]["optimizer"]  # the session trains its own copy


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl"])
def test_every_optimizer_node_builds_keras_defaults(name):
    from haibal_py import CATALOG
    node = CATALOG.get(f"haibal.optimizers.{name}")()
    opt = node.run()["optimizer"]
    cls = getattr(optimizers, name)
    reference = cls()
    got, want = opt.get_config(), reference.get_config()
    got.pop("name"), want.pop("name")
    assert got == want


def test_schedule_nodes_and_their_errors():
    from haibal_py import CATALOG
    node = CATALOG.get("haibal.optimizers.PiecewiseConstantDecay")(boundaries="2, 4", values="1.0, 0.5, 0.25",
                                                                     preview=6)
    assert node.run()["curve"].tolist() == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]
    from haibal_py.errors import ParameterError
    with pytest.raises(ParameterError, match="numbers separated by commas"):
        node.set_param("values", "a, b")
    node.set_param("values", "1.0, 0.5")
    with pytest.raises(Exception, match="PiecewiseConstantDecay"):
        node.run()


# ---------------------------------------------------------------------------- step level
def step_graph(x, y, accumulate=False, with_scheduler=False) -> Graph:
    g = Graph(name="steps")
    inp = g.add_node("haibal.layers.Input", "features", {"shape": "4"}, id="features")
    out = g.add_node("haibal.layers.Dense", "probs", {"units": 3, "activation": "softmax"}, id="probs")
    g.connect(inp, "y", out, "x")
    m = g.add_node("haibal.model.Model", "net", {"seed": 1}, id="net")
    g.connect(out, "y", m, "outputs")
    s = g.add_node("haibal.training.TrainingSession", "session", {"default_optimizer": "sgd",
                                                                  "learning_rate": 0.1}, id="session")
    g.connect(m, "model", s, "model")
    nb = g.add_node("haibal.datasets.NextBatch", "batches", {"batch_size": 20, "shuffle": False}, id="batches")
    for name, value in (("x", x), ("y", y)):
        gi = g.add_input(name, value, "any")
        g.connect(gi, "value", nb, name)
    fw = g.add_node("haibal.training.Forward", "forward", {}, id="forward")
    bw = g.add_node("haibal.training.Backward", "backward", {"accumulate": accumulate}, id="backward")
    st = g.add_node("haibal.training.OptimizerStep", "step", {}, id="step")
    g.connect(s, "session", fw, "session")
    g.connect(nb, "x", fw, "x")
    g.connect(fw, "session", bw, "session")
    g.connect(nb, "y", bw, "y")
    g.connect(bw, "session", st, "session")
    last = st
    if with_scheduler:
        sched = g.add_node("haibal.optimizers.ExponentialDecay", "decay",
                           {"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5}, id="decay")
        ss = g.add_node("haibal.training.SchedulerStep", "scheduler", {}, id="scheduler")
        g.connect(st, "session", ss, "session")
        g.connect(sched, "schedule", ss, "schedule")
        last = ss
    for name, node, port in (("loss", bw, "loss"), ("lr", last, "learning_rate")):
        o = g.add_output(name)
        g.connect(node, port, o, "value")
    return g


def test_step_level_nodes_train_one_step_per_run_as_the_python_loop():
    x, y = small_data(n=60)
    rt = Runtime(step_graph(x, y))
    losses = [rt.run().outputs["loss"] for _ in range(9)]  # 3 epochs of 3 batches
    session = rt.last_result.values["step"]["session"]
    assert session.steps == 9 and session.optimizer.iterations == 9 and session.gradients is None
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    # the same steps in Python
    net = rt.last_result.values["net"]["model"]
    model = net.__class__.from_config(net.get_config())
    model.set_weights(net.get_weights())
    opt = optimizers.SGD(0.1)
    expected = []
    for _ in range(3):
        for b in range(3):
            loss, grads = model.value_and_grad(x[b * 20:(b + 1) * 20], y[b * 20:(b + 1) * 20],
                                               loss="sparse_categorical_crossentropy")
            opt.apply(grads, model.trainable_weights)
            expected.append(loss)
    assert losses == expected
    for a, b in zip(session.model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_scheduler_step_and_gradient_accumulation():
    x, y = small_data(n=60)
    rt = Runtime(step_graph(x, y, with_scheduler=True))
    lrs = [rt.run().outputs["lr"] for _ in range(3)]
    assert lrs == pytest.approx([0.1, 0.05, 0.025])
    g = step_graph(x, y, accumulate=True)
    g.set_param("step", "reset_gradients", False)
    rt = Runtime(g)
    rt.run()
    rt.run()
    session = rt.last_result.values["step"]["session"]
    assert session.gradients is not None and session.steps == 2


def test_backward_without_forward_and_step_without_gradients_are_explained():
    from haibal_py import CATALOG
    x, y = small_data(n=20)
    g = step_graph(x, y)
    res = Runtime(g).run()
    session = res.values["session"]["session"].fresh()
    backward = CATALOG.get("haibal.training.Backward")()
    with pytest.raises(Exception, match="run a Forward on this session first"):
        backward.run(session=session, y=y)
    step = CATALOG.get("haibal.training.OptimizerStep")()
    with pytest.raises(Exception, match="run a Backward first"):
        step.run(session=session)


# ---------------------------------------------------------------------------- datasets
def test_dataset_nodes():
    from haibal_py import CATALOG
    x, y = CATALOG.get("haibal.datasets.LoadDataset")(images=True).run().values()
    assert x.shape == (1797, 8, 8, 1) and x.max() == 1.0
    x, y = CATALOG.get("haibal.datasets.LoadDataset")().run().values()
    parts = CATALOG.get("haibal.datasets.TrainTestSplit")(test_size=0.25, seed=3).run(x=x, y=y)
    assert parts["x_test"].shape == (450, 64) and parts["y_train"].shape == (1347,)
    ref = datasets.train_test_split(x, y, test_size=0.25, seed=3, stratify=y)
    np.testing.assert_array_equal(parts["x_test"], ref[1])
    three = CATALOG.get("haibal.datasets.TrainValTestSplit")().run(x=x, y=y)
    assert sum(len(three[k]) for k in ("y_train", "y_val", "y_test")) == 1797
    norm = CATALOG.get("haibal.datasets.Normalize")(method="standard").run(x=parts["x_test"],
                                                                          reference=parts["x_train"])
    np.testing.assert_allclose(norm["x"], datasets.normalize(parts["x_test"], "standard",
                                                             reference=parts["x_train"]))
    sx, sy = CATALOG.get("haibal.datasets.Shuffle")(seed=1).run(x=x, y=y).values()
    assert sorted(sy.tolist()) == sorted(y.tolist()) and not np.array_equal(sy, y)
    nb = CATALOG.get("haibal.datasets.NextBatch")(batch_size=1000, shuffle=False)
    first, second, third = (nb.run(x=x, y=y) for _ in range(3))
    assert (first["epoch"], first["batch"], len(first["y"])) == (0, 0, 1000)
    assert (second["epoch"], second["batch"], len(second["y"])) == (0, 1, 797)
    assert (third["epoch"], third["batch"]) == (1, 0)


# ---------------------------------------------------------------------------- the examples
@pytest.mark.parametrize("name,threshold", [("train_digits", 0.95), ("train_digits_cnn", 0.97)])
def test_examples_train_with_progress_and_write_history_and_weights(name, threshold, tmp_path):
    graph = Graph.load(ROOT / "examples" / f"{name}.json")
    graph.save(tmp_path / f"{name}.json")  # a copy, so the files land in tmp_path
    run = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(tmp_path / f"{name}.json"), "--progress",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)["outputs"]
    assert out["test_accuracy"]["value"] >= threshold
    assert "fit " in run.stderr and " epoch " in run.stderr and " loss " in run.stderr
    model = {"train_digits": "digits_mlp", "train_digits_cnn": "digits_cnn"}[name]
    assert (tmp_path / "trained" / f"{model}.weights.npz").is_file()
    rows = (tmp_path / "trained" / f"{model}_history.csv").read_text().splitlines()
    assert rows[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and len(rows) == 21


def test_the_python_example_runs():
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "train_digits.py")], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "test accuracy" in run.stdout
    accuracy = float(run.stdout.split("test accuracy")[-1].split()[0])
    assert accuracy >= 0.95


def test_fit_and_session_declare_the_files_they_write():
    from haibal_py.graph.resources import file_accesses
    x, y = small_data()
    g = training_graph(x, y, fit_params={"history_path": "../outside.csv"},
                       session_params={"checkpoint": "best", "checkpoint_path": "ckpt/best.weights.npz"})
    accesses = {a.node: a for a in file_accesses(g)}
    assert accesses["session"].use.mode == "write" and accesses["session"].refused is None
    assert accesses["fit"].use.path == "../outside.csv" and accesses["fit"].refused  # outside the graph's folder
