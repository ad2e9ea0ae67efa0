"""The exp/log-only log1p, softplus and log_cosh used by the loss kernels, against ``math`` in ulp."""

import math

import numpy as np
import pytest

from haibal_py.numeric.kernels import fastmath

SCALES = (1e-9, 1e-4, 0.05, 0.5, 1.0, 4.0, 30.0, 300.0)


def ulp_error(got, exact, dtype):
    exact_rounded = np.asarray(exact).astype(dtype)
    ulp = np.spacing(np.abs(exact_rounded)).astype(np.float64)
    return np.max(np.abs(got.astype(np.float64) - exact) / np.maximum(ulp, np.finfo(dtype).tiny))


@pytest.mark.parametrize("dtype, limit", [(np.float32, 4), (np.float64, 6)])
def test_log_cosh_is_accurate_to_a_few_ulp(dtype, limit):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(4000) * s for s in SCALES]).astype(dtype)
    exact = np.array([abs(v) - math.log(2) + math.log1p(math.exp(-2 * abs(v))) if abs(v) > 1
                      else math.log1p(2 * math.sinh(v / 2) ** 2) for v in x.astype(np.float64)])
    assert ulp_error(fastmath.log_cosh(x), exact, dtype) <= limit


@pytest.mark.parametrize("dtype, limit", [(np.float32, 4), (np.float64, 3)])
def test_log1p_and_softplus_are_accurate(dtype, limit):
    rng = np.random.default_rng(1)
    z = np.concatenate([np.abs(rng.standard_normal(4000)) * s for s in SCALES]).astype(dtype)
    exact = np.array([math.log1p(v) for v in z.astype(np.float64)])
    assert ulp_error(fastmath.log1p(z), exact, dtype) <= limit
    x = np.concatenate([rng.standard_normal(4000) * s for s in SCALES]).astype(dtype)
    exact = np.array([max(v, 0) + math.log1p(math.exp(-abs(v))) for v in x.astype(np.float64)])
    assert ulp_error(fastmath.softplus(x), exact, dtype) <= limit


def test_special_values():
    got = fastmath.log_cosh(np.array([np.nan, np.inf, -np.inf, 0.0, -0.0], np.float32))
    assert np.isnan(got[0]) and got[1] == np.inf and got[2] == np.inf and got[3] == 0 and got[4] == 0
    got = fastmath.log1p(np.array([np.inf, 0.0, np.nan, -0.5]))
    assert got[0] == np.inf and got[1] == 0 and np.isnan(got[2]) and got[3] == pytest.approx(math.log(0.5))
    got = fastmath.softplus(np.array([-1e30, 1e30, np.nan], np.float32))
    assert got[0] == 0 and got[1] == np.float32(1e30) and np.isnan(got[2])


def test_series_coefficients_are_the_known_ones():
    assert fastmath._COEFS[:4] == pytest.approx([1 / 2, -1 / 12, 1 / 45, -17 / 2520], rel=1e-15)
