"""``haibal_py.datasets``: small data sets and data preparation, implemented in
``haibal_py.numeric.datasets`` (digits shipped, iris/wine/breast cancer via scikit-learn)."""

from .numeric.datasets import *  # noqa: F401,F403
from .numeric.datasets import __all__  # noqa: F401
