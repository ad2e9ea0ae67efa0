"""Weight penalties: Keras 3's ``keras.regularizers`` in NumPy, with their gradients.

``reg(w)`` is the penalty (a scalar of ``w``'s dtype) and ``reg.gradient(w)`` is
d penalty / dw (an array like ``w``), which training adds to the weight gradients.
L1's gradient at 0 is 0 (the subgradient TensorFlow's ``abs`` gives).
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..errors import HaibalValueError
from .keras_api import Registry

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer",
           "l1", "l2", "l1_l2", "orthogonal_regularizer", "get", "serialize", "deserialize"]

#: Keras' backend epsilon: the smallest norm OrthogonalRegularizer divides by
EPSILON = 1e-7


def _factor(value, name: str, who: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise HaibalValueError(f"{who}: {name} must be a non-negative float, got {value!r}")
    return float(value)


def _weights(x, who: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)
    return arr


class Regularizer:
    """Base class: ``__call__(w)`` -> penalty, ``gradient(w)`` -> d penalty / dw."""

    def __call__(self, x):
        return 0.0

    def gradient(self, x) -> np.ndarray:
        return np.zeros_like(_weights(x, type(self).__name__))

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Regularizer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)`` (both 0.0 by default, as Keras)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", "L1L2", 0.0)
        self.l2 = _factor(l2, "l2", "L1L2", 0.0)

    def __call__(self, x):
        w = _weights(x, "L1L2")
        k = w.dtype.type
        total = k(0)
        if self.l1:
            total = total + k(self.l1) * np.abs(w).sum(dtype=w.dtype)
        if self.l2:
            total = total + k(self.l2) * np.vdot(w, w).astype(w.dtype)
        return k(total)

    def gradient(self, x):
        w = _weights(x, "L1L2")
        k = w.dtype.type
        g = np.zeros_like(w)
        if self.l1:
            g += k(self.l1) * np.sign(w)
        if self.l2:
            g += k(2 * self.l2) * w
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|w|)``, ``l1 = 0.01`` by default."""

    def __init__(self, l1=0.01):
        super().__init__(l1=_factor(l1, "l1", "L1", 0.01))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(w**2)``, ``l2 = 0.01`` by default."""

    def __init__(self, l2=0.01):
        super().__init__(l2=_factor(l2, "l2", "L2", 0.01))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """``factor`` times the mean |cosine| between distinct rows (``mode="rows"``) or columns
    of a 2-D weight (Keras' formula: ``factor * sum(|offdiag(N N^T)|) / (size * (size - 1))``
    for the L2-normalised rows N)."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor", "OrthogonalRegularizer", 0.01)
        if mode not in ("rows", "columns"):
            raise HaibalValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}")
        self.mode = mode

    def _parts(self, x):
        w = _weights(x, "OrthogonalRegularizer")
        if w.ndim != 2:
            raise HaibalValueError(f"OrthogonalRegularizer: the weight must be 2-D, got shape {w.shape}")
        m = w if self.mode == "rows" else w.T
        inv_norm = np.minimum(1.0 / np.sqrt((m * m).sum(axis=1, keepdims=True)), 1.0 / EPSILON) \
            if m.size else np.ones((m.shape[0], 1), w.dtype)
        n = m * inv_norm.astype(w.dtype)
        p = n @ n.T
        np.fill_diagonal(p, 0)
        size = m.shape[0]
        return w, m, inv_norm.astype(w.dtype), n, p, size

    def __call__(self, x):
        with np.errstate(divide="ignore"):
            w, _, _, _, p, size = self._parts(x)
        if size < 2:
            return w.dtype.type(np.nan)  # Keras divides by zero pairs too
        return w.dtype.type(self.factor * np.abs(p).sum() / (size * (size - 1.0)))

    def gradient(self, x):
        with np.errstate(divide="ignore"):
            w, m, inv_norm, n, p, size = self._parts(x)
        if size < 2:
            return np.full_like(w, np.nan)
        c = w.dtype.type(self.factor / (size * (size - 1.0)))
        dn = 2 * c * (np.sign(p) @ n)  # sign(p) is symmetric with a zero diagonal
        clipped = inv_norm >= w.dtype.type(1.0 / EPSILON)
        dm = inv_norm * (dn - np.where(clipped, 0, n * (dn * n).sum(axis=1, keepdims=True)))
        return np.ascontiguousarray(dm if self.mode == "rows" else dm.T)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

_BY_NAME: dict[str, type] = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer,
}


class _FunctionRegularizer(Regularizer):
    """A plain function used as a regularizer: its penalty works, its gradient is unknown."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

    def gradient(self, x):
        raise HaibalValueError(
            f"the regularizer {getattr(self.fn, '__name__', self.fn)!r} is a plain function: training "
            f"needs its gradient; subclass haibal_py.regularizers.Regularizer and define gradient(w)")


REGISTRY = Registry("regularizer", _BY_NAME, keras_module="keras.regularizers",
                    own_module="haibal_py.regularizers", short_form=True)


def serialize(regularizer) -> dict:
    """``{"class_name": ..., "config": {...}}`` for a ``Regularizer``."""
    if not isinstance(regularizer, Regularizer) or isinstance(regularizer, _FunctionRegularizer):
        raise HaibalValueError(f"cannot serialize {regularizer!r}: not a Regularizer class instance")
    return REGISTRY.serialize(regularizer)


def deserialize(config, custom_objects=None) -> Regularizer:
    """The regularizer a ``serialize`` dict (or a name, as ``get``) describes; ``custom_objects``
    maps extra class names to classes, as in Keras."""
    return REGISTRY.with_objects(custom_objects).deserialize(config)


def get(identifier):
    """A regularizer from a name (``"l1"``, ``"L2"``, ``"l1_l2"`` ...), a config dict, an
    instance, a class or a function (penalty only); ``None`` gives ``None``."""
    if isinstance(identifier, Regularizer):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, Regularizer):
        return identifier()
    if callable(identifier) and not inspect.isclass(identifier):
        return _FunctionRegularizer(identifier)
    if inspect.isclass(identifier):
        raise HaibalValueError(f"cannot interpret {identifier!r} as a regularizer")
    return REGISTRY.get(identifier)
