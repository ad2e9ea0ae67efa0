"""The layer-node recipe: ``LayerDecl`` (a keyword declaration) -> ``layer_node`` (a node class).

A layer node takes model wires (``SymbolicTensor`` s) and gives model wires: at run time it
makes its Keras layer from its parameters (named after the node, see
``_model_wires.layer_name``) and records the call without building weights; the Model node
builds the model. Its static output types come from the layer's own
``compute_output_shape`` on the wired shapes (``static_shapes``): the layer is made with
zero initializers (nothing is drawn, NumPy's zeros are not even touched) and built, so that
every check of ``build`` and ``compute_output_shape`` runs before the graph does. A layer
refusing the wired shapes raises its ``LayerError`` (naming the layer and the shapes), which
the graph's validation reports as a "bad-shape" problem.

Port families (``ports``): ``single`` (``x``), ``merge`` (``x1``, ``x2``, optional ``x3``,
``x4``: a list), ``attention`` (``query``, ``value``, optional ``key`` and
``attention_mask``), ``wrapper`` (``x`` and ``layer``: a sub-model wire, see TimeDistributed),
``variadic`` (``x1``, optional ``x2`` to ``x4``: one tensor, or a list of several; the ONNX
operator layers whose other operands may be constants).
Outputs are ``y`` and, for layers with several outputs, the ports ``output_names(params)``
lists in the order of the layer's outputs; a port the parameters leave empty carries None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from haibal_py.errors import HaibalError, LayerError, ParameterError
from haibal_py.node import Instance, Node, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import ANY, PortType
from haibal_py.numeric.layers import Layer
from haibal_py.numeric.layers.symbolic import call_symbolic

from ._keras_args import ARGS, REQUIRED, KerasArg, keras_default, with_doc
from ._model_wires import as_tensor, layer_name

__all__ = ["LayerDecl", "declaration", "layer_node", "static_shapes", "Y"]

Y = "y"
UNKNOWN = PortType("model", 1, None)  # a model wire whose shape is not known statically
_PORTS = ("single", "merge", "variadic", "attention", "wrapper")


@dataclass(frozen=True, kw_only=True)
class LayerDecl:
    """One layer node: the Keras class, the arguments shown, the ports and the help page.

    ``args`` lists the Keras constructor arguments shown as parameters, in order: a name of
    ``_keras_args.ARGS``, or ``(name, table key)`` for a variant. Defaults come from the
    layer class's signature; ``defaults`` gives values (in the node's form) to arguments
    Keras requires, and may override others. ``docs`` overrides an argument's help.
    ``call_args`` are parameters passed to the layer's call, not to its constructor
    (MultiHeadAttention's ``return_attention_scores``). ``make(kwargs, values)`` replaces the
    constructor when the layer is built from other layers (wrappers)."""

    name: str
    layer: type
    description: str
    args: tuple = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    docs: Mapping[str, str] = field(default_factory=dict)
    use_cases: tuple[str, ...] = ()
    ranks: tuple[int, int | None] = (2, None)
    ports: str = "single"
    outputs: tuple[tuple[str, str], ...] = ((Y, "the layer's output (a model wire)."),)
    output_names: Callable[[Mapping[str, Any]], tuple[str, ...]] | None = None
    call_args: tuple[str, ...] = ()
    make: Callable[[dict, dict], Layer] | None = None
    weights: bool = True
    x_doc: str = "the layer's input (a model wire)."
    display_name: str = ""
    #: the class whose defaults fill the parameters (wrappers: the wrapped layer's)
    defaults_from: type | None = None

    def __post_init__(self):
        if self.ports not in _PORTS:
            raise ValueError(f"{self.name}: ports must be one of {_PORTS}, got {self.ports!r}")

    # -- parameters
    def arg_specs(self) -> list[tuple[str, KerasArg]]:
        """(parameter name, KerasArg) of every parameter, common ones last."""
        items = [a if isinstance(a, tuple) else (a, a) for a in self.args]
        items += [("trainable", "trainable")] if self.weights else []
        items += [("dtype", "dtype")]
        return [(name, with_doc(ARGS[key], self.docs.get(name))) for name, key in items]

    def params(self) -> tuple:
        out = []
        source = self.defaults_from or self.layer
        for name, arg in self.arg_specs():
            if name in self.defaults:
                out.append(arg.param_shown(name, self.defaults[name]))
                continue
            if name in ("trainable", "dtype"):
                default = _common_default(name)
            else:
                default = keras_default(source, name, "compute_output_shape" if name in self.call_args else "__init__")
            if default is REQUIRED:
                raise ValueError(f"{self.name}: Keras requires {name!r}; give it a value in defaults")
            out.append(arg.param(name, default))
        return tuple(out)

    def kwargs(self, values: Mapping[str, Any]) -> tuple[dict, dict]:
        """(constructor kwargs, call kwargs) from a node's parameter values."""
        ctor, call = {}, {}
        for name, arg in self.arg_specs():
            try:
                value = arg.value(values[name])
            except ValueError as exc:
                raise ParameterError(f"parameter {name!r}: {exc}") from None
            (call if name in self.call_args else ctor)[name] = value
        return ctor, call

    def port_names(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The output ports the layer's outputs go to, in order."""
        if self.output_names is not None:
            return self.output_names(params)
        return (Y,)

    def input_ports(self) -> tuple[Port, ...]:
        wire = PortType("model", *self.ranks)
        if self.ports == "single":
            return (Port("x", wire, self.x_doc),)
        if self.ports == "merge":
            return (Port("x1", wire, "the first input (a model wire)."),
                    Port("x2", wire, "the second input (a model wire)."),
                    Port("x3", wire, "an optional third input.", default=None),
                    Port("x4", wire, "an optional fourth input.", default=None))
        if self.ports == "variadic":
            return (Port("x1", wire, "the first computed operand (a model wire)."),
                    Port("x2", wire, "an optional second computed operand.", default=None),
                    Port("x3", wire, "an optional third computed operand.", default=None),
                    Port("x4", wire, "an optional fourth computed operand.", default=None))
        if self.ports == "attention":
            return (Port("query", wire, "the query sequence (batch, target length, features)."),
                    Port("value", wire, "the value sequence (batch, source length, features)."),
                    Port("key", wire, "optional keys (batch, source length, features); none: value.",
                         default=None),
                    Port("attention_mask", PortType("model", 1, None), "optional boolean mask (batch, target "
                         "length, source length): 1 where a query may attend to a key.", default=None))
        return (Port("x", wire, self.x_doc),
                Port("layer", PortType("model", 1, None), "the layer applied to each time step: the output wire "
                     "of a chain of layer nodes that starts at its own Input (the shape of one step)."))

    def pack(self, values: Mapping[str, Any]) -> tuple[Any, dict]:
        """The layer call's inputs (one tensor or a list) and tensor call arguments."""
        if self.ports in ("single", "wrapper"):
            return as_tensor(values["x"], "x"), {}
        if self.ports == "merge":
            return [as_tensor(values[p], p) for p in ("x1", "x2", "x3", "x4")
                    if p in ("x1", "x2") or values.get(p) is not None], {}
        if self.ports == "variadic":
            ins = [as_tensor(values[p], p) for p in ("x1", "x2", "x3", "x4") if p == "x1" or values.get(p) is not None]
            return (ins[0] if len(ins) == 1 else ins), {}
        ins = [as_tensor(values["query"], "query"), as_tensor(values["value"], "value")]
        if values.get("key") is not None:
            ins.append(as_tensor(values["key"], "key"))
        extra = {}
        if values.get("attention_mask") is not None:
            extra["attention_mask"] = as_tensor(values["attention_mask"], "attention_mask")
        return ins, extra

    def make_layer(self, ctor: dict, values: Mapping[str, Any], name: str) -> Layer:
        if self.make is not None:
            return self.make({**ctor, "name": name}, dict(values))
        return self.layer(name=name, **ctor)


def _common_default(name: str):
    return True if name == "trainable" else "float32"


# ---------------------------------------------------------------------------- static shapes
_DECLS: dict[str, LayerDecl] = {}


def declaration(name: str) -> LayerDecl:
    """The declaration of the layer node ``haibal.layers.<name>`` (KeyError when there is none)."""
    return _DECLS[name]


def _zero_initializers(decl: LayerDecl, ctor: dict) -> dict:
    """The constructor arguments with every initializer replaced by zeros (nothing drawn)."""
    forms = {name: arg.form for name, arg in decl.arg_specs()}
    return {k: ("zeros" if forms.get(k) == "initializer" else v) for k, v in ctor.items()}


@lru_cache(maxsize=2048)
def _static(decl_name: str, params: tuple, shapes: tuple) -> tuple:
    decl = _DECLS[decl_name]
    values = dict(params)
    try:
        ctor, call = decl.kwargs(values)
        ctor = _zero_initializers(decl, ctor)
        named = dict(shapes)
        if decl.ports == "wrapper":
            return ("ok", _wrapper_shapes(named))
        layer = decl.make_layer(ctor, {}, decl.layer.__name__)
        if decl.ports == "single":
            arg = named["x"]
        elif decl.ports == "merge":
            arg = [named[p] for p in ("x1", "x2", "x3", "x4") if p in named]
        elif decl.ports == "variadic":
            arg = [named[p] for p in ("x1", "x2", "x3", "x4") if p in named]
            arg = arg[0] if len(arg) == 1 else arg
        else:
            arg = [named["query"], named["value"]] + ([named["key"]] if "key" in named else [])
        layer.build(arg)
        layer.built = True
        out = layer.compute_output_shape(arg, **call) if call else layer.compute_output_shape(arg)
        return ("ok", out if isinstance(out, list) else [out])
    except HaibalError as exc:
        # the layer is named after its class here: "Conv2D (Conv2D) expects ..." reads "Conv2D expects ..."
        # (kept as type and text: a cached exception object raised again would pile up tracebacks)
        cls = decl.layer.__name__
        return ("error", (type(exc), str(exc).replace(f"{cls} ({cls})", cls)))


def _wrapper_shapes(named) -> list:
    """TimeDistributed statically: the inner wire's output shape after the batch and time axes."""
    x, inner = named["x"], named["layer"]
    if len(x) < 3:
        raise LayerError(f"TimeDistributed expects an input of rank 3 or more "
                         f"(batch, time, ...), got shape {x}")
    return [tuple(x[:2]) + tuple(inner[1:])]


def static_shapes(decl: LayerDecl, wired: Mapping[str, PortType], params: Mapping[str, Any]) -> list | None:
    """The layer's output shapes for the wired shapes (None when a shape is not known
    statically); the layer's LayerError when it refuses them."""
    shapes = {}
    for port in decl.input_ports():
        if port.name == "attention_mask":
            continue  # a mask does not change the output's shape
        t = wired.get(port.name)
        if t is not None and t.kind == "model" and t.shape is not None:
            shapes[port.name] = t.shape
        elif port.required or (t is not None and not t.is_any):
            return None  # a wire whose shape is not known statically
    key = tuple(sorted(params.items(), key=lambda kv: kv[0]))
    status, result = _static(decl.name, key, tuple(sorted(shapes.items())))
    if status == "error":
        error_type, message = result
        raise _renamed(error_type, message)
    return result


# ---------------------------------------------------------------------------- the recipe
def layer_node(decl: LayerDecl, *, category: str, module: str, prefix: str = "haibal.layers") -> type[Node]:
    """A registered node class ``<prefix>.<decl.name>`` for ``decl``."""
    _DECLS[decl.name] = decl
    display = decl.display_name or decl.name
    inputs = decl.input_ports()
    outputs = tuple(Port(name, PortType("model"), doc) for name, doc in decl.outputs)

    def node_layer_name(node_name: str) -> str:
        return layer_name(node_name, display, decl.layer.__name__)

    def compute(node: Node, values: dict) -> dict:
        ctor, call = decl.kwargs(node.values)
        layer = decl.make_layer(ctor, values, node_layer_name(node.name))
        args, tensors = decl.pack(values)
        out = call_symbolic(layer, args, build=False, **tensors, **call)
        outs = out if isinstance(out, list) else [out]
        names = decl.port_names(node.values)
        result = {port.name: None for port in outputs}
        for port, tensor in zip(names, outs):
            result[port] = tensor
        return result

    def output_rule(port: str):
        def rule(wired, params) -> PortType:
            if params is None:
                return PortType("model")
            names = decl.port_names(params)
            if port not in names:
                return ANY  # an output the parameters leave empty
            shapes = static_shapes(decl, wired, params)
            if shapes is None:
                return UNKNOWN
            return PortType.with_shape("model", shapes[names.index(port)])
        return rule

    instance = Instance("layer", {p.name: p.type for p in inputs}, {p.name: output_rule(p.name) for p in outputs},
                        compute, "model wires in -> the layer's model wires out")
    return declare_node(type_id=f"{prefix}.{decl.name}", category=category, display_name=display,
                        description=decl.description, use_cases=decl.use_cases, module=module,
                        class_name=f"{decl.name}Node", inputs=inputs, outputs=outputs, params=decl.params(),
                        instances=(instance,))


def _renamed(error_type: type, message: str) -> HaibalError:
    """A new error of ``error_type`` (a LayerError when that type takes more than a message)."""
    try:
        return error_type(message)
    except TypeError:
        return LayerError(message)
