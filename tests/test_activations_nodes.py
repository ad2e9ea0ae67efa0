"""Activation nodes: the Activations palette, generated nodes, instance selection, parameters, help."""

import numpy as np
import pytest

from haibal_py import CATALOG, ParameterError, PortTypeError, activations as act
from haibal_py.node.types import PortType

NODES = {"ReLU": act.relu, "LeakyReLU": act.leaky_relu, "ReLU6": act.relu6, "ThresholdedReLU": act.thresholded_relu,
         "ELU": act.elu, "SELU": act.selu, "GELU": act.gelu, "Sigmoid": act.sigmoid, "HardSigmoid": act.hard_sigmoid,
         "HardSwish": act.hard_silu, "SoftMax": act.softmax, "LogSoftmax": act.log_softmax,
         "SoftPlus": act.softplus, "SoftSign": act.softsign, "Swish": act.silu, "Mish": act.mish, "TanH": act.tanh,
         "Exponential": act.exponential, "Linear": act.linear, "LogSigmoid": act.log_sigmoid,
         # Keras 3's others
         "CELU": act.celu, "GLU": act.glu, "HardShrink": act.hard_shrink, "HardTanH": act.hard_tanh,
         "SoftShrink": act.soft_shrink, "TanhShrink": act.tanh_shrink, "SparsePlus": act.sparse_plus,
         "SparseSigmoid": act.sparse_sigmoid, "Sparsemax": act.sparsemax, "Squareplus": act.squareplus,
         "Threshold": lambda x: act.threshold(x, 0.0, 0.0)}
HAIBAL_PALETTE = ["ELU", "Exponential", "GELU", "HardSigmoid", "LeakyReLU", "Linear", "ReLU", "SELU", "Sigmoid",
                  "SoftMax", "SoftPlus", "SoftSign", "Swish", "TanH", "ThresholdedReLU"]
X = np.array([[-3.0, -0.5, 0.0], [0.5, 2.0, 7.0]])


def t(text):
    return PortType.parse(text)


def test_haibal_activation_palette_is_complete():
    ids = {cls.type_id for cls in CATALOG.in_category("Activations")}
    assert {f"haibal.activations.{n}" for n in HAIBAL_PALETTE} <= ids
    assert {f"haibal.activations.{n}" for n in NODES} == ids


@pytest.mark.parametrize("name", NODES)
def test_node_runs_and_equals_the_function(name):
    cls = CATALOG.get(f"haibal.activations.{name}")
    assert cls.category == "Activations"
    node = cls()
    x = X[:, :2] if name == "GLU" else X  # GLU halves an axis: an even size
    out = node(x=x)["result"]
    np.testing.assert_array_equal(out, NODES[name](x))
    assert node.select({"x": t("float[2]")}).instance.name == "array"
    assert str(node.output_types({"x": t("float[3]")})["result"]) == "float[3]"
    text = cls.help_text()
    assert "Input parameters" in text and "Use cases" in text and cls.help.use_cases


@pytest.mark.parametrize("name", [n for n in NODES if n not in ("SoftMax", "LogSoftmax", "GLU", "Sparsemax")])
def test_scalar_instance(name):
    node = CATALOG.get(f"haibal.activations.{name}")()
    assert node.select({"x": t("float[0]")}).instance.name == "scalar"
    out = node(x=0.5)["result"]
    assert np.ndim(out) == 0
    np.testing.assert_array_equal(out, NODES[name](0.5))


def test_softmax_has_no_scalar_instance_and_takes_an_axis():
    node = CATALOG.get("haibal.activations.SoftMax")(axis=0)
    np.testing.assert_array_equal(node(x=X)["result"], act.softmax(X, axis=0))
    with pytest.raises(PortTypeError, match="SoftMax"):
        node.select({"x": t("float[0]")})


def test_parameters_reach_the_function_and_are_checked():
    relu = CATALOG.get("haibal.activations.ReLU")(negative_slope=0.1, max_value=2.0, threshold=0.25)
    np.testing.assert_array_equal(relu(x=X)["result"], act.relu(X, 0.1, 2.0, 0.25))
    gelu = CATALOG.get("haibal.activations.GELU")(approximate=True)
    np.testing.assert_array_equal(gelu(x=X)["result"], act.gelu(X, approximate=True))
    with pytest.raises(ParameterError, match="alpha"):
        CATALOG.get("haibal.activations.ELU")(alpha="x")
    with pytest.raises(ParameterError, match="no parameter 'beta'"):
        CATALOG.get("haibal.activations.ELU")(beta=1.0)


def test_int_input_coerces_and_string_input_is_refused():
    node = CATALOG.get("haibal.activations.Sigmoid")()
    sel = node.select({"x": t("int[1]")})
    assert sel.instance.name == "array" and sel.coerced == ("x",)
    assert node(x=[0, 1])["result"].dtype == np.float32
    with pytest.raises(PortTypeError, match="Sigmoid"):
        node.select({"x": t("str[0]")})
