"""Hinge, Dice and Tversky losses: Keras documentation values, hand-derived values, edge cases."""

import numpy as np
import pytest

from haibal_py import HaibalValueError, losses

F32, F64 = np.float32, np.float64
EPS = 1e-7

# Keras' Dice documentation example: two 2x2x1 masks
DICE_TRUE = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
DICE_PRED = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]


def test_dice_keras_doc_example():
    per_sample = losses.dice(DICE_TRUE, DICE_PRED, axis=(1, 2, 3))
    assert per_sample.shape == (2,) and per_sample.dtype == F32
    np.testing.assert_allclose(per_sample, np.array([0.5, 0.75757575], F32), rtol=1e-7)
    overall = losses.dice(DICE_TRUE, DICE_PRED)
    assert overall.shape == ()
    np.testing.assert_allclose(overall, F32(0.6164384), rtol=1e-7)
    cls = losses.Dice(axis=(1, 2, 3), reduction=None)(np.array(DICE_TRUE), np.array(DICE_PRED))
    np.testing.assert_allclose(cls, [0.5, 0.75757575], rtol=1e-7)


def test_dice_float64_by_hand():
    t = np.array([[1.0, 0.0, 1.0]])
    p = np.array([[0.5, 0.5, 1.0]])
    expected = 1 - 2 * 1.5 / (2.0 + 2.0 + EPS)
    np.testing.assert_allclose(losses.dice(t, p), expected, rtol=1e-15)
    np.testing.assert_allclose(losses.dice(t, p, axis=1), [expected], rtol=1e-15)
    np.testing.assert_allclose(losses.dice(t, p, axis=-1), [expected], rtol=1e-15)


def test_dice_of_empty_masks_is_one_not_nan():
    got = losses.dice(np.zeros((2, 3)), np.zeros((2, 3)), axis=1)
    np.testing.assert_array_equal(got, [1.0, 1.0])


def test_tversky_float64_by_hand_and_dice_equivalence():
    t = np.array([[1.0, 1.0, 0.0, 0.0]])
    p = np.array([[0.9, 0.2, 0.6, 0.0]])
    tp = 0.9 + 0.2
    missed = (1 - 0.9) + (1 - 0.2)  # false negatives, sum((1 - p) * t)
    spurious = 0.6  # false positives, sum(p * (1 - t))
    a, b = 0.7, 0.3
    # alpha weighs the false positives, beta the false negatives (Keras' fix #23333, after 3.15.1)
    expected = 1 - tp / (tp + a * spurious + b * missed + EPS)
    np.testing.assert_allclose(losses.tversky(t, p, alpha=a, beta=b), expected, rtol=1e-14)
    np.testing.assert_allclose(losses.tversky(t, p), losses.dice(t, p), rtol=1e-7)


def test_dice_and_tversky_axis_errors():
    with pytest.raises(HaibalValueError, match="axis=3 is out of range"):
        losses.dice(np.zeros((2, 3)), np.zeros((2, 3)), axis=3)
    with pytest.raises(HaibalValueError, match="same axis twice"):
        losses.tversky(np.zeros((2, 3)), np.zeros((2, 3)), axis=(1, -1))
    with pytest.raises(HaibalValueError, match="does not match"):
        losses.dice(np.zeros((2, 3)), np.zeros((3, 2)))


def test_dice_over_a_long_row_is_split_in_chunks_and_still_exact():
    rng = np.random.default_rng(2)
    t = (rng.random(300_000) < 0.2).astype(F64)
    p = rng.random(300_000)
    expected = 1 - 2 * np.dot(t, p) / (t.sum() + p.sum() + EPS)
    np.testing.assert_allclose(losses.dice(t, p), expected, rtol=1e-13)


def test_dice_nan_propagates():
    assert np.isnan(losses.dice([[1.0, np.nan]], [[1.0, 0.0]]))


def test_hinge_float64_with_minus_one_one_labels():
    t = np.array([[1.0, -1.0, 1.0]])
    p = np.array([[0.3, 0.5, 2.0]])
    expected = (0.7 + 1.5 + 0.0) / 3
    np.testing.assert_allclose(losses.hinge(t, p), [expected], rtol=1e-15)
    np.testing.assert_allclose(losses.squared_hinge(t, p), [(0.49 + 2.25) / 3], rtol=1e-15)


def test_hinge_converts_binary_labels_only_when_all_are_binary():
    p = np.array([[0.3, 0.5]])
    np.testing.assert_allclose(losses.hinge(np.array([[1.0, 0.0]]), p), [(0.7 + 1.5) / 2], rtol=1e-15)
    # a 2 among the labels: no conversion, 0 stays 0
    np.testing.assert_allclose(losses.hinge(np.array([[2.0, 0.0]]), p), [(0.4 + 1.0) / 2], rtol=1e-15)


def test_categorical_hinge_float64():
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[0.2, 0.5, 0.3], [0.9, 0.1, 0.0]])
    # pos = 0.5, neg = 0.3 -> 0.8; pos = 0.9, neg = 0.1 -> 0.2
    np.testing.assert_allclose(losses.categorical_hinge(t, p), [0.8, 0.2], rtol=1e-15)


@pytest.mark.parametrize("fn", [losses.hinge, losses.squared_hinge, losses.categorical_hinge,
                                losses.dice, losses.tversky])
@pytest.mark.parametrize("dt", [F32, F64])
def test_dtypes(fn, dt):
    rng = np.random.default_rng(1)
    t = (rng.random((4, 5)) < 0.5).astype(dt)
    p = rng.random((4, 5)).astype(dt)
    got = fn(t, p)
    assert got.dtype == dt
    np.testing.assert_allclose(got, fn(t.astype(F64), p.astype(F64)), rtol=2e-6 if dt == F32 else 0)


@pytest.mark.parametrize("fn", [losses.hinge, losses.squared_hinge, losses.categorical_hinge])
def test_hinge_family_edges(fn):
    with pytest.raises(HaibalValueError, match="does not match"):
        fn(np.zeros((2, 3)), np.zeros((2, 2)))
    assert fn(np.zeros((0, 3), F32), np.zeros((0, 3), F32)).shape == (0,)
    got = fn(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[np.nan, 0.0], [0.1, 0.9]]))
    assert np.isnan(got[0]) and np.isfinite(got[1])
