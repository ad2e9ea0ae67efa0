"""``haibal_py.models``: Keras' ``keras.models``, implemented in ``haibal_py.numeric.models``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import models`` whatever the package's inner layout.
"""

from .numeric.models import *  # noqa: F401,F403
from .numeric.models import __all__  # noqa: F401
