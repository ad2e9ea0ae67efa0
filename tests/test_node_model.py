"""The polymorphic node model, on the SCCE node: instances, selection, parameters, help."""

import subprocess
import sys

import numpy as np
import pytest

from haibal_py import CATALOG, Batches, HaibalValueError, ParameterError, PortTypeError
from haibal_py.errors import UnknownNodeTypeError
from haibal_py.node import AUTOMATIC, RunContext
from haibal_py.node.types import PortType

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
Y_TRUE = [1, 2]
Y_PRED = [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]


def t(text):
    return PortType.parse(text)


@pytest.fixture
def node():
    return CATALOG.get(SCCE)()


def test_catalog_entry(node):
    cls = type(node)
    assert cls.type_id == SCCE
    assert cls.category == "Metrics"
    assert cls.display_name == "SparseCategoricalCrossentropy"
    assert cls.instance_names() == ("scalar", "array", "batch")
    assert cls in CATALOG.in_category("metrics")


def test_unknown_type_suggests_the_close_one():
    with pytest.raises(UnknownNodeTypeError, match="did you mean 'haibal.metrics.SparseCategoricalCrossentropy'"):
        CATALOG.get("haibal.metrics.SparseCategoricalCrossentropi")


@pytest.mark.parametrize("wired, expected", [
    ({"y_true": "int[0]", "y_pred": "float[1]"}, "scalar"),
    ({"y_true": "int[1]", "y_pred": "float[2]"}, "array"),
    ({"y_true": "int[3]", "y_pred": "float[4]"}, "array"),
    ({"y_true": "int[5]", "y_pred": "float[6]"}, "array"),
    ({"y_true": "seq<int[1]>", "y_pred": "seq<float[2]>"}, "batch"),
    ({"y_true": "int[1]", "y_pred": "float[2]", "sample_weight": "float[1]"}, "batch"),
    ({"y_true": "any", "y_pred": "float[2]"}, "array"),
])
def test_automatic_selection_from_wired_types(node, wired, expected):
    sel = node.select({k: t(v) for k, v in wired.items()})
    assert sel.instance.name == expected


def test_float_labels_select_with_a_coercion(node):
    sel = node.select({"y_true": t("float[1]"), "y_pred": t("float[2]")})
    assert sel.instance.name == "array" and sel.coerced == ("y_true",)


def test_output_rank_follows_y_pred(node):
    out = node.output_types({"y_true": t("int[3]"), "y_pred": t("float[4]")})
    assert str(out["result"]) == "float[3]"
    out = node.output_types({"y_true": t("seq<int[1]>"), "y_pred": t("seq<float[2]>")})
    assert str(out["result"]) == "float[0]"


def test_impossible_combination_names_node_and_port(node):
    with pytest.raises(PortTypeError) as err:
        node.select({"y_true": t("int[1]"), "y_pred": t("bool[2]")})
    msg = str(err.value)
    assert "SparseCategoricalCrossentropy" in msg and "y_pred" in msg and "bool[2]" in msg


def test_pinned_instance_is_enforced_before_running(node):
    node.instance = "scalar"
    with pytest.raises(PortTypeError, match=r"instance 'scalar'.*'y_pred' expects float\[1\], got float\[2\]"):
        node(y_true=Y_TRUE, y_pred=Y_PRED)


def test_unknown_port_and_instance_are_refused(node):
    with pytest.raises(PortTypeError, match="no input port 'y_prd'"):
        node.select({"y_prd": t("float[2]")})
    with pytest.raises(ParameterError, match="unknown instance 'matrix'"):
        node.instance = "matrix"


def test_headless_call_per_instance():
    cls = CATALOG.get(SCCE)
    node = cls()
    np.testing.assert_allclose(node(y_true=Y_TRUE, y_pred=Y_PRED)["result"], [0.0513, 2.303], atol=5e-4)
    scalar = node(y_true=1, y_pred=Y_PRED[0])["result"]
    assert np.ndim(scalar) == 0 and abs(float(scalar) - 0.0513) < 5e-4
    batches = node(y_true=Batches([[1], [2]]), y_pred=Batches([[Y_PRED[0]], [Y_PRED[1]]]))["result"]
    assert isinstance(batches, float)
    assert batches == pytest.approx((0.051293 + 2.302585) / 2, rel=1e-5)
    node.instance = "batch"  # one array through the pinned batch instance: the metric's mean
    assert node(y_true=Y_TRUE, y_pred=Y_PRED)["result"] == pytest.approx(batches, rel=1e-6)
    node.instance = AUTOMATIC
    assert np.ndim(node(y_true=Y_TRUE, y_pred=Y_PRED)["result"]) == 1


def test_parameters_are_checked_and_used():
    cls = CATALOG.get(SCCE)
    logits = cls(from_logits=True)
    expected = -np.log(np.exp(0.95) / np.exp([0.05, 0.95, 0.0]).sum())
    assert float(logits(y_true=1, y_pred=Y_PRED[0])["result"]) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ParameterError, match="'from_logits' must be a bool"):
        cls(from_logits="yes please")
    with pytest.raises(ParameterError, match="no parameter 'from_logit'"):
        cls(from_logit=True)
    with pytest.raises(ParameterError, match="'axis' must be an int"):
        cls(axis=1.5)
    node = cls(ignore_class=255)
    node.set_param("ignore_class", None)
    assert node["ignore_class"] is None


def test_kernel_errors_name_the_node():
    node = CATALOG.get(SCCE)(name="scce1")
    with pytest.raises(HaibalValueError, match=r"'scce1' \(SparseCategoricalCrossentropy\): y_true holds the label 3"):
        node(y_true=[3, 0], y_pred=Y_PRED)


def test_missing_required_input(node):
    with pytest.raises(PortTypeError, match="required input 'y_pred'"):
        node(y_true=Y_TRUE)


def test_batches_must_pair_up(node):
    with pytest.raises(HaibalValueError, match=r"different numbers of batches \(y_true 2, y_pred 1\)"):
        node(y_true=Batches([[1], [2]]), y_pred=Batches([[Y_PRED[0]]]))


def test_progress_is_reported_per_batch(node):
    seen = []

    class Watch(RunContext):
        def progress(self, done, total):
            seen.append((done, total))

    node.context = Watch()
    node(y_true=Batches([[1], [2], [0]]), y_pred=Batches([[Y_PRED[0]], [Y_PRED[1]], [Y_PRED[1]]]))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_help_text_reads_like_haibal(node):
    text = type(node).help_text()
    for part in ("Type : polymorphic.", "Input parameters", "Output parameters", "Use cases",
                 "from_logits", "y_pred", "y_true", "axis", "ignore_class", "result",
                 "[int[0] | int[1+] | seq<int>]"):
        assert part in text


def test_headless_import_pulls_no_qt():
    code = ("import sys, haibal_py, haibal_py.nodes, haibal_py.losses, haibal_py.metrics;"
            "from haibal_py import CATALOG; len(CATALOG);"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','Qt','NodeGraphQt','pyqtgraph','shiboken6')];"
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
