"""Layers for ONNX operators that have no Keras layer: arithmetic (``OnnxElementwise``,
``OnnxMatMul``, ``OnnxUnary``, ``OnnxClip``), each with its backward pass.

They exist so that a model imported from ONNX (``haibal_py.onnx.load``) runs and trains on
the project's own engine. Their numbers follow the ONNX operator definitions: NumPy
broadcasting (right-aligned, unlike Keras' merging layers, which insert axes after the
batch axis), ``MatMul`` as ``numpy.matmul``.

Operands may be constants. ``operands`` lists, per ONNX operand position, where its value
comes from: ``"x"`` a runtime input of the layer (in order), ``"w"`` a trainable constant,
``"c"`` a fixed constant. Constants are weights named ``operand_<position>`` (so they are
saved with the model and set with ``set_weights``); their shapes are in
``constant_shapes``. A layer with one runtime operand takes one array, otherwise a list.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Layer, LayerError, as_tuple_shape
from .broadcasting import broadcast_shapes, extreme_grads, unbroadcast
from .symbolic import format_shape

__all__ = ["OnnxElementwise", "OnnxMatMul", "OnnxEinsum", "OnnxUnary", "OnnxClip"]


def _zeros(shape, dtype=None):
    """Zeros of any shape, scalars included (the values come from ``set_weights``)."""
    return np.zeros(shape, dtype=dtype)


class _Operands(Layer):
    """Runtime inputs and constant weights mixed as the ONNX operands of one operator."""

    _arity: tuple[int, int | None] = (1, None)

    def __init__(self, operands=("x", "x"), constant_shapes=None, **kwargs):
        super().__init__(**kwargs)
        kinds = tuple(operands)
        if not kinds or any(k not in ("x", "w", "c") for k in kinds):
            raise LayerError(f"{self.name}: operands must be a list of 'x' (input), 'w' (trainable constant) "
                             f"or 'c' (fixed constant), got {operands!r}")
        lo, hi = self._arity
        if len(kinds) < lo or (hi is not None and len(kinds) > hi):
            raise LayerError(f"{self.name} ({type(self).__name__}): takes {lo}..{hi or 'n'} operands, "
                             f"got {len(kinds)}")
        if "x" not in kinds:
            raise LayerError(f"{self.name}: at least one operand must be a runtime input")
        shapes = {int(k): as_tuple_shape(v) for k, v in (constant_shapes or {}).items()}
        for i, k in enumerate(kinds):
            if k != "x" and i not in shapes:
                raise LayerError(f"{self.name}: constant operand {i} needs its shape in constant_shapes")
        self.operands = kinds
        self.constant_shapes = {i: shapes[i] for i, k in enumerate(kinds) if k != "x"}
        self.n_inputs = 1 if kinds.count("x") == 1 else None
        self._constants: dict[int, np.ndarray] = {}

    def build(self, input_shape):
        for i, shape in self.constant_shapes.items():
            self._constants[i] = self.add_weight(f"operand_{i}", shape, _zeros,
                                                 trainable=self.operands[i] == "w")
        self.built = True

    def _input_list(self, values) -> list:
        return [values] if self.n_inputs == 1 else list(values)

    def _operand_shapes(self, input_shape) -> list[tuple]:
        shapes = self._input_list(input_shape) if self.n_inputs == 1 else list(input_shape)
        n_x = self.operands.count("x")
        if len(shapes) != n_x:
            raise LayerError(f"{self.name} ({type(self).__name__}) takes {n_x} input(s), got {len(shapes)}")
        it = iter(shapes)
        return [as_tuple_shape(next(it)) if k == "x" else self.constant_shapes[i]
                for i, k in enumerate(self.operands)]

    def _operand_values(self, inputs) -> list[np.ndarray]:
        it = iter(self._input_list(inputs))
        return [next(it) if k == "x" else self._constants[i] for i, k in enumerate(self.operands)]

    def _split_grads(self, grads: list, need_dx: bool):
        """(d_inputs, weight grads) from one gradient per operand (None where there is none)."""
        dxs = [g for g, k in zip(grads, self.operands) if k == "x"]
        d_in = None
        if need_dx:
            d_in = dxs[0] if self.n_inputs == 1 else dxs
        weight_grads = []
        if self.trainable:
            for i, k in enumerate(self.operands):
                if k == "w":
                    g = grads[i]
                    weight_grads.append(np.zeros_like(self._constants[i]) if g is None else g)
        return d_in, weight_grads

    def get_config(self):
        return {**super().get_config(), "operands": list(self.operands),
                "constant_shapes": {str(i): list(s) for i, s in self.constant_shapes.items()}}


def _zero_grad(*_):
    return None


def _pow_grad_base(a, b, y, dy):
    return dy * b * np.power(a, b - 1)


def _pow_grad_exponent(a, b, y, dy):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, dy * y * np.log(np.where(a > 0, a, 1)), 0).astype(dy.dtype)


def _compare(fn):
    return lambda xs: fn(xs[0], xs[1])


#: op -> (forward(list of arrays) -> array, backward(xs, y, dy) -> list of grads or None, arity)
_ELEMENTWISE = {
    "add": (lambda xs: xs[0] + xs[1], lambda xs, y, dy: [dy, dy], (2, 2)),
    "sub": (lambda xs: xs[0] - xs[1], lambda xs, y, dy: [dy, -dy], (2, 2)),
    "mul": (lambda xs: xs[0] * xs[1], lambda xs, y, dy: [dy * xs[1], dy * xs[0]], (2, 2)),
    "div": (lambda xs: xs[0] / xs[1], lambda xs, y, dy: [dy / xs[1], -dy * y / xs[1]], (2, 2)),
    "pow": (lambda xs: np.power(xs[0], xs[1]),
            lambda xs, y, dy: [_pow_grad_base(xs[0], xs[1], y, dy), _pow_grad_exponent(xs[0], xs[1], y, dy)],
            (2, 2)),
    "sum": (lambda xs: sum(xs[1:], xs[0]), lambda xs, y, dy: [dy] * len(xs), (1, None)),
    "mean": (lambda xs: sum(xs[1:], xs[0]) / xs[0].dtype.type(len(xs)),
             lambda xs, y, dy: [dy / dy.dtype.type(len(xs))] * len(xs), (1, None)),
    "max": (lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs)) if len(xs) > 1 else xs[0].copy(),
            extreme_grads, (1, None)),
    "min": (lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs)) if len(xs) > 1 else xs[0].copy(),
            extreme_grads, (1, None)),
    "where": (lambda xs: np.where(xs[0] != 0, xs[1], xs[2]),
              lambda xs, y, dy: [None, np.where(xs[0] != 0, dy, 0).astype(dy.dtype),
                                 np.where(xs[0] != 0, 0, dy).astype(dy.dtype)], (3, 3)),
    # comparisons and logic give 0/1 in the layer's float dtype, and no gradient
    "equal": (_compare(np.equal), None, (2, 2)),
    "less": (_compare(np.less), None, (2, 2)),
    "less_or_equal": (_compare(np.less_equal), None, (2, 2)),
    "greater": (_compare(np.greater), None, (2, 2)),
    "greater_or_equal": (_compare(np.greater_equal), None, (2, 2)),
    "and": (lambda xs: (xs[0] != 0) & (xs[1] != 0), None, (2, 2)),
    "or": (lambda xs: (xs[0] != 0) | (xs[1] != 0), None, (2, 2)),
    "xor": (lambda xs: (xs[0] != 0) ^ (xs[1] != 0), None, (2, 2)),
}


class OnnxElementwise(_Operands):
    """An element-wise ONNX operator with NumPy broadcasting: ``add``, ``sub``, ``mul``,
    ``div``, ``pow``, ``sum``, ``mean``, ``max``, ``min`` (ONNX's variadic Sum/Mean/Max/Min),
    ``where`` (condition, x, y), and comparisons/logic (``equal``, ``less``, ``greater``,
    ``less_or_equal``, ``greater_or_equal``, ``and``, ``or``, ``xor``) that give 0/1 and no
    gradient. A tie of ``max``/``min`` sends its gradient to the first operand holding it."""

    OPS = tuple(_ELEMENTWISE)

    def __init__(self, op, operands=("x", "x"), constant_shapes=None, **kwargs):
        if op not in _ELEMENTWISE:
            raise LayerError(f"{kwargs.get('name') or 'OnnxElementwise'}: op must be one of "
                             f"{', '.join(_ELEMENTWISE)}, got {op!r}")
        self.op = op
        self._arity = _ELEMENTWISE[op][2]
        super().__init__(operands, constant_shapes, **kwargs)

    def compute_output_shape(self, input_shape):
        return broadcast_shapes(self._operand_shapes(input_shape), f"{self.name} ({self.op})")

    def _forward(self, inputs, training):
        xs = self._operand_values(inputs)
        fn, back, _ = _ELEMENTWISE[self.op]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = fn(xs)
        if y.dtype != self.dtype:
            y = y.astype(self.dtype)
        return y, (xs, y) if back is not None else [x.shape for x in xs]

    def _backward(self, ctx, dy, need_dx):
        back = _ELEMENTWISE[self.op][1]
        if back is None:
            shapes = ctx
            grads = [np.zeros(s, dtype=dy.dtype) for s in shapes]
        else:
            xs, y = ctx
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                raw = back(xs, y, dy)
            grads = [None if g is None else unbroadcast(np.asarray(g, dtype=dy.dtype), x.shape)
                     for g, x in zip(raw, xs)]
            grads = [np.zeros(x.shape, dtype=dy.dtype) if g is None else g for g, x in zip(grads, xs)]
        return self._split_grads(grads, need_dx)

    def get_config(self):
        return {**super().get_config(), "op": self.op}


class OnnxMatMul(_Operands):
    """``numpy.matmul`` of two operands (ONNX ``MatMul``): batched over leading axes with
    broadcasting; a rank-1 operand is a vector, as NumPy treats it."""

    _arity = (2, 2)

    def compute_output_shape(self, input_shape):
        a, b = self._operand_shapes(input_shape)
        if not a or not b:
            raise LayerError(f"{self.name} (OnnxMatMul): operands must have rank >= 1, got "
                             f"{format_shape(a)} and {format_shape(b)}")
        a2 = (1,) + a if len(a) == 1 else a
        b2 = b + (1,) if len(b) == 1 else b
        if a2[-1] is not None and b2[-2] is not None and a2[-1] != b2[-2]:
            raise LayerError(f"{self.name} (OnnxMatMul): inner sizes differ: {format_shape(a)} @ {format_shape(b)}")
        lead = broadcast_shapes([a2[:-2], b2[:-2]], self.name) if len(a2) > 2 or len(b2) > 2 else ()
        out = lead + (a2[-2], b2[-1])
        if len(a) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return out

    def _forward(self, inputs, training):
        a, b = self._operand_values(inputs)
        return np.matmul(a, b), (a, b)

    def _backward(self, ctx, dy, need_dx):
        a, b = ctx
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        d = dy
        if a.ndim == 1:
            d = np.expand_dims(d, -2)
        if b.ndim == 1:
            d = np.expand_dims(d, -1)
        da = unbroadcast(np.matmul(d, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        db = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), d), b2.shape).reshape(b.shape)
        return self._split_grads([da, db], need_dx)


def _erf(x):
    v = np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64))
    return np.asarray(v, dtype=np.float64).astype(x.dtype)


#: op -> (forward(x), backward(x, y, dy))
_UNARY = {
    "neg": (np.negative, lambda x, y, dy: -dy),
    "abs": (np.abs, lambda x, y, dy: dy * np.sign(x)),
    "sqrt": (np.sqrt, lambda x, y, dy: dy / (y + y)),
    "exp": (np.exp, lambda x, y, dy: dy * y),
    "log": (np.log, lambda x, y, dy: dy / x),
    "reciprocal": (np.reciprocal, lambda x, y, dy: -dy * y * y),
    "erf": (_erf, lambda x, y, dy: dy * (np.exp(-x * x) * x.dtype.type(2 / math.sqrt(math.pi)))),
    "sin": (np.sin, lambda x, y, dy: dy * np.cos(x)),
    "cos": (np.cos, lambda x, y, dy: -dy * np.sin(x)),
    "floor": (np.floor, lambda x, y, dy: np.zeros_like(dy)),
    "ceil": (np.ceil, lambda x, y, dy: np.zeros_like(dy)),
    "trunc": (np.trunc, lambda x, y, dy: np.zeros_like(dy)),
    "round": (np.round, lambda x, y, dy: np.zeros_like(dy)),  # half to even, as ONNX Round
    "sign": (np.sign, lambda x, y, dy: np.zeros_like(dy)),
    "not": (lambda x: (x == 0).astype(x.dtype), lambda x, y, dy: np.zeros_like(dy)),
    "identity": (lambda x: x, lambda x, y, dy: dy),
}


class OnnxUnary(Layer):
    """An element-wise ONNX function without a Keras activation: ``neg``, ``abs``,
    ``sqrt``, ``exp``, ``log``, ``reciprocal``, ``erf``, ``sin``, ``cos``, ``floor``,
    ``ceil``, ``trunc``, ``round``, ``sign``, ``not``, ``identity`` (rounding ones pass no
    gradient)."""

    OPS = tuple(_UNARY)

    def __init__(self, op, **kwargs):
        super().__init__(**kwargs)
        if op not in _UNARY:
            raise LayerError(f"{self.name}: op must be one of {', '.join(_UNARY)}, got {op!r}")
        self.op = op

    def _forward(self, x, training):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            y = _UNARY[self.op][0](x)
        return y, (x, y)

    def _backward(self, ctx, dy, need_dx):
        if not need_dx:
            return None, []
        x, y = ctx
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _UNARY[self.op][1](x, y, dy).astype(dy.dtype, copy=False), []

    def get_config(self):
        return {**super().get_config(), "op": self.op}


class OnnxClip(Layer):
    """``clip(x, min, max)`` (ONNX ``Clip``; None is no bound). The gradient passes where
    ``min <= x <= max``, as ONNX Runtime's and PyTorch's clamp gradient do."""

    def __init__(self, min=None, max=None, **kwargs):  # noqa: A002  (ONNX's names)
        super().__init__(**kwargs)
        for what, v in (("min", min), ("max", max)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.number))):
                raise LayerError(f"{self.name}: {what} must be a number or None, got {v!r}")
        self.min = None if min is None else float(min)
        self.max = None if max is None else float(max)
        if self.min is not None and self.max is not None and self.min > self.max:
            raise LayerError(f"{self.name}: min ({self.min}) is above max ({self.max})")

    def _forward(self, x, training):
        k = x.dtype.type
        y = np.clip(x, None if self.min is None else k(self.min), None if self.max is None else k(self.max))
        return y, x

    def _backward(self, x, dy, need_dx):
        if not need_dx:
            return None, []
        keep = np.ones(x.shape, dtype=bool)
        if self.min is not None:
            keep &= x >= x.dtype.type(self.min)
        if self.max is not None:
            keep &= x <= x.dtype.type(self.max)
        return dy * keep, []

    def get_config(self):
        return {**super().get_config(), "min": self.min, "max": self.max}


def _parse_equation(equation: str, who: str):
    """The operand subscripts and the output subscripts of an explicit einsum equation."""
    eq = equation.replace(" ", "")
    if "..." in eq or "->" not in eq:
        raise LayerError(f"{who}: only explicit equations without '...' are supported (a->b form), got {equation!r}")
    lhs, out = eq.split("->")
    subs = lhs.split(",")
    for s in subs + [out]:
        if not s.isalpha() or len(set(s)) != len(s):
            raise LayerError(f"{who}: each operand needs distinct letters (no diagonals), got {equation!r}")
    return subs, out


class OnnxEinsum(_Operands):
    """``numpy.einsum(equation, *operands)`` (ONNX ``Einsum``), for explicit equations whose
    subscripts hold distinct letters; the gradient of each operand is another einsum."""

    _arity = (1, None)

    def __init__(self, equation, operands=("x", "x"), constant_shapes=None, **kwargs):
        super().__init__(operands, constant_shapes, **kwargs)
        self.equation = str(equation)
        self._subs, self._out = _parse_equation(self.equation, self.name)
        if len(self._subs) != len(self.operands):
            raise LayerError(f"{self.name}: equation {equation!r} has {len(self._subs)} operands, "
                             f"operands lists {len(self.operands)}")

    def compute_output_shape(self, input_shape):
        shapes = self._operand_shapes(input_shape)
        sizes: dict[str, int | None] = {}
        for sub, shape in zip(self._subs, shapes):
            if len(sub) != len(shape):
                raise LayerError(f"{self.name} (OnnxEinsum): operand {sub!r} of {self.equation!r} got shape "
                                 f"{format_shape(shape)}")
            for c, d in zip(sub, shape):
                old = sizes.get(c)
                if old is not None and d is not None and old != d and 1 not in (old, d):
                    raise LayerError(f"{self.name} (OnnxEinsum): index {c!r} has sizes {old} and {d}")
                if old is None or old == 1:
                    sizes[c] = d
        return tuple(sizes.get(c) for c in self._out)

    def _forward(self, inputs, training):
        xs = self._operand_values(inputs)
        return np.einsum(self.equation, *xs, optimize=True), xs

    def _backward(self, xs, dy, need_dx):
        grads = []
        for i, (sub, x) in enumerate(zip(self._subs, xs)):
            if self.operands[i] == "x" and not need_dx or self.operands[i] == "c":
                grads.append(None)
                continue
            others = [(s, v) for k, (s, v) in enumerate(zip(self._subs, xs)) if k != i]
            present = set(self._out) | {c for s, _ in others for c in s}
            kept = "".join(c for c in sub if c in present)
            eq = ",".join([self._out] + [s for s, _ in others]) + "->" + kept
            g = np.einsum(eq, dy, *[v for _, v in others], optimize=True)
            for k, c in enumerate(sub):
                if c not in present:  # an index summed in this operand alone
                    g = np.expand_dims(g, k)
            g = unbroadcast(g, tuple(d if c in present else 1 for c, d in zip(sub, x.shape)))
            grads.append(np.ascontiguousarray(np.broadcast_to(g, x.shape)))
        return self._split_grads(grads, need_dx)

    def get_config(self):
        return {**super().get_config(), "equation": self.equation}
