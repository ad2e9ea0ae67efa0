"""Stateful metric classes: hand-derived float64 values, options, empty states and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from haibal_py import metrics as m
from haibal_py.errors import HaibalValueError

T4, P4 = [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]  # tp=[2,1,0] fp=[2,0,0] fn=[0,1,2] tn=[0,2,2] at 3 thresholds


def result(metric, *batches):
    for batch in batches:
        metric.update_state(*batch)
    return metric.result()


@pytest.mark.parametrize("curve,method,expected", [
    ("ROC", "interpolation", 0.75),
    ("ROC", "minoring", 0.5),
    ("ROC", "majoring", 1.0),
    ("PR", "minoring", 0.25),  # recall [1, .5, 0], precision [.5, 1, 0]
    ("PR", "majoring", 1.0),
    ("PR", "interpolation", (1 + 2 / 3 * math.log(4)) / 6 + 0.5),  # Davis & Goadrich, by hand
])
def test_auc_curves_and_summations_by_hand(curve, method, expected):
    auc = m.AUC(num_thresholds=3, curve=curve, summation_method=method)
    assert result(auc, (T4, P4)) == pytest.approx(expected, rel=1e-12)


def test_auc_explicit_thresholds_logits_and_float32():
    assert result(m.AUC(thresholds=[0.5]), (T4, P4)) == pytest.approx(0.75)
    logits = np.log(np.array([1e-3, 0.5, 0.3, 0.9]) / (1 - np.array([1e-3, 0.5, 0.3, 0.9])))
    assert result(m.AUC(num_thresholds=3, from_logits=True), (T4, logits)) == pytest.approx(0.75)
    assert result(m.AUC(num_thresholds=3), (T4, np.array(P4, np.float32))) == pytest.approx(0.75)


def test_auc_multi_label_is_the_mean_of_per_label_aucs():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, (50, 3))
    y_pred = rng.random((50, 3))
    singles = [result(m.AUC(), (y_true[:, j], y_pred[:, j])) for j in range(3)]
    assert result(m.AUC(multi_label=True), (y_true, y_pred)) == pytest.approx(np.mean(singles))
    weighted = result(m.AUC(multi_label=True, label_weights=[1, 0, 3]), (y_true, y_pred))
    assert weighted == pytest.approx((singles[0] + 3 * singles[2]) / 4)
    pooled = result(m.AUC(), (y_true.reshape(-1), y_pred.reshape(-1)))
    assert result(m.AUC(), (y_true, y_pred)) == pytest.approx(pooled)


def test_auc_of_a_perfect_ranking_is_one_and_empty_is_zero():
    assert result(m.AUC(), ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)
    assert m.AUC().result() == 0.0


def test_precision_recall_top_k_and_class_id():
    y_true = [[0, 0, 1], [0, 1, 0]]
    y_pred = [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]
    assert result(m.Recall(top_k=1), (y_true, y_pred)) == pytest.approx(0.5)
    assert result(m.Precision(top_k=1), (y_true, y_pred)) == pytest.approx(0.5)
    assert result(m.Recall(top_k=2), (y_true, y_pred)) == pytest.approx(0.5)  # row 0: class 2 is third
    assert result(m.Recall(top_k=3), (y_true, y_pred)) == pytest.approx(1.0)
    assert result(m.Precision(class_id=1), (y_true, y_pred)) == pytest.approx(1.0)
    assert result(m.Recall(class_id=2), (y_true, y_pred)) == pytest.approx(0.0)
    assert result(m.Specificity(class_id=0), (y_true, y_pred)) == pytest.approx(1.0)  # 0.5 is not > 0.5


def test_counts_at_several_thresholds():
    tp = m.TruePositives(thresholds=[0.0, 0.5, 0.95])
    np.testing.assert_allclose(result(tp, ([1, 1, 0, 1], [0.2, 0.6, 0.7, 0.96])), [3, 2, 1])
    fn = m.FalseNegatives(thresholds=[0.0, 0.5, 0.95])
    np.testing.assert_allclose(result(fn, ([1, 1, 0, 1], [0.2, 0.6, 0.7, 0.96])), [0, 1, 2])
    tn = m.TrueNegatives(thresholds=0.65)
    assert result(tn, ([0, 0, 1], [0.6, 0.7, 0.1])) == 1.0


def test_empty_confusion_metrics_give_zero():
    for metric in (m.Precision(), m.Recall(), m.Specificity(), m.TruePositives(), m.PrecisionAtRecall(0.5),
                   m.MeanIoU(3), m.R2Score(), m.F1Score(), m.Mean(), m.Sum(), m.RootMeanSquaredError()):
        assert metric.result() == 0.0, type(metric).__name__


def test_reset_state_starts_over():
    metric = m.Precision()
    metric.update_state([0, 1], [0.9, 0.9])
    metric.reset_state()
    metric.update_state([1], [0.9])
    assert metric.result() == 1.0


def test_iou_ignore_class_and_sparse_options():
    iou = m.MeanIoU(num_classes=2, ignore_class=255)
    assert result(iou, ([0, 1, 255, 1], [0, 1, 0, 0])) == pytest.approx(0.5, rel=1e-6)
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    dense = m.MeanIoU(num_classes=2, sparse_y_pred=False)
    assert result(dense, ([0, 1, 1, 1], scores)) == pytest.approx((1 / 2 + 2 / 3) / 2, rel=1e-6)
    # segmentation maps of rank 3 are flattened
    seg = m.IoU(num_classes=3, target_class_ids=[2])
    assert result(seg, (np.full((2, 2, 2), 2), np.full((2, 2, 2), 2))) == pytest.approx(1.0, rel=1e-6)


def test_iou_ignores_ids_out_of_range_as_keras():
    """A true or predicted id outside [0, num_classes) leaves its position out (Keras 3's bounds mask)."""
    metric = m.MeanIoU(2)
    metric.update_state([0, 2, 1, -1, 1], [0, 1, 1, 1, 5])
    np.testing.assert_array_equal(metric.total_cm, [[1, 0], [0, 1]])
    assert metric.result() == pytest.approx(1.0, abs=1e-6)
    weighted = m.IoU(3, target_class_ids=[0], ignore_class=0)
    weighted.update_state([0, 1, 2, 7], [0, 1, 2, 2], sample_weight=[5, 1, 2, 3])
    np.testing.assert_array_equal(weighted.total_cm, np.diag([0.0, 1.0, 2.0]))


def test_iou_errors():
    with pytest.raises(HaibalValueError, match="class ids"):
        m.MeanIoU(2).update_state([0, 1, 1], [0, 1])
    with pytest.raises(HaibalValueError, match="out of range"):
        m.IoU(2, target_class_ids=[2])
    with pytest.raises(HaibalValueError, match="num_classes"):
        m.MeanIoU(0)


def test_r2_aggregations_and_adjustment():
    y_true = np.array([[1.0, 10.0], [4.0, 20.0], [3.0, 60.0], [5.0, 10.0]])
    y_pred = np.array([[2.0, 12.0], [4.0, 18.0], [4.0, 50.0], [4.0, 15.0]])
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    raw = 1 - ss_res / ss_tot
    np.testing.assert_allclose(result(m.R2Score(class_aggregation=None), (y_true, y_pred)), raw)
    assert result(m.R2Score(), (y_true, y_pred)) == pytest.approx(raw.mean())
    assert result(m.R2Score(class_aggregation="variance_weighted_average"), (y_true, y_pred)) == \
        pytest.approx((raw * ss_tot).sum() / ss_tot.sum())
    n, p = y_true.shape[0], 1  # the rows (Keras' fix #23334; 3.15.1 counted every element)
    assert result(m.R2Score(num_regressors=p), (y_true, y_pred)) == \
        pytest.approx(1 - (1 - raw.mean()) * (n - 1) / (n - p - 1))
    with pytest.raises(HaibalValueError, match="2-D"):
        m.R2Score().update_state([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(HaibalValueError, match="class_aggregation"):
        m.R2Score(class_aggregation="median")


def test_f_scores_averages_and_weights():
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]])
    y_pred = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7]])
    # argmax rows: 0, 1, 0, 2 -> class 0: tp 1 fp 1; class 1: tp 1 fn 1; class 2: tp 1
    per_class = np.array([2 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(result(m.F1Score(), (y_true, y_pred)), per_class, rtol=1e-6)
    assert result(m.F1Score(average="macro"), (y_true, y_pred)) == pytest.approx(per_class.mean(), rel=1e-6)
    assert result(m.F1Score(average="micro"), (y_true, y_pred)) == pytest.approx(0.75, rel=1e-6)
    assert result(m.F1Score(average="weighted"), (y_true, y_pred)) == \
        pytest.approx((per_class * [1, 2, 1]).sum() / 4, rel=1e-6)
    weighted = result(m.F1Score(), (y_true, y_pred, [1, 1, 0, 1]))
    np.testing.assert_allclose(weighted, [1, 1, 1], rtol=1e-6)
    with pytest.raises(HaibalValueError, match="beta"):
        m.FBetaScore(beta=0.0)
    with pytest.raises(HaibalValueError, match="2-D"):
        m.F1Score().update_state([1, 0], [0.3, 0.6])


def test_at_metrics_options_and_errors():
    metric = m.SensitivityAtSpecificity(specificity=0.5, num_thresholds=1)  # one threshold at 0.5
    assert result(metric, ([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])) == pytest.approx(0.5)
    assert metric.specificity == 0.5
    y_true = np.eye(2)[[0, 1, 1, 0]]
    y_pred = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.5]])
    assert result(m.RecallAtPrecision(1.0, class_id=1), (y_true, y_pred)) == pytest.approx(0.5)
    with pytest.raises(HaibalValueError, match="range"):
        m.PrecisionAtRecall(1.5)


def test_confusion_errors():
    with pytest.raises(HaibalValueError, match="does not match"):
        m.Precision().update_state([0, 1, 1], [0.5, 0.5])
    with pytest.raises(HaibalValueError, match=r"\[0, 1\]"):
        m.Recall(thresholds=[0.5, 1.5])
    with pytest.raises(HaibalValueError, match="class_id"):
        m.Precision(class_id=3).update_state([[0, 1]], [[0.2, 0.8]])
    with pytest.raises(HaibalValueError, match="sample_weight"):
        m.Precision().update_state([0, 1], [0.5, 0.6], sample_weight=[1, 2, 3])
    with pytest.raises(HaibalValueError, match="curve"):
        m.AUC(curve="DET")
    with pytest.raises(HaibalValueError, match="num_thresholds"):
        m.AUC(num_thresholds=1)
    with pytest.raises(HaibalValueError, match="threshold"):
        m.BinaryAccuracy(threshold=1.0)


def test_mean_tensor_shape_rules():
    mt = m.MeanTensor()
    with pytest.raises(HaibalValueError, match="no result yet"):
        mt.result()
    mt.update_state([[1.0, 2.0]])
    with pytest.raises(HaibalValueError, match="same shape|the shape"):
        mt.update_state([1.0, 2.0, 3.0])


def test_mean_relative_error_normalizer_broadcast_and_zero():
    mre = m.MeanRelativeError(normalizer=[2.0, 0.0])
    assert result(mre, ([[1.0, 1.0], [3.0, 5.0]], [[2.0, 4.0], [1.0, 1.0]])) == pytest.approx((0.5 + 1.0) / 4)
    with pytest.raises(HaibalValueError, match="normalizer"):
        m.MeanRelativeError(normalizer=[1.0, 2.0, 3.0]).update_state([[1.0, 1.0]], [[1.0, 1.0]])


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
def test_loss_metrics_are_means_of_the_loss_functions(dtype):
    from haibal_py import losses
    rng = np.random.default_rng(1)
    y_true = rng.random((6, 4)).astype(dtype)
    y_pred = rng.random((6, 4)).astype(dtype)
    for cls, fn in ((m.MeanSquaredError, losses.mean_squared_error), (m.Huber, losses.huber),
                    (m.LogCoshError, losses.log_cosh), (m.KLDivergence, losses.kl_divergence),
                    (m.Poisson, losses.poisson), (m.MeanAbsoluteError, losses.mean_absolute_error)):
        assert result(cls(), (y_true, y_pred)) == pytest.approx(float(np.mean(fn(y_true, y_pred))), rel=1e-6)
    assert result(m.CosineSimilarity(), (y_true, y_pred)) == \
        pytest.approx(-float(np.mean(losses.cosine_similarity(y_true, y_pred))), rel=1e-6)
    bce = m.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    assert result(bce, (y_true, y_pred)) == pytest.approx(
        float(np.mean(losses.binary_crossentropy(y_true, y_pred, from_logits=True, label_smoothing=0.1))), rel=1e-6)


def test_nan_values_propagate_through_means():
    metric = m.Mean()
    metric.update_state([1.0, np.nan])
    assert math.isnan(metric.result())
    rmse = m.RootMeanSquaredError()
    rmse.update_state([[1.0]], [[np.nan]])
    assert math.isnan(rmse.result())


@pytest.mark.parametrize("dtype", (np.float32, np.float64))
@pytest.mark.parametrize("n", (3, 17, 200, 1000))
def test_even_grid_binning_equals_a_binary_search(n, dtype):
    from haibal_py.numeric.kernels.confusion import _bins_on_grid, even_thresholds
    th = even_thresholds(n).astype(dtype)
    rng = np.random.default_rng(n)
    p = np.concatenate([rng.random(5000), th, np.nextafter(th, dtype(2)), np.nextafter(th, dtype(-2)),
                        [-1.0, 2.0, 0.0, 1.0, -np.inf, np.inf]]).astype(dtype)
    np.testing.assert_array_equal(_bins_on_grid(th, p), np.searchsorted(th, p))
