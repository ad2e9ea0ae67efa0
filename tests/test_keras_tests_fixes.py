"""What running Keras 3.15.1's own tests against haibal-py found wrong, fixed
(scripts/run_keras_tests.py, docs/keras-tests.md): a ``Loss`` subclass written for Keras
(``call`` returns the losses), the confusion metrics' ``thresholds`` as a list, and
``MeanMetricWrapper``'s configuration holding its ``fn``."""

import json

import numpy as np
import pytest

from haibal_py import losses, metrics
from haibal_py.errors import HaibalValueError


class SquaredLoss(losses.Loss):
    """A loss written as Keras' guide writes one: ``call`` returns the unreduced losses."""

    def call(self, y_true, y_pred):
        return (y_true - y_pred) ** 2


Y_TRUE = np.array([1.0, 0.0, 1.0, 0.0], dtype=np.float32)
Y_PRED = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
SQUARES = (Y_TRUE.astype(np.float64) - Y_PRED) ** 2


@pytest.mark.parametrize("reduction, expected", [
    (None, SQUARES), ("none", SQUARES), ("sum", SQUARES.sum()),
    ("sum_over_batch_size", SQUARES.sum() / 4), ("mean", SQUARES.sum() / 4),
])
def test_a_keras_style_loss_subclass_is_reduced(reduction, expected):
    out = SquaredLoss(reduction=reduction)(Y_TRUE, Y_PRED)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_a_keras_style_loss_subclass_takes_weights_and_mixed_dtypes():
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    out = SquaredLoss()(Y_TRUE.astype(np.int32), Y_PRED, sample_weight=weights)
    assert out.dtype == np.float32  # y_true takes y_pred's dtype, as in the loss functions
    np.testing.assert_allclose(out, np.sum(weights * (np.array([1, 0, 1, 0]) - Y_PRED.astype(np.float64)) ** 2) / 4,
                               rtol=1e-6)
    assert SquaredLoss()(Y_TRUE, Y_PRED, sample_weight=np.zeros(4)) == 0.0
    np.testing.assert_allclose(SquaredLoss(reduction="mean_with_sample_weight")(Y_TRUE, Y_PRED, sample_weight=weights),
                               np.sum(weights * SQUARES) / weights.sum(), rtol=1e-6)


def test_a_keras_style_loss_subclass_gets_float_arrays():
    out = SquaredLoss(reduction=None)([1, 0], [0.5, 0.25])  # lists, as Keras converts them
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.25, 0.0625])
    out64 = SquaredLoss(reduction=None)(np.array([1.0]), np.array([0.5]))
    assert out64.dtype == np.float64  # haibal-py's rule: float64 in, float64 out


def test_a_loss_subclass_without_call_says_so():
    class Empty(losses.Loss):
        pass
    with pytest.raises(NotImplementedError, match="Empty must implement call"):
        Empty()([1.0], [1.0])


def test_built_in_losses_call_gives_the_losses_with_ignored_positions_zero():
    y_true = np.array([[0, 1], [2, 1]])
    y_pred = np.full((2, 2, 3), 1 / 3, dtype=np.float32)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=1)
    values = loss.call(y_true, y_pred)
    np.testing.assert_allclose(values, [[np.log(3), 0.0], [np.log(3), 0.0]], rtol=1e-6)
    np.testing.assert_allclose(loss(y_true, y_pred), np.log(3), rtol=1e-6)  # the mean over the 2 that count
    np.testing.assert_allclose(losses.MeanSquaredError().call([[1.0, 3.0]], [[0.0, 0.0]]), [5.0])


@pytest.mark.parametrize("cls", [metrics.TruePositives, metrics.FalsePositives, metrics.TrueNegatives,
                                 metrics.FalseNegatives, metrics.Precision, metrics.Recall])
def test_confusion_metric_thresholds_are_a_list_as_in_keras(cls):
    m = cls(thresholds=[0.4, 0.9])
    assert m.thresholds == [0.4, 0.9] and isinstance(m.thresholds, list)
    assert cls.from_config(m.get_config()).thresholds == [0.4, 0.9]
    assert cls().thresholds == [0.5]
    assert cls(thresholds=0.7).thresholds == [0.7]
    assert cls(thresholds=0.7).get_config()["thresholds"] == 0.7  # the configuration keeps a single float


def test_thresholds_as_a_list_still_count_per_threshold():
    p = metrics.Precision(thresholds=[0.5, 1.0])
    result = p(np.array([[0, 1], [1, 0]]), np.array([[1, 0], [0.6, 0]], dtype=np.float32),
               sample_weight=np.array([[4, 0], [3, 1]], dtype=np.float32))
    np.testing.assert_allclose(result, [3.0 / 7.0, 0.0])
    assert metrics.Precision(top_k=2).thresholds == [-1e10]  # Keras' NEG_INF, the top-k default


def test_mean_metric_wrapper_config_holds_its_function():
    m = metrics.MeanMetricWrapper(fn=metrics.mean_squared_error, name="mse", dtype="float32")
    config = m.get_config()
    assert config["fn"] == {"module": "builtins", "class_name": "function", "config": "mean_squared_error",
                            "registered_name": "function"}
    again = metrics.MeanMetricWrapper.from_config(json.loads(json.dumps(config)))
    assert again.fn is metrics.mean_squared_error and again.name == "mse"
    y_true, y_pred = np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])
    assert again(y_true, y_pred) == pytest.approx(0.5)
    revived = metrics.deserialize(json.loads(json.dumps(metrics.serialize(m))))
    assert isinstance(revived, metrics.MeanMetricWrapper) and revived.fn is metrics.mean_squared_error


def test_mean_metric_wrapper_keeps_a_loss_function_and_options():
    m = metrics.MeanMetricWrapper(losses.huber, name="h", delta=2.0)
    config = m.get_config()
    assert config["delta"] == 2.0 and config["fn"]["config"] == "huber"
    again = metrics.MeanMetricWrapper.from_config(config)
    assert again.fn is losses.huber and again.fn_kwargs == {"delta": 2.0}


def test_mean_metric_wrapper_of_an_own_function_round_trips_in_process():
    def squared(y_true, y_pred):
        return (np.asarray(y_true) - np.asarray(y_pred)) ** 2

    m = metrics.MeanMetricWrapper(fn=squared, name="sq")
    assert m.get_config()["fn"] is squared  # no custom-object registry: the function itself
    again = metrics.MeanMetricWrapper.from_config(m.get_config())
    assert again([[1.0, 3.0]], [[0.0, 0.0]]) == pytest.approx(5.0)
    with pytest.raises(HaibalValueError, match="cannot rebuild the function"):
        metrics.MeanMetricWrapper.from_config({"name": "x", "fn": {"class_name": "function", "config": "nope"}})


def test_the_mean_metrics_built_on_the_wrapper_keep_their_own_config():
    config = metrics.Accuracy(name="acc").get_config()
    assert "fn" not in config and metrics.Accuracy.from_config(config).name == "acc"
