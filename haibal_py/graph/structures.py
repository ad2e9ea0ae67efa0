"""LabVIEW's structures as graph nodes: For Loop, While Loop, Case Structure.

A structure is a composite node that owns its diagrams (graphs of its own, nested in the
graph that holds it): a loop one, a Case Structure one per case. Values cross its border
through **terminals**, each one of the structure's ports outside and, inside each diagram,
a ``GraphInput`` / ``GraphOutput`` node of the same name:

- an input **tunnel** brings a value in (with **indexing**, one element per iteration: a
  ``float[2]`` outside is a ``float[1]`` inside); an output tunnel takes one out (with
  indexing, the values of every iteration stacked into an array: one dimension more;
  without, the last iteration's value);
- a **shift register** (loops) carries a value from one iteration to the next: its input
  port initialises it, inside it is read (``GraphInput``) and fed (``GraphOutput``), and
  its output port gives the last value. It keeps one type;
- fixed terminals: ``i`` inside a loop (the iteration, from 0); ``N`` on a For Loop (the
  count; unwired, the length of the shortest indexing input); the **conditional terminal**
  inside a loop, a ``GraphOutput`` named ``stop`` (stop if true) or ``continue`` (continue if
  true): a While Loop needs one, a For Loop may have one to end early; ``selector`` on a
  Case Structure, whose value picks the case (a boolean, an integer or a string; the
  **default** case takes the values no case lists).

Node ids are unique in the whole graph (a diagram's nodes included), so a problem, a
probe or a ``--set`` can name an inner node by its id.

Types flow through the border statically (``analyse``): each diagram is type-checked with
the types its tunnels bring in, the types leaving it give the structure's output types, and
every problem (an indexed scalar, a shift register changing type, a case not giving an
output tunnel, a selector of the wrong kind ...) is found by ``Graph.validate`` before
anything runs. Running (``execute``) asks the run context for one runner per diagram (the
runtime's sub-runtime, cached between runs: loop-invariant nodes compute once), iterates in
order, reports each iteration to the observers (``emit("iteration", {"step": i, ...})``),
stops between iterations when asked, and bounds every loop by the ``max_loop_iterations``
limit (a While Loop from an untrusted file cannot run forever).

Editing goes through ``Structure`` (``graph.structure(node_id)``): terminals, cases and
the conditional terminal, each change logged on the graph; ``enclose`` puts nodes inside a
new structure and ``connect_across`` wires nodes of different diagrams through tunnels.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np

from ..errors import HaibalError, HaibalValueError
from ..files.graph_format import NODE_ID_RE
from ..files.limits import LimitError
from ..node.base import AUTOMATIC, HelpText, Instance, Port
from ..node.registry import register
from ..node.types import ANY, Batches, PortType
from . import typecheck, validation
from .composite import CompositeNode, Template
from .parts import Problem, TerminalSpec
from .terminals import VALUE

__all__ = ["CASE_TYPE_ID", "CONDITIONS", "COUNT", "CaseStructure", "Diagram", "FOR_TYPE_ID", "ForLoop", "ITERATION",
           "Layout", "SELECTOR", "StructureError", "StructureNode", "Structure", "WHILE_TYPE_ID", "WhileLoop",
           "array_type", "case_label", "connect_across", "element_type", "enclose", "move_nodes"]

FOR_TYPE_ID = "haibal.structure.ForLoop"
WHILE_TYPE_ID = "haibal.structure.WhileLoop"
CASE_TYPE_ID = "haibal.structure.CaseStructure"
ITERATION = "i"  # the iteration terminal inside a loop
COUNT = "N"  # a For Loop's count terminal
SELECTOR = "selector"  # a Case Structure's selector terminal
CONDITIONS = ("stop", "continue")  # the conditional terminal inside a loop: stop if true / continue if true
_ARRAY_KINDS = ("float", "int", "bool", "str", "any")
INT0 = PortType("int", 0, 0)
BOOL0 = PortType("bool", 0, 0)


@dataclass(frozen=True)
class Layout:
    """What a structure holds besides its diagrams' nodes and wires: its terminals, its cases
    ((values, default) per diagram), its frame's size and its diagrams' editor data (JSON)."""

    terminals: tuple = ()
    cases: tuple = ()
    size: tuple | None = None
    editors: tuple = ()


class StructureError(HaibalValueError):
    """A structure cannot be edited so (a terminal name taken, a case value twice ...)."""


def case_label(values: Sequence, default: bool) -> str:
    """How LabVIEW labels a case: ``1, 2``, ``True``, ``"abc"``, ``0, Default``."""
    parts = [f'"{v}"' if isinstance(v, str) else str(v) for v in values]
    if default:
        parts.append("Default")
    return ", ".join(parts) or "(no value)"


class Diagram(Template):
    """One diagram of a structure: its ``graph``; in a Case Structure, the selector ``values``
    it handles and whether it is the ``default`` case."""

    def __init__(self, graph, values: Sequence = (), default: bool = False):
        super().__init__("", graph)
        self.values = tuple(values)
        self.default = bool(default)

    @property
    def label(self) -> str:
        return case_label(self.values, self.default)


@dataclass
class _Analysis:
    """The static view of a structure for some wired input types (``StructureNode.analyse``)."""

    outputs: dict[str, PortType] = field(default_factory=dict)
    own: list[Problem] = field(default_factory=list)  # about the structure (node None: the structure)
    inner: list[tuple[Diagram, Problem]] = field(default_factory=list)
    types: list = field(default_factory=list)  # a TypeInfo per diagram


def _execute(node: "StructureNode", values: dict) -> dict:
    return node.execute(values, node.context)


# ---------------------------------------------------------------------------- types at the border
def element_type(t: PortType) -> tuple[PortType, str]:
    """The type of one element of ``t`` (what an indexing input tunnel gives inside), and
    why it cannot be indexed ("" when it can)."""
    if t.sequence:
        return PortType(t.kind, t.min_rank, t.max_rank, False, t.shape), ""
    if t.kind not in _ARRAY_KINDS:
        return ANY, f"a {t.kind} value is not an array"
    if t.max_rank == 0:
        return ANY, f"{t} is a scalar"
    hi = None if t.max_rank is None else t.max_rank - 1
    shape = t.shape[1:] if t.shape is not None else None
    return PortType(t.kind, max(t.min_rank - 1, 0), hi, False, shape), ""


def array_type(t: PortType) -> tuple[PortType, str]:
    """The type of the array an indexing output tunnel builds from values of type ``t``."""
    if t.sequence or t.kind not in _ARRAY_KINDS:
        return ANY, f"{t} values cannot be stacked into an array"
    hi = None if t.max_rank is None else t.max_rank + 1
    shape = (None,) + t.shape if t.shape is not None else None
    return PortType(t.kind, t.min_rank + 1, hi, False, shape), ""


def _same_type(a: PortType, b: PortType) -> bool:
    """Whether a value of type ``b`` may take the place of one of type ``a`` (a shift register)."""
    if a.is_any or b.is_any:
        return True
    if a.sequence != b.sequence or ("any" not in (a.kind, b.kind) and a.kind != b.kind):
        return False
    return a.ranks_overlap(b)


# ---------------------------------------------------------------------------- values at the border
def _length(name: str, value) -> int:
    if isinstance(value, (np.ndarray, Batches, list, tuple)) and np.ndim(value) != 0:
        return len(value)
    raise HaibalValueError(f"indexing input tunnel {name!r} takes one element per iteration, but its value "
                           f"is {_describe(value)}, which has none")


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def _scalar(value):
    """A Python number from a 0-d value (selector, condition, count), else None."""
    if isinstance(value, (bool, int, float, str, np.generic)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return None


def _stack(name: str, items: list, empty_type: PortType):
    """The array an indexing output tunnel builds (one row per iteration)."""
    if not items:
        kind = {"int": np.int64, "bool": np.bool_}.get(empty_type.kind, np.float64)
        return np.zeros((0,) * max(empty_type.min_rank, 1), kind)
    first = np.asarray(items[0])
    if first.dtype.kind not in "biufU":
        raise HaibalValueError(f"output tunnel {name!r} builds an array from its values, but iteration 0 gave "
                               f"{_describe(items[0])}: turn its indexing off")
    try:
        return np.stack([np.asarray(v) for v in items]) if first.ndim else np.asarray(items)
    except ValueError:
        shapes = [np.shape(v) for v in items]
        k = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise HaibalValueError(f"output tunnel {name!r} builds an array from its values, but iteration 0 gave "
                               f"shape {shapes[0]} and iteration {k} shape {shapes[k]}") from None


def _numbers(out: Mapping[str, Any], names: Iterable[str]) -> dict[str, float]:
    """The scalar numbers among the values leaving a diagram (an iteration's live values)."""
    found = {}
    for name in names:
        v = _scalar(out.get(name))
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            found[name] = float(v)
    return found


# ---------------------------------------------------------------------------- the nodes
class StructureNode(CompositeNode):
    """A node owning diagrams (For Loop, While Loop, Case Structure); see the module docstring.

    Per node: ``terminals`` (``TerminalSpec`` s, in border order), ``diagrams`` (``Diagram``
    s, their graphs nested in the graph holding the node) and ``size`` (the frame on the
    canvas). Its ports are its fixed ones (``N``, ``selector``) then its terminals."""

    category = "Structures"
    dynamic_ports = True
    #: names a terminal may not take (the fixed terminals' names)
    reserved: ClassVar[frozenset] = frozenset()
    #: whether shift registers, ``i`` and the conditional terminal exist (loops)
    loop: ClassVar[bool] = True

    def __init__(self, name: str | None = None, *, instance: str = AUTOMATIC, **params):
        self.terminals: tuple[TerminalSpec, ...] = ()
        self.diagrams: list[Diagram] = []
        self.size: tuple[float, float] | None = None
        self.layout_revision = 0  # counts terminal and case changes (the analysis cache's key)
        self._analysis: tuple | None = None
        super().__init__(name, instance=instance, **params)
        self.refresh()

    # -- the composite mechanism
    def templates(self) -> list[Template]:
        return list(self.diagrams)

    def where(self, template: Template) -> str:
        kind = self.display_name
        own = f"{kind} {self.name!r}" if self.name != kind else kind
        return f"{own}, case {template.label}" if not self.loop else own

    @property
    def body(self) -> Diagram:
        return self.diagrams[0]

    # -- terminals and ports
    def terminal(self, name: str) -> TerminalSpec:
        for t in self.terminals:
            if t.name == name:
                return t
        raise StructureError(f"{self.label} has no terminal {name!r} "
                             f"(terminals: {', '.join(t.name for t in self.terminals) or 'none'})")

    def has_terminal(self, name: str) -> bool:
        return any(t.name == name for t in self.terminals)

    @property
    def tunnels_in(self) -> list[TerminalSpec]:
        return [t for t in self.terminals if t.kind == "tunnel" and t.direction == "in"]

    @property
    def tunnels_out(self) -> list[TerminalSpec]:
        return [t for t in self.terminals if t.kind == "tunnel" and t.direction == "out"]

    @property
    def shift_registers(self) -> list[TerminalSpec]:
        return [t for t in self.terminals if t.kind == "shift"]

    def inner_inputs(self) -> list[str]:
        """The names a diagram's ``GraphInput`` nodes may have."""
        names = [t.name for t in self.tunnels_in] + [t.name for t in self.shift_registers]
        return ([ITERATION] if self.loop else []) + names

    def inner_outputs(self) -> list[str]:
        """The names a diagram's ``GraphOutput`` nodes may have."""
        names = [t.name for t in self.tunnels_out] + [t.name for t in self.shift_registers]
        return names + (list(CONDITIONS) if self.loop else [])

    def fixed_inputs(self) -> list[tuple[Port, PortType]]:
        """The structure's own input ports and the types they accept."""
        return []

    def refresh(self) -> None:
        """Rebuild the node's ports from its terminals (after any terminal or case change)."""
        fixed = self.fixed_inputs()
        ins = [p for p, _ in fixed]
        accepts: dict[str, PortType] = {p.name: t for p, t in fixed}
        outs = []
        for t in self.terminals:
            if t.kind == "shift":
                ins.append(Port(t.name, ANY, t.doc or "initialises the shift register (its value in iteration 0)."))
                outs.append(Port(t.name, ANY, t.doc or "the shift register's value after the last iteration."))
            elif t.direction == "in":
                what = "one element per iteration" if t.indexing else "the same value in every iteration"
                ins.append(Port(t.name, ANY, t.doc or f"input tunnel: {what}."))
            else:
                what = "the values of every iteration, stacked" if t.indexing else "the last iteration's value"
                outs.append(Port(t.name, ANY, t.doc or f"output tunnel: {what}."))
        for p in ins:
            accepts.setdefault(p.name, ANY)
        self.inputs, self.outputs = tuple(ins), tuple(outs)
        inst = type(self).instances[0]
        self.instances = (Instance(inst.name, accepts, {p.name: ANY for p in outs}, _execute, inst.doc),)
        self.layout_revision += 1
        self._analysis = None

    # -- static types
    def _analysed(self, wired: Mapping[str, PortType]) -> _Analysis:
        key = (self.layout_revision, tuple((id(d.graph), d.graph.revision) for d in self.diagrams),
               tuple(sorted(wired.items(), key=lambda kv: kv[0])))
        if self._analysis is not None and self._analysis[0] == key:
            return self._analysis[1]
        result = self.analyse(dict(wired))
        self._analysis = (key, result)
        return result

    def static_output_types(self, instance, wired):
        return dict(self._analysed(wired).outputs)

    def static_inner_types(self, wired):
        return list(self._analysed(wired).types)

    def inner_problems(self, wired, check):
        a = self._analysed(wired)
        return [(None, p) for p in a.own] + list(a.inner)

    def analyse(self, wired: dict[str, PortType]) -> _Analysis:
        """Type every diagram with the types its terminals bring in; the output types and
        every problem of the structure (about its terminals and inside its diagrams)."""
        raise NotImplementedError

    def _type_diagram(self, diagram: Diagram, sources: dict[str, PortType], a: _Analysis) -> dict:
        """Type-check ``diagram`` with ``sources``; its problems go into ``a``; returns the
        types reaching its output terminals by name (None: the terminal is missing or unwired)."""
        graph = diagram.graph
        present = {name: src for name, src in sources.items() if name in graph.inputs}
        info = typecheck.port_types(graph, present)
        a.types.append(info)
        unfed = set()
        sinks: dict[str, PortType | None] = {}
        for name, gid in graph.outputs.items():
            fed = graph.feeding(gid, VALUE)
            sinks[name] = info.wired.get(gid, {}).get(VALUE) if fed else None
            if not fed:
                unfed.add(gid)
        for p in validation.validate(graph, outside=False, sources=present, types=info):
            if p.code == "unwired" and p.node in unfed:
                continue  # reported as the structure's own problem, naming the terminal
            a.inner.append((diagram, p))
        return sinks

    def _terminal_problems(self, a: _Analysis) -> None:
        seen = set()
        for t in self.terminals:
            if t.name in seen:
                a.own.append(Problem(None, t.name, f"two terminals are named {t.name!r}", "structure"))
            seen.add(t.name)
            if t.name in self.reserved:
                a.own.append(Problem(None, t.name, f"a terminal cannot be named {t.name!r}: the {self.display_name}'s "
                                     f"own terminal has that name", "structure"))
        allowed_in, allowed_out = set(self.inner_inputs()), set(self.inner_outputs())
        for d in self.diagrams:
            where = f" in case {d.label}" if not self.loop else ""
            for name, gid in d.graph.inputs.items():
                if name not in allowed_in:
                    a.own.append(Problem(None, None, f"node {gid!r}{where} is a graph input named {name!r}, which is "
                                         f"not a terminal of the {self.display_name} (inputs inside: "
                                         f"{', '.join(sorted(allowed_in)) or 'none'})", "structure"))
            for name, gid in d.graph.outputs.items():
                if name not in allowed_out:
                    a.own.append(Problem(None, None, f"node {gid!r}{where} is a graph output named {name!r}, which "
                                         f"is not a terminal of the {self.display_name} (outputs inside: "
                                         f"{', '.join(sorted(allowed_out)) or 'none'})", "structure"))
            if self.loop and all(c in d.graph.outputs for c in CONDITIONS):
                a.own.append(Problem(None, None, "the loop has both a 'stop' and a 'continue' conditional terminal; "
                                     "keep one", "structure"))

    def _missing_output(self, a: _Analysis, name: str, diagram: Diagram, what: str) -> None:
        if self.loop:
            a.own.append(Problem(None, name, f"{what} {name!r} is not fed inside the loop: wire a value to its "
                                 f"terminal in the diagram", "structure"))
        else:
            a.own.append(Problem(None, name, f"case {diagram.label} does not give output tunnel {name!r}: wire a "
                                 f"value to it in that case (every case gives every output tunnel)", "case-output"))

    def _loop_types(self, wired: dict[str, PortType], a: _Analysis) -> tuple[dict, dict]:
        """Shared by the loops: inner source types, then the diagram's sink types."""
        sources: dict[str, PortType] = {ITERATION: INT0}
        for t in self.tunnels_in:
            outer = wired.get(t.name, ANY)
            if t.indexing:
                inner, why = element_type(outer)
                if why:
                    a.own.append(Problem(None, t.name, f"indexing input tunnel {t.name!r} takes one element per "
                                         f"iteration, but {why}: turn its indexing off", "tunnel-type"))
                sources[t.name] = inner
            else:
                sources[t.name] = outer
        for s in self.shift_registers:
            sources[s.name] = wired.get(s.name, ANY)
        sinks = self._type_diagram(self.body, sources, a)
        return sources, sinks

    def _loop_outputs(self, wired: dict[str, PortType], sinks: dict, a: _Analysis) -> None:
        for t in self.tunnels_out:
            inner = sinks.get(t.name)
            if inner is None:
                self._missing_output(a, t.name, self.body, "output tunnel")
                inner = ANY
            if t.indexing:
                outer, why = array_type(inner)
                if why:
                    a.own.append(Problem(None, t.name, f"indexing output tunnel {t.name!r} builds an array, but "
                                         f"{why}: turn its indexing off", "tunnel-type"))
                a.outputs[t.name] = outer
            else:
                a.outputs[t.name] = inner
        for s in self.shift_registers:
            init, right = wired.get(s.name, ANY), sinks.get(s.name)
            if right is None:
                self._missing_output(a, s.name, self.body, "shift register")
                right = ANY
            elif not _same_type(init, right):
                a.own.append(Problem(None, s.name, f"shift register {s.name!r} is initialised with {init} but fed "
                                     f"{right} inside the loop: a shift register keeps one type",
                                     "shift-register-type"))
            a.outputs[s.name] = init if not init.is_any else right
        for c in CONDITIONS:
            t = sinks.get(c)
            if c in sinks and t is None:
                a.own.append(Problem(None, c, f"the conditional terminal {c!r} is not wired: wire a boolean to it "
                                     f"inside the loop", "unwired"))
            if t is not None and not (t.is_any or (t.kind in ("bool", "any") and t.min_rank == 0
                                                   and not t.sequence)):
                a.own.append(Problem(None, c, f"the conditional terminal {c!r} takes a boolean (bool[0]), but gets "
                                     f"{t}", "tunnel-type"))

    def condition_terminal(self, graph) -> str | None:
        for c in CONDITIONS:
            if c in graph.outputs:
                return c
        return None

    # -- running
    def execute(self, values: dict, context) -> dict:
        """Run the structure on its input values (``context``: the node's run context)."""
        raise NotImplementedError

    def _loop(self, values: dict, context, count: int | None) -> dict:
        """Iterations in order, ``count`` of them (None: until the conditional terminal says so)."""
        graph = self.body.graph
        present = graph.inputs
        limits = context.limits
        indexed = [(t.name, values[t.name]) for t in self.tunnels_in if t.indexing and t.name in present]
        fixed = {t.name: values[t.name] for t in self.tunnels_in if not t.indexing and t.name in present}
        shifts = {s.name: values[s.name] for s in self.shift_registers}
        shift_inside = [s for s in shifts if s in present]
        varying = tuple(n for n in [ITERATION] + [n for n, _ in indexed] + shift_inside if n in present)
        run = context.diagram(self, 0)
        run.begin(fixed, varying)
        stacked = {t.name: [] for t in self.tunnels_out if t.indexing}
        last: dict[str, Any] = {t.name: None for t in self.tunnels_out if not t.indexing}
        cond = self.condition_terminal(graph)
        watched_names = [t.name for t in self.tunnels_out] + list(shifts)
        observed = context.observed
        with_i = ITERATION in present
        i = 0
        while count is None or i < count:
            if i and context.should_stop():
                break
            if count is None and i >= limits.max_loop_iterations:
                raise LimitError(f"{self.label} did not stop within {i:,} iterations, the limit "
                                 f"max_loop_iterations; raise it on purpose if this graph is trusted (haibal run "
                                 f"--limit max_loop_iterations=N, or Limits(...).raised(max_loop_iterations=N))")
            inputs = {name: seq[i] for name, seq in indexed}
            if with_i:
                inputs[ITERATION] = i
            for name in shift_inside:
                inputs[name] = shifts[name]
            try:
                out = run.step(inputs)
            except HaibalError as exc:
                raise _prefixed(exc, f"iteration {i}: ") from exc.__cause__
            for name in shifts:
                shifts[name] = out[name]
            for name, items in stacked.items():
                items.append(out[name])
            for name in last:
                last[name] = out[name]
            if observed:
                point = {"step": i, **_numbers(out, watched_names)}
                seen = run.watched()
                if seen:
                    point["wires"] = seen
                context.emit("iteration", point)
            if count is not None:
                context.progress(i + 1, count)
            i += 1
            if cond is not None:
                flag = _scalar(out[cond])
                if flag is None or not isinstance(flag, (bool, int, float)):
                    raise HaibalValueError(f"iteration {i - 1}: the conditional terminal {cond!r} got "
                                           f"{_describe(out[cond])}, not a boolean")
                if bool(flag) == (cond == "stop"):
                    break
        result: dict[str, Any] = dict(shifts)
        for t in self.tunnels_out:
            if t.indexing:
                result[t.name] = _stack(t.name, stacked[t.name], self._out_type(t.name))
            else:
                if i == 0 and not context.should_stop():
                    raise HaibalValueError(f"the loop ran 0 times, so output tunnel {t.name!r} (indexing off) has no "
                                           f"value: turn its indexing on, or run the loop at least once")
                result[t.name] = last[t.name]
        return result

    def _out_type(self, name: str) -> PortType:
        """The static type of an output port from the last analysis (for empty results)."""
        if self._analysis is not None:
            return self._analysis[1].outputs.get(name, ANY)
        return ANY


_LOOP_TERMINALS = (
    ("N", "the count (For Loop): the number of iterations, wired from outside"),
    ("i", "the iteration inside, from 0"),
    ("input tunnel", "a value entering the loop (a square on the left border): the same in every iteration or, "
                     "indexing ([ ] on the square), one element per iteration"),
    ("output tunnel", "a value leaving the loop (on the right border): the last iteration's or, indexing, every "
                      "iteration's stacked"),
    ("shift register", "a pair of arrows on the borders: the left one gives the value of the previous iteration "
                       "(initialised from outside), the right one takes the next; outside, the last value"),
)


def _prefixed(exc: Exception, prefix: str) -> Exception:
    """The same error (type and attributes: a ``NodeRunError``'s node id and cause) with its
    message prefixed (which iteration or case it came from)."""
    new = copy.copy(exc)
    new.args = (prefix + str(exc),) + tuple(exc.args[1:])
    return new


@register
class ForLoop(StructureNode):
    """LabVIEW's For Loop: N iterations of its diagram (or as many as its indexing inputs have)."""

    type_id = FOR_TYPE_ID
    display_name = "For Loop"
    reserved = frozenset({COUNT, ITERATION, *CONDITIONS})
    help = HelpText(
        "LabVIEW's For Loop: runs its diagram N times in order; i (inside) counts the iterations from 0. "
        "Unwired, N is the length of the shortest indexing input tunnel. Input tunnels bring a value in: with "
        "indexing, one element per iteration (a float[2] outside is a float[1] inside). Output tunnels take "
        "the last iteration's value out or, with indexing, the values of every iteration stacked into an "
        "array. Shift registers carry a value from one iteration to the next: wired from outside, their "
        "value in iteration 0; out, their value after the last. A conditional terminal ('stop' or "
        "'continue' inside) ends the loop early. Nodes that do not depend on the iteration compute once.",
        ("Compute a metric per batch of a stack of batches, giving an array of results.",
         "Accumulate a sum in a shift register.", "Run a training step per batch."),
        terminals=_LOOP_TERMINALS + (("stop / continue", "optional conditional terminal inside: a boolean ending the "
                                      "loop early (stop if true, or continue if true)"),))
    inputs = (Port(COUNT, PortType("int", 0, 0), "the number of iterations (LabVIEW's count terminal); "
                   "unwired: the length of the shortest indexing input tunnel.", default=None),)
    outputs = ()
    instances = (Instance("loop", {COUNT: PortType("int", 0, 0)}, {}, _execute,
                          "runs the diagram once per iteration"),)

    def fixed_inputs(self):
        port = type(self).inputs[0]
        return [(port, port.type)]

    def analyse(self, wired):
        a = _Analysis()
        self._terminal_problems(a)
        _, sinks = self._loop_types(wired, a)
        if COUNT not in wired and not any(t.indexing for t in self.tunnels_in):
            a.own.append(Problem(None, COUNT, "the For Loop needs its count N wired, or an indexing input tunnel "
                                 "(its length is then the count)", "unwired"))
        self._loop_outputs(wired, sinks, a)
        return a

    def execute(self, values, context):
        count = None
        n = values.get(COUNT)
        if n is not None:
            v = _scalar(n)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
                raise HaibalValueError(f"the count N must be an integer, got {_describe(n) if v is None else repr(v)}")
            count = max(int(v), 0)
        for t in self.tunnels_in:
            if t.indexing:
                length = _length(t.name, values[t.name])
                count = length if count is None else min(count, length)
        if count is None:
            raise HaibalValueError("the For Loop needs its count N wired, or an indexing input tunnel")
        context.limits.check("max_loop_iterations", count, f"{self.label} with N = {count:,}")
        return self._loop(values, context, count)


@register
class WhileLoop(StructureNode):
    """LabVIEW's While Loop: its diagram runs until the conditional terminal says stop."""

    type_id = WHILE_TYPE_ID
    display_name = "While Loop"
    reserved = frozenset({ITERATION, *CONDITIONS})
    help = HelpText(
        "LabVIEW's While Loop: runs its diagram at least once, then again until the conditional terminal "
        "inside ('stop': stop if true, or 'continue': continue if true) ends it; i counts the iterations "
        "from 0. Input tunnels bring the same value into every iteration; output tunnels take the last "
        "iteration's value out or, with indexing, the values of every iteration stacked into an array. Shift "
        "registers carry a value from one iteration to the next. A While Loop runs at most "
        "max_loop_iterations times (a limit: raise it with --limit for a graph you trust).",
        ("Train step by step until the validation loss stops improving.", "Iterate until convergence."),
        terminals=_LOOP_TERMINALS[1:] + (("stop / continue", "the conditional terminal inside: a boolean ending the "
                                          "loop (stop if true, or continue if true); required"),))
    inputs = ()
    outputs = ()
    instances = (Instance("loop", {}, {}, _execute, "runs the diagram until the conditional terminal stops it"),)

    def analyse(self, wired):
        a = _Analysis()
        self._terminal_problems(a)
        for t in self.tunnels_in:
            if t.indexing:
                a.own.append(Problem(None, t.name, f"input tunnel {t.name!r} is indexing, which a While Loop does not "
                                     f"do (a For Loop does: use one, or turn indexing off)", "tunnel-type"))
        _, sinks = self._loop_types(wired, a)
        if self.condition_terminal(self.body.graph) is None:
            a.own.append(Problem(None, None, "the While Loop has no conditional terminal: wire a boolean to a graph "
                                 "output named 'stop' (or 'continue') inside it", "unwired"))
        self._loop_outputs(wired, sinks, a)
        return a

    def execute(self, values, context):
        return self._loop(values, context, None)


def _case_kind(value) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        return "str"
    return None


@register
class CaseStructure(StructureNode):
    """LabVIEW's Case Structure: runs the one case whose values hold the selector's value."""

    type_id = CASE_TYPE_ID
    display_name = "Case Structure"
    reserved = frozenset({SELECTOR})
    loop = False
    help = HelpText(
        "LabVIEW's Case Structure: one diagram per case; the selector's value (a boolean, an integer or a "
        "string) picks the case that runs, the Default case takes the values no case lists. Input tunnels "
        "bring values into every case; each case must give every output tunnel.",
        ("Compute from probabilities or from logits, chosen by a boolean.", "Pick a computation by name."),
        terminals=(("selector", "the value picking the case (on the left border)"),
                   ("input tunnel", "a value entering every case"),
                   ("output tunnel", "a value leaving the structure: every case must give it")))
    inputs = (Port(SELECTOR, ANY, "the value that picks the case: a boolean, an integer or a string."),)
    outputs = ()
    instances = (Instance("case", {SELECTOR: ANY}, {}, _execute, "runs the case the selector picks"),)

    def selector_kind(self) -> str | None:
        kinds = {_case_kind(v) for d in self.diagrams for v in d.values}
        return kinds.pop() if len(kinds) == 1 else None

    def fixed_inputs(self):
        port = type(self).inputs[0]
        kind = self.selector_kind()
        return [(port, PortType(kind, 0, 0) if kind else ANY)]

    def analyse(self, wired):
        a = _Analysis()
        self._terminal_problems(a)
        for t in self.terminals:
            if t.kind == "shift" or t.indexing:
                a.own.append(Problem(None, t.name, f"terminal {t.name!r}: a Case Structure has no shift registers "
                                     f"and no indexing tunnels", "structure"))
        self._case_problems(a)
        sources = {t.name: wired.get(t.name, ANY) for t in self.tunnels_in}
        per_case: dict[str, list[tuple[Diagram, PortType]]] = {t.name: [] for t in self.tunnels_out}
        for d in self.diagrams:
            sinks = self._type_diagram(d, sources, a)
            for t in self.tunnels_out:
                if sinks.get(t.name) is None:
                    self._missing_output(a, t.name, d, "output tunnel")
                else:
                    per_case[t.name].append((d, sinks[t.name]))
        for name, given in per_case.items():
            types = [t for _, t in given]
            a.outputs[name] = PortType.join(types) if types else ANY
            for d, t in given[1:]:
                if not _same_type(given[0][1], t):
                    a.own.append(Problem(None, name, f"output tunnel {name!r} gets {given[0][1]} in case "
                                         f"{given[0][0].label} but {t} in case {d.label}: every case must give it "
                                         f"one type", "tunnel-type"))
                    break
        return a

    def _case_problems(self, a: _Analysis) -> None:
        kinds = {_case_kind(v) for d in self.diagrams for v in d.values}
        if None in kinds or len(kinds) > 1:
            a.own.append(Problem(None, SELECTOR, "the cases' values must all be booleans, all integers or all "
                                 f"strings, got {', '.join(sorted(str(k) for k in kinds))}", "case-selector"))
        kind = kinds.pop() if len(kinds) == 1 else None  # the selector port takes kind[0]: a wire of another is broken
        seen: dict = {}
        defaults = [d for d in self.diagrams if d.default]
        for d in self.diagrams:
            if not d.values and not d.default:
                a.own.append(Problem(None, SELECTOR, "a case has no selector value and is not the default case",
                                     "case-selector"))
            for v in d.values:
                key = (_case_kind(v), v)
                if key in seen:
                    a.own.append(Problem(None, SELECTOR, f"the value {case_label([v], False)} selects two cases "
                                         f"({seen[key]} and {d.label})", "case-selector"))
                seen[key] = d.label
        if len(defaults) > 1:
            a.own.append(Problem(None, SELECTOR, "two cases are the Default case", "case-selector"))
        covered = kind == "bool" and {True, False} <= {v for _, v in seen}
        if not defaults and not covered:
            a.own.append(Problem(None, SELECTOR, "no Default case: a selector value that no case lists would have "
                                 "no case to run (make one case the Default)", "case-selector"))

    def case_for(self, selector) -> int:
        """The index of the case the selector's value picks."""
        value = _scalar(selector)
        if value is None:
            raise HaibalValueError(f"the selector must be a boolean, an integer or a string, got {_describe(selector)}")
        if isinstance(value, float) and value == int(value):
            value = int(value)
        kind = _case_kind(value)
        default = None
        for k, d in enumerate(self.diagrams):
            if any(_case_kind(v) == kind and v == value for v in d.values):
                return k
            if d.default and default is None:
                default = k
        if default is None:
            raise HaibalValueError(f"no case for the selector value {value!r} and no Default case")
        return default

    def execute(self, values, context):
        k = self.case_for(values[SELECTOR])
        graph = self.diagrams[k].graph
        run = context.diagram(self, k)
        run.begin({t.name: values[t.name] for t in self.tunnels_in if t.name in graph.inputs}, ())
        try:
            out = run.step({})
        except HaibalError as exc:
            raise _prefixed(exc, f"case {self.diagrams[k].label}: ") from exc.__cause__
        return {t.name: out[t.name] for t in self.tunnels_out}


STRUCTURE_TYPES = {FOR_TYPE_ID: ForLoop, WHILE_TYPE_ID: WhileLoop, CASE_TYPE_ID: CaseStructure}


# ---------------------------------------------------------------------------- editing
def _free(base: str, taken: set[str]) -> str:
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


class Structure:
    """Edits structure ``node_id`` of ``graph`` (``graph.structure(node_id)``): its terminals,
    cases, conditional terminal and frame. Each edit is one transaction of the graph; a
    change of terminals or cases changes the structure's ports, so the graph is validated
    again. The terminal nodes inside the diagrams are created and removed with their
    terminals (a tunnel's in every case), named like the terminal."""

    def __init__(self, graph, node_id: str):
        self._root = graph.root
        self._holder = graph
        self.id = node_id

    @property
    def graph(self):
        """The graph holding the structure (found again if the structure moved into another diagram)."""
        if self.id not in self._holder.nodes:
            self._holder = self._root.locate(self.id)
        return self._holder

    def __repr__(self) -> str:
        return f"<Structure {self.id!r}: {self.node.display_name}, {len(self.node.diagrams)} diagram(s)>"

    @property
    def node(self) -> StructureNode:
        return self.graph.nodes[self.id].node

    @property
    def terminals(self) -> tuple[TerminalSpec, ...]:
        return self.node.terminals

    def diagram(self, index: int = 0):
        """The graph of diagram ``index`` (a loop's body is 0; a Case Structure's cases in order)."""
        diagrams = self.node.diagrams
        if not -len(diagrams) <= index < len(diagrams):
            raise StructureError(f"{self.node.label} has {len(diagrams)} diagram(s), no diagram {index}")
        return diagrams[index].graph

    @property
    def body(self):
        """A loop's diagram (a Case Structure's first case)."""
        return self.diagram(0)

    @property
    def diagrams(self) -> list:
        return [d.graph for d in self.node.diagrams]

    def case_index(self, value) -> int:
        """The case a selector value picks (Case Structures)."""
        return self.node.case_for(value)

    def terminal_node(self, name: str, index: int = 0, side: str | None = None) -> str | None:
        """The id of terminal ``name``'s node inside diagram ``index``: the one values come from
        (``side="source"``: an input tunnel, a shift register's left side, ``i``) or go to
        (``"sink"``: an output tunnel, a shift register's right side, the conditional
        terminal); by default the terminal's one side. None when the diagram has none."""
        graph = self.diagram(index)
        if side is None:
            if name in (ITERATION,):
                side = "source"
            elif name in CONDITIONS:
                side = "sink"
            else:
                t = self.node.terminal(name)
                side = "source" if t.kind == "tunnel" and t.direction == "in" else "sink"
                if t.kind == "shift":
                    raise StructureError(f"shift register {name!r} has two nodes inside: give side='source' "
                                         f"(its value in the iteration) or side='sink' (its next value)")
        if side not in ("source", "sink"):
            raise StructureError(f"side must be 'source' or 'sink', got {side!r}")
        return (graph.inputs if side == "source" else graph.outputs).get(name)

    # -- changes
    def _changed(self) -> None:
        self.node.refresh()
        self.graph.touch(self.id, structural=True)

    def _taken(self) -> set[str]:
        return {t.name for t in self.node.terminals} | set(self.node.reserved)

    def _name(self, name: str | None, base: str) -> str:
        if name is None:
            return _free(base if base not in self.node.reserved else f"{base}_", self._taken())
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise StructureError(f"a terminal name is 1 to 200 characters, got {name!r}")
        if name in self.node.reserved:
            raise StructureError(f"{self.node.label}: {name!r} is the name of its own terminal; choose another")
        if self.node.has_terminal(name):
            raise StructureError(f"{self.node.label} already has a terminal named {name!r}")
        return name

    def _border(self, side: str, k: int) -> tuple[float, float] | None:
        """Where a new terminal node goes: on the frame's left or right border."""
        pos, size = self.graph.nodes[self.id].pos, self.node.size
        if pos is None:
            return None
        w = size[0] if size is not None else 400.0
        return (pos[0] if side == "left" else pos[0] + w, pos[1] + 40.0 + 50.0 * k)

    def _inner_id(self, index: int, name: str, suffix: str = "") -> str | None:
        base = f"{self.id}_{name}{suffix}" + (f"_{index}" if index else "")
        ok = _is_id(base) and not self.graph._id_taken(base)
        return base if ok else None

    def _add_terminal_nodes(self, index: int, t: TerminalSpec, k: int) -> None:
        graph = self.diagram(index)
        if t.kind == "shift" or t.direction == "in":
            graph.add_input(t.name, type="any", doc=t.doc, pos=self._border("left", k),
                            id=self._inner_id(index, t.name))
        if t.kind == "shift" or t.direction == "out":
            graph.add_output(t.name, type="any", doc=t.doc, pos=self._border("right", k),
                             id=self._inner_id(index, t.name, "_next" if t.kind == "shift" else ""))

    def add_tunnel(self, name: str | None = None, direction: str = "in", indexing: bool = False,
                   doc: str = "") -> str:
        """A tunnel (``direction`` "in" or "out", ``indexing`` on or off) with its node in every
        diagram; returns its name (the structure's port)."""
        if direction not in ("in", "out"):
            raise StructureError(f"a tunnel's direction is 'in' or 'out', got {direction!r}")
        if indexing and not self.node.loop:
            raise StructureError("a Case Structure's tunnels do not index (only loops' tunnels do)")
        if indexing and direction == "in" and self.node.type_id == WHILE_TYPE_ID:
            raise StructureError("a While Loop's input tunnels do not index (a For Loop's do)")
        t = TerminalSpec(self._name(name, "x" if direction == "in" else "y"), "tunnel", direction,
                         bool(indexing), doc)
        with self.graph.transaction():
            k = len(self.node.tunnels_in if direction == "in" else self.node.tunnels_out)
            self.node.terminals = self.node.terminals + (t,)
            for index in range(len(self.node.diagrams)):
                self._add_terminal_nodes(index, t, k)
            self._changed()
        return t.name

    def add_shift_register(self, name: str | None = None, doc: str = "") -> str:
        """A shift register (loops): its left node (its value in an iteration) and its right
        node (the value for the next one) inside; returns its name (input and output port)."""
        if not self.node.loop:
            raise StructureError("a Case Structure has no shift registers (loops do)")
        t = TerminalSpec(self._name(name, "sr"), "shift", "in", False, doc)
        with self.graph.transaction():
            k = len(self.node.shift_registers) + len(self.node.tunnels_in)
            self.node.terminals = self.node.terminals + (t,)
            self._add_terminal_nodes(0, t, k)
            self._changed()
        return t.name

    def add_iteration(self) -> str:
        """The iteration terminal ``i`` inside a loop (kept when it is there); returns its node id."""
        if not self.node.loop:
            raise StructureError("a Case Structure has no iteration terminal")
        body = self.body
        if ITERATION in body.inputs:
            return body.inputs[ITERATION]
        pos = self.graph.nodes[self.id].pos
        size = self.node.size or (400.0, 300.0)
        at = (pos[0] + 10.0, pos[1] + size[1] - 50.0) if pos is not None else None
        return body.add_input(ITERATION, type="int[0]", doc="the iteration, from 0.", pos=at,
                              id=self._inner_id(0, ITERATION))

    def set_condition(self, condition: str | None) -> str | None:
        """The loop's conditional terminal: ``"stop"`` (stop if true), ``"continue"`` (continue
        if true) or None (none: a For Loop runs N times). Switching keeps its wire. Returns
        the terminal's node id."""
        if not self.node.loop:
            raise StructureError("a Case Structure has no conditional terminal")
        if condition not in (*CONDITIONS, None):
            raise StructureError(f"the condition is 'stop', 'continue' or None, got {condition!r}")
        body = self.body
        have = self.node.condition_terminal(body)
        if have == condition:
            return body.outputs.get(condition) if condition else None
        with self.graph.transaction():
            if have is not None and condition is not None:
                body.rename(body.outputs[have], condition)
                return body.outputs[condition]
            if have is not None:
                body.remove_node(body.outputs[have])
                return None
            pos = self.graph.nodes[self.id].pos
            size = self.node.size or (400.0, 300.0)
            at = (pos[0] + size[0] - 10.0, pos[1] + size[1] - 50.0) if pos is not None else None
            return body.add_output(condition, type="bool[0]", pos=at, id=self._inner_id(0, "cond"))

    def remove_terminal(self, name: str) -> None:
        """Remove a terminal: its nodes inside and the wires to its port outside."""
        t = self.node.terminal(name)
        with self.graph.transaction():
            for c in self.graph.incoming(self.id) + self.graph.outgoing(self.id):
                if (c.dst == self.id and c.dst_port == name) or (c.src == self.id and c.src_port == name):
                    self.graph.disconnect(c.src, c.src_port, c.dst, c.dst_port)
            for d in self.node.diagrams:
                for table in (d.graph.inputs, d.graph.outputs):
                    gid = table.get(name)
                    if gid is not None:
                        d.graph.remove_node(gid)
            self.node.terminals = tuple(x for x in self.node.terminals if x is not t)
            self._changed()

    def rename_terminal(self, name: str, new: str) -> None:
        """Rename a terminal: its port (its wires follow) and its nodes inside."""
        t = self.node.terminal(name)
        if new == name:
            return
        new = self._name(new, new)
        with self.graph.transaction():
            wires = [c for c in self.graph.incoming(self.id) + self.graph.outgoing(self.id)
                     if (c.dst == self.id and c.dst_port == name) or (c.src == self.id and c.src_port == name)]
            for c in wires:
                self.graph.disconnect(c.src, c.src_port, c.dst, c.dst_port)
            self.node.terminals = tuple(replace(x, name=new) if x is t else x for x in self.node.terminals)
            self._changed()
            for d in self.node.diagrams:
                for table in (d.graph.inputs, d.graph.outputs):
                    gid = table.get(name)
                    if gid is not None:
                        d.graph.rename(gid, new)
            for c in wires:
                if c.dst == self.id:
                    self.graph.connect(c.src, c.src_port, self.id, new)
                else:
                    self.graph.connect(self.id, new, c.dst, c.dst_port)

    def set_indexing(self, name: str, indexing: bool) -> None:
        """Turn a loop tunnel's indexing on or off."""
        t = self.node.terminal(name)
        if t.kind != "tunnel":
            raise StructureError(f"{name!r} is a shift register: only tunnels index")
        if bool(indexing) == t.indexing:
            return
        if indexing and not self.node.loop:
            raise StructureError("a Case Structure's tunnels do not index (only loops' tunnels do)")
        if indexing and t.direction == "in" and self.node.type_id == WHILE_TYPE_ID:
            raise StructureError("a While Loop's input tunnels do not index (a For Loop's do)")
        with self.graph.transaction():
            self.node.terminals = tuple(replace(x, indexing=bool(indexing)) if x is t else x
                                        for x in self.node.terminals)
            self._changed()

    def layout(self) -> "Layout":
        """The structure's terminals, cases and frame (what ``set_layout`` restores)."""
        node = self.node
        return Layout(tuple(node.terminals), tuple((d.values, d.default) for d in node.diagrams), node.size,
                      tuple(json.dumps(d.graph.editor, sort_keys=True) for d in node.diagrams))

    def set_layout(self, layout: "Layout") -> None:
        """Give the structure these terminals, cases and frame, keeping the diagrams it has
        (the first ones: nodes are added and removed apart) and making empty ones as needed:
        how an undo restores a structure. Terminal nodes are not made."""
        node = self.node
        with self.graph.transaction():
            node.terminals = tuple(layout.terminals)
            while len(node.diagrams) > len(layout.cases):
                node.diagrams.pop()
            while len(node.diagrams) < len(layout.cases):
                node.diagrams.append(self.graph.new_diagram(self.id))
            for d, (values, default) in zip(node.diagrams, layout.cases):
                d.values, d.default = tuple(values), bool(default)
            for d, editor in zip(node.diagrams, layout.editors):
                d.graph.editor = json.loads(editor)
            node.size = layout.size
            self._changed()

    def set_size(self, size: Iterable[float] | None) -> None:
        """The frame's width and height on the canvas (the runtime ignores it, as node positions)."""
        if size is None:
            self.node.size = None
            return
        w, h = (float(v) for v in size)
        if not (0 <= w <= 1e15 and 0 <= h <= 1e15):
            raise StructureError(f"a frame size is two numbers in [0, 1e15], got {size!r}")
        self.node.size = (w, h)

    # -- cases
    def _check_values(self, values: Sequence, skip: int | None) -> tuple:
        values = tuple(values)
        for v in values:
            if _case_kind(v) is None:
                raise StructureError(f"a case value is a boolean, an integer or a string, got {v!r}")
        for k, d in enumerate(self.node.diagrams):
            if k == skip:
                continue
            for v in values:
                if any(_case_kind(w) == _case_kind(v) and w == v for w in d.values):
                    raise StructureError(f"the value {case_label([v], False)} already selects case {d.label}")
        if len(set((_case_kind(v), v) for v in values)) != len(values):
            raise StructureError(f"a case lists a value twice: {case_label(values, False)}")
        return values

    def add_case(self, values: Sequence = (), default: bool = False, copy_of: int | None = None) -> int:
        """A new case (Case Structures) after the others, with the terminal nodes of every tunnel;
        ``copy_of``: a case whose nodes and wires it starts with (LabVIEW's Duplicate Case).
        Returns its index."""
        if self.node.loop:
            raise StructureError(f"a {self.node.display_name} has one diagram; only a Case Structure has cases")
        values = self._check_values(values, None)
        if default and any(d.default for d in self.node.diagrams):
            raise StructureError("the Case Structure already has a Default case")
        with self.graph.transaction():
            diagram = self.graph.new_diagram(self.id, values, default)
            self.node.diagrams.append(diagram)
            index = len(self.node.diagrams) - 1
            if copy_of is not None:
                self._copy_case(self.diagram(copy_of), diagram.graph)
            else:
                for k, t in enumerate(self.node.terminals):
                    self._add_terminal_nodes(index, t, k)
            self._changed()
        return index

    def _copy_case(self, src, dst) -> None:
        """Put copies of ``src``'s nodes and wires in ``dst``, with new ids."""
        mapping = {}
        for gid, gn in src.nodes.items():
            if gn.node is None:
                raise StructureError(f"node {gid!r} has an unknown type {gn.type_id!r}: the case cannot be copied")
            if isinstance(gn.node, StructureNode):
                raise StructureError("a case holding a structure cannot be copied yet: copy its nodes instead")
            mapping[gid] = dst.add_node(gn.type_id, gn.name, gn.params, gn.instance, gn.pos,
                                        state=gn.node.get_state())
        for c in src.connections:
            dst.connect(mapping[c.src], c.src_port, mapping[c.dst], c.dst_port)

    def remove_case(self, index: int) -> None:
        """Remove a case (a Case Structure keeps at least one)."""
        if self.node.loop:
            raise StructureError("only a Case Structure has cases")
        if len(self.node.diagrams) == 1:
            raise StructureError("a Case Structure keeps at least one case")
        self.diagram(index)
        with self.graph.transaction():
            del self.node.diagrams[index]
            self._changed()

    def set_case(self, index: int, values: Sequence | None = None, default: bool | None = None) -> None:
        """Change the selector values of a case, or whether it is the Default case."""
        if self.node.loop:
            raise StructureError("only a Case Structure has cases")
        self.diagram(index)
        d = self.node.diagrams[index]
        new_values = d.values if values is None else self._check_values(values, index)
        new_default = d.default if default is None else bool(default)
        if new_default and not d.default and any(x.default for x in self.node.diagrams):
            raise StructureError("the Case Structure already has a Default case")
        with self.graph.transaction():
            d.values, d.default = new_values, new_default
            self._changed()

    # -- wiring across the border
    def wire_in(self, src: str, src_port: str, name: str | None = None, indexing: bool = False) -> str:
        """A new input tunnel fed by ``src.src_port`` outside; returns its name
        (``terminal_node(name, k)``: its node in diagram k, to wire from)."""
        base = _tunnel_name(self.graph, src, src_port)
        with self.graph.transaction():
            name = self.add_tunnel(name if name is not None else self._name(None, base), "in", indexing)
            self.graph.connect(src, src_port, self.id, name)
        return name

    def wire_out(self, src: str, src_port: str, name: str | None = None, indexing: bool = False,
                 index: int = 0) -> str:
        """A new output tunnel fed by ``src.src_port`` inside diagram ``index``; returns its name
        (the structure's output port). In a Case Structure the other cases must feed it too."""
        with self.graph.transaction():
            name = self.add_tunnel(name if name is not None else self._name(None, src_port), "out", indexing)
            graph = self.diagram(index)
            graph.connect(src, src_port, graph.outputs[name], VALUE)
        return name


def _is_id(text: str) -> bool:
    """Whether ``text`` can be a node id."""
    return len(text) <= 200 and NODE_ID_RE.fullmatch(text) is not None


# ---------------------------------------------------------------------------- nodes across borders
def _tunnel_name(graph, src: str, port: str) -> str:
    """A name for a tunnel carrying ``src.port``: a graph input's name, a node's name for
    its one ``value`` output (a Constant), else the port's name."""
    gn = graph.nodes[src]
    return gn.name if gn.is_input or (port == VALUE and not gn.is_terminal) else port


def _chain(graph) -> list:
    """``graph``, the graph holding it, and so on up to the outermost."""
    out = [graph]
    while out[-1].owner is not None:
        out.append(out[-1].owner[0])
    return out


def connect_across(graph, src: str, src_port: str, dst: str, dst_port: str, replace_wire: bool = False) -> list:
    """Wire ``src.src_port`` to ``dst.dst_port`` wherever the two nodes are in ``graph`` and its
    structures' diagrams, as LabVIEW does when a wire crosses a structure's border: out of
    each structure around ``src`` through an output tunnel, into each structure around
    ``dst`` through an input tunnel (a tunnel already carrying that value is reused).
    Returns the wires added. One transaction."""
    root = graph.root
    gs, gd = root.locate(src), root.locate(dst)
    if gs is gd:
        return [gs.connect(src, src_port, dst, dst_port, replace=replace_wire)]
    up, down = _chain(gs), _chain(gd)
    common = next(g for g in up if any(g is h for h in down))
    made = []
    with root.transaction():
        node, port, g = src, src_port, gs
        while g is not common:  # out through output tunnels
            parent, sid = g.owner
            st = Structure(parent, sid)
            name = next((t.name for t in st.node.tunnels_out
                         if any(c.src == node and c.src_port == port for c in g.feeding(g.outputs.get(t.name, ""), VALUE))),
                        None)
            if name is None:
                name = st.add_tunnel(st._name(None, port), "out", False)
                made.append(g.connect(node, port, g.outputs[name], VALUE))
            node, port, g = sid, name, parent
        below = down[:next(k for k, h in enumerate(down) if h is common)]
        for h in reversed(below):  # in through input tunnels
            parent, sid = h.owner
            st = Structure(parent, sid)
            name = next((t.name for t in st.node.tunnels_in if not t.indexing
                         and any(c.src == node and c.src_port == port for c in parent.feeding(sid, t.name))), None)
            if name is None:
                name = st.add_tunnel(st._name(None, _tunnel_name(parent, node, port)), "in", False)
                made.append(parent.connect(node, port, sid, name))
            node, port = h.inputs[name], VALUE
        made.append(gd.connect(node, port, dst, dst_port, replace=replace_wire))
    return made


def _bbox(graph, ids) -> tuple[float, float, float, float] | None:
    boxes = []
    for gid in ids:
        gn = graph.nodes[gid]
        if gn.pos is None:
            continue
        w, h = (gn.node.size if isinstance(gn.node, StructureNode) and gn.node.size else (160.0, 80.0))
        boxes.append((gn.pos[0], gn.pos[1], gn.pos[0] + w, gn.pos[1] + h))
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def move_nodes(graph, node_ids: Iterable[str], target) -> list:
    """Move nodes into another diagram (``target``: a graph: ``graph`` itself or one of its
    structures' diagrams), keeping their ids; every wire they had is made again across
    the borders (``connect_across``). Moving nodes out of a structure, a wire from one of
    its input tunnels comes from what feeds that tunnel outside, and a wire into one of its
    output tunnels goes where that tunnel went (such tunnels, left unused, are removed); a
    wire from ``i``, a shift register or an indexing tunnel has no value outside and is
    dropped. Returns the dropped wires. One transaction."""
    root = graph.root
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        return []
    source = root.locate(ids[0])
    for gid in ids:
        if root.locate(gid) is not source:
            raise StructureError("the nodes to move must all be in one diagram")
        gn = source.nodes[gid]
        if source.owner is not None and (gn.is_input or gn.is_output):
            raise StructureError(f"node {gn.label} is a terminal of its structure: it stays on the border")
    for gid in ids:  # a structure cannot move into its own diagrams
        gn = source.nodes[gid]
        if isinstance(gn.node, StructureNode) and any(target is g for d in gn.node.diagrams for g in d.graph.graphs()):
            raise StructureError(f"node {gn.label} cannot go inside itself")
    if target is source:
        return []
    leaving = source.owner is not None and not any(target is g for g in source.graphs())
    chosen = set(ids)
    wires = list(dict.fromkeys(c for gid in ids for c in source.incoming(gid) + source.outgoing(gid)))
    parts = source.to_parts()
    specs = [spec for spec in parts.nodes if spec.id in chosen]
    inner = [c for c in wires if c.src in chosen and c.dst in chosen]
    dropped = []
    with root.transaction():
        for gid in ids:
            source.remove_node(gid)
        target.add_parts(type(parts)(nodes=specs, connections=inner))
        emptied, unused = set(), set()
        for c in wires:
            if c in inner:
                continue
            ends = [(c.src, c.src_port, c.dst, c.dst_port)]
            if leaving and c.src not in chosen and source.nodes[c.src].is_input:
                outer = _outer_source(source, source.nodes[c.src].name)
                ends = [(*outer, c.dst, c.dst_port)] if outer is not None else []
                if ends:
                    unused.add(source.nodes[c.src].name)
            elif leaving and c.dst not in chosen and source.nodes[c.dst].is_output:
                name = source.nodes[c.dst].name
                ends = _outer_sinks(source, name, c.src, c.src_port)
                if ends:
                    emptied.add(name)
            if not ends:
                dropped.append(c)
            for src, src_port, dst, dst_port in ends:
                connect_across(root, src, src_port, dst, dst_port, replace_wire=True)
        if emptied or unused:  # tunnels the moved nodes used, which nothing inside uses any more
            parent, sid = source.owner
            st = Structure(parent, sid)
            for name in unused:
                if st.node.has_terminal(name) and not any(
                        d.graph.outgoing(d.graph.inputs[name]) for d in st.node.diagrams if name in d.graph.inputs):
                    emptied.add(name)
            for name in emptied:
                if st.node.has_terminal(name):
                    st.remove_terminal(name)
    return dropped


def _outer_sinks(diagram, name: str, src: str, src_port: str) -> list[tuple[str, str, str, str]]:
    """The wires (src, src_port -> each node outside that output tunnel ``name`` of
    ``diagram``'s structure feeds): [] when it is a shift register, an indexing tunnel, a
    Case Structure's tunnel (other cases feed it too) or feeds nothing."""
    parent, sid = diagram.owner
    node = parent.nodes[sid].node
    if not node.has_terminal(name) or not node.loop:
        return []
    t = node.terminal(name)
    if t.kind != "tunnel" or t.indexing:
        return []
    return [(src, src_port, c.dst, c.dst_port) for c in parent.outgoing(sid) if c.src_port == name]


def _outer_source(diagram, name: str) -> tuple[str, str] | None:
    """What feeds the non-indexing input tunnel ``name`` of ``diagram``'s structure, outside
    (None: it is ``i``, a shift register, an indexing tunnel, or unwired)."""
    parent, sid = diagram.owner
    node = parent.nodes[sid].node
    if not node.has_terminal(name):
        return None
    t = node.terminal(name)
    if t.kind != "tunnel" or t.indexing:
        return None
    fed = parent.feeding(sid, name)
    if not fed:
        return None
    if parent.owner is not None and parent.nodes[fed[0].src].is_input:
        return _outer_source(parent, parent.nodes[fed[0].src].name) or (fed[0].src, fed[0].src_port)
    return fed[0].src, fed[0].src_port


def enclose(graph, node_ids: Iterable[str], kind: str, name: str | None = None, margin: float = 60.0) -> str:
    """Put nodes inside a new structure (LabVIEW: draw a For Loop, While Loop or Case
    Structure around them): ``kind`` is "for", "while" or "case". The structure takes their
    place; the wires crossing its border become tunnels (indexing off: the nodes compute
    what they computed before, once per iteration); a Case Structure puts them in its
    True case (its False case then lacks the output tunnels until wired), a While Loop
    gets a 'stop' terminal to wire. Returns the structure's id. One transaction."""
    root = graph.root
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        raise StructureError("select the nodes to enclose first")
    where = root.locate(ids[0])
    for gid in ids:
        if root.locate(gid) is not where:
            raise StructureError("the nodes to enclose must all be in one diagram")
        gn = where.nodes[gid]
        if gn.is_input or gn.is_output:
            raise StructureError(f"node {gn.label} is a graph {'input' if gn.is_input else 'output'}: terminals "
                                 f"stay where they are; leave it out of the selection")
    box = _bbox(where, ids)
    pos = (box[0] - margin, box[1] - margin) if box is not None else None
    size = (box[2] - box[0] + 2 * margin, box[3] - box[1] + 2 * margin) if box is not None else None
    with root.transaction():
        if kind == "for":
            sid = where.add_for_loop(name, pos=pos, size=size)
        elif kind == "while":
            sid = where.add_while_loop(name, pos=pos, size=size)
        elif kind == "case":
            sid = where.add_case((False, True), name=name, pos=pos, size=size)
        else:
            raise StructureError(f"kind must be 'for', 'while' or 'case', got {kind!r}")
        st = Structure(where, sid)
        move_nodes(root, ids, st.diagram(1 if kind == "case" else 0))
    return sid
