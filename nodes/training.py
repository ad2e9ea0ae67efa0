"""The Training palette: Training Session, Fit, Evaluate, History Curve, and the step-level
Forward, Backward, Optimizer Step and Scheduler Step (HAIBAL's academic mode).

**Training Session** (HAIBAL's training session, Keras' ``compile``): a model, an optimizer
(wired, or named by a parameter), a loss, metrics, gradient clipping and the checkpoint
policy -> a session (port kind ``session``) holding a compiled copy of the model.

**Fit** (``model.fit``): trains a fresh copy of the session (the session's first weights,
a new optimizer) and outputs the trained session, the trained model and the history. While
it runs it streams ``context.emit("curve", point)`` for every batch and epoch (training and
validation values: the editor draws them live) and reports progress; a stop request
(``Runtime.stop()``, the editor's Stop) ends it after the current batch, keeping the model
as it is.

**How trained weights persist.** Fit is stateful: after training, its state holds the
trained weights, the history and a fingerprint of everything that determined them (the
session's model architecture and first weights, optimizer, loss, metrics, the data and
Fit's own parameters), and whether the fit ran to its end. The state is saved with the
graph (in its sibling arrays file). When Fit runs again with ``reuse`` on and the fingerprint
matches a complete fit, it outputs those weights and that history without training (the
curves are replayed); any change (a layer, a weight of the Model node, a hyperparameter,
one sample of the data) trains again and replaces the state; a stopped fit is never
reused. So ``haibal run`` of a saved graph trains once it is saved untrained, a saved
trained graph runs at once, and nothing stale is ever reused. Weights files (Save
Weights / Load Weights, the session's checkpoints) are the other way, as in Keras.

**Step-level nodes** run one step per graph run (they are volatile: every run re-runs
them), on the session they receive, which keeps its state between runs: Forward (keeps the
forward pass), Backward (the loss and the gradients, held in the session, summed with
``accumulate``), Optimizer Step (applies them, then resets them), Scheduler Step (sets the
learning rate from a schedule at the session's scheduler step). Run the graph repeatedly
(the editor's Run, or ``Runtime.run`` in a loop) to train step by step.
"""

from __future__ import annotations

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.files.policy import WRITE, FileUse
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import PortType
from haibal_py.numeric import losses as losses_module
from haibal_py.numeric import optimizers as O
from haibal_py.numeric.callbacks import CSVLogger, EarlyStopping, History, LiveMonitor
from haibal_py.numeric.seeding import seeded

from ._model_wires import MODEL, model_state, restore_state
from ._training import (CHECKPOINT_CONTENTS, CHECKPOINTS, HISTORY, OPTIMIZER, SESSION, TrainingSession, as_session,
                        fingerprint)
from .models import as_model
from .optimizers import as_optimizer, as_schedule

CATEGORY = "Training"
ANY_ARRAY = PortType("any", 1, None)
FLOAT0 = PortType("float", 0, 0)
INT0 = PortType("int", 0, 0)
FLOAT1 = PortType("float", 1, 1)
INT1 = PortType("int", 1, 1)
TEXT = PortType("str", 0, 0)
FLOATS = PortType("float", 1, None)

__all__ = ["TrainingSessionNode", "Fit", "Evaluate", "HistoryCurve", "Forward", "Backward", "OptimizerStep",
           "SchedulerStep", "LOSSES"]

LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy", "crossentropy",
          "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
          "mean_squared_logarithmic_error", "huber", "log_cosh", "hinge", "squared_hinge", "categorical_hinge",
          "kl_divergence", "poisson", "cosine_similarity", "binary_focal_crossentropy",
          "categorical_focal_crossentropy", "categorical_generalized_cross_entropy", "dice", "tversky")
_LOGITS_CLASSES = {"sparse_categorical_crossentropy": losses_module.SparseCategoricalCrossentropy,
                   "categorical_crossentropy": losses_module.CategoricalCrossentropy,
                   "binary_crossentropy": losses_module.BinaryCrossentropy,
                   "binary_focal_crossentropy": losses_module.BinaryFocalCrossentropy,
                   "categorical_focal_crossentropy": losses_module.CategoricalFocalCrossentropy}
OPTIMIZER_NAMES = tuple(cls.__name__.lower() for cls in O.ALL_OBJECTS)


def _metric_names(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


# ---------------------------------------------------------------------------- Training Session
def _session(node: Node, values: dict) -> dict:
    p = node.values
    model = as_model(values["model"])
    wired = values.get("optimizer")
    if wired is not None:
        optimizer = as_optimizer(wired)
    else:
        optimizer = O.get(p["default_optimizer"])
        optimizer.learning_rate = p["learning_rate"]
    clips = {k: (p[k] or None) for k in ("clipnorm", "clipvalue", "global_clipnorm")}
    if any(clips.values()):
        config = {**optimizer.get_config(), **clips}
        try:
            optimizer = type(optimizer).from_config(config)
        except HaibalValueError as exc:
            raise HaibalValueError(f"{node.label}: {exc}") from None
    loss = p["loss"]
    if p["from_logits"]:
        cls = _LOGITS_CLASSES.get(loss)
        if cls is None:
            raise HaibalValueError(f"{node.label}: from_logits applies to the crossentropy losses "
                                   f"({', '.join(_LOGITS_CLASSES)}), not to {loss!r}")
        loss = cls(from_logits=True)
    try:
        session = TrainingSession(model, optimizer, loss, _metric_names(p["metrics"]), checkpoint=p["checkpoint"],
                                  checkpoint_path=p["checkpoint_path"], checkpoint_content=p["checkpoint_content"],
                                  monitor=p["monitor"], name=node.name)
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    return {"session": session}


class _SessionNode(Node):
    """Training Session: names the checkpoint file it will write (checked before a run)."""

    def files(self) -> list[FileUse]:
        raw = self.values["checkpoint_path"]
        return [FileUse(raw, WRITE)] if raw and self.values["checkpoint"] != "none" else []


TrainingSessionNode = declare_node(
    type_id="haibal.training.TrainingSession", category=CATEGORY, display_name="Training Session", module=__name__,
    class_name="TrainingSessionNode", base=_SessionNode,
    description="HAIBAL's training session (Keras' compile): a compiled copy of the model with its optimizer, "
                "loss and metrics, gradient clipping and the checkpoint policy. Fit trains a fresh copy of it; "
                "the step-level nodes (Forward, Backward, Optimizer Step) train this one, step by step.",
    use_cases=("Model -> Training Session -> Fit -> Evaluate.",
               "An optimizer node with a warm-up schedule -> optimizer input."),
    inputs=(Port("model", MODEL, "the built model (a Model node's output); the session keeps its own copy."),
            Port("optimizer", OPTIMIZER, "an optional optimizer (an optimizer node's output); replaces "
                 "default_optimizer and learning_rate.", default=None)),
    outputs=(Port("session", SESSION, "the training session."),),
    params=(Param("default_optimizer", "enum", "adam", "the optimizer when none is wired (Keras' name).",
                  choices=OPTIMIZER_NAMES),
            Param("learning_rate", "float", 0.001, "its learning rate (when no optimizer is wired).", minimum=0.0),
            Param("loss", "enum", "sparse_categorical_crossentropy", "the loss (Keras' name); crossentropy picks "
                  "binary, sparse or categorical from the labels, as Keras does.", choices=LOSSES),
            Param("from_logits", "bool", False, "the model outputs logits (no softmax/sigmoid): the crossentropy "
                  "losses take them as such."),
            Param("metrics", "str", "accuracy", "metrics by Keras' name, separated by commas (accuracy, mae, "
                  "auc ...); empty: none."),
            Param("clipnorm", "float", 0.0, "clip each gradient to this L2 norm (0: no clipping).", minimum=0.0),
            Param("clipvalue", "float", 0.0, "clip each gradient element to [-clipvalue, clipvalue] (0: none).",
                  minimum=0.0),
            Param("global_clipnorm", "float", 0.0, "clip all gradients together to this global norm (0: none).",
                  minimum=0.0),
            Param("checkpoint", "enum", "none", "when Fit writes a checkpoint: none, every epoch, or best (when "
                  "monitor improves).", choices=CHECKPOINTS),
            Param("checkpoint_path", "str", "checkpoints/model.weights.npz", "the checkpoint file (.weights.npz or "
                  ".safetensors), relative to the graph file; may hold {epoch} and {val_loss:.3f}."),
            Param("checkpoint_content", "enum", "weights", "what a checkpoint holds: the weights, or the weights and "
                  "the optimizer's state (<name>.optimizer.npz beside them).", choices=CHECKPOINT_CONTENTS),
            Param("monitor", "str", "val_loss", "the value a best checkpoint watches (loss, val_loss, val_accuracy "
                  "...).")),
    instances=(Instance("session", {"model": MODEL, "optimizer": OPTIMIZER}, {"session": SESSION}, _session,
                        "a model (and an optimizer) -> a training session"),))


# ---------------------------------------------------------------------------- Fit
FIT_PARAMS = ("epochs", "batch_size", "validation_split", "shuffle", "seed", "early_stopping", "monitor",
              "patience", "restore_best_weights")
STATE_FINGERPRINT, STATE_COMPLETE = "fingerprint", "complete"


def _history_from_state(state: dict, params: dict) -> History:
    history = History()
    history.epoch = [int(e) for e in state.get("epochs", np.zeros(0, np.int64))]
    history.history = {k[len("history/"):]: [float(v) for v in arr] for k, arr in state.items()
                       if k.startswith("history/")}
    history.params = params
    return history


def _fit(node: Node, values: dict) -> dict:
    p = node.values
    session = as_session(values["session"])
    live = session.fresh()
    model = live.model
    x, y = values["x"], values["y"]
    val = None
    if values.get("x_val") is not None or values.get("y_val") is not None:
        if values.get("x_val") is None or values.get("y_val") is None:
            raise HaibalValueError(f"{node.label}: validation needs both x_val and y_val")
        val = (values["x_val"], values["y_val"])
    sw = values.get("sample_weight")
    key = fingerprint(session.recipe_hash, x, y, None if val is None else list(val), sw,
                      {k: p[k] for k in FIT_PARAMS})
    state = node.state
    params = {"verbose": 0, "epochs": p["epochs"]}
    stored = state.get(STATE_FINGERPRINT)
    if p["reuse"] and stored is not None and np.array_equal(stored, key) and bool(state.get(STATE_COMPLETE, 0)):
        weights = {k[len("weights/"):]: v for k, v in state.items() if k.startswith("weights/")}
        restore_state(model, weights)
        history = _history_from_state(state, params)
        model.history = history
        node.context.emit("status", {"text": "trained weights reused: the session, the data and the parameters "
                                             "are those they were trained with"})
        for i, epoch in enumerate(history.epoch):
            node.context.emit("curve", {"stage": "epoch", "epoch": epoch, "reused": True,
                                        **{k: v[i] for k, v in history.history.items()}})
        node.context.progress(1, 1)
        return {"session": live, "model": model, "history": history}
    ctx = node.context
    monitor = LiveMonitor(emit=lambda point: ctx.emit("curve", point), should_stop=ctx.should_stop,
                          progress=ctx.progress, batch_every=1 if p["batch_curves"] else 1 << 30)
    callbacks = [monitor]
    if p["early_stopping"]:
        callbacks.append(EarlyStopping(monitor=p["monitor"], patience=p["patience"],
                                       restore_best_weights=p["restore_best_weights"]))
    callbacks += live.checkpoint_callbacks(lambda raw: ctx.resolve_path(raw, write=True))
    if p["history_path"]:
        path = ctx.resolve_path(p["history_path"], write=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(CSVLogger(path))
    try:
        with seeded(p["seed"]):
            history = model.fit(x, y, batch_size=p["batch_size"], epochs=p["epochs"], verbose=0, callbacks=callbacks,
                                validation_split=p["validation_split"] if val is None else 0.0,
                                validation_data=val, shuffle=p["shuffle"], sample_weight=sw)
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    new_state = {STATE_FINGERPRINT: key, STATE_COMPLETE: np.asarray(0 if monitor.stopped else 1, dtype=np.int64),
                 "epochs": np.asarray(history.epoch, dtype=np.int64)}
    new_state.update({f"weights/{k}": v for k, v in model_state(model).items()})
    new_state.update({f"history/{k}": np.asarray(v, dtype=np.float64) for k, v in history.history.items()})
    node.state = new_state
    if monitor.stopped:
        ctx.emit("status", {"text": f"stopped after {monitor.step} batch(es): the model is kept as it is"})
    return {"session": live, "model": model, "history": history}


class _FitNode(Node):
    """Fit: names the history file it will write (checked before a run)."""

    def files(self) -> list[FileUse]:
        raw = self.values["history_path"]
        return [FileUse(raw, WRITE)] if raw else []


Fit = declare_node(
    type_id="haibal.training.Fit", category=CATEGORY, display_name="Fit", module=__name__, class_name="Fit",
    base=_FitNode,
    description="Trains the session's model (Keras' model.fit) on x and y: epochs of shuffled batches, "
                "validation on x_val/y_val or on the last validation_split of the data, optional early stopping "
                "and the session's checkpoints. Streams live curves (loss and metrics per batch and epoch, "
                "training and validation); Stop ends it after the current batch and keeps the model. It keeps "
                "the trained weights in the graph and reuses them while nothing they depend on changed (see "
                "reuse).",
    use_cases=("Train an MLP on the digits: Load Dataset -> Train Test Split -> Fit -> Evaluate.",
               "Early stopping on val_loss with the best weights restored."),
    inputs=(Port("session", SESSION, "the training session (Fit trains a fresh copy of it)."),
            Port("x", ANY_ARRAY, "the training inputs (samples first)."),
            Port("y", ANY_ARRAY, "the training labels."),
            Port("x_val", ANY_ARRAY, "optional validation inputs (replace validation_split).", default=None),
            Port("y_val", ANY_ARRAY, "optional validation labels.", default=None),
            Port("sample_weight", PortType("float", 1, None), "optional per-sample weights of the loss.",
                 default=None)),
    outputs=(Port("session", SESSION, "the trained session (step-level nodes may go on training it)."),
             Port("model", MODEL, "the trained model."),
             Port("history", HISTORY, "the history: loss and metrics per epoch (History Curve reads it).")),
    params=(Param("epochs", "int", 10, "how many passes over the training data.", minimum=0),
            Param("batch_size", "int", 32, "samples per gradient step.", minimum=1),
            Param("validation_split", "float", 0.0, "the last fraction of the data held out for validation "
                  "(taken before shuffling, as Keras); ignored when x_val/y_val are wired.", minimum=0.0,
                  maximum=0.99),
            Param("shuffle", "bool", True, "shuffle the training samples at every epoch."),
            Param("seed", "int", 0, "the seed of the shuffling and of dropout: the same seed gives the same "
                  "training, bit for bit.", minimum=0),
            Param("early_stopping", "bool", False, "stop when monitor has not improved for patience epochs."),
            Param("monitor", "str", "val_loss", "what early stopping watches (loss, val_loss, val_accuracy ...)."),
            Param("patience", "int", 3, "epochs without improvement before early stopping.", minimum=0),
            Param("restore_best_weights", "bool", True, "with early stopping: end with the best epoch's weights."),
            Param("reuse", "bool", True, "keep the trained weights in the graph (saved with it) and reuse them, "
                  "without training, while the session, the data and these parameters are unchanged; a "
                  "stopped fit is never reused. Off: train at every run."),
            Param("batch_curves", "bool", True, "stream a curve point for every batch (else one per epoch)."),
            Param("history_path", "str", "", "optional: also write the history as CSV (Keras' CSVLogger) to this "
                  "file, relative to the graph file.")),
    instances=(Instance("fit", {"session": SESSION, "x": ANY_ARRAY, "y": ANY_ARRAY, "x_val": ANY_ARRAY,
                                "y_val": ANY_ARRAY, "sample_weight": PortType("float", 1, None)},
                        {"session": SESSION, "model": MODEL, "history": HISTORY}, _fit,
                        "a session and data -> the trained session, model and history"),),
    attrs={"stateful": True})


# ---------------------------------------------------------------------------- Evaluate
def _evaluate(node: Node, values: dict) -> dict:
    session = as_session(values["session"])
    model = session.model
    try:
        logs = model.evaluate(values["x"], values["y"], sample_weight=values.get("sample_weight"),
                              batch_size=node.values["batch_size"], verbose=0, return_dict=True)
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    names = [n for n in model._compiled.ordered_names() if n != "loss" and n in logs]
    metric_values = np.asarray([logs[n] for n in names], dtype=np.float64)
    return {"loss": float(logs["loss"]), "metric": float(metric_values[0]) if len(names) else float("nan"),
            "metrics": metric_values, "names": ", ".join(names)}


Evaluate = declare_node(
    type_id="haibal.training.Evaluate", category=CATEGORY, display_name="Evaluate", module=__name__,
    class_name="Evaluate",
    description="The session's loss and metrics on x and y (Keras' model.evaluate): the model in inference "
                "(no dropout), batch_size samples at a time.",
    use_cases=("The test accuracy of a trained model: Fit's session -> Evaluate on the test part.",),
    inputs=(Port("session", SESSION, "a training session (Fit's output: the trained one)."),
            Port("x", ANY_ARRAY, "the inputs."), Port("y", ANY_ARRAY, "the labels."),
            Port("sample_weight", PortType("float", 1, None), "optional per-sample weights.", default=None)),
    outputs=(Port("loss", FLOAT0, "the loss (with the model's penalties, as Keras reports it)."),
             Port("metric", FLOAT0, "the first metric (accuracy ...), NaN without metrics."),
             Port("metrics", FLOAT1, "every metric, in the session's order."),
             Port("names", TEXT, "the metrics' names, separated by commas.")),
    params=(Param("batch_size", "int", 32, "samples per batch.", minimum=1),),
    instances=(Instance("evaluate", {"session": SESSION, "x": ANY_ARRAY, "y": ANY_ARRAY,
                                     "sample_weight": PortType("float", 1, None)},
                        {"loss": FLOAT0, "metric": FLOAT0, "metrics": FLOAT1, "names": TEXT}, _evaluate,
                        "a session and data -> loss and metrics"),))


# ---------------------------------------------------------------------------- History Curve
def _curve(node: Node, values: dict) -> dict:
    history = values["history"]
    if not isinstance(history, History):
        raise HaibalValueError(f"{node.label}: input 'history' takes a Fit's history, got {type(history).__name__}")
    key = node.values["key"]
    if key not in history.history:
        raise HaibalValueError(f"{node.label}: the history has no {key!r}; it has {', '.join(history.history)}")
    val = history.history.get(f"val_{key}", [])
    return {"values": np.asarray(history.history[key], dtype=np.float64),
            "val_values": np.asarray(val, dtype=np.float64), "epochs": np.asarray(history.epoch, dtype=np.int64)}


HistoryCurve = declare_node(
    type_id="haibal.training.HistoryCurve", category=CATEGORY, display_name="History Curve", module=__name__,
    class_name="HistoryCurve",
    description="One curve of a fit's history: the values of key per epoch and, when the fit validated, those "
                "of val_<key>.",
    use_cases=("Plot the loss of a finished fit (values -> Line Plot).",),
    inputs=(Port("history", HISTORY, "a Fit's history."),),
    outputs=(Port("values", FLOAT1, "key per epoch."),
             Port("val_values", FLOAT1, "val_<key> per epoch (empty without validation)."),
             Port("epochs", INT1, "the epochs (0-based).")),
    params=(Param("key", "str", "loss", "the logged value: loss, accuracy, learning_rate ..."),),
    instances=(Instance("curve", {"history": HISTORY}, {"values": FLOAT1, "val_values": FLOAT1, "epochs": INT1},
                        _curve, "a history -> one curve"),))


# ---------------------------------------------------------------------------- step level
class _StepNode(Node):
    """A step-level node: one step per graph run (volatile: every run re-runs it)."""

    volatile = True

    def cache_token(self):
        return object()  # never equal: the node runs at every run


def _forward(node: Node, values: dict) -> dict:
    session = as_session(values["session"])
    try:
        session.forward_pass = session.model.forward_pass(values["x"], training=node.values["training"])
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    return {"session": session, "y_pred": session.forward_pass.y_pred}


def _backward(node: Node, values: dict) -> dict:
    session = as_session(values["session"])
    fp = session.forward_pass
    if fp is None:
        raise HaibalValueError(f"{node.label}: no forward pass to go back through: run a Forward on this session "
                               f"first")
    try:
        loss, grads = fp.backward(values["y"], values.get("sample_weight"))
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    if node.values["accumulate"] and session.gradients is not None:
        session.gradients = [a + b for a, b in zip(session.gradients, grads)]
    else:
        session.gradients = grads
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
    node.context.emit("curve", {"stage": "step", "step": session.steps + 1, "loss": float(loss),
                                "gradient_norm": norm})
    return {"session": session, "loss": float(loss), "gradient_norm": norm}


def _optimizer_step(node: Node, values: dict) -> dict:
    session = as_session(values["session"])
    if session.gradients is None:
        raise HaibalValueError(f"{node.label}: the session holds no gradients: run a Backward first (gradients "
                               f"are reset after each optimizer step)")
    model = session.model
    specs = model.weight_specs(True)
    session.optimizer.apply(session.gradients, [s.value for s in specs])
    for s in specs:
        if s.constraint is not None:
            s.value[...] = s.constraint(s.value)
    session.steps += 1
    if node.values["reset_gradients"]:
        session.gradients = None
    return {"session": session, "learning_rate": float(session.optimizer.learning_rate),
            "iterations": int(session.optimizer.iterations)}


def _scheduler_step(node: Node, values: dict) -> dict:
    session = as_session(values["session"])
    schedule = as_schedule(values["schedule"], "schedule")
    lr = float(schedule(session.scheduler_steps))
    try:
        session.optimizer.learning_rate = lr
    except HaibalValueError as exc:
        raise HaibalValueError(f"{node.label}: {exc}") from None
    session.scheduler_steps += 1
    return {"session": session, "learning_rate": lr}


Forward = declare_node(
    type_id="haibal.training.Forward", category=CATEGORY, display_name="Forward", module=__name__, class_name="Forward",
    base=_StepNode,
    description="Step-level training (HAIBAL's academic mode), step 1: runs the session's model on x in training "
                "mode and keeps the pass in the session for Backward. One step per graph run.",
    use_cases=("Forward -> Backward -> Optimizer Step, run repeatedly: a training loop you can watch.",),
    inputs=(Port("session", SESSION, "the training session (a Training Session's or Fit's output)."),
            Port("x", ANY_ARRAY, "a batch of inputs (Next Batch gives a new one at every run).")),
    outputs=(Port("session", SESSION, "the session, holding the forward pass."),
             Port("y_pred", FLOATS, "the model's output (probabilities for a softmax output).")),
    params=(Param("training", "bool", True, "training mode (dropout and noise on, batch statistics)."),),
    instances=(Instance("forward", {"session": SESSION, "x": ANY_ARRAY}, {"session": SESSION, "y_pred": FLOATS},
                        _forward, "a session and a batch -> the forward pass"),))

Backward = declare_node(
    type_id="haibal.training.Backward", category=CATEGORY, display_name="Backward", module=__name__,
    class_name="Backward", base=_StepNode,
    description="Step-level training, step 2: the loss of the session's last forward pass against y (the "
                "session's loss, plus the model's penalties) and its gradient for every trainable weight, held "
                "in the session (summed with the held ones when accumulate is on). Streams the step's loss.",
    use_cases=("Gradient accumulation by hand: several Backward runs with accumulate, then one Optimizer Step.",),
    inputs=(Port("session", SESSION, "the session holding a forward pass."),
            Port("y", ANY_ARRAY, "the batch's labels."),
            Port("sample_weight", PortType("float", 1, None), "optional per-sample weights.", default=None)),
    outputs=(Port("session", SESSION, "the session, holding the gradients."),
             Port("loss", FLOAT0, "the batch's loss."),
             Port("gradient_norm", FLOAT0, "the global L2 norm of the gradients.")),
    params=(Param("accumulate", "bool", False, "add to the gradients the session holds instead of replacing them."),),
    instances=(Instance("backward", {"session": SESSION, "y": ANY_ARRAY, "sample_weight": PortType("float", 1, None)},
                        {"session": SESSION, "loss": FLOAT0, "gradient_norm": FLOAT0}, _backward,
                        "a session with a forward pass and labels -> loss and gradients"),))

OptimizerStep = declare_node(
    type_id="haibal.training.OptimizerStep", category=CATEGORY, display_name="Optimizer Step", module=__name__,
    class_name="OptimizerStep", base=_StepNode,
    description="Step-level training, step 3: the session's optimizer applies the gradients it holds to the "
                "trainable weights (optimizer.apply, then the weights' constraints), then resets them.",
    use_cases=("Forward -> Backward -> Optimizer Step -> Scheduler Step.",),
    inputs=(Port("session", SESSION, "the session holding gradients."),),
    outputs=(Port("session", SESSION, "the session, one step further."),
             Port("learning_rate", FLOAT0, "the learning rate of the next step."),
             Port("iterations", INT0, "the optimizer's update count.")),
    params=(Param("reset_gradients", "bool", True, "reset the held gradients after the step."),),
    instances=(Instance("step", {"session": SESSION},
                        {"session": SESSION, "learning_rate": FLOAT0, "iterations": INT0}, _optimizer_step,
                        "a session with gradients -> one optimizer step"),))

SchedulerStep = declare_node(
    type_id="haibal.training.SchedulerStep", category=CATEGORY, display_name="Scheduler Step", module=__name__,
    class_name="SchedulerStep", base=_StepNode,
    description="Step-level training, step 4: sets the session's learning rate to the schedule's value at the "
                "session's scheduler step, then counts one step (PyTorch's scheduler.step()). The optimizer must "
                "have a float learning rate (an optimizer built on a schedule follows it by itself).",
    use_cases=("A learning rate decayed by hand, one step per run.",),
    inputs=(Port("session", SESSION, "the training session."),
            Port("schedule", OPTIMIZER, "a learning-rate schedule (a schedule node's output).")),
    outputs=(Port("session", SESSION, "the session with its new learning rate."),
             Port("learning_rate", FLOAT0, "the learning rate set.")),
    instances=(Instance("schedule", {"session": SESSION, "schedule": OPTIMIZER},
                        {"session": SESSION, "learning_rate": FLOAT0}, _scheduler_step,
                        "a session and a schedule -> the next learning rate"),))
