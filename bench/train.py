"""Benchmark of training: time per epoch and final accuracy, haibal-py against PyTorch and
Keras 3 (TensorFlow), same architecture, batch size, optimizer and data.

Run: ``.venv/bin/python bench/train.py [--peer-python PATH | --no-peers]`` (~15 minutes).
haibal-py runs with the interpreter that runs the script, the peers (torch, tensorflow-cpu
from the ``bench`` extra) with ``--peer-python`` (default ``$HAIBAL_BENCH_PEER_PYTHON``,
else ``.venv-bench/bin/python`` when it exists, else this interpreter). Each framework runs
in a process of its own (TensorFlow slows torch down when both are loaded); the data are
made once by this process and handed to the workers in a temporary ``.npz``. A framework
that is not installed is reported "not measured" and its column shows "-". Options:
``--quick`` (fewer epochs and seeds), ``--only mlp|cnn``, ``--rounds n`` (the frameworks take
turns n times, each keeping its best time: 2 by default), ``--json out.json``, ``--layers``
(the CNN layer by layer instead: forward and backward of each layer at batch 64, where the
time goes).

Rows:

* ``mlp``: the 8x8 digits (examples/data/digits.npz, pixels / 16), 1437 training and 360
  test samples (a stratified split with seed 0); Dense 128 relu, Dense 64 relu, Dense 10
  softmax; batch 32, Adam(1e-3); 20 epochs (8 with ``--quick``). Per-batch overhead
  dominates: 45 steps of ~20k multiply-adds each.
* ``cnn``: 10,000 seeded 28x28x1 training images and 2,000 test images (the digits
  upscaled 3x, placed at a random offset, with Gaussian noise); Conv2D 16 3x3 relu,
  MaxPooling2D, Conv2D 32 3x3 relu, MaxPooling2D, Flatten, Dense 10 softmax; batch 64,
  Adam(1e-3); 3 epochs (2 with ``--quick``).

Each framework trains as its users would: haibal and Keras with ``model.fit(...,
verbose=0)`` and ``metrics=["accuracy"]``, torch with a plain loop (shuffled index
batches, ``zero_grad``/``backward``/``step``, the running loss and accuracy summed per
batch as fit computes them). Time per epoch: the median over epochs after the first (the
first includes Keras' graph tracing), from the start to the end of each epoch, best over
seeds. Accuracy: on the test samples after the last epoch, the mean over the seeds
(``--seeds``, 3 by default). Every framework starts from Keras' initialisation (Glorot
uniform kernels, zero biases; torch's own default differs). Torch runs on one thread
(``$BENCH_TORCH_THREADS`` changes it): on the shared 2-core VM its OpenMP workers mostly wait
(the CNN's epoch: 2.2 s on one thread, 7-30 s on two); Keras runs its default
``tf.function`` (no XLA on CPU) with TensorFlow's own thread pools.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import ROOT, add_peer_options, best_time, frameworks_to_run, header, not_measured, run_worker
EPOCHS = {"mlp": (20, 8), "cnn": (3, 2)}
TORCH_THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "1"))
BATCH = {"mlp": 32, "cnn": 64}


# ---------------------------------------------------------------------------- data
def make_data(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from haibal_py import datasets

    x, y = datasets.load_digits(images=True)
    x = x / 16.0
    flat = x.reshape(len(x), 64)
    xtr, xte, ytr, yte = datasets.train_test_split(flat, y, test_size=0.2, seed=0, stratify=y)
    rng = np.random.default_rng(0)

    def images(n):
        idx = rng.integers(0, len(x), n)
        big = np.kron(x[idx], np.ones((3, 3)))                        # (n, 24, 24)
        out = np.zeros((n, 28, 28))
        offs = rng.integers(0, 5, (n, 2))
        for i, (r, c) in enumerate(offs):
            out[i, r:r + 24, c:c + 24] = big[i]
        out += rng.normal(0, 0.1, out.shape)
        return out[..., None].astype(np.float32), y[idx]

    cx, cy = images(10_000)
    cxt, cyt = images(2_000)
    np.savez(path, mlp_x=xtr.astype(np.float32), mlp_y=ytr, mlp_xt=xte.astype(np.float32), mlp_yt=yte,
             cnn_x=cx, cnn_y=cy, cnn_xt=cxt, cnn_yt=cyt)


def load(path: str, row: str):
    with np.load(path) as f:
        return f[f"{row}_x"], f[f"{row}_y"].astype(np.int64), f[f"{row}_xt"], f[f"{row}_yt"].astype(np.int64)


def summarise(epoch_times: list[list[float]], accuracies: list[float]) -> dict:
    per_seed = [statistics.median(t[1:]) if len(t) > 1 else t[0] for t in epoch_times]
    return {"epoch_s": min(per_seed), "first_epoch_s": min(t[0] for t in epoch_times),
            "accuracy": float(np.mean(accuracies)), "accuracies": accuracies}


# ---------------------------------------------------------------------------- workers
class EpochClock:
    """The wall time of each epoch, as a callback of either framework (mixed into its Callback)."""

    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.t0)


def run_haibal(path: str, rows: list[str], epochs: dict, seeds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from haibal_py import callbacks, layers, models, optimizers
    from haibal_py.numeric.seeding import set_random_seed

    class Clock(EpochClock, callbacks.Callback):
        pass

    out = {}
    for row in rows:
        x, y, xt, yt = load(path, row)
        times, accs = [], []
        for seed in range(seeds):
            set_random_seed(seed)
            if row == "mlp":
                model = models.Sequential([layers.Input((64,)), layers.Dense(128, activation="relu"),
                                           layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
            else:
                model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(16, 3, activation="relu"),
                                           layers.MaxPooling2D(), layers.Conv2D(32, 3, activation="relu"),
                                           layers.MaxPooling2D(), layers.Flatten(),
                                           layers.Dense(10, activation="softmax")])
            model.compile(optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
            clock = Clock()
            model.fit(x, y, batch_size=BATCH[row], epochs=epochs[row], verbose=0, callbacks=[clock])
            times.append(clock.times)
            accs.append(float(model.evaluate(xt, yt, batch_size=256, verbose=0)[1]))
        out[row] = summarise(times, accs)
    return out


def run_torch(path: str, rows: list[str], epochs: dict, seeds: int) -> dict:
    import torch
    from torch import nn

    out = {}
    for row in rows:
        # one thread unless told otherwise: on the 2-core VM, shared with other jobs, torch's
        # OpenMP workers spin and wait (the CNN's epoch took 7-30 s on two threads, 2.2 s on one)
        torch.set_num_threads(TORCH_THREADS)
        x, y, xt, yt = load(path, row)
        if row == "cnn":
            x, xt = x.transpose(0, 3, 1, 2).copy(), xt.transpose(0, 3, 1, 2).copy()
        X, Y, XT = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)
        times, accs = [], []
        for seed in range(seeds):
            torch.manual_seed(seed)
            if row == "mlp":
                model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
            else:
                model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
            for layer in model:  # Keras' initialisation: Glorot uniform kernels, zero biases
                if isinstance(layer, (nn.Linear, nn.Conv2d)):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
            loss_fn = nn.CrossEntropyLoss()
            bs, n = BATCH[row], len(X)
            seed_times = []
            for _ in range(epochs[row]):
                t0 = time.perf_counter()
                model.train()
                perm = torch.randperm(n)
                total = correct = 0.0
                for start in range(0, n, bs):
                    idx = perm[start:start + bs]
                    xb, yb = X[idx], Y[idx]
                    opt.zero_grad()
                    logits = model(xb)
                    loss = loss_fn(logits, yb)
                    loss.backward()
                    opt.step()
                    with torch.no_grad():
                        total += float(loss) * len(idx)
                        correct += float((logits.argmax(1) == yb).sum())
                seed_times.append(time.perf_counter() - t0)
            times.append(seed_times)
            model.eval()
            with torch.no_grad():
                accs.append(float((model(XT).argmax(1).numpy() == yt).mean()))
        out[row] = summarise(times, accs)
    return out


def run_keras(path: str, rows: list[str], epochs: dict, seeds: int) -> dict:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    class Clock(EpochClock, keras.callbacks.Callback):
        pass

    out = {}
    for row in rows:
        x, y, xt, yt = load(path, row)
        times, accs = [], []
        for seed in range(seeds):
            keras.utils.set_random_seed(seed)
            L = keras.layers
            if row == "mlp":
                model = keras.Sequential([keras.Input((64,)), L.Dense(128, activation="relu"),
                                          L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")])
            else:
                model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(),
                                          L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                                          L.Dense(10, activation="softmax")])
            model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
            clock = Clock()
            model.fit(x, y, batch_size=BATCH[row], epochs=epochs[row], verbose=0, callbacks=[clock])
            times.append(clock.times)
            accs.append(float(model.evaluate(xt, yt, batch_size=256, verbose=0)[1]))
        out[row] = summarise(times, accs)
    return out


# ---------------------------------------------------------------------------- the CNN per layer
LAYERS = ("conv1", "pool1", "conv2", "pool2", "flatten", "dense")


def layers_haibal(path, rows, epochs, seeds) -> dict:
    sys.path.insert(0, str(ROOT))
    from haibal_py import layers

    stack = [layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(), layers.Conv2D(32, 3, activation="relu"),
             layers.MaxPooling2D(), layers.Flatten(), layers.Dense(10, activation="softmax")]
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1)).astype(np.float32)
    out = {}
    for name, layer in zip(LAYERS, stack):
        y, ctx = layer.call_forward(x, True)
        dy = rng.random(y.shape).astype(np.float32)
        fwd = best_time(lambda: layer.call_forward(x, True), 15)
        bwd = best_time(lambda: layer.call_backward(ctx, dy, name != "conv1"), 15)
        out[name] = {"forward": fwd, "backward": bwd}
        x = y
    return out


def layers_keras(path, rows, epochs, seeds) -> dict:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf

    L = keras.layers
    stack = [L.Conv2D(16, 3, activation="relu"), L.MaxPooling2D(), L.Conv2D(32, 3, activation="relu"),
             L.MaxPooling2D(), L.Flatten(), L.Dense(10, activation="softmax")]
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((64, 28, 28, 1)).astype(np.float32))
    out = {}
    for name, layer in zip(LAYERS, stack):
        y = layer(x, training=True)
        dy = tf.constant(rng.random(y.shape).astype(np.float32))
        fwd_fn = tf.function(lambda: layer(x, training=True))

        def both(layer=layer, x=x, dy=dy, first=name == "conv1"):
            with tf.GradientTape() as tape:
                if not first:
                    tape.watch(x)
                z = layer(x, training=True)
                s = tf.reduce_sum(z * dy)
            return tape.gradient(s, ([] if first else [x]) + layer.trainable_weights)

        both_fn = tf.function(both)
        fwd = best_time(fwd_fn, 15)
        total = best_time(both_fn, 15)
        out[name] = {"forward": fwd, "backward": max(total - fwd, 0.0)}
        x = y
    return out


def layers_torch(path, rows, epochs, seeds) -> dict:
    import torch
    from torch import nn

    torch.set_num_threads(TORCH_THREADS)
    stack = [nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU()), nn.MaxPool2d(2), nn.Sequential(nn.Conv2d(16, 32, 3),
             nn.ReLU()), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10)]
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((64, 1, 28, 28)).astype(np.float32))
    out = {}
    for name, layer in zip(LAYERS, stack):
        with torch.no_grad():
            y = layer(x)
        dy = torch.from_numpy(rng.random(tuple(y.shape)).astype(np.float32))

        def fwd(layer=layer, x=x):
            with torch.no_grad():
                layer(x)

        def both(layer=layer, x=x, dy=dy, first=name == "conv1"):
            xi = x if first else x.detach().requires_grad_(True)
            layer.zero_grad(set_to_none=True)
            layer(xi).backward(dy)

        t_fwd = best_time(fwd, 15)
        out[name] = {"forward": t_fwd, "backward": max(best_time(both, 15) - t_fwd, 0.0)}
        x = y
    return out


def print_layers(results: dict) -> None:
    workers = [w for w in ("haibal", "torch", "keras") if w in results]
    print("\nCNN per layer, batch 64 (ms): forward / backward (need_dx off for the first convolution)")
    print(f"{'layer':<8} " + " ".join(f"{w:>17}" for w in workers))
    totals = {w: [0.0, 0.0] for w in workers}
    for name in LAYERS:
        cells = []
        for w in workers:
            c = results[w][name]
            totals[w][0] += c["forward"]
            totals[w][1] += c["backward"]
            cells.append(f"{c['forward'] * 1e3:8.2f} /{c['backward'] * 1e3:7.2f}")
        print(f"{name:<8} " + " ".join(cells))
    print(f"{'total':<8} " + " ".join(f"{t[0] * 1e3:8.2f} /{t[1] * 1e3:7.2f}" for t in totals.values()))


WORKERS = {"haibal": run_haibal, "torch": run_torch, "keras": run_keras}
LAYER_WORKERS = {"haibal": layers_haibal, "torch": layers_torch, "keras": layers_keras}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted(EPOCHS), action="append")
    parser.add_argument("--seeds", type=int, default=None)
    add_peer_options(parser)
    parser.add_argument("--rounds", type=int, default=2, help="turns each framework takes (best time kept)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--layers", action="store_true", help="time the CNN layer by layer instead")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = args.only or list(EPOCHS)
    epochs = {row: EPOCHS[row][1 if args.quick else 0] for row in EPOCHS}
    seeds = args.seeds or (1 if args.quick else 3)
    if args.worker:
        table = LAYER_WORKERS if args.layers else WORKERS
        print(json.dumps(table[args.worker](args.data, rows, epochs, seeds)))
        return 0
    print(header(), flush=True)
    peers, frameworks = frameworks_to_run(args, ("torch", "keras"))
    failed = set()

    def turn(worker: str, argv: list[str]) -> dict | None:
        """One worker's run; None (and "not measured" once) if it fails."""
        if worker in failed:
            return None
        got = run_worker(sys.executable if worker == "haibal" else peers, [__file__, "--worker", worker, *argv])
        if "error" in got:
            not_measured(worker, got["error"])
            failed.add(worker)
            return None
        return got

    if args.layers:
        found: dict = {}
        for _ in range(args.rounds):
            for worker in frameworks:
                got = turn(worker, ["--layers"])
                if got is None:
                    continue
                mine = found.setdefault(worker, got)
                for name, cell in got.items():
                    for key in cell:
                        mine[name][key] = min(mine[name][key], cell[key])
        print_layers(found)
        return 0
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        make_data(data)
        # the frameworks take turns, ``--rounds`` times: on a shared machine a load that varies
        # over time then weighs on all of them; each keeps its best time (accuracy: first round)
        for _ in range(args.rounds):
            for worker in frameworks:
                argv = ["--data", str(data), "--seeds", str(seeds)]
                argv += [a for row in rows for a in ("--only", row)] + (["--quick"] if args.quick else [])
                got = turn(worker, argv)
                if got is None:
                    continue
                mine = results.setdefault(worker, got)
                for row, cell in got.items():
                    for key in ("epoch_s", "first_epoch_s"):
                        mine[row][key] = min(mine[row][key], cell[key])
    print(f"# best of {args.rounds} turn(s) each; haibal-py: {sys.executable}; peers: {peers}; "
          f"torch on {TORCH_THREADS} thread(s)")
    print(f"{'row':<5} {'':<9} {'haibal':>10} {'torch':>10} {'keras':>10}   ratio to fastest peer")
    for row in rows:
        cells = {w: results[w].get(row) for w in results}
        peers = {w: c for w, c in cells.items() if w != "haibal" and c}
        times = [f"{cells[w]['epoch_s'] * 1e3:9.1f}ms" if cells.get(w) else f"{'-':>10}"
                 for w in ("haibal", "torch", "keras")]
        ratio = "-"
        if peers and cells.get("haibal"):
            fastest = min(peers, key=lambda w: peers[w]["epoch_s"])
            ratio = f"{cells['haibal']['epoch_s'] / peers[fastest]['epoch_s']:.2f} ({fastest})"
        print(f"{row:<5} {'epoch':<9} {' '.join(times)}   {ratio}")
        accs = [f"{cells[w]['accuracy'] * 100:9.2f}%" if cells.get(w) else f"{'-':>10}"
                for w in ("haibal", "torch", "keras")]
        print(f"{'':<5} {'accuracy':<9} {' '.join(accs)}")
        firsts = [f"{cells[w]['first_epoch_s'] * 1e3:9.1f}ms" if cells.get(w) else f"{'-':>10}"
                  for w in ("haibal", "torch", "keras")]
        print(f"{'':<5} {'1st epoch':<9} {' '.join(firsts)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
