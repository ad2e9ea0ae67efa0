"""Small data sets and the preparation steps of a training: split, shuffle, normalise,
one-hot, batch.

Loaders return ``(x, y)``: float32 features and int64 labels.

- ``load_digits(images=False)``: the 8x8 handwritten digits (1797 samples, 10 classes,
  pixel counts 0..16), read from the ``digits.npz`` shipped in ``examples/data/`` (no
  scikit-learn needed; source and license in ``examples/data/DIGITS.md``), else from
  scikit-learn when it is installed.
- ``load_iris()``, ``load_wine()``, ``load_breast_cancer()``: scikit-learn's bundled copies
  (offline), through the optional ``datasets`` extra (``pip install haibal-py[datasets]``);
  without scikit-learn the error names the extra.

Helpers, all seeded where random (``seed``: an int, a ``numpy.random.Generator``, or None
for ``seeding.global_rng()``): ``shuffle``, ``train_test_split``, ``train_val_test_split``,
``normalize`` (min-max or standard, statistics from a reference set, e.g. the training
part), ``one_hot`` / ``to_categorical`` (Keras' name) and ``batch``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..errors import HaibalValueError
from .seeding import check_seed, global_rng

__all__ = ["DatasetError", "load_digits", "load_iris", "load_wine", "load_breast_cancer", "load", "DATASETS",
           "digits_path", "shuffle", "train_test_split", "train_val_test_split", "normalize", "one_hot",
           "to_categorical", "batch"]


class DatasetError(HaibalValueError):
    """A data set that cannot be loaded, or a preparation step given arguments that do not fit."""


_REPO_DIGITS = Path(__file__).resolve().parent.parent.parent / "examples" / "data" / "digits.npz"
#: set HAIBAL_DIGITS to read the digits from another copy of digits.npz
_ENV = "HAIBAL_DIGITS"


def digits_path() -> Path | None:
    """Where ``digits.npz`` is: ``$HAIBAL_DIGITS``, or ``examples/data/`` of this source tree."""
    env = os.environ.get(_ENV)
    if env:
        return Path(env)
    return _REPO_DIGITS if _REPO_DIGITS.is_file() else None


def _sklearn(name: str):
    try:
        from sklearn import datasets as sk  # noqa: PLC0415 (optional dependency, imported on use)
    except ImportError:
        raise DatasetError(f"{name} comes from scikit-learn, which is not installed: install the optional "
                           f"'datasets' extra (pip install 'haibal-py[datasets]') or scikit-learn") from None
    return sk


def _from_sklearn(name: str):
    sk = _sklearn(name)
    x, y = getattr(sk, name)(return_X_y=True)
    return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


def load_digits(images: bool = False, path=None):
    """The digits: ``x`` (1797, 64) float32 pixel counts 0..16 (``images=True``: (1797, 8, 8)),
    ``y`` (1797,) int64 digits."""
    where = Path(path) if path is not None else digits_path()
    if where is not None:
        if not where.is_file():
            raise DatasetError(f"load_digits: no digits file at {str(where)!r}")
        try:
            with np.load(where, allow_pickle=False) as f:
                pixels, target = f["images"], f["target"]
        except (OSError, ValueError, KeyError) as exc:
            raise DatasetError(f"load_digits: {str(where)!r} is not a digits.npz (images, target): {exc}") from None
        x = pixels.astype(np.float32)
        y = target.astype(np.int64)
    else:
        x, y = _from_sklearn("load_digits")
        x = x.reshape(-1, 8, 8)
    return (x if images else x.reshape(len(x), -1)), y


def load_iris():
    """Fisher's iris: ``x`` (150, 4) float32 measurements in cm, ``y`` 3 classes (scikit-learn)."""
    return _from_sklearn("load_iris")


def load_wine():
    """The wine recognition data: ``x`` (178, 13) float32, ``y`` 3 classes (scikit-learn)."""
    return _from_sklearn("load_wine")


def load_breast_cancer():
    """The Wisconsin breast cancer data: ``x`` (569, 30) float32, ``y`` 0/1 (scikit-learn)."""
    return _from_sklearn("load_breast_cancer")


#: name -> loader, for ``load(name)`` and the dataset node
DATASETS = {"digits": load_digits, "iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer}


def load(name: str):
    """``(x, y)`` of the data set ``name`` (one of ``DATASETS``)."""
    try:
        loader = DATASETS[name]
    except (KeyError, TypeError):
        raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None
    return loader()


# ---------------------------------------------------------------------------- preparation
def _rng(seed) -> np.random.Generator:
    seed = check_seed(seed)
    if seed is None:
        return global_rng()
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _arrays(arrays, who: str) -> list[np.ndarray]:
    if not arrays:
        raise DatasetError(f"{who}: give at least one array")
    out = [np.asarray(a) for a in arrays]
    sizes = [a.shape[0] if a.ndim else None for a in out]
    if None in sizes:
        raise DatasetError(f"{who}: every array needs a sample axis, got a scalar")
    if len(set(sizes)) > 1:
        raise DatasetError(f"{who}: the arrays hold different numbers of samples: {sizes}")
    return out


def shuffle(*arrays, seed=None):
    """The arrays in one common random order (a tuple, or the array when there is one)."""
    arrs = _arrays(arrays, "shuffle")
    order = _rng(seed).permutation(arrs[0].shape[0])
    out = tuple(a[order] for a in arrs)
    return out[0] if len(out) == 1 else out


def _count(size, n: int, what: str) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise DatasetError(f"{what} must be a fraction in (0, 1) or a number of samples, got {size!r}")
    if isinstance(size, (float, np.floating)):
        if not 0.0 < size < 1.0:
            raise DatasetError(f"{what} must be a fraction in (0, 1) or a number of samples, got {size!r}")
        return int(math.ceil(size * n))
    if not 0 < size < n:
        raise DatasetError(f"{what}={size} samples leaves nothing on one side of {n} samples")
    return int(size)


def _order(n: int, shuffle_: bool, seed, stratify, held: tuple[int, ...] = ()):
    """The sample order the splits cut: the held-out parts (test, then validation) first.
    Without shuffling they are the LAST samples, in order, as scikit-learn's split leaves
    the test set at the end: ``held=(n_test, n_val)`` gives the last ``n_test`` samples,
    then the ``n_val`` before them, then the training samples from the start."""
    if not shuffle_:
        end, parts = n, []
        for size in held:
            parts.append(np.arange(end - size, end))
            end -= size
        return np.concatenate(parts + [np.arange(end)])
    rng = _rng(seed)
    if stratify is None:
        return rng.permutation(n)
    labels = np.asarray(stratify)
    if labels.shape[:1] != (n,):
        raise DatasetError(f"stratify needs one label per sample ({n}), got shape {labels.shape}")
    return _stratified_order(labels, rng)


def _stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix holds each class in proportion (classes interleaved)."""
    keys = labels.reshape(len(labels), -1)
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    position = np.empty(len(labels))
    for cls in np.unique(inverse):
        members = np.flatnonzero(inverse == cls)
        rng.shuffle(members)
        # spread each class evenly over [0, 1): rank k of m at (k + u) / m
        position[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(position, kind="stable")


def train_test_split(*arrays, test_size=0.25, seed=None, shuffle=True, stratify=None):
    """``[a_train, a_test, b_train, b_test, ...]`` as scikit-learn's function: ``test_size`` a
    fraction (rounded up) or a count; ``stratify`` (labels) keeps the class proportions."""
    arrs = _arrays(arrays, "train_test_split")
    n = arrs[0].shape[0]
    n_test = _count(test_size, n, "test_size")
    if n_test >= n:
        raise DatasetError(f"test_size={test_size} leaves no training samples out of {n}")
    order = _order(n, shuffle, seed, stratify, held=(n_test,))
    test, train = order[:n_test], order[n_test:]
    out = []
    for a in arrs:
        out += [a[train], a[test]]
    return out


def train_val_test_split(*arrays, validation_size=0.1, test_size=0.2, seed=None, shuffle=True, stratify=None):
    """Three parts: ``((a_train, b_train ...), (a_val, ...), (a_test, ...))``; sizes are
    fractions of the whole (rounded up) or counts."""
    arrs = _arrays(arrays, "train_val_test_split")
    n = arrs[0].shape[0]
    n_test = _count(test_size, n, "test_size")
    n_val = _count(validation_size, n, "validation_size")
    if n_test + n_val >= n:
        raise DatasetError(f"validation_size={validation_size} and test_size={test_size} leave no training samples "
                           f"out of {n}")
    order = _order(n, shuffle, seed, stratify, held=(n_test, n_val))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return tuple(tuple(a[idx] for a in arrs) for idx in (train, val, test))


NORMALIZATIONS = ("minmax", "standard")


def normalize(x, method="minmax", reference=None, axis=0, feature_range=(0.0, 1.0), epsilon=1e-7):
    """``x`` scaled with statistics of ``reference`` (``x`` itself by default) over ``axis``:

    - ``"minmax"``: ``(x - min) / (max - min)`` into ``feature_range`` (a constant feature
      maps to the range's low end);
    - ``"standard"``: ``(x - mean) / std`` (``std`` floored at ``epsilon``).

    Normalise the test set with ``reference=x_train`` so both see the same scale.
    Floats keep their dtype; other inputs become float32.
    """
    if method not in NORMALIZATIONS:
        raise DatasetError(f"normalize: method must be one of {list(NORMALIZATIONS)}, got {method!r}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"normalize: x must be numeric, got dtype {arr.dtype}")
    dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
    ref = arr if reference is None else np.asarray(reference)
    if ref.ndim != arr.ndim or any(a != r for i, (a, r) in enumerate(zip(arr.shape, ref.shape))
                                   if i not in _axes(axis, arr.ndim)):
        raise DatasetError(f"normalize: reference shape {ref.shape} does not fit x shape {arr.shape} "
                           f"outside axis {axis}")
    ax = _axes(axis, arr.ndim)
    work = ref.astype(np.float64)
    if method == "minmax":
        lo, hi = (float(v) for v in feature_range)
        if not hi > lo:
            raise DatasetError(f"normalize: feature_range must be (low, high) with high > low, got {feature_range}")
        mn, mx = work.min(axis=ax, keepdims=True), work.max(axis=ax, keepdims=True)
        span = np.where(mx > mn, mx - mn, 1.0)
        out = (arr.astype(np.float64) - mn) / span * (hi - lo) + lo
    else:
        mean, std = work.mean(axis=ax, keepdims=True), work.std(axis=ax, keepdims=True)
        out = (arr.astype(np.float64) - mean) / np.maximum(std, epsilon)
    return out.astype(dtype)


def _axes(axis, ndim: int) -> tuple:
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    try:
        return tuple(int(a) % ndim for a in items)
    except (TypeError, ValueError, ZeroDivisionError):
        raise DatasetError(f"axis must be an int or a tuple of ints valid for {ndim} dimensions, got {axis!r}") \
            from None


def one_hot(labels, num_classes=None, dtype="float32"):
    """Integer labels as one-hot rows (Keras' ``to_categorical``): shape ``labels.shape +
    (num_classes,)``, a trailing axis of 1 dropped first."""
    arr = np.asarray(labels)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr)):
            raise DatasetError("one_hot: labels must be integers")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iub":
        raise DatasetError(f"one_hot: labels must be integers, got dtype {arr.dtype}")
    if arr.ndim > 1 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise DatasetError(f"one_hot: label {int(arr.min())} is negative")
    n = int(arr.max()) + 1 if num_classes is None and arr.size else int(num_classes or 0)
    if arr.size and int(arr.max()) >= n:
        raise DatasetError(f"one_hot: label {int(arr.max())} is outside [0, {n}) (num_classes={num_classes})")
    out = np.zeros(arr.shape + (n,), dtype=dtype)
    np.put_along_axis(out, arr[..., None], 1, axis=-1)
    return out


to_categorical = one_hot


def batch(*arrays, batch_size=32, drop_remainder=False):
    """The arrays cut into batches of ``batch_size`` samples: a list of tuples (of single
    arrays when one array is given); the last batch is partial unless ``drop_remainder``."""
    arrs = _arrays(arrays, "batch")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise DatasetError(f"batch: batch_size must be a positive integer, got {batch_size!r}")
    n = arrs[0].shape[0]
    stop = n - n % batch_size if drop_remainder else n
    out = []
    for start in range(0, stop, batch_size):
        part = tuple(a[start:start + batch_size] for a in arrs)
        out.append(part[0] if len(part) == 1 else part)
    return out
