"""The numeric layer: pure NumPy functions and classes with Keras' names and numbers.

Arrays in, arrays out: ``arrays`` (input conversion), ``kernels`` (the blocked, threaded
loss and metric kernels), ``activations``, ``losses`` and ``metrics`` (Keras' functions and
classes), ``keras_api`` (``get`` and Keras' constructor signatures). It imports only
``haibal_py.errors``: no node, graph or file format.
"""
