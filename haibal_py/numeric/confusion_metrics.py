"""Stateful metrics over confusion counts at thresholds (Keras' ``confusion_metrics``).

TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall,
Specificity (HAIBAL), AUC (ROC / PR), and the "X at Y" metrics
(SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
RecallAtPrecision). A prediction counts as positive when ``y_pred > threshold``; the
counts are float64 sums, so any split of the batches gives the same result.
"""

from __future__ import annotations

import numpy as np

from ..errors import HaibalValueError
from .arrays import as_sample_weight, check_bool
from .kernels.confusion import (
    NEG_INF,
    auc_from_counts,
    confusion_counts,
    divide_no_nan,
    even_thresholds,
    parse_thresholds,
    prepare,
)
from .metric_base import Metric

__all__ = [
    "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
    "Specificity", "AUC", "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
    "RecallAtPrecision",
]


# the counts of ``confusion_counts`` under Keras' state names
COUNTS = {"true_positives": "tp", "false_positives": "fp", "true_negatives": "tn", "false_negatives": "fn"}
ALL_FOUR = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class _ConfusionMetric(Metric):
    """Accumulates confusion counts at ``self.thresholds`` in the states ``state_names``
    (Keras' ``true_positives``, ... ; ``count_of`` maps a state to its count)."""

    top_k = None
    class_id = None
    multi_label = False
    label_weights = None
    state_names = ALL_FOUR

    def count_of(self, state: str) -> str:
        return COUNTS[state]

    def reset_state(self) -> None:
        shape = (len(self.thresholds),)
        for key in self.state_names:
            setattr(self, key, np.zeros(shape))

    def _predictions(self, y_pred):
        return y_pred

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        pos, pred, w = prepare(y_true, self._predictions(y_pred), sample_weight, self.top_k, self.class_id)
        thresholds = np.asarray(self.thresholds, dtype=np.float64)
        counts = confusion_counts(pos, pred, w, thresholds, self.multi_label, self.label_weights)
        first = getattr(self, self.state_names[0])
        if counts["tp"].shape != first.shape:
            if any(getattr(self, k).any() for k in self.state_names) or first.ndim != 1:
                raise HaibalValueError(f"{self.name}: y_pred has {counts['tp'].shape[-1]} labels but earlier "
                                       f"batches had {first.shape[-1]}")
            for key in self.state_names:
                setattr(self, key, np.zeros(counts["tp"].shape))
        for key in self.state_names:
            setattr(self, key, getattr(self, key) + counts[self.count_of(key)])

    def _merge_one(self, key: str, theirs) -> None:
        mine = getattr(self, key)
        if np.shape(mine) != np.shape(theirs) and not mine.any() and mine.ndim == 1:
            setattr(self, key, np.array(theirs, dtype=np.float64))  # multi-label counts built at the first update
            return
        if np.shape(mine) != np.shape(theirs) and not np.any(theirs) and np.ndim(theirs) == 1:
            return
        super()._merge_one(key, theirs)

    def _out(self, values):
        values = np.asarray(values, dtype=np.float64)
        return float(values[0]) if values.shape == (1,) else values


def _optional_int(value, name: str, minimum):
    """``None`` or an integer (``>= minimum`` when one is given); the error names the argument."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise HaibalValueError(f"{name} must be an integer or None, got {value!r}")
    if minimum is not None and value < minimum:
        raise HaibalValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _validate_thresholds(thresholds, top_k) -> tuple[list, object]:
    """The thresholds as a list of floats (Keras' ``thresholds`` attribute, even for one value
    or the default) and what the configuration keeps (JSON types: a float, a list or None)."""
    default = NEG_INF if top_k is not None else 0.5
    if thresholds is None:
        return [default], None
    arr, single = parse_thresholds(thresholds, default)
    return arr.tolist(), float(arr[0]) if single else arr.tolist()


class _CountMetric(_ConfusionMetric):
    """One of the four counts, at ``thresholds`` (default 0.5): a float, or one per threshold.
    Its state is Keras' ``accumulator``."""

    key = ""
    state_names = ("accumulator",)

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.thresholds, self.init_thresholds = _validate_thresholds(thresholds, None)
        super().__init__(name=name or self.default_name, dtype=dtype)

    def count_of(self, state: str) -> str:
        return self.key

    def result(self):
        return self._out(self.accumulator)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_CountMetric):
    """``keras.metrics.TruePositives``: the (weighted) number of true positives."""
    key, default_name = "tp", "true_positives"


class FalsePositives(_CountMetric):
    """``keras.metrics.FalsePositives``: the (weighted) number of false positives."""
    key, default_name = "fp", "false_positives"


class TrueNegatives(_CountMetric):
    """``keras.metrics.TrueNegatives``: the (weighted) number of true negatives."""
    key, default_name = "tn", "true_negatives"


class FalseNegatives(_CountMetric):
    """``keras.metrics.FalseNegatives``: the (weighted) number of false negatives."""
    key, default_name = "fn", "false_negatives"


class _RatioMetric(_ConfusionMetric):
    """A ratio of counts at ``thresholds`` (default 0.5, or "top k only" with ``top_k``),
    over every class or one ``class_id``; 0 where the denominator is 0."""

    default_name = ""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.top_k, self.class_id = _optional_int(top_k, "top_k", 1), _optional_int(class_id, "class_id", None)
        self.thresholds, self.init_thresholds = _validate_thresholds(thresholds, top_k)
        super().__init__(name=name or self.default_name, dtype=dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_RatioMetric):
    """``keras.metrics.Precision``: ``tp / (tp + fp)``."""
    default_name = "precision"
    state_names = ("true_positives", "false_positives")

    def result(self):
        return self._out(divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_RatioMetric):
    """``keras.metrics.Recall``: ``tp / (tp + fn)``."""
    default_name = "recall"
    state_names = ("true_positives", "false_negatives")

    def result(self):
        return self._out(divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class Specificity(_RatioMetric):
    """HAIBAL's Specificity (true negative rate): ``tn / (tn + fp)``, Precision's arguments."""
    default_name = "specificity"
    state_names = ("true_negatives", "false_positives")

    def result(self):
        return self._out(divide_no_nan(self.true_negatives, self.true_negatives + self.false_positives))


class AUC(_ConfusionMetric):
    """``keras.metrics.AUC``: area under the ROC, PR or PRGAIN curve, a Riemann sum over thresholds.

    ``num_thresholds`` evenly spaced thresholds (``-eps``, ``1/(n-1)``, ..., ``1+eps``) unless
    ``thresholds`` are given (then ``-eps`` and ``1+eps`` are added). ``summation_method``:
    ``"interpolation"`` (trapezoids; Davis & Goadrich's interpolation for PR; PRGAIN is
    precision gain over recall gain, ``kernels.confusion.pr_gain``),
    ``"minoring"`` or ``"majoring"``. ``multi_label``: one curve per label, averaged (by
    ``label_weights`` if given); otherwise every label is pooled, each weighted by
    ``label_weights``. ``from_logits``: ``y_pred`` goes through a sigmoid first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if not isinstance(curve, str) or curve.upper() not in ("ROC", "PR", "PRGAIN"):
            raise HaibalValueError(f'curve must be "ROC", "PR" or "PRGAIN", got {curve!r}')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise HaibalValueError('summation_method must be "interpolation", "minoring" or "majoring", '
                                   f"got {summation_method!r}")
        self.curve = str(curve).upper()
        self.summation_method = summation_method
        if thresholds is not None:
            inner, _ = parse_thresholds(thresholds, 0.5)
            eps = 1e-7
            self.thresholds = np.concatenate(([0.0 - eps], np.sort(inner), [1.0 + eps]))
            self.num_thresholds = len(self.thresholds)
        else:
            if int(num_thresholds) <= 1:
                raise HaibalValueError(f"num_thresholds must be > 1, got {num_thresholds!r}")
            self.num_thresholds = int(num_thresholds)
            self.thresholds = even_thresholds(self.num_thresholds)
        self.init_thresholds = None if thresholds is None else self.thresholds[1:-1].tolist()
        self.multi_label = check_bool(multi_label, "multi_label")
        self.num_labels = _optional_int(num_labels, "num_labels", 1)
        if label_weights is not None:
            label_weights = as_sample_weight(label_weights, "label_weights")
            if np.any(label_weights < 0):
                raise HaibalValueError(f"label_weights must be >= 0, got {label_weights.tolist()}")
        self.label_weights = label_weights
        self.from_logits = check_bool(from_logits, "from_logits")
        super().__init__(name=name or "auc", dtype=dtype)

    def reset_state(self) -> None:
        shape = (self.num_thresholds, self.num_labels) if self.multi_label and self.num_labels else (self.num_thresholds,)
        built = getattr(self, "true_positives", None)
        if built is not None and built.ndim == 2:  # multi-label counts keep their labels, as Keras' variables
            shape = built.shape
        for key in self.state_names:
            setattr(self, key, np.zeros(shape))

    def _predictions(self, y_pred):
        if not self.from_logits:
            return y_pred
        x = np.asarray(y_pred, dtype=np.float64)
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # a sigmoid without overflow

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if not self.multi_label:
            return super().update_state(y_true, y_pred, sample_weight)
        weights, self.label_weights = self.label_weights, None  # multi-label: weights only in the average
        try:
            super().update_state(y_true, y_pred, sample_weight)
        finally:
            self.label_weights = weights

    def result(self) -> float:
        area = auc_from_counts(self.true_positives, self.false_positives, self.true_negatives,
                               self.false_negatives, self.curve, self.summation_method)
        if self.multi_label and np.ndim(area):
            if self.label_weights is None:
                return float(np.mean(area))
            return float(divide_no_nan((area * self.label_weights).sum(), self.label_weights.sum()))
        return float(area)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "from_logits": self.from_logits,
                "thresholds": self.init_thresholds,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist()}


class _AtConstraint(_ConfusionMetric):
    """The best ``dependent`` rate over the thresholds where ``constrained >= value`` (0 if none)."""

    constraint_name = ""
    default_name = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = None
        if value is None or not 0.0 <= value <= 1.0:
            raise HaibalValueError(f"`{self.constraint_name}` must be in the range [0, 1], got {value!r}")
        if int(num_thresholds) <= 0:
            raise HaibalValueError(f"num_thresholds must be > 0, got {num_thresholds!r}")
        self.value = value
        self.num_thresholds = int(num_thresholds)
        self.class_id = class_id
        self.thresholds = np.array([0.5]) if self.num_thresholds == 1 else even_thresholds(self.num_thresholds)
        super().__init__(name=name or self.default_name, dtype=dtype)

    def _best(self, constrained, dependent) -> float:
        feasible = constrained >= self.value
        return float(dependent[feasible].max(initial=0.0)) if feasible.any() else 0.0

    def _rates(self):
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}

    def result(self) -> float:
        rates = self._rates()
        return self._best(rates[self.constraint_name], rates[self.dependent_name])

    def get_config(self) -> dict:
        return {**super().get_config(), self.constraint_name: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


def _at_class(class_name: str, constraint: str, dependent: str, default_name: str, doc: str) -> type:
    """An ``_AtConstraint`` subclass whose first argument has Keras' name (e.g. ``specificity``)."""
    def __init__(self, *args, **kwargs):
        if constraint in kwargs:
            args = (kwargs.pop(constraint),) + args
        _AtConstraint.__init__(self, *args, **kwargs)

    import inspect
    sig = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                             inspect.Parameter(constraint, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
                            + [inspect.Parameter(k, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=v)
                               for k, v in (("num_thresholds", 200), ("class_id", None), ("name", None),
                                            ("dtype", None))])
    __init__.__signature__ = sig
    return type(class_name, (_AtConstraint,), {
        "__init__": __init__, "__doc__": doc, "__module__": __name__, "constraint_name": constraint,
        "dependent_name": dependent, "default_name": default_name,
        constraint: property(lambda self: self.value)})


SensitivityAtSpecificity = _at_class(
    "SensitivityAtSpecificity", "specificity", "sensitivity", "sensitivity_at_specificity",
    "``keras.metrics.SensitivityAtSpecificity``: the best sensitivity where specificity >= the given value.")
SpecificityAtSensitivity = _at_class(
    "SpecificityAtSensitivity", "sensitivity", "specificity", "specificity_at_sensitivity",
    "``keras.metrics.SpecificityAtSensitivity``: the best specificity where sensitivity >= the given value.")
PrecisionAtRecall = _at_class(
    "PrecisionAtRecall", "recall", "precision", "precision_at_recall",
    "``keras.metrics.PrecisionAtRecall``: the best precision where recall >= the given value.")
RecallAtPrecision = _at_class(
    "RecallAtPrecision", "precision", "recall", "recall_at_precision",
    "``keras.metrics.RecallAtPrecision``: the best recall where precision >= the given value.")
