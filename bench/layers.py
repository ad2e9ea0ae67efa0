"""Benchmark of haibal-py's layers (forward + backward pass) against PyTorch and TensorFlow.

Run: ``.venv/bin/python bench/layers.py`` (peers from ``--peer-python``, by default the
interpreter of ``.venv-bench`` or ``/work/venv-ref``; ``--no-peers`` times haibal-py only).
Options: ``--rows conv2d,maxpool2d`` (default: every row), ``--rounds N``, ``--quick``.

Each framework runs in a process of its own (TensorFlow slows PyTorch when both are loaded):
this process spawns one worker per framework (``bench/layers.py --worker torch``), sends
each worker row names on its stdin and reads timings back. Rows are timed in interleaved
rounds (every framework once per round, best of all rounds), so a load that varies over
time on a shared machine weighs on each alike. A time is the best of several calls of one
training step of the layer on prepared arrays: the forward pass, then the gradients of the
input and of every weight for a fixed output gradient.

haibal-py: the layer's ``call_forward(x, training=True)`` then ``call_backward(ctx, dy)``;
its peak memory is what NumPy allocates during the step beyond what was live before it
(``tracemalloc``). PyTorch: ``torch.nn.functional`` on tensors in NCHW and in channels_last
memory format (the faster is reported), ``torch.autograd.grad``. TensorFlow: ``tf.nn`` ops in
a ``tf.function`` with a ``GradientTape``, NHWC.

Rows are small functions in ``ROWS``: a row names its haibal-py, PyTorch and TensorFlow
builders (each returns a zero-argument step) and its target ratio to the fastest peer.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    name: str
    what: str
    target: float | None  # the ratio to the fastest peer the row must stay within (None: informative)
    haibal: Callable
    torch: Callable
    tensorflow: Callable


class _Arrays:
    """The row's arrays (inputs, weights, output gradient), drawn when a builder first asks."""

    def __init__(self, seed: int, *shapes):
        self.seed, self.shapes, self._values = seed, shapes, None

    def __iter__(self):
        if self._values is None:
            rng = np.random.default_rng(self.seed)
            self._values = [rng.standard_normal(s, dtype=np.float32) for s in self.shapes]
        return iter(self._values)


# ---------------------------------------------------------------------- haibal-py steps
def _haibal_step(layer, x, dy):
    def step():
        y, ctx = layer.call_forward(x, True)
        return layer.call_backward(ctx, dy, True)
    return step


def _haibal_layer(make, x_shape):
    sys.path.insert(0, str(ROOT))
    from haibal_py import layers as L  # noqa: E402

    layer = make(L)
    layer.build(x_shape)
    return layer


# ---------------------------------------------------------------------- torch steps
def _torch_tensors(x, params, dy, channels_last: bool):
    import torch

    def t(a, grad):
        v = torch.from_numpy(np.ascontiguousarray(a))
        if v.ndim == 4:
            v = v.permute(0, 3, 1, 2)  # NHWC -> NCHW (a view)
            v = v.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        return v.requires_grad_(grad)
    return t(x, True), [p.requires_grad_(True) for p in params], t(dy, False)


def _torch_step(fn, xt, params, dyt):
    import torch

    def step():
        y = fn(xt, *params)
        return y, torch.autograd.grad(y, [xt, *params], dyt)
    return step


# ---------------------------------------------------------------------- tensorflow steps
def _tf_step(fn, x, params, dy):
    import tensorflow as tf

    xt, dyt = tf.constant(x), tf.constant(dy)
    vs = [tf.Variable(p) for p in params]

    @tf.function
    def compiled(v, d):  # arrays as arguments: captured constants would be folded at trace time
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = fn(v, *vs)
        # y is returned too: otherwise the graph optimizer drops a forward pass that no
        # gradient reads (a convolution's), and TensorFlow would be timed without it
        return y, tape.gradient(y, [v, *vs], output_gradients=d)
    return lambda: compiled(xt, dyt)


# ---------------------------------------------------------------------- rows
def conv2d_row() -> Row:
    """Conv2D 3x3, 32 -> 64 channels, "same", on a 64 x 32 x 32 batch (the brief's row)."""
    xs, ks = (64, 32, 32, 32), (3, 3, 32, 64)
    data = _Arrays(1, xs, ks, (64,), (64, 32, 32, 64))

    def haibal():
        x, *_, dy = data
        layer = _haibal_layer(lambda L: L.Conv2D(64, 3, padding="same"), xs)
        layer.set_weights(list(data)[1:3])
        return _haibal_step(layer, x, dy)

    def torch_(channels_last):
        import torch
        import torch.nn.functional as F
        x, k, b, dy = data
        w = torch.from_numpy(k.transpose(3, 2, 0, 1).copy())
        if channels_last:
            w = w.contiguous(memory_format=torch.channels_last)
        xt, params, dyt = _torch_tensors(x, [w, torch.from_numpy(b.copy())], dy, channels_last)
        return _torch_step(lambda v, w, b: F.conv2d(v, w, b, padding=1), xt, params, dyt)

    def tensorflow():
        import tensorflow as tf
        x, k, b, dy = data
        return _tf_step(lambda v, w, b: tf.nn.bias_add(tf.nn.conv2d(v, w, 1, "SAME"), b), x, [k, b], dy)

    return Row("conv2d", "Conv2D(64, 3, padding='same') on 64x32x32x32", 1.5, haibal, torch_, tensorflow)


def conv2d_strided_row() -> Row:
    """Conv2D 3x3 stride 2, 64 -> 128 channels, "same", on a 64 x 32 x 32 batch (informative)."""
    xs, ks = (64, 32, 32, 64), (3, 3, 64, 128)
    data = _Arrays(2, xs, ks, (128,), (64, 16, 16, 128))

    def haibal():
        x, *_, dy = data
        layer = _haibal_layer(lambda L: L.Conv2D(128, 3, strides=2, padding="same"), xs)
        layer.set_weights(list(data)[1:3])
        return _haibal_step(layer, x, dy)

    def torch_(channels_last):
        import torch
        import torch.nn.functional as F
        x, k, b, dy = data
        w = torch.from_numpy(k.transpose(3, 2, 0, 1).copy())
        if channels_last:
            w = w.contiguous(memory_format=torch.channels_last)
        xt, params, dyt = _torch_tensors(x, [w, torch.from_numpy(b.copy())], dy, channels_last)
        # TensorFlow's "same" for an even input and stride 2 pads 0 before, 1 after
        return _torch_step(lambda v, w, b: F.conv2d(F.pad(v, (0, 1, 0, 1)), w, b, stride=2), xt, params, dyt)

    def tensorflow():
        import tensorflow as tf
        x, k, b, dy = data
        return _tf_step(lambda v, w, b: tf.nn.bias_add(tf.nn.conv2d(v, w, 2, "SAME"), b), x, [k, b], dy)

    return Row("conv2d_s2", "Conv2D(128, 3, strides=2, padding='same') on 64x32x32x64", None, haibal, torch_,
               tensorflow)


def conv2d_transpose_row() -> Row:
    """Conv2DTranspose 3x3 stride 2, 64 -> 32 channels, "same", 64 x 16 x 16 -> 32 x 32 (informative)."""
    xs, ks = (64, 16, 16, 64), (3, 3, 32, 64)
    data = _Arrays(3, xs, ks, (32,), (64, 32, 32, 32))

    def haibal():
        x, *_, dy = data
        layer = _haibal_layer(lambda L: L.Conv2DTranspose(32, 3, strides=2, padding="same"), xs)
        layer.set_weights(list(data)[1:3])
        return _haibal_step(layer, x, dy)

    def torch_(channels_last):
        import torch
        import torch.nn.functional as F
        x, k, b, dy = data
        w = torch.from_numpy(k.transpose(3, 2, 0, 1).copy())  # (in, out, kh, kw)
        xt, params, dyt = _torch_tensors(x, [w, torch.from_numpy(b.copy())], dy, channels_last)
        # TensorFlow's "same" here crops 0 before and 1 after the full 33 x 33 output
        return _torch_step(lambda v, w, b: F.conv_transpose2d(v, w, b, stride=2)[:, :, :32, :32], xt, params, dyt)

    def tensorflow():
        import tensorflow as tf
        x, k, b, dy = data
        return _tf_step(lambda v, w, b: tf.nn.bias_add(tf.nn.conv2d_transpose(v, w, (64, 32, 32, 32), 2, "SAME"), b),
                        x, [k, b], dy)

    return Row("conv2d_transpose", "Conv2DTranspose(32, 3, strides=2, padding='same') on 64x16x16x64", None,
               haibal, torch_, tensorflow)


def depthwise2d_row() -> Row:
    """DepthwiseConv2D 3x3 on a 64 x 32 x 32 x 64 batch, "same" (informative)."""
    xs, ks = (64, 32, 32, 64), (3, 3, 64, 1)
    data = _Arrays(4, xs, ks, (64,), xs)

    def haibal():
        x, *_, dy = data
        layer = _haibal_layer(lambda L: L.DepthwiseConv2D(3, padding="same"), xs)
        layer.set_weights(list(data)[1:3])
        return _haibal_step(layer, x, dy)

    def torch_(channels_last):
        import torch
        import torch.nn.functional as F
        x, k, b, dy = data
        w = torch.from_numpy(k.transpose(2, 3, 0, 1).copy())  # (64, 1, 3, 3)
        if channels_last:
            w = w.contiguous(memory_format=torch.channels_last)
        xt, params, dyt = _torch_tensors(x, [w, torch.from_numpy(b.copy())], dy, channels_last)
        return _torch_step(lambda v, w, b: F.conv2d(v, w, b, padding=1, groups=64), xt, params, dyt)

    def tensorflow():
        import tensorflow as tf
        x, k, b, dy = data
        return _tf_step(lambda v, w, b: tf.nn.bias_add(tf.nn.depthwise_conv2d(v, w, (1, 1, 1, 1), "SAME"), b),
                        x, [k, b], dy)

    return Row("depthwise2d", "DepthwiseConv2D(3, padding='same') on 64x32x32x64", None, haibal, torch_,
               tensorflow)


def _pool_row(name: str, what: str, target, layer_name: str, torch_op: str, tf_op: str) -> Row:
    xs = (64, 32, 32, 64)
    data = _Arrays(5, xs, (64, 16, 16, 64))

    def haibal():
        x, dy = data
        layer = _haibal_layer(lambda L: getattr(L, layer_name)(2), xs)
        return _haibal_step(layer, x, dy)

    def torch_(channels_last):
        import torch.nn.functional as F
        x, dy = data
        xt, params, dyt = _torch_tensors(x, [], dy, channels_last)
        op = getattr(F, torch_op)
        return _torch_step(lambda v: op(v, 2), xt, params, dyt)

    def tensorflow():
        import tensorflow as tf
        x, dy = data
        op = getattr(tf.nn, tf_op)
        return _tf_step(lambda v: op(v, 2, 2, "VALID"), x, [], dy)

    return Row(name, what, target, haibal, torch_, tensorflow)


def maxpool2d_row() -> Row:
    """MaxPooling2D 2x2 on a 64 x 32 x 32 x 64 batch (the brief's row: no slower than the fastest peer)."""
    return _pool_row("maxpool2d", "MaxPooling2D(2) on 64x32x32x64", 1.0, "MaxPooling2D", "max_pool2d", "max_pool2d")


def avgpool2d_row() -> Row:
    """AveragePooling2D 2x2 on a 64 x 32 x 32 x 64 batch (informative)."""
    return _pool_row("avgpool2d", "AveragePooling2D(2) on 64x32x32x64", None, "AveragePooling2D", "avg_pool2d",
                     "avg_pool2d")


ROWS: dict[str, Callable[[], Row]] = {
    "conv2d": conv2d_row,
    "conv2d_s2": conv2d_strided_row,
    "conv2d_transpose": conv2d_transpose_row,
    "depthwise2d": depthwise2d_row,
    "maxpool2d": maxpool2d_row,
    "avgpool2d": avgpool2d_row,
}


# ---------------------------------------------------------------------- timing
def best_time(fn, min_runs: int, min_seconds: float) -> tuple[float, float]:
    """(best wall time, best CPU time of all the process's threads) of one call, after two
    warm-up calls. CPU time says how much work a call is, whatever else the machine runs."""
    fn()
    fn()
    best, best_cpu, spent, runs = float("inf"), float("inf"), 0.0, 0
    while runs < min_runs or spent < min_seconds:
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, best_cpu, spent, runs = min(best, dt), min(best_cpu, dc), spent + dt, runs + 1
    return best, best_cpu


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


def worker(framework: str, min_runs: int, min_seconds: float) -> int:
    """Answer row names read on stdin with one JSON line of timings each."""
    if framework == "torch":
        import torch
        torch.set_num_threads(os.cpu_count() or 1)
        version = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    elif framework == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        version = f"tensorflow {tf.__version__}"
    else:
        version = f"haibal-py, NumPy {np.__version__}"
    print(json.dumps({"version": version}), flush=True)
    steps: dict = {}
    for line in sys.stdin:
        name = line.strip()
        row = ROWS[name]()
        out = {"row": name}
        if framework == "torch":
            for layout, cl in (("NCHW", False), ("channels_last", True)):
                key = (name, layout)
                steps.setdefault(key, row.torch(cl))
                out[layout] = best_time(steps[key], min_runs, min_seconds)
        elif framework == "tensorflow":
            steps.setdefault(name, row.tensorflow())
            out["time"] = best_time(steps[name], min_runs, min_seconds)
        else:
            if name not in steps:
                steps[name] = row.haibal()
                out["peak"] = peak_extra_bytes(steps[name])
            out["time"] = best_time(steps[name], min_runs, min_seconds)
        print(json.dumps(out), flush=True)
    return 0


class _Worker:
    def __init__(self, python: str, framework: str, quick: bool):
        cmd = [python, str(Path(__file__).resolve()), "--worker", framework] + (["--quick"] if quick else [])
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.version = json.loads(self.proc.stdout.readline())["version"]

    def time(self, row: str) -> dict:
        self.proc.stdin.write(row + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker stopped (exit code {self.proc.wait()})")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def _default_peer_python() -> str | None:
    for candidate in (ROOT / ".venv-bench" / "bin" / "python", Path("/work/venv-ref/bin/python")):
        if candidate.exists():
            return str(candidate)
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROWS))
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3, 1 with --quick)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-python", default=None, help="the interpreter that has torch and tensorflow")
    ap.add_argument("--worker", choices=("haibal", "torch", "tensorflow"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    min_runs, min_seconds = (3, 0.2) if args.quick else (5, 0.5)
    if args.worker:
        return worker(args.worker, min_runs, min_seconds)
    rounds = args.rounds or (1 if args.quick else 3)
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        ap.error(f"unknown row(s) {', '.join(unknown)}; known: {', '.join(ROWS)}")

    workers = {"haibal": _Worker(sys.executable, "haibal", args.quick)}
    peer_python = None if args.no_peers else (args.peer_python or _default_peer_python())
    if peer_python:
        for fw in ("torch", "tensorflow"):
            try:
                workers[fw] = _Worker(peer_python, fw, args.quick)
            except Exception as exc:  # a peer that does not start is left out, and said so
                print(f"# {fw}: not available ({exc})", file=sys.stderr)
    best: dict = {}
    cpu_best: dict = {}
    peaks: dict = {}
    layouts: dict = {}
    for _ in range(rounds):
        for row in rows:
            for fw, w in workers.items():
                out = w.time(row)
                if fw == "torch":
                    layout = min(("NCHW", "channels_last"), key=lambda k: out[k][0])
                    t, c = out[layout]
                    if t < best.get((row, fw), float("inf")):
                        layouts[row] = layout
                else:
                    t, c = out["time"]
                if "peak" in out:
                    peaks[row] = out["peak"]
                best[row, fw] = min(best.get((row, fw), float("inf")), t)
                cpu_best[row, fw] = min(cpu_best.get((row, fw), float("inf")), c)
    for w in workers.values():
        w.close()

    cpu = platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {cpu}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {rounds} interleaved round(s)")
    for fw, w in workers.items():
        print(f"# {fw}: {w.version}")
    header = (f"{'row':<17} {'haibal ms':>10} {'torch ms':>9} {'tf ms':>8} {'x fastest':>10} {'target':>7} "
              f"{'met':>4} {'peak extra MB':>14}   {'CPU ms: haibal':>14} {'torch':>7} {'tf':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        ours = best[row, "haibal"]
        peers = {fw: best[row, fw] for fw in workers if fw != "haibal"}
        fastest = min(peers.values(), default=None)
        target = ROWS[row]().target
        ratio = ours / fastest if fastest else None
        met = "-" if target is None or ratio is None else ("yes" if ratio <= target else "no")
        cell = lambda fw, d: f"{d[row, fw] * 1e3:.2f}" if (row, fw) in d else "-"  # noqa: E731
        print(f"{row:<17} {ours * 1e3:10.2f} {cell('torch', best):>9} {cell('tensorflow', best):>8} "
              f"{(f'{ratio:.2f}' if ratio else '-'):>10} {(f'{target:.1f}' if target else '-'):>7} {met:>4} "
              f"{peaks.get(row, 0) / 2**20:14.1f}   {cell('haibal', cpu_best):>14} {cell('torch', cpu_best):>7} "
              f"{cell('tensorflow', cpu_best):>7}")
    for row in rows:
        print(f"#   {row}: {ROWS[row]().what}" + (f"; torch fastest in {layouts[row]}" if row in layouts else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
