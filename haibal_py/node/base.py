"""The polymorphic, VI-like node model (headless: no Qt here).

A node class declares, as class attributes:

- ``inputs`` / ``outputs``: ``Port`` s (name, type shown on the node, doc, default);
- ``params``: ``Param`` s, the values set on the node itself (LabVIEW constants wired
  to a terminal, shown as widgets by the editor);
- ``instances``: ``Instance`` s, the polymorphic variants (LabVIEW's polymorphic VI
  instances). Each gives the port types it accepts and the function that computes it.
  A port type may be a *rule*: an input rule ``rule(params) -> PortType`` (a terminal's
  declared type) and an output rule ``rule(wired, params) -> PortType`` (reshape's rank
  follows its ``shape`` parameter), so the static type check follows the parameters.

``Node.select`` is the ONE place an instance is picked: pinned by name (LabVIEW's
polymorphic selector, ``node.instance = "batch"``) or the best automatic fit for the
wired types (exact fits before coercions, sequences of batches to batch ports). When
nothing fits, a ``PortTypeError`` names the node and the port, before anything runs.

Hooks a node class may declare, all with defaults here (no ``hasattr`` anywhere):

- ``volatile`` + ``cache_token()``: the node reads the outside world (a file); the runtime
  re-runs it when the token changes;
- ``stateful`` + ``state``: arrays that persist across runs and are saved with the graph
  (a model's weights, an optimizer's slots); ``get_state`` / ``set_state``;
- ``replaces``: type ids this class had before a rename, so old graph files still load;
- ``dynamic_ports``: each node has ports of its own besides the class's (a structure's
  tunnels): ``node.inputs`` / ``node.outputs`` / ``node.instances`` are the node's, and
  ``node.input(name)`` looks there (on the class, ``cls.input(name)`` the declared ones);
- ``static_output_types(instance, wired)`` / ``static_inner_types(wired)``: the static
  type check's questions, answered from the instance's type rules by default (a structure
  answers from its diagrams);
- ``files()``: the files the node would read or write (``FileUse`` s), from its parameters
  alone: validation lists them and the runtime checks them against its file policy
  before anything runs;
- ``check_limits(limits)``: refuse, from the parameters alone, what would exceed the
  resource limits (a source's output size), before anything runs;
- ``context``: the ``RunContext`` of the run computing the node (progress, live values,
  stop requests, the graph's folder, file policy and limits), set by the runtime;
- mergeable outputs: an instance whose output is the result of an accumulator (a
  stateful metric fed batch after batch) hands the accumulator to
  ``context.mergeable(output, state)``. Runs of the graph over several shards of the
  data then merge those states (``state.merge_state([...])``, ``state.result()``), so
  the merged output equals one run over the concatenated data (``haibal_py.distributed``);
  ``Instance.passes`` names outputs that are an input unchanged (viewers), so a merged
  state flows through them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from ..errors import HaibalError, ParameterError, PortTypeError
from ..files.limits import DEFAULT_LIMITS, Limits
from ..files.policy import FilePolicy, FileUse
from .types import ANY, PortType

AUTOMATIC = "automatic"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()  # an input with no default must be wired


@dataclass(frozen=True)
class Port:
    """An input or output terminal."""

    name: str
    type: PortType = ANY
    doc: str = ""
    default: Any = REQUIRED
    display_name: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def label(self) -> str:
        return self.display_name or self.name


_PARAM_KINDS = ("bool", "int", "float", "str", "enum", "array")


@dataclass(frozen=True)
class Param:
    """A value set on the node: ``kind`` is bool, int, float, str, enum (with ``choices``)
    or array (a numeric/bool NumPy array, e.g. a constant's value).

    ``check(value)``, when given, validates a value already converted to the kind (a
    reshape's shape text, an index) and raises ``ValueError`` with the reason; the value
    is refused before it is stored.
    """

    name: str
    kind: str
    default: Any = None
    doc: str = ""
    choices: tuple = ()
    optional: bool = False  # None is allowed (e.g. ignore_class)
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in _PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    def coerce(self, value, owner: str = "") -> Any:
        """``value`` checked and converted for this parameter; ParameterError otherwise."""
        where = f"{owner}: " if owner else ""
        if value is None:
            if self.optional:
                return None
            raise ParameterError(f"{where}parameter {self.name!r} needs a value ({self.kind})")
        kind = self.kind
        ok = True
        if kind == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                value = value.lower() in ("true", "1")
            ok = isinstance(value, (bool, np.bool_))
            value = bool(value) if ok else value
        elif kind == "int":
            try:
                as_int = int(value)
                ok = not isinstance(value, (bool, np.bool_)) and float(value) == as_int
            except (TypeError, ValueError, OverflowError):
                ok = False
            value = as_int if ok else value
        elif kind == "float":
            try:
                value, ok = float(value), not isinstance(value, (bool, np.bool_))
            except (TypeError, ValueError, OverflowError):
                ok = False
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "enum":
            ok = isinstance(value, str) and value in self.choices
        elif kind == "array":
            try:  # text (an editor field, a command line) is read as JSON: "[1, 2]", "0.5"
                arr = np.asarray(json.loads(value) if isinstance(value, str) else value)
                ok = arr.dtype.kind in "biuf"
            except (TypeError, ValueError, RecursionError, OverflowError):  # JSONDecodeError is a ValueError
                ok = False
            value = arr if ok else value
        if not ok:
            want = (f"one of {list(self.choices)}" if kind == "enum" else "an int" if kind == "int"
                    else "a numeric or bool array" if kind == "array" else f"a {kind}")
            raise ParameterError(f"{where}parameter {self.name!r} must be {want}, got {_short(value)}")
        if kind in ("int", "float"):
            bounded = self.minimum is not None or self.maximum is not None
            if kind == "float" and bounded and math.isnan(value):
                raise ParameterError(f"{where}parameter {self.name!r} must be a number in "
                                     f"{self._bounds()}, got nan")
            if self.minimum is not None and value < self.minimum:
                raise ParameterError(f"{where}parameter {self.name!r} must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise ParameterError(f"{where}parameter {self.name!r} must be <= {self.maximum}, got {value!r}")
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise ParameterError(f"{where}parameter {self.name!r}: {exc}") from None
        return value

    def _bounds(self) -> str:
        lo = "-inf" if self.minimum is None else self.minimum
        hi = "inf" if self.maximum is None else self.maximum
        return f"[{lo}, {hi}]"


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


InputRule = Callable[["Mapping[str, Any] | None"], PortType]
OutputRule = Callable[[Mapping[str, PortType], "Mapping[str, Any] | None"], PortType]


@dataclass(frozen=True)
class Instance:
    """One polymorphic variant: the port types it accepts and the function computing it.

    ``compute(node, values)`` receives the node (for its parameters and context) and a
    dict of input values, and returns a dict of output values. Each input type is a
    ``PortType`` or a rule ``rule(params)``; each output type a ``PortType`` or a rule
    ``rule(wired, params)``. Rules get ``params=None`` when asked at class level (help
    pages): they answer conservatively then.
    """

    name: str
    inputs: Mapping[str, PortType | InputRule]
    outputs: Mapping[str, PortType | OutputRule]
    compute: Callable[["Node", dict], dict]
    doc: str = ""
    #: output -> input it returns unchanged (a viewer's pass-through): a mergeable state
    #: reported for that input's value holds for the output too
    passes: Mapping[str, str] = field(default_factory=dict)

    def input_types(self, params: Mapping[str, Any] | None = None) -> dict[str, PortType]:
        return {k: (t(params) if callable(t) else t) for k, t in self.inputs.items()}

    def output_types(self, wired: Mapping[str, PortType], params: Mapping[str, Any] | None = None
                     ) -> dict[str, PortType]:
        return {k: (t(wired, params) if callable(t) else t) for k, t in self.outputs.items()}


@dataclass(frozen=True)
class HelpText:
    """A function page in HAIBAL's form: description, terminals, use cases. ``terminals``:
    (name, what it is) of the terminals a structure has on its border and inside, besides
    its ports (LabVIEW's count, iteration and conditional terminals, tunnels, shift registers)."""

    description: str
    use_cases: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()
    terminals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Selection:
    """The instance picked for some wired types, and the wires that coerce."""

    instance: Instance
    coerced: tuple[str, ...] = ()


class RunContext:
    """What a running node may ask of the run computing it. This one is the no-op context
    of a direct call (``node(...)``); the runtime gives each node one of its own."""

    #: the folder relative file paths start from (the graph file's folder), if any
    base_dir: Path | None = None
    #: the resource limits of the run (sizes a node checks before allocating, loop counts)
    limits: Limits = DEFAULT_LIMITS
    #: the folders the run may read and write besides the graph's (None: unchecked, a direct call)
    policy: FilePolicy | None = None

    def progress(self, done: int, total: int) -> None:
        """Report progress of a long computation (batches done of total)."""

    def emit(self, kind: str, payload: Any) -> None:
        """Stream a live value to the run's observers (a training curve's new points)."""

    def should_stop(self) -> bool:
        """True when the user asked the run to stop: end cleanly at the next step."""
        return False

    @property
    def observed(self) -> bool:
        """True when someone listens to ``emit`` (skip building values nobody reads)."""
        return False

    def mergeable(self, output: str, state: Any) -> None:
        """Say that ``output``'s value is ``state.result()`` and merges over runs on shards.

        ``state`` is the accumulator that gave the value (a ``Metric``): a fresh object of
        this run, picklable, with ``merge_state(states)`` (adds other runs' states, as
        ``keras.metrics.Metric.merge_state``) and ``result()``. The runtime keeps it with
        the node's outputs (``RunResult.states``); a direct call (this context) drops it.
        """

    def resolve_path(self, raw: str, write: bool = False) -> Path:
        """A node's file parameter as a path, relative to ``base_dir``: checked against
        ``policy`` when there is one (``FileAccessError``), as the runtime's contexts do."""
        if self.policy is not None:
            return self.policy.resolve(raw, self.base_dir, "write" if write else "read")
        path = Path(raw).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = Path(self.base_dir) / path
        return path

    def run_inner(self, node: "Node", values: dict) -> dict:
        """Run a composite node's inner graph (a collapsed subgraph, a snippet node)."""
        if _INNER_RUNNER is None:
            raise PortTypeError(f"{node.label}: a composite node runs its inner graph through "
                                f"haibal_py.runtime (import haibal_py to install it)")
        return _INNER_RUNNER(node, values)

    def diagram(self, node: "Node", index: int):
        """A runner of diagram ``index`` of a structure ``node`` (a loop's body, a case):
        ``begin(fixed, varying)`` once per run of the structure, then ``step(values)`` per
        iteration, giving the values reaching the diagram's output terminals by name."""
        if _DIAGRAM_RUNNER is None:
            raise PortTypeError(f"{node.label}: a structure runs its diagrams through haibal_py.runtime "
                                f"(import haibal_py to install it)")
        return _DIAGRAM_RUNNER(node, index)


_INNER_RUNNER: Callable[["Node", dict], dict] | None = None
_DIAGRAM_RUNNER: Callable[["Node", int], Any] | None = None


def install_inner_runner(runner: Callable[["Node", dict], dict],
                         diagram_runner: Callable[["Node", int], Any] | None = None) -> None:
    """Called once by ``haibal_py.runtime`` (which lies above this layer): how a composite
    node called directly, outside a runtime, runs its inner graph, and a structure its diagrams."""
    global _INNER_RUNNER, _DIAGRAM_RUNNER
    _INNER_RUNNER = runner
    if diagram_runner is not None:
        _DIAGRAM_RUNNER = diagram_runner


NULL_CONTEXT = RunContext()


class _ClassOrNode:
    """A method that runs on the class when called on the class and on the node when
    called on a node: ``cls.input(name)`` finds a declared port, ``node.input(name)`` also
    one of the node's own ports (``dynamic_ports``)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, owner):
        return self.fn.__get__(obj if obj is not None else owner)


class Node:
    """Base class of every node. Subclasses only declare; see the module docstring."""

    type_id: ClassVar[str] = ""
    #: type ids this class had before (renamed nodes still load from old files)
    replaces: ClassVar[tuple[str, ...]] = ()
    category: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    help: ClassVar[HelpText] = HelpText("")
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    instances: ClassVar[tuple[Instance, ...]] = ()
    #: the node reads the outside world: the runtime compares ``cache_token()`` before reusing it
    volatile: ClassVar[bool] = False
    #: the node keeps ``state`` (arrays) across runs, saved with the graph
    stateful: ClassVar[bool] = False
    #: each node has ports of its own (``node.inputs``/``outputs``/``instances``): a structure's tunnels
    dynamic_ports: ClassVar[bool] = False

    #: set by the runtime while the node computes; the no-op context otherwise
    context: RunContext = NULL_CONTEXT

    def __init__(self, name: str | None = None, *, instance: str = AUTOMATIC, **params):
        self.name = name or self.display_name or type(self).__name__
        self.values: dict[str, Any] = {p.name: p.default for p in self.params}
        self.state: dict[str, np.ndarray] = {}
        for key, value in params.items():
            self.set_param(key, value)
        self.instance = instance

    # -- declarations looked up by name
    @classmethod
    def _find(cls, items, name: str, what: str, plural: str, error: type):
        for item in items:
            if item.name == name:
                return item
        known = ", ".join(i.name for i in items) or "none"
        raise error(f"{cls.display_name or cls.__name__} has no {what} {name!r} ({plural}: {known})")

    @_ClassOrNode
    def input(self, name: str) -> Port:
        return self._find(self.inputs, name, "input port", "inputs", PortTypeError)

    @_ClassOrNode
    def output(self, name: str) -> Port:
        return self._find(self.outputs, name, "output port", "outputs", PortTypeError)

    @classmethod
    def param(cls, name: str) -> Param:
        return cls._find(cls.params, name, "parameter", "parameters", ParameterError)

    @classmethod
    def port_types_text(cls, name: str) -> str:
        """The types an input accepts, across instances (``int[0] | int[1+]``)."""
        seen = []
        for inst in cls.instances:
            t = inst.inputs.get(name)
            if t is not None:
                text = str(cls.input(name).type if callable(t) else t)
                if text not in seen:
                    seen.append(text)
        return " | ".join(seen) if seen else str(cls.input(name).type)

    @classmethod
    def instance_names(cls) -> tuple[str, ...]:
        return tuple(i.name for i in cls.instances)

    # -- hooks (defaults)
    def files(self) -> list[FileUse]:
        """The files this node would read or write, from its parameters alone (paths as
        written); checked against the run's file policy before anything runs."""
        return []

    def check_limits(self, limits: Limits) -> None:
        """Raise ``LimitError`` when this node's parameters alone ask for more than
        ``limits`` allow (a source's output size); called before anything runs."""

    def cache_token(self) -> Any:
        """For ``volatile`` nodes: a value that changes when what the node reads changes."""
        return None

    def static_output_types(self, instance: Instance, wired: Mapping[str, PortType]) -> dict[str, PortType]:
        """The output types of ``instance`` for these wired input types, before anything runs:
        its type rules. A node whose outputs depend on more than its parameters (a
        structure: its diagrams) answers from that."""
        return instance.output_types(wired, self.values)

    def static_inner_types(self, wired: Mapping[str, PortType]) -> list:
        """The static types inside a node holding graphs typed from its inputs (a structure's
        diagrams, as ``TypeInfo`` s of the graph layer), listed with the graph's own; [] here."""
        return []

    def get_state(self) -> dict[str, np.ndarray]:
        """The node's persistent arrays (``stateful`` nodes), by key."""
        return dict(self.state)

    def state_digest(self) -> str:
        """A digest of ``state`` (keys, dtypes, shapes, bytes): equal digests, equal states, so
        an editor can tell whether a run left something new to save."""
        h = hashlib.blake2b(digest_size=16)
        for key, value in sorted(self.get_state().items()):
            arr = np.ascontiguousarray(value)
            h.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
            h.update(arr.data)
        return h.hexdigest()

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Replace the node's persistent arrays (read from a graph's array file)."""
        if not self.stateful and state:
            raise ParameterError(f"{self.label} keeps no state, got {', '.join(map(str, state))}")
        clean = {}
        for key, value in state.items():
            arr = np.asarray(value)
            if not isinstance(key, str) or not key or arr.dtype.kind not in "biuf":
                raise ParameterError(f"{self.label}: state {key!r} must be a named numeric array")
            clean[key] = arr
        self.state = clean

    # -- parameters and instance
    @property
    def instance(self) -> str:
        return self._instance

    @instance.setter
    def instance(self, name: str) -> None:
        if name != AUTOMATIC and name not in self.instance_names():
            raise ParameterError(f"{self.label}: unknown instance {name!r}; "
                                 f"choose {AUTOMATIC!r} or one of {list(self.instance_names())}")
        self._instance = name

    def set_param(self, name: str, value) -> None:
        self.values[name] = self.param(name).coerce(value, self.label)

    def __getitem__(self, name: str):
        return self.values[name]

    @property
    def label(self) -> str:
        """How messages name this node: its name, and its type when they differ."""
        kind = self.display_name or type(self).__name__
        return kind if self.name == kind else f"{self.name!r} ({kind})"

    # -- polymorphic selection
    def select(self, wired: Mapping[str, PortType]) -> Selection:
        """The instance for these wired input types (pinned, or the best automatic fit).

        Ranking: fewest sequences of batches taken by a plain ``any`` port (a batch
        instance is meant for them), then fewest coercions, then declaration order.
        """
        for port in wired:
            self.input(port)  # unknown port -> clear error
        candidates = self.instances
        if self.instance != AUTOMATIC:
            candidates = tuple(i for i in self.instances if i.name == self.instance)
        best, best_rank, why = None, None, []
        for inst in candidates:
            accepts = inst.input_types(self.values)
            coerced, loose, fails = [], 0, []
            for port, src in wired.items():
                dst = accepts.get(port)
                if dst is None:
                    fails.append(f"port {port!r} is not used by this instance")
                    continue
                res = src.check(dst)
                if not res.ok:
                    fails.append(f"port {port!r} expects {dst}, got {src}")
                    continue
                if res.coerced:
                    coerced.append(port)
                if src.sequence and not dst.sequence:
                    loose += 1
            if fails:
                why.append(f"{inst.name}: " + "; ".join(fails))
                continue
            rank = (loose, len(coerced))
            if best is None or rank < best_rank:
                best, best_rank = Selection(inst, tuple(coerced)), rank
        if best is None:
            if self.instance != AUTOMATIC:
                raise PortTypeError(f"{self.label}, instance {self.instance!r}: {why[0].split(': ', 1)[1]}")
            raise PortTypeError(f"{self.label}: no instance accepts these inputs ({' | '.join(why)})")
        return best

    def output_types(self, wired: Mapping[str, PortType]) -> dict[str, PortType]:
        return self.select(wired).instance.output_types(wired, self.values)

    # -- running
    def bind(self, inputs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, PortType]]:
        """(input values with defaults filled in, the types the selection sees): wired
        inputs, and unwired ones whose default is not None."""
        values = {}
        for port in self.inputs:
            if port.name in inputs:
                values[port.name] = inputs[port.name]
            elif port.required:
                raise PortTypeError(f"{self.label}: required input {port.name!r} is not wired")
            else:
                values[port.name] = port.default
        if len(values) < len(inputs):
            self.input(sorted(set(inputs) - set(values))[0])  # unknown port -> clear error
        wired = {k: PortType.of_value(v) for k, v in values.items() if k in inputs or v is not None}
        return values, wired

    def compute(self, instance: Instance, values: dict) -> dict[str, Any]:
        """``instance.compute(self, values)``, naming the node in any haibal error."""
        try:
            return instance.compute(self, values)
        except HaibalError as exc:  # name the node in the message, keep the type
            if str(exc).startswith(self.label):
                raise
            raise _renamed(exc, f"{self.label}: {exc}") from exc

    def run(self, **inputs) -> dict[str, Any]:
        """Compute the outputs from input values (defaults fill unwired inputs)."""
        values, wired = self.bind(inputs)
        return self.compute(self.select(wired).instance, values)

    __call__ = run

    # -- help
    @classmethod
    def help_text(cls) -> str:
        """The node's help page, written like HAIBAL's function pages."""
        name = cls.display_name or cls.__name__
        lines = [name, "", textwrap.fill(cls.help.description, 88),
                 "Type : polymorphic." if len(cls.instances) > 1 else ""]
        lines += ["", "Input parameters"]
        # HAIBAL's form is "name : doc"; the exact port types follow in brackets
        for port in cls.inputs:
            default = "" if port.required else f", default {port.default!r}"
            lines.append(f" {port.name} : {port.doc} [{cls.port_types_text(port.name)}{default}]")
        for p in cls.params:
            choices = f" {list(p.choices)}" if p.choices else ""
            lines.append(f" {p.name} : {p.doc} [{p.kind}{choices}, default {p.default!r}]")
        lines += ["", "Output parameters"]
        lines += [f" {port.name} : {port.doc} [{port.type}]" for port in cls.outputs]
        if len(cls.instances) > 1:
            lines += ["", "Instances (picked from what is wired, or pinned)"]
            for inst in cls.instances:
                sig = ", ".join(f"{k}: {cls.input(k).type if callable(v) else v}" for k, v in inst.inputs.items())
                lines.append(f" {inst.name} ({sig}) : {inst.doc}")
        if cls.help.terminals:
            lines += ["", "Terminals"] + [f" {name} : {what}" for name, what in cls.help.terminals]
        if cls.help.use_cases:
            lines += ["", "Use cases"] + [f" - {u}" for u in cls.help.use_cases]
        return "\n".join(lines).strip() + "\n"


def _renamed(exc: HaibalError, message: str) -> HaibalError:
    """The same kind of error with a new message, keeping its attributes (a ``NodeRunError``'s
    node id and cause) where it can."""
    try:
        new = copy.copy(exc)
        new.args = (message,) + tuple(exc.args[1:])
        if str(new) == message:
            return new
    except Exception:  # an error type that cannot be copied so
        pass
    try:
        new = type(exc)(message)
    except TypeError:  # an error type whose constructor takes more than a message
        new = HaibalError(message)
    return new


__all__ = ["AUTOMATIC", "REQUIRED", "HelpText", "Instance", "InputRule", "Node", "NULL_CONTEXT", "OutputRule",
           "Param", "Port", "RunContext", "Selection", "install_inner_runner"]
