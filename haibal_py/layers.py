"""``haibal_py.layers``: Keras' ``keras.layers``, implemented in ``haibal_py.numeric.layers``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import layers`` whatever the package's inner layout.
"""

from .numeric.layers import *  # noqa: F401,F403
from .numeric.layers import __all__  # noqa: F401
