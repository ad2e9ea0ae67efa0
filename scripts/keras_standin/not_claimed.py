"""``NotClaimed``: raised when a Keras test reaches something haibal-py does not claim to have.

Every rule has a short key and a sentence; the runner prints them all, and counts a test that
raises ``NotClaimed`` (or that a static rule selects) under its rule instead of as a failure.
"""

RULES = {
    "backend": "written for another backend: Keras itself skips it under the TensorFlow backend, "
               "whose numbers haibal-py mirrors",
    "bfloat16": "asks for bfloat16, a dtype NumPy does not have (haibal-py claims float16/32/64)",
    "dtype_policy": "sets a Keras dtype policy (`DTypePolicy`, `set_dtype_policy`, mixed precision)",
    "symbolic": "symbolic tensors (`KerasTensor`, `compute_output_spec`)",
    "variables": "Keras variables (`backend.Variable`, `Metric.add_variable` with a "
                 "`keras.initializers` initializer); haibal-py's metric state is float64 NumPy values",
    "mask": "Keras masks carried by tensors (`backend.set_keras_mask`); haibal-py's arrays carry none",
    "internal": "a `keras.src` helper that is not public Keras API (`squeeze_or_expand_to_same_rank`)",
}


class NotClaimed(Exception):
    """The test needs ``RULES[rule]``; ``what`` names the Keras object it reached."""

    def __init__(self, rule: str, what: str):
        assert rule in RULES, rule
        self.rule = rule
        self.what = what
        super().__init__(f"not claimed [{rule}]: {what}")


def refuse(rule: str, what: str):
    """A callable (function or class stand-in) that raises ``NotClaimed`` when used."""
    def _refused(*args, **kwargs):
        raise NotClaimed(rule, what)
    _refused.__name__ = what.rsplit(".", 1)[-1]
    return _refused
