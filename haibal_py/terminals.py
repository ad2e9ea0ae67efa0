"""Graph terminals: the named inputs and outputs of a graph (LabVIEW's controls and indicators).

They are ordinary catalog nodes, so the editor shows them and files store them like any
other node; the node's ``name`` is the terminal's name. Each one declares the port type
of its value in the ``type`` parameter (``float[2]``, ``seq<int[1+]>``, ``any``), which
the graph's type propagation uses like any instance's port type.

- ``haibal.io.GraphInput``: no input port, one output ``value``. Its value is given to
  ``Runtime.run(inputs={name: value})`` or ``haibal run --input NAME=FILE``; otherwise its
  ``default`` parameter is used (so a saved example runs with no argument).
- ``haibal.io.GraphOutput``: one input ``value``, no output; the runtime returns what
  reaches it under its name.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import HaibalValueError, ParameterError
from .node import HelpText, Instance, Node, Param, Port, Selection
from .registry import register
from .types import ANY, Batches, PortType

VALUE = "value"
INPUT_TYPE_ID = "haibal.io.GraphInput"
OUTPUT_TYPE_ID = "haibal.io.GraphOutput"

_TYPE_PARAM = Param("type", "str", "any", "the port type of the value: float, int[1], float[2+], "
                    "seq<float[2]> (a sequence of batches), any.")
_DOC_PARAM = Param("doc", "str", "", "what the value is, shown in `haibal info` and the editor.")


class _Terminal(Node):
    """A node whose port type is a parameter (``type``) rather than a fixed declaration."""

    @property
    def declared_type(self) -> PortType:
        return PortType.parse(self.values["type"])

    def set_param(self, name: str, value) -> None:
        if name == "type":
            try:
                PortType.parse(str(value))
            except ValueError:
                raise ParameterError(f"{self.label}: parameter 'type' must be a port type such as "
                                     f"float, int[1], float[2+] or seq<float[2]>, got {value!r}") from None
        super().set_param(name, value)


def _emit_default(node: Node, values: dict) -> dict:
    default = node.values["default"]
    if default is None:
        raise HaibalValueError(f"graph input {node.name!r} has no value and no default: "
                               f"give one (haibal run --input {node.name}=FILE)")
    return {VALUE: as_declared(default, node.declared_type)}


def as_declared(value, declared: PortType):
    """A value shaped for a port declared ``declared``: an array fed to a ``seq<...>`` input
    becomes a ``Batches`` along its first axis (one batch per row)."""
    if declared.sequence and not isinstance(value, Batches):
        arr = np.asarray(value)
        if arr.ndim == 0:
            raise HaibalValueError(f"a sequence of batches ({declared}) needs an array with a batch axis, "
                                   f"got a scalar")
        return Batches(list(arr))
    return value


@register
class GraphInput(_Terminal):
    """A named graph input (LabVIEW's control): its value comes from the caller or its default."""

    type_id = INPUT_TYPE_ID
    category = "Graph"
    display_name = "Graph Input"
    help = HelpText("A named input of the graph. Its value is given when the graph runs "
                    "(haibal run --input NAME=FILE, or Runtime.run(inputs={...})); without one, the "
                    "default is used.", ("Feed labels and predictions to an evaluation graph.",))
    inputs = ()
    outputs = (Port(VALUE, ANY, "the value given to the graph for this input."),)
    params = (_TYPE_PARAM,
              Param("default", "array", None, "the value used when none is given; none: the input "
                    "must be given.", optional=True),
              _DOC_PARAM)
    instances = (Instance("value", {}, {VALUE: ANY}, _emit_default, "emits the graph input's value"),)

    def select(self, wired: Mapping[str, PortType]) -> Selection:
        for port in wired:
            self.input(port)
        out = self.declared_type
        return Selection(Instance("value", {}, {VALUE: out}, _emit_default, "emits the graph input's value"))


def _collect(node: Node, values: dict) -> dict:
    return {}


@register
class GraphOutput(_Terminal):
    """A named graph output (LabVIEW's indicator): the runtime returns what reaches it."""

    type_id = OUTPUT_TYPE_ID
    category = "Graph"
    display_name = "Graph Output"
    help = HelpText("A named output of the graph: the value wired to it is returned by the run "
                    "(printed by haibal run, written by --output).", ("Return the mean loss of an evaluation.",))
    inputs = (Port(VALUE, ANY, "the value returned under this output's name."),)
    outputs = ()
    params = (_TYPE_PARAM, _DOC_PARAM)
    instances = (Instance("value", {VALUE: ANY}, {}, _collect, "returns the value"),)

    def select(self, wired: Mapping[str, PortType]) -> Selection:
        for port in wired:
            self.input(port)
        want = self.declared_type
        src = wired.get(VALUE)
        if src is not None:
            res = src.check(want)
            if not res.ok:
                from .errors import PortTypeError
                raise PortTypeError(f"{self.label}: port 'value' expects {want}, got {src}")
            return Selection(Instance("value", {VALUE: want}, {}, _collect), ((VALUE,) if res.coerced else ()))
        return Selection(Instance("value", {VALUE: want}, {}, _collect))
