"""NumPy broadcasting for layers: the output shape of shapes that may hold None (unknown
sizes), and a broadcast result's gradient summed back to each operand's shape.

Shared by the merging layers (Add, Multiply, ...: Keras pads the shorter input after the
batch axis first) and the ONNX elementwise operators (NumPy's leading padding).
"""

from __future__ import annotations

import numpy as np

from .base import LayerError
from .symbolic import format_shape

__all__ = ["broadcast_shapes", "unbroadcast", "extreme_grads"]


def broadcast_shapes(shapes, who: str, what: str = "operands") -> tuple:
    """NumPy's broadcast of ``shapes`` (None: a size not known yet); a LayerError naming
    ``who`` and its ``what`` (operands, inputs) when two known sizes differ."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise LayerError(f"{who}: {what} of shapes {', '.join(format_shape(s) for s in shapes)} "
                             f"do not broadcast together")
        if known:
            out.append(known.pop())
        elif None in dims:
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """The gradient ``g`` of a broadcast result summed back to an operand of ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def extreme_grads(xs, y, dy) -> list[np.ndarray]:
    """The gradients of an element-wise maximum or minimum ``y`` of ``xs`` (broadcast): each
    element's gradient goes to the first operand holding the extreme, as Keras' ties do."""
    taken = np.zeros(np.shape(y), dtype=bool)
    grads = []
    for x in xs:
        hit = (x == y) & ~taken
        taken |= hit
        grads.append(np.where(hit, dy, dy.dtype.type(0)))
    return grads
