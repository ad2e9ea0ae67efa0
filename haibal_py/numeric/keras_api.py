"""Pieces of Keras' public API shape: ``get(identifier)`` and constructors with Keras' exact signatures."""

from __future__ import annotations

import inspect
from typing import Any, Iterable, Mapping

from ..errors import HaibalValueError


def get_by_identifier(identifier, table: Mapping[str, Any], what: str):
    """A function for a function name, an instance for a class name (as ``keras.losses.get``).

    ``None`` gives ``None``; a callable is returned as it is; a dict
    ``{"class_name": ..., "config": {...}}`` builds the class with that config.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls = table.get(identifier.get("class_name"))
        if not inspect.isclass(cls):
            raise HaibalValueError(f"unknown {what} class {identifier.get('class_name')!r}")
        return cls(**identifier.get("config", {}))
    if isinstance(identifier, str):
        obj = table.get(identifier)
        if obj is None:
            raise HaibalValueError(f"unknown {what} {identifier!r}")
        if not inspect.isclass(obj):
            return obj
        try:
            return obj()
        except TypeError as exc:
            raise HaibalValueError(f"{what} {identifier!r} needs arguments: {exc}") from None
    if callable(identifier):
        return identifier
    raise HaibalValueError(f"cannot interpret {identifier!r} as a {what}")


def keras_signature(params: Iterable[tuple[str, Any]]) -> inspect.Signature:
    """``(self, name=default, ...)`` in the given order: a constructor with Keras' exact signature."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter("self", kind)]
                             + [inspect.Parameter(k, kind, default=v) for k, v in params])


def bind_arguments(signature: inspect.Signature, self, args, kwargs) -> dict:
    """Every argument of a call by name, defaults filled in, ``self`` left out."""
    bound = signature.bind(self, *args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    values.pop("self")
    return values
