"""Learning-rate schedules: Keras 3's ``keras.optimizers.schedules``, in NumPy.

A schedule maps the optimizer's step (its real iteration count, before the update) to a
learning rate. As in Keras, the arithmetic runs in the dtype of ``initial_learning_rate``
once it is an array: float32 for a Python number (Keras' ``convert_to_tensor``), the
array's own dtype for a NumPy float scalar or array. Each formula keeps Keras' operation
order, so float32 values agree with Keras to the last bit or two.

``schedule(step)`` takes an int (or float) step and returns a NumPy scalar; an array of
steps gives an array of learning rates (handy for plotting a schedule).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...errors import HaibalValueError
from ..keras_api import Registry
from .casting import keras_cast

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "ScheduleError",
    "serialize", "deserialize",
]


class ScheduleError(HaibalValueError):
    """A learning-rate schedule got an argument it cannot take."""


def _number(owner: str, arg: str, value, *, positive: bool = False, non_negative: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ScheduleError(f"{owner}: `{arg}` must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ScheduleError(f"{owner}: `{arg}` must be finite, got {value!r}")
    if positive and not value > 0:
        raise ScheduleError(f"{owner}: `{arg}` must be > 0, got {value!r}")
    if non_negative and value < 0:
        raise ScheduleError(f"{owner}: `{arg}` must be >= 0, got {value!r}")


def _compute_dtype(initial_learning_rate) -> np.dtype:
    """Keras' ``convert_to_tensor(initial_learning_rate).dtype``: float32 for Python numbers."""
    if isinstance(initial_learning_rate, (np.ndarray, np.generic)) and initial_learning_rate.dtype.kind == "f":
        return initial_learning_rate.dtype
    return np.dtype(np.float32)


def _step_array(step, dtype) -> np.ndarray:
    try:
        arr = np.asarray(step)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
        raise ScheduleError(f"a schedule's step must be a finite number or array of numbers, got {step!r}")
    return arr.astype(dtype)


def _out(value: np.ndarray):
    """A NumPy scalar for a scalar step, else the array."""
    return value[()] if value.ndim == 0 else value


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
                                  "in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, their config, and
    ``(lr0, p, decay_rate)`` at a step (``p = step / decay_steps``, floored when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        owner = type(self).__name__
        _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        _number(owner, "decay_rate", decay_rate)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _terms(self, step):
        dt = _compute_dtype(self.initial_learning_rate)
        p = _step_array(step, dt) / dt.type(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return dt.type(self.initial_learning_rate), p, keras_cast(self.decay_rate, dt)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored
    when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr0, p, rate = self._terms(step)
        return _out(lr0 * np.power(rate, p))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to and including ``boundaries[0]``, ``values[1]`` up to
    ``boundaries[1]`` ... and ``values[-1]`` after the last boundary.

    Keras compares the step with boundaries cast to the step's type (an integer step
    truncates float boundaries) and does not check their order; here boundaries must be
    strictly increasing, since Keras adds up several values for unordered ones.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        owner = "PiecewiseConstantDecay"
        try:
            n_b, n_v = len(boundaries), len(values)
        except TypeError:
            raise ScheduleError(f"{owner}: `boundaries` and `values` must be lists, got "
                                f"boundaries={boundaries!r}, values={values!r}") from None
        if n_b != n_v - 1:
            raise ScheduleError(f"{owner}: the length of boundaries should be 1 less than the length of values. "
                                f"Received: boundaries={boundaries} of length {n_b}, and values={values} "
                                f"of length {n_v}.")
        for i, b in enumerate(boundaries):
            _number(owner, f"boundaries[{i}]", b)
        for i, v in enumerate(values):
            _number(owner, f"values[{i}]", v)
        if any(not boundaries[i] < boundaries[i + 1] for i in range(n_b - 1)):
            raise ScheduleError(f"{owner}: `boundaries` must be strictly increasing, got {list(boundaries)}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        vdt = _compute_dtype(self.values[0])
        raw = np.asarray(step)
        s = _step_array(step, np.int64 if raw.dtype.kind in "iu" else np.float32)
        b = np.asarray(self.boundaries, dtype=np.float64).astype(s.dtype)  # Keras' cast to the step's type
        idx = np.searchsorted(b, s, side="left")  # the first boundary >= step: the interval (b[i-1], b[i]]
        return _out(np.asarray(self.values, dtype=vdt)[idx])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, the step held at
    ``decay_steps`` (or, with ``cycle``, ``decay_steps`` stretched to the next multiple)."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        owner = "PolynomialDecay"
        _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        _number(owner, "end_learning_rate", end_learning_rate)
        _number(owner, "power", power)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        dt = _compute_dtype(self.initial_learning_rate)
        lr0 = dt.type(self.initial_learning_rate)
        end = keras_cast(self.end_learning_rate, dt)
        s = _step_array(step, dt)
        decay_steps = dt.type(self.decay_steps)
        if self.cycle:
            multiplier = np.where(s == 0, dt.type(1.0), np.ceil(s / decay_steps)).astype(dt)
            decay_steps = decay_steps * multiplier
        else:
            s = np.minimum(s, decay_steps)
        p = s / decay_steps
        return _out((lr0 - end) * np.power(dt.type(1) - p, keras_cast(self.power, dt)) + end)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (the ratio floored
    when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step):
        lr0, p, rate = self._terms(step)
        return _out(lr0 / (lr0.dtype.type(1) + rate * p))


def _cosine(dt, step, decay_steps, decay_from, alpha):
    """Keras' ``_decay_function``: ``decay_from * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)``."""
    fraction = step / decay_steps
    cosine_decayed = dt.type(0.5) * (dt.type(1.0) + np.cos(dt.type(math.pi) * fraction))
    decayed = dt.type(1 - alpha) * cosine_decayed + dt.type(alpha)
    return decay_from * decayed


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after a linear warmup of
    ``warmup_steps`` to ``warmup_target``, from ``warmup_target``) to
    ``alpha * that`` over ``decay_steps``, then constant."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        owner = "CosineDecay"
        _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "decay_steps", decay_steps, positive=True)
        _number(owner, "alpha", alpha)
        if warmup_target is not None:
            _number(owner, "warmup_target", warmup_target)
        _number(owner, "warmup_steps", warmup_steps, non_negative=True)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def __call__(self, step):
        dt = _compute_dtype(self.initial_learning_rate)
        lr0 = dt.type(self.initial_learning_rate)
        decay_steps = dt.type(self.decay_steps)
        s = _step_array(step, dt)
        if self.warmup_target is None:
            return _out(_cosine(dt, np.minimum(s, decay_steps), decay_steps, lr0, self.alpha))
        target = keras_cast(self.warmup_target, dt)
        warmup_steps = dt.type(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup_steps)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 when warmup_steps == 0: not selected
            warm = (target - lr0) * (s / warmup_steps) + lr0
        decay = _cosine(dt, s - warmup_steps, decay_steps, target, self.alpha)
        return _out(np.where(s < warmup_steps, warm, decay).astype(dt))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decay over ``first_decay_steps``, then restarts whose length is
    multiplied by ``t_mul`` and whose height by ``m_mul`` each time; ``alpha`` is the floor
    as a fraction of each period's height."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        owner = "CosineDecayRestarts"
        _number(owner, "initial_learning_rate", initial_learning_rate)
        _number(owner, "first_decay_steps", first_decay_steps, positive=True)
        _number(owner, "t_mul", t_mul, positive=True)
        _number(owner, "m_mul", m_mul, non_negative=True)
        _number(owner, "alpha", alpha)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    @property
    def t_mul(self):
        return self._t_mul

    @property
    def m_mul(self):
        return self._m_mul

    def __call__(self, step):
        dt = _compute_dtype(self.initial_learning_rate)
        lr0 = dt.type(self.initial_learning_rate)
        alpha = keras_cast(self.alpha, dt)
        t_mul = keras_cast(self._t_mul, dt)
        m_mul = keras_cast(self._m_mul, dt)
        one = dt.type(1.0)
        fraction = _step_array(step, dt) / dt.type(self.first_decay_steps)
        if t_mul == one:
            i_restart = np.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = np.floor(np.log(one - fraction * (one - t_mul)) / np.log(t_mul))
            sum_r = (one - np.power(t_mul, i_restart)) / (one - t_mul)
            fraction = (fraction - sum_r) / np.power(t_mul, i_restart)
        m_fac = np.power(m_mul, i_restart)
        cosine_decayed = dt.type(0.5) * m_fac * (one + np.cos(dt.type(math.pi) * fraction))
        decayed = (one - alpha) * cosine_decayed + alpha
        return _out(np.asarray(lr0 * decayed, dtype=dt))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                            InverseTimeDecay, CosineDecay, CosineDecayRestarts)}
REGISTRY = Registry("learning-rate schedule", _SCHEDULES, keras_module="keras.optimizers.schedules",
                    own_module="haibal_py.optimizers.schedules", keras_names=_SCHEDULES, error=ScheduleError,
                    what_class="learning-rate schedule")


def serialize(learning_rate_schedule) -> dict:
    """Keras' serialized form: ``{"module", "class_name", "config", "registered_name"}``."""
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise ScheduleError(f"serialize() takes a LearningRateSchedule, got {learning_rate_schedule!r}")
    return REGISTRY.serialize(learning_rate_schedule)


def deserialize(config, custom_objects=None) -> LearningRateSchedule:
    """The schedule a ``serialize`` dict (or ``{"class_name", "config"}``) describes."""
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ScheduleError(f"cannot deserialize a learning-rate schedule from {config!r}")
    return REGISTRY.with_objects(custom_objects).deserialize(config)
