"""Runtime overhead benchmark (not a test): `.venv/bin/python bench/runtime.py [N]` (N: the
chain's length, 1000 by default; `--scaling-only`, `--loops-only`: one table). No peers:
haibal-py's runtime against the same kernels called in a plain Python loop.

Measures, best of several repeats:
- a chain of N scalar LeakyReLU nodes: the runtime's cost per node over calling the same
  kernel directly in a Python loop (cold first run incl. validation, and warm full re-run);
- a 100-wide fan-out/fan-in graph (one source, 100 LeakyReLU nodes, one 100-input sum);
- a re-run after changing one parameter at the end of the chain, for N and 10 N nodes
  (O(changed nodes): the time must not grow with N);
- loading + validating a saved 1000-node graph file;
- scaling: chains of 1,000, 10,000 and 100,000 nodes, each step timed once (save, load,
  validate, first run, warm re-run) with the cost per node: linear in the node count
  means a flat "per node" column (``--scaling-only`` prints only this table);
- loops (``--loops-only`` prints only this table): an empty For Loop of 100,000 iterations
  (the cost of an iteration), and 10,000 iterations of a 10-node body (a chain of scalar
  LeakyReLU nodes fed by an indexing tunnel, the results stacked by an indexing tunnel)
  against the same kernel calls in a Python loop.
Targets: < 20 us overhead per node; load + validate 1000 nodes < 0.5 s; < 20 us per empty
iteration; the 10-node body within 2x of the Python loop. Times are the process's CPU
time (best of REPEATS), which other programs on the machine disturb little.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import best_times, header

from haibal_py import activations
from haibal_py.graph import Graph
from haibal_py.node import HelpText, Instance, Node, Port
from haibal_py.node.registry import register
from haibal_py.runtime import Runtime
from haibal_py.node.types import PortType

LRELU = "haibal.activations.LeakyReLU"
REPEATS = 25
WIDTH = 100


def best(fn, repeats: int = REPEATS) -> float:
    """The best CPU time of this process (``process_time``): stable on a busy machine."""
    return best_times(fn, repeats, warmup=False)[1]


def chain(n: int) -> tuple[Graph, str]:
    g = Graph(f"chain of {n}")
    prev, port = g.add_input("x", default=0.5, type="float[0]"), "value"
    for _ in range(n):
        node = g.add_node(LRELU)
        g.connect(prev, port, node, "x")
        prev, port = node, "result"
    g.connect(prev, port, g.add_output("y"), "value")
    return g, prev


def _sum_all(node, values):
    return {"result": sum(values[f"x{i}"] for i in range(WIDTH))}


@register
class BenchSum(Node):
    """A 100-input sum: the fan-in of the benchmark (a plug-in node class defined here)."""

    type_id = "bench.Sum100"
    category = "Benchmark"
    display_name = "Sum100"
    help = HelpText("Sums 100 scalars.")
    inputs = tuple(Port(f"x{i}", PortType.of("float", 0)) for i in range(WIDTH))
    outputs = (Port("result", PortType.of("float", 0)),)
    instances = (Instance("scalar", {f"x{i}": PortType.of("float", 0) for i in range(WIDTH)},
                          {"result": PortType.of("float", 0)}, _sum_all),)


def fan() -> Graph:
    g = Graph("fan-out/fan-in")
    g.add_input("x", default=0.5, type="float[0]")
    total = g.add_node("bench.Sum100")
    for i in range(WIDTH):
        node = g.add_node(LRELU)
        g.connect("x", "value", node, "x")
        g.connect(node, "result", total, f"x{i}")
    g.connect(total, "result", g.add_output("y"), "value")
    return g


def direct_chain(n: int) -> None:
    x = np.asarray(0.5)
    for _ in range(n):
        x = activations.leaky_relu(x, 0.2)


def direct_fan() -> None:
    x = np.asarray(0.5)
    outs = [activations.leaky_relu(x, 0.2) for _ in range(WIDTH)]
    sum(outs)


def measure_graph(g: Graph, direct, kernel_nodes: int) -> dict:
    cold = best(lambda: Runtime(g).run(), 5)
    rt = Runtime(g)
    rt.run()

    def warm():
        rt.invalidate()
        rt.run()

    # interleaved, so both see the same machine load; the best of each
    t_warm, t_direct = math.inf, math.inf
    for _ in range(REPEATS):
        t_warm = min(t_warm, best(warm, 1))
        t_direct = min(t_direct, best(direct, 1))
    nodes = len(g.nodes)
    return {"nodes": nodes, "cold": cold, "warm": t_warm, "direct": t_direct,
            "overhead_us": (t_warm - t_direct) / nodes * 1e6,
            "cold_overhead_us": (cold - t_direct) / nodes * 1e6, "kernel_nodes": kernel_nodes}


def measure_rerun(n: int) -> tuple[float, int]:
    g, last = chain(n)
    rt = Runtime(g)
    rt.run()
    slopes = iter(np.linspace(0.1, 0.3, 1000))
    ran = []

    def one_change():
        g.set_param(last, "negative_slope", float(next(slopes)))
        ran.append(len(rt.run().ran))

    return best(one_change), max(ran)


def measure_load(n: int) -> tuple[float, float, int]:
    g, _ = chain(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.json"
        g.save(path)
        size = path.stat().st_size
        loaded = {}

        def load():
            loaded["g"] = Graph.load(path)

        t_load = best(load, 5)
        t_both = best(lambda: Graph.load(path).validate(), 5)
        assert loaded["g"].validate() == []
    return t_load, t_both, size


def empty_loop(n: int) -> Graph:
    g = Graph(f"empty For Loop of {n}")
    loop = g.add_for_loop()
    g.connect(g.add_node("haibal.io.Constant", params={"value": n}), "value", loop, "N")
    return g


def body_loop(n: int, k: int = 10) -> Graph:
    """A For Loop over ``n`` scalars: a chain of ``k`` LeakyReLU nodes per iteration, the results stacked."""
    g = Graph(f"{n} iterations of a {k}-node body")
    x = g.add_input("x", default=np.linspace(-1.0, 1.0, n), type="float[1]")
    loop = g.add_for_loop()
    st = g.structure(loop)
    st.wire_in(x, "value", "x", indexing=True)
    prev, port = st.terminal_node("x"), "value"
    for _ in range(k):
        node = st.body.add_node(LRELU)
        st.body.connect(prev, port, node, "x")
        prev, port = node, "result"
    st.wire_out(prev, port, "y", indexing=True)
    g.connect(loop, "y", g.add_output("y"), "value")
    return g


def direct_body(n: int, k: int = 10) -> np.ndarray:
    out = []
    for v in np.linspace(-1.0, 1.0, n):
        for _ in range(k):
            v = activations.leaky_relu(v, 0.2)
        out.append(v)
    return np.asarray(out)


def measure_loops(empty_n: int = 100_000, body_n: int = 10_000, repeats: int = 7) -> dict:
    """Per empty iteration; the 10-node body against the Python loop (interleaved, best of each)."""
    rt = Runtime(empty_loop(empty_n))
    rt.run()

    def again():
        rt.invalidate()
        rt.run()

    t_empty = best(again, repeats)
    g = body_loop(body_n)
    body = Runtime(g)
    np.testing.assert_allclose(body.run().outputs["y"], direct_body(body_n))

    def body_again():
        body.invalidate()
        body.run()

    t_body, t_direct = math.inf, math.inf
    for _ in range(repeats):
        t_body = min(t_body, best(body_again, 1))
        t_direct = min(t_direct, best(lambda: direct_body(body_n), 1))
    return {"empty_n": empty_n, "empty_us": t_empty / empty_n * 1e6, "body_n": body_n, "body": t_body,
            "direct": t_direct, "ratio": t_body / t_direct}


def print_loops(r: dict) -> None:
    print("| loop | iterations | runtime | Python loop of the kernels | per iteration | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| empty For Loop | {r['empty_n']:,} | {r['empty_us'] * r['empty_n'] / 1e3:.1f} ms | | "
          f"{r['empty_us']:.2f} us | |")
    print(f"| For Loop, 10 LeakyReLU nodes (scalar) per iteration | {r['body_n']:,} | {r['body'] * 1e3:.0f} ms | "
          f"{r['direct'] * 1e3:.0f} ms | {r['body'] / r['body_n'] * 1e6:.1f} us | {r['ratio']:.2f}x |")


def once(fn) -> tuple[float, object]:
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def measure_scaling(sizes=(1_000, 10_000, 100_000)) -> list[dict]:
    """Each step once per size (the largest take seconds): the cost per node must stay flat."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "chain.json"
            t_build, (g, _) = once(lambda: chain(n))
            t_save, _ = once(lambda: g.save(path))
            t_load, h = once(lambda: Graph.load(path))
            t_validate, problems = once(h.validate)
            assert problems == []
            rt = Runtime(h)
            t_first, _ = once(rt.run)  # validates again (structure unseen by this runtime) and runs all

            def warm():
                rt.invalidate()
                return rt.run()

            t_warm, res = once(warm)
            assert len(res.ran) == len(h.nodes)
        rows.append({"nodes": len(h.nodes), "build": t_build, "save": t_save, "load": t_load,
                     "validate": t_validate, "first": t_first, "warm": t_warm})
    return rows


def print_scaling(rows) -> None:
    print("| chain | build | save | load | validate | first run (validate + run) | warm run | "
          "per node: load / first run / warm |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n = r["nodes"]
        print(f"| {n:,} | {r['build']:.2f} s | {r['save']:.2f} s | {r['load']:.2f} s | {r['validate']:.2f} s | "
              f"{r['first']:.2f} s | {r['warm']:.2f} s | {r['load'] / n * 1e6:.0f} / {r['first'] / n * 1e6:.0f} / "
              f"{r['warm'] / n * 1e6:.0f} us |")


def main() -> None:
    print(header(), flush=True)
    if "--scaling-only" in sys.argv:
        print_scaling(measure_scaling())
        return
    if "--loops-only" in sys.argv:
        loops = measure_loops()
        print_loops(loops)
        print(f"\ntargets (< 20 us per empty iteration, 10-node body within 2x): "
              f"{'met' if loops['empty_us'] < 20 and loops['ratio'] < 2 else 'NOT met'}")
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rows = []
    c = measure_graph(chain(n)[0], lambda: direct_chain(n), n)
    rows.append((f"chain of {n} LeakyReLU (scalar)", c))
    f = measure_graph(fan(), direct_fan, WIDTH + 1)
    rows.append((f"fan-out/fan-in {WIDTH} wide", f))
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}; CPU time, best of {REPEATS}\n")
    print("| graph | nodes | direct kernels | runtime, warm | overhead/node, warm | first run (validate + run) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['nodes']} | {r['direct'] * 1e3:.2f} ms | {r['warm'] * 1e3:.2f} ms | "
              f"{r['overhead_us']:.1f} us | {r['cold'] * 1e3:.1f} ms ({r['cold_overhead_us']:.0f} us/node) |")
    print()
    print("| re-run after one parameter change at the chain end | time | nodes run |")
    print("|---|---:|---:|")
    for size in (n, 10 * n):
        t, ran = measure_rerun(size)
        print(f"| chain of {size} | {t * 1e6:.0f} us | {ran} |")
    print()
    t_load, t_both, size = measure_load(1000)
    print("| saved graph of 1000 nodes | time |")
    print("|---|---:|")
    print(f"| load ({size / 1024:.0f} KiB JSON, schema check) | {t_load * 1e3:.0f} ms |")
    print(f"| load + validate | {t_both * 1e3:.0f} ms |")
    print()
    scaling = measure_scaling()
    print_scaling(scaling)
    print()
    loops = measure_loops()
    print_loops(loops)
    per_node = [r["first"] / r["nodes"] for r in scaling]
    linear = max(per_node) < 2 * min(per_node)  # memory size (caches, the GC's full passes) adds some
    ok = c["overhead_us"] < 20 and f["overhead_us"] < 20 and t_both < 0.5 and linear
    ok = ok and loops["empty_us"] < 20 and loops["ratio"] < 2
    print(f"\ntargets (< 20 us/node warm, load+validate < 0.5 s, first run linear in nodes within 2x per node, "
          f"< 20 us per empty iteration, 10-node loop body within 2x): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
