"""``haibal_py.activations``: Keras' ``keras.activations``, implemented in ``haibal_py.numeric.activations``.

The public Keras-style modules re-export their layer's implementation (as keras/api does),
so code can import ``from haibal_py import activations`` whatever the package's inner layout.
"""

from .numeric.activations import *  # noqa: F401,F403
from .numeric.activations import __all__  # noqa: F401
