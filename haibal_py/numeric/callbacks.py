"""Keras 3's training callbacks (``keras.callbacks``), for ``Model.fit`` / ``evaluate``.

``Callback`` is Keras' protocol: ``set_params``, ``set_model`` and the ``on_*`` hooks,
each receiving a ``logs`` dict of Python floats sorted by name (Keras' order). ``fit``
wraps the callbacks it is given in a ``CallbackList`` with a ``History`` (always) and a
``ProgbarLogger`` (when ``verbose`` is not 0), appended after them, as Keras does. A
callback stops training by setting ``self.model.stop_training = True``: ``fit`` then
ends after the current batch.

Besides Keras' callbacks (``History``, ``ProgbarLogger``, ``EarlyStopping``,
``ModelCheckpoint``, ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``,
``TerminateOnNaN``, ``LambdaCallback``), ``LiveMonitor(emit, should_stop, progress)`` is
the protocol for observers that are not Python callbacks of the user (the runtime's
nodes, the editor): it streams each batch's and each epoch's logs as plain dicts and
turns a stop request into ``stop_training``. It imports nothing of the runtime.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import warnings
from typing import Any, Callable

import numpy as np

from ..errors import HaibalValueError
from ..files.array_files import write_arrays
from .progbar import Progbar

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "LiveMonitor", "CallbackError", "metric_direction", "restore_checkpoint", "optimizer_state_path",
]


class CallbackError(HaibalValueError):
    """A callback given arguments it cannot work with."""


def pythonify_logs(logs) -> dict:
    """``logs`` sorted by name, values as Python floats where they are numbers (Keras' form)."""
    out = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(pythonify_logs(value))
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out


class Callback:
    """Base class of the callbacks: every hook does nothing (override the ones you need)."""

    def __init__(self):
        self.params: dict = {}
        self._model = None

    def set_params(self, params: dict) -> None:
        self.params = params

    def set_model(self, model) -> None:
        self._model = model

    @property
    def model(self):
        return self._model

    def on_batch_begin(self, batch, logs=None): """Kept for Keras 2 callbacks: called by ``on_train_batch_begin``."""
    def on_batch_end(self, batch, logs=None): """Kept for Keras 2 callbacks: called by ``on_train_batch_end``."""
    def on_epoch_begin(self, epoch, logs=None): """At the start of an epoch (``fit`` only)."""
    def on_epoch_end(self, epoch, logs=None): """At the end of an epoch, with its logs (``val_`` ones included)."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None): """Before a batch of ``evaluate``."""
    def on_test_batch_end(self, batch, logs=None): """After a batch of ``evaluate``."""
    def on_predict_batch_begin(self, batch, logs=None): """Before a batch of ``predict``."""
    def on_predict_batch_end(self, batch, logs=None): """After a batch of ``predict``."""
    def on_train_begin(self, logs=None): """At the start of ``fit``."""
    def on_train_end(self, logs=None): """At the end of ``fit`` (also when it was stopped)."""
    def on_test_begin(self, logs=None): """At the start of ``evaluate`` (and of each validation)."""
    def on_test_end(self, logs=None): """At the end of ``evaluate``."""
    def on_predict_begin(self, logs=None): """At the start of ``predict``."""
    def on_predict_end(self, logs=None): """At the end of ``predict``."""


def _overrides(cb, *names) -> bool:
    """Whether ``cb`` does something in one of the hooks ``names`` (a subclass method or, for
    LambdaCallback, a function set on the instance)."""
    return any(n in vars(cb) or getattr(type(cb), n) is not getattr(Callback, n) for n in names)


class CallbackList(Callback):
    """Callbacks called together; ``History`` and ``ProgbarLogger`` added as Keras adds them.

    Batch hooks build the logs only when some callback overrides them: ``logs`` may be a
    dict or a function returning one (``fit`` passes its metrics lazily).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise CallbackError(f"callbacks must be Callback instances (haibal_py.callbacks), "
                                    f"got {type(cb).__name__}")
        self.callbacks = callbacks
        self._history = next((cb for cb in callbacks if isinstance(cb, History)), None)
        self._progbar = next((cb for cb in callbacks if isinstance(cb, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self._by_hook: dict[str, list] = {}
        for hook, also in (("on_train_batch_begin", "on_batch_begin"), ("on_train_batch_end", "on_batch_end"),
                           ("on_test_batch_begin", None), ("on_test_batch_end", None),
                           ("on_predict_batch_begin", None), ("on_predict_batch_end", None)):
            names = (hook,) if also is None else (hook, also)
            self._by_hook[hook] = [cb for cb in self.callbacks if _overrides(cb, *names)]
        self.set_model(model)
        self.set_params(params)

    @property
    def history(self):
        return self._history

    def set_model(self, model) -> None:
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params) -> None:
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def wants(self, hook: str) -> bool:
        """Whether any callback overrides the batch ``hook``."""
        return bool(self._by_hook[hook])

    def _batch(self, hook: str, batch, logs) -> None:
        targets = self._by_hook[hook]
        if not targets:
            return
        logs = pythonify_logs(logs() if callable(logs) else logs)
        for cb in targets:
            getattr(cb, hook)(batch, logs=logs)

    def _all(self, hook: str, *args, logs=None) -> None:
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs=logs) if args else getattr(cb, hook)(logs=logs)

    def on_epoch_begin(self, epoch, logs=None): self._all("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        # one dict shared by every callback: what one adds (a learning rate) the next ones see
        logs = pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None): self._batch("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._batch("on_train_batch_end", batch, logs)
    def on_test_batch_begin(self, batch, logs=None): self._batch("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._batch("on_test_batch_end", batch, logs)
    def on_predict_batch_begin(self, batch, logs=None): self._batch("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._batch("on_predict_batch_end", batch, logs)
    def on_train_begin(self, logs=None): self._all("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._all("on_train_end", logs=logs)
    def on_test_begin(self, logs=None): self._all("on_test_begin", logs=logs)
    def on_test_end(self, logs=None): self._all("on_test_end", logs=logs)
    def on_predict_begin(self, logs=None): self._all("on_predict_begin", logs=logs)
    def on_predict_end(self, logs=None): self._all("on_predict_end", logs=logs)


class History(Callback):
    """Records each epoch's logs: ``history`` (a dict of lists), ``epoch`` and ``params``
    (``{"verbose", "epochs", "steps"}``); ``fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"


class ProgbarLogger(Callback):
    """Prints Keras' progress bar: ``Epoch i/n`` then one bar per epoch (see ``progbar``)."""

    def __init__(self, stream=None):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self.stream = stream
        self._called_in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _print(self, text: str) -> None:
        out = self.stream if self.stream is not None else sys.stdout
        out.write(text + "\n")
        out.flush()

    def on_train_begin(self, logs=None):
        self._called_in_fit = True  # inside fit, validation prints nothing

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()
            self._init()

    def on_predict_begin(self, logs=None):
        self._reset()
        self._init()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        self._init()
        if self.verbose and self.epochs > 1:
            self._print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        self.seen = 0
        self.progbar = None

    def _init(self):
        if self.progbar is None:
            self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step", stream=self.stream,
                                   stateful_metrics=None)
            self.progbar.stateful_metrics = _ALL

    def _update(self, batch, logs):
        self._init()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        self._init()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


class _Everything:
    def __contains__(self, item) -> bool:
        return True


_ALL = _Everything()  # fit's metrics are running means: the bar shows them as they are

# Keras' metric directions (``metric._direction``), by class name, for mode="auto"
_UP = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
       "SparseTopKCategoricalAccuracy", "Precision", "Recall", "SensitivityAtSpecificity",
       "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "AUC", "PearsonCorrelation",
       "ConcordanceCorrelation", "FBetaScore", "F1Score", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
       "OneHotMeanIoU", "CosineSimilarity", "R2Score"}
_DOWN = {"Hinge", "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy", "CategoricalCrossentropy",
         "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
         "MeanSquaredLogarithmicError", "RootMeanSquaredError", "LogCoshError", "KLDivergence", "Poisson", "Huber"}


def metric_direction(metric) -> str | None:
    """"up", "down" or None: whether larger values of ``metric`` are better (Keras' ``_direction``)."""
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    name = type(metric).__name__
    return "up" if name in _UP else "down" if name in _DOWN else None


class MonitorCallback(Callback):
    """What EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share: a monitored value,
    a direction (``mode``) and ``min_delta``; ``mode="auto"`` reads the direction from the
    name (``loss``) or from the model's compiled metric of that name, as Keras does."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
            if name == "loss" or name.endswith("_loss"):
                self.monitor_op = np.less
            for metric in getattr(self.model, "compiled_metrics_list", lambda: [])():
                if metric.name == name:
                    direction = metric_direction(metric)
                    if direction is not None:
                        self.monitor_op = np.greater if direction == "up" else np.less
            if self.monitor_op is None:
                raise CallbackError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but haibal-py isn't able to "
                    "automatically determine whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` in order to monitor based on the highest metric value, or pass `mode='min'` "
                    "in order to use the lowest value.")
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))


class EarlyStopping(MonitorCallback):
    """Keras' ``EarlyStopping(monitor="val_loss", min_delta=0, patience=0, verbose=0,
    mode="auto", baseline=None, restore_best_weights=False, start_from_epoch=0)``."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights = None
        self.best_epoch = 0
        self.start_from_epoch = start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def _monitor_value(self, logs):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs or {})}", stacklevel=3)
        return value


WEIGHT_SUFFIXES = (".weights.npz", ".safetensors")


class ModelCheckpoint(MonitorCallback):
    """Keras' ``ModelCheckpoint(filepath, monitor="val_loss", verbose=0, save_best_only=False,
    save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None)``.

    Saves the model's weights with ``model.save_weights`` (atomic, never a pickle): the path
    ends in ``.weights.npz`` or ``.safetensors`` and may hold Keras' placeholders
    (``"ckpt-{epoch:02d}-{val_loss:.3f}.weights.npz"``). haibal-py has no whole-model file
    yet, so a ``.keras`` / ``.h5`` path is refused. Keras' default ``save_weights_only=False``
    saves the optimizer with the model: here the optimizer's state goes beside the weights,
    in ``<name>.optimizer.npz`` (``optimizer.get_state()``), read back by
    ``restore_checkpoint``; ``save_weights_only=True`` writes the weights alone.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1):
            raise CallbackError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or "
                                "positive integer values")
        if not self.filepath.endswith(WEIGHT_SUFFIXES):
            raise CallbackError(f"ModelCheckpoint saves weights files: the filepath must end in '.weights.npz' or "
                                f"'.safetensors' (haibal-py has no whole-model format). Received: "
                                f"filepath={self.filepath}")

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _should_save(self, epoch, logs, filepath) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save(self, epoch, batch, logs) -> None:
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                path = self.filepath.format(epoch=epoch + 1, **logs)
            else:
                path = self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as exc:
            raise CallbackError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {exc}') from None
        if os.path.isdir(path):
            raise CallbackError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                                f"existing directory: {path}")
        if self._should_save(epoch, logs, path):
            self.model.save_weights(path, overwrite=True)
            optimizer = getattr(self.model, "optimizer", None)
            if not self.save_weights_only and optimizer is not None:
                write_arrays(optimizer_state_path(path), optimizer.get_state())
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: finished saving model to {path}")


def optimizer_state_path(weights_path) -> str:
    """Where ModelCheckpoint keeps the optimizer's state beside ``weights_path``:
    ``ckpt.weights.npz`` -> ``ckpt.optimizer.npz``."""
    text = os.fspath(weights_path)
    for suffix in WEIGHT_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)] + ".optimizer.npz"
    raise CallbackError(f"{text!r} is not a weights file (.weights.npz or .safetensors)")


def restore_checkpoint(model, weights_path, optimizer: bool = True) -> None:
    """Load a ModelCheckpoint: the weights, and the optimizer's state when it was saved (the
    model must be compiled; the optimizer is built on its trainable weights first)."""
    model.load_weights(weights_path)
    state_path = optimizer_state_path(weights_path)
    if optimizer and os.path.exists(state_path):
        opt = getattr(model, "optimizer", None)
        if opt is None:
            raise CallbackError(f"{state_path}: an optimizer state needs a compiled model")
        with np.load(state_path, allow_pickle=False) as f:
            state = {k: f[k] for k in f.files}
        if not opt.built:
            opt.build(model.trainable_weights)
        opt.set_state(state)


class ReduceLROnPlateau(MonitorCallback):
    """Keras' ``ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, verbose=0,
    mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0)``; adds ``learning_rate`` to the
    epoch's logs (so History records it)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        if kwargs:
            raise CallbackError(f"ReduceLROnPlateau: unknown argument(s) {', '.join(sorted(kwargs))}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise CallbackError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=3)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.cooldown_counter > 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Keras' ``LearningRateScheduler(schedule, verbose=0)``: ``schedule(epoch, lr) -> new lr``
    (or ``schedule(epoch)``), set at the start of each epoch; the epoch's logs get
    ``learning_rate``."""

    def __init__(self, schedule: Callable, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise CallbackError(f"LearningRateScheduler needs a callable schedule(epoch, lr), got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # Keras 2's schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.floating)):
            raise CallbackError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Keras' ``CSVLogger(filename, separator=",", append=False)``: one row per epoch
    (``epoch`` then the logs' keys, sorted, with ``val_`` columns reserved from the start)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", encoding="utf-8") as fh:
                    self.append_header = not bool(len(fh.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle(value):
            if isinstance(value, str):
                return value
            if isinstance(value, (list, tuple, np.ndarray)) and np.ndim(value) > 0:
                return f'"[{", ".join(map(str, value))}]"'
            return value

        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, handle(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Keras' ``TerminateOnNaN()``: stops training when a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """Keras' ``LambdaCallback(on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
    on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None, **kwargs)``:
    a callback from plain functions (``kwargs`` may name any other hook)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not hasattr(Callback, name) or not name.startswith("on_"):
                raise CallbackError(f"LambdaCallback: {name!r} is not a callback hook")
            setattr(self, name, fn)


class LiveMonitor(Callback):
    """Streams training to an observer that is not a Python callback of the user (a node's run
    context, the editor, a test): ``emit(point)`` receives one dict per training batch and
    per epoch, ``progress(done, total)`` the batches done, and ``should_stop()`` is asked
    after each batch: True ends the fit after that batch (``model.stop_training``).

    A batch point is ``{"stage": "batch", "epoch": e, "batch": b, "step": global step,
    "loss": ..., <metric>: ...}``; an epoch point is ``{"stage": "epoch", "epoch": e,
    "step": global step, "loss": ..., "val_loss": ..., ...}`` (the epoch's logs).
    ``batch_every=n`` sends one batch point in n (epochs are always sent).
    """

    def __init__(self, emit: Callable[[dict], Any] | None = None, should_stop: Callable[[], bool] | None = None,
                 progress: Callable[[int, int], Any] | None = None, batch_every: int = 1):
        super().__init__()
        if isinstance(batch_every, bool) or not isinstance(batch_every, int) or batch_every < 1:
            raise CallbackError(f"LiveMonitor: batch_every must be a positive int, got {batch_every!r}")
        self.emit = emit
        self.should_stop = should_stop
        self.progress = progress
        self.batch_every = batch_every
        self.epoch = 0
        self.step = 0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.step = 0
        self.stopped = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.emit is not None and (batch + 1) % self.batch_every == 0:
            self.emit({"stage": "batch", "epoch": self.epoch, "batch": batch, "step": self.step, **(logs or {})})
        if self.progress is not None:
            steps = self.params.get("steps") or 0
            epochs = self.params.get("epochs") or 1
            first = self.params.get("initial_epoch", 0)
            self.progress((self.epoch - first) * steps + batch + 1, max(1, (epochs - first) * steps))
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
            self.model.stop_training = True

    def on_test_batch_end(self, batch, logs=None):
        if self.should_stop is not None and self.should_stop():
            self.stopped = True
            self.model.stop_evaluating = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.emit is not None:
            self.emit({"stage": "epoch", "epoch": epoch, "step": self.step, **(logs or {})})
