"""Every stateful metric against the standalone-usage numbers of its Keras documentation page."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py import metrics as m

# (metric factory, y_true, y_pred, Keras' result, sample_weight, Keras' weighted result)
A, B = [[0, 1], [0, 0]], [[1, 1], [0, 0]]
C, D = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
CASES = [
    (m.Accuracy, [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75, [1, 1, 0, 0], 0.5),
    (m.BinaryAccuracy, [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75, [1, 0, 0, 1], 0.5),
    (m.CategoricalAccuracy, [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (m.SparseCategoricalAccuracy, [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (lambda: m.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5,
     [0.7, 0.3], 0.3),
    (lambda: m.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5, [0.7, 0.3], 0.3),
    (m.MeanSquaredError, A, B, 0.25, [1, 0], 0.5),
    (m.MeanAbsoluteError, A, B, 0.25, [1, 0], 0.5),
    (m.MeanAbsolutePercentageError, A, B, 250000000.0, [1, 0], 500000000.0),
    (m.MeanSquaredLogarithmicError, A, B, 0.12011322, [1, 0], 0.24022643),
    (m.RootMeanSquaredError, A, B, 0.5, [1, 0], 0.70710677),
    (m.LogCoshError, A, B, 0.10844523, [1, 0], 0.21689045),
    (m.Poisson, A, B, 0.49999997, [1, 0], 0.99999994),
    (m.CosineSimilarity, [[0, 1], [1, 1]], [[1, 0], [1, 1]], 0.49999997, [0.3, 0.7], 0.6999999),
    (m.Hinge, C, D, 1.3, [1, 0], 1.1),
    (m.SquaredHinge, C, D, 1.86, [1, 0], 1.46),
    (m.CategoricalHinge, C, D, 1.4000001, [1, 0], 1.2),
    (m.KLDivergence, C, D, 0.45814306, [1, 0], 0.9162892),
    (m.BinaryCrossentropy, C, D, 0.81492424, [1, 0], 0.9162905),
    (m.CategoricalCrossentropy, [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.1769392,
     [0.3, 0.7], 1.6271976),
    (m.TruePositives, [0, 1, 1, 1], [1, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (m.FalsePositives, [0, 1, 0, 0], [0, 0, 1, 1], 2.0, [0, 0, 1, 0], 1.0),
    (m.TrueNegatives, [0, 1, 0, 0], [1, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (m.FalseNegatives, [0, 1, 1, 1], [0, 1, 0, 0], 2.0, [0, 0, 1, 0], 1.0),
    (m.Precision, [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (m.Recall, [0, 1, 1, 1], [1, 0, 1, 1], 0.6666667, [0, 0, 1, 0], 1.0),
    (lambda: m.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75, [1, 0, 0, 1], 1.0),
    (lambda: m.SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.5, [1, 1, 2, 2, 1],
     0.333333),
    (lambda: m.SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.66666667,
     [1, 1, 2, 2, 2], 0.5),
    (lambda: m.PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], 0.5, [2, 2, 2, 1, 1], 0.33333333),
    (lambda: m.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.5, [1, 0, 0, 1], 1.0),
    (lambda: m.IoU(num_classes=2, target_class_ids=[0]), [0, 0, 1, 1], [0, 1, 0, 1], 0.33333334,
     [0.3, 0.3, 0.3, 0.1], 0.33333334),
    (lambda: m.MeanIoU(num_classes=2), [0, 0, 1, 1], [0, 1, 0, 1], 0.33333334, [0.3, 0.3, 0.3, 0.1], 0.23809525),
    (lambda: m.BinaryIoU(target_class_ids=[0, 1], threshold=0.3), [0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], 0.33333334,
     [0.2, 0.3, 0.4, 0.1], 0.17361112),
]


@pytest.mark.parametrize("factory,y_true,y_pred,expected,weights,weighted", CASES,
                         ids=[getattr(c[0], "__name__", str(i)) for i, c in enumerate(CASES)])
def test_keras_documentation_numbers(factory, y_true, y_pred, expected, weights, weighted):
    metric = factory()
    metric.update_state(y_true, y_pred)
    assert metric.result() == pytest.approx(expected, rel=2e-6)
    metric.reset_state()
    metric.update_state(y_true, y_pred, sample_weight=weights)
    assert metric.result() == pytest.approx(weighted, rel=2e-6)


def test_mean_and_sum_documentation():
    mean = m.Mean()
    mean.update_state([1, 3, 5, 7])
    assert mean.result() == 4.0
    mean.reset_state()
    mean.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert mean.result() == 2.0
    total = m.Sum()
    total.update_state([1, 3, 5, 7])
    assert total.result() == 16.0


def test_correlations_documentation():
    y_true = [[0, 1, 0.5], [1, 1, 0.2]]
    y_pred = [[0.1, 0.9, 0.5], [1, 0.9, 0.2]]
    pcc = m.PearsonCorrelation(axis=-1)
    pcc.update_state(y_true, y_pred)
    assert pcc.result() == pytest.approx(0.9966996338993913, rel=1e-6)
    ccc = m.ConcordanceCorrelation(axis=-1)
    ccc.update_state(y_true, y_pred)
    assert ccc.result() == pytest.approx(0.9816320385426076, rel=1e-6)
    np.testing.assert_allclose(m.concordance_correlation(y_true, y_pred), [0.97560976, 0.98765432], rtol=1e-6)
    np.testing.assert_allclose(m.pearson_correlation(y_true, y_pred), [1.0, 0.99339927], rtol=1e-6)


def test_precision_top_k_documentation():
    for k, expected in ((2, 0.0), (4, 0.5)):
        metric = m.Precision(top_k=k)
        metric.update_state([0, 0, 1, 1], [1, 1, 1, 1])
        assert metric.result() == pytest.approx(expected)


def test_one_hot_iou_documentation():
    y_true = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
    y_pred = np.array([[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]])
    iou = m.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    iou.update_state(y_true=y_true, y_pred=y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4])
    assert iou.result() == pytest.approx((0 + 0.1 / 0.7) / 2, rel=1e-6)  # Keras prints 0.071
    mean = m.OneHotMeanIoU(num_classes=3)
    mean.update_state(y_true=y_true, y_pred=y_pred, sample_weight=[0.1, 0.2, 0.3, 0.4])
    assert mean.result() == pytest.approx(0.1 / 0.7 / 3, rel=1e-6)  # Keras prints 0.048


def test_f_scores_documentation():
    y_true = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    y_pred = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    fbeta = m.FBetaScore(beta=2.0, threshold=0.5)
    fbeta.update_state(y_true, y_pred)
    np.testing.assert_allclose(fbeta.result(), [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)
    f1 = m.F1Score(threshold=0.5)
    f1.update_state(y_true, y_pred)
    np.testing.assert_allclose(f1.result(), [0.5, 0.8, 0.6666667], rtol=1e-6)


def test_r2_and_mean_relative_error_documentation():
    r2 = m.R2Score()
    r2.update_state([[1], [4], [3]], [[2], [4], [4]])
    assert r2.result() == pytest.approx(0.57142854, rel=1e-6)
    mre = m.MeanRelativeError(normalizer=[1, 3, 2, 3])
    mre.update_state([1, 3, 2, 3], [2, 4, 6, 8])
    assert mre.result() == pytest.approx(1.25)


def test_mean_tensor_documentation():
    mt = m.MeanTensor()
    mt.update_state([0, 1, 2, 3])
    mt.update_state([4, 5, 6, 7])
    np.testing.assert_allclose(mt.result(), [2, 3, 4, 5])
    mt.update_state([12, 10, 8, 6], sample_weight=[1, 0.2, 0.5, 0])
    np.testing.assert_allclose(mt.result(), [16 / 3, 8 / 2.2, 12 / 2.5, 5.0])


def test_every_haibal_palette_metric_is_a_class():
    import inspect
    assert len(m.HAIBAL_PALETTE) == 42
    for name in m.HAIBAL_PALETTE:
        cls = getattr(m, name)
        assert inspect.isclass(cls) and issubclass(cls, m.Metric), name
