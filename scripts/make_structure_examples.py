"""Write the structure examples (issue 17) through the Python API, laid out for the editor:

- ``examples/loop_batches.json``: a For Loop over a stack of batches (auto-indexing), a
  metric and a loss per batch, their arrays out, and a running count in a shift register;
- ``examples/case_from_logits.json``: a Case Structure choosing the logits path or the
  probabilities path of a crossentropy;
- ``examples/train_steps.json``: the digits MLP of ``train_digits.json`` trained step by step,
  a While Loop over epochs (early stopping on the validation loss) holding a For Loop over
  batches (Next Batch -> Forward -> Backward -> Optimizer Step), the session in shift registers.

Run from the repository root: ``python scripts/make_structure_examples.py``; then record
the outputs in tests/golden/ (``haibal run examples/NAME.json --json``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import haibal_py.nodes  # noqa: F401  (the catalog: the training and dataset nodes)
from haibal_py.graph import Graph

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def loop_batches() -> Graph:
    g = Graph("loop_batches", "A For Loop over 8 batches of 32 samples (5 classes): auto-indexing tunnels "
              "give the loop one batch per iteration; inside, the accuracy and the crossentropy of each batch "
              "leave through indexing tunnels as arrays of 8, and a shift register counts the correct "
              "predictions over all batches.")
    labels = g.add_node("haibal.io.RandomSource", "labels", params=dict(
        distribution="integers", shape="32", low=0, high=5, seed=3, dtype="int64", batches=8), pos=(0, 60))
    logits = g.add_node("haibal.io.RandomSource", "logits", params=dict(
        distribution="normal", shape="32, 5", seed=4, stddev=2.0, dtype="float32", batches=8), pos=(0, 300))
    zero = g.add_node("haibal.io.Constant", "no correct yet", params={"value": 0.0}, pos=(0, 540))
    loop = g.add_for_loop("per batch", pos=(300, 0), size=(1000, 680))
    st = g.structure(loop)
    st.wire_in(labels, "value", "y_true", indexing=True)
    st.wire_in(logits, "value", "y_pred", indexing=True)
    st.add_shift_register("correct", doc="correct predictions so far")
    g.connect(zero, "value", loop, "correct")
    body = st.body
    acc = body.add_node("haibal.metrics.SparseCategoricalAccuracy", "hits", pos=(420, 60))
    loss = body.add_node("haibal.metrics.SparseCategoricalCrossentropy", "loss per sample",
                         params={"from_logits": True}, pos=(420, 330))
    for node in (acc, loss):
        body.connect(st.terminal_node("y_true"), "value", node, "y_true")
        body.connect(st.terminal_node("y_pred"), "value", node, "y_pred")
    acc_mean = body.add_node("haibal.math.Mean", "batch accuracy", pos=(760, 40))
    loss_mean = body.add_node("haibal.math.Mean", "batch loss", pos=(760, 330))
    hits = body.add_node("haibal.math.Sum", "batch hits", pos=(760, 190))
    total = body.add_node("haibal.math.Add", "running count", pos=(1020, 500))
    body.connect(acc, "result", acc_mean, "x")
    body.connect(acc, "result", hits, "x")
    body.connect(loss, "result", loss_mean, "x")
    body.connect(st.terminal_node("correct", side="source"), "value", total, "x")
    body.connect(hits, "result", total, "y")
    body.connect(total, "result", st.terminal_node("correct", side="sink"), "value")
    st.wire_out(acc_mean, "result", "accuracy", indexing=True)
    st.wire_out(loss_mean, "result", "loss", indexing=True)
    _place_terminals(g, loop)
    plot = g.add_node("haibal.viewers.LinePlot", "loss per batch", pos=(1420, 260))
    g.connect(loop, "loss", plot, "value")
    g.connect(loop, "accuracy", g.add_output("accuracy_per_batch", doc="the accuracy of each batch",
                                             pos=(1420, 40)), "value")
    g.connect(plot, "value", g.add_output("loss_per_batch", doc="the mean crossentropy of each batch",
                                          pos=(1680, 260)), "value")
    g.connect(loop, "correct", g.add_output("correct", doc="correct predictions over the 8 batches",
                                            pos=(1420, 480)), "value")
    return g


def case_from_logits() -> Graph:
    g = Graph("case_from_logits", "A Case Structure on the boolean from_logits: the True case reads y_pred as "
              "logits (crossentropy from logits, softmax for the probabilities), the False case as "
              "probabilities (crossentropy of probabilities, passed through). The same numbers come out "
              "when the False case is given the softmax of the logits.")
    flag = g.add_input("from_logits", default=np.array(True), type="bool[0]",
                       doc="whether y_pred holds logits (True) or probabilities (False)", pos=(0, 0))
    y_true = g.add_input("y_true", default=np.array([0, 1, 2]), type="int[1]", doc="class ids", pos=(0, 160))
    y_pred = g.add_input("y_pred", default=np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3], [1.2, 0.2, 0.9]]),
                         type="float[2]", doc="logits, or probabilities", pos=(0, 320))
    case = g.add_case((False, True), name="logits or probabilities", pos=(300, -20), size=(720, 480))
    st = g.structure(case)
    g.connect(flag, "value", case, "selector")
    st.wire_in(y_true, "value", "y_true")
    st.wire_in(y_pred, "value", "y_pred")
    st.add_tunnel("loss", "out", doc="the crossentropy per sample")
    st.add_tunnel("probs", "out", doc="the probabilities")
    for k, logits in ((0, False), (1, True)):
        d = st.diagram(k)
        ce = d.add_node("haibal.metrics.SparseCategoricalCrossentropy",
                        "crossentropy of logits" if logits else "crossentropy of probabilities",
                        params={"from_logits": logits}, pos=(560, 30))
        d.connect(st.terminal_node("y_true", k), "value", ce, "y_true")
        d.connect(st.terminal_node("y_pred", k), "value", ce, "y_pred")
        d.connect(ce, "result", st.terminal_node("loss", k), "value")
        if logits:
            sm = d.add_node("haibal.activations.SoftMax", "softmax", pos=(560, 280))
            d.connect(st.terminal_node("y_pred", k), "value", sm, "x")
            d.connect(sm, "result", st.terminal_node("probs", k), "value")
        else:
            d.connect(st.terminal_node("y_pred", k), "value", st.terminal_node("probs", k), "value")
    _place_terminals(g, case)
    mean = g.add_node("haibal.math.Mean", "mean loss", pos=(1120, 0))
    g.connect(case, "loss", mean, "x")
    g.connect(case, "loss", g.add_output("loss", doc="the crossentropy per sample", pos=(1120, 170)), "value")
    g.connect(mean, "result", g.add_output("mean_loss", doc="its mean", pos=(1380, 0)), "value")
    g.connect(case, "probs", g.add_output("probs", doc="the probabilities", pos=(1120, 320)), "value")
    return g


def train_steps() -> Graph:
    """The digits MLP trained step by step: a While Loop over epochs holding a For Loop over batches."""
    g = Graph("train_steps", "The digits MLP of train_digits.json trained step by step (HAIBAL's academic mode) with "
              "structures: a While Loop over the epochs, holding a For Loop over the batches of one epoch (Next "
              "Batch -> Forward -> Backward -> Optimizer Step, the training session in shift registers). After each "
              "epoch the session is evaluated on the validation part (the last 10% of the training part, as Keras' "
              "validation_split: Slice nodes); the loop stops after `epochs` epochs or when the validation loss has "
              "not improved for `patience` epochs. The training and validation losses of each epoch leave through "
              "indexing tunnels to a chart; the test accuracy is evaluated at the end.")

    def at(col: float, row: float) -> tuple[float, float]:  # a grid wider and taller than the editor's nodes
        return col * 320.0, row * 240.0

    def const(name: str, value, where, graph=g) -> str:
        return graph.add_node("haibal.io.Constant", name, {"value": value}, pos=at(*where))

    epochs = g.add_input("epochs", default=np.array(20), type="int[0]", doc="the most epochs to train",
                         pos=at(0, 0))
    patience = g.add_input("patience", default=np.array(3), type="int[0]",
                           doc="stop when the validation loss has not improved for this many epochs", pos=at(0, 1))
    digits = g.add_node("haibal.datasets.LoadDataset", "digits", {"dataset": "digits", "scale": True},
                        pos=at(0, 2))
    split = g.add_node("haibal.datasets.TrainTestSplit", "split", {"test_size": 0.2, "seed": 0, "stratify": True},
                       pos=at(1, 2))
    for port in ("x", "y"):
        g.connect(digits, port, split, port)
    # Keras' validation_split=0.1 of the 1437 training samples: its last 144, through Slice nodes
    parts = {}
    for name, port, index, where in (("x_fit", "x_train", ":1293", (2, 2)), ("y_fit", "y_train", ":1293", (2, 3)),
                                     ("x_val", "x_train", "1293:", (3, 2)), ("y_val", "y_train", "1293:", (3, 3))):
        parts[name] = g.add_node("haibal.array.Slice", name, {"index": index}, pos=at(*where), id=name)
        g.connect(split, port, parts[name], "x")
    pixels = g.add_node("haibal.layers.Input", "pixels", {"shape": "64"}, pos=at(0, 4))
    h1 = g.add_node("haibal.layers.Dense", "hidden1", {"units": 128, "activation": "relu"}, pos=at(1, 4))
    h2 = g.add_node("haibal.layers.Dense", "hidden2", {"units": 64, "activation": "relu"}, pos=at(2, 4))
    out = g.add_node("haibal.layers.Dense", "classifier", {"units": 10, "activation": "softmax"}, pos=at(3, 4))
    g.connect(pixels, "y", h1, "x")
    g.connect(h1, "y", h2, "x")
    g.connect(h2, "y", out, "x")
    model = g.add_node("haibal.model.Model", "digits_mlp", {"seed": 0}, pos=at(4, 4), id="digits_mlp")
    g.connect(out, "y", model, "outputs")
    session = g.add_node("haibal.training.TrainingSession", "session",
                         {"default_optimizer": "adam", "learning_rate": 0.001,
                          "loss": "sparse_categorical_crossentropy", "metrics": "accuracy"}, pos=at(5, 4))
    g.connect(model, "model", session, "model")
    # steps per epoch: ceil(samples / 32), from the data (a count of its labels)
    is_label = g.add_node("haibal.math.GreaterEqual", "is a label", pos=at(4, 3))
    g.connect(parts["y_fit"], "result", is_label, "x")
    g.connect(const("zero", 0, (4, 2)), "value", is_label, "y")
    count = g.add_node("haibal.math.Sum", "samples", pos=at(5, 3))
    g.connect(is_label, "result", count, "x")
    plus = g.add_node("haibal.math.Add", "plus 31", pos=at(6, 3))
    g.connect(count, "result", plus, "x")
    g.connect(const("31", 31, (5, 2)), "value", plus, "y")
    per = g.add_node("haibal.math.Divide", "over 32", pos=at(7, 3))
    g.connect(plus, "result", per, "x")
    g.connect(const("batch size", 32, (6, 2)), "value", per, "y")
    steps = g.add_node("haibal.array.Cast", "steps per epoch", {"dtype": "int64"}, pos=at(8, 3))
    g.connect(per, "result", steps, "x")
    # the While Loop over the epochs
    loop = g.add_while_loop("epochs", pos=at(9, -0.3), size=(11.4 * 320.0, 5.9 * 240.0))
    wl = g.structure(loop)
    wl.add_shift_register("session", doc="the training session, one epoch further each iteration")
    g.connect(session, "session", loop, "session")
    wl.add_shift_register("best", doc="the best validation loss so far")
    g.connect(const("no loss yet", 1e30, (7, 5)), "value", loop, "best")
    wl.add_shift_register("waited", doc="epochs since the validation loss last improved")
    g.connect(const("none", 0, (8, 5)), "value", loop, "waited")
    for src, port, name in ((parts["x_fit"], "result", "x"), (parts["y_fit"], "result", "y"),
                            (parts["x_val"], "result", "x_val"), (parts["y_val"], "result", "y_val"),
                            (steps, "result", "steps"), (epochs, "value", "epochs"), (patience, "value", "patience")):
        wl.wire_in(src, port, name)
    body = wl.body
    # inside it, the For Loop over the batches of one epoch
    inner = body.add_for_loop("batches", pos=at(9.8, 0.2), size=(5.4 * 320.0, 2.8 * 240.0))
    fl = g.structure(inner)
    body.connect(wl.terminal_node("steps"), "value", inner, "N")
    fl.add_shift_register("session")
    body.connect(wl.terminal_node("session", side="source"), "value", inner, "session")
    fl.wire_in(wl.terminal_node("x"), "value", "x")
    fl.wire_in(wl.terminal_node("y"), "value", "y")
    fb = fl.body
    batch = fb.add_node("haibal.datasets.NextBatch", "next batch", {"batch_size": 32, "shuffle": True, "seed": 0},
                        pos=at(10.3, 1.0))
    fb.connect(fl.terminal_node("x"), "value", batch, "x")
    fb.connect(fl.terminal_node("y"), "value", batch, "y")
    fwd = fb.add_node("haibal.training.Forward", "forward", pos=at(11.4, 0.5))
    fb.connect(fl.terminal_node("session", side="source"), "value", fwd, "session")
    fb.connect(batch, "x", fwd, "x")
    bwd = fb.add_node("haibal.training.Backward", "backward", pos=at(12.4, 1.3))
    fb.connect(fwd, "session", bwd, "session")
    fb.connect(batch, "y", bwd, "y")
    opt = fb.add_node("haibal.training.OptimizerStep", "optimizer step", pos=at(13.8, 0.5))
    fb.connect(bwd, "session", opt, "session")
    fb.connect(opt, "session", fl.terminal_node("session", side="sink"), "value")
    fl.wire_out(bwd, "loss", "losses", indexing=True)
    # after the epoch: its mean loss, the validation loss, early stopping
    mean = body.add_node("haibal.math.Mean", "epoch loss", pos=at(15.6, 0))
    body.connect(inner, "losses", mean, "x")
    val = body.add_node("haibal.training.Evaluate", "validation", {"batch_size": 32}, pos=at(15.6, 1))
    body.connect(inner, "session", val, "session")
    body.connect(wl.terminal_node("x_val"), "value", val, "x")
    body.connect(wl.terminal_node("y_val"), "value", val, "y")
    body.connect(inner, "session", wl.terminal_node("session", side="sink"), "value")
    better = body.add_node("haibal.math.Less", "improved", pos=at(16.6, 2))
    body.connect(val, "loss", better, "x")
    body.connect(wl.terminal_node("best", side="source"), "value", better, "y")
    best = body.add_node("haibal.array.Where", "best loss", pos=at(17.6, 1))
    body.connect(better, "result", best, "condition")
    body.connect(val, "loss", best, "x")
    body.connect(wl.terminal_node("best", side="source"), "value", best, "y")
    body.connect(best, "result", wl.terminal_node("best", side="sink"), "value")
    one_more = body.add_node("haibal.math.Add", "one more", pos=at(16.6, 3))
    body.connect(wl.terminal_node("waited", side="source"), "value", one_more, "x")
    body.connect(const("one", 1, (15.6, 3), body), "value", one_more, "y")
    waited = body.add_node("haibal.array.Where", "waited", pos=at(17.6, 3))
    body.connect(better, "result", waited, "condition")
    body.connect(const("again 0", 0, (16.6, 4), body), "value", waited, "x")
    body.connect(one_more, "result", waited, "y")
    body.connect(waited, "result", wl.terminal_node("waited", side="sink"), "value")
    tired = body.add_node("haibal.math.GreaterEqual", "no improvement", pos=at(18.6, 3))
    body.connect(waited, "result", tired, "x")
    body.connect(wl.terminal_node("patience"), "value", tired, "y")
    epoch_no = body.add_node("haibal.math.Add", "epochs done", pos=at(10.8, 4))
    body.connect(wl.terminal_node("i"), "value", epoch_no, "x")
    body.connect(const("plus one", 1, (9.8, 4.3), body), "value", epoch_no, "y")
    all_done = body.add_node("haibal.math.GreaterEqual", "all epochs", pos=at(11.8, 4))
    body.connect(epoch_no, "result", all_done, "x")
    body.connect(wl.terminal_node("epochs"), "value", all_done, "y")
    stop = body.add_node("haibal.array.Where", "stop", pos=at(18.6, 4.2))
    body.connect(all_done, "result", stop, "condition")
    body.connect(const("yes", True, (17.6, 4.4), body), "value", stop, "x")
    body.connect(tired, "result", stop, "y")
    body.connect(stop, "result", wl.terminal_node("stop"), "value")
    wl.wire_out(mean, "result", "train_loss", indexing=True)
    wl.wire_out(val, "loss", "val_loss", indexing=True)
    _place_terminals(g, inner)
    _place_terminals(g, loop)
    # after the loop: the test accuracy, the chart of the losses
    test = g.add_node("haibal.training.Evaluate", "test", {"batch_size": 256}, pos=at(21, 0))
    g.connect(loop, "session", test, "session")
    g.connect(split, "x_test", test, "x")
    g.connect(split, "y_test", test, "y")
    curves = g.add_node("haibal.array.Stack", "train and validation", pos=at(21, 1.2))
    g.connect(loop, "train_loss", curves, "a")
    g.connect(loop, "val_loss", curves, "b")
    chart = g.add_node("haibal.viewers.LinePlot", "loss per epoch", pos=at(22, 1.5))
    g.connect(curves, "result", chart, "value")
    for name, node, port, row, doc in (("test_accuracy", test, "metric", 0, "accuracy on the test part"),
                                       ("test_loss", test, "loss", 0.6, "loss on the test part"),
                                       ("curves", chart, "value", 1.5, "the two losses per epoch, as charted"),
                                       ("train_loss", loop, "train_loss", 2.3, "mean training loss of each epoch"),
                                       ("val_loss", loop, "val_loss", 3.0, "validation loss of each epoch")):
        g.connect(node, port, g.add_output(name, doc=doc, pos=at(23, row)), "value")
    return g


def _place_terminals(g: Graph, sid: str) -> None:
    """Terminal nodes on the frame's border, in terminal order (as the editor draws them)."""
    st = g.structure(sid)
    x, y = st.graph.nodes[sid].pos
    w, h = st.node.size
    for k, graph in enumerate(st.diagrams):
        left = [n for n in st.node.inner_inputs() if n in graph.inputs and n != "i"]
        right = [n for n in st.node.inner_outputs() if n in graph.outputs and n not in ("stop", "continue")]
        for j, name in enumerate(left):
            graph.set_pos(graph.inputs[name], (x, y + 60 + 70 * j))
        for j, name in enumerate(right):
            graph.set_pos(graph.outputs[name], (x + w, y + 60 + 70 * j))
        if "i" in graph.inputs:
            graph.set_pos(graph.inputs["i"], (x + 20, y + h - 50))


def main() -> None:
    for make in (loop_batches, case_from_logits, train_steps):
        g = make()
        problems = g.validate()
        assert not problems, problems
        path = EXAMPLES / f"{g.name}.json"
        g.save(path)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
