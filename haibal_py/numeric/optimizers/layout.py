"""Where an optimizer keeps its per-weight state, laid out for cheap steps.

Weights are grouped by dtype. In a small group (at most ``FUSE_LIMIT`` elements in all),
each slot of every weight is a slice of one flat buffer, and so are the scratch arrays,
a copy of the weights and of the gradients: one update-rule call on the flat buffers
updates the whole group (a handful of ufunc calls per step instead of a handful per
weight, which is what a small model's step costs). A large group keeps one array per
weight and per slot, and the rule runs weight by weight (no copies of large weights).
Either way each weight has a ``Record`` whose arrays have the weight's shape, so the
per-weight path works in both (a step where some gradients are None uses it).
"""

from __future__ import annotations

import numpy as np

#: a dtype group up to this many elements is updated through flat buffers
FUSE_LIMIT = 1 << 18


class Record:
    """One weight: the array itself, its slots (in slot order) and scratch arrays of its
    shape; in a fused group also its views into the group's flat weight and gradient copies."""

    __slots__ = ("weight", "slots", "scratch", "w_view", "g_view")

    def __init__(self, weight, slots, scratch, w_view=None, g_view=None):
        self.weight = weight
        self.slots = slots
        self.scratch = scratch
        self.w_view = w_view
        self.g_view = g_view


class Group:
    """The weights of one dtype: their positions, and the flat buffers when fused."""

    __slots__ = ("dtype", "members", "records", "fused", "w_flat", "g_flat", "slots", "scratch")

    def __init__(self, dtype, members, records, fused, w_flat=None, g_flat=None, slots=(), scratch=()):
        self.dtype = dtype
        self.members = members
        self.records = records
        self.fused = fused
        self.w_flat = w_flat
        self.g_flat = g_flat
        self.slots = slots
        self.scratch = scratch


def _views(flat: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    out, start = [], 0
    for w in weights:
        out.append(flat[start:start + w.size].reshape(w.shape))
        start += w.size
    return out


def make_layout(weights: list[np.ndarray], slots: list[tuple[str, object]], n_scratch: int,
                fuse_limit: int | None = None):
    """``(records, groups, slot_arrays)`` for ``weights``; ``slots`` lists (name, initial
    value per dtype: a callable ``dtype -> scalar``); ``slot_arrays[name][i]`` is weight i's."""
    limit = FUSE_LIMIT if fuse_limit is None else fuse_limit
    n_scratch = max(n_scratch, 1)
    by_dtype: dict[np.dtype, list[int]] = {}
    for i, w in enumerate(weights):
        by_dtype.setdefault(w.dtype, []).append(i)
    records: list[Record | None] = [None] * len(weights)
    slot_arrays = {name: [None] * len(weights) for name, _ in slots}
    groups = []
    for dtype, members in by_dtype.items():
        ws = [weights[i] for i in members]
        total = sum(w.size for w in ws)
        fused = total <= limit
        if fused:
            flat_slots = tuple(np.full(total, init(dtype), dtype=dtype) for _, init in slots)
            flat_scratch = tuple(np.empty(total, dtype=dtype) for _ in range(n_scratch))
            w_flat, g_flat = np.empty(total, dtype=dtype), np.empty(total, dtype=dtype)
            slot_views = [_views(f, ws) for f in flat_slots]
            scratch_views = [_views(f, ws) for f in flat_scratch]
            w_views, g_views = _views(w_flat, ws), _views(g_flat, ws)
            for j, i in enumerate(members):
                for (name, _), views in zip(slots, slot_views):
                    slot_arrays[name][i] = views[j]
                records[i] = Record(weights[i], tuple(v[j] for v in slot_views),
                                    tuple(v[j] for v in scratch_views), w_views[j], g_views[j])
            groups.append(Group(dtype, members, [records[i] for i in members], True, w_flat, g_flat,
                                flat_slots, flat_scratch))
        else:
            largest = max(w.size for w in ws)
            buffers = [np.empty(largest, dtype=dtype) for _ in range(n_scratch)]
            for i in members:
                w = weights[i]
                own = tuple(np.full(w.shape, init(dtype), dtype=dtype) for _, init in slots)
                for (name, _), arr in zip(slots, own):
                    slot_arrays[name][i] = arr
                records[i] = Record(w, own, tuple(b[:w.size].reshape(w.shape) for b in buffers))
            groups.append(Group(dtype, members, [records[i] for i in members], False))
    return records, groups, slot_arrays
