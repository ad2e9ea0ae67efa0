"""Models whose ``summary()`` text is compared with Keras 3's, built from one definition.

Each case takes an API namespace (``layers``, ``Input``, ``Model``, ``Sequential``) so
``scripts/gen_keras_summary_refs.py`` builds it with Keras and tests/test_models_summary.py
with haibal-py. Every layer is named, so Keras' global name counters do not matter.
Each case returns ``(model, summary keyword arguments)``.
"""

from __future__ import annotations


def sequential_mlp(api):
    L = api.layers
    m = api.Sequential([api.Input((8,), name="x"), L.Dense(4, activation="relu", name="hidden"),
                        L.Dropout(0.2, name="drop"), L.Dense(2, name="out")], name="seq")
    return m, {}


def sequential_unbuilt(api):
    L = api.layers
    return api.Sequential([L.Dense(3, name="lonely")], name="unbuilt"), {}


def functional_shared_merges(api):
    L = api.layers
    a = api.Input((5,), name="a")
    b = api.Input((5,), name="b")
    shared = L.Dense(5, name="shared")
    added = L.Add(name="add")([shared(a), shared(b)])
    joined = L.Concatenate(name="concatenate")([added, a])
    out = L.Dense(3, name="head")(joined)
    return api.Model([a, b], [out, added], name="func"), {}


def functional_long_names_wide(api):
    L = api.layers
    x = api.Input((16,), name="a_rather_long_input_name_for_the_table")
    h = L.Dense(1000, activation="tanh", name="an_extremely_long_dense_layer_name_that_will_not_fit")(x)
    y = L.Dense(1000, name="second_dense")(x)
    z = L.Multiply(name="gate")([h, y])
    out = L.Dense(10, name="logits")(z)
    return api.Model(x, out, name="wide_one"), {}


def nested_frozen_expanded(api):
    L = api.layers
    inner = api.Sequential([api.Input((6,), name="inner_in"), L.Dense(4, name="inner_dense"),
                            L.Dense(4, name="inner_dense_2")], name="inner")
    inner.trainable = False
    x = api.Input((6,), name="outer_in")
    h = inner(x)
    out = L.Dense(2, name="top")(h)
    return api.Model(x, out, name="outer"), {"expand_nested": True, "show_trainable": True}


def nested_multi_output(api):
    L = api.layers
    i = api.Input((4,), name="ti")
    two = api.Model(i, [L.Dense(3, name="ta")(i), L.Dense(2, name="tb")(i)], name="twin")
    x = api.Input((4,), name="mx")
    p, q = two(x)
    out = L.Concatenate(name="cat")([p, q])
    return api.Model(x, out, name="multi"), {}


def custom_line_length_and_range(api):
    L = api.layers
    m = api.Sequential([api.Input((3, 4), name="seq_in"), L.Flatten(name="flat"), L.Dense(7, name="d7"),
                        L.Reshape((7, 1), name="rs"), L.Permute((2, 1), name="perm"),
                        L.Flatten(name="flat_2"), L.RepeatVector(2, name="rep")], name="ranged")
    return m, {"line_length": 100, "layer_range": ["d7", "perm"]}


def custom_positions(api):
    L = api.layers
    x = api.Input((3,), name="p_in")
    y = L.Embedding(1000, 64, name="embed")(x)
    y = L.Flatten(name="flat")(y)
    return api.Model(x, y, name="positions"), {"positions": [0.5, 0.7, 1.0]}


CASES = {f.__name__: f for f in [sequential_mlp, sequential_unbuilt, functional_shared_merges,
                                  functional_long_names_wide, nested_frozen_expanded, nested_multi_output,
                                  custom_line_length_and_range, custom_positions]}

#: terminal widths each case is printed at (Keras caps line_length at columns - 4)
COLUMNS = [80, 200]
