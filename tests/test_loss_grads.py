"""Loss gradients (haibal_py/numeric/loss_grads.py) against float64 central differences of the
loss kernels themselves, every loss and option; the fused softmax/sigmoid paths against the
derivative of the loss computed from logits; reductions and sample weights; errors."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py import losses
from haibal_py.errors import HaibalValueError
from haibal_py.numeric import activations as A
from haibal_py.numeric.loss_grads import VJPS, LossGradient, LossGradientError, fusable_activation

RNG = np.random.default_rng(7)


def probs(shape, rng=RNG):
    p = rng.uniform(0.05, 1.0, shape)
    return p / p.sum(axis=-1, keepdims=True)


def onehot(labels, c):
    return np.eye(c)[labels]


def central(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        step = h * max(1.0, abs(old))
        flat[i] = old + step
        up = float(f(x))
        flat[i] = old - step
        down = float(f(x))
        flat[i] = old
        gf[i] = (up - down) / (2 * step)
    return g


def check(loss, y_true, y_pred, sample_weight=None, rtol=1e-5, atol=1e-8):
    grad = LossGradient(loss)
    value, d, out = grad(y_true, y_pred, sample_weight)
    assert out is y_pred
    expected = loss(y_true, y_pred, sample_weight=sample_weight)
    assert value == pytest.approx(float(expected), rel=1e-12, abs=1e-15)
    assert d.shape == np.shape(y_pred) and d.dtype == np.asarray(y_pred).dtype
    numeric = central(lambda p: loss(y_true, p, sample_weight=sample_weight), np.array(y_pred, dtype=np.float64))
    np.testing.assert_allclose(d, numeric, rtol=rtol, atol=atol)
    return d


N, C = 5, 4
Y_REG = RNG.normal(size=(N, C))
P_REG = Y_REG + RNG.choice([-1, 1], size=(N, C)) * RNG.uniform(0.1, 1.5, (N, C))
LABELS = RNG.integers(0, C, N)
P_CLASS = probs((N, C))
Y_BIN = RNG.integers(0, 2, (N, 3)).astype(float)
P_BIN = RNG.uniform(0.05, 0.95, (N, 3))
Z = RNG.normal(scale=2.0, size=(N, C))


REGRESSION = [
    ("mse", losses.MeanSquaredError(), Y_REG, P_REG),
    ("mae", losses.MeanAbsoluteError(), Y_REG, P_REG),
    ("mape", losses.MeanAbsolutePercentageError(), Y_REG, P_REG),
    ("msle", losses.MeanSquaredLogarithmicError(), np.abs(Y_REG), np.abs(P_REG) + 0.05),
    ("cosine", losses.CosineSimilarity(), Y_REG, P_REG),
    ("cosine_axis0", losses.CosineSimilarity(axis=0), Y_REG, P_REG),
    ("huber", losses.Huber(delta=0.7), Y_REG, P_REG),
    ("log_cosh", losses.LogCosh(), Y_REG, P_REG),
    ("poisson", losses.Poisson(), np.abs(Y_REG), np.abs(P_REG) + 0.1),
    ("kld", losses.KLDivergence(), P_CLASS[::-1].copy(), P_CLASS),
    ("hinge_pm1", losses.Hinge(), np.where(Y_BIN > 0, 1.0, -1.0), RNG.normal(size=(N, 3))),
    ("hinge_01", losses.Hinge(), Y_BIN, RNG.normal(size=(N, 3))),
    ("squared_hinge", losses.SquaredHinge(), Y_BIN, RNG.normal(size=(N, 3))),
    ("categorical_hinge", losses.CategoricalHinge(), onehot(LABELS, C), RNG.normal(size=(N, C))),
    ("bce", losses.BinaryCrossentropy(), Y_BIN, P_BIN),
    ("bce_smooth", losses.BinaryCrossentropy(label_smoothing=0.2), Y_BIN, P_BIN),
    ("bce_logits", losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), Y_BIN,
     RNG.normal(scale=2, size=(N, 3))),
    ("bfce", losses.BinaryFocalCrossentropy(), Y_BIN, P_BIN),
    ("bfce_balanced_g15", losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=1.5, alpha=0.3), Y_BIN,
     P_BIN),
    ("bfce_logits", losses.BinaryFocalCrossentropy(from_logits=True, label_smoothing=0.1), Y_BIN,
     RNG.normal(scale=2, size=(N, 3))),
    ("cce", losses.CategoricalCrossentropy(), onehot(LABELS, C), P_CLASS * 1.7),  # not normalised
    ("cce_smooth", losses.CategoricalCrossentropy(label_smoothing=0.1), onehot(LABELS, C), P_CLASS),
    ("cce_logits", losses.CategoricalCrossentropy(from_logits=True), probs((N, C)), Z),
    ("cce_axis0", losses.CategoricalCrossentropy(axis=0), probs((C, N)).T.copy(), probs((C, N)).T.copy()),
    ("cfce", losses.CategoricalFocalCrossentropy(), onehot(LABELS, C), P_CLASS),
    ("cfce_logits", losses.CategoricalFocalCrossentropy(from_logits=True, gamma=1.5, alpha=[0.1, 0.2, 0.3, 0.4]),
     onehot(LABELS, C), Z),
    ("scce", losses.SparseCategoricalCrossentropy(), LABELS, P_CLASS * 0.8),
    ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, Z),
    ("scce_ignore", losses.SparseCategoricalCrossentropy(ignore_class=1), LABELS, P_CLASS),
    ("generalized_ce", losses.CategoricalGeneralizedCrossEntropy(q=0.3), LABELS, P_CLASS),
    ("dice", losses.Dice(), Y_BIN, P_BIN),
    ("dice_axis", losses.Dice(axis=1), Y_BIN, P_BIN),
    ("tversky", losses.Tversky(alpha=0.3, beta=0.7), Y_BIN, P_BIN),
    ("tversky_axis", losses.Tversky(alpha=0.6, beta=0.2, axis=(1,)), Y_BIN, P_BIN),
]


@pytest.mark.parametrize("name,loss,y_true,y_pred", REGRESSION, ids=[c[0] for c in REGRESSION])
def test_gradient_matches_central_differences(name, loss, y_true, y_pred):
    check(loss, y_true, y_pred.copy())


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight"])
def test_reductions_and_sample_weights(reduction):
    sw = RNG.uniform(0.2, 2.0, N)
    check(losses.MeanSquaredError(reduction=reduction), Y_REG, P_REG.copy(), sample_weight=sw)
    check(losses.SparseCategoricalCrossentropy(reduction=reduction), LABELS, P_CLASS.copy(), sample_weight=sw)


def test_per_position_losses_and_masks():
    labels = RNG.integers(0, 3, (2, 4))
    labels[0, 1] = 7  # ignore_class: not a class at all
    p = probs((2, 4, 3))
    d = check(losses.SparseCategoricalCrossentropy(ignore_class=7), labels, p)
    assert np.all(d[0, 1] == 0)
    sw = RNG.uniform(0.5, 1.5, (2, 4))
    check(losses.SparseCategoricalCrossentropy(), RNG.integers(0, 3, (2, 4)), p, sample_weight=sw)


def test_shapes_paired_as_keras_pairs_them():
    # labels (N,) against predictions (N, 1): the labels get the trailing axis
    check(losses.MeanSquaredError(), Y_REG[:, 0], P_REG[:, :1].copy())
    check(losses.SparseCategoricalCrossentropy(), LABELS[:, None], P_CLASS.copy())


def test_function_losses_wrapped_by_name():
    from haibal_py.numeric.loss_base import LossFunctionWrapper
    check(LossFunctionWrapper(losses.get("mse"), name="mse"), Y_REG, P_REG.copy())


def test_float32_gradients_keep_the_dtype():
    p = P_CLASS.astype(np.float32)
    value, d, _ = LossGradient(losses.SparseCategoricalCrossentropy())(LABELS, p)
    assert d.dtype == np.float32 and isinstance(value, np.float32)
    d64 = LossGradient(losses.SparseCategoricalCrossentropy())(LABELS, p.astype(np.float64))[1]
    np.testing.assert_allclose(d, d64, rtol=1e-5)


#: losses whose gradient is not written yet (their training raises LossGradientError)
NOT_TRAINABLE = {"CTC", "Circle"}


def test_every_loss_class_has_a_gradient_but_the_listed_ones():
    from haibal_py.numeric.loss_base import LossFunctionWrapper
    from haibal_py.numeric.losses import _CLASSES
    for name in _CLASSES:
        cls = getattr(losses, name)
        if not issubclass(cls, LossFunctionWrapper) or cls is LossFunctionWrapper:
            continue
        if name in NOT_TRAINABLE:
            with pytest.raises(LossGradientError, match="no gradient is known"):
                LossGradient(cls())
        else:
            assert cls().fn in VJPS, name


# ------------------------------------------------------------------ fused softmax / sigmoid
@pytest.mark.parametrize("loss,labels", [
    (losses.SparseCategoricalCrossentropy(), LABELS),
    (losses.CategoricalCrossentropy(), onehot(LABELS, C)),
    (losses.CategoricalCrossentropy(label_smoothing=0.2), onehot(LABELS, C)),
])
def test_fused_softmax_is_the_logits_loss_and_its_gradient(loss, labels):
    z = Z.copy()
    sw = RNG.uniform(0.5, 1.5, N)
    value, dz, p = LossGradient(loss, fused="softmax")(labels, z, sw)
    np.testing.assert_array_equal(p, A.softmax(z))
    logits_loss = type(loss)(**{**loss.fn_kwargs, "from_logits": True})
    assert value == pytest.approx(float(logits_loss(labels, z, sample_weight=sw)), rel=1e-12)
    assert value == pytest.approx(float(loss(labels, A.softmax(z), sample_weight=sw)), rel=1e-6)
    numeric = central(lambda x: logits_loss(labels, x, sample_weight=sw), z.copy())
    np.testing.assert_allclose(dz, numeric, rtol=1e-5, atol=1e-9)


def test_fused_softmax_keeps_a_gradient_where_clipped_probabilities_lose_it():
    z = np.array([[40.0, 0.0, -40.0]])  # confidently wrong for label 2
    clipped = LossGradient(losses.SparseCategoricalCrossentropy())(np.array([2]), A.softmax(z))[1]
    fused = LossGradient(losses.SparseCategoricalCrossentropy(), fused="softmax")(np.array([2]), z)
    assert np.all(clipped == 0)  # the clipped probabilities pass no gradient at all
    np.testing.assert_allclose(fused[1], [[1.0, 0.0, -1.0]], atol=1e-12)
    assert fused[0] == pytest.approx(80.0)


def test_fused_sigmoid():
    loss = losses.BinaryCrossentropy(label_smoothing=0.1)
    z = RNG.normal(scale=2, size=(N, 3))
    value, dz, p = LossGradient(loss, fused="sigmoid")(Y_BIN, z)
    np.testing.assert_array_equal(p, A.sigmoid(z))
    logits_loss = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)
    assert value == pytest.approx(float(logits_loss(Y_BIN, z)), rel=1e-12)
    np.testing.assert_allclose(dz, central(lambda x: logits_loss(Y_BIN, x), z.copy()), rtol=1e-5, atol=1e-9)


def test_which_losses_fuse():
    assert fusable_activation(losses.SparseCategoricalCrossentropy(), A.softmax) == "softmax"
    assert fusable_activation(losses.CategoricalCrossentropy(), A.softmax) == "softmax"
    assert fusable_activation(losses.BinaryCrossentropy(), A.sigmoid) == "sigmoid"
    assert fusable_activation(losses.BinaryCrossentropy(), A.softmax) is None
    assert fusable_activation(losses.SparseCategoricalCrossentropy(from_logits=True), A.softmax) is None
    assert fusable_activation(losses.CategoricalCrossentropy(axis=0), A.softmax) is None
    assert fusable_activation(losses.MeanSquaredError(), A.softmax) is None


# ------------------------------------------------------------------ errors
def test_unknown_loss_functions_are_refused_by_name():
    from haibal_py.numeric.loss_base import LossFunctionWrapper

    def my_loss(y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(axis=-1)

    with pytest.raises(LossGradientError, match="my_loss.*trainable losses: .*mean_squared_error"):
        LossGradient(LossFunctionWrapper(my_loss))
    with pytest.raises(LossGradientError, match="has no known gradient"):
        LossGradient(object())
    assert issubclass(LossGradientError, HaibalValueError)


def test_unreduced_losses_cannot_train():
    with pytest.raises(LossGradientError, match="reduction='none'.*sum_over_batch_size"):
        LossGradient(losses.MeanSquaredError(reduction="none"))
