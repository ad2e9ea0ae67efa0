"""Keras' internal enums of ``AUC`` options, standing for the strings haibal-py keeps
(``AUCCurve.PR == "PR"``)."""

from enum import Enum


class AUCCurve(str, Enum):
    ROC = "ROC"
    PR = "PR"
    PRGAIN = "PRGAIN"


class AUCSummationMethod(str, Enum):
    INTERPOLATION = "interpolation"
    MAJORING = "majoring"
    MINORING = "minoring"
