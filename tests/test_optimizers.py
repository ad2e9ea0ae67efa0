"""Optimizers: state checkpoints, configs, errors, dtypes and Keras' apply() rules.

The numbers themselves are checked against Keras in ``test_optimizers_keras_refs.py``;
here float64 runs are also compared with the update rules written out in float64.
"""

from __future__ import annotations

import inspect
import json
import warnings

import numpy as np
import pytest

from haibal_py import optimizers
from haibal_py.errors import HaibalError
from haibal_py.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Ftrl, Lion, Nadam, OptimizerError,
                                  OptimizerTypeError, RMSprop, schedules)

SHAPES = [(3, 4), (4,), (2, 3)]
ALL = [SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Ftrl]

# one configuration per optimizer that exercises its slots and the common options
RICH = [
    (SGD, dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    (Adam, dict(amsgrad=True, clipnorm=0.5)),
    (AdamW, dict(weight_decay=0.1, global_clipnorm=1.0)),
    (RMSprop, dict(momentum=0.5, centered=True, clipvalue=0.2)),
    (Adagrad, dict(learning_rate=0.1, gradient_accumulation_steps=2)),
    (Adadelta, dict(learning_rate=1.0, use_ema=True, ema_overwrite_frequency=2)),
    (Adamax, dict(learning_rate=schedules.ExponentialDecay(0.01, 2, 0.5))),
    (Nadam, dict(learning_rate=0.01, gradient_accumulation_steps=3, weight_decay=0.01)),
    (Lion, dict(learning_rate=schedules.CosineDecay(0.0, 4, warmup_target=0.01, warmup_steps=2))),
    (Ftrl, dict(learning_rate=0.1, l1_regularization_strength=0.01, l2_shrinkage_regularization_strength=0.1)),
]


def make_weights(seed=0, dtype=np.float32, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype(dtype) for s in shapes]


def make_grads(steps, seed=1, dtype=np.float32, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(steps)]


# ---------------------------------------------------------------------------------- state
@pytest.mark.parametrize("cls,kwargs", RICH, ids=[c.__name__ for c, _ in RICH])
def test_checkpoint_mid_run_continues_identically(cls, kwargs):
    grads = make_grads(8)
    weights = make_weights()
    opt = cls(**kwargs)
    for g in grads[:3]:
        opt.apply(g, weights)
    state = opt.get_state()
    at_checkpoint = [w.copy() for w in weights]
    for g in grads[3:]:
        opt.apply(g, weights)
    for restored_while in ("unbuilt", "built"):
        again = [w.copy() for w in at_checkpoint]
        fresh = cls.from_config(opt.get_config())
        if restored_while == "built":
            fresh.build(again)
        fresh.set_state(state)
        assert fresh.iterations == 3 // (kwargs.get("gradient_accumulation_steps") or 1)
        for g in grads[3:]:
            fresh.apply(g, again)
        for w, ref in zip(again, weights):
            np.testing.assert_array_equal(w, ref)
        for key, value in opt.get_state().items():
            np.testing.assert_array_equal(fresh.get_state()[key], value, err_msg=key)


def test_checkpoint_is_a_snapshot_and_holds_every_slot():
    weights = make_weights()
    opt = Nadam(gradient_accumulation_steps=2, use_ema=True)
    opt.apply(make_grads(1)[0], weights)
    state = opt.get_state()
    assert set(state) == {"iterations", "learning_rate", "u_product"} | {
        f"{slot}/{i}" for i in range(3) for slot in ("momentum", "velocity", "average", "gradient_accumulator")}
    assert state["iterations"].dtype == np.int64 and state["learning_rate"].dtype == np.float32
    before = {k: v.copy() for k, v in state.items()}
    opt.apply(make_grads(1, seed=5)[0], weights)  # an update step: slots change, the checkpoint does not
    for key, value in before.items():
        np.testing.assert_array_equal(state[key], value)
    assert not np.array_equal(opt.get_state()["momentum/0"], state["momentum/0"])


def test_save_and_load_own_variables_keras_store():
    weights = make_weights()
    opt = Adam(amsgrad=True)
    for g in make_grads(2):
        opt.apply(g, weights)
    store: dict = {}
    opt.save_own_variables(store)
    assert list(store) == [str(i) for i in range(len(opt.variables))]
    other = Adam(amsgrad=True)
    other.build([w.copy() for w in weights])
    other.load_own_variables(store)
    assert other.iterations == 2
    for a, b in zip(other.variables, opt.variables):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(OptimizerError, match="not built"):
        Adam(amsgrad=True).load_own_variables(store)


def test_set_state_refuses_a_state_that_does_not_fit():
    weights = make_weights()
    opt = Adam()
    opt.apply(make_grads(1)[0], weights)
    state = opt.get_state()
    with pytest.raises(OptimizerError, match=r"missing \['velocity/2'\]"):
        opt.set_state({k: v for k, v in state.items() if k != "velocity/2"})
    with pytest.raises(OptimizerError, match=r"unknown \['velocity_hat/0'\]"):
        opt.set_state({**state, "velocity_hat/0": state["velocity/0"]})
    with pytest.raises(OptimizerError, match=r"state\['momentum/1'\] has shape \(5,\).*expected shape \(4,\)"):
        opt.set_state({**state, "momentum/1": np.zeros(5)})
    with pytest.raises(OptimizerError, match="iterations"):
        opt.set_state({**state, "iterations": np.array(-1)})
    scheduled = Adam(learning_rate=schedules.ExponentialDecay(0.1, 3, 0.5))
    with pytest.raises(OptimizerError, match="schedule"):
        scheduled.set_state(state)
    # a pending state whose shapes do not fit is refused at build, naming the key
    fresh = Adam()
    fresh.set_state(state)
    with pytest.raises(OptimizerError, match=r"momentum/0.*\(3, 4\)"):
        fresh.build(make_weights(shapes=[(4, 3), (4,), (2, 3)]))
    assert not fresh.built


# ---------------------------------------------------------------------------------- float64 and dtypes
def test_float64_sgd_and_adam_follow_their_formulas_in_float64():
    grads = make_grads(6, dtype=np.float64)
    w_sgd, w_adam = make_weights(dtype=np.float64), make_weights(dtype=np.float64)
    ref_sgd, ref_adam = [w.copy() for w in w_sgd], [w.copy() for w in w_adam]
    sgd, adam = SGD(learning_rate=0.1, momentum=0.9), Adam(learning_rate=0.01)
    mom = [np.zeros_like(w) for w in w_sgd]
    m = [np.zeros_like(w) for w in w_adam]
    v = [np.zeros_like(w) for w in w_adam]
    # Keras casts beta_1 and beta_2 for the bias corrections with ops.cast, through float32:
    # 1 - float32(0.999) is 1.3e-5 away from 0.001, far more than float64 rounding
    b1, b2 = float(np.float32(0.9)), float(np.float32(0.999))
    for t, g in enumerate(grads, start=1):
        sgd.apply(g, w_sgd)
        adam.apply(g, w_adam)
        for i, gi in enumerate(g):
            mom[i] = 0.9 * mom[i] - 0.1 * gi
            ref_sgd[i] = ref_sgd[i] + mom[i]
            m[i] = 0.9 * m[i] + 0.1 * gi
            v[i] = 0.999 * v[i] + 0.001 * gi ** 2
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            ref_adam[i] = ref_adam[i] - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-7 / np.sqrt(1 - b2 ** t))
    for w, ref in zip(w_sgd + w_adam, ref_sgd + ref_adam):
        assert w.dtype == np.float64
        # the learning rate is a float32 and SGD's momentum goes through float32 too: ~1e-7
        np.testing.assert_allclose(w, ref, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_mixed_dtypes_and_float64_gradients(cls):
    # float32 and float64 weights in one optimizer; float64 gradients for float32 weights
    rng = np.random.default_rng(3)
    w32, w64 = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,))
    g32, g64 = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    opt = cls(learning_rate=0.01)
    alone32, alone64 = cls(learning_rate=0.01), cls(learning_rate=0.01)
    a32, a64 = w32.copy(), w64.copy()
    for _ in range(3):
        opt.apply([g32, g64], [w32, w64])
        alone32.apply([g32.astype(np.float32)], [a32])
        alone64.apply([g64], [a64])
    assert w32.dtype == np.float32 and w64.dtype == np.float64
    np.testing.assert_array_equal(w32, a32)
    if cls is Nadam:  # its u_product is held in the first weight's dtype (float32 here), as in Keras
        np.testing.assert_allclose(w64, a64, rtol=1e-7)
        assert not np.array_equal(w64, a64)
    else:
        np.testing.assert_array_equal(w64, a64)


def test_large_and_small_weights_in_one_optimizer_agree_with_either_layout():
    shapes = [(700, 400), (400,), (400, 10), (10,)]  # the first group is past layout.FUSE_LIMIT
    grads = make_grads(3, shapes=shapes)
    results = []
    for limit in (None, 0, 10 ** 9):
        weights = make_weights(shapes=shapes)
        opt = Adam(learning_rate=0.01)
        opt.fuse_limit = limit
        for g in grads:
            opt.apply(g, weights)
        results.append(weights)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------- apply() rules
def test_updates_in_place_and_never_writes_the_gradients():
    weights = make_weights()
    ids = [id(w) for w in weights]
    before = [w.copy() for w in weights]
    grads = make_grads(1)[0]
    grads_before = [g.copy() for g in grads]
    opt = Adam(clipnorm=0.1, loss_scale_factor=2.0)
    assert opt.apply_gradients(zip(grads, weights)) == 1
    assert [id(w) for w in weights] == ids
    assert all(not np.array_equal(w, b) for w, b in zip(weights, before))
    for g, gb in zip(grads, grads_before):
        np.testing.assert_array_equal(g, gb)


def test_weights_in_another_order_or_a_subset_are_matched_by_identity():
    grads = make_grads(3)
    in_order, shuffled = make_weights(), make_weights()
    a, b = SGD(learning_rate=0.1, momentum=0.9), SGD(learning_rate=0.1, momentum=0.9)
    a.build(in_order)
    b.build(shuffled)
    for g in grads:
        a.apply(g, in_order)
        b.apply(g[::-1], shuffled[::-1])
    for x, y in zip(in_order, shuffled):
        np.testing.assert_array_equal(x, y)
    frozen = shuffled[1].copy()
    b.apply([grads[0][0], grads[0][2]], [shuffled[0], shuffled[2]])  # a subset: weight 1 untouched
    np.testing.assert_array_equal(shuffled[1], frozen)
    # without weights: the built list
    b.apply(grads[1])
    assert b.iterations == 5


def test_none_gradients_are_skipped_with_a_warning():
    weights = make_weights()
    kept = weights[1].copy()
    opt = Adam(weight_decay=0.1)
    with pytest.warns(UserWarning, match=r"positions \[1\]"):
        opt.apply([make_grads(1)[0][0], None, make_grads(1)[0][2]], weights)
    np.testing.assert_array_equal(weights[1], kept)  # no update, no weight decay
    assert opt.iterations == 1
    with pytest.raises(OptimizerError, match="no gradients provided for any variable"):
        opt.apply([None, None, None], weights)


def test_gradient_accumulation_iterations_and_mean():
    weights = make_weights()
    twin = [w.copy() for w in weights]
    grads = make_grads(6)
    acc = SGD(learning_rate=0.1, gradient_accumulation_steps=3)
    plain = SGD(learning_rate=0.1)
    for t, g in enumerate(grads):
        acc.apply(g, weights)
        assert acc.iterations == (t + 1) // 3
        if t % 3 == 2:
            plain.apply([(grads[t][i] + (grads[t - 2][i] + grads[t - 1][i])) / np.float32(3) for i in range(3)], twin)
        for w, ref in zip(weights, twin):  # between updates the weights stay put
            np.testing.assert_array_equal(w, ref)
    assert acc.get_state()["iterations"] == 6
    np.testing.assert_array_equal(acc.get_state()["gradient_accumulator/0"], 0)


def test_ema_finalize_overwrites_with_the_average():
    weights = make_weights()
    opt = SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    ema = [np.zeros_like(w) for w in weights]
    for t, g in enumerate(make_grads(3)):
        opt.apply(g, weights)
        for i, w in enumerate(weights):
            momentum = np.float32(0.0 if t == 0 else 0.5)
            ema[i] = momentum * ema[i] + (np.float32(1) - momentum) * w
    opt.finalize_variable_values(weights)
    for w, e in zip(weights, ema):
        np.testing.assert_allclose(w, e, rtol=1e-6)
    with pytest.raises(OptimizerError, match="length"):
        opt.finalize_variable_values(weights[:2])


def test_learning_rate_property_setter_and_callables():
    opt = SGD(learning_rate=0.1)
    assert opt.learning_rate == np.float32(0.1) and opt.learning_rate.dtype == np.float32
    opt.learning_rate = 0.5
    assert opt.get_config()["learning_rate"] == float(np.float32(0.5))
    schedule = schedules.PiecewiseConstantDecay([1], [0.1, 0.01])
    scheduled = SGD(learning_rate=schedule)
    weights = make_weights()
    lrs = []
    for g in make_grads(3):
        lrs.append(float(scheduled.learning_rate))
        scheduled.apply(g, weights)
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.01], rtol=1e-7)
    with pytest.raises(OptimizerTypeError, match="not settable"):
        scheduled.learning_rate = 0.1
    assert isinstance(OptimizerTypeError("x"), TypeError)
    calls = []
    dynamic = SGD(learning_rate=lambda: calls.append(1) or 0.25)
    w = [np.ones(2, np.float32)]
    dynamic.apply([np.ones(2, np.float32)], w)
    np.testing.assert_array_equal(w[0], np.float32(0.75))
    assert calls


def test_scale_loss_and_loss_scale_factor_divide_gradients():
    a, b = make_weights(), make_weights()
    g = make_grads(1)[0]
    scaled = SGD(learning_rate=0.1, loss_scale_factor=4.0)
    assert scaled.scale_loss(2.0) == 8.0 and SGD().scale_loss(2.0) == 2.0
    scaled.apply([x * np.float32(4) for x in g], a)
    SGD(learning_rate=0.1).apply(g, b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_exclude_from_weight_decay_by_array_and_by_name():
    w = make_weights()
    g = [np.zeros_like(x) for x in w]
    before = [x.copy() for x in w]
    opt = SGD(learning_rate=0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[w[0]], var_names=["bias"])
    opt.build(w, names=["dense/kernel", "dense/bias", "other/kernel"])
    opt.apply(g, w)
    np.testing.assert_array_equal(w[0], before[0])
    np.testing.assert_array_equal(w[1], before[1])
    np.testing.assert_allclose(w[2], before[2] * (1 - np.float32(0.05)), rtol=1e-6)
    nameless = SGD(weight_decay=0.1)
    nameless.exclude_from_weight_decay(var_names=["bias"])
    with pytest.raises(OptimizerError, match="names"):
        nameless.apply(g, make_weights())
    assert not nameless.built
    nameless.exclude_from_weight_decay(var_names=None)
    nameless.apply(g, make_weights())  # nothing left to match by name: it builds and runs
    assert nameless.built and nameless.iterations == 1
    with pytest.raises(OptimizerError, match="built without them"):
        nameless.exclude_from_weight_decay(var_names=["bias"])


# ---------------------------------------------------------------------------------- errors
def test_bad_weights_and_gradients_name_the_index_and_shapes():
    opt = Adam()
    weights = make_weights()
    with pytest.raises(OptimizerError, match=r"grads\[1\] has shape \(5,\) but its weight \(weights\[1\]\) has "
                                              r"shape \(4,\)"):
        opt.apply([np.zeros((3, 4)), np.zeros(5), np.zeros((2, 3))], weights)
    with pytest.raises(OptimizerError, match="2 gradient\\(s\\) for 3 weight"):
        opt.apply([np.zeros((3, 4)), np.zeros(4)], weights)
    with pytest.raises(OptimizerError, match=r"weights\[0\] \(shape \(3, 4\)\) is not one of the 3 arrays"):
        opt.apply(make_grads(1)[0], make_weights())
    with pytest.raises(OptimizerError, match=r"grads\[0\] must be numeric"):
        opt.apply([np.array([["a"] * 4] * 3), np.zeros(4), np.zeros((2, 3))], weights)
    with pytest.raises(OptimizerError, match=r"weights\[1\] must be a NumPy array"):
        Adam().apply([np.zeros(2), np.zeros(2)], [np.zeros(2), [0.0, 0.0]])
    with pytest.raises(OptimizerError, match=r"weights\[0\] must be a float array, got dtype int64"):
        Adam().apply([np.zeros(2)], [np.zeros(2, dtype=np.int64)])
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(OptimizerError, match="read-only"):
        Adam().apply([np.zeros(2)], [frozen])
    same = np.zeros(2)
    with pytest.raises(OptimizerError, match=r"weights\[1\] is the same array as weights\[0\]"):
        Adam().apply([np.zeros(2), np.zeros(2)], [same, same])
    with pytest.raises(OptimizerError, match="build"):
        Adam().apply([np.zeros(2)])
    Adam().apply([], [])  # nothing to do, as in Keras


@pytest.mark.parametrize("make,match", [
    (lambda: Adam(learning_rate=-0.1), "learning_rate` must be >= 0"),
    (lambda: Adam(learning_rate=float("nan")), "learning_rate` must be a finite number"),
    (lambda: Adam(learning_rate="fast"), "learning_rate` must be a finite number"),
    (lambda: Adam(clipnorm=1.0, global_clipnorm=1.0), "only one of `clipnorm`, `clipvalue` and `global_clipnorm`"),
    (lambda: SGD(clipvalue=0.5, clipnorm=1.0), "only one of"),
    (lambda: SGD(clipnorm=0.0), "clipnorm` must be > 0"),
    (lambda: SGD(weight_decay=-1.0), "weight_decay` must be >= 0"),
    (lambda: SGD(gradient_accumulation_steps=1), "gradient_accumulation_steps` must be an integer >= 2"),
    (lambda: SGD(use_ema=True, ema_momentum=1.5), "ema_momentum` must be in"),
    (lambda: SGD(use_ema=True, ema_overwrite_frequency=0), "ema_overwrite_frequency"),
    (lambda: SGD(momentum=1.5), "momentum` must be in"),
    (lambda: SGD(nesterov="yes"), "nesterov"),
    (lambda: Adam(beta_1=1.0), "beta_1` must be in"),
    (lambda: Adam(epsilon=-1e-7), "epsilon` must be >= 0"),
    (lambda: AdamW(weight_decay=None), "weight_decay` must be a float"),
    (lambda: RMSprop(rho=2.0), "rho` must be in"),
    (lambda: Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: Lion(beta_1=0.0), "beta_1` must be in \\(0, 1\\]"),
    (lambda: Ftrl(learning_rate_power=0.5), "learning_rate_power` must be <= 0"),
    (lambda: Ftrl(l1_regularization_strength=-1.0), "l1_regularization_strength"),
    (lambda: Adam(bogus=1), "not recognized: bogus"),
    (lambda: Adam(loss_scale_factor=0), "loss_scale_factor"),
])
def test_bad_arguments_raise_a_value_error_naming_them(make, match):
    with pytest.raises(OptimizerError, match=match) as info:
        make()
    assert isinstance(info.value, ValueError) and isinstance(info.value, HaibalError)


def test_decay_argument_is_ignored_with_a_warning_as_in_keras():
    with pytest.warns(UserWarning, match="decay"):
        opt = SGD(decay=0.1)
    assert "decay" not in opt.get_config()


# ---------------------------------------------------------------------------------- config and get()
KERAS_SIGNATURES = {  # inspect.signature(keras.optimizers.X.__init__) in Keras 3.15
    SGD: "learning_rate=0.01, momentum=0.0, nesterov=False",
    Adam: "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False",
    AdamW: "learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False",
    RMSprop: "learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False",
    Adagrad: "learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07",
    Adadelta: "learning_rate=0.001, rho=0.95, epsilon=1e-07",
    Adamax: "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07",
    Nadam: "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07",
    Lion: "learning_rate=0.001, beta_1=0.9, beta_2=0.99",
    Ftrl: "learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1, "
          "l1_regularization_strength=0.0, l2_regularization_strength=0.0, "
          "l2_shrinkage_regularization_strength=0.0, beta=0.0",
}
COMMON_TAIL = ("clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, "
               "ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None, name=None, "
               "**kwargs")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_constructor_signature_is_keras(cls):
    own = KERAS_SIGNATURES[cls]
    wd = "" if cls is AdamW else "weight_decay=None, "
    assert str(inspect.signature(cls)) == f"({own}, {wd}{COMMON_TAIL})"


@pytest.mark.parametrize("cls,kwargs", RICH, ids=[c.__name__ for c, _ in RICH])
def test_config_round_trips_through_json(cls, kwargs):
    opt = cls(**kwargs, name="my_opt")
    config = opt.get_config()
    text = json.dumps(optimizers.serialize(opt))
    again = optimizers.deserialize(json.loads(text))
    assert type(again) is cls
    assert again.get_config() == config
    assert cls.from_config(config).get_config() == config
    assert optimizers.get(json.loads(text)).get_config() == config


def test_get_by_keras_names():
    for name, cls in [("sgd", SGD), ("SGD", SGD), ("adam", Adam), ("Adam", Adam), ("adamw", AdamW),
                      ("rmsprop", RMSprop), ("RMSprop", RMSprop), ("adagrad", Adagrad), ("adadelta", Adadelta),
                      ("adamax", Adamax), ("nadam", Nadam), ("lion", Lion), ("ftrl", Ftrl)]:
        opt = optimizers.get(name)
        assert type(opt) is cls
    opt = Adam()
    assert optimizers.get(opt) is opt and optimizers.get(None) is None
    with pytest.raises(OptimizerError, match="unknown optimizer 'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(OptimizerError, match="Could not interpret"):
        optimizers.get(3)


def test_automatic_names_follow_keras():
    first, second = RMSprop(), RMSprop()
    assert first.name.startswith("rm_sprop") and second.name != first.name
    assert AdamW().name.startswith("adam_w")


def test_keras_float_learning_rate_in_config_is_the_float32_value():
    assert SGD().get_config()["learning_rate"] == 0.009999999776482582
    config = Adam(learning_rate=schedules.CosineDecay(0.1, 10)).get_config()
    assert config["learning_rate"] == {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                                       "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0,
                                                  "name": "CosineDecay", "warmup_target": None,
                                                  "warmup_steps": 0},
                                       "registered_name": None}


def test_no_unexpected_warnings_in_a_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = make_weights()
        for cls, kwargs in RICH:
            opt = cls(**kwargs)
            w = [x.copy() for x in weights]
            for g in make_grads(3):
                opt.apply(g, w)
            assert all(np.all(np.isfinite(x)) for x in w)
