"""Loss nodes: HAIBAL's Losses palette, one node per Keras loss, generated from the table below.

Each entry gives the function, its ``Loss`` class, the parameters shown on the node and a
help page (description, terminal docs, use cases); ``loss_node`` builds the polymorphic
node (scalar / array / batch instances). Type ids are ``haibal.losses.<KerasClassName>``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from haibal_py import losses
from haibal_py.node import Param
from haibal_py.node.factory import LossDecl, loss_node

from ._params import FROM_LOGITS, LABEL_SMOOTHING, SCCE_IGNORE_CLASS, axis

CATEGORY = "Losses"

AXIS = axis("the axis along which the loss is computed (the features / class axis).")
GAMMA = Param("gamma", "float", 2.0, "focusing parameter: larger values down-weight easy examples more; "
              "0 gives the plain crossentropy.", minimum=0.0)
PER_SAMPLE = Param("per_sample", "bool", False, "false: one value over every axis (Keras' axis=None); "
                   "true: one value per sample, over all axes but the first (axis=(1, ..., N-1)).")

REGRESSION_TRUE = "array, true values (targets), same shape as y_pred."
REGRESSION_PRED = "array, predicted values."
PER_SAMPLE_RESULT = ("float, result: the loss of the sample (scalar), one value per sample over the last axis "
                     "(array), or the mean over every value of every batch (batch).")


def _overlap_axis(params: dict, y_pred) -> dict:
    """Dice/Tversky: the node's ``per_sample`` switch as the function's ``axis``."""
    kwargs = {k: v for k, v in params.items() if k != "per_sample"}
    ndim = np.ndim(y_pred)
    kwargs["axis"] = tuple(range(1, ndim)) if params.get("per_sample") and ndim > 1 else None
    return kwargs


DECLARATIONS = [
    LossDecl(
        name="MeanSquaredError",
        fn=losses.mean_squared_error,
        description="Computes the mean of squares of errors between labels and predictions: mean(square(y_true - y_pred)).",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Regression: predicting prices, temperatures or any continuous quantity.",
            "Training autoencoders to reconstruct their input.",
            "Use it when large errors must be penalised much more than small ones.")),
    LossDecl(
        name="MeanAbsoluteError",
        fn=losses.mean_absolute_error,
        description="Computes the mean of absolute difference between labels and predictions: mean(abs(y_true - y_pred)).",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Regression robust to outliers (errors count linearly).",
            "Forecasting where the error in the target's own unit is what matters.")),
    LossDecl(
        name="MeanAbsolutePercentageError",
        fn=losses.mean_absolute_percentage_error,
        description="Computes the mean absolute percentage error: 100 * mean(abs((y_true - y_pred) / y_true)); "
            "the divisor is max(|y_true|, 1e-7).",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Sales or demand forecasting, where relative error is what is reported.",
            "Comparing models across targets of different scales.")),
    LossDecl(
        name="MeanSquaredLogarithmicError",
        fn=losses.mean_squared_logarithmic_error,
        description="Computes the mean squared logarithmic error: mean(square(log(y_true + 1) - log(y_pred + 1))); "
            "values below 1e-7 are raised to 1e-7.",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Targets spanning several orders of magnitude (counts, prices).",
            "Penalising under-estimation more than over-estimation.")),
    LossDecl(
        name="CosineSimilarity",
        fn=losses.cosine_similarity,
        params=(AXIS,),
        description="Computes the negative cosine similarity between labels and predictions: -sum(l2_norm(y_true) * "
            "l2_norm(y_pred)); -1 means same direction, 0 orthogonal; a zero vector gives 0.",
        y_true_doc="array, true vectors.",
        y_pred_doc="array, predicted vectors.",
        use_cases=("Learning embeddings whose direction matters, not their length.",
            "Text or image retrieval by similarity of feature vectors.")),
    LossDecl(
        name="Huber",
        fn=losses.huber,
        params=(Param("delta", "float", 1.0, "the error at which the loss changes from quadratic to linear.", minimum=0.0),),
        description="Computes the Huber loss: 0.5 * e^2 where |e| <= delta, delta * |e| - 0.5 * delta^2 beyond.",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Regression with outliers: quadratic near the target, linear far from it.",
            "Reinforcement learning (value targets in DQN).")),
    LossDecl(
        name="LogCosh",
        fn=losses.log_cosh,
        description="Computes the logarithm of the hyperbolic cosine of the prediction error: mean(log(cosh(y_pred - y_true))).",
        y_true_doc=REGRESSION_TRUE,
        y_pred_doc=REGRESSION_PRED,
        use_cases=("Regression that behaves like MSE for small errors and like MAE for large ones.",
            "A smooth, twice-differentiable alternative to Huber.")),
    LossDecl(
        name="Hinge",
        fn=losses.hinge,
        description="Computes the hinge loss: mean(maximum(1 - y_true * y_pred, 0)); labels are -1 or 1 "
            "(0/1 labels are converted).",
        y_true_doc="array, true labels, -1 or 1 (or 0 or 1).",
        y_pred_doc="array, predicted scores.",
        use_cases=("Maximum-margin binary classification (support vector machines).",)),
    LossDecl(
        name="SquaredHinge",
        fn=losses.squared_hinge,
        description="Computes the squared hinge loss: mean(square(maximum(1 - y_true * y_pred, 0))).",
        y_true_doc="array, true labels, -1 or 1 (or 0 or 1).",
        y_pred_doc="array, predicted scores.",
        use_cases=("Margin classification that penalises large violations more strongly than Hinge.",)),
    LossDecl(
        name="CategoricalHinge",
        fn=losses.categorical_hinge,
        description="Computes the categorical hinge loss: maximum(neg - pos + 1, 0), with pos = sum(y_true * y_pred) "
            "and neg = max((1 - y_true) * y_pred).",
        y_true_doc="array, one-hot true labels.",
        y_pred_doc="array, predicted scores, one per class.",
        use_cases=("Multi-class maximum-margin classification.",)),
    LossDecl(
        name="KLDivergence",
        fn=losses.kl_divergence,
        description="Computes the Kullback-Leibler divergence: sum(y_true * log(y_true / y_pred)); both are clipped to [1e-7, 1].",
        y_true_doc="array, true probability distributions.",
        y_pred_doc="array, predicted probability distributions.",
        use_cases=("Matching a predicted distribution to a target one (knowledge distillation).",
            "Variational autoencoders and other probabilistic models.")),
    LossDecl(
        name="Poisson",
        fn=losses.poisson,
        description="Computes the Poisson loss: mean(y_pred - y_true * log(y_pred + 1e-7)).",
        y_true_doc="array, true counts.",
        y_pred_doc="array, predicted rates (positive).",
        use_cases=("Predicting counts: visits, events, arrivals per time unit.",)),
    LossDecl(
        name="BinaryCrossentropy",
        fn=losses.binary_crossentropy,
        params=(FROM_LOGITS, LABEL_SMOOTHING, AXIS),
        description="Computes the cross-entropy loss between true labels (0 or 1) and predicted probabilities "
            "(clipped to [1e-7, 1 - 1e-7]) or logits.",
        y_true_doc="array, true labels, 0 or 1.",
        y_pred_doc="array, predicted probabilities (or logits when from_logits is true).",
        use_cases=("Binary classification: spam or not, defect or not.",
            "Multi-label classification, one sigmoid output per label.",
            "Pixel-wise foreground/background segmentation.")),
    LossDecl(
        name="BinaryFocalCrossentropy",
        fn=losses.binary_focal_crossentropy,
        params=(Param("apply_class_balancing", "bool", False, "whether to weight class 1 by alpha and class 0 by 1 - alpha."),
            Param("alpha", "float", 0.25, "weight of class 1 when apply_class_balancing is true.", minimum=0.0, maximum=1.0),
            GAMMA, FROM_LOGITS, LABEL_SMOOTHING, AXIS),
        description="Computes the focal cross-entropy loss (Lin et al.): the binary crossentropy weighted by "
            "(1 - p_t)^gamma, which down-weights well-classified examples.",
        y_true_doc="array, true labels, 0 or 1.",
        y_pred_doc="array, predicted probabilities (or logits when from_logits is true).",
        use_cases=("Object detection and other tasks with a strong class imbalance.",
            "Rare-event detection (fraud, defects) where easy negatives dominate.")),
    LossDecl(
        name="CategoricalCrossentropy",
        fn=losses.categorical_crossentropy,
        params=(FROM_LOGITS, LABEL_SMOOTHING, AXIS),
        description="Computes the crossentropy loss between one-hot labels and predictions; probabilities are divided "
            "by their sum along axis and clipped to [1e-7, 1 - 1e-7].",
        y_true_doc="array, one-hot (or soft) true labels, same shape as y_pred.",
        y_pred_doc="array, predicted probabilities (or logits when from_logits is true), one per class.",
        use_cases=("Image classification with more than two classes and one-hot labels.",
            "Knowledge distillation with soft labels.",
            "With integer labels use SparseCategoricalCrossentropy instead.")),
    LossDecl(
        name="CategoricalFocalCrossentropy",
        fn=losses.categorical_focal_crossentropy,
        params=(Param("alpha", "float", 0.25, "weight balancing factor for all classes."), GAMMA, FROM_LOGITS,
            LABEL_SMOOTHING, AXIS),
        description="Computes the alpha-balanced focal crossentropy: sum(alpha * (1 - p)^gamma * -y_true * log(p)).",
        y_true_doc="array, one-hot true labels.",
        y_pred_doc="array, predicted probabilities (or logits when from_logits is true).",
        use_cases=("Multi-class problems with class imbalance, without class weights.",
            "Dense prediction (detection, segmentation) dominated by easy background.")),
    LossDecl(
        name="Dice",
        fn=losses.dice,
        params=(PER_SAMPLE,),
        description="Computes the Dice loss: 1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred)); "
            "two empty masks give 1.",
        y_true_doc="array, true masks (0 or 1).",
        y_pred_doc="array, predicted masks (probabilities).",
        use_cases=("Medical image segmentation, where the object is small against the background.",
            "Any segmentation scored by overlap (F1 / Dice coefficient).")),
    LossDecl(
        name="Tversky",
        fn=losses.tversky,
        params=(Param("alpha", "float", 0.5, "weight of the false positives sum(y_pred * (1 - y_true)), the spurious "
                      "foreground.", minimum=0.0),
            Param("beta", "float", 0.5, "weight of the false negatives sum(y_true * (1 - y_pred)), the missed "
                  "foreground.", minimum=0.0),
            PER_SAMPLE),
        description="Computes the Tversky loss: 1 - TP / (TP + alpha * FP + beta * FN); alpha = beta = 0.5 is the Dice "
                    "loss (Keras' corrected order of alpha and beta, after 3.15).",
        y_true_doc="array, true masks (0 or 1).",
        y_pred_doc="array, predicted masks (probabilities).",
        use_cases=("Segmentation where missing foreground costs more than false alarms (or the other way round).",
            "Lesion segmentation with highly imbalanced classes.")),
]

#: losses whose labels are integer class ids (one rank below y_pred, or two for CTC's sequences)
SPARSE = [
    LossDecl(
        name="CategoricalGeneralizedCrossEntropy",
        fn=losses.categorical_generalized_cross_entropy,
        params=(Param("q", "float", 0.5, "in (0, 1): near 0 it behaves like the crossentropy, at 1 like the mean "
                      "absolute error; larger q is more robust to noisy labels.", minimum=1e-12, maximum=1.0),),
        description="Computes the generalized cross entropy (1 - p^q) / q of the probability p given to the integer "
                    "label: a crossentropy made robust to noisy labels.",
        y_true_doc="array, integer class ids, one per sample.",
        y_pred_doc="array, predicted probabilities, one per class.",
        use_cases=("Classification with noisy or crowd-sourced labels.",)),
    LossDecl(
        name="Circle",
        fn=losses.circle,
        params=(Param("gamma", "float", 80.0, "the scale of the similarities.", minimum=0.0),
                Param("margin", "float", 0.4, "the relaxation margin: how far apart the classes are pushed.",
                      minimum=0.0),
                Param("remove_diagonal", "bool", True, "leave each sample's similarity to itself out.")),
        description="Computes the Circle loss of integer labels against embeddings: pulls each embedding towards those "
                    "of its class and away from the others, with per-pair weights (Sun et al., 2020).",
        y_true_doc="array, integer labels, one per embedding.",
        y_pred_doc="array (batch, dim), embeddings (L2-normalised inside).",
        couples_samples=True,  # each loss compares a sample with the others of its batch
        use_cases=("Metric learning: face or person re-identification.", "Retrieval by embedding similarity.")),
    LossDecl(
        name="CTC",
        fn=losses.ctc,
        description="Computes the connectionist temporal classification loss: the negative log-likelihood of the label "
                    "sequence over every alignment of it to the time steps of y_pred (class 0 is the blank).",
        y_true_doc="array (batch, max_length), integer label sequences padded with 0.",
        y_pred_doc="array (batch, time, classes), logits per time step.",
        result_doc="float, result: one loss per sequence (array), or the mean over every batch (batch).",
        output_rank_drop=2,
        use_cases=("Speech and handwriting recognition, where the alignment of labels to time steps is unknown.",)),
]

OVERLAP = ("Dice", "Tversky")
NODES = {}
for _decl in DECLARATIONS:
    _overlap = _decl.name in OVERLAP
    NODES[_decl.name] = loss_node(replace(
        _decl, loss_cls=getattr(losses, _decl.name),
        result_doc=("float, result: the loss over every axis, or one value per sample when per_sample is "
                    "true; batch: the mean over every batch." if _overlap else PER_SAMPLE_RESULT),
        output_rank_drop=None if _overlap else 1,
        translate=_overlap_axis if _overlap else None), category=CATEGORY, module=__name__)

for _decl in SPARSE:
    NODES[_decl.name] = loss_node(replace(_decl, loss_cls=getattr(losses, _decl.name), sparse_labels=True,
                                          result_doc=_decl.result_doc if _decl.name == "CTC" else PER_SAMPLE_RESULT),
                                  category=CATEGORY, module=__name__)

SparseCategoricalCrossentropyLossNode = NODES["SparseCategoricalCrossentropy"] = loss_node(LossDecl(
    name="SparseCategoricalCrossentropy",
    fn=losses.sparse_categorical_crossentropy,
    loss_cls=losses.SparseCategoricalCrossentropy,
    sparse_labels=True,
    params=(FROM_LOGITS, Param("axis", "int", -1, "the class axis of y_pred."),
            SCCE_IGNORE_CLASS),
    description="Computes the crossentropy loss between integer labels and predictions; positions whose "
                "label is ignore_class are left out of the mean.",
    use_cases=("Multi-class classification with integer labels.",
               "Semantic segmentation with a 'void' label (ignore_class)."),
    y_true_doc="array, true values: integer class ids (one rank below y_pred).",
    y_pred_doc="array, predicted probabilities (or logits when from_logits is true), one per class.",
    result_doc=PER_SAMPLE_RESULT,
), category=CATEGORY, module=__name__)
