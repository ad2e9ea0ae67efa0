"""The built-in node catalog (HAIBAL's palette), headless.

Importing this package registers every built-in node class in
``haibal_py.node.registry.CATALOG``; the registry finds it through the ``haibal_py.nodes``
entry point, so ``CATALOG.get(type_id)`` works without importing it by hand.
"""

from . import metrics  # noqa: F401  (registers the nodes)
from . import viewers  # noqa: F401,E402  (the editor's viewer nodes, headless)
from . import losses  # noqa: F401,E402  (the Losses palette)
from . import activations  # noqa: F401,E402  (the Activations palette)
from . import io  # noqa: F401,E402  (constants, random sources, files, graph terminals)
from . import array  # noqa: F401,E402  (the Array palette: reshape, slice, one_hot, ...)
from . import math  # noqa: F401,E402  (the Math palette: arithmetic and reductions)
from . import layers  # noqa: F401,E402  (the Layers palette: model wires, one node per Keras layer)
from . import models  # noqa: F401,E402  (the Model palette: Model, Predict, Model Summary, weights files)
from . import optimizers  # noqa: F401,E402  (the Optimizers palette: optimizers and learning-rate schedules)
from . import training  # noqa: F401,E402  (the Training palette: session, fit, evaluate, step-level nodes)
from . import datasets  # noqa: F401,E402  (the Datasets palette: load, split, normalise, batches)
from . import onnx  # noqa: F401,E402  (ONNX layer nodes, Load ONNX, Save ONNX, ONNX Runtime)
