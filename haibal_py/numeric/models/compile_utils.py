"""What ``Model.compile`` resolves: the optimizer, one loss "head" per output, the metrics.

Keras' resolution rules, mirrored:

- ``optimizer``: an ``Optimizer`` or a name (``"adam"``) through ``optimizers.get``.
- ``loss``: a ``Loss``, a loss function or a name (``losses.get``; a function is wrapped in
  ``LossFunctionWrapper`` named after the identifier); ``"crossentropy"`` / ``"ce"`` pick
  binary, sparse or categorical crossentropy from the label and output shapes. One loss
  for a multi-output model applies to every output; a list (one per output, ``None`` for
  none) or a dict by output name gives one each. ``loss_weights``: a float (one output),
  a list or a dict.
- ``metrics`` (updated without sample weights, as Keras 3) and ``weighted_metrics`` (with
  them): a list for a one-output model; for several outputs, a list with one entry per
  output or a dict by output name. ``"accuracy"`` / ``"acc"`` becomes BinaryAccuracy when
  the output has one unit, SparseCategoricalAccuracy when the labels have one axis less
  (or a last axis of 1), CategoricalAccuracy otherwise. A metric given as a string is
  named by that string; with several outputs, logs prefix the output's name.

Shape-dependent choices are made on the first data (``build``), as Keras does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import HaibalValueError
from .. import activations as A
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..activation_grads import ActivationStep
from ..loss_base import Loss, LossFunctionWrapper
from ..loss_grads import LossGradient, fusable_activation, loss_vjp
from ..metric_base import MeanMetricWrapper, Metric

__all__ = ["CompileError", "RunningMean", "Head", "Compiled", "resolve_optimizer"]


class CompileError(HaibalValueError):
    """A compile() argument that cannot be used, or a model used before compile()."""


class RunningMean:
    """Keras' ``Mean`` for one scalar per batch weighted by the batch size (the loss trackers),
    with Python floats: ``result = sum(value * n) / sum(n)``."""

    def __init__(self, name: str):
        self.name = name
        self.total = 0.0
        self.count = 0.0

    def update_state(self, value, sample_weight=1.0) -> None:
        self.total += float(value) * float(sample_weight)
        self.count += float(sample_weight)

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def __repr__(self) -> str:
        return f"<RunningMean {self.name}={self.result():.6g}>"


def resolve_optimizer(optimizer):
    if optimizer is None:
        raise CompileError("compile: an optimizer is needed to train (give an Optimizer or a name such as 'adam')")
    try:
        opt = optimizers_module.get(optimizer)
    except HaibalValueError as exc:
        raise CompileError(f"compile: optimizer {optimizer!r} is not known ({exc})") from None
    if opt is None or not isinstance(opt, optimizers_module.Optimizer):
        raise CompileError(f"compile: optimizer must be an Optimizer or an optimizer name, got {optimizer!r}")
    return opt


_CROSSENTROPY = ("crossentropy", "ce")
_ACCURACY = ("accuracy", "acc")


def _is_binary_or_sparse(y_true: np.ndarray, y_pred_shape: tuple) -> tuple[bool, bool]:
    t_rank, p_rank = np.ndim(y_true), len(y_pred_shape)
    t_last = np.shape(y_true)[-1] if t_rank else None
    p_last = y_pred_shape[-1] if p_rank else None
    is_binary = p_last == 1
    is_sparse = t_rank < p_rank or (t_last == 1 and p_last is not None and p_last > 1)
    return is_binary, is_sparse


def get_loss(identifier, y_true=None, y_pred_shape=None) -> Loss:
    """A ``Loss`` object for ``identifier`` (Keras' ``get_loss``); "crossentropy" needs the shapes."""
    if isinstance(identifier, str) and identifier.lower() in _CROSSENTROPY:
        if y_true is None:
            return None  # decided on the first data
        binary, sparse = _is_binary_or_sparse(y_true, y_pred_shape)
        fn = (losses_module.binary_crossentropy if binary else losses_module.sparse_categorical_crossentropy
              if sparse else losses_module.categorical_crossentropy)
        return LossFunctionWrapper(fn, name=identifier)
    if isinstance(identifier, Loss):
        return identifier
    try:
        obj = losses_module.get(identifier)
    except HaibalValueError as exc:
        raise CompileError(f"compile: unknown loss {identifier!r} ({exc})") from None
    if isinstance(obj, Loss):
        return obj
    if callable(obj):
        name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", "loss")
        return LossFunctionWrapper(obj, name=name)
    raise CompileError(f"compile: cannot use {identifier!r} as a loss")


def check_loss_trainable(identifier) -> None:
    """Refuse, at compile time, a loss whose gradient is unknown (the error lists the known ones)."""
    if isinstance(identifier, str) and identifier.lower() in _CROSSENTROPY:
        return
    loss = get_loss(identifier)
    if not isinstance(loss, LossFunctionWrapper):
        raise CompileError(f"compile: the loss {getattr(loss, 'name', loss)!r} ({type(loss).__name__}) has no known "
                           "gradient; use a loss of haibal_py.losses")
    loss_vjp(loss.fn)
    if loss.reduction in (None, "none"):
        LossGradient(loss)  # raises the reduction error


def get_metric(identifier, y_true, y_pred_shape) -> Metric:
    """A metric object for ``identifier`` (Keras' ``get_metric``), named as Keras names it."""
    if identifier is None:
        raise CompileError("compile: a metric is None")
    if isinstance(identifier, str) and identifier.lower() in _ACCURACY:
        binary, sparse = _is_binary_or_sparse(y_true, y_pred_shape)
        cls = (metrics_module.BinaryAccuracy if binary else metrics_module.SparseCategoricalAccuracy if sparse
               else metrics_module.CategoricalAccuracy)
        return cls(name=identifier)
    if isinstance(identifier, Metric):
        return identifier
    obj = None
    try:
        obj = metrics_module.get(identifier)
    except HaibalValueError:
        if isinstance(identifier, str):
            try:  # Keras' metrics.get knows the losses' short names ("mae", "mse" ...)
                obj = losses_module.get(identifier)
            except HaibalValueError:
                obj = None
        if obj is None:
            raise CompileError(f"compile: unknown metric {identifier!r}") from None
    if isinstance(obj, Metric):
        metric = obj
    elif callable(obj) and not isinstance(obj, Loss):
        metric = MeanMetricWrapper(obj, name=getattr(obj, "__name__", "metric"))
    else:
        raise CompileError(f"compile: cannot use {identifier!r} as a metric")
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


@dataclass
class Head:
    """One output's loss: its weight, its gradient and (with several outputs) its tracker.

    ``fused`` ("softmax", "sigmoid" or None) and ``fused_layer`` are decided when the head is
    made (the forward pass needs them); ``loss`` and ``grad`` on the first labels."""

    index: int
    name: str
    identifier: object
    weight: float | None = None
    loss: Loss | None = None
    grad: LossGradient | None = None
    fused_layer: object = None
    tracker: RunningMean | None = None
    fused: str | None = None
    planned: bool = False    # plan_fusion ran (it needs the model's graph)

    def plan_fusion(self, model) -> None:
        self.planned = True
        layer = fused_output_layer(model, self.index)
        kind = None
        if layer is not None:
            fn = layer.activation.fn
            if isinstance(self.identifier, str) and self.identifier.lower() in _CROSSENTROPY:
                units = model._outputs[self.index].shape[-1]
                kind = ("sigmoid" if fn is A.sigmoid else None) if units == 1 else \
                    ("softmax" if fn is A.softmax else None)
            else:
                kind = fusable_activation(get_loss(self.identifier), fn)
        self.fused, self.fused_layer = kind, (layer if kind else None)

    def build(self, y, out_shape) -> None:
        if y is None:
            raise CompileError(f"no labels given for output {self.name!r}, which has a loss")
        self.loss = get_loss(self.identifier, y, out_shape)
        self.grad = LossGradient(self.loss, fused=self.fused)


@dataclass
class Compiled:
    """What compile() resolved, built further on the first data (``build``)."""

    optimizer: object
    heads: list[Head]
    user_metrics: object
    user_weighted_metrics: object
    output_names: list[str]
    loss_tracker: RunningMean = field(default_factory=lambda: RunningMean("loss"))
    metrics: list[list] = field(default_factory=list)            # per output: [(log name, metric)]
    weighted_metrics: list[list] = field(default_factory=list)
    built: bool = False

    # ---------------------------------------------------------------- compile time
    @classmethod
    def create(cls, model, optimizer, loss, loss_weights, metrics, weighted_metrics) -> "Compiled":
        names = model.output_names
        n = len(names)
        if loss is None:
            raise CompileError("compile: a loss is needed to train or evaluate (e.g. "
                               "loss='sparse_categorical_crossentropy')")
        if isinstance(loss, dict):
            unknown = sorted(set(loss) - set(names))
            if unknown:
                raise CompileError(f"compile: Expected keys {names} in loss dict, but found loss.keys()="
                                   f"{list(loss)}")
            per_output = [loss.get(k) for k in names]
        elif isinstance(loss, (list, tuple)):
            if len(loss) != n:
                raise CompileError(f"compile: loss is a list of {len(loss)} but the model has {n} output(s) "
                                   f"({', '.join(names)})")
            per_output = list(loss)
        else:
            per_output = [loss] * n
        weights = cls._loss_weights(loss_weights, names)
        heads = []
        for i, (ident, name, w) in enumerate(zip(per_output, names, weights)):
            if ident is None:
                continue
            check_loss_trainable(ident)
            heads.append(Head(i, name, ident, w))
        if not heads:
            raise CompileError("compile: every output's loss is None; no loss to train on")
        if getattr(model, "_graph", None) is not None:  # a Sequential without an Input plans at its first data
            for h in heads:
                h.plan_fusion(model)
        if len(heads) > 1:
            for h in heads:
                h.tracker = RunningMean(f"{h.name}_loss")
        for what, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value is not None and not isinstance(value, (list, tuple, dict)):
                raise CompileError(f"compile: Expected `{what}` argument to be a list, tuple, or dict. Received "
                                   f"instead: {what}={value!r} of type {type(value).__name__}")
            if isinstance(value, dict) and not set(value) <= set(names):
                raise CompileError(f"compile: {what} dict keys {sorted(value)} must be output names {names}")
            for ident in cls._flat_idents(value):
                if isinstance(ident, str) and ident.lower() in _ACCURACY:
                    continue
                get_metric(ident, np.zeros((1, 1)), (1, 1))  # fail now on an unknown name
        return cls(resolve_optimizer(optimizer), heads, metrics, weighted_metrics, list(names))

    @staticmethod
    def _loss_weights(loss_weights, names):
        n = len(names)
        if loss_weights is None:
            return [None] * n
        if isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
            if n != 1:
                raise CompileError(f"compile: a single float loss_weights is for one-output models; this model has "
                                   f"{n} outputs: give a list or a dict")
            return [float(loss_weights)]
        if isinstance(loss_weights, dict):
            unknown = sorted(set(loss_weights) - set(names))
            if unknown:
                raise CompileError(f"compile: loss_weights names {unknown} are not outputs ({names})")
            return [None if loss_weights.get(k) is None else float(loss_weights[k]) for k in names]
        if isinstance(loss_weights, (list, tuple)):
            if len(loss_weights) != n:
                raise CompileError(f"compile: `loss_weights` must match the number of losses, got {n} losses "
                                   f"and {len(loss_weights)} weights.")
            return [None if w is None else float(w) for w in loss_weights]
        raise CompileError(f"compile: Expected `loss_weights` argument to be a float (single output case) or a "
                           f"list, tuple, or dict (multiple output case). Received instead: "
                           f"loss_weights={loss_weights!r} of type {type(loss_weights).__name__}")

    @staticmethod
    def _flat_idents(value) -> list:
        if value is None:
            return []
        items = value.values() if isinstance(value, dict) else value
        out = []
        for item in items:
            out.extend(item if isinstance(item, (list, tuple)) else [item])
        return [i for i in out if i is not None]

    # ---------------------------------------------------------------- first data
    def build(self, model, ys: list, out_shapes: list) -> None:
        """Resolve the shape-dependent losses and metrics from the first labels."""
        for h in self.heads:
            if not h.planned:
                h.plan_fusion(model)
            h.build(ys[h.index], out_shapes[h.index])
        n = len(self.output_names)
        self.metrics = self._build_metrics(self.user_metrics, ys, out_shapes, n)
        self.weighted_metrics = self._build_metrics(self.user_weighted_metrics, ys, out_shapes, n)
        self._name_metrics()
        self.built = True

    def _build_metrics(self, user, ys, out_shapes, n) -> list[list]:
        per_output: list[list] = [[] for _ in range(n)]
        if not user:
            return per_output
        if n == 1:
            idents = [self._flat_idents(list(user.values()) if isinstance(user, dict) else user)]
        elif isinstance(user, dict):
            idents = [self._flat_idents([user[k]]) if k in user else [] for k in self.output_names]
        else:
            if len(user) != n:
                raise CompileError(f"compile: for a model with {n} outputs, metrics must be a list with one entry "
                                   f"per output ({', '.join(self.output_names)}) or a dict by output name; "
                                   f"got a list of {len(user)}")
            idents = [self._flat_idents([entry]) if entry is not None else [] for entry in user]
        for i, entries in enumerate(idents):
            if entries and ys[i] is None:
                raise CompileError(f"metrics are set for output {self.output_names[i]!r} but no labels are given")
            per_output[i] = [[None, get_metric(ident, ys[i], out_shapes[i])] for ident in entries]
        return per_output

    def _name_metrics(self) -> None:
        """Keras' log names: ``name`` (one output) or ``<output>_<name>``; repeats get ``_1`` ...,
        a weighted metric that repeats an unweighted one ``weighted_<name>``."""
        several = len(self.output_names) > 1
        seen: dict[str, int] = {}
        for i, entries in enumerate(self.metrics):
            for entry in entries:
                name = f"{self.output_names[i]}_{entry[1].name}" if several else entry[1].name
                if name in seen:
                    seen[name] += 1
                    name = f"{name}_{seen[name] - 1}"
                else:
                    seen[name] = 1
                entry[0] = name
        for i, entries in enumerate(self.weighted_metrics):
            for entry in entries:
                base = entry[1].name
                name = f"{self.output_names[i]}_{base}" if several else base
                if name in seen:
                    name = f"{self.output_names[i]}_weighted_{base}" if several else f"weighted_{base}"
                    if name in seen:
                        seen[name] += 1
                        name = f"{name}_{seen[name] - 1}"
                seen[name] = seen.get(name, 0) + 1
                entry[0] = name

    # ---------------------------------------------------------------- running
    def all_metrics(self) -> list:
        return [m for entries in self.metrics + self.weighted_metrics for _, m in entries]

    def reset(self) -> None:
        self.loss_tracker.reset_state()
        for h in self.heads:
            if h.tracker is not None:
                h.tracker.reset_state()
        for m in self.all_metrics():
            m.reset_state()

    def update_metrics(self, ys, preds, sws) -> None:
        for i, entries in enumerate(self.metrics):
            for _, m in entries:
                m.update_state(ys[i], preds[i])
        for i, entries in enumerate(self.weighted_metrics):
            for _, m in entries:
                m.update_state(ys[i], preds[i], sample_weight=sws[i])

    def results(self) -> dict:
        """The logs: ``loss``, each metric's result, and per-output losses (several outputs)."""
        logs = {"loss": self.loss_tracker.result()}
        for entries in self.metrics + self.weighted_metrics:
            for name, m in entries:
                logs[name] = _result(m)
        for h in self.heads:
            if h.tracker is not None:
                logs[h.tracker.name] = h.tracker.result()
        return logs

    def ordered_names(self) -> list[str]:
        """Keras' ``metrics_names`` order used by evaluate's list: loss, metric names, output losses."""
        names = ["loss"]
        for entries in self.metrics + self.weighted_metrics:
            names.extend(m.name for _, m in entries)
        names.extend(h.tracker.name for h in self.heads if h.tracker is not None)
        return names


def _result(metric):
    value = metric.result()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return float(value)
    return value


_LINEAR = ActivationStep("linear")


def fused_output_layer(model, index: int):
    """The layer whose softmax/sigmoid activation may be fused into the loss of output ``index``:
    a layer with an ``activation`` step, called once in the model, whose output feeds
    nothing else and carries no activity regularizer; None otherwise."""
    tensor = model._outputs[index]
    node = tensor.node
    if node is None or node.is_input:
        return None
    layer = node.layer
    step = getattr(layer, "activation", None)
    if not isinstance(step, ActivationStep) or getattr(layer, "activity_regularizer", None) is not None:
        return None
    if not node.single_output:
        return None
    calls = [n for n in layer._inbound_nodes if id(n) in model._graph.network_nodes]
    if len(calls) != 1:
        return None
    for other in model._graph.nodes:
        if any(t is tensor for t in other.all_inputs):
            return None
    if sum(t is tensor for t in model._outputs) != 1:
        return None
    return layer


class fused_logits:
    """While active, the fused output layers return their logits (their activation is
    linear): the loss heads then apply softmax/sigmoid themselves, as Keras does."""

    def __init__(self, layers: list):
        self.layers = layers
        self.saved: list = []

    def __enter__(self):
        self.saved = [layer.activation for layer in self.layers]
        for layer in self.layers:
            layer.activation = _LINEAR
        return self

    def __exit__(self, *exc):
        for layer, step in zip(self.layers, self.saved):
            layer.activation = step
        return False
