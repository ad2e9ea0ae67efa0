"""``haibal_py.regularizers``: Keras' ``keras.regularizers``, implemented in ``haibal_py.numeric.regularizers``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import regularizers`` whatever the package's inner layout.
"""

from .numeric.regularizers import *  # noqa: F401,F403
from .numeric.regularizers import __all__  # noqa: F401
