"""``Model(inputs, outputs)``: Keras' functional model, run forward and backward in NumPy.

A model is a layer whose forward pass runs its recorded layer calls (``graph.map_graph``)
in order, keeping each call's context on a tape, and whose backward pass walks the
tape in reverse: the gradient of a tensor that feeds several calls is the sum of what
they send back, and the weight gradients of a layer called several times (a shared
layer) are summed. ``backward`` returns ``(dx, grads)`` with ``grads`` aligned with
``model.trainable_weights``; a model can itself be called inside another model.

Weights are listed per layer in ``model.layers`` order, each layer's trainable weights
then its non-trainable ones (what Keras 3 does; see tests/test_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import LayerError
from ..layers.base import NOT_RUN, Layer, as_tuple_shape, auto_name, get_layer_class
from ..layers.input_layer import InputLayer
from ..layers.symbolic import SymbolicTensor, format_shape
from . import summary as _summary
from . import weights_io
from .graph import map_graph
from .training import Trainer

__all__ = ["Model", "Functional"]


@dataclass
class _Tape:
    """One forward pass of a model: the context of each node, and its output shapes."""

    ctxs: list[Any]
    out_specs: list[list[tuple]]      # per node: (shape, dtype) of each output
    input_specs: list[tuple]


class _Sum:
    """Gradients summed per key without writing into arrays the model does not own."""

    def __init__(self):
        self.values: dict[int, np.ndarray] = {}
        self._owned: set[int] = set()

    def add(self, key: int, g: np.ndarray) -> None:
        if g is None:
            return
        old = self.values.get(key)
        if old is None:
            self.values[key] = g
        elif key in self._owned and old.shape == np.broadcast_shapes(old.shape, g.shape):
            old += g
        else:
            self.values[key] = old + g
            self._owned.add(key)

    def pop(self, key: int):
        self._owned.discard(key)
        return self.values.pop(key, None)


class Model(Trainer, Layer):
    """Keras' functional ``Model(inputs, outputs, name=None)`` (see the module docstring)."""

    def __new__(cls, *args, **kwargs):
        # as Keras: Model(inputs, outputs) is an instance of Functional
        return super().__new__(Functional if cls is Model else cls)

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if inputs is None or outputs is None:
            raise LayerError("Model(inputs, outputs): give the symbolic inputs (Input(...)) and the outputs "
                             "computed from them; subclassed models are not supported")
        super().__init__(name=name or auto_name("Functional"), trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------ graph
    def _init_graph(self, inputs, outputs) -> None:
        self._single_input = isinstance(inputs, SymbolicTensor)
        self._single_output = isinstance(outputs, SymbolicTensor)
        ins = [inputs] if self._single_input else list(inputs) if isinstance(inputs, (list, tuple)) else None
        outs = [outputs] if self._single_output else list(outputs) if isinstance(outputs, (list, tuple)) else None
        for what, tensors in (("inputs", ins), ("outputs", outs)):
            if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
                given = inputs if what == "inputs" else outputs
                raise LayerError(f"{self.name}: {what} must be a symbolic tensor or a list of them "
                                 f"(from Input(...) and layer calls), got {type(given).__name__}")
        if len({id(t) for t in ins}) != len(ins):
            raise LayerError(f"{self.name}: the same tensor is given twice as an input")
        self._inputs, self._outputs = ins, outs
        self._graph = map_graph(ins, outs)
        self.n_inputs = 1 if len(ins) == 1 else None
        self._single_input = self._single_input or len(ins) == 1
        self._last_use = self._plan_frees()
        self.built = True

    def _plan_frees(self) -> list[list[int]]:
        """Per node, the tensors whose last reader it is (freed once read: contexts keep what backward needs)."""
        last: dict[int, int] = {}
        for i, node in enumerate(self._graph.nodes):
            for t in node.all_inputs:
                last[id(t)] = i
        keep = {id(t) for t in self._outputs}
        frees: list[list[int]] = [[] for _ in self._graph.nodes]
        for tid, i in last.items():
            if tid not in keep:
                frees[i].append(tid)
        return frees

    @property
    def layers(self) -> list[Layer]:
        return list(self._graph.layers)

    def _sublayers(self) -> list[Layer]:
        return self.layers if hasattr(self, "_graph") and self._graph is not None else []

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._outputs)

    @property
    def input(self):
        return self._inputs[0] if len(self._inputs) == 1 else list(self._inputs)

    @property
    def output(self):
        return self._outputs[0] if self._single_output else list(self._outputs)

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._outputs]
        return shapes[0] if self._single_output else shapes

    @property
    def input_names(self) -> list[str]:
        return [t.name for t in self._inputs]

    def get_layer(self, name=None, index=None) -> Layer:
        """A layer by ``name`` or by ``index`` in ``layers`` (Keras' signature)."""
        if index is not None and name is not None:
            raise LayerError(f"{self.name}: get_layer takes a name or an index, not both")
        layers = self.layers
        if index is not None:
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise LayerError(f"{self.name}: get_layer index {index!r} is out of range: the model has "
                                 f"{len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise LayerError(f"{self.name}: no layer named {name!r}; layers: {', '.join(l.name for l in layers)}")

    # ------------------------------------------------------------------ weights
    def weight_specs(self, trainable: bool | None = None):
        if trainable is True and not self.trainable:
            return []
        specs, seen = [], set()
        for layer in self._sublayers():
            for s in layer.weight_specs(trainable):
                if id(s.value) not in seen:
                    seen.add(id(s.value))
                    specs.append(s)
        if trainable is False and not self.trainable:
            return self.weight_specs(None)
        return specs

    def count_params(self) -> int:
        return int(sum(s.value.size for s in self.weight_specs()))

    @property
    def losses(self) -> list[float]:
        """Weight penalties of every layer, then the activity penalty of the last forward pass."""
        out = super().losses
        if self._last_ctx is not NOT_RUN:
            act = self.activity_loss(self._last_ctx)
            if act:
                out.append(act)
        return out

    def activity_loss(self, ctx) -> float:
        total = super().activity_loss(ctx)
        tape = ctx.inner if hasattr(ctx, "inner") else ctx
        for node, c in zip(self._graph.nodes, tape.ctxs):
            total += node.layer.activity_loss(c)
        return total

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write the weights to ``*.weights.npz`` or ``*.safetensors`` (see ``weights_io``)."""
        weights_io.save_weights(self, filepath, overwrite)

    def load_weights(self, filepath) -> None:
        """Read weights written by ``save_weights``; refuses, untouched, a file that does not fit."""
        weights_io.load_weights(self, filepath)

    # ------------------------------------------------------------------ shapes
    def compute_output_shape(self, input_shape):
        shapes = [input_shape] if len(self._inputs) == 1 else list(input_shape)
        if len(shapes) != len(self._inputs):
            raise LayerError(f"{self.name} takes {len(self._inputs)} inputs, got {len(shapes)}")
        known: dict[int, tuple] = {}
        for t, s in zip(self._inputs, shapes):
            known[id(t)] = self._check_input_shape(t, as_tuple_shape(s))
        for node in self._graph.nodes:
            ins = [known[id(t)] for t in node.inputs]
            arg = ins[0] if node.single_input else ins
            kwargs = {k: SymbolicTensor(known[id(v)], v.dtype, v.name) if isinstance(v, SymbolicTensor) else v
                      for k, v in node.kwargs.items()}
            out = node.layer.compute_output_shape(arg, **kwargs) if kwargs else node.layer.compute_output_shape(arg)
            outs = [tuple(out)] if node.single_output else [tuple(o) for o in out]
            for t, s in zip(node.outputs, outs):
                known[id(t)] = s
        result = [known[id(t)] for t in self._outputs]
        return result[0] if self._single_output else result

    def _check_input_shape(self, tensor: SymbolicTensor, shape: tuple) -> tuple:
        want = tensor.shape
        if len(shape) != len(want) or any(w is not None and s is not None and w != s
                                           for s, w in zip(shape[1:], want[1:])):
            raise LayerError(f"{self.name}: input {tensor.name!r} expects shape {format_shape(want)}, "
                             f"got {format_shape(shape)}")
        return shape

    # ------------------------------------------------------------------ running
    check_input_shapes = False

    def _ensure_built(self, inputs) -> None:
        pass

    def _cast(self, inputs) -> list[np.ndarray]:
        """The model's inputs as a list of arrays, in ``self.inputs`` order, dtype- and shape-checked.

        Takes one array (single-input models), a list/tuple, or a dict keyed by input name."""
        n = len(self._inputs)
        if isinstance(inputs, dict):
            missing = [t.name for t in self._inputs if t.name not in inputs]
            if missing:
                raise LayerError(f"{self.name}: inputs dict lacks {', '.join(map(repr, missing))} "
                                 f"(inputs: {', '.join(self.input_names)})")
            values = [inputs[t.name] for t in self._inputs]
        elif n == 1 and not (isinstance(inputs, (list, tuple)) and len(inputs) == 1
                             and np.ndim(inputs[0]) == len(self._inputs[0].shape)):
            values = [inputs]
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != n:
                got = f"{len(inputs)} arrays" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
                raise LayerError(f"{self.name} takes {n} inputs ({', '.join(self.input_names)}), got {got}")
            values = list(inputs)
        out = []
        for t, v in zip(self._inputs, values):
            layer = t.node.layer if t.node is not None else None
            if isinstance(layer, InputLayer) and t.node.is_input:
                arr = layer._cast(v)
            else:
                arr = np.asarray(v)
                if arr.dtype.kind not in "biuf":
                    raise LayerError(f"{self.name}: input {t.name!r} must be numeric, got dtype {arr.dtype}")
                if arr.dtype.kind != "f":
                    arr = arr.astype(t.dtype if np.dtype(t.dtype).kind == "f" else self.dtype)
            self._check_input_shape(t, arr.shape)
            out.append(arr)
        return out

    def _forward(self, inputs: list[np.ndarray], training: bool):
        values: dict[int, np.ndarray] = {id(t): v for t, v in zip(self._inputs, inputs)}
        ctxs, out_specs = [], []
        for node, frees in zip(self._graph.nodes, self._last_use):
            xs = [values[id(t)] for t in node.inputs]
            flag = training if node.training is None else bool(node.training)
            y, ctx = node.layer.call_forward(node.pack_inputs(xs), flag, **node.call_kwargs(values))
            ys = node.unpack_outputs(y)
            for t, v in zip(node.outputs, ys):
                values[id(t)] = v
            ctxs.append(ctx)
            out_specs.append([(np.shape(v), getattr(v, "dtype", None)) for v in ys])
            for tid in frees:
                values.pop(tid, None)
        outs = [values[id(t)] for t in self._outputs]
        tape = _Tape(ctxs, out_specs, [(a.shape, a.dtype) for a in inputs])
        return (outs[0] if self._single_output else outs), tape

    def _needs(self, need_dx: bool) -> list[bool]:
        """Per node: whether any of its inputs carries a gradient we need (dx or weights)."""
        carries = {id(t) for t in self._inputs} if need_dx else set()
        needs = []
        for node in self._graph.nodes:
            need = any(id(t) in carries for t in node.inputs)
            needs.append(need)
            if need or node.layer.weight_specs(True):
                carries.update(id(t) for t in node.outputs)
        return needs

    def _backward(self, tape: _Tape, d_outputs, need_dx: bool):
        douts = [d_outputs] if self._single_output else list(d_outputs)
        if len(douts) != len(self._outputs):
            raise LayerError(f"{self.name}: backward takes {len(self._outputs)} output gradients, got {len(douts)}")
        acc = _Sum()
        for t, d in zip(self._outputs, douts):
            if d is not None:
                d = np.asarray(d)
                acc.add(id(t), d if d.dtype == t.dtype or np.dtype(t.dtype).kind != "f" else d.astype(t.dtype))
        weight_grads = _Sum()
        needs = self._needs(need_dx)
        nodes = self._graph.nodes
        for i in range(len(nodes) - 1, -1, -1):
            node, ctx = nodes[i], tape.ctxs[i]
            ds = [acc.pop(id(t)) for t in node.outputs]
            if all(d is None for d in ds):
                continue
            specs = node.layer.weight_specs(True)
            if not needs[i] and not specs:
                continue
            ds = [np.zeros(s, dtype=dt) if d is None else d for d, (s, dt) in zip(ds, tape.out_specs[i])]
            d_out = ds[0] if node.single_output else ds
            for k, d in enumerate(ds):
                if d.shape != tape.out_specs[i][k][0]:
                    raise LayerError(f"{self.name}: the gradient for {node.outputs[k].name} has shape {d.shape}, "
                                     f"the output has shape {tape.out_specs[i][k][0]}")
            d_in, grads = node.layer.call_backward(ctx, d_out, needs[i])
            if len(grads) != len(specs):
                raise LayerError(f"{node.layer.name}: backward gave {len(grads)} weight gradients for "
                                 f"{len(specs)} trainable weights")
            for s, g in zip(specs, grads):
                weight_grads.add(id(s.value), g)
            if needs[i] and d_in is not None:
                d_ins = [d_in] if node.single_input else list(d_in)
                for t, d in zip(node.inputs, d_ins):
                    acc.add(id(t), d)
        dx = None
        if need_dx:
            dx = [acc.values.get(id(t)) for t in self._inputs]
            # integer inputs (indices) have no gradient, as in Keras; float inputs get zeros
            dx = [None if np.dtype(dt).kind != "f" else np.zeros(s, dtype=dt) if d is None else d
                  for d, (s, dt) in zip(dx, tape.input_specs)]
            dx = dx[0] if len(dx) == 1 else dx
        grads = []
        for s in self.weight_specs(True):
            g = weight_grads.values.get(id(s.value))
            grads.append(np.zeros_like(s.value) if g is None else g)
        return dx, grads

    def forward(self, inputs, training: bool = False):
        """The model's output(s) for ``inputs`` (an array, a list, or a dict by input name)."""
        return super().forward(inputs, training)

    def backward(self, d_outputs):
        """``(dx, grads)`` for the last ``forward``: dL/d(inputs) (an array or a list) and
        dL/dw aligned with ``trainable_weights``. Each output gradient is cast to its output's dtype."""
        if self._last_ctx is NOT_RUN:
            raise LayerError(f"{self.name}: backward() needs a forward() first")
        return self.call_backward(self._last_ctx, d_outputs, True)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for ``x`` computed ``batch_size`` samples at a time (32 by default),
        with ``training=False``; prints nothing (see docs/layers.md)."""
        if verbose not in ("auto", 0, 1, 2):
            raise LayerError(f"{self.name}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
        if callbacks:
            raise LayerError(f"{self.name}: predict callbacks are not supported yet")
        batch_size = 32 if batch_size is None else batch_size
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise LayerError(f"{self.name}: batch_size must be a positive int, got {batch_size!r}")
        arrays = self._cast(x)
        sizes = {a.shape[0] if a.ndim else None for a in arrays}
        if len(sizes) != 1 or None in sizes:
            raise LayerError(f"{self.name}: predict needs inputs with one batch size, got shapes "
                             f"{', '.join(str(a.shape) for a in arrays)}")
        n = sizes.pop()
        if steps is not None:
            n = min(n, int(steps) * batch_size)
        chunks = []
        starts = range(0, n, batch_size) if n else [0]
        for start in starts:
            part = [a[start:start + batch_size] for a in arrays]
            out, _ = self.call_forward(part[0] if len(part) == 1 else part, False)
            chunks.append([out] if self._single_output else out)
        outs = [np.concatenate([c[k] for c in chunks], axis=0) for k in range(len(self._outputs))]
        return outs[0] if self._single_output else outs

    def __call__(self, *args, training: bool | None = None, **kwargs):
        if len(args) == 1 and isinstance(args[0], dict):
            args = ([args[0][t.name] for t in self._inputs] if len(self._inputs) > 1
                    else args[0][self._inputs[0].name],)
        return super().__call__(*args, training=training, **kwargs)

    # ------------------------------------------------------------------ display
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Print Keras 3's summary table (``print_fn(text)`` receives it in one call)."""
        text = _summary.summary_text(self, line_length, positions, expand_nested, show_trainable, layer_range)
        if print_fn is None:
            print(text, end="")
        else:
            print_fn(text)

    def summary_rows(self, expand_nested: bool = False) -> list:
        """The rows of ``summary()`` as ``SummaryRow`` records (name, class, output shape,
        params, connections, trainable), for the editor."""
        return _summary.summary_rows(self, expand_nested)

    def _node_refs(self) -> dict[int, int]:
        """id(node) -> the node's index among its layer's calls inside this model."""
        index = {}
        for layer in self.layers:
            k = 0
            for node in layer._inbound_nodes:
                if id(node) in self._graph.network_nodes:
                    index[id(node)] = k
                    k += 1
        return index

    def get_config(self) -> dict:
        """Keras' functional config: each layer's config and inbound calls, the inputs and the
        outputs as ``[layer name, node index, tensor index]`` (node indices count the layer's
        calls inside this model)."""
        refs = self._node_refs()

        def ref(t):
            return [t.node.layer.name, refs[id(t.node)], t.index]

        def tensor(t):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(t.shape), "dtype": t.dtype, "keras_history": ref(t)}}

        layers = []
        for layer in self.layers:
            inbound = []
            for node in layer._inbound_nodes:
                if id(node) not in refs or node.is_input:
                    continue
                args = tensor(node.inputs[0]) if node.single_input else [tensor(t) for t in node.inputs]
                kwargs = {k: tensor(v) if isinstance(v, SymbolicTensor) else v for k, v in node.kwargs.items()}
                if node.training is not None:
                    kwargs["training"] = node.training
                inbound.append({"args": [args], "kwargs": kwargs})
            layers.append({"class_name": type(layer).__name__, "config": layer.get_config(),
                           "name": layer.name, "inbound_nodes": inbound})
        ins = [ref(t) for t in self._inputs]
        outs = [ref(t) for t in self._outputs]
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": ins if len(ins) > 1 else ins[0],
                "output_layers": outs if not self._single_output else outs[0]}

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        """Rebuild a model from ``get_config`` (new layers, new weights: copy them with
        ``set_weights``)."""
        try:
            layer_cfgs = config["layers"]
            made = {}
            queues = {}
            for item in layer_cfgs:
                layer_cls = get_layer_class(item["class_name"])
                made[item["name"]] = layer_cls.from_config(item["config"])
                queues[item["name"]] = list(item.get("inbound_nodes", []))
        except (KeyError, TypeError) as exc:
            raise LayerError(f"not a functional model config ({exc!r})") from None
        outputs: dict[tuple[str, int], list] = {}
        calls: dict[str, int] = {}
        for name, layer in made.items():
            if isinstance(layer, InputLayer):
                outputs[(name, 0)] = [layer.output_tensor]
                calls[name] = 1

        def resolve(arg):
            if isinstance(arg, list):
                return [resolve(a) for a in arg]
            name, node_index, tensor_index = arg["config"]["keras_history"]
            found = outputs.get((name, node_index))
            if found is None:
                raise KeyError
            return found[tensor_index]

        progress = True
        while progress and any(queues.values()):
            progress = False
            for name, queue in queues.items():
                while queue:
                    node_cfg = queue[0]
                    try:
                        args = resolve(node_cfg["args"][0])
                        # Keras writes mask=None for calls without a mask: left out unless the layer takes it
                        kwargs = {k: resolve(v) if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__"
                                  else v for k, v in node_cfg.get("kwargs", {}).items()
                                  if v is not None or k in made[name].call_kwargs}
                    except KeyError:
                        break
                    out = made[name](args, **kwargs)
                    k = calls.get(name, 0)
                    outputs[(name, k)] = out if isinstance(out, list) else [out]
                    calls[name] = k + 1
                    queue.pop(0)
                    progress = True
        if any(queues.values()):
            stuck = next(n for n, q in queues.items() if q)
            raise LayerError(f"functional config: the inputs of layer {stuck!r} are never produced")

        def pick(refs):
            if refs and isinstance(refs[0], str):
                return outputs[(refs[0], refs[1])][refs[2]]
            return [pick(r) for r in refs]

        return cls(pick(config["input_layers"]), pick(config["output_layers"]), name=config.get("name"),
                   trainable=config.get("trainable", True))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, layers={len(self.layers)}>"



class Functional(Model):
    """The class of ``Model(inputs, outputs)`` (Keras' name for functional models)."""
