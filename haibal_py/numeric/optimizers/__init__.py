"""Optimizers: Keras 3's ``keras.optimizers`` in NumPy, updating weight arrays in place.

``get(identifier)`` takes a name (``"adam"``, ``"SGD"``, ``"rmsprop"`` ... case-insensitive,
as Keras), a ``serialize`` dict, or an optimizer (returned as it is).
"""

from __future__ import annotations

from . import schedules
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .base import Optimizer, OptimizerError, OptimizerTypeError
from .ftrl import Ftrl
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "OptimizerError", "OptimizerTypeError", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "Adadelta", "Adamax", "Nadam", "Lion", "Ftrl", "schedules", "get", "serialize", "deserialize"]

ALL_OBJECTS = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Ftrl)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in ALL_OBJECTS}


def serialize(optimizer: Optimizer) -> dict:
    """Keras' form: ``{"module": "keras.optimizers", "class_name", "config", "registered_name"}``."""
    if not isinstance(optimizer, Optimizer):
        raise OptimizerError(f"serialize() takes an optimizer, got {optimizer!r}")
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> Optimizer:
    """The optimizer a ``serialize`` dict (or ``{"class_name", "config"}``) describes; built-in
    class names are case-insensitive, as in Keras."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise OptimizerError(f"cannot deserialize an optimizer from {config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name)
    if cls is None and isinstance(name, str):
        cls = ALL_OBJECTS_DICT.get(name.lower())
    if cls is None:
        known = ", ".join(c.__name__ for c in ALL_OBJECTS)
        raise OptimizerError(f"unknown optimizer {name!r} (known: {known})")
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)


def get(identifier) -> Optimizer | None:
    """An optimizer from a name, a config dict or an optimizer (None gives None)."""
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise OptimizerError(f"Could not interpret optimizer identifier: {identifier!r}")
