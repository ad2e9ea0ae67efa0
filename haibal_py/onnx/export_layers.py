"""Each layer class as ONNX operators, for the exporter.

``EXPORTERS[cls](g, layer, xs, node) -> [output names]``: ``xs`` are the ONNX names of
the call's inputs, in the layer's own (channels-last) layout; ``node`` is the recorded
call (its symbolic input and output shapes). Numbers are the layers' inference pass:
dropout and noise are identities, BatchNormalization uses its moving statistics.

Channels-last convolutions and poolings are ``Transpose -> Conv -> Transpose`` (the graph
builder cancels the transposes between two of them); their "same" paddings are explicit
pads computed as TensorFlow does (``auto_pad=SAME_UPPER`` when a size is unknown).
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric import layers as L
from ..numeric.config import EPSILON
from ..numeric.kernels.windows import same_padding, transpose_geometry
from ..numeric.layers import onnx_math as OM
from ..numeric.layers import onnx_shape as OS
from .errors import UnsupportedOnnxError

__all__ = ["EXPORTERS", "activation", "refuse"]


def refuse(layer, why: str):
    key = f"{type(layer).__name__} ({why})"
    raise UnsupportedOnnxError(f"{layer.name} ({type(layer).__name__}) cannot be exported to ONNX: {why}", {key: 1})


# ---------------------------------------------------------------------------- activations
def activation(g, name: str, x: str, owner=None, axis: int = -1) -> str:
    """The activation ``name`` of ``haibal_py.activations`` applied to ``x``."""
    op = g.op
    if name in (None, "linear"):
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp"}
    if name in simple:
        return op(simple[name], [x])
    if name == "softmax":
        return op("Softmax", [x], axis=axis)
    if name == "log_softmax":
        return op("LogSoftmax", [x], axis=axis)
    if name == "elu":
        return op("Elu", [x], alpha=1.0)
    if name == "selu":
        return op("Selu", [x])
    if name == "leaky_relu":
        return op("LeakyRelu", [x], alpha=0.2)
    if name == "relu6":
        return op("Clip", [x, g.scalar(0.0), g.scalar(6.0)])
    if name == "hard_sigmoid":
        return op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    if name == "hard_silu":
        if g.opset >= 14:
            return op("HardSwish", [x])
        return op("Mul", [x, op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])
    if name == "silu":
        return op("Mul", [x, op("Sigmoid", [x])])
    if name == "gelu":
        if g.opset >= 20:
            return op("Gelu", [x])
        e = op("Erf", [op("Mul", [x, g.scalar(1.0 / math.sqrt(2.0))])])
        return op("Mul", [op("Mul", [x, g.scalar(0.5)]), op("Add", [e, g.scalar(1.0)])])
    if name == "mish":
        if g.opset >= 18:
            return op("Mish", [x])
        return op("Mul", [x, op("Tanh", [op("Softplus", [x])])])
    if name == "log_sigmoid":
        return op("Neg", [op("Softplus", [op("Neg", [x])])])
    if owner is not None:
        refuse(owner, f"activation {name!r} has no ONNX form here")
    raise UnsupportedOnnxError(f"activation {name!r} cannot be exported to ONNX", {f"activation {name}": 1})


def _act_name(layer) -> str:
    a = layer.activation
    return a if isinstance(a, str) else a.name


# ---------------------------------------------------------------------------- core
def _input_layer(g, layer, xs, node):
    return xs


def _dense(g, layer, xs, node):
    x = xs[0]
    rank = len(node.inputs[0].shape)
    w = g.const(layer.kernel, f"{layer.name}/kernel")
    if rank == 2:
        inputs = [x, w] + ([g.const(layer.bias, f"{layer.name}/bias")] if layer.use_bias else [])
        y = g.op("Gemm", inputs, layer.name)
    else:
        y = g.op("MatMul", [x, w], layer.name)
        if layer.use_bias:
            y = g.op("Add", [y, g.const(layer.bias, f"{layer.name}/bias")], layer.name)
    return [activation(g, _act_name(layer), y, layer)]


def _embedding(g, layer, xs, node):
    idx = g.op("Cast", [xs[0]], to=g.onnx.TensorProto.INT64)
    return [g.op("Gather", [g.const(layer.embeddings, f"{layer.name}/embeddings"), idx], layer.name, axis=0)]


def _activation_layer(g, layer, xs, node):
    return [activation(g, _act_name(layer), xs[0], layer)]


def _relu(g, layer, xs, node):
    x = xs[0]
    slope, top, thr = layer.negative_slope, layer.max_value, layer.threshold
    if slope == 0.0 and thr == 0.0:
        if top is None:
            return [g.op("Relu", [x], layer.name)]
        return [g.op("Clip", [x, g.scalar(0.0), g.scalar(top)], layer.name)]
    if top is None and thr == 0.0:
        return [g.op("LeakyRelu", [x], layer.name, alpha=slope)]
    # Keras' general form: x above the threshold (capped), else slope * (x - threshold)
    keep = g.op("Cast", [g.op("Greater", [x, g.scalar(thr)])], to=g.onnx.TensorProto.FLOAT
                if g.float_dtype == np.float32 else g.onnx.TensorProto.DOUBLE)
    y = g.op("Mul", [x, keep]) if thr != 0.0 else g.op("Relu", [x])
    if top is not None:
        y = g.op("Clip", [y, g.scalar(0.0), g.scalar(top)])
    if slope != 0.0:
        below = g.op("Relu", [g.op("Sub", [g.scalar(thr), x])])
        y = g.op("Sub", [y, g.op("Mul", [below, g.scalar(slope)])])
    return [y]


def _leaky(g, layer, xs, node):
    return [g.op("LeakyRelu", [xs[0]], layer.name, alpha=layer.negative_slope)]


def _prelu(g, layer, xs, node):
    return [g.op("PRelu", [xs[0], g.const(layer.alpha, f"{layer.name}/alpha")], layer.name)]


def _elu(g, layer, xs, node):
    return [g.op("Elu", [xs[0]], layer.name, alpha=layer.alpha)]


def _softmax(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    axes = layer.axis if isinstance(layer.axis, tuple) else (layer.axis,)
    axes = sorted(a % rank for a in axes)
    if len(axes) == 1:
        return [g.op("Softmax", [xs[0]], layer.name, axis=axes[0])]
    x = xs[0]
    e = g.op("Exp", [g.op("Sub", [x, g.reduce("ReduceMax", x, axes, True)])])
    return [g.op("Div", [e, g.reduce("ReduceSum", e, axes, True)], layer.name)]


def _identity(g, layer, xs, node):
    return [g.op("Identity", [xs[0]], layer.name)]


def _flatten(g, layer, xs, node):
    x = xs[0]
    rank = len(node.inputs[0].shape)
    if layer.data_format == "channels_first" and rank > 2:
        x = g.transpose(x, [0] + list(range(2, rank)) + [1])
    return [g.op("Flatten", [x], layer.name, axis=1)]


def _reshape(g, layer, xs, node):
    return [g.reshape(xs[0], [0] + list(layer.target_shape), layer.name)]


def _permute(g, layer, xs, node):
    return [g.op("Transpose", [xs[0]], layer.name, perm=[0] + list(layer.dims))]


def _repeat(g, layer, xs, node):
    u = g.unsqueeze(xs[0], [1])
    return [g.op("Expand", [u, g.ints([1, layer.n, 1], "shape")], layer.name)]


# ---------------------------------------------------------------------------- merging
def _aligned(g, node, xs):
    """Inputs of lower rank get axes after the batch axis (Keras' merging rule)."""
    rank = max(len(t.shape) for t in node.inputs)
    out = []
    for x, t in zip(xs, node.inputs):
        r = len(t.shape)
        out.append(g.unsqueeze(x, list(range(1, 1 + rank - r))) if r < rank else x)
    return out


def _merge(op_type, mean=False):
    def convert(g, layer, xs, node):
        xs = _aligned(g, node, xs)
        if op_type == "Sub":
            return [g.op("Sub", xs, layer.name)]
        y = g.op(op_type, xs, layer.name)
        if mean:
            y = g.op("Div", [y, g.scalar(float(len(xs)))], layer.name)
        return [y]
    return convert


def _concat(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    return [g.op("Concat", xs, layer.name, axis=layer.axis % rank)]


def _dot(g, layer, xs, node):
    shapes = [t.shape for t in node.inputs]
    a, b = layer._resolve(shapes)
    x, y = xs
    if layer.normalize:
        x = _l2_normalize(g, x, a)
        y = _l2_normalize(g, y, b)
    letters = "abcdefghijklmnopqrstuvwxyz"
    ra, rb = len(shapes[0]), len(shapes[1])
    xa = ["z"] + [letters[i] for i in range(ra - 1)]
    ya = ["z"] + [letters[ra - 1 + i] for i in range(rb - 1)]
    ya[b] = xa[a] = "y"
    out = [c for i, c in enumerate(xa) if i != a] + [c for i, c in enumerate(ya) if i not in (0, b)]
    eq = f"{''.join(xa)},{''.join(ya)}->{''.join(out)}"
    r = g.op("Einsum", [x, y], layer.name, equation=eq)
    if len(out) == 1:
        r = g.unsqueeze(r, [1])
    return [r]


def _l2_normalize(g, x, axis):
    sq = g.reduce("ReduceSum", g.op("Mul", [x, x]), [axis], True)
    inv = g.op("Min", [g.op("Reciprocal", [g.op("Sqrt", [sq])]), g.scalar(1.0 / EPSILON)])
    return g.op("Mul", [x, inv])


# ---------------------------------------------------------------------------- normalization
def _batch_norm(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    ax = layer._axis_index
    c = layer.moving_mean.shape[0]
    gamma = layer.gamma if layer.gamma is not None else np.ones(c)
    beta = layer.beta if layer.beta is not None else np.zeros(c)
    inv = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(layer.moving_variance, np.float64) + layer.epsilon)
    shift = np.asarray(beta, np.float64) - np.asarray(layer.moving_mean, np.float64) * inv
    shape = [1] * rank
    shape[ax] = c
    shape = shape[1:]
    y = g.op("Mul", [xs[0], g.const(inv.reshape(shape), f"{layer.name}/scale")])
    return [g.op("Add", [y, g.const(shift.reshape(shape), f"{layer.name}/shift")], layer.name)]


def _standardize(g, x, axes, eps, center=True):
    mean = g.reduce("ReduceMean", x, axes, True)
    d = g.op("Sub", [x, mean])
    var = g.reduce("ReduceMean", g.op("Mul", [d, d]), axes, True)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, g.scalar(eps)])])])
    return g.op("Mul", [d if center else x, inv])


def _layer_norm(g, layer, xs, node):
    shape = node.inputs[0].shape
    rank = len(shape)
    axes = list(layer._axes(rank, shape))
    wshape = [1] * rank
    for a in axes:
        wshape[a] = shape[a]
    wshape = wshape[min(axes):]
    trailing = axes == list(range(axes[0], rank))
    if g.opset >= 17 and trailing and not layer.rms_scaling:
        gamma = layer.gamma if layer.gamma is not None else np.ones([shape[a] for a in axes])
        inputs = [xs[0], g.const(np.reshape(gamma, [shape[a] for a in axes]), f"{layer.name}/gamma")]
        if layer.beta is not None:
            inputs.append(g.const(np.reshape(layer.beta, [shape[a] for a in axes]), f"{layer.name}/beta"))
        return [g.op("LayerNormalization", inputs, layer.name, axis=axes[0], epsilon=layer.epsilon)]
    y = _standardize(g, xs[0], axes, layer.epsilon, center=not layer.rms_scaling)
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(np.reshape(layer.gamma, wshape), f"{layer.name}/gamma")])
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(np.reshape(layer.beta, wshape), f"{layer.name}/beta")])
    return [g.op("Identity", [y], layer.name)]


def _group_norm(g, layer, xs, node):
    shape = node.inputs[0].shape
    rank = len(shape)
    ax = layer.axis % rank
    if ax != rank - 1:
        refuse(layer, "an axis other than the last")
    groups, c = layer.groups, layer._channels
    inner = [0] + [s if s is not None else -1 for s in shape[1:-1]] + [groups, c // groups]
    if sum(1 for d in inner if d == -1) > 1:
        refuse(layer, "more than one unknown size")
    v = g.reshape(xs[0], inner)
    axes = list(range(1, rank - 1)) + [rank]
    y = _standardize(g, v, axes, layer.epsilon)
    y = g.reshape(y, [0] * (rank - 1) + [c]) if None not in shape[1:-1] else \
        g.op("Reshape", [y, g.op("Shape", [xs[0]])])
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(layer.gamma, f"{layer.name}/gamma")])
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(layer.beta, f"{layer.name}/beta")])
    return [g.op("Identity", [y], layer.name)]


# ---------------------------------------------------------------------------- convolution
def _to_first(g, x, rank):
    return g.transpose(x, [0, rank - 1] + list(range(1, rank - 1)))


def _to_last(g, x, rank):
    return g.transpose(x, [0] + list(range(2, rank)) + [1])


def _conv_pads(layer, sizes, kernel, strides, dilation):
    """ONNX ``pads`` (or ``auto_pad``) for a Keras padding on the given spatial sizes."""
    k = len(kernel)
    if layer.padding == "valid":
        return {"pads": [0] * (2 * k)}
    if layer.padding == "causal":
        left = [(kk - 1) * d for kk, d in zip(kernel, dilation)]
        return {"pads": left + [0] * k}
    if any(s is None for s in sizes):
        return {"auto_pad": "SAME_UPPER"}
    pairs = [same_padding(s, (kk - 1) * d + 1, st) for s, kk, st, d in zip(sizes, kernel, strides, dilation)]
    return {"pads": [b for b, _ in pairs] + [e for _, e in pairs]}


def _conv_op(g, layer, xs, node, w, group: int):
    """A channels-last convolution as ONNX's Conv (channels first) with the kernel ``w``
    (out, in / group, *kernel): transposes around it, the bias and the activation."""
    shape = node.inputs[0].shape
    rank = len(shape)
    inputs = [_to_first(g, xs[0], rank), g.const(w, f"{layer.name}/kernel")]
    if layer.use_bias:
        inputs.append(g.const(layer.bias, f"{layer.name}/bias"))
    y = g.op("Conv", inputs, layer.name, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), group=group,
             **_conv_pads(layer, shape[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate))
    y = activation(g, _act_name(layer), y, layer, axis=1)
    return [_to_last(g, y, rank)]


def _conv(g, layer, xs, node):
    k = len(node.inputs[0].shape) - 2
    return _conv_op(g, layer, xs, node, np.transpose(layer.kernel, (k + 1, k) + tuple(range(k))), layer.groups)


def _depthwise(g, layer, xs, node):
    k = len(node.inputs[0].shape) - 2
    c, m = layer.kernel.shape[-2], layer.kernel.shape[-1]
    w = np.transpose(layer.kernel, (k, k + 1) + tuple(range(k))).reshape((c * m, 1) + layer.kernel.shape[:k])
    return _conv_op(g, layer, xs, node, w, int(c))


def _separable(g, layer, xs, node):
    shape = node.inputs[0].shape
    rank = len(shape)
    k = rank - 2
    dk = layer.depthwise_kernel
    c, m = dk.shape[-2], dk.shape[-1]
    x = _to_first(g, xs[0], rank)
    w = np.transpose(dk, (k, k + 1) + tuple(range(k))).reshape((c * m, 1) + dk.shape[:k])
    d = g.op("Conv", [x, g.const(w, f"{layer.name}/depthwise_kernel")], f"{layer.name}/depthwise",
             kernel_shape=list(layer.kernel_size), strides=list(layer.strides), dilations=list(layer.dilation_rate),
             group=int(c), **_conv_pads(layer, shape[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate))
    pk = layer.pointwise_kernel.reshape(c * m, -1).T.reshape((-1, c * m) + (1,) * k)
    inputs = [d, g.const(pk, f"{layer.name}/pointwise_kernel")]
    if layer.use_bias:
        inputs.append(g.const(layer.bias, f"{layer.name}/bias"))
    y = g.op("Conv", inputs, layer.name, kernel_shape=[1] * k)
    y = activation(g, _act_name(layer), y, layer, axis=1)
    return [_to_last(g, y, rank)]


def _conv_transpose(g, layer, xs, node):
    shape = node.inputs[0].shape
    rank = len(shape)
    k = rank - 2
    if any(s is None for s in shape[1:-1]):
        refuse(layer, "unknown spatial sizes")
    geom = transpose_geometry(shape[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding,
                              layer.output_padding)
    x = _to_first(g, xs[0], rank)
    w = np.transpose(layer.kernel, (k + 1, k) + tuple(range(k)))
    inputs = [x, g.const(w, f"{layer.name}/kernel")]
    if layer.use_bias:
        inputs.append(g.const(layer.bias, f"{layer.name}/bias"))
    pads_b = [b for b, _ in geom.pads]
    pads_e = [e for _, e in geom.pads]
    extra = []
    for n_in, n_out, kk, s, d, b, e in zip(shape[1:-1], geom.in_size, layer.kernel_size, layer.strides,
                                           layer.dilation_rate, pads_b, pads_e):
        extra.append(n_out - ((n_in - 1) * s + (kk - 1) * d + 1 - b - e))
    y = g.op("ConvTranspose", inputs, layer.name, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
             dilations=list(layer.dilation_rate), pads=pads_b + pads_e,
             output_padding=extra if any(extra) else None)
    y = activation(g, _act_name(layer), y, layer, axis=1)
    return [_to_last(g, y, rank)]


def _pool(g, layer, xs, node):
    shape = node.inputs[0].shape
    rank = len(shape)
    x = _to_first(g, xs[0], rank)
    op = "MaxPool" if layer.mode == "max" else "AveragePool"
    ones = (1,) * (rank - 2)
    attrs = _conv_pads(layer, shape[1:-1], layer.pool_size, layer.strides, ones)
    if op == "AveragePool":
        attrs["count_include_pad"] = 0
    y = g.op(op, [x], layer.name, kernel_shape=list(layer.pool_size), strides=list(layer.strides), **attrs)
    return [_to_last(g, y, rank)]


def _global_pool(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    op = "ReduceMax" if layer.mode == "max" else "ReduceMean"
    return [g.reduce(op, xs[0], list(range(1, rank - 1)), layer.keepdims, layer.name)]


def _zero_pad(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    pairs = [(0, 0)] + list(layer.padding) + [(0, 0)]
    pads = [b for b, _ in pairs] + [e for _, e in pairs]
    return [g.op("Pad", [xs[0], g.ints(pads, "pads")], layer.name, mode="constant")]
    del rank


def _crop(g, layer, xs, node):
    shape = node.inputs[0].shape
    k = len(layer.cropping)
    starts = [b for b, _ in layer.cropping]
    ends = [-e if e else 2 ** 63 - 1 for _, e in layer.cropping]
    del shape
    return [g.slice(xs[0], starts, ends, list(range(1, k + 1)), hint=layer.name)]


def _upsample(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    scales = [1.0] + [float(s) for s in layer.size] + [1.0]
    if layer.interpolation == "bilinear":
        x = _to_first(g, xs[0], rank)
        first = [1.0, 1.0] + [float(s) for s in layer.size]
        y = g.op("Resize", [x, "", g.const(np.asarray(first, np.float32), "scales")], layer.name, mode="linear",
                 coordinate_transformation_mode="half_pixel")
        return [_to_last(g, y, rank)]
    return [g.op("Resize", [xs[0], "", g.const(np.asarray(scales, np.float32), "scales")], layer.name,
                 mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")]


# ---------------------------------------------------------------------------- recurrent
_ONNX_ACT = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}


def _rnn_parts(layer):
    """(op, gates order from Keras to ONNX, activations) of a recurrent layer."""
    def act(v):
        name = v if isinstance(v, str) else getattr(v, "__name__", None)
        if name not in _ONNX_ACT:
            refuse(layer, f"activation {name!r}")
        return _ONNX_ACT[name]
    if isinstance(layer, L.LSTM):
        return "LSTM", [0, 3, 1, 2], [act(layer.recurrent_activation), act(layer.activation), act(layer.activation)]
    if isinstance(layer, L.GRU):
        return "GRU", [0, 1, 2], [act(layer.recurrent_activation), act(layer.activation)]
    return "RNN", [0], [act(layer.activation)]


def _rnn_weights(layer, order):
    """ONNX W, R, B of one direction from the Keras weights."""
    gates = len(order)
    units = layer.units

    def blocks(m):
        parts = np.split(np.asarray(m), gates, axis=-1)
        return np.concatenate([parts[k] for k in order], axis=-1)

    w = blocks(layer.kernel).T
    r = blocks(layer.recurrent_kernel).T
    if layer.bias is None:
        b = np.zeros(2 * gates * units)
    elif getattr(layer, "reset_after", False):
        b = np.concatenate([blocks(layer.bias[0]), blocks(layer.bias[1])])
    else:
        b = np.concatenate([blocks(layer.bias), np.zeros(gates * units)])
    return w, r, b


def _rnn_node(g, name, x_tm, cells, direction, op, acts, extra):
    w = np.stack([c[0] for c in cells])
    r = np.stack([c[1] for c in cells])
    b = np.stack([c[2] for c in cells])
    n_out = 3 if op == "LSTM" else 2
    return g.op(op, [x_tm, g.const(w, f"{name}/W"), g.const(r, f"{name}/R"), g.const(b, f"{name}/B")], name,
                outputs=n_out, hidden_size=cells[0][1].shape[-1], direction=direction,
                activations=acts * (2 if direction == "bidirectional" else 1), **extra)


def _check_rnn_call(layer, node):
    if node.kwargs.get("mask") is not None or node.kwargs.get("initial_state") is not None or len(node.inputs) > 1:
        refuse(layer, "masks and initial states")


def _rnn(g, layer, xs, node):
    _check_rnn_call(layer, node)
    op, order, acts = _rnn_parts(layer)
    extra = {"linear_before_reset": 1 if getattr(layer, "reset_after", False) else 0} if op == "GRU" else {}
    x_tm = g.transpose(xs[0], [1, 0, 2])
    direction = "reverse" if layer.go_backwards else "forward"
    outs = _rnn_node(g, layer.name, x_tm, [_rnn_weights(layer, order)], direction, op, acts, extra)
    y_seq, states = outs[0], outs[1:]
    if layer.return_sequences:
        y = g.transpose(g.squeeze(y_seq, [1]), [1, 0, 2])
        if layer.go_backwards:  # Keras returns the steps in processing order
            y = g.slice(y, [-1], [-(2 ** 63 - 1)], [1], [-1])
    else:
        y = g.squeeze(states[0], [0])
    if not layer.return_state:
        return [g.op("Identity", [y], layer.name)]
    return [y] + [g.squeeze(s, [0]) for s in states]


def _bidirectional(g, layer, xs, node):
    fw, bw = layer.forward_layer, layer.backward_layer
    if type(fw) is not type(bw) or not bw.go_backwards or fw.go_backwards:
        refuse(layer, "a backward layer that is not the forward one reversed")
    _check_rnn_call(layer, node)
    op, order, acts = _rnn_parts(fw)
    extra = {"linear_before_reset": 1 if getattr(fw, "reset_after", False) else 0} if op == "GRU" else {}
    x_tm = g.transpose(xs[0], [1, 0, 2])
    outs = _rnn_node(g, layer.name, x_tm, [_rnn_weights(fw, order), _rnn_weights(bw, order)], "bidirectional",
                     op, acts, extra)
    y_seq, states = outs[0], outs[1:]
    units = fw.units
    if fw.return_sequences:
        both = g.transpose(y_seq, [2, 0, 1, 3])           # (N, T, 2, H)
        parts = [g.squeeze(g.slice(both, [d], [d + 1], [2]), [2]) for d in (0, 1)]
        concat_axis = 2
    else:
        both = g.transpose(states[0], [1, 0, 2])          # (N, 2, H)
        parts = [g.squeeze(g.slice(both, [d], [d + 1], [1]), [1]) for d in (0, 1)]
        concat_axis = 1
    mode = layer.merge_mode
    if mode == "concat":
        merged = [g.reshape(both, [0] * concat_axis + [2 * units], layer.name)]
    elif mode == "sum":
        merged = [g.op("Add", parts, layer.name)]
    elif mode == "mul":
        merged = [g.op("Mul", parts, layer.name)]
    elif mode == "ave":
        merged = [g.op("Div", [g.op("Add", parts), g.scalar(2.0)], layer.name)]
    else:
        merged = parts
    if not fw.return_state:
        return merged
    st = []
    for s in states:  # (2, N, H): forward then backward
        st.append([g.squeeze(g.slice(s, [d], [d + 1], [0]), [0]) for d in (0, 1)])
    per_dir = [[x[d] for x in st] for d in (0, 1)]
    return merged + per_dir[0] + per_dir[1]


def _time_distributed(g, layer, xs, node):
    inner = layer.layer
    shape = node.inputs[0].shape
    x = xs[0]
    flat = g.reshape(x, [-1] + [s if s is not None else 0 for s in shape[2:]]) if None not in shape[2:] else \
        refuse(layer, "unknown sizes after the time axis")
    sym_in = type(node.inputs[0])((None,) + tuple(shape[2:]), node.inputs[0].dtype, "td_in")
    out_shape = node.outputs[0].shape
    ys = g.export_call(g, inner, [flat], [sym_in], [type(node.outputs[0])((None,) + tuple(out_shape[2:]),
                                                                       node.outputs[0].dtype, "td_out")])
    head = g.slice(g.op("Shape", [x]), [0], [2], [0])
    tail = g.ints([d for d in out_shape[2:]], "tail")
    return [g.op("Reshape", [ys[0], g.op("Concat", [head, tail], axis=0)], layer.name)]


def _mha(g, layer, xs, node):
    kw = node.kwargs
    if kw.get("attention_mask") is not None or kw.get("use_causal_mask"):
        refuse(layer, "attention masks")
    if layer.attention_axes not in (None, (1,)) or any(len(t.shape) != 3 for t in node.inputs):
        refuse(layer, "attention over other axes than 1 of rank-3 inputs")
    q_in, v_in = xs[0], xs[1]
    k_in = xs[2] if len(xs) > 2 else v_in

    def proj(x, kernel, bias, tag):
        y = g.op("Einsum", [x, g.const(kernel, f"{layer.name}/{tag}/kernel")], equation="btd,dhk->bthk")
        if bias is not None:
            y = g.op("Add", [y, g.const(bias, f"{layer.name}/{tag}/bias")])
        return y

    q = proj(q_in, layer.query_kernel, layer.query_bias, "query")
    k = proj(k_in, layer.key_kernel, layer.key_bias, "key")
    v = proj(v_in, layer.value_kernel, layer.value_bias, "value")
    q = g.op("Mul", [q, g.scalar(1.0 / math.sqrt(layer.key_dim))])
    scores = g.op("Einsum", [k, q], equation="bshk,bthk->bhts")
    probs = g.op("Softmax", [scores], axis=-1)
    ctx = g.op("Einsum", [probs, v], equation="bhts,bshv->bthv")
    out_rank = layer.output_kernel.ndim - 2
    letters = "opqr"[:out_rank]
    y = g.op("Einsum", [ctx, g.const(layer.output_kernel, f"{layer.name}/attention_output/kernel")],
             equation=f"bthv,hv{letters}->bt{letters}")
    if layer.output_bias is not None:
        y = g.op("Add", [y, g.const(layer.output_bias, f"{layer.name}/attention_output/bias")])
    y = g.op("Identity", [y], layer.name)
    if kw.get("return_attention_scores"):
        return [y, probs]
    return [y]


# ---------------------------------------------------------------------------- Onnx* layers
def _onnx_operands(g, layer, xs):
    it = iter(xs)
    out = []
    for i, kind in enumerate(layer.operands):
        out.append(next(it) if kind == "x" else g.const(layer._constants[i], f"{layer.name}/operand_{i}"))
    return out


_ELEMENTWISE = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow", "sum": "Sum",
                "mean": "Mean", "max": "Max", "min": "Min", "equal": "Equal", "less": "Less",
                "less_or_equal": "LessOrEqual", "greater": "Greater", "greater_or_equal": "GreaterOrEqual",
                "and": "And", "or": "Or", "xor": "Xor"}


def _float_type(g):
    return g.onnx.TensorProto.FLOAT if g.float_dtype == np.float32 else g.onnx.TensorProto.DOUBLE


def _onnx_elementwise(g, layer, xs, node):
    args = _onnx_operands(g, layer, xs)
    if layer.op == "where":
        cond = g.op("Cast", [args[0]], to=g.onnx.TensorProto.BOOL)
        return [g.op("Where", [cond, args[1], args[2]], layer.name)]
    if layer.op in ("and", "or", "xor"):
        args = [g.op("Cast", [a], to=g.onnx.TensorProto.BOOL) for a in args]
    y = g.op(_ELEMENTWISE[layer.op], args, layer.name)
    if layer.op in ("equal", "less", "less_or_equal", "greater", "greater_or_equal", "and", "or", "xor"):
        y = g.op("Cast", [y], to=_float_type(g))
    return [y]


def _onnx_matmul(g, layer, xs, node):
    return [g.op("MatMul", _onnx_operands(g, layer, xs), layer.name)]


def _onnx_einsum(g, layer, xs, node):
    return [g.op("Einsum", _onnx_operands(g, layer, xs), layer.name, equation=layer.equation)]


_UNARY = {"neg": "Neg", "abs": "Abs", "sqrt": "Sqrt", "exp": "Exp", "log": "Log", "reciprocal": "Reciprocal",
          "erf": "Erf", "sin": "Sin", "cos": "Cos", "floor": "Floor", "ceil": "Ceil", "round": "Round",
          "sign": "Sign", "identity": "Identity"}


def _onnx_unary(g, layer, xs, node):
    if layer.op == "not":
        return [g.op("Cast", [g.op("Equal", [xs[0], g.scalar(0.0)])], layer.name, to=_float_type(g))]
    if layer.op == "trunc":
        ints = g.op("Cast", [xs[0]], to=g.onnx.TensorProto.INT64)
        return [g.op("Cast", [ints], layer.name, to=_float_type(g))]
    return [g.op(_UNARY[layer.op], [xs[0]], layer.name)]


def _onnx_clip(g, layer, xs, node):
    lo = g.scalar(layer.min) if layer.min is not None else ""
    hi = g.scalar(layer.max) if layer.max is not None else ""
    return [g.op("Clip", [xs[0], lo, hi], layer.name)]


def _onnx_transpose(g, layer, xs, node):
    return [g.op("Transpose", [xs[0]], layer.name, perm=list(layer.perm))]


def _onnx_reshape(g, layer, xs, node):
    return [g.reshape(xs[0], list(layer.shape), layer.name)]


def _onnx_gather(g, layer, xs, node):
    return [g.op("Gather", [xs[0], g.ints(layer.indices, "indices")], layer.name, axis=layer.axis)]


def _onnx_slice(g, layer, xs, node):
    return [g.slice(xs[0], layer.starts, layer.ends, layer.axes, layer.steps, hint=layer.name)]


def _onnx_pad(g, layer, xs, node):
    value = g.scalar(layer.value)
    return [g.op("Pad", [xs[0], g.ints(layer.pads, "pads"), value], layer.name, mode=layer.mode)]


_REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin", "prod": "ReduceProd",
           "sum_square": "ReduceSumSquare", "l1": "ReduceL1", "l2": "ReduceL2", "log_sum_exp": "ReduceLogSumExp"}


def _onnx_reduce(g, layer, xs, node):
    rank = len(node.inputs[0].shape)
    axes = list(layer._axes(rank))
    return [g.reduce(_REDUCE[layer.op], xs[0], axes, layer.keepdims, layer.name)]


def _onnx_expand(g, layer, xs, node):
    return [g.op("Expand", [xs[0], g.ints(layer.shape, "shape")], layer.name)]


EXPORTERS = {
    L.InputLayer: _input_layer, L.Dense: _dense, L.Embedding: _embedding, L.Activation: _activation_layer,
    L.ReLU: _relu, L.LeakyReLU: _leaky, L.PReLU: _prelu, L.ELU: _elu, L.Softmax: _softmax,
    L.Dropout: _identity, L.GaussianNoise: _identity, L.SpatialDropout1D: _identity,
    L.SpatialDropout2D: _identity, L.SpatialDropout3D: _identity,
    L.Flatten: _flatten, L.Reshape: _reshape, L.Permute: _permute, L.RepeatVector: _repeat,
    L.Add: _merge("Sum"), L.Subtract: _merge("Sub"), L.Multiply: _merge("Mul"), L.Average: _merge("Sum", mean=True),
    L.Maximum: _merge("Max"), L.Minimum: _merge("Min"), L.Concatenate: _concat, L.Dot: _dot,
    L.BatchNormalization: _batch_norm, L.LayerNormalization: _layer_norm, L.GroupNormalization: _group_norm,
    L.SimpleRNN: _rnn, L.LSTM: _rnn, L.GRU: _rnn, L.Bidirectional: _bidirectional,
    L.TimeDistributed: _time_distributed, L.MultiHeadAttention: _mha,
    L.Conv1D: _conv, L.Conv2D: _conv, L.Conv3D: _conv, L.Conv1DTranspose: _conv_transpose,
    L.Conv2DTranspose: _conv_transpose, L.Conv3DTranspose: _conv_transpose, L.DepthwiseConv1D: _depthwise,
    L.DepthwiseConv2D: _depthwise, L.SeparableConv1D: _separable, L.SeparableConv2D: _separable,
    L.MaxPooling1D: _pool, L.MaxPooling2D: _pool, L.MaxPooling3D: _pool, L.AveragePooling1D: _pool,
    L.AveragePooling2D: _pool, L.AveragePooling3D: _pool, L.GlobalAveragePooling1D: _global_pool,
    L.GlobalAveragePooling2D: _global_pool, L.GlobalAveragePooling3D: _global_pool,
    L.GlobalMaxPooling1D: _global_pool, L.GlobalMaxPooling2D: _global_pool, L.GlobalMaxPooling3D: _global_pool,
    L.ZeroPadding1D: _zero_pad, L.ZeroPadding2D: _zero_pad, L.ZeroPadding3D: _zero_pad,
    L.Cropping1D: _crop, L.Cropping2D: _crop, L.Cropping3D: _crop,
    L.UpSampling1D: _upsample, L.UpSampling2D: _upsample, L.UpSampling3D: _upsample,
    OM.OnnxElementwise: _onnx_elementwise, OM.OnnxMatMul: _onnx_matmul, OM.OnnxEinsum: _onnx_einsum,
    OM.OnnxUnary: _onnx_unary,
    OM.OnnxClip: _onnx_clip, OS.OnnxTranspose: _onnx_transpose, OS.OnnxReshape: _onnx_reshape,
    OS.OnnxGather: _onnx_gather, OS.OnnxSlice: _onnx_slice, OS.OnnxPad: _onnx_pad, OS.OnnxReduce: _onnx_reduce,
    OS.OnnxExpand: _onnx_expand,
}
