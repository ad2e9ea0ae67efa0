"""Reference data and small builders shared by several test files (no Qt import).

``scce_from_logits`` is the loss derived in float64 from its definition, the value the
snippet and subgraph tests compare the runtime's result against.
"""

import math

import numpy as np

LOGITS = [[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]]
LABELS = [1, 2]


def scce_from_logits(labels, logits) -> np.ndarray:
    """-log softmax(logits)[label], in float64 from the definition (max-shifted)."""
    out = []
    for lab, row in zip(labels, logits):
        m = max(row)
        out.append(m + math.log(sum(math.exp(v - m) for v in row)) - row[lab])
    return np.array(out)


def canvas_input(model, name: str, default, type: str, pos) -> str:
    """A Graph Input node added through an editor's model, with its default value and port type."""
    return model.add_node("haibal.io.GraphInput", name=name, params={"type": type, "default": default}, pos=pos)
