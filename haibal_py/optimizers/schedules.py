"""``haibal_py.optimizers.schedules``: Keras' ``keras.optimizers.schedules``, implemented in
``haibal_py.numeric.optimizers.schedules``."""

from ..numeric.optimizers.schedules import *  # noqa: F401,F403
from ..numeric.optimizers.schedules import __all__  # noqa: F401
