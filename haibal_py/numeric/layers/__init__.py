"""Layers: Keras 3's layer classes with forward and backward passes in NumPy (see ``base``)."""

from .attention import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403
