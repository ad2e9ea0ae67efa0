"""Layer nodes: one per Keras layer of the issue, their parameters, model wires and static shapes.

Every layer node is run in a small graph (Input -> layer -> Model -> Predict): its static
output type, the wire it gives at run time and the built model agree on the shape, and the
predictions have it. Shape errors are validation problems naming the layer and the shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

import haibal_py.nodes  # noqa: F401
from haibal_py import CATALOG, layers
from haibal_py.errors import ParameterError
from haibal_py.graph.model import Graph
from haibal_py.graph.typecheck import port_types
from haibal_py.node.types import PortType
from haibal_py.numeric import seeding
from haibal_py.numeric.models import Model
from haibal_py.nodes._keras_args import ARGS, keras_default, parse_pairs_text, parse_regularizer
from haibal_py.nodes._layer_decl import declaration
from haibal_py.nodes.layers import DECLARATIONS
from haibal_py.runtime import NodeRunError, Runtime

ISSUE_LAYERS = """Input Dense Conv1D Conv2D Conv3D Conv2DTranspose DepthwiseConv2D SeparableConv2D MaxPooling1D
MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D GlobalAveragePooling1D
GlobalAveragePooling2D GlobalMaxPooling1D GlobalMaxPooling2D Flatten Reshape Permute RepeatVector Dropout
SpatialDropout2D GaussianNoise BatchNormalization LayerNormalization GroupNormalization Embedding Activation ReLU
LeakyReLU PReLU ELU Softmax Add Subtract Multiply Average Maximum Minimum Concatenate Dot ZeroPadding1D
ZeroPadding2D Cropping1D Cropping2D UpSampling1D UpSampling2D SimpleRNN LSTM GRU Bidirectional TimeDistributed
MultiHeadAttention""".split()

#: a sample shape (without the batch axis) per input rank, and the nodes needing their own
SAMPLE = {2: (6,), 3: (5, 6), 4: (6, 6, 4), 5: (4, 4, 4, 2)}
SPECIAL_SHAPES = {"Permute": (5, 6), "Dot": (6,)}
SPECIAL_PARAMS = {"GroupNormalization": {"groups": 2}}
NAMES = [d.name for d in DECLARATIONS]


def test_every_layer_of_the_issue_has_a_node_in_the_layers_palette():
    have = {cls.type_id for cls in CATALOG.in_category("Layers")}
    missing = [n for n in ISSUE_LAYERS if f"haibal.layers.{n}" not in have]
    assert missing == []
    assert {f"haibal.model.{n}" for n in ("Model", "Predict", "ModelSummary", "SaveWeights", "LoadWeights")} <= \
        {cls.type_id for cls in CATALOG.in_category("Model")}


@pytest.mark.parametrize("name", NAMES)
def test_parameters_are_the_keras_arguments_with_their_defaults(name):
    decl = declaration(name)
    cls = CATALOG.get(f"haibal.layers.{name}")
    source = decl.defaults_from or decl.layer
    for param, arg in decl.arg_specs():
        p = cls.param(param)
        assert p.doc.strip(), (name, param)
        if param in decl.defaults or param in ("trainable", "dtype", "layer"):
            continue
        method = "compute_output_shape" if param in decl.call_args else "__init__"
        assert p.default == arg.shown(keras_default(source, param, method)), (name, param)
        # the node's default, turned back into the constructor's value, is Keras' default
        back = arg.value(p.default)
        expected = keras_default(source, param, method)
        if arg.form == "sizes" and isinstance(expected, tuple) and len(set(expected)) == 1 and back == expected[0]:
            continue  # "1, 1" may come back as (1, 1): same layer
        if arg.form in ("plain", "sizes", "shape", "shape_or_none", "none_word"):
            assert back == expected or (isinstance(expected, tuple) and tuple(back) == expected), (name, param)


def _graph_for(name: str):
    """Input(s) -> the layer node -> Model (functional); returns (graph, layer id, model id, inputs)."""
    decl = declaration(name)
    g = Graph(name=name)
    params = dict(SPECIAL_PARAMS.get(name, {}))
    node = g.add_node(f"haibal.layers.{name}", None, params)
    shape = SPECIAL_SHAPES.get(name, SAMPLE[max(decl.ranks[0], 2)])
    rng = np.random.default_rng(0)
    data = {}

    def add_input(iname, shp, dtype="float32"):
        i = g.add_node("haibal.layers.Input", iname, {"shape": ", ".join(map(str, shp)), "dtype": dtype})
        data[iname] = (rng.integers(0, 10, size=(3,) + shp) if dtype.startswith("int")
                       else rng.normal(size=(3,) + shp)).astype(dtype)
        return i

    if name == "Embedding":
        g.connect(add_input("ids", (5,), "int32"), "y", node, "x")
    elif decl.ports == "merge":
        g.connect(add_input("a", shape), "y", node, "x1")
        g.connect(add_input("b", shape), "y", node, "x2")
    elif decl.ports == "attention":
        g.connect(add_input("q", (5, 8)), "y", node, "query")
        g.connect(add_input("v", (4, 8)), "y", node, "value")
    elif decl.ports == "wrapper":
        g.connect(add_input("steps", (5, 6)), "y", node, "x")
        step = g.add_node("haibal.layers.Input", "step", {"shape": "6"})
        inner = g.add_node("haibal.layers.Dense", "per_step", {"units": 3})
        g.connect(step, "y", inner, "x")
        g.connect(inner, "y", node, "layer")
    else:
        g.connect(add_input("x", shape), "y", node, "x")
    model = g.add_node("haibal.model.Model", "m", {"model_class": "Functional"})
    g.connect(node, "y", model, "outputs")
    return g, node, model, data


@pytest.mark.parametrize("name", NAMES)
def test_static_shape_wire_and_built_model_agree(name):
    g, node, model_id, data = _graph_for(name)
    assert g.validate() == []
    static = port_types(g).outputs[(node, "y")]
    assert static.kind == "model" and static.shape is not None, static
    result = Runtime(g).run()
    wire = result.values[node]["y"]
    assert PortType.of_value(wire) == static
    assert not wire.layer.weight_specs(), "a layer node records its call without making weights"
    model = result.values[model_id]["model"]
    assert isinstance(model, Model) and tuple(model.output_shape) == static.shape
    assert PortType.of_value(model) == PortType("model", 0, 0)
    y = model.predict([data[t.name] for t in model.inputs] if len(model.inputs) > 1 else data[model.inputs[0].name])
    assert y.shape == (3,) + static.shape[1:] and np.all(np.isfinite(y))


def test_node_parameters_reach_the_layer():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "img", {"shape": "9, 9, 2"})
    conv = g.add_node("haibal.layers.Conv2D", "conv", {
        "filters": 5, "kernel_size": "3, 2", "strides": "2", "padding": "same", "activation": "elu",
        "kernel_initializer": "he_normal", "kernel_regularizer": "l2(0.001)", "use_bias": False})
    pad = g.add_node("haibal.layers.ZeroPadding2D", "pad", {"padding": "(1, 2), (0, 3)"})
    m = g.add_node("haibal.model.Model", "m")
    g.connect(x, "y", conv, "x")
    g.connect(conv, "y", pad, "x")
    g.connect(pad, "y", m, "outputs")
    model = Runtime(g).run().values[m]["model"]
    layer = model.get_layer("conv")
    cfg = layer.get_config()
    assert (cfg["filters"], tuple(cfg["kernel_size"]), tuple(cfg["strides"]), cfg["padding"], cfg["activation"],
            cfg["use_bias"]) == (5, (3, 2), (2, 2), "same", "elu", False)
    assert cfg["kernel_initializer"]["class_name"] == "HeNormal"
    assert cfg["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.001}}
    assert layer.kernel.shape == (3, 2, 2, 5) and len(layer.losses) == 1
    assert model.output_shape == (None, 5 + 3, 5 + 3, 5)


def test_text_parameters_are_parsed_and_refused_when_unreadable():
    assert parse_regularizer("") is None and parse_regularizer(" none ") is None
    assert parse_regularizer("L2") == ("L2", {})
    assert parse_regularizer("l1_l2(0.01, 0.02)") == ("L1L2", {"l1": 0.01, "l2": 0.02})
    assert parse_regularizer("l1_l2(l2=0.5)") == ("L1L2", {"l2": 0.5})
    for bad in ("l3", "l2(x)", "l2(0.1, 0.2)", "l1_l2(l3=1)", "l2(-1)", "__import__('os')"):
        with pytest.raises(ValueError):
            parse_regularizer(bad)
    assert parse_pairs_text("1") == (1,) and parse_pairs_text("1, 2") == (1, 2)
    assert parse_pairs_text("(1, 2), (3, 4)") == ((1, 2), (3, 4))
    assert ARGS["kernel_size"].value("3") == 3 and ARGS["kernel_size"].value("(3, 5)") == (3, 5)
    assert ARGS["noise_shape"].value("") is None and ARGS["noise_shape"].value("None, 1, 4") == (None, 1, 4)
    assert ARGS["axis"].value("-1") == -1 and ARGS["axis"].value("1, 2") == (1, 2)
    node = CATALOG.get("haibal.layers.Conv2D")()
    for param, bad in (("kernel_size", "3, x"), ("kernel_size", ""), ("kernel_regularizer", "l2(oops)"),
                       ("strides", "-1"), ("activation", "relux"), ("units" if False else "filters", 0)):
        with pytest.raises(ParameterError, match=param):
            node.set_param(param, bad)


def test_a_conv2d_fed_a_rank_2_wire_is_a_broken_wire_naming_both_shapes():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "x", {"shape": "10"})
    conv = g.add_node("haibal.layers.Conv2D", "conv")
    g.connect(x, "y", conv, "x")
    (problem,) = g.validate()
    assert problem.code == "type-mismatch" and problem.port == "x"
    assert "expects model[4] here" in problem.message and "model(None, 10)" in problem.message


@pytest.mark.parametrize("layer, params, shape, words", [
    ("Reshape", {"target_shape": "7"}, "6", ["(None, 6)", "target_shape (7,)"]),
    ("GroupNormalization", {"groups": 4}, "6", ["(None, 6)", "groups (4)"]),
    ("Conv2D", {"kernel_size": "5"}, "3, 3, 1", ["(None, 3, 3, 1)"]),
    ("MaxPooling1D", {"pool_size": "4"}, "3, 2", ["(None, 3, 2)"]),
    ("Dense", {}, "None", ["(None, None)"]),
])
def test_shapes_a_layer_refuses_are_validation_problems_naming_layer_and_shapes(layer, params, shape, words):
    g = Graph()
    x = g.add_node("haibal.layers.Input", "x", {"shape": shape})
    node = g.add_node(f"haibal.layers.{layer}", "bad", params)
    g.connect(x, "y", node, "x")
    problems = g.validate()
    assert [p.code for p in problems] == ["bad-shape"], problems
    text = problems[0].message
    assert layer in text and all(w in text for w in words), text
    with pytest.raises(Exception, match="bad"):
        Runtime(g).run()


def test_static_checks_draw_no_random_numbers():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "x", {"shape": "4096"})
    d = g.add_node("haibal.layers.Dense", "wide", {"units": 4096, "kernel_initializer": "orthogonal"})
    g.connect(x, "y", d, "x")
    before = seeding.global_rng().bit_generator.state
    assert g.validate() == []
    assert port_types(g).outputs[(d, "y")] == PortType.with_shape("model", (None, 4096))
    assert seeding.global_rng().bit_generator.state == before


def test_recurrent_layers_give_their_states_when_asked():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "seq", {"shape": "7, 3"})
    lstm = g.add_node("haibal.layers.LSTM", "enc", {"units": 4, "return_state": True, "return_sequences": True})
    gru = g.add_node("haibal.layers.GRU", "gru", {"units": 5})
    cat = g.add_node("haibal.layers.Concatenate", "cat")
    g.connect(x, "y", lstm, "x")
    g.connect(x, "y", gru, "x")
    g.connect(lstm, "state_c", cat, "x1")
    g.connect(gru, "y", cat, "x2")
    m = g.add_node("haibal.model.Model", "m")
    g.connect(cat, "y", m, "outputs")
    g.connect(lstm, "y", m, "outputs_2")
    types = port_types(g).outputs
    assert str(types[(lstm, "y")]) == "model(None, 7, 4)" and str(types[(lstm, "state_h")]) == "model(None, 4)"
    assert str(types[(gru, "state_h")]) == "any"  # no return_state: an empty output
    assert str(types[(cat, "y")]) == "model(None, 9)"
    res = Runtime(g).run()
    assert res.values[gru]["state_h"] is None
    assert res.values[m]["model"].output_shape == [(None, 9), (None, 7, 4)]
    g2 = Graph()
    x2 = g2.add_node("haibal.layers.Input", "seq", {"shape": "7, 3"})
    gru2 = g2.add_node("haibal.layers.GRU", "gru")
    d = g2.add_node("haibal.layers.Dense", "d")
    g2.connect(x2, "y", gru2, "x")
    g2.connect(gru2, "state_h", d, "x")
    with pytest.raises(NodeRunError, match="input 'x' takes a model wire .* got nothing"):
        Runtime(g2).run()


def test_bidirectional_and_attention_outputs():
    g = Graph()
    x = g.add_node("haibal.layers.Input", "seq", {"shape": "6, 8"})
    bi = g.add_node("haibal.layers.Bidirectional", "bi", {"layer": "GRU", "units": 3, "return_sequences": True,
                                                          "return_state": True, "merge_mode": "sum"})
    mha = g.add_node("haibal.layers.MultiHeadAttention", "att", {"num_heads": 2, "key_dim": 4,
                                                                  "return_attention_scores": True})
    g.connect(x, "y", bi, "x")
    g.connect(bi, "y", mha, "query")
    g.connect(x, "y", mha, "value")
    m = g.add_node("haibal.model.Model", "m")
    g.connect(mha, "y", m, "outputs")
    g.connect(mha, "scores", m, "outputs_2")
    g.connect(bi, "backward_h", m, "outputs_3")
    types = port_types(g).outputs
    assert str(types[(bi, "y")]) == "model(None, 6, 3)" and str(types[(bi, "forward_h")]) == "model(None, 3)"
    assert str(types[(bi, "forward_c")]) == "any"  # a GRU has no cell state
    assert str(types[(mha, "scores")]) == "model(None, 2, 6, 6)"
    model = Runtime(g).run().values[m]["model"]
    assert model.output_shape == [(None, 6, 3), (None, 2, 6, 6), (None, 3)]
    names = [layer.name for layer in model.layers]
    assert names == ["seq", "bi", "att"]
    out = model.predict(np.random.default_rng(1).normal(size=(2, 6, 8)).astype("float32"))
    assert [o.shape for o in out] == [(2, 6, 3), (2, 2, 6, 6), (2, 3)]
    np.testing.assert_allclose(out[1].sum(axis=-1), 1.0, rtol=1e-5)


def test_time_distributed_takes_one_layer_fed_by_its_own_input():
    g, node, m, data = _graph_for("TimeDistributed")
    model = Runtime(g).run().values[m]["model"]
    td = model.get_layer("time_distributed")
    assert td.layer.name == "per_step" and td.layer.kernel.shape == (6, 3)
    y = model.predict(data["steps"])
    np.testing.assert_allclose(y, data["steps"] @ td.layer.kernel + td.layer.bias, rtol=1e-5, atol=1e-6)
    # a longer chain behind 'layer' is refused with a message
    step = [gid for gid, gn in g.nodes.items() if gn.name == "step"][0]
    extra = g.add_node("haibal.layers.Dense", "second")
    inner = [gid for gid, gn in g.nodes.items() if gn.name == "per_step"][0]
    g.connect(inner, "y", extra, "x")
    g.connect(extra, "y", node, "layer", replace=True)
    assert step
    with pytest.raises(NodeRunError, match="ONE layer node fed by its own Input"):
        Runtime(g).run()


def test_an_int_input_feeds_an_embedding_and_the_model_predicts_from_ids():
    g, node, m, data = _graph_for("Embedding")
    model = Runtime(g).run().values[m]["model"]
    assert model.inputs[0].dtype == "int32"
    y = model.predict(data["ids"])
    np.testing.assert_array_equal(y, model.get_layer("embedding").embeddings[data["ids"]])


def test_the_layer_wire_types_are_registered_for_run_time_values():
    t = layers.Input((28, 28, 1))
    assert PortType.of_value(t) == PortType.with_shape("model", (None, 28, 28, 1))
    assert str(PortType.of_value(t)) == "model(None, 28, 28, 1)"
