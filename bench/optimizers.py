"""Benchmark of one optimizer step: haibal-py against torch.optim and Keras 3 (TensorFlow).

Run: ``.venv/bin/python bench/optimizers.py [--peer-python PATH | --no-peers] [--quick]
[--rounds 3]``. haibal-py runs with the interpreter that runs the script, the peers (torch,
tensorflow-cpu from the ``bench`` extra) with ``--peer-python`` (default
``$HAIBAL_BENCH_PEER_PYTHON``, else ``.venv-bench/bin/python`` when it exists, else this
interpreter). Each framework runs in a process of its own (TensorFlow slows torch down when
both are loaded); the three take turns ``--rounds`` times and each row keeps its best time,
so a load that varies over time weighs on each alike. A framework that is not installed is
reported "not measured" and its column shows "-".

Rows (float32 weights, gradients prepared beforehand, one step timed, best of several runs):

* ``mlp-small``: the digits MLP of the examples, 8 arrays, 3.6k parameters: what
  per-step overhead costs when a model trains with batch 32;
* ``mlp-1M``: 784-1024-512-10, 6 arrays, 1.3M parameters: the arithmetic itself.

Peers: ``torch.optim.X`` (``foreach`` implementation, the default on CPU) with ``.grad``
set, ``opt.step()``; Keras ``optimizer.apply(grads, variables)`` inside a ``tf.function``
(eager Keras is far slower). Prints microseconds per step and haibal's ratio to the
fastest peer (below 1: haibal is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from _common import ROOT, add_peer_options, best_time, frameworks_to_run, header, not_measured, run_worker
ROWS = {
    "mlp-small": [(64, 32), (32,), (32, 32), (32,), (32, 10), (10,), (10, 10), (10,)],
    "mlp-1M": [(784, 1024), (1024,), (1024, 512), (512,), (512, 10), (10,)],
}
OPTIMIZERS = {  # name: (haibal / keras class, kwargs, torch class, torch kwargs)
    "SGD+momentum": ("SGD", dict(learning_rate=0.01, momentum=0.9), "SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(learning_rate=0.001), "Adam", dict(lr=0.001, eps=1e-7)),
    "RMSprop": ("RMSprop", dict(learning_rate=0.001), "RMSprop", dict(lr=0.001, alpha=0.9, eps=1e-7)),
}


def data(shapes):
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [(rng.normal(size=s) * 0.01).astype(np.float32) for s in shapes]
    return weights, grads


def run_haibal(quick: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    from haibal_py import optimizers

    out = {}
    for row, shapes in ROWS.items():
        for name, (cls, kwargs, _, _) in OPTIMIZERS.items():
            weights, grads = data(shapes)
            opt = getattr(optimizers, cls)(**kwargs)
            out[f"{row}|{name}"] = best_time(lambda: opt.apply(grads, weights), 5 if quick else 20,
                                             0.2 if quick else 1.0, loop_seconds=5e-3)
    return out


def run_torch(quick: bool) -> dict:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    out = {}
    for row, shapes in ROWS.items():
        for name, (_, _, cls, kwargs) in OPTIMIZERS.items():
            weights, grads = data(shapes)
            params = [torch.nn.Parameter(torch.from_numpy(w)) for w in weights]
            for p, g in zip(params, grads):
                p.grad = torch.from_numpy(g)
            opt = getattr(torch.optim, cls)(params, **kwargs)

            def step():
                with torch.no_grad():
                    opt.step()
            out[f"{row}|{name}"] = best_time(step, 5 if quick else 20, 0.2 if quick else 1.0, loop_seconds=5e-3)
    return out


def run_keras(quick: bool) -> dict:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    out = {}
    for row, shapes in ROWS.items():
        for name, (cls, kwargs, _, _) in OPTIMIZERS.items():
            weights, grads = data(shapes)
            variables = [keras.Variable(w) for w in weights]
            tf_grads = [tf.constant(g) for g in grads]
            opt = getattr(keras.optimizers, cls)(**kwargs)
            opt.build(variables)
            step = tf.function(lambda: opt.apply(tf_grads, variables))
            out[f"{row}|{name}"] = best_time(step, 5 if quick else 20, 0.2 if quick else 1.0, loop_seconds=5e-3)
    return out


WORKERS = {"haibal": run_haibal, "torch": run_torch, "keras": run_keras}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="turns each framework takes (best time kept)")
    add_peer_options(parser)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.quick)))
        return 0
    print(header(), flush=True)
    peers, frameworks = frameworks_to_run(args, ("torch", "keras"))
    results, failed = {}, set()
    for _ in range(args.rounds):  # the frameworks take turns; each row keeps its best time
        for worker in frameworks:
            if worker in failed:
                continue
            python = sys.executable if worker == "haibal" else peers
            got = run_worker(python, [__file__, "--worker", worker] + (["--quick"] if args.quick else []))
            if "error" in got:
                not_measured(worker, got["error"])
                failed.add(worker)
                continue
            mine = results.setdefault(worker, got)
            for key, t in got.items():
                mine[key] = min(mine[key], t)
    print(f"# best of {args.rounds} turn(s) each; haibal-py: {sys.executable}; peers: {peers}")
    print(f"{'row':<10} {'optimizer':<13} {'haibal us':>10} {'torch us':>10} {'keras us':>10} {'ratio':>6}")
    for key in results.get("haibal", {}):
        row, name = key.split("|")
        times = {w: results[w].get(key) for w in results}
        peer_times = [t for w, t in times.items() if w != "haibal" and t]
        ratio = f"{times['haibal'] / min(peer_times):.2f}" if peer_times else "-"
        cells = [f"{times[w] * 1e6:10.1f}" if times.get(w) else f"{'-':>10}" for w in ("haibal", "torch", "keras")]
        print(f"{row:<10} {name:<13} {' '.join(cells)} {ratio:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
