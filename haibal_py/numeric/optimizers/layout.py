"""Where an optimizer keeps its per-weight state, laid out for cheap steps.

Weights are grouped by dtype. In a small group (at most ``FUSE_LIMIT`` elements in all),
each slot of every weight is a slice of one flat buffer, and so are the scratch arrays,
a copy of the weights and of the gradients: one update-rule call on the flat buffers
updates the whole group (a handful of ufunc calls per step instead of a handful per
weight, which is what a small model's step costs).

A large group keeps one array per weight and per slot (no copies of large weights) and is
updated in spans: the group's weights laid end to end and cut into equal ranges of at most
``BLOCK_ELEMENTS`` elements, a span being the ``Block``s (flat pieces of a weight and of its
slots) that its range covers. The update rules are elementwise, so a rule run piece by
piece gives the same bits as on the whole array. The spans are shared by the engine's
threads (``kernels.engine``) when the group is large enough for a second thread to pay;
each thread takes a ``ScratchSet`` (scratch arrays of one piece) of its own. Pieces of at
most ``BLOCK_ELEMENTS`` keep a model larger than the CPU's last-level cache fast (the
passes of the rule over one piece find it in cache); below a few million elements the
step runs at the speed of NumPy's loops whatever the piece size.

Either way each weight has a ``Record`` whose arrays have the weight's shape, so the
per-weight path works in both (a fused group's step where some gradients are None uses it).
"""

from __future__ import annotations

import numpy as np

from ..kernels import engine

#: a dtype group up to this many elements is updated through flat buffers
FUSE_LIMIT = 1 << 18
#: elements of a span of a large group (1 MiB of float32 per array). Measured on 2 cores:
#: at 1.3M parameters (everything in L3) spans of 2**18 to 2**20 are as fast as halves and
#: smaller ones slower (each ufunc call hands the GIL over); at 8M-16M parameters spans of
#: 2**18 make Adam and RMSprop steps 2x faster than halves
BLOCK_ELEMENTS = 1 << 18
#: work per thread (elements x the rule's ``passes``) below which a large group's spans are
#: not shared among threads: measured on 2 cores, SGD with momentum (4 passes) gains from a
#: second thread from about 5e5 elements, Adam and RMSprop (11-14) from about 2e5
PARALLEL_WORK = 1 << 20
#: work (elements x passes) by which the first span is longer than the others: the calling
#: thread takes it at once, a worker starts some 20-40 microseconds later (measured on the
#: 2-core VM); equal spans would leave the caller waiting for the worker
LEAD_WORK = 1 << 18
#: bytes the optimizer's own arrays and the spans' starts are aligned to
ALIGN = 64


class Record:
    """One weight: the array itself, its slots (in slot order) and scratch arrays of its
    shape (a fused group's, else None); in a fused group also its views into the group's
    flat weight and gradient copies."""

    __slots__ = ("weight", "slots", "scratch", "w_view", "g_view")

    def __init__(self, weight, slots, scratch, w_view=None, g_view=None):
        self.weight = weight
        self.slots = slots
        self.scratch = scratch
        self.w_view = w_view
        self.g_view = g_view


class Block:
    """A piece of one weight of a large group: its position, the range ``start:stop`` of
    its flat elements and the views of the weight and its slots there. A weight that is not
    C-contiguous (no flat view) is one block of its whole array (``start`` None), with
    scratch arrays of its own shape."""

    __slots__ = ("position", "start", "stop", "weight", "slots", "scratch")

    def __init__(self, position, start, stop, weight, slots, scratch=None):
        self.position = position
        self.start = start
        self.stop = stop
        self.weight = weight
        self.slots = slots
        self.scratch = scratch


class ScratchSet:
    """One thread's scratch arrays for blocks of up to ``size`` elements; ``views(n)`` gives
    their first ``n`` elements (cached: blocks of one weight share their length)."""

    __slots__ = ("arrays", "_views")

    def __init__(self, n_scratch: int, size: int, dtype):
        self.arrays = tuple(aligned_empty(size, dtype) for _ in range(n_scratch))
        self._views: dict[int, tuple] = {}

    def views(self, n: int) -> tuple:
        got = self._views.get(n)
        if got is None:
            got = self._views[n] = tuple(a[:n] for a in self.arrays)
        return got


class Group:
    """The weights of one dtype: their positions, and the flat buffers when fused, or the
    blocks, the per-thread scratch sets and the element count when not."""

    __slots__ = ("dtype", "members", "records", "fused", "w_flat", "g_flat", "slots", "scratch",
                 "spans", "scratch_sets", "elements")

    def __init__(self, dtype, members, records, fused, w_flat=None, g_flat=None, slots=(), scratch=(),
                 spans=(), scratch_sets=(), elements=0):
        self.dtype = dtype
        self.members = members
        self.records = records
        self.fused = fused
        self.w_flat = w_flat
        self.g_flat = g_flat
        self.slots = slots
        self.scratch = scratch
        self.spans = spans
        self.scratch_sets = scratch_sets
        self.elements = elements


def aligned_empty(shape, dtype) -> np.ndarray:
    """``np.empty(shape, dtype)`` starting on a multiple of ``ALIGN`` bytes (NumPy's arrays
    start on 16: SIMD loops over 64-byte-aligned arrays run up to a quarter faster)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(size * dtype.itemsize + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + size * dtype.itemsize].view(dtype).reshape(shape)


def aligned_full(shape, value, dtype) -> np.ndarray:
    out = aligned_empty(shape, dtype)
    out.fill(value)
    return out


def _views(flat: np.ndarray, weights: list[np.ndarray]) -> list[np.ndarray]:
    out, start = [], 0
    for w in weights:
        out.append(flat[start:start + w.size].reshape(w.shape))
        start += w.size
    return out


def ranges(total: int, n: int, lead: int, dtype) -> list[tuple[int, int]]:
    """``n`` ranges covering ``0:total``: equal, but the first longer by ``lead`` (at most one
    range's length), their bounds on multiples of ``ALIGN`` bytes; empty ones left out."""
    step = max(1, ALIGN // np.dtype(dtype).itemsize)
    lead = min(lead, total // n) if n > 1 else 0
    bounds = [0] + [(lead + (total - lead) * p // n) // step * step for p in range(1, n)] + [total]
    return [(lo, hi) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def _spans(members: list[int], weights: list[np.ndarray], slots: dict, n_scratch: int, dtype,
           block_elements: int, lead_elements: int = 0) -> list[list[Block]]:
    """A large group's work cut into spans of equal size: the group's weights laid end to end
    (flat, in order) and cut into ranges of at most ``block_elements``, their number rounded up
    to a multiple of the threads (equal spans end together); a span is the list of the pieces
    of the weights it covers. A weight that is not C-contiguous (no
    flat view) is a span of its own, its whole array."""
    flat = [i for i in members if weights[i].flags.c_contiguous]
    total = sum(weights[i].size for i in flat)
    threads = max(1, min(engine.THREADS, total))
    n = -(-max(threads, -(-total // block_elements)) // threads) * threads
    cuts = ranges(total, n, lead_elements, dtype)
    bounds = [lo for lo, _ in cuts] + [total]
    n = len(cuts)
    spans: list[list[Block]] = [[] for _ in range(n)]
    offset, s = 0, 0
    for i in flat:
        w = weights[i]
        flat_w, flat_slots = w.reshape(-1), tuple(a.reshape(-1) for a in slots[i])
        lo = 0
        while lo < w.size:
            while bounds[s + 1] <= offset + lo:
                s += 1
            hi = min(w.size, bounds[s + 1] - offset)
            spans[s].append(Block(i, lo, hi, flat_w[lo:hi], tuple(a[lo:hi] for a in flat_slots)))
            lo = hi
        offset += w.size
    for i in members:
        w = weights[i]
        if not w.flags.c_contiguous:
            scratch = tuple(aligned_empty(w.shape, dtype) for _ in range(n_scratch))
            spans.append([Block(i, None, None, w, slots[i], scratch)])
    return [span for span in spans if span]


def make_layout(weights: list[np.ndarray], slots: list[tuple[str, object]], n_scratch: int,
                fuse_limit: int | None = None, block_elements: int | None = None, lead_elements: int = 0):
    """``(records, groups, slot_arrays)`` for ``weights``; ``slots`` lists (name, initial
    value per dtype: a callable ``dtype -> scalar``); ``slot_arrays[name][i]`` is weight i's."""
    limit = FUSE_LIMIT if fuse_limit is None else fuse_limit
    block = max(1, BLOCK_ELEMENTS if block_elements is None else block_elements)
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
            flat_slots = tuple(aligned_full(total, init(dtype), dtype) for _, init in slots)
            flat_scratch = tuple(aligned_empty(total, dtype) for _ in range(n_scratch))
            w_flat, g_flat = aligned_empty(total, dtype), aligned_empty(total, dtype)
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
            own = {}
            for i in members:
                w = weights[i]
                own[i] = tuple(aligned_full(w.shape, init(dtype), dtype) for _, init in slots)
                for (name, _), arr in zip(slots, own[i]):
                    slot_arrays[name][i] = arr
                records[i] = Record(w, own[i], None)
            spans = _spans(members, weights, own, n_scratch, dtype, block, lead_elements)
            largest = max((b.stop - b.start for span in spans for b in span if b.start is not None), default=0)
            sets = [ScratchSet(n_scratch, largest, dtype) for _ in range(engine.THREADS)]
            groups.append(Group(dtype, members, [records[i] for i in members], False,
                                spans=spans, scratch_sets=sets, elements=total))
    return records, groups, slot_arrays
