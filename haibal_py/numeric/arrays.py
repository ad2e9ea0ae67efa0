"""Turning array-likes into NumPy arrays with the dtype policy of the library, and the
argument checks every loss and metric shares.

Keras computes in ``floatx`` (float32) unless given float64; haibal-py keeps the
dtype of floating inputs (float16/32/64) and takes float32 for everything else.
The checkers (``check_bool``, ``check_ignore_class``, ``as_sample_weight``) are the one
place where ``from_logits``, ``ignore_class`` and ``sample_weight`` are validated, so a
wrong type is refused with the same message wherever the argument exists.
"""

from __future__ import annotations

import numpy as np

from ..errors import HaibalValueError

_FLOATS = (np.float16, np.float32, np.float64)


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype a kernel computes in for input ``dtype`` (float16 -> float32)."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return dtype
    return np.dtype(np.float32)


def result_dtype(dtype: np.dtype) -> np.dtype:
    """The dtype of a kernel's result for floating input ``dtype``."""
    dtype = np.dtype(dtype)
    return dtype if dtype.type in _FLOATS else np.dtype(np.float32)


def as_array(value, name: str, error: type = HaibalValueError) -> np.ndarray:
    """``np.asarray(value)``, with a ragged or unconvertible value named in the error (an
    ``error``, a HaibalValueError subclass: the caller's own, LayerError ...)."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise error(f"{name} is not an array: {exc}") from None


def as_numeric_array(value, name: str, error: type = HaibalValueError, kinds: str = "biuf") -> np.ndarray:
    """``value`` as an array of booleans, integers or floats (no conversion); ``kinds``: the
    dtype kinds taken (``"iuf"`` refuses booleans)."""
    arr = as_array(value, name, error)
    if arr.dtype.kind not in kinds:
        raise error(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a floating array (no copy when it already is one).

    NumPy arrays keep their float dtype; Python lists and numbers become float32,
    Keras' ``floatx``, so the documentation's list examples give float32 as in Keras.
    """
    arr = as_array(value, name)
    if arr.dtype.kind == "f":
        if not isinstance(value, (np.ndarray, np.generic)):
            return arr.astype(np.float32)
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float32)
    raise HaibalValueError(f"{name} must be numeric, got dtype {arr.dtype}")


def as_label_array(value, name: str = "y_true") -> np.ndarray:
    """Integer class labels; integral floats are accepted, others refused."""
    arr = as_array(value, name)
    if arr.dtype.kind in "iu":
        return arr
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        if not finite.all():
            bad = arr[~finite].flat[0].item()
            raise HaibalValueError(f"{name} holds a non-finite label {bad!r}; labels must be integers")
        rounded = np.rint(arr)
        if not np.array_equal(rounded, arr):
            bad = arr[rounded != arr].flat[0].item()
            raise HaibalValueError(f"{name} holds the non-integral label {bad!r}; labels must be integers")
        return rounded.astype(np.int64)
    raise HaibalValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")


def squeeze_or_expand_to_same_rank(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras' rule: drop (or add) one trailing size-1 axis so both have the same rank."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1:
            return x1, x2[..., None]
        return x1[..., 0], x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1:
            return x1[..., None], x2
        return x1, x2[..., 0]
    return x1, x2


def check_bool(value, name: str) -> bool:
    """``value`` as a bool; only ``True``/``False`` (or NumPy's bools) are accepted.

    ``bool("no")`` is True: a flag given as a string or a number would silently mean
    something else, so it is refused instead.
    """
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise HaibalValueError(f"{name} must be a bool (True or False), got {value!r}")


def check_ignore_class(value, name: str = "ignore_class") -> int | None:
    """``value`` as ``None`` or a Python int (integral NumPy scalars too; bools and floats refused)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    raise HaibalValueError(f"{name} must be an integer class id or None, got {value!r}")


def as_sample_weight(value, name: str = "sample_weight", dtype=np.float64) -> np.ndarray:
    """``value`` as a numeric array of ``dtype`` (booleans, integers, floats; nothing else)."""
    arr = as_array(value, name)
    if arr.dtype.kind not in "biuf":
        raise HaibalValueError(f"{name} must be numeric, got {_short(value)} (dtype {arr.dtype})")
    return arr.astype(dtype, copy=False)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def normalize_axis(axis: int, ndim: int, name: str = "axis") -> int:
    """``axis`` as a non-negative index, with a clear error when out of range."""
    if type(axis) is int and axis == -1 and ndim:  # the common case, cheaply
        return ndim - 1
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise HaibalValueError(f"{name} must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise HaibalValueError(f"{name}={axis} is out of range for y_pred with {ndim} dimension(s)")
    return int(axis) % ndim


# constructor and function arguments that are flags, checked by ``check_arguments``
FLAG_ARGUMENTS = frozenset({"from_logits", "apply_class_balancing", "remove_diagonal", "from_sorted_ids",
                            "multi_label", "sparse_y_true", "sparse_y_pred"})


def check_arguments(values: dict) -> dict:
    """``values`` (a call's keyword arguments) with its flags and ``ignore_class`` checked.

    The one place the Loss and Metric constructors check these arguments, so a bad value is
    refused when the object is built rather than at its first batch.
    """
    out = dict(values)
    for key, value in values.items():
        if key in FLAG_ARGUMENTS:
            out[key] = check_bool(value, key)
        elif key == "ignore_class":
            out[key] = check_ignore_class(value)
    return out
