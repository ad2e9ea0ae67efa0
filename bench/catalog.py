"""Times every loss (and every metric function of ``haibal_py.metrics``) on a large float32 workload.

    python bench/catalog.py [--rows 65536] [--cols 1000] [--repeat 3] [--markdown]

Each row is compared with the floor (reading both inputs once: the time of summing them,
which no function of both inputs can beat) and, when PyTorch is installed, with its
equivalent computed the same way (per-sample values, float32, on the CPU, its default
threads). Peers are optional imports. Prints a table (Markdown with ``--markdown``).
"""

from __future__ import annotations

import argparse
import inspect
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _common import best_time

from haibal_py import losses

try:  # optional peer
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


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


def _torch_cases():
    if torch is None:
        return {}
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


# name -> (function, y_true key, y_pred key, keyword arguments)
LOSS_CASES = {
    "mean_squared_error": (losses.mean_squared_error, "target", "pred", {}),
    "mean_absolute_error": (losses.mean_absolute_error, "target", "pred", {}),
    "mean_absolute_percentage_error": (losses.mean_absolute_percentage_error, "target", "pred", {}),
    "mean_squared_logarithmic_error": (losses.mean_squared_logarithmic_error, "probs", "dist", {}),
    "cosine_similarity": (losses.cosine_similarity, "target", "pred", {}),
    "huber": (losses.huber, "target", "pred", {}),
    "log_cosh": (losses.log_cosh, "target", "pred", {}),
    "hinge": (losses.hinge, "binary", "pred", {}),
    "squared_hinge": (losses.squared_hinge, "binary", "pred", {}),
    "categorical_hinge": (losses.categorical_hinge, "onehot", "pred", {}),
    "kl_divergence": (losses.kl_divergence, "dist", "probs", {}),
    "poisson": (losses.poisson, "probs", "probs", {}),
    "binary_crossentropy": (losses.binary_crossentropy, "binary", "probs", {}),
    "binary_crossentropy (logits)": (losses.binary_crossentropy, "binary", "logits", {"from_logits": True}),
    "binary_focal_crossentropy": (losses.binary_focal_crossentropy, "binary", "probs", {}),
    "categorical_crossentropy": (losses.categorical_crossentropy, "onehot", "probs", {}),
    "categorical_crossentropy (logits)": (losses.categorical_crossentropy, "onehot", "logits", {"from_logits": True}),
    "categorical_focal_crossentropy": (losses.categorical_focal_crossentropy, "onehot", "probs", {}),
    "dice": (losses.dice, "binary", "probs", {}),
    "tversky": (losses.tversky, "binary", "probs", {}),
    "sparse_categorical_crossentropy": (losses.sparse_categorical_crossentropy, "labels", "probs", {}),
    "sparse_categorical_crossentropy (logits)":
        (losses.sparse_categorical_crossentropy, "labels", "logits", {"from_logits": True}),
}


def metric_cases() -> dict:
    """Metric functions of ``haibal_py.metrics`` (from its ``__all__``) not timed as losses."""
    try:
        from haibal_py import metrics
    except ImportError:  # pragma: no cover
        return {}
    seen = {id(case[0]) for case in LOSS_CASES.values()}
    cases = {}
    for name in getattr(metrics, "__all__", ()):
        fn = getattr(metrics, name, None)
        if (fn is None or inspect.isclass(fn) or not callable(fn) or id(fn) in seen or name != name.lower()
                or name in ("get", "serialize", "deserialize")):
            continue
        seen.add(id(fn))
        if "sparse" in name:
            cases[f"metrics.{name}"] = (fn, "labels", "probs", {})
        elif "categorical" in name or "top_k" in name:
            cases[f"metrics.{name}"] = (fn, "onehot", "probs", {})
        elif "binary" in name:
            cases[f"metrics.{name}"] = (fn, "binary", "probs", {})
        else:
            cases[f"metrics.{name}"] = (fn, "target", "pred", {})
    return cases


def run(rows: int, cols: int, repeat: int) -> list[dict]:
    inputs = make_inputs(rows, cols)
    base = floor(inputs)
    peers = _torch_cases()
    table = []
    for name, (fn, tk, pk, kwargs) in {**LOSS_CASES, **metric_cases()}.items():
        t_in, p_in = inputs[tk], inputs[pk]
        peer = peers.get(name)
        pt_args = None
        if peer is not None:
            pt_args = (torch.from_numpy(t_in), torch.from_numpy(p_in))
        ours, theirs = float("inf"), float("inf")
        try:
            for _ in range(repeat):  # interleaved, so that both see the same machine load
                ours = min(ours, best_time(lambda: fn(t_in, p_in, **kwargs), 1, warmup=False))
                if pt_args is not None:
                    with torch.no_grad():
                        theirs = min(theirs, best_time(lambda: peer(*pt_args), 1, warmup=False))
        except Exception as exc:  # a metric with another signature: report, go on
            table.append({"name": name, "error": f"{type(exc).__name__}: {exc}"[:80]})
            continue
        row = {"name": name, "ours": ours, "floor": base}
        if pt_args is not None:
            row["torch"] = theirs
        table.append(row)
    return table


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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated substrings of function names to run")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.only:
        keep = [s.strip() for s in args.only.split(",")]
        for name in list(LOSS_CASES):
            if not any(k in name for k in keep):
                del LOSS_CASES[name]
    print(render(run(args.rows, args.cols, args.repeat), args.rows, args.cols, args.markdown))


if __name__ == "__main__":
    main()
