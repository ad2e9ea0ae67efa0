"""Learning-rate schedules: formulas in float64, dtypes, arrays of steps, configs and errors.

Keras' own values at steps 0..200 are checked in ``test_optimizers_keras_refs.py``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from haibal_py.optimizers.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay,
                                            LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay,
                                            ScheduleError, deserialize, serialize)

STEPS = np.arange(0, 120)


def cosine_restarts_f64(step, lr0, first, t_mul, m_mul, alpha):
    """SGDR from its definition: walk the periods."""
    start, period, height = 0.0, float(first), 1.0
    while step >= start + period:
        start += period
        period *= t_mul
        height *= m_mul
    fraction = (step - start) / period
    return lr0 * ((1 - alpha) * 0.5 * height * (1 + math.cos(math.pi * fraction)) + alpha)


@pytest.mark.parametrize("schedule,formula", [
    (ExponentialDecay(0.1, 7, 0.9), lambda s: 0.1 * 0.9 ** (s / 7)),
    (ExponentialDecay(0.1, 7, 0.9, staircase=True), lambda s: 0.1 * 0.9 ** (s // 7)),
    (InverseTimeDecay(0.2, 4, 0.5), lambda s: 0.2 / (1 + 0.5 * s / 4)),
    (InverseTimeDecay(0.2, 4, 0.5, staircase=True), lambda s: 0.2 / (1 + 0.5 * (s // 4))),
    (PolynomialDecay(0.1, 50, 0.001, power=2.0), lambda s: (0.1 - 0.001) * (1 - min(s, 50) / 50) ** 2 + 0.001),
    (PolynomialDecay(0.1, 30, 0.01, cycle=True),
     lambda s: (0.1 - 0.01) * (1 - s / (30 * max(1, math.ceil(s / 30)))) + 0.01),
    (PiecewiseConstantDecay([10, 40], [0.5, 0.1, 0.01]), lambda s: 0.5 if s <= 10 else (0.1 if s <= 40 else 0.01)),
    (CosineDecay(0.1, 80, alpha=0.1), lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 80) / 80)) + 0.1)),
    (CosineDecay(0.0, 60, warmup_target=0.3, warmup_steps=20),
     lambda s: 0.3 * s / 20 if s < 20 else 0.3 * 0.5 * (1 + math.cos(math.pi * min(s - 20, 60) / 60))),
    (CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5, alpha=0.05),
     lambda s: cosine_restarts_f64(s, 0.1, 10, 2.0, 0.5, 0.05)),
    (CosineDecayRestarts(0.1, 7, t_mul=1.0, m_mul=0.9), lambda s: cosine_restarts_f64(s, 0.1, 7, 1.0, 0.9, 0.0)),
], ids=lambda x: type(x).__name__ if isinstance(x, LearningRateSchedule) else "")
def test_schedule_follows_its_formula(schedule, formula):
    got = schedule(STEPS)
    assert got.dtype == np.float32
    want = np.array([formula(int(s)) for s in STEPS])
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-8)
    assert isinstance(schedule(3), np.float32)


def test_float64_initial_learning_rate_computes_in_float64():
    schedule = ExponentialDecay(np.float64(0.1), 7, 0.5)
    value = schedule(5)
    assert value.dtype == np.float64
    # decay_rate is cast through float32 (0.5 is exact), the rest in float64
    assert value == np.float64(0.1) * 0.5 ** (5 / 7)


def test_piecewise_constant_compares_in_the_steps_type():
    schedule = PiecewiseConstantDecay([2.5, 7.9], [0.3, 0.2, 0.1])
    # an integer step truncates the boundaries (Keras casts them to the step's type): 2 and 7
    assert [float(schedule(s)) for s in (2, 3, 7, 8)] == [np.float32(0.3), np.float32(0.2), np.float32(0.2),
                                                          np.float32(0.1)]
    # a float step keeps them
    assert float(schedule(2.7)) == np.float32(0.2) and float(schedule(2.4)) == np.float32(0.3)


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.1, 3, 0.5, staircase=True, name="e"), PiecewiseConstantDecay([1, 2], [0.3, 0.2, 0.1]),
    PolynomialDecay(0.1, 5, cycle=True), InverseTimeDecay(0.1, 2, 0.5), CosineDecay(0.1, 5, 0.1, "c", 0.5, 3),
    CosineDecayRestarts(0.1, 3, 1.5, 0.5, 0.1),
])
def test_config_round_trip(schedule):
    text = json.dumps(serialize(schedule))
    again = deserialize(json.loads(text))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()
    np.testing.assert_array_equal(again(STEPS), schedule(STEPS))
    assert type(schedule).from_config(schedule.get_config()).get_config() == schedule.get_config()


@pytest.mark.parametrize("make,match", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps` must be > 0"),
    (lambda: InverseTimeDecay(0.1, -3, 0.5), "decay_steps` must be > 0"),
    (lambda: PolynomialDecay(0.1, 0), "decay_steps` must be > 0"),
    (lambda: CosineDecay(0.1, 0), "decay_steps` must be > 0"),
    (lambda: CosineDecay(0.1, 10, warmup_target=0.5, warmup_steps=-1), "warmup_steps` must be >= 0"),
    (lambda: CosineDecayRestarts(0.1, 0), "first_decay_steps` must be > 0"),
    (lambda: CosineDecayRestarts(0.1, 5, t_mul=0.0), "t_mul` must be > 0"),
    (lambda: ExponentialDecay("a", 3, 0.5), "initial_learning_rate` must be a number"),
    (lambda: PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "1 less than the length of values"),
    (lambda: PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "strictly increasing"),
    (lambda: PiecewiseConstantDecay(3, [0.1]), "must be lists"),
])
def test_bad_arguments_raise(make, match):
    with pytest.raises(ScheduleError, match=match) as info:
        make()
    assert isinstance(info.value, ValueError)


def test_bad_steps_and_unknown_names_raise():
    with pytest.raises(ScheduleError, match="step"):
        ExponentialDecay(0.1, 3, 0.5)("soon")
    with pytest.raises(ScheduleError, match="unknown learning-rate schedule 'Linear'"):
        deserialize({"class_name": "Linear", "config": {}})
    with pytest.raises(NotImplementedError):
        LearningRateSchedule()(1)


def test_custom_schedule_through_custom_objects():
    class Halving(LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return np.float32(self.lr * 0.5 ** step)

        def get_config(self):
            return {"lr": self.lr}

    again = deserialize(serialize(Halving(0.4)), custom_objects={"Halving": Halving})
    assert again(2) == np.float32(0.1)
