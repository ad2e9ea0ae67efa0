"""The example models of the Keras model references, written once for any Keras-like API.

Each builder takes ``api`` with ``Input``, ``Sequential``, ``Model`` and ``layers`` (Keras'
modules in scripts/gen_keras_example_model_refs.py, haibal_py's in the tests), so the reference values
and the comparison build the very same architecture. Every layer and model has an explicit
name, so summaries do not depend on naming counters.
"""

from __future__ import annotations


def cnn(api):
    """The CNN of the issue (MNIST-sized), as a Sequential model."""
    L = api.layers
    return api.Sequential([
        api.Input(shape=(28, 28, 1), name="image"),
        L.Conv2D(16, 3, activation="relu", name="conv1"),
        L.MaxPooling2D(name="pool1"),
        L.Conv2D(32, 3, activation="relu", name="conv2"),
        L.MaxPooling2D(name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="classifier"),
    ], name="cnn")


def digits_mlp(api):
    """The digits MLP 64-128-64-10 (8x8 digit images flattened)."""
    L = api.layers
    return api.Sequential([
        api.Input(shape=(64,), name="pixels"),
        L.Dense(128, activation="relu", name="hidden1"),
        L.Dense(64, activation="relu", name="hidden2"),
        L.Dense(10, activation="softmax", name="classifier"),
    ], name="digits_mlp")


def two_inputs_skip(api):
    """A functional model with two inputs, a skip connection (Add) and a Concatenate."""
    L = api.layers
    a = api.Input(shape=(8,), name="input_a")
    b = api.Input(shape=(4,), name="input_b")
    h = L.Dense(8, activation="relu", name="dense_a")(a)
    skip = L.Add(name="skip")([a, h])
    hb = L.Dense(6, activation="tanh", name="dense_b")(b)
    merged = L.Concatenate(name="merge")([skip, hb])
    out = L.Dense(3, activation="softmax", name="head")(merged)
    return api.Model([a, b], out, name="two_inputs_skip")


def lstm_classifier(api):
    """A small sequence classifier: token ids -> Embedding -> LSTM -> Dense softmax."""
    L = api.layers
    return api.Sequential([
        api.Input(shape=(6,), dtype="int32", name="tokens"),
        L.Embedding(20, 8, name="embedding"),
        L.LSTM(12, name="lstm"),
        L.Dense(4, activation="softmax", name="classifier"),
    ], name="lstm_classifier")


def bn_dropout(api):
    """Dense -> BatchNormalization -> ReLU -> Dropout -> Dense: non-trainable weights in the counts."""
    L = api.layers
    return api.Sequential([
        api.Input(shape=(10,), name="features"),
        L.Dense(16, name="dense"),
        L.BatchNormalization(name="batch_norm"),
        L.Activation("relu", name="relu"),
        L.Dropout(0.5, name="dropout"),
        L.Dense(1, activation="sigmoid", name="output"),
    ], name="bn_dropout")


def bn_dropout_functional(api):
    """The same layers as a functional model (its summary has an InputLayer row)."""
    L = api.layers
    x = api.Input(shape=(10,), name="features")
    h = L.Dense(16, name="dense")(x)
    h = L.BatchNormalization(name="batch_norm")(h)
    h = L.Activation("relu", name="relu")(h)
    h = L.Dropout(0.5, name="dropout")(h)
    out = L.Dense(1, activation="sigmoid", name="output")(h)
    return api.Model(x, out, name="bn_dropout_functional")


#: name -> (builder, batch size of the reference pass, exclusive bound of integer ids per input
#: (None for float inputs), the layer classes the model needs)
MODELS = {
    "cnn": (cnn, 2, [None], ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]),
    "digits_mlp": (digits_mlp, 3, [None], ["Dense"]),
    "two_inputs_skip": (two_inputs_skip, 3, [None, None], ["Dense", "Add", "Concatenate"]),
    "lstm_classifier": (lstm_classifier, 3, [20], ["Embedding", "LSTM", "Dense"]),
    "bn_dropout": (bn_dropout, 4, [None], ["Dense", "BatchNormalization", "Activation", "Dropout"]),
    "bn_dropout_functional": (bn_dropout_functional, 4, [None],
                              ["Dense", "BatchNormalization", "Activation", "Dropout"]),
}
