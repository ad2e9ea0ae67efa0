"""Array and Math nodes: the declaration helpers `array.py` and `math.py` share (instances, type rules, checks).

A declaration gives the ports, the parameters, the polymorphic variants (input types and
output *type rules*) and one compute function ``fn(node, **inputs)``. A type rule is
``rule(wired, params) -> PortType``: it sees the wired input types and the node's
parameters, so the graph's static type check follows a parameter such as reshape's shape
or argmax's keepdims. At class level (docs, uncertain wiring) ``params`` is ``None`` and a
rule answers conservatively.

Compute functions raise ``HaibalValueError`` naming the port and value at fault;
``Node.run`` and the runtime add the node's name. NumPy's divide-by-zero and invalid
warnings are silenced: the results are NumPy's (inf, nan), without warning spam.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from haibal_py.errors import HaibalError, HaibalValueError
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import RESULT, batch_twin, declare_node
from haibal_py.node.types import PortType, kind_of_dtype
from haibal_py.numeric import arrays

TypeRule = Callable[[Mapping[str, PortType], "Mapping[str, Any] | None"], PortType]


def variant(name: str, inputs: Mapping[str, PortType], outputs: Mapping[str, TypeRule | PortType], doc: str = "",
            fn: Callable | None = None) -> Instance:
    """An instance of an array/math node: accepted input types, a type rule (or type) per
    output, and its own compute function ``fn(node, **inputs)`` (default: the node's)."""
    return Instance(name, dict(inputs), dict(outputs), fn, doc)


def _compute(fn: Callable, first_output: str) -> Callable:
    def compute(node: Node, values: dict) -> dict:
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out = fn(node, **values)
        except HaibalError:
            raise
        except (ValueError, TypeError, IndexError, ArithmeticError) as exc:  # NumPy's reason, typed
            raise HaibalValueError(str(exc)) from exc
        return out if isinstance(out, dict) else {first_output: out}
    return compute


def array_node(
    *,
    name: str,
    category: str,
    fn: Callable,
    inputs: Sequence[Port],
    outputs: Sequence[Port],
    variants: Sequence[Instance],
    description: str,
    use_cases: Sequence[str] = (),
    params: Sequence[Param] = (),
    validators: Mapping[str, Callable] | None = None,
    display_name: str | None = None,
    batch: Sequence[str] = (),
) -> type[Node]:
    """A registered node class ``haibal.<category>.<name>`` computing ``fn(node, **inputs)``.

    ``fn`` returns the value of the first output (or a dict of all outputs). ``validators``
    check text parameters when they are set (``Param.check``). ``batch`` names the ports
    that may carry a sequence of batches: each array instance then gets its batch twin
    (``batch_twin``) applying the node to every batch.
    """
    checks = dict(validators or {})
    params = tuple(replace(p, check=checks[p.name]) if p.name in checks else p for p in params)
    instances = [replace(v, compute=_compute(v.compute or fn, outputs[0].name)) for v in variants]
    if batch:
        instances += [batch_twin(v, batch) for v in instances if not v.name.endswith("scalar")]
    return declare_node(type_id=f"haibal.{category.lower()}.{name}", category=category,
                        display_name=display_name or name, description=description, use_cases=use_cases,
                        inputs=inputs, outputs=outputs, params=params, instances=instances,
                        class_name=f"{name}Node", module=f"haibal_py.nodes.{category.lower()}")


# -- type rules ------------------------------------------------------------------------------


def exact_rank(t: PortType | None) -> int | None:
    """The rank of ``t`` when it is known exactly, else None."""
    if t is None or t.sequence or t.max_rank is None or t.min_rank != t.max_rank:
        return None
    return t.min_rank


def join_kinds(*kinds: str) -> str:
    """The kind of NumPy's promotion of these kinds (bool < int < float; anything else: any)."""
    kinds = set(kinds)
    if not kinds or not kinds <= {"bool", "int", "float"}:
        return "any"
    return "float" if "float" in kinds else "int" if "int" in kinds else "bool"


def rank_range(kind: str, lo: int, hi: int | None) -> PortType:
    return PortType(kind, max(0, lo), None if hi is None else max(0, hi))


def same_as(port: str, kind: str | None = None) -> TypeRule:
    """The wired type of ``port`` (its kind replaced by ``kind`` when given)."""
    def rule(wired, params) -> PortType:
        t = wired.get(port)
        if t is None:
            return PortType(kind or "any")
        return PortType(kind or t.kind, t.min_rank, t.max_rank)
    return rule


def shifted(port: str, kind: str | None, shift: Callable[["Mapping | None"], tuple[int, int]]) -> TypeRule:
    """``port``'s rank plus a shift read from the parameters: ``shift(params) -> (lo, hi)``
    (``params`` None: every shift the parameters allow)."""
    def rule(wired, params) -> PortType:
        t = wired.get(port)
        lo_s, hi_s = shift(params)
        k = kind or (t.kind if t is not None else "any")
        if t is None:
            return PortType(k)
        hi = None if t.max_rank is None else t.max_rank + hi_s
        return rank_range(k, t.min_rank + lo_s, hi)
    return rule


def broadcast(ports: Sequence[str], kind: str | None = None) -> TypeRule:
    """The type of the broadcast of ``ports``: the largest rank; the promoted kind unless given."""
    def rule(wired, params) -> PortType:
        ts = [wired[p] for p in ports if p in wired]
        if not ts:
            return PortType(kind or "any")
        k = kind or join_kinds(*(t.kind for t in ts))
        hi = None if any(t.max_rank is None for t in ts) else max(t.max_rank for t in ts)
        return rank_range(k, max(t.min_rank for t in ts), hi)
    return rule


# -- checks used by compute functions ----------------------------------------------------------


def as_array(value, port: str) -> np.ndarray:
    """``value`` as a NumPy array; a ragged nested list is refused naming the port."""
    return arrays.as_array(value, f"input {port!r}")


def as_numeric(value, port: str) -> np.ndarray:
    """``value`` as an array of booleans, integers or floats, naming the port otherwise."""
    return arrays.as_numeric_array(value, f"input {port!r}")


def check_axis(axis: int, ndim: int, port: str, param: str = "axis") -> int:
    """``axis`` normalised to [0, ndim); an out-of-range axis names the parameter and the port."""
    if not -ndim <= axis < ndim:
        allowed = f"-{ndim}..{ndim - 1}" if ndim else "none: it is a scalar"
        raise HaibalValueError(f"parameter {param!r} = {axis} is out of bounds for input {port!r} "
                               f"of rank {ndim} (allowed: {allowed})")
    return axis % ndim


def shape_text(shape: tuple) -> str:
    return str(tuple(int(d) for d in shape))


kind_of = kind_of_dtype
