"""The convolution kernels (haibal_py.numeric.kernels.conv) against convolutions written from
their definition in float64 (tests/conv_reference.py): forward, input and kernel gradients,
every padding mode, strides, dilation, groups, 1-D to 3-D, transposed and depthwise; the
cut into pieces and threads changes no number; float32 keeps its dtype."""

from __future__ import annotations

import numpy as np
import pytest

import conv_reference as ref
from haibal_py.errors import HaibalValueError
from haibal_py.numeric.kernels import conv as K
from haibal_py.numeric.kernels import engine, windows


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Pieces of a few output rows (bands of one image) shared by threads even for tiny inputs."""
    monkeypatch.setattr(windows, "PIECE_ELEMENTS", 16)
    monkeypatch.setattr(windows, "_MIN_PIECE_ROWS", 2)
    monkeypatch.setattr(K, "_PARALLEL_ELEMENTS", 0)
    if engine.THREADS < 2:
        monkeypatch.setattr(engine, "THREADS", 2)


def _rand(rng, *shape):
    return rng.uniform(-1, 1, shape)


def _pads(mode, in_size, kernel, strides, dilation):
    if mode == "valid":
        return tuple((0, 0) for _ in in_size)
    if mode == "causal":
        return tuple(((k - 1) * d, 0) for k, d in zip(kernel, dilation))
    return tuple(ref.tf_same_pads(n, k, s, d) for n, k, s, d in zip(in_size, kernel, strides, dilation))


# --------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("size", [1, 2, 5, 6, 7, 32])
@pytest.mark.parametrize("kernel,stride,dilation", [(1, 1, 1), (2, 2, 1), (3, 1, 1), (3, 2, 1), (3, 1, 2),
                                                    (4, 3, 1), (5, 1, 3)])
def test_same_padding_is_tensorflows(size, kernel, stride, dilation):
    eff = (kernel - 1) * dilation + 1
    assert K.same_padding(size, eff, stride) == ref.tf_same_pads(size, kernel, stride, dilation)
    geom = K.conv_geometry((size,), kernel, stride, dilation, "same")
    assert geom.out_size == (-(-size // stride),)


def test_geometry_of_each_padding_mode():
    g = K.conv_geometry((7, 6), (3, 2), (2, 1), (1, 1), "valid")
    assert g.out_size == (3, 5) and g.pads == ((0, 0), (0, 0))
    g = K.conv_geometry((7, 6), (3, 2), (2, 1), (1, 1), "SAME")
    assert g.out_size == (4, 6) and g.pads == ((1, 1), (0, 1))
    g = K.conv_geometry((10,), 3, 1, 2, "causal")
    assert g.out_size == (10,) and g.pads == ((4, 0),)
    g = K.conv_geometry((5, 5), 3, 1, 1, ((2, 0), (1, 3)))
    assert g.out_size == (5, 7) and g.padded == (7, 9) and g.taps == 9


def test_geometry_errors_name_the_sizes():
    with pytest.raises(HaibalValueError, match=r"does not fit the input of spatial shape \(4, 4\)"):
        K.conv_geometry((4, 4), (5, 5), 1, 1, "valid")
    with pytest.raises(HaibalValueError, match="'valid', 'same' or 'causal'"):
        K.conv_geometry((4,), 3, 1, 1, "full")
    with pytest.raises(HaibalValueError, match="non-negative"):
        K.conv_geometry((4,), 3, 1, 1, ((-1, 0),))
    with pytest.raises(HaibalValueError, match="must have 2 value"):
        K.conv_geometry((4, 4), (3, 3, 3), 1, 1, "valid")
    with pytest.raises(HaibalValueError, match="positive"):
        K.conv_geometry((4,), 3, 0, 1, "valid")


@pytest.mark.parametrize("n", [1, 4, 5])
@pytest.mark.parametrize("k,s,d", [(1, 1, 1), (2, 2, 1), (3, 2, 1), (3, 1, 2), (4, 2, 1), (3, 3, 1), (5, 2, 1)])
def test_transpose_lengths_are_keras(n, k, s, d):
    eff = (k - 1) * d + 1
    # Keras' deconv lengths, written out (keras/src/backend/common/backend_utils.py)
    assert K.transpose_output_length(n, k, s, "valid", None, d) == (n - 1) * s + max(eff, s)
    assert K.transpose_output_length(n, k, s, "same", None, d) == n * s
    for op in range(s):
        assert K.transpose_output_length(n, k, s, "valid", op, d) == (n - 1) * s + eff + op
        assert K.transpose_output_length(n, k, s, "same", op, d) == (n - 1) * s + eff % 2 + op


def test_transpose_geometry_refuses_what_tensorflow_cannot_invert():
    # "same", an even kernel and output_padding=0: (n - 1) * s does not map back to n
    with pytest.raises(HaibalValueError, match=r"does not map back to \(4,\)"):
        K.transpose_geometry((4,), 2, 2, 1, "same", 0)
    g = K.transpose_geometry((4, 5), (3, 3), 2, 1, "same")
    assert g.in_size == (8, 10) and g.out_size == (4, 5)


# --------------------------------------------------------------------------- convolution
CONV_CASES = [
    # (spatial, kernel, c_in, filters, strides, dilation, padding, groups)
    ((7, 6), (3, 3), 3, 4, (1, 1), (1, 1), "same", 1),
    ((7, 6), (3, 3), 3, 4, (1, 1), (1, 1), "valid", 1),
    ((8, 9), (3, 2), 2, 5, (2, 3), (1, 1), "same", 1),
    ((8, 9), (3, 3), 2, 3, (2, 2), (1, 1), "valid", 1),
    ((9, 8), (3, 2), 3, 2, (1, 1), (2, 3), "same", 1),
    ((9, 8), (2, 3), 2, 2, (1, 1), (2, 2), "valid", 1),
    ((7, 6), (3, 3), 4, 6, (1, 1), (1, 1), "same", 2),
    ((7, 7), (3, 3), 6, 3, (2, 2), (1, 1), "same", 3),
    ((5, 5), (1, 1), 3, 4, (1, 1), (1, 1), "valid", 1),
    ((6, 6), (1, 1), 3, 4, (2, 2), (1, 1), "valid", 1),
    ((11,), (3,), 3, 4, (1,), (1,), "same", 1),
    ((11,), (3,), 3, 4, (1,), (2,), "causal", 1),
    ((12,), (4,), 2, 3, (3,), (1,), "valid", 1),
    ((4, 5, 6), (2, 3, 2), 2, 3, (1, 2, 1), (1, 1, 1), "same", 1),
    ((5, 4, 5), (3, 2, 2), 2, 2, (1, 1, 1), (2, 1, 1), "valid", 1),
    # one input channel per group: the tap-major patches
    ((7, 6), (3, 3), 1, 4, (1, 1), (1, 1), "valid", 1),
    ((8, 9), (3, 2), 1, 3, (2, 3), (1, 1), "same", 1),
    ((9, 8), (3, 2), 1, 2, (1, 1), (2, 3), "same", 1),
    ((7, 7), (3, 3), 3, 6, (2, 1), (1, 1), "same", 3),
    ((11,), (3,), 1, 4, (1,), (2,), "causal", 1),
    ((4, 5, 6), (2, 3, 2), 1, 3, (1, 2, 1), (1, 1, 1), "same", 1),
]


def _conv_case(case, seed=0):
    spatial, kernel, c_in, filters, strides, dilation, padding, groups = case
    rng = np.random.default_rng(seed)
    x = _rand(rng, 2, *spatial, c_in)
    k = _rand(rng, *kernel, c_in // groups, filters)
    geom = K.conv_geometry(spatial, kernel, strides, dilation, padding)
    pads = _pads(padding, spatial, kernel, strides, dilation)
    assert geom.pads == pads
    return x, k, geom, pads, rng


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{c[0]}k{c[1]}s{c[4]}d{c[5]}{c[6]}g{c[7]}")
def test_conv_forward_and_backward_match_the_definition(case):
    x, k, geom, pads, rng = _conv_case(case)
    spatial, kernel, c_in, filters, strides, dilation, padding, groups = case
    bias = _rand(rng, filters)
    y = K.conv_forward(x, k, geom, groups, bias)
    expected = ref.conv(x, k, strides, dilation, pads, groups) + bias
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dy = _rand(rng, *y.shape)
    dx, dk, db = K.conv_backward(x, k, dy, geom, groups, need_db=True)
    rdx, rdk = ref.conv_grads(x, k, dy, strides, dilation, pads, groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dk, rdk, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, dy.reshape(-1, filters).sum(0), rtol=1e-12)
    np.testing.assert_allclose(K.conv_input_grad(dy, k, geom, groups), rdx, rtol=1e-12, atol=1e-12)
    none_dx, dk2, none_db = K.conv_backward(x, k, dy, geom, groups, need_dx=False)
    assert none_dx is None and none_db is None
    np.testing.assert_array_equal(dk2, dk)


@pytest.mark.parametrize("case", CONV_CASES[:9] + CONV_CASES[11:13] + CONV_CASES[15:19], ids=lambda c: f"{c[0]}{c[6]}s{c[4]}g{c[7]}")
def test_pieces_and_threads_change_no_number(case, tiny_pieces):
    spatial, kernel, c_in, filters, strides, dilation, padding, groups = case
    rng = np.random.default_rng(1)
    x = _rand(rng, 3, *spatial, c_in)
    k = _rand(rng, *kernel, c_in // groups, filters)
    geom = K.conv_geometry(spatial, kernel, strides, dilation, padding)
    pads = geom.pads
    assert len(windows.split_pieces(3, geom, geom.taps * c_in // groups)) > 3
    y = K.conv_forward(x, k, geom, groups)
    np.testing.assert_allclose(y, ref.conv(x, k, strides, dilation, pads, groups), rtol=1e-12, atol=1e-12)
    dy = _rand(rng, *y.shape)
    dx, dk, _ = K.conv_backward(x, k, dy, geom, groups)
    rdx, rdk = ref.conv_grads(x, k, dy, strides, dilation, pads, groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dk, rdk, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32_and_close_to_float64():
    x, k, geom, pads, rng = _conv_case(CONV_CASES[2])
    x32, k32 = x.astype(np.float32), k.astype(np.float32)
    y = K.conv_forward(x32, k32, geom)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, K.conv_forward(x, k, geom), rtol=1e-5, atol=1e-6)
    dy = _rand(rng, *y.shape)
    dx, dk, db = K.conv_backward(x32, k32, dy.astype(np.float32), geom, need_db=True)
    assert dx.dtype == dk.dtype == db.dtype == np.float32
    rdx, rdk = ref.conv_grads(x, k, dy, geom.strides, geom.dilation, pads)
    np.testing.assert_allclose(dx, rdx, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dk, rdk, rtol=1e-5, atol=1e-5)


def test_conv_refuses_arrays_that_do_not_fit_the_geometry():
    x, k, geom, _, _ = _conv_case(CONV_CASES[0])
    with pytest.raises(HaibalValueError, match=r"input of shape \(2, 6, 6, 3\) does not match"):
        K.conv_forward(x[:, :6], k, geom)
    with pytest.raises(HaibalValueError, match="kernel of shape"):
        K.conv_forward(x, k[:2], geom)
    with pytest.raises(HaibalValueError, match="groups=2"):
        K.conv_forward(x, k, geom, groups=2)
    with pytest.raises(HaibalValueError, match="output gradient of shape"):
        K.conv_backward(x, k, np.zeros((2, 7, 6, 5)), geom)


# --------------------------------------------------------------------------- transposed
TRANSPOSE_CASES = [
    # (spatial in, kernel, c_in, filters, strides, dilation, padding, output_padding)
    ((4, 5), (3, 3), 3, 2, (2, 2), (1, 1), "same", None),
    ((4, 5), (3, 3), 3, 2, (2, 2), (1, 1), "valid", None),
    ((4, 5), (3, 2), 3, 2, (2, 3), (1, 1), "valid", (1, 2)),
    ((4, 5), (4, 4), 2, 3, (2, 2), (1, 1), "same", (1, 1)),
    ((3, 4), (3, 3), 2, 2, (3, 3), (1, 1), "same", (2, 1)),
    ((4, 5), (3, 3), 3, 2, (1, 1), (1, 1), "same", None),
    ((4, 5), (3, 3), 3, 2, (1, 1), (2, 2), "valid", None),
    ((6,), (3,), 2, 3, (3,), (1,), "same", (2,)),
    ((5,), (2,), 2, 3, (2,), (1,), "valid", None),
    ((2, 3, 2), (2, 3, 2), 2, 2, (2, 1, 2), (1, 1, 1), "same", None),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=lambda c: f"{c[0]}k{c[1]}s{c[4]}d{c[5]}{c[6]}op{c[7]}")
def test_conv_transpose_matches_the_definition(case):
    spatial, kernel, c_in, filters, strides, dilation, padding, op = case
    rng = np.random.default_rng(2)
    x = _rand(rng, 2, *spatial, c_in)
    k = _rand(rng, *kernel, filters, c_in)
    b = _rand(rng, filters)
    geom = K.transpose_geometry(spatial, kernel, strides, dilation, padding, op)
    out = geom.in_size
    ops = op or (None,) * len(spatial)
    assert out == tuple(K.transpose_output_length(n, kk, s, padding, o, d)
                        for n, kk, s, o, d in zip(spatial, kernel, strides, ops, dilation))
    # the full output (n - 1) * s + dilated kernel, cropped as TensorFlow crops it
    full = [(n - 1) * s + (kk - 1) * d + 1 for n, kk, s, d in zip(spatial, kernel, strides, dilation)]
    before = [max(f - o, 0) // 2 if padding == "same" else 0 for f, o in zip(full, out)]
    pads = tuple((b0, max(f - o - b0, 0)) for b0, f, o in zip(before, full, out))
    expected = ref.conv_transpose(x, k, strides, dilation, pads, out) + b
    y = K.conv_transpose_forward(x, k, geom, b)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dy = _rand(rng, *y.shape)
    dx, dk, db = K.conv_transpose_backward(x, k, dy, geom, need_db=True)
    # the transposed convolution is linear in x and in k: <dy, T(v)> = <dx, v> for every v
    vx, vk = _rand(rng, *x.shape), _rand(rng, *k.shape)
    assert np.isclose(np.sum(dy * ref.conv_transpose(vx, k, strides, dilation, pads, out)), np.sum(dx * vx),
                      rtol=1e-12)
    assert np.isclose(np.sum(dy * ref.conv_transpose(x, vk, strides, dilation, pads, out)), np.sum(dk * vk),
                      rtol=1e-12)
    np.testing.assert_allclose(db, dy.reshape(-1, filters).sum(0), rtol=1e-12)


# --------------------------------------------------------------------------- depthwise
DEPTHWISE_CASES = [
    ((6, 7), (3, 3), 3, 1, (1, 1), (1, 1), "same"),
    ((6, 7), (3, 3), 3, 2, (2, 2), (1, 1), "same"),
    ((9, 7), (3, 2), 2, 3, (1, 1), (2, 1), "valid"),
    ((9,), (3,), 3, 2, (1,), (1,), "same"),
    ((9,), (4,), 2, 1, (3,), (1,), "valid"),
]


@pytest.mark.parametrize("case", DEPTHWISE_CASES, ids=lambda c: f"{c[0]}k{c[1]}dm{c[3]}s{c[4]}d{c[5]}{c[6]}")
@pytest.mark.parametrize("pieces", ["whole", "tiny"])
def test_depthwise_matches_the_definition(case, pieces, request):
    if pieces == "tiny":
        request.getfixturevalue("tiny_pieces")
    spatial, kernel, c, dm, strides, dilation, padding = case
    rng = np.random.default_rng(3)
    x = _rand(rng, 2, *spatial, c)
    k = _rand(rng, *kernel, c, dm)
    geom = K.conv_geometry(spatial, kernel, strides, dilation, padding)
    y = K.depthwise_forward(x, k, geom)
    np.testing.assert_allclose(y, ref.depthwise(x, k, strides, dilation, geom.pads), rtol=1e-12, atol=1e-12)
    dy = _rand(rng, *y.shape)
    dx, dk = K.depthwise_backward(x, k, dy, geom)
    # depthwise = a grouped convolution with one group per channel (kernel (..., 1, c * dm))
    grouped = k.reshape(*kernel, 1, c * dm)
    rdx, rdk = ref.conv_grads(x, grouped, dy, strides, dilation, geom.pads, groups=c)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dk, rdk.reshape(k.shape), rtol=1e-12, atol=1e-12)
    only_dx, no_dk = K.depthwise_backward(x, k, dy, geom, need_dk=False)
    np.testing.assert_array_equal(only_dx, dx)
    assert no_dk is None


def test_depthwise_refuses_a_kernel_for_other_channels():
    geom = K.conv_geometry((5, 5), (3, 3), 1, 1, "same")
    with pytest.raises(HaibalValueError, match="input with 3 channels"):
        K.depthwise_forward(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 4, 1)), geom)


# --------------------------------------------------------------------------- BLAS threads
def test_run_pieces_gives_every_piece_to_exactly_one_thread():
    seen = []

    def work(shared):
        mine = list(shared)
        seen.extend(mine)
        return len(mine)

    counts = engine.share(work, list(range(50)), 2)
    assert sorted(seen) == list(range(50)) and sum(counts) == 50


def test_a_kernel_called_from_a_worker_thread_runs_alone(tiny_pieces):
    """Pieces are shared with the engine's worker threads; a kernel called from one of them runs its
    pieces there alone (waiting for the other workers could wait for a worker that waits too)."""
    import threading

    def work(shared):
        return [(p, threading.current_thread().name) for p in shared]

    def from_worker():
        return engine.share(work, list(range(8)), 2)

    results = engine.submit(from_worker).result(timeout=60)
    assert len(results) == 1 and [p for p, _ in results[0]] == list(range(8))
    assert len({name for _, name in results[0]}) == 1
    x, k, geom, pads, _ = _conv_case(CONV_CASES[0])
    expected = ref.conv(x, k, geom.strides, geom.dilation, pads)
    jobs = [engine.submit(K.conv_forward, x, k, geom) for _ in range(2 * engine.THREADS)]
    for job in jobs:
        np.testing.assert_allclose(job.result(timeout=60), expected, rtol=1e-12, atol=1e-12)


def test_threads_give_the_same_bits_on_every_run(tiny_pieces):
    """Kernel gradients are summed in piece order and bands that add into shared input rows run
    in separate phases: whichever thread takes which piece, the floating-point result is the same."""
    rng = np.random.default_rng(5)
    x = _rand(rng, 3, 9, 8, 4).astype(np.float32)
    k = _rand(rng, 3, 3, 4, 5).astype(np.float32)
    geom = K.conv_geometry((9, 8), (3, 3), 2, 1, "same")  # stride 2: the input gradient is scattered
    dy = _rand(rng, 3, *geom.out_size, 5).astype(np.float32)
    dw = _rand(rng, 3, 3, 4, 2).astype(np.float32)
    dgeom = K.conv_geometry((9, 8), (3, 3), 1, 1, "same")
    ddy = _rand(rng, 3, 9, 8, 8).astype(np.float32)
    first = K.conv_backward(x, k, dy, geom, need_db=True), K.depthwise_backward(x, dw, ddy, dgeom)
    for _ in range(8):
        again = K.conv_backward(x, k, dy, geom, need_db=True), K.depthwise_backward(x, dw, ddy, dgeom)
        for a, b in zip(first[0] + first[1], again[0] + again[1]):
            np.testing.assert_array_equal(a, b)
