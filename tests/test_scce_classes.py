"""SparseCategoricalCrossentropy as a Keras-style Loss (reductions, weights) and stateful metric.

Per-sample losses used below are derived by hand in float64 from TensorFlow's formula
(see tests/test_scce_function.py); the metric/loss quirk numbers were measured in Keras.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haibal_py import HaibalValueError, losses, metrics

EPS = 1e-7
DOC_TRUE = [1, 2]
DOC_PRED = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
L0, L1 = math.log((1 + EPS) / 0.95), math.log(10.0)  # the two per-sample losses, float64

QUIRK_TRUE = [0, 1, 2]
QUIRK_PRED = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], dtype=np.float32)


# ---------------------------------------------------------------- Loss reductions
@pytest.mark.parametrize("reduction, expected", [
    ("sum_over_batch_size", (L0 + L1) / 2),
    ("mean", (L0 + L1) / 2),
    ("sum", L0 + L1),
    ("mean_with_sample_weight", (L0 + L1) / 2),
])
def test_loss_reductions(reduction, expected):
    loss = losses.SparseCategoricalCrossentropy(reduction=reduction)
    value = loss(DOC_TRUE, DOC_PRED)
    assert np.ndim(value) == 0 and value.dtype == np.float64
    assert value == pytest.approx(expected, rel=1e-12)
    value32 = loss(DOC_TRUE, DOC_PRED.astype(np.float32))
    assert value32.dtype == np.float32 and value32 == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("reduction", ["none", None])
def test_loss_reduction_none_keeps_the_per_sample_array(reduction):
    value = losses.SparseCategoricalCrossentropy(reduction=reduction)(DOC_TRUE, DOC_PRED, sample_weight=[2.0, 0.5])
    np.testing.assert_allclose(value, [2 * L0, 0.5 * L1], rtol=1e-12)


def test_loss_sample_weight_per_sample():
    w = [1.0, 3.0]
    value = lambda r: losses.SparseCategoricalCrossentropy(reduction=r)(DOC_TRUE, DOC_PRED, sample_weight=w)
    assert value("sum_over_batch_size") == pytest.approx((L0 + 3 * L1) / 2, rel=1e-12)
    assert value("sum") == pytest.approx(L0 + 3 * L1, rel=1e-12)
    assert value("mean_with_sample_weight") == pytest.approx((L0 + 3 * L1) / 4, rel=1e-12)
    assert value("sum_over_batch_size") == pytest.approx(
        losses.SparseCategoricalCrossentropy()(DOC_TRUE, DOC_PRED, sample_weight=[[1.0], [3.0]]), rel=1e-15)


def test_loss_sample_weight_per_position_and_broadcast_on_sequences():
    rng = np.random.default_rng(0)
    pred = rng.random((3, 4, 5))
    labels = rng.integers(0, 5, (3, 4))
    per_pos = losses.sparse_categorical_crossentropy(labels, pred)
    loss = losses.SparseCategoricalCrossentropy(reduction="sum")
    w_sample = np.array([1.0, 0.0, 2.0])
    expected = (per_pos * w_sample[:, None]).sum()
    assert loss(labels, pred, sample_weight=w_sample) == pytest.approx(expected, rel=1e-12)  # (B,)
    assert loss(labels, pred, sample_weight=w_sample[:, None]) == pytest.approx(expected, rel=1e-12)  # (B, 1)
    w_pos = rng.random((3, 4))
    assert loss(labels, pred, sample_weight=w_pos) == pytest.approx((per_pos * w_pos).sum(), rel=1e-12)
    assert loss(labels, pred, sample_weight=w_pos[..., None]) == pytest.approx((per_pos * w_pos).sum(), rel=1e-12)
    assert loss(labels[..., None], pred, sample_weight=w_pos) == pytest.approx((per_pos * w_pos).sum(), rel=1e-12)


def test_loss_sample_weight_shape_error_names_both_shapes():
    with pytest.raises(HaibalValueError) as info:
        losses.SparseCategoricalCrossentropy()(DOC_TRUE, DOC_PRED, sample_weight=[1.0, 2.0, 3.0])
    assert "(3,)" in str(info.value) and "(2,)" in str(info.value)


def test_unknown_reduction_is_refused():
    with pytest.raises(HaibalValueError, match="reduction"):
        losses.SparseCategoricalCrossentropy(reduction="average")


def test_loss_ignore_class_is_excluded_from_the_mean():
    # measured in Keras 3.15 (TensorFlow backend): 0.36698452, the mean over the 2 valid samples
    loss = losses.SparseCategoricalCrossentropy(ignore_class=0)
    value = loss(QUIRK_TRUE, QUIRK_PRED)
    assert value.dtype == np.float32
    assert value == pytest.approx(0.36698452, rel=1e-6)
    assert value == pytest.approx((math.log(1 / 0.8) + math.log(1 / 0.6)) / 2, rel=1e-6)
    assert loss(QUIRK_TRUE, QUIRK_PRED, sample_weight=[5.0, 1.0, 1.0]) == pytest.approx(0.36698452, rel=1e-6)
    summed = losses.SparseCategoricalCrossentropy(ignore_class=0, reduction="sum")(QUIRK_TRUE, QUIRK_PRED)
    assert summed == pytest.approx(2 * 0.36698452, rel=1e-6)
    weighted = losses.SparseCategoricalCrossentropy(ignore_class=0, reduction="mean_with_sample_weight")
    w = [5.0, 1.0, 3.0]
    assert weighted(QUIRK_TRUE, QUIRK_PRED, sample_weight=w) == pytest.approx(
        (math.log(1 / 0.8) + 3 * math.log(1 / 0.6)) / 4, rel=1e-6)
    none = losses.SparseCategoricalCrossentropy(ignore_class=0, reduction="none")(QUIRK_TRUE, QUIRK_PRED)
    np.testing.assert_allclose(none, [0.0, math.log(1 / 0.8), math.log(1 / 0.6)], rtol=1e-6)


def test_loss_all_ignored_gives_zero():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=1)
    assert loss([1, 1], DOC_PRED) == 0.0


def test_loss_from_logits_and_axis_are_passed_through():
    z = np.log(DOC_PRED + 1e-3)
    expected = losses.sparse_categorical_crossentropy(DOC_TRUE, z, from_logits=True).mean()
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(DOC_TRUE, z) == pytest.approx(expected, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy(from_logits=True, axis=0)(DOC_TRUE, z.T) == pytest.approx(
        expected, rel=1e-12)
    assert losses.SparseCategoricalCrossentropy(from_logits=True).get_config()["from_logits"] is True


# ---------------------------------------------------------------- the stateful metric
def test_metric_across_batches_update_result_reset():
    m = metrics.SparseCategoricalCrossentropy()
    assert m.result() == 0.0
    m.update_state([1], DOC_PRED[:1])
    assert m.result() == pytest.approx(L0, rel=1e-12)
    m.update_state([2], DOC_PRED[1:])
    assert m.result() == pytest.approx((L0 + L1) / 2, rel=1e-12)
    m.update_state(DOC_TRUE, DOC_PRED, sample_weight=[0.0, 2.0])
    assert m.result() == pytest.approx((L0 + L1 + 2 * L1) / 4, rel=1e-12)
    m.reset_state()
    assert m.result() == 0.0
    assert m(DOC_TRUE, DOC_PRED) == pytest.approx((L0 + L1) / 2, rel=1e-12)


def test_metric_ignore_class_quirk_measured_in_keras():
    # without sample_weight the metric averages the ignored sample as a 0 (divides by 3)
    m = metrics.SparseCategoricalCrossentropy(ignore_class=0)
    m.update_state(QUIRK_TRUE, QUIRK_PRED)
    assert m.result() == pytest.approx(0.24465637, rel=1e-6)
    assert losses.SparseCategoricalCrossentropy(ignore_class=0)(QUIRK_TRUE, QUIRK_PRED) == pytest.approx(
        0.36698452, rel=1e-6)
    # with sample_weight, ignored positions get weight 0
    m.reset_state()
    m.update_state(QUIRK_TRUE, QUIRK_PRED, sample_weight=[1.0, 1.0, 1.0])
    assert m.result() == pytest.approx(0.36698452, rel=1e-6)


def test_metric_on_segmentation_maps_averages_per_sample():
    rng = np.random.default_rng(1)
    pred = rng.random((4, 3, 5, 6))
    labels = rng.integers(0, 6, (4, 3, 5))
    per_pos = losses.sparse_categorical_crossentropy(labels, pred)
    m = metrics.SparseCategoricalCrossentropy()
    m.update_state(labels[:1], pred[:1])
    m.update_state(labels[1:], pred[1:])
    assert m.result() == pytest.approx(per_pos.mean(), rel=1e-12)
    w = np.array([1.0, 2.0, 0.0, 1.0])
    m.reset_state()
    m.update_state(labels, pred, sample_weight=w)
    assert m.result() == pytest.approx((per_pos.mean(axis=(1, 2)) * w).sum() / w.sum(), rel=1e-12)
    # per-sample weights with ignored positions: those positions get weight 0
    labels[0, 0, :2] = labels[3, 1, 1] = 255
    per_pos = losses.sparse_categorical_crossentropy(labels, pred, ignore_class=255)
    valid = labels != 255
    m = metrics.SparseCategoricalCrossentropy(ignore_class=255)
    m.update_state(labels, pred, sample_weight=w)
    expected = (w[:, None, None] * per_pos).sum() / (w[:, None, None] * valid).sum()
    assert m.result() == pytest.approx(expected, rel=1e-12)


@st.composite
def _batches(draw):
    n = draw(st.integers(1, 40))
    num_classes = draw(st.integers(2, 9))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    cuts = sorted(draw(st.lists(st.integers(1, n - 1), max_size=6, unique=True))) if n > 1 else []
    weighted = draw(st.booleans())
    from_logits = draw(st.booleans())
    ignore = draw(st.sampled_from([None, 0]))
    return n, num_classes, seed, cuts, weighted, from_logits, ignore


@settings(max_examples=100, deadline=None)
@given(_batches())
def test_metric_over_any_split_equals_metric_over_the_concatenation(case):
    n, num_classes, seed, cuts, weighted, from_logits, ignore = case
    rng = np.random.default_rng(seed)
    pred = rng.random((n, 2, num_classes)).astype(np.float32)
    labels = rng.integers(0, num_classes, (n, 2))
    weights = rng.random(n) if weighted else None
    whole = metrics.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore)
    whole.update_state(labels, pred, sample_weight=weights)
    split = metrics.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore)
    for a, b in zip([0, *cuts], [*cuts, n]):
        split.update_state(labels[a:b], pred[a:b], sample_weight=None if weights is None else weights[a:b])
    # float32 losses: row sums may round differently in another batch (BLAS), by an ulp at most
    assert split.result() == pytest.approx(whole.result(), rel=2e-6, abs=1e-7)
    assert split.result() >= 0
