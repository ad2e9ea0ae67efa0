"""Pieces of Keras' public API shape: Keras' names for classes (``snake_case``, ``auto_name``),
the name registries behind ``get`` / ``serialize`` / ``deserialize``, and constructors with
Keras' exact signatures.

A ``Registry`` maps Keras' identifiers (function names, class names, their snake_case
forms and the short aliases) to objects, as ``ALL_OBJECTS_DICT`` does in each Keras
module (losses, metrics, activations, initializers, regularizers, learning-rate
schedules). Serialized forms are Keras' own, so a training setup stored by haibal-py reads
in Keras and the other way round:

- a function: ``{"module": "builtins", "class_name": "function", "config": "<name>",
  "registered_name": "function"}`` (activations: just the name);
- an object: ``{"module": "keras.losses", "class_name": "<Class>", "config":
  obj.get_config(), "registered_name": None}``; classes Keras does not have (HAIBAL's
  ``Specificity``, ...) name the ``haibal_py`` module instead; or (``short_form``, the
  initializers and regularizers in layer configs) ``{"class_name": "<Class>", "config": ...}``.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Iterable, Mapping

from ..errors import HaibalValueError


def snake_case(name: str) -> str:
    """Keras' ``to_snake_case``, the one in the project: ``"MeanIoU"`` -> ``"mean_io_u"``,
    ``"AUC"`` -> ``"auc"``, ``"Conv2DTranspose"`` -> ``"conv2d_transpose"`` (a digit does not
    split), ``"RMSprop"`` -> ``"rm_sprop"``; characters that are not word characters are dropped."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


_NAME_UIDS: dict[str, int] = {}


def auto_name(class_name: str) -> str:
    """Keras' automatic object names: ``dense``, ``dense_1``, ``dense_2`` ... per snake_case
    class name, per process, one count for layers, models and optimizers (Keras' ``auto_name``)."""
    base = snake_case(class_name)
    n = _NAME_UIDS.get(base, 0)
    _NAME_UIDS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset_names() -> None:
    """Start automatic names again from ``dense``, as ``keras.backend.clear_session()`` does."""
    _NAME_UIDS.clear()


def _a(word: str) -> str:
    """``word`` with its indefinite article: "a loss", "an initializer"."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


class Registry:
    """Keras' identifiers of one module (``losses``, ``metrics``, ``activations``,
    ``initializers``, ``regularizers`` or ``optimizers.schedules``).

    ``objects``: name -> function or class. ``keras_module``: the module Keras serializes
    these objects under; ``own_module``: the one for objects Keras lacks (``keras_names``
    lists the class names Keras has). ``instantiate``: ``get`` turns a class into an
    instance (losses, metrics) rather than returning it. ``short_form``: ``serialize`` gives
    ``{"class_name", "config"}`` only. ``error``: the exception type of every refusal (a
    ``HaibalValueError``); ``what_class``: what messages call its classes ("loss class").
    """

    def __init__(self, what: str, objects: Mapping[str, Any], keras_module: str, own_module: str,
                 keras_names: Iterable[str] = (), instantiate: bool = True, *, short_form: bool = False,
                 error: type = HaibalValueError, what_class: str | None = None):
        self.what = what
        self.objects = dict(objects)
        self.keras_module = keras_module
        self.own_module = own_module
        self.keras_names = frozenset(keras_names)
        self.instantiate = instantiate
        self.short_form = short_form
        self.error = error
        self.what_class = what_class or f"{what} class"

    def with_objects(self, custom_objects: Mapping[str, Any] | None) -> "Registry":
        """This registry with ``custom_objects`` (Keras' argument of ``deserialize``) added."""
        if not custom_objects:
            return self
        return Registry(self.what, {**self.objects, **custom_objects}, self.keras_module, self.own_module,
                        self.keras_names, self.instantiate, short_form=self.short_form, error=self.error,
                        what_class=self.what_class)

    def names(self) -> list[str]:
        return sorted(self.objects)

    def lookup(self, name: str):
        obj = self.objects.get(name)
        if obj is None:
            raise self.error(f"unknown {self.what} {name!r}; known: {', '.join(self.names())}")
        return obj

    def _class(self, name):
        cls = self.objects.get(name) if isinstance(name, str) else None
        if not inspect.isclass(cls):
            classes = [n for n in self.names() if inspect.isclass(self.objects[n])]
            raise self.error(f"unknown {self.what_class} {name!r}; known classes: {', '.join(classes)}")
        return cls

    def serialize(self, obj):
        """Keras' serialized form of a registered function or of an object with ``get_config``."""
        if obj is None:
            return None
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            name = self.function_name(obj)
            return {"module": "builtins", "class_name": "function", "config": name, "registered_name": "function"}
        if inspect.isclass(obj) or not hasattr(obj, "get_config"):
            raise self.error(f"cannot serialize {obj!r} as {_a(self.what)}: give {_a(self.what)} function of "
                             f"this module or an object with get_config()")
        name = type(obj).__name__
        if self.short_form:
            return {"class_name": name, "config": obj.get_config()}
        module = self.keras_module if name in self.keras_names else self.own_module
        return {"module": module, "class_name": name, "config": obj.get_config(), "registered_name": None}

    def function_name(self, fn) -> str:
        """The registered name of ``fn`` (its own ``__name__`` when that is registered to it)."""
        own = getattr(fn, "__name__", None)
        if own is not None and self.objects.get(own) is fn:
            return own
        for name, obj in self.objects.items():
            if obj is fn:
                return name
        raise self.error(f"cannot serialize the function {own or fn!r}: it is not {_a(self.what)} of this "
                         f"module (known: {', '.join(self.names())})")

    def deserialize(self, config):
        """The object a serialized form describes: a name (as ``get``), or a dict of Keras' form."""
        if config is None:
            return None
        if isinstance(config, str):
            return self.get(config)
        if not isinstance(config, Mapping) or "class_name" not in config:
            raise self.error(f"cannot deserialize {config!r} as {_a(self.what)}: expected a name or a dict "
                             "with 'class_name' and 'config'")
        class_name = config["class_name"]
        inner = config.get("config")
        if class_name == "function":
            if not isinstance(inner, str):
                raise self.error(f"a serialized {self.what} function needs its name as 'config', got {inner!r}")
            fn = self.lookup(inner)
            if inspect.isclass(fn):
                raise self.error(f"{inner!r} names {_a(self.what)} class, not a function")
            return fn
        cls = self._class(class_name)
        if inner is None:
            inner = {}
        if not isinstance(inner, Mapping):
            raise self.error(f"the config of a serialized {class_name} must be a dict, got {inner!r}")
        builder = getattr(cls, "from_config", None)
        try:
            return builder(dict(inner)) if builder is not None else cls(**inner)
        except TypeError as exc:
            raise self.error(f"cannot build {class_name} from its config {dict(inner)!r}: {exc}") from None

    def get(self, identifier):
        """As Keras' ``get``: ``None`` gives ``None``; a name gives the function or (for a class)
        an instance built with its defaults; a dict is deserialized; a callable is returned as it is."""
        if identifier is None:
            return None
        if isinstance(identifier, Mapping):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            obj = self.lookup(identifier)
            if inspect.isclass(obj) and self.instantiate:
                try:
                    return obj()
                except TypeError as exc:
                    raise self.error(f"{self.what} {identifier!r} needs arguments: {exc}") from None
            return obj
        if callable(identifier):
            return identifier
        raise self.error(f"cannot interpret {identifier!r} as {_a(self.what)}")


def keras_signature(params: Iterable[tuple[str, Any]]) -> inspect.Signature:
    """``(self, name=default, ...)`` in the given order: a constructor with Keras' exact signature."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter("self", kind)]
                             + [inspect.Parameter(k, kind, default=v) for k, v in params])


def bind_arguments(signature: inspect.Signature, self, args, kwargs) -> dict:
    """Every argument of a call by name, defaults filled in, ``self`` left out (an unknown or
    missing argument is Python's ``TypeError``, as for any call)."""
    bound = signature.bind(self, *args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    values.pop("self")
    return values
