"""Sweeps: ``NODE.PARAM=V1,V2,...`` settings and their product.

Each sweep names a node (id or unique name) and one of its parameters, and lists values
separated by commas at the top level (``[0.3, 0.5],[0.2]`` is two values: commas inside
brackets, braces or quotes belong to a value). Values are read as JSON when they parse
(``true``, ``-1``, ``[1, 2]``), else taken as text, then checked by the parameter itself,
so a bad value is refused before anything runs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import HaibalError, HaibalValueError
from ..graph import Graph

__all__ = ["Sweep", "SweepError", "parse_sweeps", "settings_product", "split_values"]


class SweepError(HaibalValueError):
    """A ``--sweep`` cannot be used: malformed, an unknown node or parameter, a refused value."""


@dataclass(frozen=True)
class Sweep:
    """One swept parameter: its label as given (``scce1.from_logits``), the node id, the
    parameter, and the values (already checked by the parameter)."""

    label: str
    node_id: str
    param: str
    values: tuple


def split_values(text: str) -> list[str]:
    """``text`` split at the commas outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _read(raw: str, kind: str) -> Any:
    if kind in ("str", "enum"):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_sweeps(graph: Graph, items: Sequence[str] | Mapping[str, Sequence[Any]]) -> list[Sweep]:
    """``--sweep`` texts (``NODE.PARAM=V1,V2``), or a mapping ``{"NODE.PARAM": [V1, V2]}`` of
    Python values, -> ``Sweep`` s, each value checked by its parameter (SweepError otherwise)."""
    if isinstance(items, Mapping):
        pairs = [(str(label), list(values), f"{label}={list(values)!r}", False) for label, values in items.items()]
    else:
        pairs = []
        for item in items:
            if "=" not in item:
                raise SweepError(f"--sweep {item!r} must look like NODE.PARAM=VALUE1,VALUE2,...")
            left, right = item.split("=", 1)
            raws = split_values(right)
            if not right.strip() or any(not r for r in raws):
                raise SweepError(f"--sweep {item!r}: give the values separated by commas (an empty value was found)")
            pairs.append((left, raws, item, True))
    sweeps: list[Sweep] = []
    seen: set[tuple[str, str]] = set()
    for left, raws, item, texts in pairs:
        if "." not in left:
            raise SweepError(f"--sweep {item!r}: name the node and the parameter, as NODE.PARAM=V1,V2")
        if not raws:
            raise SweepError(f"--sweep {item!r}: no values")
        ref, pname = left.rsplit(".", 1)
        try:
            node_id = graph.resolve(ref)
        except HaibalError as exc:
            raise SweepError(f"--sweep {item!r}: {exc}") from None
        gn = graph.node(node_id)
        if gn.node is None:
            raise SweepError(f"--sweep {item!r}: node {node_id!r} has an unknown type {gn.type_id!r}")
        if (node_id, pname) in seen:
            raise SweepError(f"--sweep {item!r}: {left} is swept twice; list every value in one --sweep")
        seen.add((node_id, pname))
        try:
            param = gn.node.param(pname)
        except HaibalError as exc:
            raise SweepError(f"--sweep {item!r}: {exc}") from None
        values = []
        for raw in raws:
            try:
                values.append(param.coerce(_read(raw, param.kind) if texts else raw, gn.node.label))
            except HaibalError as exc:
                raise SweepError(f"--sweep {item!r}: {exc}") from None
        sweeps.append(Sweep(left, node_id, pname, tuple(values)))
    return sweeps


def settings_product(sweeps: Sequence[Sweep]) -> list[dict[str, Any]]:
    """Every combination of the swept values, the last sweep varying fastest: a list of
    {label: value} (one empty setting without sweeps)."""
    return [dict(zip((s.label for s in sweeps), combo)) for combo in itertools.product(*(s.values for s in sweeps))]
