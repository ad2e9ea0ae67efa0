"""Metric nodes: HAIBAL's Metrics palette."""

from __future__ import annotations

from haibal_py import metrics
from haibal_py.node import Param
from haibal_py.node_factory import metric_node

SparseCategoricalCrossentropyNode = metric_node(
    type_id="haibal.metrics.SparseCategoricalCrossentropy",
    category="Metrics",
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
