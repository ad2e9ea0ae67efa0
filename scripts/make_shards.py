"""Make segmentation shards for sharded runs (``haibal run GRAPH --over 'DIR/*.npz'``).

Each shard is a ``.npz`` holding ``labels`` (batch, size, size) int32 class ids, with a
fraction of 'void' pixels (255), and ``logits`` (batch, size, size, classes) float32 that
favour the true class (so accuracies and IoUs are neither 0 nor 1). Seeded: the same
arguments give the same files. ``--concat FILE.npz`` also writes every shard concatenated,
to compare a sharded run with one run over all the data::

    python scripts/make_shards.py --concat /tmp/all.npz
    haibal run examples/segmentation.json --over 'examples/data/shards/*.npz' --workers 2
    haibal run examples/segmentation.json --input labels=/tmp/all.npz --input logits=/tmp/all.npz

The defaults (16 shards of 4x64x64, 21 classes: 1.4 MB each) make a quick example;
``bench/scale.py`` makes its own 64 shards of 8x256x256x21 (44 MB each) in a scratch folder.
The shards are not committed (``examples/data/shards/`` is in .gitignore).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VOID = 255


def make_shard(rng: np.random.Generator, batch: int, size: int, classes: int, void: float) -> dict[str, np.ndarray]:
    labels = rng.integers(0, classes, (batch, size, size), dtype=np.int32)
    logits = rng.standard_normal((batch, size, size, classes), dtype=np.float32)
    np.put_along_axis(logits, labels[..., None], np.take_along_axis(logits, labels[..., None], -1) + 1.5, -1)
    labels[rng.random(labels.shape) < void] = VOID
    return {"labels": labels, "logits": logits}


def make_shards(out: Path, count: int, batch: int, size: int, classes: int, void: float = 0.1, seed: int = 0,
                concat: Path | None = None) -> list[Path]:
    """Write ``count`` shards to ``out`` (``shard_000.npz`` ...); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths, parts = [], []
    for i in range(count):
        rng = np.random.default_rng([seed, i])  # each shard on its own: the same file whatever the count
        arrays = make_shard(rng, batch, size, classes, void)
        path = out / f"shard_{i:03d}.npz"
        np.savez(path, **arrays)
        paths.append(path)
        if concat is not None:
            parts.append(arrays)
    if concat is not None:
        np.savez(concat, labels=np.concatenate([p["labels"] for p in parts]),
                 logits=np.concatenate([p["logits"] for p in parts]))
    return paths


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "examples" / "data" / "shards", help="the folder to write")
    ap.add_argument("--count", type=int, default=16, help="number of shards")
    ap.add_argument("--batch", type=int, default=4, help="label maps per shard")
    ap.add_argument("--size", type=int, default=64, help="height and width of a map")
    ap.add_argument("--classes", type=int, default=21, help="number of classes (logits' last axis)")
    ap.add_argument("--void", type=float, default=0.1, help="fraction of 'void' (255) pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--concat", type=Path, help="also write every shard concatenated to this .npz")
    args = ap.parse_args(argv)
    paths = make_shards(args.out, args.count, args.batch, args.size, args.classes, args.void, args.seed, args.concat)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} shards ({total / 1e6:.1f} MB) to {args.out}"
          + (f"; all of them concatenated to {args.concat}" if args.concat else ""))


if __name__ == "__main__":
    main()
