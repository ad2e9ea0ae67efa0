"""``haibal_py.initializers``: Keras' ``keras.initializers``, implemented in ``haibal_py.numeric.initializers``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import initializers`` whatever the package's inner layout.
"""

from .numeric.initializers import *  # noqa: F401,F403
from .numeric.initializers import __all__  # noqa: F401
