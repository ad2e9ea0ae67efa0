"""examples/train_steps.json (issue 17): the digits MLP trained step by step in a While Loop over
epochs holding a For Loop over batches. Its losses are those of a Python loop over the step-level
API on the same seed, and it reaches the Fit node's test accuracy (train_digits.json)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import haibal_py.nodes  # noqa: F401  (the catalog)
from haibal_py import optimizers
from haibal_py.graph import Graph
from haibal_py.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "train_steps.json"


def python_loop(model, x, y, x_val, y_val, epochs: int, patience: int, batch_size: int = 32, seed: int = 0):
    """The step-level API in plain Python: Next Batch's orders, value_and_grad, Adam, early stopping."""
    opt = optimizers.Adam(learning_rate=0.001)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(seed)
    train, val, best, waited = [], [], 1e30, 0
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = model.value_and_grad(x[idx], y[idx])
            opt.apply(grads, model.trainable_weights)
            losses.append(loss)
        train.append(np.mean(losses))
        val_loss = model.evaluate(x_val, y_val, batch_size=32, verbose=0)[0]
        val.append(val_loss)
        improved = val_loss < best
        best, waited = (val_loss, 0) if improved else (best, waited + 1)
        if epoch + 1 >= epochs or waited >= patience:
            break
    return np.asarray(train), np.asarray(val)


def test_train_steps_losses_are_a_python_loops_and_its_accuracy_the_fits():
    graph = Graph.load(EXAMPLE)
    assert graph.validate() == []
    res = Runtime(graph).run()
    out = res.outputs
    assert 10 <= len(out["train_loss"]) < 20  # stopped early: the validation loss stopped improving
    values = res.values
    net = values["digits_mlp"]["model"]  # the Model node's first weights (the session trained a copy)
    model = net.__class__.from_config(net.get_config())
    model.set_weights(net.get_weights())
    x_fit, y_fit = (values[s]["result"] for s in ("x_fit", "y_fit"))
    x_val, y_val = (values[s]["result"] for s in ("x_val", "y_val"))
    train, val = python_loop(model, x_fit, y_fit, x_val, y_val, epochs=20, patience=3)
    np.testing.assert_array_equal(out["train_loss"], train)
    np.testing.assert_array_equal(out["val_loss"], val)
    assert out["curves"].shape == (2, len(train))
    fit = Runtime(Graph.load(ROOT / "examples" / "train_digits.json")).run().outputs
    assert abs(out["test_accuracy"] - fit["test_accuracy"]) <= 0.01
    assert out["test_accuracy"] > 0.95


def test_without_early_stopping_it_is_the_fit_exactly():
    graph = Graph.load(EXAMPLE)
    out = Runtime(graph).run(inputs={"patience": np.array(100)}).outputs
    fit = Runtime(Graph.load(ROOT / "examples" / "train_digits.json")).run().outputs
    assert len(out["train_loss"]) == 20
    np.testing.assert_array_equal(out["val_loss"], fit["val_loss"])  # the same batches, the same weights
    assert out["test_accuracy"] == fit["test_accuracy"]
