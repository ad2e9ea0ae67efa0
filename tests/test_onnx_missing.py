"""Without the optional ``onnx`` extra, haibal_py.onnx still imports, and using it says
how to install what is missing."""

import sys

import pytest

import haibal_py.onnx as honnx
from haibal_py.numeric import layers as L
from haibal_py.numeric.models import Model
from haibal_py.onnx.errors import OnnxDependencyError, require_onnxruntime


def test_missing_packages_are_named_with_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    x = L.Input((3,), name="x")
    model = Model(x, L.Dense(2)(x))
    with pytest.raises(OnnxDependencyError, match=r"pip install 'haibal-py\[onnx\]'"):
        honnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(OnnxDependencyError, match="needs the 'onnx' package"):
        honnx.load(tmp_path / "m.onnx")
    with pytest.raises(ImportError, match="onnxruntime"):
        require_onnxruntime()
    assert "Conv" in honnx.supported_operators()
