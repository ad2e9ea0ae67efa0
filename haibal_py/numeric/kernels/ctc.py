"""Connectionist temporal classification loss (Keras 3's ``keras.losses.ctc``).

``y_true`` ``(batch, max_length)`` holds integer labels padded at the end with 0, the
blank (so 0 is never a class); ``y_pred`` ``(batch, time, classes)`` holds logits. As in
Keras on TensorFlow, a sample's label sequence is the first ``n`` entries of its row, ``n``
the number of non-zero entries (a 0 among them, which a well-formed row does not have, is
read as a label emitting the blank class, as TensorFlow does). Each
sample's loss is ``-log p(label | logits)``, summed over every alignment of its label
sequence (its non-zero entries) with the ``time`` steps, where ``p`` comes from a softmax
over the classes at each step: the forward recursion of Graves et al. (2006), in log
space over the extended sequence ``blank, l1, blank, l2, ..., blank``. As TensorFlow's
``ctc_loss`` (which Keras calls with ``blank_index=0``): every sample uses all ``time``
steps, and a label sequence that cannot fit in them gives ``inf``.

The recursion runs in float64 over the whole batch at once (one NumPy pass per time
step); the result has ``y_pred``'s float dtype.
"""

from __future__ import annotations

import numpy as np

from ..arrays import as_float_array, as_label_array, result_dtype
from ...errors import HaibalValueError

__all__ = ["ctc"]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = x - x.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _check(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The label lengths; raises on shapes or label values CTC cannot take."""
    if labels.ndim != 2:
        raise HaibalValueError(f"ctc: y_true must have the shape (batch_size, max_length) of integer labels, "
                               f"got shape {labels.shape}")
    if logits.ndim != 3:
        raise HaibalValueError(f"ctc: y_pred must have the shape (batch_size, max_length, num_classes) of "
                               f"logits, got shape {logits.shape}")
    if labels.shape[0] != logits.shape[0]:
        raise HaibalValueError(f"ctc: y_true has {labels.shape[0]} samples (shape {labels.shape}) but y_pred has "
                               f"{logits.shape[0]} (shape {logits.shape})")
    num_classes = logits.shape[2]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)].flat[0]
        raise HaibalValueError(f"ctc: y_true holds the label {int(bad)}, outside [0, {num_classes}) "
                               f"(y_pred shape {logits.shape}; 0 is the blank)")
    lengths = np.count_nonzero(labels, axis=1)
    if logits.shape[1] == 0 and labels.shape[0]:
        raise HaibalValueError(f"ctc: y_pred has no time step (shape {logits.shape})")
    return lengths


def ctc(y_true, y_pred):
    """CTC loss per sample, Keras 3's ``ctc`` (see the module docstring)."""
    logits = as_float_array(y_pred, "y_pred")
    labels = as_label_array(y_true, "y_true")
    lengths = _check(labels, logits)
    batch, steps, _ = logits.shape
    out_dtype = result_dtype(logits.dtype)
    if batch == 0:
        return np.zeros(0, dtype=out_dtype)
    logp = _log_softmax(logits.astype(np.float64))
    width = 2 * labels.shape[1] + 1
    ext = np.zeros((batch, width), dtype=np.intp)  # blank, l1, blank, l2, ..., blank
    ext[:, 1::2] = labels
    valid = np.arange(width) < (2 * lengths + 1)[:, None]
    # a label may follow the one two places back (skipping the blank between) when they differ
    skip = np.zeros((batch, width), dtype=bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    rows = np.arange(batch)[:, None]
    neg_inf = np.full((batch, 2), -np.inf)

    alpha = np.full((batch, width), -np.inf)
    alpha[:, 0] = logp[:, 0, 0]
    if width > 1:
        alpha[:, 1] = np.where(lengths > 0, logp[:, 0, :][np.arange(batch), ext[:, 1]], -np.inf)
    with np.errstate(invalid="ignore"):
        for t in range(1, steps):
            one_back = np.concatenate([neg_inf[:, :1], alpha[:, :-1]], axis=1)
            two_back = np.where(skip, np.concatenate([neg_inf, alpha[:, :-2]], axis=1), -np.inf)
            total = np.logaddexp(np.logaddexp(alpha, one_back), two_back)
            alpha = np.where(valid, total + logp[rows, t, ext], -np.inf)
    last = 2 * lengths
    end = alpha[np.arange(batch), last]
    before = np.where(lengths > 0, alpha[np.arange(batch), np.maximum(last - 1, 0)], -np.inf)
    return (-np.logaddexp(end, before)).astype(out_dtype)
