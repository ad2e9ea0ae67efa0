"""An ONNX graph under construction, for the exporter: named nodes and initializers, the
operators whose form changed across opsets (axes as attributes or inputs), and a last
pass that cancels back-to-back transposes (a channels-last convolution is exported as
Transpose -> Conv -> Transpose: two convolutions in a row leave an identity between them).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

__all__ = ["GraphBuilder"]


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, with unique names."""

    def __init__(self, onnx, opset: int, float_dtype: str):
        self.onnx = onnx
        self.opset = opset
        self.float_dtype = np.dtype(float_dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()
        self._counts: Counter = Counter()

    # ------------------------------------------------------------------ names
    def reserve(self, name: str) -> str:
        self._names.add(name)
        return name

    def name(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_./:\-]+", "_", hint) or "t"
        while True:
            k = self._counts[base]
            self._counts[base] += 1
            name = base if k == 0 else f"{base}_{k}"
            if name not in self._names:
                self._names.add(name)
                return name

    # ------------------------------------------------------------------ values
    def const(self, value, hint: str = "const", integer: bool = False) -> str:
        """An initializer holding ``value`` (in the model's float dtype, or int64)."""
        arr = np.asarray(value)
        if integer:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind in "fiu":
            arr = arr.astype(self.float_dtype)
        name = self.name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(arr, order="C"), name))
        return name

    def ints(self, values, hint: str = "ints") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint, integer=True)

    def op(self, op_type: str, inputs, hint: str | None = None, outputs: int = 1, **attrs):
        """Add a node; returns its output name (or the list of names for ``outputs > 1``)."""
        names = [self.name(f"{hint or op_type}" + ("" if k == 0 else f"_out{k}")) for k in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node = self.onnx.helper.make_node(op_type, list(inputs), names, name=self.name(f"{hint or op_type}_node"),
                                          **attrs)
        self.nodes.append(node)
        return names[0] if outputs == 1 else names

    # ------------------------------------------------------------------ opset-dependent forms
    def transpose(self, x: str, perm, hint=None) -> str:
        perm = [int(p) for p in perm]
        if perm == sorted(perm):
            return x
        return self.op("Transpose", [x], hint, perm=perm)

    def unsqueeze(self, x: str, axes, hint=None) -> str:
        if self.opset >= 13:
            return self.op("Unsqueeze", [x, self.ints(list(axes), "axes")], hint)
        return self.op("Unsqueeze", [x], hint, axes=list(axes))

    def squeeze(self, x: str, axes, hint=None) -> str:
        if self.opset >= 13:
            return self.op("Squeeze", [x, self.ints(list(axes), "axes")], hint)
        return self.op("Squeeze", [x], hint, axes=list(axes))

    def reduce(self, op_type: str, x: str, axes, keepdims: bool, hint=None) -> str:
        axes = [int(a) for a in axes]
        as_input = self.opset >= 18 or (op_type == "ReduceSum" and self.opset >= 13)
        if as_input:
            return self.op(op_type, [x, self.ints(axes, "axes")], hint, keepdims=int(keepdims))
        return self.op(op_type, [x], hint, axes=axes, keepdims=int(keepdims))

    def slice(self, x: str, starts, ends, axes, steps=None, hint=None) -> str:
        inputs = [x, self.ints(starts, "starts"), self.ints(ends, "ends"), self.ints(axes, "axes")]
        if steps is not None:
            inputs.append(self.ints(steps, "steps"))
        return self.op("Slice", inputs, hint)

    def reshape(self, x: str, shape, hint=None) -> str:
        return self.op("Reshape", [x, self.ints(list(shape), "shape")], hint)

    def scalar(self, value) -> str:
        return self.const(np.asarray(value, dtype=self.float_dtype), "scalar")

    # ------------------------------------------------------------------ clean-up
    def _fold_output_identities(self, keep: set[str]) -> None:
        """``node -> t -> Identity -> output`` becomes ``node -> output`` when only the
        Identity reads ``t``."""
        readers: dict[str, int] = {}
        for node in self.nodes:
            for i in node.input:
                readers[i] = readers.get(i, 0) + 1
        producer = {o: node for node in self.nodes for o in node.output}
        for node in list(self.nodes):
            if node.op_type != "Identity" or node.output[0] not in keep:
                continue
            src = node.input[0]
            p = producer.get(src)
            if p is None or src in keep or readers.get(src, 0) != 1:
                continue
            k = list(p.output).index(src)
            p.output[k] = node.output[0]
            self.nodes.remove(node)

    def simplify(self, keep: set[str]) -> None:
        """Cancel Transpose pairs, then drop nodes whose outputs nothing reads (``keep``:
        the graph outputs)."""
        producer = {}
        for node in self.nodes:
            for o in node.output:
                producer[o] = node
        rename: dict[str, str] = {}

        def resolve(name):
            while name in rename:
                name = rename[name]
            return name

        for node in self.nodes:
            for i, name in enumerate(node.input):
                node.input[i] = resolve(name)
            if node.op_type != "Transpose":
                continue
            src = producer.get(node.input[0])
            if src is None or src.op_type != "Transpose":
                continue
            p1 = list(src.attribute[0].ints)
            p2 = list(node.attribute[0].ints)
            composed = [p1[p] for p in p2]
            if composed == list(range(len(composed))) and node.output[0] not in keep:
                rename[node.output[0]] = src.input[0]
            else:
                del node.input[:]
                node.input.append(src.input[0])
                node.attribute[0].ints[:] = composed
        for node in self.nodes:
            for i, name in enumerate(node.input):
                node.input[i] = resolve(name)
        self._fold_output_identities(keep)
        used = set(keep)
        alive = []
        for node in reversed(self.nodes):
            if any(o in used for o in node.output):
                alive.append(node)
                used.update(i for i in node.input if i)
        self.nodes = alive[::-1]
        self.initializers = [t for t in self.initializers if t.name in used]
