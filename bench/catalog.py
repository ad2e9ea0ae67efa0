"""Times every loss (and every metric function of ``haibal_py.metrics``) on a large float32 workload.

    .venv/bin/python bench/catalog.py [--rows 65536] [--cols 1000] [--repeat 3] [--markdown]
                                      [--only SUBSTRINGS] [--peer-python PATH | --no-peers]

Each row is compared with the floor (reading both inputs once: the time of summing them,
which no function of both inputs can beat) and with PyTorch's equivalent computed the same
way (per-sample values, float32, on the CPU, its default threads). haibal-py runs with the
interpreter that runs the script, PyTorch with ``--peer-python`` (default
``$HAIBAL_BENCH_PEER_PYTHON``, else ``.venv-bench/bin/python`` when it exists, else this
interpreter), each a worker process of its own making the same seeded inputs; for each
function the two take ``--repeat`` interleaved turns of one call each, and each keeps its
best. Without torch the PyTorch columns show "-". Prints a table (Markdown with ``--markdown``).
"""

from __future__ import annotations

import argparse
import inspect
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from _common import ROOT, Worker, add_peer_options, best_time, header, not_measured, peer_python, serve

def make_inputs(rows: int, cols: int, seed: int = 0) -> dict:
    """The workloads, float32: regression targets, probabilities, logits, 0/1 and one-hot labels."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    probs = rng.random((rows, cols), dtype=f32)
    labels = rng.integers(0, cols, rows)
    onehot = np.zeros((rows, cols), dtype=f32)
    onehot[np.arange(rows), labels] = 1
    return {
        "target": rng.standard_normal((rows, cols), dtype=f32),
        "pred": rng.standard_normal((rows, cols), dtype=f32),
        "probs": probs,
        "dist": probs / probs.sum(axis=1, keepdims=True),
        "logits": rng.standard_normal((rows, cols), dtype=f32) * 3,
        "binary": (rng.random((rows, cols), dtype=f32) < 0.3).astype(f32),
        "onehot": onehot,
        "labels": labels,
    }


def floor(inputs: dict) -> float:
    """Reading two float32 inputs once: both summed, one per thread (memory-bound)."""
    a, b = inputs["target"], inputs["pred"]
    with ThreadPoolExecutor(2) as pool:
        def both():
            list(pool.map(lambda x: np.add.reduce(x, axis=None), (a, b)))
        return min(best_time(both, 3, warmup=False), best_time(lambda: (a.sum(), b.sum()), 3, warmup=False))


def torch_cases() -> dict:
    """PyTorch's equivalents, by the table's function names (formulas PyTorch lacks written
    as the usual PyTorch expressions)."""
    import torch
    import torch.nn.functional as F

    eps = 1e-7

    def mape(t, p):
        return 100 * ((t - p).abs() / t.abs().clamp_min(eps)).mean(-1)

    def msle(t, p):
        return (torch.log1p(p.clamp_min(eps)) - torch.log1p(t.clamp_min(eps))).square().mean(-1)

    def log_cosh(t, p):
        x = p - t
        return (x.abs() + torch.log1p(torch.exp(-2 * x.abs())) - np.log(2.0)).mean(-1)

    def hinge(t, p):
        return torch.clamp(1 - (2 * t - 1) * p, min=0).mean(-1)

    def squared_hinge(t, p):
        return torch.clamp(1 - (2 * t - 1) * p, min=0).square().mean(-1)

    def cat_hinge(t, p):
        return torch.clamp(((1 - t) * p).amax(-1) - (t * p).sum(-1) + 1, min=0)

    def bfce(t, p):
        bce = F.binary_cross_entropy(p, t, reduction="none")
        p_t = t * p + (1 - t) * (1 - p)
        return ((1 - p_t).square() * bce).mean(-1)

    def cfce(t, p):
        q = (p / p.sum(-1, keepdim=True)).clamp(eps, 1 - eps)
        return -(0.25 * (1 - q).square() * t * q.log()).sum(-1)

    def dice(t, p):
        return 1 - 2 * (t * p).sum() / (t.sum() + p.sum() + eps)

    def tversky(t, p):
        tp = (t * p).sum()
        return 1 - tp / (tp + 0.5 * (t.sum() - tp) + 0.5 * (p.sum() - tp) + eps)

    def pearson(t, p):
        tc, pc = t - t.mean(-1, keepdim=True), p - p.mean(-1, keepdim=True)
        return (tc * pc).sum(-1) / ((tc.square().sum(-1) * pc.square().sum(-1)).sqrt() + eps)

    def concordance(t, p):
        tm, pm = t.mean(-1, keepdim=True), p.mean(-1, keepdim=True)
        cov = ((t - tm) * (p - pm)).mean(-1)
        return 2 * cov / (t.var(-1, unbiased=False) + p.var(-1, unbiased=False) + (tm - pm).squeeze(-1).square() + eps)

    return {
        "mean_squared_error": lambda t, p: F.mse_loss(p, t, reduction="none").mean(-1),
        "mean_absolute_error": lambda t, p: F.l1_loss(p, t, reduction="none").mean(-1),
        "mean_absolute_percentage_error": mape,
        "mean_squared_logarithmic_error": msle,
        "cosine_similarity": lambda t, p: -F.cosine_similarity(t, p, dim=-1, eps=eps),
        "huber": lambda t, p: F.huber_loss(p, t, reduction="none", delta=1.0).mean(-1),
        "log_cosh": log_cosh,
        "hinge": hinge,
        "squared_hinge": squared_hinge,
        "categorical_hinge": cat_hinge,
        "kl_divergence": lambda t, p: F.kl_div(p.clamp(eps, 1).log(), t.clamp(eps, 1), reduction="none").sum(-1),
        "poisson": lambda t, p: F.poisson_nll_loss(p, t, log_input=False, eps=eps, reduction="none").mean(-1),
        "binary_crossentropy": lambda t, p: F.binary_cross_entropy(p, t, reduction="none").mean(-1),
        "binary_crossentropy (logits)":
            lambda t, p: F.binary_cross_entropy_with_logits(p, t, reduction="none").mean(-1),
        "binary_focal_crossentropy": bfce,
        "categorical_crossentropy": lambda t, p: -(t * (p / p.sum(-1, keepdim=True)).clamp(eps, 1 - eps).log()).sum(-1),
        "categorical_crossentropy (logits)": lambda t, p: F.cross_entropy(p, t, reduction="none"),
        "categorical_focal_crossentropy": cfce,
        "dice": dice,
        "tversky": tversky,
        "sparse_categorical_crossentropy (logits)": lambda t, p: F.cross_entropy(p, t, reduction="none"),
        # metric functions (per-sample values)
        "metrics.binary_accuracy": lambda t, p: ((p > 0.5).float() == t).float().mean(-1),
        "metrics.categorical_accuracy": lambda t, p: (t.argmax(-1) == p.argmax(-1)).float(),
        "metrics.sparse_categorical_accuracy": lambda t, p: (t == p.argmax(-1)).float(),
        "metrics.top_k_categorical_accuracy":
            lambda t, p: (p.topk(5, -1).indices == t.argmax(-1, keepdim=True)).any(-1).float(),
        "metrics.sparse_top_k_categorical_accuracy":
            lambda t, p: (p.topk(5, -1).indices == t[:, None]).any(-1).float(),
        "metrics.pearson_correlation": pearson,
        "metrics.concordance_correlation": concordance,
        "metrics.cosine_similarity": lambda t, p: F.cosine_similarity(t, p, dim=-1, eps=eps),
    }


# name -> (function of haibal_py.losses, y_true key, y_pred key, keyword arguments)
LOSS_CASES = {
    "mean_squared_error": ("mean_squared_error", "target", "pred", {}),
    "mean_absolute_error": ("mean_absolute_error", "target", "pred", {}),
    "mean_absolute_percentage_error": ("mean_absolute_percentage_error", "target", "pred", {}),
    "mean_squared_logarithmic_error": ("mean_squared_logarithmic_error", "probs", "dist", {}),
    "cosine_similarity": ("cosine_similarity", "target", "pred", {}),
    "huber": ("huber", "target", "pred", {}),
    "log_cosh": ("log_cosh", "target", "pred", {}),
    "hinge": ("hinge", "binary", "pred", {}),
    "squared_hinge": ("squared_hinge", "binary", "pred", {}),
    "categorical_hinge": ("categorical_hinge", "onehot", "pred", {}),
    "kl_divergence": ("kl_divergence", "dist", "probs", {}),
    "poisson": ("poisson", "probs", "probs", {}),
    "binary_crossentropy": ("binary_crossentropy", "binary", "probs", {}),
    "binary_crossentropy (logits)": ("binary_crossentropy", "binary", "logits", {"from_logits": True}),
    "binary_focal_crossentropy": ("binary_focal_crossentropy", "binary", "probs", {}),
    "categorical_crossentropy": ("categorical_crossentropy", "onehot", "probs", {}),
    "categorical_crossentropy (logits)": ("categorical_crossentropy", "onehot", "logits", {"from_logits": True}),
    "categorical_focal_crossentropy": ("categorical_focal_crossentropy", "onehot", "probs", {}),
    "dice": ("dice", "binary", "probs", {}),
    "tversky": ("tversky", "binary", "probs", {}),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", "labels", "probs", {}),
    "sparse_categorical_crossentropy (logits)":
        ("sparse_categorical_crossentropy", "labels", "logits", {"from_logits": True}),
}


def metric_inputs(name: str) -> tuple[str, str]:
    """The (y_true, y_pred) inputs of a metric function, from its name."""
    if "sparse" in name:
        return "labels", "probs"
    if "categorical" in name or "top_k" in name:
        return "onehot", "probs"
    if "binary" in name:
        return "binary", "probs"
    return "target", "pred"


def haibal_cases(only: list[str]) -> dict:
    """name -> (function, y_true key, y_pred key, keyword arguments): every loss case, then the
    metric functions of ``haibal_py.metrics`` (from its ``__all__``) not timed as losses;
    only the names holding one of the substrings ``only`` (all when empty)."""
    sys.path.insert(0, str(ROOT))
    from haibal_py import losses, metrics

    cases = {name: (getattr(losses, fn), tk, pk, kwargs) for name, (fn, tk, pk, kwargs) in LOSS_CASES.items()}
    seen = {id(case[0]) for case in cases.values()}
    for name in getattr(metrics, "__all__", ()):
        fn = getattr(metrics, name, None)
        if (fn is None or inspect.isclass(fn) or not callable(fn) or id(fn) in seen or name != name.lower()
                or name in ("get", "serialize", "deserialize")):
            continue
        seen.add(id(fn))
        cases[f"metrics.{name}"] = (fn, *metric_inputs(name), {})
    return {name: case for name, case in cases.items() if not only or any(k in name for k in only)}


def worker(framework: str, rows: int, cols: int, only: list[str]) -> None:
    """haibal: ``hello`` gives the function names; ``floor``; ``time`` one call of a function.
    torch: ``hello`` gives its version and the names it has an equivalent for; ``time``."""
    if framework == "haibal":
        cases = haibal_cases(only)
        version = f"haibal-py (NumPy {np.__version__})"
    else:
        import torch
        version = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        cases = {name: (fn, *(LOSS_CASES[name][1:3] if name in LOSS_CASES else metric_inputs(name)), {})
                 for name, fn in torch_cases().items()}
    inputs = make_inputs(rows, cols)
    calls = {}
    for name, (fn, tk, pk, kwargs) in cases.items():
        t_in, p_in = inputs[tk], inputs[pk]
        if framework == "torch":
            t_in, p_in = torch.from_numpy(t_in), torch.from_numpy(p_in)
        calls[name] = (lambda fn=fn, t_in=t_in, p_in=p_in, kwargs=kwargs: fn(t_in, p_in, **kwargs))

    def answer(req: dict) -> dict:
        if req["op"] == "hello":
            return {"version": version, "names": list(calls)}
        if req["op"] == "floor":
            return {"seconds": floor(inputs)}
        if framework == "torch":
            with torch.no_grad():
                return {"seconds": best_time(calls[req["name"]], 1, warmup=False)}
        return {"seconds": best_time(calls[req["name"]], 1, warmup=False)}

    serve(answer)


def run(rows: int, cols: int, repeat: int, only: list[str], peers: str | None) -> tuple[list[dict], dict]:
    """The table's rows and the versions of the frameworks measured."""
    size = ["--rows", str(rows), "--cols", str(cols), "--only", ",".join(only)]
    ours = Worker(sys.executable, [__file__, "--worker", "haibal", *size])
    hello = ours.ask({"op": "hello"})
    if "error" in hello:
        raise SystemExit(f"haibal-py: not measured ({hello['error']})")
    versions = {"haibal": hello["version"]}
    names = hello["names"]
    theirs, peer_names = None, set()
    if peers is None:
        not_measured("torch", "--no-peers")
    else:
        theirs = Worker(peers, [__file__, "--worker", "torch", *size])
        reply = theirs.ask({"op": "hello"})
        if "error" in reply:
            not_measured("torch", reply["error"])
            theirs.close()
            theirs = None
        else:
            versions["torch"], peer_names = reply["version"], set(reply["names"])
    base = ours.ask({"op": "floor"})["seconds"]
    table = []
    for name in names:
        row = {"name": name, "floor": base, "ours": float("inf")}
        if theirs is not None and name in peer_names:
            row["torch"] = float("inf")
        for _ in range(repeat):  # interleaved, so that both see the same machine load
            for key, w in (("ours", ours), ("torch", theirs)):
                if key not in row or "error" in row:
                    continue
                reply = w.ask({"op": "time", "name": name})
                if "error" in reply:  # a metric with another signature: report, go on
                    row["error"] = f"{key}: {reply['error']}"[:80]
                    continue
                row[key] = min(row[key], reply["seconds"])
        table.append(row)
    ours.close()
    if theirs is not None:
        theirs.close()
    return table, versions


def render(table: list[dict], rows: int, cols: int, markdown: bool) -> str:
    head = ["function", "haibal-py (ms)", "x floor", "PyTorch (ms)", "vs PyTorch"]
    lines = []
    for r in table:
        if "error" in r:
            lines.append([r["name"], "error", r["error"], "", ""])
            continue
        torch_ms = f"{r['torch'] * 1e3:.0f}" if "torch" in r else "-"
        ratio = f"{r['torch'] / r['ours']:.2f}x faster" if "torch" in r and r["ours"] <= r["torch"] else (
            f"{r['ours'] / r['torch']:.2f}x slower" if "torch" in r else "-")
        lines.append([r["name"], f"{r['ours'] * 1e3:.0f}", f"{r['ours'] / r['floor']:.1f}", torch_ms, ratio])
    title = (f"{rows}x{cols} float32, best of runs; floor (reading both inputs once) = "
             f"{table[0]['floor'] * 1e3:.0f} ms" if table and "floor" in table[0] else "")
    if markdown:
        out = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([title, fmt.format(*head)] + [fmt.format(*line) for line in lines])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=65536)
    parser.add_argument("--cols", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved turns per function (best kept)")
    parser.add_argument("--only", default="", help="comma-separated substrings of function names to run")
    parser.add_argument("--markdown", action="store_true")
    add_peer_options(parser)
    parser.add_argument("--worker", choices=("haibal", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.worker:
        worker(args.worker, args.rows, args.cols, only)
        return
    print(header(), flush=True)
    table, versions = run(args.rows, args.cols, args.repeat, only,
                          None if args.no_peers else peer_python(args.peer_python))
    print("# " + "; ".join(versions.values()))
    print(render(table, args.rows, args.cols, args.markdown))


if __name__ == "__main__":
    main()
