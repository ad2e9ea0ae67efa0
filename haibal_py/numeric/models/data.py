"""Array data for ``fit`` / ``evaluate``: checking, splitting, weighting and batching.

Keras' rules for NumPy data, kept here in one place:

- ``x`` is an array, a list (model input order) or a dict by input name; ``y`` and
  ``sample_weight`` an array, a list (output order) or a dict by output name. Every
  array has the same number of samples (first axis), or the error names the sizes.
- ``validation_split=f`` keeps the LAST ``floor(n * (1 - f))``-th samples onward for
  validation, before any shuffling (Keras' ``train_validation_split``).
- ``class_weight={class: weight}`` becomes per-sample weights from the labels (integer
  labels, or the argmax of one-hot ones); it cannot be combined with ``sample_weight``.
- Batches: ``ceil(n / batch_size)`` per epoch, the last one partial; with ``shuffle=True``
  one permutation per epoch from ``seeding.global_rng()``, so ``set_random_seed`` makes
  a fit reproducible; ``shuffle="batch"`` shuffles whole batches. Without shuffling, a
  batch is a slice (a view, no copy); with it, one gather per array and batch.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ...errors import HaibalValueError
from ..arrays import as_numeric_array
from ..seeding import global_rng

__all__ = ["DataError", "as_list", "check_cardinality", "split_last", "class_weights_to_sample_weights",
           "EpochPlan", "take"]


class DataError(HaibalValueError):
    """Training data that does not fit the model or the arguments of fit/evaluate."""


def as_list(value, names: list[str], what: str, allow_none: bool = False) -> list:
    """``value`` (an array, a list/tuple in order, or a dict by name) as a list matching ``names``."""
    n = len(names)
    if value is None:
        if allow_none:
            return [None] * n
        raise DataError(f"{what} is missing")
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise DataError(f"{what}: unknown name(s) {unknown}; expected names: {names}")
        missing = [k for k in names if k not in value]
        if missing and not allow_none:
            raise DataError(f"{what}: no entry for {missing}; expected names: {names}")
        return [value.get(k) for k in names]
    if n == 1:
        if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], np.ndarray):
            return [value[0]]
        return [value]
    if isinstance(value, (list, tuple)) and len(value) == n:
        return list(value)
    got = f"{len(value)} entries" if isinstance(value, (list, tuple)) else f"one {type(value).__name__}"
    raise DataError(f"{what}: the model has {n} ({', '.join(names)}); give a list of {n} or a dict by name, "
                    f"got {got}")


def as_array(value, what: str) -> np.ndarray:
    """``value`` as a numeric array with a sample axis (DataError naming ``what`` otherwise)."""
    arr = as_numeric_array(value, what, DataError)
    if arr.ndim == 0:
        raise DataError(f"{what} must have a sample axis, got a scalar")
    return arr


def check_cardinality(named: list[tuple[str, np.ndarray | None]]) -> int:
    """The common number of samples of the arrays (DataError naming every size otherwise)."""
    sizes = {name: a.shape[0] for name, a in named if a is not None}
    if not sizes:
        raise DataError("no data given")
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name}: {n}" for name, n in sizes.items())
        raise DataError(f"Data cardinality is ambiguous: make sure all arrays contain the same number of "
                        f"samples ({listed})")
    return next(iter(sizes.values()))


def split_last(arrays: list, n: int, validation_split: float) -> tuple[list, list]:
    """(training part, validation part): the validation part is the last ``validation_split``
    of the samples, taken before any shuffling (Keras' rule)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0.0 <= validation_split < 1.0:
        raise DataError(f"validation_split must be a float in [0, 1), got {validation_split!r}")
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise DataError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                        f"validation and training set as specified by `validation_split={validation_split}`. "
                        "Either provide more data, or a different value for the `validation_split` argument.")
    train = [None if a is None else a[:split_at] for a in arrays]
    val = [None if a is None else a[split_at:] for a in arrays]
    return train, val


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict, dtype) -> np.ndarray:
    """Per-sample weights ``class_weight.get(label, 1.0)``; one-hot labels use their argmax, a
    trailing size-1 axis is dropped, labels are rounded (Keras' rule)."""
    if not isinstance(class_weight, dict):
        raise DataError(f"class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}")
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    if labels.ndim != 1:
        raise DataError(f"class_weight needs one label per sample; y has shape {np.shape(y)}")
    labels = np.round(labels).astype(np.int64)
    weights = np.ones(labels.shape[0], dtype=dtype)
    for cls, w in class_weight.items():
        try:
            weights[labels == int(cls)] = float(w)
        except (TypeError, ValueError):
            raise DataError(f"class_weight: class {cls!r} -> {w!r} is not an int -> float entry") from None
    return weights


def take(a: np.ndarray | None, idx):
    """Rows ``idx`` (a slice: a view; an index array: a gather) of ``a``; None stays None."""
    if a is None:
        return None
    if isinstance(idx, slice):
        return a[idx]
    return a.take(idx, axis=0)


@dataclass
class EpochPlan:
    """Which samples each batch of an epoch holds.

    ``steps_per_epoch`` (Keras' meaning for arrays): that many batches per epoch, drawn from
    passes over the data that continue across epochs; a pass ending early ends the epoch
    with Keras' warning."""

    n: int
    batch_size: int
    shuffle: bool | str = False
    steps_per_epoch: int | None = None

    def __post_init__(self):
        self.num_batches = max(1, math.ceil(self.n / self.batch_size)) if self.n else 0
        self._pass: list | None = None
        self._pos = 0

    @property
    def steps(self) -> int:
        return self.steps_per_epoch or self.num_batches

    def _new_pass(self) -> list:
        n, bs = self.n, self.batch_size
        if not self.shuffle:
            return [slice(i, min(i + bs, n)) for i in range(0, n, bs)]
        rng = global_rng()
        if self.shuffle == "batch":
            order = rng.permutation(self.num_batches)
            return [slice(int(b) * bs, min(int(b) * bs + bs, n)) for b in order]
        perm = rng.permutation(n)
        return [perm[i:i + bs] for i in range(0, n, bs)]

    def epoch(self):
        """The batches of one epoch, as slices or index arrays."""
        if self.steps_per_epoch is None:
            yield from self._new_pass()
            return
        for _ in range(self.steps_per_epoch):
            if self._pass is None:
                self._pass, self._pos = self._new_pass(), 0
            if self._pos >= len(self._pass):
                warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                              "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=4)
                self._pass = None
                return
            batch = self._pass[self._pos]
            self._pos += 1
            yield batch
        if self._pass is not None and self._pos >= len(self._pass):
            self._pass = None
