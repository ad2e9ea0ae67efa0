"""Loss functions and ``Loss`` classes, under Keras' names and signatures.

The functions live in ``kernels`` (one module per family); this module gathers them,
adds Keras' short aliases (``mse``, ``mae``, ``mape``, ``msle``, ``kld``, ``bce``, ...)
and a ``Loss`` class for each (Keras 3.15's 22, plus ``Loss`` itself), built on
``LossFunctionWrapper`` (reductions and ``sample_weight``); and ``get``, ``serialize``
and ``deserialize`` as in ``keras.losses`` (see ``keras_api.Registry``).
"""

from __future__ import annotations

from .arrays import check_arguments
from .keras_api import Registry, bind_arguments, keras_signature
from .kernels.hinge import categorical_hinge, hinge, squared_hinge
from .kernels.probabilistic import (
    BCE,
    KLD,
    bce,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
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
from .kernels.ctc import ctc
from .kernels.segmentation import dice, tversky
from .kernels.similarity import circle, circle_with_mask
from .kernels.sparse_categorical import (
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from .loss_base import Loss, LossFunctionWrapper, reduce_weighted
from ..errors import HaibalValueError

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
    "dice", "tversky", "ctc", "circle", "categorical_generalized_cross_entropy",
    # aliases
    "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
    "kullback_leibler_divergence", "logcosh", "bce", "BCE",
    # classes
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "Dice", "Tversky", "CTC", "Circle",
    "CategoricalGeneralizedCrossEntropy",
    "get", "serialize", "deserialize",
]


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """``keras.losses.SparseCategoricalCrossentropy``: integer labels, reduced loss.

    With ``ignore_class``, ignored positions are left out of the mean.
    """

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None):
        options = check_arguments({"from_logits": from_logits, "ignore_class": ignore_class})
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         mask_fn=sparse_categorical_crossentropy_with_mask, axis=axis, **options)
        self.from_logits, self.ignore_class, self.axis = options["from_logits"], options["ignore_class"], axis


def _loss_class(class_name: str, fn, default_name: str, options: dict, doc: str, tail: tuple = (),
                mask_fn=None, check=None) -> type:
    """A ``LossFunctionWrapper`` subclass with exactly the Keras constructor.

    ``__init__(self, *options, reduction, name, *tail, dtype)``: ``options`` (the function's
    keyword arguments with Keras' defaults) come first; ``tail`` names options Keras puts
    after ``name`` (``axis=None`` for Dice and Tversky). Flags and ``ignore_class`` are
    checked when the loss is built (``arrays.check_arguments``), and ``check(values)``
    validates the others. ``get_config()`` gives every option, so ``from_config`` rebuilds it.
    """
    signature = keras_signature([*options.items(), ("reduction", "sum_over_batch_size"), ("name", default_name),
                                 *((k, None) for k in tail), ("dtype", None)])

    def __init__(self, *args, **kwargs):
        values = bind_arguments(signature, self, args, kwargs)
        reduction, name, dtype = values.pop("reduction"), values.pop("name"), values.pop("dtype")
        values = check_arguments(values)
        if check is not None:
            check(values)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, mask_fn=mask_fn,
                                     **values)
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
                      "Tversky loss over ``axis`` (all axes by default), then reduced; ``alpha`` weighs the false "
                      "positives, ``beta`` the false negatives (Keras' corrected order).", tail=("axis",))
CTC = _loss_class("CTC", ctc, "ctc", {},
                  "Connectionist temporal classification loss of 0-padded integer label sequences "
                  "``(batch, max_length)`` against logits ``(batch, time, classes)``, then reduced.")


def _check_q(values: dict) -> None:
    q = values["q"]
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
        raise HaibalValueError(f"q must be in the interval (0, 1), got {q!r}")


Circle = _loss_class(
    "Circle", circle, "circle", {"gamma": 80.0, "margin": 0.4, "remove_diagonal": True},
    "Circle loss of integer labels against L2-normalised embeddings ``(batch, dim)``; samples whose loss is 0 "
    "are left out of the mean, as Keras masks them.", mask_fn=circle_with_mask)
CategoricalGeneralizedCrossEntropy = _loss_class(
    "CategoricalGeneralizedCrossEntropy", categorical_generalized_cross_entropy,
    "categorical_generalized_cross_entropy", {"q": 0.5},
    "Generalized cross entropy ``(1 - p^q) / q`` of integer labels (robust to noisy labels), then reduced.",
    check=_check_q)

# Keras' identifiers (keras.losses.ALL_OBJECTS_DICT): class and function names, and the short aliases
_CLASSES = ("Loss", "LossFunctionWrapper", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
            "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy",
            "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
            "CosineSimilarity", "LogCosh", "Huber", "Hinge", "SquaredHinge", "CategoricalHinge", "Dice", "Tversky",
            "Circle", "CTC", "CategoricalGeneralizedCrossEntropy")
_FUNCTIONS = ("kl_divergence", "poisson", "binary_crossentropy", "binary_focal_crossentropy",
              "categorical_crossentropy", "categorical_focal_crossentropy", "sparse_categorical_crossentropy",
              "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
              "mean_squared_logarithmic_error", "cosine_similarity", "log_cosh", "huber", "hinge", "squared_hinge",
              "categorical_hinge", "dice", "tversky", "circle", "ctc", "categorical_generalized_cross_entropy")
_ALIASES = ("bce", "BCE", "kld", "KLD", "mae", "MAE", "mse", "MSE", "mape", "MAPE", "msle", "MSLE",
            "kullback_leibler_divergence", "logcosh")
REGISTRY = Registry("loss", {n: globals()[n] for n in _CLASSES + _FUNCTIONS + _ALIASES},
                    keras_module="keras.losses", own_module="haibal_py.losses", keras_names=_CLASSES)


def get(identifier):
    """A loss as ``keras.losses.get``: ``None`` -> ``None``; a function name (or alias) -> the
    function; a class name -> an instance with Keras' defaults; a dict (``serialize``'s form,
    or ``{"class_name": ..., "config": {...}}``) -> the configured instance; a callable as it is."""
    return REGISTRY.get(identifier)


def serialize(loss):
    """Keras' serialized form of a loss function or ``Loss`` object (JSON-ready; see ``keras_api``)."""
    return REGISTRY.serialize(loss)


def deserialize(config, custom_objects=None):
    """The loss ``serialize`` described (or a name, as ``get``). ``custom_objects`` maps extra
    names to classes or functions, as in Keras."""
    return REGISTRY.with_objects(custom_objects).deserialize(config)
