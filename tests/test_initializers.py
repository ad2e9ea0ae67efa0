"""Initializers: Keras' distributions, bounds, variances, fans, seeds, configs and ``get``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from haibal_py import initializers
from haibal_py.errors import HaibalValueError
from haibal_py.numeric import seeding
from haibal_py.numeric.initializers import TRUNCATED_NORMAL_STDDEV, RandomInitializer, compute_fans

ALL = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "LecunNormal",
       "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal",
       "VarianceScaling", "Zeros"]


def test_the_fifteen_keras_classes_and_their_snake_case_aliases_exist():
    for name in ALL:
        cls = getattr(initializers, name)
        snake = {"GlorotNormal": "glorot_normal", "GlorotUniform": "glorot_uniform", "HeNormal": "he_normal",
                 "HeUniform": "he_uniform", "LecunNormal": "lecun_normal", "LecunUniform": "lecun_uniform",
                 "RandomNormal": "random_normal", "RandomUniform": "random_uniform",
                 "TruncatedNormal": "truncated_normal", "VarianceScaling": "variance_scaling"}.get(name, name.lower())
        assert getattr(initializers, snake) is cls
        assert isinstance(initializers.get(snake), cls)
        assert isinstance(initializers.get(name), cls)


def test_compute_fans_dense_conv_vector_scalar_and_explicit_axes():
    assert compute_fans((5, 7)) == (5, 7)
    assert compute_fans((3, 3, 4, 8)) == (36, 72)  # conv2d kernel: receptive field 9
    assert compute_fans((2, 3, 3, 4, 8)) == (72, 144)
    assert compute_fans((6,)) == (6, 6)
    assert compute_fans(()) == (1, 1)
    assert compute_fans((4, 5, 6), input_axes=[0, 1], output_axes=[2]) == (20, 6)


@pytest.mark.parametrize("cls,scale,mode,dist", [
    ("GlorotUniform", 1.0, "fan_avg", "uniform"), ("GlorotNormal", 1.0, "fan_avg", "truncated_normal"),
    ("HeUniform", 2.0, "fan_in", "uniform"), ("HeNormal", 2.0, "fan_in", "truncated_normal"),
    ("LecunUniform", 1.0, "fan_in", "uniform"), ("LecunNormal", 1.0, "fan_in", "truncated_normal"),
])
def test_named_variance_scalings_have_keras_presets(cls, scale, mode, dist):
    init = getattr(initializers, cls)(seed=1)
    assert (init.scale, init.mode, init.distribution) == (scale, mode, dist)
    assert init.get_config() == {"seed": 1, "input_axes": None, "output_axes": None}


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("dist", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_variance_and_bounds(mode, dist):
    shape = (3, 3, 40, 60)  # conv kernel: fan_in 360, fan_out 540
    fan_in, fan_out = 360, 540
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = 2.0 / n
    w = initializers.VarianceScaling(scale=2.0, mode=mode, distribution=dist, seed=3)(shape, dtype="float64")
    assert w.shape == shape and w.dtype == np.float64
    assert abs(w.var() / var - 1) < 0.03
    assert abs(w.mean()) < 3 * math.sqrt(var / w.size) * 1.5
    if dist == "uniform":
        limit = math.sqrt(3 * var)
        assert w.min() >= -limit and w.max() <= limit and w.max() > 0.99 * limit
    if dist == "truncated_normal":
        bound = 2 * math.sqrt(var) / TRUNCATED_NORMAL_STDDEV
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound


def test_truncated_normal_constant_is_the_stddev_of_a_unit_normal_cut_at_two():
    # variance of N(0,1) truncated to [-2, 2]: 1 - 2*2*phi(2) / (Phi(2) - Phi(-2))
    phi2 = math.exp(-2) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert math.sqrt(1 - 4 * phi2 / mass) == pytest.approx(TRUNCATED_NORMAL_STDDEV, rel=1e-12)


def test_variance_scaling_normal_is_an_alias_and_bad_arguments_are_refused():
    assert initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"
    with pytest.raises(HaibalValueError, match="scale"):
        initializers.VarianceScaling(scale=0.0)
    with pytest.raises(HaibalValueError, match="mode.*'fan_sum'"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(HaibalValueError, match="distribution.*'gamma'"):
        initializers.VarianceScaling(distribution="gamma")


def test_random_normal_uniform_truncated_moments_and_bounds():
    n = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=0)((200, 500), "float64")
    assert n.mean() == pytest.approx(1.0, abs=0.02) and n.std() == pytest.approx(2.0, rel=0.01)
    u = initializers.RandomUniform(minval=-1.0, maxval=3.0, seed=0)((200, 500), "float64")
    assert u.min() >= -1.0 and u.max() < 3.0 and u.mean() == pytest.approx(1.0, abs=0.02)
    assert u.var() == pytest.approx(16 / 12, rel=0.02)
    t = initializers.TruncatedNormal(mean=0.5, stddev=0.1, seed=0)((200, 500), "float64")
    assert t.min() >= 0.5 - 0.2 and t.max() <= 0.5 + 0.2
    assert t.std() == pytest.approx(0.1 * TRUNCATED_NORMAL_STDDEV, rel=0.01)
    assert initializers.RandomNormal().get_config() == {"seed": None, "mean": 0.0, "stddev": 0.05}
    assert initializers.RandomUniform().get_config() == {"seed": None, "minval": -0.05, "maxval": 0.05}


def test_default_dtype_is_float32_and_float64_is_honoured_and_int_refused_for_random():
    assert initializers.GlorotUniform(seed=1)((3, 4)).dtype == np.float32
    assert initializers.GlorotUniform(seed=1)((3, 4), dtype="float64").dtype == np.float64
    assert initializers.Zeros()((2,), dtype="int32").dtype == np.int32
    with pytest.raises(HaibalValueError, match="float dtype.*int32"):
        initializers.HeNormal()((2, 2), dtype="int32")


def test_seeded_calls_repeat_unseeded_calls_differ_and_global_seed_reproduces():
    a = initializers.GlorotUniform(seed=7)
    assert np.array_equal(a((4, 5)), a((4, 5)))
    assert np.array_equal(a((4, 5)), initializers.GlorotUniform(seed=7)((4, 5)))
    assert not np.array_equal(a((4, 5)), initializers.GlorotUniform(seed=8)((4, 5)))
    u = initializers.GlorotUniform()
    assert not np.array_equal(u((4, 5)), u((4, 5)))
    g = initializers.RandomNormal(seed=np.random.default_rng(0))
    assert not np.array_equal(g((3,)), g((3,)))
    seeding.set_random_seed(11)
    x = initializers.HeNormal()((6, 6))
    seeding.set_random_seed(11)
    assert np.array_equal(x, initializers.HeNormal()((6, 6)))
    with pytest.raises(HaibalValueError, match="seed"):
        initializers.HeNormal(seed="one")


def test_constant_zeros_ones_identity():
    assert np.array_equal(initializers.Constant(2.5)((2, 3)), np.full((2, 3), 2.5, np.float32))
    assert initializers.Constant(2.5).get_config() == {"value": 2.5}
    assert not initializers.Zeros()((3,)).any()
    assert initializers.Ones()((2, 2)).sum() == 4
    eye = initializers.Identity(gain=3.0)((2, 3))
    assert np.array_equal(eye, np.array([[3, 0, 0], [0, 3, 0]], np.float32))
    with pytest.raises(HaibalValueError, match=r"2-D.*\(2, 2, 2\)"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(HaibalValueError, match="scalar"):
        initializers.Constant([1.0, 2.0])


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape):
    w = initializers.Orthogonal(gain=2.0, seed=5)(shape, "float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1]) / 2.0
    small = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-12)
    with pytest.raises(HaibalValueError, match="at least 2-D"):
        initializers.Orthogonal()((5,))


def test_get_accepts_names_dicts_instances_classes_callables_arrays_and_none():
    assert initializers.get(None) is None
    inst = initializers.HeUniform(seed=2)
    assert initializers.get(inst) is inst
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)
    fn = lambda shape, dtype=None: np.full(shape, 9.0)  # noqa: E731
    assert initializers.get(fn) is fn
    for alias, cls in [("normal", "RandomNormal"), ("uniform", "RandomUniform"), ("one", "Ones"),
                       ("zero", "Zeros")]:
        assert type(initializers.get(alias)).__name__ == cls
    arr = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(initializers.get(arr)((2, 3)), arr)
    with pytest.raises(HaibalValueError, match=r"\(2, 3\).*\(3, 2\)"):
        initializers.get(arr)((3, 2))
    with pytest.raises(HaibalValueError, match="unknown initializer 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(HaibalValueError, match="cannot interpret"):
        initializers.get(3.5)


@pytest.mark.parametrize("name", ALL)
def test_config_round_trip(name):
    cls = getattr(initializers, name)
    init = cls(seed=4) if issubclass(cls, RandomInitializer) else cls()
    cfg = initializers.serialize(init)
    assert cfg["class_name"] == name
    again = initializers.deserialize(cfg)
    assert type(again) is cls and again.get_config() == init.get_config()
    shape = (3, 4)
    assert np.array_equal(init(shape), again(shape))
    assert np.array_equal(init.clone()(shape), init(shape))
