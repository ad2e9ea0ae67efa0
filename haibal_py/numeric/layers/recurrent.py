"""SimpleRNN, LSTM and GRU (Keras 3), forward and backpropagation through time.

Call forms (arrays): ``layer(x)``, ``layer.forward(x, training, mask=..., initial_state=...)``
or the list form ``layer.forward([x, h0])`` / ``[x, h0, c0]`` (initial states as extra
inputs, as a functional model passes them). Outputs: the last output ``(B, units)`` or,
with ``return_sequences``, ``(B, T, units)`` in processing order (reversed when
``go_backwards``, as Keras returns it); with ``return_state`` the list ``[output, h]``
(LSTM ``[output, h, c]``). ``backward`` takes the gradient of each output (a list with
``return_state``; ``None`` entries count as zeros) and returns ``dx`` (a list
``[dx, dh0, ...]`` when initial states were inputs).

Weights (Keras' layout and order): ``kernel (features, G*units)``, ``recurrent_kernel
(units, G*units)``, ``bias`` (``(G*units,)``; GRU with ``reset_after``: ``(2, 3*units)``).

With a mask, a masked step repeats the previous output (zeros with
``zero_output_for_mask=True``, which Bidirectional sets for sequences, as Keras does).

``dropout`` / ``recurrent_dropout`` act in training only, with masks drawn once per call
and shared by its steps (one mask per gate when ``recurrent_dropout > 0``, as Keras'
"implementation 1"); a rate of 0 or 1 disables them, as in Keras' cells.
"""

from __future__ import annotations

import numpy as np

from .. import activation_grads
from .. import activations as activations_mod
from .. import initializers, regularizers
from ..kernels import recurrent as R
from ..seeding import check_seed, global_rng
from .arguments import positive_int, rate
from .base import Layer, LayerError, as_tuple_shape, serialize_or_none

__all__ = ["SimpleRNN", "LSTM", "GRU", "RNNBase"]


def _activation_name(identifier):
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        return identifier
    return getattr(identifier, "__name__", identifier)


def _step_activation(owner: str, what: str, identifier) -> R.StepActivation:
    """The kernel's activation: tanh, sigmoid, relu, hard_sigmoid and linear are
    differentiated from their outputs; others through ``activation_grads``."""
    try:
        fn = activations_mod.get(identifier)        # an unknown name: the activation module's error
        name = identifier if isinstance(identifier, str) else getattr(fn, "__name__", None)
        if name in R.KNOWN and fn is activations_mod.get(name):
            return R.step_activation(name)
        vjp, _ = activation_grads.backward_of(fn)
        if name in ("softmax", "log_softmax"):
            raise ValueError("it is not elementwise")
        return R.step_activation(fn, lambda x: vjp(x, fn(x), np.ones_like(x)))
    except (ValueError, TypeError) as exc:
        raise LayerError(f"{owner}: {what}={identifier!r}: {exc}") from None


class RNNBase(Layer):
    """What the three recurrent layers share: arguments, weights, call forms, dropout masks."""

    GATES = 1
    n_inputs = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, implementation=2,
                 zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(units, "units", self.name)
        if stateful:
            raise LayerError(f"{self.name}: stateful=True is not supported (pass initial_state instead)")
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self._act = _step_activation(self.name, "activation", activation)
        self._ract = _step_activation(self.name, "recurrent_activation", recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint, self.recurrent_constraint = kernel_constraint, recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = rate(dropout, "dropout", self.name)
        self.recurrent_dropout = rate(recurrent_dropout, "recurrent_dropout", self.name)
        self.seed = check_seed(seed)
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        if implementation not in (1, 2):
            raise LayerError(f"{self.name}: implementation must be 1 or 2, got {implementation!r}")
        self.implementation = 1 if self.recurrent_dropout else implementation
        self.kernel = self.recurrent_kernel = self.bias = None

    # ------------------------------------------------------------------ weights and shapes
    @property
    def n_states(self) -> int:
        return 1

    def _bias_shape(self):
        return (self.GATES * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape) -> None:
        shape = self._sequence_shape(input_shape)
        features = shape[-1]
        if features is None:
            raise LayerError(f"{self.name}: the feature axis of input shape {shape} must be known")
        n = self.GATES * self.units
        self.kernel = self.add_weight("kernel", (features, n), self.kernel_initializer, self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, n), self.recurrent_initializer,
                                                self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_initializer(),
                                        self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def _sequence_shape(self, input_shape):
        if isinstance(input_shape, list) and input_shape and not isinstance(input_shape[0], (int, type(None))):
            input_shape = input_shape[0]
        shape = as_tuple_shape(input_shape)
        if len(shape) != 3:
            raise LayerError(f"{self.name} ({type(self).__name__}) expects a rank-3 input (batch, timesteps, "
                             f"features), got shape {shape}")
        return shape

    def compute_output_shape(self, input_shape, mask=None, initial_state=None):
        shape = self._sequence_shape(input_shape)
        if self.built and shape[-1] is not None and shape[-1] != self.kernel.shape[0]:
            raise LayerError(f"{self.name}: built for {self.kernel.shape[0]} features, got input shape {shape}")
        b = shape[0]
        out = (b, shape[1], self.units) if self.return_sequences else (b, self.units)
        if self.return_state:
            return [out] + [(b, self.units)] * self.n_states
        return out

    # ------------------------------------------------------------------ call forms
    call_kwargs = ("mask", "initial_state")

    def _input_shapes(self, inputs):
        return [np.shape(x) for x in inputs] if isinstance(inputs, list) else np.shape(inputs)

    def _cast(self, inputs):
        if isinstance(inputs, (list, tuple)):
            if not 1 <= len(inputs) <= 1 + self.n_states:
                raise LayerError(f"{self.name}: takes a sequence and up to {self.n_states} initial state(s), "
                                 f"got a list of {len(inputs)} inputs")
            return [super(RNNBase, self)._cast(x) if i == 0 else _as_state(self, x)
                    for i, x in enumerate(inputs)]
        return super()._cast(inputs)

    # ------------------------------------------------------------------ forward / backward
    def _masks(self, B: int, F: int, training: bool):
        """The input and recurrent dropout multipliers ``(G, B, n)`` for this call (or None)."""
        if not training:
            return None, None
        count = self.GATES if self.implementation == 1 else 1
        rng = self._rng if self._rng is not None else global_rng()
        dt = self.kernel.dtype

        def draw(rate_, n):
            if not 0.0 < rate_ < 1.0:
                return None
            keep = rng.random((count, B, n)) >= rate_
            return keep.astype(dt) / dt.type(1.0 - rate_)

        return draw(self.dropout, F), draw(self.recurrent_dropout, self.units)

    def _forward(self, inputs, training, mask=None, initial_state=None):
        if isinstance(inputs, list):
            x, states = inputs[0], inputs[1:]
        else:
            x, states = inputs, []
        if initial_state is not None:
            if states:
                raise LayerError(f"{self.name}: initial states given both in the inputs list and as initial_state")
            given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(given) > self.n_states:
                raise LayerError(f"{self.name}: takes up to {self.n_states} initial state(s), got {len(given)}")
            states = [_as_state(self, s) for s in given]
        if x.ndim != 3 or x.shape[-1] != self.kernel.shape[0]:
            raise LayerError(f"{self.name}: expects inputs of shape (batch, timesteps, {self.kernel.shape[0]}), "
                             f"got {x.shape}")
        if x.shape[1] == 0:
            raise LayerError(f"{self.name}: the input has no timesteps (shape {x.shape})")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != x.shape[:2]:
                raise LayerError(f"{self.name}: mask shape {mask.shape} does not match the input's "
                                 f"(batch, timesteps) {x.shape[:2]}")
        in_masks, rec_masks = self._masks(x.shape[0], x.shape[2], training)
        for s in states:
            if s.shape != (x.shape[0], self.units):
                raise LayerError(f"{self.name}: an initial state must have shape (batch, units) = "
                                 f"{(x.shape[0], self.units)}, got {s.shape}")
        res = self._run(x, states, mask, in_masks, rec_masks)
        out = [res.output] + res.states if self.return_state else res.output
        return out, (res.ctx, len(states) if isinstance(inputs, list) else 0)

    def _backward(self, ctx, d_outputs, need_dx):
        kctx, n_given = ctx
        if self.return_state:
            d = list(d_outputs)
            dy, d_states = d[0], d[1:] + [None] * (self.n_states - len(d) + 1)
        else:
            dy, d_states = d_outputs, [None] * self.n_states
        dx, d_init, dk, dr, db = self._back(kctx, dy, d_states, need_dx or n_given > 0)
        grads = [dk, dr] + ([db] if self.use_bias else []) if self.trainable else []
        if n_given:
            return ([dx] + d_init[:n_given]) if need_dx else None, grads
        return (dx if need_dx else None), grads

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units, "activation": _activation_name(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_or_none(self.kernel_initializer, initializers),
                "recurrent_initializer": serialize_or_none(self.recurrent_initializer, initializers),
                "bias_initializer": serialize_or_none(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_or_none(self.kernel_regularizer, regularizers),
                "recurrent_regularizer": serialize_or_none(self.recurrent_regularizer, regularizers),
                "bias_regularizer": serialize_or_none(self.bias_regularizer, regularizers),
                "kernel_constraint": self.kernel_constraint, "recurrent_constraint": self.recurrent_constraint,
                "bias_constraint": self.bias_constraint, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "seed": self.seed if isinstance(self.seed, int) else None,
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": False, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def _common(self):
        return dict(go_backwards=self.go_backwards, return_sequences=self.return_sequences,
                    zero_output_for_mask=self.zero_output_for_mask)


def _as_state(layer, x):
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise LayerError(f"{layer.name}: an initial state must be numeric, got dtype {arr.dtype}")
    return arr.astype(layer.dtype, copy=False)


class SimpleRNN(RNNBase):
    """Keras 3's ``SimpleRNN``: ``h_t = activation(x_t W + b + h_{t-1} U)``."""

    GATES = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", **kwargs):
        if "recurrent_activation" in kwargs:
            raise LayerError("SimpleRNN: unknown argument(s) recurrent_activation")
        super().__init__(units, activation=activation, recurrent_activation="sigmoid", use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        self.implementation = 2  # SimpleRNN draws one mask (no per-gate masks)

    def _run(self, x, states, mask, in_masks, rec_masks):
        return R.simple_rnn_forward(x, self.kernel, self.recurrent_kernel, self.bias, activation=self._act,
                                    initial_state=states[0] if states else None, mask=mask, in_masks=in_masks,
                                    rec_masks=rec_masks, **self._common())

    def _back(self, ctx, dy, d_states, need_dx):
        return R.simple_rnn_backward(ctx, self.kernel, self.recurrent_kernel, self.bias, dy, d_states,
                                     activation=self._act, need_dx=need_dx)


class LSTM(RNNBase):
    """Keras 3's ``LSTM`` (gates ``i, f, c, o``; ``unit_forget_bias`` sets the forget bias to 1)."""

    GATES = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def n_states(self) -> int:
        return 2

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = initializers.get(self.bias_initializer), self.units

        def init(shape, dtype=None):
            return np.concatenate([np.asarray(base((u,), dtype=dtype)), np.ones(u, dtype=dtype or "float32"),
                                   np.asarray(base((2 * u,), dtype=dtype))])
        return init

    def _run(self, x, states, mask, in_masks, rec_masks):
        init = None
        if states:
            init = (states[0], states[1] if len(states) > 1 else None)
        return R.lstm_forward(x, self.kernel, self.recurrent_kernel, self.bias, activation=self._act,
                              recurrent_activation=self._ract, initial_state=init, mask=mask,
                              in_masks=in_masks, rec_masks=rec_masks, **self._common())

    def _back(self, ctx, dy, d_states, need_dx):
        return R.lstm_backward(ctx, self.kernel, self.recurrent_kernel, self.bias, dy, d_states,
                               activation=self._act, recurrent_activation=self._ract, need_dx=need_dx)

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": _activation_name(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(RNNBase):
    """Keras 3's ``GRU`` (gates ``z, r, h``; ``reset_after=True`` by default, bias ``(2, 3*units)``)."""

    GATES = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, x, states, mask, in_masks, rec_masks):
        return R.gru_forward(x, self.kernel, self.recurrent_kernel, self.bias, activation=self._act,
                             recurrent_activation=self._ract, reset_after=self.reset_after,
                             initial_state=states[0] if states else None, mask=mask, in_masks=in_masks,
                             rec_masks=rec_masks, **self._common())

    def _back(self, ctx, dy, d_states, need_dx):
        return R.gru_backward(ctx, self.kernel, self.recurrent_kernel, self.bias, dy, d_states,
                              activation=self._act, recurrent_activation=self._ract, need_dx=need_dx)

    def get_config(self) -> dict:
        return {**super().get_config(), "recurrent_activation": _activation_name(self.recurrent_activation),
                "reset_after": self.reset_after}
