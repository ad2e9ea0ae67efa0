"""The ONE node factory: catalog entries are keyword declarations, turned into node classes here.

``declare_node`` builds every generated class (registered in the catalog, reporting the
catalog module that declared it). The recipes below give the instances of the common
families, each from a keyword dataclass a catalog table lists:

- ``MetricDecl`` -> ``metric_node``: a per-sample function ``fn(y_true, y_pred, **params)``
  and its stateful metric, HAIBAL's three instances: ``scalar`` (one sample -> one float),
  ``array`` (a batch of any rank -> the per-sample values, Keras' functional result) and
  ``batch`` (a ``Batches`` sequence fed to the stateful metric -> one float);
- ``LossDecl`` -> ``loss_node``: the same over a Keras ``Loss`` class (its ``batch`` instance
  gives the mean over every loss value of every batch);
- ``ClassMetricDecl`` -> ``class_metric_node``: a metric class with no per-sample function
  (AUC, Precision, IoU ...): ``array`` and ``batch`` instances;
- ``ElementwiseDecl`` -> ``elementwise_node``: ``fn(x, **params)`` keeping x's shape;
- any other node: ``declare_node`` with ``Instance`` s, and ``batch_twin`` to give an
  instance its twin over sequences of batches.

Every loop over batches goes through ``each_batch`` (equal counts checked, progress reported).
Every instance that feeds an accumulator (a metric's or loss's ``batch`` instance, a class
metric's ``array`` and ``batch``) reports it with ``context.mergeable``, so a sharded run
merges its states (``haibal_py.distributed``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ..errors import HaibalError, HaibalValueError
from ..numeric.loss_base import reduce_weighted
from .base import HelpText, Instance, Node, Param, Port
from .registry import register
from .types import Batches, PortType

RESULT = "result"

__all__ = ["RESULT", "ClassMetricDecl", "ElementwiseDecl", "LossDecl", "MetricDecl", "as_batches", "batch_twin",
           "class_metric_node", "declare_node", "each_batch", "elementwise_node", "loss_node",
           "metric_constructor_kwargs", "metric_node", "rank_minus", "sequence_of"]


# -- the factory ------------------------------------------------------------------------------------
def declare_node(*, type_id: str, category: str, display_name: str, description: str, module: str,
                 inputs: Sequence[Port] = (), outputs: Sequence[Port] = (), params: Sequence[Param] = (),
                 instances: Sequence[Instance], use_cases: Sequence[str] = (), class_name: str | None = None,
                 replaces: Sequence[str] = (), base: type[Node] = Node, attrs: Mapping[str, Any] | None = None,
                 do_register: bool = True) -> type[Node]:
    """A ``Node`` subclass from its declarations, registered in the catalog unless told not to.

    ``module`` is the catalog module declaring it (``__name__``), which the class reports.
    """
    body = dict(
        type_id=type_id, replaces=tuple(replaces), category=category, display_name=display_name,
        help=HelpText(description, tuple(use_cases)), inputs=tuple(inputs), outputs=tuple(outputs),
        params=tuple(params), instances=tuple(instances), __module__=module, __doc__=description,
        **dict(attrs or {}))
    cls = type(class_name or display_name.replace(" ", "") + "Node", (base,), body)
    return register(cls) if do_register else cls


# -- batches -----------------------------------------------------------------------------------------
def as_batches(value) -> Batches:
    """A ``Batches`` as it is; one array: a sequence of that one batch."""
    return value if isinstance(value, Batches) else Batches([value])


def each_batch(node: Node, streams: Mapping[str, Any], fixed: Mapping[str, Any] | None = None
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(i, values of batch i)`` over ``streams`` (port -> Batches, or a plain value used for
    every batch), with ``fixed`` values added; refuses streams of different lengths (naming
    each port and count) and reports progress to the node's run context."""
    counts = {p: len(v) for p, v in streams.items() if isinstance(v, Batches)}
    if len(set(counts.values())) > 1:
        raise HaibalValueError("the inputs hold different numbers of batches ("
                               + ", ".join(f"{p} {n}" for p, n in counts.items()) + ")")
    total = next(iter(counts.values()), 1)
    for i in range(total):
        yield i, {**{p: (v[i] if p in counts else v) for p, v in streams.items()}, **dict(fixed or {})}
        node.context.progress(i + 1, total)


def sequence_of(rule) -> Callable:
    """An output rule over batches: ``rule`` applied to the batches' plain types, as a sequence."""
    def seq_rule(wired, params) -> PortType:
        plain = {k: replace(t, sequence=False) for k, t in wired.items()}
        t = rule(plain, params) if callable(rule) else rule
        return replace(t, sequence=True)
    return seq_rule


def batch_twin(inst: Instance, ports: Sequence[str], name: str | None = None) -> Instance:
    """``inst``'s twin over sequences of batches on ``ports`` (a plain value there is used for
    every batch): the instance is applied batch after batch and gives sequences of batches,
    so a stream from a Random Source or a file feeds a loss's or metric's batch instance."""
    mapped = tuple(p for p in ports if p in inst.inputs)

    def compute(node: Node, values: dict) -> dict:
        outs: dict[str, list] = {}
        streams = {p: values[p] for p in mapped}
        fixed = {k: v for k, v in values.items() if k not in streams}
        for i, args in each_batch(node, streams, fixed):
            try:
                out = inst.compute(node, args)
            except HaibalError as exc:
                raise type(exc)(f"batch {i}: {exc}") from exc
            for k, v in out.items():
                outs.setdefault(k, []).append(v)
        return {k: Batches(v) for k, v in outs.items()}

    def seq(t):
        return (lambda params: replace(t(params), sequence=True)) if callable(t) else replace(t, sequence=True)

    inputs = {k: (seq(t) if k in mapped else t) for k, t in inst.inputs.items()}
    if name is None:
        name = "batch" if inst.name == "array" else inst.name.removesuffix(" array") + " batch"
    return Instance(name, inputs, {k: sequence_of(r) for k, r in inst.outputs.items()}, compute,
                    "a sequence of batches -> the node applied to each batch")


def rank_minus(port: str, drop: int) -> Callable:
    """An output rule: a float of ``port``'s rank minus ``drop`` (rank 1+ when not exact)."""
    def output_type(wired, params=None) -> PortType:
        t = wired.get(port)
        if t is None or t.sequence or t.max_rank is None or t.min_rank != t.max_rank:
            return PortType("float", 1, None)
        return PortType.of("float", max(0, t.min_rank - drop))
    return output_type


# -- declarations ------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class _Decl:
    """What every catalog entry gives: a Keras-style class name, a help page, parameters."""

    name: str
    description: str
    params: tuple[Param, ...] = ()
    use_cases: tuple[str, ...] = ()
    display_name: str = ""  # default: name
    replaces: tuple[str, ...] = ()  # type ids this node had before a rename


@dataclass(frozen=True, kw_only=True)
class MetricDecl(_Decl):
    fn: Callable
    metric_cls: type | None = None  # the stateful metric of the batch instance
    sparse_labels: bool = False  # y_true holds class ids, one rank below y_pred
    y_true_doc: str = "true values."
    y_pred_doc: str = "predicted values."
    result_doc: str = "result."
    output_rank_drop: int = 1  # how many axes fn reduces


@dataclass(frozen=True, kw_only=True)
class LossDecl(_Decl):
    fn: Callable
    loss_cls: type | None = None  # default: the losses class named like the node
    y_true_doc: str = "true values."
    y_pred_doc: str = "predicted values."
    result_doc: str = "result."
    output_rank_drop: int | None = 1  # None: the array instance's rank follows a parameter
    translate: Callable[[dict, Any], dict] | None = None  # node params (+ y_pred) -> fn kwargs
    sparse_labels: bool = False
    #: each loss value depends on the other samples of its batch (Circle's pairs): the batch
    #: instance's mean does not merge over shards into the mean over their concatenation
    couples_samples: bool = False


@dataclass(frozen=True, kw_only=True)
class ClassMetricDecl(_Decl):
    metric_cls: type | None = None  # default: the metrics class named like the node
    #: (name, kind, min rank, doc) of each positional argument of update_state
    inputs: tuple[tuple[str, str, int, str], ...] = (
        ("y_true", "float", 0, "true values (labels)."),
        ("y_pred", "float", 0, "predicted values."),
    )
    result_doc: str = "float, the metric."
    translate: Callable[[dict], dict] | None = None  # constructor kwargs adjusted


@dataclass(frozen=True, kw_only=True)
class ElementwiseDecl(_Decl):
    fn: Callable
    x_doc: str = "input values."
    result_doc: str = "the function of each value, same shape as x."
    scalar: bool = True  # False: no scalar instance (softmax needs an axis)


def _naming(decl: _Decl, prefix: str, suffix: str = "Node") -> dict:
    return dict(type_id=f"{prefix}.{decl.name}", display_name=decl.display_name or decl.name,
                description=decl.description, use_cases=decl.use_cases, replaces=decl.replaces,
                class_name=f"{decl.name}{suffix}")


# -- metrics and losses -------------------------------------------------------------------------------
def _sample_instances(fn_compute, batch_compute, label_kind: str, lab: int, array_output, batch_doc: str):
    float_scalar = PortType.of("float", 0)
    return (
        Instance("scalar", {"y_true": PortType.of(label_kind, 1 - lab), "y_pred": PortType.of("float", 1)},
                 {RESULT: float_scalar}, fn_compute, "one sample -> one float"),
        Instance("array", {"y_true": PortType.of(label_kind, (2 - lab, None)),
                           "y_pred": PortType.of("float", (2, None))},
                 {RESULT: array_output}, fn_compute, "a batch of any rank (2-D .. N-D) -> one value per sample"),
        Instance("batch", {"y_true": PortType.of(label_kind, (1 - lab, None), sequence=True),
                           "y_pred": PortType.of("float", (1, None), sequence=True),
                           "sample_weight": PortType("float", 0, None, True)},
                 {RESULT: float_scalar}, batch_compute, batch_doc),
    )


def _sample_ports(label_kind: str, y_true_doc: str, y_pred_doc: str, result_doc: str):
    inputs = (Port("y_true", PortType(label_kind, 0, None, True), y_true_doc),
              Port("y_pred", PortType("float", 1, None, True), y_pred_doc),
              Port("sample_weight", PortType("float", 0, None, True),
                   "optional weights per sample (batch instance only).", default=None))
    return inputs, (Port(RESULT, PortType("float"), result_doc),)


def _feed(node: Node, metric, values: dict) -> float:
    """Feed ``metric`` the batches of ``y_true``/``y_pred`` (and ``sample_weight``); its result."""
    streams = {"y_true": as_batches(values["y_true"]), "y_pred": as_batches(values["y_pred"])}
    if values.get("sample_weight") is not None:
        streams["sample_weight"] = as_batches(values["sample_weight"])
    for _, batch in each_batch(node, streams):
        metric.update_state(batch["y_true"], batch["y_pred"], sample_weight=batch.get("sample_weight"))
    return metric.result()


def metric_node(decl: MetricDecl, *, category: str, module: str, prefix: str = "haibal.metrics") -> type[Node]:
    """A polymorphic metric node class over ``decl.fn`` and ``decl.metric_cls``."""
    names = [p.name for p in decl.params]
    label_kind = "int" if decl.sparse_labels else "float"

    def call_fn(node: Node, values: dict) -> dict:
        return {RESULT: decl.fn(values["y_true"], values["y_pred"], **{k: node.values[k] for k in names})}

    def call_metric(node: Node, values: dict) -> dict:
        metric = decl.metric_cls(**{k: node.values[k] for k in names})
        result = _feed(node, metric, values)
        node.context.mergeable(RESULT, metric)
        return {RESULT: result}

    instances = _sample_instances(call_fn, call_metric, label_kind, 1 if decl.sparse_labels else 0,
                                  rank_minus("y_pred", decl.output_rank_drop),
                                  "batches fed one after the other to the stateful metric -> one float "
                                  "(the mean over all samples)")
    inputs, outputs = _sample_ports(label_kind, decl.y_true_doc, decl.y_pred_doc, decl.result_doc)
    return declare_node(**_naming(decl, prefix), category=category, module=module, inputs=inputs,
                        outputs=outputs, params=decl.params, instances=instances)


class _LossStream:
    """The batch instance of a loss node: a ``Loss`` fed batch after batch.

    ``result`` is the weighted loss summed over every batch divided by the number of loss
    values that count (``ignore_class`` positions do not), i.e. the ``sum_over_batch_size``
    reduction of the concatenated batches (0 before any value, as Keras' reduction of an
    empty loss). Its state is two float64 sums (``total``, ``count``; each batch's weighted
    losses summed in float64, not rounded to the loss's dtype), so ``merge_state`` adds the
    states of streams fed other shards: the merged result is that of the concatenation, to
    the last bits of a float64 sum. A loss that gives one value per batch (Dice or Tversky
    without ``per_sample``) is a function of the whole batch, not a sum over its samples:
    its stream sets ``whole_batch`` and is not reported as mergeable.
    """

    state_names = ("total", "count")

    def __init__(self, loss_cls: type, translate: Callable, params: dict):
        self.loss_cls, self.translate, self.params = loss_cls, translate, params
        self.total = 0.0
        self.count = 0
        self.whole_batch = False  # a loss of the whole batch (one value) was seen

    def merge_state(self, others) -> None:
        """Add the states of other streams of the same loss and parameters (a sharded run)."""
        others = [others] if isinstance(others, _LossStream) else list(others)
        mine = (self.loss_cls, self.translate, _comparable(self.params))
        for other in others:
            if not isinstance(other, _LossStream) or (other.loss_cls, other.translate,
                                                      _comparable(other.params)) != mine:
                what = (f"{other.loss_cls.__name__} with {other.params}" if isinstance(other, _LossStream)
                        else type(other).__name__)
                raise HaibalValueError(f"{self.loss_cls.__name__} with {self.params}: cannot merge the state "
                                       f"of a {what}")
        for other in others:
            self.total += other.total
            self.count += other.count

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        loss = self.loss_cls(reduction="sum", **self.translate(self.params, y_pred))
        values, mask = loss.call_with_mask(y_true, y_pred)
        values = np.asarray(values)
        weighted = reduce_weighted(values, sample_weight, mask, "none")  # the loss's dtype, as Keras weights it
        self.total += float(np.sum(weighted, dtype=np.float64))  # float64 sums: shards merge to the same total
        self.count += values.size if mask is None else int(np.count_nonzero(mask))
        self.whole_batch |= values.ndim == 0

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def _same_params(params: dict, y_pred) -> dict:
    return params


def _comparable(params: dict) -> dict:
    """Parameter values that compare with ``==`` (arrays as nested lists)."""
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in params.items()}


def loss_node(decl: LossDecl, *, category: str, module: str, prefix: str = "haibal.losses") -> type[Node]:
    """A polymorphic loss node over ``decl.fn`` and its ``Loss`` class, with the metric instances.

    ``scalar`` / ``array`` call ``fn``; ``batch`` feeds the ``Loss`` batch by batch and gives
    the mean loss over every value of every batch (``_LossStream``). ``decl.translate(params, y_pred)`` maps the node's
    parameters to the function's keyword arguments when they differ.
    """
    names = [p.name for p in decl.params]
    translate = decl.translate or _same_params
    label_kind = "int" if decl.sparse_labels else "float"

    def call_fn(node: Node, values: dict) -> dict:
        kwargs = translate({k: node.values[k] for k in names}, values["y_pred"])
        return {RESULT: decl.fn(values["y_true"], values["y_pred"], **kwargs)}

    def call_stream(node: Node, values: dict) -> dict:
        stream = _LossStream(decl.loss_cls, translate, {k: node.values[k] for k in names})
        result = _feed(node, stream, values)
        if not (stream.whole_batch or decl.couples_samples):  # shards would not merge to the concatenation
            node.context.mergeable(RESULT, stream)
        return {RESULT: result}

    array_output = (PortType("float") if decl.output_rank_drop is None
                    else rank_minus("y_pred", decl.output_rank_drop))
    instances = _sample_instances(call_fn, call_stream, label_kind, 1 if decl.sparse_labels else 0, array_output,
                                  "batches fed one after the other to the loss -> one float (the mean over "
                                  "every loss value)")
    inputs, outputs = _sample_ports(label_kind, decl.y_true_doc, decl.y_pred_doc, decl.result_doc)
    return declare_node(**_naming(decl, prefix, "LossNode"), category=category, module=module, inputs=inputs,
                        outputs=outputs, params=decl.params, instances=instances)


def elementwise_node(decl: ElementwiseDecl, *, category: str, module: str,
                     prefix: str = "haibal.activations") -> type[Node]:
    """A node ``result = fn(x, **params)`` keeping the shape of ``x`` (activations and the like):
    ``scalar`` (one number; omitted when ``decl.scalar`` is false) and ``array`` instances."""
    names = [p.name for p in decl.params]

    def compute(node: Node, values: dict) -> dict:
        return {RESULT: decl.fn(values["x"], **{k: node.values[k] for k in names})}

    instances = []
    if decl.scalar:
        instances.append(Instance("scalar", {"x": PortType.of("float", 0)}, {RESULT: PortType.of("float", 0)},
                                  compute, "one number -> one number"))
    instances.append(Instance("array", {"x": PortType.of("float", (1, None))}, {RESULT: rank_minus("x", 0)},
                              compute, "an array of any rank -> an array of the same shape"))
    return declare_node(**_naming(decl, prefix), category=category, module=module, params=decl.params,
                        instances=instances,
                        inputs=(Port("x", PortType("float", 0 if decl.scalar else 1, None), decl.x_doc),),
                        outputs=(Port(RESULT, PortType("float"), decl.result_doc),))


# -- class-only metrics (AUC, Precision, IoU, ...) --------------------------------------------------
def metric_constructor_kwargs(params: Sequence[Param], values: dict) -> dict:
    """A node's parameter values as a metric constructor's keyword arguments.

    ``array`` parameters (thresholds, class ids, label weights, a normalizer) become a
    Python float when 0-D and a list otherwise; an ``enum`` choice ``"none"`` becomes
    ``None`` (e.g. F1Score's ``average``), so every choice is a plain string in the editor.
    An optional parameter left at ``None`` is not passed: the class's own default applies.
    """
    kwargs = {}
    for p in params:
        value = values[p.name]
        if value is None and p.optional:
            continue
        if isinstance(value, np.ndarray):
            value = value.item() if value.ndim == 0 else value.tolist()
        elif p.kind == "enum" and value == "none":
            value = None
        kwargs[p.name] = value
    return kwargs


def class_metric_node(decl: ClassMetricDecl, *, category: str, module: str,
                      prefix: str = "haibal.metrics") -> type[Node]:
    """A node over a stateful metric class: ``array`` (one batch -> the metric over it) and
    ``batch`` (a ``Batches`` sequence fed batch after batch -> the metric over all of them).
    The node's parameters are the class's constructor arguments."""
    names = [name for name, _, _, _ in decl.inputs]

    def build(node: Node):
        kwargs = metric_constructor_kwargs(decl.params, node.values)
        return decl.metric_cls(**(decl.translate(kwargs) if decl.translate is not None else kwargs))

    def call_array(node: Node, values: dict) -> dict:
        metric = build(node)
        metric.update_state(*(values[n] for n in names), sample_weight=values.get("sample_weight"))
        node.context.mergeable(RESULT, metric)
        return {RESULT: metric.result()}

    def call_batches(node: Node, values: dict) -> dict:
        metric = build(node)
        streams = {n: as_batches(values[n]) for n in names}
        if values.get("sample_weight") is not None:
            streams["sample_weight"] = as_batches(values["sample_weight"])
        for _, batch in each_batch(node, streams):
            metric.update_state(*(batch[n] for n in names), sample_weight=batch.get("sample_weight"))
        node.context.mergeable(RESULT, metric)
        return {RESULT: metric.result()}

    instances = (
        Instance("array", {**{n: PortType.of(kind, (rank, None)) for n, kind, rank, _ in decl.inputs},
                           "sample_weight": PortType("float", 0, None)},
                 {RESULT: PortType("float")}, call_array, "one batch -> the metric over that batch"),
        Instance("batch", {**{n: PortType.of(kind, (rank, None), sequence=True) for n, kind, rank, _ in decl.inputs},
                           "sample_weight": PortType("float", 0, None, True)},
                 {RESULT: PortType("float")}, call_batches,
                 "batches fed one after the other to the stateful metric -> the metric over all of them"),
    )
    inputs = tuple(Port(n, PortType(kind, rank, None, True), doc) for n, kind, rank, doc in decl.inputs) + (
        Port("sample_weight", PortType("float", 0, None, True),
             "optional weights (per sample, or shaped like y_pred).", default=None),)
    return declare_node(**_naming(decl, prefix), category=category, module=module, inputs=inputs,
                        outputs=(Port(RESULT, PortType("float"), decl.result_doc),), params=decl.params,
                        instances=instances)
