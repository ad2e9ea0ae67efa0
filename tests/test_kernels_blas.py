"""kernels/blas.py: products split over the engine's threads give NumPy's numbers."""

import numpy as np
import pytest

from haibal_py.numeric.kernels import blas, engine


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 2)
    monkeypatch.setattr(blas, "CHUNKS", 8)


@pytest.mark.parametrize("shape", [(300, 40, 50), (40, 50, 300), (7, 3, 5)])
def test_split_products_equal_numpy(two_cores, shape):
    rng = np.random.default_rng(0)
    m, k, n = shape
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    with blas.single_thread():
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-12)
        sa, sb = rng.normal(size=(6, m, k)), rng.normal(size=(6, k, n))
        np.testing.assert_allclose(blas.bmm(sa, sb), sa @ sb, rtol=1e-12)
