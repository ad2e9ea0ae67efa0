"""Graph terminals: the named inputs and outputs of a graph (LabVIEW's controls and indicators).

They are catalog nodes, so the editor shows them and files store them like any other
node; the node's ``name`` is the terminal's name. Each declares the port type of its
value in the ``type`` parameter (``float[2]``, ``seq<int[1+]>``, ``any``); their instances'
type rules read it, so the static type check treats them like any other node.

- ``haibal.io.GraphInput``: no input port, one output ``value``. Its value is given to
  ``Runtime.run(inputs={name: value})`` or ``haibal run --input NAME=FILE``; otherwise its
  ``default`` parameter is used (so a saved example runs with no argument).
- ``haibal.io.GraphOutput``: one input ``value``, no output; the runtime returns what
  reaches it under its name.
"""

from __future__ import annotations

import numpy as np

from ..errors import HaibalValueError
from ..files.limits import Limits
from ..node.base import HelpText, Instance, Node, Param, Port
from ..node.registry import register
from ..node.types import ANY, Batches, PortType

__all__ = ["Constant", "GraphInput", "GraphOutput", "INPUT_TYPE_ID", "OUTPUT_TYPE_ID", "Terminal", "VALUE", "as_declared"]

VALUE = "value"
INPUT_TYPE_ID = "haibal.io.GraphInput"
OUTPUT_TYPE_ID = "haibal.io.GraphOutput"


def _check_type_text(text: str) -> None:
    try:
        PortType.parse(str(text))
    except ValueError:
        raise ValueError(f"must be a port type such as float, int[1], float[2+] or seq<float[2]>, "
                         f"got {text!r}") from None


_TYPE_PARAM = Param("type", "str", "any", "the port type of the value: float, int[1], float[2+], "
                    "seq<float[2]> (a sequence of batches), any.", check=_check_type_text)
_DOC_PARAM = Param("doc", "str", "", "what the value is, shown in `haibal info` and the editor.")


def _declared(params) -> PortType:
    """A terminal's declared type from its parameters (``any`` at class level)."""
    return PortType.parse(params["type"]) if params is not None else ANY


class Terminal(Node):
    """A graph input or output: its port type is its ``type`` parameter."""

    #: True for graph inputs, False for graph outputs
    is_input: bool = True

    @property
    def declared_type(self) -> PortType:
        return _declared(self.values)


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


def _emit_default(node: Node, values: dict) -> dict:
    default = node.values["default"]
    if default is None:
        raise HaibalValueError(f"graph input {node.name!r} has no value and no default: "
                               f"give one (haibal run --input {node.name}=FILE)")
    return {VALUE: as_declared(default, node.declared_type)}


@register
class GraphInput(Terminal):
    """A named graph input (LabVIEW's control): its value comes from the caller or its default."""

    type_id = INPUT_TYPE_ID
    category = "Graph"
    display_name = "Graph Input"
    help = HelpText("A named input of the graph. Its value is given when the graph runs "
                    "(haibal run --input NAME=FILE, or Runtime.run(inputs={...})); without one, the "
                    "default is used.", ("Feed labels and predictions to an evaluation graph.",))
    is_input = True
    inputs = ()
    outputs = (Port(VALUE, ANY, "the value given to the graph for this input."),)
    params = (_TYPE_PARAM,
              Param("default", "array", None, "the value used when none is given; none: the input "
                    "must be given.", optional=True),
              _DOC_PARAM)
    instances = (Instance("value", {}, {VALUE: lambda wired, params: _declared(params)}, _emit_default,
                          "emits the graph input's value"),)


def _collect(node: Node, values: dict) -> dict:
    return {}


@register
class GraphOutput(Terminal):
    """A named graph output (LabVIEW's indicator): the runtime returns what reaches it."""

    type_id = OUTPUT_TYPE_ID
    category = "Graph"
    display_name = "Graph Output"
    help = HelpText("A named output of the graph: the value wired to it is returned by the run "
                    "(printed by haibal run, written by --output).", ("Return the mean loss of an evaluation.",))
    is_input = False
    inputs = (Port(VALUE, ANY, "the value returned under this output's name."),)
    outputs = ()
    params = (_TYPE_PARAM, _DOC_PARAM)
    instances = (Instance("value", {VALUE: _declared}, {}, _collect, "returns the value"),)


# ---------------------------------------------------------------------------- Constant
def _constant(node: Node, values: dict) -> dict:
    return {VALUE: node.values["value"]}


def _constant_type(wired, params) -> PortType:
    return PortType.of_value(params["value"]) if params is not None else ANY


@register
class Constant(Node):
    """A fixed scalar or array (LabVIEW's constant). In the core beside the terminals: expanding
    a collapsed subgraph turns an unwired input's default into one."""

    type_id = "haibal.io.Constant"
    category = "I/O"
    display_name = "Constant"
    help = HelpText("A fixed value: a scalar or an array of numbers, typed by what it holds "
                    "(1.5 is float[0], [1, 2] is int[1]). Small arrays are stored in the graph "
                    "file, large ones in a .npz next to it.",
                    ("Labels of a small worked example.", "A threshold or a class weight."))
    outputs = (Port(VALUE, ANY, "the value."),)
    params = (Param("value", "array", 0.0, "the value: a number or a (nested) list of numbers."),
              Param("dtype", "enum", "auto", "convert the value to this dtype (auto: keep it).",
                    choices=("auto", "float32", "float64", "int32", "int64", "bool")),)
    instances = (Instance("value", {}, {VALUE: _constant_type}, _constant, "emits the value"),)

    def set_param(self, name: str, value) -> None:
        super().set_param(name, value)
        dtype = self.values.get("dtype", "auto")
        if self.values.get("value") is not None and dtype != "auto":
            self.values["value"] = np.asarray(self.values["value"]).astype(dtype)

    def check_limits(self, limits: Limits) -> None:
        """Its value's size, within ``max_value_bytes`` (a constant read from a file is one)."""
        value = np.asarray(self.values["value"])
        limits.check_value(value.shape, value.itemsize, f"{self.label}: a value of shape {value.shape}")
