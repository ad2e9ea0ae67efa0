"""The exceptions of ``haibal_py.onnx``."""

from __future__ import annotations

from ..errors import HaibalError, HaibalValueError

__all__ = ["OnnxError", "UnsupportedOnnxError", "OnnxDependencyError"]


class OnnxError(HaibalValueError):
    """An ONNX file or model cannot be read, imported or exported."""


class UnsupportedOnnxError(OnnxError):
    """The model uses operators (or operator forms) haibal-py cannot import, or layers it
    cannot export; ``unsupported`` maps each one to its count."""

    def __init__(self, message: str, unsupported: dict[str, int] | None = None):
        super().__init__(message)
        self.unsupported = dict(unsupported or {})


class OnnxDependencyError(HaibalError, ImportError):
    """The optional ``onnx`` (or ``onnxruntime``) package is not installed."""


def require_onnx():
    """The ``onnx`` module, or an error saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise OnnxDependencyError("haibal_py.onnx needs the 'onnx' package: pip install 'haibal-py[onnx]'") from None
    return onnx


def require_onnxruntime():
    """The ``onnxruntime`` module, or an error saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise OnnxDependencyError("running ONNX files needs the 'onnxruntime' package: "
                                  "pip install 'haibal-py[onnx]'") from None
    return onnxruntime
