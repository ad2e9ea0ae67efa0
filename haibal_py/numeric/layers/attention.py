"""MultiHeadAttention (Keras 3), forward and backward.

Call: ``mha([query, value])`` / ``mha([query, value, key])`` or Keras' form
``mha(query, value, key=None, attention_mask=None, return_attention_scores=False,
training=False, use_causal_mask=False)`` (arrays; ``forward``/``call_forward`` take the
same keywords). With ``return_attention_scores`` the output is the list
``[output, scores]``; ``backward`` then takes ``[d_output, d_scores]`` (``d_scores`` may
be None). ``backward`` returns ``[d_query, d_value]`` (``[d_query, d_value, d_key]`` when a
key was given).

Weights, in Keras' order and layout: ``query/kernel (dim_q, heads, key_dim)``,
``query/bias (heads, key_dim)``, ``key/kernel``, ``key/bias``, ``value/kernel (dim_v,
heads, value_dim)``, ``value/bias``, ``attention_output/kernel (heads, value_dim,
*output_shape)``, ``attention_output/bias (*output_shape)`` (``output_shape`` defaults to
the query's last dimension). The query is scaled by ``1/sqrt(key_dim)`` before the dot
product, as in Keras.

A query whose keys are all masked gets zeros (Keras' explicit-softmax path, the one that
returns scores; its fused path without scores averages the values instead).
"""

from __future__ import annotations

import math

import numpy as np

from .. import initializers, regularizers
from ..kernels import attention as A
from ..kernels import blas
from ..seeding import check_seed, global_rng
from .arguments import positive_int, rate
from .base import Layer, LayerError, _as_float, as_tuple_shape, serialize_or_none

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(Layer):
    """Keras 3's ``MultiHeadAttention`` (see the module docstring)."""

    n_inputs = None
    empty_batch_by_shape = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_heads = positive_int(num_heads, "num_heads", self.name)
        self.key_dim = positive_int(key_dim, "key_dim", self.name)
        self.value_dim = self.key_dim if value_dim is None else positive_int(value_dim, "value_dim", self.name)
        self.dropout = rate(dropout, "dropout", self.name)
        self.use_bias = bool(use_bias)
        if output_shape is not None and output_shape != ():
            try:
                output_shape = (int(output_shape),) if isinstance(output_shape, (int, np.integer)) \
                    else tuple(positive_int(int(d), "output_shape", self.name) for d in output_shape)
            except (TypeError, ValueError):
                raise LayerError(f"{self.name}: output_shape must be an int or a tuple of ints, "
                                 f"got {output_shape!r}") from None
        else:
            output_shape = None
        self._output_shape = output_shape
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        if sliding_window is not None:
            raise LayerError(f"{self.name}: sliding_window is not supported")
        if use_gate:
            raise LayerError(f"{self.name}: use_gate=True is not supported")
        self.flash_attention = flash_attention  # same numbers either way: accepted and ignored
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.seed = check_seed(seed)
        self._rng = np.random.default_rng(self.seed) if self.seed is not None else None

    # ------------------------------------------------------------------ build and shapes
    def _shapes(self, input_shape):
        shapes = list(input_shape) if isinstance(input_shape, (list, tuple)) and input_shape \
            and isinstance(input_shape[0], (list, tuple)) else None
        if shapes is None or len(shapes) not in (2, 3):
            raise LayerError(f"{self.name}: MultiHeadAttention takes [query, value] or [query, value, key], "
                             f"got input shape(s) {input_shape}")
        q = as_tuple_shape(shapes[0])
        v = as_tuple_shape(shapes[1])
        k = v if len(shapes) == 2 or shapes[2] is None else as_tuple_shape(shapes[2])
        for nm, s in (("query", q), ("value", v), ("key", k)):
            if len(s) < 3:
                raise LayerError(f"{self.name}: {nm} must have rank >= 3 (batch, tokens..., features), got {s}")
        if v[1:-1] != k[1:-1]:
            raise LayerError(f"{self.name}: all dimensions of value and key except the last must be equal; "
                             f"got value shape {v} and key shape {k}")
        if len(q) != len(v):
            raise LayerError(f"{self.name}: query and value must have the same rank, got {q} and {v}")
        return q, v, k

    def _axes(self, rank: int) -> tuple[int, ...]:
        """Attention axes as indices into a rank-``rank`` input (inner axes, between batch and features)."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = tuple(sorted(a + rank if a < 0 else a for a in self.attention_axes))
        if any(not 1 <= a <= rank - 2 for a in axes) or len(set(axes)) != len(axes):
            raise LayerError(f"{self.name}: attention_axes {self.attention_axes} must name distinct inner axes "
                             f"of a rank-{rank} input (not the batch or the feature axis)")
        return axes

    def build(self, input_shape) -> None:
        q, v, k = self._shapes(input_shape)
        out = self._output_shape or (q[-1],)
        if any(d is None for d in (q[-1], v[-1], k[-1])):
            raise LayerError(f"{self.name}: the feature dimensions of {q}, {v}, {k} must be known")
        self._axes(len(q))
        H, K, V = self.num_heads, self.key_dim, self.value_dim

        def dense(prefix, kshape, bshape):
            w = self.add_weight(f"{prefix}/kernel", kshape, self.kernel_initializer, self.kernel_regularizer,
                                constraint=self.kernel_constraint)
            b = self.add_weight(f"{prefix}/bias", bshape, self.bias_initializer, self.bias_regularizer,
                                constraint=self.bias_constraint) if self.use_bias else None
            return w, b

        self.query_kernel, self.query_bias = dense("query", (q[-1], H, K), (H, K))
        self.key_kernel, self.key_bias = dense("key", (k[-1], H, K), (H, K))
        self.value_kernel, self.value_bias = dense("value", (v[-1], H, V), (H, V))
        self.output_kernel, self.output_bias = dense("attention_output", (H, V) + tuple(out), tuple(out))
        self._out = tuple(out)
        self.built = True

    def compute_output_shape(self, input_shape, attention_mask=None, return_attention_scores=False,
                             use_causal_mask=False):
        q, v, _ = self._shapes(input_shape)
        if self.built and q[-1] is not None and q[-1] != self.query_kernel.shape[0]:
            raise LayerError(f"{self.name}: built for queries with {self.query_kernel.shape[0]} features, "
                             f"got query shape {q}")
        out = q[:-1] + (self._output_shape or (q[-1],))
        if return_attention_scores:
            axes = self._axes(len(q))
            other = [a for a in range(1, len(q) - 1) if a not in axes]
            scores = (q[0],) + tuple(q[a] for a in other) + (self.num_heads,) \
                + tuple(q[a] for a in axes) + tuple(v[a] for a in axes)
            return [out, scores]
        return out

    # ------------------------------------------------------------------ call forms
    def _cast(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise LayerError(f"{self.name}: MultiHeadAttention takes [query, value] or [query, value, key]")
        inputs = list(inputs)
        if len(inputs) == 3 and inputs[2] is None:
            inputs = inputs[:2]
        return [_as_float(x, self.dtype, self.name) for x in inputs]

    call_kwargs = ("attention_mask", "return_attention_scores", "use_causal_mask")

    def __call__(self, query, value=None, key=None, training=None, **kwargs):
        """Keras' form ``mha(query, value, key=None, attention_mask=None,
        return_attention_scores=False, training=None, use_causal_mask=False)``, or a list."""
        if value is None:
            return super().__call__(query, training=training, **kwargs)
        inputs = [query, value] if key is None else [query, value, key]
        return super().__call__(inputs, training=training, **kwargs)

    # ------------------------------------------------------------------ forward / backward
    def _project(self, x, kernel, bias):
        n, d = math.prod(x.shape[:-1]), x.shape[-1]
        if d != kernel.shape[0]:
            raise LayerError(f"{self.name}: built for inputs with {kernel.shape[0]} features, got shape {x.shape}")
        y = blas.matmul(x.reshape(n, d), kernel.reshape(d, -1))
        if bias is not None:
            y += bias.reshape(-1)
        return y.reshape(x.shape[:-1] + kernel.shape[1:])

    def _mask(self, q_shape, k_shape, axes, scores_shape, mask, use_causal_mask):
        """The boolean mask in Keras' scores layout (None when nothing is masked)."""
        given = None if mask is None else np.shape(mask)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool:
                mask = mask > 0.5 if mask.dtype.kind == "f" else mask.astype(bool)
            m = mask
            while m.ndim < len(scores_shape):
                m = np.expand_dims(m, -2 * len(axes) - 1)
            try:
                mask = np.broadcast_to(m, scores_shape)
            except ValueError:
                raise LayerError(f"{self.name}: attention_mask of shape {given} does "
                                 f"not broadcast to the attention scores' shape {scores_shape}") from None
        if use_causal_mask:
            if len(q_shape) != 4:
                raise LayerError(f"{self.name}: use_causal_mask needs rank-3 query and value (batch, tokens, "
                                 f"features), got a query of rank {len(q_shape) - 1}")
            causal = A.causal_mask(q_shape[1], k_shape[1])
            mask = causal if mask is None else (mask & causal)
            mask = np.broadcast_to(mask, scores_shape)
        return mask

    @blas.in_single_thread
    def _forward(self, inputs, training, attention_mask=None, return_attention_scores=False,
                 use_causal_mask=False):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        self._shapes([query.shape, value.shape, key.shape])
        q = self._project(query, self.query_kernel, self.query_bias)      # (B, Sq..., H, K)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        axes = self._axes(query.ndim)
        other = [a for a in range(1, q.ndim - 2) if a not in axes]
        if any(q.shape[a] != k.shape[a] for a in other):
            raise LayerError(f"{self.name}: query shape {query.shape} and key shape {key.shape} must agree "
                             f"on the axes that are not attended over")
        qf, kf, vf = (A.flatten_axes(t, axes) for t in (q, k, v))
        scores_shape = (q.shape[0],) + tuple(q.shape[a] for a in other) + (self.num_heads,) \
            + tuple(q.shape[a] for a in axes) + tuple(k.shape[a] for a in axes)
        mask = self._mask(q.shape, k.shape, axes, scores_shape, attention_mask, use_causal_mask)
        flat_shape = (qf.shape[0], self.num_heads, qf.shape[2], kf.shape[2])
        if mask is not None:
            mask = mask.reshape(flat_shape)
        drop = None
        if training and 0.0 < self.dropout < 1.0:
            rng = self._rng if self._rng is not None else global_rng()
            keep = rng.random(flat_shape) >= self.dropout
            drop = keep.astype(q.dtype) / q.dtype.type(1.0 - self.dropout)
        o, P, actx = A.attention_forward(qf, kf, vf, 1.0 / math.sqrt(self.key_dim), mask, drop)
        o_full = A.unflatten_axes(o, q.shape[:-1] + (self.value_dim,), axes)   # (B, Sq..., H, V)
        n = math.prod(o_full.shape[:-2])
        o2 = np.ascontiguousarray(o_full).reshape(n, -1)
        out = blas.matmul(o2, self.output_kernel.reshape(o2.shape[1], -1))
        if self.output_bias is not None:
            out += self.output_bias.reshape(-1)
        out = out.reshape(query.shape[:-1] + self._out)
        ctx = (inputs, len(inputs), q.shape, k.shape, v.shape, axes, actx, o2, flat_shape)
        if return_attention_scores:
            return [out, P.reshape(scores_shape)], ctx
        return out, ctx

    @blas.in_single_thread
    def _backward(self, ctx, d_outputs, need_dx):
        inputs, n_in, q_shape, k_shape, v_shape, axes, actx, o2, flat_shape = ctx
        d_scores = None
        if isinstance(d_outputs, (list, tuple)):
            d_out, d_scores = d_outputs[0], (d_outputs[1] if len(d_outputs) > 1 else None)
        else:
            d_out = d_outputs
        dt = o2.dtype
        if d_out is None:
            d_out = np.zeros(inputs[0].shape[:-1] + self._out, dtype=dt)
        d2 = np.asarray(d_out, dtype=dt).reshape(o2.shape[0], -1)
        d_wo = blas.matmul(o2.T, d2).reshape(self.output_kernel.shape)
        d_bo = d2.sum(axis=0).reshape(self._out) if self.use_bias else None
        do = blas.matmul(d2, self.output_kernel.reshape(o2.shape[1], -1).T).reshape(q_shape[:-1] + (self.value_dim,))
        dof = A.flatten_axes(do, axes)
        if d_scores is not None:
            d_scores = np.asarray(d_scores, dtype=dt).reshape(flat_shape)
        dqf, dkf, dvf = A.attention_backward(actx, dof, d_scores)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if n_in == 3 else value
        grads, dxs = [], []
        for x, df, shape, kernel, bias in ((query, dqf, q_shape, self.query_kernel, self.query_bias),
                                           (key, dkf, k_shape, self.key_kernel, self.key_bias),
                                           (value, dvf, v_shape, self.value_kernel, self.value_bias)):
            d = np.ascontiguousarray(A.unflatten_axes(df, shape, axes)).reshape(-1, kernel[0].size)
            x2 = x.reshape(-1, x.shape[-1])
            grads.append(blas.matmul(x2.T, d).reshape(kernel.shape))
            grads.append(d.sum(axis=0).reshape(bias.shape) if bias is not None else None)
            dxs.append(blas.matmul(d, kernel.reshape(x.shape[-1], -1).T).reshape(x.shape) if need_dx else None)
        grads += [d_wo, d_bo]
        grads = [g for g in grads if g is not None] if self.trainable else []
        if not need_dx:
            return None, grads
        dq, dk, dv = dxs
        if n_in == 3:
            return [dq, dv, dk], grads
        return [dq, dv + dk], grads

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": self._output_shape, "attention_axes": self.attention_axes,
                "kernel_initializer": serialize_or_none(self.kernel_initializer, initializers),
                "bias_initializer": serialize_or_none(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_or_none(self.kernel_regularizer, regularizers),
                "bias_regularizer": serialize_or_none(self.bias_regularizer, regularizers),
                "kernel_constraint": self.kernel_constraint, "bias_constraint": self.bias_constraint,
                "seed": self.seed if isinstance(self.seed, int) else None}
