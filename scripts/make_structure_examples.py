"""Write the structure examples (issue 17) through the Python API, laid out for the editor:

- ``examples/loop_batches.json``: a For Loop over a stack of batches (auto-indexing), a
  metric and a loss per batch, their arrays out, and a running count in a shift register;
- ``examples/case_from_logits.json``: a Case Structure choosing the logits path or the
  probabilities path of a crossentropy.

(``examples/train_steps.json`` is written by ``scripts/make_training_examples.py``'s
structures part, next to the other training examples.) Run from the repository root:
``python scripts/make_structure_examples.py``; then record the outputs in tests/golden/.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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


def _place_terminals(g: Graph, sid: str) -> None:
    """Terminal nodes on the frame's border, in terminal order (as the editor draws them)."""
    st = g.structure(sid)
    x, y = g.nodes[sid].pos
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
    for make in (loop_batches, case_from_logits):
        g = make()
        problems = g.validate()
        assert not problems, problems
        path = EXAMPLES / f"{g.name}.json"
        g.save(path)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
