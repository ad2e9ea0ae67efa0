"""What an ONNX tensor is while a model is imported, and the layout algebra of views.

An importer value is one of:

- ``Const``: known at import time (an initializer, a ``Constant`` node, or a computation on
  them, folded with ONNX's reference evaluator);
- ``ShapeVec``: an integer vector read from a shape (``Shape`` of a computed tensor) that
  may hold unknown sizes (``Sym``, the batch size usually), with the few operators that
  move such vectors (Gather, Slice, Concat, Unsqueeze ...) applied symbolically;
- ``Fill``: ``ConstantOfShape`` of such a vector (zeros of the batch's size: the initial
  state of a recurrent layer, as PyTorch exports it);
- ``Tensor``: computed by the model at run time.

A ``Tensor`` is a *view* of a physical tensor (a layer's output, ``sym``): ``axes[i]`` is
the physical axis holding ONNX axis ``i``, or None for an inserted axis of size 1;
physical axes of size 1 may be left out (squeezed). Transpose, Squeeze and Unsqueeze
change only the view, so a PyTorch NCHW graph runs on channels-last layers with one
transpose at the input, and transposes around each ONNX ``Conv`` cancel out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Union

import numpy as np

__all__ = ["Sym", "Dim", "Const", "ShapeVec", "Fill", "Tensor", "identity_axes", "same_dim",
           "memory_order_kept", "view_plan"]

_COUNTER = itertools.count(1)


class Sym:
    """An unknown size; two sizes are known equal only when they are the same ``Sym``."""

    __slots__ = ("name",)

    def __init__(self, name: str | None = None):
        self.name = name or f"unk{next(_COUNTER)}"

    def __repr__(self) -> str:
        return self.name


Dim = Union[int, Sym]


def same_dim(a: Dim, b: Dim) -> bool:
    """True when sizes ``a`` and ``b`` are known to be equal."""
    if isinstance(a, Sym) or isinstance(b, Sym):
        return a is b
    return int(a) == int(b)


@dataclass
class Const:
    """A value known at import time; ``trainable``: an initializer (a parameter of the
    exported model) rather than a ``Constant`` node."""

    value: np.ndarray
    trainable: bool = False


@dataclass
class ShapeVec:
    """An int64 vector (or scalar) of sizes, some unknown."""

    dims: tuple
    scalar: bool = False

    @property
    def known(self) -> bool:
        return not any(isinstance(d, Sym) for d in self.dims)

    def as_array(self) -> np.ndarray:
        arr = np.asarray([int(d) for d in self.dims], dtype=np.int64)
        return arr.reshape(()) if self.scalar else arr


@dataclass
class Fill:
    """``ConstantOfShape`` of a shape holding unknown sizes."""

    dims: tuple
    value: float


@dataclass
class Tensor:
    """A run-time tensor: a view of the physical tensor ``sym`` (see the module docstring).

    ``phys_dims`` are the physical sizes (ints, or ``Sym`` for unknown ones); ``integer``
    marks integer data (indices fed to the model)."""

    sym: object
    axes: tuple
    phys_dims: tuple
    integer: bool = False

    @property
    def rank(self) -> int:
        return len(self.axes)

    @property
    def dims(self) -> tuple:
        """The sizes of the ONNX tensor."""
        return tuple(1 if a is None else self.phys_dims[a] for a in self.axes)

    @property
    def is_identity(self) -> bool:
        return self.axes == identity_axes(len(self.phys_dims))

    def with_axes(self, axes) -> "Tensor":
        return Tensor(self.sym, tuple(axes), self.phys_dims, self.integer)


def identity_axes(rank: int) -> tuple:
    return tuple(range(rank))


def memory_order_kept(t: Tensor) -> bool:
    """True when the ONNX tensor's elements are in the physical tensor's memory order
    (its non-unit axes appear in increasing physical order), so reshaping the physical
    tensor reshapes the ONNX one."""
    order = [a for a in t.axes if a is not None and not (isinstance(t.phys_dims[a], int) and t.phys_dims[a] == 1)]
    return order == sorted(order)


@dataclass
class ViewPlan:
    """How to make a physical tensor holding a view's target layout: a transpose of the
    physical axes (None: none needed), then a reshape to ``dims`` (None: none needed)."""

    perm: tuple | None
    dims_after_perm: tuple
    dims: tuple | None


def view_plan(t: Tensor, wanted: tuple | None = None) -> ViewPlan:
    """The plan making a physical tensor ``p`` with ``t == view(p, wanted)`` (``wanted`` a
    permutation of the ONNX axes: ``wanted[i]`` is the physical axis of ONNX axis i; the
    identity by default, i.e. ``p`` is the ONNX tensor itself)."""
    rank = t.rank
    wanted = identity_axes(rank) if wanted is None else tuple(wanted)
    # target physical axis j holds ONNX axis order[j]
    order = [0] * rank
    for i, j in enumerate(wanted):
        order[j] = i
    target_dims = tuple(t.dims[i] for i in order)
    sources = [t.axes[i] for i in order]
    mapped = [s for s in sources if s is not None]
    dropped = [p for p in range(len(t.phys_dims)) if p not in mapped]
    perm = tuple(mapped + dropped)
    moved_dims = tuple(t.phys_dims[p] for p in perm)
    if perm == identity_axes(len(perm)):
        perm_needed = None
    else:
        # a transpose that keeps the order of the axes larger than 1 is a reshape
        big = [p for p in perm if not (isinstance(t.phys_dims[p], int) and t.phys_dims[p] == 1)]
        perm_needed = None if big == sorted(big) else perm
    after = moved_dims if perm_needed is not None else tuple(t.phys_dims)
    reshape = None
    if len(after) != len(target_dims) or not all(same_dim(a, b) for a, b in zip(after, target_dims)):
        reshape = target_dims
    return ViewPlan(perm_needed, after, reshape)
