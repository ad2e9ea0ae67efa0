"""``keras.initializers`` in a metric test only feed ``Metric.add_variable``: Keras variables,
not claimed (haibal-py's metric state is float64 NumPy values)."""

from .not_claimed import refuse

Zeros = refuse("variables", "keras.initializers.Zeros (for Metric.add_variable)")
