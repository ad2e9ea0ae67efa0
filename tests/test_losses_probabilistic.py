"""Crossentropies, KL divergence and Poisson: Keras documentation values, hand-derived values, edges."""

import math

import numpy as np
import pytest

from haibal_py import HaibalValueError, losses

F32, F64 = np.float32, np.float64
EPS = 1e-7


def log_sigmoid(x):
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


# -- values from the Keras documentation --------------------------------------------------

def test_binary_crossentropy_keras_doc_example():
    loss = losses.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    assert loss.dtype == F32
    np.testing.assert_allclose(loss, [0.916, 0.714], atol=5e-4)


def test_binary_crossentropy_from_logits_keras_doc_example():
    y_true = np.array([[0, 1], [0, 0]])
    y_pred = np.array([[-18.6, 0.51], [2.94, -12.8]])
    loss = losses.binary_crossentropy(y_true, y_pred, from_logits=True)
    np.testing.assert_allclose(loss, [0.235, 1.496], atol=5e-4)
    assert float(np.mean(loss)) == pytest.approx(0.8654, abs=1e-4)


def test_binary_focal_crossentropy_keras_doc_example():
    loss = losses.binary_focal_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], gamma=2)
    np.testing.assert_allclose(loss, [0.330, 0.206], atol=5e-4)


@pytest.mark.parametrize("balance, expected", [(False, 0.691), (True, 0.51)])
def test_binary_focal_crossentropy_from_logits_keras_doc_example(balance, expected):
    y_true = np.array([0, 1, 0, 0])
    y_pred = np.array([-18.6, 0.51, 2.94, -12.8])
    loss = losses.binary_focal_crossentropy(y_true, y_pred, gamma=2, from_logits=True,
                                            apply_class_balancing=balance)
    assert float(loss) == pytest.approx(expected, abs=5e-3)


def test_categorical_crossentropy_keras_doc_example():
    loss = losses.categorical_crossentropy([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert loss.shape == (2,) and loss.dtype == F32
    np.testing.assert_allclose(loss, [0.0513, 2.303], atol=5e-4)


def test_categorical_focal_crossentropy_keras_doc_example():
    loss = losses.categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]], [[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]])
    np.testing.assert_allclose(loss, np.array([2.63401289e-04, 6.75912094e-01], F32), rtol=1e-6)


# -- hand-derived float64 values ----------------------------------------------------------

def test_binary_crossentropy_float64_clips_to_epsilon():
    t = np.array([[1.0, 0.0, 1.0, 0.0]])
    p = np.array([[0.8, 0.3, 1.0, 0.0]])  # the last two are clipped to 1 - 1e-7 and 1e-7
    expected = -(math.log(0.8) + math.log(0.7) + 2 * math.log(1 - EPS)) / 4
    np.testing.assert_allclose(losses.binary_crossentropy(t, p), [expected], rtol=1e-14)


def test_binary_crossentropy_at_wrong_certainty_is_bounded_by_the_clip():
    got = losses.binary_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    # p = 0 is clipped to 1e-7; p = 1 to 1 - 1e-7, whose complement is 1e-7 up to the rounding of 1 - 1e-7
    expected = (-math.log(EPS) - math.log(1 - (1 - EPS))) / 2
    np.testing.assert_allclose(got, [expected], rtol=1e-14)
    assert np.isfinite(got).all()


def test_binary_crossentropy_from_logits_float64_is_stable_for_huge_logits():
    t = np.array([[1.0, 0.0, 1.0, 0.0]])
    x = np.array([[800.0, -800.0, -800.0, 2.0]])
    expected = (0.0 + 0.0 + 800.0 + (2.0 - log_sigmoid(2.0) - 2.0 + 0.0) * 1) / 4
    # element 4: max(2, 0) - 2*0 + log1p(exp(-2)) = softplus(2) = -log_sigmoid(-2)
    expected = (0.0 + 0.0 + 800.0 - log_sigmoid(-2.0)) / 4
    np.testing.assert_allclose(losses.binary_crossentropy(t, x, from_logits=True), [expected], rtol=1e-15)


def test_binary_crossentropy_label_smoothing_and_axis():
    t = np.array([[1.0, 0.0]])
    p = np.array([[0.9, 0.2]])
    ls = 0.2  # labels become 0.9 and 0.1
    e1 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    e2 = -(0.1 * math.log(0.2) + 0.9 * math.log(0.8))
    np.testing.assert_allclose(losses.binary_crossentropy(t, p, label_smoothing=ls), [(e1 + e2) / 2], rtol=1e-14)
    np.testing.assert_allclose(losses.binary_crossentropy(t.T, p.T, label_smoothing=ls, axis=0),
                               [(e1 + e2) / 2], rtol=1e-14)


def test_binary_focal_crossentropy_float64():
    t = np.array([[1.0, 0.0]])
    p = np.array([[0.7, 0.4]])
    gamma, alpha = 3.0, 0.3
    # class 1: (1 - 0.7)^g * -log 0.7 * alpha; class 0: (0.4)^g * -log 0.6 * (1 - alpha)
    e1 = 0.3 ** gamma * -math.log(0.7) * alpha
    e2 = 0.4 ** gamma * -math.log(0.6) * (1 - alpha)
    got = losses.binary_focal_crossentropy(t, p, apply_class_balancing=True, alpha=alpha, gamma=gamma)
    np.testing.assert_allclose(got, [(e1 + e2) / 2], rtol=1e-14)
    plain = losses.binary_focal_crossentropy(t, p, gamma=0.0)
    np.testing.assert_allclose(plain, losses.binary_crossentropy(t, p), rtol=1e-15)


def test_categorical_crossentropy_float64_divides_by_the_sum():
    t = np.array([[0.0, 1.0, 0.0]])
    p = np.array([[1.0, 2.0, 1.0]])  # not normalised: 2 / 4
    np.testing.assert_allclose(losses.categorical_crossentropy(t, p), [-math.log(0.5)], rtol=1e-15)


def test_categorical_crossentropy_perfect_prediction_is_the_clip():
    got32 = losses.categorical_crossentropy(np.array([[1, 0, 0]], F32), np.array([[1, 0, 0]], F32))
    assert got32[0] == -np.log(F32(1) - F32(EPS))
    got64 = losses.categorical_crossentropy(np.array([[1.0, 0, 0]]), np.array([[1.0, 0, 0]]))
    np.testing.assert_allclose(got64, [-math.log1p(-EPS)], rtol=1e-9)


def test_categorical_crossentropy_zero_probability_on_the_true_class_is_bounded():
    got = losses.categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(got, [-math.log(EPS)], rtol=1e-12)


def test_categorical_crossentropy_from_logits_float64():
    t = np.array([[0.0, 0.0, 1.0], [0.2, 0.8, 0.0]])
    x = np.array([[1.0, 2.0, 3.0], [1000.0, -1000.0, 0.0]])
    lse0 = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    row0 = lse0 - 3.0
    row1 = 0.2 * 0.0 + 0.8 * 2000.0  # logsumexp = 1000 (the others underflow)
    np.testing.assert_allclose(losses.categorical_crossentropy(t, x, from_logits=True), [row0, row1], rtol=1e-15)


def test_categorical_crossentropy_label_smoothing_and_axis():
    t = np.array([[0.0, 1.0, 0.0, 0.0]])
    p = np.array([[0.1, 0.6, 0.2, 0.1]])
    ls = 0.4  # target 0.6 + 0.1, others 0.1
    expected = -(0.1 * math.log(0.1) + 0.7 * math.log(0.6) + 0.1 * math.log(0.2) + 0.1 * math.log(0.1))
    np.testing.assert_allclose(losses.categorical_crossentropy(t, p, label_smoothing=ls), [expected], rtol=1e-14)
    # class axis first: (classes, samples)
    t3, p3 = np.repeat(t.T, 2, axis=1), np.repeat(p.T, 2, axis=1)
    np.testing.assert_allclose(losses.categorical_crossentropy(t3, p3, label_smoothing=ls, axis=0),
                               [expected, expected], rtol=1e-14)


def test_categorical_focal_crossentropy_float64_with_per_class_alpha():
    t = np.array([[0.0, 1.0]])
    p = np.array([[0.25, 0.75]])
    alpha = [0.1, 0.9]
    expected = 0.9 * 0.25 ** 2 * -math.log(0.75)
    got = losses.categorical_focal_crossentropy(t, p, alpha=alpha)
    np.testing.assert_allclose(got, [expected], rtol=1e-14)
    with pytest.raises(HaibalValueError, match="alpha"):
        losses.categorical_focal_crossentropy(t, p, alpha=[0.1, 0.2, 0.7])


def test_categorical_focal_crossentropy_from_logits_is_focal_of_softmax():
    x = np.array([[0.5, -1.0, 2.0]])
    t = np.array([[1.0, 0.0, 0.0]])
    s = np.exp(x) / np.exp(x).sum()
    got = losses.categorical_focal_crossentropy(t, x, from_logits=True, gamma=1.5)
    np.testing.assert_allclose(got, [0.25 * (1 - s[0, 0]) ** 1.5 * -math.log(s[0, 0])], rtol=1e-14)


def test_kl_divergence_float64_clips_to_epsilon_and_one():
    t = np.array([[0.5, 0.5, 0.0]])
    p = np.array([[0.25, 0.75, 0.0]])
    expected = 0.5 * math.log(2) + 0.5 * math.log(0.5 / 0.75) + EPS * math.log(1.0)
    np.testing.assert_allclose(losses.kl_divergence(t, p), [expected], rtol=1e-14)
    assert losses.kld is losses.KLD is losses.kullback_leibler_divergence is losses.kl_divergence


def test_poisson_float64():
    t = np.array([[2.0, 0.0]])
    p = np.array([[1.5, 0.5]])
    expected = ((1.5 - 2 * math.log(1.5 + EPS)) + 0.5) / 2
    np.testing.assert_allclose(losses.poisson(t, p), [expected], rtol=1e-14)


# -- dtypes, errors, edge cases -----------------------------------------------------------

PROBS = [
    (losses.binary_crossentropy, {}), (losses.binary_crossentropy, {"from_logits": True}),
    (losses.binary_focal_crossentropy, {}), (losses.binary_focal_crossentropy, {"from_logits": True}),
    (losses.categorical_crossentropy, {}), (losses.categorical_crossentropy, {"from_logits": True}),
    (losses.categorical_focal_crossentropy, {}), (losses.categorical_focal_crossentropy, {"from_logits": True}),
    (losses.kl_divergence, {}), (losses.poisson, {}),
]


@pytest.mark.parametrize("fn, kw", PROBS)
@pytest.mark.parametrize("dt", [F32, F64])
def test_dtype_kept_and_float32_agrees_with_float64(fn, kw, dt):
    rng = np.random.default_rng(5)
    t = np.eye(4)[rng.integers(0, 4, 6)]
    p = rng.random((6, 4)) * 0.9 + 0.05
    got = fn(t.astype(dt), p.astype(dt), **kw)
    assert got.dtype == dt and got.shape == (6,)
    np.testing.assert_allclose(got, fn(t, p, **kw), rtol=3e-6 if dt == F32 else 0)


@pytest.mark.parametrize("fn, kw", PROBS)
def test_probabilities_at_zero_and_one_give_finite_losses(fn, kw):
    t = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    got = fn(t, p, **kw)
    assert np.isfinite(got).all() and (got >= 0).all()


@pytest.mark.parametrize("fn, kw", PROBS)
def test_nan_propagates(fn, kw):
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[np.nan, 0.5], [0.3, 0.7]])
    got = fn(t, p, **kw)
    assert np.isnan(got[0]) and np.isfinite(got[1])


@pytest.mark.parametrize("fn, kw", PROBS)
def test_shape_mismatch_names_both_shapes(fn, kw):
    with pytest.raises(HaibalValueError, match=r"\(3, 2\).*\(3, 4\)"):
        fn(np.zeros((3, 2)), np.zeros((3, 4)), **kw)


@pytest.mark.parametrize("fn, kw", PROBS)
def test_empty_batch(fn, kw):
    got = fn(np.zeros((0, 3), F32), np.zeros((0, 3), F32), **kw)
    assert got.shape == (0,) and got.dtype == F32


@pytest.mark.parametrize("fn", [losses.binary_crossentropy, losses.categorical_crossentropy,
                                losses.binary_focal_crossentropy, losses.categorical_focal_crossentropy])
def test_bad_parameters_are_clear_errors(fn):
    with pytest.raises(HaibalValueError, match="label_smoothing"):
        fn([[0.0, 1.0]], [[0.5, 0.5]], label_smoothing=1.5)
    with pytest.raises(HaibalValueError, match="axis"):
        fn([[0.0, 1.0]], [[0.5, 0.5]], axis=True)
    with pytest.raises(HaibalValueError, match="axis=2 is out of range"):
        fn([[0.0, 1.0]], [[0.5, 0.5]], axis=2)


def test_single_class_categorical_crossentropy_warns():
    with pytest.warns(UserWarning, match="single class"):
        losses.categorical_crossentropy([[1.0]], [[1.0]])


def test_large_input_matches_direct_formula():
    rng = np.random.default_rng(11)
    t = (rng.random((2500, 1000)) < 0.3).astype(F32)
    p = rng.random((2500, 1000), dtype=F32)
    got = losses.binary_crossentropy(t, p)
    c = np.clip(p.astype(F64), EPS, 1 - EPS)
    expected = -(t * np.log(c) + (1 - t) * np.log(1 - c)).mean(axis=1)
    np.testing.assert_allclose(got, expected, rtol=3e-6)
