"""Metric nodes: HAIBAL's Metrics palette, one node per metric, generated from the tables below.

``MEAN_METRICS``: metrics that are the mean of a per-sample function (``metric_node``:
scalar / array / batch instances; the batch instance gives HAIBAL's single float).
``CLASS_METRICS``: metrics with their own state (``class_metric_node``: array / batch
instances; the parameters are the class's constructor arguments). Type ids are
``haibal.metrics.<KerasClassName>``.

Parameter choices: thresholds, class ids, label weights and normalizers are ``array``
parameters (a number, a list, or their JSON text such as ``"[0.3, 0.5]"``); enum choices
spelled ``"none"`` stand for Python's ``None``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from haibal_py import losses, metrics
from haibal_py.node import Param
from haibal_py.node.factory import ClassMetricDecl, MetricDecl, class_metric_node, metric_node

from ._params import FROM_LOGITS, LABEL_SMOOTHING, SCCE_IGNORE_CLASS, axis

CATEGORY = "Metrics"

# -- shared parameters and docs ------------------------------------------------------------------
AXIS = axis("the axis along which the metric is computed.")
K = Param("k", "int", 5, "how many of the largest predictions count as a hit.", minimum=1)
THRESHOLDS = Param("thresholds", "array", None, "a threshold in [0, 1] or a list of them (JSON text such as "
                   "\"[0.3, 0.5]\" in the editor); a prediction above it counts as positive. Default 0.5 "
                   "(or 'in the top k' with top_k); a list gives one result per threshold.", optional=True)
TOP_K = Param("top_k", "int", None, "only the k largest predictions of each sample count as positive.",
              optional=True, minimum=1)
CLASS_ID = Param("class_id", "int", None, "compute the metric for this class (last axis index) only.",
                 optional=True, minimum=0)
NUM_THRESHOLDS = Param("num_thresholds", "int", 200, "number of evenly spaced thresholds searched.", minimum=1)
NUM_CLASSES = Param("num_classes", "int", 2, "the number of classes (the confusion matrix is num_classes^2).",
                    minimum=1)
IGNORE_CLASS = Param("ignore_class", "int", None, "a label whose positions are left out (e.g. 255 for a "
                     "'void' class in segmentation maps).", optional=True)
TARGET_IDS = Param("target_class_ids", "array", None, "the class ids whose IoUs are averaged (e.g. [0] or "
                   "[0, 2]); none: every class.", optional=True)
SPARSE_TRUE = Param("sparse_y_true", "bool", True, "true: y_true holds class ids; false: one-hot or scores "
                    "(argmax along axis).")
SPARSE_PRED = Param("sparse_y_pred", "bool", True, "true: y_pred holds class ids; false: scores (argmax along axis).")
AVERAGE = Param("average", "enum", "none", "'none': one score per class; 'micro': global counts; 'macro': mean "
                "of the class scores; 'weighted': mean weighted by class support.",
                choices=("none", "micro", "macro", "weighted"))
F_THRESHOLD = Param("threshold", "float", None, "predictions above it are 1; none: the largest prediction of "
                    "each row is 1.", optional=True, minimum=0.0, maximum=1.0)

PROBS = "array, predicted probabilities in [0, 1] (one per label, or per class)."
LABELS01 = "array, true labels, 0 or 1 (any non-zero value is positive), same shape as y_pred."
REG_TRUE, REG_PRED = "array, true values (targets), same shape as y_pred.", "array, predicted values."
MEAN_RESULT = ("float, result: the metric of the sample (scalar), one value per sample (array), or the mean "
               "over every sample of every batch (batch).")
CLASS_RESULT = ("float, result: the metric over the wired batch (array) or over every batch (batch); "
                "an array when the metric gives one value per threshold or per class.")

def _per_sample(fn):
    """HAIBAL's per-sample accuracy: the mean over the last axis of Keras 3's element-wise hits
    (``metrics.accuracy`` / ``binary_accuracy`` give one value per element since Keras 3; the
    nodes keep one value per sample, and their batch instance is Keras' metric class)."""
    def per_sample(y_true, y_pred, **kwargs):
        hits = fn(y_true, y_pred, **kwargs)
        if hits.ndim == 0:
            return hits
        with np.errstate(invalid="ignore"):
            return hits.mean(axis=-1, dtype=hits.dtype)
    per_sample.__name__ = per_sample.__qualname__ = fn.__name__
    per_sample.__doc__ = fn.__doc__
    return per_sample


MEAN_METRICS = [
    MetricDecl(
        name="Accuracy",
        fn=_per_sample(metrics.accuracy),
        description="Calculates how often predictions equal labels exactly (element-wise equality, averaged).",
        y_true_doc="array, true values.",
        y_pred_doc="array, predicted values (already classes, e.g. after argmax).",
        use_cases=("Checking predicted class ids against labels after an argmax.",
            "Comparing discrete outputs such as rounded regression results.")),
    MetricDecl(
        name="BinaryAccuracy",
        fn=_per_sample(metrics.binary_accuracy),
        params=(Param("threshold", "float", 0.5, "predictions above it count as 1.", minimum=0.0, maximum=1.0),),
        description="Calculates how often predictions match binary labels: y_pred > threshold compared with y_true.",
        y_true_doc=LABELS01,
        y_pred_doc=PROBS,
        use_cases=("Binary classification (spam or not, defect or not).", "Multi-label classification, one sigmoid per label.")),
    MetricDecl(
        name="CategoricalAccuracy",
        fn=metrics.categorical_accuracy,
        description="Calculates how often the argmax of the predictions matches the argmax of the one-hot labels.",
        y_true_doc="array, one-hot true labels, same shape as y_pred.",
        y_pred_doc="array, predicted probabilities or logits, one per class.",
        use_cases=("Multi-class image or text classification with one-hot labels.",)),
    MetricDecl(
        name="SparseCategoricalAccuracy",
        fn=metrics.sparse_categorical_accuracy,
        sparse_labels=True,
        description="Calculates how often the argmax of the predictions matches integer labels.",
        y_true_doc="array, integer class ids, one rank below y_pred.",
        y_pred_doc="array, predicted probabilities or logits, one per class.",
        use_cases=("Multi-class classification with integer labels.", "Pixel accuracy of segmentation maps.")),
    MetricDecl(
        name="TopKCategoricalAccuracy",
        fn=metrics.top_k_categorical_accuracy,
        params=(K,),
        description="Computes how often the one-hot target is among the k largest predictions.",
        y_true_doc="array, one-hot true labels, same shape as y_pred.",
        y_pred_doc="array, predicted scores, one per class.",
        use_cases=("ImageNet-style top-5 accuracy.", "Recommendation: is the right item among the k proposed?")),
    MetricDecl(
        name="SparseTopKCategoricalAccuracy",
        fn=metrics.sparse_top_k_categorical_accuracy,
        sparse_labels=True,
        params=(K, Param("from_sorted_ids", "bool", False, "y_pred already holds the class ids sorted by score "
                         "(the top-k ids), not the scores.")),
        description="Computes how often the integer target is among the k largest predictions.",
        y_true_doc="array, integer class ids, one rank below y_pred.",
        y_pred_doc="array, predicted scores, one per class.",
        use_cases=("Top-k accuracy with integer labels (large vocabularies, many classes).",)),
    MetricDecl(
        name="PearsonCorrelation",
        fn=metrics.pearson_correlation,
        params=(AXIS,),
        description="Calculates the Pearson correlation coefficient along axis for each sample, averaged over samples.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Regression where the linear trend matters more than the scale.",)),
    MetricDecl(
        name="ConcordanceCorrelation",
        fn=metrics.concordance_correlation,
        params=(AXIS,),
        description="Calculates Lin's concordance correlation coefficient along axis for each sample, averaged over samples.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Agreement of predictions with targets (correlation and bias together).",)),
    MetricDecl(
        name="MeanSquaredError",
        fn=losses.mean_squared_error,
        description="Computes the mean squared error between y_true and y_pred.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Monitoring a regression model.",)),
    MetricDecl(
        name="MeanAbsoluteError",
        fn=losses.mean_absolute_error,
        description="Computes the mean absolute error between y_true and y_pred.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Monitoring a regression model in the target's unit.",)),
    MetricDecl(
        name="MeanAbsolutePercentageError",
        fn=losses.mean_absolute_percentage_error,
        description="Computes the mean absolute percentage error: 100 * mean(abs((y_true - y_pred) / y_true)).",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Forecasting, reported as a percentage error.",)),
    MetricDecl(
        name="MeanSquaredLogarithmicError",
        fn=losses.mean_squared_logarithmic_error,
        description="Computes the mean squared logarithmic error: mean(square(log(y_true + 1) - log(y_pred + 1))).",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Targets spanning orders of magnitude.",)),
    MetricDecl(
        name="CosineSimilarity",
        fn=metrics.cosine_similarity,
        params=(AXIS,),
        description="Computes the cosine similarity between labels and predictions (1: same direction, -1: opposite).",
        y_true_doc="array, true vectors.",
        y_pred_doc="array, predicted vectors.",
        use_cases=("Embeddings and retrieval by similarity.",)),
    MetricDecl(
        name="LogCoshError",
        fn=losses.log_cosh,
        description="Computes the logarithm of the hyperbolic cosine of the prediction error.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Regression monitoring robust to occasional large errors.",)),
    MetricDecl(
        name="Hinge",
        fn=losses.hinge,
        description="Computes the hinge metric: mean(maximum(1 - y_true * y_pred, 0)).",
        y_true_doc="array, labels -1 or 1 (0/1 converted).",
        y_pred_doc="array, predicted scores.",
        use_cases=("Margin classifiers (SVM).",)),
    MetricDecl(
        name="SquaredHinge",
        fn=losses.squared_hinge,
        description="Computes the squared hinge metric: mean(square(maximum(1 - y_true * y_pred, 0))).",
        y_true_doc="array, labels -1 or 1 (0/1 converted).",
        y_pred_doc="array, predicted scores.",
        use_cases=("Margin classifiers (SVM).",)),
    MetricDecl(
        name="CategoricalHinge",
        fn=losses.categorical_hinge,
        description="Computes the categorical hinge metric: maximum(neg - pos + 1, 0).",
        y_true_doc="array, one-hot labels.",
        y_pred_doc="array, predicted scores.",
        use_cases=("Multi-class margin classifiers.",)),
    MetricDecl(
        name="KLDivergence",
        fn=losses.kl_divergence,
        description="Computes the Kullback-Leibler divergence: sum(y_true * log(y_true / y_pred)).",
        y_true_doc="array, true distributions.",
        y_pred_doc="array, predicted distributions.",
        use_cases=("Knowledge distillation.",)),
    MetricDecl(
        name="Poisson",
        fn=losses.poisson,
        description="Computes the Poisson metric: mean(y_pred - y_true * log(y_pred)).",
        y_true_doc="array, true counts.",
        y_pred_doc="array, predicted rates.",
        use_cases=("Count regression.",)),
    MetricDecl(
        name="BinaryCrossentropy",
        fn=losses.binary_crossentropy,
        params=(FROM_LOGITS, LABEL_SMOOTHING),
        description="Computes the crossentropy metric between binary labels and predictions.",
        y_true_doc=LABELS01,
        y_pred_doc=PROBS,
        use_cases=("Monitoring binary or multi-label classifiers.",)),
    MetricDecl(
        name="CategoricalCrossentropy",
        fn=losses.categorical_crossentropy,
        params=(FROM_LOGITS, LABEL_SMOOTHING, AXIS),
        description="Computes the crossentropy metric between one-hot labels and predictions.",
        y_true_doc="array, one-hot labels.",
        y_pred_doc="array, predicted probabilities (or logits).",
        use_cases=("Monitoring multi-class classifiers.",)),
    MetricDecl(
        name="Huber",
        fn=losses.huber,
        params=(Param("delta", "float", 1.0, "the error where the metric turns from quadratic to linear.", minimum=0.0),),
        description="Computes the Huber metric: quadratic for errors up to delta, linear beyond.",
        y_true_doc=REG_TRUE,
        y_pred_doc=REG_PRED,
        use_cases=("Regression monitoring with outliers.",)),
]

NODES = {}
for _decl in MEAN_METRICS:
    NODES[_decl.name] = metric_node(replace(_decl, metric_cls=getattr(metrics, _decl.name), result_doc=MEAN_RESULT),
                                    category=CATEGORY, module=__name__)

SparseCategoricalCrossentropyNode = NODES["SparseCategoricalCrossentropy"] = metric_node(MetricDecl(
    name="SparseCategoricalCrossentropy",
    fn=metrics.sparse_categorical_crossentropy,
    metric_cls=metrics.SparseCategoricalCrossentropy,
    sparse_labels=True,
    params=(
        FROM_LOGITS,
        axis("the dimension along which the entropy is computed (the class axis)."),
        SCCE_IGNORE_CLASS,
    ),
    description="Computes the crossentropy metric between integer labels and predictions.",
    y_pred_doc="array, predicted values (probabilities, e.g. [0.1, 0.3, 0.6] for a 3-class problem, "
               "or logits, e.g. [0.1, 0.8, 0.9], when from_logits is true).",
    y_true_doc="array, true values: integer class ids, one per sample (one rank below y_pred).",
    result_doc="float, result: the loss per sample (scalar/array) or the mean over all samples (batch).",
    use_cases=(
        "Image recognition with more than two categories (cat, dog or horse), labels given as integers.",
        "Text classification in natural language processing, where class labels are integers.",
        "Semantic segmentation, with ignore_class for the 'void' label (255) of the label maps.",
        "Recommender systems ranking many items, each item a class.",
        "Use it with two or more classes and integer labels; with one-hot labels use CategoricalCrossentropy.",
    ),
), category=CATEGORY, module=__name__)

# -- metrics with their own state ----------------------------------------------------------------
VALUES = (("values", "float", 0, "array, the values to reduce."),)
PAIR_BINARY = (("y_true", "float", 0, LABELS01), ("y_pred", "float", 0, PROBS))
PAIR_REG = (("y_true", "float", 0, REG_TRUE), ("y_pred", "float", 0, REG_PRED))
PAIR_IDS = (("y_true", "float", 0, "array, true class ids (or one-hot / scores when sparse_y_true is false)."),
            ("y_pred", "float", 0, "array, predicted class ids (or scores when sparse_y_pred is false)."))
PAIR_ONEHOT = (("y_true", "float", 1, "array, one-hot true labels (class axis = axis)."),
               ("y_pred", "float", 0, "array, predicted scores (or class ids when sparse_y_pred is true)."))
PAIR_2D = (("y_true", "float", 2, "array (batch, classes), 0/1 true labels."),
           ("y_pred", "float", 2, "array (batch, classes), predicted probabilities."))
RATIO = (THRESHOLDS, TOP_K, CLASS_ID)
COUNT_USES = ("Building a confusion matrix of a binary classifier.", "Monitoring false alarms or misses.")


def _at(constraint: str) -> tuple:
    return (Param(constraint, "float", 0.5, f"the {constraint} to reach, in [0, 1].", minimum=0.0, maximum=1.0),
            NUM_THRESHOLDS, CLASS_ID)


CLASS_METRICS = [
    ClassMetricDecl(
        name="Mean",
        inputs=VALUES,
        description="Computes the (weighted) mean of the given values.",
        use_cases=("Averaging a per-sample quantity over a dataset.",)),
    ClassMetricDecl(
        name="Sum",
        inputs=VALUES,
        description="Computes the (weighted) sum of the given values.",
        use_cases=("Counting or totalling over batches.",)),
    ClassMetricDecl(
        name="MeanTensor",
        inputs=VALUES,
        description="Computes the element-wise (weighted) mean of the given tensors (same shape each time).",
        use_cases=("Average image or feature map over a dataset.",)),
    ClassMetricDecl(
        name="RootMeanSquaredError",
        inputs=PAIR_REG,
        description="Computes the root mean squared error between y_true and y_pred.",
        use_cases=("Regression error in the target's unit.",)),
    ClassMetricDecl(
        name="MeanRelativeError",
        params=(Param("normalizer", "array", 1.0, "the divisor of the absolute errors (a number or "
            "an array broadcastable to y_pred)."),),
        inputs=PAIR_REG,
        description="Computes the mean relative error: mean(abs(y_true - y_pred) / normalizer).",
        use_cases=("Errors relative to a known scale per output.",)),
    ClassMetricDecl(
        name="R2Score",
        params=(Param("class_aggregation", "enum", "uniform_average", "how the per-output scores are combined "
            "('none': one per output).", choices=("uniform_average", "variance_weighted_average", "none")),
            Param("num_regressors", "int", 0, "number of independent regressors (adjusted R2 when > 0).",
            minimum=0)),
        inputs=(("y_true", "float", 1, "array (batch, outputs), true values."),
            ("y_pred", "float", 1, "array (batch, outputs), predicted values.")),
        description="Computes the R2 score (coefficient of determination) of 2-D regression outputs.",
        use_cases=("Share of the target variance explained by a regression model.",)),
    ClassMetricDecl(
        name="AUC",
        params=(NUM_THRESHOLDS, Param("curve", "enum", "ROC", "the curve: ROC, PR (precision-recall) or PRGAIN "
                                      "(precision-recall gain).",
            choices=("ROC", "PR", "PRGAIN")),
            Param("summation_method", "enum", "interpolation", "Riemann sum: interpolation, minoring or majoring.",
            choices=("interpolation", "minoring", "majoring")),
            Param("thresholds", "array", None, "explicit thresholds in [0, 1] (replaces num_thresholds).",
            optional=True),
            Param("multi_label", "bool", False, "one curve per label, averaged (rather than all labels pooled)."),
            Param("num_labels", "int", None, "the number of labels with multi_label.", optional=True, minimum=1),
            Param("label_weights", "array", None, "non-negative weights per label.", optional=True),
            FROM_LOGITS),
        inputs=PAIR_BINARY,
        description="Approximates the area under the ROC or precision-recall curve with a Riemann sum over thresholds.",
        use_cases=("Ranking quality of a binary classifier, independent of one threshold.", "Imbalanced data (PR curve).")),
    ClassMetricDecl(
        name="Precision",
        params=RATIO,
        inputs=PAIR_BINARY,
        description="Computes the precision of the predictions: tp / (tp + fp).",
        use_cases=("How many alarms are real (fraud, defects).",)),
    ClassMetricDecl(
        name="Recall",
        params=RATIO,
        inputs=PAIR_BINARY,
        description="Computes the recall of the predictions: tp / (tp + fn).",
        use_cases=("How many positives are found (screening, detection).",)),
    ClassMetricDecl(
        name="Specificity",
        params=RATIO,
        inputs=PAIR_BINARY,
        description="Computes the specificity (true negative rate): tn / (tn + fp).",
        use_cases=("How many negatives are correctly left alone (medical tests).",)),
    ClassMetricDecl(
        name="TruePositives",
        params=(THRESHOLDS,),
        inputs=PAIR_BINARY,
        description="Calculates the (weighted) number of true positives.",
        use_cases=COUNT_USES),
    ClassMetricDecl(
        name="FalsePositives",
        params=(THRESHOLDS,),
        inputs=PAIR_BINARY,
        description="Calculates the (weighted) number of false positives.",
        use_cases=COUNT_USES),
    ClassMetricDecl(
        name="TrueNegatives",
        params=(THRESHOLDS,),
        inputs=PAIR_BINARY,
        description="Calculates the (weighted) number of true negatives.",
        use_cases=COUNT_USES),
    ClassMetricDecl(
        name="FalseNegatives",
        params=(THRESHOLDS,),
        inputs=PAIR_BINARY,
        description="Calculates the (weighted) number of false negatives.",
        use_cases=COUNT_USES),
    ClassMetricDecl(
        name="SensitivityAtSpecificity",
        params=_at("specificity"),
        inputs=PAIR_BINARY,
        description="Computes the best sensitivity where specificity is >= the given value.",
        use_cases=("Medical screening at a required false-alarm level.",)),
    ClassMetricDecl(
        name="SpecificityAtSensitivity",
        params=_at("sensitivity"),
        inputs=PAIR_BINARY,
        description="Computes the best specificity where sensitivity is >= the given value.",
        use_cases=("Detection systems that must catch a given share of positives.",)),
    ClassMetricDecl(
        name="PrecisionAtRecall",
        params=_at("recall"),
        inputs=PAIR_BINARY,
        description="Computes the best precision where recall is >= the given value.",
        use_cases=("Retrieval that must find a given share of relevant items.",)),
    ClassMetricDecl(
        name="RecallAtPrecision",
        params=_at("precision"),
        inputs=PAIR_BINARY,
        description="Computes the best recall where precision is >= the given value.",
        use_cases=("Alerting systems that must keep false alarms rare.",)),
    ClassMetricDecl(
        name="IoU",
        params=(NUM_CLASSES, TARGET_IDS, IGNORE_CLASS, SPARSE_TRUE, SPARSE_PRED, AXIS),
        inputs=PAIR_IDS,
        description="Computes the intersection-over-union for the target classes: tp / (tp + fp + fn), averaged.",
        use_cases=("Semantic segmentation quality for chosen classes.",)),
    ClassMetricDecl(
        name="MeanIoU",
        params=(NUM_CLASSES, IGNORE_CLASS, SPARSE_TRUE, SPARSE_PRED, AXIS),
        inputs=PAIR_IDS,
        description="Computes the mean intersection-over-union over every class that occurs.",
        use_cases=("Semantic segmentation benchmarks (mIoU).",)),
    ClassMetricDecl(
        name="BinaryIoU",
        params=(Param("target_class_ids", "array", None, "the classes averaged: [0], [1] or [0, 1]; "
            "none: [0, 1].", optional=True),
            Param("threshold", "float", 0.5, "predictions >= threshold are class 1.")),
        inputs=PAIR_BINARY,
        description="Computes the intersection-over-union of binary masks after thresholding the predictions.",
        use_cases=("Foreground/background segmentation.",)),
    ClassMetricDecl(
        name="OneHotIoU",
        params=(NUM_CLASSES, TARGET_IDS, IGNORE_CLASS,
            Param("sparse_y_pred", "bool", False, "true: y_pred holds class ids."), AXIS),
        inputs=PAIR_ONEHOT,
        description="Computes the intersection-over-union of the target classes for one-hot labels.",
        use_cases=("Segmentation with one-hot label maps.",)),
    ClassMetricDecl(
        name="OneHotMeanIoU",
        params=(NUM_CLASSES, IGNORE_CLASS, Param("sparse_y_pred", "bool", False, "true: y_pred holds class ids."),
            AXIS),
        inputs=PAIR_ONEHOT,
        description="Computes the mean intersection-over-union for one-hot labels.",
        use_cases=("Segmentation with one-hot label maps.",)),
    ClassMetricDecl(
        name="F1Score",
        params=(AVERAGE, F_THRESHOLD),
        inputs=PAIR_2D,
        description="Computes the F1 score: 2 * precision * recall / (precision + recall).",
        use_cases=("Imbalanced multi-class or multi-label classification.",)),
    ClassMetricDecl(
        name="FBetaScore",
        params=(AVERAGE, Param("beta", "float", 1.0, "weight of recall against precision.", minimum=1e-12),
            F_THRESHOLD),
        inputs=PAIR_2D,
        description="Computes the F-beta score: (1 + b^2) * precision * recall / (b^2 * precision + recall).",
        use_cases=("Classification where recall (beta > 1) or precision (beta < 1) matters more.",)),
]



def _every_class_by_default(kwargs: dict) -> dict:
    """IoU / OneHotIoU nodes: no ``target_class_ids`` means every class (Keras requires the argument)."""
    if "target_class_ids" not in kwargs:
        kwargs = {**kwargs, "target_class_ids": list(range(kwargs["num_classes"]))}
    return kwargs


for _decl in CLASS_METRICS:
    NODES[_decl.name] = class_metric_node(
        replace(_decl, metric_cls=getattr(metrics, _decl.name), result_doc=CLASS_RESULT,
                translate=_every_class_by_default if _decl.name in ("IoU", "OneHotIoU") else None),
        category=CATEGORY, module=__name__)
