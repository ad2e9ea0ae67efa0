"""The sparse_categorical_crossentropy kernel's shortcuts give the general path's numbers.

The small-call fast path (haibal_py.numeric.kernels.sparse_categorical._fast_path) inlines the
small-block kernels to save per-call overhead; the large-block probabilities form clips
with one bound per block. These tests pin both to the general path and to TensorFlow's
formula, in float32 and float64.
"""

from __future__ import annotations

import numpy as np
import pytest

import haibal_py.numeric.kernels.sparse_categorical as kernel
from haibal_py import HaibalValueError
from haibal_py.losses import sparse_categorical_crossentropy as scce

EPS = 1e-7
ABSENT = -12345  # an ignore_class no label equals: sends a call through the general path


def _general(labels, pred, from_logits):
    return kernel.sparse_categorical_crossentropy_with_mask(labels, pred, from_logits, -1, ABSENT)[0]


def _tf_probs(labels, pred):
    """TensorFlow's order in float64: divide by the row sum, clip, log-softmax of the logs."""
    p = np.asarray(pred, dtype=np.float64)
    c = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return np.log(c.sum(-1)) - np.log(np.take_along_axis(c, labels[:, None].astype(np.intp), -1)[:, 0])


def _cases():
    rng = np.random.default_rng(11)
    for dtype in (np.float32, np.float64):
        for rows, classes in ((32, 10), (1, 3), (7, 1), (300, 13), (64, 100), (200, 300)):
            z = rng.standard_normal((rows, classes)) * 4
            p = np.exp(z - z.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            labels = rng.integers(0, classes, rows)
            yield f"{np.dtype(dtype).name}-{rows}x{classes}-logits", labels, z.astype(dtype), True
            yield f"{np.dtype(dtype).name}-{rows}x{classes}-probs", labels, p.astype(dtype), False
            raw = rng.random((rows, classes)) ** 8 * 3  # unnormalised, some entries below eps
            yield f"{np.dtype(dtype).name}-{rows}x{classes}-raw", labels, raw.astype(dtype), False
        huge = rng.standard_normal((32, 10)) * 4
        huge[3, 2] = 500.0  # beyond exp's range: the stable form
        yield f"{np.dtype(dtype).name}-huge-logits", rng.integers(0, 10, 32), huge.astype(dtype), True
        bad = rng.random((32, 10))
        bad[4, 1], bad[5] = np.nan, 0.0  # NaN and an all-zero row propagate as NaN
        for fl in (False, True):
            yield f"{np.dtype(dtype).name}-nan-{fl}", rng.integers(0, 10, 32), bad.astype(dtype), fl


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_fast_path_equals_general_path_bit_for_bit(case):
    _, labels, pred, from_logits = case
    assert pred.size <= kernel._BLOCK_ELEMENTS
    fast = kernel._fast_path(labels, pred, from_logits, -1, None)
    assert fast is not None, "the case should take the fast path"
    general = _general(labels, pred, from_logits)
    assert fast.dtype == general.dtype == pred.dtype
    np.testing.assert_array_equal(fast, general)  # NaN where NaN, else bit for bit
    np.testing.assert_array_equal(scce(labels, pred, from_logits=from_logits), fast)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64])
def test_fast_path_label_dtypes(label_dtype):
    rng = np.random.default_rng(12)
    pred = rng.random((32, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 32)
    expected = _general(labels, pred, False)
    np.testing.assert_array_equal(scce(labels.astype(label_dtype), pred), expected)


def test_fast_path_declines_what_it_does_not_handle():
    pred = np.random.default_rng(13).random((4, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    for args in ((labels.tolist(), pred), (labels, pred.tolist()), (labels, pred.astype(np.float16)),
                 (labels.astype(float), pred), (labels, np.asfortranarray(np.tile(pred, 2)[:, :3])),
                 (labels[:, None], pred), (np.array([0, 1, 3, 0]), pred), (np.array([0, -1, 2, 0]), pred)):
        assert kernel._fast_path(*args, False, -1, None) is None
    assert kernel._fast_path(labels, pred, False, 0, None) is None
    assert kernel._fast_path(labels, pred, False, True, None) is None
    assert kernel._fast_path(labels, pred, False, -1, 0) is None


@pytest.mark.parametrize("label_dtype", [np.int8, np.int16])
def test_negative_narrow_labels_with_many_classes_raise(label_dtype):
    """-1 as int8 is 255 unsigned: with 300 classes that is a valid index, so it needs the two-sided check."""
    pred = np.ones((2, 300 if label_dtype == np.int8 else 70000), np.float32)
    with pytest.raises(HaibalValueError, match=r"label -1, outside the valid range \[0, "):
        scce(np.array([-1, 3], label_dtype), pred)
    with pytest.raises(HaibalValueError, match="label -1"):
        scce(np.array([[-1, 3]], label_dtype), np.ascontiguousarray(pred.T[None]), axis=1)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-12)])
def test_large_block_clipped_label_gets_its_own_rows_bounds(dtype, tol):
    """Row sums 1.5% apart share one clip bound; a clipped label must still be clipped at eps * its row's sum."""
    classes = 21
    pred = np.full((400, classes), 1e-12)
    pred[:, 1] = 1.0
    pred[::2] *= 1.015
    pred = pred.astype(dtype)
    assert pred.size > kernel._SMALL_BLOCK  # the one-bound form
    for label in (0, 1):  # clipped low (loss -log(eps)) and clipped high (loss ~2e-7)
        labels = np.full(400, label)
        loss = scce(labels, pred)
        np.testing.assert_allclose(loss, _tf_probs(labels, pred), rtol=tol, atol=tol * 0.25)
        np.testing.assert_allclose(loss, np.concatenate([scce(labels[i:i + 1], pred[i:i + 1]) for i in range(4)] +
                                                        [loss[4:]]), rtol=tol, atol=tol * 0.25)


@pytest.mark.parametrize("from_logits", [False, True])
def test_ignored_positions_are_positive_zero(from_logits):
    rng = np.random.default_rng(14)
    pred = rng.random((8, 300, 5)).astype(np.float32)
    labels = rng.integers(0, 5, (8, 300)).astype(np.uint8)
    labels[:, ::3] = 255
    pred[0, 0, 2] = np.nan  # an ignored row holding NaN still gives 0
    pred[1, 4, 0] = np.nan  # a counted one gives NaN
    loss = scce(labels, pred, from_logits=from_logits, ignore_class=255)
    ignored = labels == 255
    assert np.all(loss[ignored] == 0) and not np.any(np.signbit(loss[ignored]))
    assert np.isnan(loss[1, 4]) and np.isfinite(np.delete(loss.ravel(), 1 * 300 + 4)).all()


def test_ignored_position_with_an_infinite_loss_is_zero_without_warnings():
    """Masked logits (-inf) at class 0 give an ignored position an infinite loss before masking."""
    rng = np.random.default_rng(15)
    z = rng.standard_normal((4, 500, 6)).astype(np.float32)
    labels = rng.integers(1, 6, (4, 500)).astype(np.int16)
    labels[:, ::4] = -1
    z[:, :, 0] = -np.inf  # class 0 masked out everywhere
    labels[2, 1] = 0  # a counted position on the masked class: loss +inf
    with np.errstate(all="raise"):
        loss = scce(labels, z, from_logits=True, ignore_class=-1)
    assert np.all(loss[labels == -1] == 0) and not np.any(np.signbit(loss[labels == -1]))
    assert loss[2, 1] == np.inf
    assert np.isfinite(np.delete(loss.ravel(), 2 * 500 + 1)).all()
