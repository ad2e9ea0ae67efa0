"""``haibal_py.optimizers``: Keras' ``keras.optimizers``, implemented in ``haibal_py.numeric.optimizers``.

The public Keras-style modules re-export their layer's implementation (as keras/api does);
``haibal_py.optimizers.schedules`` holds the learning-rate schedules.
"""

from ..numeric.optimizers import *  # noqa: F401,F403
from ..numeric.optimizers import __all__  # noqa: F401
from . import schedules  # noqa: F401  (the facade module, not the implementation's)
