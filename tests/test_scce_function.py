"""sparse_categorical_crossentropy: documentation numbers, semantics, dtypes, errors, properties.

Expected values come from the tf.keras documentation (float32, bit for bit where it prints
them) or are derived by hand in float64 from TensorFlow's formula: ``q = p / sum(p)``,
``c = clip(q, 1e-7, 1 - 1e-7)``, ``loss = log(sum(c)) - log(c[label])``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import haibal_py.numeric.kernels.sparse_categorical as kernel
import haibal_py.numeric.kernels.engine as engine
from haibal_py import HaibalValueError
from haibal_py import losses, metrics
from haibal_py.losses import sparse_categorical_crossentropy as scce

EPS = 1e-7

DOC_TRUE = [1, 2]
DOC_PRED = [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
DOC4_TRUE = [[[0, 2], [-1, -1]], [[0, 2], [-1, -1]]]
DOC4_PRED = [[[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
             [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]]]


# ---------------------------------------------------------------- naive float64 references
def ref_probs(labels, pred, axis=-1):
    """TensorFlow's formula step by step in float64: divide, clip, log, log-softmax."""
    p = np.moveaxis(np.asarray(pred, dtype=np.float64), axis, -1)
    q = p / p.sum(-1, keepdims=True)
    logp = np.log(np.clip(q, EPS, 1 - EPS))
    m = logp.max(-1, keepdims=True)
    lse = np.log(np.exp(logp - m).sum(-1)) + m[..., 0]
    return lse - np.take_along_axis(logp, np.asarray(labels)[..., None].astype(np.intp), -1)[..., 0]


def ref_logits(labels, logits, axis=-1):
    z = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    m = z.max(-1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(-1)) + m[..., 0]
    return lse - np.take_along_axis(z, np.asarray(labels)[..., None].astype(np.intp), -1)[..., 0]


# ---------------------------------------------------------------- documentation examples
def test_doc_example_lists():
    loss = scce(DOC_TRUE, DOC_PRED)
    assert loss.shape == (2,)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, [0.0513, 2.303], rtol=0, atol=5e-4)


def test_doc_example_4d_ignore_class_float32_bit_for_bit():
    loss = scce(DOC4_TRUE, DOC4_PRED, ignore_class=-1)
    assert loss.dtype == np.float32 and loss.shape == (2, 2, 2)
    perfect, half = np.float32("2.3841855e-07"), np.float32("6.9314730e-01")
    expected = np.array([[[perfect, perfect], [0, 0]], [[perfect, half], [0, 0]]], dtype=np.float32)
    assert np.array_equal(loss, expected), loss  # exact equality, as TensorFlow prints them
    assert np.all(loss[:, 1] == 0)


def test_doc_example_4d_float64_hand_derived():
    loss = scce(np.array(DOC4_TRUE), np.array(DOC4_PRED, dtype=np.float64), ignore_class=-1)
    assert loss.dtype == np.float64
    perfect = math.log((1 + EPS) / (1 - EPS))  # c = [1-eps, eps, eps]: sum 1+eps, c[label] 1-eps
    half = math.log((1 + EPS) / 0.5)  # c = [eps, .5, .5]
    np.testing.assert_allclose(loss[0, 0], [perfect, perfect], rtol=1e-9)
    assert perfect == pytest.approx(2e-07, rel=1e-6)
    np.testing.assert_allclose(loss[1, 0], [perfect, half], rtol=1e-12)
    assert np.all(loss[:, 1] == 0)


def test_metrics_alias_is_the_same_function():
    assert metrics.sparse_categorical_crossentropy is losses.sparse_categorical_crossentropy


# ---------------------------------------------------------------- float64 values derived by hand
def test_probabilities_float64_by_hand():
    pred = np.array([[0.05, 0.95, 0.0],      # lower clip of the 0: sum(c) = 1 + eps
                     [0.1, 0.8, 0.1],
                     [2.0, 6.0, 2.0],        # not normalised: divided by 10 first
                     [1.0, 0.0, 0.0],        # top clipped, label elsewhere
                     [300.0, 100.0, 600.0]])  # very different row sums in one call
    labels = [1, 2, 1, 1, 2]
    loss = scce(labels, pred)
    expected = [math.log((1 + EPS) / 0.95), math.log(10.0), math.log(1 / 0.6),
                math.log((1 + EPS) / EPS), math.log(1 / 0.6)]
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(scce(labels, pred.astype(np.float32)), expected, rtol=2e-6)


def test_logits_float64_by_hand():
    z = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-5.0, 5.0, 0.0]])
    labels = [0, 2, 1, 1]
    lse = math.log(math.e + math.e ** 2 + math.e ** 3)
    expected = [lse - 1, lse - 3, math.log(3.0), math.log(math.exp(-10) + 1 + math.exp(-5))]
    loss = scce(labels, z, from_logits=True)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    np.testing.assert_allclose(scce(labels, z.astype(np.float32), from_logits=True), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logits_huge_are_stable(dtype):
    z = np.array([[0.0, 1e4, 0.0], [0.0, 1e4, 0.0], [-1e4, 0.0, 1e4], [1e4, 1e4, -1e4],
                  [1.0, 2.0, 3.0]], dtype=dtype)  # a normal row in the same block
    loss = scce([1, 0, 0, 1, 2], z, from_logits=True)
    assert np.all(np.isfinite(loss))
    expected = [0.0, 1e4, 2e4, math.log(2.0), math.log(math.exp(-2) + math.exp(-1) + 1)]
    np.testing.assert_allclose(loss, expected, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- shapes, axis, labels
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axis1_nchw_equals_last_axis_nhwc(from_logits, dtype):
    rng = np.random.default_rng(1)
    nhwc = rng.random((2, 5, 7, 4)).astype(dtype)
    labels = rng.integers(0, 4, (2, 5, 7))
    nchw = np.ascontiguousarray(np.moveaxis(nhwc, -1, 1))
    a = scce(labels, nhwc, from_logits=from_logits)
    b = scce(labels, nchw, from_logits=from_logits, axis=1)
    assert b.shape == (2, 5, 7)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    ref = (ref_logits if from_logits else ref_probs)(labels, nhwc)
    np.testing.assert_allclose(a, ref, rtol=10 * tol, atol=10 * tol)


def test_axis0_and_negative_axis():
    pred = np.array(DOC_PRED, dtype=np.float64)
    expected = scce(DOC_TRUE, pred)
    np.testing.assert_allclose(scce(DOC_TRUE, pred.T, axis=0), expected, rtol=1e-14)
    np.testing.assert_allclose(scce(DOC_TRUE, pred.T, axis=-2), expected, rtol=1e-14)


def test_trailing_label_dim_of_one_is_squeezed():
    rng = np.random.default_rng(2)
    pred = rng.random((6, 5, 4))
    labels = rng.integers(0, 4, (6, 5))
    expected = scce(labels, pred)
    np.testing.assert_array_equal(scce(labels[..., None], pred), expected)
    np.testing.assert_array_equal(scce(np.array(DOC_TRUE)[:, None], DOC_PRED), scce(DOC_TRUE, DOC_PRED))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64,
                                   np.uint8, np.uint16, np.uint32, np.uint64])
def test_integer_label_dtypes(dtype):
    pred = np.random.default_rng(3).random((50, 7)).astype(np.float32)
    labels = np.arange(50) % 7
    np.testing.assert_array_equal(scce(labels.astype(dtype), pred), scce(labels, pred))


def test_integral_float_labels():
    np.testing.assert_array_equal(scce([1.0, 2.0], DOC_PRED), scce(DOC_TRUE, DOC_PRED))
    np.testing.assert_array_equal(scce(np.array([1.0, 2.0], np.float32), DOC_PRED), scce(DOC_TRUE, DOC_PRED))


def test_output_dtype_follows_y_pred():
    pred = np.array(DOC_PRED)
    assert scce(DOC_TRUE, pred.astype(np.float16)).dtype == np.float16
    assert scce(DOC_TRUE, pred.astype(np.float32)).dtype == np.float32
    assert scce(DOC_TRUE, pred.astype(np.float64)).dtype == np.float64
    assert scce(DOC_TRUE, DOC_PRED).dtype == np.float32  # Python lists: floatx
    ints = scce([1, 0], np.array([[0, 3, 1], [2, 1, 1]]))
    assert ints.dtype == np.float32
    np.testing.assert_allclose(ints, [math.log(4 / 3), math.log(2.0)], rtol=1e-6)
    half = scce(DOC_TRUE, pred.astype(np.float16))
    np.testing.assert_allclose(half.astype(np.float64), ref_probs(DOC_TRUE, pred.astype(np.float16)), rtol=2e-3)


def test_ignore_class_zeroes_positions_and_keeps_shape():
    labels = np.array([[255, 1, 2], [0, 255, 255]], dtype=np.uint8)
    pred = np.random.default_rng(4).random((2, 3, 4))
    loss = scce(labels, pred, ignore_class=255)
    assert loss.shape == (2, 3)
    assert np.all(loss[labels == 255] == 0)
    valid = labels != 255
    np.testing.assert_allclose(loss[valid], ref_probs(np.where(valid, labels, 0), pred)[valid], rtol=1e-12)


def test_nan_is_propagated_not_hidden():
    pred = np.array([[0.2, np.nan, 0.8], [0.1, 0.8, 0.1]], dtype=np.float32)
    for from_logits in (False, True):
        loss = scce([0, 1], pred, from_logits=from_logits)
        assert np.isnan(loss[0]) and np.isfinite(loss[1])
    big = np.random.default_rng(5).random((3000, 50)).astype(np.float32)
    big[1234, 7] = np.nan
    for from_logits in (False, True):
        loss = scce(np.zeros(3000, int), big, from_logits=from_logits)
        assert np.isnan(loss[1234]) and np.isfinite(np.delete(loss, 1234)).all()


def test_empty_batch():
    loss = scce(np.zeros((0,), int), np.zeros((0, 3), np.float32))
    assert loss.shape == (0,) and loss.dtype == np.float32
    assert scce([], np.zeros((0, 3)), from_logits=True, ignore_class=0).shape == (0,)


# ---------------------------------------------------------------- errors
def _error(y_true, y_pred, **kwargs) -> str:
    with pytest.raises(HaibalValueError) as info:
        scce(y_true, y_pred, **kwargs)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_label_out_of_range_names_value_and_classes():
    msg = _error([1, 5], DOC_PRED)
    assert "5" in msg and "[0, 3)" in msg
    msg = _error([1, -1], DOC_PRED)  # no silent 0 for a negative label
    assert "-1" in msg and "3" in msg
    msg = _error(np.array([1, 200], np.uint8), DOC_PRED, from_logits=True)
    assert "200" in msg


def test_non_native_byte_order():
    labels = np.array([1, -1], dtype=">i8")
    assert "-1" in _error(labels, DOC_PRED)
    swapped = np.array(DOC_PRED, dtype=">f4")
    np.testing.assert_array_equal(scce(np.array(DOC_TRUE, ">i4"), swapped), scce(DOC_TRUE, DOC_PRED))


def test_label_out_of_range_with_ignore_class():
    msg = _error([1, 7, -1], [[0.1, 0.9, 0]] * 3, ignore_class=-1)
    assert "7" in msg and "ignore_class=-1" in msg
    assert scce([1, -1], DOC_PRED, ignore_class=-1)[1] == 0


def test_shape_mismatch_shows_both_shapes():
    msg = _error([1, 2, 0], DOC_PRED)
    assert "(3,)" in msg and "(2, 3)" in msg
    msg = _error(np.zeros((2, 2), int), DOC_PRED)
    assert "(2, 2)" in msg and "(2, 3)" in msg


def test_non_integral_float_labels():
    assert "1.5" in _error([1.5, 2.0], DOC_PRED)
    assert "nan" in _error([np.nan, 2.0], DOC_PRED).lower()


def test_empty_class_axis_axis_out_of_range_and_scalar():
    assert "empty class axis" in _error(np.zeros(4, int), np.zeros((4, 0)))
    assert "axis=2" in _error(DOC_TRUE, DOC_PRED, axis=2)
    assert "axis=-3" in _error(DOC_TRUE, DOC_PRED, axis=-3)
    assert "scalar" in _error(1, 0.5)
    assert "y_pred" in _error(DOC_TRUE, [[0.1, 0.9], [0.5]])  # ragged list
    assert "dtype" in _error(DOC_TRUE, np.array([["a", "b", "c"]] * 2))


# ---------------------------------------------------------------- properties (hypothesis)
def _cases(min_classes=1, max_side=12, elements=None):
    """(labels, pred, from_logits, dtype) with random shapes; class axis last."""
    @st.composite
    def build(draw):
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        from_logits = draw(st.booleans())
        batch = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=max_side))
        num_classes = draw(st.integers(min_classes, 12))
        if from_logits:
            elem = st.floats(-30, 30, width=32)
        else:
            elem = st.one_of(st.just(0.0), st.floats(2.0 ** -40, 1.0, width=32))
        pred = draw(hnp.arrays(dtype, batch + (num_classes,), elements=elements or elem))
        if not from_logits:
            pred[..., 0] += 1e-3  # a positive row sum
            pred *= draw(st.sampled_from([1.0, 1e-3, 7.0, 1e4]))
        labels = draw(hnp.arrays(np.int64, batch, elements=st.integers(0, num_classes - 1)))
        return labels, pred, from_logits, dtype
    return build()


@settings(max_examples=150, deadline=None)
@given(_cases())
def test_loss_is_nonnegative_and_matches_naive_reference(case):
    labels, pred, from_logits, dtype = case
    loss = scce(labels, pred, from_logits=from_logits)
    assert loss.dtype == dtype and loss.shape == labels.shape
    assert np.all(loss >= 0)
    ref = (ref_logits if from_logits else ref_probs)(labels, pred)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(loss, ref, **tol)


@st.composite
def _large_cases(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    from_logits = draw(st.booleans())
    nchw = draw(st.booleans())
    num_classes = draw(st.sampled_from([2, 3, 21, 64, 130]))
    rows = draw(st.integers(1, 400))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    if from_logits:
        pred = rng.standard_normal((rows, num_classes)) * draw(st.sampled_from([1.0, 10.0, 60.0]))
    else:
        pred = rng.random((rows, num_classes)) ** draw(st.sampled_from([1, 8, 40]))
        if draw(st.booleans()):
            pred /= pred.sum(-1, keepdims=True)
    labels = rng.integers(0, num_classes, rows)
    small_block = draw(st.sampled_from([0, kernel._SMALL_BLOCK]))  # 0: every block takes the large-block form
    return labels, pred.astype(dtype), from_logits, nchw, small_block


@settings(max_examples=40, deadline=None)
@given(_large_cases())
def test_blocked_and_threaded_paths_equal_the_simple_path(case):
    """Tiny blocks and forced threads give the same losses as each row computed alone."""
    labels, pred, from_logits, nchw, small_block = case
    one_by_one = np.concatenate([scce(labels[i:i + 1], pred[i:i + 1], from_logits=from_logits)
                                 for i in range(len(labels))])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernel, "_BLOCK_ELEMENTS", 97)
        mp.setattr(engine, "PARALLEL_ELEMENTS", 1)
        mp.setattr(engine, "THREADS", 3)
        mp.setattr(kernel, "_SMALL_BLOCK", small_block)
        if nchw:  # (1, C, rows): the class axis in the middle, column blocks
            x = np.ascontiguousarray(pred.T[None])
            blocked = scce(labels[None, :], x, from_logits=from_logits, axis=1)[0]
        else:
            blocked = scce(labels, pred, from_logits=from_logits)
    tol = dict(rtol=2e-6, atol=5e-7) if pred.dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocked, one_by_one, **tol)


def test_large_input_uses_blocks_and_threads_and_matches_reference(monkeypatch):
    monkeypatch.setattr(engine, "THREADS", 2)
    rng = np.random.default_rng(6)
    pred = rng.random((40000, 70)).astype(np.float32)  # >= 2 * _PARALLEL_ELEMENTS: two threads
    labels = rng.integers(0, 70, 40000)
    assert pred.size >= 2 * engine.PARALLEL_ELEMENTS
    np.testing.assert_allclose(scce(labels, pred), ref_probs(labels, pred), rtol=1e-5, atol=1e-6)
    z = rng.standard_normal((4, 70, 5000)).astype(np.float32) * 5
    lab = rng.integers(0, 70, (4, 5000))
    np.testing.assert_allclose(scce(lab, z, from_logits=True, axis=1), ref_logits(lab, z, axis=1),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nchw", [False, True])
def test_large_blocks_redo_rows_with_huge_or_nan_logits(dtype, nchw):
    """Rows whose unshifted exp over- or underflows (or holds NaN) get the stable form."""
    rng = np.random.default_rng(7)
    z = rng.standard_normal((3000, 40)) * 4
    z[10] *= 1e3  # overflows exp
    z[11] -= 2000.0  # underflows exp entirely
    z[12, 3] = 95.0  # one large logit: the sum overflows in float32
    z[13, 5] = np.nan
    z[14, 0] = np.inf
    z = z.astype(dtype)
    labels = rng.integers(0, 40, 3000)
    labels[12] = 3
    if nchw:
        loss = scce(labels[None], np.ascontiguousarray(z.T[None]), from_logits=True, axis=1)[0]
    else:
        loss = scce(labels, z, from_logits=True)
    with np.errstate(invalid="ignore"):
        ref = ref_logits(labels, z.astype(np.float64))
    assert np.isnan(loss[13]) and np.isnan(loss[14])
    finite = np.ones(3000, bool)
    finite[[13, 14]] = False
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(loss[finite], ref[finite], **tol)


def test_threaded_kernel_works_in_a_forked_child(monkeypatch):
    """The worker pool is recreated after fork (its threads do not survive it; reusing it deadlocks)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(engine, "THREADS", 2)
    rng = np.random.default_rng(8)
    pred = rng.random((40000, 60)).astype(np.float32)  # two threads
    labels = rng.integers(0, 60, 40000)
    assert pred.size >= 2 * engine.PARALLEL_ELEMENTS
    expected = scce(labels, pred)  # creates the pool in this process
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        got = pool.apply_async(scce, (labels, pred)).get(timeout=60)
    np.testing.assert_array_equal(got, expected)
