"""Metric functions and stateful ``Metric`` classes, under Keras' names and signatures.

Functions: the accuracies (``kernels.accuracy``), the correlations
(``kernels.correlation``), ``cosine_similarity`` (the metric's sign: +1 for the same
direction), and the loss functions Keras also exports under ``keras.metrics``
(``binary_crossentropy``, ``hinge``, ``mean_squared_error``, ...). Classes: a
``MeanMetricWrapper`` per metric function and per loss Keras (or HAIBAL) uses as a metric,
with Keras' constructor, plus the class-only metrics gathered from ``reduction_metrics``,
``confusion_metrics``, ``iou_metrics`` and ``fscore_metrics``. ``get``, ``serialize`` and
``deserialize`` work as in ``keras.metrics`` (a name gives a metric *instance*, as Keras'
``get`` does). HAIBAL's 42-metric palette is ``HAIBAL_PALETTE``.
"""

from __future__ import annotations

from . import losses as _losses
from .confusion_metrics import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    Specificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from ..errors import HaibalValueError
from .arrays import check_arguments
from .keras_api import Registry, bind_arguments, keras_signature, snake_case
from .fscore_metrics import F1Score, FBetaScore
from .iou_metrics import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .kernels.accuracy import (
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .kernels.correlation import concordance_correlation, pearson_correlation
from .kernels.sparse_categorical import (
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from .losses import (  # the loss functions keras.metrics exports too
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    squared_hinge,
)
from .metric_base import Mean, Metric
from .metric_base import MeanMetricWrapper as _WrapperBase
from .reduction_metrics import MeanRelativeError, MeanTensor, R2Score, RootMeanSquaredError, Sum

HAIBAL_PALETTE = (
    "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "FalseNegatives", "FalsePositives",
    "Hinge", "Huber", "IoU", "KLDivergence", "LogCoshError", "Mean", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanIoU", "MeanRelativeError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "MeanTensor", "OneHotIoU", "OneHotMeanIoU", "Poisson", "Precision",
    "PrecisionAtRecall", "Recall", "RecallAtPrecision", "RootMeanSquaredError", "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
    "Specificity", "SpecificityAtSensitivity", "SquaredHinge", "Sum", "TopKCategoricalAccuracy",
    "TrueNegatives", "TruePositives",
)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine similarity along ``axis`` (1: same direction, -1: opposite, 0 for a zero vector);
    the metric form of ``losses.cosine_similarity``, which is its negative."""
    return -_losses.cosine_similarity(y_true, y_pred, axis=axis) + 0.0  # + 0.0 turns -0.0 into 0.0


class MeanMetricWrapper(_WrapperBase):
    """``keras.metrics.MeanMetricWrapper``: the mean of ``fn(y_true, y_pred, **kwargs)`` over
    every sample seen. Its configuration holds ``fn`` as Keras does: serialized when it is a
    function of ``haibal_py.metrics`` or ``haibal_py.losses``; a function of your own stays
    the function itself (haibal-py has no registry of custom objects), so that configuration
    rebuilds the metric in the process but is not JSON."""

    def get_config(self) -> dict:
        return {**super().get_config(), "fn": _serialize_fn(self.fn)}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        if "fn" in config:
            config["fn"] = _deserialize_fn(config["fn"])
        return cls(**config)


def _serialize_fn(fn):
    for serialize in (_FUNCTION_REGISTRY.serialize, _losses.serialize):
        try:
            return serialize(fn)
        except HaibalValueError:
            pass
    return fn


def _deserialize_fn(config):
    if callable(config):
        return config
    for deserialize in (_FUNCTION_REGISTRY.deserialize, _losses.deserialize):
        try:
            return deserialize(config)
        except HaibalValueError:
            pass
    raise HaibalValueError(f"MeanMetricWrapper: cannot rebuild the function {config!r}: it names no function "
                           "of haibal_py.metrics or haibal_py.losses")


class SparseCategoricalCrossentropy(_WrapperBase):
    """``keras.metrics.SparseCategoricalCrossentropy``: mean loss over every sample seen."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        options = check_arguments({"from_logits": from_logits, "ignore_class": ignore_class})
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         mask_fn=sparse_categorical_crossentropy_with_mask, axis=axis, **options)
        self.from_logits, self.ignore_class, self.axis = options["from_logits"], options["ignore_class"], axis


def _wrapper_class(class_name: str, fn, default_name: str, options: dict | None = None, lead: dict | None = None,
                   doc: str = "", check=None) -> type:
    """A ``MeanMetricWrapper`` subclass over ``fn`` with Keras' constructor:
    ``__init__(self, *lead, name=default_name, dtype=None, *options)``.

    ``fn`` may be a callable or the name of a function of ``haibal_py.losses`` (looked up
    when the metric is built). ``check(values)`` validates the options.
    """
    options, lead = options or {}, lead or {}

    signature = keras_signature([*lead.items(), ("name", default_name), ("dtype", None), *options.items()])

    def __init__(self, *args, **kwargs):
        values = bind_arguments(signature, self, args, kwargs)
        name, dtype = values.pop("name"), values.pop("dtype")
        values = check_arguments(values)
        if check is not None:
            check(values)
        func = getattr(_losses, fn) if isinstance(fn, str) else fn
        _WrapperBase.__init__(self, func, name=name, dtype=dtype, **values)
        for key, value in values.items():
            setattr(self, key, value)

    __init__.__signature__ = signature
    return type(class_name, (_WrapperBase,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


def _check_threshold(values: dict) -> None:
    t = values["threshold"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1:
        raise HaibalValueError(f"threshold must be a number in the interval (0, 1), got {t!r}")


def _check_k(values: dict) -> None:
    k = values["k"]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise HaibalValueError(f"k must be an integer >= 1, got {k!r}")


Accuracy = _wrapper_class("Accuracy", accuracy, "accuracy",
                          doc="How often predictions equal labels exactly (tf.keras ``Accuracy``).")
BinaryAccuracy = _wrapper_class("BinaryAccuracy", binary_accuracy, "binary_accuracy", {"threshold": 0.5},
                                doc="How often ``y_pred > threshold`` matches the 0/1 label.",
                                check=_check_threshold)
CategoricalAccuracy = _wrapper_class("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy",
                                     doc="How often the argmax of the prediction matches the one-hot label.")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy",
    doc="How often the argmax of the prediction matches the integer label.")
TopKCategoricalAccuracy = _wrapper_class(
    "TopKCategoricalAccuracy", top_k_categorical_accuracy, "top_k_categorical_accuracy", lead={"k": 5},
    doc="How often the one-hot label is among the ``k`` largest predictions.", check=_check_k)
SparseTopKCategoricalAccuracy = _wrapper_class(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy",
    {"from_sorted_ids": False}, lead={"k": 5},
    doc="How often the integer label is among the ``k`` largest predictions (or, with ``from_sorted_ids``, "
        "among the first ``k`` of ``y_pred``'s ids sorted by score).", check=_check_k)
PearsonCorrelation = _wrapper_class("PearsonCorrelation", pearson_correlation, "pearson_correlation",
                                    {"axis": -1}, doc="Mean over samples of Pearson's r along ``axis``.")
ConcordanceCorrelation = _wrapper_class(
    "ConcordanceCorrelation", concordance_correlation, "concordance_correlation", {"axis": -1},
    doc="Mean over samples of Lin's concordance correlation coefficient along ``axis``.")

# Losses used as metrics: the mean of the loss function over every sample seen.
MeanSquaredError = _wrapper_class("MeanSquaredError", "mean_squared_error", "mean_squared_error",
                                  doc="Mean of ``square(y_true - y_pred)``.")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error",
                                   doc="Mean of ``abs(y_true - y_pred)``.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mean_absolute_percentage_error",
    doc="Mean of ``100 * abs((y_true - y_pred) / y_true)``.")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "mean_squared_logarithmic_error",
    doc="Mean of ``square(log1p(y_pred) - log1p(y_true))``.")
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1},
                                  doc="Mean cosine similarity between labels and predictions (positive).")
LogCoshError = _wrapper_class("LogCoshError", "log_cosh", "logcosh",
                              doc="Mean of ``log(cosh(y_pred - y_true))``.")
Hinge = _wrapper_class("Hinge", "hinge", "hinge", doc="Mean hinge loss.")
SquaredHinge = _wrapper_class("SquaredHinge", "squared_hinge", "squared_hinge", doc="Mean squared hinge loss.")
CategoricalHinge = _wrapper_class("CategoricalHinge", "categorical_hinge", "categorical_hinge",
                                  doc="Mean categorical hinge loss.")
KLDivergence = _wrapper_class("KLDivergence", "kl_divergence", "kl_divergence",
                              doc="Mean Kullback-Leibler divergence.")
Poisson = _wrapper_class("Poisson", "poisson", "poisson", doc="Mean Poisson loss.")
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0}, doc="Mean binary crossentropy.")
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", "categorical_crossentropy", "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1}, doc="Mean categorical crossentropy.")
Huber = _wrapper_class("Huber", "huber", "huber", {"delta": 1.0},
                       doc="Mean Huber loss (HAIBAL's palette; Keras 3 has Huber as a loss only).")

__all__ = [
    "Metric", "Mean", "MeanMetricWrapper", "HAIBAL_PALETTE", "get", "serialize", "deserialize",
    # functions
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "pearson_correlation",
    "concordance_correlation", "cosine_similarity", "sparse_categorical_crossentropy",
    # loss functions Keras also exports under keras.metrics
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "squared_hinge",
    # mean-of-a-function classes
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "PearsonCorrelation", "ConcordanceCorrelation",
    "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "LogCoshError", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "CategoricalCrossentropy", "Huber",
    # class-only metrics
    "Sum", "MeanTensor", "RootMeanSquaredError", "MeanRelativeError", "R2Score", "AUC", "Precision", "Recall",
    "Specificity", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision",
    "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU", "F1Score", "FBetaScore",
]

# Keras' identifiers (keras.metrics.ALL_OBJECTS_DICT): every metric class under its name and its
# snake_case name ("accuracy", "auc", "mean_io_u", ...), and the short aliases. As in Keras, a
# name gives the metric class (an instance from ``get``), never the function.
_CLASSES = [n for n in __all__ if n[0].isupper() and n != "HAIBAL_PALETTE"]
_KERAS_CLASSES = set(_CLASSES) - {"Specificity", "MeanTensor", "MeanRelativeError", "Huber"}
_OBJECTS = {**{n: globals()[n] for n in _CLASSES}, **{snake_case(n): globals()[n] for n in _CLASSES}}
_OBJECTS.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                 "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                 "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                 "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})
REGISTRY = Registry("metric", _OBJECTS, keras_module="keras.metrics", own_module="haibal_py.metrics",
                    keras_names=_KERAS_CLASSES)
# metric functions serialize under their own names
_FUNCTION_REGISTRY = Registry("metric", {n: globals()[n] for n in __all__ if n[0].islower()
                                         and n not in ("get", "serialize", "deserialize")},
                              keras_module="keras.metrics", own_module="haibal_py.metrics")


def get(identifier):
    """A metric as ``keras.metrics.get``: ``None`` -> ``None``; a class name or its snake_case
    form (``"accuracy"``, ``"auc"``, ``"mse"``) -> an instance with Keras' defaults; a dict
    (``serialize``'s form) -> the configured instance; a callable as it is."""
    return REGISTRY.get(identifier)


def serialize(metric):
    """Keras' serialized form of a metric function or ``Metric`` object (JSON-ready)."""
    if callable(metric) and not isinstance(metric, Metric) and not isinstance(metric, type):
        return _FUNCTION_REGISTRY.serialize(metric)
    return REGISTRY.serialize(metric)


def deserialize(config, custom_objects=None):
    """The metric ``serialize`` described (a serialized function gives the function)."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        return _FUNCTION_REGISTRY.deserialize(config)
    return REGISTRY.with_objects(custom_objects).deserialize(config)
