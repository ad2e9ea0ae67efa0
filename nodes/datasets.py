"""The Datasets palette: load a small data set, split it, shuffle it, normalise it, and serve
it batch by batch (``haibal_py.datasets``). One-hot labels: the Array palette's OneHot.

- **Load Dataset**: digits (shipped, no scikit-learn), iris, wine, breast cancer (the
  optional ``datasets`` extra) -> ``x`` (float32), ``y`` (int64).
- **Train Test Split** / **Train Val Test Split**: seeded, stratified by default.
- **Normalize**: min-max or standard, with the statistics of an optional reference (the
  training part), so test data get the training scale.
- **Shuffle**: x and y in one seeded random order.
- **Next Batch**: one batch per graph run (volatile), cycling through epochs with a
  shuffle per epoch: the data source of the step-level training nodes.
"""

from __future__ import annotations

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import PortType
from haibal_py.numeric import datasets as D

CATEGORY = "Datasets"
ANY_ARRAY = PortType("any", 1, None)
FLOATS = PortType("float", 1, None)
INTS = PortType("int", 1, None)
INT0 = PortType("int", 0, 0)

__all__ = ["LoadDataset", "TrainTestSplit", "TrainValTestSplit", "Normalize", "Shuffle", "NextBatch"]


def _wrap(node: Node, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None


def _load(node: Node, values: dict) -> dict:
    p = node.values
    name = p["dataset"]
    if name == "digits":
        x, y = _wrap(node, D.load_digits, images=p["images"])
        if p["images"]:
            x = x[..., None]
        if p["scale"]:
            x = x / np.float32(16.0)
    else:
        x, y = _wrap(node, D.load, name)
    return {"x": x, "y": y}


LoadDataset = declare_node(
    type_id="haibal.datasets.LoadDataset", category=CATEGORY, display_name="Load Dataset", module=__name__,
    class_name="LoadDataset",
    description="A small classic data set, offline: digits (8x8 handwritten digits, 1797 samples, shipped with "
                "haibal-py), iris, wine or breast cancer (scikit-learn's bundled copies: the optional 'datasets' "
                "extra).",
    use_cases=("The data of examples/train_digits.json.", "Try a model on iris in seconds."),
    outputs=(Port("x", FLOATS, "the features (float32): (n, 64) digits, or (n, 8, 8, 1) images."),
             Port("y", INTS, "the class labels (int64).")),
    params=(Param("dataset", "enum", "digits", "which data set.", choices=tuple(D.DATASETS)),
            Param("images", "bool", False, "digits: as (n, 8, 8, 1) images (for a CNN) rather than (n, 64) rows."),
            Param("scale", "bool", True, "digits: pixel counts 0..16 divided by 16 (values in [0, 1]).")),
    instances=(Instance("load", {}, {"x": FLOATS, "y": INTS}, _load, "-> the data set"),))


def _split(node: Node, values: dict) -> dict:
    p = node.values
    x, y = values["x"], values["y"]
    parts = _wrap(node, D.train_test_split, x, y, test_size=p["test_size"], seed=p["seed"], shuffle=p["shuffle"],
                  stratify=y if p["stratify"] and p["shuffle"] else None)
    return dict(zip(("x_train", "x_test", "y_train", "y_test"), parts))


TrainTestSplit = declare_node(
    type_id="haibal.datasets.TrainTestSplit", category=CATEGORY, display_name="Train Test Split", module=__name__,
    class_name="TrainTestSplit",
    description="Splits x and y into a training and a test part (scikit-learn's train_test_split): seeded, "
                "stratified by the labels so both parts keep the class proportions.",
    use_cases=("Hold out a test set before training.",),
    inputs=(Port("x", ANY_ARRAY, "the inputs (samples first)."), Port("y", ANY_ARRAY, "the labels.")),
    outputs=(Port("x_train", ANY_ARRAY, "training inputs."), Port("x_test", ANY_ARRAY, "test inputs."),
             Port("y_train", ANY_ARRAY, "training labels."), Port("y_test", ANY_ARRAY, "test labels.")),
    params=(Param("test_size", "float", 0.2, "the test fraction (rounded up).", minimum=0.0, maximum=1.0),
            Param("seed", "int", 0, "the seed of the random order.", minimum=0),
            Param("shuffle", "bool", True, "shuffle before splitting (off: the last samples are the test part)."),
            Param("stratify", "bool", True, "keep the class proportions in both parts.")),
    instances=(Instance("split", {"x": ANY_ARRAY, "y": ANY_ARRAY},
                        {"x_train": ANY_ARRAY, "x_test": ANY_ARRAY, "y_train": ANY_ARRAY, "y_test": ANY_ARRAY},
                        _split, "x, y -> training and test parts"),))


def _split3(node: Node, values: dict) -> dict:
    p = node.values
    x, y = values["x"], values["y"]
    (xt, yt), (xv, yv), (xs, ys) = _wrap(node, D.train_val_test_split, x, y, validation_size=p["validation_size"],
                                         test_size=p["test_size"], seed=p["seed"],
                                         stratify=y if p["stratify"] else None)
    return {"x_train": xt, "y_train": yt, "x_val": xv, "y_val": yv, "x_test": xs, "y_test": ys}


TrainValTestSplit = declare_node(
    type_id="haibal.datasets.TrainValTestSplit", category=CATEGORY, display_name="Train Val Test Split",
    module=__name__, class_name="TrainValTestSplit",
    description="Splits x and y into training, validation and test parts, seeded and stratified.",
    use_cases=("Validation data for Fit (x_val, y_val) and a test set for Evaluate.",),
    inputs=(Port("x", ANY_ARRAY, "the inputs."), Port("y", ANY_ARRAY, "the labels.")),
    outputs=(Port("x_train", ANY_ARRAY, "training inputs."), Port("y_train", ANY_ARRAY, "training labels."),
             Port("x_val", ANY_ARRAY, "validation inputs."), Port("y_val", ANY_ARRAY, "validation labels."),
             Port("x_test", ANY_ARRAY, "test inputs."), Port("y_test", ANY_ARRAY, "test labels.")),
    params=(Param("validation_size", "float", 0.1, "the validation fraction.", minimum=0.0, maximum=1.0),
            Param("test_size", "float", 0.2, "the test fraction.", minimum=0.0, maximum=1.0),
            Param("seed", "int", 0, "the seed of the random order.", minimum=0),
            Param("stratify", "bool", True, "keep the class proportions in every part.")),
    instances=(Instance("split", {"x": ANY_ARRAY, "y": ANY_ARRAY},
                        {k: ANY_ARRAY for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")},
                        _split3, "x, y -> three parts"),))


def _normalize(node: Node, values: dict) -> dict:
    p = node.values
    out = _wrap(node, D.normalize, values["x"], method=p["method"], reference=values.get("reference"),
                axis=p["axis"], feature_range=(p["low"], p["high"]))
    return {"x": out}


Normalize = declare_node(
    type_id="haibal.datasets.Normalize", category=CATEGORY, display_name="Normalize", module=__name__,
    class_name="Normalize",
    description="Scales x feature by feature (over axis): min-max into [low, high], or standard (zero mean, unit "
                "variance), with the statistics of reference when it is wired (the training part), else of x.",
    use_cases=("Standardise iris features; scale test data with the training data's statistics.",),
    inputs=(Port("x", ANY_ARRAY, "the values to scale."),
            Port("reference", ANY_ARRAY, "optional: the data the statistics come from.", default=None)),
    outputs=(Port("x", FLOATS, "x scaled."),),
    params=(Param("method", "enum", "minmax", "minmax or standard.", choices=D.NORMALIZATIONS),
            Param("axis", "int", 0, "the axis the statistics run over (0: over samples, per feature)."),
            Param("low", "float", 0.0, "minmax: the low end of the range."),
            Param("high", "float", 1.0, "minmax: the high end of the range.")),
    instances=(Instance("normalize", {"x": ANY_ARRAY, "reference": ANY_ARRAY}, {"x": FLOATS}, _normalize,
                        "x (and a reference) -> x scaled"),))


def _shuffle(node: Node, values: dict) -> dict:
    x, y = _wrap(node, D.shuffle, values["x"], values["y"], seed=node.values["seed"])
    return {"x": x, "y": y}


Shuffle = declare_node(
    type_id="haibal.datasets.Shuffle", category=CATEGORY, display_name="Shuffle", module=__name__,
    class_name="Shuffle",
    description="x and y in one random order (pairs kept), seeded.",
    use_cases=("Mix a data set sorted by class.",),
    inputs=(Port("x", ANY_ARRAY, "the inputs."), Port("y", ANY_ARRAY, "the labels.")),
    outputs=(Port("x", ANY_ARRAY, "x shuffled."), Port("y", ANY_ARRAY, "y in the same order.")),
    params=(Param("seed", "int", 0, "the seed of the order.", minimum=0),),
    instances=(Instance("shuffle", {"x": ANY_ARRAY, "y": ANY_ARRAY}, {"x": ANY_ARRAY, "y": ANY_ARRAY}, _shuffle,
                        "x, y -> shuffled"),))


class _Cursor(Node):
    """Next Batch: a position in the data kept on the node between runs (not saved)."""

    volatile = True

    def cache_token(self):
        return object()  # a new batch at every run


def _next_batch(node: Node, values: dict) -> dict:
    p = node.values
    x, y = np.asarray(values["x"]), np.asarray(values["y"])
    n = x.shape[0] if x.ndim else 0
    if y.ndim == 0 or y.shape[0] != n or n == 0:
        raise HaibalValueError(f"{node.label}: x and y need the same number of samples (x {x.shape}, y {y.shape})")
    key = (n, p["batch_size"], p["shuffle"], p["seed"])
    cursor = getattr(node, "_cursor", None)
    if cursor is None or cursor["key"] != key:
        cursor = node._cursor = {"key": key, "epoch": 0, "pos": 0, "rng": np.random.default_rng(p["seed"])}
        cursor["order"] = cursor["rng"].permutation(n) if p["shuffle"] else np.arange(n)
    if cursor["pos"] >= n:
        cursor["epoch"] += 1
        cursor["pos"] = 0
        cursor["order"] = cursor["rng"].permutation(n) if p["shuffle"] else np.arange(n)
    start = cursor["pos"]
    idx = cursor["order"][start:start + p["batch_size"]]
    cursor["pos"] = start + len(idx)
    return {"x": x[idx], "y": y[idx], "epoch": cursor["epoch"], "batch": start // p["batch_size"]}


NextBatch = declare_node(
    type_id="haibal.datasets.NextBatch", category=CATEGORY, display_name="Next Batch", module=__name__,
    class_name="NextBatch", base=_Cursor,
    description="One batch of x and y per graph run, epoch after epoch (a new shuffled order each epoch): the data "
                "of the step-level training nodes (Forward, Backward). The position is kept while the graph is "
                "open and starts again when a parameter or the data change.",
    use_cases=("Next Batch -> Forward -> Backward -> Optimizer Step, run repeatedly.",),
    inputs=(Port("x", ANY_ARRAY, "all the inputs."), Port("y", ANY_ARRAY, "all the labels.")),
    outputs=(Port("x", ANY_ARRAY, "this run's batch of inputs."), Port("y", ANY_ARRAY, "its labels."),
             Port("epoch", INT0, "the epoch the batch belongs to (0-based)."),
             Port("batch", INT0, "the batch's index in its epoch.")),
    params=(Param("batch_size", "int", 32, "samples per batch.", minimum=1),
            Param("shuffle", "bool", True, "a new random order every epoch."),
            Param("seed", "int", 0, "the seed of the orders.", minimum=0)),
    instances=(Instance("next", {"x": ANY_ARRAY, "y": ANY_ARRAY},
                        {"x": ANY_ARRAY, "y": ANY_ARRAY, "epoch": INT0, "batch": INT0}, _next_batch,
                        "all the data -> the next batch"),))
