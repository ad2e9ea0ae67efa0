"""Regularizers: Keras' penalties and defaults, their gradients (central differences), configs, ``get``."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py import regularizers
from haibal_py.errors import HaibalValueError

from gradcheck import numeric_gradient


W = np.array([[0.5, -1.5, 2.0], [-0.25, 0.75, -3.0]])


def test_keras_defaults_and_penalties():
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert float(regularizers.L1(0.1)(W)) == pytest.approx(0.1 * 8.0)
    assert float(regularizers.L2(0.1)(W)) == pytest.approx(0.1 * (0.25 + 2.25 + 4 + 0.0625 + 0.5625 + 9))
    assert float(regularizers.L1L2(0.1, 0.2)(W)) == pytest.approx(0.8 + 0.2 * 16.125)
    assert float(regularizers.L1L2()(W)) == 0.0
    assert regularizers.L1(None).l1 == 0.01  # Keras: None means the default


def test_penalty_keeps_the_weight_dtype():
    assert regularizers.L2()(W.astype(np.float32)).dtype == np.float32
    assert regularizers.L1L2(0.1, 0.1)(W).dtype == np.float64


@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.3), regularizers.L1L2(0.2, 0.7),
                                 regularizers.OrthogonalRegularizer(0.5, "rows"),
                                 regularizers.OrthogonalRegularizer(0.5, "columns")])
def test_gradients_match_central_differences(reg):
    w = np.random.default_rng(0).normal(size=(4, 3))
    x = w.copy()
    np.testing.assert_allclose(reg.gradient(w), numeric_gradient(lambda: float(reg(x)), x, 1e-6), rtol=1e-6, atol=1e-8)


def test_l1_gradient_at_zero_is_zero():
    assert np.array_equal(regularizers.L1(1.0).gradient(np.zeros(3)), np.zeros(3))


def test_orthogonal_regularizer_matches_keras_formula_on_a_hand_case():
    # rows (1, 0) and (1, 1)/sqrt2: one off-diagonal cosine 1/sqrt2, counted twice, over 2*1
    w = np.array([[2.0, 0.0], [1.0, 1.0]])
    assert float(regularizers.OrthogonalRegularizer(1.0)(w)) == pytest.approx(2 * (1 / np.sqrt(2)) / 2)
    with pytest.raises(HaibalValueError, match="2-D"):
        regularizers.OrthogonalRegularizer()(np.ones(3))
    with pytest.raises(HaibalValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diag")


def test_bad_factors_are_refused_with_their_name():
    for bad in (-0.1, float("nan"), "a"):
        with pytest.raises(HaibalValueError, match="l2 must be a non-negative float"):
            regularizers.L2(bad)


def test_get_names_configs_instances_functions():
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("L2"), regularizers.L2)
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert regularizers.l1 is regularizers.L1 and regularizers.l1_l2 is regularizers.L1L2
    r = regularizers.L2(0.5)
    assert regularizers.get(r) is r
    again = regularizers.get(regularizers.serialize(regularizers.L1L2(0.1, 0.2)))
    assert again.get_config() == {"l1": 0.1, "l2": 0.2}
    fn = regularizers.get(lambda w: 2.0 * np.sum(w))
    assert fn(np.ones(3)) == 6.0
    with pytest.raises(HaibalValueError, match="plain function.*gradient"):
        fn.gradient(np.ones(3))
    with pytest.raises(HaibalValueError, match="unknown regularizer 'l3'"):
        regularizers.get("l3")
