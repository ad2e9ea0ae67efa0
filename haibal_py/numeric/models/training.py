"""Keras' training API on models: ``compile``, ``fit``, ``evaluate``, ``train_on_batch``,
``test_on_batch``, ``predict_on_batch`` and the step-level ``value_and_grad``.

One training step is ``value_and_grad`` then ``optimizer.apply(grads,
model.trainable_weights)`` then the weights' constraints: ``fit`` runs exactly that on each
batch (plus the metrics), so a hand-written loop over the step-level API gives the same
weights bit for bit (tests/test_training.py). Keras' semantics kept:

- the step's loss is the compiled loss (per output, times ``loss_weights``) plus every
  penalty of ``model.losses`` (weight regularizers, activity regularizers of that pass);
  the logged ``loss`` is its running mean over the epoch's batches weighted by batch size;
- metrics are stateful, reset at the start of each epoch (and of each evaluate); they see
  the model's outputs (probabilities), never the sample weights (``weighted_metrics`` do);
- a softmax/sigmoid output with a crossentropy loss is trained from its logits, as Keras
  on TensorFlow does (``loss_grads`` "fused activations");
- ``trainable`` flags are read at the start of each ``fit`` / ``train_on_batch`` /
  ``value_and_grad`` call (Keras fixes them at compile; changing them without compiling
  again is what a Keras user expects to work);
- ``model.stop_training = True`` (a callback, a stop request) ends ``fit`` after the
  current batch; the model keeps the weights it has.
"""

from __future__ import annotations

import numbers

import numpy as np

from ...errors import HaibalValueError
from ..callbacks import CallbackList
from .. import activations as A
from .compile_utils import CompileError, Compiled, Head, fused_logits
from .data import DataError, EpochPlan, as_array, as_list, check_cardinality, class_weights_to_sample_weights, \
    split_last, take

__all__ = ["Trainer", "TrainingError", "ForwardPass"]


class TrainingError(HaibalValueError):
    """fit/evaluate/value_and_grad called in a way that cannot work (the message says why)."""


def _positive_int(value, name: str, allow_none: bool = True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise TrainingError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _Step:
    """What one step needs, gathered once per fit (the trainable weights, the penalties, the
    constraints), so a batch costs only its computation: ``forward`` then ``finish``."""

    def __init__(self, model, heads):
        self.model = model
        self.heads = heads
        self.fused = [h.fused_layer for h in heads if h.fused_layer is not None]
        specs = model.weight_specs(True)
        self.weights = [s.value for s in specs]
        self.reg_all = [s for s in model.weight_specs() if s.regularizer is not None]
        self.reg_trainable = [(i, s) for i, s in enumerate(specs) if s.regularizer is not None]
        self.constraints = [s for s in specs if s.constraint is not None]
        self.activity = _has_activity(model)
        self.n_out = len(model._outputs)

    def forward(self, xs: list, training: bool = True):
        """(raw outputs, context): a fused output gives its logits."""
        with fused_logits(self.fused):
            out, ctx = self.model.call_forward(xs[0] if len(xs) == 1 else xs, training)
        return ([out] if self.n_out == 1 else list(out)), ctx

    def predictions(self, outs: list) -> list:
        """What the model outputs (probabilities where the output was fused)."""
        preds = list(outs)
        for h in self.heads:
            if h.fused == "softmax":
                preds[h.index] = A.softmax(outs[h.index])
            elif h.fused == "sigmoid":
                preds[h.index] = A.sigmoid(outs[h.index])
        return preds

    def finish(self, outs: list, ctx, ys: list, sws: list, need_grads: bool = True):
        """(total loss, grads aligned with the trainable weights or None, predictions, per-head values)."""
        model = self.model
        preds = list(outs)
        douts = [None] * self.n_out
        values = []
        total = 0.0
        for h in self.heads:
            i = h.index
            if need_grads:
                value, d, preds[i] = h.grad(ys[i], outs[i], sws[i])
            else:
                value, preds[i] = h.grad.value(ys[i], outs[i], sws[i])
                d = None
            values.append(float(value))
            if h.weight is not None:
                value = value * h.weight
                if d is not None:
                    d = d * d.dtype.type(h.weight)
            total += float(value)
            douts[i] = d
        for s in self.reg_all:
            total += float(s.regularizer(s.value))
        if self.activity:
            total += model.activity_loss(ctx)
        grads = None
        if need_grads:
            for i, o in enumerate(outs):
                if douts[i] is None:
                    douts[i] = np.zeros_like(o)
            with fused_logits(self.fused):
                _, grads = model.call_backward(ctx, douts[0] if self.n_out == 1 else douts, False)
            for i, s in self.reg_trainable:
                g = s.regularizer.gradient(s.value)
                grads[i] = grads[i] + g.astype(grads[i].dtype, copy=False)
        return total, grads, preds, values

    def loss_and_grads(self, xs: list, ys: list, sws: list, training: bool = True, need_grads: bool = True):
        outs, ctx = self.forward(xs, training)
        return self.finish(outs, ctx, ys, sws, need_grads)

    def apply_constraints(self) -> None:
        for s in self.constraints:
            s.value[...] = s.constraint(s.value)


class ForwardPass:
    """One forward pass kept for its backward pass: HAIBAL's Forward then Backward.

    ``model.forward_pass(x)`` runs the model (``training=True``) and keeps what the backward
    pass needs; ``predictions`` are the model's outputs; ``backward(y, sample_weight)``
    returns ``(loss, grads)``, the same numbers as ``value_and_grad(x, y)``."""

    def __init__(self, model, step: _Step, outs: list, ctx, loss=None):
        self.model, self._step, self._outs, self._ctx, self._loss = model, step, outs, ctx, loss
        self.predictions = step.predictions(outs)

    @property
    def y_pred(self):
        """The model's output (a list for several outputs)."""
        return self.predictions[0] if len(self.predictions) == 1 else self.predictions

    def backward(self, y=None, sample_weight=None):
        """``(loss, grads)``: the loss of this pass and its gradient for each trainable weight."""
        model = self.model
        names = model.output_names
        ys = model._targets(y, names)
        sws = [None if v is None else as_array(v, "sample_weight")
               for v in as_list(sample_weight, names, "sample_weight", allow_none=True)]
        if self._loss is None:
            model._build_compiled(ys)
        for h in self._step.heads:
            if h.grad is None:
                h.build(ys[h.index], model._output_shapes()[h.index])
        total, grads, _, _ = self._step.finish(self._outs, self._ctx, ys, sws)
        return total, grads


def _has_activity(layer) -> bool:
    if getattr(layer, "activity_regularizer", None) is not None:
        return True
    return any(_has_activity(sub) for sub in layer._sublayers())


class Trainer:
    """Keras' training methods, mixed into ``Model`` (see the module docstring)."""

    _compiled: Compiled | None = None
    stop_training: bool = False
    stop_evaluating: bool = False
    history = None

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Keras' ``compile``: the optimizer, the loss (per output), ``loss_weights``, ``metrics``
        (unweighted) and ``weighted_metrics`` (see ``compile_utils``). ``run_eagerly``,
        ``jit_compile`` and ``auto_scale_loss`` are accepted and have no effect (NumPy runs
        eagerly); ``steps_per_execution`` must be 1."""
        if steps_per_execution != 1:
            raise CompileError(f"{self.name}: steps_per_execution={steps_per_execution!r} is not supported (1 only)")
        self._compiled = Compiled.create(self, optimizer, loss, loss_weights, metrics, weighted_metrics)
        self.stop_training = False

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    @property
    def optimizer(self):
        return None if self._compiled is None else self._compiled.optimizer

    @property
    def loss(self):
        """The compiled loss as given to compile (None before)."""
        if self._compiled is None:
            return None
        heads = self._compiled.heads
        return heads[0].identifier if len(heads) == 1 else {h.name: h.identifier for h in heads}

    @property
    def output_names(self) -> list[str]:
        """The names of the layers producing the outputs (Keras' ``output_names``)."""
        return [t.node.layer.name for t in self._outputs]

    @property
    def metrics(self) -> list:
        """The loss tracker, the compiled metrics (once built) and per-output loss trackers."""
        if self._compiled is None:
            return []
        c = self._compiled
        return [c.loss_tracker] + c.all_metrics() + [h.tracker for h in c.heads if h.tracker is not None]

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def compiled_metrics_list(self) -> list:
        """The compiled metric objects (callbacks read their directions)."""
        return [] if self._compiled is None else self._compiled.all_metrics()

    def reset_metrics(self) -> None:
        if self._compiled is not None:
            self._compiled.reset()

    def get_metrics_result(self) -> dict:
        """The current logs: ``loss`` and every metric's result."""
        self._require_compiled("get_metrics_result")
        return self._compiled.results()

    def _require_compiled(self, what: str) -> Compiled:
        if self._compiled is None:
            raise CompileError(f"{self.name}: you must call `compile()` before `{what}()`")
        return self._compiled

    # ------------------------------------------------------------------ data
    def _inputs_list(self, x) -> list[np.ndarray]:
        if x is None:
            raise DataError(f"{self.name}: x (the inputs) is missing")
        arrays = self._cast(x)
        return list(arrays)

    def _targets(self, y, n_out_names) -> list:
        ys = as_list(y, n_out_names, "y", allow_none=True)
        return [None if v is None else as_array(v, "y") for v in ys]

    def _prepare(self, x, y, sample_weight, class_weight, what: str):
        """Inputs (cast once), labels and sample weights as lists, and the sample count."""
        names = self.output_names
        xs = self._inputs_list(x)
        ys = self._targets(y, names)
        if class_weight is not None:
            sws = self._class_weights(ys, class_weight, sample_weight)
        elif sample_weight is not None and len(names) > 1 and not isinstance(sample_weight, (list, tuple, dict)):
            sw = as_array(sample_weight, "sample_weight")
            if not (sw.ndim == 1 or (sw.ndim == 2 and sw.shape[1] == 1)):
                raise DataError("For a model with multiple outputs, when providing a single `sample_weight` array, "
                                "it should only have one scalar score per sample (i.e. shape `(num_samples,)`).")
            sws = [sw] * len(names)
        else:
            sws = [None if v is None else as_array(v, "sample_weight")
                   for v in as_list(sample_weight, names, "sample_weight", allow_none=True)]
        named = [(f"x[{t.name}]", a) for t, a in zip(self._inputs, xs)]
        named += [(f"y[{k}]", a) for k, a in zip(names, ys)] + [(f"sample_weight[{k}]", a) for k, a in zip(names, sws)]
        n = check_cardinality(named)
        if n == 0:
            raise DataError(f"{self.name}: {what} got 0 samples")
        return xs, ys, sws, n

    def _check_class_weight(self, sample_weight) -> None:
        if sample_weight is not None:
            raise DataError("You cannot `class_weight` and `sample_weight` at the same time.")
        if len(self.output_names) > 1:
            raise DataError("`class_weight` is only supported for Models with a single output.")

    def _class_weights(self, ys, class_weight, sample_weight) -> list:
        """Per-sample weights from ``class_weight`` and the labels (Keras' rules)."""
        self._check_class_weight(sample_weight)
        if ys[0] is None:
            raise DataError("class_weight needs the labels y")
        return [class_weights_to_sample_weights(ys[0], class_weight, self.dtype)]

    def _output_shapes(self) -> list[tuple]:
        shape = self.output_shape
        return [tuple(shape)] if len(self._outputs) == 1 else [tuple(s) for s in shape]

    def _build_compiled(self, ys) -> Compiled:
        c = self._compiled
        if not c.built:
            c.build(self, ys, self._output_shapes())
        return c

    def _make_step(self, heads=None) -> _Step:
        c = self._compiled
        step = _Step(self, heads if heads is not None else c.heads)
        opt = c.optimizer if c is not None else None
        if opt is not None and opt.built:
            known = {id(w) for w in opt._weights}
            fresh = [i for i, w in enumerate(step.weights) if id(w) not in known]
            if fresh:
                raise TrainingError(
                    f"{self.name}: {len(fresh)} trainable weight(s) were not trainable when the optimizer "
                    f"{opt.name!r} was built (a layer was unfrozen); call compile() again with a new optimizer")
        return step

    # ------------------------------------------------------------------ step level
    def value_and_grad(self, x, y=None, loss=None, sample_weight=None, training=True):
        """``(loss, grads)`` for one batch: the loss of the compiled (or given) ``loss`` plus the
        model's penalties, and its gradient for each array of ``model.trainable_weights``, in
        that order. HAIBAL's academic step: ``opt.apply(grads, model.trainable_weights)``
        after it is exactly one step of ``fit``."""
        if loss is None:
            self._require_compiled("value_and_grad")
        return self.forward_pass(x, training=training, loss=loss).backward(y, sample_weight)

    def forward_pass(self, x, training=True, loss=None) -> ForwardPass:
        """The forward half of ``value_and_grad``: run the model on ``x`` and keep what the
        backward pass needs (``ForwardPass.backward(y)``); the loss is the compiled one unless
        ``loss`` is given."""
        xs = self._inputs_list(x)
        if loss is not None:
            heads = self._loss_heads(loss)
        else:
            heads = self._require_compiled("forward_pass").heads
        step = self._make_step(heads)
        outs, ctx = step.forward(xs, bool(training))
        return ForwardPass(self, step, outs, ctx, loss)

    def _loss_heads(self, loss) -> list:
        """Heads for a loss given to value_and_grad (the same loss on each output)."""
        heads = []
        for i, name in enumerate(self.output_names):
            head = Head(i, name, loss)
            head.plan_fusion(self)
            heads.append(head)
        return heads

    def _train_batch(self, step: _Step, xs, ys, sws, n: int) -> None:
        c = self._compiled
        total, grads, preds, values = step.loss_and_grads(xs, ys, sws)
        if step.weights:
            c.optimizer.apply(grads, step.weights)
            step.apply_constraints()
        c.loss_tracker.update_state(total, n)
        for h, v in zip(step.heads, values):
            if h.tracker is not None:
                h.tracker.update_state(v, n)
        c.update_metrics(ys, preds, sws)

    def _test_batch(self, step: _Step, xs, ys, sws, n: int) -> None:
        c = self._compiled
        total, _, preds, values = step.loss_and_grads(xs, ys, sws, training=False, need_grads=False)
        c.loss_tracker.update_state(total, n)
        for h, v in zip(step.heads, values):
            if h.tracker is not None:
                h.tracker.update_state(v, n)
        c.update_metrics(ys, preds, sws)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Keras' ``fit`` on NumPy arrays; returns the ``History`` (see the module docstring)."""
        c = self._require_compiled("fit")
        batch_size = _positive_int(batch_size, "batch_size") or 32
        epochs = _check_count(epochs, "epochs")
        initial_epoch = _check_count(initial_epoch, "initial_epoch")
        steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch")
        _check_verbose(verbose)
        if shuffle not in (True, False, "batch"):
            raise TrainingError(f"shuffle must be True, False or 'batch', got {shuffle!r}")
        if class_weight is not None:
            self._check_class_weight(sample_weight)
        xs, ys, sws, n = self._prepare(x, y, sample_weight, None, "fit")
        val = None
        if validation_split and validation_data is None:
            k = len(xs)
            (train, held) = split_last(xs + ys + sws, n, validation_split)
            xs, ys, sws = train[:k], train[k:k + len(ys)], train[k + len(ys):]
            val = (held[:k], held[k:k + len(ys)], held[k + len(ys):])
            n = xs[0].shape[0]
        elif validation_split:
            split_last([], n, validation_split)  # checks the value only
        if class_weight is not None:  # the training part only: Keras weighs no validation sample
            sws = self._class_weights(ys, class_weight, None)
        if validation_data is not None:
            val = self._unpack_validation(validation_data)
        plan = EpochPlan(n, batch_size, shuffle, steps_per_epoch)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=epochs,
            steps=plan.steps)
        if isinstance(callbacks, CallbackList):
            cbs.set_model(self)
        self._build_compiled(ys)
        step = self._make_step()
        self.stop_training = False
        cbs.on_train_begin()
        training_logs = None
        logs = c.results
        want_begin = cbs.wants("on_train_batch_begin")
        want_end = cbs.wants("on_train_batch_end")
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for b, idx in enumerate(plan.epoch()):
                if want_begin:
                    cbs.on_train_batch_begin(b)
                xb = [take(a, idx) for a in xs]
                self._train_batch(step, xb, [take(a, idx) for a in ys], [take(a, idx) for a in sws],
                                  xb[0].shape[0])
                if want_end:
                    cbs.on_train_batch_end(b, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(c.results())
            if val is not None and _should_eval(epoch, validation_freq):
                val_logs = self._evaluate_arrays(*val, batch_size=validation_batch_size or batch_size,
                                                 steps=validation_steps, callbacks=cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > 0 and step.weights:
            c.optimizer.finalize_variable_values(step.weights)
        cbs.on_train_end(training_logs)
        return self.history

    def _unpack_validation(self, data):
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            raise DataError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weight)")
        vx, vy = data[0], data[1]
        vsw = data[2] if len(data) == 3 else None
        xs, ys, sws, _ = self._prepare(vx, vy, vsw, None, "validation")
        return xs, ys, sws

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """Keras' ``evaluate``: the loss, or ``[loss, *metrics]``, or a dict (``return_dict``)."""
        self._require_compiled("evaluate")
        batch_size = _positive_int(batch_size, "batch_size") or 32
        steps = _positive_int(steps, "steps")
        _check_verbose(verbose)
        xs, ys, sws, n = self._prepare(x, y, sample_weight, None, "evaluate")
        plan = EpochPlan(n, batch_size, False, steps)
        cbs = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1, steps=plan.steps)
        logs = self._evaluate_arrays(xs, ys, sws, batch_size=batch_size, steps=steps, callbacks=cbs)
        if return_dict:
            return logs
        return self._flatten_in_order(logs)

    def _evaluate_arrays(self, xs, ys, sws, batch_size, steps, callbacks: CallbackList) -> dict:
        c = self._build_compiled(ys)
        n = xs[0].shape[0]
        plan = EpochPlan(n, batch_size, False, steps)
        step = _Step(self, c.heads)
        self.stop_evaluating = False
        callbacks.on_test_begin()
        self.reset_metrics()
        want_begin = callbacks.wants("on_test_batch_begin")
        want_end = callbacks.wants("on_test_batch_end")
        for b, idx in enumerate(plan.epoch()):
            if want_begin:
                callbacks.on_test_batch_begin(b)
            xb = [take(a, idx) for a in xs]
            self._test_batch(step, xb, [take(a, idx) for a in ys], [take(a, idx) for a in sws], xb[0].shape[0])
            if want_end:
                callbacks.on_test_batch_end(b, c.results)
            if self.stop_evaluating:
                break
        logs = {k: _pythonify(v) for k, v in sorted(c.results().items())}
        callbacks.on_test_end(logs)
        return logs

    def _flatten_in_order(self, logs: dict):
        names = self._compiled.ordered_names()
        out = [logs[k] for k in names if k in logs]
        out += [logs[k] for k in sorted(logs) if k not in names]
        return out[0] if len(out) == 1 else out

    # ------------------------------------------------------------------ one batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; the metrics are reset first (Keras)."""
        self._require_compiled("train_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight, class_weight, "train_on_batch")
        self._build_compiled(ys)
        step = self._make_step()
        self.reset_metrics()
        self._train_batch(step, xs, ys, sws, n)
        logs = {k: _pythonify(v) for k, v in sorted(self._compiled.results().items())}
        return logs if return_dict else self._flatten_in_order(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics of one batch, without training; the metrics are reset first."""
        self._require_compiled("test_on_batch")
        xs, ys, sws, n = self._prepare(x, y, sample_weight, None, "test_on_batch")
        c = self._build_compiled(ys)
        self.reset_metrics()
        self._test_batch(_Step(self, c.heads), xs, ys, sws, n)
        logs = {k: _pythonify(v) for k, v in sorted(c.results().items())}
        return logs if return_dict else self._flatten_in_order(logs)

    def predict_on_batch(self, x):
        """The outputs for one batch, in inference mode."""
        out, _ = self.call_forward(x, False)
        return out


def _pythonify(value):
    if isinstance(value, np.ndarray):
        return float(value) if value.ndim == 0 else value
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise TrainingError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _check_verbose(verbose) -> None:
    if verbose not in ("auto", 0, 1, 2):
        raise TrainingError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")


def _should_eval(epoch: int, validation_freq) -> bool:
    if isinstance(validation_freq, bool):
        raise TrainingError(f"validation_freq must be an int or a list of epochs, got {validation_freq!r}")
    if isinstance(validation_freq, numbers.Integral):
        if validation_freq < 1:
            raise TrainingError(f"validation_freq must be >= 1, got {validation_freq!r}")
        return (epoch + 1) % int(validation_freq) == 0
    if isinstance(validation_freq, (list, tuple, set, range)):
        return (epoch + 1) in validation_freq
    raise TrainingError(f"validation_freq must be an int or a list of epochs, got {validation_freq!r}")
