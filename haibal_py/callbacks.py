"""``haibal_py.callbacks``: Keras' ``keras.callbacks``, implemented in ``haibal_py.numeric.callbacks``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import callbacks`` whatever the package's inner layout.
"""

from .numeric.callbacks import *  # noqa: F401,F403
from .numeric.callbacks import __all__  # noqa: F401
