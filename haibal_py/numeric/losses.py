"""Loss functions and ``Loss`` classes, under Keras' names and signatures.

The functions live in ``kernels`` (one module per family); this module gathers them,
adds Keras' short aliases (``mse``, ``mae``, ``mape``, ``msle``, ``kld``, ``bce``, ...)
and a ``Loss`` class for each, built on ``LossFunctionWrapper`` (reductions and
``sample_weight``), and ``get(identifier)`` as ``keras.losses.get``.
"""

from __future__ import annotations


from .keras_api import bind_arguments, get_by_identifier, keras_signature
from .kernels.hinge import categorical_hinge, hinge, squared_hinge
from .kernels.probabilistic import (
    BCE,
    KLD,
    bce,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    poisson,
)
from .kernels.regression import (
    MAE,
    MAPE,
    MSE,
    MSLE,
    cosine_similarity,
    huber,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
)
from .kernels.segmentation import dice, tversky
from .kernels.sparse_categorical import (
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from .loss_base import Loss, LossFunctionWrapper, reduce_weighted

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "reduce_weighted",
    "sparse_categorical_crossentropy",
    "SparseCategoricalCrossentropy",
    # functions
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh", "hinge",
    "squared_hinge", "categorical_hinge", "kl_divergence", "poisson", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "dice", "tversky",
    # aliases
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
    "kullback_leibler_divergence", "logcosh", "bce", "BCE",
    # classes
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "Dice", "Tversky",
    "get",
]


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """``keras.losses.SparseCategoricalCrossentropy``: integer labels, reduced loss.

    With ``ignore_class``, ignored positions are left out of the mean.
    """

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         mask_fn=sparse_categorical_crossentropy_with_mask,
                         from_logits=from_logits, axis=axis, ignore_class=ignore_class)


def _loss_class(class_name: str, fn, default_name: str, options: dict, doc: str, tail: tuple = ()) -> type:
    """A ``LossFunctionWrapper`` subclass with exactly the Keras constructor.

    ``__init__(self, *options, reduction, name, *tail, dtype)``: ``options`` (the function's
    keyword arguments with Keras' defaults) come first; ``tail`` names options Keras puts
    after ``name`` (``axis=None`` for Dice and Tversky).
    """
    signature = keras_signature([*options.items(), ("reduction", "sum_over_batch_size"), ("name", default_name),
                                 *((k, None) for k in tail), ("dtype", None)])

    def __init__(self, *args, **kwargs):
        values = bind_arguments(signature, self, args, kwargs)
        reduction, name, dtype = values.pop("reduction"), values.pop("name"), values.pop("dtype")
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **values)
        for key, value in values.items():
            setattr(self, key, value)

    __init__.__signature__ = signature
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


MeanSquaredError = _loss_class("MeanSquaredError", mean_squared_error, "mean_squared_error", {},
                               "``mean(square(y_true - y_pred))`` per sample, then reduced.")
MeanAbsoluteError = _loss_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error", {},
                                "``mean(abs(y_true - y_pred))`` per sample, then reduced.")
MeanAbsolutePercentageError = _loss_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mean_absolute_percentage_error", {},
    "``100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)))`` per sample, then reduced.")
MeanSquaredLogarithmicError = _loss_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "mean_squared_logarithmic_error", {},
    "``mean(square(log1p(y_pred) - log1p(y_true)))`` per sample, then reduced.")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", {"axis": -1},
                               "The negative cosine similarity along ``axis``, then reduced.")
Huber = _loss_class("Huber", huber, "huber_loss", {"delta": 1.0},
                    "Huber loss, quadratic up to ``delta`` and linear beyond, then reduced.")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh", {},
                      "``mean(log(cosh(y_pred - y_true)))`` per sample, then reduced.")
Hinge = _loss_class("Hinge", hinge, "hinge", {}, "``mean(maximum(1 - y_true * y_pred, 0))``, then reduced.")
SquaredHinge = _loss_class("SquaredHinge", squared_hinge, "squared_hinge", {},
                           "``mean(square(maximum(1 - y_true * y_pred, 0)))``, then reduced.")
CategoricalHinge = _loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge", {},
                               "``maximum(neg - pos + 1, 0)`` per sample, then reduced.")
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence", {},
                           "``sum(y_true * log(y_true / y_pred))`` per sample, then reduced.")
Poisson = _loss_class("Poisson", poisson, "poisson", {},
                      "``mean(y_pred - y_true * log(y_pred + eps))`` per sample, then reduced.")
BinaryCrossentropy = _loss_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    "Binary crossentropy between 0/1 labels and probabilities (or logits), then reduced.")
BinaryFocalCrossentropy = _loss_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False,
     "label_smoothing": 0.0, "axis": -1},
    "Binary focal crossentropy, down-weighting easy examples, then reduced.")
CategoricalCrossentropy = _loss_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    {"from_logits": False, "label_smoothing": 0.0, "axis": -1},
    "Categorical crossentropy between one-hot labels and predictions, then reduced.")
CategoricalFocalCrossentropy = _loss_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy, "categorical_focal_crossentropy",
    {"alpha": 0.25, "gamma": 2.0, "from_logits": False, "label_smoothing": 0.0, "axis": -1},
    "Alpha-balanced categorical focal crossentropy, then reduced.")


Dice = _loss_class("Dice", dice, "dice", {}, "Dice loss over ``axis`` (all axes by default), then reduced.",
                   tail=("axis",))
Tversky = _loss_class("Tversky", tversky, "tversky", {"alpha": 0.5, "beta": 0.5},
                      "Tversky loss over ``axis`` (all axes by default), then reduced.", tail=("axis",))

_BY_NAME = {name: globals()[name] for name in __all__ if name not in ("Loss", "LossFunctionWrapper",
                                                                     "reduce_weighted", "get")}


def get(identifier):
    """A loss by name, as ``keras.losses.get``: see ``haibal_py.keras_api.get_by_identifier``."""
    return get_by_identifier(identifier, _BY_NAME, "loss")
