"""Small helpers shared by the operator converters (``import_ops``, ``import_rnn``)."""

from __future__ import annotations

from .errors import OnnxError

__all__ = ["fail", "opt_input"]


def fail(imp, n, message: str):
    """Raise an OnnxError naming the model, the node and its operator."""
    raise OnnxError(f"{imp.name}: node {n.name or n.op!r} ({n.op}): {message}")


def opt_input(n, k: int) -> str:
    """The name of the node's optional input ``k`` ("" when absent)."""
    return n.inputs[k] if len(n.inputs) > k and n.inputs[k] else ""
