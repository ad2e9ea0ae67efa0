"""What the Training nodes share: the training session, fingerprints, trained-state records.

A ``TrainingSession`` is HAIBAL's training session: a compiled copy of a model (its own
weights, its own optimizer) and what training keeps beside it: the checkpoint policy, and
for the step-level nodes the last forward pass, the gradients held and the step counters.
``recipe`` is what the session was made from (the model's architecture and first weights,
the optimizer's config, the loss, the metrics, the clipping): ``fresh()`` makes a new live
session from it, which is what Fit trains, so re-running a Fit never continues from
weights a previous run left behind.

``fingerprint(*parts)`` hashes what determines a training's result (arrays by content);
the Fit node keeps its trained weights under that fingerprint and reuses them only when
it matches exactly.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node.types import PortType, register_kind
from haibal_py.numeric.callbacks import ModelCheckpoint
from haibal_py.numeric.models import Model
from haibal_py.numeric.models.weights_io import weight_entries

from ._model_wires import copy_model

__all__ = ["SESSION", "OPTIMIZER", "HISTORY", "TrainingSession", "fingerprint", "as_session", "model_hash"]

SESSION = PortType(register_kind("session"), 0, 0)
OPTIMIZER = PortType("optimizer", 0, 0)
HISTORY = PortType("history", 0, 0)

CHECKPOINTS = ("none", "every epoch", "best")
CHECKPOINT_CONTENTS = ("weights", "weights and optimizer")


def _update(h, value) -> None:
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.ascontiguousarray(value)
        h.update(f"a{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")
    elif isinstance(value, dict):
        h.update(b"{")
        for k in sorted(value, key=str):
            _update(h, str(k))
            _update(h, value[k])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for v in value:
            _update(h, v)
        h.update(b"]")
    elif value is None or isinstance(value, (bool, int, float, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise HaibalValueError(f"cannot fingerprint a {type(value).__name__}")


def fingerprint(*parts) -> np.ndarray:
    """A 16-byte digest (uint8 array, storable in a node's state) of ``parts``."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        _update(h, p)
    return np.frombuffer(h.digest(), dtype=np.uint8).copy()


def model_hash(model: Model) -> np.ndarray:
    """The fingerprint of a model's architecture (config) and weights."""
    config = json.dumps(model.get_config(), sort_keys=True, default=str)
    return fingerprint(config, [(k, s.value) for k, s in weight_entries(model)])


def as_session(value, port: str = "session") -> "TrainingSession":
    if isinstance(value, TrainingSession):
        return value
    raise HaibalValueError(f"input {port!r} takes a training session (the output of a Training Session node), "
                           f"got {type(value).__name__}")


class TrainingSession:
    """A compiled model and its training state (see the module docstring)."""

    def __init__(self, model: Model, optimizer, loss, metrics: list, checkpoint: str = "none",
                 checkpoint_path: str = "", checkpoint_content: str = "weights", monitor: str = "val_loss",
                 name: str = "session"):
        self.name = name
        self.recipe_model = copy_model(model)
        self.optimizer_config = _optimizer_recipe(optimizer)
        self.loss, self.metrics = loss, list(metrics)
        self.checkpoint, self.checkpoint_path = checkpoint, checkpoint_path
        self.checkpoint_content, self.monitor = checkpoint_content, monitor
        self.recipe_hash = fingerprint(model_hash(self.recipe_model), self.optimizer_config["config_text"],
                                       str(loss), [str(m) for m in self.metrics])
        self.model = self._compiled()
        self.forward_pass = None
        self.gradients: list | None = None
        self.steps = 0            # optimizer steps taken by the step-level nodes
        self.scheduler_steps = 0

    def _compiled(self) -> Model:
        model = copy_model(self.recipe_model)
        optimizer = type(self.optimizer_config["optimizer"]).from_config(self.optimizer_config["config"])
        model.compile(optimizer=optimizer, loss=self.loss, metrics=self.metrics or None)
        return model

    def fresh(self) -> "TrainingSession":
        """A new live session from the same recipe (first weights, new optimizer, no state)."""
        other = object.__new__(TrainingSession)
        other.__dict__.update(self.__dict__)
        other.model = self._compiled()
        other.forward_pass, other.gradients, other.steps, other.scheduler_steps = None, None, 0, 0
        return other

    @property
    def optimizer(self):
        return self.model.optimizer

    def checkpoint_callbacks(self, resolve) -> list:
        """The ModelCheckpoint the policy asks for (``resolve(path)`` makes the path absolute)."""
        if self.checkpoint == "none":
            return []
        if not self.checkpoint_path:
            raise HaibalValueError(f"{self.name}: checkpoint {self.checkpoint!r} needs a checkpoint_path")
        path = str(resolve(self.checkpoint_path))
        return [ModelCheckpoint(path, monitor=self.monitor, save_best_only=self.checkpoint == "best",
                                save_weights_only=self.checkpoint_content == "weights")]

    def __repr__(self) -> str:
        return (f"<TrainingSession {self.name!r}: model {self.model.name!r}, optimizer "
                f"{type(self.optimizer).__name__}, loss {self.loss!r}, {self.steps} step(s)>")


def _optimizer_recipe(optimizer) -> dict:
    config = optimizer.get_config()
    # the automatic name ("adam_1") depends on what the process made before: not part of the recipe
    settings = {k: v for k, v in config.items() if k != "name"}
    return {"optimizer": optimizer, "config": config,
            "config_text": json.dumps(settings, sort_keys=True, default=_schedule_text)}


def _schedule_text(obj):
    get_config = getattr(obj, "get_config", None)
    if callable(get_config):
        return {"class_name": type(obj).__name__, "config": get_config()}
    return repr(obj)
