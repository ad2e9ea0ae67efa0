"""Port type descriptors: what a port carries, checkable without running anything.

A ``PortType`` is a kind plus a range of ranks, and whether the port takes a sequence of
batches. The array kinds are ``float``, ``int``, ``bool`` and ``str`` (``int`` coerces into
``float``, LabVIEW's coercion dot); ``model`` is HAIBAL's model wire (a tensor of a model
being defined, or a built model; its rank is the tensor's, batch included); other kinds
(``optimizer``, ``history`` ...) name Python objects a node passes on, and connect only to
the same kind or to ``any``. Plug-ins add kinds of their own with ``register_kind``. Two ports can be
checked against each other (``check``) to draw a broken wire before a graph runs, and a
run-time value can be described (``of_value``) to pick a polymorphic instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: the kinds a port may have (the editor colours them); ``register_kind`` adds more
KINDS = ["float", "int", "bool", "str", "any", "model", "optimizer", "history", "object"]
_NUMERIC = ("float", "int")
_KIND_RE = re.compile(r"[a-z][a-z0-9_]*")


def register_kind(name: str) -> str:
    """Add a port kind (a lower-case word) for values of a plug-in's own classes."""
    if not isinstance(name, str) or not _KIND_RE.fullmatch(name):
        raise ValueError(f"a port kind is a lower-case word, got {name!r}")
    if name not in KINDS:
        KINDS.append(name)
    return name
#: NumPy dtype kind letter -> port kind
DTYPE_KINDS = {"f": "float", "i": "int", "u": "int", "b": "bool", "U": "str"}


def kind_of_dtype(dtype) -> str:
    """The port kind of a NumPy dtype (``any`` for object and other dtypes)."""
    return DTYPE_KINDS.get(np.dtype(dtype).kind, "any")


class Batches(tuple):
    """A sequence of batches (arrays) fed to a ``batch`` instance one after the other."""

    def __repr__(self) -> str:
        return f"Batches({len(self)} batches)"


@dataclass(frozen=True)
class Compat:
    """The outcome of wiring one port type into another."""

    ok: bool
    coerced: bool = False  # LabVIEW's coercion dot: the value is converted implicitly
    reason: str = ""
    #: the conversion can fail at run time (float -> int holds only for integral values):
    #: the editor draws such a wire as a warning, with ``reason``
    lossy: bool = False

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class PortType:
    """kind + rank range (``max_rank=None``: unbounded) + sequence-of-batches flag, and for a
    tensor whose dimensions are known statically (a model wire), its ``shape`` (None: unknown
    size, e.g. the batch): ``model(None, 28, 28, 1)``."""

    kind: str = "any"
    min_rank: int = 0
    max_rank: int | None = None
    sequence: bool = False
    shape: tuple | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown port kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.shape is not None:
            shape = tuple(None if d is None else int(d) for d in self.shape)
            if self.min_rank != len(shape) or self.max_rank != len(shape):
                raise ValueError(f"a port type's shape {shape} must match its rank "
                                 f"({self.min_rank}..{self.max_rank})")
            object.__setattr__(self, "shape", shape)

    @classmethod
    def with_shape(cls, kind: str, shape, sequence: bool = False) -> "PortType":
        """A type of known dimensions: ``PortType.with_shape("model", (None, 784))``."""
        shape = tuple(shape)
        return cls(kind, len(shape), len(shape), sequence, shape)

    @classmethod
    def of(cls, kind: str, rank=None, sequence: bool = False) -> "PortType":
        """``rank`` is an int, ``(lo, hi)`` (``hi`` may be None) or None for any rank."""
        if rank is None:
            return cls(kind, 0, None, sequence)
        if isinstance(rank, tuple):
            return cls(kind, rank[0], rank[1], sequence)
        return cls(kind, rank, rank, sequence)

    # -- text form, used in files, docs and messages: float[2], int[1+], float[2..6], seq<float[1+]>, any
    def __str__(self) -> str:
        if self.shape is not None:
            dims = ", ".join("None" if d is None else str(d) for d in self.shape)
            core = f"{self.kind}({dims}{',' if len(self.shape) == 1 else ''})"
        elif self.min_rank == 0 and self.max_rank is None:
            core = self.kind
        elif self.max_rank is None:
            core = f"{self.kind}[{self.min_rank}+]"
        elif self.min_rank == self.max_rank:
            core = f"{self.kind}[{self.min_rank}]"
        else:
            core = f"{self.kind}[{self.min_rank}..{self.max_rank}]"
        return f"seq<{core}>" if self.sequence else core

    @classmethod
    def parse(cls, text: str) -> "PortType":
        shaped = re.fullmatch(r"\s*(seq<)?(\w+)\(([^()]*)\)(>)?\s*", text)
        if shaped and bool(shaped.group(1)) == bool(shaped.group(4)):
            dims = [d.strip() for d in shaped.group(3).split(",") if d.strip()]
            try:
                shape = tuple(None if d == "None" else int(d) for d in dims)
            except ValueError:
                raise ValueError(f"not a port type: {text!r}") from None
            return cls.with_shape(shaped.group(2), shape, bool(shaped.group(1)))
        m = re.fullmatch(r"\s*(seq<)?(\w+)(?:\[(\d+)(\+|\.\.(\d+))?\])?(>)?\s*", text)
        if not m or bool(m.group(1)) != bool(m.group(6)):
            raise ValueError(f"not a port type: {text!r}")
        kind, lo, tail, hi = m.group(2), m.group(3), m.group(4), m.group(5)
        if lo is None:
            return cls(kind, 0, None, bool(m.group(1)))
        lo = int(lo)
        hi = None if tail == "+" else int(hi) if hi is not None else lo
        return cls(kind, lo, hi, bool(m.group(1)))

    @property
    def is_any(self) -> bool:
        return self.kind == "any" and self.min_rank == 0 and self.max_rank is None

    @classmethod
    def join(cls, types: "list[PortType]") -> "PortType":
        """The narrowest type covering all of ``types`` (a tunnel's or a merge's type): their
        kind if they share one, else any; the union of their ranks; a sequence if all are."""
        kinds = {t.kind for t in types}
        kind = kinds.pop() if len(kinds) == 1 else "any"
        lo = min(t.min_rank for t in types)
        hi = None if any(t.max_rank is None for t in types) else max(t.max_rank for t in types)
        return cls(kind, lo, hi, all(t.sequence for t in types))

    def ranks_overlap(self, other: "PortType") -> bool:
        hi_a = self.max_rank if self.max_rank is not None else 1 << 30
        hi_b = other.max_rank if other.max_rank is not None else 1 << 30
        return max(self.min_rank, other.min_rank) <= min(hi_a, hi_b)

    def check(self, dst: "PortType") -> Compat:
        """Can a value of this (source) type flow into a port of type ``dst``?"""
        if dst.is_any or self.is_any:
            return Compat(True)
        if self.sequence and not dst.sequence:
            return Compat(False, reason=f"a sequence of batches ({self}) cannot feed {dst}")
        coerced = lossy = False
        if "any" not in (self.kind, dst.kind) and self.kind != dst.kind:
            if self.kind in _NUMERIC and dst.kind in _NUMERIC:
                coerced, lossy = True, dst.kind == "int"
            else:
                return Compat(False, reason=f"{self.kind} cannot be wired to {dst.kind} ({self} -> {dst})")
        if not self.ranks_overlap(dst):
            return Compat(False, reason=f"rank mismatch: {self} cannot be wired to {dst}")
        if self.shape is not None and dst.shape is not None and any(
                a is not None and b is not None and a != b for a, b in zip(self.shape, dst.shape)):
            return Compat(False, reason=f"shape mismatch: {self} cannot be wired to {dst}")
        if lossy:
            return Compat(True, coerced=True, lossy=True,
                          reason=f"{self} -> {dst}: only integral values convert; others fail when the graph runs")
        return Compat(True, coerced=coerced)

    @classmethod
    def of_value(cls, value) -> "PortType":
        """The type of a run-time value (a ``Batches`` is a sequence of its first item's type)."""
        if isinstance(value, Batches):
            if not value:
                return cls("any", 0, None, True)
            first = cls.of_value(value[0])
            return cls(first.kind, first.min_rank, first.max_rank, True)
        if isinstance(value, str):
            return cls("str", 0, 0)
        if value is None:
            return cls("any")
        for klass in type(value).__mro__:
            rule = _VALUE_TYPES.get(klass)
            if rule is not None:
                return rule(value)
        try:
            arr = value if isinstance(value, (np.ndarray, np.generic)) else np.asarray(value)
        except (ValueError, TypeError):
            return cls("any")
        return cls(DTYPE_KINDS.get(arr.dtype.kind, "any"), arr.ndim, arr.ndim)


ANY = PortType()

_VALUE_TYPES: dict[type, "Callable[[object], PortType]"] = {}


def value_type(cls: type):
    """Declare the port type of run-time values of class ``cls`` (objects that are not arrays)::

        @value_type(Model)
        def _(model): return PortType("model")
    """
    def register(rule):
        _VALUE_TYPES[cls] = rule
        return rule
    return register
