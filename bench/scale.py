"""Sharded segmentation evaluation at scale (not a test): `.venv/bin/python bench/scale.py`
(needs the ``distributed`` extra; options: ``--rounds``, ``--rows``, ``--shards``, ``--data``).
No peers: haibal-py's sharded runs against a plain loop over its core functions.

Workload: 64 shards of 8 label maps of 256x256 (21 classes, 10 % 'void' pixels = 255) with
their float32 logits (44 MB per shard, 2.8 GB in all), evaluated by a saved graph: the mean
sparse categorical crossentropy over the valid pixels (a loss's batch instance with
``ignore_class=255``) and the mean IoU (``MeanIoU``, ``ignore_class=255``, argmax of the
logits), both merged over the shards. Rows, each in a process of its own:

- ``plain loop``: a plain Python loop over the core functions (``losses.sparse_categorical_
  crossentropy`` and ``metrics.MeanIoU``), no graph: the floor of the work;
- ``single-process loop``: ``haibal run`` per shard in one process: the graph loaded once,
  ``Runtime.run`` per shard, the metric states merged (the loop a user writes today);
- ``run_over, in process``: ``haibal run --over --workers 1`` (the same loop through
  ``haibal_py.distributed``: its overhead);
- ``1 worker``: the local Dask cluster of ``--workers 1`` had it one (its kernels may use both
  cores, as ``--workers N`` shares the cores among the workers);
- ``1 worker, 1 thread``: the same worker with one kernel thread (one core's share);
- ``2 workers``: the cluster of ``haibal run --over --workers 2`` (two processes, one kernel
  thread each);
- ``2 workers, 256 shards``: the 64 files linked four times: the client's memory must not grow.

Throughput is shards per second of wall time (shard reading included; the files sit in the
page cache), the best of ``--rounds`` rounds that interleave the rows, so that the load of
other jobs on a shared machine weighs on every row alike (the load average is printed). Each
row starts with a first run over a few shards, not timed (imports, the graph; for a cluster
also its processes and each worker's graph: 2-5 s, paid once per command, shown apart).
CPU per shard is the CPU time (user + system) of every process of the row (client and
workers) over the shards: what a row costs whatever else the machine runs. Client memory is
the peak resident size of the process that runs ``run_over`` (the workers are other
processes). Target: 2 workers >= 1.7x one worker. Each round starts by measuring what the
machine gives two processes against one (a CPU loop, memory copies): the ceiling of any
scaling at that time, printed under the table.
Every row checks its merged numbers against the plain loop's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from _common import header  # noqa: E402
from make_shards import make_shards  # noqa: E402

VOID = 255
ROWS = {
    "plain": "plain loop (core functions)",
    "loop": "single-process loop (haibal run per shard)",
    "inproc": "run_over, in process (--workers 1)",
    "w1": "1 worker",
    "w1t1": "1 worker, 1 thread",
    "w2": "2 workers",
    "w2big": "2 workers, 256 shards",
}


def build_graph(path: Path, classes: int) -> None:
    from haibal_py.graph import Graph
    g = Graph("segmentation evaluation", "mean loss over valid pixels and mean IoU, void = 255")
    yt = g.add_input("labels", type="int[3]")
    yp = g.add_input("logits", type="float[4]")
    loss = g.add_node("haibal.losses.SparseCategoricalCrossentropy", "loss", instance="batch",
                      params={"from_logits": True, "ignore_class": VOID})
    miou = g.add_node("haibal.metrics.MeanIoU", "miou", instance="batch",
                      params={"num_classes": classes, "ignore_class": VOID, "sparse_y_pred": False})
    for node in (loss, miou):
        g.connect(yt, "value", node, "y_true")
        g.connect(yp, "value", node, "y_pred")
    g.connect(loss, "result", g.add_output("mean_loss"), "value")
    g.connect(miou, "result", g.add_output("mean_iou"), "value")
    g.save(path)


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    t = os.times()
    return t.user + t.system


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- one row (a child process)
def plain_loop(files: list[str], classes: int) -> dict:
    """The core functions in a plain loop: the loss over the valid pixels and the mean IoU."""
    from haibal_py import losses, metrics
    total, count = 0.0, 0
    miou = metrics.MeanIoU(classes, ignore_class=VOID, sparse_y_pred=False)
    for f in files:
        with np.load(f) as z:
            y, p = z["labels"], z["logits"]
        values = losses.sparse_categorical_crossentropy(y, p, from_logits=True, ignore_class=VOID)
        total += float(np.sum(values, dtype=np.float64))
        count += int(np.count_nonzero(y != VOID))
        miou.update_state(y, p)
    return {"mean_loss": total / count, "mean_iou": float(miou.result())}


def graph_loop(files: list[str], graph_path: Path) -> dict:
    """``haibal run`` per shard in one process: the graph once, a run per shard, states merged."""
    import copy
    from haibal_py.graph import Graph
    from haibal_py.runtime import Runtime
    rt = Runtime(Graph.load(graph_path))
    states = {}
    for f in files:
        with np.load(f) as z:
            res = rt.run({"labels": z["labels"], "logits": z["logits"]})
        for name, state in res.output_states.items():
            if name in states:
                states[name].merge_state([state])
            else:
                states[name] = copy.deepcopy(state)
    return {k: float(s.result()) for k, s in states.items()}


def in_process(files: list[str], graph_path: Path) -> dict:
    from haibal_py.distributed import run_over
    res = run_over(graph_path, files, workers=1)
    assert res.ok, res.failures
    return {k: float(v) for k, v in res.merged.items()}


def run_row(mode: str, graph_path: Path, files: list[str], classes: int) -> dict:
    """One row: start-up (imports, the graph, a local cluster) first and timed apart, as a
    first run over a few shards; then the run over every shard, timed."""
    start = time.perf_counter()
    startup = None
    if mode in ("plain", "loop", "inproc"):
        work = {"plain": lambda fs: plain_loop(fs, classes), "loop": lambda fs: graph_loop(fs, graph_path),
                "inproc": lambda fs: in_process(fs, graph_path)}[mode]
        work(files[:2])
        cpu0, start = cpu_seconds(), time.perf_counter()
        merged = work(files)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    else:  # the local cluster --workers N starts
        from haibal_py.distributed import run_over
        from haibal_py.distributed.executors import _set_kernel_threads, local_cluster, local_kernel_threads
        workers = 1 if mode.startswith("w1") else 2
        threads = 1 if mode == "w1t1" else local_kernel_threads(workers)
        with local_cluster(workers) as client:
            client.run(_set_kernel_threads, threads)
            run_over(graph_path, files[:2 * workers], client=client)  # each worker's graph
            startup = time.perf_counter() - start
            before = sum(client.run(cpu_seconds).values()) + cpu_seconds()
            start = time.perf_counter()
            res = run_over(graph_path, files, client=client)
            seconds = time.perf_counter() - start
            cpu = sum(client.run(cpu_seconds).values()) + cpu_seconds() - before
        assert res.ok, res.failures
        merged = {k: float(v) for k, v in res.merged.items()}
    return {"mode": mode, "seconds": seconds, "shards": len(files), "merged": merged, "cpu": cpu,
            "rss_mb": peak_rss_mb(), "startup": startup}


# ---------------------------------------------------------------------------- the machine's ceiling
def _spin(seconds: float, out) -> None:
    """A pure-Python loop for ``seconds``: its iterations (one core's worth of CPU)."""
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        for _ in range(10_000):
            n += 1
    out.put(n)


def _stream(seconds: float, out) -> None:
    """Copies of a 44 MB array for ``seconds``: bytes moved (memory bandwidth)."""
    a = np.ones(11_000_000, np.float32)
    b = np.empty_like(a)
    end, moved = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        np.copyto(b, a)
        moved += 2 * a.nbytes
    out.put(moved)


def ceiling(seconds: float = 1.5) -> dict[str, float]:
    """What two processes get from this machine now, against one: a CPU loop and memory copies
    (1.0: the second process adds nothing; 2.0: two free cores). Another job's load lowers it."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    out = {}
    for fn in (_spin, _stream):
        totals = []
        for procs in (1, 2):
            q = ctx.Queue()
            ps = [ctx.Process(target=fn, args=(seconds, q)) for _ in range(procs)]
            for proc in ps:
                proc.start()
            totals.append(sum(q.get() for _ in ps))
            for proc in ps:
                proc.join()
        out["cpu" if fn is _spin else "memory"] = totals[1] / totals[0]
    return out


# ---------------------------------------------------------------------------- the table (the parent)
def ensure_shards(folder: Path, count: int, batch: int, size: int, classes: int) -> list[Path]:
    stamp = folder / "params.json"
    want = {"count": count, "batch": batch, "size": size, "classes": classes}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return sorted(folder.glob("shard_*.npz"))
    print(f"making {count} shards of {batch}x{size}x{size}x{classes} in {folder} ...", file=sys.stderr)
    for old in folder.glob("*.npz"):
        old.unlink()
    paths = make_shards(folder, count, batch, size, classes)
    stamp.write_text(json.dumps(want))
    return paths


def linked(folder: Path, shards: list[Path], times: int) -> list[Path]:
    """``shards`` listed ``times`` times under new names (hard links: no copies)."""
    out = folder / "linked"
    out.mkdir(exist_ok=True)
    paths = []
    for k in range(times):
        for p in shards:
            q = out / f"{k}_{p.name}"
            if not q.exists():
                os.link(p, q)
            paths.append(q)
    return paths


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--more", type=int, default=256, help="shards of the memory row (links to the first ones)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--classes", type=int, default=21)
    ap.add_argument("--data", type=Path, default=Path("/tmp/haibal-scale-shards"))
    ap.add_argument("--rows", default=",".join(ROWS), help=f"which rows ({', '.join(ROWS)})")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of every row (each row keeps its best)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--files", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    graph_path = args.data / "evaluation.json"
    if args.child:
        files = Path(args.files).read_text().split("\n")
        print(json.dumps(run_row(args.child, graph_path, files, args.classes)))
        return

    print(header(), flush=True)
    args.data.mkdir(parents=True, exist_ok=True)
    shards = ensure_shards(args.data / "shards", args.shards, args.batch, args.size, args.classes)
    build_graph(graph_path, args.classes)
    big = linked(args.data, shards, max(1, args.more // len(shards)))
    lists = {}
    for name, paths in (("base", shards), ("big", big)):
        lists[name] = args.data / f"{name}.txt"
        lists[name].write_text("\n".join(str(p) for p in paths))
    for p in shards:  # read every file once: every row finds them in the page cache
        p.read_bytes()
    results: dict[str, dict] = {}
    ceilings = []
    modes = args.rows.split(",")
    for rnd in range(args.rounds):  # rounds of every row, interleaved: a row keeps its best round
        ceilings.append(ceiling())
        print(f"  round {rnd + 1}, the machine: 2 processes get {ceilings[-1]['cpu']:.2f}x one's CPU, "
              f"{ceilings[-1]['memory']:.2f}x one's memory bandwidth", file=sys.stderr)
        for mode in modes:
            if mode == "w2big" and rnd:  # the memory row: once is enough
                continue
            files = lists["big" if mode == "w2big" else "base"]
            load = os.getloadavg()[0]
            proc = subprocess.run([sys.executable, __file__, "--child", mode, "--files", str(files), "--data",
                                   str(args.data), "--classes", str(args.classes)], capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{mode}: failed\n{proc.stderr[-3000:]}", file=sys.stderr)
                continue
            r = {**json.loads(proc.stdout.strip().splitlines()[-1]), "load": load}
            print(f"  round {rnd + 1}, {ROWS[mode]}: {r['shards'] / r['seconds']:.2f} shards/s (load {load:.1f})",
                  file=sys.stderr)
            if mode not in results or r["seconds"] < results[mode]["seconds"]:
                results[mode] = r

    ref = results.get("plain", next(iter(results.values())))["merged"]
    for mode, r in results.items():
        for k, v in r["merged"].items():
            if not np.isclose(v, ref[k], rtol=1e-9, atol=0):
                print(f"WARNING: {ROWS[mode]}: {k} = {v!r}, plain loop {ref[k]!r}", file=sys.stderr)
    size_mb = sum(p.stat().st_size for p in shards) / 1e6
    print(f"\n{len(shards)} shards of {args.batch}x{args.size}x{args.size}x{args.classes} ({size_mb:.0f} MB), "
          f"{len(os.sched_getaffinity(0))} cores; merged mean_loss {ref['mean_loss']:.10f}, "
          f"mean_iou {ref['mean_iou']:.10f} (every row agrees to 1e-9)\n")
    print("| row | shards | seconds | shards/s | vs single-process loop | vs plain loop | CPU per shard | "
          "client peak RSS | cluster start | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rate = {m: r["shards"] / r["seconds"] for m, r in results.items()}
    for mode, r in results.items():
        vs_loop = f"{rate[mode] / rate['loop']:.2f}x" if "loop" in rate else "-"
        vs_plain = f"{rate[mode] / rate['plain']:.2f}x" if "plain" in rate else "-"
        start = f"{r['startup']:.1f} s" if r.get("startup") is not None else "-"
        print(f"| {ROWS[mode]} | {r['shards']} | {r['seconds']:.2f} | {rate[mode]:.2f} | {vs_loop} | {vs_plain} | "
              f"{r['cpu'] / r['shards'] * 1000:.0f} ms | {r['rss_mb']:.0f} MB | {start} | {r['load']:.1f} |")
    if "w2" in rate:
        for one in ("w1", "w1t1"):
            if one in rate:
                print(f"\n2 workers / {ROWS[one]}: {rate['w2'] / rate[one]:.2f}x (target >= 1.7x)")
    if ceilings:
        best = {k: max(c[k] for c in ceilings) for k in ceilings[0]}
        print(f"the machine's ceiling (best round): 2 processes get {best['cpu']:.2f}x one's CPU and "
              f"{best['memory']:.2f}x one's memory bandwidth (2.0x on two free cores)")
    if "w2" in results and "w2big" in results:
        print(f"client peak RSS: {results['w2']['rss_mb']:.0f} MB at {results['w2']['shards']} shards, "
              f"{results['w2big']['rss_mb']:.0f} MB at {results['w2big']['shards']} shards")


if __name__ == "__main__":
    main()
