"""Keras constructor arguments as node parameters: one help text per argument, written once.

A layer node's parameters are its Keras class's constructor arguments, with Keras' names and
defaults (the defaults are read from the layer class's signature, which mirrors Keras'). Each
argument is shown as a ``Param`` of a simple kind, and converted back when the layer is made:

- numbers and switches: ``int``, ``float``, ``bool``;
- names: ``activation`` / ``*_activation`` (enum of ``haibal_py.activations``; Keras' None is
  "linear"), ``*_initializer`` (enum of the fifteen initializers' snake_case names),
  ``padding`` (enum), ``dtype`` (enum);
- sizes and axes as text, parsed here (never ``eval``): ``"3, 3"`` or ``"3"`` (a
  ``kernel_size``), ``""`` for None (a pooling layer's ``strides``), ``"(1, 1), (2, 2)"`` (a
  2-D padding), ``"None, 1, 64"`` (a ``noise_shape``);
- ``*_regularizer`` as text written like Keras code: ``""`` (none), ``"l2"``, ``"l2(0.001)"``,
  ``"l1_l2(l1=0.01, l2=0.01)"``.

``ARGS`` maps each argument name to its ``KerasArg``. Where Keras gives one name two meanings
(a pooling layer's ``strides`` may be None, ``ZeroPadding2D``'s ``padding`` is sizes), the
table holds the variant under its own key (``pool_strides``, ``zero_padding``) and a
declaration names it as ``("strides", "pool_strides")``: the parameter keeps Keras' name.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from haibal_py import initializers, regularizers
from haibal_py.numeric.activations import REGISTRY as ACTIVATION_REGISTRY
from haibal_py.numeric.layers.onnx_math import OnnxElementwise, OnnxUnary
from haibal_py.numeric.layers.onnx_shape import OnnxReduce
from haibal_py.node import Param

__all__ = ["ACTIVATIONS", "ARGS", "INITIALIZERS", "KerasArg", "REQUIRED", "keras_default",
           "parse_regularizer", "parse_sizes_text", "parse_pairs_text", "sizes_text", "with_doc"]

REQUIRED = inspect.Parameter.empty

_FIRST_ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax", "tanh")
ACTIVATIONS = _FIRST_ACTIVATIONS + tuple(n for n in ACTIVATION_REGISTRY.names() if n not in _FIRST_ACTIVATIONS)
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "zeros", "ones", "constant", "random_uniform", "random_normal", "truncated_normal",
                "variance_scaling", "orthogonal", "identity")
_INT = re.compile(r"[+-]?\d+")


# ---------------------------------------------------------------------------- text parsers
def _items(text: str) -> list[str]:
    stripped = str(text).strip()
    if stripped[:1] in "([" and stripped[-1:] in ")]" and stripped.count("(") + stripped.count("[") == 1:
        stripped = stripped[1:-1]
    parts = [p.strip() for p in stripped.split(",")]
    if parts and parts[-1] == "" and len(parts) > 1:
        parts.pop()
    return [] if parts == [""] else parts


def parse_sizes_text(text: str, *, allow_none_items: bool = False, allow_negative: bool = False,
                     what: str = "value") -> tuple:
    """``"3, 3"`` -> (3, 3); ``""`` -> (); ``"None, 1"`` -> (None, 1) when ``allow_none_items``."""
    out = []
    for p in _items(text):
        if allow_none_items and p.lower() == "none":
            out.append(None)
        elif _INT.fullmatch(p):
            value = int(p)
            if value < 0 and not allow_negative:
                raise ValueError(f"{what} {text!r} holds a negative size ({value})")
            out.append(value)
        else:
            raise ValueError(f"{what} must be integers separated by commas, got {text!r} "
                             f"({p!r} is not an integer{' or None' if allow_none_items else ''})")
    return tuple(out)


def parse_pairs_text(text: str) -> tuple:
    """A padding or cropping: ``"1"`` -> (1,), ``"1, 2"`` -> (1, 2), ``"(1, 1), (2, 3)"`` -> ((1, 1), (2, 3))."""
    stripped = str(text).strip()
    if stripped.count("(") > 1 or stripped.count("[") > 1:
        groups = re.findall(r"[(\[]([^()\[\]]*)[)\]]", stripped)
        rest = re.sub(r"[(\[][^()\[\]]*[)\]]", "", stripped).replace(",", "").strip()
        if rest or not groups:
            raise ValueError(f"cannot read {text!r}: write pairs as (before, after), (before, after)")
        pairs = tuple(parse_sizes_text(g, what="padding") for g in groups)
        if any(len(p) != 2 for p in pairs):
            raise ValueError(f"{text!r}: each group holds two sizes (before, after)")
        return pairs
    return parse_sizes_text(stripped, what="padding")


def sizes_text(value) -> str:
    """The text form of a Keras size argument (the inverse of the parsers above)."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        if value and all(isinstance(v, (tuple, list)) for v in value):
            return ", ".join("(" + ", ".join(str(x) for x in v) + ")" for v in value)
        return ", ".join("None" if v is None else str(v) for v in value)
    return str(value)


_REG = re.compile(r"\s*([A-Za-z_0-9]+)\s*(?:\((.*)\))?\s*")
_REG_CLASSES = {"l1": ("L1", ("l1",)), "l2": ("L2", ("l2",)), "l1_l2": ("L1L2", ("l1", "l2")),
                "l1l2": ("L1L2", ("l1", "l2"))}


def parse_regularizer(text: str):
    """A regularizer written like Keras code -> (class name, kwargs), or None for ``""``/``"none"``.

    ``"l2"``, ``"L2(0.001)"``, ``"l1_l2(0.01, 0.02)"``, ``"l1_l2(l1=0.01, l2=0.02)"``."""
    stripped = str(text).strip()
    if stripped.lower() in ("", "none"):
        return None
    m = _REG.fullmatch(stripped)
    known = _REG_CLASSES.get(m.group(1).lower()) if m else None
    if known is None:
        raise ValueError(f"unknown regularizer {text!r}; write l1, l2 or l1_l2, optionally with "
                         f"factors: l2(0.001), l1_l2(l1=0.01, l2=0.01)")
    cls_name, names = known
    kwargs: dict[str, float] = {}
    args = [a.strip() for a in (m.group(2) or "").split(",") if a.strip()]
    if len(args) > len(names):
        raise ValueError(f"{text!r}: {m.group(1)} takes at most {len(names)} factor(s)")
    for i, arg in enumerate(args):
        key, _, val = arg.rpartition("=")
        key = key.strip() or names[i]
        if key not in names or key in kwargs:
            raise ValueError(f"{text!r}: unexpected factor {arg!r} (factors: {', '.join(names)})")
        try:
            kwargs[key] = float(val)
        except ValueError:
            raise ValueError(f"{text!r}: {val.strip()!r} is not a number") from None
        if not kwargs[key] >= 0:
            raise ValueError(f"{text!r}: factors must be >= 0, got {val.strip()}")
    return cls_name, kwargs


# ---------------------------------------------------------------------------- arguments
@dataclass(frozen=True)
class KerasArg:
    """How one Keras argument is shown on a node and turned back into the constructor's value.

    ``form`` is the conversion: ``plain`` (int/float/bool/enum as they are), ``activation``,
    ``initializer``, ``regularizer``, ``sizes`` (an int when one size is given, else a
    tuple), ``shape`` (always a tuple), ``shape_or_none`` (``""`` -> None), ``axis`` (an int,
    or a tuple when several), ``pairs`` (paddings and croppings), ``none_word`` (an enum whose
    choice "none" is None), ``text`` (a string as it is), ``json`` (a value written as
    JSON), ``words`` (names separated by commas)."""

    kind: str
    doc: str
    form: str = "plain"
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False

    def param(self, name: str, default: Any) -> Param:
        """The node parameter for this argument, with the Keras ``default`` in the node's form."""
        return self.param_shown(name, self.shown(default))

    def param_shown(self, name: str, shown: Any) -> Param:
        """The node parameter for this argument, with a default already in the node's form."""
        return Param(name, self.kind, shown, self.doc, choices=self.choices, optional=self.optional,
                     minimum=self.minimum, maximum=self.maximum,
                     check=self._check if self.kind == "str" else None)

    def shown(self, default: Any) -> Any:
        """A Keras default as the parameter's value."""
        if self.form == "text":
            return "" if default is None else str(default)
        if self.form == "json":
            return json.dumps(default, separators=(", ", ": "))
        if self.form == "words":
            return ", ".join(str(w) for w in default)
        if self.form == "activation":
            return "linear" if default is None else str(default)
        if self.form == "initializer":
            return _initializer_name(default)
        if self.form == "regularizer":
            return "" if default is None else str(default)
        if self.form == "none_word":
            return "none" if default is None else default
        if self.kind == "str":
            return sizes_text(default)
        if self.kind == "float" and default is not None:
            return float(default)
        return default

    def _check(self, text: str) -> None:
        self.value(text)

    def value(self, shown: Any) -> Any:
        """The parameter's value as the constructor's argument (ValueError when unreadable)."""
        form = self.form
        if form == "text":
            return shown
        if form == "json":
            try:
                return json.loads(shown)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{shown!r} is not JSON ({exc.msg})") from None
        if form == "words":
            return [w for w in _items(shown)]
        if form == "initializer":
            return shown
        if form == "regularizer":
            parsed = parse_regularizer(shown)
            return None if parsed is None else getattr(regularizers, parsed[0])(**parsed[1])
        if form == "none_word":
            return None if shown == "none" else shown
        if form == "sizes":
            sizes = parse_sizes_text(shown, what="sizes")
            if not sizes:
                raise ValueError("give at least one size")
            return sizes[0] if len(sizes) == 1 else sizes
        if form in ("shape", "shape_or_none"):
            # -1 (Reshape's inferred size) and None (an Input's varying size) pass here: the
            # layer checks its own shapes
            sizes = parse_sizes_text(shown, allow_none_items=True, allow_negative=True, what="shape")
            if not sizes and form == "shape_or_none":
                return None
            return sizes
        if form == "axis":
            axes = parse_sizes_text(shown, allow_negative=True, what="axis")
            if not axes:
                raise ValueError("give an axis (an integer, or several separated by commas)")
            return axes[0] if len(axes) == 1 and "," not in str(shown) else axes
        if form == "pairs":
            pairs = parse_pairs_text(shown)
            if not pairs:
                raise ValueError("give a size, two sizes, or pairs (before, after)")
            return pairs[0] if len(pairs) == 1 and "," not in str(shown) else pairs
        return shown


def _initializer_name(default) -> str:
    """Keras' default initializer names as the node's choices (``"Zeros"`` -> ``"zeros"``,
    ``"uniform"`` -> ``"random_uniform"``)."""
    cls = type(initializers.get(default))
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    if snake not in INITIALIZERS:
        raise ValueError(f"initializer {default!r} is not among the node choices")
    return snake


def keras_default(layer_cls: type, name: str, method: str = "__init__"):
    """The default of argument ``name`` of ``layer_cls``'s constructor (or of another
    ``method``: a call argument's in ``compute_output_shape``), looked up through the classes
    whose method receives it; ``REQUIRED`` when Keras has none."""
    for klass in layer_cls.__mro__:
        init = klass.__dict__.get(method)
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if name in params:
            return params[name].default
    raise ValueError(f"{layer_cls.__name__} takes no argument {name!r}")


def _act(doc: str) -> KerasArg:
    return KerasArg("enum", doc, "activation", ACTIVATIONS)


def _init(doc: str) -> KerasArg:
    return KerasArg("enum", doc, "initializer", INITIALIZERS)


def _reg(doc: str) -> KerasArg:
    return KerasArg("str", doc + " Written like Keras code: empty (none), l1, l2, l1_l2, with optional "
                    "factors: l2(0.001), l1_l2(l1=0.01, l2=0.01).", "regularizer")


def _rate(doc: str) -> KerasArg:
    return KerasArg("float", doc, minimum=0.0, maximum=1.0)


def _sizes(doc: str) -> KerasArg:
    return KerasArg("str", doc + " One integer for every axis, or one per axis separated by commas.", "sizes")


#: every Keras argument a layer node shows, by name (one help text each)
ARGS: dict[str, KerasArg] = {
    # -- common
    "trainable": KerasArg("bool", "whether training updates the layer's weights (false freezes them)."),
    "dtype": KerasArg("enum", "the dtype of the layer's weights and computations.", choices=("float32", "float64")),
    # -- sizes of weights and outputs
    "units": KerasArg("int", "the number of output features (neurons).", minimum=1),
    "filters": KerasArg("int", "the number of output channels (filters).", minimum=1),
    "input_dim": KerasArg("int", "the vocabulary size: indices go from 0 to input_dim - 1.", minimum=1),
    "output_dim": KerasArg("int", "the size of each embedding vector.", minimum=1),
    "depth_multiplier": KerasArg("int", "the output channels made from each input channel.", minimum=1),
    "groups": KerasArg("int", "the number of groups the channels are split into (each convolved separately).",
                       minimum=1),
    "n": KerasArg("int", "how many times the input is repeated.", minimum=1),
    "num_heads": KerasArg("int", "the number of attention heads.", minimum=1),
    "key_dim": KerasArg("int", "the size of each head's queries and keys.", minimum=1),
    "value_dim": KerasArg("int", "the size of each head's values (none: key_dim).", minimum=1, optional=True),
    # -- activations, initializers, regularizers
    "activation": _act("the activation applied to the output (linear: none)."),
    "recurrent_activation": _act("the activation of the gates."),
    "kernel_initializer": _init("how the kernel (the main weight matrix) starts."),
    "bias_initializer": _init("how the bias starts."),
    "recurrent_initializer": _init("how the recurrent kernel starts."),
    "depthwise_initializer": _init("how the depthwise kernel starts."),
    "pointwise_initializer": _init("how the pointwise kernel starts."),
    "embeddings_initializer": _init("how the embedding vectors start."),
    "alpha_initializer": _init("how the learned slopes start."),
    "beta_initializer": _init("how the offset beta starts."),
    "gamma_initializer": _init("how the scale gamma starts."),
    "moving_mean_initializer": _init("how the moving mean starts."),
    "moving_variance_initializer": _init("how the moving variance starts."),
    "kernel_regularizer": _reg("a penalty on the kernel, added to the loss."),
    "bias_regularizer": _reg("a penalty on the bias, added to the loss."),
    "recurrent_regularizer": _reg("a penalty on the recurrent kernel, added to the loss."),
    "depthwise_regularizer": _reg("a penalty on the depthwise kernel, added to the loss."),
    "pointwise_regularizer": _reg("a penalty on the pointwise kernel, added to the loss."),
    "embeddings_regularizer": _reg("a penalty on the embeddings, added to the loss."),
    "alpha_regularizer": _reg("a penalty on the learned slopes, added to the loss."),
    "beta_regularizer": _reg("a penalty on beta, added to the loss."),
    "gamma_regularizer": _reg("a penalty on gamma, added to the loss."),
    "activity_regularizer": _reg("a penalty on the layer's output (divided by the batch size), added to the loss."),
    "use_bias": KerasArg("bool", "whether the layer adds a learned bias."),
    # -- convolution and pooling geometry
    "kernel_size": _sizes("the size of the convolution window."),
    "strides": _sizes("the step of the window."),
    "dilation_rate": _sizes("the spacing between the window's taps (1: a plain convolution)."),
    "pool_size": _sizes("the size of the pooling window."),
    "pool_strides": KerasArg("str", "the step of the window; empty: pool_size (windows side by side).",
                             "shape_or_none", optional=True),
    "output_padding": KerasArg("str", "the extra size added to one side of each spatial output axis; "
                               "empty: inferred.", "shape_or_none", optional=True),
    "padding": KerasArg("enum", "valid: no padding (the output shrinks); same: zeros around the input so "
                        "that the output has the input's size divided by the strides.", choices=("valid", "same")),
    "causal_padding": KerasArg("enum", "valid: no padding (the output shrinks); same: zeros around the input "
                               "so that the output has the input's length divided by the strides; causal: "
                               "zeros before the sequence only (output t sees inputs up to t).",
                               choices=("valid", "same", "causal")),
    "size": _sizes("the upsampling factor."),
    "interpolation": KerasArg("enum", "how new values are made.", choices=("nearest", "bilinear")),
    "keepdims": KerasArg("bool", "keep the pooled axes with size 1."),
    "zero_padding": KerasArg("str", "zeros added before and after each spatial axis: one size for all, one "
                             "size per axis, or (before, after) pairs per axis.", "pairs"),
    "cropping": KerasArg("str", "values removed before and after each spatial axis: one size for all, one "
                         "size per axis, or (before, after) pairs per axis.", "pairs"),
    # -- reshaping
    "target_shape": KerasArg("str", "the output shape without the batch axis; one -1 is inferred.", "shape"),
    "dims": KerasArg("str", "the new order of the axes, 1-based (the batch axis stays first): 2, 1 swaps "
                     "the two axes.", "shape"),
    # -- normalisation
    "axis": KerasArg("str", "the axis (or axes, separated by commas) the layer works along; -1: the last "
                     "(features, channels).", "axis"),
    "momentum": KerasArg("float", "the momentum of the moving mean and variance.", minimum=0.0, maximum=1.0),
    "epsilon": KerasArg("float", "a small number added to the variance to avoid dividing by zero.", minimum=0.0),
    "center": KerasArg("bool", "whether a learned offset beta is added."),
    "scale": KerasArg("bool", "whether the output is multiplied by a learned gamma."),
    "rms_scaling": KerasArg("bool", "scale by the root mean square only (RMS normalisation: no centring)."),
    # -- regularisation layers
    "rate": _rate("the fraction of the inputs dropped (set to 0) while training."),
    "stddev": KerasArg("float", "the standard deviation of the noise added while training.", minimum=0.0),
    "noise_shape": KerasArg("str", "the shape of the dropout mask (None for the input's size, 1 to share "
                            "the mask along an axis), with the batch axis; empty: the input's shape.",
                            "shape_or_none", optional=True),
    "seed": KerasArg("int", "the seed of the layer's random numbers (none: the process's generator).",
                     minimum=0, optional=True),
    # -- activation layers
    "max_value": KerasArg("float", "the largest output value (none: no cap).", optional=True, minimum=0.0),
    "negative_slope": KerasArg("float", "the slope below the threshold.", minimum=0.0),
    "threshold": KerasArg("float", "values up to it are damped (set to 0 with slope 0)."),
    "alpha": KerasArg("float", "the scale of the negative part: alpha * (exp(x) - 1)."),
    "shared_axes": KerasArg("str", "axes (1-based) that share one slope, e.g. 1, 2 for one slope per "
                            "channel of an image; empty: one slope per value.", "shape_or_none", optional=True),
    "activation_name": KerasArg("enum", "the activation function.", "activation", ACTIVATIONS),
    # -- merging
    "normalize": KerasArg("bool", "L2-normalise both inputs along the summed axes first (cosine similarity)."),
    "axes": KerasArg("str", "the axis of each input summed over (one integer for both, or two).", "axis"),
    # -- recurrent
    "dropout": _rate("the fraction of the inputs dropped while training."),
    "recurrent_dropout": _rate("the fraction of the recurrent state dropped while training."),
    "return_sequences": KerasArg("bool", "output every time step (batch, time, units) instead of the last "
                                 "one (batch, units)."),
    "return_state": KerasArg("bool", "also output the final states (the state outputs)."),
    "go_backwards": KerasArg("bool", "process the sequence backwards (and output it reversed)."),
    "unit_forget_bias": KerasArg("bool", "add 1 to the forget gate's bias at initialisation (Jozefowicz "
                                 "et al.)."),
    "reset_after": KerasArg("bool", "apply the reset gate after the matrix product (true: cuDNN's "
                            "convention, Keras' default)."),
    "recurrent_layer": KerasArg("enum", "the recurrent layer run forwards and backwards.",
                                choices=("LSTM", "GRU", "SimpleRNN")),
    "merge_mode": KerasArg("enum", "how the forward and backward outputs are combined (none: both, as "
                           "two outputs).", "none_word", ("concat", "sum", "mul", "ave", "none")),
    # -- attention
    "attention_axes": KerasArg("str", "the axes attention runs over; empty: every axis between the batch "
                               "and the features.", "shape_or_none", optional=True),
    "attention_output_shape": KerasArg("str", "the size(s) of the output's last axes; empty: the query's "
                                       "features.", "shape_or_none", optional=True),
    "return_attention_scores": KerasArg("bool", "also output the attention scores (the scores output)."),
    "use_causal_mask": KerasArg("bool", "let each position attend only to itself and earlier positions "
                                "(a decoder's causal mask)."),
    # -- input
    "shape": KerasArg("str", "the shape of one sample, without the batch axis; None for a size that "
                      "varies: 28, 28, 1.", "shape"),
    "batch_size": KerasArg("int", "a fixed batch size (none: any).", minimum=1, optional=True),
    "input_dtype": KerasArg("enum", "the dtype of the input (integers for token ids).",
                            choices=("float32", "float64", "int32", "int64")),
    # -- ONNX operator layers (haibal_py.numeric.layers.onnx_math / onnx_shape)
    "onnx_elementwise_op": KerasArg("enum", "the ONNX operator (NumPy broadcasting).",
                                    choices=tuple(OnnxElementwise.OPS)),
    "onnx_unary_op": KerasArg("enum", "the element-wise function.", choices=tuple(OnnxUnary.OPS)),
    "onnx_reduce_op": KerasArg("enum", "the reduction.", choices=tuple(OnnxReduce.OPS)),
    "operands": KerasArg("str", "where each ONNX operand comes from, in order: x (a wired input), w (a trainable "
                         "constant), c (a fixed constant): x, w.", "words"),
    "constant_shapes": KerasArg("str", "the shape of each constant operand, by position, as JSON: {\"1\": [4]}. "
                                "Their values are the layer's weights (operand_<position>).", "json"),
    "equation": KerasArg("str", "the einsum equation, explicit: bij,jk->bik.", "text"),
    "perm": KerasArg("str", "the new order of every axis, 0-based, the batch axis included: 1, 0, 2.", "shape"),
    "onnx_shape": KerasArg("str", "the target sizes of every axis, the batch axis included (ONNX: 0 copies the "
                           "input's size, one -1 is inferred): 0, -1.", "shape"),
    "expand_shape": KerasArg("str", "the sizes to broadcast to, every axis (1 keeps the input's size).", "shape"),
    "indices": KerasArg("str", "the indices taken along axis (JSON: 2, [0, 2] or [[0, 1], [1, 2]]; negative "
                        "ones count from the end).", "json"),
    "gather_axis": KerasArg("int", "the axis the indices select along (0-based, the batch axis is 0)."),
    "starts": KerasArg("str", "where each sliced axis starts (negative: from the end).", "shape"),
    "ends": KerasArg("str", "where each sliced axis ends, excluded (clamped to the axis).", "shape"),
    "slice_axes": KerasArg("str", "the axes sliced, 0-based, the batch axis included.", "shape"),
    "steps": KerasArg("str", "the step of each sliced axis (negative: backwards).", "shape"),
    "pads": KerasArg("str", "sizes added before every axis, then after every axis (negative values crop).",
                     "shape"),
    "pad_mode": KerasArg("enum", "constant (value), reflect (mirror, edge excluded) or edge (repeat the edge).",
                         choices=("constant", "reflect", "edge")),
    "pad_value": KerasArg("float", "the value of constant padding."),
    "reduce_axes": KerasArg("str", "the axes reduced, 0-based (empty: every axis).", "shape_or_none"),
    "clip_min": KerasArg("float", "the lower bound (none: no bound).", optional=True),
    "clip_max": KerasArg("float", "the upper bound (none: no bound).", optional=True),
}


def with_doc(arg: KerasArg, doc: str | None) -> KerasArg:
    return arg if doc is None else replace(arg, doc=doc)

