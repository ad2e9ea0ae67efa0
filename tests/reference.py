"""Reference data and small builders shared by several test files (no Qt import).

``scce_from_logits`` is the loss derived in float64 from its definition, the value the
snippet and subgraph tests compare the runtime's result against; ``scce_chain`` is the
graph they collapse.
"""

import math

import numpy as np

from haibal_py.graph import Graph

LOGITS = [[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]]
LABELS = [1, 2]


def scce_from_logits(labels, logits) -> np.ndarray:
    """-log softmax(logits)[label], in float64 from the definition (max-shifted)."""
    out = []
    for lab, row in zip(labels, logits):
        m = max(row)
        out.append(m + math.log(sum(math.exp(v - m) for v in row)) - row[lab])
    return np.array(out)


def scce_chain(probs: bool = True) -> Graph:
    """logits -> SoftMax -> SCCE(labels) -> loss; with ``probs`` the SoftMax also goes to an
    output "probs". Node ids: logits, labels, sm1, scc1, loss (, probs)."""
    g = Graph("chain")
    lg = g.add_input("logits", default=LOGITS, type="float[2]", pos=(0, 0))
    yt = g.add_input("labels", default=LABELS, type="int[1]", pos=(0, 120))
    sm = g.add_node("haibal.activations.SoftMax", pos=(200, 0))
    sc = g.add_node("haibal.metrics.SparseCategoricalCrossentropy", pos=(400, 40))
    g.connect(lg, "value", sm, "x")
    g.connect(sm, "result", sc, "y_pred")
    g.connect(yt, "value", sc, "y_true")
    g.connect(sc, "result", g.add_output("loss", pos=(600, 0)), "value")
    if probs:
        g.connect(sm, "result", g.add_output("probs", pos=(600, 120)), "value")
    return g


def canvas_input(model, name: str, default, type: str, pos) -> str:
    """A Graph Input node added through an editor's model, with its default value and port type."""
    return model.add_node("haibal.io.GraphInput", name=name, params={"type": type, "default": default}, pos=pos)
