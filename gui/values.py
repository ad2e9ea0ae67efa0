"""Run-time values described in words (no Qt): the probe, wire tooltips, viewers, output nodes."""

from __future__ import annotations

import numpy as np

from haibal_py.node.types import Batches


def summary(value) -> str:
    """A readable description of a value: shape, dtype, min/mean/max, first values."""
    if value is None:
        return "(no value)"
    if isinstance(value, Batches):
        return f"{len(value)} batches; first: {summary(value[0]) if value else '-'}"
    if isinstance(value, str):
        return repr(value)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind == "O":
        text = repr(value)
        return text if len(text) < 200 else text[:197] + "..."
    if arr.ndim == 0:
        return f"{arr.item()!r}  ({arr.dtype})"
    text = f"shape {arr.shape}, {arr.dtype}"
    if arr.size and arr.dtype.kind in "fiub":
        data = arr.astype(np.float64)
        text += f"\nmin {data.min():.6g}  mean {data.mean():.6g}  max {data.max():.6g}"
    flat = arr.ravel()
    text += "\n[" + ", ".join(f"{x:.6g}" if arr.dtype.kind == "f" else str(x) for x in flat[:6]) + \
        (", …]" if flat.size > 6 else "]")
    return text


def short(value, width: int = 44) -> str:
    """One line: a scalar, the first values of a small array, or shape and dtype."""
    if value is None:
        return ""
    if isinstance(value, Batches):
        return f"{len(value)} batches"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind == "O":
        text = type(value).__name__
    elif arr.ndim == 0:
        text = f"{arr.item():.6g}" if arr.dtype.kind == "f" else str(arr.item())
    elif arr.size <= 6 and arr.dtype.kind in "fiub":
        text = "[" + ", ".join(f"{x:.4g}" if arr.dtype.kind == "f" else str(x) for x in arr.ravel()) + "]"
        if arr.ndim > 1:
            text = f"{arr.shape} {text}"
    else:
        text = f"{arr.dtype} {arr.shape}"
    return text if len(text) <= width else text[: width - 1] + "…"
