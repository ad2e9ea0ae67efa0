"""Spreading a saved layout so that nodes drawn larger than their author assumed do not overlap.

Saved positions come from other editors, scripts or hand-written files; our nodes carry
their parameter widgets and can be much bigger. ``spread`` scales the positions (first
vertically, then horizontally) just enough to separate nodes that would overlap, which
keeps the author's arrangement (columns stay columns, rows stay rows).
"""

from __future__ import annotations

import numpy as np

GAP_X, GAP_Y = 60.0, 30.0


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


def spread(nodes) -> bool:
    """Scale the nodes' positions apart if any two overlap; True if they moved."""
    if len(nodes) < 2:
        return False
    rects = [n.view.boundingRect() for n in nodes]
    x = [n.x_pos() for n in nodes]
    y = [n.y_pos() for n in nodes]
    sy, sx = spread_factors(x, y, [r.width() for r in rects], [r.height() for r in rects])
    if sy == 1.0 and sx == 1.0:
        return False
    x0, y0 = min(x), min(y)
    for node, xi, yi in zip(nodes, x, y):
        node.set_property("pos", [x0 + (xi - x0) * sx, y0 + (yi - y0) * sy], push_undo=False)
    return True
