"""Where nodes go: free space for new ones, align/distribute, a layered clean-up, spreading a file's layout.

Pure geometry on boxes ``(x, y, w, h)`` (top-left corner and size, scene units); the
canvas measures its nodes and moves them through the model.

- ``free_spot``: the free position nearest to where a node was asked for (palette
  double-click, paste, a dropped snippet), so nothing lands on top of another node;
- ``align`` / ``distribute``: the usual alignment commands;
- ``auto_layout``: a layered layout (each node one column right of its furthest input,
  rows ordered by the mean row of their inputs), LabVIEW's "Clean Up Diagram";
- ``spread``: scales a saved layout just enough that nodes drawn larger than their author
  assumed do not overlap, keeping its arrangement (columns stay columns).
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

GAP_X, GAP_Y = 60.0, 30.0
Box = tuple[float, float, float, float]


def _overlaps(box: Box, boxes: np.ndarray, gap: float) -> bool:
    if not len(boxes):
        return False
    x, y, w, h = box
    bx, by, bw, bh = boxes.T
    return bool(np.any((x < bx + bw + gap) & (bx < x + w + gap) & (y < by + bh + gap) & (by < y + h + gap)))


def overlapping(boxes: Mapping[str, Box], gap: float = 0.0) -> list[tuple[str, str]]:
    """The pairs of boxes closer than ``gap`` (overlapping when ``gap`` is 0)."""
    keys = list(boxes)
    arr = np.array([tuple(boxes[k]) for k in keys], dtype=float).reshape(-1, 4)
    pairs = []
    for i, key in enumerate(keys[:-1]):
        rest = arr[i + 1:]
        x, y, w, h = arr[i]
        bx, by, bw, bh = rest.T
        hit = (x < bx + bw + gap) & (bx < x + w + gap) & (y < by + bh + gap) & (by < y + h + gap)
        pairs += [(key, keys[i + 1 + j]) for j in np.flatnonzero(hit)]
    return pairs


def free_spot(x: float, y: float, w: float, h: float, occupied: Iterable[Box], gap: float = 20.0,
              step: float = 30.0, rings: int = 60) -> tuple[float, float]:
    """The free top-left position nearest to ``(x, y)`` for a ``w`` x ``h`` box."""
    boxes = np.array([tuple(b) for b in occupied], dtype=float).reshape(-1, 4)
    if not _overlaps((x, y, w, h), boxes, gap):
        return x, y
    for ring in range(1, rings + 1):  # candidates on growing squares around (x, y), nearest first
        cands = []
        for i in range(-ring, ring + 1):
            for dx, dy in ((i, -ring), (i, ring), (-ring, i), (ring, i)):
                cands.append((x + dx * step, y + dy * step))
        cands = sorted(set(cands), key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)
        for cx, cy in cands:
            if not _overlaps((cx, cy, w, h), boxes, gap):
                return cx, cy
    top = boxes[:, 1].min() if len(boxes) else y
    right = (boxes[:, 0] + boxes[:, 2]).max() if len(boxes) else x
    return right + gap, top  # everything near is taken: right of all


def bounding(boxes: Iterable[Box]) -> Box:
    arr = np.array([tuple(b) for b in boxes], dtype=float).reshape(-1, 4)
    if not len(arr):
        return 0.0, 0.0, 0.0, 0.0
    x0, y0 = arr[:, 0].min(), arr[:, 1].min()
    x1, y1 = (arr[:, 0] + arr[:, 2]).max(), (arr[:, 1] + arr[:, 3]).max()
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


ALIGN_EDGES = ("left", "right", "top", "bottom", "hcenter", "vcenter")


def align(boxes: Mapping[str, Box], edge: str) -> dict[str, tuple[float, float]]:
    """New top-left positions lining the boxes up on ``edge`` (one of ``ALIGN_EDGES``)."""
    if edge not in ALIGN_EDGES:
        raise ValueError(f"unknown edge {edge!r}; expected one of {ALIGN_EDGES}")
    if not boxes:
        return {}
    v = boxes.values()
    target = {"left": min(b[0] for b in v), "right": max(b[0] + b[2] for b in v),
              "top": min(b[1] for b in v), "bottom": max(b[1] + b[3] for b in v),
              "hcenter": sum(b[0] + b[2] / 2 for b in v) / len(v),
              "vcenter": sum(b[1] + b[3] / 2 for b in v) / len(v)}[edge]
    out = {}
    for key, (x, y, w, h) in boxes.items():
        out[key] = {"left": (target, y), "right": (target - w, y), "top": (x, target), "bottom": (x, target - h),
                    "hcenter": (target - w / 2, y), "vcenter": (x, target - h / 2)}[edge]
    return out


def distribute(boxes: Mapping[str, Box], axis: str) -> dict[str, tuple[float, float]]:
    """Equal gaps between the boxes along ``axis`` ("horizontal" or "vertical"); the outer two stay."""
    if axis not in ("horizontal", "vertical"):
        raise ValueError(f"axis must be 'horizontal' or 'vertical', got {axis!r}")
    i = 0 if axis == "horizontal" else 1
    order = sorted(boxes, key=lambda k: boxes[k][i])
    if len(order) < 3:
        return {k: (boxes[k][0], boxes[k][1]) for k in order}
    first, last = boxes[order[0]], boxes[order[-1]]
    span = last[i] + last[i + 2] - first[i]
    gap = (span - sum(boxes[k][i + 2] for k in order)) / (len(order) - 1)
    out, at = {}, first[i]
    for k in order:
        x, y, w, h = boxes[k]
        out[k] = (at, y) if i == 0 else (x, at)
        at += boxes[k][i + 2] + gap
    return out


def auto_layout(sizes: Mapping[str, tuple[float, float]], edges: Iterable[tuple[str, str]],
                origin: tuple[float, float] = (0.0, 0.0), gap_x: float = GAP_X, gap_y: float = GAP_Y
                ) -> dict[str, tuple[float, float]]:
    """Top-left positions of a layered layout of the nodes ``sizes`` (key -> (w, h)) and ``edges``.

    Column = the longest path from a node without inputs; rows ordered by the mean row of
    each node's inputs (two sweeps), columns as wide as their widest node.
    """
    keys = list(sizes)
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for a, b in edges:
        if a in preds and b in preds and a != b:
            preds[b].append(a)
            succs[a].append(b)
    column: dict[str, int] = {}
    indeg = {k: len(set(preds[k])) for k in keys}
    ready = [k for k in keys if indeg[k] == 0]
    seen_pred: dict[str, set] = {k: set() for k in keys}
    while ready:
        k = ready.pop(0)
        column[k] = max((column[p] + 1 for p in preds[k] if p in column), default=0)
        for s in dict.fromkeys(succs[k]):
            if k not in seen_pred[s]:
                seen_pred[s].add(k)
                indeg[s] -= 1
                if indeg[s] == 0:
                    ready.append(s)
    for k in keys:  # nodes on a cycle: after everything else
        column.setdefault(k, max(column.values(), default=-1) + 1)
    n_cols = max(column.values(), default=-1) + 1
    cols: list[list[str]] = [[] for _ in range(n_cols)]
    for k in keys:
        cols[column[k]].append(k)
    row: dict[str, float] = {}
    for sweep in range(2):
        for c in range(n_cols):
            def bary(k):
                ps = [row[p] for p in preds[k] if p in row]
                return sum(ps) / len(ps) if ps else row.get(k, keys.index(k))
            cols[c].sort(key=bary)
            for i, k in enumerate(cols[c]):
                row[k] = float(i)
    out = {}
    x = origin[0]
    for c in range(n_cols):
        width = max((sizes[k][0] for k in cols[c]), default=0.0)
        y = origin[1]
        for k in cols[c]:
            out[k] = (x, y)
            y += sizes[k][1] + gap_y
        x += width + gap_x
    return out


def spread_factors(x, y, w, h) -> tuple[float, float]:
    """(sy, sx) >= 1 separating every pair of boxes (top-left x, y; size w, h)."""
    x, y, w, h = (np.asarray(a, dtype=float) for a in (x, y, w, h))
    if x.size < 2:
        return 1.0, 1.0
    dx = x[None, :] - x[:, None]  # x_j - x_i
    dy = y[None, :] - y[:, None]
    same_col = np.abs(dx) < np.minimum(w[:, None], w[None, :])  # horizontally overlapping
    below = same_col & (dy > 0)
    need_y = np.where(below, (h[:, None] + GAP_Y) / np.where(dy > 0, dy, 1), 1.0)
    sy = max(1.0, float(need_y.max()))
    ys, yh = y * sy, h
    dys = ys[None, :] - ys[:, None]
    v_overlap = (dys < yh[:, None]) & (-dys < yh[None, :])
    right = v_overlap & (dx > 0)
    need_x = np.where(right, (w[:, None] + GAP_X) / np.where(dx > 0, dx, 1), 1.0)
    sx = max(1.0, float(need_x.max()))
    return sy, sx


def spread(boxes: Mapping[str, Box]) -> dict[str, tuple[float, float]]:
    """New top-left positions scaling the boxes apart if any two overlap ({} when none do)."""
    if len(boxes) < 2:
        return {}
    keys = list(boxes)
    x, y, w, h = (np.array([boxes[k][i] for k in keys], dtype=float) for i in range(4))
    sy, sx = spread_factors(x, y, w, h)
    if sy == 1.0 and sx == 1.0:
        return {}
    x0, y0 = x.min(), y.min()
    return {k: (float(x0 + (xi - x0) * sx), float(y0 + (yi - y0) * sy)) for k, xi, yi in zip(keys, x, y)}


def spread_frames(boxes: Mapping[str, Box], moved: Mapping[str, tuple[float, float]],
                  frames: Mapping[str, Box]) -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """The frames of structures spread as ``spread`` spread the nodes ``boxes`` to ``moved``:
    structure id -> (new top-left, new size), so a frame keeps holding its nodes."""
    keys = [k for k in moved if k in boxes]
    if not keys or not frames:
        return {}
    x = np.array([boxes[k][0] for k in keys])
    nx = np.array([moved[k][0] for k in keys])
    y = np.array([boxes[k][1] for k in keys])
    ny = np.array([moved[k][1] for k in keys])
    x0, y0 = x.min(), y.min()
    sx = float(np.max((nx - x0) / np.where(x > x0, x - x0, 1.0), initial=1.0)) or 1.0
    sy = float(np.max((ny - y0) / np.where(y > y0, y - y0, 1.0), initial=1.0)) or 1.0
    out = {}
    for sid, (fx, fy, fw, fh) in frames.items():
        left, top = x0 + (fx - x0) * sx, y0 + (fy - y0) * sy
        right, bottom = x0 + (fx + fw - x0) * sx, y0 + (fy + fh - y0) * sy
        out[sid] = ((float(left), float(top)), (float(right - left), float(bottom - top)))
    return out
