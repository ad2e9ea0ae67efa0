"""Array and Math nodes generated from declarations (used by ``array.py`` and ``math.py``).

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

from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from haibal_py.numeric import arrays
from haibal_py.errors import HaibalError, HaibalValueError, ParameterError
from haibal_py.node import AUTOMATIC, HelpText, Instance, Node, Param, Port, Selection
from haibal_py.registry import register
from haibal_py.types import Batches, PortType

TypeRule = Callable[[Mapping[str, PortType], "Mapping[str, Any] | None"], PortType]
RESULT = "result"
_KIND_OF_DTYPE = {"f": "float", "i": "int", "u": "int", "b": "bool"}


@dataclass(frozen=True)
class Variant:
    """One polymorphic instance: accepted input types and a type rule (or type) per output."""

    name: str
    inputs: Mapping[str, PortType]
    outputs: Mapping[str, TypeRule | PortType]
    doc: str = ""
    fn: Callable | None = None  # this instance's own compute function (default: the node's)


def _apply(rule, params, wired) -> PortType:
    return rule(wired, params) if callable(rule) else rule


class ParamTypedNode(Node):
    """A node whose output types follow its parameters as well as what is wired.

    ``validators[name](value)`` checks a text parameter when it is set (raising
    ``ValueError`` with the reason), so a bad reshape shape or index is refused at once.
    """

    rules: ClassVar[Mapping[str, Mapping[str, TypeRule | PortType]]] = {}
    validators: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def set_param(self, name: str, value) -> None:
        check = self.validators.get(name)
        if check is not None:  # checked before it is stored: a refused value leaves the old one
            coerced = self.param(name).coerce(value, self.label)
            try:
                if coerced is not None:
                    check(coerced)
            except ValueError as exc:
                raise ParameterError(f"{self.label}: parameter {name!r}: {exc}") from None
        super().set_param(name, value)

    def select(self, wired: Mapping[str, PortType]) -> Selection:
        sel = self._prefer_batches(wired, super().select(wired))
        rules = self.rules.get(sel.instance.name)
        if not rules:
            return sel
        params = dict(self.values)
        outputs = {k: partial(_apply, rule, params) for k, rule in rules.items()}
        return Selection(replace(sel.instance, outputs=outputs), sel.coerced)

    def _prefer_batches(self, wired: Mapping[str, PortType], sel: Selection) -> Selection:
        """A sequence of batches goes to a batch instance, even where an ``any`` port would take it
        (``any`` accepts everything, sequences included); the fewest coercions win, as usual."""
        seq = [p for p, t in wired.items() if t.sequence]
        if not seq or self.instance != AUTOMATIC or all(sel.instance.inputs.get(p, PortType()).sequence for p in seq):
            return sel
        best = None
        for inst in self.instances:
            if not all(p in inst.inputs and inst.inputs[p].sequence for p in seq):
                continue
            checks = {p: t.check(inst.inputs[p]) for p, t in wired.items() if p in inst.inputs}
            if len(checks) < len(wired) or not all(checks.values()):
                continue
            coerced = tuple(p for p, c in checks.items() if c.coerced)
            if best is None or len(coerced) < len(best.coerced):
                best = Selection(inst, coerced)
        return best or sel


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
    variants: Sequence[Variant],
    description: str,
    use_cases: Sequence[str] = (),
    params: Sequence[Param] = (),
    validators: Mapping[str, Callable] | None = None,
    display_name: str | None = None,
    batch: Sequence[str] = (),
    do_register: bool = True,
) -> type[Node]:
    """A registered node class ``haibal.<category>.<name>`` computing ``fn(node, **inputs)``.

    ``fn`` returns the value of the first output (or a dict of all outputs). ``batch`` names
    the ports that may carry a sequence of batches: each array variant then gets a batch
    twin (see ``batch_variant``) applying the node to every batch.
    """
    if batch:
        variants = tuple(variants) + tuple(batch_variant(v, batch, fn) for v in variants
                                           if not v.name.endswith("scalar"))
    instances = tuple(
        Instance(v.name, dict(v.inputs), {k: partial(_apply, r, None) for k, r in v.outputs.items()},
                 _compute(v.fn or fn, outputs[0].name), v.doc)
        for v in variants)
    attrs = dict(
        type_id=f"haibal.{category.lower()}.{name}",
        category=category,
        display_name=display_name or name,
        help=HelpText(description, tuple(use_cases)),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params=tuple(params),
        instances=instances,
        rules={v.name: dict(v.outputs) for v in variants},
        validators=dict(validators or {}),
        __module__=f"haibal_py.nodes.{category.lower()}",
        __doc__=description,
    )
    cls = type(f"{name}Node", (ParamTypedNode,), attrs)
    return register(cls) if do_register else cls


# -- batch instances ------------------------------------------------------------------------


def _as_sequence(rule) -> TypeRule:
    """A type rule over batches: the per-batch rule, applied to the batches' type, as a sequence."""
    def seq_rule(wired, params) -> PortType:
        plain = {k: replace(t, sequence=False) for k, t in wired.items()}
        return replace(_apply(rule, params, plain), sequence=True)
    return seq_rule


def batch_variant(v: Variant, ports: Sequence[str], fn: Callable) -> Variant:
    """``v``'s twin over sequences of batches on ``ports`` (a plain value there is used for every
    batch): the node is applied batch after batch and gives a sequence of batches, so a stream
    from a Random Source or a file feeds a loss's or metric's batch instance."""
    each = v.fn or fn
    mapped = tuple(p for p in ports if p in v.inputs)

    def compute(node, **values):
        counts = {p: len(values[p]) for p in mapped if isinstance(values[p], Batches)}
        if len(set(counts.values())) > 1:
            raise HaibalValueError("inputs hold different numbers of batches: "
                                   + ", ".join(f"{p!r} {n}" for p, n in counts.items()))
        total = next(iter(counts.values()), 1)
        out = []
        for i in range(total):
            args = {k: (val[i] if k in counts else val) for k, val in values.items()}
            try:
                out.append(each(node, **args))
            except HaibalError as exc:
                raise type(exc)(f"batch {i}: {exc}") from exc
            except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
                raise HaibalValueError(f"batch {i}: {exc}") from exc
            if node.progress is not None:
                node.progress(i + 1, total)
        return Batches(out)

    inputs = {k: (replace(t, sequence=True) if k in mapped else t) for k, t in v.inputs.items()}
    name = "batch" if v.name == "array" else (v.name[:-len(" array")] if v.name.endswith(" array") else v.name) + " batch"
    return Variant(name, inputs, {k: _as_sequence(r) for k, r in v.outputs.items()},
                   "a sequence of batches -> the node applied to each batch", compute)


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


def kind_of(dtype) -> str:
    return _KIND_OF_DTYPE.get(np.dtype(dtype).kind, "any")
