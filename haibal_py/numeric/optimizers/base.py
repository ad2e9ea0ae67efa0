"""The ``Optimizer`` base class: Keras 3's optimizer API over NumPy arrays updated in place.

One ``apply(grads, weights)`` is one step of Keras 3's ``optimizer.apply`` (TensorFlow
backend, eager), in the same order:

1. ``None`` gradients are left out (a warning names them; all ``None`` is an error);
2. gradients are divided by ``loss_scale_factor``;
3. with ``gradient_accumulation_steps = n``: the gradients are added to accumulators and,
   on every n-th call only, the mean ``(g + acc) / n`` goes on through 4-6 and the
   accumulators are zeroed;
4. clipping: ``clipnorm`` (each gradient), ``global_clipnorm`` (all together) or
   ``clipvalue``;
5. decoupled weight decay ``w -= w * weight_decay * lr`` on each weight not excluded by
   ``exclude_from_weight_decay``;
6. the optimizer's own update (``_update``), weight by weight, in the weight's dtype;
7. the EMA of the weights (``use_ema``), and its overwrite every
   ``ema_overwrite_frequency`` steps;
8. ``iterations += 1``.

The learning rate is read once per step: a float learning rate is held as a float32
(Keras' ``floatx`` variable, so a float64 weight sees float32(lr)); a schedule is called
with the real step count (before the update, accumulation steps included). Update rules
keep Keras' operation order, so float32 results agree with Keras to float32 rounding.

State (slots) lives in arrays created by ``build(weights)`` (called by the first
``apply``), one set per weight, keyed by the weight's position in that list. Later calls
may pass any of those arrays, in any order (Keras' rule); other arrays are refused.
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import re
import warnings
from typing import Any, Callable, Iterable

import numpy as np

from ...errors import HaibalError, HaibalValueError
from ..arrays import as_numeric_array
from ..keras_api import auto_name, bind_arguments, keras_signature
from . import clipping
from .casting import keras_cast
from ..kernels import engine
from . import layout
from .layout import make_layout
from .schedules import LearningRateSchedule
from .schedules import deserialize as deserialize_schedule
from .schedules import serialize as serialize_schedule

__all__ = ["Optimizer", "OptimizerError", "OptimizerTypeError", "COMMON_ARGUMENTS", "keras_cast"]


class OptimizerError(HaibalValueError):
    """An optimizer got an argument, a weight, a gradient or a state it cannot take."""


class OptimizerTypeError(HaibalError, TypeError):
    """An operation the optimizer's configuration does not allow (Keras raises TypeError)."""


#: the arguments every Keras 3 optimizer takes after its own, in Keras' order, with defaults
COMMON_ARGUMENTS = (
    ("weight_decay", None), ("clipnorm", None), ("clipvalue", None), ("global_clipnorm", None),
    ("use_ema", False), ("ema_momentum", 0.99), ("ema_overwrite_frequency", None),
    ("loss_scale_factor", None), ("gradient_accumulation_steps", None), ("name", None),
)


def check_real(owner: str, arg: str, value, *, low=None, high=None, low_open=False, high_open=False,
               allow_none=False) -> None:
    """OptimizerError naming ``owner`` and ``arg`` unless ``value`` is a finite real in the range."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) \
            or not math.isfinite(float(value)):
        raise OptimizerError(f"{owner}: `{arg}` must be a finite number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        rng = f"in {lo}{hi}" if low is not None and high is not None else \
            (f"{'>' if low_open else '>='} {low}" if low is not None else f"{'<' if high_open else '<='} {high}")
        raise OptimizerError(f"{owner}: `{arg}` must be {rng}, got {value!r}")


class Optimizer:
    """Base class of the optimizers (see the module docstring).

    A subclass sets ``hyperparameters`` (its own arguments after ``learning_rate``, with
    Keras' defaults and order; the constructor is generated with Keras' exact signature)
    and ``default_learning_rate``, and implements ``slot_groups``, ``_constants`` and
    ``_update``; ``_check_hyperparameters`` refuses bad values.
    """

    hyperparameters: dict[str, Any] = {}
    default_learning_rate = 0.001
    #: how many scratch arrays (of the shape of the arrays it gets) ``_update`` uses
    n_scratch = 2
    #: False when ``_update`` never reads ``w`` and changes it once, by ``w -= u`` or
    #: ``w += u`` at the end: a fused step then starts from zeros (giving -u or u, exactly)
    #: and adds that to each weight, instead of copying the weights in and out
    reads_weight = True
    #: dtype groups up to this many elements are updated through flat buffers (``layout``);
    #: None: ``layout.FUSE_LIMIT``
    fuse_limit: int | None = None
    #: about how many passes over memory ``_update`` makes per element (a square root or a
    #: power counts 3): the work of a large group's step, which sets from what size a second
    #: thread pays (``layout.PARALLEL_WORK``) and how far the first span leads (``LEAD_WORK``)
    passes = 12
    #: a large group's spans hold at most this many elements; None: ``layout.BLOCK_ELEMENTS``
    block_elements: int | None = None
    #: elements per thread below which a step runs in one thread; None:
    #: ``layout.PARALLEL_WORK // passes`` (read at ``build`` for the fused groups)
    parallel_elements: int | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "hyperparameters" in cls.__dict__:
            cls.__init__ = _generated_init(cls)

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        owner = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise OptimizerError(f"{owner}: argument(s) not recognized: {', '.join(sorted(kwargs))}")
        self.name = auto_name(owner) if name is None else name
        check_real(owner, "weight_decay", weight_decay, low=0, allow_none=True)
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
            check_real(owner, arg, value, low=0, low_open=True, allow_none=True)
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise OptimizerError(f"{owner}: only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                                 f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                                 f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps is not None and (
                isinstance(gradient_accumulation_steps, bool)
                or not isinstance(gradient_accumulation_steps, (int, np.integer)) or gradient_accumulation_steps < 2):
            raise OptimizerError(f"{owner}: `gradient_accumulation_steps` must be an integer >= 2 (or None). "
                                 f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if use_ema:
            check_real(owner, "ema_momentum", ema_momentum, low=0, high=1)
            if ema_overwrite_frequency is not None and (
                    isinstance(ema_overwrite_frequency, bool)
                    or not isinstance(ema_overwrite_frequency, (int, np.integer)) or ema_overwrite_frequency < 1):
                raise OptimizerError(f"{owner}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                                     f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}")
        check_real(owner, "loss_scale_factor", loss_scale_factor, low=0, low_open=True, allow_none=True)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = None if gradient_accumulation_steps is None \
            else int(gradient_accumulation_steps)
        self._iterations = 0
        self._learning_rate = self._check_learning_rate(learning_rate)
        self.built = False
        self._weights: list[np.ndarray] = []
        self._weight_names: list[str] | None = None
        self._position: dict[int, int] = {}
        self._records: list = []
        self._groups: list = []
        self._slots: dict[str, list[np.ndarray]] = {}
        self._extra: dict[str, np.ndarray] = {}
        self._averages: list[np.ndarray] = []
        self._accumulators: list[np.ndarray] = []
        self._decay_mask: list[bool] = []
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._pending_state: dict[str, np.ndarray] | None = None
        self._parallel_from = math.inf  # flat buffers of this many elements and more: two threads (build)

    # ------------------------------------------------------------------ to implement
    def slot_groups(self) -> list[tuple[str, ...]]:
        """The per-weight slot names, in groups Keras creates together (interleaved per weight)."""
        return []

    def slot_initial_value(self, slot: str) -> float:
        """The value a slot starts at (0 but for accumulators that start at a constant)."""
        return 0.0

    def _check_hyperparameters(self) -> None:
        """Raise OptimizerError for an own argument the optimizer cannot take."""

    def _build_extra(self, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Optimizer-wide state arrays besides the per-weight slots (Nadam's ``u_product``)."""
        return {}

    def _before_update(self) -> None:
        """Called once per update step, before the per-weight updates (Nadam)."""

    def _constants(self, dtype: np.dtype, lr) -> Any:
        """The step's scalars for weights of ``dtype`` (``lr`` already in that dtype)."""
        return lr

    def _update(self, w: np.ndarray, g: np.ndarray, slots: tuple, scratch: tuple, k) -> None:
        """One weight's update, in place: ``g`` is in ``w``'s dtype, ``k`` from ``_constants``.

        ``w``, ``g``, the slots and the scratch arrays have one shape: a weight's, a fused
        group's flat buffers, or one block of a large weight (flat), which another thread
        may be updating another block of at the same time. The rule must therefore be
        elementwise (element j of the results depends on element j of the inputs only) and
        keep no state of its own between calls."""
        raise NotImplementedError

    # ------------------------------------------------------------------ learning rate
    def _check_learning_rate(self, learning_rate):
        owner = type(self).__name__
        if isinstance(learning_rate, LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, (numbers.Number, np.generic))):
            return learning_rate
        check_real(owner, "learning_rate", learning_rate, low=0)
        return np.float32(learning_rate)

    @property
    def learning_rate(self):
        """The learning rate of the next step: the float32 value, or the schedule's value at
        ``iterations`` (the real step count)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate) -> None:
        if isinstance(self._learning_rate, LearningRateSchedule) and not (
                isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate)):
            raise OptimizerTypeError(
                f"{self.name}: this optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. If you need the "
                "learning rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                "argument.")
        self._learning_rate = self._check_learning_rate(learning_rate)

    def _current_learning_rate(self):
        lr = self._learning_rate
        if type(lr) is np.float32:
            return lr
        if isinstance(lr, LearningRateSchedule):
            return lr(self._iterations)
        return lr()

    @property
    def iterations(self) -> int:
        """Steps taken; with gradient accumulation, optimizer updates (calls // n), as Keras."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    # ------------------------------------------------------------------ building
    def slot_names(self) -> tuple[str, ...]:
        return tuple(name for group in self.slot_groups() for name in group)

    def build(self, variables, *, names: Iterable[str] | None = None) -> None:
        """Create the state for ``variables`` (the float arrays the optimizer will update in
        place); ``names`` (optional) are what ``exclude_from_weight_decay(var_names=...)``
        matches. A built optimizer ignores a second ``build``, as Keras does."""
        if self.built:
            return
        weights = list(variables)
        self._weights = self._check_weights(weights)
        self._weight_names = None if names is None else [str(n) for n in names]
        if self._weight_names is not None and len(self._weight_names) != len(weights):
            raise OptimizerError(f"{self.name}: build() got {len(weights)} weight(s) but "
                                 f"{len(self._weight_names)} name(s)")
        self._position = {id(w): i for i, w in enumerate(weights)}
        slots = [(name, lambda dt, v=self.slot_initial_value(name): keras_cast(v, dt)) for name in self.slot_names()]
        self._records, self._groups, self._slots = make_layout(
            weights, slots, self.n_scratch, self.fuse_limit, self.block_elements,
            layout.LEAD_WORK // max(1, self.passes))
        self._parallel_from = 2 * self._per_thread() if engine.THREADS > 1 else math.inf
        self._averages = [np.zeros_like(w) for w in weights] if self.use_ema else []
        self._accumulators = [np.zeros_like(w) for w in weights] if self.gradient_accumulation_steps else []
        self._extra = self._build_extra(weights)
        self._update_decay_mask()
        self.built = True
        if self._pending_state is not None:
            pending, self._pending_state = self._pending_state, None
            try:
                self.set_state(pending)
            except OptimizerError:
                self.built = False
                self._pending_state = pending
                raise

    def _check_weights(self, weights: list) -> list[np.ndarray]:
        seen: dict[int, int] = {}
        for i, w in enumerate(weights):
            if not isinstance(w, np.ndarray):
                raise OptimizerError(f"{self.name}: weights[{i}] must be a NumPy array (updated in place), "
                                     f"got {type(w).__name__}")
            if w.dtype.kind != "f":
                raise OptimizerError(f"{self.name}: weights[{i}] must be a float array, got dtype {w.dtype} "
                                     f"(shape {w.shape})")
            if not w.flags.writeable:
                raise OptimizerError(f"{self.name}: weights[{i}] (shape {w.shape}) is read-only; the optimizer "
                                     "updates weights in place")
            if id(w) in seen:
                raise OptimizerError(f"{self.name}: weights[{i}] is the same array as weights[{seen[id(w)]}]")
            seen[id(w)] = i
        return weights

    # ------------------------------------------------------------------ weight decay exclusion
    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Leave out of weight decay the arrays in ``var_list`` and the weights whose name
        (given to ``build(..., names=)``) contains one of ``var_names`` (a regex search).

        Keras documents this as allowed before ``build`` only (its check never fires); here
        it may be called at any time and counts from the next step.
        """
        pattern = re.compile("|".join(sorted(set(var_names)))) if var_names else None
        if pattern is not None and self.built and self._weight_names is None and self._weights:
            raise OptimizerError(f"{self.name}: exclude_from_weight_decay(var_names=...) needs the weights' names, "
                                 "but the optimizer was built without them (build(weights, names=[...]))")
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        self._exclude_pattern = pattern
        if self.built:
            self._update_decay_mask()

    def _update_decay_mask(self) -> None:
        if self._exclude_pattern is not None and self._weight_names is None and self._weights:
            raise OptimizerError(f"{self.name}: exclude_from_weight_decay(var_names=...) needs the weights' names: "
                                 "build(weights, names=[...]) first")
        names = self._weight_names or [""] * len(self._weights)
        self._decay_mask = [id(w) not in self._exclude_ids
                            and not (self._exclude_pattern is not None and self._exclude_pattern.search(n))
                            for w, n in zip(self._weights, names)]

    # ------------------------------------------------------------------ applying
    def apply_gradients(self, grads_and_vars) -> int:
        """``apply`` on ``zip(grads, weights)``; returns the step count (Keras returns ``iterations``)."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, weights = zip(*pairs)
        self.apply(grads, weights)
        return self._iterations

    def apply(self, grads, trainable_variables=None) -> None:
        """One step: update ``trainable_variables`` (NumPy arrays, in place) with ``grads``.

        Without ``trainable_variables`` the optimizer must be built, and ``grads`` match its
        weights one to one. An empty ``grads`` does nothing (as in Keras).
        """
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise OptimizerError(f"{self.name}: when passing `grads` without `variables`, the optimizer must "
                                     "already be built on a list of variables: call `build(weights)` first")
            positions = None
            if len(grads) != len(self._weights):
                raise OptimizerError(f"{self.name}: got {len(grads)} gradient(s) for the {len(self._weights)} "
                                     "weight(s) the optimizer was built with")
        else:
            weights = trainable_variables if isinstance(trainable_variables, list) else list(trainable_variables)
            if not self.built:
                self.build(weights)
            if len(grads) != len(weights):
                raise OptimizerError(f"{self.name}: got {len(grads)} gradient(s) for {len(weights)} weight(s)")
            positions = self._positions(weights)
        pairs = self._pair(grads, positions)
        if self.loss_scale_factor is not None:
            pairs = [(i, g / g.dtype.type(self.loss_scale_factor)) for i, g in pairs]
        n_acc = self.gradient_accumulation_steps
        if n_acc:
            self._accumulate_or_update(pairs, n_acc)
        else:
            self._update_step(pairs)
        if self.use_ema:
            self._update_ema()
        self._iterations += 1

    def _positions(self, weights: list) -> list[int] | None:
        """None when ``weights`` is the built list itself, else each array's built position."""
        built = self._weights
        if len(weights) == len(built) and all(map(operator.is_, weights, built)):
            return None
        out = []
        for j, w in enumerate(weights):
            i = self._position.get(id(w))
            if i is None or built[i] is not w:
                raise OptimizerError(
                    f"{self.name}: weights[{j}] (shape {np.shape(w)}) is not one of the {len(built)} arrays this "
                    "optimizer was built with. An optimizer updates the arrays of its first apply()/build(); "
                    "for other arrays, create a new optimizer")
            out.append(i)
        if len(set(out)) != len(out):
            raise OptimizerError(f"{self.name}: the same weight array is given twice")
        return out

    def _pair(self, grads: list, positions: list[int] | None) -> list[tuple[int, np.ndarray]]:
        """(position, gradient) for each gradient that is not None, shapes checked."""
        pairs = []
        missing = []
        weights = self._weights
        for j, g in enumerate(grads):
            i = j if positions is None else positions[j]
            if g is None:
                missing.append(i)
                continue
            w = weights[i]
            if type(g) is not np.ndarray or g.dtype.kind not in "fiu":
                g = self._as_gradient(g, j)
            if g.shape != w.shape:
                raise OptimizerError(f"{self.name}: grads[{j}] has shape {g.shape} but its weight "
                                     f"(weights[{j}]) has shape {w.shape}")
            pairs.append((i, g))
        if not pairs:
            raise OptimizerError(f"{self.name}: no gradients provided for any variable (all {len(grads)} are None)")
        if missing:
            warnings.warn(f"{self.name}: gradients do not exist for weights at positions {sorted(missing)}; "
                          "they are not updated this step", stacklevel=3)
        return pairs

    def _as_gradient(self, g, j: int) -> np.ndarray:
        return as_numeric_array(g, f"{self.name}: grads[{j}]", OptimizerError, kinds="iuf")

    def _accumulate_or_update(self, pairs, n: int) -> None:
        accs = self._accumulators
        weights = self._weights
        if (self._iterations + 1) % n == 0:
            means = []
            for i, g in pairs:
                dt = weights[i].dtype
                means.append((i, (g.astype(dt, copy=False) + accs[i]) / dt.type(n)))
            self._update_step(means)
            for acc in accs:
                acc.fill(0)
        else:
            for i, g in pairs:
                accs[i] += g.astype(weights[i].dtype, copy=False)

    def _clip(self, pairs):
        if self.clipnorm is not None:
            return [(i, clipping.clip_by_norm(g, self.clipnorm)) for i, g in pairs]
        if self.global_clipnorm is not None:
            clipped = clipping.clip_by_global_norm([g for _, g in pairs], self.global_clipnorm)
            return [(i, g) for (i, _), g in zip(pairs, clipped)]
        if self.clipvalue is not None:
            return [(i, clipping.clip_by_value(g, self.clipvalue)) for i, g in pairs]
        return pairs

    def _update_step(self, pairs) -> None:
        """Clipping, weight decay and the optimizer's update for the weights in ``pairs``."""
        if self.clipnorm is not None or self.global_clipnorm is not None or self.clipvalue is not None:
            pairs = self._clip(pairs)
        lr = self._current_learning_rate()
        self._before_update()
        constants: dict = {}
        decay = self.weight_decay is not None
        mask = self._decay_mask
        grads_at = dict(pairs)
        for group in self._groups:
            dt = group.dtype
            k = constants.get(dt)
            if k is None:
                k = constants[dt] = self._constants(dt, dt.type(lr))
            members = group.members
            if group.fused and all(i in grads_at for i in members):
                np.concatenate([grads_at[i].reshape(-1) for i in members], out=group.g_flat, casting="same_kind")
                if not decay and not self.reads_weight:
                    group.w_flat.fill(0)
                    if group.g_flat.size < self._parallel_from:  # a small model: the rule, nothing more
                        self._update(group.w_flat, group.g_flat, group.slots, group.scratch, k)
                    else:
                        self._update_flat(group, k)
                    for r in group.records:
                        r.weight += r.w_view
                    continue
                np.concatenate([r.weight.reshape(-1) for r in group.records], out=group.w_flat)
                if decay:
                    if all(mask[i] for i in members):
                        self._decay(group.w_flat, group.scratch[0], lr)
                    else:
                        for i, r in zip(members, group.records):
                            if mask[i]:
                                self._decay(r.w_view, r.scratch[0], lr)
                if group.g_flat.size < self._parallel_from:
                    self._update(group.w_flat, group.g_flat, group.slots, group.scratch, k)
                else:
                    self._update_flat(group, k)
                for r in group.records:
                    np.copyto(r.weight, r.w_view)
                continue
            if not group.fused:
                self._update_blocks(group, grads_at, k, lr, decay)
                continue
            for i, r in zip(members, group.records):
                g = grads_at.get(i)
                if g is None:
                    continue
                if g.dtype != dt:
                    g = g.astype(dt)
                if decay and mask[i]:
                    self._decay(r.weight, r.scratch[0], lr)
                self._update(r.weight, g, r.slots, r.scratch, k)

    def _per_thread(self) -> int:
        """Elements per thread below which a step runs in one thread (``layout.PARALLEL_WORK``)."""
        return self.parallel_elements or layout.PARALLEL_WORK // max(1, self.passes)

    def _update_flat(self, group, k) -> None:
        """The rule over a fused group's flat buffers of at least ``_parallel_from`` elements (a
        group large enough for a second thread to pay): ranges shared by the engine's threads,
        each range using its own part of the flat scratch arrays."""
        n = group.g_flat.size
        threads = engine.thread_count(engine.THREADS, n, self._per_thread())
        arrays = (group.w_flat, group.g_flat, *group.slots, *group.scratch)
        n_slots = len(group.slots)
        update = self._update

        def work(part) -> None:
            for lo, hi in part:
                w, g, *rest = (a[lo:hi] for a in arrays)
                update(w, g, tuple(rest[:n_slots]), tuple(rest[n_slots:]), k)

        engine.share(work, layout.ranges(n, threads, layout.LEAD_WORK // max(1, self.passes),
                                         group.dtype), threads)

    def _update_blocks(self, group, grads_at: dict, k, lr, decay: bool) -> None:
        """Weight decay and the update of a large group, span by span (``layout``), the spans
        shared by the engine's threads when the group is large enough for a second thread to pay."""
        dt = group.dtype
        grads = {}
        for i, r in zip(group.members, group.records):
            g = grads_at.get(i)
            if g is None:
                continue
            if g.dtype != dt:
                g = g.astype(dt)
            grads[i] = g.reshape(-1) if r.weight.flags.c_contiguous else g
        if len(grads) == len(group.members):
            spans, elements = group.spans, group.elements
        else:
            spans = [[b for b in span if b.position in grads] for span in group.spans]
            spans = [span for span in spans if span]
            elements = sum(g.size for g in grads.values())
        decays = self._decay_mask if decay else None
        update = self._update
        free = list(group.scratch_sets)

        def work(part) -> None:
            mine = free.pop()
            try:
                for span in part:
                    for b in span:
                        g = grads[b.position]
                        if b.start is None:
                            scratch = b.scratch
                        else:
                            g = g[b.start:b.stop]
                            scratch = mine.views(b.stop - b.start)
                        if decays is not None and decays[b.position]:
                            self._decay(b.weight, scratch[0], lr)
                        update(b.weight, g, b.slots, scratch, k)
            finally:
                free.append(mine)

        engine.run(work, spans, elements, self._per_thread())

    def _decay(self, w: np.ndarray, tmp: np.ndarray, lr) -> None:
        """Decoupled weight decay, Keras' ``w -= w * weight_decay * lr``."""
        np.multiply(w, keras_cast(self.weight_decay, w.dtype), out=tmp)
        tmp *= w.dtype.type(lr)
        w -= tmp

    def _update_ema(self) -> None:
        first = self.iterations == 0
        for w, avg in zip(self._weights, self._averages):
            dt = w.dtype.type
            momentum = dt(0.0 if first else 1.0) * dt(self.ema_momentum)
            avg[...] = momentum * avg + (dt(1) - momentum) * w
        freq = self.ema_overwrite_frequency
        if freq and (self.iterations + 1) % freq == 0:
            for w, avg in zip(self._weights, self._averages):
                w[...] = avg

    def finalize_variable_values(self, var_list) -> None:
        """With ``use_ema``, copy the moving averages into ``var_list`` (end of training)."""
        if not self.use_ema:
            return
        var_list = list(var_list)
        if len(var_list) != len(self._averages):
            raise OptimizerError(f"{self.name}: the length of model variables ({len(var_list)}) to override does "
                                 f"not match the length of model variables stored in the optimizer "
                                 f"({len(self._averages)})")
        for j, (w, avg) in enumerate(zip(var_list, self._averages)):
            if np.shape(w) != avg.shape:
                raise OptimizerError(f"{self.name}: var_list[{j}] has shape {np.shape(w)}, its average {avg.shape}")
            w[...] = avg

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` (the loss unchanged without one)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------------ state
    def _state_items(self) -> list[tuple[str, np.ndarray]]:
        """(key, array) for every state variable, in Keras' ``optimizer.variables`` order."""
        items = [("iterations", np.array(self._iterations, dtype=np.int64))]
        if type(self._learning_rate) is np.float32:
            items.append(("learning_rate", np.array(self._learning_rate, dtype=np.float32)))
        n = len(self._weights) if self.built else 0
        if self.use_ema:
            items += [(f"average/{i}", a) for i, a in enumerate(self._averages)]
        if self.gradient_accumulation_steps:
            items += [(f"gradient_accumulator/{i}", a) for i, a in enumerate(self._accumulators)]
        if self.built:
            for group in self.slot_groups():
                items += [(f"{name}/{i}", self._slots[name][i]) for i in range(n) for name in group]
            items += list(self._extra.items())
        return items

    @property
    def variables(self) -> list[np.ndarray]:
        """The state arrays in Keras' order (iterations, learning rate, [EMA averages],
        [gradient accumulators], slots, extra). Slots are the live arrays; iterations and
        the learning rate are copies."""
        return [a for _, a in self._state_items()]

    def get_state(self) -> dict[str, np.ndarray]:
        """A checkpoint: copies of every state array, by key (``set_state`` restores it)."""
        return {k: np.array(a, copy=True) for k, a in self._state_items()}

    def set_state(self, state: dict) -> None:
        """Restore a ``get_state`` checkpoint exactly (iterations, learning rate, slots).

        An optimizer not yet built takes the iterations and learning rate now and the slots
        at ``build`` (or the first ``apply``), where their shapes are checked.
        """
        state = dict(state)
        if not self.built and any(k not in ("iterations", "learning_rate") for k in state):
            self._set_scalars(state)
            self._pending_state = {k: np.array(v, copy=True) for k, v in state.items()}
            return
        expected = dict(self._state_items())
        missing = [k for k in expected if k not in state]
        unknown = [k for k in state if k not in expected]
        if missing or unknown:
            raise OptimizerError(f"{self.name}: the state does not fit this optimizer: "
                                 f"missing {missing or 'nothing'}, unknown {unknown or 'nothing'}")
        for key, target in expected.items():
            if key in ("iterations", "learning_rate"):
                continue
            value = np.asarray(state[key])
            if value.shape != target.shape or value.dtype.kind not in "fiu":
                raise OptimizerError(f"{self.name}: state[{key!r}] has shape {value.shape} (dtype {value.dtype}), "
                                     f"expected shape {target.shape} ({target.dtype})")
        self._set_scalars(state)
        for key, target in expected.items():
            if key not in ("iterations", "learning_rate"):
                target[...] = state[key]

    def _set_scalars(self, state: dict) -> None:
        if "learning_rate" in state and type(self._learning_rate) is not np.float32:
            raise OptimizerError(f"{self.name}: the state holds a learning rate, but this optimizer's learning "
                                 "rate is a schedule or a callable")
        if "iterations" in state:
            it = np.asarray(state["iterations"])
            if it.shape != () or it.dtype.kind not in "iu" or int(it) < 0:
                raise OptimizerError(f"{self.name}: state['iterations'] must be one integer >= 0, got {it!r}")
        if "learning_rate" in state:
            lr = np.asarray(state["learning_rate"])
            if lr.shape != () or lr.dtype.kind not in "fiu":
                raise OptimizerError(f"{self.name}: state['learning_rate'] must be one number, got {lr!r}")
            self._learning_rate = self._check_learning_rate(float(lr))
        if "iterations" in state:
            self._iterations = int(state["iterations"])

    def save_own_variables(self, store) -> None:
        """Keras' weights-file form: ``store[str(i)]`` for each of ``variables``."""
        for i, value in enumerate(self.get_state().values()):
            store[str(i)] = value

    def load_own_variables(self, store) -> None:
        """Restore from ``save_own_variables``' store (the optimizer must be built, as in Keras)."""
        keys = [k for k, _ in self._state_items()]
        if len(store.keys()) != len(keys):
            raise OptimizerError(f"{self.name}: cannot load {len(store.keys())} saved variable(s) into an optimizer "
                                 f"with {len(keys)}" + ("" if self.built else " (it is not built yet)"))
        self.set_state({k: store[str(i)] for i, k in enumerate(keys)})

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        """The constructor's arguments under Keras' keys (a schedule serialized as Keras does)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = serialize_schedule(lr)
        elif type(lr) is np.float32:
            lr = float(lr)
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                  "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps}
        for key in self.hyperparameters:
            config.setdefault(key, getattr(self, key))
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_schedule(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}, iterations={self.iterations}>"


def _generated_init(cls) -> Callable:
    """``__init__`` with Keras' signature: learning_rate, the own arguments, the common ones."""
    own = [("learning_rate", cls.default_learning_rate), *cls.hyperparameters.items()]
    taken = {k for k, _ in own}
    signature = keras_signature(own + [(k, v) for k, v in COMMON_ARGUMENTS if k not in taken])
    signature = signature.replace(parameters=[*signature.parameters.values(),
                                              inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
    base_keys = {"learning_rate"} | {k for k, _ in COMMON_ARGUMENTS}
    own_keys = [k for k in cls.hyperparameters if k not in base_keys]

    def __init__(self, *args, **kwargs):
        values = bind_arguments(signature, self, args, kwargs)
        extra = values.pop("kwargs")
        own_values = {k: values.pop(k) for k in own_keys}
        Optimizer.__init__(self, **values, **extra)
        for key, value in own_values.items():
            setattr(self, key, value)
        self._check_hyperparameters()

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    __init__.__doc__ = cls.__doc__
    return __init__
