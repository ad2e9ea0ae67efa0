"""The Optimizers palette: one node per Keras optimizer and per learning-rate schedule.

An optimizer node outputs an ``Optimizer`` (port kind ``optimizer``) built from its
parameters, which are Keras' arguments with Keras' defaults (``0`` stands for None where
Keras' default is None: no weight decay, no clipping, no accumulation). Its
``learning_rate`` input takes a schedule node's output (HAIBAL's warm-up and decay); when
wired it replaces the ``learning_rate`` parameter. A Training Session makes its own copy
of the optimizer (``from_config``), so one optimizer node may feed several sessions.

A schedule node outputs a ``LearningRateSchedule`` (also on an ``optimizer`` port) with
Keras' arguments; its ``curve`` output holds the learning rate of the first ``preview``
steps, to plot it.
"""

from __future__ import annotations

import numpy as np

from haibal_py.errors import HaibalValueError
from haibal_py.node import Instance, Node, Param, Port
from haibal_py.node.factory import declare_node
from haibal_py.node.types import PortType
from haibal_py.numeric import optimizers as O
from haibal_py.numeric.optimizers import schedules as S

from ._training import OPTIMIZER

CATEGORY = "Optimizers"
CURVE = PortType("float", 1, 1)

__all__ = ["OPTIMIZER_NODES", "SCHEDULE_NODES", "as_optimizer", "as_schedule"]

_DOCS = {
    "learning_rate": "the step size (a float; a schedule wired into learning_rate replaces it).",
    "momentum": "the momentum (SGD: velocity = momentum * velocity - lr * g; RMSprop: momentum on the "
                "update); 0: none.",
    "nesterov": "Nesterov momentum.",
    "beta_1": "the decay rate of the first-moment (mean) estimate.",
    "beta_2": "the decay rate of the second-moment (or Lion's update) estimate.",
    "epsilon": "a small constant for numerical stability (Keras' 1e-7).",
    "amsgrad": "use the maximum of past second moments (AMSGrad).",
    "rho": "the decay rate of the moving average of squared gradients.",
    "centered": "normalise by the gradient's estimated variance (centered RMSprop).",
    "initial_accumulator_value": "the value the accumulators start at.",
    "learning_rate_power": "Ftrl: how the learning rate shrinks as the accumulator grows (<= 0).",
    "l1_regularization_strength": "Ftrl: L1 regularization strength (>= 0).",
    "l2_regularization_strength": "Ftrl: L2 regularization strength (>= 0).",
    "l2_shrinkage_regularization_strength": "Ftrl: L2 shrinkage regularization strength (>= 0).",
    "beta": "Ftrl: the beta value of the paper (>= 0).",
    "weight_decay": "decoupled weight decay (w -= w * weight_decay * lr each step); 0: none.",
    "clipnorm": "clip each gradient to this L2 norm; 0: no clipping.",
    "clipvalue": "clip each gradient element to [-clipvalue, clipvalue]; 0: no clipping.",
    "global_clipnorm": "clip all gradients together to this global L2 norm; 0: no clipping.",
    "use_ema": "keep an exponential moving average of the weights and use it at the end of a fit.",
    "ema_momentum": "the moving average's momentum (with use_ema).",
    "gradient_accumulation_steps": "sum the gradients of this many steps before one update (HAIBAL's gradient "
                                   "accumulation); 0 or 1: update every step.",
}
_NONE_AS_ZERO = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "gradient_accumulation_steps")
_COMMON = (("weight_decay", 0.0), ("clipnorm", 0.0), ("clipvalue", 0.0), ("global_clipnorm", 0.0),
           ("use_ema", False), ("ema_momentum", 0.99), ("gradient_accumulation_steps", 0))


def as_optimizer(value, port: str = "optimizer"):
    if isinstance(value, O.Optimizer):
        return value
    raise HaibalValueError(f"input {port!r} takes an optimizer (an optimizer node's output), "
                           f"got {type(value).__name__}")


def as_schedule(value, port: str = "learning_rate"):
    if isinstance(value, S.LearningRateSchedule):
        return value
    raise HaibalValueError(f"input {port!r} takes a learning-rate schedule (a schedule node's output), "
                           f"got {type(value).__name__}")


def _param(name: str, default) -> Param:
    doc = _DOCS.get(name, name.replace("_", " ") + ".")
    if isinstance(default, bool):
        return Param(name, "bool", default, doc)
    if name == "gradient_accumulation_steps":
        return Param(name, "int", int(default), doc, minimum=0)
    return Param(name, "float", float(default), doc)


def _optimizer_node(cls) -> type[Node]:
    own = dict(cls.hyperparameters)
    common = [(k, v) for k, v in _COMMON if k not in own]
    params = (Param("learning_rate", "float", float(cls.default_learning_rate), _DOCS["learning_rate"], minimum=0.0),
              *[_param(k, v) for k, v in own.items()], *[_param(k, v) for k, v in common])

    def compute(node: Node, values: dict) -> dict:
        kwargs = dict(node.values)
        for key in _NONE_AS_ZERO:
            if key in kwargs and key not in own and not kwargs[key]:
                kwargs[key] = None
        if kwargs.get("gradient_accumulation_steps") == 1:
            kwargs["gradient_accumulation_steps"] = None
        schedule = values.get("learning_rate")
        if schedule is not None:
            kwargs["learning_rate"] = as_schedule(schedule)
        try:
            return {"optimizer": cls(**kwargs)}
        except HaibalValueError as exc:
            raise HaibalValueError(f"{node.label}: {exc}") from None

    name = cls.__name__
    return declare_node(
        type_id=f"haibal.optimizers.{name}", category=CATEGORY, display_name=name, module=__name__,
        class_name=f"{name}Node",
        description=f"Keras' {name} optimizer (keras.optimizers.{name}), with Keras' arguments and defaults and "
                    f"its exact update rule (docs/optimizers.md). Wire it into a Training Session.",
        use_cases=(f"Train a model with {name}: {name} -> Training Session -> Fit.",
                   "Warm-up and decay: wire a schedule node into learning_rate."),
        inputs=(Port("learning_rate", OPTIMIZER, "an optional learning-rate schedule (a schedule node's output); "
                     "replaces the learning_rate parameter.", default=None),),
        outputs=(Port("optimizer", OPTIMIZER, f"the {name} optimizer."),),
        params=params,
        instances=(Instance("optimizer", {"learning_rate": OPTIMIZER}, {"optimizer": OPTIMIZER}, compute,
                            "parameters (and a schedule) -> the optimizer"),))


OPTIMIZER_NODES = {cls.__name__: _optimizer_node(cls) for cls in O.ALL_OBJECTS}

# ---------------------------------------------------------------------------- schedules
_SCHEDULE_DOCS = {
    "initial_learning_rate": "the learning rate at step 0.",
    "decay_steps": "the number of steps the decay is spread over.",
    "decay_rate": "the factor applied every decay_steps.",
    "staircase": "decay in whole steps of decay_steps (a staircase) rather than smoothly.",
    "end_learning_rate": "the learning rate reached after decay_steps.",
    "power": "the polynomial's power (1: linear).",
    "cycle": "start again after decay_steps (with a longer period) instead of staying at the end value.",
    "alpha": "the minimum learning rate, as a fraction of the initial one.",
    "warmup_target": "the learning rate reached at the end of the warm-up (0: no warm-up).",
    "warmup_steps": "the number of linear warm-up steps from initial_learning_rate to warmup_target.",
    "first_decay_steps": "the number of steps of the first decay period.",
    "t_mul": "each period is t_mul times longer than the one before.",
    "m_mul": "each restart starts at m_mul times the previous initial rate.",
    "boundaries": "the steps where the rate changes, increasing (text: 100, 200).",
    "values": "the rates before, between and after the boundaries, one more than boundaries (text: 0.1, 0.01, "
              "0.001).",
}
_SCHEDULES = {
    "ExponentialDecay": (S.ExponentialDecay, (("initial_learning_rate", 0.01), ("decay_steps", 1000),
                                              ("decay_rate", 0.96), ("staircase", False))),
    "PiecewiseConstantDecay": (S.PiecewiseConstantDecay, (("boundaries", "100, 200"),
                                                          ("values", "0.01, 0.005, 0.001"))),
    "PolynomialDecay": (S.PolynomialDecay, (("initial_learning_rate", 0.01), ("decay_steps", 1000),
                                            ("end_learning_rate", 0.0001), ("power", 1.0), ("cycle", False))),
    "InverseTimeDecay": (S.InverseTimeDecay, (("initial_learning_rate", 0.01), ("decay_steps", 1000),
                                              ("decay_rate", 0.5), ("staircase", False))),
    "CosineDecay": (S.CosineDecay, (("initial_learning_rate", 0.001), ("decay_steps", 1000), ("alpha", 0.0),
                                    ("warmup_target", 0.0), ("warmup_steps", 0))),
    "CosineDecayRestarts": (S.CosineDecayRestarts, (("initial_learning_rate", 0.001), ("first_decay_steps", 1000),
                                                    ("t_mul", 2.0), ("m_mul", 1.0), ("alpha", 0.0))),
}


def _numbers(text: str, what: str, kind=float) -> list:
    items = [t for t in str(text).replace("(", " ").replace(")", " ").replace(",", " ").split() if t]
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by commas, got {text!r}") from None


def _schedule_param(name: str, default) -> Param:
    doc = _SCHEDULE_DOCS[name]
    if isinstance(default, bool):
        return Param(name, "bool", default, doc)
    if isinstance(default, str):
        kind = int if name == "boundaries" else float
        return Param(name, "str", default, doc, check=lambda v, n=name, k=kind: _numbers(v, n, k))
    if isinstance(default, int):
        return Param(name, "int", default, doc, minimum=0)
    return Param(name, "float", default, doc)


def _schedule_node(name: str, cls, spec) -> type[Node]:
    params = (*[_schedule_param(k, v) for k, v in spec],
              Param("preview", "int", 1000, "how many steps the curve output shows.", minimum=1))

    def compute(node: Node, values: dict) -> dict:
        kwargs = {k: node.values[k] for k, _ in spec}
        if name == "PiecewiseConstantDecay":
            kwargs = {"boundaries": _numbers(kwargs["boundaries"], "boundaries", int),
                      "values": _numbers(kwargs["values"], "values")}
        if name == "CosineDecay" and not kwargs["warmup_target"]:
            kwargs["warmup_target"] = None
        try:
            schedule = cls(**kwargs)
        except (HaibalValueError, ValueError) as exc:
            raise HaibalValueError(f"{node.label}: {exc}") from None
        curve = np.asarray(schedule(np.arange(node.values["preview"])), dtype=np.float64)
        return {"schedule": schedule, "curve": curve}

    return declare_node(
        type_id=f"haibal.optimizers.{name}", category=CATEGORY, display_name=name, module=__name__,
        class_name=f"{name}Node",
        description=f"Keras' {name} learning-rate schedule (keras.optimizers.schedules.{name}): the learning rate "
                    "as a function of the optimizer's step count. Wire it into an optimizer's learning_rate.",
        use_cases=("Warm up then decay the learning rate of a fit.", "Plot a schedule (curve -> Line Plot)."),
        outputs=(Port("schedule", OPTIMIZER, "the schedule, for an optimizer's learning_rate input."),
                 Port("curve", CURVE, "the learning rate of steps 0 .. preview - 1.")),
        params=params,
        instances=(Instance("schedule", {}, {"schedule": OPTIMIZER, "curve": CURVE}, compute,
                            "parameters -> the schedule and its curve"),))


SCHEDULE_NODES = {name: _schedule_node(name, cls, spec) for name, (cls, spec) in _SCHEDULES.items()}
