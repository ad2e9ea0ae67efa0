"""Weight initializers: Keras 3's ``keras.initializers`` in NumPy.

``init(shape, dtype=None)`` returns a new C-contiguous array (``dtype`` None is
``config.floatx()``, float32 unless set, as Keras). The distributions, bounds and
variances are Keras'; the random numbers are NumPy's (``default_rng``), not TensorFlow's.

Seeds, as in Keras: an initializer built with an int ``seed`` gives the same numbers on
every call. A ``numpy.random.Generator`` as ``seed`` (Keras' ``SeedGenerator``) gives new
numbers on each call. Without a seed, every call draws new numbers from
``seeding.global_rng()`` (``seeding.set_random_seed`` makes that reproducible).
Keras 3 differs here: an unseeded instance picks a random seed once and then repeats
its numbers on every call, so one unseeded instance shared by two layers gives them
identical weights; haibal-py draws fresh numbers instead, which is what a user sharing
an initializer expects.

Fans (``compute_fans``) are Keras': a 1-D shape has ``fan_in = fan_out = shape[0]``;
a dense kernel ``(in, out)``; a convolution kernel ``(*kernel_size, in, out)`` multiplies
both by the receptive field ``prod(kernel_size)``; ``input_axes``/``output_axes`` name
the axes explicitly.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..errors import HaibalValueError
from .config import floatx
from .keras_api import Registry, snake_case
from .seeding import check_seed, global_rng

__all__ = [
    "Initializer", "Constant", "Zeros", "Ones", "Identity", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
    "LecunNormal", "LecunUniform", "Orthogonal",
    "constant", "zeros", "ones", "identity", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "orthogonal",
    "compute_fans", "get", "serialize", "deserialize",
]

#: Keras' truncated normal (cut at 2 standard deviations) has this standard deviation
#: for a unit normal: VarianceScaling divides by it to keep the variance it promises.
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


def _shape(shape, who: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise HaibalValueError(f"{who}: shape must be a tuple of ints, got {shape!r}") from None
    for d in dims:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0:
            raise HaibalValueError(f"{who}: shape must hold non-negative ints, got {shape!r}")
    return tuple(int(d) for d in dims)


def _dtype(dtype, who: str, float_only: bool) -> np.dtype:
    try:
        dt = np.dtype(floatx() if dtype is None else dtype)
    except TypeError:
        raise HaibalValueError(f"{who}: unknown dtype {dtype!r}") from None
    if float_only and dt.kind != "f":
        raise HaibalValueError(f"{who}: a random initializer needs a float dtype, got {dt.name}")
    if dt.kind not in "biuf":
        raise HaibalValueError(f"{who}: dtype must be numeric, got {dt.name}")
    return dt


def _number(value, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise HaibalValueError(f"{who}: {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise HaibalValueError(f"{who}: {name} must be finite, got {value!r}")
    return float(value)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them (see the module docstring)."""
    shape = _shape(shape, "compute_fans")
    if input_axes is not None and output_axes is not None:
        try:
            fan_in = math.prod(shape[a] for a in input_axes)
            fan_out = math.prod(shape[a] for a in output_axes)
        except (IndexError, TypeError):
            raise HaibalValueError(f"compute_fans: input_axes={input_axes!r} / output_axes={output_axes!r} "
                                   f"do not fit shape {shape}") from None
        return int(fan_in), int(fan_out)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: ``__call__(shape, dtype=None)`` returns an array; configs round-trip."""

    def __call__(self, shape, dtype=None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement __call__")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)

    def clone(self) -> "Initializer":
        return type(self).from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------------------- constants
class Constant(Initializer):
    """Every element is ``value`` (a scalar)."""

    def __init__(self, value=0.0):
        if np.ndim(value) != 0:
            raise HaibalValueError(f"Constant: value must be a scalar, got an array of shape {np.shape(value)}")
        self.value = value.item() if isinstance(value, (np.generic, np.ndarray)) else value
        _number(self.value, "value", "Constant")

    def __call__(self, shape, dtype=None):
        return np.full(_shape(shape, "Constant"), self.value, dtype=_dtype(dtype, "Constant", False))

    def get_config(self):
        return {"value": self.value}


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape, "Zeros"), dtype=_dtype(dtype, "Zeros", False))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape, "Ones"), dtype=_dtype(dtype, "Ones", False))


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; rectangular allowed, as ``eye``)."""

    def __init__(self, gain=1.0):
        self.gain = _number(gain, "gain", "Identity")

    def __call__(self, shape, dtype=None):
        shape = _shape(shape, "Identity")
        if len(shape) != 2:
            raise HaibalValueError(f"Identity: the identity initializer makes 2-D matrices only, "
                                   f"got shape {shape} of rank {len(shape)}")
        dt = _dtype(dtype, "Identity", False)
        return (self.gain * np.eye(*shape)).astype(dt)

    def get_config(self):
        return {"gain": self.gain}


# ---------------------------------------------------------------------------- random
class RandomInitializer(Initializer):
    """Base of the random initializers: holds the seed (see the module docstring)."""

    def __init__(self, seed=None):
        self.seed = check_seed(seed, f"{type(self).__name__}: seed")

    def _rng(self) -> np.random.Generator:
        if self.seed is None:
            return global_rng()
        if isinstance(self.seed, np.random.Generator):
            return self.seed
        return np.random.default_rng(self.seed)

    def get_config(self):
        # a Generator's state is not a config value: its config says "unseeded"
        return {"seed": self.seed if isinstance(self.seed, int) else None}


def _normal(rng, shape, dt) -> np.ndarray:
    if dt in (np.float32, np.float64):
        return rng.standard_normal(shape, dtype=dt)
    return rng.standard_normal(shape).astype(dt)


def _unit_uniform(rng, shape, dt) -> np.ndarray:
    if dt in (np.float32, np.float64):
        return rng.random(shape, dtype=dt)
    return rng.random(shape).astype(dt)


def _truncated_unit_normal(rng, shape, dt) -> np.ndarray:
    """Standard normal values with every value outside [-2, 2] drawn again (Keras' truncation)."""
    out = _normal(rng, shape, dt)
    flat = out.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        flat[bad] = _normal(rng, bad.size, dt)
        bad = bad[np.abs(flat[bad]) > 2]
    return out


class RandomNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _number(mean, "mean", "RandomNormal")
        self.stddev = _number(stddev, "stddev", "RandomNormal")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype, "RandomNormal", True)
        z = _normal(self._rng(), _shape(shape, "RandomNormal"), dt)
        return z * dt.type(self.stddev) + dt.type(self.mean)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal values with ``mean`` and ``stddev``, redrawn when more than 2 stddev from the mean."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = _number(mean, "mean", "TruncatedNormal")
        self.stddev = _number(stddev, "stddev", "TruncatedNormal")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype, "TruncatedNormal", True)
        z = _truncated_unit_normal(self._rng(), _shape(shape, "TruncatedNormal"), dt)
        return z * dt.type(self.stddev) + dt.type(self.mean)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform values in ``[minval, maxval)``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = _number(minval, "minval", "RandomUniform")
        self.maxval = _number(maxval, "maxval", "RandomUniform")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dt = _dtype(dtype, "RandomUniform", True)
        u = _unit_uniform(self._rng(), _shape(shape, "RandomUniform"), dt)
        return u * dt.type(self.maxval - self.minval) + dt.type(self.minval)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Values of variance ``scale / n`` (``n`` per ``mode``: fan_in, fan_out or their mean).

    ``truncated_normal`` (``"normal"`` is an alias, as in Keras): a normal cut at 2 stddev,
    widened by 1/0.8796... so that the truncated values keep that variance;
    ``untruncated_normal``: a normal of stddev ``sqrt(scale / n)``; ``uniform``: uniform in
    ``[-limit, limit]`` with ``limit = sqrt(3 scale / n)``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        who = type(self).__name__
        scale = _number(scale, "scale", who)
        if scale <= 0:
            raise HaibalValueError(f"{who}: scale must be a positive float, got {scale!r}")
        if mode not in _MODES:
            raise HaibalValueError(f"{who}: mode must be one of {', '.join(_MODES)}; got {mode!r}")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        if dist == "normal":
            dist = "truncated_normal"
        if dist not in _DISTRIBUTIONS:
            raise HaibalValueError(f"{who}: distribution must be one of {', '.join(_DISTRIBUTIONS)}; "
                                   f"got {distribution!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = dist
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed)

    def variance(self, shape) -> float:
        """The variance of the values this initializer draws for ``shape``."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def __call__(self, shape, dtype=None):
        who = type(self).__name__
        dt = _dtype(dtype, who, True)
        shape = _shape(shape, who)
        var = self.variance(shape)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            return _truncated_unit_normal(rng, shape, dt) * dt.type(math.sqrt(var) / TRUNCATED_NORMAL_STDDEV)
        if self.distribution == "untruncated_normal":
            return _normal(rng, shape, dt) * dt.type(math.sqrt(var))
        limit = math.sqrt(3.0 * var)
        return _unit_uniform(rng, shape, dt) * dt.type(2 * limit) - dt.type(limit)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by the class."""

    _preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        scale, mode, distribution = self._preset
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, int) else None,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Xavier uniform: ``limit = sqrt(6 / (fan_in + fan_out))``."""

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Xavier normal: truncated normal, ``stddev = sqrt(2 / (fan_in + fan_out))``."""

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """``limit = sqrt(6 / fan_in)``."""

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal, ``stddev = sqrt(2 / fan_in)``."""

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """``limit = sqrt(3 / fan_in)``."""

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal, ``stddev = sqrt(1 / fan_in)``."""

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """``gain`` times an orthogonal matrix (Saxe et al.): the Q of a normal matrix's QR.

    Shapes of rank > 2 are made as a ``(prod(shape[:-1]), shape[-1])`` matrix, then reshaped;
    with fewer rows than columns the rows are orthonormal, otherwise the columns.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = _number(gain, "gain", "Orthogonal")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _shape(shape, "Orthogonal")
        dt = _dtype(dtype, "Orthogonal", True)
        if len(shape) < 2:
            raise HaibalValueError(f"Orthogonal: the tensor to initialize must be at least 2-D, "
                                   f"got shape {shape} of rank {len(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # sign(0) taken as +1: Q stays orthogonal
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q).reshape(shape), dtype=dt)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# ---------------------------------------------------------------------------- lookup
_CLASSES = [Constant, Zeros, Ones, Identity, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal,
            LecunUniform, Orthogonal]

# Keras' snake_case aliases (keras.initializers.glorot_uniform ... are the classes themselves)
constant, zeros, ones, identity = Constant, Zeros, Ones, Identity
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_normal, glorot_uniform = VarianceScaling, GlorotNormal, GlorotUniform
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform
orthogonal = Orthogonal


_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({snake_case(cls.__name__): cls for cls in _CLASSES})
_BY_NAME.update({"normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
                 "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal})


REGISTRY = Registry("initializer", _BY_NAME, keras_module="keras.initializers",
                    own_module="haibal_py.initializers", short_form=True)


def serialize(initializer) -> dict:
    """``{"class_name": ..., "config": {...}}`` for an ``Initializer``."""
    if not isinstance(initializer, Initializer):
        raise HaibalValueError(f"cannot serialize {initializer!r}: not an Initializer")
    return REGISTRY.serialize(initializer)


def deserialize(config, custom_objects=None) -> Initializer:
    """The initializer a ``serialize`` dict (or a name, as ``get``) describes; ``custom_objects``
    maps extra class names to classes, as in Keras."""
    return REGISTRY.with_objects(custom_objects).deserialize(config)


def _array_initializer(value: np.ndarray):
    def initialize(shape, dtype=None):
        shape = _shape(shape, "array initializer")
        if shape != value.shape:
            raise HaibalValueError(f"array initializer: the array has shape {value.shape}, "
                                   f"the weight needs shape {shape}")
        return np.array(value, dtype=_dtype(dtype, "array initializer", False))
    return initialize


def get(identifier):
    """An initializer from a name (``"glorot_uniform"``, ``"HeNormal"``, ``"zeros"`` ...), a
    ``serialize`` dict, an instance, a class, a callable ``(shape, dtype=None)`` or an array
    (used as the value, shape-checked); ``None`` gives ``None`` (as ``keras.initializers.get``)."""
    if isinstance(identifier, (np.ndarray, np.generic)):
        return _array_initializer(np.asarray(identifier))
    if inspect.isclass(identifier):
        if not issubclass(identifier, Initializer):
            raise HaibalValueError(f"cannot interpret {identifier!r} as an initializer")
        return identifier()
    return REGISTRY.get(identifier)
