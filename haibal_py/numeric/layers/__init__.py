"""Layers: Keras 3's layer classes with forward and backward passes in NumPy (see ``base``).

One import line per module; each module's ``__all__`` lists its public layers.
"""

from .base import Layer, LayerError  # noqa: F401
from .symbolic import SymbolicTensor, is_symbolic  # noqa: F401
from .input_layer import Input, InputLayer  # noqa: F401
from .core import Dense, Embedding  # noqa: F401
from .activation_layers import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax  # noqa: F401
from .regularization import Dropout, GaussianNoise  # noqa: F401
from .reshaping import Flatten, Permute, RepeatVector, Reshape  # noqa: F401
from .merging import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract  # noqa: F401
from .normalization import BatchNormalization, GroupNormalization, LayerNormalization  # noqa: F401
from .recurrent import GRU, LSTM, SimpleRNN  # noqa: F401
from .attention import MultiHeadAttention  # noqa: F401
from .wrappers import Bidirectional, TimeDistributed  # noqa: F401
from .convolutional import *  # noqa: F401,F403
from .convolutional import __all__ as _convolutional
from .pooling import *  # noqa: F401,F403
from .pooling import __all__ as _pooling
from .reshaping_spatial import *  # noqa: F401,F403
from .reshaping_spatial import __all__ as _reshaping_spatial
from .spatial_dropout import *  # noqa: F401,F403
from .spatial_dropout import __all__ as _spatial_dropout

__all__ = [
    "Layer", "LayerError", "SymbolicTensor", "is_symbolic",
    "Input", "InputLayer",
    "Dense", "Embedding",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
    "Dropout", "GaussianNoise",
    "Flatten", "Reshape", "Permute", "RepeatVector",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "BatchNormalization", "LayerNormalization", "GroupNormalization",
    "SimpleRNN", "LSTM", "GRU",
    "MultiHeadAttention",
    "Bidirectional", "TimeDistributed",
]
__all__ += _convolutional + _pooling + _reshaping_spatial + _spatial_dropout
from .onnx_math import OnnxClip, OnnxEinsum, OnnxElementwise, OnnxMatMul, OnnxUnary  # noqa: F401,E402
from .onnx_shape import (OnnxExpand, OnnxGather, OnnxPad, OnnxReduce, OnnxReshape, OnnxSlice,  # noqa: F401,E402
                         OnnxTranspose)
