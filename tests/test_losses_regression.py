"""Regression losses: Keras documentation values, hand-derived float64 values, dtypes, edge cases."""

import math

import numpy as np
import pytest

from haibal_py import HaibalValueError, losses

F32, F64 = np.float32, np.float64


def arr(x, dt):
    return np.asarray(x, dtype=dt)


# -- values from the Keras documentation --------------------------------------------------

def test_cosine_similarity_keras_doc_example():
    y_true = [[0., 1.], [1., 1.], [1., 1.]]
    y_pred = [[1., 0.], [1., 1.], [-1., -1.]]
    loss = losses.cosine_similarity(y_true, y_pred, axis=-1)
    assert loss.dtype == F32
    np.testing.assert_array_equal(loss, np.array([-0., -0.99999994, 0.99999994], dtype=F32))


def test_huber_keras_doc_example():
    loss = losses.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert float(np.mean(loss)) == pytest.approx(0.155, abs=5e-7)


def test_log_cosh_keras_doc_example():
    loss = losses.log_cosh([[0., 1.], [0., 0.]], [[1., 1.], [0., 0.]])
    assert float(np.mean(loss)) == pytest.approx(0.108, abs=5e-4)
    assert float(loss[0]) == pytest.approx(math.log(math.cosh(1.0)) / 2, rel=1e-6)


# -- hand-derived float64 values ----------------------------------------------------------

Y_TRUE = [[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]]
Y_PRED = [[2.0, 2.0, 5.0], [0.0, 1.0, 1.0]]


def test_mean_squared_error_float64():
    got = losses.mean_squared_error(arr(Y_TRUE, F64), arr(Y_PRED, F64))
    # row 0: (1 + 0 + 4) / 3; row 1: (0.25 + 4 + 9) / 3
    assert got.dtype == F64
    np.testing.assert_allclose(got, [5 / 3, 13.25 / 3], rtol=1e-15)


def test_mean_absolute_error_float64():
    got = losses.mean_absolute_error(arr(Y_TRUE, F64), arr(Y_PRED, F64))
    np.testing.assert_allclose(got, [3 / 3, (0.5 + 2 + 3) / 3], rtol=1e-15)


def test_mean_absolute_percentage_error_float64():
    got = losses.mean_absolute_percentage_error(arr(Y_TRUE, F64), arr(Y_PRED, F64))
    row0 = 100 * (1 / 1 + 0 / 2 + 2 / 3) / 3
    row1 = 100 * (0.5 / 0.5 + 2 / 1 + 3 / 4) / 3
    np.testing.assert_allclose(got, [row0, row1], rtol=1e-14)


def test_mean_absolute_percentage_error_divides_by_epsilon_for_zero_targets():
    got = losses.mean_absolute_percentage_error(arr([[0.0]], F64), arr([[1e-3]], F64))
    np.testing.assert_allclose(got, [100 * 1e-3 / 1e-7], rtol=1e-12)


def test_mean_squared_logarithmic_error_float64():
    got = losses.mean_squared_logarithmic_error(arr([[1.0, 3.0]], F64), arr([[0.0, 7.0]], F64))
    # log(1 + max(0, 1e-7)) - log(2), log(8) - log(4)
    expected = ((math.log1p(1e-7) - math.log(2)) ** 2 + math.log(2) ** 2) / 2
    np.testing.assert_allclose(got, [expected], rtol=1e-14)


def test_huber_float64_both_branches_and_delta():
    got = losses.huber(arr([[0.0, 0.0, 0.0]], F64), arr([[0.5, -2.0, 3.0]], F64), delta=1.0)
    expected = (0.5 * 0.25 + (2.0 - 0.5) + (3.0 - 0.5)) / 3
    np.testing.assert_allclose(got, [expected], rtol=1e-15)
    got = losses.huber(arr([[0.0, 0.0]], F64), arr([[0.5, -2.0]], F64), delta=2.5)
    np.testing.assert_allclose(got, [(0.125 + 2.0) / 2], rtol=1e-15)


def test_huber_rejects_negative_delta():
    with pytest.raises(HaibalValueError, match="delta"):
        losses.huber([[0.0]], [[1.0]], delta=-1.0)


@pytest.mark.parametrize("x", [1e-8, 1e-4, 0.3, 1.0, 5.0, 20.0, 80.0, 400.0])
def test_log_cosh_float64_small_and_large_errors(x):
    expected = abs(x) - math.log(2) + math.log1p(math.exp(-2 * abs(x))) if x > 20 else math.log(math.cosh(x))
    if x < 1e-3:
        expected = x * x / 2 - x ** 4 / 12
    got = losses.log_cosh(arr([[0.0, 0.0]], F64), arr([[x, -x]], F64))
    np.testing.assert_allclose(got, [expected], rtol=4e-15)


def test_log_cosh_float32_overflow_region_is_finite():
    got = losses.log_cosh(arr([[0.0]], F32), arr([[100.0]], F32))
    np.testing.assert_allclose(got, [100 - math.log(2)], rtol=1e-7)


def test_cosine_similarity_float64_and_axis():
    t = arr([[3.0, 4.0], [1.0, 0.0]], F64)
    p = arr([[4.0, 3.0], [0.0, 2.0]], F64)
    np.testing.assert_allclose(losses.cosine_similarity(t, p), [-24 / 25, 0.0], atol=1e-16)
    # along axis 0: columns (3, 1)·(4, 0) and (4, 0)·(3, 2)
    col0 = -(12) / (math.sqrt(10) * 4)
    col1 = -(12) / (4 * math.sqrt(13))
    np.testing.assert_allclose(losses.cosine_similarity(t, p, axis=0), [col0, col1], rtol=1e-15)


def test_cosine_similarity_of_zero_vectors_is_zero():
    got = losses.cosine_similarity(arr([[0.0, 0.0], [1.0, 2.0]], F32), arr([[1.0, 2.0], [0.0, 0.0]], F32))
    np.testing.assert_array_equal(got, [0.0, 0.0])
    assert not np.isnan(got).any()


# -- dtypes, shapes, edge cases -----------------------------------------------------------

REGRESSION = [losses.mean_squared_error, losses.mean_absolute_error, losses.mean_absolute_percentage_error,
              losses.mean_squared_logarithmic_error, losses.cosine_similarity, losses.huber, losses.log_cosh]


@pytest.mark.parametrize("fn", REGRESSION)
@pytest.mark.parametrize("dt", [F32, F64])
def test_dtype_is_kept_and_float32_agrees_with_float64(fn, dt):
    rng = np.random.default_rng(3)
    t = rng.random((5, 4)) + 0.1
    p = rng.random((5, 4)) + 0.1
    got = fn(t.astype(dt), p.astype(dt))
    assert got.dtype == dt and got.shape == (5,)
    np.testing.assert_allclose(got, fn(t, p), rtol=2e-6 if dt == F32 else 0, atol=1e-7 if dt == F32 else 0)


@pytest.mark.parametrize("fn", REGRESSION)
def test_integer_inputs_give_float32(fn):
    assert fn([[1, 2], [3, 4]], [[1, 3], [2, 4]]).dtype == F32


@pytest.mark.parametrize("fn", REGRESSION)
def test_shape_mismatch_is_a_clear_error(fn):
    with pytest.raises(HaibalValueError, match=r"y_true shape \(2, 3\) does not match y_pred shape \(2, 4\)"):
        fn(np.zeros((2, 3)), np.zeros((2, 4)))


@pytest.mark.parametrize("fn", REGRESSION)
def test_nan_propagates_to_its_sample_only(fn):
    t = np.ones((3, 2))
    p = np.full((3, 2), 2.0)
    p[1, 0] = np.nan
    got = fn(t, p)
    assert np.isnan(got[1]) and np.isfinite(got[[0, 2]]).all()


@pytest.mark.parametrize("fn", REGRESSION)
def test_empty_batch_gives_empty_result(fn):
    got = fn(np.zeros((0, 3), F32), np.zeros((0, 3), F32))
    assert got.shape == (0,) and got.dtype == F32


def test_trailing_size_one_axis_is_squeezed_as_keras():
    got = losses.mean_squared_error(np.array([[1.0], [2.0]]), np.array([1.5, 2.0]))
    np.testing.assert_allclose(got, [0.25, 0.0])


def test_higher_rank_reduces_the_last_axis():
    got = losses.mean_absolute_error(np.zeros((2, 3, 4)), np.ones((2, 3, 4)))
    assert got.shape == (2, 3) and (got == 1).all()


def test_scalar_inputs_are_refused():
    with pytest.raises(HaibalValueError, match="at least 1 dimension"):
        losses.mean_squared_error(1.0, 2.0)


def test_ragged_and_non_numeric_inputs_are_refused():
    with pytest.raises(HaibalValueError, match="y_pred"):
        losses.mean_squared_error([[1.0]], [[1.0, 2.0], [3.0]])
    with pytest.raises(HaibalValueError, match="y_true must be numeric"):
        losses.mean_squared_error([["a"]], [[1.0]])


def test_large_inputs_split_in_tiles_and_threads_agree_with_direct_formula():
    rng = np.random.default_rng(7)
    t = rng.standard_normal((3000, 1000), dtype=F32)
    p = rng.standard_normal((3000, 1000), dtype=F32)
    got = losses.mean_squared_error(t, p)
    expected = ((t.astype(F64) - p.astype(F64)) ** 2).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=2e-6)


def test_aliases_are_the_functions():
    assert losses.mse is losses.MSE is losses.mean_squared_error
    assert losses.mae is losses.MAE is losses.mean_absolute_error
    assert losses.mape is losses.MAPE is losses.mean_absolute_percentage_error
    assert losses.msle is losses.MSLE is losses.mean_squared_logarithmic_error
    assert losses.logcosh is losses.log_cosh


def test_float16_is_computed_in_float32_and_returned_as_float16():
    t = np.array([[0.5, 1.5]], np.float16)
    p = np.array([[1.0, 1.0]], np.float16)
    got = losses.mean_squared_error(t, p)
    assert got.dtype == np.float16 and float(got[0]) == 0.25
    from haibal_py import activations
    assert activations.sigmoid(np.zeros(2, np.float16)).dtype == np.float16
