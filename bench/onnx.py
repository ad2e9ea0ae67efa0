"""Import and predict times of the ONNX fixtures: haibal-py's NumPy engine against
onnxruntime (the reference for speed), each engine in a process of its own.

    .venv/bin/python bench/onnx.py [--batch 256] [--repeat 5] [--rounds 3]
                                   [--peer-python PATH | --no-peers]

haibal-py runs with the interpreter that runs the script (it needs the ``onnx`` extra),
onnxruntime with ``--peer-python`` (default ``$HAIBAL_BENCH_PEER_PYTHON``, else
``.venv-bench/bin/python`` when it exists, else this interpreter); without onnxruntime its
columns show "-". "import" is ``haibal_py.onnx.load`` against
``onnxruntime.InferenceSession`` (each engine's modules imported before, not timed);
"predict" is the best of ``--repeat`` runs over a batch of ``--batch`` samples (the
fixture's inputs tiled). The engines take ``--rounds`` turns, each keeping its best times.
Ratios above 1 mean haibal-py is slower.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# this file is named onnx.py: its folder must not shadow the onnx package (_common is
# imported first, while the folder is still on the path)
from _common import add_peer_options, header, not_measured, peer_python, run_worker  # noqa: E402

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "reference" / "onnx"
NAMES = ["torch_mlp", "torch_cnn", "torch_lstm", "torch_bigru", "keras_mlp", "keras_cnn", "keras_lstm"]
ENGINES = ("haibal", "onnxruntime")


def _batch(name: str, size: int) -> np.ndarray:
    x = np.load(FIXTURES / f"{name}.npz")["x"]
    reps = -(-size // len(x))
    return np.concatenate([x] * reps)[:size]


def run_engine(engine: str, batch: int, repeat: int) -> dict:
    if engine == "haibal":
        import haibal_py.onnx as honnx
    else:
        import onnxruntime as ort
    out = {}
    for name in NAMES:
        x = _batch(name, batch)
        path = str(FIXTURES / f"{name}.onnx")
        t0 = time.perf_counter()
        if engine == "haibal":
            model = honnx.load(path)

            def predict():
                return model.predict(x, batch_size=batch)
        else:
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
    parser.add_argument("--rounds", type=int, default=3, help="turns each engine takes (best times kept)")
    add_peer_options(parser)
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_engine(args.worker, args.batch, args.repeat)))
        return
    print(header(), flush=True)
    peers = peer_python(args.peer_python)
    engines = ENGINES[:1] if args.no_peers else ENGINES
    if args.no_peers:
        not_measured("onnxruntime", "--no-peers")
    results, failed = {}, set()
    for _ in range(args.rounds):
        for engine in engines:
            if engine in failed:
                continue
            got = run_worker(sys.executable if engine == "haibal" else peers,
                             [__file__, "--worker", engine, "--batch", str(args.batch), "--repeat", str(args.repeat)])
            if "error" in got:
                not_measured(engine, got["error"])
                failed.add(engine)
                continue
            mine = results.setdefault(engine, got)
            for name, cell in got.items():
                for key in cell:
                    mine[name][key] = min(mine[name][key], cell[key])
    if "haibal" not in results:
        sys.exit(1)
    print(f"ONNX fixtures, batch {args.batch}, best of {args.repeat} runs and {args.rounds} turn(s) (ms); "
          f"ratio = haibal-py / onnxruntime; haibal-py: {sys.executable}; onnxruntime: {peers}")
    print(f"{'model':<12} {'import':>9} {'ort':>8} {'ratio':>7}   {'predict':>9} {'ort':>8} {'ratio':>7}")
    for name in NAMES:
        h, o = results["haibal"][name], results.get("onnxruntime", {}).get(name)
        if o is None:
            print(f"{name:<12} {h['import'] * 1e3:9.1f} {'-':>8} {'-':>7}   {h['predict'] * 1e3:9.2f} {'-':>8} {'-':>7}")
            continue
        print(f"{name:<12} {h['import'] * 1e3:9.1f} {o['import'] * 1e3:8.1f} {h['import'] / o['import']:7.1f}   "
              f"{h['predict'] * 1e3:9.2f} {o['predict'] * 1e3:8.2f} {h['predict'] / o['predict']:7.1f}")


if __name__ == "__main__":
    main()
