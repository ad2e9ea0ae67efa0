"""Loss classes (reductions, sample_weight, Keras constructors), ``get``, and hypothesis properties."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from haibal_py import HaibalValueError, losses

F32, F64 = np.float32, np.float64

# class name -> (function, Keras' default name, Keras' constructor options with defaults)
CLASSES = {
    "MeanSquaredError": (losses.mean_squared_error, "mean_squared_error", {}),
    "MeanAbsoluteError": (losses.mean_absolute_error, "mean_absolute_error", {}),
    "MeanAbsolutePercentageError": (losses.mean_absolute_percentage_error, "mean_absolute_percentage_error", {}),
    "MeanSquaredLogarithmicError": (losses.mean_squared_logarithmic_error, "mean_squared_logarithmic_error", {}),
    "CosineSimilarity": (losses.cosine_similarity, "cosine_similarity", {"axis": -1}),
    "Huber": (losses.huber, "huber_loss", {"delta": 1.0}),
    "LogCosh": (losses.log_cosh, "log_cosh", {}),
    "Hinge": (losses.hinge, "hinge", {}),
    "SquaredHinge": (losses.squared_hinge, "squared_hinge", {}),
    "CategoricalHinge": (losses.categorical_hinge, "categorical_hinge", {}),
    "KLDivergence": (losses.kl_divergence, "kl_divergence", {}),
    "Poisson": (losses.poisson, "poisson", {}),
    "BinaryCrossentropy": (losses.binary_crossentropy, "binary_crossentropy",
                           {"from_logits": False, "label_smoothing": 0.0, "axis": -1}),
    "BinaryFocalCrossentropy": (losses.binary_focal_crossentropy, "binary_focal_crossentropy",
                                {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0,
                                 "from_logits": False, "label_smoothing": 0.0, "axis": -1}),
    "CategoricalCrossentropy": (losses.categorical_crossentropy, "categorical_crossentropy",
                                {"from_logits": False, "label_smoothing": 0.0, "axis": -1}),
    "CategoricalFocalCrossentropy": (losses.categorical_focal_crossentropy, "categorical_focal_crossentropy",
                                     {"alpha": 0.25, "gamma": 2.0, "from_logits": False,
                                      "label_smoothing": 0.0, "axis": -1}),
    "Dice": (losses.dice, "dice", {"axis": None}),
    "Tversky": (losses.tversky, "tversky", {"alpha": 0.5, "beta": 0.5, "axis": None}),
}

Y_TRUE = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
Y_PRED = np.array([[0.05, 0.9, 0.05], [0.1, 0.6, 0.3]])


@pytest.mark.parametrize("name", CLASSES)
def test_constructor_is_keras(name):
    cls = getattr(losses, name)
    fn, default_name, options = CLASSES[name]
    sig = inspect.signature(cls)
    for key, value in options.items():
        assert sig.parameters[key].default == value
    assert sig.parameters["reduction"].default == "sum_over_batch_size"
    assert sig.parameters["name"].default == default_name
    loss = cls()
    assert loss.name == default_name and loss.fn is fn
    for key, value in options.items():
        assert getattr(loss, key) == value
    assert loss.get_config()["reduction"] == "sum_over_batch_size"


@pytest.mark.parametrize("name", CLASSES)
def test_reduction_none_equals_the_function_and_mean_is_its_mean(name):
    cls = getattr(losses, name)
    fn = CLASSES[name][0]
    per = fn(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(cls(reduction=None)(Y_TRUE, Y_PRED), per, rtol=1e-15)
    np.testing.assert_allclose(cls(reduction="none")(Y_TRUE, Y_PRED), per, rtol=1e-15)
    np.testing.assert_allclose(cls()(Y_TRUE, Y_PRED), np.mean(per), rtol=1e-14)
    np.testing.assert_allclose(cls(reduction="sum")(Y_TRUE, Y_PRED), np.sum(per), rtol=1e-14)


@pytest.mark.parametrize("name", [n for n in CLASSES if n not in ("Dice", "Tversky")])
def test_sample_weight(name):
    cls = getattr(losses, name)
    per = CLASSES[name][0](Y_TRUE, Y_PRED)
    w = np.array([0.3, 0.7])
    np.testing.assert_allclose(cls()(Y_TRUE, Y_PRED, sample_weight=w), (per * w).sum() / 2, rtol=1e-14)
    np.testing.assert_allclose(cls(reduction="mean_with_sample_weight")(Y_TRUE, Y_PRED, sample_weight=w),
                               (per * w).sum() / w.sum(), rtol=1e-14)


def test_keras_doc_class_examples():
    y_true = np.array([[0, 1], [0, 0]])
    y_pred = np.array([[-18.6, 0.51], [2.94, -12.8]])
    bce = losses.BinaryCrossentropy(from_logits=True)
    assert float(bce(y_true, y_pred)) == pytest.approx(0.8654, abs=1e-4)
    assert float(bce(y_true, y_pred, sample_weight=[0.8, 0.2])) == pytest.approx(0.243, abs=1e-3)
    assert float(losses.BinaryCrossentropy(from_logits=True, reduction="sum")(y_true, y_pred)) == \
        pytest.approx(1.730, abs=1e-3)
    for gamma, balance, expected in [(3, False, 0.647), (3, True, 0.482)]:
        f = losses.BinaryFocalCrossentropy(apply_class_balancing=balance, gamma=gamma, from_logits=True)
        assert float(f(y_true, y_pred)) == pytest.approx(expected, abs=1e-3)
    for balance, expected in [(False, 0.133), (True, 0.097)]:
        f = losses.BinaryFocalCrossentropy(apply_class_balancing=balance, gamma=3, from_logits=True)
        assert float(f(y_true, y_pred, sample_weight=[0.8, 0.2])) == pytest.approx(expected, abs=1e-3)
    for balance, expected in [(False, 1.222), (True, 0.914)]:
        f = losses.BinaryFocalCrossentropy(apply_class_balancing=balance, gamma=4, from_logits=True, reduction="sum")
        assert float(f(y_true, y_pred)) == pytest.approx(expected, abs=1e-3)
    f = losses.BinaryFocalCrossentropy(gamma=5, from_logits=True, reduction=None)
    np.testing.assert_allclose(f(y_true, y_pred), [0.0017, 1.1561], atol=1e-4)
    f = losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=5, from_logits=True, reduction=None)
    np.testing.assert_allclose(f(y_true, y_pred), [0.0004, 0.8670], atol=1e-4)

    yt, yp = np.array([[0, 1, 0], [0, 0, 1]]), np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    cce = losses.CategoricalCrossentropy()
    assert float(cce(yt, yp)) == pytest.approx(1.177, abs=1e-3)
    assert float(cce(yt, yp, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(0.814, abs=1e-3)
    assert float(losses.CategoricalCrossentropy(reduction="sum")(yt, yp)) == pytest.approx(2.354, abs=1e-3)
    cfce = losses.CategoricalFocalCrossentropy()
    lt, lp = [[0., 1., 0.], [0., 0., 1.]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    assert cfce(lt, lp) == pytest.approx(0.23315276, rel=1e-6)
    assert cfce(lt, lp, sample_weight=np.array([0.3, 0.7])) == pytest.approx(0.1632, abs=5e-5)
    assert losses.CategoricalFocalCrossentropy(reduction="sum")(lt, lp) == pytest.approx(0.46631, abs=5e-6)
    np.testing.assert_allclose(losses.CategoricalFocalCrossentropy(reduction=None)(lt, lp),
                               np.array([3.2058331e-05, 4.6627346e-01], F32), rtol=1e-6)


def test_positional_arguments_follow_keras_order():
    h = losses.Huber(2.0, "sum", "my_huber")
    assert (h.delta, h.reduction, h.name) == (2.0, "sum", "my_huber")
    tv = losses.Tversky(0.3, 0.7, "none", "tv", (1,))
    assert (tv.alpha, tv.beta, tv.reduction, tv.name, tv.axis) == (0.3, 0.7, "none", "tv", (1,))
    with pytest.raises(TypeError):
        losses.Huber(1.0, bogus=3)


def test_bad_reduction_is_a_clear_error():
    with pytest.raises(HaibalValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


def test_get_like_keras():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("bce") is losses.BCE is losses.binary_crossentropy
    assert losses.get("categorical_crossentropy") is losses.categorical_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    huber = losses.get({"class_name": "Huber", "config": {"delta": 2.0}})
    assert isinstance(huber, losses.Huber) and huber.delta == 2.0
    assert losses.get(None) is None
    assert losses.get(losses.poisson) is losses.poisson
    with pytest.raises(HaibalValueError, match="unknown loss 'msee'"):
        losses.get("msee")
    with pytest.raises(HaibalValueError):
        losses.get(3)


def test_every_public_name_is_exported():
    for name in losses.__all__:
        assert hasattr(losses, name), name


# -- hypothesis properties ----------------------------------------------------------------

finite = st.floats(-50, 50, allow_nan=False, width=64)
prob = st.floats(0, 1, allow_nan=False, width=64)
shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))


@st.composite
def pairs(draw, elements_true, elements_pred, dtype=F64):
    shape = draw(shapes)
    t = draw(arrays(dtype, shape, elements=elements_true))
    p = draw(arrays(dtype, shape, elements=elements_pred))
    return t, p


NON_NEGATIVE_REGRESSION = [losses.mean_squared_error, losses.mean_absolute_error,
                           losses.mean_absolute_percentage_error, losses.huber, losses.log_cosh]


@settings(max_examples=60, deadline=None)
@given(pairs(finite, finite), st.sampled_from(NON_NEGATIVE_REGRESSION))
def test_regression_losses_are_non_negative_and_zero_at_the_target(tp, fn):
    t, p = tp
    assert (fn(t, p) >= 0).all()
    np.testing.assert_array_equal(fn(t, t), np.zeros(t.shape[0]))


@settings(max_examples=60, deadline=None)
@given(pairs(st.floats(0, 1e3, width=64), st.floats(0, 1e3, width=64)))
def test_msle_non_negative(tp):
    assert (losses.mean_squared_logarithmic_error(*tp) >= 0).all()


@settings(max_examples=60, deadline=None)
@given(pairs(st.sampled_from([0.0, 1.0]), prob), st.floats(0, 1), st.sampled_from([0.0, 1.0, 2.0, 3.5]))
def test_binary_crossentropies_non_negative(tp, ls, gamma):
    t, p = tp
    assert (losses.binary_crossentropy(t, p, label_smoothing=ls) >= 0).all()
    assert (losses.binary_focal_crossentropy(t, p, gamma=gamma, label_smoothing=ls) >= 0).all()
    assert (losses.binary_crossentropy(t, p * 40 - 20, from_logits=True) >= 0).all()


@pytest.mark.filterwarnings("ignore:.*single class")
@settings(max_examples=60, deadline=None)
@given(pairs(prob, st.floats(1e-3, 1, width=64)), st.floats(0, 1))
def test_categorical_crossentropies_non_negative(tp, ls):
    t, p = tp
    assert (losses.categorical_crossentropy(t, p, label_smoothing=ls) >= 0).all()
    assert (losses.categorical_focal_crossentropy(t, p, label_smoothing=ls) >= 0).all()
    assert (losses.categorical_crossentropy(t, p * 30 - 15, from_logits=True) >= -1e-12).all()


@settings(max_examples=60, deadline=None)
@given(pairs(st.sampled_from([-1.0, 1.0]), finite))
def test_hinge_losses_non_negative_and_squared_is_bounded_by_hinge_squares(tp):
    t, p = tp
    h, sq = losses.hinge(t, p), losses.squared_hinge(t, p)
    assert (h >= 0).all() and (sq >= h * h - 1e-9).all()
    assert (losses.categorical_hinge(np.abs(t), p) >= 0).all()


@settings(max_examples=60, deadline=None)
@given(pairs(prob, prob))
def test_overlap_losses_in_unit_interval_and_cosine_in_minus_one_one(tp):
    t, p = tp
    for fn in (losses.dice, losses.tversky):
        v = fn(t, p, axis=1)
        assert ((v >= -1e-12) & (v <= 1 + 1e-12)).all()
    c = losses.cosine_similarity(t, p)
    assert ((c >= -1 - 1e-12) & (c <= 1e-12)).all()


@pytest.mark.filterwarnings("ignore:.*single class")
@settings(max_examples=40, deadline=None)
@given(pairs(finite, finite), st.sampled_from(sorted(CLASSES)))
def test_class_with_reduction_none_equals_function(tp, name):
    t, p = tp
    if name in ("CategoricalCrossentropy", "CategoricalFocalCrossentropy", "BinaryCrossentropy",
                "BinaryFocalCrossentropy", "KLDivergence", "Poisson"):
        t, p = np.abs(t) / 50, np.abs(p) / 50 + 1e-3
    fn = CLASSES[name][0]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(getattr(losses, name)(reduction=None)(t, p), fn(t, p))


@settings(max_examples=40, deadline=None)
@given(pairs(finite, finite))
def test_float32_is_close_to_float64(tp):
    t, p = tp
    for fn in (losses.mean_squared_error, losses.huber, losses.log_cosh):
        np.testing.assert_allclose(fn(t.astype(F32), p.astype(F32)), fn(t, p), rtol=1e-5, atol=1e-4)
