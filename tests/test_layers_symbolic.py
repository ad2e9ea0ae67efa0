"""Symbolic tensors, Input and InputLayer, call recording, and the activation backward table."""

from __future__ import annotations

import numpy as np
import pytest

from haibal_py import activations
from haibal_py import layers as L
from haibal_py.errors import LayerError
from haibal_py.numeric.activation_grads import _TABLE, ActivationStep, backward_of
from haibal_py.numeric.layers.symbolic import call_symbolic, is_symbolic


def test_input_shapes_dtypes_names_and_history():
    x = L.Input((3, 4), name="img")
    assert x.shape == (None, 3, 4) and x.dtype == "float32" and x.name == "img"
    assert L.Input((2,), batch_size=8).shape == (8, 2)
    assert L.Input(batch_shape=(None, 5), dtype="int32").dtype == "int32"
    layer, node_index, tensor_index = x._keras_history
    assert isinstance(layer, L.InputLayer) and (node_index, tensor_index) == (0, 0)
    assert L.InputLayer(shape=(3,)).get_config()["batch_shape"] == (None, 3)
    with pytest.raises(LayerError, match="needs shape="):
        L.Input()
    with pytest.raises(LayerError, match="sparse"):
        L.Input((3,), sparse=True)
    with pytest.raises(LayerError, match="give shape or batch_shape"):
        L.Input((3,), batch_shape=(None, 3))


def test_layer_calls_record_nodes_and_outputs():
    x = L.Input((4,), name="in4")
    d = L.Dense(2, name="d2")
    y = d(x)
    z = d(L.Input((4,), name="again"))
    assert is_symbolic(y) and is_symbolic([y, z]) and not is_symbolic(np.ones(2))
    assert y.shape == (None, 2) and d.built and len(d._inbound_nodes) == 2
    assert d.input is x and d.output is y                     # the first call, as Keras
    assert z._keras_history[1] == 1
    with pytest.raises(LayerError, match="no values"):
        np.asarray(y)
    with pytest.raises(LayerError, match="never been called"):
        L.Dense(2).output
    out = call_symbolic(L.Dense(3), x)
    assert out.shape == (None, 3)


def test_a_wrong_rank_is_refused_at_definition_naming_layer_and_shapes():
    with pytest.raises(LayerError, match=r"flat_me \(Flatten\).*rank 1 or more.*\(\)"):
        L.Flatten(name="flat_me").compute_output_shape(())
    seq = L.Input((5, 2))
    with pytest.raises(LayerError, match=r"perm \(Permute\) expects a rank-4 input.*\(None, 5, 2\)"):
        L.Permute((1, 3, 2), name="perm")(seq)
    with pytest.raises(LayerError, match=r"takes one input tensor, got 2"):
        L.Dense(2)([L.Input((2,)), L.Input((2,))])


FD_POINTS = np.array([-3.7, -2.2, -1.3, -0.6, -0.2, 0.15, 0.45, 1.1, 2.4, 3.3, 4.2, 6.5])


@pytest.mark.parametrize("fn", sorted(_TABLE, key=lambda f: f.__name__), ids=lambda f: f.__name__)
def test_every_activation_backward_matches_central_differences(fn):
    x = np.stack([FD_POINTS, FD_POINTS[::-1] * 0.7])            # rows: softmax axes have several values
    y = fn(x)
    dy = np.random.default_rng(0).normal(size=x.shape)
    vjp, needs = backward_of(fn)
    dx = vjp(x if "x" in needs else None, y if "y" in needs else None, dy)
    eps = 1e-6
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        num[i] = ((fn(up) - fn(down)) * dy).sum() / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-7)


def test_activation_step_keeps_only_what_backward_reads_and_works_in_place():
    z = np.array([[-1.0, 2.0]])
    relu = ActivationStep("relu")
    y, saved = relu.forward(z)
    assert y is z and saved[0] is None                        # in place on the layer's own array
    np.testing.assert_array_equal(relu.backward(saved, np.ones((1, 2))), [[0, 1]])
    lin = ActivationStep(None)
    assert lin.name == "linear" and lin.forward(z)[0] is z
    assert ActivationStep("hard_swish").name == "hard_silu"
    assert activations.get("swish") is activations.silu
