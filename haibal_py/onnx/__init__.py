"""ONNX for haibal-py: ``load(path) -> Model`` and ``save(model, path, opset=None)``.

Import maps ONNX operators onto the project's layers (``importer``); export writes each
layer as ONNX operators (``exporter``). Both need the optional ``onnx`` package
(``pip install 'haibal-py[onnx]'``, which also brings ``onnxruntime`` to run the files).
See docs/onnx.md.
"""

from .errors import OnnxDependencyError, OnnxError, UnsupportedOnnxError
from .exporter import save, to_onnx
from .importer import load, load_model
from .import_ops import supported_operators

__all__ = ["load", "load_model", "save", "to_onnx", "supported_operators", "OnnxError", "UnsupportedOnnxError",
           "OnnxDependencyError"]
