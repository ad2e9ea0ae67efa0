"""Loss nodes: every loss is a node of the Losses palette, runs headlessly and picks the right instance."""

import numpy as np
import pytest

from haibal_py import CATALOG, Batches, ParameterError, PortTypeError, losses
from haibal_py.node.types import PortType

LOSS_NODES = ["MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
              "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
              "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
              "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "Dice", "Tversky"]
FUNCTIONS = {"MeanSquaredError": losses.mean_squared_error, "MeanAbsoluteError": losses.mean_absolute_error,
             "MeanAbsolutePercentageError": losses.mean_absolute_percentage_error,
             "MeanSquaredLogarithmicError": losses.mean_squared_logarithmic_error,
             "CosineSimilarity": losses.cosine_similarity, "Huber": losses.huber, "LogCosh": losses.log_cosh,
             "Hinge": losses.hinge, "SquaredHinge": losses.squared_hinge,
             "CategoricalHinge": losses.categorical_hinge, "KLDivergence": losses.kl_divergence,
             "Poisson": losses.poisson, "BinaryCrossentropy": losses.binary_crossentropy,
             "BinaryFocalCrossentropy": losses.binary_focal_crossentropy,
             "CategoricalCrossentropy": losses.categorical_crossentropy,
             "CategoricalFocalCrossentropy": losses.categorical_focal_crossentropy,
             "Dice": losses.dice, "Tversky": losses.tversky}

Y_TRUE = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
Y_PRED = np.array([[0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]])


def node_of(name, **params):
    return CATALOG.get(f"haibal.losses.{name}")(**params)


def t(text):
    return PortType.parse(text)


@pytest.mark.parametrize("name", LOSS_NODES + ["SparseCategoricalCrossentropy"])
def test_every_loss_is_in_the_losses_palette_with_help(name):
    cls = CATALOG.get(f"haibal.losses.{name}")
    assert cls.category == "Losses" and cls.display_name == name
    assert cls in CATALOG.in_category("Losses")
    assert cls.instance_names() == ("scalar", "array", "batch")
    text = cls.help_text()
    for part in ("Input parameters", "Output parameters", "Use cases", "y_true", "y_pred", "result"):
        assert part in text
    assert len(cls.help.description) > 20 and cls.help.use_cases


@pytest.mark.parametrize("name", [n for n in LOSS_NODES if n not in ("Dice", "Tversky")])
def test_array_and_scalar_instances_equal_the_function(name):
    node = node_of(name)
    out = node(y_true=Y_TRUE, y_pred=Y_PRED)["result"]
    np.testing.assert_array_equal(out, FUNCTIONS[name](Y_TRUE, Y_PRED))
    assert node.select({"y_true": t("float[2]"), "y_pred": t("float[2]")}).instance.name == "array"
    one = node(y_true=Y_TRUE[1], y_pred=Y_PRED[1])["result"]
    assert np.ndim(one) == 0
    np.testing.assert_allclose(one, FUNCTIONS[name](Y_TRUE[1:2], Y_PRED[1:2])[0], rtol=1e-15)
    assert node.select({"y_true": t("float[1]"), "y_pred": t("float[1]")}).instance.name == "scalar"


@pytest.mark.parametrize("name", LOSS_NODES)
def test_batch_instance_is_the_loss_over_the_concatenated_batches(name):
    node = node_of(name)
    out = node(y_true=Batches([Y_TRUE[:1], Y_TRUE[1:]]), y_pred=Batches([Y_PRED[:1], Y_PRED[1:]]))["result"]
    assert isinstance(out, float)
    if name in ("Dice", "Tversky"):  # one value per batch, averaged
        per = [FUNCTIONS[name](Y_TRUE[:1], Y_PRED[:1]), FUNCTIONS[name](Y_TRUE[1:], Y_PRED[1:])]
        assert out == pytest.approx(np.mean(per), rel=1e-14)
    else:
        assert out == pytest.approx(getattr(losses, name)()(Y_TRUE, Y_PRED), rel=1e-14)
    sel = node.select({"y_true": t("seq<float[2]>"), "y_pred": t("seq<float[2]>")})
    assert sel.instance.name == "batch"


def test_batch_instance_with_sample_weight_and_empty_stream():
    node = node_of("MeanSquaredError")
    w = Batches([np.array([2.0]), np.array([1.0, 0.0, 1.0])])
    out = node(y_true=Batches([Y_TRUE[:1], Y_TRUE[1:]]), y_pred=Batches([Y_PRED[:1], Y_PRED[1:]]),
               sample_weight=w)["result"]
    per = losses.mean_squared_error(Y_TRUE, Y_PRED)
    assert out == pytest.approx((per * [2, 1, 0, 1]).sum() / 4, rel=1e-14)


def test_parameters_reach_the_function():
    out = node_of("Huber", delta=0.1)(y_true=Y_TRUE, y_pred=Y_PRED)["result"]
    np.testing.assert_array_equal(out, losses.huber(Y_TRUE, Y_PRED, delta=0.1))
    logits = Y_PRED * 10 - 5
    out = node_of("CategoricalCrossentropy", from_logits=True, label_smoothing=0.1)(y_true=Y_TRUE, y_pred=logits)
    np.testing.assert_array_equal(out["result"],
                                  losses.categorical_crossentropy(Y_TRUE, logits, True, 0.1))
    out = node_of("CosineSimilarity", axis=0)(y_true=Y_TRUE, y_pred=Y_PRED)["result"]
    np.testing.assert_array_equal(out, losses.cosine_similarity(Y_TRUE, Y_PRED, axis=0))


def test_dice_per_sample_switch_is_keras_axis():
    yt = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]], np.float32)
    yp = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]], np.float32)
    np.testing.assert_allclose(node_of("Dice", per_sample=True)(y_true=yt, y_pred=yp)["result"],
                               [0.5, 0.75757575], rtol=1e-7)
    np.testing.assert_allclose(node_of("Dice")(y_true=yt, y_pred=yp)["result"], 0.6164384, rtol=1e-7)
    tv = node_of("Tversky", alpha=0.3, beta=0.7, per_sample=True)(y_true=yt, y_pred=yp)["result"]
    np.testing.assert_array_equal(tv, losses.tversky(yt, yp, 0.3, 0.7, axis=(1, 2, 3)))


def test_sparse_categorical_crossentropy_loss_node_excludes_ignored_positions_in_batch_mean():
    node = CATALOG.get("haibal.losses.SparseCategoricalCrossentropy")(ignore_class=0)
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], np.float32)
    out = node(y_true=Batches([np.array([0]), np.array([1, 2])]),
               y_pred=Batches([y_pred[:1], y_pred[1:]]))["result"]
    # the ignored sample does not count: (0.22314355 + 0.5108256) / 2, as the loss class gives
    assert out == pytest.approx(0.36698452, rel=1e-6)


def test_bad_wiring_and_parameters_are_clear_errors():
    node = node_of("BinaryCrossentropy")
    with pytest.raises(PortTypeError, match="BinaryCrossentropy"):
        node.select({"y_true": t("float[2]"), "y_pred": t("str[0]")})
    with pytest.raises(ParameterError, match="label_smoothing"):
        node_of("BinaryCrossentropy", label_smoothing=2.0)
    with pytest.raises(ParameterError, match="delta"):
        node_of("Huber", delta="big")
    with pytest.raises(Exception, match=r"MeanSquaredError.*does not match"):
        node_of("MeanSquaredError")(y_true=np.zeros((2, 3)), y_pred=np.zeros((2, 4)))


def test_cli_lists_the_loss_nodes():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "haibal_py", "nodes"], capture_output=True, text=True,
                         check=True, timeout=120)
    for name in LOSS_NODES + ["SparseCategoricalCrossentropy"]:
        assert f"haibal.losses.{name} " in out.stdout


def test_a_graph_of_activation_and_loss_nodes_runs_headlessly():
    from haibal_py.graph import Graph
    from haibal_py.runtime import Runtime

    g = Graph(name="softmax-cce")
    yt = g.add_input("y_true", default=Y_TRUE.tolist(), type="float[2]")
    logits = g.add_input("logits", default=(Y_PRED * 4).tolist(), type="float[2]")
    sm = g.add_node("haibal.activations.SoftMax")
    cce = g.add_node("haibal.losses.CategoricalCrossentropy")
    g.connect(logits, "value", sm, "x")
    g.connect(sm, "result", cce, "y_pred")
    g.connect(yt, "value", cce, "y_true")
    g.connect(cce, "result", g.add_output("loss"), "value")
    assert g.validate() == []
    result = Runtime(g).run()
    assert result.ok and result.instances[cce] == "array"
    expected = losses.categorical_crossentropy(Y_TRUE, Y_PRED * 4, from_logits=True)
    np.testing.assert_allclose(result.outputs["loss"], expected, rtol=1e-6)
