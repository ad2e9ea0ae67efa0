"""The pooling kernels (haibal_py.numeric.kernels.pooling) against poolings written from their
definition (tests/conv_reference.py): max and average, "valid" and "same", overlapping,
tiling and gapped windows, 1-D to 3-D, ties (a window's first maximum takes the gradient, or
every tied maximum), the training tape, pieces and threads, and the global poolings."""

from __future__ import annotations

import numpy as np
import pytest

import conv_reference as ref
from haibal_py.errors import HaibalValueError
from haibal_py.numeric.kernels import engine
from haibal_py.numeric.kernels import pooling as P
from haibal_py.numeric.kernels import windows
from haibal_py.numeric.kernels.windows import conv_geometry


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Pieces of a few output rows (bands of one image) shared by threads even for tiny inputs."""
    monkeypatch.setattr(windows, "PIECE_ELEMENTS", 8)
    monkeypatch.setattr(windows, "_MIN_PIECE_ROWS", 2)
    monkeypatch.setattr(P, "_PARALLEL_ELEMENTS", 0)
    if engine.THREADS < 2:
        monkeypatch.setattr(engine, "THREADS", 2)


def _input(rng, shape, ties: bool):
    """Uniform values, or (``ties``) a ReLU of halves: many windows hold several equal maxima."""
    x = rng.uniform(-1, 1, shape)
    return np.round(np.maximum(x, 0) * 2) / 2 if ties else x


CASES = [
    # (spatial, pool, strides, padding)
    ((6, 6), (2, 2), (2, 2), "valid"),  # tiling windows
    ((7, 6), (2, 2), (2, 2), "valid"),  # a last row no window reads
    ((7, 6), (2, 2), (2, 2), "same"),
    ((7, 6), (3, 3), (2, 2), "same"),  # overlapping, padded
    ((7, 6), (3, 3), (1, 1), "same"),
    ((9, 10), (3, 3), (3, 3), "valid"),  # three taps per fold
    ((9, 10), (3, 2), (4, 3), "valid"),  # gaps between windows
    ((7, 6), (2, 3), (3, 2), "valid"),
    ((9,), (3,), (2,), "same"),
    ((10,), (4,), (4,), "valid"),
    ((8,), (2,), (1,), "valid"),
    ((4, 5, 6), (2, 2, 3), (1, 2, 2), "same"),
    ((4, 6, 6), (2, 3, 2), (2, 3, 2), "valid"),
]


def _geometry(case):
    spatial, pool, strides, padding = case
    geom = conv_geometry(spatial, pool, strides, 1, padding)
    if padding == "same":
        assert geom.pads == tuple(ref.tf_same_pads(n, k, s) for n, k, s in zip(spatial, pool, strides))
    return geom


def _ids(c):
    return f"{c[0]}p{c[1]}s{c[2]}{c[3]}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_matches_the_definition(case, ties):
    geom = _geometry(case)
    rng = np.random.default_rng(0)
    x = _input(rng, (2,) + case[0] + (3,), ties)
    y = P.max_pool_forward(x, geom)
    np.testing.assert_array_equal(y, ref.pool(x, case[1], case[2], geom.pads, "max"))
    dy = rng.uniform(-1, 1, y.shape)
    for mode in ("first", "all"):
        dx = P.max_pool_backward(x, y, dy, geom, ties=mode)
        expected = ref.pool_grad(x, dy, case[1], case[2], geom.pads, "max", ties=mode)
        np.testing.assert_allclose(dx, expected, rtol=1e-15, atol=1e-15, err_msg=mode)
    y2, tape = P.max_pool_forward(x, geom, keep=True)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(P.max_pool_backward(x, y, dy, geom, tape=tape),
                                  P.max_pool_backward(x, y, dy, geom))


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_average_pool_matches_the_definition(case):
    geom = _geometry(case)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2,) + case[0] + (3,))
    y = P.avg_pool_forward(x, geom)
    np.testing.assert_allclose(y, ref.pool(x, case[1], case[2], geom.pads, "average"), rtol=1e-14)
    dy = rng.uniform(-1, 1, y.shape)
    np.testing.assert_allclose(P.avg_pool_backward(dy, geom, x.shape),
                               ref.pool_grad(x, dy, case[1], case[2], geom.pads, "average"), rtol=1e-14,
                               atol=1e-15)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 2, 3, 5, 6, 8, 11)], ids=_ids)
def test_pieces_and_threads_change_no_number(case, tiny_pieces):
    geom = _geometry(case)
    rng = np.random.default_rng(2)
    x = _input(rng, (3,) + case[0] + (2,), ties=True)
    assert len(windows.split_pieces(3, geom, geom.taps * 2)) > 3
    y, tape = P.max_pool_forward(x, geom, keep=True)
    np.testing.assert_array_equal(y, ref.pool(x, case[1], case[2], geom.pads, "max"))
    dy = rng.uniform(-1, 1, y.shape)
    expected = ref.pool_grad(x, dy, case[1], case[2], geom.pads, "max")
    np.testing.assert_allclose(P.max_pool_backward(x, y, dy, geom), expected, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(P.max_pool_backward(x, y, dy, geom, tape=tape), expected, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(P.avg_pool_forward(x, geom), ref.pool(x, case[1], case[2], geom.pads, "average"),
                               rtol=1e-14)
    np.testing.assert_allclose(P.avg_pool_backward(dy, geom, x.shape),
                               ref.pool_grad(x, dy, case[1], case[2], geom.pads, "average"), rtol=1e-14,
                               atol=1e-15)


def test_first_maximum_in_row_major_order_takes_the_gradient():
    # one 2 x 2 window holding 5 at (0, 1) and (1, 0): the first in row-major order is (0, 1)
    x = np.array([1.0, 5.0, 5.0, 0.0]).reshape(1, 2, 2, 1)
    geom = conv_geometry((2, 2), (2, 2), 2, 1, "valid")
    y = P.max_pool_forward(x, geom)
    dx = P.max_pool_backward(x, y, np.ones_like(y), geom)
    np.testing.assert_array_equal(dx.reshape(2, 2), [[0, 1], [0, 0]])
    dx_all = P.max_pool_backward(x, y, np.ones_like(y), geom, ties="all")
    np.testing.assert_array_equal(dx_all.reshape(2, 2), [[0, 1], [1, 0]])


def test_float32_keeps_its_dtype():
    geom = conv_geometry((6, 6), (2, 2), 2, 1, "valid")
    x = np.random.default_rng(3).uniform(-1, 1, (2, 6, 6, 3)).astype(np.float32)
    y, tape = P.max_pool_forward(x, geom, keep=True)
    dy = np.ones_like(y)
    assert y.dtype == P.max_pool_backward(x, y, dy, geom, tape=tape).dtype == np.float32
    assert P.avg_pool_forward(x, geom).dtype == P.avg_pool_backward(dy, geom, x.shape).dtype == np.float32


def test_window_counts_leave_out_the_padding():
    geom = conv_geometry((5,), 3, 2, 1, "same")  # pads (1, 1): windows [-1, 2), [1, 4), [3, 6)
    np.testing.assert_array_equal(P.window_counts(geom), [2, 3, 2])
    geom = conv_geometry((4, 4), (2, 2), 1, 1, "same")  # pads (0, 1) on both axes
    np.testing.assert_array_equal(P.window_counts(geom)[-1], [2, 2, 2, 1])


def test_pooling_refuses_mismatched_arrays():
    geom = conv_geometry((6, 6), (2, 2), 2, 1, "valid")
    with pytest.raises(HaibalValueError, match=r"input of shape \(1, 5, 6, 1\) does not match"):
        P.max_pool_forward(np.zeros((1, 5, 6, 1)), geom)
    x = np.zeros((1, 6, 6, 1))
    with pytest.raises(HaibalValueError, match="ties must be"):
        P.max_pool_backward(x, np.zeros((1, 3, 3, 1)), np.zeros((1, 3, 3, 1)), geom, ties="last")
    with pytest.raises(HaibalValueError, match="output gradient of shape"):
        P.max_pool_backward(x, np.zeros((1, 3, 3, 1)), np.zeros((1, 3, 2, 1)), geom)
    with pytest.raises(HaibalValueError, match="output gradient of shape"):
        P.avg_pool_backward(np.zeros((1, 2, 3, 1)), geom, x.shape)


# --------------------------------------------------------------------------- global pooling
@pytest.mark.parametrize("shape", [(2, 5, 3), (2, 4, 3, 2), (2, 2, 3, 2, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(shape, keepdims):
    rng = np.random.default_rng(4)
    x = _input(rng, shape, ties=True)
    axes = tuple(range(1, len(shape) - 1))
    for mode, fn in (("average", np.mean), ("max", np.max)):
        y = P.global_pool_forward(x, mode, keepdims)
        np.testing.assert_allclose(y, fn(x, axis=axes, keepdims=keepdims), rtol=1e-15)
    dy = rng.uniform(-1, 1, (shape[0], shape[-1]))
    dy_in = dy.reshape((shape[0],) + (1,) * len(axes) + (shape[-1],)) if keepdims else dy
    n = np.prod(shape[1:-1])
    np.testing.assert_allclose(P.global_avg_backward(dy_in, shape), np.broadcast_to(dy_in.reshape(
        (shape[0],) + (1,) * len(axes) + (shape[-1],)) / n, shape), rtol=1e-15)
    # a global max shares the gradient equally among tied maxima (TensorFlow's reduce_max)
    y = P.global_pool_forward(x, "max", keepdims)
    dx = P.global_max_backward(x, y, dy_in)
    for b in range(shape[0]):
        for c in range(shape[-1]):
            xc = x[b, ..., c]
            hit = xc == xc.max()
            np.testing.assert_allclose(dx[b, ..., c], hit * dy[b, c] / hit.sum(), rtol=1e-15)


def test_global_pooling_refuses_unknown_modes():
    with pytest.raises(HaibalValueError, match="'average' or 'max'"):
        P.global_pool_forward(np.zeros((1, 2, 2)), "min")


def test_threads_give_the_same_bits_on_every_run(tiny_pieces):
    geom = conv_geometry((13, 6), (3, 3), (2, 2), 1, "same")  # overlapping windows: bands share rows
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (3, 13, 6, 2)).astype(np.float32)
    y = P.max_pool_forward(x, geom)
    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    first = P.max_pool_backward(x, y, dy, geom), P.avg_pool_backward(dy, geom, x.shape)
    for _ in range(8):
        again = P.max_pool_backward(x, y, dy, geom), P.avg_pool_backward(dy, geom, x.shape)
        np.testing.assert_array_equal(first[0], again[0])
        np.testing.assert_array_equal(first[1], again[1])
