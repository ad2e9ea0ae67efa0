"""Intersection-over-union metrics (Keras' ``iou_metrics``): IoU, MeanIoU, BinaryIoU,
OneHotIoU, OneHotMeanIoU, accumulated in a float64 confusion matrix."""

from __future__ import annotations

import numpy as np

from ..errors import HaibalValueError
from .kernels.iou import class_ids, confusion_matrix, iou_from_matrix
from .arrays import check_bool, check_ignore_class
from .metric_base import Metric

__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]


class _IoUBase(Metric):
    """A ``[num_classes, num_classes]`` confusion matrix fed with class ids (or, with
    ``sparse_y_true`` / ``sparse_y_pred`` false, with scores reduced by argmax along ``axis``).
    Positions whose label is ``ignore_class``, or whose true or predicted id is outside
    ``[0, num_classes)``, are left out (as Keras 3 does). The state is Keras' ``total_cm``."""

    state_names = ("total_cm",)

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 1:
            raise HaibalValueError(f"num_classes must be an integer >= 1, got {num_classes!r}")
        self.num_classes = int(num_classes)
        self.ignore_class = check_ignore_class(ignore_class)
        self.sparse_y_true = check_bool(sparse_y_true, "sparse_y_true")
        self.sparse_y_pred = check_bool(sparse_y_pred, "sparse_y_pred")
        self.axis = axis
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def _ids(self, y_true, y_pred):
        t = class_ids(y_true, "y_true", None if self.sparse_y_true else self.axis)
        p = class_ids(y_pred, "y_pred", None if self.sparse_y_pred else self.axis)
        return t, p

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._ids(y_true, y_pred)
        if t.size != p.size:
            raise HaibalValueError(f"{self.name}: y_true gives {t.size} class ids (shape {t.shape}) but y_pred "
                                   f"gives {p.size} (shape {p.shape})")
        self.total_cm = self.total_cm + confusion_matrix(t, p, self.num_classes, sample_weight, self.ignore_class)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    """``keras.metrics.IoU``: the mean IoU over ``target_class_ids`` (the classes that occur)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        ids = [int(i) for i in np.atleast_1d(np.asarray(target_class_ids))]
        if not ids:
            raise HaibalValueError("target_class_ids must hold at least one class id")
        if max(ids) >= self.num_classes or min(ids) < 0:
            raise HaibalValueError(f"target class id {max(ids) if max(ids) >= self.num_classes else min(ids)} is "
                                   f"out of range, which is [0, {self.num_classes})")
        self.target_class_ids = ids

    def result(self) -> float:
        return iou_from_matrix(self.total_cm, self.target_class_ids)

    def get_config(self) -> dict:
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class MeanIoU(IoU):
    """``keras.metrics.MeanIoU``: the IoU averaged over every class that occurs."""

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]  # always every class
        return config

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(int(num_classes) if isinstance(num_classes, (int, np.integer))
                                                 and num_classes > 0 else 1)),
                         name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)


class BinaryIoU(IoU):
    """``keras.metrics.BinaryIoU``: predictions ``>= threshold`` are class 1, others class 0."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def _ids(self, y_true, y_pred):
        t = class_ids(y_true, "y_true")
        p = np.asarray(y_pred)
        if p.dtype.kind not in "biuf":
            raise HaibalValueError(f"y_pred must be numeric, got dtype {p.dtype}")
        return t, (p >= self.threshold).astype(np.int64)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "target_class_ids": self.target_class_ids,
                "threshold": self.threshold}


class OneHotIoU(IoU):
    """``keras.metrics.OneHotIoU``: IoU with one-hot labels (and scores) reduced by argmax."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]  # always one-hot
        return config


class OneHotMeanIoU(MeanIoU):
    """``keras.metrics.OneHotMeanIoU``: MeanIoU with one-hot labels (and scores) reduced by argmax."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["sparse_y_true"]  # always one-hot
        return config
