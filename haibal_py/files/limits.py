"""Resource limits: how much a graph from a file may make the machine do, and how to raise it.

ONE ``Limits`` value travels with a run (``Runtime(graph, limits=...)``, ``haibal run --limit
NAME=VALUE``) and with a load or a validation (``Graph.load(path, limits=...)``,
``graph.validate(limits=...)``). Every size check in haibal-py reads it:

- ``max_value_bytes``: the largest value one node may make from its parameters (a Random
  Source, a Constant, a One Hot) or read from one array file (a ``.npy``, one array of a
  ``.npz``, a CSV, a graph's own ``.npz``): checked from the declared shape BEFORE allocating;
- ``max_npz_bytes``: what one ``.npz`` file may decompress in total (the graph's sibling
  ``.npz``, a Read File's): the zip bomb cap;
- ``max_expanded_nodes`` / ``max_nesting``: a graph with every composite node (collapsed
  subgraph, snippet node) expanded, counted without expanding it, and how deep they nest;
- ``max_loop_iterations``: the iterations one loop structure may run (While Loops from
  untrusted files; read through ``RunContext.limits`` by loop nodes).

The defaults let every ordinary graph run and stop a hostile one in seconds; raise one on
purpose when a real graph needs more. Limits never change a result: a graph runs the
same or is refused with ``LimitError`` (a ``HaibalValueError``) naming the limit, the
value asked for, and how to raise it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from typing import Mapping

from ..errors import HaibalValueError

__all__ = ["DEFAULT_LIMITS", "LimitError", "Limits", "array_bytes", "parse_amount"]

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


class LimitError(HaibalValueError):
    """A graph or a file asks for more than a limit allows (raise it with ``--limit NAME=VALUE``)."""


@dataclass(frozen=True)
class Limits:
    """The resource limits of loading, validating and running graphs (see the module docstring)."""

    max_value_bytes: int = 1 * GiB
    max_npz_bytes: int = 2 * GiB
    max_expanded_nodes: int = 1_000_000
    max_nesting: int = 32
    max_loop_iterations: int = 10_000_000

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LimitError(f"limit {f.name} must be a positive integer, got {value!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def raised(self, **changes: int) -> "Limits":
        """A copy with some limits set (``limits.raised(max_value_bytes=8 << 30)``)."""
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise LimitError(f"no limit named {unknown[0]!r} (limits: {', '.join(self.names())})")
        return replace(self, **changes)

    def with_text(self, items: Mapping[str, str] | list[str]) -> "Limits":
        """A copy with limits from ``NAME=VALUE`` texts (the command line's ``--limit``);
        VALUE is an integer with an optional unit: ``8GiB``, ``512MiB``, ``2e6``, ``1M``."""
        pairs = items.items() if isinstance(items, Mapping) else [_split(t) for t in items]
        return self.raised(**{name.strip().replace("-", "_"): parse_amount(value, name) for name, value in pairs})

    def check(self, name: str, asked: int | float, what: str) -> None:
        """LimitError unless ``asked`` is within the limit ``name``; ``what`` says who asks."""
        limit = getattr(self, name)
        if asked > limit:
            raise LimitError(f"{what} needs {_amount(name, asked)}, more than the limit {name} = "
                             f"{_amount(name, limit)}; raise it on purpose if this graph is trusted "
                             f"(haibal run --limit {name}=VALUE, or Limits(...).raised({name}=...))")

    def check_value(self, shape, itemsize: int, what: str, count: int = 1) -> int:
        """The bytes of ``count`` arrays of ``shape`` and ``itemsize``, checked against
        ``max_value_bytes`` without making them (LimitError otherwise)."""
        nbytes = array_bytes(shape, itemsize) * count
        self.check("max_value_bytes", nbytes, what)
        return nbytes


DEFAULT_LIMITS = Limits()

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": KiB, "m": 10**6, "mb": 10**6, "mib": MiB,
          "g": 10**9, "gb": 10**9, "gib": GiB, "t": 10**12, "tb": 10**12, "tib": 1 << 40}
_AMOUNT = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+]?[0-9]+)?)\s*([A-Za-z]*)\s*")


def parse_amount(text: str, name: str = "limit") -> int:
    """``"8GiB"`` -> 8589934592, ``"2e6"`` -> 2000000, ``"512"`` -> 512 (LimitError otherwise)."""
    m = _AMOUNT.fullmatch(str(text))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise LimitError(f"limit {name}: {str(text)[:40]!r} is not an amount (an integer, optionally "
                         f"with a unit: 512MiB, 8GiB, 2e6)")
    value = float(m.group(1)) * _UNITS[unit]
    if not math.isfinite(value) or value < 1 or value > 2**62:
        raise LimitError(f"limit {name}: {str(text)[:40]!r} is out of range (1 to 2**62)")
    return int(value)


def _split(text: str) -> tuple[str, str]:
    name, sep, value = str(text).partition("=")
    if not sep or not name.strip():
        raise LimitError(f"--limit {str(text)[:60]!r} must look like NAME=VALUE (names: {', '.join(Limits.names())})")
    return name, value


def array_bytes(shape, itemsize: int) -> int:
    """The bytes an array of ``shape`` would take (exact Python integers: no overflow)."""
    return math.prod(int(d) for d in shape) * int(itemsize)


def _amount(name: str, value: int | float) -> str:
    if not name.endswith("_bytes"):
        return f"{int(value):,}"
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if value >= size:
            return f"{value / size:,.1f} {unit}"
    return f"{int(value)} bytes"
