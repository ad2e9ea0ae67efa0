"""Port type descriptors: what a port carries, checkable without running anything.

A ``PortType`` is a dtype kind (``float``, ``int``, ``bool``, ``str`` or ``any``) plus a
range of ranks, and whether the port takes a sequence of batches. Two ports can be
checked against each other (``check``) to draw a broken wire before a graph runs, and a
run-time value can be described (``of_value``) to pick a polymorphic instance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

KINDS = ("float", "int", "bool", "str", "any")
_NUMERIC = ("float", "int")


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

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class PortType:
    """dtype kind + rank range (``max_rank=None``: unbounded) + sequence-of-batches flag."""

    kind: str = "any"
    min_rank: int = 0
    max_rank: int | None = None
    sequence: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown port kind {self.kind!r}; expected one of {KINDS}")

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
        if self.min_rank == 0 and self.max_rank is None:
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
        coerced = False
        if "any" not in (self.kind, dst.kind) and self.kind != dst.kind:
            if self.kind in _NUMERIC and dst.kind in _NUMERIC:
                coerced = True
            else:
                return Compat(False, reason=f"{self.kind} cannot be wired to {dst.kind} ({self} -> {dst})")
        if not self.ranks_overlap(dst):
            return Compat(False, reason=f"rank mismatch: {self} cannot be wired to {dst}")
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
        try:
            arr = value if isinstance(value, (np.ndarray, np.generic)) else np.asarray(value)
        except (ValueError, TypeError):
            return cls("any")
        kind = {"f": "float", "i": "int", "u": "int", "b": "bool", "U": "str"}.get(arr.dtype.kind, "any")
        return cls(kind, arr.ndim, arr.ndim)


ANY = PortType()
