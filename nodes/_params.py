"""Parameters several catalog modules share (one declaration each, one help text)."""

from haibal_py.node import Param

FROM_LOGITS = Param("from_logits", "bool", False, "whether y_pred holds logits rather than probabilities.")
LABEL_SMOOTHING = Param("label_smoothing", "float", 0.0, "in [0, 1]; > 0 relaxes the labels "
                        "(towards 0.5 for binary labels, towards 1/num_classes for one-hot labels).",
                        minimum=0.0, maximum=1.0)
SCCE_IGNORE_CLASS = Param("ignore_class", "int", None, "a label whose positions get loss 0 and do not count "
                          "(e.g. -1 or 255 for a 'void' class in segmentation maps); none by default.",
                          optional=True)


def axis(doc: str, default: int = -1) -> Param:
    """An integer ``axis`` parameter with its own help text."""
    return Param("axis", "int", default, doc)
