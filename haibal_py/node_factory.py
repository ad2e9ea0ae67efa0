"""Node classes generated from declarations, so a catalog entry is data, not boilerplate.

``metric_node`` turns a Keras-style function ``fn(y_true, y_pred, **params)`` and its
stateful metric class into a polymorphic node with HAIBAL's three instances:

- ``scalar``: one sample (a label or target vector, one prediction vector) -> one float;
- ``array``: a batch of any rank (HAIBAL's 2-D .. 6-D instances in one) -> the
  per-sample values, the Keras functional result;
- ``batch``: a ``Batches`` sequence (or one array, when pinned) fed batch after batch to
  the stateful metric -> one float, HAIBAL's single ``float`` output.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from .node import HelpText, Instance, Node, Param, Port
from .registry import register
from .types import Batches, PortType

RESULT = "result"


def _rank_minus(port: str, drop: int) -> Callable:
    def output_type(wired) -> PortType:
        t = wired.get(port)
        if t is None or t.sequence or t.max_rank is None or t.min_rank != t.max_rank:
            return PortType("float", 1, None)
        return PortType.of("float", max(0, t.min_rank - drop))
    return output_type


def _as_batches(value) -> Batches:
    return value if isinstance(value, Batches) else Batches([value])


def declare_node(*, type_id: str, category: str, display_name: str, description: str,
                 use_cases: Sequence[str], inputs: tuple, outputs: tuple, params: Sequence[Param],
                 instances: Sequence[Instance], class_name: str | None, do_register: bool) -> type[Node]:
    """A ``Node`` subclass from its declarations, registered in the catalog unless told not to."""
    attrs = dict(
        type_id=type_id,
        category=category,
        display_name=display_name,
        help=HelpText(description, tuple(use_cases)),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        params=tuple(params),
        instances=tuple(instances),
        __module__=__name__,
        __doc__=description,
    )
    cls = type(class_name or display_name + "Node", (Node,), attrs)
    return register(cls) if do_register else cls


def metric_node(
    *,
    type_id: str,
    category: str,
    display_name: str,
    fn: Callable,
    metric_cls: type,
    params: Sequence[Param],
    description: str,
    use_cases: Sequence[str] = (),
    sparse_labels: bool = False,
    y_true_doc: str = "true values.",
    y_pred_doc: str = "predicted values.",
    result_doc: str = "result.",
    output_rank_drop: int = 1,
    class_name: str | None = None,
    do_register: bool = True,
) -> type[Node]:
    """A polymorphic metric/loss node class over ``fn`` and ``metric_cls``.

    ``sparse_labels``: ``y_true`` holds integer class ids, one rank below ``y_pred``
    (otherwise it is a float array shaped like ``y_pred``). ``output_rank_drop``: how
    many axes ``fn`` reduces (1 for a loss over the last axis).
    """
    names = [p.name for p in params]
    label_kind = "int" if sparse_labels else "float"
    lab = 1 if sparse_labels else 0  # how much lower y_true's rank is

    def call_fn(node: Node, values: dict) -> dict:
        kwargs = {k: node.values[k] for k in names}
        return {RESULT: fn(values["y_true"], values["y_pred"], **kwargs)}

    def call_metric(node: Node, values: dict) -> dict:
        metric = metric_cls(**{k: node.values[k] for k in names})
        trues, preds = _as_batches(values["y_true"]), _as_batches(values["y_pred"])
        weights = values.get("sample_weight")
        weights = None if weights is None else _as_batches(weights)
        if len(trues) != len(preds) or (weights is not None and len(weights) != len(preds)):
            from .errors import HaibalValueError
            raise HaibalValueError(f"{node.label}: y_true has {len(trues)} batches but y_pred has "
                                   f"{len(preds)}" + ("" if weights is None else f" and sample_weight {len(weights)}"))
        for i, (yt, yp) in enumerate(zip(trues, preds)):
            metric.update_state(yt, yp, sample_weight=None if weights is None else weights[i])
            if node.progress is not None:
                node.progress(i + 1, len(preds))
        return {RESULT: metric.result()}

    float_scalar = PortType.of("float", 0)
    instances = (
        Instance("scalar", {"y_true": PortType.of(label_kind, 1 - lab), "y_pred": PortType.of("float", 1)},
                 {RESULT: float_scalar}, call_fn, "one sample -> one float"),
        Instance("array", {"y_true": PortType.of(label_kind, (2 - lab, None)),
                           "y_pred": PortType.of("float", (2, None))},
                 {RESULT: _rank_minus("y_pred", output_rank_drop)}, call_fn,
                 "a batch of any rank (2-D .. N-D) -> one value per sample"),
        Instance("batch", {"y_true": PortType.of(label_kind, (1 - lab, None), sequence=True),
                           "y_pred": PortType.of("float", (1, None), sequence=True),
                           "sample_weight": PortType("float", 0, None, True)},
                 {RESULT: float_scalar}, call_metric,
                 "batches fed one after the other to the stateful metric -> one float (the mean over all samples)"),
    )
    return declare_node(
        type_id=type_id, category=category, display_name=display_name, description=description,
        use_cases=use_cases, params=params, instances=instances, class_name=class_name,
        do_register=do_register,
        inputs=(
            Port("y_true", PortType(label_kind, 0, None, True), y_true_doc),
            Port("y_pred", PortType("float", 1, None, True), y_pred_doc),
            Port("sample_weight", PortType("float", 0, None, True),
                 "optional weights per sample (batch instance only).", default=None),
        ),
        outputs=(Port(RESULT, PortType("float"), result_doc),),
    )


# -- losses and elementwise functions ------------------------------------------------------


class _LossStream:
    """The batch instance of a loss node: a ``Loss`` fed batch after batch.

    ``result`` is the weighted loss summed over every batch divided by the number of loss
    values that count (``ignore_class`` positions do not), i.e. the ``sum_over_batch_size``
    reduction of the concatenated batches (0 before any value, as Keras' reduction of an
    empty loss).
    """

    loss_cls: type = None
    translate: Callable = None

    def __init__(self, **params):
        self.params = params
        self.total = 0.0
        self.count = 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        from .numeric.loss_base import reduce_weighted
        loss = self.loss_cls(reduction="sum", **self.translate(self.params, y_pred))
        values, mask = loss.call(y_true, y_pred)
        values = np.asarray(values)
        self.total += float(reduce_weighted(values, sample_weight, mask, "sum"))
        self.count += values.size if mask is None else int(np.count_nonzero(mask))

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


def _same_params(params: dict, y_pred) -> dict:
    return params


def loss_node(
    *,
    type_id: str,
    category: str,
    display_name: str,
    fn: Callable,
    loss_cls: type,
    params: Sequence[Param],
    description: str,
    use_cases: Sequence[str] = (),
    y_true_doc: str = "true values.",
    y_pred_doc: str = "predicted values.",
    result_doc: str = "result.",
    output_rank_drop: int | None = 1,
    translate: Callable[[dict, object], dict] | None = None,
    sparse_labels: bool = False,
    class_name: str | None = None,
    do_register: bool = True,
) -> type[Node]:
    """A polymorphic loss node over ``fn`` and its ``Loss`` class, with ``metric_node``'s instances.

    ``scalar`` / ``array`` call ``fn``; ``batch`` feeds ``loss_cls`` batch by batch and gives the
    mean loss over every value of every batch (see ``_LossStream``). ``translate(params, y_pred)``
    maps the node's parameters to the function's keyword arguments when they differ (e.g. a
    ``per_sample`` switch to an ``axis`` tuple). ``output_rank_drop=None``: the array instance's
    output rank is not known from the wired types (it depends on a parameter).
    """
    translate = translate or _same_params

    def node_fn(y_true, y_pred, **kwargs):
        return fn(y_true, y_pred, **translate(kwargs, y_pred))

    stream = type(f"{display_name}Stream", (_LossStream,),
                  {"loss_cls": loss_cls, "translate": staticmethod(translate), "__module__": __name__})
    cls = metric_node(type_id=type_id, category=category, display_name=display_name, fn=node_fn,
                      metric_cls=stream, params=params, description=description, use_cases=use_cases,
                      y_true_doc=y_true_doc, y_pred_doc=y_pred_doc, result_doc=result_doc,
                      output_rank_drop=output_rank_drop or 1, sparse_labels=sparse_labels,
                      class_name=class_name, do_register=False)
    batch_doc = "batches fed one after the other to the loss -> one float (the mean over every loss value)"
    cls.instances = tuple(
        replace(i, outputs={RESULT: PortType("float")}) if i.name == "array" and output_rank_drop is None
        else replace(i, doc=batch_doc) if i.name == "batch" else i
        for i in cls.instances)
    return register(cls) if do_register else cls


def elementwise_node(
    *,
    type_id: str,
    category: str,
    display_name: str,
    fn: Callable,
    params: Sequence[Param] = (),
    description: str,
    use_cases: Sequence[str] = (),
    x_doc: str = "input values.",
    result_doc: str = "the function of each value, same shape as x.",
    scalar: bool = True,
    class_name: str | None = None,
    do_register: bool = True,
) -> type[Node]:
    """A node ``result = fn(x, **params)`` keeping the shape of ``x`` (activations and the like).

    Instances: ``scalar`` (one number, omitted when ``scalar`` is false, e.g. softmax) and
    ``array`` (any rank, the result has the same rank).
    """
    names = [p.name for p in params]

    def compute(node: Node, values: dict) -> dict:
        return {RESULT: fn(values["x"], **{k: node.values[k] for k in names})}

    instances = []
    if scalar:
        instances.append(Instance("scalar", {"x": PortType.of("float", 0)}, {RESULT: PortType.of("float", 0)},
                                  compute, "one number -> one number"))
    instances.append(Instance("array", {"x": PortType.of("float", (1, None))}, {RESULT: _rank_minus("x", 0)},
                              compute, "an array of any rank -> an array of the same shape"))
    return declare_node(
        type_id=type_id, category=category, display_name=display_name, description=description,
        use_cases=use_cases, params=params, instances=instances, class_name=class_name,
        do_register=do_register,
        inputs=(Port("x", PortType("float", 0 if scalar else 1, None), x_doc),),
        outputs=(Port(RESULT, PortType("float"), result_doc),),
    )


# -- class-only metrics (AUC, Precision, IoU, ...) --------------------------------------------


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


def class_metric_node(
    *,
    type_id: str,
    category: str,
    display_name: str,
    metric_cls: type,
    params: Sequence[Param],
    description: str,
    use_cases: Sequence[str] = (),
    inputs: Sequence[tuple[str, str, int, str]] = (
        ("y_true", "float", 0, "true values (labels)."),
        ("y_pred", "float", 0, "predicted values."),
    ),
    result_doc: str = "float, the metric.",
    translate: Callable[[dict], dict] | None = None,
    class_name: str | None = None,
    do_register: bool = True,
) -> type[Node]:
    """A node over a stateful metric class that has no per-sample function.

    ``inputs``: ``(name, kind, min_rank, doc)`` for each positional argument of
    ``update_state`` (``y_true, y_pred`` or ``values``); ``sample_weight`` is added.
    Instances: ``array`` (one batch -> the metric over that batch) and ``batch`` (a
    ``Batches`` sequence fed batch after batch -> the metric over all of them). The node's
    parameters are the class's constructor arguments (see ``metric_constructor_kwargs``);
    ``translate(kwargs)``, when given, adjusts them (e.g. a default that depends on another one).
    """
    names = [name for name, _, _, _ in inputs]

    def build(node: Node):
        kwargs = metric_constructor_kwargs(params, node.values)
        return metric_cls(**(translate(kwargs) if translate is not None else kwargs))

    def call_array(node: Node, values: dict) -> dict:
        metric = build(node)
        metric.update_state(*(values[n] for n in names), sample_weight=values.get("sample_weight"))
        return {RESULT: metric.result()}

    def call_batches(node: Node, values: dict) -> dict:
        metric = build(node)
        streams = [_as_batches(values[n]) for n in names]
        weights = values.get("sample_weight")
        weights = None if weights is None else _as_batches(weights)
        counts = [len(s) for s in streams] + ([] if weights is None else [len(weights)])
        if len(set(counts)) > 1:
            from .errors import HaibalValueError
            listed = ", ".join(f"{n} {len(s)}" for n, s in zip(names, streams))
            raise HaibalValueError(f"{node.label}: the inputs hold different numbers of batches ({listed}"
                                   + ("" if weights is None else f", sample_weight {len(weights)}") + ")")
        total = counts[0]
        for i in range(total):
            metric.update_state(*(s[i] for s in streams), sample_weight=None if weights is None else weights[i])
            if node.progress is not None:
                node.progress(i + 1, total)
        return {RESULT: metric.result()}

    weight_port = PortType("float", 0, None)
    instances = (
        Instance("array", {**{n: PortType.of(kind, (rank, None)) for n, kind, rank, _ in inputs},
                           "sample_weight": weight_port},
                 {RESULT: PortType("float")}, call_array, "one batch -> the metric over that batch"),
        Instance("batch", {**{n: PortType.of(kind, (rank, None), sequence=True) for n, kind, rank, _ in inputs},
                           "sample_weight": PortType("float", 0, None, True)},
                 {RESULT: PortType("float")}, call_batches,
                 "batches fed one after the other to the stateful metric -> the metric over all of them"),
    )
    return declare_node(
        type_id=type_id, category=category, display_name=display_name, description=description,
        use_cases=use_cases, params=params, instances=instances, class_name=class_name,
        do_register=do_register,
        inputs=tuple(Port(n, PortType(kind, rank, None, True), doc) for n, kind, rank, doc in inputs)
        + (Port("sample_weight", PortType("float", 0, None, True),
                "optional weights (per sample, or shaped like y_pred).", default=None),),
        outputs=(Port(RESULT, PortType("float"), result_doc),),
    )
