"""Optimizers: every layout of the state gives the same bits.

A step runs through flat buffers (small groups), through spans of pieces of the weights
(large groups), in one thread or shared by the engine's threads (``layout``). The update
rules are elementwise, so all of these must give exactly the same weights and state as the
fused single-thread step, which ``test_optimizers_keras_refs.py`` checks against Keras.
Small shapes stand in for large ones: ``fuse_limit``, ``block_elements`` and
``parallel_elements`` are lowered so that the large-model paths run on them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from haibal_py.numeric.kernels import engine
from haibal_py.numeric.optimizers import layout
from haibal_py.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Lion, Nadam, RMSprop,
                                  schedules)

SHAPES = [(7, 13), (13,), (13, 5), (5,), (3, 2, 4)]

CONFIGS = [
    (SGD, dict(learning_rate=0.1)),
    (SGD, dict(learning_rate=0.1, momentum=0.9)),
    (SGD, dict(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (Adam, dict(learning_rate=0.01)),
    (Adam, dict(learning_rate=0.01, amsgrad=True, clipnorm=0.5)),
    (AdamW, dict(learning_rate=0.01, weight_decay=0.1, global_clipnorm=1.0)),
    (RMSprop, dict(learning_rate=0.01)),
    (RMSprop, dict(learning_rate=0.01, momentum=0.5, centered=True, clipvalue=0.2)),
    (Adagrad, dict(learning_rate=0.1, gradient_accumulation_steps=2)),
    (Adadelta, dict(learning_rate=1.0, use_ema=True, ema_overwrite_frequency=2)),
    (Adamax, dict(learning_rate=schedules.ExponentialDecay(0.01, 2, 0.5))),
    (Nadam, dict(learning_rate=0.01, weight_decay=0.01)),
    (Lion, dict(learning_rate=0.01)),
    (Ftrl, dict(learning_rate=0.1, l1_regularization_strength=0.01, l2_shrinkage_regularization_strength=0.1)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]

LAYOUTS = {  # name: the optimizer's layout attributes
    "fused": {},
    "fused_threads": dict(parallel_elements=1),
    "spans": dict(fuse_limit=0),
    "spans_threads": dict(fuse_limit=0, block_elements=16, parallel_elements=1),
}


def make(dtype, steps=5, shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(steps)]
    return weights, grads


def run(cls, kwargs, dtype, attributes, weights, grads, names=None, exclude=None):
    opt = cls(**kwargs)
    for key, value in attributes.items():
        setattr(opt, key, value)
    opt.build(weights, names=names)
    if exclude:
        opt.exclude_from_weight_decay(var_names=exclude)
    for g in grads:
        opt.apply(g, weights)
    return opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_every_layout_gives_the_bits_of_the_fused_step(cls, kwargs, dtype):
    results = {}
    for name, attributes in LAYOUTS.items():
        weights, grads = make(dtype)
        opt = run(cls, kwargs, dtype, attributes, weights, grads)
        assert opt._groups[0].fused == (name.startswith("fused")), name
        results[name] = (weights, opt.get_state())
    ref_weights, ref_state = results["fused"]
    for name, (weights, state) in results.items():
        for i, (w, ref) in enumerate(zip(weights, ref_weights)):
            assert w.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(w, ref, err_msg=f"{name}: weight {i}")
        assert state.keys() == ref_state.keys()
        for key in ref_state:
            np.testing.assert_array_equal(state[key], ref_state[key], err_msg=f"{name}: {key}")


def test_spans_cut_weights_and_are_shared_by_the_threads():
    weights, grads = make(np.float32)
    opt = run(Adam, dict(learning_rate=0.01), np.float32, LAYOUTS["spans_threads"], weights, grads[:1])
    (group,) = opt._groups
    # every element of every weight in exactly one piece, in order; spans of 16 elements (the
    # first one longer by at most one span, its lead), cut on 16-element (64-byte) bounds
    assert len(group.spans) >= 10
    covered = {i: [] for i in range(len(SHAPES))}
    for span in group.spans:
        assert sum(b.stop - b.start for b in span) <= 32
        for b in span:
            covered[b.position].append((b.start, b.stop))
            assert np.shares_memory(b.weight, weights[b.position])
    for i, pieces in covered.items():
        assert pieces[0][0] == 0 and pieces[-1][1] == weights[i].size
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
    assert len(group.scratch_sets) == engine.THREADS
    if engine.THREADS > 1:
        seen = set()
        real_share = engine.share

        def spy(work, blocks, threads):
            def tracking(part):
                worker = engine.in_worker()
                if not worker:
                    time.sleep(0.002)  # let the worker, which starts a little later, take spans too
                seen.add(worker)
                return work(part)
            return real_share(tracking, blocks, threads)

        engine.share = spy
        try:
            for _ in range(50):
                opt.apply(grads[0], weights)
                if seen == {False, True}:
                    break
        finally:
            engine.share = real_share
        assert seen == {False, True}


def test_first_range_leads_and_bounds_are_aligned():
    cuts = layout.ranges(10_000, 4, 1000, np.float32)
    assert cuts[0][0] == 0 and cuts[-1][1] == 10_000
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert all(lo % 16 == 0 for lo, _ in cuts)  # 64 bytes of float32
    lengths = [hi - lo for lo, hi in cuts]
    assert lengths[0] - max(lengths[1:]) > 900
    assert layout.ranges(8, 2, 1000, np.float64)[0] == (0, 8)  # the lead is at most a range: 16/8 aligned
    assert layout.ranges(0, 2, 10, np.float32) == []


def test_own_arrays_are_aligned():
    weights, grads = make(np.float32, steps=1)
    for attributes in (LAYOUTS["fused"], LAYOUTS["spans"]):
        opt = run(Adam, dict(), np.float32, attributes, [w.copy() for w in weights], grads)
        for name in ("momentum", "velocity"):
            assert opt._slots[name][0].ctypes.data % layout.ALIGN == 0
            assert opt._slots[name][0].flags.c_contiguous and opt._slots[name][0].flags.writeable
    a = layout.aligned_full((3, 5), 2.5, np.float64)
    assert a.shape == (3, 5) and a.dtype == np.float64 and a.ctypes.data % layout.ALIGN == 0
    assert np.all(a == 2.5)


@pytest.mark.parametrize("attributes", [LAYOUTS["spans"], LAYOUTS["spans_threads"]], ids=["one", "threads"])
def test_spans_take_non_contiguous_weights_missing_and_float64_gradients(attributes):
    # a transposed (Fortran-order) weight, a None gradient in one step, float64 gradients for
    # float32 weights, weight decay with one weight excluded: the same as the fused step
    rng = np.random.default_rng(4)
    base = [rng.normal(size=(13, 7)).astype(np.float32).T, rng.normal(size=(13,)).astype(np.float32),
            rng.normal(size=(13, 5)).astype(np.float32)]
    assert not base[0].flags.c_contiguous
    grads = [[rng.normal(size=w.shape) for w in base] for _ in range(4)]
    grads[2][1] = None
    names = ["dense/kernel", "dense/bias", "out/kernel"]
    outcomes = []
    for attrs in ({}, attributes):
        weights = [w.copy(order="K") for w in base]
        assert not weights[0].flags.c_contiguous
        with pytest.warns(UserWarning, match=r"positions \[1\]"):
            opt = run(AdamW, dict(learning_rate=0.01, weight_decay=0.1), np.float32, attrs, weights, grads,
                      names=names, exclude=["bias"])
        outcomes.append((weights, opt.get_state()))
    (fused, fused_state), (spans, spans_state) = outcomes
    for w, ref in zip(spans, fused):
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, ref)
    for key in fused_state:
        np.testing.assert_array_equal(spans_state[key], fused_state[key], err_msg=key)
