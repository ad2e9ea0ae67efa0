"""``haibal_py.metrics``: Keras' ``keras.metrics``, implemented in ``haibal_py.numeric.metrics``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import metrics`` whatever the package's inner layout.
"""

from .numeric.metrics import *  # noqa: F401,F403
from .numeric.metrics import __all__  # noqa: F401
