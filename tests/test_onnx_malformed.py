"""ONNX files from strangers: a malformed or hostile model is refused with an OnnxError that
names the initializer, graph input or node at fault; never a raw NumPy/protobuf error, never
a file read from outside the model's folder. The last test mutates the shipped fixtures at
random (seeded) and checks that only haibal-py's own errors come out of load and predict."""

import copy
import os
import random
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import haibal_py.onnx as honnx  # noqa: E402
from haibal_py.errors import HaibalError  # noqa: E402
from haibal_py.onnx import OnnxError  # noqa: E402

FIXTURES = Path(__file__).parent / "reference" / "onnx"


def add_model(init=None, node=None, elem_type=TensorProto.FLOAT):
    x = helper.make_tensor_value_info("x", elem_type, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [node or helper.make_node("Add", ["x", "w"], ["y"], name="adder")]
    inits = [init if init is not None else numpy_helper.from_array(np.ones(4, np.float32), "w")]
    graph = helper.make_graph(nodes, "g", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_well_formed_model_loads():
    np.testing.assert_allclose(honnx.load_model(add_model()).predict(np.zeros((1, 4), np.float32)), np.ones((1, 4)))


@pytest.mark.parametrize("dims", [[100000, 100000, 100000], [2 ** 40], [3]])
def test_initializer_dims_that_its_data_does_not_fill(dims):
    init = numpy_helper.from_array(np.ones(4, np.float32), "w")
    del init.dims[:]
    init.dims.extend(dims)
    with pytest.raises(OnnxError, match=r"initializer 'w': its data does not match its dims"):
        honnx.load_model(add_model(init))


@pytest.mark.parametrize("elem", [0, 99, 10 ** 9])
def test_unknown_element_types(elem):
    init = numpy_helper.from_array(np.ones(4, np.float32), "w")
    init.data_type = elem
    with pytest.raises(OnnxError, match=rf"initializer 'w' has an unknown element type \({elem}\)"):
        honnx.load_model(add_model(init))
    with pytest.raises(OnnxError, match=rf"graph input 'x' has an unknown element type \({elem}\)"):
        honnx.load_model(add_model(elem_type=elem))


def test_a_node_missing_what_it_needs_is_named():
    reshape = helper.make_node("Reshape", ["x"], ["y"], name="flat")  # the shape input is missing
    with pytest.raises(OnnxError, match=r"node 'flat' \(Reshape\)"):
        honnx.load_model(add_model(node=reshape))


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "link.bin"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path, location):
    (tmp_path / "outside.bin").write_bytes(np.ones(4, np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    os.symlink(tmp_path / "outside.bin", folder / "link.bin")
    init = numpy_helper.from_array(np.ones(4, np.float32), "w")
    init.ClearField("raw_data")
    init.data_location = TensorProto.EXTERNAL
    entry = init.external_data.add()
    entry.key, entry.value = "location", location
    (folder / "m.onnx").write_bytes(add_model(init).SerializeToString())
    with pytest.raises(OnnxError, match=r"m.onnx is not a readable ONNX model"):
        honnx.load(folder / "m.onnx")


def _mutate(rng, model):
    model = copy.deepcopy(model)
    g = model.graph
    kind = rng.randrange(8)
    if kind == 0 and g.node:
        n = rng.choice(g.node)
        if n.input:
            n.input[rng.randrange(len(n.input))] = rng.choice(["", "nope", n.input[0]])
    elif kind == 1 and g.node:
        for a in rng.choice(g.node).attribute:
            if a.ints:
                a.ints[rng.randrange(len(a.ints))] = rng.choice([0, -1, 10 ** 9, -10 ** 9])
            elif a.type == onnx.AttributeProto.INT:
                a.i = rng.choice([0, -1, 10 ** 9, 7])
            elif a.type == onnx.AttributeProto.FLOAT:
                a.f = rng.choice([float("nan"), -1.0, 1e30])
    elif kind == 2 and g.initializer:
        t = rng.choice(g.initializer)
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 3, 10 ** 6])
    elif kind == 3 and g.initializer:
        rng.choice(g.initializer).data_type = rng.choice([1, 6, 7, 11, 9, 2, 16, 0, 99])
    elif kind == 4 and g.node:
        del g.node[rng.randrange(len(g.node))]
    elif kind == 5 and g.node:
        rng.choice(g.node).op_type = rng.choice(["Gemm", "Conv", "Relu", "Reshape", "LSTM", "Foo", "Transpose"])
    elif kind == 6:
        for i in g.input:
            dims = i.type.tensor_type.shape.dim
            if dims:
                dims[rng.randrange(len(dims))].dim_value = rng.choice([0, 1, 5])
    elif kind == 7 and g.node:
        n = rng.choice(g.node)
        if n.attribute:
            del n.attribute[rng.randrange(len(n.attribute))]
    return model


def test_mutated_fixtures_only_raise_haibal_errors():
    rng = random.Random(1)
    bases = [onnx.load(FIXTURES / f"{name}.onnx") for name in ("torch_cnn", "torch_mlp", "keras_cnn", "keras_mlp")]
    loaded = refused = 0
    for _ in range(120):
        model = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            model = _mutate(rng, model)
        try:
            imported = honnx.load_model(model)
            shapes = [tuple(1 if d is None else d for d in s.shape) for s in imported.inputs]
            xs = [np.ones(s, np.float32) for s in shapes]
            imported.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            loaded += 1
        except HaibalError:
            refused += 1
    assert loaded and refused  # both kinds occurred: the mutations reached the importer's paths
