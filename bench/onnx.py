"""Import and predict times of the ONNX fixtures: haibal-py's NumPy engine against
onnxruntime (the reference for speed), each engine in a process of its own, one run.

    .venv/bin/python bench/onnx.py [--batch 256] [--repeat 5]

"import" is ``haibal_py.onnx.load`` against ``onnxruntime.InferenceSession``; "predict"
is the best of ``--repeat`` runs over a batch of ``--batch`` samples (the fixture's inputs
tiled). Ratios above 1 mean haibal-py is slower.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

# this file is named onnx.py: its folder must not shadow the onnx package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "reference" / "onnx"
NAMES = ["torch_mlp", "torch_cnn", "torch_lstm", "torch_bigru", "keras_mlp", "keras_cnn", "keras_lstm"]


def _batch(name: str, size: int) -> np.ndarray:
    x = np.load(FIXTURES / f"{name}.npz")["x"]
    reps = -(-size // len(x))
    return np.concatenate([x] * reps)[:size]


def run_engine(engine: str, batch: int, repeat: int) -> dict:
    out = {}
    for name in NAMES:
        x = _batch(name, batch)
        path = str(FIXTURES / f"{name}.onnx")
        t0 = time.perf_counter()
        if engine == "haibal":
            import haibal_py.onnx as honnx
            model = honnx.load(path)

            def predict():
                return model.predict(x, batch_size=batch)
        else:
            import onnxruntime as ort
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            feed_name = sess.get_inputs()[0].name

            def predict():
                return sess.run(None, {feed_name: x})[0]
        load = time.perf_counter() - t0
        predict()  # warm-up
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            predict()
            best = min(best, time.perf_counter() - t0)
        out[name] = {"import": load, "predict": best}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", choices=["haibal", "onnxruntime"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.batch, args.repeat)))
        return
    results = {}
    for engine in ("haibal", "onnxruntime"):
        proc = subprocess.run([sys.executable, __file__, "--engine", engine, "--batch", str(args.batch),
                               "--repeat", str(args.repeat)], check=True, capture_output=True, text=True)
        results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"ONNX fixtures, batch {args.batch}, best of {args.repeat} (ms); ratio = haibal-py / onnxruntime")
    print(f"{'model':<12} {'import':>9} {'ort':>8} {'ratio':>7}   {'predict':>9} {'ort':>8} {'ratio':>7}")
    for name in NAMES:
        h, o = results["haibal"][name], results["onnxruntime"][name]
        print(f"{name:<12} {h['import'] * 1e3:9.1f} {o['import'] * 1e3:8.1f} {h['import'] / o['import']:7.1f}   "
              f"{h['predict'] * 1e3:9.2f} {o['predict'] * 1e3:8.2f} {h['predict'] / o['predict']:7.1f}")


if __name__ == "__main__":
    main()
