"""``haibal_py.losses``: Keras' ``keras.losses``, implemented in ``haibal_py.numeric.losses``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import losses`` whatever the package's inner layout.
"""

from .numeric.losses import *  # noqa: F401,F403
from .numeric.losses import __all__  # noqa: F401
