"""The polymorphic, VI-like node model (headless: no Qt here).

A node class declares, as class attributes:

- ``inputs`` / ``outputs``: ``Port`` s (name, type shown on the node, doc, default);
- ``params``: ``Param`` s, the values set on the node itself (LabVIEW constants wired
  to a terminal, shown as widgets by the editor);
- ``instances``: ``Instance`` s, the polymorphic variants (LabVIEW's polymorphic VI
  instances). Each gives the port types it accepts and the function that computes it.

The instance is picked from the types of what is wired, like LabVIEW's automatic
selection, or pinned by name (``node.instance = "batch"``, LabVIEW's polymorphic
selector; ``"automatic"`` restores picking). When nothing fits, a ``PortTypeError``
names the node and the port, before anything runs.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import HaibalError, ParameterError, PortTypeError
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
    or array (a numeric/bool NumPy array, e.g. a constant's value)."""

    name: str
    kind: str
    default: Any = None
    doc: str = ""
    choices: tuple = ()
    optional: bool = False  # None is allowed (e.g. ignore_class)
    minimum: float | None = None
    maximum: float | None = None

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
            ok = isinstance(value, bool) or (hasattr(value, "dtype") and value.dtype.kind == "b")
            value = bool(value) if ok else value
        elif kind == "int":
            try:
                as_int = int(value)
                ok = not isinstance(value, bool) and float(value) == as_int
            except (TypeError, ValueError):
                ok = False
            value = as_int if ok else value
        elif kind == "float":
            try:
                value, ok = float(value), not isinstance(value, bool)
            except (TypeError, ValueError):
                ok = False
        elif kind == "str":
            ok = isinstance(value, str)
        elif kind == "enum":
            ok = value in self.choices
        elif kind == "array":
            try:  # text (an editor field, a command line) is read as JSON: "[1, 2]", "0.5"
                arr = np.asarray(json.loads(value) if isinstance(value, str) else value)
                ok = arr.dtype.kind in "biuf"
            except (TypeError, ValueError):  # JSONDecodeError is a ValueError
                ok = False
            value = arr if ok else value
        if not ok:
            want = (f"one of {list(self.choices)}" if kind == "enum" else "an int" if kind == "int"
                    else "a numeric or bool array" if kind == "array" else f"a {kind}")
            raise ParameterError(f"{where}parameter {self.name!r} must be {want}, got {value!r}")
        if kind in ("int", "float"):
            if self.minimum is not None and value < self.minimum:
                raise ParameterError(f"{where}parameter {self.name!r} must be >= {self.minimum}, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise ParameterError(f"{where}parameter {self.name!r} must be <= {self.maximum}, got {value!r}")
        return value


OutputType = PortType | Callable[[Mapping[str, PortType]], PortType]


@dataclass(frozen=True)
class Instance:
    """One polymorphic variant: the port types it accepts and the function computing it.

    ``compute(node, inputs)`` receives the node (for its parameters) and a dict of input
    values, and returns a dict of output values. An output type may be a function of
    the wired input types (e.g. ``y_pred``'s rank minus one).
    """

    name: str
    inputs: Mapping[str, PortType]
    outputs: Mapping[str, OutputType]
    compute: Callable[["Node", dict], dict]
    doc: str = ""

    def output_types(self, wired: Mapping[str, PortType]) -> dict[str, PortType]:
        return {k: (t(wired) if callable(t) else t) for k, t in self.outputs.items()}


@dataclass(frozen=True)
class HelpText:
    """A function page in HAIBAL's form: description, terminals, use cases."""

    description: str
    use_cases: tuple[str, ...] = ()
    see_also: tuple[str, ...] = ()


@dataclass
class Selection:
    """The instance picked for some wired types, and the wires that coerce."""

    instance: Instance
    coerced: tuple[str, ...] = field(default_factory=tuple)


class Node:
    """Base class of every node. Subclasses only declare; see the module docstring."""

    type_id: ClassVar[str] = ""
    category: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    help: ClassVar[HelpText] = HelpText("")
    inputs: ClassVar[tuple[Port, ...]] = ()
    outputs: ClassVar[tuple[Port, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    instances: ClassVar[tuple[Instance, ...]] = ()

    #: set by a runtime to hear about long computations: ``progress(done, total)``
    progress: Callable[[int, int], None] | None = None

    def __init__(self, name: str | None = None, *, instance: str = AUTOMATIC, **params):
        self.name = name or self.display_name or type(self).__name__
        self.values: dict[str, Any] = {p.name: p.default for p in self.params}
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

    @classmethod
    def input(cls, name: str) -> Port:
        return cls._find(cls.inputs, name, "input port", "inputs", PortTypeError)

    @classmethod
    def output(cls, name: str) -> Port:
        return cls._find(cls.outputs, name, "output port", "outputs", PortTypeError)

    @classmethod
    def param(cls, name: str) -> Param:
        return cls._find(cls.params, name, "parameter", "parameters", ParameterError)

    @classmethod
    def port_types_text(cls, name: str) -> str:
        """The types an input accepts, across instances (``int[0] | int[1+]``)."""
        seen = []
        for inst in cls.instances:
            t = inst.inputs.get(name)
            if t is not None and str(t) not in seen:
                seen.append(str(t))
        return " | ".join(seen) if seen else str(cls.input(name).type)

    @classmethod
    def instance_names(cls) -> tuple[str, ...]:
        return tuple(i.name for i in cls.instances)

    # -- state
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

        Exact fits beat fits that coerce; among equals, the declaration order decides.
        """
        for port in wired:
            self.input(port)  # unknown port -> clear error
        candidates = self.instances
        if self.instance != AUTOMATIC:
            candidates = tuple(i for i in self.instances if i.name == self.instance)
        best, why = None, []
        for inst in candidates:
            coerced, fails = [], []
            for port, src in wired.items():
                if port not in inst.inputs:
                    fails.append(f"port {port!r} is not used by this instance")
                    continue
                dst = inst.inputs[port]
                res = src.check(dst)
                if not res.ok:
                    fails.append(f"port {port!r} expects {dst}, got {src}")
                elif res.coerced:
                    coerced.append(port)
            if fails:
                why.append(f"{inst.name}: " + "; ".join(fails))
            elif best is None or len(coerced) < len(best.coerced):
                best = Selection(inst, tuple(coerced))
        if best is None:
            if self.instance != AUTOMATIC:
                raise PortTypeError(f"{self.label}, instance {self.instance!r}: {why[0].split(': ', 1)[1]}")
            raise PortTypeError(f"{self.label}: no instance accepts these inputs ({' | '.join(why)})")
        return best

    def output_types(self, wired: Mapping[str, PortType]) -> dict[str, PortType]:
        return self.select(wired).instance.output_types(wired)

    # -- running
    def run(self, **inputs) -> dict[str, Any]:
        """Compute the outputs from input values (defaults fill unwired inputs)."""
        values = {}
        for port in self.inputs:
            if port.name in inputs:
                values[port.name] = inputs[port.name]
            elif port.required:
                raise PortTypeError(f"{self.label}: required input {port.name!r} is not wired")
            else:
                values[port.name] = port.default
        extra = set(inputs) - set(values)
        if extra:
            self.input(sorted(extra)[0])
        wired = {k: PortType.of_value(v) for k, v in values.items()
                 if k in inputs or values[k] is not None}
        inst = self.select(wired).instance
        try:
            return inst.compute(self, values)
        except HaibalError as exc:  # name the node in the message, keep the type
            raise type(exc)(f"{self.label}: {exc}") from exc

    __call__ = run

    # -- help
    @classmethod
    def help_text(cls) -> str:
        """The node's help page, written like HAIBAL's function pages."""
        name = cls.display_name or cls.__name__
        lines = [name, "", textwrap.fill(cls.help.description, 88), "Type : polymorphic." if len(cls.instances) > 1 else ""]
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
                sig = ", ".join(f"{k}: {v}" for k, v in inst.inputs.items())
                lines.append(f" {inst.name} ({sig}) : {inst.doc}")
        if cls.help.use_cases:
            lines += ["", "Use cases"] + [f" - {u}" for u in cls.help.use_cases]
        return "\n".join(line for line in lines).strip() + "\n"
