"""The documentation's example and a larger synthetic evaluation, through the SCCE node."""

from __future__ import annotations

import numpy as np

from haibal_py import CATALOG, Batches


def main() -> None:
    node_cls = CATALOG.get("haibal.metrics.SparseCategoricalCrossentropy")
    node = node_cls()
    rows = []
    out = node(y_true=[1, 2], y_pred=[[0.05, 0.95, 0], [0.1, 0.8, 0.1]])["result"]
    rows.append(("documentation example (array)", np.round(out, 4).tolist()))

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(10, 256, 10)).astype(np.float32)
    labels = rng.integers(0, 10, size=(10, 256))
    node_logits = node_cls(from_logits=True)
    stream = node_logits(y_true=Batches(list(labels)), y_pred=Batches(list(logits)))["result"]
    rows.append(("synthetic 10 batches x 256 x 10 logits (batch)", round(stream, 6)))
    rows.append(("same, expected about log(10)", round(float(np.log(10)), 6)))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
