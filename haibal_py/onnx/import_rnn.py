"""ONNX ``LSTM``, ``GRU`` and ``RNN`` -> Keras' ``LSTM``, ``GRU``, ``SimpleRNN`` (and
``Bidirectional`` for ``direction="bidirectional"``).

Weights: ONNX stacks the gates of ``W`` ``[directions, gates * H, input]`` in the order
i, o, f, c (LSTM) and z, r, h (GRU); Keras' kernels are ``(input, gates * H)`` in the order
i, f, c, o and z, r, h. ONNX's two biases (input and recurrent) are summed into Keras' one,
except for a GRU with ``linear_before_reset`` (Keras' ``reset_after=True``), which keeps
both as Keras does. A ``reverse`` layer is Keras' ``go_backwards``, whose sequence output
is flipped back to time order, as ONNX gives it.

The outputs ``Y`` ``(T, D, N, H)`` and ``Y_h``/``Y_c`` ``(D, N, H)`` (``layout=0``) are views
of the batch-major Keras outputs. Initial states must be zeros (PyTorch's default export);
``sequence_lens``, peepholes, ``clip``, ``input_forget`` and activations other than
sigmoid/tanh/relu are refused.
"""

from __future__ import annotations

import numpy as np

from ..numeric import layers as L
from ..numeric.layers.onnx_shape import OnnxReshape, OnnxSlice
from .import_util import fail as _fail
from .import_util import opt_input as _opt_input
from .values import Const, Fill, ShapeVec, Sym, Tensor

__all__ = ["RNN_OPS", "RNN_CHECKS"]

_ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu"}
_DEFAULTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
INT64_MAX = 2 ** 63 - 1


def _activations(n) -> list[str] | None:
    per = len(_DEFAULTS[n.op])
    acts = n.attr("activations")
    directions = 2 if n.attr("direction", "forward") == "bidirectional" else 1
    if not acts:
        return [a.lower() for a in _DEFAULTS[n.op]]
    acts = [a.lower() for a in acts]
    if len(acts) != per * directions:
        return None
    if directions == 2 and acts[:per] != acts[per:]:
        return None
    return acts[:per]


def _check(n, imp):
    if n.attr("clip") is not None:
        return "clip"
    if n.attr("input_forget", 0):
        return "input_forget=1"
    if n.attr("activation_alpha") or n.attr("activation_beta"):
        return "activation_alpha/beta"
    acts = _activations(n)
    if acts is None or any(a not in _ACTIVATIONS for a in acts):
        return f"activations {n.attr('activations')}"
    if n.op == "LSTM" and acts[1] != acts[2]:
        return "different cell and output activations"
    if n.op == "LSTM" and len(n.inputs) > 7 and n.inputs[7]:
        return "peepholes"
    if n.attr("direction", "forward") not in ("forward", "reverse", "bidirectional"):
        return f"direction={n.attr('direction')}"
    return None


def _zero_state(imp, name: str) -> bool:
    if not name:
        return True
    v = imp.values.get(name)
    if isinstance(v, Fill):
        return v.value == 0.0
    if isinstance(v, Const):
        return not np.any(v.value)
    if isinstance(v, ShapeVec):
        return False
    return False


def _keras_weights(op: str, n, w, r, b, d: int, hidden: int, reset_after: bool) -> list:
    """Keras' kernel, recurrent_kernel (and bias) of direction ``d``."""
    gates = _GATES[op]
    order = [0, 2, 3, 1] if op == "LSTM" else list(range(gates))

    def blocks(m):
        parts = np.split(m, gates, axis=0)
        return np.concatenate([parts[k] for k in order], axis=0)

    kernel = blocks(w[d]).T
    recurrent = blocks(r[d]).T
    out = [kernel, recurrent]
    if b is not None:
        wb, rb = b[d][: gates * hidden], b[d][gates * hidden:]
        wb = blocks(wb.reshape(gates * hidden, 1)).reshape(-1)
        rb = blocks(rb.reshape(gates * hidden, 1)).reshape(-1)
        out.append(np.stack([wb, rb]) if reset_after else wb + rb)
    return out


def _convert(imp, n):
    op = n.op
    x = imp.tensor(n.inputs[0])
    w = np.asarray(imp.const(n.inputs[1]), dtype=np.float64)
    r = np.asarray(imp.const(n.inputs[2]), dtype=np.float64)
    b = np.asarray(imp.const(_opt_input(n, 3)), dtype=np.float64) if _opt_input(n, 3) else None
    hidden = int(n.attr("hidden_size", r.shape[-1]))
    layout = int(n.attr("layout", 0))
    direction = n.attr("direction", "forward")
    if _opt_input(n, 4):
        lens = imp.values.get(n.inputs[4])
        steps = x.dims[1 if layout else 0]
        if not (isinstance(lens, Const) and isinstance(steps, int) and np.all(lens.value == steps)):
            _fail(imp, n, "sequence_lens (sequences of different lengths) is not supported")
    for k in (5, 6):
        if not _zero_state(imp, _opt_input(n, k)):
            _fail(imp, n, "a non-zero initial state is not supported (pass the state as zeros)")
    acts = _activations(n)
    reset_after = op == "GRU" and bool(n.attr("linear_before_reset", 0))
    if op == "GRU" and not reset_after and b is not None:
        b = np.asarray(b)
    outs = n.outputs + [""] * (3 - len(n.outputs))
    used = [bool(o) and imp.consumers[o] > 0 for o in outs]
    return_sequences, return_state = used[0], used[1] or used[2]
    # only the last state is read: it is the layer's plain output
    last_only = direction != "bidirectional" and used[1] and not used[0] and not used[2]
    if last_only:
        return_state = False
    config = {"units": hidden, "return_sequences": return_sequences, "return_state": return_state,
              "use_bias": b is not None}
    if op == "LSTM":
        config.update(recurrent_activation=_ACTIVATIONS[acts[0]], activation=_ACTIVATIONS[acts[1]])
    elif op == "GRU":
        config.update(recurrent_activation=_ACTIVATIONS[acts[0]], activation=_ACTIVATIONS[acts[1]],
                      reset_after=reset_after)
    else:
        config.update(activation=_ACTIVATIONS[acts[0]])
    cls = {"LSTM": L.LSTM, "GRU": L.GRU, "RNN": L.SimpleRNN}[op]
    xs = imp.layout(x, (0, 1, 2) if layout else (1, 0, 2), origin=n.name)
    xd = imp._phys_dims[id(xs)]
    batch, steps = xd[0], xd[1]
    seq_dims, state_dims = (batch, steps, hidden), (batch, hidden)
    n_states = 2 if op == "LSTM" else 1
    if direction == "bidirectional":
        inner = {"class_name": cls.__name__, "config": {**config, "name": cls.__name__.lower(),
                                                        "dtype": imp.float_dtype}}
        weights = (_keras_weights(op, n, w, r, b, 0, hidden, reset_after)
                   + _keras_weights(op, n, w, r, b, 1, hidden, reset_after))
        out_dims = [seq_dims if return_sequences else state_dims] * 2
        if return_state:
            out_dims += [state_dims] * (2 * n_states)
        res = imp.emit(L.Bidirectional, {"layer": inner, "merge_mode": None}, xs, weights=[_f(imp, a) for a in weights],
                       name=imp.unique_name(n.name or n.op.lower()), origin=n.name, dims=out_dims)
        fw, bw = res[0], res[1]
        states = res[2:]
        fw_states, bw_states = states[:n_states], states[n_states:]
        if used[0]:
            y = _stack(imp, n, [fw, bw], seq_dims, 2)
            axes = (0, 1, 2, 3) if layout else (1, 2, 0, 3)
            imp.set(outs[0], Tensor(y.sym, axes, y.phys_dims))
        for k in range(n_states):
            if used[1 + k]:
                h = _stack(imp, n, [fw_states[k], bw_states[k]], state_dims, 1)
                imp.set(outs[1 + k], Tensor(h.sym, (0, 1, 2) if layout else (1, 0, 2), h.phys_dims))
        return
    config["go_backwards"] = direction == "reverse"
    weights = _keras_weights(op, n, w, r, b, 0, hidden, reset_after)
    out_dims = [seq_dims if return_sequences else state_dims] + [state_dims] * (n_states if return_state else 0)
    res = imp.emit(cls, config, xs, weights=[_f(imp, a) for a in weights], name=imp.unique_name(n.name or n.op.lower()),
                   origin=n.name, dims=out_dims if return_state else out_dims[0])
    res = res if isinstance(res, list) else [res]
    y = res[0]
    if last_only:
        imp.set(outs[1], Tensor(y.sym, (0, None, 1) if layout else (None, 0, 1), y.phys_dims))
        return
    if used[0]:
        if direction == "reverse":
            y = imp.register(imp.emit(OnnxSlice, {"starts": [-1], "ends": [-INT64_MAX], "axes": [1], "steps": [-1]},
                                      y.sym, origin=n.name, dims=seq_dims))
        axes = (0, 1, None, 2) if layout else (1, None, 0, 2)
        imp.set(outs[0], Tensor(y.sym, axes, y.phys_dims))
    for k in range(n_states):
        if used[1 + k]:
            h = res[1 + k]
            imp.set(outs[1 + k], Tensor(h.sym, (0, None, 1) if layout else (None, 0, 1), h.phys_dims))


def _f(imp, a):
    return np.asarray(a, dtype=imp.float_dtype, order="C")


def _stack(imp, n, parts: list, dims: tuple, axis: int) -> Tensor:
    """The tensors ``parts`` (physical sizes ``dims``) stacked on a new ``axis``."""
    grown = []
    new_dims = dims[:axis] + (1,) + dims[axis:]
    for p in parts:
        target = [-1 if isinstance(d, Sym) else int(d) for d in new_dims[1:]]
        if sum(1 for d in target if d == -1) > 1:
            target = [0 if isinstance(d, Sym) else int(d) for d in new_dims]
            g = imp.emit(OnnxReshape, {"shape": [0] + target[1:]}, p.sym, origin=n.name, dims=new_dims)
        else:
            g = imp.emit(L.Reshape, {"target_shape": target}, p.sym, origin=n.name, dims=new_dims)
        grown.append(imp.register(g))
    out_dims = dims[:axis] + (len(parts),) + dims[axis:]
    out = imp.emit(L.Concatenate, {"axis": axis}, [g.sym for g in grown], origin=n.name, dims=out_dims)
    return imp.register(out)


RNN_OPS = {"LSTM": _convert, "GRU": _convert, "RNN": _convert}
RNN_CHECKS = {"LSTM": _check, "GRU": _check, "RNN": _check}
