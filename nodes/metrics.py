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

import numpy as np

from haibal_py import losses, metrics
from haibal_py.node import Param
from haibal_py.node_factory import class_metric_node, metric_node

CATEGORY = "Metrics"

# -- shared parameters and docs ------------------------------------------------------------------
FROM_LOGITS = Param("from_logits", "bool", False, "whether y_pred holds logits rather than probabilities.")
LABEL_SMOOTHING = Param("label_smoothing", "float", 0.0, "in [0, 1]; > 0 relaxes the labels.",
                        minimum=0.0, maximum=1.0)
AXIS = Param("axis", "int", -1, "the axis along which the metric is computed.")
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


# (name, function, sparse labels, parameters, description, y_true doc, y_pred doc, use cases)
MEAN_METRICS = [
    ("Accuracy", _per_sample(metrics.accuracy), False, (),
     "Calculates how often predictions equal labels exactly (element-wise equality, averaged).",
     "array, true values.", "array, predicted values (already classes, e.g. after argmax).",
     ("Checking predicted class ids against labels after an argmax.",
      "Comparing discrete outputs such as rounded regression results.")),
    ("BinaryAccuracy", _per_sample(metrics.binary_accuracy), False,
     (Param("threshold", "float", 0.5, "predictions above it count as 1.", minimum=0.0, maximum=1.0),),
     "Calculates how often predictions match binary labels: y_pred > threshold compared with y_true.",
     LABELS01, PROBS,
     ("Binary classification (spam or not, defect or not).", "Multi-label classification, one sigmoid per label.")),
    ("CategoricalAccuracy", metrics.categorical_accuracy, False, (),
     "Calculates how often the argmax of the predictions matches the argmax of the one-hot labels.",
     "array, one-hot true labels, same shape as y_pred.", "array, predicted probabilities or logits, one per class.",
     ("Multi-class image or text classification with one-hot labels.",)),
    ("SparseCategoricalAccuracy", metrics.sparse_categorical_accuracy, True, (),
     "Calculates how often the argmax of the predictions matches integer labels.",
     "array, integer class ids, one rank below y_pred.", "array, predicted probabilities or logits, one per class.",
     ("Multi-class classification with integer labels.", "Pixel accuracy of segmentation maps.")),
    ("TopKCategoricalAccuracy", metrics.top_k_categorical_accuracy, False, (K,),
     "Computes how often the one-hot target is among the k largest predictions.",
     "array, one-hot true labels, same shape as y_pred.", "array, predicted scores, one per class.",
     ("ImageNet-style top-5 accuracy.", "Recommendation: is the right item among the k proposed?")),
    ("SparseTopKCategoricalAccuracy", metrics.sparse_top_k_categorical_accuracy, True, (K,),
     "Computes how often the integer target is among the k largest predictions.",
     "array, integer class ids, one rank below y_pred.", "array, predicted scores, one per class.",
     ("Top-k accuracy with integer labels (large vocabularies, many classes).",)),
    ("PearsonCorrelation", metrics.pearson_correlation, False, (AXIS,),
     "Calculates the Pearson correlation coefficient along axis for each sample, averaged over samples.",
     REG_TRUE, REG_PRED, ("Regression where the linear trend matters more than the scale.",)),
    ("ConcordanceCorrelation", metrics.concordance_correlation, False, (AXIS,),
     "Calculates Lin's concordance correlation coefficient along axis for each sample, averaged over samples.",
     REG_TRUE, REG_PRED, ("Agreement of predictions with targets (correlation and bias together).",)),
    ("MeanSquaredError", losses.mean_squared_error, False, (),
     "Computes the mean squared error between y_true and y_pred.", REG_TRUE, REG_PRED,
     ("Monitoring a regression model.",)),
    ("MeanAbsoluteError", losses.mean_absolute_error, False, (),
     "Computes the mean absolute error between y_true and y_pred.", REG_TRUE, REG_PRED,
     ("Monitoring a regression model in the target's unit.",)),
    ("MeanAbsolutePercentageError", losses.mean_absolute_percentage_error, False, (),
     "Computes the mean absolute percentage error: 100 * mean(abs((y_true - y_pred) / y_true)).", REG_TRUE,
     REG_PRED, ("Forecasting, reported as a percentage error.",)),
    ("MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error, False, (),
     "Computes the mean squared logarithmic error: mean(square(log(y_true + 1) - log(y_pred + 1))).", REG_TRUE,
     REG_PRED, ("Targets spanning orders of magnitude.",)),
    ("CosineSimilarity", metrics.cosine_similarity, False, (AXIS,),
     "Computes the cosine similarity between labels and predictions (1: same direction, -1: opposite).",
     "array, true vectors.", "array, predicted vectors.", ("Embeddings and retrieval by similarity.",)),
    ("LogCoshError", losses.log_cosh, False, (),
     "Computes the logarithm of the hyperbolic cosine of the prediction error.", REG_TRUE, REG_PRED,
     ("Regression monitoring robust to occasional large errors.",)),
    ("Hinge", losses.hinge, False, (), "Computes the hinge metric: mean(maximum(1 - y_true * y_pred, 0)).",
     "array, labels -1 or 1 (0/1 converted).", "array, predicted scores.", ("Margin classifiers (SVM).",)),
    ("SquaredHinge", losses.squared_hinge, False, (),
     "Computes the squared hinge metric: mean(square(maximum(1 - y_true * y_pred, 0))).",
     "array, labels -1 or 1 (0/1 converted).", "array, predicted scores.", ("Margin classifiers (SVM).",)),
    ("CategoricalHinge", losses.categorical_hinge, False, (),
     "Computes the categorical hinge metric: maximum(neg - pos + 1, 0).", "array, one-hot labels.",
     "array, predicted scores.", ("Multi-class margin classifiers.",)),
    ("KLDivergence", losses.kl_divergence, False, (),
     "Computes the Kullback-Leibler divergence: sum(y_true * log(y_true / y_pred)).",
     "array, true distributions.", "array, predicted distributions.", ("Knowledge distillation.",)),
    ("Poisson", losses.poisson, False, (), "Computes the Poisson metric: mean(y_pred - y_true * log(y_pred)).",
     "array, true counts.", "array, predicted rates.", ("Count regression.",)),
    ("BinaryCrossentropy", losses.binary_crossentropy, False, (FROM_LOGITS, LABEL_SMOOTHING),
     "Computes the crossentropy metric between binary labels and predictions.", LABELS01, PROBS,
     ("Monitoring binary or multi-label classifiers.",)),
    ("CategoricalCrossentropy", losses.categorical_crossentropy, False, (FROM_LOGITS, LABEL_SMOOTHING, AXIS),
     "Computes the crossentropy metric between one-hot labels and predictions.", "array, one-hot labels.",
     "array, predicted probabilities (or logits).", ("Monitoring multi-class classifiers.",)),
    ("Huber", losses.huber, False,
     (Param("delta", "float", 1.0, "the error where the metric turns from quadratic to linear.", minimum=0.0),),
     "Computes the Huber metric: quadratic for errors up to delta, linear beyond.", REG_TRUE, REG_PRED,
     ("Regression monitoring with outliers.",)),
]

NODES = {}
for _name, _fn, _sparse, _params, _desc, _true_doc, _pred_doc, _uses in MEAN_METRICS:
    NODES[_name] = metric_node(
        type_id=f"haibal.metrics.{_name}", category=CATEGORY, display_name=_name, class_name=f"{_name}Node",
        fn=_fn, metric_cls=getattr(metrics, _name), sparse_labels=_sparse, params=_params, description=_desc,
        use_cases=_uses, y_true_doc=_true_doc, y_pred_doc=_pred_doc, result_doc=MEAN_RESULT)

SparseCategoricalCrossentropyNode = NODES["SparseCategoricalCrossentropy"] = metric_node(
    type_id="haibal.metrics.SparseCategoricalCrossentropy",
    category=CATEGORY,
    display_name="SparseCategoricalCrossentropy",
    class_name="SparseCategoricalCrossentropyNode",
    fn=metrics.sparse_categorical_crossentropy,
    metric_cls=metrics.SparseCategoricalCrossentropy,
    sparse_labels=True,
    params=(
        Param("from_logits", "bool", False, "whether y_pred holds logits rather than probabilities."),
        Param("axis", "int", -1, "the dimension along which the entropy is computed (the class axis)."),
        Param("ignore_class", "int", None, "a label whose positions get loss 0 and do not count "
              "(e.g. -1 or 255 for a 'void' class in segmentation maps); none by default.", optional=True),
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
)

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


# (name, parameters, inputs, description, use cases)
CLASS_METRICS = [
    ("Mean", (), VALUES, "Computes the (weighted) mean of the given values.",
     ("Averaging a per-sample quantity over a dataset.",)),
    ("Sum", (), VALUES, "Computes the (weighted) sum of the given values.", ("Counting or totalling over batches.",)),
    ("MeanTensor", (), VALUES, "Computes the element-wise (weighted) mean of the given tensors (same shape each time).",
     ("Average image or feature map over a dataset.",)),
    ("RootMeanSquaredError", (), PAIR_REG, "Computes the root mean squared error between y_true and y_pred.",
     ("Regression error in the target's unit.",)),
    ("MeanRelativeError", (Param("normalizer", "array", 1.0, "the divisor of the absolute errors (a number or "
                                 "an array broadcastable to y_pred)."),), PAIR_REG,
     "Computes the mean relative error: mean(abs(y_true - y_pred) / normalizer).",
     ("Errors relative to a known scale per output.",)),
    ("R2Score", (Param("class_aggregation", "enum", "uniform_average", "how the per-output scores are combined "
                       "('none': one per output).", choices=("uniform_average", "variance_weighted_average", "none")),
                 Param("num_regressors", "int", 0, "number of independent regressors (adjusted R2 when > 0).",
                       minimum=0)),
     (("y_true", "float", 1, "array (batch, outputs), true values."),
      ("y_pred", "float", 1, "array (batch, outputs), predicted values.")),
     "Computes the R2 score (coefficient of determination) of 2-D regression outputs.",
     ("Share of the target variance explained by a regression model.",)),
    ("AUC", (NUM_THRESHOLDS, Param("curve", "enum", "ROC", "the curve: ROC or PR (precision-recall).",
                                   choices=("ROC", "PR")),
             Param("summation_method", "enum", "interpolation", "Riemann sum: interpolation, minoring or majoring.",
                   choices=("interpolation", "minoring", "majoring")),
             Param("thresholds", "array", None, "explicit thresholds in [0, 1] (replaces num_thresholds).",
                   optional=True),
             Param("multi_label", "bool", False, "one curve per label, averaged (rather than all labels pooled)."),
             Param("num_labels", "int", None, "the number of labels with multi_label.", optional=True, minimum=1),
             Param("label_weights", "array", None, "non-negative weights per label.", optional=True),
             FROM_LOGITS),
     PAIR_BINARY, "Approximates the area under the ROC or precision-recall curve with a Riemann sum over thresholds.",
     ("Ranking quality of a binary classifier, independent of one threshold.", "Imbalanced data (PR curve).")),
    ("Precision", RATIO, PAIR_BINARY, "Computes the precision of the predictions: tp / (tp + fp).",
     ("How many alarms are real (fraud, defects).",)),
    ("Recall", RATIO, PAIR_BINARY, "Computes the recall of the predictions: tp / (tp + fn).",
     ("How many positives are found (screening, detection).",)),
    ("Specificity", RATIO, PAIR_BINARY, "Computes the specificity (true negative rate): tn / (tn + fp).",
     ("How many negatives are correctly left alone (medical tests).",)),
    ("TruePositives", (THRESHOLDS,), PAIR_BINARY, "Calculates the (weighted) number of true positives.", COUNT_USES),
    ("FalsePositives", (THRESHOLDS,), PAIR_BINARY, "Calculates the (weighted) number of false positives.",
     COUNT_USES),
    ("TrueNegatives", (THRESHOLDS,), PAIR_BINARY, "Calculates the (weighted) number of true negatives.", COUNT_USES),
    ("FalseNegatives", (THRESHOLDS,), PAIR_BINARY, "Calculates the (weighted) number of false negatives.",
     COUNT_USES),
    ("SensitivityAtSpecificity", _at("specificity"), PAIR_BINARY,
     "Computes the best sensitivity where specificity is >= the given value.",
     ("Medical screening at a required false-alarm level.",)),
    ("SpecificityAtSensitivity", _at("sensitivity"), PAIR_BINARY,
     "Computes the best specificity where sensitivity is >= the given value.",
     ("Detection systems that must catch a given share of positives.",)),
    ("PrecisionAtRecall", _at("recall"), PAIR_BINARY,
     "Computes the best precision where recall is >= the given value.",
     ("Retrieval that must find a given share of relevant items.",)),
    ("RecallAtPrecision", _at("precision"), PAIR_BINARY,
     "Computes the best recall where precision is >= the given value.",
     ("Alerting systems that must keep false alarms rare.",)),
    ("IoU", (NUM_CLASSES, TARGET_IDS, IGNORE_CLASS, SPARSE_TRUE, SPARSE_PRED, AXIS), PAIR_IDS,
     "Computes the intersection-over-union for the target classes: tp / (tp + fp + fn), averaged.",
     ("Semantic segmentation quality for chosen classes.",)),
    ("MeanIoU", (NUM_CLASSES, IGNORE_CLASS, SPARSE_TRUE, SPARSE_PRED, AXIS), PAIR_IDS,
     "Computes the mean intersection-over-union over every class that occurs.",
     ("Semantic segmentation benchmarks (mIoU).",)),
    ("BinaryIoU", (Param("target_class_ids", "array", None, "the classes averaged: [0], [1] or [0, 1]; "
                         "none: [0, 1].", optional=True),
                   Param("threshold", "float", 0.5, "predictions >= threshold are class 1.")),
     PAIR_BINARY, "Computes the intersection-over-union of binary masks after thresholding the predictions.",
     ("Foreground/background segmentation.",)),
    ("OneHotIoU", (NUM_CLASSES, TARGET_IDS, IGNORE_CLASS,
                   Param("sparse_y_pred", "bool", False, "true: y_pred holds class ids."), AXIS), PAIR_ONEHOT,
     "Computes the intersection-over-union of the target classes for one-hot labels.",
     ("Segmentation with one-hot label maps.",)),
    ("OneHotMeanIoU", (NUM_CLASSES, IGNORE_CLASS, Param("sparse_y_pred", "bool", False, "true: y_pred holds class ids."),
                       AXIS), PAIR_ONEHOT,
     "Computes the mean intersection-over-union for one-hot labels.", ("Segmentation with one-hot label maps.",)),
    ("F1Score", (AVERAGE, F_THRESHOLD), PAIR_2D, "Computes the F1 score: 2 * precision * recall / (precision + recall).",
     ("Imbalanced multi-class or multi-label classification.",)),
    ("FBetaScore", (AVERAGE, Param("beta", "float", 1.0, "weight of recall against precision.", minimum=1e-12),
                    F_THRESHOLD), PAIR_2D,
     "Computes the F-beta score: (1 + b^2) * precision * recall / (b^2 * precision + recall).",
     ("Classification where recall (beta > 1) or precision (beta < 1) matters more.",)),
]



def _every_class_by_default(kwargs: dict) -> dict:
    """IoU / OneHotIoU nodes: no ``target_class_ids`` means every class (Keras requires the argument)."""
    if "target_class_ids" not in kwargs:
        kwargs = {**kwargs, "target_class_ids": list(range(kwargs["num_classes"]))}
    return kwargs


for _name, _params, _inputs, _desc, _uses in CLASS_METRICS:
    NODES[_name] = class_metric_node(
        translate=_every_class_by_default if _name in ("IoU", "OneHotIoU") else None,
        type_id=f"haibal.metrics.{_name}", category=CATEGORY, display_name=_name, class_name=f"{_name}Node",
        metric_cls=getattr(metrics, _name), params=_params, inputs=_inputs, description=_desc, use_cases=_uses,
        result_doc=CLASS_RESULT)
