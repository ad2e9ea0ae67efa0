"""Write examples/data/digits.npz: scikit-learn's bundled copy of the UCI handwritten digits.

Run with the reference environment (scikit-learn is not a dependency of haibal-py):

    /work/venv-ref/bin/python scripts/make_digits_npz.py

The archive holds ``images`` (1797, 8, 8) uint8 pixel counts in 0..16 and ``target``
(1797,) uint8 digits 0..9, in scikit-learn's order, compressed. Source and license:
examples/data/DIGITS.md (UCI ML repository, CC BY 4.0). ``haibal_py.datasets.load_digits``
reads it without scikit-learn.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "examples" / "data" / "digits.npz"


def main() -> None:
    bunch = load_digits()
    images = bunch.images
    if not np.array_equal(images, np.round(images)) or images.min() < 0 or images.max() > 16:
        raise SystemExit("unexpected digits pixel values")
    arrays = {"images": images.astype(np.uint8), "target": bunch.target.astype(np.uint8)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    OUT.write_bytes(buf.getvalue())
    with np.load(OUT, allow_pickle=False) as back:
        assert np.array_equal(back["images"], images) and np.array_equal(back["target"], bunch.target)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) from scikit-learn {sklearn.__version__}: "
          f"{images.shape[0]} images, classes {np.bincount(bunch.target).tolist()}")


if __name__ == "__main__":
    main()
