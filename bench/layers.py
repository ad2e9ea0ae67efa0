"""Benchmark of haibal-py's layers (forward + backward) against PyTorch and TensorFlow/Keras.

Run: ``.venv/bin/python bench/layers.py [--rows batchnorm,lstm,mha] [--rounds 5] [--repeats 5]
[--peer-python PATH | --no-peers] [--baseline DIR]``. ``--baseline`` times another checkout of
haibal-py (``git archive <commit> | tar -x -C DIR``) as a fourth worker in the same rounds:
before/after on the same machine load. haibal-py runs with the interpreter that runs the
script, the peers with ``--peer-python`` (default: ``$HAIBAL_BENCH_PEER_PYTHON``, else
``.venv-bench/bin/python`` when it exists, else this interpreter), each framework in a
process of its own (TensorFlow slows torch down when both are loaded); a framework that is
not installed is reported "not measured" and its column shows "-". Every framework is a
long-lived worker that times one row on request; the rounds interleave the workers, so a
load that varies over time on a shared machine weighs on each alike, and each keeps its
best time. Printed per row: the time of each framework, haibal's ratio to the fastest peer,
and haibal's peak extra memory during one forward + backward (``tracemalloc``, which sees
NumPy's allocations).

Each row is one forward pass in training mode and the backward pass giving the input
gradient and every weight gradient, float32, from the same input each time:

- ``dense``: Dense(1024) (no activation) on ``(128, 512)``;
- ``batchnorm``: BatchNormalization on ``(64, 16, 16, 64)`` channels-last (torch: BatchNorm2d on
  the same memory in channels_last format), training statistics;
- ``lstm``: LSTM, 128 units, batch 64, 50 steps, 64 features, last output;
- ``mha``: MultiHeadAttention self-attention, 8 heads, key_dim 32, batch 32, 64 tokens, dim 256;
- ``conv2d``: Conv2D(64, 3, padding="same") on ``(64, 32, 32, 32)``; ``conv2d_s2``: Conv2D(128, 3,
  strides=2, padding="same") on ``(64, 32, 32, 64)``; ``conv2d_transpose``: Conv2DTranspose(32, 3,
  strides=2, padding="same") on ``(64, 16, 16, 64)``; ``depthwise2d``: DepthwiseConv2D(3,
  padding="same") on ``(64, 32, 32, 64)``;
- ``maxpool2d`` / ``avgpool2d``: MaxPooling2D(2) / AveragePooling2D(2) on ``(64, 32, 32, 64)``.

Torch runs the convolution and pooling rows on channels_last tensors (its faster layout for
them here); TensorFlow runs every row channels-last (its only CPU layout for these layers).
Besides wall times, the table gives each framework's CPU time per step (all its threads,
``time.process_time``): on a machine shared with other jobs the wall time says how much CPU
a framework got, the CPU time how much work its step is.

Rows for other layers go in their own ``row_<name>_<framework>`` functions below.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tracemalloc
from pathlib import Path

from _common import (ROOT, Worker, add_peer_options, best_times, header, not_measured, peer_python, serve,
                     worker_env)

FRAMEWORKS = ("haibal", "torch", "tensorflow")
ROWS = ("dense", "batchnorm", "lstm", "mha", "conv2d", "conv2d_s2", "conv2d_transpose", "depthwise2d", "maxpool2d",
        "avgpool2d")
#: haibal-py's time over the fastest peer's that a row must stay within (the briefs' targets)
TARGETS = {"dense": 1.0, "batchnorm": 1.0, "lstm": 1.0, "mha": 1.5, "conv2d": 1.5, "maxpool2d": 1.0}


# ----------------------------------------------------------------------------- haibal rows
def _rng():
    import numpy as np
    return np.random.default_rng(0)


def row_dense_haibal():
    import numpy as np
    from haibal_py.layers import Dense
    x = _rng().normal(size=(128, 512)).astype(np.float32)
    dy = _rng().normal(size=(128, 1024)).astype(np.float32)
    layer = Dense(1024)
    layer.build(x.shape)

    def step():
        _, ctx = layer.call_forward(x, training=True)
        layer.call_backward(ctx, dy, True)
    return step


def row_batchnorm_haibal():
    import numpy as np
    from haibal_py.layers import BatchNormalization
    x = _rng().normal(size=(64, 16, 16, 64)).astype(np.float32)
    dy = _rng().normal(size=x.shape).astype(np.float32)
    layer = BatchNormalization()
    layer.build(x.shape)

    def step():
        _, ctx = layer.call_forward(x, training=True)
        layer.call_backward(ctx, dy, True)
    return step


def row_lstm_haibal():
    import numpy as np
    from haibal_py.layers import LSTM
    x = _rng().normal(size=(64, 50, 64)).astype(np.float32)
    dy = _rng().normal(size=(64, 128)).astype(np.float32)
    layer = LSTM(128)
    layer.build(x.shape)

    def step():
        _, ctx = layer.call_forward(x, training=True)
        layer.call_backward(ctx, dy, True)
    return step


def row_mha_haibal():
    import numpy as np
    from haibal_py.layers import MultiHeadAttention
    x = _rng().normal(size=(32, 64, 256)).astype(np.float32)
    dy = _rng().normal(size=x.shape).astype(np.float32)
    layer = MultiHeadAttention(num_heads=8, key_dim=32)
    layer.build([x.shape, x.shape])

    def step():
        _, ctx = layer.call_forward([x, x], training=True)
        layer.call_backward(ctx, dy, True)
    return step


# ----------------------------------------------------------------------------- torch rows
def row_dense_torch():
    import torch
    x = torch.randn(128, 512, requires_grad=True)
    dy = torch.randn(128, 1024)
    layer = torch.nn.Linear(512, 1024)

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x).backward(dy)
    return step


def row_batchnorm_torch():
    import torch
    x = torch.randn(64, 16, 16, 64).permute(0, 3, 1, 2).requires_grad_()   # channels_last memory
    dy = torch.randn(64, 16, 16, 64).permute(0, 3, 1, 2)
    layer = torch.nn.BatchNorm2d(64, eps=1e-3, momentum=0.01)

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x).backward(dy)
    return step


def row_lstm_torch():
    import torch
    x = torch.randn(64, 50, 64, requires_grad=True)
    dy = torch.randn(64, 128)
    layer = torch.nn.LSTM(64, 128, batch_first=True)

    def step():
        x.grad = None
        layer.zero_grad()
        out, _ = layer(x)
        out[:, -1].backward(dy)
    return step


def row_mha_torch():
    import torch
    x = torch.randn(32, 64, 256, requires_grad=True)
    dy = torch.randn(32, 64, 256)
    layer = torch.nn.MultiheadAttention(256, 8, batch_first=True)

    def step():
        x.grad = None
        layer.zero_grad()
        out, _ = layer(x, x, x, need_weights=False)
        out.backward(dy)
    return step


# ----------------------------------------------------------------------------- tensorflow rows
def _tf_step(layer, inputs, dy):
    import tensorflow as tf

    @tf.function
    def run(xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            y = layer(*xs, training=True) if len(xs) > 1 else layer(xs[0], training=True)
            loss = tf.reduce_sum(y * dy)
        # y is returned too: the graph optimizer would otherwise drop a forward pass that no
        # gradient reads (a convolution's), timing TensorFlow without it
        return y, tape.gradient(loss, list(xs) + layer.trainable_weights)

    def step():
        _, grads = run(inputs)
        grads[0].numpy()
    return step


def row_dense_tensorflow():
    import tensorflow as tf
    import keras
    x = tf.random.normal((128, 512))
    return _tf_step(keras.layers.Dense(1024), [x], tf.random.normal((128, 1024)))


def row_batchnorm_tensorflow():
    import tensorflow as tf
    import keras
    x = tf.random.normal((64, 16, 16, 64))
    return _tf_step(keras.layers.BatchNormalization(), [x], tf.random.normal(x.shape))


def row_lstm_tensorflow():
    import tensorflow as tf
    import keras
    x = tf.random.normal((64, 50, 64))
    return _tf_step(keras.layers.LSTM(128), [x], tf.random.normal((64, 128)))


def row_mha_tensorflow():
    import tensorflow as tf
    import keras
    x = tf.random.normal((32, 64, 256))
    return _tf_step(keras.layers.MultiHeadAttention(num_heads=8, key_dim=32), [x, x], tf.random.normal(x.shape))


# ----------------------------------------------------------------------------- convolution and pooling rows
_CONV_ROWS = {  # row: (Keras layer, its arguments, input shape)
    "conv2d": ("Conv2D", dict(filters=64, kernel_size=3, padding="same"), (64, 32, 32, 32)),
    "conv2d_s2": ("Conv2D", dict(filters=128, kernel_size=3, strides=2, padding="same"), (64, 32, 32, 64)),
    "conv2d_transpose": ("Conv2DTranspose", dict(filters=32, kernel_size=3, strides=2, padding="same"),
                         (64, 16, 16, 64)),
    "depthwise2d": ("DepthwiseConv2D", dict(kernel_size=3, padding="same"), (64, 32, 32, 64)),
    "maxpool2d": ("MaxPooling2D", dict(pool_size=2), (64, 32, 32, 64)),
    "avgpool2d": ("AveragePooling2D", dict(pool_size=2), (64, 32, 32, 64)),
}


def _conv_row_haibal(name):
    import numpy as np
    from haibal_py import layers
    cls, kwargs, shape = _CONV_ROWS[name]
    layer = getattr(layers, cls)(**kwargs)
    x = _rng().normal(size=shape).astype(np.float32)
    layer.build(shape)
    dy = _rng().normal(size=layer.compute_output_shape(shape)).astype(np.float32)

    def step():
        _, ctx = layer.call_forward(x, training=True)
        layer.call_backward(ctx, dy, True)
    return step


def _conv_row_torch(name):
    import torch
    _, _, shape = _CONV_ROWS[name]
    x = torch.randn(*shape).permute(0, 3, 1, 2).requires_grad_()  # channels_last memory
    c = shape[-1]
    layer = {  # torch's padding giving Keras' output shapes (the costs are the same)
        "conv2d": lambda: torch.nn.Conv2d(c, 64, 3, padding=1),
        "conv2d_s2": lambda: torch.nn.Conv2d(c, 128, 3, stride=2, padding=1),
        "conv2d_transpose": lambda: torch.nn.ConvTranspose2d(c, 32, 3, stride=2, padding=1, output_padding=1),
        "depthwise2d": lambda: torch.nn.Conv2d(c, c, 3, padding=1, groups=c),
        "maxpool2d": lambda: torch.nn.MaxPool2d(2),
        "avgpool2d": lambda: torch.nn.AvgPool2d(2),
    }[name]().to(memory_format=torch.channels_last)
    with torch.no_grad():
        dy = torch.randn_like(layer(x))

    def step():
        x.grad = None
        layer.zero_grad()
        layer(x).backward(dy)
    return step


def _conv_row_tensorflow(name):
    import tensorflow as tf
    import keras
    cls, kwargs, shape = _CONV_ROWS[name]
    layer = getattr(keras.layers, cls)(**kwargs)
    x = tf.random.normal(shape)
    return _tf_step(layer, [x], tf.random.normal(layer.compute_output_shape(shape)))


for _name in _CONV_ROWS:
    for _fw, _make in (("haibal", _conv_row_haibal), ("torch", _conv_row_torch),
                       ("tensorflow", _conv_row_tensorflow)):
        globals()[f"row_{_name}_{_fw}"] = (lambda make, name: lambda: make(name))(_make, _name)


# ----------------------------------------------------------------------------- workers
def describe(framework: str) -> str:
    if framework == "haibal":
        import numpy as np
        import haibal_py  # noqa: F401 (importable: else "not measured")
        return f"haibal-py from {Path(haibal_py.__file__).parent.parent} (NumPy {np.__version__})"
    if framework == "torch":
        import torch
        return f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    import tensorflow as tf
    return f"tensorflow {tf.__version__}"


def worker(framework: str) -> None:
    """Answer ``{"op": "hello"}`` with the framework's version and ``{"row", "repeats",
    "memory"}`` with ``{"seconds", "cpu", "peak"}``. A haibal worker imports haibal_py from
    ``$HAIBAL_BENCH_ROOT`` (``--baseline``), else from here."""
    if framework == "haibal":
        sys.path.insert(0, os.environ.get("HAIBAL_BENCH_ROOT", str(ROOT)))
    steps = {}

    def answer(req: dict) -> dict:
        if req["op"] == "hello":
            return {"version": describe(framework)}
        name = req["row"]
        if name not in steps:
            steps[name] = globals()[f"row_{name}_{framework}"]()
        step = steps[name]
        seconds, cpu = best_times(step, req["repeats"], min_seconds=0.3)
        peak = None
        if framework == "haibal" and req.get("memory"):
            gc.collect()
            tracemalloc.start()
            step()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return {"row": name, "seconds": seconds, "cpu": cpu, "peak": peak}

    serve(answer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    add_peer_options(ap)
    ap.add_argument("--baseline", default=None, metavar="DIR",
                    help="another checkout of haibal-py (e.g. from git archive) timed in the same rounds")
    ap.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    rows = [r for r in args.rows.split(",") if r]
    unknown = set(rows) - set(ROWS)
    if unknown:
        ap.error(f"unknown rows {sorted(unknown)}; known: {', '.join(ROWS)}")
    print(header(), flush=True)
    peer = peer_python(args.peer_python)
    procs = {}
    for fw in FRAMEWORKS + (("baseline",) if args.baseline else ()):
        if fw in ("torch", "tensorflow") and args.no_peers:
            not_measured(fw, "--no-peers")
            continue
        exe = sys.executable if fw in ("haibal", "baseline") else peer
        env = worker_env(**({"HAIBAL_BENCH_ROOT": str(Path(args.baseline).resolve())} if fw == "baseline" else {}))
        w = Worker(exe, [__file__, "--worker", "haibal" if fw == "baseline" else fw], env)
        reply = w.ask({"op": "hello"})
        if "error" in reply:
            not_measured(fw, reply["error"])
            w.close()
            continue
        procs[fw] = w
        print(f"# {fw}: {reply['version']}", flush=True)
    if "haibal" not in procs:
        return
    workers = tuple(procs)
    best = {(r, fw): float("inf") for r in rows for fw in workers}
    cpu = dict(best)
    errors, peaks = {}, {}
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    for rnd in range(args.rounds):
        for r in rows:
            for fw in workers:
                if (r, fw) in errors:
                    continue
                reply = procs[fw].ask({"op": "time", "row": r, "repeats": args.repeats, "memory": rnd == 0})
                if "error" in reply:
                    errors[(r, fw)] = reply["error"]
                    continue
                best[(r, fw)] = min(best[(r, fw)], reply["seconds"])
                cpu[(r, fw)] = min(cpu[(r, fw)], reply["cpu"])
                if reply.get("peak") is not None and fw == "haibal":
                    peaks[r] = reply["peak"]
        if load:
            load.append(os.getloadavg()[0])
    for w in procs.values():
        w.close()
    print(f"best of {args.rounds} interleaved rounds; haibal-py: {sys.executable}; peers: {peer}"
          + (f"; load average {min(load):.1f}-{max(load):.1f}" if load else ""))
    print(f"{'row':<16} {'haibal ms':>10} {'torch ms':>10} {'tf ms':>10} {'haibal/fastest':>15} {'target':>7} "
          f"{'peak extra MiB':>15}   CPU ms: {'haibal':>8} {'torch':>8} {'tf':>8}")
    for r in rows:
        t = {fw: best.get((r, fw), float("inf")) for fw in FRAMEWORKS}
        peers = [t[fw] for fw in ("torch", "tensorflow") if t[fw] < float("inf")]
        ratio = t["haibal"] / min(peers) if peers else float("nan")
        fmt = lambda v: f"{v * 1e3:10.2f}" if v < float("inf") else f"{'-':>10}"  # noqa: E731
        peak = peaks.get(r)
        target = f"{TARGETS[r]:.1f}" if r in TARGETS else "-"
        cpus = " ".join(fmt(cpu.get((r, fw), float("inf")))[2:] for fw in FRAMEWORKS)
        ratio = f"{ratio:15.2f}" if peers and t["haibal"] < float("inf") else f"{'-':>15}"
        print(f"{r:<16} {fmt(t['haibal'])} {fmt(t['torch'])} {fmt(t['tensorflow'])} {ratio} {target:>7} "
              f"{(peak / 2**20 if peak else float('nan')):15.1f}           {cpus}")
    if args.baseline:
        print(f"baseline {args.baseline} in the same rounds:")
        print(f"{'row':<16} {'before ms':>10} {'after ms':>10} {'before CPU':>11} {'after CPU':>10} "
              f"{'before/fastest':>15} {'after/fastest':>14}")
        for r in rows:
            peers = [best[(r, fw)] for fw in ("torch", "tensorflow") if best.get((r, fw), float("inf")) < float("inf")]
            fastest = min(peers) if peers else float("nan")
            b, a = best[(r, "baseline")], best[(r, "haibal")]
            print(f"{r:<16} {b * 1e3:10.2f} {a * 1e3:10.2f} {cpu[(r, 'baseline')] * 1e3:11.2f} "
                  f"{cpu[(r, 'haibal')] * 1e3:10.2f} {b / fastest:15.2f} {a / fastest:14.2f}")
    for (r, fw), err in errors.items():
        print(f"  {r}/{fw}: {err}")


if __name__ == "__main__":
    main()
