"""Benchmark of haibal-py's sparse_categorical_crossentropy against a memory floor and peers.

Run: ``.venv/bin/python bench/scce.py [--peer-python PATH]`` (haibal-py runs with the
interpreter that runs the script; the peers, torch and tensorflow-cpu from the ``bench``
extra, with ``--peer-python``: default ``$HAIBAL_BENCH_PEER_PYTHON``, else
``.venv-bench/bin/python`` when it exists, else this interpreter). Options: ``--quick``
(fewer repeats, one round), ``--rounds n``, ``--rows classification,segmentation,small``,
``--no-peers``.

Each row times one call (best of several runs) of:

* ``floor``: one pass reading ``y_pred`` (the faster of ``y_pred.sum()`` and ``np.max(y_pred)``),
* ``haibal``: ``haibal_py.losses.sparse_categorical_crossentropy`` (per-sample losses),
* ``torch``: ``F.cross_entropy`` on logits / ``F.nll_loss`` on clipped logs of probabilities,
  ``reduction="none"``, on tensors sharing ``y_pred``'s memory,
* ``tensorflow``: ``tf.keras.losses.sparse_categorical_crossentropy`` on prepared tensors,

and prints each time as a ratio to the floor and to the fastest peer present, with the
peak extra memory of the haibal call (``tracemalloc``, which sees NumPy's allocations).
Each framework is a long-lived worker process of its own (the floor is timed by haibal's),
making the same seeded inputs; the rounds (3 by default) interleave every call of every
worker, and each call keeps its best time over the rounds, so a load that varies over time
on a shared machine weighs on each alike.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tracemalloc
import numpy as np

from _common import (ROOT, Worker, add_peer_options, best_time, header, load_average, not_measured, peer_python,
                     serve)

EPS = 1e-7
CASES = ("classification", "segmentation", "small")
FRAMEWORKS = ("haibal", "torch", "tensorflow")


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


def make_case(name: str):
    """(y_true, logits, probabilities, ignore_class) for one case, seeded by the case alone
    (every worker makes the same arrays)."""
    rng = np.random.default_rng(CASES.index(name))
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


# ----------------------------------------------------------------------------- each framework's calls
def haibal_calls(impl, labels, y_pred, from_logits, ignore) -> list:
    """``floor``: reading ``y_pred`` (two ways, the faster counts); ``haibal``: the loss."""
    if impl == "floor":
        return [y_pred.sum, lambda: np.max(y_pred)]
    from haibal_py.losses import sparse_categorical_crossentropy
    return [lambda: sparse_categorical_crossentropy(labels, y_pred, from_logits=from_logits, ignore_class=ignore)]


def torch_calls(impl, labels, y_pred, from_logits, ignore) -> list:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(y_pred)
    if x.ndim > 2:
        x = x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))  # class axis to dim 1 (a view)
    y = torch.from_numpy(labels.astype(np.int64))
    idx = -100 if ignore is None else ignore
    if from_logits:
        return [lambda: F.cross_entropy(x, y, reduction="none", ignore_index=idx)]
    return [lambda: F.nll_loss(torch.log(torch.clamp(x / x.sum(1, keepdim=True), EPS, 1 - EPS)), y,
                               reduction="none", ignore_index=idx)]


def tensorflow_calls(impl, labels, y_pred, from_logits, ignore) -> list:
    import tensorflow as tf

    x, y = tf.constant(y_pred), tf.constant(labels.astype(np.int64))
    loss = tf.keras.losses.sparse_categorical_crossentropy
    return [lambda: loss(y, x, from_logits=from_logits, ignore_class=ignore)]


def describe(framework: str) -> str:
    if framework == "haibal":
        sys.path.insert(0, str(ROOT))
        import haibal_py  # noqa: F401 (importable: else "not measured")
        return f"haibal-py (NumPy {np.__version__})"
    if framework == "torch":
        import torch
        return f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    import tensorflow as tf
    return f"tensorflow {tf.__version__}"


def worker(framework: str) -> None:
    """Answer ``{"op": "hello"}`` with the framework's version and ``{"case", "from_logits",
    "impl", "min_runs", "min_seconds", "memory"}`` with ``{"seconds"[, "peak"]}``."""
    make_calls = {"haibal": haibal_calls, "torch": torch_calls, "tensorflow": tensorflow_calls}[framework]
    cases, calls = {}, {}

    def answer(req: dict) -> dict:
        if req["op"] == "hello":
            return {"version": describe(framework)}
        case, from_logits, impl = req["case"], req["from_logits"], req["impl"]
        if case not in cases:
            cases[case] = make_case(case)
        key = (case, from_logits, impl)
        if key not in calls:
            labels, logits, probs, ignore = cases[case]
            calls[key] = make_calls(impl, labels, logits if from_logits in (None, True) else probs,
                                    bool(from_logits), ignore)
        fns = calls[key]
        reply = {"seconds": min(best_time(fn, req["min_runs"], req["min_seconds"], loop_seconds=2e-3)
                                for fn in fns)}
        if req.get("memory"):
            reply["peak"] = peak_extra_bytes(fns[0])
        return reply

    serve(answer)


# ----------------------------------------------------------------------------- the parent
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, one round")
    ap.add_argument("--rows", default=",".join(CASES))
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, 1 with --quick)")
    add_peer_options(ap)
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    min_runs, min_seconds = (3, 0.2) if args.quick else (5, 0.5)
    cases = [c for c in args.rows.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"unknown rows {sorted(unknown)}; known: {', '.join(CASES)}")

    print(header(), flush=True)
    peers = peer_python(args.peer_python)
    workers, versions = {}, {}
    for fw in FRAMEWORKS:
        if fw != "haibal" and args.no_peers:
            not_measured(fw, "--no-peers")
            continue
        w = Worker(sys.executable if fw == "haibal" else peers, [__file__, "--worker", fw])
        reply = w.ask({"op": "hello"})
        if "error" in reply:
            not_measured(fw, reply["error"])
            w.close()
            continue
        workers[fw], versions[fw] = w, reply["version"]
        print(f"# {'' if fw == 'haibal' else 'peer: '}{reply['version']}", flush=True)
    if "haibal" not in workers:
        return 1

    # every call of every worker in each round, the rounds one after the other: a load that
    # changes over time (a shared machine) weighs on all of them alike; each keeps its best
    calls = []
    for case in cases:
        calls.append((case, None, "floor"))
        for from_logits in (False, True):
            calls += [(case, from_logits, fw) for fw in FRAMEWORKS]
    times = dict.fromkeys(calls, float("inf"))
    peaks, errors = {}, {}
    for rnd in range(rounds):
        for key in calls:
            case, from_logits, impl = key
            w = workers.get("haibal" if impl == "floor" else impl)
            if w is None or key in errors:
                continue
            reply = w.ask({"op": "time", "case": case, "from_logits": from_logits, "impl": impl,
                           "min_runs": min_runs, "min_seconds": min_seconds,
                           "memory": rnd == 0 and impl == "haibal"})
            if "error" in reply:
                errors[key] = reply["error"]
                continue
            times[key] = min(times[key], reply["seconds"])
            if "peak" in reply:
                peaks[case, from_logits] = reply["peak"]
    for w in workers.values():
        w.close()

    print(f"# best of {rounds} interleaved round(s); haibal-py: {sys.executable}; peers: {peers}; "
          f"at the end: {load_average()}")
    head = (f"{'case':<15} {'from_logits':<11} {'impl':<11} {'ms':>9} {'x floor':>8} {'x best peer':>11} "
            f"{'peak extra MB':>13}")
    print(head)
    print("-" * len(head))
    for case in cases:
        floor = times[case, None, "floor"]
        shape, nbytes = {"classification": ((65536, 1000), 65536 * 1000 * 4),
                         "segmentation": ((8, 512, 512, 21), 8 * 512 * 512 * 21 * 4),
                         "small": ((32, 10), 32 * 10 * 4)}[case]
        for from_logits in (False, True):
            row = {"floor": floor, **{fw: times[case, from_logits, fw] for fw in FRAMEWORKS}}
            measured = [t for n, t in row.items() if n not in ("floor", "haibal") and t < float("inf")]
            peer_best = min(measured, default=None)
            for name, t in row.items():
                mem = (f"{peaks[case, from_logits] / 2**20:13.1f}"
                       if name == "haibal" and (case, from_logits) in peaks else f"{'':>13}")
                if t == float("inf"):
                    print(f"{case:<15} {str(from_logits):<11} {name:<11} {'-':>9} {'-':>8} {'-':>11} {mem}")
                    continue
                ratio_peer = f"{t / peer_best:11.2f}" if peer_best else f"{'-':>11}"
                ms = f"{t * 1e3:9.3f}" if t >= 1e-3 else f"{t * 1e3:9.4f}"  # microseconds on the small rows
                print(f"{case:<15} {str(from_logits):<11} {name:<11} {ms} {t / floor:8.2f} {ratio_peer} {mem}")
        print(f"{'':<15} (y_pred {shape} float32, {nbytes / 2**20:.1f} MB; floor = one pass "
              f"reading it, the faster of sum and max)")
    for (case, from_logits, impl), err in errors.items():
        print(f"  {case}/{from_logits}/{impl}: {err}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
