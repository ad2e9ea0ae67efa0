"""Benchmark of haibal-py's sparse_categorical_crossentropy against a memory floor and peers.

Run: ``python bench/scce.py`` (peers are optional imports: install them with the ``bench``
extra, ideally in a separate venv: ``python3.11 -m venv .venv-bench &&
.venv-bench/bin/pip install -e '.[bench]'``). Options: ``--quick`` (fewer repeats),
``--rows classification,segmentation,small``.

Each row times one call (best of several runs) of:

* ``floor``: one pass reading ``y_pred`` (the faster of ``y_pred.sum()`` and ``np.max(y_pred)``),
* ``haibal``: ``haibal_py.losses.sparse_categorical_crossentropy`` (per-sample losses),
* ``torch``: ``F.cross_entropy`` on logits / ``F.nll_loss`` on clipped logs of probabilities,
  ``reduction="none"``, on tensors sharing ``y_pred``'s memory,
* ``tensorflow``: ``tf.keras.losses.sparse_categorical_crossentropy`` on prepared tensors,

and prints each time as a ratio to the floor and to the fastest peer present, with the
peak extra memory of the haibal call (``tracemalloc``, which sees NumPy's allocations).
All of them are timed in interleaved rounds (best of every round), so a load that varies
over time on a shared machine weighs on each alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import best_time, machine  # noqa: E402
from haibal_py.losses import sparse_categorical_crossentropy  # noqa: E402

EPS = 1e-7


def peak_extra_bytes(fn) -> int:
    """Peak NumPy memory allocated during ``fn()`` beyond what was live before it."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak - base


def make_case(name: str, rng: np.random.Generator):
    """(y_true, logits, probabilities, class axis, ignore_class) for one benchmark case."""
    if name == "classification":
        logits = rng.standard_normal((65536, 1000), dtype=np.float32) * 3
        labels = rng.integers(0, 1000, 65536).astype(np.int64)
        ignore = None
    elif name == "segmentation":
        logits = rng.standard_normal((8, 512, 512, 21), dtype=np.float32) * 3
        labels = rng.integers(0, 21, (8, 512, 512)).astype(np.uint8)
        labels[rng.random(labels.shape) < 0.1] = 255
        ignore = 255
    else:
        logits = rng.standard_normal((32, 10), dtype=np.float32) * 3
        labels = rng.integers(0, 10, 32).astype(np.int64)
        ignore = None
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return labels, logits, probs, ignore


def torch_fn(labels, y_pred, from_logits, ignore):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(y_pred)
    if x.ndim > 2:
        x = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))  # class axis to dim 1 (a view)
    y = torch.from_numpy(labels.astype(np.int64))
    idx = -100 if ignore is None else ignore
    if from_logits:
        return lambda: F.cross_entropy(x, y, reduction="none", ignore_index=idx)
    return lambda: F.nll_loss(torch.log(torch.clamp(x / x.sum(1, keepdim=True), EPS, 1 - EPS)), y,
                              reduction="none", ignore_index=idx)


def tf_fn(labels, y_pred, from_logits, ignore):
    import tensorflow as tf

    x, y = tf.constant(y_pred), tf.constant(labels.astype(np.int64))
    loss = tf.keras.losses.sparse_categorical_crossentropy
    return lambda: loss(y, x, from_logits=from_logits, ignore_class=ignore)


def load_peers() -> dict:
    peers = {}
    try:
        import torch

        peers["torch"] = (torch_fn, f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:
        pass
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        peers["tensorflow"] = (tf_fn, f"tensorflow {tf.__version__}")
    except ImportError:
        pass
    return peers


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--rows", default="classification,segmentation,small")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, 1 with --quick)")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    min_runs, min_seconds = (3, 0.2) if args.quick else (5, 0.5)
    rng = np.random.default_rng(0)
    cases = {name: make_case(name, rng) for name in args.rows.split(",")}

    # Every implementation is timed in several interleaved rounds (best of all rounds), so that
    # a load that changes over time (a shared machine) weighs on all of them alike.
    peers = {} if args.no_peers else load_peers()
    calls, peaks = {}, {}
    for case, (labels, logits, probs, ignore) in cases.items():
        calls[case, None, "floor"] = [lambda x=logits: x.sum(), lambda x=logits: np.max(x)]
        for from_logits in (False, True):
            y_pred = logits if from_logits else probs

            def ours(y_pred=y_pred, from_logits=from_logits, labels=labels, ignore=ignore):
                return sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits, ignore_class=ignore)

            calls[case, from_logits, "haibal"] = [ours]
            peaks[case, from_logits] = peak_extra_bytes(ours)
            for name, (make, _) in peers.items():
                calls[case, from_logits, name] = [make(labels, y_pred, from_logits, ignore)]
    times = dict.fromkeys(calls, float("inf"))
    for _ in range(args.rounds):
        for key, fns in calls.items():
            for fn in fns:
                times[key] = min(times[key], best_time(fn, min_runs, min_seconds, loop_seconds=2e-3))
    floors = {case: times[case, None, "floor"] for case in cases}

    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, NumPy {np.__version__}")
    for _, desc in peers.values():
        print(f"# peer: {desc}")
    header = (f"{'case':<15} {'from_logits':<11} {'impl':<11} {'ms':>9} {'x floor':>8} {'x best peer':>11} "
              f"{'peak extra MB':>13}")
    print(header)
    print("-" * len(header))
    for case, (labels, logits, probs, ignore) in cases.items():
        floor = floors[case]
        for from_logits in (False, True):
            row = {"floor": floor, **{n: t for (c, fl, n), t in times.items() if c == case and fl is from_logits}}
            peer_best = min((t for n, t in row.items() if n in peers), default=None)
            for name, t in row.items():
                ratio_peer = f"{t / peer_best:11.2f}" if peer_best else f"{'-':>11}"
                mem = f"{peaks[case, from_logits] / 2**20:13.1f}" if name == "haibal" else f"{'':>13}"
                ms = f"{t * 1e3:9.3f}" if t >= 1e-3 else f"{t * 1e3:9.4f}"  # microseconds on the small rows
                print(f"{case:<15} {str(from_logits):<11} {name:<11} {ms} {t / floor:8.2f} "
                      f"{ratio_peer} {mem}")
        print(f"{'':<15} (y_pred {logits.shape} float32, {logits.nbytes / 2**20:.1f} MB; floor = one pass "
              f"reading it, the faster of sum and max)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
