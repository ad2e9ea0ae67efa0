"""BatchNormalization, LayerNormalization and GroupNormalization (Keras 3), forward and backward.

All three standardize the input over some axes (``kernels.normalization``) and apply a
per-feature ``gamma`` / ``beta``; each views its input so that those axes are simple:

- BatchNormalization: ``(pre, C, post)`` around ``axis``; statistics over ``pre`` and
  ``post``. ``training=True`` (and a trainable layer, as in Keras) uses the batch's
  mean and biased variance and updates ``moving_* = moving_* * momentum + batch * (1 -
  momentum)``; otherwise the moving statistics, a constant affine map.
- LayerNormalization: rows x the normalized axes (a view when they are the last ones).
- GroupNormalization: ``(B, P, G, C/G, Q)``; statistics per sample and group.
"""

from __future__ import annotations

import math

import numpy as np

from .. import initializers, regularizers
from ..kernels import normalization as K
from ..kernels.blocks import to_rows
from .arguments import normalize_axis, positive_int
from .base import Layer, LayerError, as_tuple_shape, serialize_or_none

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization"]


class _Affine(Layer):
    """Shared parts: the ``gamma``/``beta`` arguments, weights and config."""

    def __init__(self, *, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                 gamma_regularizer, beta_constraint, gamma_constraint, **kwargs):
        super().__init__(**kwargs)
        try:
            self.epsilon = float(epsilon)
        except (TypeError, ValueError):
            raise LayerError(f"{self.name}: epsilon must be a number, got {epsilon!r}") from None
        if not self.epsilon >= 0:
            raise LayerError(f"{self.name}: epsilon must be >= 0, got {epsilon!r}")
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.beta_constraint, self.gamma_constraint = beta_constraint, gamma_constraint
        self.gamma = self.beta = None

    def _affine_weights(self, shape, scale: bool, center: bool) -> None:
        if scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _affine_config(self) -> dict:
        return {"epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": serialize_or_none(self.beta_initializer, initializers),
                "gamma_initializer": serialize_or_none(self.gamma_initializer, initializers),
                "beta_regularizer": serialize_or_none(self.beta_regularizer, regularizers),
                "gamma_regularizer": serialize_or_none(self.gamma_regularizer, regularizers),
                "beta_constraint": self.beta_constraint, "gamma_constraint": self.gamma_constraint}

    def _grads(self, dgamma, dbeta) -> list:
        if not self.trainable:
            return []
        out = []
        if self.gamma is not None:
            out.append(dgamma)
        if self.beta is not None:
            out.append(dbeta)
        return out


class BatchNormalization(_Affine):
    """Keras 3's ``BatchNormalization`` (``renorm`` and ``synchronized`` are not supported)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        super().__init__(epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer, beta_regularizer=beta_regularizer,
                         gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                         gamma_constraint=gamma_constraint, **kwargs)
        if renorm:
            raise LayerError(f"{self.name}: renorm=True (batch renormalization) is not supported")
        if synchronized:
            raise LayerError(f"{self.name}: synchronized=True needs several devices; haibal-py runs on one")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise LayerError(f"{self.name}: axis must be an int, got {axis!r}")
        self.axis = axis
        try:
            self.momentum = float(momentum)
        except (TypeError, ValueError):
            raise LayerError(f"{self.name}: momentum must be a number, got {momentum!r}") from None
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        self.moving_mean = self.moving_variance = None
        self.renorm_momentum = renorm_momentum

    def build(self, input_shape) -> None:
        shape = as_tuple_shape(input_shape)
        ax = normalize_axis(self.axis, len(shape), self.name, shape)
        if len(shape) < 2 and ax == 0:
            raise LayerError(f"{self.name}: BatchNormalization needs a batch axis besides axis {self.axis}; "
                             f"got input shape {shape}")
        dim = shape[ax]
        if dim is None:
            raise LayerError(f"{self.name}: axis {self.axis} of input shape {shape} must be known")
        self._axis_index = ax
        self._affine_weights((dim,), self.scale, self.center)
        self.moving_mean = self.add_weight("moving_mean", (dim,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (dim,), self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        normalize_axis(self.axis, len(shape), self.name, shape)
        return shape

    def _view(self, x: np.ndarray) -> np.ndarray:
        ax = normalize_axis(self.axis, x.ndim, self.name, x.shape)
        if x.shape[ax] != self.moving_mean.shape[0]:
            raise LayerError(f"{self.name}: expected {self.moving_mean.shape[0]} features on axis {self.axis}, "
                             f"got input shape {x.shape}")
        pre = math.prod(x.shape[:ax])
        post = math.prod(x.shape[ax + 1:])
        if post == 1:
            return x.reshape(pre, x.shape[ax])
        return x.reshape(pre, x.shape[ax], post)

    def _param(self, w, ndim: int):
        if w is None:
            return None
        return w if ndim == 2 else w[:, None]

    def _forward(self, x, training):
        v = self._view(x)
        axes = (0,) if v.ndim == 2 else (0, 2)
        gamma, beta = self._param(self.gamma, v.ndim), self._param(self.beta, v.ndim)
        if training and self.trainable and v.ndim == 2:
            y, mean, var, inv, tape = K.batch_norm_train_2d(v, self.gamma, self.beta, self.epsilon)
            self._update_moving(mean, var)
            return y.reshape(x.shape), ("train2d", tape, x.shape)
        if training and self.trainable:
            xhat, mean, var, inv = K.standardize(v, axes, self.epsilon)
            y = xhat * gamma if gamma is not None else xhat.copy()
            if beta is not None:
                y += beta
            self._update_moving(mean, var)
            ctx = ("train", xhat, inv, axes, x.shape)
        else:
            mean = self._param(self.moving_mean, v.ndim)
            var = self._param(self.moving_variance, v.ndim)
            y, inv = K.affine_inference(v, mean, var, gamma, beta, self.epsilon)
            ctx = ("infer", v, inv, axes, x.shape, mean)
        return y.reshape(x.shape), ctx

    def _update_moving(self, mean, var) -> None:
        """Keras: ``moving = moving * momentum + batch * (1 - momentum)``."""
        m = self.momentum
        self.moving_mean[...] = self.moving_mean * m + mean.reshape(-1) * (1.0 - m)
        self.moving_variance[...] = self.moving_variance * m + var.reshape(-1) * (1.0 - m)

    def _backward(self, ctx, dy, need_dx):
        if ctx[0] == "train2d":
            _, tape, shape = ctx
            dv = np.ascontiguousarray(dy, dtype=tape.t.dtype).reshape(tape.t.shape)
            dx, dgamma, dbeta = K.batch_norm_train_backward_2d(dv, tape, self.gamma, need_dx)
            return (None if dx is None else dx.reshape(shape)), self._grads(dgamma, dbeta)
        mode, shape = ctx[0], ctx[4]
        axes = ctx[3]
        dv = np.asarray(dy, dtype=ctx[1].dtype).reshape(ctx[1].shape)
        dbeta = dv.sum(axis=axes) if self.beta is not None else None
        gamma = self._param(self.gamma, dv.ndim)
        if mode == "train":
            _, xhat, inv = ctx[:3]
            dgamma = K.sum_product(dv, xhat, axes).reshape(-1) if self.gamma is not None else None
            dx = None
            if need_dx:
                dxhat = dv * gamma if gamma is not None else dv
                dx = K.standardize_backward(dxhat, xhat, inv, axes).reshape(shape)
        else:
            _, v, inv, _, _, mean = ctx
            dgamma = None
            if self.gamma is not None:
                # sum(dy * (x - mean) * inv) = (sum(dy x) - mean sum(dy)) * inv
                sdx = K.sum_product(dv, v, axes)
                sd = np.sum(dv, axis=axes, keepdims=True)
                dgamma = ((sdx - mean * sd) * inv).reshape(-1)
            dx = None
            if need_dx:
                k = inv * gamma if gamma is not None else inv
                dx = (dv * k).reshape(shape)
        return dx, self._grads(dgamma, dbeta)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, **self._affine_config(),
                "moving_mean_initializer": serialize_or_none(self.moving_mean_initializer, initializers),
                "moving_variance_initializer": serialize_or_none(self.moving_variance_initializer, initializers),
                "synchronized": False, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": self.renorm_momentum}


class LayerNormalization(_Affine):
    """Keras 3's ``LayerNormalization`` over ``axis`` (an int or a list), with the deprecated
    ``rms_scaling=True`` as Keras computes it (``x / sqrt(var(x) + eps) * gamma``, no beta)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer, beta_regularizer=beta_regularizer,
                         gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                         gamma_constraint=gamma_constraint, **kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
            bad = [a for a in axis if isinstance(a, bool) or not isinstance(a, int)]
        else:
            bad = [axis] if isinstance(axis, bool) or not isinstance(axis, int) else []
        if bad:
            raise LayerError(f"{self.name}: axis must be an int or a list of ints, got {axis!r}")
        self.axis = axis
        self.rms_scaling = bool(rms_scaling)

    def _axes(self, ndim: int, shape) -> tuple[int, ...]:
        items = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = sorted(normalize_axis(a, ndim, self.name, shape) for a in items)
        if len(set(axes)) != len(axes):
            raise LayerError(f"{self.name}: axis {self.axis} names an axis twice")
        return tuple(axes)

    def build(self, input_shape) -> None:
        shape = as_tuple_shape(input_shape)
        axes = self._axes(len(shape), shape)
        wshape = tuple(shape[a] for a in axes)
        if any(d is None for d in wshape):
            raise LayerError(f"{self.name}: the normalized axes {list(axes)} of input shape {shape} must be known")
        self._affine_weights(wshape, self.scale or self.rms_scaling, self.center and not self.rms_scaling)
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        self._axes(len(shape), shape)
        return shape

    def _rows(self, x):
        axes = self._axes(x.ndim, x.shape)
        wshape = tuple(x.shape[a] for a in axes)
        w = self.gamma if self.gamma is not None else self.beta
        if w is not None and w.shape != wshape:
            raise LayerError(f"{self.name}: built for normalized axes of shape {w.shape}, got input shape {x.shape}")
        rows, outer = to_rows(x, axes)
        return rows, axes, outer

    def _restore(self, rows, x_shape, axes):
        keep = [i for i in range(len(x_shape)) if i not in axes]
        perm = keep + list(axes)
        shaped = rows.reshape([x_shape[i] for i in perm])
        if perm == list(range(len(x_shape))):
            return shaped
        return np.ascontiguousarray(np.transpose(shaped, np.argsort(perm)))

    def _forward(self, x, training):
        r, axes, _ = self._rows(x)
        gamma = None if self.gamma is None else self.gamma.reshape(-1)
        beta = None if self.beta is None else self.beta.reshape(-1)
        if self.rms_scaling:
            s, inv, mean = K.rms_scale(r, (1,), self.epsilon)
            y = s * gamma if gamma is not None else s
            ctx = ("rms", r, s, inv, mean, axes, x.shape)
        else:
            xhat, _, _, inv = K.standardize(r, (1,), self.epsilon)
            y = xhat * gamma if gamma is not None else xhat.copy()
            if beta is not None:
                y += beta
            ctx = ("std", xhat, inv, axes, x.shape)
        return self._restore(y, x.shape, axes), ctx

    def _backward(self, ctx, dy, need_dx):
        kind = ctx[0]
        axes, shape = (ctx[5], ctx[6]) if kind == "rms" else (ctx[3], ctx[4])
        dr, _, _ = self._rows(np.asarray(dy, dtype=ctx[1].dtype))
        gamma = None if self.gamma is None else self.gamma.reshape(-1)
        dbeta = None if self.beta is None else dr.sum(axis=0).reshape(self.beta.shape)
        if kind == "rms":
            _, r, s, inv, mean = ctx[:5]
            dgamma = None if gamma is None else K.sum_product(dr, s, (0,)).reshape(self.gamma.shape)
            dx = None
            if need_dx:
                ds = dr * gamma if gamma is not None else dr
                dx = self._restore(K.rms_scale_backward(ds, r, inv, mean, (1,)), shape, axes)
        else:
            _, xhat, inv = ctx[:3]
            dgamma = None if gamma is None else K.sum_product(dr, xhat, (0,)).reshape(self.gamma.shape)
            dx = None
            if need_dx:
                dxhat = dr * gamma if gamma is not None else dr
                dx = self._restore(K.standardize_backward(dxhat, xhat, inv, (1,)), shape, axes)
        return dx, self._grads(dgamma, dbeta)

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, **self._affine_config(), "rms_scaling": self.rms_scaling}


class GroupNormalization(_Affine):
    """Keras 3's ``GroupNormalization``: per sample, statistics over each group of
    ``channels / groups`` channels and every other non-batch axis (``groups=-1``: one per channel)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(epsilon=epsilon, center=center, scale=scale, beta_initializer=beta_initializer,
                         gamma_initializer=gamma_initializer, beta_regularizer=beta_regularizer,
                         gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                         gamma_constraint=gamma_constraint, **kwargs)
        self.groups = positive_int(groups, "groups", self.name, allow=(-1,))
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise LayerError(f"{self.name}: axis must be an int, got {axis!r}")
        self.axis = axis

    def build(self, input_shape) -> None:
        shape = as_tuple_shape(input_shape)
        ax = normalize_axis(self.axis, len(shape), self.name, shape)
        if ax == 0:
            raise LayerError(f"{self.name}: axis {self.axis} is the batch axis of input shape {shape}")
        dim = shape[ax]
        if dim is None:
            raise LayerError(f"{self.name}: axis {self.axis} of input shape {shape} must be known")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise LayerError(f"{self.name}: number of groups ({self.groups}) cannot be more than the number "
                             f"of channels ({dim}) of input shape {shape}")
        if dim % self.groups:
            raise LayerError(f"{self.name}: the number of channels ({dim}) of input shape {shape} must be a "
                             f"multiple of the number of groups ({self.groups})")
        self._affine_weights((dim,), self.scale, self.center)
        self._channels = dim
        self.built = True

    def compute_output_shape(self, input_shape):
        shape = as_tuple_shape(input_shape)
        normalize_axis(self.axis, len(shape), self.name, shape)
        return shape

    def _view(self, x):
        ax = normalize_axis(self.axis, x.ndim, self.name, x.shape)
        if ax == 0 or x.shape[ax] != self._channels:
            raise LayerError(f"{self.name}: built for {self._channels} channels on axis {self.axis}, "
                             f"got input shape {x.shape}")
        g = self.groups
        return x.reshape(x.shape[0], math.prod(x.shape[1:ax]), g, self._channels // g, math.prod(x.shape[ax + 1:]))

    def _param(self, w):
        return None if w is None else w.reshape(1, 1, self.groups, -1, 1)

    def _forward(self, x, training):
        v = self._view(x)
        axes = (1, 3, 4)
        xhat, _, _, inv = K.standardize(v, axes, self.epsilon)
        gamma, beta = self._param(self.gamma), self._param(self.beta)
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        return y.reshape(x.shape), (xhat, inv, x.shape)

    def _backward(self, ctx, dy, need_dx):
        xhat, inv, shape = ctx
        dv = np.asarray(dy, dtype=xhat.dtype).reshape(xhat.shape)
        dgamma = None if self.gamma is None else np.sum(dv * xhat, axis=(0, 1, 4)).reshape(-1)
        dbeta = None if self.beta is None else dv.sum(axis=(0, 1, 4)).reshape(-1)
        dx = None
        if need_dx:
            gamma = self._param(self.gamma)
            dxhat = dv * gamma if gamma is not None else dv
            dx = K.standardize_backward(dxhat, xhat, inv, (1, 3, 4)).reshape(shape)
        return dx, self._grads(dgamma, dbeta)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, **self._affine_config()}
