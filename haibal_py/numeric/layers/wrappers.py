"""Bidirectional and TimeDistributed (Keras 3): layers that run another layer.

Both own their inner layers' weights: ``weights`` lists them (Bidirectional: the forward
layer's, then the backward layer's, as Keras), under names prefixed by the inner layer's
name (``forward_lstm/kernel``; a wrapped model adds its layers' names too:
``time_distributed/sequential/dense/kernel``) so that they stay distinct in a weights file. The arrays are
the inner layers' own, updated in place.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, LayerError, WeightSpec, as_tuple_shape, get_layer_class

__all__ = ["Bidirectional", "TimeDistributed"]


class _Wrapper(Layer):
    """A layer whose weights are those of its inner layers."""

    def _inner(self) -> list[Layer]:
        raise NotImplementedError

    def weight_specs(self, trainable: bool | None = None) -> list[WeightSpec]:
        specs = []
        for layer in self._inner():
            if trainable is None:
                own = layer.weight_specs()
            elif trainable:
                own = layer.weight_specs(True) if self._trainable else []
            else:
                own = layer.weight_specs(False) if self._trainable else layer.weight_specs()
            paths = _weight_paths(layer)
            specs += [WeightSpec(f"{layer.name}/{paths.get(id(s.value), '')}{s.name}", s.value,
                                 s.trainable and self._trainable, s.regularizer, s.constraint) for s in own]
        return specs

    def _sublayers(self) -> list[Layer]:
        return self._inner()


def _weight_paths(layer: Layer, prefix: str = "") -> dict[int, str]:
    """For a wrapped model: each weight array's path of layer names inside it (``dense/``), so
    that two Dense layers of a wrapped Sequential keep distinct names; {} for a plain layer."""
    paths: dict[int, str] = {}
    for sub in getattr(layer, "layers", None) or []:
        inner = _weight_paths(sub, f"{prefix}{sub.name}/")
        paths.update(inner)
        for spec in sub.weight_specs():
            paths.setdefault(id(spec.value), f"{prefix}{sub.name}/")
    return paths


def _clone(layer: Layer, **changes) -> Layer:
    config = {**layer.get_config(), **changes}
    return type(layer).from_config(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(_Wrapper):
    """Keras 3's ``Bidirectional(layer, merge_mode="concat", backward_layer=None)``.

    The forward layer is a copy of ``layer`` (named ``forward_<name>``), the backward one a
    copy with ``go_backwards=True`` (``backward_<name>``) unless ``backward_layer`` is given.
    With ``return_sequences`` the backward output is flipped back to time order before the
    merge (``concat``, ``sum``, ``mul``, ``ave`` or ``None``: the list of both). With
    ``return_state``: ``[output, *forward_states, *backward_states]``. Initial states are
    passed as ``[x, *forward_states, *backward_states]`` or ``initial_state=``.
    """

    MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, Layer):
            raise LayerError(f"Bidirectional: layer must be a Layer instance, got {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise LayerError(f"Bidirectional: backward_layer must be a Layer instance, got {backward_layer!r}")
        if merge_mode not in self.MODES:
            raise LayerError(f"Bidirectional: merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None, "
                             f"got {merge_mode!r}")
        for attr in ("go_backwards", "return_sequences", "return_state"):
            if not hasattr(layer, attr):
                raise LayerError(f"Bidirectional: {type(layer).__name__} is not a recurrent layer "
                                 f"(it has no {attr})")
        super().__init__(**kwargs)
        self.forward_layer = _clone(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            self.backward_layer = _clone(layer, name=f"backward_{_strip(layer.name, 'backward_')}",
                                         go_backwards=True)
        else:
            self.backward_layer = backward_layer
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise LayerError(f"{self.name}: the forward and backward layers must have different go_backwards; "
                             f"both have go_backwards={fwd.go_backwards}")
        for attr in ("return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise LayerError(f"{self.name}: the forward and backward layers must have the same {attr}; got "
                                 f"{getattr(fwd, attr)} and {getattr(bwd, attr)}")
        for sub in (fwd, bwd):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences   # as Keras forces it
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = fwd.return_sequences, fwd.return_state
        self._layer_config = {"class_name": type(layer).__name__, "config": layer.get_config()}
        self._initial_weights = list(weights) if weights else None

    def _inner(self):
        return [self.forward_layer, self.backward_layer]

    def build(self, input_shape) -> None:
        shape = input_shape[0] if isinstance(input_shape, list) and input_shape \
            and isinstance(input_shape[0], (list, tuple)) else input_shape
        for sub in self._inner():
            if not sub.built:
                sub.build(shape)
                sub.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None
        self.built = True

    def compute_output_shape(self, input_shape, mask=None, initial_state=None):
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        f = self.forward_layer.compute_output_shape(input_shape)
        b = self.backward_layer.compute_output_shape(input_shape)
        f_out, f_states = (f[0], f[1:]) if self.return_state else (f, [])
        b_out, b_states = (b[0], b[1:]) if self.return_state else (b, [])
        if self.merge_mode is None:
            outs = [f_out, b_out]
        elif self.merge_mode == "concat":
            last = None if f_out[-1] is None or b_out[-1] is None else f_out[-1] + b_out[-1]
            outs = [tuple(f_out[:-1]) + (last,)]
        else:
            outs = [tuple(f_out)]
        if self.return_state or self.merge_mode is None:
            return outs + list(f_states) + list(b_states)
        return outs[0]

    def _n_states(self, layer) -> int:
        return getattr(layer, "n_states", 1)

    def _cast(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return [super(Bidirectional, self)._cast(np.asarray(x)) if i == 0 else
                    np.asarray(x).astype(self.dtype, copy=False) for i, x in enumerate(inputs)]
        return super()._cast(inputs)

    def _ensure_built(self, inputs) -> None:
        if not self.built:
            x = inputs[0] if isinstance(inputs, list) else inputs
            self.build(np.shape(x))
            self.built = True

    call_kwargs = ("mask", "initial_state")

    def _input_shapes(self, inputs):
        return [np.shape(x) for x in inputs] if isinstance(inputs, list) else np.shape(inputs)

    def _forward(self, inputs, training, mask=None, initial_state=None):
        fwd, bwd = self.forward_layer, self.backward_layer
        x, states = (inputs[0], inputs[1:]) if isinstance(inputs, list) else (inputs, [])
        given = 0
        if initial_state is not None:
            if states:
                raise LayerError(f"{self.name}: initial states given both in the inputs list and as initial_state")
            states = [np.asarray(s, dtype=self.dtype) for s in initial_state]
        else:
            given = len(states)
        if states and len(states) % 2:
            raise LayerError(f"{self.name}: initial states come in two equal halves (forward, backward); "
                             f"got {len(states)}")
        half = len(states) // 2
        f_in = [x] + states[:half] if states else x
        b_in = [x] + states[half:] if states else x
        extra = {} if mask is None else {"mask": mask}
        y, f_ctx = fwd.call_forward(f_in, training, **extra)
        y_rev, b_ctx = bwd.call_forward(b_in, training, **extra)
        f_states = b_states = []
        if self.return_state:
            y, f_states = y[0], list(y[1:])
            y_rev, b_states = y_rev[0], list(y_rev[1:])
        if self.return_sequences:
            y_rev = np.ascontiguousarray(y_rev[:, ::-1])
        mode = self.merge_mode
        if mode == "concat":
            out = [np.concatenate([y, y_rev], axis=-1)]
        elif mode == "sum":
            out = [y + y_rev]
        elif mode == "ave":
            out = [(y + y_rev) / 2]
        elif mode == "mul":
            out = [y * y_rev]
        else:
            out = [y, y_rev]
        ctx = (f_ctx, b_ctx, y, y_rev, len(f_states), len(b_states), half if given else 0)
        outputs = out + f_states + b_states
        return (outputs if len(outputs) > 1 else outputs[0]), ctx

    def _backward(self, ctx, d_outputs, need_dx):
        f_ctx, b_ctx, y, y_rev, nf, nb, half = ctx
        d = list(d_outputs) if isinstance(d_outputs, (list, tuple)) else [d_outputs]
        n_out = 2 if self.merge_mode is None else 1
        d += [None] * (n_out + nf + nb - len(d))
        d_out, d_fs, d_bs = d[:n_out], d[n_out:n_out + nf], d[n_out + nf:]
        mode = self.merge_mode
        zeros = lambda a: np.zeros_like(a)  # noqa: E731
        if mode is None:
            dy, dy_rev = (zeros(y) if d_out[0] is None else d_out[0]), (zeros(y_rev) if d_out[1] is None else d_out[1])
        else:
            g = zeros(y) if d_out[0] is None else np.asarray(d_out[0], dtype=y.dtype)
            if mode == "concat":
                u = y.shape[-1]
                dy, dy_rev = g[..., :u], g[..., u:]
            elif mode == "sum":
                dy, dy_rev = g, g
            elif mode == "ave":
                dy = dy_rev = g / 2
            else:
                dy, dy_rev = g * y_rev, g * y
        if self.return_sequences:
            dy_rev = dy_rev[:, ::-1]
        f_d = [dy] + d_fs if self.return_state else dy
        b_d = [dy_rev] + d_bs if self.return_state else dy_rev
        want = need_dx or half > 0
        dx_f, g_f = self.forward_layer.call_backward(f_ctx, f_d, want)
        dx_b, g_b = self.backward_layer.call_backward(b_ctx, b_d, want)
        grads = (list(g_f) + list(g_b)) if self._trainable else []
        if not need_dx:
            return None, grads
        if half:
            return [dx_f[0] + dx_b[0]] + list(dx_f[1:]) + list(dx_b[1:]), grads
        return dx_f + dx_b, grads

    def get_config(self) -> dict:
        config = {**super().get_config(), "merge_mode": self.merge_mode, "layer": self._layer_config}
        if self.backward_layer.name != f"backward_{_strip(self.forward_layer.name, 'forward_')}" or \
                not isinstance(self.backward_layer, type(self.forward_layer)):
            config["backward_layer"] = {"class_name": type(self.backward_layer).__name__,
                                        "config": self.backward_layer.get_config()}
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Bidirectional":
        config = dict(config)
        inner = config.pop("layer")
        layer = get_layer_class(inner["class_name"]).from_config(inner["config"])
        back = config.pop("backward_layer", None)
        if back is not None:
            config["backward_layer"] = get_layer_class(back["class_name"]).from_config(back["config"])
        return cls(layer, **config)


class TimeDistributed(_Wrapper):
    """Keras 3's ``TimeDistributed(layer)``: ``layer`` applied to every step of axis 1, as one
    call on the input reshaped to ``(batch * time, ...)``."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise LayerError(f"TimeDistributed: layer must be a Layer instance, got {layer!r}")
        if layer.n_inputs != 1:
            raise LayerError(f"TimeDistributed: the inner layer {layer.name} must take one input")
        super().__init__(**kwargs)
        self.layer = layer

    def _inner(self):
        return [self.layer]

    def _split(self, input_shape) -> tuple:
        shape = as_tuple_shape(input_shape)
        if len(shape) < 3:
            raise LayerError(f"{self.name} (TimeDistributed) expects an input of rank >= 3 (batch, time, ...), "
                             f"got shape {shape}")
        return shape

    def build(self, input_shape) -> None:
        shape = self._split(input_shape)
        if not self.layer.built:
            self.layer.build((None,) + shape[2:])
            self.layer.built = True
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = self._split(input_shape)
        inner = self.layer.compute_output_shape((None,) + shape[2:])
        if isinstance(inner, list):
            raise LayerError(f"{self.name}: the inner layer {self.layer.name} has several outputs")
        return (shape[0], shape[1]) + tuple(inner[1:])

    def _forward(self, x, training):
        self._split(x.shape)
        b, t = x.shape[:2]
        flat = x.reshape((b * t,) + x.shape[2:])
        y, ctx = self.layer.call_forward(flat, training)
        if isinstance(y, list):
            raise LayerError(f"{self.name}: the inner layer {self.layer.name} has several outputs")
        return y.reshape((b, t) + y.shape[1:]), (ctx, x.shape, y.shape)

    def _backward(self, ctx, dy, need_dx):
        inner_ctx, x_shape, y_shape = ctx
        dflat = np.asarray(dy).reshape(y_shape)
        dx, grads = self.layer.call_backward(inner_ctx, dflat, need_dx)
        grads = list(grads) if self._trainable else []
        return (None if dx is None else dx.reshape(x_shape)), grads

    def get_config(self) -> dict:
        return {**super().get_config(),
                "layer": {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config: dict) -> "TimeDistributed":
        config = dict(config)
        inner = config.pop("layer")
        return cls(get_layer_class(inner["class_name"]).from_config(inner["config"]), **config)
