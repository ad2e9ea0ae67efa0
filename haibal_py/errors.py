"""The exception types of haibal-py.

Every error the library raises on bad input is a ``HaibalError``. Each one also
subclasses the built-in type a Python user would expect (``ValueError`` for bad
values, ``TypeError`` for a wire whose types cannot match, ``KeyError`` for an
unknown name), so ``except ValueError`` keeps working for Keras users.
"""

from __future__ import annotations


class HaibalError(Exception):
    """Base class of every error raised by haibal-py on bad input."""


class HaibalValueError(HaibalError, ValueError):
    """A value (array, label, parameter) is not acceptable."""


class PortTypeError(HaibalError, TypeError):
    """A port receives a type it cannot accept (LabVIEW's broken wire)."""


class UnknownNodeTypeError(HaibalError, KeyError):
    """A node type id is not in the catalog."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(HaibalValueError):
    """A node parameter is unknown or has a value it cannot take."""


class LayerError(HaibalValueError):
    """A layer or model got an argument, an input shape or a weight it cannot take."""
