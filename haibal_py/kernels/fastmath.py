"""``log1p``, ``softplus`` and ``log(cosh)`` built on NumPy's vectorised ``exp``/``log``.

NumPy evaluates ``exp`` and ``log`` with SIMD code, but ``log1p``, ``expm1`` and ``sinh``
with scalar libm calls, 5 to 10 times slower. The classic corrections keep the accuracy
of the scalar functions (a few ulp) with only ``exp``/``log``:

- Goldberg: ``log1p(z) = log(w) * z / (w - 1)`` with ``w = 1 + z`` (``z`` itself when ``w == 1``);
- Kahan:    ``expm1(h) = (u - 1) * h / log(u)`` with ``u = exp(h)`` (``h`` itself when ``u == 1``).
"""

from __future__ import annotations

import numpy as np


def log1p(z: np.ndarray) -> np.ndarray:
    """``log(1 + z)`` for ``z > -1``, accurate for tiny ``z``."""
    w = z + z.dtype.type(1)
    d = w - z.dtype.type(1)
    out = np.log(w)
    small = d == 0
    np.divide(z, d, out=d, where=~small)
    out *= d
    if small.any():
        out[small] = z[small]
    return out


def log1p_inexact_free(z: np.ndarray) -> np.ndarray:
    """``log1p(z)`` where ``1 + z`` is known never to round to 1 (e.g. ``z = -c``, ``c >= 1e-7``)."""
    w = z + z.dtype.type(1)
    out = np.log(w)
    out *= z / (w - z.dtype.type(1))
    return out


def softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``, never overflowing."""
    out = log1p(np.exp(-np.abs(x)))
    out += np.maximum(x, x.dtype.type(0))
    return out


def log_cosh(x: np.ndarray) -> np.ndarray:
    """``log(cosh(x))``, exact near 0 (``~x^2/2``) and for large ``|x|`` (``|x| - log 2``).

    ``log cosh x = log1p(2 sinh(x/2)^2)`` with ``2 sinh h = expm1(h) + expm1(h) / exp(h)``;
    where that overflows (``|x|`` above ~89 in float32), ``|x| - log 2 + log1p(exp(-2|x|))``.
    """
    one = x.dtype.type(1)
    h = np.abs(x)
    h *= x.dtype.type(0.5)
    u = np.exp(h)
    em1 = u - one
    tiny = em1 == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(h, np.log(u), out=np.ones_like(h), where=~tiny)
        em1 *= ratio
        if tiny.any():
            em1[tiny] = h[tiny]
        two_sinh = em1 / u
        two_sinh += em1
        z = two_sinh
        z *= two_sinh
        z *= x.dtype.type(0.5)
        out = log1p(z)
    bad = ~np.isfinite(out) & ~np.isnan(x)
    if bad.any():
        a = np.abs(x[bad])
        out[bad] = a - x.dtype.type(np.log(2.0)) + np.log1p(np.exp(-2 * a))
    return out
