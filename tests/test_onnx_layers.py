"""The layers for generic ONNX operators (``numeric.layers.onnx_math`` / ``onnx_shape``):
forward values against NumPy written out here, backward passes against float64 central
differences, configs that rebuild the layer, and the errors they raise."""

import math

import numpy as np
import pytest

from gradcheck import check_gradients, float64_layers
from haibal_py.errors import LayerError
from haibal_py.numeric import layers as L
from haibal_py.numeric.layers import onnx_math as OM
from haibal_py.numeric.layers import onnx_shape as OS

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.normal(size=shape)


def _with_constant(layer, values: dict):
    """Build ``layer`` and give its constant operands their values."""
    layer.build(None)
    layer.built = True
    for i, v in values.items():
        layer._constants[i][...] = v
    return layer


@pytest.mark.parametrize("op, ref", [
    ("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
    ("max", np.maximum), ("min", np.minimum),
])
def test_elementwise_two_inputs_broadcast_like_numpy(op, ref):
    with float64_layers():
        layer = OM.OnnxElementwise(op, operands=["x", "x"])
    a, b = _x(2, 3, 4), _x(3, 1) + (3.0 if op == "div" else 0.0)
    np.testing.assert_allclose(layer([a, b]), ref(a, b))
    assert layer.compute_output_shape([(None, 3, 4), (3, 1)]) == (None, 3, 4)
    check_gradients(layer, [a, b])


def test_elementwise_with_trainable_constant_first():
    with float64_layers():
        layer = _with_constant(OM.OnnxElementwise("sub", operands=["w", "x"], constant_shapes={"0": [4]}),
                               {0: np.arange(4.0)})
    x = _x(3, 4)
    np.testing.assert_allclose(layer(x), np.arange(4.0) - x)
    assert [s.name for s in layer.weight_specs(True)] == ["operand_0"]
    check_gradients(layer, x)


def test_elementwise_fixed_constant_is_not_trainable_and_pow_gradients():
    with float64_layers():
        layer = _with_constant(OM.OnnxElementwise("pow", operands=["x", "c"], constant_shapes={"1": []}), {1: 3.0})
    x = np.abs(_x(2, 5)) + 0.5
    np.testing.assert_allclose(layer(x), x ** 3)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    check_gradients(layer, x)
    with float64_layers():
        both = OM.OnnxElementwise("pow", operands=["x", "x"])
    check_gradients(both, [x, _x(2, 5)])


def test_variadic_mean_max_and_where():
    with float64_layers():
        mean = OM.OnnxElementwise("mean", operands=["x", "x", "x"])
        top = OM.OnnxElementwise("max", operands=["x", "x", "x"])
        where = OM.OnnxElementwise("where", operands=["x", "x", "x"])
    xs = [_x(2, 3), _x(2, 3), _x(3)]
    np.testing.assert_allclose(mean(xs), (xs[0] + xs[1] + xs[2]) / 3)
    np.testing.assert_allclose(top(xs), np.maximum(np.maximum(xs[0], xs[1]), xs[2]))
    check_gradients(mean, xs)
    check_gradients(top, xs)
    cond = (RNG.random((2, 3)) > 0.5).astype(float)
    np.testing.assert_allclose(where([cond, xs[0], xs[2]]), np.where(cond != 0, xs[0], xs[2]))
    out = check_gradients(where, [cond, xs[0], xs[2]])
    assert not np.any(out["dx"][0])  # no gradient for the condition


def test_comparisons_give_zero_one_and_no_gradient():
    layer = OM.OnnxElementwise("greater", operands=["x", "x"])
    a, b = np.array([[1.0, 2.0]], np.float32), np.array([[2.0, 1.0]], np.float32)
    y = layer([a, b])
    assert y.dtype == np.float32 and y.tolist() == [[0.0, 1.0]]
    dx, _ = layer.backward(np.ones_like(y))
    assert all(not np.any(d) for d in dx)


def test_elementwise_errors_name_layer_and_shapes():
    with pytest.raises(LayerError, match="op must be one of"):
        OM.OnnxElementwise("modulo")
    with pytest.raises(LayerError, match="constant operand 1 needs its shape"):
        OM.OnnxElementwise("add", operands=["x", "w"])
    layer = OM.OnnxElementwise("add", operands=["x", "x"], name="adder")
    with pytest.raises(LayerError, match=r"adder \(add\): operands of shapes \(2, 3\), \(4,\) do not broadcast"):
        layer([np.zeros((2, 3)), np.zeros(4)])


@pytest.mark.parametrize("sa, sb", [((2, 3, 4), (4, 5)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((1, 3, 4), (2, 4, 2))])
def test_matmul_is_numpy_matmul_with_gradients(sa, sb):
    with float64_layers():
        layer = OM.OnnxMatMul(operands=["x", "x"])
    a, b = _x(*sa), _x(*sb)
    np.testing.assert_allclose(layer([a, b]), np.matmul(a, b))
    assert layer.compute_output_shape([sa, sb]) == np.matmul(a, b).shape
    check_gradients(layer, [a, b])


def test_matmul_with_constant_weight():
    with float64_layers():
        layer = _with_constant(OM.OnnxMatMul(operands=["x", "w"], constant_shapes={"1": [3, 2]}),
                               {1: np.arange(6.0).reshape(3, 2)})
    x = _x(4, 3)
    np.testing.assert_allclose(layer(x), x @ np.arange(6.0).reshape(3, 2))
    check_gradients(layer, x)
    with pytest.raises(LayerError, match="inner sizes differ"):
        layer(np.zeros((4, 5)))


@pytest.mark.parametrize("op", ["neg", "abs", "sqrt", "exp", "log", "reciprocal", "erf", "sin", "cos"])
def test_unary_values_and_gradients(op):
    with float64_layers():
        layer = L.OnnxUnary(op)
    x = np.abs(_x(3, 4)) + 0.3
    ref = {"neg": -x, "abs": np.abs(x), "sqrt": np.sqrt(x), "exp": np.exp(x), "log": np.log(x),
           "reciprocal": 1 / x, "erf": np.vectorize(math.erf)(x), "sin": np.sin(x), "cos": np.cos(x)}[op]
    np.testing.assert_allclose(layer(x), ref, rtol=1e-12)
    check_gradients(layer, x)


def test_rounding_unaries_pass_no_gradient():
    layer = L.OnnxUnary("round")
    x = np.array([0.5, 1.5, -2.5, 2.4], np.float32)
    assert layer(x).tolist() == [0.0, 2.0, -2.0, 2.0]  # half to even, as ONNX Round
    assert not np.any(layer.backward(np.ones(4, np.float32))[0])
    assert L.OnnxUnary("trunc")(np.array([-1.7, 1.7])).tolist() == [-1.0, 1.0]


def test_clip_bounds_and_gradient_mask():
    with float64_layers():
        layer = L.OnnxClip(min=-0.5, max=0.25)
    x = np.array([[-1.0, -0.2, 0.1, 0.9]])
    np.testing.assert_allclose(layer(x), [[-0.5, -0.2, 0.1, 0.25]])
    dx, _ = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(dx, [[0, 1, 1, 0]])
    assert L.OnnxClip(max=1.0)(np.array([5.0, -5.0])).tolist() == [1.0, -5.0]
    with pytest.raises(LayerError, match="min .* is above max"):
        L.OnnxClip(min=1.0, max=0.0)


def test_transpose_moves_the_batch_axis():
    with float64_layers():
        layer = L.OnnxTranspose([1, 0, 2])
    x = _x(2, 3, 4)
    np.testing.assert_allclose(layer(x), x.transpose(1, 0, 2))
    assert layer.compute_output_shape((None, 3, 4)) == (3, None, 4)
    check_gradients(layer, x)
    with pytest.raises(LayerError, match="perm must be a permutation"):
        L.OnnxTranspose([0, 0, 1])


def test_reshape_copies_zeros_and_infers_minus_one():
    with float64_layers():
        layer = L.OnnxReshape([0, -1, 2])
    x = _x(3, 4, 5, 2)
    np.testing.assert_allclose(layer(x), x.reshape(3, 20, 2))
    assert layer.compute_output_shape((None, 4, 5, 2)) == (None, 20, 2)
    check_gradients(layer, x)
    with pytest.raises(LayerError, match="cannot reshape"):
        L.OnnxReshape([-1, 7])(np.zeros((2, 5)))


def test_gather_with_negative_and_matrix_indices():
    with float64_layers():
        layer = L.OnnxGather([[0, -1], [1, 1]], axis=1)
    x = _x(2, 3, 4)
    np.testing.assert_allclose(layer(x), np.take(x, [[0, 2], [1, 1]], axis=1))
    assert layer.compute_output_shape((None, 3, 4)) == (None, 2, 2, 4)
    check_gradients(layer, x)  # repeated indices add their gradients
    with pytest.raises(LayerError, match="out of range"):
        L.OnnxGather([3], axis=1)(np.zeros((1, 3)))


@pytest.mark.parametrize("starts, ends, axes, steps", [
    ([1], [3], [1], [1]), ([0, -3], [2, 100], [0, 2], [1, 2]), ([-1], [-10 ** 18], [1], [-1]), ([2], [0], [2], [-1]),
])
def test_slice_like_onnx(starts, ends, axes, steps):
    with float64_layers():
        layer = L.OnnxSlice(starts, ends, axes, steps)
    x = _x(3, 4, 5)
    index = [slice(None)] * 3
    for s, e, a, st in zip(starts, ends, axes, steps):
        n = x.shape[a]
        if st > 0:
            index[a] = slice(max(min(s if s >= 0 else s + n, n), 0), max(min(e if e >= 0 else e + n, n), 0), st)
        else:
            s2 = min(max(s + n if s < 0 else s, 0), n - 1)
            e2 = e + n if e < 0 else e
            index[a] = slice(s2, None if e2 < 0 else e2, st)
    np.testing.assert_allclose(layer(x), x[tuple(index)])
    assert layer.compute_output_shape(x.shape) == x[tuple(index)].shape
    check_gradients(layer, x)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes_and_cropping(mode):
    with float64_layers():
        layer = L.OnnxPad([0, 2, 1, 0, 1, 2], mode=mode, value=0.5)
    x = _x(2, 4, 3)
    kw = {"constant_values": 0.5} if mode == "constant" else {}
    np.testing.assert_allclose(layer(x), np.pad(x, [(0, 0), (2, 1), (1, 2)], mode=mode, **kw))
    check_gradients(layer, x)
    with float64_layers():
        crop = L.OnnxPad([0, -1, 0, 0, 1, -1])
    np.testing.assert_allclose(crop(x), np.pad(x[:, 1:, :-1], [(0, 0), (0, 1), (0, 0)]))
    check_gradients(crop, x)


@pytest.mark.parametrize("op", ["mean", "sum", "max", "min", "prod", "sum_square", "l1", "l2", "log_sum_exp"])
@pytest.mark.parametrize("keepdims", [True, False])
def test_reduce_ops(op, keepdims):
    with float64_layers():
        layer = L.OnnxReduce(op, axes=[1, -1], keepdims=keepdims)
    x = _x(2, 3, 4) + 0.1
    ref = {"mean": np.mean, "sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod,
           "sum_square": lambda v, **k: np.sum(v * v, **k), "l1": lambda v, **k: np.sum(np.abs(v), **k),
           "l2": lambda v, **k: np.sqrt(np.sum(v * v, **k)),
           "log_sum_exp": lambda v, **k: np.log(np.sum(np.exp(v), **k))}[op](x, axis=(1, 2), keepdims=keepdims)
    np.testing.assert_allclose(layer(x), ref, rtol=1e-12)
    assert layer.compute_output_shape((None, 3, 4)) == ((None, 1, 1) if keepdims else (None,))
    check_gradients(layer, x)


def test_reduce_prod_with_a_zero_and_max_ties():
    with float64_layers():
        prod = L.OnnxReduce("prod", axes=[1])
        top = L.OnnxReduce("max", axes=[1], keepdims=False)
    x = np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 5.0]])
    check_gradients(prod, x)
    tied = np.array([[1.0, 3.0, 3.0]])
    top(tied)
    dx, _ = top.backward(np.array([1.0]))
    np.testing.assert_allclose(dx, [[0.0, 0.5, 0.5]])


def test_expand_broadcasts_and_sums_back():
    with float64_layers():
        layer = L.OnnxExpand([1, 3, 4])
    x = _x(2, 1, 4)
    np.testing.assert_allclose(layer(x), np.broadcast_to(x, (2, 3, 4)))
    assert layer.compute_output_shape((None, 1, 4)) == (None, 3, 4)
    check_gradients(layer, x)


@pytest.mark.parametrize("layer", [
    L.OnnxElementwise("mul", operands=["c", "x"], constant_shapes={"0": [2, 1]}),
    L.OnnxMatMul(operands=["x", "x"]), L.OnnxUnary("erf"), L.OnnxClip(min=0.0), L.OnnxTranspose([2, 0, 1]),
    L.OnnxReshape([0, -1]), L.OnnxGather([1, 0], axis=2), L.OnnxSlice([0], [2], [1], [1]),
    L.OnnxPad([0, 1, 0, 1], mode="edge"), L.OnnxReduce("l2", axes=None, keepdims=False), L.OnnxExpand([2, 1]),
], ids=lambda layer: type(layer).__name__)
def test_configs_rebuild_the_layer(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    import json
    json.dumps(config)  # configs are plain JSON (graph files hold them)


@pytest.mark.parametrize("eq, shapes", [("bij,jk->bik", [(2, 3, 4), (4, 5)]),
                                        ("bthk,bshk->bhts", [(2, 3, 2, 4), (2, 5, 2, 4)]),
                                        ("ij,jk->i", [(3, 4), (4, 2)]), ("bi,bi->b", [(2, 5), (1, 5)])])
def test_einsum_values_and_gradients(eq, shapes):
    with float64_layers():
        layer = L.OnnxEinsum(eq, operands=["x", "x"])
    xs = [_x(*s) for s in shapes]
    np.testing.assert_allclose(layer(xs), np.einsum(eq, *xs))
    check_gradients(layer, xs)


def test_einsum_refuses_ellipsis_and_diagonals():
    with pytest.raises(LayerError, match="without '...'"):
        L.OnnxEinsum("...ij,jk->...ik")
    with pytest.raises(LayerError, match="distinct letters"):
        L.OnnxEinsum("ii,ij->j")
